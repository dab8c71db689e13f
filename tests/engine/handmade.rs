//! Hand-made profiles for the corners of pprof that Go's runtime never writes but other
//! profilers (and diff tools) do: drop_frames/keep_frames, unsymbolized addresses, shared
//! libraries, URL mapping names, comments, build ids, negative values, labels that keep equal
//! stacks apart, inlined frames. They are written here, committed under fixtures/handmade/,
//! and their goldens come from the real `go tool pprof` like every other golden.
//!
//! `PPROF_REPORT_BLESS=1 cargo test --test engine handmade` rewrites them; otherwise the test fails
//! if the committed bytes differ from what this file builds.

use crate::common;

use crate::common::ProfileBuilder as Builder;

/// drop_frames/keep_frames, with C++-style names whose argument lists pprof strips before
/// matching, and inlined frames inside pruned locations.
fn drop_frames_profile() -> Vec<u8> {
    let mut b = Builder::new();
    b.sample_type("samples", "count");
    b.sample_type("cpu", "nanoseconds");
    b.period_type("cpu", "nanoseconds", 10_000_000);
    b.mapping(1, 0x400000, 0x800000, "/opt/app/server", "");
    let functions = [
        "main.main",
        "main.serve",
        "malloc",
        "operator new(unsigned long)",
        "runtime.mallocgc",
        "runtime.keepalive",
        "std::vector<int>::push_back(int const&)",
        "(anonymous namespace)::Worker::run()",
        "main.handle",
        "main.parse",
    ];
    for (i, name) in functions.iter().enumerate() {
        b.function(
            i as u64 + 1,
            name,
            format!("/src/{}.cc", i % 3),
            10 * i as i64,
        );
    }
    // 1 main.main, 2 main.serve, 3 malloc, 4 operator new, 5 runtime.mallocgc,
    // 6 runtime.keepalive, 7 push_back, 8 Worker::run, 9 main.handle, 10 main.parse
    b.location(1, 1, 0x401000, &[(1, 5)]);
    b.location(2, 1, 0x402000, &[(2, 7)]);
    b.location(3, 1, 0x403000, &[(3, 1)]);
    b.location(4, 1, 0x404000, &[(4, 2), (9, 30)]); // operator new inlined into main.handle
    b.location(5, 1, 0x405000, &[(5, 3)]);
    b.location(6, 1, 0x406000, &[(6, 4)]);
    b.location(7, 1, 0x407000, &[(7, 8)]);
    b.location(8, 1, 0x408000, &[(8, 9)]);
    b.location(9, 1, 0x409000, &[(10, 40), (9, 31)]); // main.parse inlined into main.handle
    let ms = 10_000_000;
    b.sample(&[3, 4, 2, 1], &[7, 7 * ms], &[], &[]);
    b.sample(&[5, 9, 2, 1], &[3, 3 * ms], &[], &[]);
    b.sample(&[6, 5, 2, 1], &[2, 2 * ms], &[], &[]);
    b.sample(&[7, 8, 2, 1], &[5, 5 * ms], &[], &[]);
    b.sample(&[9, 2, 1], &[11, 11 * ms], &[], &[]);
    b.sample(&[8, 1], &[4, 4 * ms], &[], &[]);
    b.sample(&[4, 3], &[1, ms], &[], &[]);
    let (drop, keep) = (
        b.s(r"malloc|operator new|runtime\..*|std::vector<.*>::push_back"),
        b.s(r"runtime\.keepalive"),
    );
    b.field(|p| p.int(7, drop).int(8, keep));
    b.header(1_700_000_000_000_000_000, 2_000_000_000, &[]);
    b.finish()
}

