//! What each fuzz target does with one input. Shared by the `cargo test` harness
//! (tests/fuzz/) and the cargo-fuzz targets (fuzz/fuzz_targets/, which include this file),
//! so that both check the same things and a crasher of either replays in the other.
//!
//! A target returns `Ok(())` or `Err(message)` for a clean error. Anything else is a
//! failure and panics: a panic of the code under test, an error message that is not one
//! line, a property that does not hold (the tool refusing its own output). Only public APIs
//! are used, so that refactors behind them do not break the harness.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use pprof_report::analyze::contention::{self, ContentionKind};
use pprof_report::analyze::cpu::{self, CpuOptions};
use pprof_report::analyze::findings;
use pprof_report::analyze::flame;
use pprof_report::analyze::goroutines::{self, GoroutineInput, GoroutineOptions, GroupLevel};
use pprof_report::analyze::investigation;
use pprof_report::analyze::memory::{self, MemoryOptions};
use pprof_report::analyze::memstats as memstats_view;
use pprof_report::analyze::top::{self, BaseMode, Granularity, TopOptions};
use pprof_report::backlog::{self, AttachOptions};
use pprof_report::context::Context;
use pprof_report::dump::{self, GoroutineDump};
use pprof_report::jobs::report::{self, ReportOptions};
use pprof_report::jobs::{self, CommandLine, Format, PrepareOptions, Prepared};
use pprof_report::profile::{DecodeOptions, Profile};
use pprof_report::render::flame::FlameSpec;
use pprof_report::render::templates::Templates;
use pprof_report::rules;
use pprof_report::set;
use pprof_report::set::load::{self, Decoded};
use pprof_report::timefmt::UtcTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A pprof protobuf, raw or gzipped: decode, then `top` and the analyses on it.
    Profile,
    /// A `debug=1` goroutine dump (or anything else `load` is handed).
    Debug1,
    /// A `debug=2` goroutine dump.
    Debug2,
    /// The context YAML.
    Context,
    /// A rule file.
    Rules,
    /// A Backlog.md task file that a report is attached to.
    BacklogTask,
    /// A report that is attached to a Backlog.md task.
    BacklogReport,
    /// One member of a copy of a fixture set, then the whole `report` job.
    Pipeline,
    /// A heap profile text (`heap?debug=1`): its `runtime.MemStats` block, then the views the
    /// report makes of it.
    MemStats,
}

impl Target {
    pub const ALL: [Target; 9] = [
        Target::Profile,
        Target::Debug1,
        Target::Debug2,
        Target::Context,
        Target::Rules,
        Target::BacklogTask,
        Target::BacklogReport,
        Target::Pipeline,
        Target::MemStats,
    ];

    /// The name of the target's folder under tests/fuzz-regressions/.
    pub fn name(self) -> &'static str {
        match self {
            Target::Profile => "profile",
            Target::Debug1 => "debug1",
            Target::Debug2 => "debug2",
            Target::Context => "context",
            Target::Rules => "rules",
            Target::BacklogTask => "backlog-task",
            Target::BacklogReport => "backlog-report",
            Target::Pipeline => "pipeline",
            Target::MemStats => "memstats",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }
}

pub type Outcome = Result<(), String>;

pub fn run(target: Target, data: &[u8]) -> Outcome {
    match target {
        Target::Profile => profile(data),
        Target::Debug1 | Target::Debug2 => dump(data),
        Target::Context => context(data),
        Target::Rules => rules_file(data),
        Target::BacklogTask => backlog_task(data),
        Target::BacklogReport => backlog_report(data),
        Target::Pipeline => {
            let (member, content) = pipeline_input(data);
            pipeline(member, content)
        }
        Target::MemStats => memstats(data),
    }
}

// --- memstats ------------------------------------------------------------------------------

