//! The Markdown report from a `ReportContext`, through Jinja templates (minijinja): the
//! defaults are embedded in the binary, and a folder given with `--templates` overrides them
//! file by file.

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
    template!("summary-items.md.j2"),
    template!("cpu.md.j2"),
    template!("goroutines.md.j2"),
    template!("leaks.md.j2"),
    template!("memory.md.j2"),
    template!("contention.md.j2"),
    template!("others.md.j2"),
    template!("recommendations.md.j2"),
    template!("baseline.md.j2"),
    template!("comparison.md.j2"),
    template!("trend.md.j2"),
    template!("flamegraphs.md.j2"),
    template!("appendix.md.j2"),
    template!("backlog.md.j2"),
];

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template does not parse, or fails while rendering (an undefined value printed, a
    /// filter's error).
    #[error("template {name}: {reason}")]
    Template {
        /// The template at fault, e.g. `cpu.md.j2`.
        name: String,
        /// The line and what went wrong, then each cause, on one line.
        reason: String,
    },
    /// The `--templates` folder is unusable: not a folder, unreadable, or holding a `*.j2` or
    /// `*.tera` file that replaces no template.
    #[error("{}: {reason}", path.display())]
    Override {
        /// The folder or file at fault.
        path: std::path::PathBuf,
        /// Why, in words.
        reason: String,
    },
}

/// A template file in an override folder that replaces no template would be ignored without
/// a word: a misspelt name, or a Tera template (`*.md.tera`) of earlier versions. Other
/// files (notes, a README) are left alone.
fn check_override_names(dir: &Path) -> Result<(), RenderError> {
    let entries = std::fs::read_dir(dir).map_err(|e| RenderError::Override {
        path: dir.to_path_buf(),
        reason: crate::text::describe_io(&e),
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".j2") || name.ends_with(".tera"))
        .filter(|name| !DEFAULT_TEMPLATES.iter().any(|(known, _)| known == name))
        .collect();
    names.sort();
    let Some(name) = names.first() else {
        return Ok(());
    };
    let reason = if name.ends_with(".tera") {
        "a Tera template: the templates are Jinja now (minijinja), named *.md.j2; \
         `pprof-report templates DIR` writes the current ones"
    } else {
        "not the name of a template; `pprof-report templates DIR` writes them all, by name"
    };
    Err(RenderError::Override {
        path: dir.join(name),
        reason: reason.to_string(),
    })
}

/// The template set: defaults, with the files of `overrides` (when given) in their place.
pub struct Templates {
    env: minijinja::Environment<'static>,
}

impl Templates {
    /// Parses the templates: the defaults, each replaced by the file of the same name in
    /// `overrides` when there is one.
    pub fn new(overrides: Option<&Path>) -> Result<Templates, RenderError> {
        let mut env = minijinja::Environment::new();
        // Markdown: our filters escape for the place a value lands in; the default callback
        // would turn HTML escaping on for a template whose name ends in `.html`.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        // Printing an undefined value (a typo in a template) is an error; `{% if x %}` of an
        // absent optional field is not.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
        // Undefined-value errors name the expression (`cpu.nope` is undefined); it costs no
        // measurable time (`cargo bench --bench large -- templates SET`).
        env.set_debug(true);
        env.set_formatter(format_value);
        super::filters::register(&mut env);
        if let Some(dir) = overrides
            && !dir.is_dir()
        {
            return Err(RenderError::Override {
                path: dir.to_path_buf(),
                reason: "not a directory of templates".to_string(),
            });
        }
        if let Some(dir) = overrides {
            check_override_names(dir)?;
        }
        // Each template is parsed as it is added: a broken override fails here, before anything
        // is rendered.
        for &(name, text) in DEFAULT_TEMPLATES {
            let path = overrides.map(|dir| dir.join(name)).filter(|p| p.exists());
            let added = match path {
                Some(path) => {
                    let text =
                        std::fs::read_to_string(&path).map_err(|e| RenderError::Override {
                            path: path.clone(),
                            reason: crate::text::describe_io(&e),
                        })?;
                    env.add_template_owned(name, text)
                }
                None => env.add_template(name, text),
            };
            added.map_err(|e| template_error(name, &e))?;
        }
        Ok(Templates { env })
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
        let text = self
            .env
            .get_template(entry)
            .and_then(|t| t.render(minijinja::value::Serde(value)))
            .map_err(|e| template_error(entry, &e))?;
        Ok(tidy(&text))
    }
}

