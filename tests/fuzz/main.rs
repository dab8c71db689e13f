//! Seeded mutation fuzzing of every parser, under `cargo test` on stable (issue 8).
//!
//! Each target starts from the project's own fixtures and feeds its parser (and the code
//! after it) mutated copies: truncations at many boundaries first, then random stacks of
//! mutations — generic byte ones, line-aware text ones, YAML-tree ones, and for profiles
//! structure-aware protobuf ones (dangling, duplicate, reserved and cyclic ids, string index
//! misuse, mismatched value counts, extreme numbers, overlong varints, huge length
//! prefixes, repeated-field bombs), gzipped now and then. Every input must end in `Ok` or a clean one-line error;
//! a panic, a slow input or a broken property is written to
//! `target/tmp/fuzz-crashes/<target>/` and fails the test, naming the file.
//!
//! By default a fixed number of inputs from a fixed seed: cheap and deterministic.
//! `PPROF_REPORT_FUZZ_SECONDS=N` runs each target for N seconds instead (still seeded;
//! `PPROF_REPORT_FUZZ_SEED` changes the seed); `.ci/run` does that in release mode.
//! Inputs that failed once live in tests/fuzz-regressions/<target>/ and are replayed by
//! `regressions_replay_cleanly`.

// Test code unwraps: a panic with its message is how a test reports a failure.
#![allow(clippy::unwrap_used)]

mod harness;
mod mutate;
mod pb;
mod targets;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use harness::{Config, Rng, Runner};
use targets::{Target, gzip};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `dir` whose names pass `keep`, sorted (the seed order must not depend on
/// the file system).
fn files(dir: &str, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && keep(&p.file_name().unwrap().to_string_lossy()))
        .collect();
    out.sort();
    out
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("fixture gunzips");
    out
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The seeds of a target: the fixtures it reads in real use (gzipped ones both ways).
fn corpus(target: Target) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut add = |path: &Path| {
        let data = read(path);
        if path.to_string_lossy().ends_with(".gz") {
            out.push(gunzip(&data));
        }
        out.push(data);
    };
    match target {
        Target::Profile => {
            files("fixtures/profiles", |n| n.ends_with(".prof"))
                .iter()
                .for_each(|p| add(p));
            files("fixtures/handmade", |_| true)
                .iter()
                .for_each(|p| add(p));
        }
        Target::Debug1 => {
            files("fixtures/profiles", |n| n.ends_with("-goroutines.txt"))
                .iter()
                .for_each(|p| add(p));
            add(&root().join("fixtures/goroutine/debug1.txt"));
        }
        Target::Debug2 => {
            // The simulator's dumps are 2 MB each: the small ones come first and weigh more.
            files("fixtures/goroutine", |n| n.starts_with("debug2"))
                .iter()
                .for_each(|p| add(p));
            files("fixtures/profiles", |n| {
                n.contains("-goroutines-debug2.txt")
            })
            .iter()
            .for_each(|p| add(p));
        }
        Target::Context => {
            add(&root().join("fixtures/context-example.yaml"));
            files("fixtures/profiles", |n| n.ends_with("-context.yaml"))
                .iter()
                .for_each(|p| add(p));
        }
        Target::Rules => files("src/rules", |n| n.ends_with(".yaml"))
            .iter()
            .for_each(|p| add(p)),
        Target::BacklogTask => {
            for dir in ["tasks", "completed", "drafts"] {
                files(&format!("fixtures/backlog/{dir}"), |n| n.ends_with(".md"))
                    .iter()
                    .for_each(|p| add(p));
            }
        }
        // The committed reports, and the inputs that once broke attach (refused now, so the
        // harness always sees refusals as well as acceptances, whatever the reports say).
        Target::BacklogReport => files("reports", |n| n.ends_with(".md"))
            .iter()
            .chain(
                files("tests/fuzz-regressions/backlog-report", |n| {
                    n.ends_with(".md")
                })
                .iter(),
            )
            .for_each(|p| add(p)),
        Target::MemStats => files("fixtures/profiles", |n| n.ends_with("-heap.txt"))
            .iter()
            .for_each(|p| add(p)),
        Target::Pipeline => {
            for member in targets::PIPELINE_MEMBERS {
                let path = root().join(format!(
                    "fixtures/profiles/{}-{member}",
                    targets::PIPELINE_SET
                ));
                let data = if path.exists() {
                    read(&path)
                } else {
                    // The set has no context file: the commented example stands in.
                    read(&root().join("fixtures/context-example.yaml"))
                };
                out.push([format!("{member}\n").into_bytes(), data].concat());
            }
        }
    }
    out
}

