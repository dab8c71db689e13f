//! The crate's top-level error: one variant per layer, each naming the file it concerns.
//! `main` prints it as `error: <file>: <what>` and picks the exit code.

use std::path::PathBuf;

use crate::analyze::top::TopError;
use crate::dump::DumpError;
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
            what: crate::text::describe_io(error),
        }
    }
}
