//! Attaching reports to Backlog.md tasks: inserted once, replaced on re-run, history kept for a
//! later report, everything else byte for byte, and every refusal loses nothing.

use crate::common;

use std::path::{Path, PathBuf};

use pprof_report::backlog::{self, AttachOptions, Attached};
use pprof_report::jobs::attach::{self as attach_job, AttachJob};
use pprof_report::timefmt::UtcTime;

/// A copy of fixtures/backlog and of a committed report in a temporary project folder.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let backlog = dir.path().join("backlog");
    for file in common::files_below(&common::fixture("backlog")) {
        let to = backlog.join(&file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(common::fixture("backlog").join(&file), to).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("reports")).unwrap();
    for name in [
        "sim-57svc-20261125-145700.md",
        "sim-portlist-off-57svc-20261125-150000.md",
    ] {
        std::fs::copy(
            common::root().join("reports").join(name),
            dir.path().join("reports").join(name),
        )
        .unwrap();
        // The analysis the report wrote beside its flame graphs, which attach reads.
        let analysis = Path::new(name).with_extension("").join("analysis.json");
        std::fs::create_dir_all(dir.path().join("reports").join(analysis.parent().unwrap()))
            .unwrap();
        std::fs::copy(
            common::root().join("reports").join(&analysis),
            dir.path().join("reports").join(&analysis),
        )
        .unwrap();
    }
    dir
}

fn options(dir: &Path, task: &str, report: &str, minute: i64) -> AttachJob {
    AttachJob {
        backlog_dir: dir.join("backlog"),
        task: task.to_string(),
        report: dir.join("reports").join(report),
        templates: None,
        now: UtcTime::from_unix_seconds(1_764_086_400 + minute * 60),
    }
}

/// Attaches as the `attach` command does: the block rendered from the report's analysis.
fn attach(job: &AttachJob) -> Result<Attached, pprof_report::Error> {
    attach_job::run(job)
}

fn task_file(dir: &Path, name: &str) -> PathBuf {
    dir.join("backlog/tasks").join(name)
}

const TASK17: &str = "task-17 - Reduce-CPU-of-the-57-service-proxy.md";
const REPORT57: &str = "sim-57svc-20261125-145700.md";
const REPORT_OFF: &str = "sim-portlist-off-57svc-20261125-150000.md";

#[test]
fn attach_inserts_then_replaces_then_keeps_history() {
    let dir = project();
    let path = task_file(dir.path(), TASK17);
    let before = std::fs::read_to_string(&path).unwrap();
    let first = attach(&options(dir.path(), "17", REPORT57, 0)).unwrap();
    assert!(!first.replaced);
    let once = std::fs::read_to_string(&path).unwrap();
    // Everything before the notes' end marker and after the front matter is unchanged,
    // except the inserted block.
    assert!(once.contains(
        "Profiling enabled on port 9099 behind an ssh tunnel.\n\n<!-- pprof-report:BEGIN"
    ));
    assert!(once.contains("### Profile report, 2025-11-25 16:00 UTC: [sim-57svc-20261125-145700.md](../../reports/sim-57svc-20261125-145700.md)"));
    assert!(once.contains("- **CPU.** The process uses"));
    assert!(once.contains("1. Port listing polls /proc for every node: "));
    assert!(once.contains("updated_date: '2025-11-25 16:00'\n"));
    assert!(once.contains(&format!(
        "documentation:\n  - docs/runbook.md\n  - '{}'\n",
        dir.path().join("reports").join(REPORT57).display()
    )));
    for unchanged in before
        .split("<!-- SECTION:NOTES:END -->")
        .next()
        .unwrap()
        .lines()
    {
        if !unchanged.starts_with("updated_date:") {
            assert!(once.contains(unchanged), "lost: {unchanged}");
        }
    }
    // Attaching the same report again replaces the block: identical file apart from time.
    let again = attach(&options(dir.path(), "task-17", REPORT57, 0)).unwrap();
    assert!(again.replaced);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), once);
    // A later round's report is added after the first: history kept.
    attach(&options(dir.path(), "17", REPORT_OFF, 90)).unwrap();
    let twice = std::fs::read_to_string(&path).unwrap();
    assert_eq!(twice.matches("<!-- pprof-report:BEGIN").count(), 2);
    let first_at = twice.find(REPORT57).unwrap();
    let second_at = twice
        .find("### Profile report, 2025-11-25 17:30 UTC")
        .unwrap();
    assert!(first_at < second_at);
    assert!(twice.contains("updated_date: '2025-11-25 17:30'\n"));
    // The result parses again: front matter and balanced markers.
    attach(&options(dir.path(), "17", REPORT_OFF, 90)).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), twice);
}

