//! The `report` job: read a set and its context, investigate, render Markdown, SVGs, JSON and
//! HTML in memory, then write them. Writing starts only when everything rendered, and the
//! files and the flame graph folder are published together (`output::publish`), so a failed
//! run leaves the previous report intact.

use std::path::{Path, PathBuf};

use crate::analyze::compare::{self, CompareOptions, Comparison, Side};
use crate::analyze::goroutines::{GoroutineOptions, GroupLevel};
use crate::analyze::investigation::{self, InvestigationOptions, ReportContext};
use crate::context::Context;
use crate::error::Error;
use crate::output::{Assets, Publication, publish, safe_file_name};
use crate::parallel::{self, joined};
use crate::profile::DecodeOptions;
use crate::render::flame::{self, FlameSpec};
use crate::render::html;
use crate::render::templates::Templates;
use crate::set;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
}

/// Options of one report run, built from the command line in `cli`.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub set: PathBuf,
    /// The context file; `None` uses the set's own `<prefix>-context.yaml` when present.
    pub context: Option<PathBuf>,
    /// The Markdown (or JSON) file to write; `None` is `reports/<set name>.md`.
    pub out: Option<PathBuf>,
    pub templates: Option<PathBuf>,
    pub format: Format,
    pub html: bool,
    pub decode: DecodeOptions,
    /// How goroutine stacks are grouped.
    pub group_level: GroupLevel,
    /// Rule files that add to or replace the built-in rules.
    pub rules: Vec<PathBuf>,
    /// A set to compare with (`--baseline`): adds the comparison section.
    pub baseline: Option<PathBuf>,
    /// `--fail-on` thresholds, checked against the baseline.
    pub gate: Vec<compare::GateSpec>,
}

/// What a run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub files: Vec<PathBuf>,
}

/// A set read and investigated.
pub struct Prepared {
    pub set: set::ProfileSet,
    pub report: ReportContext,
    pub flames: Vec<investigation::FlameInput>,
}

/// What `prepare` needs besides the set.
pub struct PrepareOptions<'a> {
    pub context: Option<&'a Path>,
    pub rules: &'a [crate::rules::Rule],
    pub group_level: GroupLevel,
    pub decode: &'a DecodeOptions,
    pub assets_dir: String,
    pub command: String,
}

/// Reads a set and its context, and investigates it.
pub fn prepare(set_path: &Path, options: &PrepareOptions) -> Result<Prepared, Error> {
    investigate_set(set::open(set_path, options.decode)?, options)
}

/// Reads the context of an open set, and investigates it.
pub fn investigate_set(set: set::ProfileSet, options: &PrepareOptions) -> Result<Prepared, Error> {
    investigate_set_drawing(set, options, |_| ()).map(|(prepared, ())| prepared)
}

/// [`investigate_set`], and `draw` of the flame graphs' inputs while the analyses go on.
fn investigate_set_drawing<T: Send>(
    set: set::ProfileSet,
    options: &PrepareOptions,
    draw: impl Fn(&[investigation::FlameInput]) -> T + Sync,
) -> Result<(Prepared, T), Error> {
    let context_path = options
        .context
        .map(Path::to_path_buf)
        .or_else(|| set.context.clone());
    let context = match &context_path {
        Some(path) => Context::load(path).map_err(|e| Error::Read {
            path: path.clone(),
            what: e.to_string(),
        })?,
        None => Context::default(),
    };
    let (report, flames, drawn) = investigation::investigate_drawing(
        &set,
        &context,
        &InvestigationOptions {
            goroutines: GoroutineOptions {
                level: options.group_level,
                ..GoroutineOptions::default()
            },
            rules: options.rules.to_vec(),
            assets_dir: options.assets_dir.clone(),
            command: options.command.clone(),
            context_file: context_path
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
        },
        draw,
    );
    Ok((
        Prepared {
            set,
            report,
            flames,
        },
        drawn,
    ))
}