const DEBUG1_WORDS: &[&str] = &[
    "goroutine profile: total 999999999999999999999\n",
    "goroutine profile: total 0\n",
    "goroutine profile: total 3\n",
    "999999999999999999999 @ 0x1\n",
    "9223372036854775807 @ 0x4396f6 0x4673e1\n",
    "1 @\n",
    "0 @ 0x1\n",
    "-1 @ 0x1\n",
    "1 @ 0xffffffffffffffff 0x10000000000000000\n",
    "1 @ 0x1 0x1 0x1 0x1\n",
    "# labels: {\"k\":\"v\"}\n",
    "# labels: {\"\\xff\":\"\\u00e9\\U0010ffff\\777\\400\\uD800\"}\n",
    "# labels: {\"a\":\"b\",}\n",
    "# labels: {\"a\"\n",
    "# labels: {}\n",
    "#\t0xffffffffffffffff\tmain.f+0x0\t/a.go:99999999999999999999\n",
    "#\t0x1\tmain.f+0x\t/a.go:1\n",
    "#\t0x1\t+0x10\t:1\n",
    "#\t0x1\n",
    "#\t0x0\tmain.f\t\t\t\t/a.go:-1\n",
    "#\t0x4396f5\truntime.gopark+0xd5\truntime/proc.go:363\n",
    "#\n",
    "#\t\t\t\n",
];

const MEMSTATS_WORDS: &[&str] = &[
    "\n# runtime.MemStats\n",
    "# NumGC = 18446744073709551615\n",
    "# NumGC = 18446744073709551616\n",
    "# NumGC = -1\n",
    "# NumGC = 300\n",
    "# StackInuse = 1\n",
    "# Stack = 18446744073709551615 / 0\n",
    "# Stack = 1 /\n",
    "# Stack = 1 / 2 / 3\n",
    "# GCCPUFraction = 1e-300\n",
    "# GCCPUFraction = 1.5\n",
    "# GCCPUFraction = NaN\n",
    "# PauseNs = []\n",
    "# PauseNs = [18446744073709551615 18446744073709551615]\n",
    "# PauseNs = [1 2\n",
    "# PauseEnd = [0]\n",
    "# HeapAlloc = 0x10\n",
    "# MaxRSS = \n",
    "# = 5\n",
    "heap profile: 0: 0 [0: 0] @ heap/1048576\n",
];

const DEBUG2_WORDS: &[&str] = &[
    "goroutine 1 [running]:\n",
    "goroutine 18446744073709551615 [chan receive, 99999999999999999999 minutes, locked to thread]:\n",
    "goroutine 7 [select, 18446744073709551615 minutes]:\n",
    "goroutine 5 gp=0xc000007340 m=nil [select]:\n",
    "goroutine 5 gp= [select]:\n",
    "goroutine 2 []:\n",
    "goroutine 3 [:\n",
    "goroutine 4 [sleep, , ]:\n",
    "created by main.main in goroutine 99999999999999999999\n",
    "created by main.main in goroutine\n",
    "created by \n",
    "created by main.start\n",
    "\t/x.go:12 +0x1d\n",
    "\t/x.go:99999999999999999999 +0x1d\n",
    "\t:12\n",
    "\tC:/go/src/x.go:12 +0xzz\n",
    "\t/x.go\n",
    "...additional frames elided...\n",
    "...18446744073709551616 frames elided...\n",
    "goroutine running on other thread; stack unavailable\n",
    "[originating from goroutine 1]:\n",
    "[originating from goroutine 99999999999999999999]:\n",
    "main.f(...)\n",
    "main.(*T).g(0xc000010000, {0x7f1, 0x5})\n",
    "panic(\n",
    "(\n",
    "runtime.goexit()\n",
];

