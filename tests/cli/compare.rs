//! Comparing sets: with itself (nothing changes), across service counts (scaling), before and
//! after an optimisation (the saving materialises), the gate, the baseline section and trend.

use crate::common;

use pprof_report::analyze::compare::{Comparison, GateSpec, parse_gate};
use pprof_report::jobs::{self as report, PrepareOptions, Prepared};
use pprof_report::profile::DecodeOptions;

const SIM14: &str = "profiles/sim-14svc-20261125-140000";
const SIM57: &str = "profiles/sim-57svc-20261125-145700";
const OFF: &str = "profiles/sim-portlist-off-57svc-20261125-150000";

fn prepared(set: &str) -> Prepared {
    let rules = report::load_rules(&[]).unwrap();
    report::prepare(
        &common::fixture(set),
        &PrepareOptions {
            context: None,
            rules: &rules,
            group_level: Default::default(),
            decode: &DecodeOptions::default(),
        },
    )
    .unwrap()
}

fn compare(before: &str, after: &str, gate: Vec<GateSpec>) -> Comparison {
    let rules = report::load_rules(&[]).unwrap();
    pprof_report::analyze::compare::compare(
        &prepared(before).side(),
        &prepared(after).side(),
        &rules,
        &pprof_report::analyze::compare::CompareOptions { rows: 15, gate },
    )
}

#[test]
fn a_set_compared_with_itself_changes_nothing() {
    let c = compare(SIM57, SIM57, vec![parse_gate("cpu>+0%").unwrap()]);
    assert!(!c.metrics.is_empty());
    for m in &c.metrics {
        assert!(
            m.change_percent.is_none_or(|p| p == 0.0),
            "{} changed: {}",
            m.name,
            m.change_text
        );
        assert_ne!(m.significant, Some(true), "{} is significant", m.name);
    }
    for table in &c.deltas {
        assert!(table.rows.is_empty(), "{} has deltas", table.what);
    }
    assert!(c.scaling.is_none(), "same service count: no exponent");
    assert!(c.gate.unwrap().passed);
}

#[test]
fn across_service_counts_port_listing_and_interface_enumeration_grow_super_linearly() {
    let c = compare(SIM14, SIM57, vec![]);
    let scaling = c.scaling.expect("different service counts");
    assert_eq!(
        (scaling.services_before, scaling.services_after),
        (14.0, 57.0)
    );
    for package in ["example.com/tsnsim/portlist", "example.com/tsnsim/netmon"] {
        let row = scaling
            .rows
            .iter()
            .find(|r| r.what == format!("CPU in {package}"))
            .unwrap_or_else(|| panic!("no exponent for {package}"));
        assert!(row.exponent > 1.0, "{package}: k = {}", row.exponent);
    }
    let per_service = c
        .metrics
        .iter()
        .find(|m| m.name == "CPU per service")
        .unwrap();
    assert!(per_service.change_percent.unwrap() > 0.0);
}

#[test]
fn disabling_port_listing_removes_its_cost_as_predicted() {
    let c = compare(SIM57, OFF, vec![]);
    let share = |name: &str| c.metrics.iter().find(|m| m.name == name).cloned().unwrap();
    let portlist = share("share of CPU in example.com/tsnsim/portlist");
    assert_eq!(portlist.after_text, "0.00% (0.00 cores)");
    // Points and cores: its 69.30% of 73.57% CPU was 0.51 cores.
    assert_eq!(portlist.change_text, "-69.30 pp (-0.51 cores)");
    let cpu = share("CPU");
    assert!(cpu.change_percent.unwrap() < -30.0, "{}", cpu.change_text);
    assert_eq!(cpu.significant, Some(true));
    let prediction = c
        .predictions
        .iter()
        .find(|p| p.title.starts_with("Port listing"))
        .expect("the first report's port listing prediction");
    assert!(prediction.predicted_text.ends_with(" cores"));
    assert!(
        prediction.verdict.starts_with("materialised"),
        "{}",
        prediction.verdict
    );
}