fn memstats(data: &[u8]) -> Outcome {
    let stats = pprof_report::memstats::parse(data).map_err(clean)?;
    // Parsing is a function of the bytes.
    assert_eq!(
        pprof_report::memstats::parse(data).ok().as_ref(),
        Some(&stats),
        "the same text parsed twice differs"
    );
    let (pauses, all) = stats.recent_pauses();
    assert!(pauses.len() <= pprof_report::memstats::PAUSE_BUFFER);
    assert!(!all || Some(pauses.len() as u64) == stats.num_gc);
    // Where the figures meet arithmetic: huge counts, zero uptime, zero goroutines.
    for uptime in [None, Some(0.0), Some(1e-9), Some(86400.0)] {
        let _ = memstats_view::view(&stats, "fuzz-heap.txt", uptime);
    }
    for goroutines in [None, Some(0), Some(1), Some(u64::MAX)] {
        let _ = memstats_view::stacks(Some(&stats), goroutines);
    }
    Ok(())
}

/// The repository: this file is compiled both from the crate's tests and from fuzz/.
pub fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if here.join("fixtures").is_dir() {
        here
    } else {
        here.join("..")
    }
}

/// A clean error: its message must be one line (the CLI prints `error: <file>: <what>`)
/// and say something.
fn clean(error: impl std::fmt::Display) -> String {
    let message = error.to_string();
    assert!(
        !message.contains('\n') && !message.contains('\r'),
        "error message is not one line: {message:?}"
    );
    assert!(!message.trim().is_empty(), "empty error message");
    message
}

/// The decompression limit of the fuzz targets: far above any input they get, far below
/// the default 1 GiB, so that a gzip bomb is refused quickly.
pub const DECODE: DecodeOptions = DecodeOptions {
    max_decompressed_bytes: 16 << 20,
    ..DecodeOptions::DEFAULT
};

/// The fuzz targets' decode with a tight memory budget (`--max-memory 8MiB`), for inputs
/// larger than [`TIGHT_MEMORY_FROM`].
const TIGHT: DecodeOptions = DecodeOptions {
    max_memory_bytes: Some(8 << 20),
    ..DECODE
};

/// Inputs above this size are decoded under [`TIGHT`] too.
const TIGHT_MEMORY_FROM: usize = 256 << 10;

/// Sample types looked at per profile, so that a mutation adding hundreds of them does not
/// make one input take minutes.
const MAX_INDICES: usize = 4;

