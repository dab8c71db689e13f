//! The window profiles and runtime.MemStats in the report: used where the set has them
//! (the sim119/sim127 sets, collected with them), a fallback said in words where it does
//! not (the older sim-14svc set). Expected figures come from the raw files (the MemStats
//! lines, the profiles' values summed here) and from `go tool pprof -top` of the window
//! profiles (fixtures/README.md quotes it).

use crate::common;

use pprof_report::analyze::contention::{self, ContentionKind};
use pprof_report::analyze::investigation::{self, InvestigationOptions, ReportContext};
use pprof_report::analyze::memory::RateBasis;
use pprof_report::analyze::memstats::StackSource;
use pprof_report::context::Context;
use pprof_report::profile::{DecodeOptions, Profile};
use pprof_report::render::templates::Templates;
use pprof_report::set::{self, MemberKind, ProfileSet};

const SIM119: &str = "profiles/sim119-3svc-20261201-120000";
const SIM127: &str = "profiles/sim127-3svc-20261201-121500";
const OLD: &str = "profiles/sim-14svc-20261125-140000";

fn open(prefix: &str) -> (ProfileSet, ReportContext, String) {
    let set = set::open(&common::fixture(prefix), &DecodeOptions::default()).unwrap();
    let context = Context::load(set.context.as_ref().unwrap()).unwrap();
    let (report, _) = investigation::investigate(&set, &context, &InvestigationOptions::default());
    let markdown = Templates::new(None).unwrap().render(&report).unwrap();
    (set, report, markdown)
}

fn total(profile: &Profile, kind: &str) -> i64 {
    let index = profile.sample_index_of(kind).unwrap();
    profile.samples().map(|s| s.value(index)).sum()
}

/// `# Name = value` of the raw heap text, read without the parser.
fn raw_field(prefix: &str, name: &str) -> String {
    let text = std::fs::read_to_string(common::fixture(&format!("{prefix}-heap.txt"))).unwrap();
    let key = format!("\n# {name} = ");
    let at = text.find(&key).unwrap() + key.len();
    text[at..].lines().next().unwrap().to_string()
}

#[test]
fn the_new_members_are_recognised_and_the_sets_are_complete() {
    for prefix in [SIM119, SIM127] {
        let set = set::open(&common::fixture(prefix), &DecodeOptions::default()).unwrap();
        assert!(set.missing.is_empty(), "{prefix}: {:?}", set.missing);
        // Every optional member but the goroutine leak profile: Go 1.19 does not serve it,
        // and sim127 was collected before collect fetched it (sim127-leaky has it).
        for kind in MemberKind::OPTIONAL {
            let leak = matches!(
                kind,
                MemberKind::GoroutineLeak | MemberKind::GoroutineLeakDebug2
            );
            assert_eq!(set.member(kind).is_some(), !leak, "{prefix}: {kind:?}");
        }
        assert!(set.others.is_empty(), "{prefix}: {:?}", set.others);
    }
}

#[test]
fn the_allocation_rate_is_over_the_window() {
    for prefix in [SIM119, SIM127] {
        let (set, report, markdown) = open(prefix);
        let window = set
            .member(MemberKind::AllocsWindow)
            .and_then(|m| m.profile())
            .unwrap();
        let rate = report.memory.as_ref().unwrap().rate.as_ref().unwrap();
        assert_eq!(rate.basis, RateBasis::Window, "{prefix}");
        let seconds = window.duration_nanos as f64 / 1e9;
        assert_eq!(rate.seconds, seconds);
        let bytes = total(window, "alloc_space") as f64;
        assert!((rate.bytes_per_second - bytes / seconds).abs() < 1e-6);
        assert!(
            markdown.contains(&format!(
                "Over the {seconds:.2} s window of the CPU profile (the allocs profile of that window) it allocated {}",
                rate.bytes_per_second_text
            )),
            "{prefix}"
        );
        assert!(!markdown.contains("lifetime average"), "{prefix}");
    }
    // go tool pprof -top -sample_index=alloc_space: "14762.33kB total", "Duration: 5.01s".
    let (_, report, _) = open(SIM119);
    let rate = report.memory.unwrap().rate.unwrap();
    assert_eq!(rate.bytes_per_second_text, "2.88MB/s");
}

