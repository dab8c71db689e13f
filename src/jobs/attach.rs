//! The `attach` job: the block a report puts in its Backlog.md task, rendered from the
//! report's analysis (`backlog.md.j2`), never read back from the rendered Markdown, so that a
//! report made with other templates attaches the same way.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::report::{analysis_file_of, read_analysis};
use crate::analyze::investigation::ReportContext;
use crate::backlog::{self, AttachOptions, Attached};
use crate::error::Error;
use crate::render::templates::Templates;
use crate::timefmt::UtcTime;

/// What to attach and where.
#[derive(Debug, Clone)]
pub struct AttachJob {
    /// The Backlog.md folder (`--backlog-dir`, default `backlog`).
    pub backlog_dir: PathBuf,
    /// The task id: `17`, `task-17`, `TASK-17`.
    pub task: String,
    /// The Markdown report; its analysis is read from its assets folder.
    pub report: PathBuf,
    /// A folder of templates overriding the defaults (`backlog.md.j2`).
    pub templates: Option<PathBuf>,
    /// The time written into the block and updated_date.
    pub now: UtcTime,
}

/// What `backlog.md.j2` presents: the report's analysis, and `attached`.
#[derive(Serialize)]
struct BlockContext<'a> {
    #[serde(flatten)]
    report: &'a ReportContext,
    attached: AttachedReport,
}

/// The report as the task links it.
#[derive(Serialize)]
struct AttachedReport {
    /// The report's file name.
    file: String,
    /// The path from the task's folder to the report, `/`-separated.
    link: String,
    /// `YYYY-MM-DD HH:MM` (UTC).
    when: String,
}

/// Attaches the report at `job.report`, reading the analysis it wrote beside it.
pub fn run(job: &AttachJob) -> Result<Attached, Error> {
    let analysis = read_analysis(&analysis_file_of(&job.report)).map_err(|e| match e {
        Error::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
            Error::Backlog(backlog::BacklogError::Refused {
                path,
                what: "no analysis here; attach takes a report written by pprof-report report \
                       (which writes its analysis beside its flame graphs): run the report again"
                    .to_string(),
            })
        }
        other => other,
    })?;
    attach_analysis(job, &analysis)
}

/// Attaches a report whose analysis is at hand (`report --attach`).
pub fn attach_analysis(job: &AttachJob, analysis: &ReportContext) -> Result<Attached, Error> {
    let task_file = backlog::find_task(&job.backlog_dir, &job.task)?;
    // Runs killed mid-way leave their staging files; each run clears those of dead runs.
    backlog::remove_stale_temporaries(&job.backlog_dir);
    let block = render_block(
        analysis,
        &job.report,
        &task_file,
        &job.now,
        job.templates.as_deref(),
    )?;
    Ok(backlog::attach(&AttachOptions {
        task_file,
        report: job.report.clone(),
        block,
        now: job.now,
    })?)
}

/// The block's lines, from `backlog.md.j2`.
fn render_block(
    analysis: &ReportContext,
    report: &Path,
    task_file: &Path,
    now: &UtcTime,
    templates: Option<&Path>,
) -> Result<Vec<String>, Error> {
    let context = BlockContext {
        report: analysis,
        attached: AttachedReport {
            file: report
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            link: backlog::relative_link(task_file.parent().unwrap_or(Path::new(".")), report),
            when: format!(
                "{}-{:02}-{:02} {:02}:{:02}",
                now.year, now.month, now.day, now.hour, now.minute
            ),
        },
    };
    let text = Templates::new(templates)?.render_entry("backlog.md.j2", &context)?;
    Ok(text.lines().map(str::to_string).collect())
}
