//! Profile sets: discovery from a directory or a prefix, classification by content.

use crate::common;

use pprof_report::profile::DecodeOptions;
use pprof_report::set::{self, MemberKind};

const SET_3SVC: &str = "profiles/fixture-3svc-20261125-120000";

#[test]
fn a_complete_fixture_set_is_classified_by_content() {
    let set = set::open(&common::fixture(SET_3SVC), &DecodeOptions::default()).unwrap();
    let kinds: Vec<MemberKind> = set.members.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, MemberKind::EXPECTED.to_vec());
    assert!(set.missing.is_empty());
    let naming = set.naming.unwrap();
    assert_eq!((naming.host.as_str(), naming.services), ("fixture", 3));
    assert_eq!(naming.collected_at, "2026-11-25 12:00:00");
}

#[test]
fn classification_ignores_misleading_names() {
    // A heap profile named like a cpu profile is still a heap profile; a contention
    // profile whose name says neither mutex nor block is reported as such.
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &str, to: &str| {
        std::fs::copy(
            common::fixture(&format!("{SET_3SVC}-{from}")),
            dir.path().join(to),
        )
        .unwrap();
    };
    copy("heap.prof", "x-cpu.prof");
    copy("mutex.prof", "x-goroutine.prof");
    copy("goroutines-debug2.txt", "x-heap.prof");
    let set = set::open(&dir.path().join("x"), &DecodeOptions::default()).unwrap();
    let kinds: Vec<(String, MemberKind)> = set
        .members
        .iter()
        .map(|m| {
            (
                m.path.file_name().unwrap().to_string_lossy().into_owned(),
                m.kind,
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("x-cpu.prof".to_string(), MemberKind::Heap),
            ("x-heap.prof".to_string(), MemberKind::GoroutineDebug2),
            ("x-goroutine.prof".to_string(), MemberKind::Contention),
        ]
    );
    // Neither mutex nor block is called missing while an unnamed contention profile exists.
    assert!(!set.missing.contains(&MemberKind::Mutex));
    assert!(set.missing.contains(&MemberKind::Cpu));
    assert!(set.naming.is_none());
}

#[test]
fn missing_members_are_listed_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    for member in ["cpu.prof", "goroutines.txt"] {
        std::fs::copy(
            common::fixture(&format!("{SET_3SVC}-{member}")),
            dir.path()
                .join(format!("web-2svc-20250102-030405-{member}")),
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join("web-2svc-20250102-030405-context.yaml"),
        "host: web\n",
    )
    .unwrap();
    let set = set::open(dir.path(), &DecodeOptions::default()).unwrap();
    assert_eq!(set.members.len(), 2);
    assert_eq!(
        set.missing,
        vec![
            MemberKind::Heap,
            MemberKind::Allocs,
            MemberKind::Goroutine,
            MemberKind::GoroutineDebug2,
            MemberKind::Mutex,
            MemberKind::Block
        ]
    );
    assert!(set.others.is_empty());
    assert!(
        set.context
            .as_ref()
            .is_some_and(|c| c.ends_with("web-2svc-20250102-030405-context.yaml"))
    );
    let (code, stdout, stderr) = common::run(&["members", "."], dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("from its name: host web, 2 services, collected 2025-01-02 03:04:05"));
    assert!(
        stdout.contains("heap profile                         collect it from /debug/pprof/heap")
    );
}

#[test]
fn a_directory_with_two_sets_asks_for_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    for set in ["b-2svc-20250101-000000", "a-1svc-20250101-000000"] {
        std::fs::copy(
            common::fixture(&format!("{SET_3SVC}-cpu.prof")),
            dir.path().join(format!("{set}-cpu.prof")),
        )
        .unwrap();
    }
    std::fs::create_dir(dir.path().join("sets")).unwrap();
    let (code, _, stderr) = common::run(&["members", "."], dir.path());
    assert_eq!(code, 1);
    assert_eq!(
        stderr.trim_end(),
        "error: .: holds 2 profile sets (a-1svc-20250101-000000, b-2svc-20250101-000000); \
         name one by its prefix, e.g. ./a-1svc-20250101-000000"
    );
}

#[test]
fn goroutine_text_dumps_and_protobuf_agree_on_the_total() {
    let set = set::open(&common::fixture(SET_3SVC), &DecodeOptions::default()).unwrap();
    let total = |kind| -> i64 {
        set.member(kind)
            .unwrap()
            .profile()
            .unwrap()
            .samples()
            .map(|s| s.value(0))
            .sum()
    };
    let protobuf = total(MemberKind::Goroutine);
    assert!(protobuf > 0);
    // Taken moments apart from one process whose goroutines are all long-lived.
    assert_eq!(total(MemberKind::GoroutineDebug1), protobuf);
    assert_eq!(total(MemberKind::GoroutineDebug2), protobuf);
}

#[test]
fn the_commented_context_example_reads() {
    let context =
        pprof_report::context::Context::load(&common::fixture("context-example.yaml")).unwrap();
    assert_eq!(context.services, Some(57));
    let process = context.process.unwrap();
    assert_eq!(process.rss.map(|r| r.0), Some(2_800_000_000));
    assert_eq!(process.uptime.map(|u| u.seconds), Some(385.0));
}