/// The built-in rules and the user's rule files.
pub fn load_rules(files: &[PathBuf]) -> Result<Vec<crate::rules::Rule>, Error> {
    let mut user_rules = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
        user_rules.push((path.display().to_string(), text));
    }
    crate::rules::load(&user_rules).map_err(|e| Error::Rules(e.to_string()))
}

/// The comparison of `before` with `after` (both prepared).
pub fn compare_prepared<'a>(
    before: &'a Prepared,
    after: &'a Prepared,
    rules: &[crate::rules::Rule],
    options: &CompareOptions,
) -> Comparison {
    let side = |p: &'a Prepared| Side {
        set: &p.set,
        report: &p.report,
        evidence: prepared_evidence(p),
    };
    compare::compare(&side(before), &side(after), rules, options)
}

/// What the rules look at in a prepared set.
pub fn prepared_evidence(p: &Prepared) -> crate::analyze::findings::Evidence<'_> {
    let r = &p.report;
    investigation::evidence(
        &p.set,
        &r.context,
        r.cpu.as_ref(),
        r.goroutines.as_ref(),
        &r.mutex,
        &r.block,
    )
}

/// The differential CPU flame graph: widths are the second set, colours the change in
/// CPU per second (red: more, blue: less). The first set's stacks are scaled to the second's
/// duration so that sets of different lengths compare.
pub fn differential_flame(before: &Prepared, after: &Prepared) -> Result<Option<String>, Error> {
    // Every stack in full: a path too narrow to draw on one side must still meet its
    // counterpart on the other.
    let folded = |p: &Prepared| {
        let profile = p.set.member(set::MemberKind::Cpu)?.profile();
        let index = profile.sample_index_of("cpu")?;
        Some(crate::analyze::flame::folded(profile, index))
    };
    let (Some(a), Some(b)) = (folded(before), folded(after)) else {
        return Ok(None);
    };
    let seconds = |p: &Prepared| {
        p.set
            .member(set::MemberKind::Cpu)
            .map(|m| m.profile().duration_nanos as f64)
            .filter(|d| *d > 0.0)
    };
    let scale = match (seconds(before), seconds(after)) {
        (Some(x), Some(y)) => y / x,
        _ => 1.0,
    };
    let mut stacks: std::collections::BTreeMap<String, (f64, f64)> =
        std::collections::BTreeMap::new();
    for (lines, second) in [(&a, false), (&b, true)] {
        for line in lines {
            if let Some((stack, count)) = line.rsplit_once(' ') {
                let value: f64 = count.parse().unwrap_or(0.0);
                let entry = stacks.entry(stack.to_string()).or_insert((0.0, 0.0));
                if second {
                    entry.1 += value;
                } else {
                    entry.0 += value * scale;
                }
            }
        }
    }
    let lines: Vec<String> = stacks
        .into_iter()
        .map(|(stack, (x, y))| format!("{stack} {} {}", x.round() as i64, y.round() as i64))
        .collect();
    if lines.is_empty() {
        return Ok(None);
    }
    let svg = flame::svg(
        &lines,
        &FlameSpec {
            title: format!("CPU change — {} → {}", before.set.name, after.set.name),
            subtitle:
                "widths: the second set; red: more CPU per second than the first set, blue: less"
                    .to_string(),
            count_name: "nanoseconds".to_string(),
            palette: "hot",
        },
    )
    .map_err(|e| Error::Render(e.to_string()))?;
    Ok(Some(svg))
}

/// Runs the whole job.
pub fn run(options: &ReportOptions) -> Result<Written, Error> {
    run_keeping(options).map(|(written, _)| written)
}

/// What a report was made from: the set, the report's data and the flame graphs' inputs.
/// [`run_keeping`] hands them back so that a process about to end can let them go with it
/// (`std::mem::forget`): freeing their many small allocations one by one takes about 3% of a
/// report's time, and the kernel reclaims the memory at exit anyway.
pub struct Leftovers {
    _set: set::ProfileSet,
    _report: ReportContext,
    _flames: Vec<investigation::FlameInput>,
}

