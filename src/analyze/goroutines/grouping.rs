//! Goroutines grouped by stack: the groups as they are built (with what `debug=2` adds per
//! goroutine), and the table of them, sorted, that the analysis shows.

use std::collections::BTreeMap;

use super::connections::{ConnectionRole, role_of};
use super::mutex::is_mutex_lock_frame;
use super::naming::distinctions;
use super::stacks::{Frame, Keyed, frames, key_of};
use super::waits::wait_of;
use super::{
    CreatorRow, GoroutineGroup, GoroutineOptions, GoroutineSource, GroupColumns, GroupLevel,
    GroupTable, InstanceInference, LabelCount, StateCount, percent_text, share,
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
    /// The visible frames' function names, leaf first, and the label's index among them.
    names: Vec<String>,
    label_at: usize,
    /// What tells the group apart from others with its label.
    distinct: Option<String>,
    /// Set when the goroutines exist once per connection or stream.
    pub(super) role: Option<ConnectionRole>,
    /// Goroutine profile: what the goroutines wait in, from the runtime frames.
    waits: BTreeMap<&'static str, u64>,
    /// pprof labels (`key=value, …`) → goroutines.
    labels: BTreeMap<String, u64>,
    /// `debug=2`: goroutines of the dump in this group (the dump may be of another instant).
    pub(super) dump_goroutines: u64,
    pub(super) creators: BTreeMap<(String, String, i64), u64>,
    states: BTreeMap<String, u64>,
    pub(super) max_wait: Option<u64>,
}

impl Group {
    /// The visible frames' function names, leaf first.
    pub(super) fn names(&self) -> &[String] {
        &self.names
    }

    /// The label with what tells the group apart: `pkg.f (from pkg.g)`.
    pub(super) fn display_label(&self) -> String {
        match &self.distinct {
            Some(distinct) => format!("{} ({distinct})", self.label),
            None => self.label.clone(),
        }
    }
}

pub(super) struct Grouping {
    pub(super) groups: Vec<Group>,
    /// Sample index → group index (`None` for samples of no goroutines).
    sample_group: Vec<Option<usize>>,
    /// Sample index → its stack holds a mutex lock frame.
    pub(super) sample_mutex: Vec<bool>,
    /// Goroutines in all samples.
    pub(super) total: u64,
    /// Which stacks are one group.
    level: GroupLevel,
    /// The key a `debug=2` stack is matched by → group index.
    matches: BTreeMap<Vec<String>, usize>,
    /// `debug=2` sample index → group index, once the dump's details are added.
    dump_group: Vec<Option<usize>>,
    /// `debug=2` goroutines whose stack no group has (the dump is of another instant).
    pub(super) dump_unmatched: u64,
}

/// The goroutine count of a sample: the `goroutine` value, else the default one.
pub(super) fn sample_value(profile: &Profile, sample: SampleRef<'_>) -> u64 {
    let index = profile
        .sample_index_of("goroutine")
        .unwrap_or_else(|| profile.default_sample_index());
    sample.values().get(index).map_or(0, |&v| v.max(0) as u64)
}

/// The key a stack is matched across sources by: the level's key, but never the runtime
/// frames the text dumps leave out.
fn match_key(frames: &[Frame], keyed: &Keyed, level: GroupLevel) -> Vec<String> {
    match level {
        GroupLevel::Exact => frames[keyed.visible.clone()]
            .iter()
            .map(|f| format!("{} {}:{}", f.function, f.file, f.line))
            .collect(),
        GroupLevel::Functions | GroupLevel::Package => keyed.key.clone(),
    }
}

/// `key=value, …` of a sample's string labels; `None` without any.
fn label_text(sample: SampleRef<'_>) -> Option<String> {
    let labels = sample.labels();
    (!labels.strings.is_empty()).then(|| {
        crate::analyze::labels::text(
            labels
                .strings
                .iter()
                .flat_map(|(key, values)| values.iter().map(move |v| (key.as_str(), v.as_str()))),
        )
    })
}

/// Groups the samples of `profile` at `level`; `profile_waits` reads what each goroutine
/// waits in from its runtime frames (the goroutine protobuf has them, the dumps do not).
pub(super) fn group(profile: &Profile, level: GroupLevel, profile_waits: bool) -> Grouping {
    let mut index: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    let mut matches: BTreeMap<Vec<String>, usize> = BTreeMap::new();
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
        let mut keyed = key_of(&frames, level);
        let group_index = match index.get(&keyed.key) {
            Some(&i) => i,
            None => {
                let names: Vec<String> = frames[keyed.visible.clone()]
                    .iter()
                    .map(|f| f.function.to_string())
                    .collect();
                let shown = match level {
                    GroupLevel::Exact => keyed.key.clone(),
                    _ => names.clone(),
                };
                let label = keyed.label(&frames);
                let (label, label_at) = (label.text.clone(), label.at.unwrap_or(0));
                groups.push(Group {
                    label,
                    goroutines: 0,
                    stacks: 0,
                    frames: shown,
                    role: role_of(&names),
                    names,
                    label_at,
                    distinct: None,
                    waits: BTreeMap::new(),
                    labels: BTreeMap::new(),
                    dump_goroutines: 0,
                    creators: BTreeMap::new(),
                    states: BTreeMap::new(),
                    max_wait: None,
                });
                matches
                    .entry(match_key(&frames, &keyed, level))
                    .or_insert(groups.len() - 1);
                index.insert(keyed.key, groups.len() - 1);
                groups.len() - 1
            }
        };
        let group = &mut groups[group_index];
        group.goroutines += value;
        group.stacks += 1;
        if profile_waits {
            *group.waits.entry(wait_of(&frames)).or_default() += value;
        }
        if let Some(text) = label_text(sample) {
            *group.labels.entry(text).or_default() += value;
        }
        sample_group.push(Some(group_index));
    }
    tell_apart(&mut groups);
    Grouping {
        groups,
        sample_group,
        sample_mutex,
        total,
        level,
        matches,
        dump_group: Vec::new(),
        dump_unmatched: 0,
    }
}

