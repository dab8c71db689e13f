//! The context YAML on the command line: a number that is not finite or not in range is
//! refused in one line naming the file, the field and its line, before anything is written;
//! and an analysis JSON that holds `null` for a number (how NaN was written) is refused by
//! `render` in one line naming the file, the line and the field.

use std::path::Path;

use crate::common;

/// A set of one member (the small fixture's CPU profile) in a fresh folder, `set/`.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("set")).unwrap();
    std::fs::copy(
        common::fixture("profiles/fixture-3svc-20261125-120000-cpu.prof"),
        dir.path().join("set/web-3svc-20250101-000000-cpu.prof"),
    )
    .unwrap();
    dir
}

fn report_with_context(dir: &Path, yaml: &str) -> (i32, String, String) {
    std::fs::write(dir.join("ctx.yaml"), yaml).unwrap();
    common::run(
        &["report", "set", "--context", "ctx.yaml", "--out", "r.md"],
        dir,
    )
}

#[test]
fn bad_context_numbers_are_refused_naming_the_file_field_and_line() {
    let ws = workspace();
    // The bad value is on line 4, after other fields of its mapping: the line is its own.
    let process =
        |field: &str, value: &str| format!("host: web\nprocess:\n  pid: 42\n  {field}: {value}\n");
    let cases = [
        (
            process("cpu_percent", ".nan"),
            "line 4 column 16: process.cpu_percent: NaN is not a number; give a finite number ≥ 0",
        ),
        (
            process("cpu_percent", ".inf"),
            "line 4 column 16: process.cpu_percent: inf is infinite; give a finite number ≥ 0",
        ),
        (
            process("cpu_percent", "-.inf"),
            "line 4 column 16: process.cpu_percent: -inf is infinite; give a finite number ≥ 0",
        ),
        (
            process("cpu_percent", "-5"),
            "line 4 column 16: process.cpu_percent: -5 is negative; give a finite number ≥ 0",
        ),
        (
            process("rss", "-2808240"),
            "line 4 column 8: process.rss: -2808240 is negative; give a size such as 2.8GB, 512MiB or a number of bytes",
        ),
        (
            process("rss", ".inf"),
            "line 4 column 8: process.rss: inf is infinite; give a size such as 2.8GB, 512MiB or a number of bytes",
        ),
        (
            "host: web\nthroughput:\n  unit: requests\n  per_second: .nan\n".to_string(),
            "line 4 column 15: throughput.per_second: NaN is not a number; give a finite number above 0",
        ),
        (
            "host: web\nservices: 0\n".to_string(),
            "line 2 column 11: services: 0 is below 1; give a whole number ≥ 1",
        ),
    ];
    for (yaml, problem) in cases {
        let (code, stdout, stderr) = report_with_context(ws.path(), &yaml);
        assert_eq!(code, 1, "{yaml}: {stderr}");
        assert!(stdout.is_empty(), "{yaml}: {stdout}");
        assert_eq!(stderr, format!("error: ctx.yaml: {problem}\n"), "{yaml}");
        assert!(
            !ws.path().join("r.md").exists(),
            "{yaml}: a report was written"
        );
    }
    // The same context with finite numbers in range gives a report.
    let (code, _, stderr) = report_with_context(
        ws.path(),
        &format!("{}  rss: 2.8GB\n", process("cpu_percent", "122")),
    );
    assert_eq!(code, 0, "{stderr}");
    let markdown = std::fs::read_to_string(ws.path().join("r.md")).unwrap();
    assert!(!markdown.contains("NaN") && !markdown.contains("inf%"));
}

#[test]
fn render_refuses_an_analysis_holding_null_for_a_number() {
    let ws = workspace();
    std::fs::write(ws.path().join("ctx.yaml"), "process:\n  cpu_percent: 122\n").unwrap();
    let (code, _, stderr) = common::run(
        &[
            "report",
            "set",
            "--context",
            "ctx.yaml",
            "--format",
            "json",
            "--out",
            "r.json",
        ],
        ws.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let json = std::fs::read_to_string(ws.path().join("r.json")).unwrap();
    // What serde_json writes for NaN: null, in place of the CPU basis the context gave.
    let key = "\"cores_basis_percent\": ";
    let (line, _) = json
        .lines()
        .enumerate()
        .find(|(_, l)| l.trim_start().starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in the analysis"));
    let broken: String = json
        .lines()
        .enumerate()
        .map(|(n, l)| {
            if n == line {
                let indent = &l[..l.len() - l.trim_start().len()];
                let comma = if l.ends_with(',') { "," } else { "" };
                format!("{indent}{key}null{comma}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(ws.path().join("r.json"), broken).unwrap();
    let (code, stdout, stderr) = common::run(&["render", "r.json", "--out", "again.md"], ws.path());
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(
        stderr,
        format!(
            "error: r.json: line {}: \"cores_basis_percent\" is null where a number belongs (NaN or infinite when the analysis was written); write the analysis again with report --format json\n",
            line + 1
        )
    );
    assert!(!ws.path().join("again.md").exists());
}
