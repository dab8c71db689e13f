//! Every kind of bad input exits non-zero with one line naming the file and the problem.

use crate::common;

use crate::common::{gzip, run, tiny_profile};

/// Writes `data` as `name` in a fresh directory and runs `top` on it.
fn top_on(name: &str, data: &[u8], extra: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), data).unwrap();
    let mut args = vec!["top", name];
    args.extend_from_slice(extra);
    let result = run(&args, dir.path());
    drop(dir);
    result
}

fn assert_one_line_error(result: &(i32, String, String), expected: &str) {
    let (code, stdout, stderr) = result;
    assert_eq!(*code, 1, "stderr: {stderr}");
    assert!(stdout.is_empty(), "stdout: {stdout}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert_eq!(stderr.trim_end(), expected);
}

#[test]
fn a_valid_hand_made_profile_decodes() {
    let (code, stdout, stderr) = top_on("tiny.prof", &tiny_profile(1), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("main.work"), "{stdout}");
    assert!(stdout.contains("Type: samples"), "{stdout}");
}

#[test]
fn not_a_profile() {
    let result = top_on(
        "notes.prof",
        b"\xff\xfe\x00 this is not protobuf \x07\x07",
        &[],
    );
    let (_, _, stderr) = &result;
    assert!(
        stderr.starts_with("error: notes.prof: not a pprof profile: "),
        "{stderr}"
    );
    assert_eq!(result.0, 1);
    assert_eq!(stderr.lines().count(), 1);
}

#[test]
fn empty_file() {
    assert_one_line_error(
        &top_on("empty.prof", b"", &[]),
        "error: empty.prof: the file is empty",
    );
}

#[test]
fn truncated_gzip_stream() {
    let compressed = gzip(&tiny_profile(1));
    let cut = &compressed[..compressed.len() / 2];
    let result = top_on("cut.prof", cut, &[]);
    assert_eq!(result.0, 1);
    assert!(
        result
            .2
            .starts_with("error: cut.prof: truncated or corrupt gzip stream"),
        "{}",
        result.2
    );
    assert_eq!(result.2.lines().count(), 1);
}

#[test]
fn dangling_location_id() {
    assert_one_line_error(
        &top_on("heap.prof", &tiny_profile(9999), &[]),
        "error: heap.prof: sample 1 refers to location 9999, which the profile does not define",
    );
}

#[test]
fn string_index_outside_the_table() {
    let mut data = tiny_profile(1);
    // A function whose name is string 77 (the table has 5).
    data.extend(
        common::Pb::default()
            .msg(5, common::Pb::default().uint(1, 2).int(2, 77))
            .0,
    );
    assert_one_line_error(
        &top_on("bad.prof", &data, &[]),
        "error: bad.prof: function 2 refers to string 77, but the string table has 5 entries",
    );
}

#[test]
fn gzip_bomb_is_refused_at_the_limit() {
    // Valid protobuf throughout (field 15 = 0, repeated): decoding goes on until the limit.
    let bomb = gzip(&[0x78u8, 0x00].repeat(2 << 20));
    assert_one_line_error(
        &top_on("bomb.prof", &bomb, &["--max-decompressed-size", "1MiB"]),
        "error: bomb.prof: decompressed size exceeds the limit of 1048576 bytes \
         (raise it with --max-decompressed-size)",
    );
}

#[test]
fn gzip_bomb_of_zeros_stops_at_its_first_bytes() {
    // The decoder reads while inflating: 4 MiB of zeros fail as protobuf at byte one.
    let bomb = gzip(&vec![0u8; 4 << 20]);
    assert_one_line_error(
        &top_on("bomb.prof", &bomb, &["--max-decompressed-size", "1MiB"]),
        "error: bomb.prof: not a pprof profile: protobuf decoding failed (field number 0)",
    );
}

#[test]
fn unknown_sample_index() {
    assert_one_line_error(
        &top_on(
            "cpu.prof",
            &tiny_profile(1),
            &["--sample-index", "alloc_space"],
        ),
        "error: cpu.prof: unknown sample index \"alloc_space\": the profile has samples",
    );
}

#[test]
fn sample_index_out_of_range() {
    assert_one_line_error(
        &top_on("cpu.prof", &tiny_profile(1), &["--sample-index", "3"]),
        "error: cpu.prof: sample index 3 is outside the range [0..0]",
    );
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    assert_one_line_error(
        &run(&["top", "nowhere.prof"], dir.path()),
        "error: nowhere.prof: no such file or directory",
    );
}

#[test]
fn directory_with_no_profiles() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "nothing here").unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    assert_one_line_error(
        &run(&["members", "empty"], dir.path()),
        "error: empty: no profiles found (expected files such as <prefix>-cpu.prof)",
    );
}

