//! Goroutines grouped by stack: the groups as they are built (with what `debug=2` adds per
//! goroutine), and the table of them, sorted, that the analysis shows.

use std::collections::BTreeMap;

use super::mutex::is_mutex_lock_frame;
use super::stacks::{frames, key_and_label, visible};
use super::{
    CreatorRow, GoroutineGroup, GoroutineOptions, GoroutineSource, GroupLevel, GroupTable,
    InstanceInference, StateCount, percent_text, share,
};
use crate::analyze::names::package_of;
use crate::dump::GoroutineDump;
use crate::profile::{Profile, SampleRef};

/// A group while it is built.
#[derive(Debug)]
pub(super) struct Group {
    pub(super) label: String,
    pub(super) goroutines: u64,
    stacks: usize,
    frames: Vec<String>,
    creators: BTreeMap<(String, String, i64), u64>,
    states: BTreeMap<String, u64>,
    max_wait: Option<u64>,
}

impl Group {
    /// The group's frames, leaf first, as the level keys them.
    pub(super) fn frames(&self) -> &[String] {
        &self.frames
    }
}

pub(super) struct Grouping {
    pub(super) groups: Vec<Group>,
    /// Sample index → group index (`None` for samples of no goroutines).
    sample_group: Vec<Option<usize>>,
    /// Sample index → its stack holds a mutex lock frame.
    pub(super) sample_mutex: Vec<bool>,
    /// Goroutines in all samples.
    total: u64,
}

/// The goroutine count of a sample: the `goroutine` value, else the default one.
pub(super) fn sample_value(profile: &Profile, sample: SampleRef<'_>) -> u64 {
    let index = profile
        .sample_index_of("goroutine")
        .unwrap_or_else(|| profile.default_sample_index());
    sample.values().get(index).map_or(0, |&v| v.max(0) as u64)
}

pub(super) fn group(profile: &Profile, level: GroupLevel) -> Grouping {
    let mut index: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut sample_group = Vec::with_capacity(profile.samples.len());
    let mut sample_mutex = Vec::with_capacity(profile.samples.len());
    let mut total = 0;
    for sample in profile.samples() {
        let frames = frames(profile, sample);
        sample_mutex.push(frames.iter().any(|f| is_mutex_lock_frame(&f.function)));
        let value = sample_value(profile, sample);
        if value == 0 {
            sample_group.push(None);
            continue;
        }
        total += value;
        let (key, label) = key_and_label(&frames, level);
        let group_index = match index.get(&key) {
            Some(&i) => i,
            None => {
                let shown: Vec<String> = match level {
                    GroupLevel::Exact => key.clone(),
                    _ => visible(&frames)
                        .iter()
                        .map(|f| f.function.to_string())
                        .collect(),
                };
                groups.push(Group {
                    label,
                    goroutines: 0,
                    stacks: 0,
                    frames: shown,
                    creators: BTreeMap::new(),
                    states: BTreeMap::new(),
                    max_wait: None,
                });
                index.insert(key, groups.len() - 1);
                groups.len() - 1
            }
        };
        let group = &mut groups[group_index];
        group.goroutines += value;
        group.stacks += 1;
        sample_group.push(Some(group_index));
    }
    Grouping {
        groups,
        sample_group,
        sample_mutex,
        total,
    }
}

impl Grouping {
    pub(super) fn group_of(&self, sample: usize) -> Option<usize> {
        self.sample_group.get(sample).copied().flatten()
    }