/// Sets what tells apart the groups that share a label.
fn tell_apart(groups: &mut [Group]) {
    let mut by_label: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, group) in groups.iter().enumerate() {
        by_label.entry(&group.label).or_default().push(i);
    }
    let mut found: Vec<(usize, Option<String>)> = Vec::new();
    for members in by_label.values().filter(|m| m.len() > 1) {
        let names: Vec<(&[String], usize)> = members
            .iter()
            .map(|&i| (groups[i].names.as_slice(), groups[i].label_at))
            .collect();
        found.extend(members.iter().copied().zip(distinctions(&names)));
    }
    for (i, distinct) in found {
        groups[i].distinct = distinct;
    }
}

impl Grouping {
    pub(super) fn group_of(&self, sample: usize) -> Option<usize> {
        self.sample_group.get(sample).copied().flatten()
    }

    /// The group of a sample of the `debug=2` dump whose details were added.
    pub(super) fn group_of_dump(&self, sample: usize) -> Option<usize> {
        self.dump_group.get(sample).copied().flatten()
    }

    /// Adds what only `debug=2` knows per goroutine: state, wait time, creator. `same` says
    /// the groups were made from this dump; otherwise its stacks are matched to the groups by
    /// their visible frames, and goroutines in stacks no group has are counted apart.
    pub(super) fn add_goroutine_details(&mut self, dump: &GoroutineDump, same: bool) {
        self.dump_group = if same {
            self.sample_group.clone()
        } else {
            dump.profile
                .samples()
                .map(|sample| {
                    let frames = frames(&dump.profile, sample);
                    let keyed = key_of(&frames, self.level);
                    let key = match_key(&frames, &keyed, self.level);
                    self.matches.get(&key).copied()
                })
                .collect()
        };
        // (group, creator) → goroutines, counted on the dump's own strings: a dump has tens of
        // thousands of goroutines and a few creators.
        let mut creators: rustc_hash::FxHashMap<(usize, &str, &str, i64), u64> =
            rustc_hash::FxHashMap::default();
        for goroutine in &dump.goroutines {
            let Some(index) = self.group_of_dump(goroutine.sample) else {
                self.dump_unmatched += 1;
                continue;
            };
            let group = &mut self.groups[index];
            group.dump_goroutines += 1;
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
    details: Option<GoroutineSource>,
    options: &GoroutineOptions,
    grouping: Grouping,
    inference: Option<&InstanceInference>,
) -> GroupTable {
    let total = grouping.total;
    let total_groups = grouping.groups.len();
    let dump_unmatched = grouping.dump_unmatched;
    let order = sorted_order(&grouping.groups);
    let mut slots: Vec<Option<Group>> = grouping.groups.into_iter().map(Some).collect();
    let rows: Vec<GoroutineGroup> = order
        .into_iter()
        .take(options.max_groups)
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .map(|g| group_row(g, total, inference.map(|i| i.instances)))
        .collect();
    let shown_goroutines = rows.iter().map(|r| r.goroutines).sum();
    let columns = GroupColumns {
        per_instance: rows.iter().any(|r| r.instance_factor_text.is_some()),
        waiting: rows.iter().any(|r| !r.waiting.is_empty()),
        states: rows.iter().any(|r| !r.states.is_empty()),
        max_wait: rows.iter().any(|r| r.max_wait_minutes.is_some()),
        created_by: rows.iter().any(|r| !r.created_by.is_empty()),
        labels: rows.iter().any(|r| !r.labels.is_empty()),
    };
    GroupTable {
        source,
        source_text: source.text().to_string(),
        details_source: details,
        details_source_text: details.map(|d| d.text().to_string()),
        details_unmatched: details.filter(|&d| d != source).map(|_| dump_unmatched),
        level: options.level,
        level_text: options.level.text().to_string(),
        coverage_text: format!(
            "showing {} of {total_groups} groups, {} of {total} goroutines",
            rows.len(),
            percent_text(shown_goroutines, total)
        ),
        columns,
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
    let waiting = state_counts(
        group
            .waits
            .into_iter()
            .map(|(wait, n)| (wait.to_string(), n))
            .collect(),
    );
    let mut labels: Vec<LabelCount> = group
        .labels
        .into_iter()
        .map(|(label, goroutines)| LabelCount { label, goroutines })
        .collect();
    labels.sort_by(|a, b| b.goroutines.cmp(&a.goroutines).then(a.label.cmp(&b.label)));
    GoroutineGroup {
        label_package: package_of(&group.label).to_string(),
        goroutines: group.goroutines,
        share: share(group.goroutines, total),
        share_text: percent_text(group.goroutines, total),
        stacks: group.stacks,
        frames: group.frames,
        distinct: group.distinct,
        connection: group.role,
        waiting,
        labels,
        dump_goroutines: group.dump_goroutines,
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
