//! Where outputs go: names that would clash or land outside the output folder are refused in
//! one line, before anything is written.

mod common;

use std::path::Path;

const SET_3SVC: &str = "fixtures/profiles/fixture-3svc-20261125-120000";

/// A temporary folder where `fixtures` points at the repository's.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(common::root().join("fixtures"), dir.path().join("fixtures"))
        .unwrap();
    dir
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
        assert_eq!(code, 1, "{host:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: --host "), "{stderr}");
        assert!(!ws.path().join("p").exists());
    }
    assert_eq!(std::fs::read_dir(ws.path()).unwrap().count(), 0);
}
