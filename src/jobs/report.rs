//! The `report` job: read a set and its context, investigate, render Markdown, SVGs, JSON and
//! HTML in memory, then write them. Writing starts only when everything rendered, and the
//! files and the assets folder (flame graphs and the analysis as JSON) are published together
//! (`output::publish`), so a failed run leaves the previous report intact.

use std::path::{Path, PathBuf};

use super::{
    CommandLine, Format, Placement, PrepareOptions, Threads, Written, assets_dir_of, default_out,
    differential_svg, flame_svgs, investigation_inputs, json_bytes, load_rules, prepare, write_all,
};
use crate::analyze::compare::{self, Baseline, CompareOptions};
use crate::analyze::goroutines::GroupLevel;
use crate::analyze::investigation::{self, FlameInput, ReportContext};
use crate::error::Error;
use crate::parallel::joined;
use crate::profile::DecodeOptions;
use crate::render::html;
use crate::render::templates::Templates;
use crate::set;

/// The analysis a report writes into its assets folder, for `attach` and other tools.
pub const ANALYSIS_FILE: &str = crate::output::Assets::ANALYSIS;

/// Options of one report run, built from the command line in `cli`.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The set: a folder holding one, or a path prefix.
    pub set: PathBuf,
    /// The context file; `None` uses the set's own `<prefix>-context.yaml` when present.
    pub context: Option<PathBuf>,
    /// The Markdown (or JSON) file to write, or a stream (`-`, a FIFO, a device); `None` is
    /// `reports/<set name>.md`.
    pub out: Option<PathBuf>,
    /// With `out` a stream, the folder for the flame graphs and the analysis; `None` is a
    /// folder named after the set, in the current directory.
    pub assets: Option<PathBuf>,
    /// A folder of templates overriding the defaults, file by file.
    pub templates: Option<PathBuf>,
    /// Markdown, or the analysis as JSON.
    pub format: Format,
    /// Also write a standalone HTML page with the flame graphs inline (ignored for JSON).
    pub html: bool,
    /// Limits for decoding the set's members.
    pub decode: DecodeOptions,
    /// How goroutine stacks are grouped.
    pub group_level: GroupLevel,
    /// Rule files that add to or replace the built-in rules.
    pub rules: Vec<PathBuf>,
    /// A set to compare with (`--baseline`): adds the comparison section.
    pub baseline: Option<PathBuf>,
    /// `--fail-on` thresholds, checked against the baseline.
    pub gate: Vec<compare::GateSpec>,
    /// The command that writes this report again, but for `--out`.
    pub command: CommandLine,
    /// The command that makes a PGO profile from the set, but for `--out`.
    pub pgo_command: CommandLine,
}

/// What a report run made: the files written and the analysis they came from.
pub struct Reported {
    /// The files written.
    pub written: Written,
    /// The Markdown report, when one was written to a file.
    pub markdown: Option<PathBuf>,
    /// The analysis the files were rendered from.
    pub analysis: ReportContext,
}

/// Runs the whole job.
pub fn run(options: &ReportOptions) -> Result<Reported, Error> {
    std::thread::scope(|scope| run_in(options, scope))
}

