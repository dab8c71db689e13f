//! The `top` engine: google/pprof's text report (`internal/report` TextItems over
//! `internal/graph`), reproduced step by step so that every number matches `go tool pprof -top`.
//!
//! The steps, in pprof's order: merge the profile (and a negated base) sample by sample;
//! prune `drop_frames`; aggregate locations to the requested granularity; build the graph,
//! drop nodes whose cum is under the node fraction, rebuild; sort; keep the top N, rebuild;
//! trim light edges (they decide `(inline)`); pick the output unit; format.

use std::collections::HashMap;

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
    let index = sample_index(profile, options.sample_index.as_deref())?;
    let merged = Merged::build(profile, base, index)?;
    let nodes = Nodes::build(&merged, options.granularity);
    let total = merged.total();
    let sample_type = profile.sample_types[index].clone();

    let mut graph = Graph::new(&merged, &nodes);
    // First pass: everything, to find the low-frequency nodes by their cum weight.
    let full = graph.build(None);
    let total_value: i64 = full.nodes.iter().map(|&n| full.flat[n as usize]).sum();
    let node_cutoff = ((total_value as f64 * options.node_fraction) as i64).abs();
    let edge_cutoff = ((total_value as f64 * options.edge_fraction) as i64).abs();

    let mut current = full;
    let mut kept: Option<Vec<bool>> = None;
    let mut dropped_nodes = 0;
    if node_cutoff > 0 {
        let keep: Vec<bool> = (0..nodes.len())
            .map(|n| current.cum[n].abs() >= node_cutoff && current.is_node(n))
            .collect();
        let kept_count = keep.iter().filter(|&&k| k).count();
        if kept_count != current.nodes.len() {
            dropped_nodes = current.nodes.len() - kept_count;
            current = graph.build(Some(&keep));
            kept = Some(keep);
        }
    }
    let node_total = current.nodes.len();
    current.sort(&nodes, options.cum_sort);
    if options.node_count > 0 && options.node_count < current.nodes.len() {
        let mut keep = vec![false; nodes.len()];
        for &n in &current.nodes[..options.node_count] {
            keep[n as usize] = true;
        }
        current = graph.build(Some(&keep));
        current.sort(&nodes, options.cum_sort);
        kept = Some(keep);
    }
    let inline_labels = graph.inline_labels(kept.as_deref(), &current.nodes, edge_cutoff);

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

    let mut labels = profile_labels(&merged.header, &sample_type, total, &format);
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
    Ok(TopReport {
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
    })
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FunctionKey {
    start_line: i64,
    name: String,
    system_name: String,
    filename: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LocationKey {
    address: u64,
    mapping: Option<(u64, u64, String)>,
    lines: Vec<(usize, i64)>,
    is_folded: bool,
}

/// A merged location: its frames (innermost first) as (function, line), and the file of
/// its mapping (pprof shows `[binary]` for frames without a function name).
#[derive(Debug, Clone)]
struct MergedLocation {
    lines: Vec<(usize, i64)>,
    objfile: String,
}

/// The samples of the profile (and negated base) reduced to one value each, with stacks as
/// indices into `locations`, root last.
#[derive(Debug)]
struct Merged {
    header: Header,
    functions: Vec<FunctionKey>,
    locations: Vec<MergedLocation>,
    stacks: Vec<u32>,
    /// (start, end) into `stacks`, the value, and whether it came from a diff base.
    samples: Vec<(u32, u32, i64, bool)>,
}

impl Merged {
    fn build(
        profile: &Profile,
        base: Option<(&Profile, BaseMode)>,
        index: usize,
    ) -> Result<Merged, TopError> {
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
            stacks: Vec::new(),
            samples: Vec::new(),
        };
        let mut function_ids: HashMap<FunctionKey, usize> = HashMap::new();
        let mut location_ids: HashMap<LocationKey, u32> = HashMap::new();
        let sources: Vec<(&Profile, i64, bool)> = std::iter::once((profile, 1, false))
            .chain(base.map(|(b, mode)| (b, -1, mode == BaseMode::Diff)))
            .collect();

        // Samples merge when their stacks and labels are equal; only then can values cancel
        // out, which changes pprof's total (a sum of absolute values). Without negative
        // values merging changes nothing, so it is skipped.
        let needs_merge = sources
            .iter()
            .any(|(p, sign, _)| *sign < 0 || p.samples.iter().any(|s| s.values[index] < 0));
        let mut sample_ids: HashMap<(Vec<u32>, LabelKey), usize> = HashMap::new();

        for &(source, sign, diff_base) in &sources {
            let mut location_map: Vec<u32> = Vec::with_capacity(source.locations.len());
            let mut function_map: Vec<Option<usize>> = vec![None; source.functions.len()];
            for location in &source.locations {
                let mut lines = Vec::with_capacity(location.lines.len());
                for line in &location.lines {
                    let id = match function_map[line.function] {
                        Some(id) => id,
                        None => {
                            let f = &source.functions[line.function];
                            let key = FunctionKey {
                                start_line: f.start_line,
                                name: f.name.clone(),
                                system_name: f.system_name.clone(),
                                filename: f.filename.clone(),
                            };
                            let next = merged.functions.len();
                            let id = *function_ids.entry(key.clone()).or_insert(next);
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
                    mapping: mapping.map(mapping_key),
                    lines: lines.clone(),
                    is_folded: location.is_folded,
                };
                let next = merged.locations.len() as u32;
                let id = *location_ids.entry(key).or_insert(next);
                if id == next {
                    merged.locations.push(MergedLocation {
                        lines,
                        objfile: mapping.map(shown_file_name).unwrap_or_default(),
                    });
                }
                location_map.push(id);
            }
            for sample in &source.samples {
                let value = sample.values[index].wrapping_mul(sign);
                if value == 0 {
                    continue;
                }
                let stack: Vec<u32> = sample.locations.iter().map(|&l| location_map[l]).collect();
                if needs_merge {
                    let key = (stack, LabelKey::new(&sample.labels, diff_base));
                    if let Some(&existing) = sample_ids.get(&key) {
                        merged.samples[existing].2 += value;
                        continue;
                    }
                    sample_ids.insert(key.clone(), merged.samples.len());
                    merged.push_sample(&key.0, value, diff_base);
                } else {
                    merged.push_sample(&stack, value, diff_base);
                }
            }
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
                reason: crate::error::describe_regex(&e),
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
        for sample in 0..self.samples.len() {
            let (start, end, _, _) = self.samples[sample];
            let stack = &self.stacks[start as usize..end as usize];
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
                self.samples[sample].0 = start + cut as u32;
                break;
            }
        }
        Ok(())
    }

    fn push_sample(&mut self, stack: &[u32], value: i64, diff_base: bool) {
        let start = self.stacks.len() as u32;
        self.stacks.extend_from_slice(stack);
        self.samples
            .push((start, self.stacks.len() as u32, value, diff_base));
    }

    fn stack(&self, sample: usize) -> &[u32] {
        let (start, end, _, _) = self.samples[sample];
        &self.stacks[start as usize..end as usize]
    }

    /// pprof's computeTotal: the sum of |value|, or of the diff base's samples when present.
    fn total(&self) -> i64 {
        let mut total = 0i64;
        let mut diff_total = 0i64;
        for &(_, _, value, diff_base) in &self.samples {
            total = total.wrapping_add(value.wrapping_abs());
            if diff_base {
                diff_total = diff_total.wrapping_add(value.wrapping_abs());
            }
        }
        if diff_total > 0 { diff_total } else { total }
    }
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
        LabelKey {
            strings: labels
                .strings
                .iter()
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
            diff_base,
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
fn mapping_key(m: &crate::profile::Mapping) -> (u64, u64, String) {
    let size = m.memory_limit.wrapping_sub(m.memory_start);
    let size = size.wrapping_add(0xfff);
    let size = size - size % 0x1000;
    let ident = if !m.build_id.is_empty() {
        m.build_id.clone()
    } else {
        m.filename.clone()
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
        .map(|file| go_base(&file));
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
fn shown_file_name(m: &crate::profile::Mapping) -> String {
    if m.build_id.is_empty() && is_absolute_url(&m.filename) {
        String::new()
    } else {
        m.filename.clone()
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
        let mut ids: HashMap<NodeInfo, u32> = HashMap::new();
        let mut infos: Vec<NodeInfo> = Vec::new();
        let mut by_location = Vec::with_capacity(merged.locations.len());
        for location in &merged.locations {
            let lines = &location.lines;
            let mut location_nodes = Vec::with_capacity(lines.len().max(1));
            let mut add = |info: NodeInfo| {
                let next = infos.len() as u32;
                let id = *ids.entry(info.clone()).or_insert(next);
                if id == next {
                    infos.push(info);
                }
                location_nodes.push(id);
            };
            if lines.is_empty() {
                add(NodeInfo {
                    name: String::new(),
                    file: String::new(),
                    start_line: 0,
                    lineno: 0,
                    objfile: location.objfile.clone(),
                });
            }
            for &(function, line) in lines {
                let f = &merged.functions[function];
                let name = if keep_function {
                    f.name.clone()
                } else {
                    String::new()
                };
                let file = if keep_file && !f.filename.is_empty() {
                    go_clean(trim_path(&f.filename))
                } else {
                    String::new()
                };
                let unnamed = name.is_empty();
                add(NodeInfo {
                    name,
                    file,
                    start_line: if unnamed { f.start_line } else { 0 },
                    lineno: if keep_line { line } else { 0 },
                    objfile: if unnamed {
                        location.objfile.clone()
                    } else {
                        String::new()
                    },
                });
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

/// Builds graphs over the merged samples (pprof's newGraph), reusing scratch space.
struct Graph<'a> {
    merged: &'a Merged,
    nodes: &'a Nodes,
    seen: Vec<u32>,
}

impl<'a> Graph<'a> {
    fn new(merged: &'a Merged, nodes: &'a Nodes) -> Self {
        Graph {
            merged,
            nodes,
            seen: vec![NONE; nodes.len()],
        }
    }

    /// Walks every sample from the root: cum once per node per sample, flat to the leaf when
    /// the leaf survived. Nodes outside `kept` are skipped (pprof's residual edges).
    fn build(&mut self, kept: Option<&[bool]>) -> Built {
        let count = self.nodes.len();
        let mut flat = vec![0i64; count];
        let mut cum = vec![0i64; count];
        self.seen.fill(NONE);
        for (s, &(_, _, w, _)) in self.merged.samples.iter().enumerate() {
            let mut parent = NONE;
            let mut residual = false;
            for &location in self.merged.stack(s).iter().rev() {
                for &n in self.nodes.by_location[location as usize].iter().rev() {
                    if kept.is_some_and(|k| !k[n as usize]) {
                        residual = true;
                        continue;
                    }
                    if self.seen[n as usize] != s as u32 {
                        self.seen[n as usize] = s as u32;
                        cum[n as usize] += w;
                    }
                    parent = n;
                    residual = false;
                }
            }
            if parent != NONE && !residual {
                flat[parent as usize] += w;
            }
        }
        let nodes = (0..count as u32)
            .filter(|&n| {
                (flat[n as usize] != 0 || cum[n as usize] != 0)
                    && kept.is_none_or(|k| k[n as usize])
            })
            .collect();
        Built { flat, cum, nodes }
    }

    /// pprof's `(inline)` / `(partial-inline)` labels: a node is inline when the calls into
    /// it that survive the edge cutoff were inlined into their caller.
    fn inline_labels(
        &mut self,
        kept: Option<&[bool]>,
        shown: &[u32],
        edge_cutoff: i64,
    ) -> Vec<&'static str> {
        // (weight, all contributions inline) per (caller, callee), counted once per sample.
        let mut edges: HashMap<(u32, u32), (i64, bool, u32)> = HashMap::new();
        for (s, &(_, _, w, _)) in self.merged.samples.iter().enumerate() {
            let mut parent = NONE;
            for &location in self.merged.stack(s).iter().rev() {
                let location_nodes = &self.nodes.by_location[location as usize];
                for (ni, &n) in location_nodes.iter().enumerate().rev() {
                    if kept.is_some_and(|k| !k[n as usize]) {
                        continue;
                    }
                    if parent != NONE && n != parent {
                        let inline = ni != location_nodes.len() - 1;
                        let edge = edges.entry((parent, n)).or_insert((0, inline, NONE));
                        if edge.2 != s as u32 {
                            edge.2 = s as u32;
                            edge.0 += w;
                            edge.1 &= inline;
                        }
                    }
                    parent = n;
                }
            }
        }
        let mut state: HashMap<u32, (bool, bool)> = HashMap::new();
        for (&(_, callee), &(weight, inline, _)) in &edges {
            if weight.abs() < edge_cutoff {
                continue;
            }
            let entry = state.entry(callee).or_insert((false, false));
            if inline {
                entry.0 = true;
            } else {
                entry.1 = true;
            }
        }
        shown
            .iter()
            .map(|n| match state.get(n) {
                Some((true, true)) => "(partial-inline)",
                Some((true, false)) => "(inline)",
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