/// [`run`], and what the report was made from.
pub fn run_keeping(options: &ReportOptions) -> Result<(Written, Leftovers), Error> {
    std::thread::scope(|scope| run_in(options, scope))
}

fn run_in<'scope, 'env>(
    options: &'env ReportOptions,
    scope: &'scope std::thread::Scope<'scope, 'env>,
) -> Result<(Written, Leftovers), Error> {
    let extension = match options.format {
        Format::Markdown => "md",
        Format::Json => "json",
    };
    // Parsing the templates and the rules takes as long as decoding a small set: both run
    // while the set is decoded (a small set leaves a core idle behind its largest member).
    let templates = (options.format == Format::Markdown).then(|| {
        scope.spawn(|| {
            Templates::new(options.templates.as_deref()).map_err(|e| Error::Render(e.to_string()))
        })
    });
    let rules = scope.spawn(|| load_rules(&options.rules));
    let decode = options.decode;
    let opened = set::open(&options.set, &decode);
    let rules = joined(rules)?;
    let opened = opened?;
    let out = options.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports").join(format!(
            "{}.{extension}",
            safe_file_name(&opened.name, "report")
        ))
    });
    let assets_dir = assets_dir_of(&out, "report");
    let command = regenerate_command(options, &out);
    let prepare_options = PrepareOptions {
        context: options.context.as_deref(),
        rules: &rules,
        group_level: options.group_level,
        decode: &decode,
        assets_dir: assets_dir.clone(),
        command,
    };
    // The SVGs are drawn while the analyses that do not need them, and the rendering, go on:
    // they are only needed when the files are written.
    let (
        Prepared {
            mut set,
            mut report,
            flames,
        },
        svgs,
    ) = investigate_set_drawing(opened, &prepare_options, |inputs| {
        let inputs: Vec<investigation::FlameInput> =
            drawable(inputs).into_iter().cloned().collect();
        scope.spawn(move || flame_svgs(&inputs))
    })?;
    // Flame graphs beside the report's own: (file name, caption, SVG).
    let mut extra_svgs: Vec<(String, String, String)> = Vec::new();
    if let Some(baseline) = &options.baseline {
        let before = prepare(
            baseline,
            &PrepareOptions {
                context: None,
                command: String::new(),
                ..prepare_options
            },
        )?;
        let after = Prepared {
            set,
            report: report.clone(),
            flames: flames.clone(),
        };
        let comparison = compare_prepared(
            &before,
            &after,
            &rules,
            &CompareOptions {
                rows: 15,
                gate: options.gate.clone(),
            },
        );
        let diff = differential_flame(&before, &after)?;
        let diff_file = diff.as_ref().map(|_| format!("{assets_dir}/cpu-diff.svg"));
        if let Some(svg) = diff {
            extra_svgs.push((
                "cpu-diff.svg".to_string(),
                format!("CPU change — {} → {}", before.set.name, after.set.name),
                svg,
            ));
        }
        report.baseline = Some(investigation::Baseline {
            name: before.set.name.clone(),
            comparison,
            diff_flame: diff_file,
        });
        set = after.set;
    }
    // Render everything before writing anything.
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut assets = assets_of(&out, &assets_dir);
    let drawn = drawable(&flames);
    let rendered = match (options.format, templates) {
        (Format::Markdown, Some(templates)) => joined(templates)
            .and_then(|t| t.render(&report).map_err(|e| Error::Render(e.to_string())))
            .map(Rendered::Markdown),
        _ => json_bytes(&report).map(Rendered::Json),
    };
    // (caption, SVG) for the HTML page, which shows them inline.
    let mut titled: Vec<(String, String)> = Vec::new();
    for (input, svg) in drawn.iter().zip(joined(svgs)) {
        let svg = svg?;
        if options.html {
            titled.push((input.title.clone(), svg.clone()));
        }
        assets
            .files
            .push((format!("{}.svg", input.id), svg.into_bytes()));
    }
    for (name, title, svg) in extra_svgs {
        if options.html {
            titled.push((title, svg.clone()));
        }
        assets.files.push((name, svg.into_bytes()));
    }
    match rendered? {
        Rendered::Markdown(markdown) => {
            if options.html {
                let page = html::page(&report.title, &markdown, &titled);
                files.push((out.with_extension("html"), page.into_bytes()));
            }
            files.push((out.clone(), markdown.into_bytes()));
        }
        Rendered::Json(json) => files.push((out.clone(), json)),
    }
    let written = write_all(files, Some(assets))?;
    Ok((
        written,
        Leftovers {
            _set: set,
            _report: report,
            _flames: flames,
        },
    ))
}

