//! Goroutines grouped by stack: the groups as they are built (with what `debug=2` adds per
//! goroutine), and the table of them, sorted, that the analysis shows.

use std::collections::BTreeMap;

use super::connections::{ConnectionRole, role_of};
use super::intern::{Facts, Names, SeqIndex, Span};
use super::naming::{Distinct, distinctions};
use super::stacks::{Frame, StackTable, key_of};
use super::waits::wait_of;
use super::{
    CreatorRow, GoroutineGroup, GoroutineOptions, GoroutineSource, GroupColumns, GroupLevel,
    GroupTable, InstanceInference, LabelCount, StateCount, percent_text, share,
};
use crate::analyze::names::package_of;
use crate::dump::GoroutineDump;
use crate::profile::{Profile, SampleRef};

/// A group while it is built. Names are interned ids (see `intern`): strings are made only
/// for what the output shows. What only the rows shown print (waits, labels, states,
/// creators) is counted for those rows alone, when the table is made (see [`RowDetails`]).
#[derive(Debug)]
pub(super) struct Group {
    /// The label's id.
    pub(super) label: u32,
    pub(super) goroutines: u64,
    stacks: usize,
    /// In the grouping's arena: the group's key, and the visible frames' function names,
    /// leaf first (at `Functions`, the same ids).
    key: Span,
    names: Span,
    /// Where the visible frames start among all frames (the `Exact` key has them all).
    visible_start: u32,
    /// The label's index among `names`.
    label_at: u32,
    /// What tells the group apart from others with its label.
    distinct: Option<Distinct>,
    /// Set when the goroutines exist once per connection or stream.
    pub(super) role: Option<ConnectionRole>,
    /// `debug=2`: goroutines of the dump in this group (the dump may be of another instant).
    pub(super) dump_goroutines: u64,
    /// `debug=2`: the longest wait in the group, in minutes.
    max_wait: Option<u64>,
}

impl Group {
    /// The part of the key a `debug=2` stack is matched by: its visible frames.
    fn matched(&self, level: GroupLevel) -> Span {
        match level {
            GroupLevel::Exact => {
                let start = self.visible_start as usize;
                self.key.sub(start..start + self.names.len())
            }
            GroupLevel::Functions | GroupLevel::Package => self.key,
        }
    }

    /// The frames the table shows: `func file:line` of every frame at `Exact`, else the
    /// visible frames' function names.
    fn shown(&self, level: GroupLevel) -> Span {
        match level {
            GroupLevel::Exact => self.key,
            GroupLevel::Functions | GroupLevel::Package => self.names,
        }
    }
}

pub(super) struct Grouping<'a> {
    pub(super) groups: Vec<Group>,
    /// The names of every source's frames, one table for all.
    names: Names<'a>,
    /// The groups' sequences of ids, one after another (see [`Group`]).
    arena: Vec<u32>,
    /// The source of the groups, and its frames.
    profile: &'a Profile,
    table: StackTable,
    /// Whether the rows read what the goroutines wait in from their runtime frames.
    profile_waits: bool,
    /// The `debug=2` dump whose details were added.
    dump: Option<&'a GoroutineDump>,
    /// Sample index → group index (`None` for samples of no goroutines).
    sample_group: Vec<Option<usize>>,
    /// Sample index → its stack holds a mutex lock frame.
    pub(super) sample_mutex: Vec<bool>,
    /// Goroutines in all samples.
    pub(super) total: u64,
    /// Which stacks are one group.
    level: GroupLevel,
    /// The group key → group index. Only looked up, never walked.
    index: SeqIndex,
    /// `Exact` only: the key a `debug=2` stack is matched by (its visible frames) → the first
    /// group with it; at the other levels that key is the group key, and `index` serves.
    matches: Option<SeqIndex>,
    /// `debug=2` sample index → group index, once the dump's details are added.
    dump_group: Vec<Option<usize>>,
    /// `debug=2` goroutines whose stack no group has (the dump is of another instant).
    pub(super) dump_unmatched: u64,
}

/// The index of the value that counts goroutines: the `goroutine` value, else the default one.
fn goroutine_value_index(profile: &Profile) -> usize {
    profile
        .sample_index_of("goroutine")
        .unwrap_or_else(|| profile.default_sample_index())
}

