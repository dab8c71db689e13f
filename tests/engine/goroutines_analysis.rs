//! The goroutine analyzer on the fixture sets and (ignored, needs ../shared) the real set.

use std::path::{Path, PathBuf};

use pprof_report::analyze::goroutines::{
    self, Expectation, GoroutineAnalysis, GoroutineInput, GoroutineOptions, GoroutineSource,
    MutexProfileState,
};
use pprof_report::dump::{self, GoroutineDump};
use pprof_report::profile::{self, DecodeOptions, Profile};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

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
struct Set {
    profile: Profile,
    debug1: GoroutineDump,
    debug2: Option<GoroutineDump>,
    mutex: Profile,
}

fn load(dir: &Path, prefix: &str) -> Set {
    let file = |suffix: &str| dir.join(format!("{prefix}-{suffix}"));
    let debug2 = file("goroutines-debug2.txt");
    Set {
        profile: protobuf(&file("goroutine.prof")),
        debug1: dump(&file("goroutines.txt")),
        debug2: debug2.exists().then(|| dump(&debug2)),
        mutex: protobuf(&file("mutex.prof")),
    }
}

/// The set's analysis with groups from `source` (the members it prefers are left out).
fn analyze(set: &Set, services: u32, source: GoroutineSource) -> GoroutineAnalysis {
    let input = GoroutineInput {
        profile: Some(&set.profile).filter(|_| source != GoroutineSource::Debug1),
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

fn fixtures() -> PathBuf {
    root().join("fixtures/profiles")
}

#[test]
fn fixture_sets_show_their_service_count_as_instances() {
    // The 6-service set was collected without mutex profiling.
    for (prefix, services, total, per_service, mutex) in [
        (
            "fixture-3svc-20261125-120000",
            3,
            37,
            "12.33",
            MutexProfileState::Recorded,
        ),
        (
            "fixture-6svc-20261125-121500",
            6,
            73,
            "12.17",
            MutexProfileState::Empty,
        ),
    ] {
        let set = load(&fixtures(), prefix);
        for source in [
            GoroutineSource::Debug2,
            GoroutineSource::Protobuf,
            GoroutineSource::Debug1,
        ] {
            let analysis = analyze(&set, services, source);
            assert_eq!(analysis.groups.source, source, "{prefix}");
            assert_eq!(analysis.totals.total, total, "{prefix}");
            assert!(analysis.totals.consistent, "{prefix}");
            let instances = analysis.instances.as_ref().expect("instances");
            assert_eq!(instances.instances, u64::from(services), "{prefix}");
            assert_eq!(instances.matches_declared, Some(true));
            assert_eq!(instances.declared_note, None);
            // Everything but the pprof writer's own goroutine is per service.
            assert_eq!(instances.explained_goroutines, total - 1, "{prefix}");
            assert_eq!(instances.per_instance, 12, "{prefix}");
            let dispatch = &analysis.groups.rows[0];
            assert_eq!(
                dispatch.label,
                "example.com/fixturegen/netwatch.(*Conn).Dispatch"
            );
            assert_eq!(dispatch.instance_factor, Some(4));
            assert_eq!(
                dispatch.instance_factor_text.as_deref(),
                Some(format!("{} = 4 × {services}", 4 * services).as_str())
            );
            // One goroutine per service waits on the config mutex: with an empty mutex
            // profile, that says mutex profiling was off while contention existed.
            assert_eq!(analysis.mutex_waiters.waiters, u64::from(services));
            assert_eq!(analysis.mutex_waiters.mutex_profile, mutex, "{prefix}");
            assert_eq!(
                analysis.mutex_waiters.profiling_off_with_contention,
                mutex == MutexProfileState::Empty
            );
            assert_eq!(
                analysis.mutex_waiters.groups[0].label,
                "example.com/fixturegen/service.(*Service).awaitConfig"
            );
            let per = analysis.per_service.as_ref().expect("per service");
            assert_eq!(per.per_service_text, per_service);
            assert_eq!(per.verdict, Expectation::Above);
            assert_eq!(analysis.states.is_some(), source == GoroutineSource::Debug2);
        }
    }
}

#[test]
fn fixture_debug2_states_and_creators() {
    let set = load(&fixtures(), "fixture-3svc-20261125-120000");
    let analysis = analyze(&set, 3, GoroutineSource::Debug2);
    let states = analysis.states.as_ref().expect("states");
    let state = |name: &str| {
        states
            .states
            .iter()
            .find(|s| s.state == name)
            .map_or(0, |s| s.goroutines)
    };
    assert_eq!(state("chan receive"), 12);
    assert_eq!(state("IO wait"), 9);
    assert_eq!(state("semacquire"), 3);
    assert_eq!(states.wait_buckets[0].goroutines, 37);
    assert!(states.leak_suspects.is_empty());
    let dispatch = &analysis.groups.rows[0];
    assert_eq!(
        dispatch.created_by[0].function,
        "example.com/fixturegen/service.(*Service).StartIdle"
    );
    assert_eq!(dispatch.states[0].state, "chan receive");
    assert_eq!(analysis.mutex_waiters.by_state[0].state, "semacquire");
}

fn real_dir() -> PathBuf {
    root().join("../shared/real/tsnsrv-storage-57svc-20251015-210532")
}

#[test]
#[ignore]
fn real_set_shows_59_instances_of_57_services() {
    let set = load(&real_dir(), "storage-57svc-20251015-210532");
    let analysis = analyze(&set, 57, GoroutineSource::Protobuf);
    let debug1 = analysis
        .totals
        .rows
        .iter()
        .find(|r| r.source == GoroutineSource::Debug1)
        .expect("debug=1 row");
    assert_eq!(debug1.goroutines, 6364);
    assert_eq!(analysis.totals.total, 6254);
    assert_eq!(analysis.totals.source, GoroutineSource::Protobuf);
    assert!(!analysis.totals.consistent);
    let instances = analysis.instances.as_ref().expect("instances");
    assert_eq!(instances.instances, 59);
    assert_eq!(
        instances.declared_note.as_deref(),
        Some("59 instances inferred, 57 declared")
    );
    for pool in ["RoutineEncryption", "RoutineDecryption", "RoutineHandshake"] {
        let label = format!("github.com/tailscale/wireguard-go/device.(*Device).{pool}");
        let group = analysis
            .groups
            .rows
            .iter()
            .find(|g| g.label == label)
            .unwrap_or_else(|| panic!("{label}"));
        assert_eq!(group.goroutines, 944);
        assert_eq!(group.instance_factor, Some(16));
        assert_eq!(group.instance_factor_text.as_deref(), Some("944 = 16 × 59"));
    }
    assert_eq!(
        analysis.mutex_waiters.mutex_profile,
        MutexProfileState::Empty
    );
    assert!(
        analysis
            .modules
            .iter()
            .any(|m| m.module == "tailscale.com" && m.version == "v1.86.5")
    );

    // The debug=1 dump alone (another moment: 30 groups of 59, not 35) says the same.
    let input = GoroutineInput {
        debug1: Some(&set.debug1),
        services: Some(57),
        ..GoroutineInput::default()
    };
    let alone = goroutines::analyze(&input, &GoroutineOptions::default()).expect("analysis");
    assert_eq!(alone.totals.total, 6364);
    assert_eq!(alone.groups.source, GoroutineSource::Debug1);
    let instances = alone.instances.as_ref().expect("instances");
    assert_eq!(instances.instances, 59);
    assert_eq!(instances.per_instance, 16 * 4 + 30);
}
