//! Goroutines: how many there are (protobuf and text dumps, which are taken moments apart),
//! per declared service, grouped by stack, how many *instances* of the program's per-service
//! machinery the counts reveal, what the goroutines wait on and for how long (`debug=2`),
//! mutex waiters against the mutex profile, and the module versions seen in the stacks.
//!
//! # Grouping
//!
//! Groups come from the `debug=2` dump when there is one (it carries states, wait times and
//! creators), else from the goroutine protobuf, else from the `debug=1` dump; the analysis
//! says which. Like panicparse's similarity levels, [`GroupLevel`] decides which stacks are
//! one group:
//!
//! * `Exact`: the same sequence of (function, file, line).
//! * `Functions` (default): the same sequence of function names, whatever the addresses and
//!   lines.
//! * `Package`: the same label frame (see below) and the same chain of its callers collapsed
//!   to packages (consecutive frames of one package are one element). Frames leafward of
//!   the label (standard-library wait plumbing) do not count, so goroutines parked in one
//!   function through different channels or locks are one group.
//!
//! At `Functions` and `Package`, the leaf-side `runtime.*`/`internal/runtime/*` frames and
//! `runtime.goexit` are left out of the key, as the text dumps leave them out of their
//! stacks (all frames stay when every frame is a runtime one, as in runtime/pprof's
//! `printStackRecord`): the same code then groups alike whichever source is used.
//!
//! # Labels
//!
//! A group is named by the first frame, from the leaf, whose package is not the standard
//! library ([`is_standard_package`]). A stack made only of the standard library is
//! named by its first frame outside the wait plumbing (`runtime`, `internal/…`, `sync`,
//! `syscall`, `os`, `net`, `time`, `io`, `bufio`, `bytes`, `crypto/tls`, `context`), e.g.
//! `net/http.(*persistConn).writeLoop`; failing that, its first frame outside `runtime`;
//! failing that, its leaf.
//!
//! # Instances
//!
//! A program that runs N copies of a service starts the same per-copy goroutines N times,
//! so N shows as many groups of exactly N goroutines, and pools sized per copy as multiples
//! of N (`944 = 16 × 59`). The candidates are the group counts ≥ 2 that at least
//! [`GoroutineOptions::min_exact_groups`] groups have exactly: requiring groups of exactly N
//! is what keeps small divisors (2, 3, 4) that divide nearly every count from winning, and
//! divisors of counts that no group has exactly are never candidates for that reason. A
//! candidate's score is the goroutines in groups whose count is a multiple of it; ties go
//! to the declared service count, then to more groups of exactly N, then to the larger N.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::names::{is_standard_package, module_version, package_of};
use crate::dump::GoroutineDump;
use crate::profile::{Profile, SampleRef};
use crate::{timefmt, units};

/// What the analysis reads. Every member is optional; with no goroutine data at all there is
/// no analysis.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoroutineInput<'a> {
    /// The goroutine protobuf profile (`/debug/pprof/goroutine`).
    pub profile: Option<&'a Profile>,
    /// The `debug=1` text dump.
    pub debug1: Option<&'a GoroutineDump>,
    /// The `debug=2` text dump.
    pub debug2: Option<&'a GoroutineDump>,
    /// Services the process is declared to run.
    pub services: Option<u32>,
    /// Goroutines one service is expected to need, as (min, max).
    pub expected_per_service: Option<(f64, f64)>,
    /// Process uptime, for the leak threshold.
    pub uptime_seconds: Option<f64>,
    /// The mutex profile, to cross-reference goroutines waiting on mutexes.
    pub mutex: Option<&'a Profile>,
}

/// Options with their defaults in `Default`.
#[derive(Debug, Clone, PartialEq)]
pub struct GoroutineOptions {
    /// Which stacks are one group (`Functions`).
    pub level: GroupLevel,
    /// Groups listed (50); the inference and the totals use all of them.
    pub max_groups: usize,
    /// Groups of exactly N goroutines needed before N is an instance-count candidate (3).
    pub min_exact_groups: usize,
    /// Candidates listed next to the chosen instance count (5).
    pub max_candidates: usize,
    /// A goroutine blocked for this fraction of the uptime is a leak suspect (0.8).
    pub leak_uptime_fraction: f64,
    /// The leak threshold when the uptime is unknown, in minutes (60).
    pub leak_minutes_without_uptime: u64,
}

impl Default for GoroutineOptions {
    fn default() -> Self {
        GoroutineOptions {
            level: GroupLevel::Functions,
            max_groups: 50,
            min_exact_groups: 3,
            max_candidates: 5,
            leak_uptime_fraction: 0.8,
            leak_minutes_without_uptime: 60,
        }
    }
}

/// How alike two stacks must be to be one group (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupLevel {
    Exact,
    #[default]
    Functions,
    Package,
}

impl GroupLevel {
    /// The command-line value (`--group-level`).
    pub fn as_arg(self) -> &'static str {
        match self {
            GroupLevel::Exact => "exact",
            GroupLevel::Functions => "functions",
            GroupLevel::Package => "package",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            GroupLevel::Exact => "identical functions and lines",
            GroupLevel::Functions => "identical functions",
            GroupLevel::Package => "same function, callers by package",
        }
    }
}

/// Where goroutine data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoroutineSource {
    /// The goroutine protobuf profile.
    Protobuf,
    Debug1,
    Debug2,
}