#[test]
fn the_gate_fails_on_significant_changes_only() {
    // 57 → 14 services: CPU per service falls; cpu rises in the other direction.
    let c = compare(
        SIM14,
        SIM57,
        vec![
            parse_gate("cpu>+10%").unwrap(),
            parse_gate("heap-per-service>-50%").unwrap(),
        ],
    );
    let gate = c.gate.unwrap();
    assert!(!gate.passed);
    assert!(gate.rows[0].failed, "{:?}", gate.rows[0]);
    // A per-service heap change within noise never fails the gate.
    let heap = &gate.rows[1];
    if heap.significant == Some(false) {
        assert!(!heap.failed);
    }
    // From the command line: exit 1, the report still written.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.md");
    let (code, stdout, stderr) = common::run(
        &[
            "compare",
            common::fixture(SIM14).to_str().unwrap(),
            common::fixture(SIM57).to_str().unwrap(),
            "--fail-on",
            "cpu>+10%",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("c.md"));
    assert!(
        stderr.starts_with("error: the regression gate failed"),
        "{stderr}"
    );
    let markdown = std::fs::read_to_string(&out).unwrap();
    assert!(markdown.contains("The gate **failed**."));
    common::check_markdown(&out);
}

#[test]
fn a_baseline_adds_the_comparison_and_a_differential_flame_graph() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.md");
    let (code, _, stderr) = common::run(
        &[
            "report",
            common::fixture(OFF).to_str().unwrap(),
            "--baseline",
            common::fixture(SIM57).to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let markdown = std::fs::read_to_string(&out).unwrap();
    assert!(markdown.contains("## Comparison with sim-57svc-20261125-145700"));
    assert!(markdown.contains("### Predicted against measured"));
    assert!(markdown.contains("(r/cpu-diff.svg)"));
    common::check_markdown(&out);
}

#[test]
fn a_trend_over_three_sets_renders() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.md");
    let sets: Vec<String> = [SIM14, SIM57, OFF]
        .iter()
        .map(|s| common::fixture(s).display().to_string())
        .collect();
    let mut args = vec!["trend"];
    args.extend(sets.iter().map(String::as_str));
    args.extend(["--out", out.to_str().unwrap()]);
    let (code, _, stderr) = common::run(&args, dir.path());
    assert_eq!(code, 0, "{stderr}");
    let markdown = std::fs::read_to_string(&out).unwrap();
    assert_eq!(markdown.matches("![").count(), 5, "five charts");
    assert_eq!(markdown.matches("\n### ").count(), 2, "two steps");
    common::check_markdown(&out);
    let (code, _, stderr) = common::run(&["trend", sets[0].as_str()], dir.path());
    assert_eq!(code, 2, "one set is a usage error: {stderr}");
}

#[test]
fn a_trend_as_json_is_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let sets: Vec<String> = [SIM14, SIM57, OFF]
        .iter()
        .map(|s| common::fixture(s).display().to_string())
        .collect();
    let mut args = vec!["trend"];
    args.extend(sets.iter().map(String::as_str));
    args.extend(["--format", "json"]);
    let (code, stdout, stderr) = common::run(&args, dir.path());
    assert_eq!(code, 0, "{stderr}");
    // The default name takes the format's extension.
    let out = dir.path().join(
        "reports/trend-sim-14svc-20261125-140000-to-sim-portlist-off-57svc-20261125-150000.json",
    );
    assert!(stdout.contains("trend-sim-14svc"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["sets"].as_array().unwrap().len(), 3);
    assert_eq!(json["steps"].as_array().unwrap().len(), 2, "two steps");
    assert_eq!(json["charts"].as_array().unwrap().len(), 5, "five charts");
    assert!(!json["metrics"].as_array().unwrap().is_empty());
    assert!(
        json["command"].as_str().unwrap().contains("--format json"),
        "{}",
        json["command"]
    );
    // The charts it names are written beside it.
    for chart in json["charts"].as_array().unwrap() {
        let file = out.parent().unwrap().join(chart["file"].as_str().unwrap());
        assert!(file.is_file(), "{}", file.display());
    }
}

#[test]
fn sets_with_missing_members_are_compared_on_what_they_share() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::fixture(&format!("{SIM57}-cpu.prof")),
        dir.path().join("only-57svc-20261125-145700-cpu.prof"),
    )
    .unwrap();
    let rules = report::load_rules(&[]).unwrap();
    let partial = report::prepare(
        &dir.path().join("only-57svc-20261125-145700"),
        &PrepareOptions {
            context: None,
            rules: &rules,
            group_level: Default::default(),
            decode: &DecodeOptions::default(),
        },
    )
    .unwrap();
    let c = pprof_report::analyze::compare::compare(
        &prepared(SIM57).side(),
        &partial.side(),
        &rules,
        &pprof_report::analyze::compare::CompareOptions {
            rows: 5,
            gate: vec![],
        },
    );
    assert!(c.metrics.iter().any(|m| m.name == "CPU"));
    let missing = c.not_compared.join("\n");
    assert!(
        missing.contains("goroutines: the second set has no value for it"),
        "{missing}"
    );
    assert!(
        missing.contains("in-use heap by function (cum): a set has no profile for it"),
        "{missing}"
    );
    assert!(c.deltas.iter().any(|t| t.what.starts_with("CPU")));
}

#[test]
fn the_same_cpu_for_twice_the_work_halves_the_cpu_per_request() {
    let rules = report::load_rules(&[]).unwrap();
    let traefik = "services/traefik-1svc-20261202-130000";
    let before = prepared(traefik);
    let mut after = prepared(traefik);
    let throughput = after.report.context.throughput.as_mut().unwrap();
    assert_eq!(throughput.unit, "requests");
    throughput.per_second *= 2.0;
    let options = pprof_report::analyze::compare::CompareOptions {
        rows: 15,
        gate: vec![],
    };
    let c =
        pprof_report::analyze::compare::compare(&before.side(), &after.side(), &rules, &options);
    let row = c
        .metrics
        .iter()
        .find(|m| m.name == "CPU per request")
        .expect("a CPU per request row");
    assert_eq!(row.change_text, "-50.0%");
    // 390 CPU samples against the same 390 over twice the requests: far beyond noise.
    assert_eq!(row.significant, Some(true), "{}", row.significance_text);
    // Without throughput in one context, no such row.
    after.report.context.throughput = None;
    let c =
        pprof_report::analyze::compare::compare(&before.side(), &after.side(), &rules, &options);
    assert!(
        c.metrics
            .iter()
            .all(|m| !m.name.starts_with("CPU per request"))
    );
}
