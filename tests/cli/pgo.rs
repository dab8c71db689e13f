//! `pgo`: the CPU profiles of sets merged into one profile for `go build -pgo`. Its `top`
//! is the sum of the inputs' (the same merge against the real `go tool pprof -proto`, and
//! the build with Go 1.27, are `.ci/pgo-check.sh`); bad input is one line naming the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{self, run};

/// Two Go 1.20+ sets (their functions have start lines, which the compiler needs): the
/// simulator built by Go 1.27, and the runtime workload built by Go 1.27.
fn sets() -> [PathBuf; 2] {
    [
        common::fixture("profiles/sim127-3svc-20261201-121500"),
        common::fixture("runtimes/go127-3svc-20261202-120000"),
    ]
}

fn cpu_file(set: &Path) -> PathBuf {
    let name = set.file_name().unwrap().to_string_lossy();
    set.with_file_name(format!("{name}-cpu.prof"))
}

/// A value as `top` prints it (`3.73s`, `10ms`), in nanoseconds.
fn nanos(text: &str) -> i64 {
    // A zero is printed bare.
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let factor = match unit {
        "ns" | "" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "mins" => 60e9,
        "hrs" => 3600e9,
        other => panic!("unit {other:?} in {text:?}"),
    };
    (number.parse::<f64>().unwrap() * factor).round() as i64
}

/// `top` of a profile with every node shown: (total samples, duration) in nanoseconds and
/// each function's (flat, cum).
fn top(file: &Path, dir: &Path) -> (i64, i64, BTreeMap<String, (i64, i64)>) {
    let file = file.to_string_lossy();
    let (code, stdout, stderr) = run(
        &["top", &file, "--nodefraction", "0", "--edgefraction", "0"],
        dir,
    );
    assert_eq!(code, 0, "{stderr}");
    let header = stdout
        .lines()
        .find(|l| l.starts_with("Duration: "))
        .unwrap();
    // Duration: 13.17s, Total samples = 6.82s (51.78%)
    let duration = nanos(header["Duration: ".len()..].split(',').next().unwrap());
    let total = nanos(
        header
            .split("Total samples = ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap(),
    );
    let mut functions = BTreeMap::new();
    let rows = stdout
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("flat"))
        .skip(1);
    for row in rows {
        let fields: Vec<&str> = row.split_whitespace().collect();
        let name = fields[5..].join(" ");
        functions.insert(name, (nanos(fields[0]), nanos(fields[3])));
    }
    (total, duration, functions)
}

#[test]
fn pgo_over_two_sets_has_the_top_of_both_summed() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b] = sets();
    let (code, stdout, stderr) = run(
        &[
            "pgo",
            &a.to_string_lossy(),
            &b.to_string_lossy(),
            "--out",
            "default.pgo",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert_eq!(
        lines[0],
        format!(
            "set sim127-3svc-20261201-121500: {}, 14 samples, 140ms of CPU over 5s",
            cpu_file(&a).display()
        )
    );
    assert!(
        lines[1].starts_with("set go127-3svc-20261202-120000: "),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("merged 2 CPU profiles: 387 samples, 3.87s of CPU over "),
        "{stdout}"
    );
    assert_eq!(lines[3], "wrote default.pgo");
    // 387 samples is below the floor: the warning says so, on stderr, naming the file.
    assert!(
        stderr
            .starts_with("warning: default.pgo: only 387 samples (3.87s of CPU), fewer than 1000"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let merged = top(&dir.path().join("default.pgo"), dir.path());
    let (ta, da, fa) = top(&cpu_file(&a), dir.path());
    let (tb, db, fb) = top(&cpu_file(&b), dir.path());
    assert_eq!(merged.0, ta + tb, "total samples");
    assert_eq!(merged.1, da + db, "duration");
    let mut summed = fa;
    for (name, (flat, cum)) in fb {
        let entry = summed.entry(name).or_insert((0, 0));
        entry.0 += flat;
        entry.1 += cum;
    }
    assert_eq!(merged.2, summed);
    // Both programs' runtimes: functions of both sides were merged, not just listed.
    assert!(merged.2.contains_key("runtime.mallocgc"));
}

#[test]
fn an_existing_output_is_replaced_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("default.pgo"), b"old").unwrap();
    let set = &sets()[1];
    let (code, stdout, _) = run(&["pgo", &set.to_string_lossy()], dir.path());
    assert_eq!(code, 0);
    assert!(
        stdout.ends_with("wrote default.pgo (replaced the existing file)\n"),
        "{stdout}"
    );
    let bytes = std::fs::read(dir.path().join("default.pgo")).unwrap();
    assert_eq!(
        &bytes[..2],
        [0x1f, 0x8b],
        "gzipped, as go build -pgo reads it"
    );
}

fn assert_refused(args: &[&str], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec!["pgo"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", "default.pgo"]);
    let (code, stdout, stderr) = run(&all, dir.path());
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(stderr.trim_end(), expected);
    assert!(!dir.path().join("default.pgo").exists(), "nothing written");
}

#[test]
fn pgo_refuses_a_profile_of_another_kind() {
    let heap = common::fixture("profiles/sim127-3svc-20261201-121500-heap.prof");
    assert_refused(
        &[&heap.to_string_lossy()],
        &format!(
            "error: {}: heap profile, not a CPU profile; go build -pgo needs a CPU profile",
            heap.display()
        ),
    );
}

#[test]
fn pgo_refuses_a_set_without_cpu_profile() {
    let sets = tempfile::tempdir().unwrap();
    let dumps = sets.path().join("dumps");
    std::fs::create_dir(&dumps).unwrap();
    std::fs::copy(
        common::fixture("goroutine/debug1.txt"),
        dumps.join("debug1.txt"),
    )
    .unwrap();
    assert_refused(
        &[&dumps.to_string_lossy()],
        &format!(
            "error: {}: no CPU profile in this set (it has: goroutine dump (debug=1)); go build -pgo needs one (/debug/pprof/profile)",
            dumps.display()
        ),
    );
}

#[test]
fn pgo_refuses_a_profile_without_start_lines() {
    // Go 1.19 writes no Function.start_line; go build -pgo refuses such a profile.
    let old = common::fixture("profiles/sim-14svc-20261125-140000");
    let [new, _] = sets();
    assert_refused(
        &[&new.to_string_lossy(), &old.to_string_lossy()],
        &format!(
            "error: {}: its functions have no start lines (the program was built with Go 1.19 or older), and go build -pgo refuses such a profile; collect one from a build made with Go 1.20 or later",
            cpu_file(&old).display()
        ),
    );
}

#[test]
fn pgo_refuses_a_set_given_twice() {
    let [set, _] = sets();
    assert_refused(
        &[&set.to_string_lossy(), &set.to_string_lossy()],
        &format!(
            "error: {}: given twice (its samples would be counted twice)",
            cpu_file(&set).display()
        ),
    );
}
