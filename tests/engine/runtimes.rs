//! The runtime's function names of four generations (fixtures/runtimes: one workload built by
//! Go 1.19, 1.21, 1.24 and 1.27, between which the names changed) read alike: the syscall share, preemption and the GC write
//! barrier come out as `go tool pprof` shows them (fixtures/runtimes/EXPECTED.md holds its
//! output, made before the code that reads these sets).

use pprof_report::analyze::cpu::{self, CpuOptions};
use pprof_report::analyze::language::Language;
use pprof_report::profile::DecodeOptions;
use pprof_report::set::load::read_profile;

const SETS: [&str; 4] = [
    "go119-3svc-20261202-120000",
    "go121-3svc-20261202-120000",
    "go124-3svc-20261202-120000",
    "go127-3svc-20261202-120000",
];

/// The flat% of the rows of `-top -nodecount=25` for `set` in EXPECTED.md whose function
/// ends with one of `suffixes`.
fn pprof_flat_share(set: &str, suffixes: &[&str]) -> f64 {
    let expected = std::fs::read_to_string(crate::common::fixture("runtimes/EXPECTED.md")).unwrap();
    let heading = format!("### {}: -top", &set[..5]);
    let block = expected.split(&heading).nth(1).unwrap();
    let block = block.split("```").nth(1).unwrap();
    block
        .lines()
        .filter(|line| {
            let name = line.split_whitespace().last().unwrap_or("");
            suffixes.iter().any(|s| name.ends_with(s))
        })
        .map(|line| {
            let flat = line.split_whitespace().nth(1).unwrap();
            flat.trim_end_matches('%').parse::<f64>().unwrap()
        })
        .sum()
}

fn analysis(set: &str) -> cpu::CpuAnalysis {
    let profile = read_profile(
        &crate::common::fixture(&format!("runtimes/{set}-cpu.prof")),
        &DecodeOptions::default(),
    )
    .unwrap();
    cpu::analyze(
        &profile,
        &CpuOptions {
            language: Language::Go,
            ..CpuOptions::default()
        },
    )
    .unwrap()
}

fn category_share(analysis: &cpu::CpuAnalysis, name: &str) -> f64 {
    analysis
        .categories
        .as_ref()
        .unwrap()
        .rows
        .iter()
        .find(|r| r.name == name)
        .map_or(0.0, |r| r.flat_share)
}

#[test]
fn the_syscall_share_is_pprofs_share_of_syscall_leaves_in_both_generations() {
    for set in SETS {
        let oracle = pprof_flat_share(set, &["syscall.Syscall6", "syscall/linux.Syscall6"]);
        assert!(oracle > 50.0, "{set}: EXPECTED.md gives {oracle}");
        let analysis = analysis(set);
        let ours = analysis.syscalls.as_ref().unwrap().share;
        assert!(
            (ours - oracle).abs() <= 1.0,
            "{set}: syscall share {ours:.2}% against pprof's {oracle:.2}%"
        );
        assert!((category_share(&analysis, "syscalls") - ours).abs() < 1e-9);
    }
}

#[test]
fn async_preemption_is_its_own_category() {
    for set in SETS {
        let oracle = pprof_flat_share(set, &["runtime.asyncPreempt"]);
        assert!(oracle > 3.0, "{set}: EXPECTED.md gives {oracle}");
        let ours = category_share(&analysis(set), "preemption");
        assert!(
            ours >= oracle - 1.0,
            "{set}: preemption {ours:.2}% against asyncPreempt's {oracle:.2}% flat"
        );
    }
}

#[test]
fn write_barriers_are_gc_and_assembly_helpers_are_not_packages() {
    use pprof_report::analyze::language::package_in;
    for set in SETS {
        let analysis = analysis(set);
        assert!(category_share(&analysis, "garbage collection") > 0.0);
        let profile = read_profile(
            &crate::common::fixture(&format!("runtimes/{set}-cpu.prof")),
            &DecodeOptions::default(),
        )
        .unwrap();
        // Every function without a package in its name is given its file's package.
        let mut seen = Vec::new();
        for f in &profile.functions {
            if f.name.contains('.') {
                continue;
            }
            let package = package_in(Language::Go, &f.name, &f.filename);
            assert_ne!(package, f.name, "{set}: {} is its own package", f.name);
            seen.push((f.name.clone(), package));
        }
        if set.starts_with("go127") {
            assert!(
                seen.contains(&("memeqbody".to_string(), "internal/bytealg".to_string())),
                "{set}: {seen:?}"
            );
        }
        // Since Go 1.21 the write barrier has no package in its name.
        if !set.starts_with("go119") {
            assert!(
                seen.contains(&("gcWriteBarrier".to_string(), "runtime".to_string())),
                "{set}: {seen:?}"
            );
        }
    }
}