/// A small deterministic choice from the input, so that a replay takes the same branches.
fn choice(data: &[u8], n: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in data.iter().take(4096) {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    (h ^ data.len() as u64) % n
}

// --- profile -------------------------------------------------------------------------------

fn profile(data: &[u8]) -> Outcome {
    // The protobuf decoder alone, and the loader that sniffs dumps first: both paths.
    let direct = pprof_report::profile::decode(data, &DECODE);
    // Large inputs (repeated-field bombs, chunks copied many times) once more under a
    // tight memory budget, as --max-memory sets it: refused in one line, never accepted
    // where the default budget refuses.
    if data.len() > TIGHT_MEMORY_FROM {
        match pprof_report::profile::decode(data, &TIGHT) {
            Ok(_) => assert!(
                direct.is_ok(),
                "accepted under a tight memory budget, refused under the default one"
            ),
            Err(e) => {
                clean(e);
            }
        }
    }
    match load::decode_any(data, &DECODE) {
        Ok(Decoded::Profile(p)) => {
            assert!(direct.is_ok(), "decode_any accepted what decode refused");
            downstream_profile(&p, data)
        }
        Ok(Decoded::Dump(d)) => downstream_dump(&d, data),
        Err(e) => Err(clean(e)),
    }
}

/// The decoders alone: the loader that sniffs dumps and gzip, and the protobuf decoder.
/// For cargo-fuzz, whose speed depends on not running the analyses on every input.
pub fn decode_only(data: &[u8]) -> Outcome {
    let direct = pprof_report::profile::decode(data, &DECODE);
    match load::decode_any(data, &DECODE) {
        Ok(_) => Ok(()),
        Err(e) => {
            if let Err(d) = direct {
                clean(d);
            }
            Err(clean(e))
        }
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

/// The base profile for `-diff_base` runs: a real one, so that merging meets real names.
fn base_profile() -> &'static Profile {
    static BASE: OnceLock<Profile> = OnceLock::new();
    BASE.get_or_init(|| {
        let path = root().join("fixtures/profiles/fixture-6svc-20261125-121500-heap.prof");
        load::read_profile(&path, &DecodeOptions::default()).expect("fixture decodes")
    })
}

/// Everything that reads a decoded profile: top at each sample index and granularity,
/// with bases, the text rendering, folded stacks, the analyses.
fn downstream_profile(p: &Profile, data: &[u8]) -> Outcome {
    for name in ["x.prof", "x-mutex.prof", "x-block.prof"] {
        let _ = set::classify(p, name);
    }
    let _ = p.default_sample_index();
    let _ = p.main_binary();
    for s in p.samples() {
        let _ = p.stack_names(s).count();
    }
    let granularities = [
        Granularity::Functions,
        Granularity::FileFunctions,
        Granularity::Files,
        Granularity::Lines,
    ];
    let pick = choice(data, 1 << 20);
    // Every granularity at the default sample index; every index (by number, the first
    // by name too, and two that do not exist) at one granularity.
    let mut runs: Vec<(Option<String>, Granularity)> =
        granularities.iter().map(|g| (None, *g)).collect();
    for i in 0..p.sample_types.len().min(MAX_INDICES) {
        runs.push((Some(i.to_string()), granularities[(pick as usize + i) % 4]));
    }
    if let Some(first) = p.sample_types.first() {
        runs.push((Some(first.kind.clone()), Granularity::Functions));
    }
    runs.push((
        Some(p.sample_types.len().to_string()),
        Granularity::Functions,
    ));
    runs.push((Some("-1".to_string()), Granularity::Functions));
    for (n, (request, granularity)) in runs.into_iter().enumerate() {
        let options = TopOptions {
            sample_index: request,
            granularity,
            cum_sort: (pick >> n) & 1 == 1,
            node_count: if (pick >> (n + 8)) & 1 == 1 { 10 } else { 0 },
            node_fraction: if (pick >> (n + 16)) & 3 == 0 {
                0.0
            } else {
                0.005
            },
            ..TopOptions::default()
        };
        match top::top(p, None, &options) {
            Ok(report) => {
                let _ = pprof_report::render::top_text::render(&report);
            }
            Err(e) => {
                clean(e);
            }
        }
    }
    for (base, mode) in [(p, BaseMode::Subtract), (base_profile(), BaseMode::Diff)] {
        match top::top(p, Some((base, mode)), &TopOptions::default()) {
            Ok(report) => {
                let _ = pprof_report::render::top_text::render(&report);
            }
            Err(e) => {
                clean(e);
            }
        }
    }
    let _ = cpu::analyze(p, &CpuOptions::default());
    let _ = memory::analyze(Some(p), Some(p), &MemoryOptions::default());
    let _ = contention::analyze(Some(p), ContentionKind::Mutex, 10);
    let _ = contention::analyze(Some(p), ContentionKind::Block, 10);
    let _ = goroutines::analyze(
        &GoroutineInput {
            profile: Some(p),
            services: Some(3),
            mutex: Some(p),
            ..GoroutineInput::default()
        },
        &GoroutineOptions::default(),
    );
    for index in 0..p.sample_types.len().min(MAX_INDICES) {
        let folded = flame::folded(p, index);
        // inferno is slow next to the rest: one input in four draws its flame graph.
        if !folded.is_empty() && choice(data, 4) == 0 {
            flame_svg(&folded)?;
        }
    }
    Ok(())
}

fn flame_svg(folded: &[String]) -> Outcome {
    let spec = FlameSpec {
        title: "fuzz".to_string(),
        subtitle: String::new(),
        count_name: "samples".to_string(),
        palette: "hot",
    };
    pprof_report::render::flame::svg(folded, &spec)
        .map(|_| ())
        .map_err(clean)
}

// --- goroutine dumps -----------------------------------------------------------------------

fn dump(data: &[u8]) -> Outcome {
    let direct = dump::parse(data);
    match load::decode_any(data, &DECODE) {
        Ok(Decoded::Dump(d)) => {
            if !pprof_report::profile::is_gzip(data) {
                assert!(direct.is_ok(), "decode_any accepted what parse refused");
            }
            downstream_dump(&d, data)
        }
        Ok(Decoded::Profile(p)) => downstream_profile(&p, data),
        Err(e) => {
            if let Err(d) = direct {
                clean(d);
            }
            Err(clean(e))
        }
    }
}

fn fixture_goroutine_profile() -> &'static Profile {
    static P: OnceLock<Profile> = OnceLock::new();
    P.get_or_init(|| {
        let path = root().join("fixtures/profiles/fixture-3svc-20261125-120000-goroutine.prof");
        load::read_profile(&path, &DecodeOptions::default()).expect("fixture decodes")
    })
}

fn downstream_dump(d: &GoroutineDump, data: &[u8]) -> Outcome {
    let _ = d.total();
    downstream_profile(&d.profile, data)?;
    for level in [
        GroupLevel::Exact,
        GroupLevel::Functions,
        GroupLevel::Package,
    ] {
        let options = GoroutineOptions {
            level,
            ..GoroutineOptions::default()
        };
        let (debug1, debug2) = match d.format {
            dump::DumpFormat::Debug1 => (Some(d), None),
            dump::DumpFormat::Debug2 => (None, Some(d)),
        };
        let _ = goroutines::analyze(
            &GoroutineInput {
                profile: Some(fixture_goroutine_profile()),
                debug1,
                debug2,
                services: Some(3),
                expected_per_service: Some((2.0, 5.0)),
                uptime_seconds: Some(600.0),
                mutex: None,
            },
            &options,
        );
        let _ = goroutines::analyze(
            &GoroutineInput {
                debug1,
                debug2,
                ..GoroutineInput::default()
            },
            &options,
        );
    }
    Ok(())
}

// --- context -------------------------------------------------------------------------------

fn context(data: &[u8]) -> Outcome {
    // Context::load reads the file as UTF-8; bytes that are not are an I/O error there.
    let text = std::str::from_utf8(data).map_err(clean)?;
    let context = Context::parse(text).map_err(clean)?;
    // What collect writes must read back: a context that parses and serializes, but whose
    // YAML is refused, would make a collected set unreadable.
    let yaml = context.to_yaml("fuzz").map_err(clean)?;
    if let Err(e) = Context::parse(&yaml) {
        panic!("the context's own YAML does not parse again: {e}\n{yaml}");
    }
    // Where context values meet arithmetic: CPU cores, per-service goroutines, leak
    // thresholds from the uptime, allocation rates. One input in four: the analyses cost
    // far more than the parsing.
    if choice(data, 4) != 0 {
        return Ok(());
    }
    let process = context.process.clone().unwrap_or_default();
    let set = fixture_set();
    let profile_of = |kind| set.set.member(kind).and_then(|m| m.profile());
    if let Some(p) = profile_of(set::MemberKind::Cpu) {
        let _ = cpu::analyze(
            p,
            &CpuOptions {
                process_cpu_percent: process.cpu_percent,
                ..CpuOptions::default()
            },
        );
    }
    let _ = memory::analyze(
        profile_of(set::MemberKind::Heap),
        profile_of(set::MemberKind::Allocs),
        &MemoryOptions {
            uptime_seconds: process.uptime.map(|u| u.seconds),
            ..MemoryOptions::default()
        },
    );
    let _ = goroutines::analyze(
        &investigation::goroutine_input(&set.set, &context),
        &GoroutineOptions::default(),
    );
    // The whole investigation and its Markdown, with this context.
    let (report, _) = investigation::investigate(
        &set.set,
        &context,
        &investigation::InvestigationOptions {
            rules: builtin_rules().to_vec(),
            ..Default::default()
        },
    );
    render_markdown(&report)?;
    // The analysis JSON must read back for `render`: a NaN or an infinity from a context
    // number is written as null, which does not (issue 19).
    let json = serde_json::to_string(&report).map_err(clean)?;
    if let Err(e) = serde_json::from_str::<investigation::ReportContext>(&json) {
        panic!("the analysis JSON of this context does not read back: {e}");
    }
    Ok(())
}

/// The report's Markdown through the default templates.
fn render_markdown(report: &investigation::ReportContext) -> Outcome {
    Templates::new(None)
        .map_err(clean)?
        .render(report)
        .map_err(clean)?;
    Ok(())
}

// --- rules ---------------------------------------------------------------------------------

fn builtin_rules() -> &'static [rules::Rule] {
    static RULES: OnceLock<Vec<rules::Rule>> = OnceLock::new();
    RULES.get_or_init(|| rules::load(&[]).expect("built-in rules parse"))
}

