//! The command line itself: shell completions and man pages from the clap definition, the
//! hint for pprof's single-dash spellings, one-line usage errors, `top`'s name filters, the
//! Limits help heading and the `--fail-on` metavar.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{fixture, root, run};

const SUBCOMMANDS: [&str; 12] = [
    "top",
    "members",
    "collect",
    "report",
    "compare",
    "trend",
    "attach",
    "pgo",
    "render",
    "templates",
    "completions",
    "man",
];

/// Whether `program` runs here (a shell the machine may lack).
fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `program args…` with `input` on stdin; returns (success, stderr).
fn check_with(program: &str, args: &[&str], input: &[u8]) -> (bool, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn completions_name_every_subcommand_and_flags_and_parse() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, stderr) = run(&["completions", shell], &root());
        assert_eq!(code, 0, "{shell}: {stderr}");
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell} completions lack {sub}");
        }
        for flag in [
            "nodecount",
            "tagfocus",
            "focus",
            "hide",
            "max-samples",
            "fail-on",
        ] {
            assert!(script.contains(flag), "{shell} completions lack --{flag}");
        }
        // The shell itself reads the script without running it, where it is installed
        // (.ci/run installs zsh and fish).
        if available(shell) {
            let (ok, errors) = check_with(shell, &["-n"], script.as_bytes());
            assert!(ok, "{shell} -n refuses the completions: {errors}");
        }
    }
    let (code, _, stderr) = run(&["completions", "tcsh"], &root());
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// Renders a page with groff, as `man -l` does (`-k`: its UTF-8 through preconv); warnings (`-ww`) are failures.
fn groff_renders(page: &[u8]) {
    if !available("groff") {
        return;
    }
    let (ok, errors) = check_with("groff", &["-k", "-man", "-Tutf8", "-ww", "-z"], page);
    assert!(ok && errors.is_empty(), "groff: {errors}");
}

#[test]
fn man_page_prints_and_writes_one_page_per_subcommand() {
    let (code, page, stderr) = run(&["man"], &root());
    assert_eq!(code, 0, "{stderr}");
    assert!(page.contains(".TH pprof-report 1"), "{page}");
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("pprof\\-report\\-{sub}(1)")),
            "man page lacks {sub}"
        );
    }
    groff_renders(page.as_bytes());

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let (code, stdout, stderr) = run(&["man", "--out", out.to_str().unwrap()], &root());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), SUBCOMMANDS.len() + 1, "{stdout}");
    let top = std::fs::read_to_string(out.join("pprof-report-top.1")).unwrap();
    for flag in ["nodecount", "focus", "hide", "show", "max\\-samples"] {
        assert!(
            top.contains(&format!("\\-\\-{flag}")),
            "top's page lacks --{flag}"
        );
    }
    for sub in SUBCOMMANDS {
        let page = std::fs::read(out.join(format!("pprof-report-{sub}.1"))).unwrap();
        groff_renders(&page);
    }
    assert!(out.join("pprof-report.1").is_file());
}

#[test]
fn pprof_single_dash_spellings_get_a_hint() {
    let profile = fixture("profiles/fixture-3svc-20261125-120000-cpu.prof");
    let profile = profile.to_str().unwrap();
    for (arg, hint) in [
        (
            "-nodecount=10",
            "use --nodecount 10 (pprof's -nodecount=10 is spelled with two dashes here)",
        ),
        (
            "-cum",
            "use --cum (pprof's -cum is spelled with two dashes here)",
        ),
        (
            "-sample_index=alloc_space",
            "use --sample-index alloc_space (pprof's -sample_index=alloc_space is spelled with two dashes here)",
        ),
        (
            "-focus=runtime",
            "use --focus runtime (pprof's -focus=runtime is spelled with two dashes here)",
        ),
    ] {
        let (code, stdout, stderr) = run(&["top", arg, profile], &root());
        assert_eq!(code, 2, "{arg}");
        assert!(stdout.is_empty());
        assert_eq!(stderr, format!("error: {hint}\n"));
    }
    // An unknown word is clap's own error, on one line.
    let (code, _, stderr) = run(&["top", "-bogus", profile], &root());
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // After `--` it is a file name.
    let (code, _, stderr) = run(&["top", "--", "-cum"], &root());
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn usage_errors_are_one_line() {
    for args in [
        &["top", "--focus", "(", "x.prof"][..],
        &["top", "--hide=[", "x.prof"],
        &["top", "--bogus", "x.prof"],
        &["compare", "a", "b", "--fail-on", "cpu"],
        &["trend", "one-set"],
    ] {
        let (code, _, stderr) = run(args, &root());
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
    let (_, _, stderr) = run(&["top", "--focus", "(", "x.prof"], &root());
    assert!(
        stderr.contains("--focus") && stderr.contains("invalid regular expression"),
        "{stderr}"
    );
}

#[test]
fn name_filter_that_matches_nothing_warns_as_pprof_does() {
    let profile = fixture("profiles/fixture-3svc-20261125-120000-cpu.prof");
    let (code, stdout, stderr) = run(
        &[
            "top",
            "--focus",
            "nomatch",
            "--show",
            "nomatch",
            profile.to_str().unwrap(),
        ],
        &root(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr,
        "Focus expression matched no samples\nShow expression matched no samples\n"
    );
    assert!(
        stdout.contains("Active filters:\n   focus=nomatch\n   show=nomatch\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Showing nodes accounting for 0, 0% of 11.10s total"),
        "{stdout}"
    );
}

#[test]
fn limits_have_their_own_help_heading_and_fail_on_its_grammar() {
    for sub in [
        "top", "report", "compare", "trend", "members", "pgo", "collect",
    ] {
        let (code, help, _) = run(&[sub, "--help"], &root());
        assert_eq!(code, 0);
        let (main, limits) = help
            .split_once("\nLimits:\n")
            .unwrap_or_else(|| panic!("{sub}: {help}"));
        assert!(
            !main.contains("--max-"),
            "{sub}: a limit outside Limits:\n{main}"
        );
        assert!(limits.contains("--max-samples"), "{sub}");
    }
    for sub in ["compare", "report"] {
        let (_, help, _) = run(&[sub, "--help"], &root());
        assert!(
            help.contains("--fail-on <METRIC>[+-]N[%]>"),
            "{sub}: {help}"
        );
    }
}
