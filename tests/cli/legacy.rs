//! The legacy text profiles Go's runtime serves (`heap`, `allocs`, `block`, `mutex` at
//! `?debug=1`) are read as `go tool pprof` reads them; other legacy formats get one line
//! naming the format. (`top` on the texts is checked byte for byte against Go 1.19's pprof in
//! tests/engine/goldens.rs, the `legacy-*` cases.)

use crate::common::{self, gzip, run};

/// Runs `top` on `data` written as `name` in a fresh directory.
fn top_on(name: &str, data: &[u8]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), data).unwrap();
    run(&["top", name], dir.path())
}

fn assert_one_line_error((code, stdout, stderr): &(i32, String, String), expected: &str) {
    assert_eq!(*code, 1, "stderr: {stderr}");
    assert!(stdout.is_empty(), "stdout: {stdout}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert_eq!(stderr.trim_end(), expected);
}

#[test]
fn legacy_text_profiles_read_alike_plain_and_gzipped() {
    for name in ["go119-heap", "go127-allocs", "go119-block", "go127-mutex"] {
        let text = std::fs::read(common::fixture(&format!("legacy/{name}.txt"))).unwrap();
        let plain = top_on("p.txt", &text);
        let gzipped = top_on("p.txt.gz", &gzip(&text));
        assert_eq!(plain.0, 0, "{name}: {}", plain.2);
        assert!(plain.1.contains("<unknown>"), "{name}: {}", plain.1);
        assert_eq!(plain.1, gzipped.1, "{name}");
    }
}

#[test]
fn legacy_contention_texts_are_set_members_by_their_header() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = "svc-1svc-20261202-120000";
    // The file names say neither mutex nor block: the first line decides.
    for (from, to) in [
        ("go127-mutex", "contention-a"),
        ("go119-block", "contention-b"),
    ] {
        std::fs::copy(
            common::fixture(&format!("legacy/{from}.txt")),
            dir.path().join(format!("{prefix}-{to}.txt")),
        )
        .unwrap();
    }
    let (code, stdout, stderr) = run(&["members", prefix], dir.path());
    assert_eq!(code, 0, "{stderr}");
    let kind_of = |file: &str| {
        stdout
            .lines()
            .find(|l| l.contains(file))
            .map(|l| l.trim_start().split("  ").next().unwrap_or("").to_string())
    };
    assert_eq!(
        kind_of("contention-a").as_deref(),
        Some("mutex profile"),
        "{stdout}"
    );
    assert_eq!(
        kind_of("contention-b").as_deref(),
        Some("block profile"),
        "{stdout}"
    );
}

#[test]
fn other_legacy_formats_get_one_line_naming_the_format() {
    // pprof's binary CPU format (before protobuf): five header words 0, 3, 0, period, 0.
    let mut cpu = Vec::new();
    for word in [0u64, 3, 0, 10_000, 0, 1, 1, 0x40_1000, 0, 1, 0] {
        cpu.extend_from_slice(&word.to_le_bytes());
    }
    assert_one_line_error(
        &top_on("old-cpu.prof", &cpu),
        "error: old-cpu.prof: a legacy CPU profile (binary, pre-protobuf: Go before 1.9 or gperftools): not read; collect /debug/pprof/profile from the service (protobuf since Go 1.9)",
    );
    assert_one_line_error(
        &top_on(
            "threads.txt",
            b"threadcreate profile: total 2\n2 @ 0x45d4c1\n",
        ),
        "error: threads.txt: a threadcreate profile in text form (threadcreate?debug=1): not read; collect the endpoint without debug=1 (protobuf)",
    );
    assert_one_line_error(
        &top_on(
            "growth.txt",
            b"heap profile: 1: 64 [1: 64] @ growthz\n1: 64 [1: 64] @ 0x1\n",
        ),
        "error: growth.txt: a heap growth profile in text form: not read; collect /debug/pprof/heap without debug=1 (protobuf)",
    );
}

#[test]
fn a_malformed_legacy_text_names_its_line() {
    assert_one_line_error(
        &top_on(
            "mutex.txt",
            b"--- mutex:\ncycles/second=2000000000\nsampling period=1\n12 3 @ 0x1\nnot a sample\n",
        ),
        "error: mutex.txt: line 5: not a contention sample (CYCLES COUNT @ ADDRESSES)",
    );
    assert_one_line_error(
        &top_on(
            "heap.txt",
            b"heap profile: 1: 64 [1: 64] @ heap/1048576\n1: 64 [1: 64] @ 0x1ffffffffffffffff\n",
        ),
        "error: heap.txt: line 2: 0x1ffffffffffffffff is not a 64-bit address",
    );
}
