//! The `compare` job: two sets side by side, with the differential flame graph and the
//! regression gate.

use std::path::PathBuf;

use super::{
    CommandLine, Format, Placement, PrepareOptions, Threads, Written, differential_svg, json_bytes,
    load_rules, prepare, write_all,
};
use crate::analyze::Join;
use crate::analyze::compare::{self, Baseline, CompareOptions};
use crate::analyze::goroutines::GroupLevel;
use crate::analyze::investigation;
use crate::error::Error;
use crate::output::safe_file_name;
use crate::profile::DecodeOptions;
use crate::render::html;
use crate::render::templates::Templates;

/// The standalone comparison report (`pprof-report compare A B`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ComparisonReport {
    /// `Comparison: <before> → <after>`, with the sets' names.
    pub title: String,
    /// The pprof-report that wrote it, name and version.
    pub tool: investigation::Tool,
    /// The command that writes this comparison again, `--out` included.
    pub command: String,
    /// The comparison, named after the first set, with its differential flame graph.
    pub baseline: Baseline,
}

/// Options of `compare`.
#[derive(Debug, Clone)]
pub struct CompareJob {
    /// The first set (before, or the smaller host): a folder or a path prefix.
    pub before: PathBuf,
    /// The second set (after, or the larger host).
    pub after: PathBuf,
    /// Default: `reports/<before>-vs-<after>.md`.
    pub out: Option<PathBuf>,
    /// Markdown, or the comparison as JSON.
    pub format: Format,
    /// Also write a standalone HTML page beside the Markdown (ignored for JSON).
    pub html: bool,
    /// A folder of templates overriding the defaults, file by file (the entry is
    /// `comparison.md.j2`).
    pub templates: Option<PathBuf>,
    /// Rule files that add to or replace the built-in rules (for predicted savings).
    pub rules: Vec<PathBuf>,
    /// `--fail-on` thresholds; the job reports whether they held.
    pub gate: Vec<compare::GateSpec>,
    /// Limits for decoding the sets' members.
    pub decode: DecodeOptions,
    /// With `out` a stream, the folder for the differential flame graph; `None` is a
    /// folder named after the default report, in the current directory.
    pub assets: Option<PathBuf>,
    /// The command that writes this comparison again, but for `--out`.
    pub command: CommandLine,
}

/// Runs `compare`; returns what it wrote and whether the gate held.
pub fn run(job: &CompareJob) -> Result<(Written, bool), Error> {
    let rules = load_rules(&job.rules)?;
    let options = PrepareOptions {
        context: None,
        rules: &rules,
        group_level: GroupLevel::default(),
        decode: &job.decode,
    };
    // Side by side; the first set's error wins.
    let (before, after) = Threads.join(
        || prepare(&job.before, &options),
        || prepare(&job.after, &options),
    );
    let (before, after) = (before?, after?);
    let default = {
        PathBuf::from("reports").join(format!(
            "{}-vs-{}.{}",
            safe_file_name(&before.set.name, "before"),
            safe_file_name(&after.set.name, "after"),
            job.format.extension()
        ))
    };
    let placement = Placement::new(
        job.out.as_deref(),
        job.assets.as_deref(),
        default,
        "comparison",
        job.format,
    )?;
    placement.settle()?;
    let assets_dir = placement.link.clone();
    let comparison = compare::compare(
        &before.side(),
        &after.side(),
        &rules,
        &CompareOptions {
            rows: 15,
            gate: job.gate.clone(),
        },
    );
    let passed = comparison.gate.as_ref().is_none_or(|g| g.passed);
    let diff = differential_svg(&before.set, &after.set)?;
    let mut assets = placement.assets();
    let mut svgs = Vec::new();
    let diff_file = diff.as_ref().map(|_| format!("{assets_dir}/cpu-diff.svg"));
    let title = format!("Comparison: {} → {}", before.set.name, after.set.name);
    if let Some(svg) = diff {
        svgs.push(html::Graphic {
            file: format!("{assets_dir}/cpu-diff.svg"),
            caption: title.clone(),
            svg: svg.clone(),
            kind: html::GraphicKind::Flame,
        });
        assets
            .files
            .push(("cpu-diff.svg".to_string(), svg.into_bytes()));
    }
    let report = ComparisonReport {
        title: title.clone(),
        tool: before.report.tool.clone(),
        command: placement.command(&job.command),
        baseline: Baseline {
            name: before.set.name.clone(),
            comparison,
            diff_flame: diff_file,
        },
    };
    let (main, page) = match job.format {
        Format::Json => (json_bytes(&report)?, None),
        Format::Markdown => {
            let markdown = Templates::new(job.templates.as_deref())?
                .render_entry("comparison.md.j2", &report)?;
            let page = job
                .html
                .then(|| html::page(&title, &markdown, &svgs).into_bytes());
            (markdown.into_bytes(), page)
        }
    };
    let written = write_all(&placement, main, page, Some(assets))?;
    super::free_in_background((before, after));
    Ok((written, passed))
}