/// The small fixture set, read and investigated once.
fn fixture_set() -> &'static Prepared {
    static SET: OnceLock<Prepared> = OnceLock::new();
    SET.get_or_init(|| {
        let path = root().join("fixtures/profiles/fixture-3svc-20261125-120000");
        jobs::prepare(
            &path,
            &PrepareOptions {
                context: None,
                rules: builtin_rules(),
                group_level: GroupLevel::Functions,
                decode: &DecodeOptions::default(),
            },
        )
        .expect("the fixture set reads")
    })
}

fn rules_file(data: &[u8]) -> Outcome {
    let text = std::str::from_utf8(data).map_err(clean)?;
    let parsed = rules::parse("fuzz.yaml", text);
    let loaded = rules::load(&[("fuzz.yaml".to_string(), text.to_string())]);
    assert_eq!(
        parsed.is_ok(),
        loaded.is_ok(),
        "parse and load disagree on the same file"
    );
    let rules = loaded.map_err(clean)?;
    let prepared = fixture_set();
    let found = findings::evaluate(&rules, &prepared.side().evidence);
    let mut report = prepared.report.clone();
    report.findings = found;
    render_markdown(&report)?;
    Ok(())
}

// --- Backlog.md ----------------------------------------------------------------------------

/// A fixed time, so that replays write the same bytes.
const NOW: i64 = 1_790_000_000;

