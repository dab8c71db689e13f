//! Goroutines: how many there are (protobuf and text dumps, which are taken moments apart),
//! per declared service, grouped by stack, how many *instances* of the program's per-service
//! machinery the counts reveal, what the goroutines wait on and for how long (`debug=2`),
//! mutex waiters against the mutex profile, and the module versions seen in the stacks.
//!
//! # Sources
//!
//! The goroutine profile (protobuf) gives the groups and their counts when the set has it:
//! every goroutine's whole stack, the runtime frames at its leaf included, so a GC assist, a
//! lock queue or an I/O wait shows in the group's *waiting* column even when the text dumps,
//! taken at another instant, missed it. The `debug=2` dump gives what only it has: each
//! goroutine's state, wait time and creator. Its stacks are matched to the profile's groups
//! by their visible frames (the dumps hide the runtime's), never added to the counts, and its
//! goroutines in stacks the profile does not have are counted apart. Without a protobuf the
//! groups come from the `debug=2` dump, else from the `debug=1` dump; the analysis says which
//! source each table comes from.
//!
//! # Grouping
//!
//! Like panicparse's similarity levels, [`GroupLevel`] decides which stacks are one group:
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
//! A group is named by the first frame, from the leaf, that says what the goroutine does:
//! the first frame outside the standard library that is not wait plumbing (a library's own
//! `…/sync` package, a wait primitive that parks goroutines itself) nor an adapter the
//! standard library calls through an I/O interface (`Read`, `Write`, `Accept`, …); failing
//! that, the first standard-library frame outside the wait plumbing (`runtime`, `internal/…`,
//! `sync`, `syscall`, `os`, `net`, `time`, `io`, `bufio`, `bytes`, `crypto/tls`, `context`)
//! and its I/O methods, e.g. `net/http.(*conn).serve`; failing that, its leaf (see
//! `naming`). Groups that get the same label are told apart by the frame where their stacks
//! differ: the first differing caller (`from …`), else the first differing frame toward the
//! leaf (`via …`).
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
//!
//! Instances are inferred only where they mean something: when the context declares more
//! than one service, never from groups that exist once per connection or stream (server
//! connection handlers, client keep-alive loops, HTTP/2 and gRPC transports, per-client
//! read/write loops: the recogniser of `connections`, which also gives the report's
//! connections), and only when the groups of the chosen count hold at least
//! [`GoroutineOptions::min_explained_percent`] of the goroutines.
//!
//! # Leaks
//!
//! Age alone proves nothing: a lifecycle goroutine of a long-running process is blocked
//! since start. In one set, a leak suspect is a group created per request or connection
//! (by a connection loop, by a goroutine that serves one, or by a function seen running on a
//! connection's stack) that is far larger than the connections in flight
//! ([`GoroutineOptions::leak_in_flight_factor`], at least
//! [`GoroutineOptions::leak_min_goroutines`]) and has goroutines blocked for most of the
//! uptime. Leaks the runtime proves (`(leaked)` in a `debug=2` header) are reported apart.

mod connections;
mod grouping;
mod instances;
mod intern;
mod leaks;
mod modules;
mod mutex;
mod naming;
mod stacks;
mod states;
#[cfg(test)]
mod tests;
mod totals;
mod waits;

pub use connections::{ConnectionRole, ConnectionRow, Connections};

use serde::{Deserialize, Serialize};

use crate::dump::GoroutineDump;
use crate::profile::Profile;
use crate::units;
use connections::connections;
use grouping::{group, group_table};
use instances::infer;
use modules::modules;
pub(crate) use mutex::is_mutex_lock_frame;
use mutex::mutex_waiters;
use states::states;
use totals::{per_service, totals};

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
    /// Share of all goroutines, in percent, that the groups revealing an instance count must
    /// explain for it to be inferred (50): a count that explains a corner says nothing.
    pub min_explained_percent: f64,
    /// A goroutine blocked for this fraction of the uptime is a leak suspect (0.8).
    pub leak_uptime_fraction: f64,
    /// The leak threshold when the uptime is unknown, in minutes (60).
    pub leak_minutes_without_uptime: u64,
    /// A group created per request or connection is a leak suspect from this many times the
    /// goroutines serving connections (4): far more than the work in flight.
    pub leak_in_flight_factor: u64,
    /// ... and from this many goroutines (10), the floor of a goroutine verdict.
    pub leak_min_goroutines: u64,
}

