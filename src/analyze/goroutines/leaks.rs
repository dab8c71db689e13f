//! `debug=2` only: leak suspects and the leaks the runtime proved (see the module
//! documentation of `goroutines`). Age alone is no evidence: a group is a suspect only when
//! it is created per request or connection, far larger than the connections in flight, and
//! has goroutines blocked for most of the uptime.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use super::connections::loop_role;
use super::grouping::{Group, Grouping, count_state, state_counts};
use super::naming::is_accept_loop;
use super::{GoroutineOptions, LabelCount, LeakSuspect};
use crate::dump::GoroutineDump;

/// What the leak check found.
pub(super) struct Leaks {
    pub(super) in_flight: u64,
    pub(super) floor: u64,
    pub(super) floor_text: String,
    pub(super) suspects: Vec<LeakSuspect>,
    pub(super) other_groups: usize,
    pub(super) other_goroutines: u64,
    pub(super) proved: Vec<LabelCount>,
    pub(super) proved_total: u64,
}

/// Blocked goroutines of one group.
struct Blocked {
    goroutines: u64,
    min: u64,
    max: u64,
    states: BTreeMap<String, u64>,
    /// Why the group is one per request or connection, from the first creator that says so.
    per_request: Option<String>,
}

pub(super) fn leaks(
    dump: &GoroutineDump,
    grouping: &Grouping,
    threshold: u64,
    options: &GoroutineOptions,
) -> Leaks {
    let groups = &grouping.groups;
    // Goroutines serving a connection, or accepting them: their children exist per request
    // or connection.
    let serves = |g: &Group| g.role.is_some() || grouping.names_of(g).any(is_accept_loop);
    let by_id: FxHashMap<u64, usize> = dump
        .goroutines
        .iter()
        .filter_map(|g| Some((g.id, grouping.group_of_dump(g.sample)?)))
        .collect();
    // Functions seen running on a connection's stack run per request.
    let per_request_functions: BTreeSet<&str> = groups
        .iter()
        .filter(|g| g.role.is_some())
        .flat_map(|g| grouping.names_of(g))
        .collect();
    let in_flight: u64 = groups
        .iter()
        .filter(|g| g.role.is_some())
        .map(|g| g.dump_goroutines)
        .sum();

    let mut blocked: BTreeMap<usize, Blocked> = BTreeMap::new();
    // Proved leaks by group first: a label is a string made once per group.
    let mut proved_by_group: BTreeMap<Option<usize>, u64> = BTreeMap::new();
    for goroutine in &dump.goroutines {
        let group = grouping.group_of_dump(goroutine.sample);
        if goroutine.leaked {
            *proved_by_group.entry(group).or_default() += 1;
        }
        let wait = goroutine.wait_minutes.map_or(0, u64::from);
        let Some(index) = group.filter(|_| wait >= threshold) else {
            continue;
        };
        let entry = blocked.entry(index).or_insert(Blocked {
            goroutines: 0,
            min: u64::MAX,
            max: 0,
            states: BTreeMap::new(),
            per_request: None,
        });
        entry.goroutines += 1;
        entry.min = entry.min.min(wait);
        entry.max = entry.max.max(wait);
        count_state(&mut entry.states, &goroutine.state);
        if entry.per_request.is_none()
            && let Some(created) = &goroutine.created_by
        {
            let function = &*created.function;
            let parent = created
                .parent_goroutine
                .and_then(|id| by_id.get(&id))
                .and_then(|&g| groups.get(g))
                .filter(|g| serves(g));
            entry.per_request = if loop_role(function).is_some() {
                Some(format!("created by {function}, once per connection"))
            } else if let Some(parent) = parent {
                Some(format!(
                    "created by {function} in a goroutine of {}",
                    grouping.display_label(parent)
                ))
            } else if per_request_functions.contains(function) {
                Some(format!(
                    "created by {function}, which runs on connections' stacks"
                ))
            } else {
                function
                    .ends_with(".ServeHTTP")
                    .then(|| format!("created by {function}, an HTTP handler"))
            };
        }
    }

    let floor = options.leak_min_goroutines.max(
        options
            .leak_in_flight_factor
            .saturating_mul(in_flight.max(1)),
    );
    let mut suspects = Vec::new();
    let (mut other_groups, mut other_goroutines) = (0, 0);
    for (index, b) in blocked {
        let Some(group) = groups.get(index) else {
            continue;
        };
        let size = group.dump_goroutines;
        match b.per_request {
            Some(reason) if group.role.is_none() && size >= floor => suspects.push(LeakSuspect {
                label: grouping.display_label(group),
                group_goroutines: size,
                blocked: b.goroutines,
                min_wait_minutes: b.min,
                max_wait_minutes: b.max,
                wait_text: if b.min == b.max {
                    format!("{} min", b.min)
                } else {
                    format!("{}–{} min", b.min, b.max)
                },
                states: state_counts(b.states),
                per_request_text: reason,
            }),
            _ => {
                other_groups += 1;
                other_goroutines += b.goroutines;
            }
        }
    }
    suspects.sort_by(|a, b| {
        b.blocked
            .cmp(&a.blocked)
            .then_with(|| a.label.cmp(&b.label))
            .then_with(|| b.max_wait_minutes.cmp(&a.max_wait_minutes))
    });
    let mut proved: BTreeMap<String, u64> = BTreeMap::new();
    for (group, count) in proved_by_group {
        let label = group.and_then(|g| groups.get(g)).map_or_else(
            || "(stack not in the groups)".to_string(),
            |g| grouping.display_label(g),
        );
        *proved.entry(label).or_default() += count;
    }
    let proved_total = proved.values().sum();
    let mut proved: Vec<LabelCount> = proved
        .into_iter()
        .map(|(label, goroutines)| LabelCount { label, goroutines })
        .collect();
    proved.sort_by(|a, b| b.goroutines.cmp(&a.goroutines).then(a.label.cmp(&b.label)));
    Leaks {
        in_flight,
        floor,
        floor_text: format!(
            "≥ {floor} goroutines ({} × the {in_flight} serving connections, and at least {})",
            options.leak_in_flight_factor, options.leak_min_goroutines
        ),
        suspects,
        other_groups,
        other_goroutines,
        proved,
        proved_total,
    }
}
