//! The report of the real production profile set, checked from its JSON.

use crate::common;

use std::path::PathBuf;

use pprof_report::analyze::contention::Verdict;
use pprof_report::analyze::investigation::ReportContext;

/// The set these checks' numbers come from, by name: any other set would fail them.
fn real_set() -> PathBuf {
    crate::real(crate::SET)
}

fn analysis() -> (tempfile::TempDir, ReportContext) {
    let out = tempfile::tempdir().unwrap();
    let set = real_set();
    let context = common::root().join(".ci/real-context.yaml");
    let json = out.path().join("real.json");
    let (code, _, stderr) = common::run(
        &[
            "report",
            set.to_str().unwrap(),
            "--context",
            context.to_str().unwrap(),
            "--format",
            "json",
            "--out",
            json.to_str().unwrap(),
        ],
        out.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let report: ReportContext =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (out, report)
}

#[test]
#[ignore = "needs ../shared/real, outside the repository"]
fn the_real_set_reads_as_its_operators_saw_it() {
    let (_dir, report) = analysis();
    // A Go program's profiles, by their Go runtime frames: every Go analysis applies.
    assert!(report.language.is_go, "{}", report.language.evidence_text);
    let cpu = report.cpu.as_ref().expect("cpu analysis");
    let syscalls = cpu.syscalls.as_ref().expect("syscall attribution (Go)");
    assert_eq!(cpu.utilisation_text, "121.31%");
    // About 90% of CPU in syscall leaves…
    assert!((89.0..91.5).contains(&syscalls.share), "{}", syscalls.share);
    // …made almost entirely by port listing and interface enumeration.
    let package_cum = |name: &str| {
        cpu.packages
            .rows
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.cum_share)
            .unwrap_or_else(|| panic!("{name} not among the top packages"))
    };
    let portlist = package_cum("tailscale.com/portlist");
    let netmon = package_cum("tailscale.com/net/netmon");
    assert!((48.0..50.0).contains(&portlist), "portlist {portlist}");
    assert!((46.0..48.0).contains(&netmon), "netmon {netmon}");
    // One attribution: the subsystems rank as the packages' cum does, port listing first (it
    // owns util/dirwalk, which only it calls), then interface enumeration.
    let subsystems: Vec<&str> = cpu
        .subsystems
        .as_ref()
        .unwrap()
        .rows
        .iter()
        .take(2)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(
        subsystems,
        ["tailscale.com/portlist", "tailscale.com/net/netmon"]
    );
    // netmon costs more than net.(*Interface).Addrs alone (35%) suggests.
    let addrs = cpu
        .top_cum
        .items
        .iter()
        .chain(cpu.top_flat.items.iter())
        .find(|i| i.name == "net.(*Interface).Addrs");
    if let Some(addrs) = addrs {
        assert!(netmon > addrs.cum as f64 / cpu.total as f64 * 100.0 + 10.0);
    }
    let syscall_by_package: f64 = syscalls
        .by_package
        .rows
        .iter()
        .filter(|r| {
            r.name.starts_with("tailscale.com/portlist")
                || r.name.starts_with("tailscale.com/net/netmon")
                || r.name.starts_with("tailscale.com/util/dirwalk")
        })
        .map(|r| r.cum_share)
        .sum();
    assert!(
        syscall_by_package > 0.95 * syscalls.share,
        "{syscall_by_package}"
    );
    // The WireGuard pools hold about 87% of the in-use heap.
    let heap = report
        .memory
        .as_ref()
        .unwrap()
        .inuse_space
        .as_ref()
        .unwrap();
    let leader = &heap.top.items[0];
    assert!(
        leader.name.ends_with("PopulatePools.func3"),
        "{}",
        leader.name
    );
    let share = leader.flat as f64 / heap.top.total as f64 * 100.0;
    assert!((86.0..88.0).contains(&share), "{share}");
    // Empty mutex and block profiles: profiling was not enabled.
    assert_eq!(report.mutex.verdict, Verdict::ProfilingOff);
    assert_eq!(report.block.verdict, Verdict::ProfilingOff);
}

