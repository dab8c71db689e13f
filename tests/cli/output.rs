//! Where outputs go and how they are replaced: a failed `report`, `compare` or `trend` leaves
//! the previous report, its HTML or JSON and its flame graph folder byte for byte; a new
//! report leaves no flame graph of an older one behind; names that would clash or land
//! outside the output folder are refused in one line, before anything is written.

use crate::common;

use std::path::{Path, PathBuf};

const SET_3SVC: &str = "fixtures/profiles/fixture-3svc-20261125-120000";
const SET_6SVC: &str = "fixtures/profiles/fixture-6svc-20261125-121500";

/// A temporary folder where `fixtures` points at the repository's.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(common::root().join("fixtures"), dir.path().join("fixtures"))
        .unwrap();
    dir
}

fn run_ok(args: &[&str], dir: &Path) {
    let (code, _, stderr) = common::run(args, dir);
    assert_eq!(code, 0, "pprof-report {args:?}: {stderr}");
}

/// Runs a command that must fail with exit status 1 and a one-line error containing `what`.
fn run_fails(args: &[&str], dir: &Path, what: &str) {
    let (code, stdout, stderr) = common::run(args, dir);
    assert_eq!(code, 1, "pprof-report {args:?}: {stdout}{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(what),
        "{stderr}"
    );
}

/// Every file and folder below `dir`, with the files' bytes, sorted.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(dir).unwrap().to_path_buf();
            if path.is_dir() {
                out.push((relative, None));
                stack.push(path);
            } else {
                out.push((relative, Some(std::fs::read(&path).unwrap())));
            }
        }
    }
    out.sort();
    out
}

/// A template folder whose `name` does not parse.
fn broken_templates(dir: &Path, name: &str) -> String {
    let folder = format!("broken-{name}");
    std::fs::create_dir_all(dir.join(&folder)).unwrap();
    std::fs::write(dir.join(&folder).join(name), "{{ nope }\n").unwrap();
    folder
}

#[test]
fn a_failed_report_leaves_the_previous_one_and_its_flame_graphs_intact() {
    let ws = workspace();
    let dir = ws.path();
    run_ok(&["report", SET_3SVC, "--out", "out/r.md", "--html"], dir);
    run_ok(
        &[
            "report",
            SET_3SVC,
            "--out",
            "out/r.json",
            "--format",
            "json",
        ],
        dir,
    );
    let out = dir.join("out");
    let before = snapshot(&out);
    assert!(before.iter().any(|(p, _)| p == Path::new("r/cpu.svg")));

    // A template error: nothing rendered, nothing written.
    let templates = broken_templates(dir, "cpu.md.j2");
    run_fails(
        &[
            "report",
            SET_6SVC,
            "--templates",
            &templates,
            "--out",
            "out/r.md",
            "--html",
        ],
        dir,
        "cpu.md.j2",
    );
    assert_eq!(snapshot(&out), before, "after a template error");

    // A member that does not decode, for the Markdown and for the JSON.
    let bad = dir.join("bad");
    std::fs::create_dir(&bad).unwrap();
    for entry in std::fs::read_dir(common::root().join("fixtures/profiles")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.starts_with("fixture-6svc") {
            std::fs::copy(&path, bad.join(&name)).unwrap();
        }
    }
    std::fs::write(
        bad.join("fixture-6svc-20261125-121500-heap.prof"),
        b"\x0a\xff\xff\xff",
    )
    .unwrap();
    let set = "bad/fixture-6svc-20261125-121500";
    run_fails(
        &["report", set, "--out", "out/r.md", "--html"],
        dir,
        "heap.prof",
    );
    run_fails(
        &["report", set, "--out", "out/r.json", "--format", "json"],
        dir,
        "heap.prof",
    );
    assert_eq!(snapshot(&out), before, "after an unreadable member");

    // A write that fails while the new report is put in place (its HTML page's name is taken
    // by a folder): the new flame graphs were already in place, and are taken back.
    std::fs::remove_file(out.join("r.html")).unwrap();
    std::fs::create_dir(out.join("r.html")).unwrap();
    let before = snapshot(&out);
    run_fails(
        &["report", SET_6SVC, "--out", "out/r.md", "--html"],
        dir,
        "out/r.html: is a directory",
    );
    assert_eq!(snapshot(&out), before, "after a failed rename");
    // Only the files the report writes are ever there: no temporary file is left.
    assert!(
        snapshot(&out)
            .iter()
            .all(|(p, _)| !p.to_string_lossy().contains(".pprof-report-"))
    );

    // A flame graph folder that holds something else is not replaced.
    std::fs::remove_dir(out.join("r.html")).unwrap();
    std::fs::write(out.join("r/notes.txt"), "mine").unwrap();
    let before = snapshot(&out);
    run_fails(
        &["report", SET_6SVC, "--out", "out/r.md", "--html"],
        dir,
        "something else than flame graphs",
    );
    assert_eq!(snapshot(&out), before, "a folder that is not ours");
}