#[test]
fn contention_is_over_the_window() {
    let (set, report, markdown) = open(SIM127);
    let window = set
        .member(MemberKind::MutexWindow)
        .and_then(|m| m.profile())
        .unwrap();
    let mutex = &report.mutex;
    assert!(mutex.window.as_ref().unwrap().used);
    assert_eq!(mutex.total_delay, total(window, "delay"));
    // go tool pprof -top -sample_index=delay of the mutex window: "4.91ms total".
    assert_eq!(mutex.total_delay_text, "4.91ms");
    assert!(markdown.contains(
        "over the window. The profile covers the 5.01 s window of the CPU profile (`/debug/pprof/mutex?seconds=N`)."
    ));
    assert!(report.block.window.as_ref().unwrap().used);
    // The 1.19 set's mutex profile since start is empty; its window holds one contention.
    let (_, report, _) = open(SIM119);
    assert_eq!(report.mutex.total_delay_text, "15.15us");
}

#[test]
fn a_quiet_window_shows_the_profile_since_start_and_says_so() {
    let lifetime = set::load::read_profile(
        &common::fixture(&format!("{SIM127}-mutex.prof")),
        &DecodeOptions::default(),
    )
    .unwrap();
    // An empty mutex profile given the window's duration: a window that recorded nothing.
    let mut quiet = set::load::read_profile(
        &common::fixture(&format!("{SIM119}-mutex.prof")),
        &DecodeOptions::default(),
    )
    .unwrap();
    assert_eq!(quiet.samples().count(), 0);
    quiet.duration_nanos = 5_000_000_000;
    let analysis = contention::analyze_with_window(
        Some(&lifetime),
        Some(&quiet),
        ContentionKind::Mutex,
        10,
        Some(10.0),
    );
    let window = analysis.window.as_ref().unwrap();
    assert!(!window.used);
    assert_eq!(analysis.total_delay, total(&lifetime, "delay"));
    assert!(analysis.per_second_text.is_some());
    // Without a profile since start, the empty window is the verdict (profiling off).
    let alone =
        contention::analyze_with_window(None, Some(&quiet), ContentionKind::Mutex, 10, None);
    assert!(alone.window.unwrap().used);
    assert_eq!(alone.verdict, contention::Verdict::ProfilingOff);
}

#[test]
fn stack_memory_and_gc_come_from_memstats() {
    let (_, report, markdown) = open(SIM119);
    let stacks = report.stacks.unwrap();
    assert_eq!(stacks.source, StackSource::MemStats);
    let raw_stack = raw_field(SIM119, "Stack");
    let inuse: u64 = raw_stack.split(" / ").next().unwrap().parse().unwrap();
    assert_eq!(stacks.bytes, inuse);
    let goroutines = report.goroutines.unwrap().totals.total;
    assert_eq!(stacks.goroutines, Some(goroutines));
    assert!(markdown.contains(&format!(
        "Goroutine stacks take {} (`StackInuse` from runtime.MemStats",
        stacks.bytes_text
    )));
    let memstats = report.memstats.unwrap();
    let gc = memstats.gc.unwrap();
    assert_eq!(gc.num_gc.to_string(), raw_field(SIM119, "NumGC"));
    let uptime = report.context.process.unwrap().uptime.unwrap().seconds;
    assert_eq!(
        gc.per_minute_text.unwrap(),
        format!("{:.2}", gc.num_gc as f64 / uptime * 60.0)
    );
    assert!(markdown.contains("GC cycles since the process started"));
    assert!(markdown.contains("These count from the process's start, not over the CPU window."));
}

#[test]
fn an_older_set_falls_back_and_says_so() {
    let (set, report, markdown) = open(OLD);
    assert!(set.missing.is_empty());
    assert!(report.memstats.is_none());
    let rate = report.memory.unwrap().rate.unwrap();
    assert_eq!(rate.basis, RateBasis::Uptime);
    assert!(markdown.contains(
        "The set has no allocs profile over the CPU window (`allocs?seconds=N`), so this is a lifetime average."
    ));
    assert!(report.mutex.window.is_none());
    assert!(markdown.contains(
        "The profile counts from the process's start, not over the CPU profile's window."
    ));
    let stacks = report.stacks.unwrap();
    assert_eq!(stacks.source, StackSource::Floor);
    let goroutines = report.goroutines.unwrap().totals.total;
    assert_eq!(stacks.bytes, goroutines * 2048);
    assert!(markdown.contains(&format!(
        "Goroutine stacks take at least {}: {goroutines} goroutines × 2 KiB",
        stacks.bytes_text
    )));
    assert!(
        markdown.contains("The set has no runtime.MemStats (`heap?debug=1`), so no GC figures.")
    );
}
