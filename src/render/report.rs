//! The Markdown report from a `ReportContext`, through Tera templates: the defaults are
//! embedded in the binary, and a folder given with `--templates` overrides them file by file.

use std::path::Path;

use crate::analyze::investigation::ReportContext;

/// A default template embedded under its file name.
macro_rules! template {
    ($name:literal) => {
        ($name, include_str!(concat!("../../templates/", $name)))
    };
}

/// The default templates, by name. `report.md.j2` is the entry point.
pub const DEFAULT_TEMPLATES: &[(&str, &str)] = &[
    template!("report.md.j2"),
    template!("macros.md.j2"),
    template!("metadata.md.j2"),
    template!("summary.md.j2"),
    template!("cpu.md.j2"),
    template!("goroutines.md.j2"),
    template!("memory.md.j2"),
    template!("contention.md.j2"),
    template!("others.md.j2"),
    template!("recommendations.md.j2"),
    template!("baseline.md.j2"),
    template!("comparison.md.j2"),
    template!("trend.md.j2"),
    template!("flamegraphs.md.j2"),
    template!("appendix.md.j2"),
];

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {name}: {reason}")]
    Template { name: String, reason: String },
    #[error("{}: {reason}", path.display())]
    Override {
        path: std::path::PathBuf,
        reason: String,
    },
}

/// The template set: defaults, with the files of `overrides` (when given) in their place.
pub struct Templates {
    tera: tera::Tera,
}

impl Templates {
    pub fn new(overrides: Option<&Path>) -> Result<Templates, RenderError> {
        let mut sources: Vec<(String, String)> = DEFAULT_TEMPLATES
            .iter()
            .map(|(name, text)| (name.to_string(), text.to_string()))
            .collect();
        if let Some(dir) = overrides {
            if !dir.is_dir() {
                return Err(RenderError::Override {
                    path: dir.to_path_buf(),
                    reason: "not a directory of templates".to_string(),
                });
            }
            for (name, text) in sources.iter_mut() {
                let path = dir.join(name.as_str());
                if path.exists() {
                    *text = std::fs::read_to_string(&path).map_err(|e| RenderError::Override {
                        path: path.clone(),
                        reason: crate::error::describe_io(&e),
                    })?;
                }
            }
        }
        let mut tera = tera::Tera::default();
        tera.add_raw_templates(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|e| template_error("report.md.j2", &e))?;
        super::filters::register(&mut tera);
        Ok(Templates { tera })
    }

    /// The Markdown report.
    pub fn render(&self, report: &ReportContext) -> Result<String, RenderError> {
        self.render_entry("report.md.j2", report)
    }

    /// Markdown from any entry template and the value it presents.
    pub fn render_entry(
        &self,
        entry: &str,
        value: &impl serde::Serialize,
    ) -> Result<String, RenderError> {
        let context =
            tera::Context::from_serialize(value).map_err(|e| template_error(entry, &e))?;
        let text = self
            .tera
            .render(entry, &context)
            .map_err(|e| template_error(entry, &e))?;
        Ok(tidy(&text))
    }
}

/// Tera's error with its whole chain of causes (the inner one names the template and line).
fn template_error(name: &str, error: &tera::Error) -> RenderError {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    RenderError::Template {
        name: name.to_string(),
        reason: reason.replace('\n', " "),
    }
}

/// Collapses runs of blank lines that template conditionals leave, and ends with one newline.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Writes the default templates into `dir` for a user to start from; existing files are kept.
pub fn write_defaults(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, text) in DEFAULT_TEMPLATES {
        let path = dir.join(name);
        match crate::output::write_atomic(&path, text.as_bytes(), crate::output::Existing::Refuse) {
            Ok(()) => written.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}
