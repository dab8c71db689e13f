//! The `report` job: read a set and its context, investigate, render Markdown, SVGs, JSON and
//! HTML in memory, then write them. Writing starts only when everything rendered, and each
//! file is replaced atomically, so a failed run leaves the previous report intact.

use std::path::{Path, PathBuf};

use crate::analyze::goroutines::{GoroutineOptions, GroupLevel};
use crate::analyze::investigation::{self, InvestigationOptions, ReportContext};
use crate::context::Context;
use crate::error::Error;
use crate::output::{Existing, write_atomic};
use crate::profile::DecodeOptions;
use crate::render::flame::{self, FlameSpec};
use crate::render::html;
use crate::render::report::Templates;
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
}

/// What a run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub files: Vec<PathBuf>,
}

/// Runs the whole job.
pub fn run(options: &ReportOptions) -> Result<Written, Error> {
    let set = set::open(&options.set, &options.decode)?;
    let context_path = options.context.clone().or_else(|| set.context.clone());
    let context = match &context_path {
        Some(path) => Context::load(path).map_err(|e| Error::Read {
            path: path.clone(),
            what: e.to_string(),
        })?,
        None => Context::default(),
    };
    let extension = match options.format {
        Format::Markdown => "md",
        Format::Json => "json",
    };
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(format!("{}.{extension}", set.name)));
    let assets_dir = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| set.name.clone());
    let command = regenerate_command(options, &out);
    let mut user_rules = Vec::new();
    for path in &options.rules {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
        user_rules.push((path.display().to_string(), text));
    }
    let rules = crate::rules::load(&user_rules).map_err(|e| Error::Rules(e.to_string()))?;
    let (report, flames) = investigation::investigate(
        &set,
        &context,
        &InvestigationOptions {
            goroutines: GoroutineOptions {
                level: options.group_level,
                ..GoroutineOptions::default()
            },
            rules,
            assets_dir: assets_dir.clone(),
            command,
            context_file: context_path
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
        },
    );

    // Render everything before writing anything.
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let out_dir = out.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut svgs: Vec<(String, String)> = Vec::new();
    for input in flames.iter().filter(|f| !f.folded.is_empty()) {
        let svg = flame::svg(
            &input.folded,
            &FlameSpec {
                title: input.title.clone(),
                subtitle: input.subtitle.clone(),
                count_name: input.count_name.clone(),
                palette: input.palette,
            },
        )
        .map_err(|e| Error::Render(e.to_string()))?;
        let path = out_dir.join(&assets_dir).join(format!("{}.svg", input.id));
        svgs.push((input.title.clone(), svg.clone()));
        files.push((path, svg.into_bytes()));
    }
    match options.format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&report)
                .map_err(|e| Error::Render(format!("JSON: {e}")))?;
            files.push((out.clone(), format!("{json}\n").into_bytes()));
        }
        Format::Markdown => {
            let markdown = render_markdown(&report, options.templates.as_deref())?;
            if options.html {
                let page = html::page(&report.title, &markdown, &svgs);
                files.push((out.with_extension("html"), page.into_bytes()));
            }
            files.push((out.clone(), markdown.into_bytes()));
        }
    }
    write_all(&files)
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
        what: format!("not a pprof-report analysis: {e}"),
    })?;
    let markdown = render_markdown(&report, templates)?;
    write_all(&[(out.to_path_buf(), markdown.into_bytes())])
}

fn write_all(files: &[(PathBuf, Vec<u8>)]) -> Result<Written, Error> {
    for (path, bytes) in files {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
        }
        write_atomic(path, bytes, Existing::Replace).map_err(|e| Error::io(path, &e))?;
    }
    Ok(Written {
        files: files.iter().map(|(p, _)| p.clone()).collect(),
    })
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