const YAML_WORDS: &[&str] = &[
    "services: 0\n",
    "services: -1\n",
    "services: 4294967296\n",
    "services: 99999999999999999999999\n",
    "cpu_profile: 1e400s\n",
    "cpu_profile: -5m\n",
    "cpu_profile: 99999999999999999999h\n",
    "  cpu_percent: .nan\n",
    "  cpu_percent: .inf\n",
    "  cpu_percent: -1e308\n",
    "  rss: 1e400GB\n",
    "  rss: 18446744073709551616\n",
    "  rss: -1KB\n",
    "  uptime: 0s\n",
    "  uptime: 1e999s\n",
    "  uptime: NaNs\n",
    "  threads: 0\n",
    "  goroutines_per_service: 5-2\n",
    "  goroutines_per_service: 0-0\n",
    "  goroutines_per_service: 1e999\n",
    "  goroutines_per_service: -3--1\n",
    "process: []\n",
    "process: 3\n",
    "expectations: ~\n",
    "notes: *undefined\n",
    "&anchor\n",
    "<<: *a\n",
    "? x\n",
    "- \n",
    "---\n",
    "...\n",
    "{\n",
    "]\n",
    "\t\n",
    "\"unterminated\n",
    "'\n",
    "|\n",
    ">-\n",
    "!!str\n",
    "!!int x\n",
    "!<tag:yaml.org,2002:float> nan\n",
    "        above: .nan\n",
    "        above: -1e999\n",
    "        pattern: '('\n",
    "        pattern: 'a{1000}{1000}{1000}'\n",
    "        pattern: '(?i)'\n",
    "    impact:\n      condition: 18446744073709551615\n",
    "    severity: critical\n",
    "    severity: \"high\\nlow\"\n",
    "    severity: h\n\n     t\n",
    "host: \"a\\nb\"\n",
    "services: \"5\\n\"\n",
    "      - metric: nonsense\n",
    "    when: []\n",
    "    actions: {}\n",
    "    finding: '{value} {value2} {value3} {subject} {{'\n",
];

const BACKLOG_WORDS: &[&str] = &[
    "---\n",
    "---\r\n",
    "--- \n",
    "----\n",
    "<!-- SECTION:NOTES:BEGIN -->\n",
    "<!-- SECTION:NOTES:END -->\n",
    "<!-- SECTION:DESCRIPTION:BEGIN -->\n",
    "<!-- SECTION:DESCRIPTION:END -->\n",
    "<!-- SECTION:PLAN:END -->\n",
    "<!-- AC:BEGIN -->\n",
    "<!-- AC:END -->\n",
    "<!-- AC:NOPE -->\n",
    "<!-- SECTION:: -->\n",
    "<!-- SECTION::BEGIN -->\n",
    "<!-- pprof-report:BEGIN x -->\n",
    "<!-- pprof-report:END x -->\n",
    "<!-- pprof-report:BEGIN  -->\n",
    "<!-- pprof-report:END -->\n",
    "## Implementation Notes\n",
    "documentation:\n",
    "documentation: []\n",
    "documentation: [a, 'b', \"c\"\n",
    "documentation: [,,]\n",
    "documentation: ]\n",
    "documentation: '['\n",
    "  - \n",
    "  -\n",
    "-\n",
    "    - 'x'\n",
    "updated_date:\n",
    "updated_date: '2025-10-16 11:00'\n",
    "created_date: '2025-10-16 11:00'\n",
    "id: task-17\n",
    "title: \"unterminated\n",
    "a: &a [*a]\n",
    "\u{feff}---\n",
    "\r\n",
    "\r",
];

