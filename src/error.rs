//! The crate's top-level error: one variant per layer, each carrying that layer's own error
//! (which names the file it concerns). `main` prints it as `error: <file>: <what>` and picks
//! the exit code.

use std::path::PathBuf;

use crate::analyze::top::TopError;
use crate::backlog::BacklogError;
use crate::collect::CollectError;
use crate::context::ContextError;
use crate::output::PublishError;
use crate::render::flame::FlameError;
use crate::render::templates::RenderError;
use crate::rules::RuleError;
use crate::set::SetError;
use crate::text::{describe_io, one_line};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Finding or decoding a set, or one profile file.
    #[error("{0}")]
    Set(#[from] SetError),
    #[error("{}: {source}", path.display())]
    Context { path: PathBuf, source: ContextError },
    #[error("{}: {source}", path.display())]
    Top { path: PathBuf, source: TopError },
    /// A rule file that cannot be used (names the file and the line).
    #[error("{0}")]
    Rules(#[from] RuleError),
    #[error("{0}")]
    Render(#[from] RenderError),
    #[error("{0}")]
    Flame(#[from] FlameError),
    /// A file given as an analysis (`render`, `attach`) that is not one.
    #[error("{}: not a pprof-report analysis: {}", path.display(), one_line(&source.to_string()))]
    Analysis {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// Writing an analysis as JSON.
    #[error("JSON: {0}")]
    Json(serde_json::Error),
    /// Publishing what a run made (staging, collisions, the swap).
    #[error("{0}")]
    Publish(#[from] PublishError),
    /// Reading or writing a file outside a layer's own errors (rule files, templates written
    /// out, standard output).
    #[error("{}: {}", path.display(), describe_io(source))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Two sets of `report --all` would write the same report.
    #[error("{}: sets {} and {} would both be reported here; rename one", out.display(), first.display(), second.display())]
    SameOutput {
        out: PathBuf,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{0}")]
    Collect(CollectError),
    #[error("{0}")]
    Backlog(#[from] BacklogError),
    /// A `--fail-on` threshold was passed by a significant change (the report is written).
    #[error("the regression gate failed (see the report's Regression gate table)")]
    GateFailed,
    /// A collection that saved some members but not all.
    #[error("set {prefix} is incomplete: {saved} of {total} members saved")]
    Incomplete {
        prefix: String,
        saved: usize,
        total: usize,
    },
    /// A problem with the command line itself (exit code 2).
    #[error("{0}")]
    Usage(#[from] UsageError),
}

/// What makes a command line unusable although clap accepted it.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("trend needs at least two sets, in time order")]
    TrendNeedsTwoSets,
    /// A value no collection could use (`--url`, `--host`, `--services`).
    #[error("{0}")]
    Collect(CollectError),
}

impl Error {
    /// 2 for usage errors, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }
}

impl From<CollectError> for Error {
    fn from(error: CollectError) -> Error {
        match error {
            CollectError::BadUrl(..)
            | CollectError::BadHost(..)
            | CollectError::BadServices(..) => Error::Usage(UsageError::Collect(error)),
            other => Error::Collect(other),
        }
    }
}
