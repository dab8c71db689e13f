//! The goroutine analyzer on the fixture sets (the real set's check is in tests/real/).

use std::path::PathBuf;

use crate::common;
use crate::common::goroutines::{analyze, load};
use pprof_report::analyze::goroutines::{Expectation, GoroutineSource, MutexProfileState};

fn fixtures() -> PathBuf {
    common::root().join("fixtures/profiles")
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

#[test]
fn the_goroutine_analysis_before_the_memory_one_gives_the_same_report() {
    use pprof_report::analyze::investigation::{self, InvestigationOptions};
    use pprof_report::context::Context;
    use pprof_report::profile::DecodeOptions;
    // A set with every analysis to order: CPU, heap, allocs, the goroutine profile and both
    // dumps, contention; the findings need the goroutine analysis.
    let set = pprof_report::set::open(
        &fixtures().join("sim-57svc-20261125-145700"),
        &DecodeOptions::default(),
    )
    .unwrap();
    let context = Context::load(set.context.as_ref().unwrap()).unwrap();
    let report = |memory_scarce| {
        let options = InvestigationOptions {
            rules: pprof_report::rules::load(&[]).unwrap(),
            memory_scarce,
            ..Default::default()
        };
        investigation::investigate(&set, &context, &options).0
    };
    let (side_by_side, one_after_the_other) = (report(false), report(true));
    assert!(side_by_side.goroutines.is_some() && side_by_side.memory.is_some());
    assert!(!side_by_side.findings.recommendations.is_empty());
    assert_eq!(side_by_side, one_after_the_other);
}