const REPORT_WORDS: &[&str] = &[
    "## Executive summary\n",
    "## Executive summary \n",
    "## Recommendations\n",
    "## \n",
    "| 1 | title | high | 0.5 cores |\n",
    "| 99999999999999999999 | t | low | – |\n",
    "| 1 |\n",
    "|\n",
    "| x | y | z | w |\n",
    "| 1 | a | b\n",
    "| 0 | <!-- pprof-report:END x --> | b | c |\n",
    "<!-- pprof-report:END ",
    "<!-- SECTION:NOTES:END -->\n",
    "---\n",
    "- finding\n",
];

/// One mutated input of `target` from `seed` (one to four stacked mutations).
fn mutate(rng: &mut Rng, target: Target, seed: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seed.to_vec();
    // Mostly one mutation, so that inputs stay close enough to valid to reach the code
    // after the parser; sometimes a stack of them.
    let rounds = match rng.below(4) {
        0 | 1 => 1,
        2 => 2,
        _ => rng.range(3, 5),
    };
    match target {
        Target::Profile => {
            for _ in 0..rounds {
                data = mutate_profile(rng, &data, corpus);
            }
            // The gzip path: the mutated bytes compressed, sometimes the stream itself broken.
            if !pprof_report::profile::is_gzip(&data) && rng.chance(1, 5) {
                data = gzip(&data);
                if rng.chance(1, 3) {
                    mutate::bytes(rng, &mut data, &[]);
                }
                if rng.chance(1, 8) {
                    // Two gzip members: Go's reader (and ours) reads both.
                    let other = gzip(rng.pick::<Vec<u8>>(corpus));
                    data.extend_from_slice(&other);
                }
            }
        }
        Target::Debug1 | Target::Debug2 => {
            let words = if target == Target::Debug1 {
                DEBUG1_WORDS
            } else {
                DEBUG2_WORDS
            };
            let plain = if pprof_report::profile::is_gzip(&data) {
                gunzip(&data)
            } else {
                data
            };
            data = plain;
            for _ in 0..rounds {
                mutate::text(rng, &mut data, words, corpus);
            }
            if rng.chance(1, 8) {
                data = gzip(&data);
            }
        }
        Target::Context | Target::Rules => {
            for _ in 0..rounds {
                data = mutate_yaml(rng, &data, corpus);
            }
        }
        Target::BacklogTask => {
            for _ in 0..rounds {
                mutate::text(rng, &mut data, BACKLOG_WORDS, corpus);
            }
        }
        Target::BacklogReport => {
            for _ in 0..rounds {
                mutate::text(rng, &mut data, REPORT_WORDS, corpus);
            }
        }
        Target::MemStats => {
            for _ in 0..rounds {
                mutate::text(rng, &mut data, MEMSTATS_WORDS, corpus);
            }
        }
        Target::Pipeline => {
            let (member, content) = targets::pipeline_input(seed);
            let kind = if member.ends_with(".prof") {
                Target::Profile
            } else if member == "goroutines.txt" {
                Target::Debug1
            } else if member.ends_with(".txt") {
                Target::Debug2
            } else {
                Target::Context
            };
            let own: Vec<Vec<u8>> = corpus
                .iter()
                .map(|c| targets::pipeline_input(c))
                .filter(|(m, _)| *m == member)
                .map(|(_, c)| c.to_vec())
                .collect();
            let mutated = mutate(rng, kind, content, &own);
            data = [format!("{member}\n").into_bytes(), mutated].concat();
        }
    }
    data
}

fn mutate_profile(rng: &mut Rng, data: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let raw = if pprof_report::profile::is_gzip(data) {
        let mut out = Vec::new();
        match flate2::read::MultiGzDecoder::new(data).read_to_end(&mut out) {
            Ok(_) => out,
            Err(_) => data.to_vec(),
        }
    } else {
        data.to_vec()
    };
    // A repeated-field bomb now and then: rare, since each is a megabyte to decode.
    if rng.chance(1, 40) {
        return pb::bomb(rng, &raw);
    }
    match rng.below(10) {
        0..=4 => match pb::decode(&raw) {
            Some(mut message) => {
                for _ in 0..rng.range(1, 3) {
                    pb::mutate(rng, &mut message);
                }
                pb::encode(&message)
            }
            None => pb::wire(rng, &raw),
        },
        5..=7 => pb::wire(rng, &raw),
        _ => {
            let mut out = raw;
            mutate::bytes(rng, &mut out, corpus);
            out
        }
    }
}