/// The goroutine count of a sample: the `goroutine` value, else the default one.
pub(super) fn sample_value(profile: &Profile, sample: SampleRef<'_>) -> u64 {
    value_at(sample, goroutine_value_index(profile))
}

fn value_at(sample: SampleRef<'_>, index: usize) -> u64 {
    sample.value(index).max(0) as u64
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
pub(super) fn group(profile: &Profile, level: GroupLevel, profile_waits: bool) -> Grouping<'_> {
    let mut names = Names::default();
    let table = StackTable::new(profile, &mut names, level == GroupLevel::Exact);
    let value_index = goroutine_value_index(profile);
    let mut arena: Vec<u32> = Vec::new();
    let mut index = SeqIndex::default();
    let mut matches = (level == GroupLevel::Exact).then(SeqIndex::default);
    let mut groups: Vec<Group> = Vec::new();
    let mut sample_group = Vec::with_capacity(profile.samples.len());
    let mut sample_mutex = Vec::with_capacity(profile.samples.len());
    let mut total = 0;
    // Reused for every sample: a lookup that finds its group allocates nothing.
    let mut frames: Vec<Frame> = Vec::new();
    let mut key: Vec<u32> = Vec::new();
    for sample in profile.samples() {
        table.sample_frames(sample, &mut frames);
        sample_mutex.push(frames.iter().any(|f| names.facts(f.name).mutex_lock));
        let value = value_at(sample, value_index);
        if value == 0 {
            sample_group.push(None);
            continue;
        }
        total += value;
        let mut keyed = key_of(&frames, level, &mut names, &mut key);
        let hash = SeqIndex::hash(&key);
        let found = index.find(hash, &key, &arena);
        let group_index = match found {
            Some(i) => i,
            None => {
                let group_index = groups.len();
                let key_span = Span::push(&mut arena, key.iter().copied());
                let names_span = match level {
                    GroupLevel::Functions => key_span,
                    GroupLevel::Package | GroupLevel::Exact => Span::push(
                        &mut arena,
                        frames[keyed.visible.clone()].iter().map(|f| f.name),
                    ),
                };
                let label = keyed.label(&frames, &mut names);
                let group = Group {
                    label: label.name,
                    goroutines: 0,
                    stacks: 0,
                    key: key_span,
                    names: names_span,
                    visible_start: keyed.visible.start as u32,
                    role: role_of(names_span.of(&arena), &names),
                    label_at: label.at.unwrap_or(0) as u32,
                    distinct: None,
                    dump_goroutines: 0,
                    max_wait: None,
                };
                if let Some(matches) = &mut matches {
                    // The first group with a match key keeps it.
                    let matched = group.matched(level);
                    let ids = matched.of(&arena);
                    let hash = SeqIndex::hash(ids);
                    if matches.find(hash, ids, &arena).is_none() {
                        matches.insert(hash, matched, group_index);
                    }
                }
                groups.push(group);
                index.insert(hash, key_span, group_index);
                group_index
            }
        };
        let group = &mut groups[group_index];
        group.goroutines += value;
        group.stacks += 1;
        sample_group.push(Some(group_index));
    }
    tell_apart(&mut groups, &arena);
    Grouping {
        groups,
        names,
        arena,
        profile,
        table,
        profile_waits,
        dump: None,
        sample_group,
        sample_mutex,
        total,
        level,
        index,
        matches,
        dump_group: Vec::new(),
        dump_unmatched: 0,
    }
}

/// Sets what tells apart the groups that share a label.
fn tell_apart(groups: &mut [Group], arena: &[u32]) {
    // The groups by label (by id: which labels are equal is all that matters here).
    let mut by_label: Vec<usize> = (0..groups.len()).collect();
    by_label.sort_unstable_by_key(|&i| (groups[i].label, i));
    let mut found: Vec<(usize, Option<Distinct>)> = Vec::new();
    for members in by_label
        .chunk_by(|&a, &b| groups[a].label == groups[b].label)
        .filter(|m| m.len() > 1)
    {
        let names: Vec<(&[u32], usize)> = members
            .iter()
            .map(|&i| (groups[i].names.of(arena), groups[i].label_at as usize))
            .collect();
        found.extend(members.iter().copied().zip(distinctions(&names)));
    }
    for (i, distinct) in found {
        groups[i].distinct = distinct;
    }
}

impl<'a> Grouping<'a> {
    pub(super) fn group_of(&self, sample: usize) -> Option<usize> {
        self.sample_group.get(sample).copied().flatten()
    }