impl GoroutineSource {
    pub fn text(self) -> &'static str {
        match self {
            GoroutineSource::Protobuf => "goroutine profile",
            GoroutineSource::Debug1 => "debug=1 dump",
            GoroutineSource::Debug2 => "debug=2 dump",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoroutineAnalysis {
    pub totals: GoroutineTotals,
    /// With a declared, non-zero service count.
    pub per_service: Option<PerService>,
    pub groups: GroupTable,
    /// `None` when no count is shared by enough groups to be an instance count.
    pub instances: Option<InstanceInference>,
    /// With a `debug=2` dump only.
    pub states: Option<StateAnalysis>,
    pub mutex_waiters: MutexWaiters,
    /// Sorted by module, then version.
    pub modules: Vec<ModuleRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoroutineTotals {
    /// The number the report uses: the protobuf's, else the `debug=2` dump's, else the
    /// `debug=1` header's.
    pub total: u64,
    pub source: GoroutineSource,
    pub source_text: String,
    /// One row per source present, protobuf first.
    pub rows: Vec<TotalRow>,
    /// All sources give the same number.
    pub consistent: bool,
    /// Why the numbers differ, when they do.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotalRow {
    pub source: GoroutineSource,
    pub source_text: String,
    /// The header total of a `debug=1` dump, else the sum of the stacks' counts.
    pub goroutines: u64,
    /// `debug=1` only: `goroutine profile: total N`.
    pub header_total: Option<u64>,
    /// Sum of the stacks' counts.
    pub stacks_total: u64,
    /// goroutines − the total the report uses.
    pub difference: i64,
    /// `+110 (+1.76%)`, or `-` for the row the report uses.
    pub difference_text: String,
    /// The protobuf's time (pprof's `Time:`).
    pub time_nanos: Option<i64>,
    pub time_text: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expectation {
    Within,
    Above,
    Below,
    NoExpectation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerService {
    pub services: u32,
    pub goroutines: u64,
    pub per_service: f64,
    /// `109.72`
    pub per_service_text: String,
    pub expected_min: Option<f64>,
    pub expected_max: Option<f64>,
    /// `2–5`
    pub expected_text: Option<String>,
    pub verdict: Expectation,
    /// `above the expected 2–5 (21.94× the upper bound)`
    pub verdict_text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupTable {
    pub source: GoroutineSource,
    pub source_text: String,
    pub level: GroupLevel,
    pub level_text: String,
    /// The first `max_groups` groups, by count then label.
    pub rows: Vec<GoroutineGroup>,
    pub total_groups: usize,
    /// Goroutines in all groups (the source's total).
    pub total_goroutines: u64,
    /// Goroutines in the groups listed.
    pub shown_goroutines: u64,
    /// `showing 50 of 53 groups, 99.87% of 6254 goroutines`
    pub coverage_text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoroutineGroup {
    /// The label frame's function (see the module documentation).
    pub label: String,
    pub label_package: String,
    pub goroutines: u64,
    pub share: f64,
    pub share_text: String,
    /// Distinct stacks (samples) merged into the group.
    pub stacks: usize,
    /// The first merged stack's frames, leaf first, as the level keys them (`func` or
    /// `func file:line`).
    pub frames: Vec<String>,
    /// `debug=2`: where the goroutines were started, most frequent first.
    pub created_by: Vec<CreatorRow>,
    /// `debug=2`: the wait states seen, most frequent first.
    pub states: Vec<StateCount>,
    /// `debug=2`: the longest wait in the group.
    pub max_wait_minutes: Option<u64>,
    /// count / instances, when the count is a multiple of the inferred instance count.
    pub instance_factor: Option<u64>,
    /// `944 = 16 × 59`
    pub instance_factor_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatorRow {
    pub function: String,
    pub file: String,
    pub line: i64,
    pub goroutines: u64,
    /// `pkg.(*T).Start at file.go:73`
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCount {
    pub state: String,
    pub goroutines: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelCount {
    /// A group label.
    pub label: String,
    pub goroutines: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceInference {
    pub instances: u64,
    pub declared: Option<u32>,
    pub matches_declared: Option<bool>,
    /// `59 instances inferred, 57 declared`, when they differ.
    pub declared_note: Option<String>,
    /// Groups of exactly `instances` goroutines.
    pub exact_groups: usize,
    /// Groups (and their goroutines) whose count is a multiple of `instances`.
    pub explained_groups: usize,
    pub explained_goroutines: u64,
    pub total_groups: usize,
    pub total_goroutines: u64,
    pub explained_share: f64,
    pub explained_share_text: String,
    /// explained_goroutines / instances.
    pub per_instance: u64,
    /// total_goroutines / instances.
    pub total_per_instance: f64,
    pub total_per_instance_text: String,
    /// Explained groups by their factor, largest factor first.
    pub factors: Vec<FactorRow>,
    /// `59 instances explain 5841 of 6254 goroutines (93.40%) in 39 of 51 groups: 99 goroutines per instance`
    pub summary_text: String,
    /// The best candidates, the chosen one first.
    pub candidates: Vec<InstanceCandidate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorRow {
    pub factor: u64,
    pub groups: usize,
    pub goroutines: u64,
    /// factor × groups.
    pub per_instance: u64,
    /// `4 groups × 16 per instance`
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceCandidate {
    pub instances: u64,
    pub exact_groups: usize,
    pub explained_groups: usize,
    pub explained_goroutines: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateAnalysis {
    pub goroutines: u64,
    /// By count, then state.
    pub states: Vec<StateRow>,
    /// `< 1 min`, `1–10 min`, `10–60 min`, `≥ 60 min`.
    pub wait_buckets: Vec<WaitBucket>,
    pub locked_to_thread: u64,
    pub leak_threshold_minutes: u64,
    /// `≥ 105 min (80% of the 131 min uptime)` or `≥ 60 min (uptime unknown)`
    pub leak_threshold_text: String,
    /// By blocked goroutines, then label.
    pub leak_suspects: Vec<LeakSuspect>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateRow {
    pub state: String,
    pub goroutines: u64,
    pub share_text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitBucket {
    pub label: String,
    pub min_minutes: u64,
    /// Exclusive; `None` for the last bucket.
    pub max_minutes: Option<u64>,
    pub goroutines: u64,
    pub share_text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeakSuspect {
    pub label: String,
    /// All goroutines of the group.
    pub group_goroutines: u64,
    /// Those blocked for at least the threshold.
    pub blocked: u64,
    pub min_wait_minutes: u64,
    pub max_wait_minutes: u64,
    /// `120 min` or `105–131 min`
    pub wait_text: String,
    pub states: Vec<StateCount>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutexProfileState {
    NotCollected,
    /// No samples, or samples of no contention: profiling was most likely off.
    Empty,
    Recorded,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MutexWaiters {
    /// Goroutines waiting to lock a sync.Mutex or sync.RWMutex: a `sync.Mutex.Lock`,
    /// `sync.RWMutex.Lock`/`RLock` state, or a lock frame in the stack (which also catches
    /// `semacquire` on a mutex, and works without `debug=2`).
    pub waiters: u64,
    /// `debug=2`: the waiters by state.
    pub by_state: Vec<StateCount>,
    /// The waiters by group label, most first.
    pub groups: Vec<LabelCount>,
    pub mutex_profile: MutexProfileState,
    pub mutex_contentions: i64,
    pub mutex_delay_nanos: i64,
    pub mutex_delay_text: String,
    /// Goroutines wait on mutexes while the mutex profile is empty.
    pub profiling_off_with_contention: bool,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleRow {
    pub module: String,
    pub version: String,
    /// Goroutines whose stacks have a frame in the module, counted in `source` (the first
    /// of debug=2, protobuf, debug=1 that shows the module).
    pub goroutines: u64,
    pub source: GoroutineSource,
}

/// Analyzes whatever goroutine data the set has; `None` without any.
pub fn analyze(input: &GoroutineInput, options: &GoroutineOptions) -> Option<GoroutineAnalysis> {
    // Source preference for groups: debug=2 carries the most, the protobuf has every frame.
    let (source, profile) = if let Some(dump) = input.debug2 {
        (GoroutineSource::Debug2, &dump.profile)
    } else if let Some(profile) = input.profile {
        (GoroutineSource::Protobuf, profile)
    } else if let Some(dump) = input.debug1 {
        (GoroutineSource::Debug1, &dump.profile)
    } else {
        return None;
    };
    let debug2 = input.debug2.filter(|_| source == GoroutineSource::Debug2);

    let mut grouping = group(profile, options.level);
    if let Some(dump) = debug2 {
        grouping.add_goroutine_details(dump);
    }
    let inference = infer(&grouping.groups, input.services, options);
    let totals = totals(input);
    let per_service = per_service(totals.total, input);
    let states = debug2.map(|dump| states(dump, &grouping, input.uptime_seconds, options));
    let mutex_waiters = mutex_waiters(profile, debug2, &grouping, input.mutex);
    let modules = modules(input);
    let groups = group_table(source, options, grouping, inference.as_ref());
    Some(GoroutineAnalysis {
        totals,
        per_service,
        groups,
        instances: inference,
        states,
        mutex_waiters,
        modules,
    })
}

/// One frame of a stack, leaf first.
struct Frame<'a> {
    function: Cow<'a, str>,
    file: &'a str,
    line: i64,
}

/// The frames of a sample, leaf first, inlined frames included (innermost first). A location
/// without lines is named by its address, as pprof does.
fn frames<'a>(profile: &'a Profile, sample: SampleRef<'_>) -> Vec<Frame<'a>> {
    let mut out = Vec::new();
    for index in sample.locations() {
        let Some(location) = profile.locations.get(index) else {
            continue;
        };
        if location.lines.is_empty() {
            out.push(Frame {
                function: Cow::Owned(format!("0x{:x}", location.address)),
                file: "",
                line: 0,
            });
        }
        for line in &location.lines {
            let (function, file) = profile
                .functions
                .get(line.function)
                .map_or(("?", ""), |f| (f.name.as_str(), f.filename.as_str()));
            out.push(Frame {
                function: Cow::Borrowed(function),
                file,
                line: line.line,
            });
        }
    }
    out
}

fn is_runtime_function(name: &str) -> bool {
    name.starts_with("runtime.") || name.starts_with("internal/runtime/")
}

/// The frames the text dumps print: without the leaf-side runtime frames and
/// `runtime.goexit`; all frames (but goexit) when every frame is a runtime one.
fn visible<'f, 'a>(frames: &'f [Frame<'a>]) -> &'f [Frame<'a>] {
    let end = match frames.last() {
        Some(last) if last.function == "runtime.goexit" => frames.len() - 1,
        _ => frames.len(),
    };
    let frames = &frames[..end];
    match frames
        .iter()
        .position(|f| !is_runtime_function(&f.function))
    {
        Some(start) => &frames[start..],
        None => frames,
    }
}

/// Standard-library packages through which goroutines wait: never a stack's label when a
/// better frame exists.
fn is_wait_plumbing(package: &str) -> bool {
    const PACKAGES: &[&str] = &[
        "runtime",
        "sync",
        "sync/atomic",
        "syscall",
        "os",
        "net",
        "time",
        "io",
        "bufio",
        "bytes",
        "crypto/tls",
        "context",
    ];
    PACKAGES.contains(&package)
        || package.starts_with("internal/")
        || package.starts_with("runtime/internal/")
}

/// Index of the label frame (see the module documentation).
fn label_index(frames: &[Frame]) -> Option<usize> {
    fn package<'f>(frame: &'f Frame) -> &'f str {
        package_of(&frame.function)
    }
    frames
        .iter()
        .position(|f| !is_standard_package(package(f)))
        .or_else(|| frames.iter().position(|f| !is_wait_plumbing(package(f))))
        .or_else(|| frames.iter().position(|f| package(f) != "runtime"))
        .or(if frames.is_empty() { None } else { Some(0) })
}

/// The group key of a stack at a level, and the label.
fn key_and_label(frames: &[Frame], level: GroupLevel) -> (Vec<String>, String) {
    let shown = visible(frames);
    let label = label_index(shown).map_or_else(
        || "(no frames)".to_string(),
        |i| shown[i].function.to_string(),
    );
    let key = match level {
        GroupLevel::Exact => frames
            .iter()
            .map(|f| format!("{} {}:{}", f.function, f.file, f.line))
            .collect(),
        GroupLevel::Functions => shown.iter().map(|f| f.function.to_string()).collect(),
        GroupLevel::Package => match label_index(shown) {
            Some(i) => {
                let mut key = vec![shown[i].function.to_string()];
                let mut last: Option<&str> = None;
                for frame in &shown[i + 1..] {
                    let package = package_of(&frame.function);
                    if last != Some(package) {
                        key.push(package.to_string());
                        last = Some(package);
                    }
                }
                key
            }
            None => Vec::new(),
        },
    };
    (key, label)
}

/// A group while it is built.
#[derive(Debug)]
struct Group {
    label: String,
    goroutines: u64,
    stacks: usize,
    frames: Vec<String>,
    creators: BTreeMap<(String, String, i64), u64>,
    states: BTreeMap<String, u64>,
    max_wait: Option<u64>,
}

struct Grouping {
    groups: Vec<Group>,
    /// Sample index → group index (`None` for samples of no goroutines).
    sample_group: Vec<Option<usize>>,
    /// Sample index → its stack holds a mutex lock frame.
    sample_mutex: Vec<bool>,
    /// Goroutines in all samples.
    total: u64,
}

/// The goroutine count of a sample: the `goroutine` value, else the default one.
fn sample_value(profile: &Profile, sample: SampleRef<'_>) -> u64 {
    let index = profile
        .sample_index_of("goroutine")
        .unwrap_or_else(|| profile.default_sample_index());
    sample.values().get(index).map_or(0, |&v| v.max(0) as u64)
}

fn group(profile: &Profile, level: GroupLevel) -> Grouping {
    let mut index: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut sample_group = Vec::with_capacity(profile.samples.len());
    let mut sample_mutex = Vec::with_capacity(profile.samples.len());
    let mut total = 0;
    for sample in profile.samples() {
        let frames = frames(profile, sample);
        sample_mutex.push(frames.iter().any(|f| is_mutex_lock_frame(&f.function)));
        let value = sample_value(profile, sample);
        if value == 0 {
            sample_group.push(None);
            continue;
        }
        total += value;
        let (key, label) = key_and_label(&frames, level);
        let group_index = match index.get(&key) {
            Some(&i) => i,
            None => {
                let shown: Vec<String> = match level {
                    GroupLevel::Exact => key.clone(),
                    _ => visible(&frames)
                        .iter()
                        .map(|f| f.function.to_string())
                        .collect(),
                };
                groups.push(Group {
                    label,
                    goroutines: 0,
                    stacks: 0,
                    frames: shown,
                    creators: BTreeMap::new(),
                    states: BTreeMap::new(),
                    max_wait: None,
                });
                index.insert(key, groups.len() - 1);
                groups.len() - 1
            }
        };
        let group = &mut groups[group_index];
        group.goroutines += value;
        group.stacks += 1;
        sample_group.push(Some(group_index));
    }
    Grouping {
        groups,
        sample_group,
        sample_mutex,
        total,
    }
}

impl Grouping {
    fn group_of(&self, sample: usize) -> Option<usize> {
        self.sample_group.get(sample).copied().flatten()
    }

    /// Adds what only `debug=2` knows per goroutine: state, wait time, creator.
    fn add_goroutine_details(&mut self, dump: &GoroutineDump) {
        // (group, creator) → goroutines, counted on the dump's own strings: a dump has tens of
        // thousands of goroutines and a few creators.
        let mut creators: rustc_hash::FxHashMap<(usize, &str, &str, i64), u64> =
            rustc_hash::FxHashMap::default();
        for goroutine in &dump.goroutines {
            let Some(index) = self.group_of(goroutine.sample) else {
                continue;
            };
            let group = &mut self.groups[index];
            count_state(&mut group.states, &goroutine.state);
            if let Some(created) = &goroutine.created_by {
                let key = (index, &*created.function, &*created.file, created.line);
                *creators.entry(key).or_default() += 1;
            }
            if let Some(wait) = goroutine.wait_minutes {
                group.max_wait = Some(group.max_wait.map_or(wait, |m| m.max(wait)));
            }
        }
        for ((index, function, file, line), count) in creators {
            let key = (function.to_string(), file.to_string(), line);
            *self.groups[index].creators.entry(key).or_default() += count;
        }
    }
}

/// One more goroutine in `state`. A state is counted for every goroutine of a dump (tens of
/// thousands): its name is copied only the first time.
fn count_state(counts: &mut BTreeMap<String, u64>, state: &str) {
    match counts.get_mut(state) {
        Some(count) => *count += 1,
        None => {
            counts.insert(state.to_string(), 1);
        }
    }
}

/// Functions that are on a stack only while it waits to lock a sync.Mutex or RWMutex.
fn is_mutex_lock_frame(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "sync.runtime_SemacquireMutex",
        "sync.runtime_SemacquireRWMutex",
        "sync.runtime_SemacquireRWMutexR",
        "internal/sync.runtime_SemacquireMutex",
        "sync.(*Mutex).Lock",
        "sync.(*Mutex).lockSlow",
        "sync.(*RWMutex).Lock",
        "sync.(*RWMutex).RLock",
        "internal/sync.(*Mutex).Lock",
        "internal/sync.(*Mutex).lockSlow",
    ];
    EXACT.contains(&name)
}

fn is_mutex_state(state: &str) -> bool {
    matches!(
        state,
        "sync.Mutex.Lock" | "sync.RWMutex.Lock" | "sync.RWMutex.RLock"
    )
}

/// Groups sorted by count (descending), then label, then frames: the order of the table.
fn sorted_order(groups: &[Group]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&groups[a], &groups[b]);
        b.goroutines
            .cmp(&a.goroutines)
            .then_with(|| a.label.cmp(&b.label))
            .then_with(|| a.frames.cmp(&b.frames))
    });
    order
}

fn infer(
    groups: &[Group],
    declared: Option<u32>,
    options: &GoroutineOptions,
) -> Option<InstanceInference> {
    let counts: Vec<u64> = groups.iter().map(|g| g.goroutines).collect();
    let total_goroutines: u64 = counts.iter().sum();
    let mut exact: BTreeMap<u64, usize> = BTreeMap::new();
    for &count in counts.iter().filter(|&&c| c >= 2) {
        *exact.entry(count).or_default() += 1;
    }
    let mut candidates: Vec<InstanceCandidate> = exact
        .into_iter()
        .filter(|&(_, groups)| groups >= options.min_exact_groups.max(1))
        .map(|(n, exact_groups)| {
            let explained: Vec<u64> = counts
                .iter()
                .copied()
                .filter(|c| c.is_multiple_of(n))
                .collect();
            InstanceCandidate {
                instances: n,
                exact_groups,
                explained_groups: explained.len(),
                explained_goroutines: explained.iter().sum(),
            }
        })
        .collect();
    let is_declared = |n: u64| declared.is_some_and(|d| u64::from(d) == n);
    candidates.sort_by(|a, b| {
        b.explained_goroutines
            .cmp(&a.explained_goroutines)
            .then_with(|| is_declared(b.instances).cmp(&is_declared(a.instances)))
            .then_with(|| b.exact_groups.cmp(&a.exact_groups))
            .then_with(|| b.instances.cmp(&a.instances))
    });
    candidates.truncate(options.max_candidates.max(1));
    let best = candidates.first()?.clone();
    let n = best.instances;

    let mut factors: BTreeMap<u64, (usize, u64)> = BTreeMap::new();
    for &count in counts.iter().filter(|&&c| c.is_multiple_of(n)) {
        let entry = factors.entry(count / n).or_default();
        entry.0 += 1;
        entry.1 += count;
    }
    let factors = factors
        .into_iter()
        .rev()
        .map(|(factor, (groups, goroutines))| FactorRow {
            factor,
            groups,
            goroutines,
            per_instance: factor * groups as u64,
            text: format!(
                "{groups} {} × {factor} per instance",
                plural(groups as u64, "group", "groups")
            ),
        })
        .collect();
    let per_instance = best.explained_goroutines / n;
    let total_per_instance = total_goroutines as f64 / n as f64;
    let explained_share_text = percent_text(best.explained_goroutines, total_goroutines);
    let matches_declared = declared.map(|d| u64::from(d) == n);
    Some(InstanceInference {
        instances: n,
        declared,
        matches_declared,
        declared_note: match declared {
            Some(d) if u64::from(d) != n => Some(format!(
                "{n} {} inferred, {d} declared",
                plural(n, "instance", "instances")
            )),
            _ => None,
        },
        exact_groups: best.exact_groups,
        explained_groups: best.explained_groups,
        explained_goroutines: best.explained_goroutines,
        total_groups: counts.len(),
        total_goroutines,
        explained_share: share(best.explained_goroutines, total_goroutines),
        summary_text: format!(
            "{n} instances explain {} of {total_goroutines} goroutines ({explained_share_text}) \
             in {} of {} groups: {per_instance} goroutines per instance",
            best.explained_goroutines,
            best.explained_groups,
            counts.len()
        ),
        explained_share_text,
        per_instance,
        total_per_instance,
        total_per_instance_text: number_text(total_per_instance),
        factors,
        candidates,
    })
}

fn group_table(
    source: GoroutineSource,
    options: &GoroutineOptions,
    grouping: Grouping,
    inference: Option<&InstanceInference>,
) -> GroupTable {
    let total = grouping.total;
    let total_groups = grouping.groups.len();
    let order = sorted_order(&grouping.groups);
    let mut slots: Vec<Option<Group>> = grouping.groups.into_iter().map(Some).collect();
    let rows: Vec<GoroutineGroup> = order
        .into_iter()
        .take(options.max_groups)
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .map(|g| group_row(g, total, inference.map(|i| i.instances)))
        .collect();
    let shown_goroutines = rows.iter().map(|r| r.goroutines).sum();
    GroupTable {
        source,
        source_text: source.text().to_string(),
        level: options.level,
        level_text: options.level.text().to_string(),
        coverage_text: format!(
            "showing {} of {total_groups} groups, {} of {total} goroutines",
            rows.len(),
            percent_text(shown_goroutines, total)
        ),
        rows,
        total_groups,
        total_goroutines: total,
        shown_goroutines,
    }
}

fn group_row(group: Group, total: u64, instances: Option<u64>) -> GoroutineGroup {
    let mut created_by: Vec<CreatorRow> = group
        .creators
        .into_iter()
        .map(|((function, file, line), goroutines)| CreatorRow {
            text: format!("{function} at {file}:{line}"),
            function,
            file,
            line,
            goroutines,
        })
        .collect();
    created_by.sort_by(|a, b| b.goroutines.cmp(&a.goroutines).then(a.text.cmp(&b.text)));
    let factor = instances.filter(|&n| n > 0 && group.goroutines.is_multiple_of(n));
    GoroutineGroup {
        label_package: package_of(&group.label).to_string(),
        goroutines: group.goroutines,
        share: share(group.goroutines, total),
        share_text: percent_text(group.goroutines, total),
        stacks: group.stacks,
        frames: group.frames,
        created_by,
        states: state_counts(group.states),
        max_wait_minutes: group.max_wait,
        instance_factor: factor.map(|n| group.goroutines / n),
        instance_factor_text: factor
            .map(|n| format!("{} = {} × {n}", group.goroutines, group.goroutines / n)),
        label: group.label,
    }
}

fn state_counts(states: BTreeMap<String, u64>) -> Vec<StateCount> {
    let mut rows: Vec<StateCount> = states
        .into_iter()
        .map(|(state, goroutines)| StateCount { state, goroutines })
        .collect();
    rows.sort_by(|a, b| b.goroutines.cmp(&a.goroutines).then(a.state.cmp(&b.state)));
    rows
}

fn totals(input: &GoroutineInput) -> GoroutineTotals {
    struct Raw {
        source: GoroutineSource,
        header: Option<u64>,
        stacks: u64,
        time: Option<i64>,
    }
    let mut raw = Vec::new();
    if let Some(profile) = input.profile {
        raw.push(Raw {
            source: GoroutineSource::Protobuf,
            header: None,
            stacks: profile.samples().map(|s| sample_value(profile, s)).sum(),
            time: (profile.time_nanos != 0).then_some(profile.time_nanos),
        });
    }
    if let Some(dump) = input.debug2 {
        raw.push(Raw {
            source: GoroutineSource::Debug2,
            header: dump.header_total,
            stacks: dump.total(),
            time: None,
        });
    }
    if let Some(dump) = input.debug1 {
        raw.push(Raw {
            source: GoroutineSource::Debug1,
            header: dump.header_total,
            stacks: dump.total(),
            time: None,
        });
    }
    let count = |r: &Raw| r.header.unwrap_or(r.stacks);
    let (total, source) = raw
        .first()
        .map_or((0, GoroutineSource::Protobuf), |r| (count(r), r.source));
    let rows: Vec<TotalRow> = raw
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let goroutines = count(r);
            let difference = goroutines as i64 - total as i64;
            TotalRow {
                source: r.source,
                source_text: r.source.text().to_string(),
                goroutines,
                header_total: r.header,
                stacks_total: r.stacks,
                difference,
                difference_text: if i == 0 {
                    "-".to_string()
                } else {
                    format!(
                        "{difference:+} ({:+.2}%)",
                        if total == 0 {
                            0.0
                        } else {
                            difference as f64 / total as f64 * 100.0
                        }
                    )
                },
                time_nanos: r.time,
                time_text: r.time.map(timefmt::pprof_time),
            }
        })
        .collect();
    let consistent = rows
        .iter()
        .all(|r| r.goroutines == total && r.header_total.is_none_or(|h| h == r.stacks_total));
    let note = (!consistent).then(|| {
        let mut parts: Vec<String> = rows
            .iter()
            .map(|r| match &r.time_text {
                Some(time) => format!("{} in the {} ({time})", r.goroutines, r.source_text),
                None => format!("{} in the {}", r.goroutines, r.source_text),
            })
            .collect();
        let mut note = parts.remove(0);
        for part in parts {
            note.push_str(", ");
            note.push_str(&part);
        }
        note.push_str(": the profiles are taken moments apart, and goroutines come and go");
        for r in &rows {
            if let Some(header) = r.header_total.filter(|&h| h != r.stacks_total) {
                note.push_str(&format!(
                    "; the {} header says {header} but its stacks hold {} (truncated dump?)",
                    r.source_text, r.stacks_total
                ));
            }
        }
        note
    });
    GoroutineTotals {
        total,
        source,
        source_text: source.text().to_string(),
        rows,
        consistent,
        note,
    }
}

fn per_service(total: u64, input: &GoroutineInput) -> Option<PerService> {
    let services = input.services.filter(|&s| s > 0)?;
    let per = total as f64 / f64::from(services);
    let expected = input
        .expected_per_service
        .filter(|(min, max)| min.is_finite() && max.is_finite() && min <= max);
    let expected_text = expected.map(|(min, max)| {
        if min == max {
            number_text(min)
        } else {
            format!("{}–{}", number_text(min), number_text(max))
        }
    });
    let (verdict, verdict_text) = match (expected, &expected_text) {
        (Some((min, max)), Some(text)) => {
            if per > max {
                let ratio = if max > 0.0 {
                    format!(" ({}× the upper bound)", number_text(per / max))
                } else {
                    String::new()
                };
                (
                    Expectation::Above,
                    format!("above the expected {text}{ratio}"),
                )
            } else if per < min {
                (Expectation::Below, format!("below the expected {text}"))
            } else {
                (Expectation::Within, format!("within the expected {text}"))
            }
        }
        _ => (
            Expectation::NoExpectation,
            "no expectation given".to_string(),
        ),
    };
    Some(PerService {
        services,
        goroutines: total,
        per_service: per,
        per_service_text: number_text(per),
        expected_min: expected.map(|e| e.0),
        expected_max: expected.map(|e| e.1),
        expected_text,
        verdict,
        verdict_text,
    })
}

fn states(
    dump: &GoroutineDump,
    grouping: &Grouping,
    uptime_seconds: Option<f64>,
    options: &GoroutineOptions,
) -> StateAnalysis {
    let goroutines = dump.goroutines.len() as u64;
    let mut by_state: BTreeMap<String, u64> = BTreeMap::new();
    // Bucket bounds in minutes: [0,1), [1,10), [10,60), [60,∞). The runtime prints waits
    // only from one minute on, so a goroutine without one is in the first bucket.
    const BOUNDS: [(u64, Option<u64>, &str); 4] = [
        (0, Some(1), "< 1 min"),
        (1, Some(10), "1–10 min"),
        (10, Some(60), "10–60 min"),
        (60, None, "≥ 60 min"),
    ];
    let mut buckets = [0u64; 4];
    let mut locked = 0;
    let uptime = uptime_seconds.filter(|u| u.is_finite() && *u > 0.0);
    let threshold = match uptime {
        Some(seconds) => {
            let minutes = (options.leak_uptime_fraction * seconds / 60.0).ceil();
            (minutes.max(1.0)) as u64
        }
        None => options.leak_minutes_without_uptime.max(1),
    };
    // Group index → (blocked goroutines, min wait, max wait, states).
    let mut suspects: BTreeMap<usize, (u64, u64, u64, BTreeMap<String, u64>)> = BTreeMap::new();
    for goroutine in &dump.goroutines {
        count_state(&mut by_state, &goroutine.state);
        locked += u64::from(goroutine.locked_to_thread);
        let wait = goroutine.wait_minutes.unwrap_or(0);
        let bucket = BOUNDS
            .iter()
            .position(|(_, max, _)| max.is_none_or(|m| wait < m))
            .unwrap_or(BOUNDS.len() - 1);
        buckets[bucket] += 1;
        if wait >= threshold
            && let Some(group) = grouping.group_of(goroutine.sample)
        {
            let entry = suspects
                .entry(group)
                .or_insert((0, u64::MAX, 0, BTreeMap::new()));
            entry.0 += 1;
            entry.1 = entry.1.min(wait);
            entry.2 = entry.2.max(wait);
            count_state(&mut entry.3, &goroutine.state);
        }
    }
    let mut states: Vec<StateRow> = by_state
        .into_iter()
        .map(|(state, count)| StateRow {
            share_text: percent_text(count, goroutines),
            state,
            goroutines: count,
        })
        .collect();
    states.sort_by(|a, b| b.goroutines.cmp(&a.goroutines).then(a.state.cmp(&b.state)));
    let wait_buckets = BOUNDS
        .iter()
        .zip(buckets)
        .map(|(&(min, max, label), count)| WaitBucket {
            label: label.to_string(),
            min_minutes: min,
            max_minutes: max,
            goroutines: count,
            share_text: percent_text(count, goroutines),
        })
        .collect();
    let mut leak_suspects: Vec<LeakSuspect> = suspects
        .into_iter()
        .filter_map(|(index, (blocked, min, max, states))| {
            let group = grouping.groups.get(index)?;
            Some(LeakSuspect {
                label: group.label.clone(),
                group_goroutines: group.goroutines,
                blocked,
                min_wait_minutes: min,
                max_wait_minutes: max,
                wait_text: if min == max {
                    format!("{min} min")
                } else {
                    format!("{min}–{max} min")
                },
                states: state_counts(states),
            })
        })
        .collect();
    leak_suspects.sort_by(|a, b| {
        b.blocked
            .cmp(&a.blocked)
            .then_with(|| a.label.cmp(&b.label))
            .then_with(|| b.max_wait_minutes.cmp(&a.max_wait_minutes))
    });
    StateAnalysis {
        goroutines,
        states,
        wait_buckets,
        locked_to_thread: locked,
        leak_threshold_minutes: threshold,
        leak_threshold_text: match uptime {
            Some(seconds) => format!(
                "≥ {threshold} min ({}% of the {} min uptime)",
                number_text(options.leak_uptime_fraction * 100.0),
                number_text(seconds / 60.0)
            ),
            None => format!("≥ {threshold} min (uptime unknown)"),
        },
        leak_suspects,
    }
}

fn mutex_waiters(
    profile: &Profile,
    debug2: Option<&GoroutineDump>,
    grouping: &Grouping,
    mutex: Option<&Profile>,
) -> MutexWaiters {
    let mut by_state: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_group: BTreeMap<String, u64> = BTreeMap::new();
    let mut waiters = 0;
    let label_of = |sample: usize| {
        grouping
            .group_of(sample)
            .and_then(|g| grouping.groups.get(g))
            .map_or_else(|| "(no frames)".to_string(), |g| g.label.clone())
    };
    let has_lock_frame = |sample: usize| grouping.sample_mutex.get(sample).copied() == Some(true);
    match debug2 {
        Some(dump) => {
            for goroutine in &dump.goroutines {
                if is_mutex_state(&goroutine.state) || has_lock_frame(goroutine.sample) {
                    waiters += 1;
                    count_state(&mut by_state, &goroutine.state);
                    *by_group.entry(label_of(goroutine.sample)).or_default() += 1;
                }
            }
        }
        None => {
            for (index, sample) in profile.samples().enumerate() {
                if has_lock_frame(index) {
                    let value = sample_value(profile, sample);
                    waiters += value;
                    *by_group.entry(label_of(index)).or_default() += value;
                }
            }
        }
    }
    let (state, contentions, delay) = match mutex {
        None => (MutexProfileState::NotCollected, 0, 0),
        Some(p) => {
            let sum = |kind: &str| {
                p.sample_index_of(kind).map_or(0, |i| {
                    p.samples()
                        .filter_map(|s| s.values().get(i))
                        .fold(0i64, |acc, &v| acc.saturating_add(v))
                })
            };
            let (contentions, delay) = (sum("contentions"), sum("delay"));
            if contentions == 0 && delay == 0 {
                (MutexProfileState::Empty, 0, 0)
            } else {
                (MutexProfileState::Recorded, contentions, delay)
            }
        }
    };
    let delay_text = units::label(delay, "nanoseconds");
    let profiling_off = waiters > 0 && state == MutexProfileState::Empty;
    let who = format!(
        "{waiters} {} {} to lock a mutex",
        plural(waiters, "goroutine", "goroutines"),
        if waiters == 1 { "waits" } else { "wait" }
    );
    let note = (waiters > 0).then(|| match state {
        MutexProfileState::Empty => format!(
            "{who} but the mutex profile is empty: mutex profiling is most likely off \
             (runtime.SetMutexProfileFraction) while contention exists"
        ),
        MutexProfileState::NotCollected => {
            format!("{who}; the set has no mutex profile to say how long such waits take")
        }
        MutexProfileState::Recorded => format!(
            "{who}; the mutex profile recorded {contentions} contentions, {delay_text} of delay"
        ),
    });
    MutexWaiters {
        waiters,
        by_state: state_counts(by_state),
        groups: {
            let mut groups: Vec<LabelCount> = by_group
                .into_iter()
                .map(|(label, goroutines)| LabelCount { label, goroutines })
                .collect();
            groups.sort_by(|a, b| b.goroutines.cmp(&a.goroutines).then(a.label.cmp(&b.label)));
            groups
        },
        mutex_profile: state,
        mutex_contentions: contentions,
        mutex_delay_nanos: delay,
        mutex_delay_text: delay_text,
        profiling_off_with_contention: profiling_off,
        note,
    }
}

/// Goroutines per (module, version) in one profile: each sample counts once per module its
/// frames' files belong to.
fn module_counts(profile: &Profile) -> BTreeMap<(String, String), u64> {
    let mut counts = BTreeMap::new();
    for sample in profile.samples() {
        let value = sample_value(profile, sample);
        let touched: BTreeSet<(&str, &str)> = frames(profile, sample)
            .iter()
            .filter_map(|f| module_version(f.file))
            .collect();
        for (module, version) in touched {
            *counts
                .entry((module.to_string(), version.to_string()))
                .or_default() += value;
        }
    }
    counts
}

fn modules(input: &GoroutineInput) -> Vec<ModuleRow> {
    let sources = [
        (GoroutineSource::Debug2, input.debug2.map(|d| &d.profile)),
        (GoroutineSource::Protobuf, input.profile),
        (GoroutineSource::Debug1, input.debug1.map(|d| &d.profile)),
    ];
    let mut rows: BTreeMap<(String, String), (u64, GoroutineSource)> = BTreeMap::new();
    for (source, profile) in sources {
        let Some(profile) = profile else { continue };
        for (key, count) in module_counts(profile) {
            rows.entry(key).or_insert((count, source));
        }
    }
    rows.into_iter()
        .map(|((module, version), (goroutines, source))| ModuleRow {
            module,
            version,
            goroutines,
            source,
        })
        .collect()
}

fn share(value: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        value as f64 / total as f64 * 100.0
    }
}

/// pprof's percentage without its padding: `93.40%`.
fn percent_text(value: u64, total: u64) -> String {
    units::percentage(
        i64::try_from(value).unwrap_or(i64::MAX),
        i64::try_from(total).unwrap_or(i64::MAX),
    )
    .trim()
    .to_string()
}

/// At most two decimals, without trailing zeros: `109.72`, `16`, `2.5`.
fn number_text(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Labels, Line, ProfileBuilder, ValueType};

    /// A frame of a hand-built stack: function, file, line, address.
    type F<'a> = (&'a str, &'a str, i64, u64);

    fn goroutine_profile(samples: &[(i64, Vec<F>)]) -> Profile {
        let count = ValueType {
            kind: "goroutine".into(),
            unit: "count".into(),
        };
        let mut builder = ProfileBuilder::new(vec![count]);
        builder.profile_mut().time_nanos = 1_760_576_733_000_000_000;
        for (value, frames) in samples {
            let locations = frames
                .iter()
                .map(|&(name, file, line, address)| {
                    let function = builder.function(name, file);
                    builder.location(address, &[Line { function, line }])
                })
                .collect::<Vec<usize>>();
            builder
                .sample(&locations, &[*value], Labels::default())
                .unwrap();
        }
        builder.finish()
    }

    /// A stack of functions at distinct addresses (`x.go`, line 1).
    fn stack<'a>(names: &[&'a str]) -> Vec<F<'a>> {
        names
            .iter()
            .enumerate()
            .map(|(i, &n)| (n, "x.go", 1, 0x1000 + i as u64))
            .collect()
    }

    fn mutex_profile(values: &[[i64; 2]]) -> Profile {
        let types = vec![
            ValueType {
                kind: "contentions".into(),
                unit: "count".into(),
            },
            ValueType {
                kind: "delay".into(),
                unit: "nanoseconds".into(),
            },
        ];
        let mut builder = ProfileBuilder::new(types);
        let function = builder.function("sync.(*Mutex).Unlock", "sync/mutex.go");
        let location = builder.location(0x10, &[Line { function, line: 1 }]);
        for v in values {
            builder.sample(&[location], v, Labels::default()).unwrap();
        }
        builder.finish()
    }

    fn run(input: &GoroutineInput) -> GoroutineAnalysis {
        analyze(input, &GoroutineOptions::default()).expect("analysis")
    }

    fn with_level(input: &GoroutineInput, level: GroupLevel) -> GoroutineAnalysis {
        let options = GoroutineOptions {
            level,
            ..GoroutineOptions::default()
        };
        analyze(input, &options).expect("analysis")
    }

    fn labels_and_counts(analysis: &GoroutineAnalysis) -> Vec<(String, u64)> {
        analysis
            .groups
            .rows
            .iter()
            .map(|g| (g.label.clone(), g.goroutines))
            .collect()
    }

    #[test]
    fn nothing_to_analyze() {
        assert!(analyze(&GoroutineInput::default(), &GoroutineOptions::default()).is_none());
    }

    #[test]
    fn identical_functions_are_one_group_whatever_the_addresses() {
        // Same functions, different addresses and lines: one group by functions, two exact.
        let a = vec![
            ("runtime.gopark", "runtime/proc.go", 400, 0x10),
            ("example.com/a.Worker", "a.go", 10, 0x20),
        ];
        let b = vec![
            ("runtime.gopark", "runtime/proc.go", 400, 0x10),
            ("example.com/a.Worker", "a.go", 12, 0x24),
        ];
        let profile = goroutine_profile(&[(3, a), (2, b)]);
        let input = GoroutineInput {
            profile: Some(&profile),
            ..GoroutineInput::default()
        };
        let functions = run(&input);
        assert_eq!(functions.groups.source, GoroutineSource::Protobuf);
        assert_eq!(
            labels_and_counts(&functions),
            [("example.com/a.Worker".to_string(), 5)]
        );
        assert_eq!(functions.groups.rows[0].stacks, 2);
        assert_eq!(functions.groups.rows[0].frames, ["example.com/a.Worker"]);
        let exact = with_level(&input, GroupLevel::Exact);
        assert_eq!(exact.groups.total_groups, 2);
        assert_eq!(
            exact.groups.rows[0].frames,
            [
                "runtime.gopark runtime/proc.go:400",
                "example.com/a.Worker a.go:10"
            ]
        );
    }

    #[test]
    fn hidden_runtime_frames_do_not_split_groups() {
        // chanrecv1 and chanrecv2 are what the text dumps hide; goexit is at every root.
        let profile = goroutine_profile(&[
            (
                2,
                stack(&[
                    "runtime.gopark",
                    "runtime.chanrecv",
                    "runtime.chanrecv1",
                    "example.com/a.Loop",
                    "runtime.goexit",
                ]),
            ),
            (
                1,
                stack(&[
                    "runtime.gopark",
                    "runtime.chanrecv",
                    "runtime.chanrecv2",
                    "example.com/a.Loop",
                    "runtime.goexit",
                ]),
            ),
            // Only runtime frames: kept whole (but goexit), as runtime/pprof prints them.
            (1, stack(&["runtime.gopark", "runtime.forcegchelper"])),
        ]);
        let input = GoroutineInput {
            profile: Some(&profile),
            ..GoroutineInput::default()
        };
        let analysis = run(&input);
        assert_eq!(
            labels_and_counts(&analysis),
            [
                ("example.com/a.Loop".to_string(), 3),
                ("runtime.gopark".to_string(), 1)
            ]
        );
        assert_eq!(
            analysis.groups.rows[1].frames,
            ["runtime.gopark", "runtime.forcegchelper"]
        );
        assert_eq!(with_level(&input, GroupLevel::Exact).groups.total_groups, 3);
    }

    #[test]
    fn labels_skip_the_runtime_and_the_standard_library() {
        let label = |names: &[&str]| {
            let frames = stack(names);
            let frames: Vec<Frame> = frames
                .iter()
                .map(|&(n, f, l, _)| Frame {
                    function: Cow::Borrowed(n),
                    file: f,
                    line: l,
                })
                .collect();
            key_and_label(&frames, GroupLevel::Functions).1
        };
        assert_eq!(
            label(&[
                "sync.runtime_notifyListWait",
                "sync.(*Cond).Wait",
                "tailscale.com/net/memnet.(*Pipe).Read",
                "net/http.(*conn).serve",
            ]),
            "tailscale.com/net/memnet.(*Pipe).Read"
        );
        // Only the standard library: the first frame past the wait plumbing.
        assert_eq!(
            label(&[
                "internal/poll.runtime_pollWait",
                "internal/poll.(*FD).Read",
                "net.(*netFD).Read",
                "net.(*conn).Read",
                "net/http.(*connReader).backgroundRead",
            ]),
            "net/http.(*connReader).backgroundRead"
        );
        assert_eq!(label(&["time.Sleep", "main.main"]), "main.main");
        assert_eq!(label(&["runtime.gopark", "time.Sleep"]), "time.Sleep");
        assert_eq!(label(&["runtime.gopark"]), "runtime.gopark");
        assert_eq!(label(&[]), "(no frames)");
    }

    #[test]
    fn package_level_merges_stacks_through_different_wait_plumbing() {
        let profile = goroutine_profile(&[
            (
                2,
                stack(&[
                    "sync.runtime_notifyListWait",
                    "sync.(*Cond).Wait",
                    "example.com/q.(*Queue).Pop",
                    "example.com/w.worker",
                    "example.com/w.worker.func1",
                ]),
            ),
            (
                3,
                stack(&[
                    "runtime.gopark",
                    "runtime.chanrecv1",
                    "example.com/q.(*Queue).Pop",
                    "example.com/w.run",
                ]),
            ),
            (
                1,
                stack(&["example.com/q.(*Queue).Pop", "example.com/z.other"]),
            ),
        ]);
        let input = GoroutineInput {
            profile: Some(&profile),
            ..GoroutineInput::default()
        };
        assert_eq!(run(&input).groups.total_groups, 3);
        let by_package = with_level(&input, GroupLevel::Package);
        assert_eq!(
            labels_and_counts(&by_package),
            [
                ("example.com/q.(*Queue).Pop".to_string(), 5),
                ("example.com/q.(*Queue).Pop".to_string(), 1)
            ]
        );
        assert_eq!(by_package.groups.rows[0].stacks, 2);
    }

    #[test]
    fn groups_sort_by_count_then_label() {
        let profile = goroutine_profile(&[
            (2, stack(&["example.com/b.B"])),
            (5, stack(&["example.com/c.C"])),
            (2, stack(&["example.com/a.A"])),
        ]);
        let input = GoroutineInput {
            profile: Some(&profile),
            ..GoroutineInput::default()
        };
        let options = GoroutineOptions {
            max_groups: 2,
            ..GoroutineOptions::default()
        };
        let analysis = analyze(&input, &options).expect("analysis");
        assert_eq!(
            labels_and_counts(&analysis),
            [
                ("example.com/c.C".to_string(), 5),
                ("example.com/a.A".to_string(), 2)
            ]
        );
        assert_eq!(analysis.groups.total_groups, 3);
        assert_eq!(analysis.groups.shown_goroutines, 7);
        assert_eq!(
            analysis.groups.coverage_text,
            "showing 2 of 3 groups, 77.78% of 9 goroutines"
        );
    }

    /// Groups with these counts, each its own function.
    fn counts_profile(counts: &[u64]) -> Profile {
        let names: Vec<String> = (0..counts.len())
            .map(|i| format!("example.com/p.F{i}"))
            .collect();
        let samples: Vec<(i64, Vec<F>)> = counts
            .iter()
            .zip(&names)
            .map(|(&c, n)| (c as i64, vec![(n.as_str(), "p.go", 1, 0x10)]))
            .collect();
        goroutine_profile(&samples)
    }

    fn infer_counts(counts: &[u64], declared: Option<u32>) -> Option<InstanceInference> {
        let profile = counts_profile(counts);
        let input = GoroutineInput {
            profile: Some(&profile),
            services: declared,
            ..GoroutineInput::default()
        };
        run(&input).instances
    }

    #[test]
    fn instances_of_the_real_debug1_counts() {
        // The block counts of the production debug=1 dump (57 services declared).
        let mut counts = vec![944, 944, 944, 944, 146, 113, 113, 87, 87, 60, 60];
        counts.extend([59; 30]);
        counts.extend([54, 47, 28, 12, 5, 1, 1, 1, 1, 1, 1]);
        let inference = infer_counts(&counts, Some(57)).expect("instances");
        assert_eq!(inference.instances, 59);
        assert_eq!(inference.exact_groups, 30);
        assert_eq!(inference.explained_groups, 34);
        assert_eq!(inference.explained_goroutines, 4 * 944 + 30 * 59);
        assert_eq!(inference.per_instance, 64 + 30);
        assert_eq!(inference.matches_declared, Some(false));
        assert_eq!(
            inference.declared_note.as_deref(),
            Some("59 instances inferred, 57 declared")
        );
        assert_eq!(inference.factors[0].factor, 16);
        assert_eq!(inference.factors[0].text, "4 groups × 16 per instance");
        assert_eq!(inference.candidates[1].instances, 944);
        // Small divisors explain more goroutines but no group has exactly 2 or 4.
        assert!(inference.candidates.iter().all(|c| c.instances > 4));
    }

    #[test]
    fn instances_need_groups_of_exactly_n() {
        // Two groups of 6 are not enough evidence; 1 is never a candidate.
        assert!(infer_counts(&[6, 6, 12, 1, 1, 1], Some(6)).is_none());
        let options = GoroutineOptions {
            min_exact_groups: 2,
            ..GoroutineOptions::default()
        };
        let profile = counts_profile(&[6, 6, 12, 1, 1, 1]);
        let input = GoroutineInput {
            profile: Some(&profile),
            ..GoroutineInput::default()
        };
        let inference = analyze(&input, &options)
            .and_then(|a| a.instances)
            .expect("instances");
        assert_eq!(inference.instances, 6);
        assert_eq!(inference.matches_declared, None);
    }

    #[test]
    fn ties_prefer_the_declared_count() {
        // 3 and 4 both explain 12 goroutines.
        let counts = [4, 4, 4, 3, 3, 3, 3];
        assert_eq!(infer_counts(&counts, Some(4)).map(|i| i.instances), Some(4));
        assert_eq!(infer_counts(&counts, Some(3)).map(|i| i.instances), Some(3));
        // Without a declaration: more groups of exactly N.
        assert_eq!(infer_counts(&counts, None).map(|i| i.instances), Some(3));
    }

    #[test]
    fn groups_carry_their_instance_factor() {
        let profile = counts_profile(&[18, 3, 3, 3, 7]);
        let input = GoroutineInput {
            profile: Some(&profile),
            services: Some(3),
            ..GoroutineInput::default()
        };
        let analysis = run(&input);
        let rows = &analysis.groups.rows;
        assert_eq!(rows[0].instance_factor, Some(6));
        assert_eq!(rows[0].instance_factor_text.as_deref(), Some("18 = 6 × 3"));
        assert_eq!(rows[1].instance_factor, None);
        assert_eq!(rows[2].instance_factor_text.as_deref(), Some("3 = 1 × 3"));
        let inference = analysis.instances.expect("instances");
        assert_eq!(inference.per_instance, 9);
        assert_eq!(inference.total_per_instance_text, "11.33");
        assert_eq!(inference.declared_note, None);
        assert_eq!(
            inference.summary_text,
            "3 instances explain 27 of 34 goroutines (79.41%) in 4 of 5 groups: 9 goroutines per instance"
        );
    }

    const DEBUG1: &str = "goroutine profile: total 7
5 @ 0x4773ce 0x40fc65 0x47f1a1
#\t0x40fc64\texample.com/a.Worker+0x64\t/root/go/pkg/mod/example.com/a@v1.2.3/w.go:10

2 @ 0x4773ce 0x40fc66 0x47f1a1
#\t0x40fc65\tmain.main+0x64\t/src/app/main.go:5

";

    #[test]
    fn totals_keep_every_source_and_the_protobuf_time() {
        let profile = goroutine_profile(&[(6, stack(&["example.com/a.Worker"]))]);
        let dump = crate::dump::parse(DEBUG1.as_bytes()).expect("dump");
        let input = GoroutineInput {
            profile: Some(&profile),
            debug1: Some(&dump),
            ..GoroutineInput::default()
        };
        let totals = run(&input).totals;
        assert_eq!(totals.total, 6);
        assert_eq!(totals.source, GoroutineSource::Protobuf);
        assert!(!totals.consistent);
        assert_eq!(totals.rows.len(), 2);
        assert_eq!(
            totals.rows[0].time_text.as_deref(),
            Some("Oct 16, 2025 at 1:05am (UTC)")
        );
        assert_eq!(totals.rows[1].goroutines, 7);
        assert_eq!(totals.rows[1].header_total, Some(7));
        assert_eq!(totals.rows[1].difference_text, "+1 (+16.67%)");
        assert_eq!(
            totals.note.as_deref(),
            Some(
                "6 in the goroutine profile (Oct 16, 2025 at 1:05am (UTC)), 7 in the debug=1 \
                 dump: the profiles are taken moments apart, and goroutines come and go"
            )
        );
        // The debug=1 dump alone is the source of everything.
        let alone = GoroutineInput {
            debug1: Some(&dump),
            ..GoroutineInput::default()
        };
        let analysis = run(&alone);
        assert_eq!(analysis.totals.total, 7);
        assert!(analysis.totals.consistent);
        assert_eq!(analysis.groups.source, GoroutineSource::Debug1);
        assert_eq!(
            labels_and_counts(&analysis),
            [
                ("example.com/a.Worker".to_string(), 5),
                ("main.main".to_string(), 2)
            ]
        );
    }

    #[test]
    fn per_service_against_the_expectation() {
        let profile = counts_profile(&[10, 2]);
        let verdict = |expected: Option<(f64, f64)>| {
            let input = GoroutineInput {
                profile: Some(&profile),
                services: Some(4),
                expected_per_service: expected,
                ..GoroutineInput::default()
            };
            run(&input).per_service.expect("per service")
        };
        let above = verdict(Some((1.0, 2.0)));
        assert_eq!(above.per_service, 3.0);
        assert_eq!(above.per_service_text, "3");
        assert_eq!(above.verdict, Expectation::Above);
        assert_eq!(
            above.verdict_text,
            "above the expected 1–2 (1.5× the upper bound)"
        );
        assert_eq!(verdict(Some((2.5, 3.0))).verdict, Expectation::Within);
        let below = verdict(Some((5.0, 5.0)));
        assert_eq!(below.verdict, Expectation::Below);
        assert_eq!(below.verdict_text, "below the expected 5");
        assert_eq!(verdict(None).verdict, Expectation::NoExpectation);
        let none = GoroutineInput {
            profile: Some(&profile),
            services: Some(0),
            ..GoroutineInput::default()
        };
        assert!(run(&none).per_service.is_none());
    }

    const DEBUG2: &str = "goroutine 1 [running]:
main.main()
\t/src/app/main.go:10 +0x1d

goroutine 5 [sync.Mutex.Lock, 90 minutes]:
sync.runtime_SemacquireMutex(0x0?, 0x0?, 0x0?)
\t/usr/lib/go/src/runtime/sema.go:95 +0x25
sync.(*Mutex).lockSlow(0xc000016310)
\t/usr/lib/go/src/sync/mutex.go:173 +0x165
sync.(*Mutex).Lock(...)
\t/usr/lib/go/src/sync/mutex.go:92
example.com/app/store.(*DB).Get(0x0?)
\t/root/go/pkg/mod/example.com/app@v1.2.3/store/db.go:40 +0x3c
created by example.com/app/server.Start in goroutine 1
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:20 +0x55

goroutine 6 [semacquire, 70 minutes]:
sync.runtime_SemacquireMutex(0x0?, 0x0?, 0x0?)
\t/usr/lib/go/src/runtime/sema.go:95 +0x25
sync.(*Mutex).lockSlow(0xc000016310)
\t/usr/lib/go/src/sync/mutex.go:173 +0x165
sync.(*Mutex).Lock(...)
\t/usr/lib/go/src/sync/mutex.go:92
example.com/app/store.(*DB).Get(0x0?)
\t/root/go/pkg/mod/example.com/app@v1.2.3/store/db.go:40 +0x3c
created by example.com/app/server.Start in goroutine 1
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:20 +0x55

goroutine 7 [semacquire, 30 minutes]:
sync.runtime_SemacquireWaitGroup(0x0?)
\t/usr/lib/go/src/runtime/sema.go:110 +0x25
sync.(*WaitGroup).Wait(0x0?)
\t/usr/lib/go/src/sync/waitgroup.go:118 +0x47
example.com/app/server.drain()
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:50 +0x24
created by example.com/app/server.Start in goroutine 1
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:21 +0x65

goroutine 8 [chan receive, 5 minutes, locked to thread]:
example.com/app/server.loop()
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:60 +0x24
created by example.com/app/server.Start in goroutine 1
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:22 +0x75

goroutine 9 [chan receive]:
example.com/app/server.loop()
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:60 +0x24
created by example.com/app/server.Start in goroutine 1
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:22 +0x75

";

    fn debug2_input<'a>(
        dump: &'a GoroutineDump,
        uptime: Option<f64>,
        mutex: Option<&'a Profile>,
    ) -> GoroutineInput<'a> {
        GoroutineInput {
            debug2: Some(dump),
            uptime_seconds: uptime,
            mutex,
            ..GoroutineInput::default()
        }
    }

    #[test]
    fn debug2_groups_carry_states_creators_and_waits() {
        let dump = crate::dump::parse(DEBUG2.as_bytes()).expect("dump");
        let analysis = run(&debug2_input(&dump, None, None));
        assert_eq!(analysis.groups.source, GoroutineSource::Debug2);
        // Two groups of two: by label, server.loop before store.(*DB).Get.
        let get = &analysis.groups.rows[1];
        assert_eq!(get.label, "example.com/app/store.(*DB).Get");
        assert_eq!(get.goroutines, 2);
        assert_eq!(
            get.states,
            [
                StateCount {
                    state: "semacquire".into(),
                    goroutines: 1
                },
                StateCount {
                    state: "sync.Mutex.Lock".into(),
                    goroutines: 1
                }
            ]
        );
        assert_eq!(get.max_wait_minutes, Some(90));
        assert_eq!(get.created_by.len(), 1);
        assert_eq!(get.created_by[0].goroutines, 2);
        assert_eq!(
            get.created_by[0].text,
            "example.com/app/server.Start at /root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:20"
        );
        let loop_group = &analysis.groups.rows[0];
        assert_eq!(loop_group.label, "example.com/app/server.loop");
        assert_eq!(loop_group.max_wait_minutes, Some(5));
    }

    #[test]
    fn debug2_states_wait_buckets_and_leak_suspects() {
        let dump = crate::dump::parse(DEBUG2.as_bytes()).expect("dump");
        // Uptime unknown: blocked for an hour or more.
        let states = run(&debug2_input(&dump, None, None))
            .states
            .expect("states");
        assert_eq!(states.goroutines, 6);
        let rows: Vec<(&str, u64)> = states
            .states
            .iter()
            .map(|s| (s.state.as_str(), s.goroutines))
            .collect();
        assert_eq!(
            rows,
            [
                ("chan receive", 2),
                ("semacquire", 2),
                ("running", 1),
                ("sync.Mutex.Lock", 1)
            ]
        );
        let buckets: Vec<(&str, u64)> = states
            .wait_buckets
            .iter()
            .map(|b| (b.label.as_str(), b.goroutines))
            .collect();
        assert_eq!(
            buckets,
            [
                ("< 1 min", 2),
                ("1–10 min", 1),
                ("10–60 min", 1),
                ("≥ 60 min", 2)
            ]
        );
        assert_eq!(states.locked_to_thread, 1);
        assert_eq!(states.leak_threshold_minutes, 60);
        assert_eq!(states.leak_threshold_text, "≥ 60 min (uptime unknown)");
        assert_eq!(states.leak_suspects.len(), 1);
        let suspect = &states.leak_suspects[0];
        assert_eq!(suspect.label, "example.com/app/store.(*DB).Get");
        assert_eq!((suspect.blocked, suspect.group_goroutines), (2, 2));
        assert_eq!(suspect.wait_text, "70–90 min");

        // 100 minutes up: 80% is 80 minutes, so only the 90-minute waiter is a suspect.
        let states = run(&debug2_input(&dump, Some(6000.0), None))
            .states
            .expect("states");
        assert_eq!(states.leak_threshold_minutes, 80);
        assert_eq!(
            states.leak_threshold_text,
            "≥ 80 min (80% of the 100 min uptime)"
        );
        assert_eq!(states.leak_suspects[0].blocked, 1);
        assert_eq!(states.leak_suspects[0].wait_text, "90 min");
        assert_eq!(states.leak_suspects[0].states[0].state, "sync.Mutex.Lock");
    }

    #[test]
    fn mutex_waiters_against_the_mutex_profile() {
        let dump = crate::dump::parse(DEBUG2.as_bytes()).expect("dump");
        // The WaitGroup semacquire is not a mutex wait; the two lockers are.
        let empty = mutex_profile(&[]);
        let waiters = run(&debug2_input(&dump, None, Some(&empty))).mutex_waiters;
        assert_eq!(waiters.waiters, 2);
        assert_eq!(waiters.by_state.len(), 2);
        assert_eq!(waiters.groups[0].label, "example.com/app/store.(*DB).Get");
        assert_eq!(waiters.mutex_profile, MutexProfileState::Empty);
        assert!(waiters.profiling_off_with_contention);
        assert_eq!(
            waiters.note.as_deref(),
            Some(
                "2 goroutines wait to lock a mutex but the mutex profile is empty: mutex \
                 profiling is most likely off (runtime.SetMutexProfileFraction) while \
                 contention exists"
            )
        );
        let zero = mutex_profile(&[[0, 0]]);
        let waiters = run(&debug2_input(&dump, None, Some(&zero))).mutex_waiters;
        assert_eq!(waiters.mutex_profile, MutexProfileState::Empty);

        let recorded = mutex_profile(&[[3, 5_000_000], [1, 1_000_000]]);
        let waiters = run(&debug2_input(&dump, None, Some(&recorded))).mutex_waiters;
        assert_eq!(waiters.mutex_profile, MutexProfileState::Recorded);
        assert_eq!(waiters.mutex_contentions, 4);
        assert_eq!(waiters.mutex_delay_text, "6ms");
        assert!(!waiters.profiling_off_with_contention);

        let missing = run(&debug2_input(&dump, None, None)).mutex_waiters;
        assert_eq!(missing.mutex_profile, MutexProfileState::NotCollected);
        assert!(missing.note.is_some_and(|n| n.contains("no mutex profile")));
    }

    #[test]
    fn mutex_waiters_from_protobuf_frames() {
        let profile = goroutine_profile(&[
            (
                4,
                stack(&[
                    "runtime.gopark",
                    "runtime.semacquire1",
                    "sync.runtime_SemacquireMutex",
                    "sync.(*Mutex).lockSlow",
                    "sync.(*Mutex).Lock",
                    "example.com/a.(*S).Update",
                ]),
            ),
            (
                2,
                stack(&[
                    "runtime.gopark",
                    "runtime.semacquire1",
                    "sync.runtime_SemacquireWaitGroup",
                    "sync.(*WaitGroup).Wait",
                    "example.com/a.wait",
                ]),
            ),
        ]);
        let empty = mutex_profile(&[]);
        let input = GoroutineInput {
            profile: Some(&profile),
            mutex: Some(&empty),
            ..GoroutineInput::default()
        };
        let waiters = run(&input).mutex_waiters;
        assert_eq!(waiters.waiters, 4);
        assert!(waiters.by_state.is_empty());
        assert_eq!(waiters.groups[0].label, "example.com/a.(*S).Update");
        assert!(waiters.profiling_off_with_contention);
    }

    #[test]
    fn module_versions_from_every_source() {
        let dump = crate::dump::parse(DEBUG2.as_bytes()).expect("dump");
        let debug1 = crate::dump::parse(DEBUG1.as_bytes()).expect("dump");
        let profile = goroutine_profile(&[(
            3,
            vec![
                (
                    "tailscale.com/net/x.F",
                    "tailscale.com@v1.86.5/net/x/x.go",
                    1,
                    1,
                ),
                (
                    "tailscale.com/net/x.G",
                    "tailscale.com@v1.86.5/net/x/x.go",
                    2,
                    2,
                ),
                ("runtime.goexit", "runtime/asm_amd64.s", 1, 3),
            ],
        )]);
        let input = GoroutineInput {
            profile: Some(&profile),
            debug1: Some(&debug1),
            debug2: Some(&dump),
            ..GoroutineInput::default()
        };
        let modules: Vec<(String, String, u64, GoroutineSource)> = run(&input)
            .modules
            .into_iter()
            .map(|m| (m.module, m.version, m.goroutines, m.source))
            .collect();
        assert_eq!(
            modules,
            [
                // Both dumps show example.com/app or /a; debug=2 is preferred for counts.
                (
                    "example.com/a".into(),
                    "v1.2.3".into(),
                    5,
                    GoroutineSource::Debug1
                ),
                (
                    "example.com/app".into(),
                    "v1.2.3".into(),
                    5,
                    GoroutineSource::Debug2
                ),
                // Counted once per goroutine although two frames are in it.
                (
                    "tailscale.com".into(),
                    "v1.86.5".into(),
                    3,
                    GoroutineSource::Protobuf
                ),
            ]
        );
    }

    #[test]
    fn round_trips_through_json_and_is_deterministic() {
        let dump = crate::dump::parse(DEBUG2.as_bytes()).expect("dump");
        let mutex = mutex_profile(&[]);
        let mut input = debug2_input(&dump, Some(6000.0), Some(&mutex));
        input.services = Some(2);
        input.expected_per_service = Some((1.0, 2.0));
        let analysis = run(&input);
        let json = serde_json::to_string(&analysis).expect("json");
        let back: GoroutineAnalysis = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, analysis);
        assert_eq!(serde_json::to_string(&run(&input)).expect("json"), json);
    }
}