#[test]
fn a_task_without_notes_gets_the_section_where_backlog_puts_it() {
    let dir = project();
    attach(&options(dir.path(), "18", REPORT57, 0)).unwrap();
    let text = std::fs::read_to_string(task_file(dir.path(), "task-18 - Shrink-heap.md")).unwrap();
    let ac_end = text.find("<!-- AC:END -->").unwrap();
    let notes = text.find("## Implementation Notes").unwrap();
    assert!(ac_end < notes);
    assert!(text.contains("<!-- SECTION:NOTES:BEGIN -->\n<!-- pprof-report:BEGIN"));
    assert!(text.ends_with("<!-- SECTION:NOTES:END -->\n"));
    // Flow-style lists and other keys are left as they were; documentation is added.
    assert!(text.contains("labels: [memory]\ndependencies: [task-17]\n"));
    assert!(text.contains("created_date: '2025-10-16 10:00'\nupdated_date: '2025-11-25 16:00'\n"));
    assert!(text.contains("documentation:\n  - '"));
}

#[test]
fn crlf_and_a_missing_final_newline_are_kept() {
    let dir = project();
    let name = "task-19 - Windows-edited-task.md";
    attach(&options(dir.path(), "19", REPORT57, 0)).unwrap();
    let bytes = std::fs::read(task_file(dir.path(), name)).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "a bare LF crept in"
    );
    assert!(text.contains("documentation:\r\n  - '"));
    assert!(text.contains("<!-- SECTION:DESCRIPTION:END -->\r\n\r\n## Implementation Notes\r\n"));
    assert!(
        text.ends_with("<!-- SECTION:NOTES:END -->"),
        "the missing final newline is kept"
    );
    let original = std::fs::read_to_string(common::fixture("backlog/tasks").join(name)).unwrap();
    assert!(
        text.starts_with(&original[..original.find("labels").unwrap()].replace(
            "created_date: '2025-10-16 11:00'\r\n",
            "created_date: '2025-10-16 11:00'\r\nupdated_date: '2025-11-25 16:00'\r\n"
        ))
    );
    assert!(text.contains("labels: []\r\ndependencies: []\r\n"));
}

#[test]
fn a_completed_task_is_found_too() {
    let dir = project();
    let attached = attach(&options(dir.path(), "3", REPORT57, 0)).unwrap();
    assert!(
        attached
            .task_file
            .ends_with("completed/task-3 - Enable-pprof.md")
    );
}

#[test]
fn refusals_name_the_file_and_change_nothing() {
    let dir = project();
    let snapshot = || -> Vec<(PathBuf, Vec<u8>)> {
        common::files_below(&dir.path().join("backlog"))
            .into_iter()
            .map(|f| {
                let bytes = std::fs::read(dir.path().join("backlog").join(&f)).unwrap();
                (f, bytes)
            })
            .collect()
    };
    let before = snapshot();
    let error = |task: &str, report: &str| {
        attach(&options(dir.path(), task, report, 0))
            .unwrap_err()
            .to_string()
    };
    let unbalanced = error("20", REPORT57);
    assert!(unbalanced.ends_with("task-20 - Broken-markers.md: markers are unbalanced: SECTION:NOTES opened on line 13 is never closed"), "{unbalanced}");
    let bad_yaml = error("21", REPORT57);
    assert!(
        bad_yaml.contains("task-21 - Bad-front-matter.md: the front matter does not parse: "),
        "{bad_yaml}"
    );
    let missing = error("99", REPORT57);
    assert!(
        missing.ends_with(
            "backlog: no task 99 (looked in tasks/, completed/ and drafts/ for task-99 - *.md)"
        ),
        "{missing}"
    );
    let no_report = error("17", "nope.md");
    assert!(
        no_report.contains("reports/nope/analysis.json: no analysis here; attach takes a report written by pprof-report report"),
        "{no_report}"
    );
    // A duplicate id is refused, naming both files.
    std::fs::copy(
        task_file(dir.path(), "task-18 - Shrink-heap.md"),
        dir.path().join("backlog/drafts/task-18 - Copy.md"),
    )
    .unwrap();
    let ambiguous = error("18", REPORT57);
    assert!(ambiguous.contains("task 18 matches 2 files"), "{ambiguous}");
    std::fs::remove_file(dir.path().join("backlog/drafts/task-18 - Copy.md")).unwrap();
    // A file that is not a report (no analysis beside it) is refused before the task is
    // touched, and so is an analysis that is not one.
    std::fs::write(dir.path().join("reports/notes.md"), "# Notes\n").unwrap();
    let not_report = error("17", "notes.md");
    assert!(not_report.contains("no analysis here"), "{not_report}");
    std::fs::create_dir_all(dir.path().join("reports/notes")).unwrap();
    std::fs::write(dir.path().join("reports/notes/analysis.json"), "{}").unwrap();
    let not_analysis = error("17", "notes.md");
    assert!(
        not_analysis.contains("reports/notes/analysis.json: not a pprof-report analysis: "),
        "{not_analysis}"
    );
    assert!(before == snapshot(), "a refusal changed a task file");
}

