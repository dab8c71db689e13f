//! pprof's Merge for `top`: the profile and a negated base deduplicated into one set of
//! functions, locations and samples, with `drop_frames` pruning and the combined header.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use super::names::{NameFilters, NameMatches};
use super::paths::{go_base, shown_file_name};
use super::tags::{TagFilter, numeric_label_units};
use super::{BaseMode, TopError};
use crate::profile::{Labels, Profile, ValueType};

/// Header fields of the merged profile (pprof's combineHeaders).
#[derive(Debug, Clone)]
pub(super) struct Header {
    pub(super) main_file: Option<String>,
    pub(super) build_id: String,
    pub(super) comments: Vec<String>,
    pub(super) time_nanos: i64,
    pub(super) duration_nanos: i64,
    drop_frames: String,
    keep_frames: String,
}

/// A function or a location, deduplicated across the profile and its base the way
/// pprof's Merge does (by content, not by id).
/// Its strings are borrowed from the profiles: a merge allocates nothing per function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct FunctionKey<'a> {
    pub(super) start_line: i64,
    pub(super) name: &'a str,
    system_name: &'a str,
    pub(super) filename: &'a str,
}

/// `mapping` is the merged mapping's number (see [`mapping_key`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LocationKey {
    address: u64,
    mapping: Option<u32>,
    lines: Vec<(usize, i64)>,
    is_folded: bool,
}

/// A merged location: its frames (innermost first) as (function, line), and the file of
/// its mapping (pprof shows `[binary]` for frames without a function name).
#[derive(Debug, Clone)]
pub(super) struct MergedLocation<'a> {
    pub(super) lines: Vec<(usize, i64)>,
    pub(super) objfile: &'a str,
    /// The location has a mapping (whose file `-focus` and the others also match).
    has_mapping: bool,
    /// `-hide` or `-show` left it no frame: it is taken out of every stack.
    pub(super) hidden: bool,
}

/// The samples of the profile (and negated base) reduced to one value each, with stacks as
/// indices into `locations`, leaf first. A sample's stack is read from its source profile
/// through that source's location map, not copied: a production heap profile has tens of
/// millions of frames. Only samples that had to be summed (a base, negative values) own a
/// copy of their stack.
#[derive(Debug)]
pub(super) struct Merged<'a> {
    pub(super) header: Header,
    pub(super) functions: Vec<FunctionKey<'a>>,
    pub(super) locations: Vec<MergedLocation<'a>>,
    /// Each source profile and its map from location index to merged location.
    pub(super) sources: Vec<(&'a Profile, Vec<u32>)>,
    /// Stacks of the summed samples.
    owned: Vec<u32>,
    /// Where each summed sample's stack and value are.
    owned_stacks: Vec<OwnedStack>,
    pub(super) samples: Vec<MergedSample>,
    /// The cuts of samples whose `skip` does not fit 16 bits (stacks of 65,535 frames and
    /// more, which the decoder allows), by sample.
    long_skips: FxHashMap<u32, u32>,
    /// The sample types computed (columns). A sample read from its source has its values
    /// there; a summed one (one column only) has its value in `summed`.
    columns: Vec<usize>,
    pub(super) width: usize,
    summed: Vec<i64>,
    /// pprof's total of each column over the samples before the name and tag filters
    /// dropped any (it computes the total before filtering); `None` when they dropped none.
    totals_before_filters: Option<Vec<i64>>,
    /// Which name filters matched something (pprof warns about the others).
    pub(super) name_matches: NameMatches,
}

/// `-tagfocus` and `-tagignore`: a sample is kept when it matches the first (if given) and
/// not the second.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TagFilters<'f> {
    pub(super) focus: Option<&'f TagFilter>,
    pub(super) ignore: Option<&'f TagFilter>,
}

