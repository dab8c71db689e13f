//! Merging profiles as pprof's `profile.Merge` does (what `pgo` writes): overlapping stacks
//! summed across profiles whose ids, addresses and mappings differ, labels keeping equal
//! stacks apart, the header combined, incompatible profiles refused, zero samples dropped,
//! and the profile.proto fields added since 2023 (`Line.column`, `doc_url`) carried through.
//! The same merge against the real `go tool pprof -proto` is `.ci/pgo-check.sh`.

use pprof_report::profile::{
    DecodeOptions, MergeError, Profile, decode, encode, encode_gzip, merge,
};

use crate::common::builder::Builder;

fn read(bytes: &[u8]) -> Profile {
    decode(bytes, &DecodeOptions::default()).unwrap()
}

/// A Go-shaped CPU profile of `main.work` called from `main.main` (and `main.idle` when
/// `idle` is given), with its own ids and load address.
fn cpu(base: u64, time: i64, period: i64, samples: &[(&[u64], i64)], idle: bool) -> Vec<u8> {
    let mut b = Builder::new();
    b.sample_type("samples", "count");
    b.sample_type("cpu", "nanoseconds");
    b.period_type("cpu", "nanoseconds", period);
    b.times(time, 10_000_000_000);
    b.mapping(7, base, base + 0x10_0000, "/srv/app", true);
    // Ids in another order than the other profile's, so that only names can match.
    b.function(30, "main.main", "main.main", "/src/main.go", 5);
    b.function(20, "main.work", "main.work", "/src/main.go", 20);
    if idle {
        b.function(10, "main.idle", "main.idle", "/src/main.go", 40);
        b.location(3, 7, base + 0x300, &[(10, 41)]);
    }
    b.location(1, 7, base + 0x100, &[(30, 8)]);
    b.location(2, 7, base + 0x200, &[(20, 22)]);
    for &(stack, count) in samples {
        b.sample(stack, &[count, count * period], &[]);
    }
    b.finish()
}

/// (function names leaf first, values) of every sample, in order.
fn stacks(p: &Profile) -> Vec<(Vec<String>, Vec<i64>)> {
    p.samples()
        .map(|s| {
            (
                p.stack_names(s).map(str::to_string).collect(),
                s.values().to_vec(),
            )
        })
        .collect()
}

#[test]
fn overlapping_stacks_are_summed_and_the_header_combined() {
    // Loaded at different addresses (address space randomisation): the same code.
    let a = read(&cpu(
        0x40_0000,
        2_000,
        10_000_000,
        &[(&[2, 1], 3), (&[1], 1)],
        false,
    ));
    let b = read(&cpu(
        0x55_0000,
        1_000,
        20_000_000,
        &[(&[3, 1], 5), (&[2, 1], 4)],
        true,
    ));
    let merged = merge(&[&a, &b]).unwrap();
    let s = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(
        stacks(&merged),
        [
            (
                s(&["main.work", "main.main"]),
                vec![7, 30_000_000 + 80_000_000]
            ),
            (s(&["main.main"]), vec![1, 10_000_000]),
            (s(&["main.idle", "main.main"]), vec![5, 100_000_000]),
        ]
    );
    // One mapping, one function and one location per piece of code, whatever each profile
    // called them.
    assert_eq!(merged.mappings.len(), 1);
    assert_eq!(merged.mappings[0].memory_start, 0x40_0000);
    assert_eq!(merged.functions.len(), 3);
    assert_eq!(merged.locations.len(), 3);
    assert_eq!(merged.time_nanos, 1_000, "the earliest");
    assert_eq!(merged.duration_nanos, 20_000_000_000, "the sum");
    assert_eq!(merged.period, 20_000_000, "the largest");
    // Written and read back, it is the same profile.
    assert_eq!(read(&encode_gzip(&merged).unwrap()), merged);
    assert_eq!(read(&encode(&merged)), merged);
}