impl Default for GoroutineOptions {
    fn default() -> Self {
        GoroutineOptions {
            level: GroupLevel::Functions,
            max_groups: 50,
            min_exact_groups: 3,
            max_candidates: 5,
            min_explained_percent: 50.0,
            leak_uptime_fraction: 0.8,
            leak_minutes_without_uptime: 60,
            leak_in_flight_factor: 4,
            leak_min_goroutines: 10,
        }
    }
}

/// How alike two stacks must be to be one group (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupLevel {
    /// The same frames, with their files and lines (all frames, the runtime's included).
    Exact,
    /// The same function names, runtime frames at the leaf and `runtime.goexit` left out.
    #[default]
    Functions,
    /// The same label frame and the same callers above it, collapsed to packages.
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

    /// The level in words, for the report: `identical functions`.
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
    /// The `debug=1` text dump (stacks with counts).
    Debug1,
    /// The `debug=2` text dump (every goroutine, with state and wait time).
    Debug2,
}

impl GoroutineSource {
    /// The source in words, for the report: `goroutine profile`, `debug=1 dump`, `debug=2 dump`.
    pub fn text(self) -> &'static str {
        match self {
            GoroutineSource::Protobuf => "goroutine profile",
            GoroutineSource::Debug1 => "debug=1 dump",
            GoroutineSource::Debug2 => "debug=2 dump",
        }
    }
}

/// Everything the goroutine data of a set says (`goroutines` in the templates and the JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoroutineAnalysis {
    /// The goroutine count of each source, side by side.
    pub totals: GoroutineTotals,
    /// With a declared, non-zero service count.
    pub per_service: Option<PerService>,
    /// Goroutines by pprof label: a table per string label key of the source's samples
    /// (the goroutine profile carries them; a dump's stacks do not), the unlabelled as one
    /// row; empty without labels.
    #[serde(default)]
    pub labels: Vec<crate::analyze::labels::LabelTable>,
    /// The goroutines grouped by stack, largest groups first.
    pub groups: GroupTable,
    /// `None` when no count is shared by enough groups to be an instance count.
    pub instances: Option<InstanceInference>,
    /// The connections the groups show; `None` when no group is connection-shaped.
    pub connections: Option<Connections>,
    /// With a `debug=2` dump only.
    pub states: Option<StateAnalysis>,
    /// Goroutines waiting to lock a mutex, set against the mutex profile.
    pub mutex_waiters: MutexWaiters,
    /// Sorted by module, then version.
    pub modules: Vec<ModuleRow>,
}

/// How many goroutines there are, by source, and whether the sources agree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoroutineTotals {
    /// The number the report uses: the protobuf's, else the `debug=2` dump's, else the
    /// `debug=1` header's.
    pub total: u64,
    /// The source `total` comes from.
    pub source: GoroutineSource,
    /// That source in words: `goroutine profile`, `debug=2 dump`, `debug=1 dump`.
    pub source_text: String,
    /// One row per source present, protobuf first.
    pub rows: Vec<TotalRow>,
    /// All sources give the same number.
    pub consistent: bool,
    /// Why the numbers differ, when they do.
    pub note: Option<String>,
}

/// The goroutine count of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotalRow {
    /// The source counted.
    pub source: GoroutineSource,
    /// The source in words: `goroutine profile`, `debug=2 dump`, `debug=1 dump`.
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
    /// `time_nanos` as pprof prints its `Time:`, in UTC: `Oct 15, 2025 at 9:05pm (UTC)`.
    pub time_text: Option<String>,
}

/// How the goroutines per service compare with the expected range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expectation {
    /// Within the expected range, bounds included.
    Within,
    /// Above the expected maximum.
    Above,
    /// Below the expected minimum.
    Below,
    /// No (valid) expected range was given.
    NoExpectation,
}

/// Goroutines per declared service, against the expected range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerService {
    /// Services the process is declared to run (never 0).
    pub services: u32,
    /// Goroutines counted: `GoroutineTotals::total`.
    pub goroutines: u64,
    /// `goroutines` / `services`.
    pub per_service: f64,
    /// `109.72`
    pub per_service_text: String,
    /// Lower bound of the expected goroutines per service, when a valid range was given.
    pub expected_min: Option<f64>,
    /// Upper bound of the expected goroutines per service, when a valid range was given.
    pub expected_max: Option<f64>,
    /// `2–5`
    pub expected_text: Option<String>,
    /// Where `per_service` falls against the expected range.
    pub verdict: Expectation,
    /// `above the expected 2–5 (21.94× the upper bound)`
    pub verdict_text: String,
}

