//! Attaching a report to a Backlog.md task: a dated block in the task's Implementation Notes
//! (replaced when the same report is attached again, added after earlier ones otherwise),
//! the report in the front matter's documentation list, and updated_date set. Everything
//! else in the file is kept byte for byte (line endings, quoting, a missing final newline),
//! and the file is replaced atomically, never over a save it did not see (`swap`).

use std::path::{Component, Path, PathBuf};

use crate::timefmt::UtcTime;

mod swap;

pub use swap::{TEST_PAUSE_VAR, pause_attaches_for_tests};

const NOTES_BEGIN: &str = "<!-- SECTION:NOTES:BEGIN -->";
const NOTES_END: &str = "<!-- SECTION:NOTES:END -->";
const BLOCK_BEGIN: &str = "<!-- pprof-report:BEGIN ";
const BLOCK_END: &str = "<!-- pprof-report:END ";
/// The UTF-8 byte-order mark.
const BOM: char = '\u{feff}';
/// Where Backlog.md keeps task files.
const TASK_FOLDERS: [&str; 3] = ["tasks", "completed", "drafts"];

/// Why a report could not be attached to a task.
#[derive(Debug, thiserror::Error)]
pub enum BacklogError {
    /// The task file cannot be read or written.
    #[error("{}: {what}", path.display())]
    Io {
        /// The task file.
        path: PathBuf,
        /// The error from the operating system, in words.
        what: String,
    },
    /// No task file matches the id (or the id is not a number such as `17` or `17.1`).
    #[error("{}: no task {id} (looked in tasks/, completed/ and drafts/ for {prefix}-{id} - *.md)", dir.display())]
    NotFound {
        /// The Backlog.md folder.
        dir: PathBuf,
        /// The task as the user gave it.
        id: String,
        /// The task file prefix (`task`, or backlog/config.yml's), lowercase.
        prefix: String,
    },
    /// Several task files match the id.
    #[error("{}: task {id} matches {count} files ({files}); remove the duplicates", dir.display())]
    Ambiguous {
        /// The Backlog.md folder.
        dir: PathBuf,
        /// The task as the user gave it.
        id: String,
        /// How many files match.
        count: usize,
        /// Their paths, sorted and joined with `, `.
        files: String,
    },
    /// The task file cannot be edited safely (not UTF-8, no front matter, unbalanced
    /// markers, an edit that would not read back, a change on disk while attaching), or the
    /// report has no analysis to attach.
    #[error("{}: {what}", path.display())]
    Refused {
        /// The file refused.
        path: PathBuf,
        /// Why, in words.
        what: String,
    },
}

/// What to attach and where.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// The task file ([`find_task`]).
    pub task_file: PathBuf,
    /// The report, as the user named it: it keys the block (attaching the same report again
    /// replaces its block) and goes into the front matter's documentation list.
    pub report: PathBuf,
    /// The block's lines (without line endings), rendered from `backlog.md.j2`; the markers
    /// around them are added here.
    pub block: Vec<String>,
    /// The time written into updated_date.
    pub now: UtcTime,
}

/// What attach did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The task file written.
    pub task_file: PathBuf,
    /// True when a block for the same report was replaced.
    pub replaced: bool,
}

/// Attaches the block to the task.
pub fn attach(options: &AttachOptions) -> Result<Attached, BacklogError> {
    plan(options)?.write()
}

/// An attach worked out but not written yet: the file as read, and what it becomes.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The task file to write.
    pub task_file: PathBuf,
    options: AttachOptions,
    read: swap::Snapshot,
    updated: Vec<u8>,
    replaced: bool,
}

/// Reads the task, and works out the new task file.
pub fn plan(options: &AttachOptions) -> Result<Plan, BacklogError> {
    let task_file = options.task_file.clone();
    let (read, updated, replaced) = read_and_edit(options)?;
    Ok(Plan {
        task_file,
        options: options.clone(),
        read,
        updated,
        replaced,
    })
}