#[test]
fn the_command_line_attaches_and_reports_what_it_did() {
    let dir = project();
    let (code, stdout, stderr) = common::run(
        &[
            "attach",
            "--task",
            "17",
            "reports/sim-57svc-20261125-145700.md",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("attached to backlog/tasks/task-17"),
        "{stdout}"
    );
    let (code, stdout, _) = common::run(
        &[
            "attach",
            "--task",
            "17",
            "reports/sim-57svc-20261125-145700.md",
        ],
        dir.path(),
    );
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("replaced the block in backlog/tasks/task-17"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(task_file(dir.path(), TASK17)).unwrap();
    assert!(text.contains("  - 'reports/sim-57svc-20261125-145700.md'\n"));
    let (code, _, stderr) = common::run(
        &[
            "attach",
            "--task",
            "20",
            "reports/sim-57svc-20261125-145700.md",
        ],
        dir.path(),
    );
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// A save between attach's read and its write is not overwritten: attach reads the task
/// again and attaches to the saved version.
#[test]
fn a_file_changed_while_attaching_is_attached_again_not_overwritten() {
    let dir = project();
    let plan = backlog::plan(&AttachOptions {
        task_file: task_file(dir.path(), TASK17),
        report: dir.path().join("reports").join(REPORT57),
        block: vec!["### A block".to_string()],
        now: UtcTime::from_unix_seconds(1_764_086_400),
    })
    .unwrap();
    let path = task_file(dir.path(), TASK17);
    let edited = format!(
        "{}\nEdited by someone else.\n",
        std::fs::read_to_string(&path).unwrap()
    );
    std::fs::write(&path, &edited).unwrap();
    plan.write().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\nEdited by someone else.\n"), "{text}");
    assert!(text.contains("### A block\n"), "{text}");
}

/// How the racing editor saves.
#[derive(Debug, Clone, Copy)]
enum Save {
    /// A new file renamed over the task (vim's default, most IDEs): a new inode.
    Rename,
    /// The task truncated and written again (nano, `>` in a shell): the same inode.
    InPlace,
}

fn save(path: &Path, bytes: &[u8], how: Save) {
    match how {
        Save::Rename => {
            let temp = path.with_file_name(".editor-save.tmp");
            std::fs::write(&temp, bytes).unwrap();
            std::fs::rename(&temp, path).unwrap();
        }
        Save::InPlace => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)
                .unwrap();
            std::io::Write::write_all(&mut file, bytes).unwrap();
        }
    }
}

/// A small deterministic generator, so that a failing round can be replayed.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// An editor saves a burst of edits (each a new unique line added to its buffer) while
/// attach runs; the burst's start and length vary, so that its last save falls before,
/// during and after each step of attach. The editor never reloads: its last save holds all
/// its edits. Whatever the order, the task must end with the editor's last edit, with
/// attach's block as well when attach's replacement came last; a refusal is one line naming
/// the task.
fn race_an_editor(how: Save, rounds: u64) {
    let dir = project();
    let path = task_file(dir.path(), TASK17);
    let original = std::fs::read_to_string(&path).unwrap();
    let (mut with_block, mut after_attach, mut refused) = (0, 0, 0);
    for round in 0..rounds {
        std::fs::write(&path, &original).unwrap();
        let mut random = Xorshift(0x9E37_79B9_7F4A_7C15 ^ ((round + 1) * 0x2545_F491));
        let saves = 1 + random.below(24);
        let editor_delay = random.below(4000);
        let attach_delay = random.below(4000);
        let editor = {
            let (path, original) = (path.clone(), original.clone());
            std::thread::spawn(move || {
                let mut random = Xorshift(round * 7 + 3);
                std::thread::sleep(std::time::Duration::from_micros(editor_delay));
                let mut buffer = original;
                let mut last = String::new();
                for k in 1..=saves {
                    last = format!("Edited by the editor: {how:?} round {round} save {k}.");
                    buffer.push_str(&last);
                    buffer.push('\n');
                    save(&path, buffer.as_bytes(), how);
                    std::thread::sleep(std::time::Duration::from_micros(random.below(1200)));
                }
                last
            })
        };
        // Every other round, attach pauses between its last check and the exchange, and
        // after it: saves then land in the gap the exchange must catch, not only before the
        // check, which catches most saves.
        let gap =
            (round % 2 == 1).then(|| std::time::Duration::from_micros(300 + random.below(2000)));
        backlog::pause_attaches_for_tests(gap);
        std::thread::sleep(std::time::Duration::from_micros(attach_delay));
        let result = backlog::attach(&AttachOptions {
            task_file: path.clone(),
            report: dir.path().join("reports").join(REPORT57),
            block: vec![format!("### Attached in round {round}")],
            now: UtcTime::from_unix_seconds(1_764_086_400),
        });
        let attach_done = std::time::Instant::now();
        backlog::pause_attaches_for_tests(None);
        let last_edit = editor.join().unwrap();
        let last_save_after_attach = std::time::Instant::now() > attach_done;
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(&format!("{last_edit}\n")),
            "{how:?} round {round}: the editor's last edit ({last_edit}) was lost; attach said {result:?}:\n{text}"
        );
        match result {
            Ok(_) if text.contains(&format!("### Attached in round {round}\n")) => with_block += 1,
            Ok(_) => {
                // Only an editor save after attach's replacement takes the block away.
                assert!(
                    last_save_after_attach,
                    "{how:?} round {round}: attach succeeded but its block is missing"
                );
                after_attach += 1;
            }
            Err(e) => {
                let message = e.to_string();
                assert_eq!(message.lines().count(), 1, "{message}");
                assert!(
                    message.starts_with(&path.display().to_string()),
                    "{message}"
                );
                refused += 1;
            }
        }
    }
    eprintln!(
        "{how:?}: {rounds} rounds: attach's block kept {with_block}, saved over by the editor {after_attach}, refused {refused}"
    );
    // Not vacuous: attach mostly succeeds, and its block is the last word in many rounds.
    assert!(
        refused * 10 <= rounds,
        "{how:?}: attach refused {refused} of {rounds}"
    );
    assert!(
        with_block * 4 >= rounds,
        "{how:?}: the block survived only {with_block} of {rounds}"
    );
    // No staging file is left behind.
    let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".pprof-report"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn an_editor_saving_by_rename_during_attach_loses_nothing() {
    race_an_editor(Save::Rename, 100);
}

#[test]
fn an_editor_saving_in_place_during_attach_loses_nothing() {
    race_an_editor(Save::InPlace, 100);
}

/// The files below `dir`, relative, sorted.
fn names_below(dir: &Path) -> Vec<PathBuf> {
    let mut names = common::files_below(dir);
    names.sort();
    names
}

/// The text with every `YYYY-MM-DD HH:MM` replaced: attach stamps the time it runs.
fn without_times(text: &str) -> String {
    regex::Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
        .unwrap()
        .replace_all(text, "TIME")
        .into_owned()
}

/// attach killed with SIGKILL at points spread over its run (it pauses, through a test-only
/// variable, once its new task is staged and once after the exchange): the task is the old
/// file or the new one, whole; and the next attach removes every staging file left.
#[test]
fn attach_killed_at_any_point_leaves_a_whole_task_and_no_temporary() {
    let dir = project();
    let path = task_file(dir.path(), TASK17);
    let original = std::fs::read(&path).unwrap();
    let before = names_below(&dir.path().join("backlog"));
    let attach_command = |pause: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pprof-report"));
        command
            .args(["attach", "--task", "17", &format!("reports/{REPORT57}")])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if pause {
            command.env(backlog::TEST_PAUSE_VAR, "40");
        }
        command
    };
    let started = std::time::Instant::now();
    assert!(attach_command(true).status().unwrap().success());
    let whole_run = started.elapsed();
    let attached = without_times(&std::fs::read_to_string(&path).unwrap());
    let runs = 50;
    let mut left_behind = 0;
    for run in 0..runs {
        std::fs::write(&path, &original).unwrap();
        let mut child = attach_command(true).spawn().unwrap();
        std::thread::sleep(whole_run * run / runs);
        child.kill().unwrap();
        child.wait().unwrap();
        let now = std::fs::read(&path).unwrap();
        assert!(
            now == original || without_times(&String::from_utf8_lossy(&now)) == attached,
            "run {run}: the task is neither the old nor the new file:\n{}",
            String::from_utf8_lossy(&now)
        );
        if names_below(&dir.path().join("backlog")) != before {
            left_behind += 1;
        }
    }
    eprintln!("{runs} kills over {whole_run:?}: {left_behind} left a staging file");
    // Not vacuous: the sweep killed attach while its staging file existed.
    assert!(
        left_behind > 0,
        "no kill left a staging file: the sweep missed attach's window"
    );
    assert!(attach_command(false).status().unwrap().success());
    assert_eq!(names_below(&dir.path().join("backlog")), before);
}

