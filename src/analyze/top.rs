//! The `top` engine: google/pprof's text report (`internal/report` TextItems over
//! `internal/graph`), reproduced step by step so that every number matches `go tool pprof -top`.
//!
//! The steps, in pprof's order: merge the profile (and a negated base) sample by sample;
//! prune `drop_frames`; aggregate locations to the requested granularity; build the graph,
//! drop nodes whose cum is under the node fraction, rebuild; sort; keep the top N, rebuild;
//! trim light edges (they decide `(inline)`); pick the output unit; format.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use serde::{Deserialize, Serialize};

use crate::profile::{Labels, Profile, ValueType};
use crate::timefmt;
use crate::units;

/// How locations are grouped into report lines, as pprof's `-functions`, `-lines`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    #[default]
    Functions,
    FileFunctions,
    Files,
    Lines,
}

/// How a base profile is applied: `-base` subtracts it; `-diff_base` subtracts it and takes
/// percentages relative to the base's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BaseMode {
    Subtract,
    Diff,
}

/// Options of a top report. Defaults are pprof's defaults for `-top`.
#[derive(Debug, Clone, PartialEq)]
pub struct TopOptions {
    /// Sample type by name or number; `None` is the profile's default.
    pub sample_index: Option<String>,
    /// Sort by cum instead of flat (`-cum`).
    pub cum_sort: bool,
    pub granularity: Granularity,
    /// Maximum number of lines; 0 shows every node that survives the node fraction.
    pub node_count: usize,
    /// Nodes whose |cum| is below this fraction of the total are dropped (pprof: 0.005).
    pub node_fraction: f64,
    /// Edges lighter than this fraction are ignored when deciding `(inline)` (pprof: 0.001).
    pub edge_fraction: f64,
}