/// One merged sample: where its stack is, how many frames prune_frames cut from its leaf
/// end, and whether it came from a diff base (its values are in `Merged::values`). 8 bytes:
/// a production heap profile has a million of them (24 with the stack's place inline).
#[derive(Debug, Clone, Copy)]
pub(super) struct MergedSample {
    /// The sample's index in its source profile, or its index in `Merged::owned_stacks`.
    at: u32,
    /// Frames cut from the leaf end, or [`MergedSample::LONG_SKIP`]: then the cut is in
    /// `Merged::long_skips` ([`Merged::skip_of`]).
    skip: u16,
    /// The number of its source profile, or [`MergedSample::OWNED`].
    source: u8,
    /// [`MergedSample::DIFF_BASE`] and [`MergedSample::TAGGED`].
    flags: u8,
}

impl MergedSample {
    /// A summed sample, which owns a copy of its stack.
    const OWNED: u8 = u8::MAX;
    const LONG_SKIP: u16 = u16::MAX;
    /// The sample came from a diff base.
    const DIFF_BASE: u8 = 1;
    /// The tag filters keep the sample.
    const TAGGED: u8 = 2;

    fn new(at: u32, source: u8, diff_base: bool, tagged: bool) -> Self {
        let flags =
            if diff_base { Self::DIFF_BASE } else { 0 } | if tagged { Self::TAGGED } else { 0 };
        MergedSample {
            at,
            skip: 0,
            source,
            flags,
        }
    }

    fn diff_base(&self) -> bool {
        self.flags & Self::DIFF_BASE != 0
    }

    fn tagged(&self) -> bool {
        self.flags & Self::TAGGED != 0
    }
}

/// Where a merged sample's stack is: read from its source profile, or owned.
#[derive(Debug, Clone, Copy)]
pub(super) enum StackAt {
    Source { source: u32, sample: u32 },
    Owned(OwnedStack),
}

/// An owned stack's place in `Merged::owned` (`start..end`) and its value's in
/// `Merged::summed`.
#[derive(Debug, Clone, Copy)]
pub(super) struct OwnedStack {
    start: u32,
    end: u32,
    summed: u32,
}