#[test]
fn labels_keep_equal_stacks_apart() {
    let labelled = |value: &str| {
        let mut b = Builder::new();
        b.sample_type("cpu", "nanoseconds");
        b.function(1, "main.work", "main.work", "w.go", 1);
        b.location(1, 0, 0, &[(1, 2)]);
        b.sample(&[1], &[10], &[("tenant", value)]);
        read(&b.finish())
    };
    let (a, b, c) = (labelled("a"), labelled("b"), labelled("a"));
    let merged = merge(&[&a, &b, &c]).unwrap();
    let tenants: Vec<(String, i64)> = merged
        .samples()
        .map(|s| (s.labels().strings["tenant"][0].clone(), s.value(0)))
        .collect();
    assert_eq!(tenants, [("a".to_string(), 20), ("b".to_string(), 10)]);
}

#[test]
fn incompatible_profiles_are_refused() {
    let cpu_profile = read(&cpu(0x40_0000, 1, 10_000_000, &[(&[1], 1)], false));
    let mut b = Builder::new();
    b.sample_type("inuse_objects", "count");
    b.sample_type("inuse_space", "bytes");
    b.period_type("space", "bytes", 524_288);
    let heap = read(&b.finish());
    let error = merge(&[&cpu_profile, &heap]).unwrap_err();
    assert_eq!(
        error,
        MergeError::Incompatible {
            index: 1,
            what: "period type [space/bytes] differs from the first profile's [cpu/nanoseconds]"
                .to_string()
        }
    );
    // Same period type, other sample types.
    let mut b = Builder::new();
    b.sample_type("cpu", "nanoseconds");
    b.period_type("cpu", "nanoseconds", 10_000_000);
    let one_type = read(&b.finish());
    let error = merge(&[&cpu_profile, &one_type]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "sample types [cpu/nanoseconds] differ from the first profile's [samples/count cpu/nanoseconds]"
    );
    assert_eq!(merge(&[]).unwrap_err(), MergeError::Nothing);
}

#[test]
fn zero_samples_are_dropped_with_what_only_they_used() {
    // A profile and its negation (what -base makes) cancel: nothing of them is left.
    let a = read(&cpu(
        0x40_0000,
        1,
        10_000_000,
        &[(&[2, 1], 3), (&[1], 1)],
        false,
    ));
    let b = read(&cpu(
        0x40_0000,
        1,
        10_000_000,
        &[(&[2, 1], -3), (&[3], 0)],
        true,
    ));
    let merged = merge(&[&a, &b]).unwrap();
    assert_eq!(
        stacks(&merged),
        [(vec!["main.main".to_string()], vec![1, 10_000_000])]
    );
    assert_eq!(merged.locations.len(), 1);
    assert_eq!(merged.functions.len(), 1);
}

#[test]
fn columns_and_doc_url_are_carried_through() {
    let profile = |column: i64, doc: &str| {
        let mut b = Builder::new();
        b.sample_type("cpu", "nanoseconds");
        if !doc.is_empty() {
            b.doc_url(doc);
        }
        b.function(1, "main.work", "main.work", "w.go", 1);
        b.location_with_columns(1, 0, 0, &[(1, 2, column)]);
        b.sample(&[1], &[10], &[]);
        read(&b.finish())
    };
    let a = profile(7, "");
    assert_eq!(a.locations[0].lines[0].column, 7);
    let b = profile(9, "https://example.com/cpu");
    let c = profile(7, "https://example.com/other");
    let merged = merge(&[&a, &b, &c]).unwrap();
    // A frame at another column is another location: two samples.
    let columns: Vec<(i64, i64)> = merged
        .samples()
        .map(|s| {
            let l = s.locations().next().unwrap();
            (merged.locations[l].lines[0].column, s.value(0))
        })
        .collect();
    assert_eq!(columns, [(7, 20), (9, 10)]);
    assert_eq!(
        merged.doc_url, "https://example.com/cpu",
        "the first one given"
    );
    let again = read(&encode_gzip(&merged).unwrap());
    assert_eq!(again.locations[0].lines[0].column, 7);
    assert_eq!(again.doc_url, "https://example.com/cpu");
}