/// A task saved with a UTF-8 byte-order mark attaches as the same task without one, and
/// keeps its mark.
#[test]
fn a_task_with_a_byte_order_mark_attaches_and_keeps_it() {
    let (plain, marked) = (project(), project());
    let bom = "\u{feff}";
    let original = std::fs::read_to_string(task_file(plain.path(), TASK17)).unwrap();
    std::fs::write(task_file(marked.path(), TASK17), format!("{bom}{original}")).unwrap();
    for dir in [&plain, &marked] {
        attach(&options(dir.path(), "17", REPORT57, 0)).unwrap();
    }
    // The report's path (in the block and the documentation list) names each project's folder.
    let plain_text = std::fs::read_to_string(task_file(plain.path(), TASK17)).unwrap();
    let marked_text = std::fs::read_to_string(task_file(marked.path(), TASK17)).unwrap();
    assert!(marked_text.starts_with(bom));
    assert_eq!(marked_text.matches(bom).count(), 1);
    assert_eq!(
        marked_text[bom.len()..].replace(&marked.path().display().to_string(), "DIR"),
        plain_text.replace(&plain.path().display().to_string(), "DIR")
    );
    // Attaching again reads the mark and replaces the block.
    let again = attach(&AttachJob {
        report: marked.path().join("reports").join(REPORT57),
        ..options(marked.path(), "17", REPORT57, 0)
    })
    .unwrap();
    assert!(again.replaced);
}