impl<'a> Merged<'a> {
    /// Merges `profile` (and a negated `base`) for the sample types `columns`. Summing samples
    /// (with a base, or negative values) needs one column: it depends on the values.
    pub(super) fn build(
        profile: &'a Profile,
        base: Option<(&'a Profile, BaseMode)>,
        columns: &[usize],
        tags: TagFilters<'_>,
        names: NameFilters<'_>,
    ) -> Result<Merged<'a>, TopError> {
        if let Some((base, _)) = base {
            compatible(profile, base)?;
        }
        let mut merged = Merged {
            header: Header {
                main_file: None,
                build_id: String::new(),
                comments: Vec::new(),
                time_nanos: 0,
                duration_nanos: 0,
                drop_frames: String::new(),
                keep_frames: String::new(),
            },
            functions: Vec::new(),
            locations: Vec::new(),
            sources: Vec::new(),
            owned: Vec::new(),
            owned_stacks: Vec::new(),
            samples: Vec::new(),
            long_skips: FxHashMap::default(),
            columns: columns.to_vec(),
            width: columns.len(),
            summed: Vec::new(),
            totals_before_filters: None,
            name_matches: NameMatches::default(),
        };
        let index = columns.first().copied().unwrap_or(0);
        let mut function_ids: FxHashMap<FunctionKey<'a>, usize> = FxHashMap::default();
        // Mappings are few: each gets its merged number and shown file once, not per location.
        let mut mapping_ids: FxHashMap<(u64, u64, &'a str), u32> = FxHashMap::default();
        let mut location_ids: FxHashMap<LocationKey, u32> = FxHashMap::default();
        let sources: Vec<(&Profile, i64, bool)> = std::iter::once((profile, 1, false))
            .chain(base.map(|(b, mode)| (b, -1, mode == BaseMode::Diff)))
            .collect();

        // Samples merge when their stacks and labels are equal; only then can values cancel
        // out, which changes pprof's total (a sum of absolute values). Without negative
        // values merging changes nothing, so it is skipped.
        let needs_merge = columns.len() == 1
            && sources
                .iter()
                .any(|(p, sign, _)| *sign < 0 || p.samples().any(|s| s.value(index) < 0));
        let mut sample_ids: HashMap<(Vec<u32>, LabelKey), usize> = HashMap::new();
        let label_units = if tags.focus.is_some_and(TagFilter::is_range)
            || tags.ignore.is_some_and(TagFilter::is_range)
        {
            // Over the samples pprof's Merge keeps: those with a value that is not 0.
            numeric_label_units(sources.iter().flat_map(|(p, _, _)| {
                p.samples()
                    .filter(|s| s.values().any(|v| v != 0))
                    .map(|s| s.labels())
            }))
        } else {
            Default::default()
        };

        for (source_number, &(source, sign, diff_base)) in sources.iter().enumerate() {
            // Samples share label sets: each set is matched once.
            let mut tagged_sets: FxHashMap<usize, bool> = FxHashMap::default();
            let mut location_map: Vec<u32> = Vec::with_capacity(source.locations.len());
            let mut function_map: Vec<Option<usize>> = vec![None; source.functions.len()];
            let mapping_ids_of_source: Vec<u32> = source
                .mappings
                .iter()
                .map(|m| {
                    let next = mapping_ids.len() as u32;
                    *mapping_ids.entry(mapping_key(m)).or_insert(next)
                })
                .collect();
            for location in &source.locations {
                let mut lines = Vec::with_capacity(location.lines.len());
                for line in &location.lines {
                    let id = match function_map[line.function] {
                        Some(id) => id,
                        None => {
                            let f = &source.functions[line.function];
                            let key = FunctionKey {
                                start_line: f.start_line,
                                name: &f.name,
                                system_name: &f.system_name,
                                filename: &f.filename,
                            };
                            let next = merged.functions.len();
                            let id = *function_ids.entry(key).or_insert(next);
                            if id == next {
                                merged.functions.push(key);
                            }
                            function_map[line.function] = Some(id);
                            id
                        }
                    };
                    lines.push((id, line.line));
                }
                let mapping = location.mapping.map(|m| &source.mappings[m]);
                let key = LocationKey {
                    address: location
                        .address
                        .wrapping_sub(mapping.map_or(0, |m| m.memory_start)),
                    mapping: location.mapping.map(|m| mapping_ids_of_source[m]),
                    lines: lines.clone(),
                    is_folded: location.is_folded,
                };
                let next = merged.locations.len() as u32;
                let id = *location_ids.entry(key).or_insert(next);
                if id == next {
                    merged.locations.push(MergedLocation {
                        lines,
                        objfile: mapping.map_or("", shown_file_name),
                        has_mapping: mapping.is_some(),
                        hidden: false,
                    });
                }
                location_map.push(id);
            }
            // Grown once: a production heap profile has a million samples, and doubling a
            // vector of them page-faults its way through every size on the way.
            merged.samples.reserve(source.samples.len());
            for sample in source.samples() {
                if columns.iter().all(|&c| sample.value(c) == 0) {
                    continue;
                }
                // A profile written by `pprof -proto -diff_base` carries the mark itself.
                let from_base = diff_base || is_diff_base_sample(sample.labels());
                let tagged = (tags.focus.is_none() && tags.ignore.is_none())
                    || *tagged_sets.entry(sample.label_set()).or_insert_with(|| {
                        let labels = sample.labels();
                        let matches = |f: &TagFilter| f.matches(labels, diff_base, &label_units);
                        tags.focus.is_none_or(matches) && !tags.ignore.is_some_and(matches)
                    });
                if needs_merge {
                    let value = sample.value(index).wrapping_mul(sign);
                    let stack: Vec<u32> = sample.locations().map(|l| location_map[l]).collect();
                    let key = (stack, LabelKey::new(sample.labels(), diff_base));
                    if let Some(&existing) = sample_ids.get(&key) {
                        if let StackAt::Owned(OwnedStack { summed, .. }) = merged.stack_at(existing)
                        {
                            merged.summed[summed as usize] += value;
                        }
                        continue;
                    }
                    let start = merged.owned.len() as u32;
                    merged.owned.extend_from_slice(&key.0);
                    sample_ids.insert(key, merged.samples.len());
                    merged.samples.push(MergedSample::new(
                        merged.owned_stacks.len() as u32,
                        MergedSample::OWNED,
                        from_base,
                        tagged,
                    ));
                    merged.owned_stacks.push(OwnedStack {
                        start,
                        end: merged.owned.len() as u32,
                        summed: merged.summed.len() as u32,
                    });
                    merged.summed.push(value);
                } else {
                    merged.samples.push(MergedSample::new(
                        sample.index() as u32,
                        // The profile and its base: two sources.
                        source_number as u8,
                        from_base,
                        tagged,
                    ));
                    // Unsummed samples come from the profile itself (a base is always
                    // summed, so `sign` is 1 here): their values are read from it, not copied.
                }
            }
            merged.sources.push((source, location_map));
        }
        merged.header = combine_headers(&sources);
        merged.prune_frames()?;
        merged.apply_name_filters(names);
        merged.apply_tag_filters();
        Ok(merged)
    }

    /// pprof's FilterSamplesByTag, after its total is taken: the samples the tag filters
    /// drop are removed (samples summed together share their labels, so they go together).
    fn apply_tag_filters(&mut self) {
        if self.samples.iter().all(MergedSample::tagged) {
            return;
        }
        self.keep_totals();
        self.retain_samples(|s| s.tagged());
    }

    /// Keeps the samples `keep` says to, in order (with their long cuts).
    fn retain_samples(&mut self, mut keep: impl FnMut(&MergedSample) -> bool) {
        if self.long_skips.is_empty() {
            self.samples.retain(keep);
            return;
        }
        let long_skips = std::mem::take(&mut self.long_skips);
        let (mut old, mut new) = (0u32, 0u32);
        self.samples.retain(|s| {
            let kept = keep(s);
            if kept {
                if let Some(&cut) = long_skips.get(&old) {
                    self.long_skips.insert(new, cut);
                }
                new += 1;
            }
            old += 1;
            kept
        });
    }

    /// Whether every sample's whole stack is read from the one source profile: no base,
    /// nothing summed, nothing pruned or hidden. A walk of the merged samples is then a walk
    /// of that profile's own stacks.
    pub(super) fn whole_source_stacks(&self) -> bool {
        self.sources.len() == 1
            && self.long_skips.is_empty()
            && self.samples.iter().all(|m| m.source == 0 && m.skip == 0)
            && !self.locations.iter().any(|l| l.hidden)
    }

    /// Frames prune_frames cut from the leaf end of sample `s`.
    #[inline]
    pub(super) fn skip_of(&self, s: usize) -> usize {
        match self.samples[s].skip {
            MergedSample::LONG_SKIP => self.long_skips.get(&(s as u32)).map_or(0, |&c| c as usize),
            skip => usize::from(skip),
        }
    }

    fn set_skip(&mut self, s: usize, cut: usize) {
        match u16::try_from(cut) {
            Ok(skip) if skip != MergedSample::LONG_SKIP => self.samples[s].skip = skip,
            _ => {
                self.samples[s].skip = MergedSample::LONG_SKIP;
                self.long_skips.insert(s as u32, cut as u32);
            }
        }
    }

    /// Keeps the totals of the samples as they are now, before a filter drops some.
    fn keep_totals(&mut self) {
        if self.totals_before_filters.is_none() {
            self.totals_before_filters = Some((0..self.width).map(|c| self.total(c)).collect());
        }
    }

    /// pprof's FilterSamplesByName, after its total is taken and frames are pruned: a sample
    /// stays when some location of its stack matches `-focus` (any, without it) and none
    /// matches `-ignore`; `-hide` takes the matching frames out of every location, `-show`
    /// all but the matching ones, and a location left with no frame leaves the stacks (a
    /// sample left with no location goes).
    fn apply_name_filters(&mut self, names: NameFilters<'_>) {
        if !names.any() {
            return;
        }
        let functions = &self.functions;
        let line_matches = |filter: &super::names::NameFilter, function: usize| {
            let f = &functions[function];
            filter.is_match(f.name) || filter.is_match(f.filename)
        };
        let mut matches = NameMatches::default();
        // Per location: Some(true) focused, Some(false) ignored, None neither.
        let mut focus_or_ignore: Vec<Option<bool>> = vec![None; self.locations.len()];
        let mut any_hidden = false;
        for (l, location) in self.locations.iter_mut().enumerate() {
            let mapping_matches = |filter: &super::names::NameFilter| {
                location.has_mapping && filter.is_match(location.objfile)
            };
            let location_matches = |filter: &super::names::NameFilter| {
                location.lines.iter().any(|&(f, _)| line_matches(filter, f))
                    || mapping_matches(filter)
            };
            if names.ignore.is_some_and(location_matches) {
                matches.ignore = true;
                focus_or_ignore[l] = Some(false);
            } else if names.focus.is_none_or(location_matches) {
                matches.focus = true;
                focus_or_ignore[l] = Some(true);
            }
            if let Some(hide) = names.hide.filter(|&h| location_matches(h)) {
                matches.hide = true;
                if mapping_matches(hide) {
                    location.lines.clear();
                } else {
                    location.lines.retain(|&(f, _)| !line_matches(hide, f));
                }
                if location.lines.is_empty() {
                    location.hidden = true;
                }
            }
            if let Some(show) = names.show {
                if !mapping_matches(show) {
                    location.lines.retain(|&(f, _)| line_matches(show, f));
                }
                if location.lines.is_empty() {
                    location.hidden = true;
                } else {
                    matches.show = true;
                }
            }
            any_hidden |= location.hidden;
        }
        self.name_matches = matches;

        let mut keep = Vec::with_capacity(self.samples.len());
        let mut stack = Vec::new();
        for sample in 0..self.samples.len() {
            // The stack as pruned, hidden locations included (they are not hidden yet for
            // `stack`: focus and ignore look at the locations as they were).
            self.stack_with_hidden(sample, &mut stack);
            let mut focused = false;
            let mut ignored = false;
            for &l in &stack {
                match focus_or_ignore[l as usize] {
                    Some(true) => focused = true,
                    Some(false) => {
                        ignored = true;
                        break;
                    }
                    None => {}
                }
            }
            let visible = !any_hidden || stack.iter().any(|&l| !self.locations[l as usize].hidden);
            keep.push(focused && !ignored && visible);
        }
        if keep.iter().all(|&k| k) {
            return;
        }
        self.keep_totals();
        let mut keep = keep.into_iter();
        self.retain_samples(|_| keep.next().unwrap_or(true));
    }

    /// pprof's RemoveUninteresting/Prune: when the profile names drop_frames, frames matching
    /// it (and not keep_frames), with everything beneath them toward the leaf, are removed.
    fn prune_frames(&mut self) -> Result<(), TopError> {
        if self.header.drop_frames.is_empty() {
            return Ok(());
        }
        let compile = |pattern: &str| {
            regex::Regex::new(&format!("^({pattern})$")).map_err(|e| TopError::BadFramePattern {
                pattern: pattern.to_string(),
                reason: crate::text::describe_regex(&e),
            })
        };
        let drop = compile(&self.header.drop_frames)?;
        let keep = match self.header.keep_frames.as_str() {
            "" => None,
            pattern => Some(compile(pattern)?),
        };
        let count = self.locations.len();
        let mut prune = vec![false; count];
        let mut prune_beneath = vec![false; count];
        for (l, location) in self.locations.iter_mut().enumerate() {
            // The outermost matching frame decides; frames from it inward go.
            let matched = location.lines.iter().rposition(|&(function, _)| {
                let name = &self.functions[function].name;
                if name.is_empty() {
                    return false;
                }
                let simple = simplify_function_name(name);
                drop.is_match(simple) && !keep.as_ref().is_some_and(|k| k.is_match(simple))
            });
            if let Some(i) = matched {
                prune_beneath[l] = true;
                if i == location.lines.len() - 1 {
                    prune[l] = true;
                } else {
                    location.lines.drain(..=i);
                }
            }
        }
        let mut stack = Vec::new();
        for sample in 0..self.samples.len() {
            self.stack(sample, &mut stack);
            let mut found_user = false;
            for i in (0..stack.len()).rev() {
                let l = stack[i] as usize;
                if !prune[l] && !prune_beneath[l] {
                    found_user = true;
                    continue;
                }
                if !found_user {
                    continue;
                }
                let cut = if prune[l] { i + 1 } else { i };
                self.set_skip(sample, cut);
                break;
            }
        }
        Ok(())
    }

    /// Where sample `sample`'s stack is.
    #[inline]
    pub(super) fn stack_at(&self, sample: usize) -> StackAt {
        let merged = &self.samples[sample];
        if merged.source == MergedSample::OWNED {
            StackAt::Owned(self.owned_stacks[merged.at as usize])
        } else {
            StackAt::Source {
                source: u32::from(merged.source),
                sample: merged.at,
            }
        }
    }

    /// Fills `out` with a sample's stack (merged locations, leaf first), without the frames
    /// prune_frames cut and the locations `-hide`/`-show` emptied.
    pub(super) fn stack(&self, sample: usize, out: &mut Vec<u32>) {
        self.stack_with_hidden(sample, out);
        out.retain(|&l| !self.locations[l as usize].hidden);
    }

    /// [`Merged::stack`] with the locations `-hide`/`-show` emptied.
    fn stack_with_hidden(&self, sample: usize, out: &mut Vec<u32>) {
        out.clear();
        let skip = self.skip_of(sample);
        match self.stack_at(sample) {
            StackAt::Source { source, sample } => {
                let (profile, map) = &self.sources[source as usize];
                out.extend(
                    profile
                        .sample(sample as usize)
                        .locations()
                        .skip(skip)
                        .map(|l| map[l]),
                );
            }
            StackAt::Owned(OwnedStack { start, end, .. }) => {
                let start = (start as usize + skip).min(end as usize);
                out.extend_from_slice(&self.owned[start..end as usize]);
            }
        }
    }

    /// pprof's computeTotal: the sum of |value|, or of the diff base's samples when present.
    pub(super) fn total(&self, column: usize) -> i64 {
        let mut sums = TotalSums::default();
        if self.totals_before_filters.is_none() {
            for s in 0..self.samples.len() {
                sums.count(self.value_at(s, column), self.diff_base_at(s));
            }
        }
        self.total_from(column, sums)
    }

    /// [`Merged::total`] from the column's sums over every sample, taken by a walk that
    /// reads the values anyway.
    pub(super) fn total_from(&self, column: usize, sums: TotalSums) -> i64 {
        if let Some(&total) = self
            .totals_before_filters
            .as_ref()
            .and_then(|t| t.get(column))
        {
            return total;
        }
        if sums.diff_base > 0 {
            sums.diff_base
        } else {
            sums.all
        }
    }

    /// True when sample `s` is one of a diff base's.
    #[inline]
    pub(super) fn diff_base_at(&self, s: usize) -> bool {
        self.samples[s].diff_base()
    }

    /// Fills `out` with the values of sample `s`, one per column.
    #[inline]
    pub(super) fn values_into(&self, s: usize, out: &mut Vec<i64>) {
        out.clear();
        out.extend((0..self.width).map(|column| self.value_at(s, column)));
    }

    /// The value of sample `s` in `column` (an owned sample has its one summed value).
    #[inline]
    fn value_at(&self, s: usize, column: usize) -> i64 {
        match self.stack_at(s) {
            StackAt::Source { source, sample } => self.sources[source as usize]
                .0
                .samples
                .value_of(sample as usize, self.columns[column]),
            StackAt::Owned(OwnedStack { summed, .. }) => self.summed[summed as usize],
        }
    }
}

/// The sums behind pprof's total of a column: of every sample's |value|, and of the diff
/// base's samples'. Sums wrap as pprof's do, so sums of parts add up to the whole's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct TotalSums {
    all: i64,
    diff_base: i64,
}