    /// The group of a sample of the `debug=2` dump whose details were added.
    pub(super) fn group_of_dump(&self, sample: usize) -> Option<usize> {
        self.dump_group.get(sample).copied().flatten()
    }

    /// A group's visible function names, leaf first.
    pub(super) fn names_of(&self, group: &Group) -> impl Iterator<Item = &str> + Clone {
        group
            .names
            .of(&self.arena)
            .iter()
            .map(|&id| self.names.name(id))
    }

    /// The facts of a group's visible functions, leaf first.
    pub(super) fn facts_of(&self, group: &Group) -> impl Iterator<Item = &Facts> + Clone {
        group
            .names
            .of(&self.arena)
            .iter()
            .map(|&id| self.names.facts(id))
    }

    /// The label with what tells the group apart: `pkg.f (from pkg.g)`.
    pub(super) fn display_label(&self, group: &Group) -> String {
        let label = self.names.name(group.label);
        match group.distinct {
            Some(distinct) => format!("{label} ({})", distinct.text(&self.names)),
            None => label.to_string(),
        }
    }

    /// Adds what only `debug=2` knows per goroutine: state, wait time, creator. `same` says
    /// the groups were made from this dump; otherwise its stacks are matched to the groups by
    /// their visible frames, and goroutines in stacks no group has are counted apart.
    pub(super) fn add_goroutine_details(&mut self, dump: &'a GoroutineDump, same: bool) {
        self.dump_group = if same {
            self.sample_group.clone()
        } else {
            let level = self.level;
            let table = StackTable::new(&dump.profile, &mut self.names, level == GroupLevel::Exact);
            let matches = self.matches.as_ref().unwrap_or(&self.index);
            let arena = &self.arena;
            let mut frames: Vec<Frame> = Vec::new();
            let mut key: Vec<u32> = Vec::new();
            let mut dump_group = Vec::with_capacity(dump.profile.samples.len());
            for sample in dump.profile.samples() {
                table.sample_frames(sample, &mut frames);
                let keyed = key_of(&frames, level, &mut self.names, &mut key);
                let matched = keyed.match_key(&key, level);
                let hash = SeqIndex::hash(matched);
                dump_group.push(matches.find(hash, matched, arena));
            }
            dump_group
        };
        self.dump = Some(dump);
        for goroutine in &dump.goroutines {
            let Some(index) = self.group_of_dump(goroutine.sample) else {
                self.dump_unmatched += 1;
                continue;
            };
            let group = &mut self.groups[index];
            group.dump_goroutines += 1;
            if let Some(wait) = goroutine.wait_minutes.map(u64::from) {
                group.max_wait = Some(group.max_wait.map_or(wait, |m| m.max(wait)));
            }
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

/// The first `max` groups in the order of the table: by count (descending), then label, then
/// frames, as strings; then by index, the order a stable sort leaves ties in. Only those few
/// are sorted: the rest are set apart by a selection, which compares far fewer pairs.
fn table_order(grouping: &Grouping, max: usize) -> Vec<usize> {
    let (groups, names, arena) = (&grouping.groups, &grouping.names, &grouping.arena);
    let level = grouping.level;
    let cmp = |&a: &usize, &b: &usize| {
        let (ga, gb) = (&groups[a], &groups[b]);
        gb.goroutines
            .cmp(&ga.goroutines)
            .then_with(|| names.cmp(ga.label, gb.label))
            .then_with(|| names.cmp_seq(ga.shown(level).of(arena), gb.shown(level).of(arena)))
            .then(a.cmp(&b))
    };
    let mut order: Vec<usize> = (0..groups.len()).collect();
    if max < order.len() {
        order.select_nth_unstable_by(max, cmp);
        order.truncate(max);
    }
    order.sort_unstable_by(cmp);
    order
}

/// What the rows shown print beyond the group's counts, counted for those rows only.
#[derive(Default)]
struct RowDetails<'a> {
    /// Goroutine profile: what the goroutines wait in, from the runtime frames.
    waits: BTreeMap<&'static str, u64>,
    /// pprof labels (`key=value, …`) → goroutines.
    labels: BTreeMap<String, u64>,
    /// `debug=2`: (function, file, line) of the `go` statements → goroutines.
    creators: BTreeMap<(&'a str, &'a str, i64), u64>,
    /// `debug=2`: state → goroutines.
    states: BTreeMap<&'a str, u64>,
}

impl<'a> Grouping<'a> {
    /// The details of the groups `shown`, in their order: one pass over the samples and one
    /// over the dump's goroutines, reading only those of the groups shown.
    fn row_details(&self, shown: &[usize]) -> Vec<RowDetails<'a>> {
        let mut row_of: Vec<Option<usize>> = vec![None; self.groups.len()];
        for (row, &group) in shown.iter().enumerate() {
            row_of[group] = Some(row);
        }
        let row_of = |group: Option<usize>| group.and_then(|g| row_of.get(g).copied().flatten());
        let mut rows: Vec<RowDetails> = shown.iter().map(|_| RowDetails::default()).collect();
        let value_index = goroutine_value_index(self.profile);
        let mut frames: Vec<Frame> = Vec::new();
        for (index, sample) in self.profile.samples().enumerate() {
            let Some(row) = row_of(self.group_of(index)) else {
                continue;
            };
            let details = &mut rows[row];
            let value = value_at(sample, value_index);
            if self.profile_waits {
                self.table.sample_frames(sample, &mut frames);
                *details
                    .waits
                    .entry(wait_of(&frames, &self.names))
                    .or_default() += value;
            }
            if let Some(text) = label_text(sample) {
                *details.labels.entry(text).or_default() += value;
            }
        }
        for goroutine in self.dump.iter().flat_map(|dump| &dump.goroutines) {
            let Some(row) = row_of(self.group_of_dump(goroutine.sample)) else {
                continue;
            };
            let details = &mut rows[row];
            *details.states.entry(&goroutine.state).or_default() += 1;
            if let Some(created) = &goroutine.created_by {
                let key = (&*created.function, &*created.file, created.line);
                *details.creators.entry(key).or_default() += 1;
            }
        }
        rows
    }
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
    let order = table_order(&grouping, options.max_groups);
    let row_details = grouping.row_details(&order);
    let rows: Vec<GoroutineGroup> = order
        .iter()
        .zip(row_details)
        .filter_map(|(&i, details)| Some((grouping.groups.get(i)?, details)))
        .map(|(group, details)| {
            group_row(
                group,
                details,
                &grouping,
                total,
                inference.map(|i| i.instances),
            )
        })
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

fn group_row(
    group: &Group,
    details: RowDetails,
    grouping: &Grouping,
    total: u64,
    instances: Option<u64>,
) -> GoroutineGroup {
    let names = &grouping.names;
    let mut created_by: Vec<CreatorRow> = details
        .creators
        .into_iter()
        .map(|((function, file, line), goroutines)| CreatorRow {
            text: format!("{function} at {file}:{line}"),
            function: function.to_string(),
            file: file.to_string(),
            line,
            goroutines,
        })
        .collect();
    created_by.sort_by(|a, b| b.goroutines.cmp(&a.goroutines).then(a.text.cmp(&b.text)));
    let factor = instances.filter(|&n| n > 0 && group.goroutines.is_multiple_of(n));
    let waiting = state_counts(
        details
            .waits
            .into_iter()
            .map(|(wait, n)| (wait.to_string(), n))
            .collect(),
    );
    let mut labels: Vec<LabelCount> = details
        .labels
        .into_iter()
        .map(|(label, goroutines)| LabelCount { label, goroutines })
        .collect();
    labels.sort_by(|a, b| b.goroutines.cmp(&a.goroutines).then(a.label.cmp(&b.label)));
    let label = names.name(group.label);
    GoroutineGroup {
        label_package: package_of(label).to_string(),
        goroutines: group.goroutines,
        share: share(group.goroutines, total),
        share_text: percent_text(group.goroutines, total),
        stacks: group.stacks,
        frames: names.strings(group.shown(grouping.level).of(&grouping.arena)),
        distinct: group.distinct.map(|d| d.text(names)),
        connection: group.role,
        waiting,
        labels,
        dump_goroutines: group.dump_goroutines,
        created_by,
        states: state_counts(
            details
                .states
                .into_iter()
                .map(|(state, n)| (state.to_string(), n))
                .collect(),
        ),
        max_wait_minutes: group.max_wait,
        instance_factor: factor.map(|n| group.goroutines / n),
        instance_factor_text: factor
            .map(|n| format!("{} = {} × {n}", group.goroutines, group.goroutines / n)),
        label: label.to_string(),
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