/// The groups of goroutines with alike stacks, as the report lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupTable {
    /// The source the stacks and counts come from (the protobuf, else `debug=2`, else
    /// `debug=1`).
    pub source: GoroutineSource,
    /// That source in words: `goroutine profile`.
    pub source_text: String,
    /// The source of the states, wait times and creators (`debug=2`), when the set has one.
    pub details_source: Option<GoroutineSource>,
    /// That source in words: `debug=2 dump`.
    pub details_source_text: Option<String>,
    /// When the details come from another source than the groups: its goroutines whose
    /// stack no group has (it was taken at another instant).
    pub details_unmatched: Option<u64>,
    /// Which columns have a value in some row (a column with none is not printed).
    pub columns: GroupColumns,
    /// Which stacks are one group.
    pub level: GroupLevel,
    /// The level in words: `identical functions`.
    pub level_text: String,
    /// The first `max_groups` groups, by count then label.
    pub rows: Vec<GoroutineGroup>,
    /// Number of groups, listed or not.
    pub total_groups: usize,
    /// Goroutines in all groups (the source's total).
    pub total_goroutines: u64,
    /// Goroutines in the groups listed.
    pub shown_goroutines: u64,
    /// `showing 50 of 53 groups, 99.87% of 6254 goroutines`
    pub coverage_text: String,
}

/// Which optional columns of the group table have a value in some row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupColumns {
    /// `instance_factor_text`.
    pub per_instance: bool,
    /// `waiting` (goroutine profile).
    pub waiting: bool,
    /// `states` (`debug=2`).
    pub states: bool,
    /// `max_wait_minutes` (`debug=2`).
    pub max_wait: bool,
    /// `created_by` (`debug=2`).
    pub created_by: bool,
    /// `labels`.
    pub labels: bool,
}

/// One group of goroutines with alike stacks (see [`GroupLevel`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoroutineGroup {
    /// The label frame's function (see the module documentation).
    pub label: String,
    /// What tells this group apart from others with the same label: `from pkg.caller` or
    /// `via pkg.callee`; `None` when the label is its own.
    pub distinct: Option<String>,
    /// Set when the goroutines exist once per connection or stream.
    pub connection: Option<ConnectionRole>,
    /// Goroutine profile: what the goroutines wait in, read from the runtime frames at the
    /// leaf (`GC assist wait`, `sync.Mutex.Lock`, `IO wait`, …), most frequent first.
    pub waiting: Vec<StateCount>,
    /// pprof labels (`key=value, …`) with their goroutines, most first.
    pub labels: Vec<LabelCount>,
    /// `debug=2`: goroutines of the dump matched to this group (the dump may be of another
    /// instant than the counts).
    pub dump_goroutines: u64,
    /// The label's package path: `github.com/org/app/server`.
    pub label_package: String,
    /// Goroutines in this group.
    pub goroutines: u64,
    /// Share of the source's goroutines, in percent (0–100).
    pub share: f64,
    /// `share` formatted: `12.34%`, `0.096%`.
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

/// A `created by` site of a group's goroutines (`debug=2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatorRow {
    /// The function whose `go` statement started them: `pkg.(*T).Start`.
    pub function: String,
    /// Source file of the `go` statement.
    pub file: String,
    /// Line of the `go` statement in `file`.
    pub line: i64,
    /// Goroutines of the group started there.
    pub goroutines: u64,
    /// `pkg.(*T).Start at file.go:73`
    pub text: String,
}

/// Goroutines in one wait state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCount {
    /// The state as the dump prints it: `chan receive`, `IO wait`, `select`.
    pub state: String,
    /// Goroutines in that state.
    pub goroutines: u64,
}

/// Goroutines under one group label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelCount {
    /// A group label.
    pub label: String,
    /// Goroutines counted for that label.
    pub goroutines: u64,
}