fn mutate_yaml(rng: &mut Rng, data: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    match rng.below(10) {
        0..=3 => mutate::yaml_tree(rng, data).unwrap_or_else(|| data.to_vec()),
        4..=7 => {
            let mut out = data.to_vec();
            mutate::text(rng, &mut out, YAML_WORDS, corpus);
            out
        }
        8 => {
            let attacks = mutate::yaml_attacks();
            let attack = rng.pick(&attacks).clone();
            match rng.chance(1, 2) {
                true => attack.into_bytes(),
                false => {
                    // The attack as the value of a field of the real file.
                    let text = String::from_utf8_lossy(data);
                    let lines: Vec<&str> = text.lines().collect();
                    let at = rng.below(lines.len() + 1);
                    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                    out.insert(at, attack);
                    out.join("\n").into_bytes()
                }
            }
        }
        _ => {
            let mut out = data.to_vec();
            mutate::bytes(rng, &mut out, corpus);
            out
        }
    }
}

/// Cuts of one seed: every byte for small files, else many line or field boundaries and
/// random offsets.
fn cuts(rng: &mut Rng, target: Target, seed: &[u8], budgeted: bool) -> Vec<usize> {
    let every_byte_up_to = if budgeted { 16 << 10 } else { 1024 };
    if seed.len() <= every_byte_up_to {
        return (0..seed.len()).collect();
    }
    let mut out: Vec<usize> = match target {
        Target::Profile => pb::field_boundaries(seed),
        _ => seed
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1)
            .collect(),
    };
    let random = if budgeted { 2048 } else { 16 };
    out.extend((0..random).map(|_| rng.below(seed.len())));
    let keep = if budgeted { usize::MAX } else { 24 };
    // An even sample of the boundaries when they are too many for this run.
    if out.len() > keep {
        let step = out.len() / keep;
        out = out.into_iter().step_by(step.max(1)).take(keep).collect();
    }
    out
}

/// Inputs of the random phase per target without a time budget (debug build; release
/// builds run ten times as many in about the same time).
fn default_count(target: Target) -> usize {
    match target {
        Target::Profile => 80,
        Target::Debug1 => 30,
        Target::Debug2 => 15,
        Target::Context => 15,
        Target::Rules => 10,
        Target::BacklogTask => 40,
        Target::BacklogReport => 25,
        Target::Pipeline => 2,
        Target::MemStats => 40,
    }
}

/// Seeds larger than this are left out of a run without a time budget: one 2 MB dump
/// takes a second in a debug build.
const DEFAULT_MAX_SEED: usize = 64 << 10;

/// Seeds run as they are in a run without a time budget: the small ones.
const DEFAULT_MAX_SEED_RUN: usize = 4 << 10;

/// Truncations in a run without a time budget, spread evenly over all the seeds' cuts.
const DEFAULT_CUTS: usize = 16;