/// The task as it is now, and what attaching makes of it. A refusal stands only if the file
/// did not change meanwhile: a file read in the middle of an in-place save is read again.
fn read_and_edit(options: &AttachOptions) -> Result<(swap::Snapshot, Vec<u8>, bool), BacklogError> {
    let task_file = &options.task_file;
    let io = |e: std::io::Error| BacklogError::Io {
        path: task_file.clone(),
        what: crate::text::describe_io(&e),
    };
    let mut attempt = 0;
    loop {
        let read = swap::Snapshot::read(task_file).map_err(io)?;
        match edit_file(&read.bytes, options) {
            Ok((updated, replaced)) => return Ok((read, updated, replaced)),
            Err(what) => {
                attempt += 1;
                // An in-place save truncates, then writes: give it a moment to finish.
                swap::pause_before_retry(attempt);
                if attempt >= swap::ATTEMPTS || read.is_current(task_file).map_err(io)? {
                    return Err(BacklogError::Refused {
                        path: task_file.clone(),
                        what,
                    });
                }
            }
        }
    }
}

/// The task file's bytes after attaching, and whether an earlier block was replaced. A UTF-8
/// byte-order mark (some Windows editors save one; Backlog.md reads past it) is kept.
fn edit_file(bytes: &[u8], options: &AttachOptions) -> Result<(Vec<u8>, bool), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the task file is not UTF-8".to_string())?;
    let (bom, text) = match text.strip_prefix(BOM) {
        Some(rest) => ("\u{feff}", rest),
        None => ("", text),
    };
    let key = options.report.display().to_string();
    let mut block = Vec::with_capacity(options.block.len() + 2);
    block.push(format!("{BLOCK_BEGIN}{key} -->"));
    block.extend(options.block.iter().cloned());
    block.push(format!("{BLOCK_END}{key} -->"));
    let (updated, replaced) = edit(text, &block, &key, &options.now)?;
    Ok((format!("{bom}{updated}").into_bytes(), replaced))
}

impl Plan {
    /// Writes the new task file. A save by someone else between the read and the replacement
    /// (or racing it) is never lost: attach starts again from the task as that save left it,
    /// a few times, then refuses naming the file.
    pub fn write(self) -> Result<Attached, BacklogError> {
        if let Some(folder) = self.task_file.parent() {
            swap::remove_stale_staging(folder);
        }
        let (mut read, mut updated, mut replaced) = (self.read, self.updated, self.replaced);
        for attempt in 0..swap::ATTEMPTS {
            if attempt > 0 {
                swap::pause_before_retry(attempt);
                (read, updated, replaced) = read_and_edit(&self.options)?;
            }
            if swap::replace(&self.task_file, &read, &updated)? == swap::Outcome::Replaced {
                return Ok(Attached {
                    task_file: self.task_file,
                    replaced,
                });
            }
        }
        Err(BacklogError::Refused {
            path: self.task_file,
            what: format!(
                "the file changed on disk each of {} times attach read it; nothing written, run attach again",
                swap::ATTEMPTS
            ),
        })
    }
}

/// Removes what attach runs killed before they finished left in the task folders (their
/// staging files, hidden from Backlog.md): those of runs that are gone, or older than a few
/// minutes.
pub fn remove_stale_temporaries(backlog_dir: &Path) {
    for folder in TASK_FOLDERS {
        swap::remove_stale_staging(&backlog_dir.join(folder));
    }
}

/// The task file prefix from backlog/config.yml (`prefixes: {task: …}` or `task_prefix`),
/// `task` by default.
fn task_prefix(backlog_dir: &Path) -> String {
    let config = std::fs::read_to_string(backlog_dir.join("config.yml")).unwrap_or_default();
    let value: yaml_serde::Value = yaml_serde::from_str(&config).unwrap_or_default();
    value
        .get("prefixes")
        .and_then(|p| p.get("task"))
        .or_else(|| value.get("task_prefix"))
        .and_then(|v| v.as_str())
        .unwrap_or("task")
        .to_lowercase()
}