/// How many copies of the per-service machinery the group counts reveal (see the module
/// documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceInference {
    /// The inferred number of instances, N.
    pub instances: u64,
    /// The declared service count, when there is one.
    pub declared: Option<u32>,
    /// Whether `instances` equals `declared`; `None` without a declared count.
    pub matches_declared: Option<bool>,
    /// `59 instances inferred, 57 declared`, when they differ.
    pub declared_note: Option<String>,
    /// Groups of exactly `instances` goroutines.
    pub exact_groups: usize,
    /// Groups (and their goroutines) whose count is a multiple of `instances`.
    pub explained_groups: usize,
    /// Goroutines in those groups.
    pub explained_goroutines: u64,
    /// All groups, explained or not.
    pub total_groups: usize,
    /// Goroutines in all groups.
    pub total_goroutines: u64,
    /// `explained_goroutines` as a share of `total_goroutines`, in percent (0–100).
    pub explained_share: f64,
    /// `explained_share` formatted: `93.40%`.
    pub explained_share_text: String,
    /// explained_goroutines / instances.
    pub per_instance: u64,
    /// total_goroutines / instances.
    pub total_per_instance: f64,
    /// `total_per_instance` with at most two decimals: `106`, `105.99`.
    pub total_per_instance_text: String,
    /// Explained groups by their factor, largest factor first.
    pub factors: Vec<FactorRow>,
    /// `59 instances explain 5841 of 6254 goroutines (93.40%) in 39 of 51 groups: 99 goroutines per instance`
    pub summary_text: String,
    /// The best candidates, the chosen one first.
    pub candidates: Vec<InstanceCandidate>,
}

/// The explained groups with one factor: groups of `factor` × N goroutines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorRow {
    /// Goroutines per instance in each of these groups (group count / N).
    pub factor: u64,
    /// Groups with that factor.
    pub groups: usize,
    /// Goroutines in those groups.
    pub goroutines: u64,
    /// factor × groups.
    pub per_instance: u64,
    /// `4 groups × 16 per instance`
    pub text: String,
}

/// A candidate instance count N, with what it explains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceCandidate {
    /// The candidate N: a group count that at least `min_exact_groups` groups have exactly.
    pub instances: u64,
    /// Groups of exactly N goroutines.
    pub exact_groups: usize,
    /// Groups whose count is a multiple of N.
    pub explained_groups: usize,
    /// Goroutines in those groups: the candidate's score.
    pub explained_goroutines: u64,
}

/// Wait states and wait times of every goroutine of the `debug=2` dump, and the leak suspects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateAnalysis {
    /// Goroutines in the dump: the base of every share here.
    pub goroutines: u64,
    /// By count, then state.
    pub states: Vec<StateRow>,
    /// `< 1 min`, `1–10 min`, `10–60 min`, `≥ 60 min`.
    pub wait_buckets: Vec<WaitBucket>,
    /// Goroutines `locked to thread` (`runtime.LockOSThread`).
    pub locked_to_thread: u64,
    /// Minutes of waiting from which a goroutine counts as blocked for a leak: the leak fraction
    /// of the uptime, rounded up, or the fixed fallback without an uptime.
    pub leak_threshold_minutes: u64,
    /// `≥ 105 min (80% of the 131 min uptime)` or `≥ 60 min (uptime unknown)`
    pub leak_threshold_text: String,
    /// Goroutines of connection-shaped groups in the dump: the work in flight that a group
    /// created per request or connection is measured against.
    pub in_flight: u64,
    /// The size from which a group created per request or connection is a suspect.
    pub leak_size_floor: u64,
    /// `≥ 10 goroutines (4 × the 2 serving connections, and at least 10)`
    pub leak_size_text: String,
    /// By blocked goroutines, then label.
    pub leak_suspects: Vec<LeakSuspect>,
    /// Groups blocked for at least the threshold that are not suspects: created once, not per
    /// request or connection (lifecycle goroutines), or not far above the work in flight.
    pub blocked_not_suspect_groups: usize,
    /// Their goroutines blocked for at least the threshold.
    pub blocked_not_suspect_goroutines: u64,
    /// Goroutines the runtime proved leaked (`(leaked)`, Go ≥ 1.26), by group, most first.
    pub proved_leaks: Vec<LabelCount>,
    /// Their number.
    pub proved_leaked: u64,
}

/// One wait state over all goroutines of the dump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateRow {
    /// The state as the dump prints it: `chan receive`, `IO wait`, `running`.
    pub state: String,
    /// Goroutines in that state.
    pub goroutines: u64,
    /// Share of the dump's goroutines, formatted: `12.34%`.
    pub share_text: String,
}

/// Goroutines by how long they have been waiting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitBucket {
    /// The bucket's range in words: `< 1 min`, `1–10 min`, `10–60 min`, `≥ 60 min`.
    pub label: String,
    /// Lower bound in minutes, inclusive.
    pub min_minutes: u64,
    /// Exclusive; `None` for the last bucket.
    pub max_minutes: Option<u64>,
    /// Goroutines whose wait falls in the bucket (no printed wait counts as under a minute).
    pub goroutines: u64,
    /// Share of the dump's goroutines, formatted: `12.34%`.
    pub share_text: String,
}

