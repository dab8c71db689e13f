//! The crate's top-level error: one variant per layer, each naming the file it concerns.
//! `main` prints it as `error: <file>: <what>` and picks the exit code.

use std::path::PathBuf;

use crate::analyze::top::TopError;
use crate::goroutine::DumpError;
use crate::profile::DecodeError;
use crate::set::SetError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Decode { path: PathBuf, source: DecodeError },
    #[error("{}: {source}", path.display())]
    Dump { path: PathBuf, source: DumpError },
    #[error("{0}")]
    Set(#[from] SetError),
    #[error("{}: {what}", path.display())]
    Read { path: PathBuf, what: String },
    #[error("{}: {source}", path.display())]
    Top { path: PathBuf, source: TopError },
    #[error("{0}")]
    Collect(String),
    #[error("{0}")]
    Backlog(#[from] crate::backlog::BacklogError),
    #[error("{0}")]
    Render(String),
    /// A `--fail-on` threshold was passed by a significant change (the report is written).
    #[error("{0}")]
    GateFailed(String),
    /// A rule file that cannot be used (names the file and the line).
    #[error("{0}")]
    Rules(String),
    /// A collection that saved some members but not all.
    #[error("{0}")]
    Incomplete(String),
    /// A problem with the command line itself (exit code 2).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// 2 for usage errors, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }

    /// An I/O error on `path`, described in words.
    pub fn io(path: impl Into<PathBuf>, error: &std::io::Error) -> Error {
        Error::Read {
            path: path.into(),
            what: describe_io(error),
        }
    }
}

/// An I/O error in words rather than errno text.
pub fn describe_io(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound => "no such file or directory".to_string(),
        ErrorKind::PermissionDenied => "permission denied".to_string(),
        ErrorKind::IsADirectory => "is a directory, not a file".to_string(),
        _ => error.to_string(),
    }
}

/// Text for a one-line error message, with line breaks and other control characters
/// escaped. Parser errors quote the input (a YAML value that spans lines, a JSON string with
/// a `\n`), which would split `error: <file>: <what>` (found by fuzzing).
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A regular expression error on one line. The regex crate draws the pattern with a caret
/// under the problem, over several lines, which would break the one-line
/// `error: <file>: <what>` (found by fuzzing): keep its last line, the problem itself.
pub fn describe_regex(error: &regex::Error) -> String {
    let text = error.to_string();
    let last = text
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .unwrap_or("invalid regular expression");
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // The point is a pattern that does not compile.
    #[allow(clippy::invalid_regex)]
    fn regex_errors_are_one_line() {
        let error = regex::Regex::new("^(()$").unwrap_err();
        assert!(error.to_string().contains('\n'));
        assert_eq!(describe_regex(&error), "unclosed group");
    }

    #[test]
    fn quoted_input_stays_on_one_line() {
        assert_eq!(
            one_line("unknown variant `h\nt`\r\u{7}"),
            "unknown variant `h\\nt`\\r\\u{7}"
        );
        assert_eq!(one_line("plain é"), "plain é");
    }
}
