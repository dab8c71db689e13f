//! The golden helper itself (tests/common/golden.rs): a mismatch fails naming the file with
//! a diff, blessing writes the file, and equivalent bytes are left alone.

use std::path::Path;

use crate::common;
use crate::common::golden::{Normalize, check};

/// The panic message of `check`, which must panic.
fn failure(expected: &Path, actual: &[u8], normalize: Option<Normalize>) -> String {
    let payload = std::panic::catch_unwind(|| check(expected, actual, normalize, false))
        .expect_err("check passed");
    payload
        .downcast_ref::<String>()
        .cloned()
        .expect("a formatted message")
}

#[test]
fn a_mismatch_panics_with_the_path_a_diff_and_how_to_bless() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.md");
    std::fs::write(&path, "one\ntwo\nthree\n").unwrap();
    let message = failure(&path, b"one\nTWO\nthree\n", None);
    assert!(message.contains(&path.display().to_string()), "{message}");
    let lines: Vec<&str> = message.lines().collect();
    for line in ["-two", "+TWO", " one", " three"] {
        assert!(lines.contains(&line), "no line {line:?} in:\n{message}");
    }
    assert!(
        message.contains(
            "PPROF_REPORT_BLESS=1 cargo test --test engine -- --exact \
             golden::a_mismatch_panics_with_the_path_a_diff_and_how_to_bless"
        ),
        "{message}"
    );
}

#[test]
fn a_long_diff_is_cut_and_says_how_much_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.txt");
    let expected: String = (0..500).map(|i| format!("line {i}\n")).collect();
    let actual: String = (0..500)
        .map(|i| format!("LINE {i} {}\n", "x".repeat(400)))
        .collect();
    std::fs::write(&path, expected).unwrap();
    let message = failure(&path, actual.as_bytes(), None);
    assert!(message.lines().count() < 80, "{message}");
    assert!(
        message.lines().all(|l| l.chars().count() < 300),
        "{message}"
    );
    assert!(message.contains("more diff lines"), "{message}");
    assert!(message.contains("-line 0"), "{message}");
}

#[test]
fn a_binary_mismatch_names_the_first_differing_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.pb");
    std::fs::write(&path, [0x0a, 0xff, 0x01, 0x02]).unwrap();
    let message = failure(&path, &[0x0a, 0xff, 0x09], None);
    assert!(message.contains("first difference at byte 2"), "{message}");
    assert!(
        message.contains("expected 4 bytes, actual 3 bytes"),
        "{message}"
    );
}

#[test]
fn a_missing_file_fails_naming_it_and_bless_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/folder/golden.txt");
    let message = failure(&path, b"fresh\n", None);
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("PPROF_REPORT_BLESS=1"), "{message}");
    check(&path, b"fresh\n", None, true);
    assert_eq!(std::fs::read(&path).unwrap(), b"fresh\n");
    check(&path, b"fresh\n", None, false);
    // Blessing a different output rewrites the file.
    check(&path, b"newer\n", None, true);
    assert_eq!(std::fs::read(&path).unwrap(), b"newer\n");
}

#[test]
fn normalized_files_compare_what_they_stand_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.pb.gz");
    let data = common::tiny_profile(1);
    // The same profile, compressed differently: other bytes, same content.
    let stored = {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&data).unwrap();
        encoder.finish().unwrap()
    };
    let fresh = common::gzip(&data);
    assert_ne!(stored, fresh);
    std::fs::write(&path, &stored).unwrap();
    check(&path, &fresh, Some(common::content), false);
    // Blessing leaves an equivalent file as it is…
    check(&path, &fresh, Some(common::content), true);
    assert_eq!(std::fs::read(&path).unwrap(), stored);
    // …and a different content still fails.
    let other = common::gzip(&common::tiny_profile(2));
    let message = failure(&path, &other, Some(common::content));
    assert!(message.contains("first difference at byte"), "{message}");
}