#[test]
fn goroutine_dump_cut_mid_block() {
    let dump = std::fs::read_to_string(common::fixture(
        "profiles/fixture-3svc-20261125-120000-goroutines.txt",
    ))
    .unwrap();
    // Keep the header line of the second block and drop its frames.
    let blocks: Vec<&str> = dump.split("\n\n").collect();
    let second_header = blocks[1].lines().next().unwrap();
    let cut = format!("{}\n\n{second_header}\n", blocks[0]);
    let header_line = blocks[0].lines().count() + 2;
    let result = top_on("goroutines.txt", cut.as_bytes(), &[]);
    let (code, _, stderr) = &result;
    assert_eq!(*code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: goroutines.txt: line {header_line}: block cut off after"
        )),
        "{stderr}"
    );
}

#[test]
fn corrupt_member_of_a_set_names_the_member() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("h-1svc-20250101-000000-cpu.prof"),
        tiny_profile(1),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("h-1svc-20250101-000000-heap.prof"),
        tiny_profile(42),
    )
    .unwrap();
    let (code, _, stderr) = run(&["members", "h-1svc-20250101-000000"], dir.path());
    assert_eq!(code, 1);
    assert_eq!(
        stderr.trim_end(),
        "error: ./h-1svc-20250101-000000-heap.prof: sample 1 refers to location 42, \
         which the profile does not define"
    );
}

/// Each decoding limit refuses with one line naming the limit and the flag that raises it,
/// on a profile (the 3-service fixture's CPU profile) or a goroutine dump over it.
#[test]
fn every_limit_names_its_flag() {
    let cpu = std::fs::read(common::fixture(
        "profiles/fixture-3svc-20261125-120000-cpu.prof",
    ))
    .unwrap();
    let dump = std::fs::read(common::fixture(
        "profiles/fixture-3svc-20261125-120000-goroutines-debug2.txt",
    ))
    .unwrap();
    let cases: [(&str, &[u8], &str, &str); 7] = [
        ("cpu.prof", &cpu, "--max-samples", "1"),
        ("cpu.prof", &cpu, "--max-locations", "1"),
        ("cpu.prof", &cpu, "--max-functions", "1"),
        ("cpu.prof", &cpu, "--max-stack-depth", "1"),
        ("cpu.prof", &cpu, "--max-string-length", "4"),
        ("dump.txt", &dump, "--max-line-length", "20"),
        ("dump.txt", &dump, "--max-stack-depth", "1"),
    ];
    for (name, data, flag, value) in cases {
        let (code, stdout, stderr) = top_on(name, data, &[flag, value]);
        assert_eq!(code, 1, "{flag}: {stderr}");
        assert!(stdout.is_empty(), "{flag}: {stdout}");
        assert_eq!(stderr.lines().count(), 1, "{flag}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: {name}: ")),
            "{flag}: {stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "exceeds the limit of {value} (raise it with {flag})"
            )),
            "{flag}: {stderr}"
        );
        // The same file within the limit's default decodes.
        let (code, _, stderr) = top_on(name, data, &[]);
        assert_eq!(code, 0, "{stderr}");
    }
}
