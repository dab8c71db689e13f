//! The `top` engine: google/pprof's text report (`internal/report` TextItems over
//! `internal/graph`), reproduced step by step so that every number matches `go tool pprof -top`.
//!
//! The steps, in pprof's order: merge the profile (and a negated base) sample by sample;
//! prune `drop_frames`; take the total; drop the samples `-tagfocus`/`-tagignore` reject; aggregate locations to the requested granularity; build the graph,
//! drop nodes whose cum is under the node fraction, rebuild; sort; keep the top N, rebuild;
//! trim light edges (they decide `(inline)`); pick the output unit; format.

mod format;
mod goregex;
mod graph;
mod merge;
mod names;
mod paths;
mod tags;

use serde::{Deserialize, Serialize};

use crate::analyze::Join;
use crate::analyze::frames::KeyCounter;
use crate::analyze::language::LocationKeys;
use crate::profile::Profile;
use format::format_report;
use graph::{Built, EdgeView, Graph, Nodes};
use merge::{Merged, TagFilters};
use names::NameFilters;
pub use names::{NameFilter, NameFilterError, NameMatches};
pub use tags::{TagFilter, TagFilterError};

/// How locations are grouped into report lines, as pprof's `-functions`, `-lines`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// One line per function (`-functions`, pprof's default).
    #[default]
    Functions,
    /// One line per function and source file (`-filefunctions`): `main.work /src/main.go`.
    FileFunctions,
    /// One line per source file (`-files`).
    Files,
    /// One line per function and source line (`-lines`): `main.work /src/main.go:42`.
    Lines,
}

/// How a base profile is applied: `-base` subtracts it; `-diff_base` subtracts it and takes
/// percentages relative to the base's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BaseMode {
    /// `-base`: the base's values are subtracted; percentages are of the sum of |value| that
    /// remains.
    Subtract,
    /// `-diff_base`: the base's values are subtracted; percentages are of the base's total
    /// (the sum of its |value|).
    Diff,
}

/// Options of a top report. Defaults are pprof's defaults for `-top`.
#[derive(Debug, Clone, PartialEq)]
pub struct TopOptions {
    /// Sample type by name or number; `None` is the profile's default.
    pub sample_index: Option<String>,
    /// Sort by cum instead of flat (`-cum`).
    pub cum_sort: bool,
    /// How locations are grouped into lines (`-functions`, `-lines`, …).
    pub granularity: Granularity,
    /// Maximum number of lines; 0 shows every node that survives the node fraction.
    pub node_count: usize,
    /// Nodes whose |cum| is below this fraction of the total are dropped (pprof: 0.005).
    pub node_fraction: f64,
    /// Edges lighter than this fraction are ignored when deciding `(inline)` (pprof: 0.001).
    pub edge_fraction: f64,
    /// Only samples whose labels match (`-tagfocus`); percentages stay of the whole total.
    pub tag_focus: Option<TagFilter>,
    /// Not the samples whose labels match (`-tagignore`).
    pub tag_ignore: Option<TagFilter>,
    /// Only samples with a frame whose function, file or mapping matches (`-focus`);
    /// percentages stay of the whole total.
    pub focus: Option<NameFilter>,
    /// Not the samples with a frame that matches (`-ignore`).
    pub ignore: Option<NameFilter>,
    /// Frames that match are taken off the stacks (`-hide`).
    pub hide: Option<NameFilter>,
    /// Only frames that match stay on the stacks (`-show`).
    pub show: Option<NameFilter>,
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
            tag_focus: None,
            tag_ignore: None,
            focus: None,
            ignore: None,
            hide: None,
            show: None,
        }
    }
}