#[test]
fn a_new_report_leaves_no_flame_graph_of_an_older_one() {
    let ws = workspace();
    let dir = ws.path();
    run_ok(
        &[
            "report",
            SET_6SVC,
            "--baseline",
            SET_3SVC,
            "--out",
            "out/r.md",
        ],
        dir,
    );
    assert!(dir.join("out/r/cpu-diff.svg").is_file());
    run_ok(&["report", SET_6SVC, "--out", "out/r.md"], dir);
    // The folder holds exactly the flame graphs the report links to, and its analysis.
    let markdown = std::fs::read_to_string(dir.join("out/r.md")).unwrap();
    let mut linked: Vec<String> = markdown
        .match_indices("](r/")
        .map(|(at, _)| {
            let rest = &markdown[at + 2..];
            rest[..rest.find(')').unwrap()].to_string()
        })
        .collect();
    linked.push("r/analysis.json".to_string());
    linked.sort();
    // A flame graph's image links to its SVG: the same file twice.
    linked.dedup();
    let present: Vec<String> = common::files_below(&dir.join("out/r"))
        .iter()
        .map(|p| format!("r/{}", p.display()))
        .collect();
    assert_eq!(present, linked);
    assert!(!dir.join("out/r/cpu-diff.svg").exists());
}

#[test]
fn failed_comparisons_and_trends_leave_theirs_intact() {
    let ws = workspace();
    let dir = ws.path();
    run_ok(
        &["compare", SET_3SVC, SET_6SVC, "--out", "out/c.md", "--html"],
        dir,
    );
    run_ok(
        &["trend", SET_3SVC, SET_6SVC, "--out", "out/t.md", "--html"],
        dir,
    );
    let out = dir.join("out");
    let before = snapshot(&out);
    assert!(before.iter().any(|(p, _)| p == Path::new("c/cpu-diff.svg")));
    assert!(before.iter().any(|(p, _)| p == Path::new("t/cpu.svg")));
    let templates = broken_templates(dir, "baseline.md.j2");
    run_fails(
        &[
            "compare",
            SET_6SVC,
            SET_3SVC,
            "--templates",
            &templates,
            "--out",
            "out/c.md",
            "--html",
        ],
        dir,
        "baseline.md.j2",
    );
    let templates = broken_templates(dir, "trend.md.j2");
    run_fails(
        &[
            "trend",
            SET_6SVC,
            SET_3SVC,
            "--templates",
            &templates,
            "--out",
            "out/t.md",
            "--html",
        ],
        dir,
        "trend.md.j2",
    );
    assert_eq!(snapshot(&out), before);
}

#[test]
fn outputs_that_would_clash_are_refused_before_anything_is_written() {
    let ws = workspace();
    let dir = ws.path();
    // No extension: the report and its flame graph folder would both be `out/r`.
    run_fails(
        &["report", SET_3SVC, "--out", "out/r"],
        dir,
        "would have the same name",
    );
    // The HTML page would be the report itself.
    run_fails(
        &["report", SET_3SVC, "--out", "out/r.html", "--html"],
        dir,
        "would be the same file",
    );
    // A file where the flame graph folder goes.
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::write(dir.join("out/x"), "mine").unwrap();
    run_fails(
        &["report", SET_3SVC, "--out", "out/x.md"],
        dir,
        "out/x: exists and is not a folder",
    );
    assert_eq!(
        snapshot(&dir.join("out")),
        [(PathBuf::from("x"), Some(b"mine".to_vec()))]
    );
}

#[test]
fn report_all_refuses_two_sets_that_would_share_a_report() {
    let ws = workspace();
    let dir = ws.path();
    let sets = dir.join("sets");
    std::fs::create_dir(&sets).unwrap();
    let cpu = common::root().join(format!("{SET_3SVC}-cpu.prof"));
    // `:` and `?` both become `_` in a file name.
    for host in ["a:b", "a?b"] {
        std::fs::copy(
            &cpu,
            sets.join(format!("{host}-1svc-20250101-000000-cpu.prof")),
        )
        .unwrap();
    }
    run_fails(
        &["report", "sets", "--all", "--out-dir", "all"],
        dir,
        "would both be reported here",
    );
    assert!(!dir.join("all").exists());
}

#[test]
fn collect_refuses_a_host_that_is_not_a_plain_name() {
    let ws = tempfile::tempdir().unwrap();
    for host in [
        "../x", "/abs", "a/b", "a\\b", "x\ny", "a:b", "a*b", ".hidden", "-x",
    ] {
        // Refused before any connection: the port is never asked.
        let (code, _, stderr) = common::run(
            &[
                "collect",
                "--url",
                "http://127.0.0.1:9",
                &format!("--host={host}"),
                "--services",
                "1",
                "--out",
                "p",
            ],
            ws.path(),
        );
        // A bad flag value is a usage error (exit status 2).
        assert_eq!(code, 2, "{host:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: --host "), "{stderr}");
        assert!(!ws.path().join("p").exists());
    }
    assert_eq!(std::fs::read_dir(ws.path()).unwrap().count(), 0);
}