impl TotalSums {
    /// Counts one sample's value.
    #[inline]
    pub(super) fn count(&mut self, value: i64, diff_base: bool) {
        self.all = self.all.wrapping_add(value.wrapping_abs());
        if diff_base {
            self.diff_base = self.diff_base.wrapping_add(value.wrapping_abs());
        }
    }

    /// Adds the sums of other samples.
    pub(super) fn add(&mut self, other: TotalSums) {
        self.all = self.all.wrapping_add(other.all);
        self.diff_base = self.diff_base.wrapping_add(other.diff_base);
    }
}

/// pprof's `DiffBaseSample`: the sample has the label `pprof::base` with the value `true`,
/// which `-diff_base` sets on the base's samples and `-proto` writes out.
fn is_diff_base_sample(labels: &Labels) -> bool {
    labels
        .strings
        .get("pprof::base")
        .is_some_and(|values| values.iter().any(|v| v == "true"))
}

/// Labels of a sample as a hashable key (plus the diff-base mark pprof adds as a label).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LabelKey {
    strings: Vec<(String, Vec<String>)>,
    numbers: Vec<(String, Vec<i64>, Vec<String>)>,
    diff_base: bool,
}

impl LabelKey {
    fn new(labels: &Labels, diff_base: bool) -> Self {
        // pprof sets the label on the base's samples, replacing any value it had, so a
        // sample already marked in the file and one marked by -diff_base are equal.
        let marked = diff_base || is_diff_base_sample(labels);
        LabelKey {
            strings: labels
                .strings
                .iter()
                .filter(|(k, _)| k.as_str() != "pprof::base" || !marked)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            numbers: labels
                .numbers
                .iter()
                .map(|(k, v)| {
                    let units = labels.number_units.get(k).cloned().unwrap_or_default();
                    (k.clone(), v.clone(), units)
                })
                .collect(),
            diff_base: marked,
        }
    }
}