fn fuzz(target: Target) {
    let config = Config::from_env();
    let mut rng = Rng::new(config.target_seed(target));
    let budgeted = config.seconds.is_some();
    let mut corpus = corpus(target);
    if !budgeted {
        corpus.retain(|seed| seed.len() <= DEFAULT_MAX_SEED);
    }
    assert!(!corpus.is_empty(), "no seeds for {}", target.name());
    let started = Instant::now();
    let mut runner = Runner::new(target, config);
    let check = |data: &[u8]| targets::run(target, data);

    // The seeds themselves: they are real files, and must not fail. (Without a time budget
    // only the small ones: the others are read by the report and golden tests anyway.)
    let mut seeds_run = 0;
    for seed in &corpus {
        if budgeted || (seed.len() <= DEFAULT_MAX_SEED_RUN && target != Target::Pipeline) {
            runner.run(seed, check);
            seeds_run += 1;
        }
    }
    let seeds_ok = runner.ok;

    // Truncations (not for the pipeline: one run is a whole report).
    let mut sweep: Vec<(usize, usize)> = Vec::new();
    if target != Target::Pipeline {
        for (i, seed) in corpus.iter().enumerate() {
            sweep.extend(
                cuts(&mut rng, target, seed, budgeted)
                    .into_iter()
                    .map(|c| (i, c)),
            );
        }
    }
    if !budgeted && sweep.len() > DEFAULT_CUTS {
        let step = sweep.len() / DEFAULT_CUTS;
        sweep = sweep.into_iter().step_by(step).take(DEFAULT_CUTS).collect();
    }
    if budgeted {
        // Shuffled, so that a budget too short for every cut still cuts every seed.
        for i in (1..sweep.len()).rev() {
            let j = rng.below(i + 1);
            sweep.swap(i, j);
        }
    }
    let mut sweep = sweep.into_iter();
    let (mut random, mut random_ok) = (0usize, 0usize);
    let count = default_count(target);
    loop {
        if runner.stopped() {
            break;
        }
        // Sweep and random inputs alternate, so a short budget still has both.
        let next_cut = sweep.next();
        if let Some((i, cut)) = next_cut {
            runner.run(&corpus[i][..cut], check);
        }
        if !config.more(started, random, count) {
            if next_cut.is_none() || budgeted {
                break;
            }
            continue;
        }
        let seed = rng.pick(&corpus).clone();
        let input = mutate(&mut rng, target, &seed, &corpus);
        let before = runner.ok;
        runner.run(&input, check);
        random += 1;
        random_ok += runner.ok - before;
    }
    println!(
        "fuzz {}: {} seeds run ({} accepted), {} random inputs ({} accepted)",
        target.name(),
        seeds_run,
        seeds_ok,
        random,
        random_ok
    );
    let (ok, errors) = (runner.ok, runner.errors);
    let failed = runner.stopped();
    runner.finish();
    if !failed {
        // The fixtures hold broken Backlog.md tasks (on purpose) and reports that are not
        // investigation reports; every other seed is a valid file.
        if !matches!(target, Target::BacklogTask | Target::BacklogReport) {
            assert_eq!(
                seeds_ok,
                seeds_run,
                "a seed of {} is refused",
                target.name()
            );
        }
        // A harness whose inputs all fail to parse (or all parse) tests little: both must
        // occur (the pipeline's few default inputs may all be accepted), and with a time
        // budget, mutated inputs must get past the parser too.
        if target != Target::Pipeline {
            assert!(errors > 0, "{}: no input was refused", target.name());
        }
        assert!(ok > 0, "{}: no input was accepted", target.name());
        if budgeted {
            assert!(
                random_ok > 0,
                "{}: no mutated input was accepted",
                target.name()
            );
        }
    }
}

#[test]
fn fuzz_profile() {
    fuzz(Target::Profile);
}

#[test]
fn fuzz_debug1() {
    fuzz(Target::Debug1);
}

#[test]
fn fuzz_debug2() {
    fuzz(Target::Debug2);
}

#[test]
fn fuzz_context() {
    fuzz(Target::Context);
}

#[test]
fn fuzz_rules() {
    fuzz(Target::Rules);
}

#[test]
fn fuzz_backlog_task() {
    fuzz(Target::BacklogTask);
}

#[test]
fn fuzz_backlog_report() {
    fuzz(Target::BacklogReport);
}

#[test]
fn fuzz_pipeline() {
    fuzz(Target::Pipeline);
}

#[test]
fn fuzz_memstats() {
    fuzz(Target::MemStats);
}