/// A backlog folder with `task` as task 17, and a block whose lines are `block_text`'s (what
/// `backlog.md.j2` renders); attaches, then attaches again to what was written, which must
/// be accepted and replace the block.
fn attach(task: &[u8], block_text: &[u8]) -> Outcome {
    let dir = tempfile::tempdir().expect("temporary directory");
    let backlog_dir = dir.path().join("backlog");
    let tasks = backlog_dir.join("tasks");
    std::fs::create_dir_all(&tasks).expect("create tasks/");
    std::fs::copy(
        root().join("fixtures/backlog/config.yml"),
        backlog_dir.join("config.yml"),
    )
    .expect("copy config.yml");
    let task_file = tasks.join("task-17 - Fuzz.md");
    std::fs::write(&task_file, task).expect("write the task");
    let report_file = dir.path().join("reports").join("fuzz report.md");
    let options = AttachOptions {
        task_file: backlog::find_task(&backlog_dir, "17").map_err(clean)?,
        report: report_file.clone(),
        block: String::from_utf8_lossy(block_text)
            .lines()
            .map(str::to_string)
            .collect(),
        now: UtcTime::from_unix_seconds(NOW),
    };
    let first = backlog::attach(&options).map_err(clean)?;
    assert!(
        !first.replaced || task_mentions_block(task),
        "replaced a block that was not there"
    );
    let written = std::fs::read(&task_file).expect("read the attached task");
    let again = backlog::attach(&AttachOptions {
        now: UtcTime::from_unix_seconds(NOW + 60),
        ..options
    });
    match again {
        Ok(second) => assert!(second.replaced, "attaching again added a second block"),
        Err(e) => panic!(
            "attach refuses the file it wrote itself: {e}\n--- written:\n{}",
            String::from_utf8_lossy(&written)
        ),
    }
    Ok(())
}

fn task_mentions_block(task: &[u8]) -> bool {
    task.windows(b"pprof-report:BEGIN".len())
        .any(|w| w == b"pprof-report:BEGIN")
}