/// pprof's simplifyFunc: the name up to its argument list, keeping the parentheses of
/// `(anonymous namespace)` and `operator()`.
fn simplify_function_name(name: &str) -> &str {
    let name = name.strip_prefix('.').unwrap_or(name);
    let mut i = 0;
    while i < name.len() {
        let rest = &name[i..];
        if rest.starts_with("(anonymous namespace)") {
            i += "(anonymous namespace)".len();
        } else if rest.starts_with("operator()") {
            i += "operator()".len();
        } else if rest.starts_with('(') {
            return &name[..i];
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    name
}

/// pprof's mapping key: size rounded up to 4 KiB, offset, and build id or else file name.
fn mapping_key(m: &crate::profile::Mapping) -> (u64, u64, &str) {
    let size = m.memory_limit.wrapping_sub(m.memory_start);
    let size = size.wrapping_add(0xfff);
    let size = size - size % 0x1000;
    let ident = if !m.build_id.is_empty() {
        &m.build_id
    } else {
        &m.filename
    };
    (size, m.file_offset, ident)
}

fn compatible(profile: &Profile, base: &Profile) -> Result<(), TopError> {
    let period = |p: &Profile| p.period_type.clone().unwrap_or_default();
    if period(profile) != period(base) {
        return Err(TopError::IncompatibleBase(format!(
            "period types differ ({} vs {})",
            describe(&period(profile)),
            describe(&period(base))
        )));
    }
    if profile.sample_types != base.sample_types {
        let list = |p: &Profile| {
            p.sample_types
                .iter()
                .map(describe)
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(TopError::IncompatibleBase(format!(
            "sample types differ ({} vs {})",
            list(profile),
            list(base)
        )));
    }
    Ok(())
}

/// `kind/unit` for an error message, escaped: the names come from the profile, and a line
/// break in one would split the one-line error (found by fuzzing).
fn describe(t: &ValueType) -> String {
    format!("{}/{}", t.kind.escape_debug(), t.unit.escape_debug())
}

/// pprof's combineHeaders, plus unsourceMappings for the main file name.
fn combine_headers(sources: &[(&Profile, i64, bool)]) -> Header {
    let mut time_nanos = 0i64;
    let mut duration_nanos = 0i64;
    let mut comments: Vec<String> = Vec::new();
    for (p, _, _) in sources {
        if time_nanos == 0 || p.time_nanos < time_nanos {
            time_nanos = p.time_nanos;
        }
        duration_nanos = duration_nanos.wrapping_add(p.duration_nanos);
        for c in &p.comments {
            if !comments.contains(c) {
                comments.push(c.clone());
            }
        }
    }
    let first = sources.first().map(|(p, _, _)| *p);
    let mapping = first.and_then(|p| p.mappings.first());
    let main_file = mapping
        .map(shown_file_name)
        .filter(|file| !file.is_empty())
        .map(go_base);
    Header {
        main_file,
        build_id: mapping.map(|m| m.build_id.clone()).unwrap_or_default(),
        comments,
        time_nanos,
        duration_nanos,
        drop_frames: first.map(|p| p.drop_frames.clone()).unwrap_or_default(),
        keep_frames: first.map(|p| p.keep_frames.clone()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use crate::profile::{Labels, Line, Profile, ProfileBuilder, ValueType};

    /// A profile whose one sample is `main.main` calling `runtime.mallocgc` `depth` times
    /// over, with drop_frames naming the latter.
    fn allocating(depth: usize) -> Profile {
        let mut b = ProfileBuilder::new(vec![ValueType {
            kind: "samples".into(),
            unit: "count".into(),
        }]);
        let mut frame = |address, name: &str| {
            let function = b.function(name, "");
            let line = Line {
                function,
                line: 0,
                column: 0,
            };
            b.location(address, &[line])
        };
        let (main, malloc) = (frame(1, "main.main"), frame(2, "runtime.mallocgc"));
        // A sample before it, which `-ignore` drops (the cut moves with its sample).
        let other = frame(3, "other.idle");
        b.sample(&[other, main], &[1], Labels::default()).unwrap();
        let mut stack = vec![malloc; depth];
        stack.push(main);
        b.sample(&stack, &[3], Labels::default()).unwrap();
        let mut profile = b.finish();
        profile.drop_frames = "runtime\\.mallocgc".to_string();
        profile
    }

    #[test]
    fn cuts_longer_than_sixteen_bits_prune_like_short_ones() {
        let options = super::super::TopOptions {
            ignore: Some(super::super::names::NameFilter::parse("other").unwrap()),
            ..Default::default()
        };
        let top = |depth| {
            let report = super::super::top(&allocating(depth), None, &options).unwrap();
            format!("{:?}", report.items)
        };
        let short = top(3);
        assert!(
            short.contains("main.main") && !short.contains("mallocgc") && !short.contains("other"),
            "{short}"
        );
        // 70,000 frames cut: more than a sample's 16-bit `skip` holds.
        assert_eq!(top(70_000), short);
    }

    #[test]
    fn a_merged_sample_is_eight_bytes() {
        // A production heap profile has a million samples, merged for every memory view.
        assert_eq!(std::mem::size_of::<super::MergedSample>(), 8);
    }
}
