//! CPU by pprof label: each value's row is the sum of the samples carrying it, as
//! `go tool pprof -tags` shows, for CPU and for goroutines.

use crate::common;

use pprof_report::profile::DecodeOptions;
use pprof_report::set::load::read_profile;

#[test]
fn cpu_by_label_sums_the_samples_of_each_value() {
    use pprof_report::analyze::cpu::{self, CpuOptions};
    let profile = read_profile(
        &common::fixture("profiles/fixture-3svc-20261125-120000-cpu.prof"),
        &DecodeOptions::default(),
    )
    .unwrap();
    let analysis = cpu::analyze(&profile, &CpuOptions::default()).unwrap();
    let index = profile.sample_index_of("cpu").unwrap();
    let keys: Vec<&str> = analysis.labels.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(keys, ["op", "service"]);
    for table in &analysis.labels {
        for row in &table.values.rows {
            // The oracle: the samples carrying that value (or not carrying the key), summed.
            let expected: i64 = profile
                .samples()
                .filter(|s| match s.labels().strings.get(&table.key) {
                    Some(values) => values.contains(&row.name),
                    None => row.name == format!("(no {} label)", table.key),
                })
                .map(|s| s.value(index))
                .sum();
            assert_eq!(row.flat, expected, "{}={}", table.key, row.name);
        }
    }
    // pprof -tags: scan 7.5s of the labelled 10.3s.
    let op = &analysis.labels[0].values.rows[0];
    assert_eq!((op.name.as_str(), op.flat_text.as_str()), ("scan", "7.49s"));
}

#[test]
fn goroutines_by_label_count_the_goroutines_of_each_value() {
    use pprof_report::analyze::goroutines::{self, GoroutineInput};
    let profile = read_profile(
        &common::fixture("profiles/sim127-leaky-3svc-20261201-123000-goroutine.prof"),
        &DecodeOptions::default(),
    )
    .unwrap();
    let analysis = goroutines::analyze(
        &GoroutineInput {
            profile: Some(&profile),
            ..GoroutineInput::default()
        },
        &Default::default(),
    )
    .unwrap();
    let [node] = analysis.labels.as_slice() else {
        panic!("{:?}", analysis.labels)
    };
    assert_eq!(node.key, "node");
    for row in &node.values.rows {
        let expected: i64 = profile
            .samples()
            .filter(|s| match s.labels().strings.get("node") {
                Some(values) => values.contains(&row.name),
                None => row.name == "(no node label)",
            })
            .map(|s| s.value(0))
            .sum();
        assert_eq!(row.flat, expected, "node={}", row.name);
    }
    // go tool pprof -tags: 57 goroutines for each of the three nodes.
    let svc01 = node.values.rows.iter().find(|r| r.name == "svc01").unwrap();
    assert_eq!(svc01.flat, 57);
}
