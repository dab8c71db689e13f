//! The `trend` job: sets in time order, their key figures as a table and SVG charts, and what
//! changed beyond noise between consecutive sets.

use std::path::PathBuf;

use super::{
    CommandLine, Format, Placement, PrepareOptions, Written, json_bytes, load_rules, prepare_all,
    write_all,
};
use crate::analyze::compare::{self, CompareOptions, Comparison};
use crate::analyze::goroutines::GroupLevel;
use crate::analyze::investigation;
use crate::analyze::trend::{self, TrendMetric, TrendStep, ValueKind};
use crate::error::{Error, UsageError};
use crate::output::safe_file_name;
use crate::profile::DecodeOptions;
use crate::render::chart::{self, Chart, Series, ValueFormat};
use crate::render::html;
use crate::render::templates::Templates;

/// The trend report (`pprof-report trend SET1 SET2 …`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrendReport {
    /// `Trend: <first> → … → <last>`, with the sets' names.
    pub title: String,
    /// The pprof-report that wrote it, name and version.
    pub tool: investigation::Tool,
    /// The command that writes this trend again, `--out` included.
    pub command: String,
    /// The sets' names, in the order given.
    pub sets: Vec<String>,
    /// One row per metric, one value per set.
    pub metrics: Vec<TrendMetric>,
    /// The charts drawn, one per metric that is not for the table only.
    pub charts: Vec<TrendChart>,
    /// What changed between each set and the next, one step per consecutive pair.
    pub steps: Vec<TrendStep>,
}

/// A chart of the trend report: its title and its file, relative to the report.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrendChart {
    /// `<metric> across the sets`.
    pub title: String,
    /// The SVG, `<assets folder>/<metric id>.svg`, relative to the report.
    pub file: String,
}

/// Options of `trend`.
#[derive(Debug, Clone)]
pub struct TrendJob {
    /// The sets, in time order; at least two.
    pub sets: Vec<PathBuf>,
    /// Default: `reports/trend-<first>-to-<last>.md` (`.json` with [`Format::Json`]).
    pub out: Option<PathBuf>,
    /// Markdown (from `trend.md.j2`), or the trend's data as JSON (the charts are written
    /// beside it either way).
    pub format: Format,
    /// A folder of templates overriding the defaults, file by file (the entry is
    /// `trend.md.j2`).
    pub templates: Option<PathBuf>,
    /// Also write a standalone HTML page with the charts inline (Markdown only).
    pub html: bool,
    /// Limits for decoding the sets' members.
    pub decode: DecodeOptions,
    /// With `out` a stream, the folder for the charts; `None` is a folder named after the
    /// default report, in the current directory.
    pub assets: Option<PathBuf>,
    /// The command that writes this trend again, but for `--out`.
    pub command: CommandLine,
}

/// Runs `trend`.
pub fn run(job: &TrendJob) -> Result<Written, Error> {
    if job.sets.len() < 2 {
        return Err(UsageError::TrendNeedsTwoSets.into());
    }
    let rules = load_rules(&[])?;
    let options = PrepareOptions {
        context: None,
        rules: &rules,
        group_level: GroupLevel::default(),
        decode: &job.decode,
    };
    let prepared = prepare_all(&job.sets, &options)?;
    let names: Vec<String> = prepared.iter().map(|p| p.set.name.clone()).collect();
    let default = {
        PathBuf::from("reports").join(format!(
            "trend-{}-to-{}.{}",
            safe_file_name(names.first().map_or("", String::as_str), "first"),
            safe_file_name(names.last().map_or("", String::as_str), "last"),
            job.format.extension()
        ))
    };
    let placement = Placement::new(
        job.out.as_deref(),
        job.assets.as_deref(),
        default,
        "trend",
        job.format,
    )?;
    placement.settle()?;
    let assets_dir = placement.link.clone();
    let compare_options = CompareOptions {
        rows: 5,
        gate: Vec::new(),
    };
    let comparisons: Vec<Comparison> = prepared
        .windows(2)
        .map(|pair| compare::compare(&pair[0].side(), &pair[1].side(), &rules, &compare_options))
        .collect();
    let series = trend::series(&trend::figures(&comparisons));
    let mut assets = placement.assets();
    let mut charts = Vec::new();
    let mut svgs = Vec::new();
    for metric in series.iter().filter(|s| !s.table_only) {
        let svg = chart::svg(&Chart {
            title: format!("{} across the sets", metric.name),
            x_labels: names.clone(),
            y_label: metric.name.to_string(),
            series: vec![Series {
                name: metric.name.to_string(),
                points: metric.values.clone(),
            }],
            value_format: match metric.kind {
                ValueKind::Percent => ValueFormat::Percent,
                ValueKind::Bytes => ValueFormat::Bytes,
                ValueKind::Plain => ValueFormat::Plain,
            },
        });
        svgs.push(html::Graphic {
            file: format!("{assets_dir}/{}.svg", metric.id),
            caption: format!("{} across the sets", metric.name),
            svg: svg.clone(),
            kind: html::GraphicKind::Chart,
        });
        assets
            .files
            .push((format!("{}.svg", metric.id), svg.into_bytes()));
        charts.push(TrendChart {
            title: format!("{} across the sets", metric.name),
            file: format!("{assets_dir}/{}.svg", metric.id),
        });
    }
    let report = TrendReport {
        title: format!("Trend: {}", names.join(" → ")),
        tool: prepared[0].report.tool.clone(),
        command: placement.command(&job.command),
        metrics: trend::metrics(&series),
        steps: trend::steps(&comparisons, &names),
        sets: names,
        charts,
    };
    let (main, page) = match job.format {
        Format::Json => (json_bytes(&report)?, None),
        Format::Markdown => {
            let markdown =
                Templates::new(job.templates.as_deref())?.render_entry("trend.md.j2", &report)?;
            let page = job
                .html
                .then(|| html::page(&report.title, &markdown, &svgs).into_bytes());
            (markdown.into_bytes(), page)
        }
    };
    let written = write_all(&placement, main, page, Some(assets))?;
    super::free_in_background(prepared);
    Ok(written)
}