    /// Adds what only `debug=2` knows per goroutine: state, wait time, creator.
    pub(super) fn add_goroutine_details(&mut self, dump: &GoroutineDump) {
        // (group, creator) → goroutines, counted on the dump's own strings: a dump has tens of
        // thousands of goroutines and a few creators.
        let mut creators: rustc_hash::FxHashMap<(usize, &str, &str, i64), u64> =
            rustc_hash::FxHashMap::default();
        for goroutine in &dump.goroutines {
            let Some(index) = self.group_of(goroutine.sample) else {
                continue;
            };
            let group = &mut self.groups[index];
            count_state(&mut group.states, &goroutine.state);
            if let Some(created) = &goroutine.created_by {
                let key = (index, &*created.function, &*created.file, created.line);
                *creators.entry(key).or_default() += 1;
            }
            if let Some(wait) = goroutine.wait_minutes {
                group.max_wait = Some(group.max_wait.map_or(wait, |m| m.max(wait)));
            }
        }
        for ((index, function, file, line), count) in creators {
            let key = (function.to_string(), file.to_string(), line);
            *self.groups[index].creators.entry(key).or_default() += count;
        }
    }
}

/// One more goroutine in `state`. A state is counted for every goroutine of a dump (tens of
/// thousands): its name is copied only the first time.
pub(super) fn count_state(counts: &mut BTreeMap<String, u64>, state: &str) {
    match counts.get_mut(state) {
        Some(count) => *count += 1,
        None => {
            counts.insert(state.to_string(), 1);
        }
    }
}

/// Groups sorted by count (descending), then label, then frames: the order of the table.
fn sorted_order(groups: &[Group]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&groups[a], &groups[b]);
        b.goroutines
            .cmp(&a.goroutines)
            .then_with(|| a.label.cmp(&b.label))
            .then_with(|| a.frames.cmp(&b.frames))
    });
    order
}

pub(super) fn group_table(
    source: GoroutineSource,
    options: &GoroutineOptions,
    grouping: Grouping,
    inference: Option<&InstanceInference>,
) -> GroupTable {
    let total = grouping.total;
    let total_groups = grouping.groups.len();
    let order = sorted_order(&grouping.groups);
    let mut slots: Vec<Option<Group>> = grouping.groups.into_iter().map(Some).collect();
    let rows: Vec<GoroutineGroup> = order
        .into_iter()
        .take(options.max_groups)
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .map(|g| group_row(g, total, inference.map(|i| i.instances)))
        .collect();
    let shown_goroutines = rows.iter().map(|r| r.goroutines).sum();
    GroupTable {
        source,
        source_text: source.text().to_string(),
        level: options.level,
        level_text: options.level.text().to_string(),
        coverage_text: format!(
            "showing {} of {total_groups} groups, {} of {total} goroutines",
            rows.len(),
            percent_text(shown_goroutines, total)
        ),
        rows,
        total_groups,
        total_goroutines: total,
        shown_goroutines,
    }
}

fn group_row(group: Group, total: u64, instances: Option<u64>) -> GoroutineGroup {
    let mut created_by: Vec<CreatorRow> = group
        .creators
        .into_iter()
        .map(|((function, file, line), goroutines)| CreatorRow {
            text: format!("{function} at {file}:{line}"),
            function,
            file,
            line,
            goroutines,
        })
        .collect();
    created_by.sort_by(|a, b| b.goroutines.cmp(&a.goroutines).then(a.text.cmp(&b.text)));
    let factor = instances.filter(|&n| n > 0 && group.goroutines.is_multiple_of(n));
    GoroutineGroup {
        label_package: package_of(&group.label).to_string(),
        goroutines: group.goroutines,
        share: share(group.goroutines, total),
        share_text: percent_text(group.goroutines, total),
        stacks: group.stacks,
        frames: group.frames,
        created_by,
        states: state_counts(group.states),
        max_wait_minutes: group.max_wait,
        instance_factor: factor.map(|n| group.goroutines / n),
        instance_factor_text: factor
            .map(|n| format!("{} = {} × {n}", group.goroutines, group.goroutines / n)),
        label: group.label,
    }
}

pub(super) fn state_counts(states: BTreeMap<String, u64>) -> Vec<StateCount> {
    let mut rows: Vec<StateCount> = states
        .into_iter()
        .map(|(state, goroutines)| StateCount { state, goroutines })
        .collect();
    rows.sort_by(|a, b| b.goroutines.cmp(&a.goroutines).then(a.state.cmp(&b.state)));
    rows
}