/// Values print as the reports have always printed them: a float in Rust's shortest form
/// (`122` services, `z = 20`, where minijinja writes `122.0`), none as nothing.
fn format_value(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    if value.is_none() {
        return Ok(());
    }
    if value.kind() == minijinja::value::ValueKind::Number
        && !value.is_integer()
        && let Ok(x) = f64::try_from(value.clone())
    {
        return write!(out, "{x}").map_err(|_| minijinja::ErrorKind::WriteFailure.into());
    }
    minijinja::escape_formatter(out, state, value)
}

/// A one-line message: the template, the line and what went wrong, then each cause (an error
/// in an included template is the cause of the include's), each naming its own template.
fn template_error(entry: &str, error: &minijinja::Error) -> RenderError {
    let name = error.name().unwrap_or(entry).to_string();
    let mut reason = describe(error, &name);
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(": ");
        match cause.downcast_ref::<minijinja::Error>() {
            Some(inner) => reason.push_str(&describe(inner, "")),
            None => reason.push_str(&cause.to_string()),
        }
        source = cause.source();
    }
    RenderError::Template {
        name,
        reason: reason.replace('\n', " "),
    }
}

/// One minijinja error without its causes: `cpu.md.j2 line 3: undefined value: …`, the
/// template's name left out when it is `known` already.
fn describe(error: &minijinja::Error, known: &str) -> String {
    let mut text = String::new();
    match (error.name().filter(|&n| n != known), error.line()) {
        (Some(name), Some(line)) => text.push_str(&format!("{name} line {line}: ")),
        (Some(name), None) => text.push_str(&format!("{name}: ")),
        (None, Some(line)) => text.push_str(&format!("line {line}: ")),
        (None, None) => {}
    }
    text.push_str(&error.kind().to_string());
    if let Some(detail) = error.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders `folded_table` from the default macros over `n` rows.
    fn folded(n: usize) -> String {
        let mut templates = Templates::new(None).expect("the default templates parse");
        templates
            .env
            .add_template(
                "t",
                "{% import \"macros.md.j2\" as m -%}\n\
                 {% call(r) m.folded_table(rows=rows, header=\"| A |\\n|---|\") -%}\n\
                 | {{ r }} |\n\
                 {%- endcall %}\nafter\n",
            )
            .expect("the test template parses");
        let rows: Vec<usize> = (1..=n).collect();
        templates
            .render_entry("t", &serde_json::json!({ "rows": rows }))
            .expect("renders")
    }

    #[test]
    fn long_tables_fold_all_but_their_first_rows() {
        // Up to 15 rows, the table reads whole.
        assert_eq!(folded(2), "| A |\n|---|\n| 1 |\n| 2 |\n\nafter\n");
        let fifteen = folded(15);
        assert!(!fifteen.contains("<details>"), "{fifteen}");
        assert_eq!(fifteen.matches("\n| ").count(), 15);
        // Past that, the first 10 rows, then the rest under the same header in <details>,
        // blank lines around the inner table so that GitHub renders it as a table.
        let rows = |range: std::ops::RangeInclusive<usize>| {
            range.map(|k| format!("| {k} |\n")).collect::<String>()
        };
        assert_eq!(
            folded(16),
            format!(
                "| A |\n|---|\n{}\n<details><summary>6 more rows</summary>\n\n| A |\n|---|\n{}\n</details>\n\nafter\n",
                rows(1..=10),
                rows(11..=16)
            )
        );
        assert_eq!(folded(0), "| A |\n|---|\n\nafter\n");
    }
}
