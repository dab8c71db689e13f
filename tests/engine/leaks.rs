//! Goroutine leaks the runtime proved (fixtures/profiles/sim127-leaky-…: the simulator built
//! with Go 1.27, 4 abandoned lookups per node, collected with the goroutine leak profile and
//! its dump): the report counts what the leak profile holds, at the site, with its creator and
//! labels; a set without the leak profile says it was not collected.

use crate::common;

use pprof_report::analyze::investigation::ReportContext;
use pprof_report::profile::DecodeOptions;
use pprof_report::set::load::read_profile;

const LEAKY: &str = "profiles/sim127-leaky-3svc-20261201-123000";

fn report(set: &str) -> (ReportContext, String) {
    let out = tempfile::tempdir().unwrap();
    let path = common::fixture(set);
    let mut reports = Vec::new();
    for format in ["json", "md"] {
        let file = out.path().join(format!("r.{format}"));
        let (code, _, stderr) = common::run(
            &[
                "report",
                path.to_str().unwrap(),
                "--format",
                format,
                "--out",
                file.to_str().unwrap(),
            ],
            out.path(),
        );
        assert_eq!(code, 0, "{stderr}");
        reports.push(std::fs::read_to_string(file).unwrap());
    }
    (
        serde_json::from_str(&reports[0]).unwrap(),
        reports.remove(1),
    )
}

#[test]
fn the_report_counts_the_goroutines_the_leak_profile_holds_at_their_site() {
    // The oracle: the leak profile's own counts, summed here.
    let profile = read_profile(
        &common::fixture(&format!("{LEAKY}-goroutineleak.prof")),
        &DecodeOptions::default(),
    )
    .unwrap();
    let in_profile: i64 = profile.samples().map(|s| s.value(0)).sum();
    assert_eq!(in_profile, 12, "3 nodes × 4 abandoned lookups");

    let (report, markdown) = report(LEAKY);
    let leaks = report.leaks.as_ref().expect("leak analysis");
    assert_eq!(leaks.total, in_profile as u64);
    assert_eq!(leaks.dump_leaked, Some(12));
    assert_eq!(leaks.sites.len(), 1);
    let site = &leaks.sites[0];
    assert_eq!(site.site, "example.com/tsnsim/resolver.answer");
    assert_eq!(site.blocked_on.as_deref(), Some("chan send"));
    assert_eq!(
        site.created_by.as_deref(),
        Some("example.com/tsnsim/resolver.Lookup")
    );
    assert_eq!(
        site.labels,
        ["node=svc01 (4)", "node=svc02 (4)", "node=svc03 (4)"]
    );
    assert!(markdown.contains("**12 goroutines can never run again**"));
    assert!(markdown.contains("**12 leaked**, proven by the runtime"));
    // A proof needs no floor: the rule fires and ranks.
    assert!(
        report
            .findings
            .recommendations
            .iter()
            .any(|r| r.finding.id == "goroutine-leaks-proven")
    );
}

#[test]
fn a_set_without_the_leak_profile_says_it_was_not_collected() {
    let (report, markdown) = report("profiles/sim119-3svc-20261201-120000");
    assert!(report.leaks.is_none());
    assert!(markdown.contains("Not collected: the set has no goroutine leak profile"));
    assert!(
        report
            .findings
            .recommendations
            .iter()
            .all(|r| r.finding.id != "goroutine-leaks-proven")
    );
}