#[test]
#[ignore = "needs ../shared/real, outside the repository"]
fn the_real_set_gets_a_complete_markdown_report() {
    let out = tempfile::tempdir().unwrap();
    let set = real_set();
    let context = common::root().join(".ci/real-context.yaml");
    let md = out.path().join("real.md");
    let (code, _, stderr) = common::run(
        &[
            "report",
            set.to_str().unwrap(),
            "--context",
            context.to_str().unwrap(),
            "--html",
            "--out",
            md.to_str().unwrap(),
        ],
        out.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    common::check_markdown(&md);
    for svg in ["cpu", "heap-inuse", "allocs", "goroutines"] {
        assert!(
            out.path().join(format!("real/{svg}.svg")).exists(),
            "{svg}.svg"
        );
    }
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(markdown.contains("That is not evidence of no contention"));
}

#[test]
#[ignore = "needs ../shared/real, outside the repository"]
fn the_real_set_goroutines_and_recommendations() {
    let (_dir, report) = analysis();
    let g = report.goroutines.as_ref().expect("goroutine analysis");
    let totals: Vec<(String, u64)> = g
        .totals
        .rows
        .iter()
        .map(|r| (r.source_text.clone(), r.goroutines))
        .collect();
    assert!(
        totals.contains(&("debug=1 dump".to_string(), 6364)),
        "{totals:?}"
    );
    assert!(
        totals.contains(&("goroutine profile".to_string(), 6254)),
        "{totals:?}"
    );
    let instances = g.instances.as_ref().expect("instances inferred");
    assert_eq!(instances.instances, 59);
    assert_eq!(instances.declared, Some(57));
    for pool in ["RoutineEncryption", "RoutineDecryption", "RoutineHandshake"] {
        let group = g
            .groups
            .rows
            .iter()
            .find(|r| r.label.ends_with(pool))
            .unwrap_or_else(|| panic!("no {pool} group"));
        assert_eq!(group.instance_factor, Some(16), "{pool}");
        assert_eq!(group.instance_factor_text.as_deref(), Some("944 = 16 × 59"));
    }
    // The top two recommendations: port listing and interface enumeration, in cores of the
    // process's 122% CPU.
    let recommendations = &report.findings.recommendations;
    let ids: Vec<&str> = recommendations
        .iter()
        .map(|r| r.finding.id.as_str())
        .collect();
    assert_eq!(
        &ids[..2],
        ["portlist-polling", "netmon-interface-enumeration"],
        "{ids:?}"
    );
    for r in &recommendations[..2] {
        let estimate = r.finding.estimate.as_ref().unwrap();
        assert!(
            estimate.amount_text.ends_with(" cores"),
            "{}",
            estimate.amount_text
        );
        assert!(
            estimate.arithmetic.contains("× 122% process CPU"),
            "{}",
            estimate.arithmetic
        );
        assert!(
            estimate.amount > 0.3 && estimate.amount < 0.7,
            "{}",
            estimate.amount
        );
    }
    // From the empty mutex and block profiles, nothing but "enable them".
    for r in recommendations {
        let mentions_contention = r
            .finding
            .evidence
            .iter()
            .any(|e| e.what.contains("mutex") || e.what.contains("block profile"));
        if mentions_contention {
            assert!(
                r.finding
                    .actions
                    .iter()
                    .all(|a| a.kind == pprof_report::rules::ActionKind::Profiling),
                "{} recommends more than enabling profiling",
                r.finding.id
            );
        }
    }
    assert!(ids.contains(&"mutex-profiling-off") && ids.contains(&"block-profiling-off"));
    assert!(!ids.contains(&"lock-contention"));
    let summary = report.summary.top_recommendation.as_ref().unwrap();
    assert_eq!(summary.title, recommendations[0].finding.title);
    // The summary's three things are the first three recommendations, port listing and
    // interface enumeration first; and it says in words that the 6254 goroutines are not
    // what burns the CPU (the scheduler and GC are about 1% and 0.4% of it).
    let things: Vec<&str> = report
        .summary
        .things
        .iter()
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(things, ids[..3].to_vec());
    assert_eq!(
        things[..2],
        ["portlist-polling", "netmon-interface-enumeration"]
    );
    // Which syscalls: /proc reads and netlink round trips, as go tool pprof's cum of
    // each wrapper gives them (syscall.read 34.40%, recvfrom 29.92%, sendto 12.52%).
    let cpu = report.summary.cpu.as_ref().unwrap();
    assert_eq!(
        cpu.syscall_calls_text.as_deref(),
        Some("read 34.40%, recvfrom 29.91%, sendto 12.50%")
    );
    // The hot path the hand-written investigation showed: the poller down to its /proc
    // reads, with the cum at each step.
    let path: Vec<&str> = report.cpu.as_ref().unwrap().hot_paths[0]
        .steps
        .iter()
        .map(|s| s.function.as_str())
        .collect();
    for step in [
        "tailscale.com/ipn/ipnlocal.(*LocalBackend).readPoller",
        "tailscale.com/portlist.(*Poller).Poll",
        "tailscale.com/portlist.(*linuxImpl).AppendListeningPorts",
        "tailscale.com/portlist.(*linuxImpl).parseProcNetFile",
        "bufio.(*Reader).ReadSlice",
    ] {
        assert!(path.contains(&step), "{step} not in {path:?}");
    }
    assert_eq!(path.last(), Some(&"syscall.read"));
    let ruled_out = report.summary.ruled_out.join(" ");
    assert!(
        ruled_out.contains("6254 goroutines, but the scheduler takes")
            && ruled_out.contains("the goroutine count is not what burns the CPU"),
        "{ruled_out}"
    );
}