/// The report's main file, rendered.
enum Rendered {
    Markdown(String),
    Json(Vec<u8>),
}

/// The flame graphs with something to draw.
fn drawable(flames: &[investigation::FlameInput]) -> Vec<&investigation::FlameInput> {
    flames.iter().filter(|f| !f.folded.is_empty()).collect()
}

/// The SVGs of the flame graphs, drawn side by side (a report has four).
fn flame_svgs(inputs: &[investigation::FlameInput]) -> Vec<Result<String, Error>> {
    parallel::map(inputs, |input| {
        flame::svg(
            &input.folded,
            &FlameSpec {
                title: input.title.clone(),
                subtitle: input.subtitle.clone(),
                count_name: input.count_name.clone(),
                palette: input.palette,
            },
        )
        .map_err(|e| Error::Render(e.to_string()))
    })
}

/// The folder of a report's flame graphs: named after the report (`reports/x.md` →
/// `reports/x/`), made a safe name, since the report's name may come from a set's.
fn assets_dir_of(out: &Path, fallback: &str) -> String {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    safe_file_name(&stem, fallback)
}

/// The (still empty) assets of the report written to `out`.
fn assets_of(out: &Path, assets_dir: &str) -> Assets {
    let out_dir = out.parent().map(Path::to_path_buf).unwrap_or_default();
    Assets {
        dir: out_dir.join(assets_dir),
        files: Vec::new(),
    }
}

/// Markdown from a report context (also from one read back from JSON).
pub fn render_markdown(report: &ReportContext, templates: Option<&Path>) -> Result<String, Error> {
    let templates = Templates::new(templates).map_err(|e| Error::Render(e.to_string()))?;
    templates
        .render(report)
        .map_err(|e| Error::Render(e.to_string()))
}

/// `pprof-report render FILE.json`: the Markdown again, from a saved analysis.
pub fn render_from_json(
    json: &Path,
    out: &Path,
    templates: Option<&Path>,
) -> Result<Written, Error> {
    let text = std::fs::read_to_string(json).map_err(|e| Error::io(json, &e))?;
    let report: ReportContext = serde_json::from_str(&text).map_err(|e| Error::Read {
        path: json.to_path_buf(),
        what: format!(
            "not a pprof-report analysis: {}",
            crate::text::one_line(&e.to_string())
        ),
    })?;
    let markdown = render_markdown(&report, templates)?;
    write_all(vec![(out.to_path_buf(), markdown.into_bytes())], None)
}

/// Publishes a run's files and its flame graph folder together (`output::publish`), and
/// says what was written: the flame graphs first, then the files in their order.
fn write_all(files: Vec<(PathBuf, Vec<u8>)>, assets: Option<Assets>) -> Result<Written, Error> {
    let mut written: Vec<PathBuf> = assets
        .iter()
        .flat_map(|a| a.files.iter().map(|(name, _)| a.dir.join(name)))
        .collect();
    written.extend(files.iter().map(|(p, _)| p.clone()));
    publish(&Publication { files, assets }).map_err(|e| Error::Read {
        path: e.path,
        what: e.what,
    })?;
    Ok(Written { files: written })
}