/// Why a top report could not be computed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TopError {
    /// The profile declares no sample type, so there is nothing to report.
    #[error("the profile has no sample types")]
    NoSampleTypes,
    /// A numeric sample index past the last sample type.
    #[error("sample index {index} is outside the range [0..{max}]")]
    SampleIndexOutOfRange {
        /// The index as requested.
        index: String,
        /// The last valid index (the number of sample types − 1).
        max: usize,
    },
    /// A sample type name that the profile does not have.
    #[error("unknown sample index {name:?}: the profile has {available}")]
    UnknownSampleIndex {
        /// The name as requested.
        name: String,
        /// The profile's sample type names, comma-separated.
        available: String,
    },
    /// The base profile's period type or sample types differ from the profile's; holds which,
    /// with both sides.
    #[error("the base profile cannot be subtracted: {0}")]
    IncompatibleBase(String),
    /// The profile's `drop_frames` or `keep_frames` is not a valid regular expression.
    #[error("invalid drop_frames/keep_frames pattern {pattern:?}: {reason}")]
    BadFramePattern {
        /// The pattern as the profile gives it.
        pattern: String,
        /// Why the regex engine refused it.
        reason: String,
    },
}

/// One line of the report: pprof's `TextItem`, with raw numbers and their text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopItem {
    /// The line's name as pprof prints it: `main.work`, `main.work /src/main.go:42` with
    /// [`Granularity::Lines`], or `[binary]` for an unsymbolized frame.
    pub name: String,
    /// `(inline)`, `(partial-inline)` or empty.
    pub inline_label: String,
    /// Sum of the values of the samples whose leaf is this line, in `TopReport::sample_unit`
    /// (negative where a base outweighs).
    pub flat: i64,
    /// Sum of the values of the samples with this line anywhere on their stack (once per sample),
    /// in `TopReport::sample_unit`.
    pub cum: i64,
    /// Running sum of flat down to this line.
    pub flat_sum: i64,
    /// `flat` in `TopReport::output_unit`, as pprof prints it: `1.50MB`, `65.58s`, `0`.
    pub flat_text: String,
    /// `cum` in `TopReport::output_unit`, as pprof prints it.
    pub cum_text: String,
    /// `flat` (absolute) as a share of `TopReport::total`, padded as pprof prints it: ` 12.34%`,
    /// `0.096%`.
    pub flat_percent: String,
    /// `flat_sum` (absolute) as a share of `TopReport::total`, padded like `flat_percent`.
    pub sum_percent: String,
    /// `cum` (absolute) as a share of `TopReport::total`, padded like `flat_percent`.
    pub cum_percent: String,
}

/// The whole top report: header lines as pprof prints them, the totals and the items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopReport {
    /// `File:`, `Type:`, `Time:`, `Duration:`, `Showing nodes …`, `Dropped …`, `Showing top …`.
    pub labels: Vec<String>,
    /// Name of the sample type reported: `cpu`, `inuse_space`, `goroutine`.
    pub sample_type: String,
    /// Unit of the raw values (`flat`, `cum`, `total`): `nanoseconds`, `bytes`, `count`.
    pub sample_unit: String,
    /// The unit numbers are printed in (pprof's "minimum" choice).
    pub output_unit: String,
    /// Sum of |value| over samples (the base's only, with a diff base): pprof's total.
    pub total: i64,
    /// `total` in `output_unit`, as pprof prints it: `65.58s`.
    pub total_text: String,
    /// Sum of flat over the shown items, as text and as a share of the total.
    pub shown_flat: i64,
    /// `shown_flat` in `output_unit`: `61.20s`.
    pub shown_flat_text: String,
    /// `shown_flat` as a share of `total`, trimmed: `93.32%`.
    pub shown_percent_text: String,
    /// Nodes dropped for being under the node fraction.
    pub dropped_nodes: usize,
    /// Nodes left after dropping, before the node count limit.
    pub node_total: usize,
    /// The report's lines, in pprof's order (by flat, or by cum with `-cum`).
    pub items: Vec<TopItem>,
    /// Which of `-focus`, `-ignore`, `-hide`, `-show` matched something: pprof warns on
    /// stderr about each given one that did not (`Focus expression matched no samples`).
    #[serde(skip)]
    pub name_matches: NameMatches,
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
    views_and_keys(profile, base, views, None, &crate::analyze::Sequential)
        .map(|(reports, _)| reports)
}

/// Flat and cum per key of a [`LocationKeys`] table, for the sample types of the views that
/// counted them.
pub struct KeyCounts {
    columns: Vec<usize>,
    counter: KeyCounter,
}