/// Every input that once failed, replayed: each must now end in `Ok` or a clean error.
#[test]
fn regressions_replay_cleanly() {
    let dir = root().join("tests/fuzz-regressions");
    let mut replayed = 0;
    let mut failures = Vec::new();
    for target_dir in files_and_dirs(&dir).into_iter().filter(|d| d.is_dir()) {
        let name = target_dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let target = Target::from_name(&name)
            .unwrap_or_else(|| panic!("{}: not a fuzz target", target_dir.display()));
        for input in files_and_dirs(&target_dir) {
            let data = read(&input);
            let t = Instant::now();
            let result = std::panic::catch_unwind(|| targets::run(target, &data));
            let elapsed = t.elapsed();
            replayed += 1;
            match result {
                Ok(_) if elapsed <= harness::slow_limit(target) => {}
                Ok(_) => failures.push(format!("{}: slow ({elapsed:?})", input.display())),
                Err(_) => failures.push(format!("{}: panics", input.display())),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{replayed} regression inputs replayed");
}

fn files_and_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

/// The PRNG and the mutators are deterministic: the same seed gives the same inputs, so a
/// run can be repeated.
#[test]
fn mutations_are_deterministic() {
    let corpus = corpus(Target::Profile);
    let run = |seed: u64| {
        let mut rng = Rng::new(seed);
        (0..20)
            .map(|_| {
                let s = rng.pick(&corpus).clone();
                harness::hash(&mutate(&mut rng, Target::Profile, &s, &corpus))
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

/// A tool, not a test: shrinks a failing input so that the regression file says what it is
/// about. `PPROF_REPORT_FUZZ_MINIMIZE=<target>:<file> cargo test --test fuzz minimize --
/// --ignored` writes `<file>.min`: the smallest input found by cutting lines, then bytes,
/// that still panics with the same message.
#[test]
#[ignore]
fn minimize() {
    let spec = std::env::var("PPROF_REPORT_FUZZ_MINIMIZE")
        .expect("PPROF_REPORT_FUZZ_MINIMIZE=<target>:<file>");
    let (name, file) = spec.split_once(':').expect("<target>:<file>");
    let target = Target::from_name(name).expect("a target name");
    let message = |data: &[u8]| -> Option<String> {
        let result = std::panic::catch_unwind(|| targets::run(target, data));
        result.err().map(|payload| {
            let text = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            // The first words: the same failure, whatever the details.
            text.chars().take(30).collect()
        })
    };
    let mut data = read(Path::new(file));
    let wanted = message(&data).expect("the input does not fail");
    // The pipeline's member line must stay.
    let keep = if target == Target::Pipeline {
        data.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1)
    } else {
        0
    };
    if target == Target::Profile {
        // Whole protobuf fields first: cutting bytes inside them rarely leaves a profile.
        let mut i = 0;
        loop {
            let mut bounds = pb::field_boundaries(&data);
            bounds.push(data.len());
            if i + 1 >= bounds.len() {
                break;
            }
            let candidate = [&data[..bounds[i]], &data[bounds[i + 1]..]].concat();
            if message(&candidate).as_deref() == Some(wanted.as_str()) {
                data = candidate;
            } else {
                i += 1;
            }
        }
    }
    for unit_is_line in [true, false] {
        let mut chunk = data.len() / 2;
        while chunk >= 1 {
            let mut at = keep;
            while at < data.len() {
                let mut end = (at + chunk).min(data.len());
                if unit_is_line {
                    // Whole lines: extend to the end of the line the chunk ends in.
                    end = data[end..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(data.len(), |i| end + i + 1);
                }
                let candidate = [&data[..at], &data[end..]].concat();
                if message(&candidate).as_deref() == Some(wanted.as_str()) {
                    data = candidate;
                } else {
                    at = end;
                }
            }
            chunk /= 2;
        }
    }
    let out = format!("{file}.min");
    std::fs::write(&out, &data).unwrap();
    println!("{} bytes: {out}", data.len());
}

/// A tool, not a test: runs one input and says what happened and how long it took.
/// `PPROF_REPORT_FUZZ_REPLAY=<target>:<file> cargo test --test fuzz replay -- --ignored
/// --nocapture`.
#[test]
#[ignore]
fn replay() {
    let spec = std::env::var("PPROF_REPORT_FUZZ_REPLAY")
        .expect("PPROF_REPORT_FUZZ_REPLAY=<target>:<file>");
    let (name, file) = spec.split_once(':').expect("<target>:<file>");
    let target = Target::from_name(name).expect("a target name");
    let data = read(Path::new(file));
    let t = Instant::now();
    let result = targets::run(target, &data);
    println!("{file}: {result:?} in {:?}", t.elapsed());
}
