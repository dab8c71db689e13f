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

/// A profile of two locations whose samples have packed stacks (as Go writes them), the
/// last one being `last`.
fn packed_stacks_profile(last: &[u64]) -> Vec<u8> {
    let mut b = common::ProfileBuilder::new();
    b.sample_type("samples", "count");
    let packed = |ids: &[u64]| {
        let mut bytes = Vec::new();
        for &id in ids {
            let mut id = id;
            while id >= 0x80 {
                bytes.push(id as u8 | 0x80);
                id >>= 7;
            }
            bytes.push(id as u8);
        }
        bytes
    };
    for ids in [&[1, 2][..], &[2, 1, 2], last] {
        let stack = packed(ids);
        b.field(|pb| pb.msg(2, common::Pb::default().bytes(1, &stack).int(2, 5)));
    }
    b.function(1, "main.work", "main.go", 1);
    b.function(2, "main.main", "main.go", 1);
    b.location(1, 0, 0x10, &[(1, 3)]);
    b.location(2, 0, 0x20, &[(2, 4)]);
    b.finish()
}

#[test]
fn a_packed_stack_naming_a_location_the_profile_lacks_is_refused_with_its_sample() {
    // Packed as Go writes them, ids at either end of the range and past it: the error names
    // the first sample with an id the profile does not define.
    assert_eq!(
        top_on("ok.prof", &packed_stacks_profile(&[1, 1, 2]), &[]).0,
        0
    );
    assert_one_line_error(
        &top_on("zero.prof", &packed_stacks_profile(&[1, 0, 2]), &[]),
        "error: zero.prof: sample 3 refers to location 0, which the profile does not define",
    );
    assert_one_line_error(
        &top_on("far.prof", &packed_stacks_profile(&[2, 300]), &[]),
        "error: far.prof: sample 3 refers to location 300, which the profile does not define",
    );
    assert_one_line_error(
        &top_on("next.prof", &packed_stacks_profile(&[3]), &[]),
        "error: next.prof: sample 3 refers to location 3, which the profile does not define",
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
fn a_set_of_symbolic_links_is_read_as_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("linked");
    std::fs::create_dir(&set).unwrap();
    let fixtures = common::root().join("fixtures/profiles");
    let mut linked = 0;
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.starts_with("sim-14svc-20261125-140000-") && name.ends_with(".prof") {
            std::os::unix::fs::symlink(fixtures.join(&name), set.join(&name)).unwrap();
            linked += 1;
        }
    }
    assert!(linked >= 5, "{linked} members linked");
    // A dangling link and a link to a folder are not members.
    std::os::unix::fs::symlink(
        "gone.prof",
        set.join("sim-14svc-20261125-140000-mutex-x.prof"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&fixtures, set.join("sim-14svc-20261125-140000-dir.prof")).unwrap();
    let (code, stdout, stderr) = run(&["members", "linked"], dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("cpu"), "{stdout}");
    assert!(stdout.contains("heap"), "{stdout}");
    let (code, _, stderr) = run(&["report", "linked", "--out", "out.md"], dir.path());
    assert_eq!(code, 0, "{stderr}");
    let report = std::fs::read_to_string(dir.path().join("out.md")).unwrap();
    assert!(report.contains("## Executive summary"), "{report}");
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

/// A protobuf field: key (field `tag`, wire type `wire`) then, for wire type 2, the length.
fn key(tag: u64, wire: u64, out: &mut Vec<u8>) {
    varint(tag << 3 | wire, out);
}

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A length-delimited field `tag` holding `payload`.
fn field(tag: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    key(tag, 2, &mut out);
    varint(payload.len() as u64, &mut out);
    out.extend_from_slice(payload);
    out
}

/// A file that inflates to `head`, then `unit` repeated `count` times: gzip members, one for
/// `head` and one of 1 MiB of units used again and again (readers inflate every member,
/// as Go's does), so a gigabyte of repeats is a file of about a megabyte, made in
/// milliseconds.
fn repeated(head: &[u8], unit: &[u8], count: u64) -> Vec<u8> {
    let gzip = |data: &[u8]| {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    };
    let per_member = ((1u64 << 20) / unit.len() as u64).min(count).max(1);
    let member = gzip(&unit.repeat(per_member as usize));
    let mut out = gzip(head);
    let mut left = count;
    while left >= per_member {
        out.extend_from_slice(&member);
        left -= per_member;
    }
    if left > 0 {
        out.extend_from_slice(&gzip(&unit.repeat(left as usize)));
    }
    out
}

/// Runs pprof-report under a 4 GiB address-space limit (`ulimit -v`), as the attack on it
/// did; `None` when there is no bash to set the limit.
fn run_limited(args: &[&str], dir: &std::path::Path) -> Option<(i32, String, String)> {
    let script = "ulimit -v 4194304 && exec \"$0\" \"$@\"";
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_pprof-report"))
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    Some((
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// Files of about a megabyte holding hundreds of millions of tiny entries of one repeated
/// field (or one field of hundreds of millions of tiny parts), which would take 4 to 40 GB
/// decoded naively: `top` and `report` refuse each under a 4 GiB address-space limit with
/// one line naming the limit (or the entry that can never be valid), never abort.
#[test]
fn repeated_field_bombs_are_refused_in_one_line_under_4_gib() {
    if std::process::Command::new("bash")
        .args(["-c", "true"])
        .status()
        .is_err()
    {
        println!("skipped: no bash to set an address-space limit with");
        return;
    }
    // A valid start: the string table's "" and two names, one sample type.
    let mut head = [field(6, b""), field(6, b"samples"), field(6, b"count")].concat();
    head.extend(field(1, &[0x08, 0x01, 0x10, 0x02]));
    // One message of `count` parts: its key and length first, then the parts.
    let one_message = |tag: u64, prefix: &[u8], part: &[u8], count: u64| {
        let mut start = head.clone();
        key(tag, 2, &mut start);
        varint(prefix.len() as u64 + part.len() as u64 * count, &mut start);
        start.extend_from_slice(prefix);
        repeated(&start, part, count)
    };
    const MEMORY: &str = "raise it with --max-memory)";
    const MANY: u64 = 500_000_000;
    let mut sample_of_values = vec![0x12];
    varint(MANY, &mut sample_of_values);
    let bombs: Vec<(&str, Vec<u8>, &str)> = vec![
        ("strings", repeated(&head, &field(6, b""), MANY), MEMORY),
        (
            "one-byte strings",
            repeated(&head, &field(6, b"a"), MANY / 2),
            MEMORY,
        ),
        (
            "mappings",
            repeated(&head, &field(3, b""), MANY),
            "mapping 1 has the reserved id 0",
        ),
        (
            "mappings with ids",
            repeated(&head, &field(3, &[0x08, 0x01]), MANY / 2),
            MEMORY,
        ),
        ("comments", repeated(&head, &[0x68, 0x00], MANY), MEMORY),
        (
            "sample types",
            repeated(&head, &field(1, b""), MANY),
            MEMORY,
        ),
        (
            "locations",
            repeated(&head, &field(4, b""), MANY),
            "location 1 has the reserved id 0",
        ),
        (
            "locations with ids",
            repeated(&head, &field(4, &[0x08, 0x01]), MANY / 2),
            MEMORY,
        ),
        (
            "functions",
            repeated(&head, &field(5, b""), MANY),
            "function 1 has the reserved id 0",
        ),
        (
            "functions with ids",
            repeated(&head, &field(5, &[0x08, 0x01]), MANY / 2),
            MEMORY,
        ),
        (
            "samples",
            repeated(&head, &field(2, b""), MANY),
            "sample 1 has no values",
        ),
        (
            "sample values",
            one_message(2, &sample_of_values, &[0x00], MANY),
            MEMORY,
        ),
        (
            "label entries",
            one_message(2, &[0x10, 0x01], &[0x1a, 0x00], MANY),
            MEMORY,
        ),
        (
            "location lines",
            one_message(4, &[0x08, 0x01], &[0x22, 0x00], MANY),
            MEMORY,
        ),
        (
            "goroutines (debug=2)",
            repeated(
                b"goroutine 1 [running]:\nmain.main()\n\t/a.go:1 +0x1\n\n",
                b"goroutine 1 [a]:\n\n",
                MANY / 10,
            ),
            MEMORY,
        ),
        (
            "blocks (debug=1)",
            repeated(b"goroutine profile: total 1\n", b"1 @ 0x1\n\n", MANY / 5),
            MEMORY,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, data, expected) in &bombs {
        assert!(data.len() < 4 << 20, "{name}: {} bytes", data.len());
        let file = format!("{}.prof", name.replace(' ', "-"));
        std::fs::write(dir.path().join(&file), data).unwrap();
        for command in [
            vec!["top", file.as_str()],
            vec!["report", file.as_str(), "--out", "out/r.md"],
        ] {
            let (code, _, stderr) = run_limited(&command, dir.path()).unwrap();
            let what = format!("{name}, {}", command[0]);
            assert_eq!(code, 1, "{what}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
            assert!(stderr.starts_with("error: "), "{what}: {stderr}");
            assert!(stderr.contains(expected), "{what}: {stderr}");
        }
    }
}