/// The block comes from the analysis, not from the rendered Markdown: a report whose entry,
/// summary and recommendation templates are one word still attaches its summary and its
/// recommendations, by `attach` and by `report --attach`.
#[test]
fn overridden_report_templates_do_not_change_what_is_attached() {
    let dir = project();
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    for name in ["report.md.j2", "summary.md.j2", "recommendations.md.j2"] {
        std::fs::write(templates.join(name), "Overridden.\n").unwrap();
    }
    let set = common::fixture("profiles/sim-57svc-20261125-145700");
    let set = set.to_str().unwrap();
    let run_ok = |args: &[&str]| {
        let (code, _, stderr) = common::run(args, dir.path());
        assert_eq!(code, 0, "{args:?}: {stderr}");
    };
    // The task holds the summary and the recommendations whatever the report's templates.
    let assert_attached = |task: &str| {
        let text = std::fs::read_to_string(task_file(dir.path(), task)).unwrap();
        for line in [
            "- **CPU.** The process uses",
            "Recommendations, ranked by estimated saving:",
            "1. Port listing polls /proc for every node: ",
        ] {
            assert!(text.contains(line), "{task} lacks {line:?}:\n{text}");
        }
    };
    let report = ["report", set, "--templates", "templates", "--out"];
    run_ok(&[&report[..], &["reports/custom.md"]].concat());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("reports/custom.md")).unwrap(),
        "Overridden.\n"
    );
    run_ok(&["attach", "--task", "17", "reports/custom.md"]);
    assert_attached(TASK17);
    // The same through report --attach, into another task.
    run_ok(&[&report[..], &["reports/custom2.md", "--attach", "18"]].concat());
    assert_attached("task-18 - Shrink-heap.md");
}

/// The task links a Markdown report: `--attach` with `--format json` is refused before
/// anything is written, rather than skipped.
#[test]
fn attach_with_a_json_report_is_a_usage_error() {
    let dir = project();
    let set = common::fixture("profiles/fixture-3svc-20261125-120000");
    let (code, stdout, stderr) = common::run(
        &[
            "report",
            set.to_str().unwrap(),
            "--format",
            "json",
            "--out",
            "reports/r.json",
            "--attach",
            "17",
        ],
        dir.path(),
    );
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert_eq!(
        stderr,
        "error: --attach links the Markdown report to the task: use it with --format md (the default)\n"
    );
    assert!(!dir.path().join("reports/r.json").exists());
}
