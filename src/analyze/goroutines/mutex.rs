//! Goroutines waiting to lock a sync.Mutex or RWMutex, set against the mutex profile.

use std::collections::BTreeMap;

use super::grouping::{Grouping, count_state, sample_value, state_counts};
use super::{LabelCount, MutexProfileState, MutexWaiters, plural};
use crate::dump::GoroutineDump;
use crate::profile::Profile;
use crate::units;

/// Functions that are on a stack only while it waits to lock a sync.Mutex or RWMutex.
pub(crate) fn is_mutex_lock_frame(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "sync.runtime_SemacquireMutex",
        "sync.runtime_SemacquireRWMutex",
        "sync.runtime_SemacquireRWMutexR",
        "internal/sync.runtime_SemacquireMutex",
        "sync.(*Mutex).Lock",
        "sync.(*Mutex).lockSlow",
        "sync.(*RWMutex).Lock",
        "sync.(*RWMutex).RLock",
        "internal/sync.(*Mutex).Lock",
        "internal/sync.(*Mutex).lockSlow",
    ];
    EXACT.contains(&name)
}

fn is_mutex_state(state: &str) -> bool {
    matches!(
        state,
        "sync.Mutex.Lock" | "sync.RWMutex.Lock" | "sync.RWMutex.RLock"
    )
}

pub(super) fn mutex_waiters(
    profile: &Profile,
    debug2: Option<&GoroutineDump>,
    grouping: &Grouping,
    mutex: Option<&Profile>,
) -> MutexWaiters {
    let mut by_state: BTreeMap<String, u64> = BTreeMap::new();
    // Waiters by group first (a label is a string made once per group, not per goroutine),
    // then by the groups' labels: groups may share one.
    let mut by_group_index: BTreeMap<Option<usize>, u64> = BTreeMap::new();
    let mut waiters = 0;
    let has_lock_frame = |sample: usize| grouping.sample_mutex.get(sample).copied() == Some(true);
    match debug2 {
        Some(dump) => {
            for goroutine in &dump.goroutines {
                if is_mutex_state(&goroutine.state) || has_lock_frame(goroutine.sample) {
                    waiters += 1;
                    count_state(&mut by_state, &goroutine.state);
                    *by_group_index
                        .entry(grouping.group_of(goroutine.sample))
                        .or_default() += 1;
                }
            }
        }
        None => {
            for (index, sample) in profile.samples().enumerate() {
                if has_lock_frame(index) {
                    let value = sample_value(profile, sample);
                    waiters += value;
                    *by_group_index.entry(grouping.group_of(index)).or_default() += value;
                }
            }
        }
    }
    let mut by_group: BTreeMap<String, u64> = BTreeMap::new();
    for (group, count) in by_group_index {
        let label = group
            .and_then(|g| grouping.groups.get(g))
            .map_or_else(|| "(no frames)".to_string(), |g| grouping.display_label(g));
        *by_group.entry(label).or_default() += count;
    }
    let (state, contentions, delay) = match mutex {
        None => (MutexProfileState::NotCollected, 0, 0),
        Some(p) => {
            let sum = |kind: &str| {
                p.sample_index_of(kind).map_or(0, |i| {
                    p.samples()
                        .map(|s| s.value(i))
                        .fold(0i64, i64::saturating_add)
                })
            };
            let (contentions, delay) = (sum("contentions"), sum("delay"));
            if contentions == 0 && delay == 0 {
                (MutexProfileState::Empty, 0, 0)
            } else {
                (MutexProfileState::Recorded, contentions, delay)
            }
        }
    };
    let delay_text = units::label(delay, "nanoseconds");
    let profiling_off = waiters > 0 && state == MutexProfileState::Empty;
    let who = format!(
        "{waiters} {} {} to lock a mutex",
        plural(waiters, "goroutine", "goroutines"),
        if waiters == 1 { "waits" } else { "wait" }
    );
    let note = (waiters > 0).then(|| match state {
        MutexProfileState::Empty => format!(
            "{who} but the mutex profile is empty: mutex profiling is most likely off \
             (runtime.SetMutexProfileFraction) while contention exists"
        ),
        MutexProfileState::NotCollected => {
            format!("{who}; the set has no mutex profile to say how long such waits take")
        }
        MutexProfileState::Recorded => format!(
            "{who}; the mutex profile recorded {contentions} contentions, {delay_text} of delay"
        ),
    });
    MutexWaiters {
        waiters,
        by_state: state_counts(by_state),
        groups: {
            let mut groups: Vec<LabelCount> = by_group
                .into_iter()
                .map(|(label, goroutines)| LabelCount { label, goroutines })
                .collect();
            groups.sort_by(|a, b| b.goroutines.cmp(&a.goroutines).then(a.label.cmp(&b.label)));
            groups
        },
        mutex_profile: state,
        mutex_contentions: contentions,
        mutex_delay_nanos: delay,
        mutex_delay_text: delay_text,
        profiling_off_with_contention: profiling_off,
        note,
    }
}