fn fixture_report() -> &'static [u8] {
    static R: OnceLock<Vec<u8>> = OnceLock::new();
    R.get_or_init(|| {
        std::fs::read(root().join("reports/fixture-3svc-20261125-120000.md"))
            .expect("the fixture report")
    })
}

fn fixture_task() -> &'static [u8] {
    static T: OnceLock<Vec<u8>> = OnceLock::new();
    T.get_or_init(|| {
        std::fs::read(
            root().join("fixtures/backlog/tasks/task-17 - Reduce-CPU-of-the-57-service-proxy.md"),
        )
        .expect("the fixture task")
    })
}

fn backlog_task(data: &[u8]) -> Outcome {
    attach(data, fixture_report())
}

fn backlog_report(data: &[u8]) -> Outcome {
    attach(fixture_task(), data)
}

// --- the whole report job ------------------------------------------------------------------

/// The set the pipeline target changes one member of.
pub const PIPELINE_SET: &str = "fixture-3svc-20261125-120000";

/// The members the pipeline target replaces, by the suffix of their file name.
pub const PIPELINE_MEMBERS: &[&str] = &[
    "cpu.prof",
    "heap.prof",
    "allocs.prof",
    "goroutine.prof",
    "goroutines.txt",
    "goroutines-debug2.txt",
    "mutex.prof",
    "block.prof",
    "context.yaml",
];

/// A pipeline input: `MEMBER\n` then the member's bytes (what the harness writes), or, from
/// a fuzzer that knows no members, the first byte choosing one.
pub fn pipeline_input(data: &[u8]) -> (&'static str, &[u8]) {
    for member in PIPELINE_MEMBERS {
        if let Some(rest) = data
            .strip_prefix(member.as_bytes())
            .and_then(|r| r.strip_prefix(b"\n"))
        {
            return (member, rest);
        }
    }
    match data.split_first() {
        Some((first, rest)) => (
            PIPELINE_MEMBERS[usize::from(*first) % PIPELINE_MEMBERS.len()],
            rest,
        ),
        None => (PIPELINE_MEMBERS[0], data),
    }
}

/// Copies the fixture set into a fresh folder with `member` replaced by `content`, and runs
/// the report job on it (Markdown with HTML, or JSON rendered back to Markdown; one input in
/// four against a baseline set).
fn pipeline(member: &str, content: &[u8]) -> Outcome {
    let dir = tempfile::tempdir().expect("temporary directory");
    let profiles = root().join("fixtures/profiles");
    for entry in std::fs::read_dir(&profiles).expect("fixtures/profiles") {
        let entry = entry.expect("directory entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(PIPELINE_SET) {
            std::fs::copy(entry.path(), dir.path().join(&name)).expect("copy a member");
        }
    }
    let member_path = dir.path().join(format!("{PIPELINE_SET}-{member}"));
    std::fs::write(&member_path, content).expect("write the member");
    let out = dir.path().join("out").join("report.md");
    let pick = choice(content, 8);
    let json = pick & 1 == 1;
    let options = ReportOptions {
        set: dir.path().join(PIPELINE_SET),
        context: None,
        out: Some(if json {
            out.with_extension("json")
        } else {
            out.clone()
        }),
        assets: None,
        templates: None,
        format: if json { Format::Json } else { Format::Markdown },
        html: pick & 2 == 2,
        decode: DECODE,
        group_level: GroupLevel::Functions,
        rules: Vec::new(),
        baseline: (pick & 4 == 4).then(|| profiles.join("fixture-6svc-20261125-121500")),
        gate: Vec::new(),
        command: CommandLine::default(),
        pgo_command: CommandLine::default(),
    };
    let reported = report::run(&options).map_err(clean)?;
    if json {
        let json_file = reported
            .written
            .files
            .iter()
            .find(|f| f.extension().is_some_and(|e| e == "json"))
            .expect("a JSON report");
        // `render` must read back every analysis `report --format json` writes.
        if let Err(e) = report::render_from_json(json_file, &out, None) {
            panic!("render refuses the analysis report wrote: {e}");
        }
    }
    Ok(())
}