/// The command that writes this report again, with the paths as they were given (so the
/// report does not depend on the machine it was made on).
fn regenerate_command(options: &ReportOptions, out: &Path) -> String {
    let mut parts = vec![
        "pprof-report".to_string(),
        "report".to_string(),
        options.set.display().to_string(),
    ];
    if let Some(context) = &options.context {
        parts.push("--context".to_string());
        parts.push(context.display().to_string());
    }
    if let Some(templates) = &options.templates {
        parts.push("--templates".to_string());
        parts.push(templates.display().to_string());
    }
    if options.format == Format::Json {
        parts.push("--format json".to_string());
    }
    if options.html {
        parts.push("--html".to_string());
    }
    if let Some(baseline) = &options.baseline {
        parts.push("--baseline".to_string());
        parts.push(baseline.display().to_string());
    }
    for gate in &options.gate {
        parts.push(format!("--fail-on '{}'", gate.text));
    }
    for rules in &options.rules {
        parts.push("--rules".to_string());
        parts.push(rules.display().to_string());
    }
    if options.group_level != GroupLevel::default() {
        parts.push(format!("--group-level {}", options.group_level.as_arg()));
    }
    parts.push("--out".to_string());
    parts.push(out.display().to_string());
    parts.join(" ")
}

/// The standalone comparison report (`pprof-report compare A B`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ComparisonReport {
    pub title: String,
    pub tool: investigation::Tool,
    pub command: String,
    pub baseline: investigation::Baseline,
}

/// Options of `compare`.
#[derive(Debug, Clone)]
pub struct CompareJob {
    pub before: PathBuf,
    pub after: PathBuf,
    /// Default: reports/<before>-vs-<after>.md
    pub out: Option<PathBuf>,
    pub format: Format,
    pub html: bool,
    pub templates: Option<PathBuf>,
    pub rules: Vec<PathBuf>,
    pub gate: Vec<compare::GateSpec>,
    pub decode: DecodeOptions,
}

/// Prepares several sets side by side (each set decodes its own members in parallel too);
/// the first error in the sets' order wins.
fn prepare_all(paths: &[PathBuf], options: &PrepareOptions) -> Result<Vec<Prepared>, Error> {
    parallel::map(paths, |path| prepare(path, options))
        .into_iter()
        .collect()
}

/// Runs `compare`; returns what it wrote and whether the gate held.
pub fn run_compare(job: &CompareJob) -> Result<(Written, bool), Error> {
    let rules = load_rules(&job.rules)?;
    let options = PrepareOptions {
        context: None,
        rules: &rules,
        group_level: GroupLevel::default(),
        decode: &job.decode,
        assets_dir: String::new(),
        command: String::new(),
    };
    let mut both = prepare_all(&[job.before.clone(), job.after.clone()], &options)?.into_iter();
    let (Some(before), Some(after)) = (both.next(), both.next()) else {
        return Err(Error::Render("compare needs two sets".to_string()));
    };
    let extension = match job.format {
        Format::Markdown => "md",
        Format::Json => "json",
    };
    let out = job.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports").join(format!(
            "{}-vs-{}.{extension}",
            safe_file_name(&before.set.name, "before"),
            safe_file_name(&after.set.name, "after")
        ))
    });
    let assets_dir = assets_dir_of(&out, "comparison");
    let comparison = compare_prepared(
        &before,
        &after,
        &rules,
        &CompareOptions {
            rows: 15,
            gate: job.gate.clone(),
        },
    );
    let passed = comparison.gate.as_ref().is_none_or(|g| g.passed);
    let diff = differential_flame(&before, &after)?;
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut assets = assets_of(&out, &assets_dir);
    let mut svgs = Vec::new();
    let diff_file = diff.as_ref().map(|_| format!("{assets_dir}/cpu-diff.svg"));
    let title = format!("Comparison: {} → {}", before.set.name, after.set.name);
    if let Some(svg) = diff {
        svgs.push((title.clone(), svg.clone()));
        assets
            .files
            .push(("cpu-diff.svg".to_string(), svg.into_bytes()));
    }
    let mut command = vec![
        "pprof-report compare".to_string(),
        job.before.display().to_string(),
        job.after.display().to_string(),
    ];
    for gate in &job.gate {
        command.push(format!("--fail-on '{}'", gate.text));
    }
    if job.html {
        command.push("--html".to_string());
    }
    command.push(format!("--out {}", out.display()));
    let report = ComparisonReport {
        title: title.clone(),
        tool: before.report.tool.clone(),
        command: command.join(" "),
        baseline: investigation::Baseline {
            name: before.set.name.clone(),
            comparison,
            diff_flame: diff_file,
        },
    };
    match job.format {
        Format::Json => files.push((out.clone(), json_bytes(&report)?)),
        Format::Markdown => {
            let templates = Templates::new(job.templates.as_deref())
                .map_err(|e| Error::Render(e.to_string()))?;
            let markdown = templates
                .render_entry("comparison.md.j2", &report)
                .map_err(|e| Error::Render(e.to_string()))?;
            if job.html {
                let page = html::page(&title, &markdown, &svgs);
                files.push((out.with_extension("html"), page.into_bytes()));
            }
            files.push((out.clone(), markdown.into_bytes()));
        }
    }
    Ok((write_all(files, Some(assets))?, passed))
}