/// Addresses without symbols, shared libraries, a URL as the main mapping's name (pprof
/// hides it), a build id, comments (those starting with '#' are hidden), a wall-time
/// profile in microseconds.
fn unsymbolized_profile() -> Vec<u8> {
    let mut b = Builder::new();
    b.sample_type("wall", "microseconds");
    b.period_type("wall", "microseconds", 1000);
    b.mapping(1, 0x1000, 0x9000, "http://symbols.example/bin/agent", "");
    b.mapping(
        2,
        0x7f00_0000_0000,
        0x7f00_0010_0000,
        "/lib/x86_64-linux-gnu/libc.so.6",
        "abc123",
    );
    b.mapping(3, 0x10_0000, 0x20_0000, "", "");
    b.function(1, "agent.poll", "agent/poll.py", 1);
    b.function(2, "", "agent/anon.py", 17);
    b.location(1, 1, 0x1100, &[(1, 12)]);
    b.location(2, 1, 0x1200, &[]);
    b.location(3, 2, 0x7f00_0000_1234, &[]);
    b.location(4, 2, 0x7f00_0000_5678, &[]);
    b.location(5, 3, 0x10_0100, &[]);
    b.location(6, 0, 0xdead, &[]);
    b.location(7, 1, 0x1300, &[(2, 19)]);
    b.sample(&[3, 2, 1], &[120_000], &[], &[]);
    b.sample(&[4, 2, 1], &[80_000], &[], &[]);
    b.sample(&[5, 1], &[40_000], &[], &[]);
    b.sample(&[6], &[20_000], &[], &[]);
    b.sample(&[7, 1], &[30_000], &[], &[]);
    b.sample(&[], &[5_000], &[], &[]);
    b.header(
        1_600_000_000_000_000_000,
        1_000_000_000,
        &["#internal note", "collected by agent 1.2"],
    );
    b.finish()
}

/// A diff-like profile: negative values, equal stacks kept apart by labels (so their values
/// do not cancel in pprof's total), numeric labels with units, zero samples, and frames that
/// are inlined in some stacks and not in others (partial-inline).
fn negative_profile() -> Vec<u8> {
    let mut b = Builder::new();
    b.sample_type("alloc_objects", "count");
    b.sample_type("alloc_space", "bytes");
    b.mapping(1, 0x400000, 0x500000, "/usr/bin/svc", "bid-1");
    let names = ["main.main", "main.a", "main.b", "bytes.grow", "main.c"];
    for (i, name) in names.iter().enumerate() {
        b.function(i as u64 + 1, name, "main.go", i as i64);
    }
    b.location(1, 1, 0x401000, &[(1, 10)]);
    b.location(2, 1, 0x402000, &[(2, 20)]);
    b.location(3, 1, 0x403000, &[(4, 40), (3, 30)]); // bytes.grow inlined into main.b
    b.location(4, 1, 0x404000, &[(4, 41)]); // bytes.grow called normally
    b.location(5, 1, 0x405000, &[(5, 50)]);
    let kb = 1024;
    b.sample(&[3, 2, 1], &[10, 900 * kb], &[("span", "a")], &[]);
    b.sample(&[3, 2, 1], &[-10, -900 * kb], &[("span", "b")], &[]);
    b.sample(
        &[4, 5, 1],
        &[-4, -300 * kb],
        &[],
        &[("bytes", 4096, "bytes")],
    );
    b.sample(&[4, 5, 1], &[6, 500 * kb], &[], &[("bytes", 8192, "bytes")]);
    b.sample(&[5, 1], &[3, 70 * kb], &[], &[("request", 3, "")]);
    b.sample(&[2, 1], &[0, 0], &[], &[]);
    b.sample(&[3, 5, 1], &[-1, -2 * kb], &[], &[]);
    b.sample(&[1], &[2, 5 * kb], &[], &[]);
    b.finish()
}

fn check(name: &str, bytes: Vec<u8>) {
    let path = common::fixture(&format!("handmade/{name}"));
    common::golden::assert_matches_normalized(&path, &bytes, common::content);
}

#[test]
fn handmade_profiles_are_current() {
    check("dropframes.pb", drop_frames_profile());
    check("unsymbolized.pb.gz", common::gzip(&unsymbolized_profile()));
    check("negative.pb", negative_profile());
}
