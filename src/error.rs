//! The crate's top-level error: one variant per layer, each carrying that layer's own error
//! (which names the file it concerns). `main` prints it as `error: <file>: <what>` and picks
//! the exit code.

use std::path::PathBuf;

use crate::analyze::top::TopError;
use crate::backlog::BacklogError;
use crate::collect::CollectError;
use crate::context::ContextError;
use crate::output::PublishError;
use crate::profile::MergeError;
use crate::render::flame::FlameError;
use crate::render::templates::RenderError;
use crate::rules::RuleError;
use crate::set::SetError;
use crate::text::{describe_io, one_line};

/// Everything a command can fail with; [`Error::exit_code`] turns it into the exit status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Finding or decoding a set, or one profile file.
    #[error("{0}")]
    Set(#[from] SetError),
    /// The context YAML (`--context`, or the set's own `<prefix>-context.yaml`) cannot be
    /// read or parsed.
    #[error("{}: {source}", path.display())]
    Context {
        /// The context file.
        path: PathBuf,
        /// Why it cannot be used.
        source: ContextError,
    },
    /// `top` cannot report the profile: no sample types, an unknown `--sample-index`, a base
    /// profile that cannot be subtracted, or a bad frame pattern.
    #[error("{}: {source}", path.display())]
    Top {
        /// The profile given to `top`.
        path: PathBuf,
        /// What `top` refused.
        source: TopError,
    },
    /// A rule file that cannot be used (names the file and the line).
    #[error("{0}")]
    Rules(#[from] RuleError),
    /// A template that does not parse or render, or an unusable `--templates` folder.
    #[error("{0}")]
    Render(#[from] RenderError),
    /// A flame graph that cannot be drawn.
    #[error("{0}")]
    Flame(#[from] FlameError),
    /// A file given as an analysis (`render`, `attach`) that is not one.
    #[error("{}: not a pprof-report analysis: {}", path.display(), one_line(&source.to_string()))]
    Analysis {
        /// The file given as an analysis.
        path: PathBuf,
        /// Why it does not read as one.
        source: serde_json::Error,
    },
    /// An analysis whose JSON holds `null` where a number belongs: how serde_json writes
    /// NaN and infinities, which an analysis of an earlier version could hold (from a context
    /// with `cpu_percent: .nan`) and which cannot be read back.
    #[error(
        "{}: line {line}: {field} is null where a number belongs (NaN or infinite when the analysis was written); write the analysis again with report --format json",
        path.display()
    )]
    AnalysisNumber {
        /// The file given as an analysis.
        path: PathBuf,
        /// The line of the `null`.
        line: usize,
        /// The JSON key of the number (`"process_cpu_percent"`), or `a list entry`.
        field: String,
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
        /// The file, folder or `<stdout>`.
        path: PathBuf,
        /// The error from the operating system.
        source: std::io::Error,
    },
    /// Two sets of `report --all` would write the same report.
    #[error("{}: sets {} and {} would both be reported here; rename one", out.display(), first.display(), second.display())]
    SameOutput {
        /// The report file both would write.
        out: PathBuf,
        /// The set met first.
        first: PathBuf,
        /// The set met second.
        second: PathBuf,
    },
    /// A collection that cannot start or write (a set of that name exists, a file cannot be
    /// written, `--pid` cannot be read); bad `--url`, `--host` or `--services` values are
    /// [`UsageError::Collect`] instead.
    #[error("{0}")]
    Collect(CollectError),
    /// Attaching to a Backlog.md task failed: no such task, several, or a task file that
    /// cannot be read, edited safely or written.
    #[error("{0}")]
    Backlog(#[from] BacklogError),
    /// A `--fail-on` threshold was passed by a significant change (the report is written).
    #[error("the regression gate failed (see the report's Regression gate table)")]
    GateFailed,
    /// A collection that saved some members but not all.
    #[error("set {prefix} is incomplete: {saved} of {total} members saved")]
    Incomplete {
        /// The set's name prefix, `<host>-<services>svc-<stamp>`.
        prefix: String,
        /// Members saved.
        saved: usize,
        /// Members asked for (saved and failed).
        total: usize,
    },
    /// `pgo` cannot make a profile from the sets given.
    #[error("{0}")]
    Pgo(#[from] PgoError),
    /// A problem with the command line itself (exit code 2).
    #[error("{0}")]
    Usage(#[from] UsageError),
}

/// What makes a command line unusable although clap accepted it.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// `trend` was given fewer than two sets.
    #[error("trend needs at least two sets, in time order")]
    TrendNeedsTwoSets,
    /// `report --attach` with `--format json`: the task links a Markdown report.
    #[error(
        "--attach links the Markdown report to the task: use it with --format md (the default)"
    )]
    AttachNeedsMarkdown,
    /// `--assets` with a report written to a file: its flame graphs go beside it.
    #[error(
        "--assets is for a report written to a stream (--out -, a FIFO, a terminal); a report file's flame graphs go to the folder named after it"
    )]
    AssetsNeedStream,
    /// `report --attach` with the report written to a stream: the task links a file.
    #[error("--attach links the report file to the task: give --out a file, not a stream")]
    AttachNeedsFile,
    /// A value no collection could use (`--url`, `--host`, `--services`).
    #[error("{0}")]
    Collect(CollectError),
}

/// Why `pgo` could not make a profile. Messages start with the file or set concerned.
#[derive(Debug, thiserror::Error)]
pub enum PgoError {
    /// A set has no CPU profile.
    #[error("{}: no CPU profile in this set ({}); go build -pgo needs one (/debug/pprof/profile)", set.display(), found)]
    NoCpu {
        /// The set as given.
        set: PathBuf,
        /// What the set holds instead, in words.
        found: String,
    },
    /// A file given directly is a profile of another kind.
    #[error("{}: {kind}, not a CPU profile; go build -pgo needs a CPU profile", path.display())]
    NotCpu {
        /// The file.
        path: PathBuf,
        /// What it is (`heap profile`).
        kind: &'static str,
    },
    /// A CPU profile the compiler cannot read.
    #[error("{}: {why}", path.display())]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What it lacks.
        why: String,
    },
    /// The same CPU profile reached twice (a set given twice): merging it would count its
    /// samples twice.
    #[error("{}: given twice (its samples would be counted twice)", path.display())]
    Twice {
        /// The file.
        path: PathBuf,
    },
    /// A CPU profile that cannot be merged with the first one.
    #[error("{}: cannot be merged with {}: {what}", path.display(), first.display())]
    Incompatible {
        /// The profile that differs.
        path: PathBuf,
        /// The first profile.
        first: PathBuf,
        /// How it differs.
        what: String,
    },
    /// The merge itself failed (too large).
    #[error("{}: {source}", out.display())]
    Merge {
        /// The file that was to be written.
        out: PathBuf,
        /// Why.
        source: MergeError,
    },
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