/// The task's file under tasks/, completed/ or drafts/.
pub fn find_task(backlog_dir: &Path, task: &str) -> Result<PathBuf, BacklogError> {
    let prefix = task_prefix(backlog_dir);
    let lower = task.to_lowercase();
    let id = lower
        .strip_prefix(&format!("{prefix}-"))
        .unwrap_or(&lower)
        .to_string();
    let wanted: Vec<u64> = id.split('.').filter_map(|p| p.parse().ok()).collect();
    if wanted.is_empty() || id.split('.').count() != wanted.len() {
        return Err(BacklogError::NotFound {
            dir: backlog_dir.to_path_buf(),
            id: task.to_string(),
            prefix,
        });
    }
    let mut found = Vec::new();
    for folder in TASK_FOLDERS {
        let dir = backlog_dir.join(folder);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().to_lowercase();
            let Some(rest) = name.strip_prefix(&format!("{prefix}-")) else {
                continue;
            };
            let number_end = rest.find([' ', '.']).map(|i| {
                // `17.1 - x.md`: a subtask id continues after the dot with digits.
                let mut end = i;
                while rest[end..].starts_with('.')
                    && rest[end + 1..].starts_with(|c: char| c.is_ascii_digit())
                {
                    end = rest[end + 1..]
                        .find(|c: char| !c.is_ascii_digit())
                        .map_or(rest.len(), |j| end + 1 + j);
                }
                end
            });
            let Some(end) = number_end else { continue };
            let parts: Vec<u64> = rest[..end]
                .split('.')
                .filter_map(|p| p.parse().ok())
                .collect();
            if parts == wanted && name.ends_with(".md") {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    match found.len() {
        0 => Err(BacklogError::NotFound {
            dir: backlog_dir.to_path_buf(),
            id: task.to_string(),
            prefix,
        }),
        1 => Ok(found.remove(0)),
        count => Err(BacklogError::Ambiguous {
            dir: backlog_dir.to_path_buf(),
            id: task.to_string(),
            count,
            files: found
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The path from `from_dir` to `target`, `/`-separated, for a Markdown link.
pub fn relative_link(from_dir: &Path, target: &Path) -> String {
    let absolute = |p: &Path| -> PathBuf {
        let joined = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        let mut out = PathBuf::new();
        for c in joined.components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    };
    let (from, to) = (absolute(from_dir), absolute(target));
    let from_parts: Vec<_> = from.components().collect();
    let to_parts: Vec<_> = to.components().collect();
    let common = from_parts
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_string(); from_parts.len() - common];
    parts.extend(
        to_parts[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// One line of the file with its own ending (`\n`, `\r\n`, or none for the last).
fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

fn content(line: &str) -> &str {
    line.trim_end_matches(['\n', '\r'])
}

/// The edited file, and whether an earlier block for the same report was replaced.
fn edit(text: &str, block: &[String], key: &str, now: &UtcTime) -> Result<(String, bool), String> {
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let lines = split_lines(text);
    check_structure(&lines)?;

    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let with_eol = |s: &str| format!("{s}{eol}");

    // Body: replace our block for this report, or add it at the end of the notes.
    let begin = format!("{BLOCK_BEGIN}{key} -->");
    let end = format!("{BLOCK_END}{key} -->");
    let block_text: Vec<String> = block.iter().map(|l| with_eol(l)).collect();
    let find = |lines: &[String], needle: &str| lines.iter().position(|l| content(l) == needle);
    let replaced = match (find(&out, &begin), find(&out, &end)) {
        (Some(b), Some(e)) if b < e => {
            out.splice(b..=e, block_text.clone());
            true
        }
        _ => false,
    };
    if !replaced {
        match find(&out, NOTES_END) {
            Some(notes_end) => {
                let mut insert = Vec::new();
                if notes_end > 0
                    && !content(&out[notes_end - 1]).is_empty()
                    && content(&out[notes_end - 1]) != NOTES_BEGIN
                {
                    insert.push(with_eol(""));
                }
                insert.extend(block_text.clone());
                out.splice(notes_end..notes_end, insert);
            }
            None => {
                // Backlog.md's order: Description, Acceptance Criteria, Plan, Notes.
                let anchor = [
                    "<!-- SECTION:PLAN:END -->",
                    "<!-- AC:END -->",
                    "<!-- SECTION:DESCRIPTION:END -->",
                ]
                .iter()
                .find_map(|m| find(&out, m));
                let mut section = vec![
                    with_eol(""),
                    with_eol("## Implementation Notes"),
                    with_eol(""),
                    with_eol(NOTES_BEGIN),
                ];
                section.extend(block_text.clone());
                section.push(with_eol(NOTES_END));
                match anchor {
                    Some(i) => {
                        out.splice(i + 1..i + 1, section);
                    }
                    None => out.extend(section),
                }
            }
        }
    }

    // Front matter: documentation gains the report, updated_date the time.
    let fm_end = out
        .iter()
        .skip(1)
        .position(|l| content(l) == "---")
        .map(|i| i + 1)
        .ok_or("the front matter has no closing --- line")?;
    let stamp = format!(
        "'{}-{:02}-{:02} {:02}:{:02}'",
        now.year, now.month, now.day, now.hour, now.minute
    );
    match (1..fm_end).find(|&i| content(&out[i]).starts_with("updated_date:")) {
        Some(i) => out[i] = with_eol(&format!("updated_date: {stamp}")),
        None => {
            let after = (1..fm_end)
                .find(|&i| content(&out[i]).starts_with("created_date:"))
                .map_or(fm_end, |i| i + 1);
            out.insert(after, with_eol(&format!("updated_date: {stamp}")));
        }
    }
    let fm_end = out
        .iter()
        .skip(1)
        .position(|l| content(l) == "---")
        .map(|i| i + 1)
        .ok_or("the front matter has no closing --- line")?;
    // The documentation list names the report as it was given (from the project's root).
    add_documentation(&mut out, fm_end, key, eol);
    // Lines that are no longer last need their ending; the last line ends as the file did.
    let last = out.len().saturating_sub(1);
    for line in out.iter_mut().take(last) {
        if !line.ends_with('\n') {
            line.push_str(eol);
        }
    }
    if let Some(line) = out.last_mut()
        && !text.ends_with('\n')
    {
        let trimmed = line.trim_end_matches(['\n', '\r']).len();
        line.truncate(trimmed);
    }
    let result = out.concat();
    // What is written must pass the checks above, or neither Backlog.md nor a later attach
    // could read it. The line edits assume a plain front matter; fuzzing found files where
    // they do not hold (a scalar `documentation`, a key behind a bare CR that YAML reads as
    // a line break, marker lines inside the report's summary): refuse those instead.
    check_structure(&split_lines(&result)).map_err(|what| {
        format!("attaching would leave a file that does not read back ({what}); nothing written")
    })?;
    Ok((result, replaced))
}

/// The checks a task file must pass before and after attaching: a front matter (from a
/// first `---` line to the next) that parses as YAML, and balanced markers.
fn check_structure(lines: &[&str]) -> Result<(), String> {
    if lines.first().map(|l| content(l)) != Some("---") {
        return Err("no front matter: the file must start with a --- line".to_string());
    }
    let fm_end = lines
        .iter()
        .skip(1)
        .position(|l| content(l) == "---")
        .map(|i| i + 1)
        .ok_or("the front matter has no closing --- line")?;
    let front: String = lines[1..fm_end]
        .iter()
        .map(|l| content(l))
        .collect::<Vec<_>>()
        .join("\n");
    yaml_serde::from_str::<yaml_serde::Value>(&front).map_err(|e| {
        format!(
            "the front matter does not parse: {}",
            crate::text::one_line(&e.to_string())
        )
    })?;
    check_markers(lines)
}

/// Adds `link` to the documentation list (block or flow style), creating the field.
fn add_documentation(out: &mut Vec<String>, fm_end: usize, link: &str, eol: &str) {
    let quoted = format!("'{}'", link.replace('\'', "''"));
    let unquote = |s: &str| {
        let s = s.trim();
        s.trim_matches('\'').trim_matches('"').to_string()
    };
    let Some(i) = (1..fm_end).find(|&i| content(&out[i]).starts_with("documentation:")) else {
        out.insert(fm_end, format!("documentation:{eol}"));
        out.insert(fm_end + 1, format!("  - {quoted}{eol}"));
        return;
    };
    let rest = content(&out[i])["documentation:".len()..]
        .trim()
        .to_string();
    if rest.starts_with('[') {
        let inner = rest.trim_start_matches('[').trim_end_matches(']');
        let items: Vec<String> = inner
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if items.iter().any(|s| unquote(s) == link) {
            return;
        }
        if items.is_empty() {
            // An empty flow list becomes a block list, as Backlog.md writes lists.
            out[i] = format!("documentation:{eol}");
            out.insert(i + 1, format!("  - {quoted}{eol}"));
        } else {
            let mut all = items;
            all.push(quoted);
            out[i] = format!("documentation: [{}]{eol}", all.join(", "));
        }
        return;
    }
    // A block list: the items that follow, indented and starting with `-`.
    let mut last = i;
    let mut indent = "  ".to_string();
    for (j, line) in out.iter().enumerate().take(fm_end).skip(i + 1) {
        let text = content(line);
        let trimmed = text.trim_start();
        if !trimmed.starts_with("- ") && trimmed != "-" {
            break;
        }
        indent = text[..text.len() - trimmed.len()].to_string();
        if unquote(&trimmed[1..]) == link {
            return;
        }
        last = j;
    }
    out.insert(last + 1, format!("{indent}- {quoted}{eol}"));
}

/// Every section marker and every block marker of ours must open and close in order.
fn check_markers(lines: &[&str]) -> Result<(), String> {
    let mut open: Vec<(String, usize)> = Vec::new();
    for (number, line) in lines.iter().enumerate() {
        let text = content(line).trim();
        let (name, begins) = if let Some(rest) = text.strip_prefix("<!-- SECTION:") {
            match rest.strip_suffix(":BEGIN -->") {
                Some(name) => (format!("SECTION:{name}"), true),
                None => match rest.strip_suffix(":END -->") {
                    Some(name) => (format!("SECTION:{name}"), false),
                    None => continue,
                },
            }
        } else if let Some(rest) = text.strip_prefix("<!-- AC:") {
            (
                "AC".to_string(),
                match rest {
                    "BEGIN -->" => true,
                    "END -->" => false,
                    _ => continue,
                },
            )
        } else if let Some(rest) = text.strip_prefix(BLOCK_BEGIN) {
            (
                format!("pprof-report {}", rest.trim_end_matches(" -->")),
                true,
            )
        } else if let Some(rest) = text.strip_prefix(BLOCK_END) {
            (
                format!("pprof-report {}", rest.trim_end_matches(" -->")),
                false,
            )
        } else {
            continue;
        };
        // Escaped for the messages below: a bare CR inside a marker line would break the
        // one-line error (found by fuzzing). Escaping keeps distinct names distinct.
        let name = name.escape_debug().to_string();
        if begins {
            if open.iter().any(|(n, _)| *n == name) {
                return Err(format!(
                    "markers are unbalanced: line {} opens {name} again",
                    number + 1
                ));
            }
            open.push((name, number + 1));
        } else {
            match open.pop() {
                Some((n, _)) if n == name => {}
                _ => {
                    return Err(format!(
                        "markers are unbalanced: line {} closes {name}, which is not open",
                        number + 1
                    ));
                }
            }
        }
    }
    match open.first() {
        Some((name, line)) => Err(format!(
            "markers are unbalanced: {name} opened on line {line} is never closed"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(lines: &[&str]) -> Vec<String> {
        let mut out = vec![format!("{BLOCK_BEGIN}r.md -->")];
        out.extend(lines.iter().map(|l| l.to_string()));
        out.push(format!("{BLOCK_END}r.md -->"));
        out
    }

    #[test]
    fn files_the_edit_would_break_are_refused() {
        let now = UtcTime::from_unix_seconds(1_790_000_000);
        // A front matter that is not a mapping, a scalar documentation field, a key that a
        // bare CR starts (YAML reads the CR as a line break), a marker in the report's text.
        for (text, lines) in [
            ("---\no\n---\n", vec!["x"]),
            ("---\ndocumentation: '['\n---\n", vec!["x"]),
            ("---\n\rdocumentation\n---\n", vec!["x"]),
            ("---\nid: t\n---\n", vec![NOTES_END]),
        ] {
            let error = edit(text, &block(&lines), "r.md", &now).unwrap_err();
            assert!(
                error.starts_with("attaching would leave a file that does not read back ("),
                "{text:?}: {error}"
            );
        }
        assert!(edit("---\nid: t\n---\n", &block(&["x"]), "r.md", &now).is_ok());
    }

    #[test]
    fn marker_names_are_escaped_in_messages() {
        let error = check_markers(&["<!-- SECTION:A\rB:END -->\n"]).unwrap_err();
        assert_eq!(
            error,
            "markers are unbalanced: line 1 closes SECTION:A\\rB, which is not open"
        );
    }
}