fn run_in<'scope, 'env>(
    options: &'env ReportOptions,
    scope: &'scope std::thread::Scope<'scope, 'env>,
) -> Result<Reported, Error> {
    // Parsing the templates and the rules takes as long as decoding a small set: both run
    // while the set is decoded (a small set leaves a core idle behind its largest member).
    let templates = (options.format == Format::Markdown)
        .then(|| scope.spawn(|| Templates::new(options.templates.as_deref())));
    let rules = scope.spawn(|| load_rules(&options.rules));
    let opened = set::open(&options.set, &options.decode);
    let set = match opened {
        Ok(set) => set,
        Err(e) => {
            // A bad rule file is named before a bad set, as when both were read in order.
            joined(rules)?;
            return Err(e.into());
        }
    };
    let placement = Placement::new(
        options.out.as_deref(),
        options.assets.as_deref(),
        default_out(&set.name, "report", options.format),
        "report",
        options.format,
    )?;
    placement.settle()?;
    let assets_dir = placement.link.clone();
    let (context, mut investigation_options) = investigation_inputs(
        &set,
        &PrepareOptions {
            context: options.context.as_deref(),
            rules: &[],
            group_level: options.group_level,
            decode: &options.decode,
        },
    )?;
    // The SVGs are drawn as soon as the stacks are folded, while the other analyses and the
    // rendering go on: they are only needed when the files are written.
    let (flames, svgs, analyses) = std::thread::scope(|passes| -> Result<_, Error> {
        let folding = passes.spawn(|| {
            let flames = investigation::flames(&set, &Threads);
            let inputs: Vec<FlameInput> = flames.drawable().cloned().collect();
            let svgs = scope.spawn(move || {
                let svgs = flame_svgs(&inputs);
                (inputs, svgs)
            });
            (flames, svgs)
        });
        // The rules were compiled while the set was read: the analyses measure them beside
        // the memory analysis.
        investigation_options.rules = joined(rules)?;
        let analyses = investigation::analyses(&set, &context, &investigation_options, &Threads);
        let (flames, svgs) = joined(folding);
        Ok((flames, svgs, analyses))
    })?;
    let rules = &investigation_options.rules;
    let prepare_options = PrepareOptions {
        context: options.context.as_deref(),
        rules,
        group_level: options.group_level,
        decode: &options.decode,
    };
    let mut report =
        investigation::assemble(&set, &context, &investigation_options, analyses, &flames);
    report.place_assets(&assets_dir);
    report.command = placement.command(&options.command);
    if set.member(set::MemberKind::Cpu).is_some() && report.pgo_unusable.is_none() {
        report.pgo_command = Some(options.pgo_command.with_out(Path::new("default.pgo")));
    }
    // Flame graphs beside the report's own: (file name, caption, SVG).
    let mut extra_svgs: Vec<(String, String, String)> = Vec::new();
    let mut baseline_set = None;
    if let Some(baseline) = &options.baseline {
        let before = prepare(
            baseline,
            &PrepareOptions {
                context: None,
                ..prepare_options
            },
        )?;
        let comparison = compare::compare(
            &before.side(),
            &report.side(&set),
            rules,
            &CompareOptions {
                rows: 15,
                gate: options.gate.clone(),
            },
        );
        let diff = differential_svg(&before.set, &set)?;
        let diff_file = diff.as_ref().map(|_| format!("{assets_dir}/cpu-diff.svg"));
        if let Some(svg) = diff {
            extra_svgs.push((
                "cpu-diff.svg".to_string(),
                format!("CPU change — {} → {}", before.set.name, set.name),
                svg,
            ));
        }
        report.baseline = Some(Baseline {
            name: before.set.name.clone(),
            comparison,
            diff_flame: diff_file,
        });
        baseline_set = Some(before);
    }
    // Render everything before writing anything.
    let mut assets = placement.assets();
    // The analysis as JSON and the Markdown are independent passes over it: side by side.
    let (analysis_json, markdown) = crate::analyze::Join::join(
        &Threads,
        || json_bytes(&report),
        || -> Result<Option<String>, Error> {
            match templates {
                Some(templates) => Ok(Some(joined(templates)?.render(&report)?)),
                None => Ok(None),
            }
        },
    );
    let (analysis_json, markdown) = (analysis_json?, markdown?);
    // The flame graphs for the HTML page, which shows them at their places.
    let mut titled: Vec<html::Graphic> = Vec::new();
    let (inputs, svgs) = joined(svgs);
    for (input, svg) in inputs.iter().zip(svgs) {
        let svg = svg?;
        if options.html {
            titled.push(html::Graphic {
                file: format!("{assets_dir}/{}.svg", input.id),
                caption: input.title.clone(),
                svg: svg.clone(),
                kind: html::GraphicKind::Flame,
            });
        }
        assets
            .files
            .push((format!("{}.svg", input.id), svg.into_bytes()));
    }
    for (name, title, svg) in extra_svgs {
        if options.html {
            titled.push(html::Graphic {
                file: format!("{assets_dir}/{name}"),
                caption: title,
                svg: svg.clone(),
                kind: html::GraphicKind::Flame,
            });
        }
        assets.files.push((name, svg.into_bytes()));
    }
    let (main, page) = match &markdown {
        Some(markdown) => {
            let page = options
                .html
                .then(|| html::page(&report.title, markdown, &titled).into_bytes());
            assets
                .files
                .push((ANALYSIS_FILE.to_string(), analysis_json));
            (markdown.clone().into_bytes(), page)
        }
        None => {
            assets
                .files
                .push((ANALYSIS_FILE.to_string(), analysis_json.clone()));
            (analysis_json, None)
        }
    };
    let written = write_all(&placement, main, page, Some(assets))?;
    super::free_in_background((set, flames, baseline_set));
    Ok(Reported {
        written,
        markdown: markdown.and(placement.file().map(Path::to_path_buf)),
        analysis: report,
    })
}

/// The analysis a report at `report` wrote into its assets folder (`reports/x.md` →
/// `reports/x/analysis.json`).
pub fn analysis_file_of(report: &Path) -> PathBuf {
    let dir = report.parent().map(Path::to_path_buf).unwrap_or_default();
    dir.join(assets_dir_of(report, "report"))
        .join(ANALYSIS_FILE)
}

/// Reads a saved analysis (`--format json`, or the one in a report's assets folder).
pub fn read_analysis(json: &Path) -> Result<ReportContext, Error> {
    let text = std::fs::read_to_string(json).map_err(|source| Error::Io {
        path: json.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| match null_number(&text, &source) {
        Some(field) => Error::AnalysisNumber {
            path: json.to_path_buf(),
            line: source.line(),
            field,
        },
        None => Error::Analysis {
            path: json.to_path_buf(),
            source,
        },
    })
}

/// The key of a `null` that `error` found where a floating-point number belongs (serde_json
/// writes NaN and infinities as `null`), quoted, from the error's line of the pretty JSON;
/// `a list entry` when that line has no key. `None` for any other error.
fn null_number(text: &str, error: &serde_json::Error) -> Option<String> {
    let message = error.to_string();
    if !(message.starts_with("invalid type: null, expected f64")
        || message.starts_with("invalid type: null, expected f32"))
    {
        return None;
    }
    let line = text.lines().nth(error.line().checked_sub(1)?)?.trim_start();
    let key = line
        .strip_prefix('"')
        .and_then(|rest| rest.split_once("\":"))
        .map(|(key, _)| format!("\"{}\"", crate::text::one_line(key)));
    Some(key.unwrap_or_else(|| "a list entry".to_string()))
}

/// `pprof-report render FILE.json`: the Markdown again, from a saved analysis.
pub fn render_from_json(
    json: &Path,
    out: &Path,
    templates: Option<&Path>,
) -> Result<Written, Error> {
    let report = read_analysis(json)?;
    let markdown = Templates::new(templates)?.render(&report)?;
    let placement = Placement::new(
        Some(out),
        None,
        out.to_path_buf(),
        "report",
        Format::Markdown,
    )?;
    write_all(&placement, markdown.into_bytes(), None, None)
}
