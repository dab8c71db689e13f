//! The goroutine analyzer on the real set.

use pprof_report::analyze::goroutines::{
    self, GoroutineInput, GoroutineOptions, GoroutineSource, MutexProfileState,
};

use crate::common::goroutines::{analyze, load};
use crate::{PREFIX, SET, real};

#[test]
#[ignore = "needs ../shared/real, outside the repository"]
fn real_set_shows_59_instances_of_57_services() {
    let set = load(&real(SET), PREFIX);
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
