//! The decoder resolves everything profile.proto carries into the owned model.

use crate::common;

use pprof_report::profile::{DecodeOptions, decode};
use pprof_report::set::load::read_profile;

fn read(relative: &str) -> pprof_report::profile::Profile {
    read_profile(&common::fixture(relative), &DecodeOptions::default()).unwrap()
}

#[test]
fn gzipped_and_plain_input_decode_the_same() {
    let gz = std::fs::read(common::fixture("handmade/unsymbolized.pb.gz")).unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain).unwrap();
    let options = DecodeOptions::default();
    assert_eq!(
        decode(&gz, &options).unwrap(),
        decode(&plain, &options).unwrap()
    );
}

#[test]
fn header_fields_are_resolved() {
    let p = read("handmade/unsymbolized.pb.gz");
    assert_eq!(p.sample_types[0].kind, "wall");
    assert_eq!(p.sample_types[0].unit, "microseconds");
    let period = p.period_type.as_ref().unwrap();
    assert_eq!((period.kind.as_str(), p.period), ("wall", 1000));
    assert_eq!(p.time_nanos, 1_600_000_000_000_000_000);
    assert_eq!(p.duration_nanos, 1_000_000_000);
    assert_eq!(p.comments, vec!["#internal note", "collected by agent 1.2"]);
    assert_eq!(p.mappings[1].filename, "/lib/x86_64-linux-gnu/libc.so.6");
    assert_eq!(p.mappings[1].build_id, "abc123");
    assert!(p.mappings[0].has_functions);
    // A location without frames keeps its address and mapping.
    let unsymbolized = &p.locations[2];
    assert!(unsymbolized.lines.is_empty());
    assert_eq!(unsymbolized.address, 0x7f00_0000_1234);
    assert_eq!(unsymbolized.mapping, Some(1));
    assert_eq!(p.locations[5].mapping, None);
}

#[test]
fn inlined_frames_keep_their_order_and_labels_their_units() {
    let p = read("handmade/negative.pb");
    // Location 3: bytes.grow inlined into main.b, innermost first.
    let lines = &p.locations[2].lines;
    let names: Vec<&str> = lines
        .iter()
        .map(|l| p.functions[l.function].name.as_str())
        .collect();
    assert_eq!(names, ["bytes.grow", "main.b"]);
    assert_eq!((lines[0].line, lines[1].line), (40, 30));
    assert_eq!(p.sample(0).labels().strings["span"], ["a"]);
    assert_eq!(p.sample(2).labels().numbers["bytes"], [4096]);
    assert_eq!(p.sample(2).labels().number_units["bytes"], ["bytes"]);
    // A numeric label without a unit has no unit entry, as in pprof.
    assert_eq!(p.sample(4).labels().numbers["request"], [3]);
    assert!(!p.sample(4).labels().number_units.contains_key("request"));
    assert_eq!(p.sample(1).values().to_vec(), [-10, -900 * 1024]);
    assert_eq!(p.default_sample_index(), 1);
}

#[test]
fn drop_and_keep_frames_are_read() {
    let p = read("handmade/dropframes.pb");
    assert_eq!(
        p.drop_frames,
        r"malloc|operator new|runtime\..*|std::vector<.*>::push_back"
    );
    assert_eq!(p.keep_frames, r"runtime\.keepalive");
}

#[test]
fn go_runtime_profiles_decode() {
    let p = read("profiles/fixture-3svc-20261125-120000-allocs.prof");
    assert_eq!(p.sample_types.len(), 4);
    assert_eq!(p.default_sample_type.as_deref(), Some("alloc_space"));
    assert_eq!(p.main_binary(), Some("fixturegen"));
    assert!(p.samples().all(|s| s.values().len() == 4));
    // Object counts and sizes fit in 32 bits: the values take at most half of four i64s.
    let (bytes, samples) = (p.samples.value_bytes(), p.samples.len());
    assert!(
        bytes <= samples * 4 * 4,
        "{bytes} bytes for {samples} samples"
    );
    // Go's heap profiles carry the allocation size as a numeric label in bytes.
    assert!(
        p.samples()
            .any(|s| s.labels().numbers.contains_key("bytes"))
    );
}
