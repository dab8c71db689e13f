//! Goroutine helpers that the fixture tests (engine/) and the real-set tests (real/) share:
//! loading a set's goroutine members, analysing them, checking a dump's profile.

use std::path::Path;

use pprof_report::analyze::goroutines::{
    self, GoroutineAnalysis, GoroutineInput, GoroutineOptions, GoroutineSource,
};
use pprof_report::dump::{self, GoroutineDump};
use pprof_report::profile::{self, DecodeOptions, Profile};

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn protobuf(path: &Path) -> Profile {
    profile::decode(&read(path), &DecodeOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn dump(path: &Path) -> GoroutineDump {
    dump::parse(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The members of a set named `PREFIX-kind…` in `dir`.
pub struct Set {
    pub profile: Profile,
    pub debug1: GoroutineDump,
    pub debug2: Option<GoroutineDump>,
    pub mutex: Profile,
}

pub fn load(dir: &Path, prefix: &str) -> Set {
    let file = |suffix: &str| dir.join(format!("{prefix}-{suffix}"));
    let debug2 = file("goroutines-debug2.txt");
    Set {
        profile: protobuf(&file("goroutine.prof")),
        debug1: dump(&file("goroutines.txt")),
        debug2: debug2.exists().then(|| dump(&debug2)),
        mutex: protobuf(&file("mutex.prof")),
    }
}

/// The set's analysis with groups from `source` (the members it prefers are left out: the
/// protobuf for `Debug2`, both for `Debug1`).
pub fn analyze(set: &Set, services: u32, source: GoroutineSource) -> GoroutineAnalysis {
    let input = GoroutineInput {
        profile: Some(&set.profile).filter(|_| source == GoroutineSource::Protobuf),
        debug1: Some(&set.debug1),
        debug2: set
            .debug2
            .as_ref()
            .filter(|_| source == GoroutineSource::Debug2),
        services: Some(services),
        expected_per_service: Some((2.0, 5.0)),
        uptime_seconds: None,
        mutex: Some(&set.mutex),
    };
    goroutines::analyze(&input, &GoroutineOptions::default()).expect("an analysis")
}

/// Functions are deduplicated by (name, file), and every location and sample points inside.
pub fn assert_consistent(profile: &Profile) {
    let mut keys: Vec<_> = profile
        .functions
        .iter()
        .map(|f| (&f.name, &f.filename))
        .collect();
    let count = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), count, "duplicate functions");
    for location in &profile.locations {
        for line in &location.lines {
            assert!(line.function < profile.functions.len());
        }
    }
    for sample in profile.samples() {
        assert_eq!(sample.values().len(), 1);
        assert!(sample.value(0) > 0);
        for location in sample.locations() {
            assert!(location < profile.locations.len());
        }
    }
}