/// The trend report (`pprof-report trend SET1 SET2 …`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrendReport {
    pub title: String,
    pub tool: investigation::Tool,
    pub command: String,
    pub sets: Vec<String>,
    /// One row per metric, one value per set.
    pub metrics: Vec<TrendMetric>,
    pub charts: Vec<TrendChart>,
    pub steps: Vec<TrendStep>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrendMetric {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrendChart {
    pub title: String,
    pub file: String,
}

/// What changed between two consecutive sets.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrendStep {
    pub from: String,
    pub to: String,
    pub metrics: Vec<compare::MetricRow>,
    /// The largest significant CPU changes by function.
    pub functions: Vec<compare::DeltaRow>,
}

/// Options of `trend`.
#[derive(Debug, Clone)]
pub struct TrendJob {
    pub sets: Vec<PathBuf>,
    /// Default: reports/trend-<first>-to-<last>.md
    pub out: Option<PathBuf>,
    pub templates: Option<PathBuf>,
    pub html: bool,
    pub decode: DecodeOptions,
}

/// Runs `trend`.
pub fn run_trend(job: &TrendJob) -> Result<Written, Error> {
    use crate::render::chart::{self, Chart, Series, ValueFormat};
    if job.sets.len() < 2 {
        return Err(Error::Usage(
            "trend needs at least two sets, in time order".to_string(),
        ));
    }
    let rules = load_rules(&[])?;
    let options = PrepareOptions {
        context: None,
        rules: &rules,
        group_level: GroupLevel::default(),
        decode: &job.decode,
        assets_dir: String::new(),
        command: String::new(),
    };
    let prepared = prepare_all(&job.sets, &options)?;
    let names: Vec<String> = prepared.iter().map(|p| p.set.name.clone()).collect();
    let out = job.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports").join(format!(
            "trend-{}-to-{}.md",
            safe_file_name(names.first().map_or("", String::as_str), "first"),
            safe_file_name(names.last().map_or("", String::as_str), "last")
        ))
    });
    let assets_dir = assets_dir_of(&out, "trend");
    let compare_options = CompareOptions {
        rows: 5,
        gate: Vec::new(),
    };
    let comparisons: Vec<Comparison> = prepared
        .windows(2)
        .map(|pair| compare_prepared(&pair[0], &pair[1], &rules, &compare_options))
        .collect();
    // Each set's figures: the first from the first comparison's "before", the rest "after".
    let mut figures: Vec<&compare::SetFigures> = Vec::new();
    if let Some(first) = comparisons.first() {
        figures.push(&first.before);
    }
    figures.extend(comparisons.iter().map(|c| &c.after));

    type Extract = fn(&compare::SetFigures) -> Option<f64>;
    let rows: [(&str, Extract, ValueFormat); 6] = [
        (
            "CPU (% of one core)",
            |f| f.cpu_percent,
            ValueFormat::Percent,
        ),
        (
            "CPU per service (%)",
            |f| match (f.cpu_percent, f.services) {
                (Some(c), Some(s)) if s > 0.0 => Some(c / s),
                _ => None,
            },
            ValueFormat::Percent,
        ),
        ("services", |f| f.services, ValueFormat::Plain),
        ("goroutines", |f| f.goroutines, ValueFormat::Plain),
        ("heap in use", |f| f.heap_inuse, ValueFormat::Bytes),
        (
            "heap in use per service",
            |f| match (f.heap_inuse, f.services) {
                (Some(h), Some(s)) if s > 0.0 => Some(h / s),
                _ => None,
            },
            ValueFormat::Bytes,
        ),
    ];
    let format_value = |v: Option<f64>, format: ValueFormat| match (v, format) {
        (None, _) => "–".to_string(),
        (Some(v), ValueFormat::Percent) => format!("{v:.2}%"),
        (Some(v), ValueFormat::Bytes) => crate::units::label(v as i64, "bytes"),
        (Some(v), _) => {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            }
        }
    };
    let metrics: Vec<TrendMetric> = rows
        .iter()
        .map(|(name, extract, format)| TrendMetric {
            name: name.to_string(),
            values: figures
                .iter()
                .map(|f| format_value(extract(f), *format))
                .collect(),
        })
        .collect();
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut assets = assets_of(&out, &assets_dir);
    let mut charts = Vec::new();
    let mut svgs = Vec::new();
    for (id, (name, extract, format)) in [
        "cpu",
        "cpu-per-service",
        "services",
        "goroutines",
        "heap",
        "heap-per-service",
    ]
    .iter()
    .zip(rows.iter())
    {
        if *id == "services" {
            continue;
        }
        let svg = chart::svg(&Chart {
            title: format!("{name} across the sets"),
            x_labels: names.clone(),
            y_label: name.to_string(),
            series: vec![Series {
                name: name.to_string(),
                points: figures.iter().map(|f| extract(f)).collect(),
            }],
            value_format: *format,
        });
        let file = format!("{assets_dir}/{id}.svg");
        svgs.push((name.to_string(), svg.clone()));
        assets.files.push((format!("{id}.svg"), svg.into_bytes()));
        charts.push(TrendChart {
            title: format!("{name} across the sets"),
            file,
        });
    }
    let steps = comparisons
        .iter()
        .zip(names.windows(2))
        .map(|(c, pair)| TrendStep {
            from: pair[0].clone(),
            to: pair[1].clone(),
            metrics: c.metrics.clone(),
            functions: c
                .deltas
                .iter()
                .find(|t| t.what.starts_with("CPU"))
                .map(|t| t.rows.iter().filter(|r| r.significant).cloned().collect())
                .unwrap_or_default(),
        })
        .collect();
    let mut command = vec!["pprof-report trend".to_string()];
    command.extend(job.sets.iter().map(|s| s.display().to_string()));
    if job.html {
        command.push("--html".to_string());
    }
    command.push(format!("--out {}", out.display()));
    let report = TrendReport {
        title: format!("Trend: {}", names.join(" → ")),
        tool: prepared[0].report.tool.clone(),
        command: command.join(" "),
        sets: names,
        metrics,
        charts,
        steps,
    };
    let templates =
        Templates::new(job.templates.as_deref()).map_err(|e| Error::Render(e.to_string()))?;
    let markdown = templates
        .render_entry("trend.md.j2", &report)
        .map_err(|e| Error::Render(e.to_string()))?;
    if job.html {
        files.push((
            out.with_extension("html"),
            html::page(&report.title, &markdown, &svgs).into_bytes(),
        ));
    }
    files.push((out, markdown.into_bytes()));
    write_all(files, Some(assets))
}

/// A value as pretty JSON with a final newline.
fn json_bytes(value: &impl serde::Serialize) -> Result<Vec<u8>, Error> {
    let json =
        serde_json::to_string_pretty(value).map_err(|e| Error::Render(format!("JSON: {e}")))?;
    Ok(format!("{json}\n").into_bytes())
}