impl KeyCounts {
    /// Flat and cum of `key` for sample type `index`; `None` for a sample type no view had.
    pub fn get(&self, key: usize, index: usize) -> Option<(i64, i64)> {
        let column = self.columns.iter().position(|&c| c == index)?;
        Some(self.counter.get(key, column))
    }
}

/// [`top_views`] of a profile alone, counting `keys` per sample in the same walk: flat (the
/// leaf's key) and cum (once per sample) for each view's sample type, as
/// [`KeyCounter::add`] counts them. `None` for the counts when the views are not computed in
/// one walk or their stacks are not the profile's whole stacks (pruned, filtered): the caller
/// counts them itself. `join` decides whether the halves of a large profile's samples are
/// walked side by side.
pub fn top_views_counting(
    profile: &Profile,
    views: &[TopOptions],
    keys: LocationKeys<'_>,
    join: &impl Join,
) -> Result<(Vec<TopReport>, Option<KeyCounts>), TopError> {
    views_and_keys(profile, None, views, Some(keys), join)
}

fn views_and_keys(
    profile: &Profile,
    base: Option<(&Profile, BaseMode)>,
    views: &[TopOptions],
    keys: Option<LocationKeys<'_>>,
    join: &impl Join,
) -> Result<(Vec<TopReport>, Option<KeyCounts>), TopError> {
    let indices = views
        .iter()
        .map(|v| sample_index(profile, v.sample_index.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = views.first() else {
        return Ok((Vec::new(), None));
    };
    let shared = views.iter().all(|v| {
        v.granularity == first.granularity
            && v.node_count == first.node_count
            && v.node_fraction == first.node_fraction
            && v.edge_fraction == first.edge_fraction
            && v.tag_focus == first.tag_focus
            && v.tag_ignore == first.tag_ignore
            && v.focus == first.focus
            && v.ignore == first.ignore
            && v.hide == first.hide
            && v.show == first.show
    });
    let mut columns: Vec<usize> = indices.clone();
    columns.sort_unstable();
    columns.dedup();
    let separately = views.len() > 1
        && (!shared
            || base.is_some()
            || profile
                .samples()
                .any(|s| columns.iter().any(|&c| s.value(c) < 0)));
    if separately {
        let reports = views
            .iter()
            .map(|v| top_views(profile, base, std::slice::from_ref(v)).map(|mut r| r.remove(0)))
            .collect::<Result<_, _>>()?;
        return Ok((reports, None));
    }
    let tags = TagFilters {
        focus: first.tag_focus.as_ref(),
        ignore: first.tag_ignore.as_ref(),
    };
    let names = NameFilters {
        focus: first.focus.as_ref(),
        ignore: first.ignore.as_ref(),
        hide: first.hide.as_ref(),
        show: first.show.as_ref(),
    };
    let merged = Merged::build(profile, base, &columns, tags, names)?;
    let nodes = Nodes::build(&merged, first.granularity);
    let mut graph = Graph::new(&merged, &nodes);
    let mut counts = keys
        .filter(|k| k.locations() == profile.locations.len() && merged.whole_source_stacks())
        .map(|k| {
            (
                k,
                KeyCounts {
                    columns: columns.clone(),
                    counter: KeyCounter::new(k.count(), columns.len()),
                },
            )
        });
    // One pass: everything, to find the low-frequency nodes by their cum weight.
    let built = graph.build(counts.as_mut().map(|(k, c)| (*k, &mut c.counter)), join);

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
    let reports = shaped
        .into_iter()
        .zip(inline_labels)
        .zip(views.iter().zip(&indices))
        .map(|((view, labels), (options, &index))| {
            let total = merged.total_from(view.column, built[view.column].sums);
            let mut report = format_report(
                profile,
                &merged.header,
                &nodes,
                view,
                &labels,
                total,
                index,
                options,
            );
            report.name_matches = merged.name_matches;
            report
        })
        .collect();
    Ok((reports, counts.map(|(_, c)| c)))
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