/// A group with goroutines blocked for at least the leak threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeakSuspect {
    /// The group's label (see the module documentation).
    pub label: String,
    /// All goroutines of the group.
    pub group_goroutines: u64,
    /// Those blocked for at least the threshold.
    pub blocked: u64,
    /// Shortest wait among the blocked goroutines, in minutes.
    pub min_wait_minutes: u64,
    /// Longest wait among the blocked goroutines, in minutes.
    pub max_wait_minutes: u64,
    /// `120 min` or `105–131 min`
    pub wait_text: String,
    /// The blocked goroutines' states, most frequent first.
    pub states: Vec<StateCount>,
    /// Why the group is one per request or connection: `created by net/http.(*conn).serve`.
    pub per_request_text: String,
}

/// What the set's mutex profile says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutexProfileState {
    /// The set has no mutex profile.
    NotCollected,
    /// No samples, or samples of no contention: profiling was most likely off.
    Empty,
    /// The mutex profile recorded contention.
    Recorded,
}

/// Goroutines waiting to lock a mutex, and what the mutex profile recorded.
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
    /// Whether the set has a mutex profile and whether it recorded anything.
    pub mutex_profile: MutexProfileState,
    /// Contentions the mutex profile recorded (sum of its `contentions` values); 0 unless
    /// `Recorded`.
    pub mutex_contentions: i64,
    /// Delay the mutex profile recorded, in nanoseconds (sum of its `delay` values); 0 unless
    /// `Recorded`.
    pub mutex_delay_nanos: i64,
    /// `mutex_delay_nanos` in its most readable unit: `1.50s`, `0`.
    pub mutex_delay_text: String,
    /// Goroutines wait on mutexes while the mutex profile is empty.
    pub profiling_off_with_contention: bool,
    /// A sentence on the waiters and the mutex profile, when there are waiters.
    pub note: Option<String>,
}

/// A module version seen in the stacks' file paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleRow {
    /// Module path, from a file path such as `…/pkg/mod/tailscale.com@v1.86.5/…`: `tailscale.com`.
    pub module: String,
    /// Module version: `v1.86.5`.
    pub version: String,
    /// Goroutines whose stacks have a frame in the module, counted in `source` (the first
    /// of debug=2, protobuf, debug=1 that shows the module).
    pub goroutines: u64,
    /// The source `goroutines` are counted in.
    pub source: GoroutineSource,
}

/// Analyzes whatever goroutine data the set has; `None` without any.
pub fn analyze(input: &GoroutineInput, options: &GoroutineOptions) -> Option<GoroutineAnalysis> {
    // The profile has every frame and the total the report uses; the dumps add details.
    let (source, profile) = if let Some(profile) = input.profile {
        (GoroutineSource::Protobuf, profile)
    } else if let Some(dump) = input.debug2 {
        (GoroutineSource::Debug2, &dump.profile)
    } else if let Some(dump) = input.debug1 {
        (GoroutineSource::Debug1, &dump.profile)
    } else {
        return None;
    };

    let mut grouping = group(profile, options.level, source == GoroutineSource::Protobuf);
    let details = input.debug2.map(|dump| {
        grouping.add_goroutine_details(dump, source == GoroutineSource::Debug2);
        GoroutineSource::Debug2
    });
    let inference = infer(&grouping.groups, input.services, options);
    let totals = totals(input);
    let per_service = per_service(totals.total, input);
    let states = input
        .debug2
        .map(|dump| states(dump, &grouping, input.uptime_seconds, options));
    let debug2_groups = input.debug2.filter(|_| source == GoroutineSource::Debug2);
    let mutex_waiters = mutex_waiters(profile, debug2_groups, &grouping, input.mutex);
    let connections = connections(&grouping);
    let modules = modules(input);
    let groups = group_table(source, details, options, grouping, inference.as_ref());
    let index = profile.sample_index_of("goroutine").unwrap_or(0);
    let labels = crate::analyze::labels::tables(profile, index, |counter, of| {
        counter.table(of, 10, "count", None, None)
    });
    Some(GoroutineAnalysis {
        totals,
        per_service,
        labels,
        groups,
        instances: inference,
        connections,
        states,
        mutex_waiters,
        modules,
    })
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