impl Default for TopOptions {
    fn default() -> Self {
        TopOptions {
            sample_index: None,
            cum_sort: false,
            granularity: Granularity::Functions,
            node_count: 0,
            node_fraction: 0.005,
            edge_fraction: 0.001,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TopError {
    #[error("the profile has no sample types")]
    NoSampleTypes,
    #[error("sample index {index} is outside the range [0..{max}]")]
    SampleIndexOutOfRange { index: String, max: usize },
    #[error("unknown sample index {name:?}: the profile has {available}")]
    UnknownSampleIndex { name: String, available: String },
    #[error("the base profile cannot be subtracted: {0}")]
    IncompatibleBase(String),
    #[error("invalid drop_frames/keep_frames pattern {pattern:?}: {reason}")]
    BadFramePattern { pattern: String, reason: String },
}

/// One line of the report: pprof's `TextItem`, with raw numbers and their text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopItem {
    pub name: String,
    /// `(inline)`, `(partial-inline)` or empty.
    pub inline_label: String,
    pub flat: i64,
    pub cum: i64,
    /// Running sum of flat down to this line.
    pub flat_sum: i64,
    pub flat_text: String,
    pub cum_text: String,
    pub flat_percent: String,
    pub sum_percent: String,
    pub cum_percent: String,
}

/// The whole top report: header lines as pprof prints them, the totals and the items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopReport {
    /// `File:`, `Type:`, `Time:`, `Duration:`, `Showing nodes …`, `Dropped …`, `Showing top …`.
    pub labels: Vec<String>,
    pub sample_type: String,
    pub sample_unit: String,
    /// The unit numbers are printed in (pprof's "minimum" choice).
    pub output_unit: String,
    /// Sum of |value| over samples (the base's only, with a diff base): pprof's total.
    pub total: i64,
    pub total_text: String,
    /// Sum of flat over the shown items, as text and as a share of the total.
    pub shown_flat: i64,
    pub shown_flat_text: String,
    pub shown_percent_text: String,
    /// Nodes dropped for being under the node fraction.
    pub dropped_nodes: usize,
    /// Nodes left after dropping, before the node count limit.
    pub node_total: usize,
    pub items: Vec<TopItem>,
}

/// Computes the top report of `profile`, with `base` subtracted when given.
pub fn top(
    profile: &Profile,
    base: Option<(&Profile, BaseMode)>,
    options: &TopOptions,
) -> Result<TopReport, TopError> {
    let mut reports = top_views(profile, base, std::slice::from_ref(options))?;
    reports.pop().ok_or(TopError::NoSampleTypes)
}

/// Computes several top reports of one profile at once: each view has its own sample index
/// and sort; one walk over the stacks serves all of them (a production heap profile has tens
/// of millions of frames, and the report wants four views of it). Views that differ in
/// anything else, and profiles whose samples must be summed first (a base, negative values),
/// are computed one by one, with the same result.
pub fn top_views(
    profile: &Profile,
    base: Option<(&Profile, BaseMode)>,
    views: &[TopOptions],
) -> Result<Vec<TopReport>, TopError> {
    let indices = views
        .iter()
        .map(|v| sample_index(profile, v.sample_index.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = views.first() else {
        return Ok(Vec::new());
    };
    let shared = views.iter().all(|v| {
        v.granularity == first.granularity
            && v.node_count == first.node_count
            && v.node_fraction == first.node_fraction
            && v.edge_fraction == first.edge_fraction
    });
    let mut columns: Vec<usize> = indices.clone();
    columns.sort_unstable();
    columns.dedup();
    let separately = views.len() > 1
        && (!shared
            || base.is_some()
            || profile
                .samples()
                .any(|s| columns.iter().any(|&c| s.values()[c] < 0)));
    if separately {
        return views
            .iter()
            .map(|v| top_views(profile, base, std::slice::from_ref(v)).map(|mut r| r.remove(0)))
            .collect();
    }
    let merged = Merged::build(profile, base, &columns)?;
    let nodes = Nodes::build(&merged, first.granularity);
    let mut graph = Graph::new(&merged, &nodes);
    // One pass: everything, to find the low-frequency nodes by their cum weight.
    let built = graph.build();

    let mut shaped = Vec::with_capacity(views.len());
    for (options, &index) in views.iter().zip(&indices) {
        let column = columns.iter().position(|&c| c == index).unwrap_or(0);
        shaped.push(shape(&built[column], &nodes, options, column));
    }
    let inline_labels = graph.inline_labels(
        &shaped
            .iter()
            .map(|v| EdgeView {
                column: v.column,
                kept: v.kept.as_deref(),
                shown: &v.current.nodes,
                cutoff: v.edge_cutoff,
            })
            .collect::<Vec<_>>(),
    );
    Ok(shaped
        .into_iter()
        .zip(inline_labels)
        .zip(views.iter().zip(&indices))
        .map(|((view, labels), (options, &index))| {
            let total = merged.total(view.column);
            format_report(
                profile,
                &merged.header,
                &nodes,
                view,
                &labels,
                total,
                index,
                options,
            )
        })
        .collect())
}

/// One view's graph after pprof's node dropping and node count, before formatting.
struct Shaped {
    column: usize,
    current: Built,
    kept: Option<Vec<bool>>,
    dropped_nodes: usize,
    node_total: usize,
    edge_cutoff: i64,
}

/// pprof's node dropping (under the node fraction), sort and node count on a built graph.
fn shape(full: &Built, nodes: &Nodes, options: &TopOptions, column: usize) -> Shaped {
    let total_value: i64 = full.nodes.iter().map(|&n| full.flat[n as usize]).sum();
    let node_cutoff = ((total_value as f64 * options.node_fraction) as i64).abs();
    let edge_cutoff = ((total_value as f64 * options.edge_fraction) as i64).abs();

    let mut current = full.restrict(None);
    let mut kept: Option<Vec<bool>> = None;
    let mut dropped_nodes = 0;
    if node_cutoff > 0 {
        let keep: Vec<bool> = (0..nodes.len())
            .map(|n| current.cum[n].abs() >= node_cutoff && current.is_node(n))
            .collect();
        let kept_count = keep.iter().filter(|&&k| k).count();
        if kept_count != current.nodes.len() {
            dropped_nodes = current.nodes.len() - kept_count;
            current = current.restrict(Some(&keep));
            kept = Some(keep);
        }
    }
    let node_total = current.nodes.len();
    current.sort(nodes, options.cum_sort);
    if options.node_count > 0 && options.node_count < current.nodes.len() {
        let mut keep = vec![false; nodes.len()];
        for &n in &current.nodes[..options.node_count] {
            keep[n as usize] = true;
        }
        current = current.restrict(Some(&keep));
        current.sort(nodes, options.cum_sort);
        kept = Some(keep);
    }
    Shaped {
        column,
        current,
        kept,
        dropped_nodes,
        node_total,
        edge_cutoff,
    }
}

/// The report lines and header of one shaped view, as pprof prints them.
#[allow(clippy::too_many_arguments)]
fn format_report(
    profile: &Profile,
    header: &Header,
    nodes: &Nodes,
    view: Shaped,
    inline_labels: &[&str],
    total: i64,
    index: usize,
    options: &TopOptions,
) -> TopReport {
    let current = view.current;
    let (dropped_nodes, node_total) = (view.dropped_nodes, view.node_total);
    let sample_type = profile.sample_types[index].clone();
    let output_unit = select_output_unit(&current, total, &sample_type.unit);
    let format = |v: i64| units::scaled_label(v, &sample_type.unit, &output_unit);

    let mut items = Vec::with_capacity(current.nodes.len());
    let mut flat_sum = 0i64;
    for (position, &n) in current.nodes.iter().enumerate() {
        let (flat, cum) = (current.flat[n as usize], current.cum[n as usize]);
        flat_sum += flat;
        items.push(TopItem {
            name: nodes.printable_name(n).to_string(),
            inline_label: inline_labels[position].to_string(),
            flat,
            cum,
            flat_sum,
            flat_text: format(flat),
            cum_text: format(cum),
            flat_percent: units::percentage(flat, total),
            sum_percent: units::percentage(flat_sum, total),
            cum_percent: units::percentage(cum, total),
        });
    }

    let mut labels = profile_labels(header, &sample_type, total, &format);
    labels.push(format!(
        "Showing nodes accounting for {}, {} of {} total",
        format(flat_sum),
        units::percentage(flat_sum, total).trim(),
        format(total)
    ));
    if total != 0 {
        if dropped_nodes > 0 {
            let cutoff = ((total as f64 * options.node_fraction) as i64).abs();
            let noun = if dropped_nodes > 1 { "nodes" } else { "node" };
            labels.push(format!(
                "Dropped {dropped_nodes} {noun} (cum <= {})",
                format(cutoff)
            ));
        }
        if !items.is_empty() && items.len() < node_total {
            labels.push(format!(
                "Showing top {} nodes out of {node_total}",
                items.len()
            ));
        }
    }

    let total_text = format(total);
    let shown_flat_text = format(flat_sum);
    TopReport {
        labels,
        sample_type: sample_type.kind.clone(),
        sample_unit: sample_type.unit.clone(),
        total_text,
        output_unit,
        total,
        shown_flat: flat_sum,
        shown_flat_text,
        shown_percent_text: units::percentage(flat_sum, total).trim().to_string(),
        dropped_nodes,
        node_total,
        items,
    }
}

/// pprof's `SampleIndexByName`: empty means the default sample type (else the last); a
/// number is an index; a name may omit the legacy `inuse_` prefix.
pub fn sample_index(profile: &Profile, requested: Option<&str>) -> Result<usize, TopError> {
    if profile.sample_types.is_empty() {
        return Err(TopError::NoSampleTypes);
    }
    let max = profile.sample_types.len() - 1;
    let Some(requested) = requested.filter(|r| !r.is_empty()) else {
        return Ok(profile.default_sample_index());
    };
    if let Ok(i) = requested.parse::<i64>() {
        return usize::try_from(i)
            .ok()
            .filter(|&i| i <= max)
            .ok_or_else(|| TopError::SampleIndexOutOfRange {
                index: requested.to_string(),
                max,
            });
    }
    let without_inuse = requested.strip_prefix("inuse_").unwrap_or(requested);
    profile
        .sample_types
        .iter()
        .position(|t| t.kind == requested || t.kind == without_inuse)
        .ok_or_else(|| TopError::UnknownSampleIndex {
            name: requested.to_string(),
            available: profile
                .sample_types
                .iter()
                .map(|t| t.kind.escape_debug().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Header fields of the merged profile (pprof's combineHeaders).
#[derive(Debug, Clone)]
struct Header {
    main_file: Option<String>,
    build_id: String,
    comments: Vec<String>,
    time_nanos: i64,
    duration_nanos: i64,
    drop_frames: String,
    keep_frames: String,
}

/// A function or a location, deduplicated across the profile and its base the way
/// pprof's Merge does (by content, not by id).
/// Its strings are borrowed from the profiles: a merge allocates nothing per function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FunctionKey<'a> {
    start_line: i64,
    name: &'a str,
    system_name: &'a str,
    filename: &'a str,
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
struct MergedLocation<'a> {
    lines: Vec<(usize, i64)>,
    objfile: &'a str,
}

/// The samples of the profile (and negated base) reduced to one value each, with stacks as
/// indices into `locations`, leaf first. A sample's stack is read from its source profile
/// through that source's location map, not copied: a production heap profile has tens of
/// millions of frames. Only samples that had to be summed (a base, negative values) own a
/// copy of their stack.
#[derive(Debug)]
struct Merged<'a> {
    header: Header,
    functions: Vec<FunctionKey<'a>>,
    locations: Vec<MergedLocation<'a>>,
    /// Each source profile and its map from location index to merged location.
    sources: Vec<(&'a Profile, Vec<u32>)>,
    /// Stacks of the summed samples.
    owned: Vec<u32>,
    samples: Vec<MergedSample>,
    /// The sample types computed (columns). A sample read from its source has its values
    /// there; a summed one (one column only) has its value in `summed`.
    columns: Vec<usize>,
    width: usize,
    summed: Vec<i64>,
}

/// One merged sample: where its stack is, how many frames prune_frames cut from its leaf
/// end, and whether it came from a diff base (its values are in `Merged::values`).
#[derive(Debug, Clone, Copy)]
struct MergedSample {
    stack: StackAt,
    skip: u32,
    diff_base: bool,
}

#[derive(Debug, Clone, Copy)]
enum StackAt {
    Source { source: u32, sample: u32 },
    Owned { start: u32, end: u32, summed: u32 },
}

impl<'a> Merged<'a> {
    /// Merges `profile` (and a negated `base`) for the sample types `columns`. Summing samples
    /// (with a base, or negative values) needs one column: it depends on the values.
    fn build(
        profile: &'a Profile,
        base: Option<(&'a Profile, BaseMode)>,
        columns: &[usize],
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
            samples: Vec::new(),
            columns: columns.to_vec(),
            width: columns.len(),
            summed: Vec::new(),
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
                .any(|(p, sign, _)| *sign < 0 || p.samples().any(|s| s.values()[index] < 0));
        let mut sample_ids: HashMap<(Vec<u32>, LabelKey), usize> = HashMap::new();

        for (source_number, &(source, sign, diff_base)) in sources.iter().enumerate() {
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
                    });
                }
                location_map.push(id);
            }
            for sample in source.samples() {
                let values = sample.values();
                if columns.iter().all(|&c| values[c] == 0) {
                    continue;
                }
                // A profile written by `pprof -proto -diff_base` carries the mark itself.
                let from_base = diff_base || is_diff_base_sample(sample.labels());
                if needs_merge {
                    let value = values[index].wrapping_mul(sign);
                    let stack: Vec<u32> = sample.locations().map(|l| location_map[l]).collect();
                    let key = (stack, LabelKey::new(sample.labels(), diff_base));
                    if let Some(&existing) = sample_ids.get(&key) {
                        if let StackAt::Owned { summed, .. } = merged.samples[existing].stack {
                            merged.summed[summed as usize] += value;
                        }
                        continue;
                    }
                    let start = merged.owned.len() as u32;
                    merged.owned.extend_from_slice(&key.0);
                    sample_ids.insert(key, merged.samples.len());
                    merged.samples.push(MergedSample {
                        stack: StackAt::Owned {
                            start,
                            end: merged.owned.len() as u32,
                            summed: merged.summed.len() as u32,
                        },
                        skip: 0,
                        diff_base: from_base,
                    });
                    merged.summed.push(value);
                } else {
                    merged.samples.push(MergedSample {
                        stack: StackAt::Source {
                            source: source_number as u32,
                            sample: sample.index() as u32,
                        },
                        skip: 0,
                        diff_base: from_base,
                    });
                    // Unsummed samples come from the profile itself (a base is always
                    // summed, so `sign` is 1 here): their values are read from it, not copied.
                }
            }
            merged.sources.push((source, location_map));
        }
        merged.header = combine_headers(&sources);
        merged.prune_frames()?;
        Ok(merged)
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
                self.samples[sample].skip = cut as u32;
                break;
            }
        }
        Ok(())
    }

    /// Fills `out` with a sample's stack (merged locations, leaf first), without the frames
    /// prune_frames cut.
    fn stack(&self, sample: usize, out: &mut Vec<u32>) {
        out.clear();
        let merged = &self.samples[sample];
        match merged.stack {
            StackAt::Source { source, sample } => {
                let (profile, map) = &self.sources[source as usize];
                out.extend(
                    profile
                        .sample(sample as usize)
                        .locations()
                        .skip(merged.skip as usize)
                        .map(|l| map[l]),
                );
            }
            StackAt::Owned { start, end, .. } => {
                let start = (start + merged.skip).min(end);
                out.extend_from_slice(&self.owned[start as usize..end as usize]);
            }
        }
    }

    /// pprof's computeTotal: the sum of |value|, or of the diff base's samples when present.
    fn total(&self, column: usize) -> i64 {
        let mut total = 0i64;
        let mut diff_total = 0i64;
        let mut values = Vec::with_capacity(self.width);
        for (s, sample) in self.samples.iter().enumerate() {
            self.values_into(s, &mut values);
            let value = values[column];
            total = total.wrapping_add(value.wrapping_abs());
            if sample.diff_base {
                diff_total = diff_total.wrapping_add(value.wrapping_abs());
            }
        }
        if diff_total > 0 { diff_total } else { total }
    }

    /// Fills `out` with the values of sample `s`, one per column.
    #[inline]
    fn values_into(&self, s: usize, out: &mut Vec<i64>) {
        out.clear();
        match self.samples[s].stack {
            StackAt::Source { source, sample } => {
                let values = self.sources[source as usize]
                    .0
                    .sample(sample as usize)
                    .values();
                out.extend(self.columns.iter().map(|&c| values[c]));
            }
            StackAt::Owned { summed, .. } => out.push(self.summed[summed as usize]),
        }
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

/// A mapping's file name as pprof shows it: unsourceMappings empties names that are URLs
/// when there is no build id.
fn shown_file_name(m: &crate::profile::Mapping) -> &str {
    if m.build_id.is_empty() && is_absolute_url(&m.filename) {
        ""
    } else {
        &m.filename
    }
}

/// pprof drops mapping file names that are absolute URLs (`url.Parse(f).IsAbs()`).
fn is_absolute_url(file: &str) -> bool {
    let Some((scheme, _)) = file.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Go's `filepath.Base`.
fn go_base(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Go's `filepath.Clean` (lexical: `//`, `.` and `..` elements).
fn go_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// pprof's report-time path trimming with no -trim_path and no -source_path.
fn trim_path(path: &str) -> &str {
    for prefix in ["/proc/self/cwd/./", "/proc/self/cwd/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return rest;
        }
    }
    path
}

/// pprof's `NodeInfo` for the chosen granularity (addresses are always aggregated away).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct NodeInfo {
    name: String,
    file: String,
    start_line: i64,
    lineno: i64,
    objfile: String,
}

impl NodeInfo {
    /// pprof's `PrintableName` (NameComponents joined by spaces).
    fn printable_name(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.name.is_empty() {
            parts.push(self.name.clone());
        }
        if self.lineno != 0 {
            parts.push(format!("{}:{}", self.file, self.lineno));
        } else if !self.file.is_empty() {
            parts.push(self.file.clone());
        } else if !self.name.is_empty() {
        } else if !self.objfile.is_empty() {
            parts.push(format!("[{}]", go_base(&self.objfile)));
        } else {
            parts.push("<unknown>".to_string());
        }
        parts.join(" ")
    }

    /// `fmt.Sprint(info)` in Go, pprof's last tie-breaker when sorting.
    fn go_sprint(&self) -> String {
        format!(
            "{{{}  0 {} {} {} {}}}",
            self.name, self.file, self.start_line, self.lineno, self.objfile
        )
    }
}

/// The graph nodes of the aggregated profile: each location's frames mapped to node ids.
struct Nodes {
    infos: Vec<NodeInfo>,
    names: Vec<String>,
    /// Per merged location: node ids, innermost frame first.
    by_location: Vec<Vec<u32>>,
}

impl Nodes {
    fn build(merged: &Merged, granularity: Granularity) -> Nodes {
        let (keep_function, keep_file, keep_line) = match granularity {
            Granularity::Functions => (true, false, false),
            Granularity::FileFunctions => (true, true, false),
            Granularity::Files => (false, true, false),
            Granularity::Lines => (true, true, true),
        };
        let mut ids: FxHashMap<NodeInfo, u32> = FxHashMap::default();
        let mut infos: Vec<NodeInfo> = Vec::new();
        // A named function's node depends on the function (and line) alone, not on the
        // location: found once, not once per location it appears in.
        let mut named_nodes: FxHashMap<(usize, i64), u32> = FxHashMap::default();
        let mut by_location = Vec::with_capacity(merged.locations.len());
        for location in &merged.locations {
            let lines = &location.lines;
            let objfile = location.objfile;
            let mut location_nodes = Vec::with_capacity(lines.len().max(1));
            let mut add = |info: NodeInfo| {
                let next = infos.len() as u32;
                let id = *ids.entry(info.clone()).or_insert(next);
                if id == next {
                    infos.push(info);
                }
                id
            };
            if lines.is_empty() {
                location_nodes.push(add(NodeInfo {
                    name: String::new(),
                    file: String::new(),
                    start_line: 0,
                    lineno: 0,
                    objfile: objfile.to_string(),
                }));
            }
            for &(function, line) in lines {
                let f = &merged.functions[function];
                let lineno = if keep_line { line } else { 0 };
                let named = keep_function && !f.name.is_empty();
                if named && let Some(&id) = named_nodes.get(&(function, lineno)) {
                    location_nodes.push(id);
                    continue;
                }
                let name = if keep_function {
                    f.name.to_string()
                } else {
                    String::new()
                };
                let file = if keep_file && !f.filename.is_empty() {
                    go_clean(trim_path(f.filename))
                } else {
                    String::new()
                };
                let id = add(NodeInfo {
                    name,
                    file,
                    start_line: if named { 0 } else { f.start_line },
                    lineno,
                    objfile: if named {
                        String::new()
                    } else {
                        objfile.to_string()
                    },
                });
                if named {
                    named_nodes.insert((function, lineno), id);
                }
                location_nodes.push(id);
            }
            by_location.push(location_nodes);
        }
        let names = infos.iter().map(NodeInfo::printable_name).collect();
        Nodes {
            infos,
            names,
            by_location,
        }
    }

    fn len(&self) -> usize {
        self.infos.len()
    }

    fn printable_name(&self, node: u32) -> &str {
        &self.names[node as usize]
    }
}

/// One built graph: flat and cum per node id, and the ids of the nodes in the graph.
struct Built {
    flat: Vec<i64>,
    cum: Vec<i64>,
    nodes: Vec<u32>,
}

impl Built {
    fn is_node(&self, n: usize) -> bool {
        self.flat[n] != 0 || self.cum[n] != 0
    }

    /// The graph pprof builds again with only the `kept` nodes (see [`Graph::build`]); all
    /// of them when `None`.
    fn restrict(&self, kept: Option<&[bool]>) -> Built {
        Built {
            flat: self.flat.clone(),
            cum: self.cum.clone(),
            nodes: self
                .nodes
                .iter()
                .copied()
                .filter(|&n| kept.is_none_or(|k| k[n as usize]))
                .collect(),
        }
    }

    /// pprof's FlatNameOrder / CumNameOrder, with the same tie-breakers.
    fn sort(&mut self, nodes: &Nodes, cum_sort: bool) {
        let (flat, cum) = (&self.flat, &self.cum);
        self.nodes.sort_by(|&l, &r| {
            let (l, r) = (l as usize, r as usize);
            let (primary, secondary) = if cum_sort {
                (
                    cum[r].abs().cmp(&cum[l].abs()),
                    flat[r].abs().cmp(&flat[l].abs()),
                )
            } else {
                (
                    flat[r].abs().cmp(&flat[l].abs()),
                    cum[r].abs().cmp(&cum[l].abs()),
                )
            };
            primary
                .then_with(|| nodes.names[l].cmp(&nodes.names[r]))
                .then(secondary)
                .then_with(|| nodes.infos[l].go_sprint().cmp(&nodes.infos[r].go_sprint()))
        });
    }
}

const NONE: u32 = u32::MAX;

/// Builds the graph over the merged samples (pprof's newGraph), reusing scratch space.
struct Graph<'a> {
    merged: &'a Merged<'a>,
    nodes: &'a Nodes,
    stack: Vec<u32>,
    /// Per source profile: its locations' nodes (innermost first), flattened, so that a
    /// walk goes from the source's packed stack to nodes without a merged-location step.
    sources: Vec<NodeTable>,
}

/// Nodes of each location of one source, flattened: `nodes[starts[l]..starts[l + 1]]`.
struct NodeTable {
    starts: Vec<u32>,
    nodes: Vec<u32>,
}

impl NodeTable {
    #[inline]
    fn of(&self, location: usize) -> &[u32] {
        &self.nodes[self.starts[location] as usize..self.starts[location + 1] as usize]
    }
}

/// What the edge pass needs of one view: its column, its kept and shown nodes, its cutoff.
struct EdgeView<'v> {
    column: usize,
    kept: Option<&'v [bool]>,
    shown: &'v [u32],
    cutoff: i64,
}

impl<'a> Graph<'a> {
    fn new(merged: &'a Merged<'a>, nodes: &'a Nodes) -> Self {
        let sources = merged
            .sources
            .iter()
            .map(|(_, map)| {
                let mut table = NodeTable {
                    starts: Vec::with_capacity(map.len() + 1),
                    nodes: Vec::with_capacity(map.len()),
                };
                for &merged_location in map {
                    table.starts.push(table.nodes.len() as u32);
                    table
                        .nodes
                        .extend_from_slice(&nodes.by_location[merged_location as usize]);
                }
                table.starts.push(table.nodes.len() as u32);
                table
            })
            .collect();
        Graph {
            merged,
            nodes,
            stack: Vec::new(),
            sources,
        }
    }

    /// Calls `visit(node, inline)` for every node of sample `s`'s stack from the root to
    /// the leaf; `inline` says the frame was inlined into the next one out (it is not its
    /// location's outermost frame).
    #[inline]
    fn walk(&mut self, s: usize, mut visit: impl FnMut(u32, bool)) {
        let sample = &self.merged.samples[s];
        match sample.stack {
            StackAt::Source {
                source,
                sample: index,
            } => {
                let (profile, _) = &self.merged.sources[source as usize];
                let table = &self.sources[source as usize];
                let mut stack = profile.sample(index as usize).locations();
                for _ in 0..sample.skip {
                    stack.next();
                }
                for location in stack.rev() {
                    let nodes = table.of(location);
                    let outermost = nodes.len().wrapping_sub(1);
                    for (ni, &n) in nodes.iter().enumerate().rev() {
                        visit(n, ni != outermost);
                    }
                }
            }
            StackAt::Owned { .. } => {
                self.merged.stack(s, &mut self.stack);
                for &location in self.stack.iter().rev() {
                    let nodes = &self.nodes.by_location[location as usize];
                    let outermost = nodes.len().wrapping_sub(1);
                    for (ni, &n) in nodes.iter().enumerate().rev() {
                        visit(n, ni != outermost);
                    }
                }
            }
        }
    }

    /// Walks every sample from the root: cum once per node per sample, flat to the leaf, for
    /// every column at once. Samples of value 0 in a column count nothing there (pprof skips
    /// them).
    ///
    /// pprof builds the graph again after dropping nodes (under the node fraction, past the
    /// node count), skipping the dropped ones. That changes no kept node's numbers: cum is
    /// still counted once per sample, and flat still goes to the leaf's node only when that
    /// node is kept (otherwise the sample's last edge is residual and nobody gets flat). So
    /// the numbers are computed once and the rebuilt graphs are this one restricted to
    /// their nodes ([`Built::restrict`]); only the edges, which decide `(inline)`, need the
    /// kept set ([`Graph::inline_labels`]).
    fn build(&mut self) -> Vec<Built> {
        let count = self.nodes.len();
        let width = self.merged.width;
        let mut flat = vec![0i64; count * width];
        let mut cum = vec![0i64; count * width];
        let mut seen = vec![NONE; count];
        let mut values = Vec::with_capacity(width);
        for s in 0..self.merged.samples.len() {
            self.merged.values_into(s, &mut values);
            let values = values.as_slice();
            let mut leaf = NONE;
            self.walk(s, |n, _| {
                if seen[n as usize] != s as u32 {
                    seen[n as usize] = s as u32;
                    let at = n as usize * width;
                    for (c, v) in cum[at..at + width].iter_mut().zip(values) {
                        *c += v;
                    }
                }
                leaf = n;
            });
            if leaf != NONE {
                let at = leaf as usize * width;
                for (f, v) in flat[at..at + width].iter_mut().zip(values) {
                    *f += v;
                }
            }
        }
        (0..width)
            .map(|column| {
                let flat: Vec<i64> = (0..count).map(|n| flat[n * width + column]).collect();
                let cum: Vec<i64> = (0..count).map(|n| cum[n * width + column]).collect();
                let nodes = (0..count as u32)
                    .filter(|&n| flat[n as usize] != 0 || cum[n as usize] != 0)
                    .collect();
                Built { flat, cum, nodes }
            })
            .collect()
    }

    /// pprof's `(inline)` / `(partial-inline)` labels of each view's shown nodes: a node is
    /// inline when the calls into it that survive the edge cutoff were inlined into their
    /// caller. Edges run between a view's kept nodes (a dropped node between two kept ones
    /// makes the edge residual, which does not matter here); only edges into shown nodes are
    /// counted, and one walk over the stacks serves every view.
    fn inline_labels(&mut self, all_views: &[EdgeView<'_>]) -> Vec<Vec<&'static str>> {
        let count = self.nodes.len();
        // An edge is inline when its callee's frame is not the outermost of its location,
        // so a node that is outermost wherever it appears has no inline edge and no label:
        // only views showing a node that is somewhere inlined need the walk.
        let mut inlined = vec![false; count];
        for nodes in &self.nodes.by_location {
            for &n in nodes.iter().take(nodes.len().saturating_sub(1)) {
                inlined[n as usize] = true;
            }
        }
        let needed: Vec<bool> = all_views
            .iter()
            .map(|v| v.shown.iter().any(|&n| inlined[n as usize]))
            .collect();
        let views: Vec<&EdgeView<'_>> = all_views
            .iter()
            .zip(&needed)
            .filter(|(_, needed)| **needed)
            .map(|(v, _)| v)
            .collect();
        let mut walked = if views.is_empty() {
            Vec::new().into_iter()
        } else {
            self.walk_edges(&views).into_iter()
        };
        all_views
            .iter()
            .zip(&needed)
            .map(|(view, needed)| match needed {
                true => walked.next().unwrap_or_default(),
                false => vec![""; view.shown.len()],
            })
            .collect()
    }

    /// The edge walk of [`Graph::inline_labels`], for the views that need it.
    fn walk_edges(&mut self, views: &[&EdgeView<'_>]) -> Vec<Vec<&'static str>> {
        let count = self.nodes.len();
        let mut edges: Vec<Edges> = views.iter().map(|v| Edges::new(v.shown, count)).collect();
        let mut parents = vec![NONE; views.len()];
        let mut values = Vec::with_capacity(self.merged.width);
        for s in 0..self.merged.samples.len() {
            self.merged.values_into(s, &mut values);
            let values = values.as_slice();
            parents.fill(NONE);
            self.walk(s, |n, inline| {
                for ((view, edges), parent) in views.iter().zip(&mut edges).zip(&mut parents) {
                    let w = values[view.column];
                    if w == 0 || view.kept.is_some_and(|k| !k[n as usize]) {
                        continue;
                    }
                    if *parent != NONE && n != *parent {
                        edges.add(*parent, n, w, inline, s as u32);
                    }
                    *parent = n;
                }
            });
        }
        views
            .iter()
            .zip(edges)
            .map(|(view, edges)| edges.labels(view.cutoff))
            .collect()
    }
}

/// The edges into one view's shown nodes: (weight, every contribution inline, last sample
/// counted) per (caller, shown callee), in a dense table while it stays small, else a map.
struct Edges {
    shown_at: Vec<u32>,
    shown: usize,
    count: usize,
    table: Vec<(i64, bool, u32)>,
    map: HashMap<(u32, u32), (i64, bool, u32)>,
}

impl Edges {
    fn new(shown: &[u32], count: usize) -> Self {
        let mut shown_at = vec![NONE; count];
        for (position, &n) in shown.iter().enumerate() {
            shown_at[n as usize] = position as u32;
        }
        let dense = shown.len().saturating_mul(count) <= 1 << 18;
        Edges {
            shown_at,
            shown: shown.len(),
            count,
            table: if dense {
                vec![(0, true, NONE); shown.len() * count]
            } else {
                Vec::new()
            },
            map: HashMap::new(),
        }
    }

    /// Counts the edge parent → n once per sample.
    #[inline]
    fn add(&mut self, parent: u32, n: u32, w: i64, inline: bool, sample: u32) {
        let at = self.shown_at[n as usize];
        if at == NONE {
            return;
        }
        let edge = if self.table.is_empty() {
            self.map.entry((parent, at)).or_insert((0, true, NONE))
        } else {
            &mut self.table[at as usize * self.count + parent as usize]
        };
        if edge.2 != sample {
            edge.2 = sample;
            edge.0 += w;
            edge.1 &= inline;
        }
    }

    fn labels(&self, cutoff: i64) -> Vec<&'static str> {
        let mut state = vec![(false, false); self.shown];
        let mut mark = |at: usize, &(weight, inline, last): &(i64, bool, u32)| {
            if last == NONE || weight.abs() < cutoff {
                return;
            }
            if inline {
                state[at].0 = true;
            } else {
                state[at].1 = true;
            }
        };
        if self.table.is_empty() {
            for (&(_, at), edge) in &self.map {
                mark(at as usize, edge);
            }
        } else {
            for (i, edge) in self.table.iter().enumerate() {
                mark(i / self.count, edge);
            }
        }
        state
            .iter()
            .map(|state| match state {
                (true, true) => "(partial-inline)",
                (true, false) => "(inline)",
                _ => "",
            })
            .collect()
    }
}

/// pprof's selectOutputUnit for `-unit=minimum`: the unit of the smallest non-zero value,
/// moved up when the largest value is more than 100 times bigger.
fn select_output_unit(graph: &Built, total: i64, sample_unit: &str) -> String {
    if graph.nodes.is_empty() {
        return "minimum".to_string();
    }
    let mut min_value = 0i64;
    for &n in &graph.nodes {
        let mut node_min = graph.flat[n as usize].abs();
        if node_min == 0 {
            node_min = graph.cum[n as usize].abs();
        }
        if node_min > 0 && (min_value == 0 || node_min < min_value) {
            min_value = node_min;
        }
    }
    let max_value = total;
    if min_value == 0 {
        min_value = max_value;
    }
    let (_, min_unit) = units::scale(min_value, sample_unit, "minimum");
    let (_, max_unit) = units::scale(max_value, sample_unit, "minimum");
    let mut unit = min_unit.clone();
    if min_unit != max_unit && min_value.wrapping_mul(100) < max_value {
        unit = units::scale(min_value.wrapping_mul(100), sample_unit, "minimum").1;
    }
    if unit.is_empty() {
        sample_unit.to_string()
    } else {
        unit
    }
}

/// pprof's ProfileLabels: File, Build ID, comments, Type, Time, Duration.
fn profile_labels(
    header: &Header,
    sample_type: &ValueType,
    total: i64,
    format: &dyn Fn(i64) -> String,
) -> Vec<String> {
    let mut labels = Vec::new();
    if let Some(file) = &header.main_file {
        labels.push(format!("File: {file}"));
    }
    if !header.build_id.is_empty() {
        labels.push(format!("Build ID: {}", header.build_id));
    }
    for comment in &header.comments {
        if !comment.starts_with('#') {
            labels.push(comment.clone());
        }
    }
    labels.push(format!("Type: {}", sample_type.kind));
    if header.time_nanos != 0 {
        labels.push(format!("Time: {}", timefmt::pprof_time(header.time_nanos)));
    }
    if header.duration_nanos != 0 {
        let duration = units::label(header.duration_nanos, "nanoseconds");
        let (total_nanos, total_unit) = units::scale(total, &sample_type.unit, "nanoseconds");
        let ratio = if total_unit == "ns" && total_nanos != 0.0 {
            format!(
                "({})",
                units::percentage(total_nanos as i64, header.duration_nanos)
            )
        } else {
            String::new()
        };
        labels.push(format!(
            "Duration: {duration}, Total samples = {} {ratio}",
            format(total)
        ));
    }
    labels
}
