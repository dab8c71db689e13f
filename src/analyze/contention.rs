//! Mutex and block profiles: where goroutines waited, for how long per contention, and the
//! honest verdict when a profile is empty. Go records nothing unless
//! runtime.SetMutexProfileFraction / runtime.SetBlockProfileRate were set, so an empty
//! profile says profiling was most likely off, not that there was no contention.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::frames::FunctionStacks;
use super::names::package_of;
use super::shares::{ShareCounter, ShareTable};
use super::top::{self, TopOptions, TopReport};
use crate::profile::Profile;
use crate::units;

/// Packages of the waiting itself (locks, channels, timers, the runtime): delay is charged
/// past them, to the code that holds or waits for the lock. Narrower than the goroutine
/// labels' wait plumbing (which also skips I/O packages): a lock that `net` or `os` holds
/// is theirs to name.
fn is_lock_machinery(function: &str) -> bool {
    let package = package_of(function);
    matches!(
        package,
        "sync" | "sync/atomic" | "runtime" | "time" | "context"
    ) || package.starts_with("internal/")
        || package.starts_with("runtime/internal")
}

/// Waits that are a goroutine idling for work, not a stall: receiving from a channel,
/// `select`, `sync.Cond.Wait`, sleeping, or joining the goroutines it started
/// (`sync.WaitGroup.Wait`, which errgroup's `Wait` uses: the work goes on elsewhere, and
/// its own stalls are recorded there). A blocked send or lock is back-pressure or contention
/// instead.
const IDLE_WAITS: &[&str] = &[
    "runtime.chanrecv1",
    "runtime.chanrecv2",
    "runtime.selectgo",
    "runtime.block",
    "sync.(*Cond).Wait",
    "sync.runtime_notifyListWait",
    "sync.(*WaitGroup).Wait",
    "time.Sleep",
];

/// Blocked channel sends: a producer waiting for a slow consumer (back-pressure), not idle
/// waiting. `runtime.chansend1` is a `c <- v` statement, `runtime.chansend` also
/// `reflect.Value.Send`; a send case of a `select` cannot be told from a receive case by
/// its stack (both park in `runtime.selectgo`), so it counts as waiting.
const SEND_WAITS: &[&str] = &["runtime.chansend", "runtime.chansend1"];

/// The code site charged with most of a profile's delay, and the code calling it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeSite {
    /// The function: for the mutex profile the code holding the lock (the first frame above
    /// `Unlock` outside `sync`, `runtime` and the internal packages), for blocked sends the
    /// code sending.
    pub name: String,
    /// The frame above it, outside the lock and channel machinery, on most of its delay.
    pub caller: Option<String>,
    /// Its delay, in the profile's delay unit.
    pub delay: i64,
    /// Its sampled contention events.
    pub contentions: i64,
}

/// Block profile only: the delay of goroutines blocked sending on a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendStalls {
    /// Delay in blocked sends, in the delay unit.
    pub delay: i64,
    /// Their sampled events.
    pub contentions: i64,
    /// The sending code with most of that delay.
    pub site: Option<CodeSite>,
}

/// The block profile's delay split by what the waiting was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockSplit {
    /// Delay in locks, blocked sends and other waits on other goroutines, in the delay unit.
    pub contention: i64,
    /// The same, in a readable unit (`1.50s`).
    pub contention_text: String,
    /// Delay of goroutines idling for work (receives, `select`, `Cond.Wait`, sleeps, joining
    /// the goroutines they started) and of the profiler's own request, in the delay unit.
    pub idle: i64,
    /// The same, in a readable unit.
    pub idle_text: String,
    /// The idle delay's share of the total (`92.10%`).
    pub idle_share_text: String,
}

/// Which contention profile an analysis is of (serialised `mutex`, `block`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentionKind {
    /// Go's mutex profile (`/debug/pprof/mutex`), or a contention profile whose name says neither
    /// when the set has no mutex profile.
    Mutex,
    /// Go's block profile (`/debug/pprof/block`).
    Block,
}

/// What can be said about one contention profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The set has no such profile.
    NotCollected,
    /// The profile has no samples: profiling was most likely not enabled.
    ProfilingOff,
    /// Samples exist, but they add up to no delay.
    NoDelay,
    /// Contention was recorded.
    Recorded,
}

/// One function of the delay top table, with its contentions and mean delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentionRow {
    /// The function's name.
    pub name: String,
    /// Flat delay: the delay of samples whose leaf is this function, in the profile's delay unit
    /// (nanoseconds for Go).
    pub delay: i64,
    /// The flat delay as the top table prints it (`1.50s`).
    pub delay_text: String,
    /// The flat delay as a share of the profile's total delay, as pprof prints it (`12.34%`).
    pub delay_share_text: String,
    /// Cum delay: the delay of samples with this function anywhere on the stack, in the delay unit.
    pub cum_delay: i64,
    /// The cum delay as the top table prints it (`3.20s`).
    pub cum_delay_text: String,
    /// Sampled contention events: the function's flat count, or its cum count when it has no flat
    /// contentions.
    pub contentions: i64,
    /// delay / contentions (flat, or cum when the function has no flat contentions).
    pub mean_delay_text: String,
}

/// One contention profile analysed: the verdict, the totals and the delay top table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentionAnalysis {
    /// Which profile this is (`mutex` or `block`).
    pub kind: ContentionKind,
    /// What can be said about the profile (`recorded`, `no_delay`, `profiling_off`,
    /// `not_collected`).
    pub verdict: Verdict,
    /// Sum of the `delay` values, in the profile's delay unit (nanoseconds for Go); 0 when the
    /// profile has no delay samples.
    pub total_delay: i64,
    /// The total delay in a readable unit (`1.50s`); `0` when the profile has no delay samples.
    pub total_delay_text: String,
    /// Sum of the `contentions` values: the contention events sampled.
    pub total_contentions: i64,
    /// Total delay ÷ contentions, in a readable unit (`1.20ms`); `-` without contentions.
    pub mean_delay_text: String,
    /// The sampling rate the profile states (mutex: 1 in N events; block: a nanosecond rate).
    pub period: i64,
    /// The top table by delay, as `go tool pprof -top -sample_index=delay` prints it (10 rows);
    /// `None` unless the profile has samples of `delay` and `contentions`.
    pub top: Option<TopReport>,
    /// The top table's functions with their contentions and mean delay; empty when `top` is `None`.
    pub rows: Vec<ContentionRow>,
    /// The delay charged to the code that holds or waits for the lock: the first frame from
    /// the leaf outside `sync`, `runtime`, `time` and the internal packages. For the block
    /// profile, contention only (idle waiting is in `split`). `None` without delay.
    #[serde(default)]
    pub by_code: Option<ShareTable>,
    /// Block profile only: contention apart from idle waiting.
    #[serde(default)]
    pub split: Option<BlockSplit>,
    /// The total delay per second (`0.12 s/s`): of the window when the analysis is over it
    /// (`window.used`), else of the process's uptime, when known.
    #[serde(default)]
    pub per_second_text: Option<String>,
    /// The profile of the CPU profile's window (`?seconds=N`), when the set has one.
    #[serde(default)]
    pub window: Option<ContentionWindow>,
    /// Mutex profile only: the code that held the lock on most of the delay, and its caller.
    /// Locks inside the runtime (a `runtime.unlock` leaf, recorded since Go 1.22) count in
    /// the total but are no code's to shorten, so they are never the holder.
    #[serde(default)]
    pub holder: Option<CodeSite>,
    /// Block profile only: goroutines blocked sending on a channel.
    #[serde(default)]
    pub sends: Option<SendStalls>,
}

/// The window profile of a contention analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentionWindow {
    /// The window's length, in seconds (the profile's duration).
    pub seconds: f64,
    /// The same, as shown (`5.00`).
    pub seconds_text: String,
    /// True when the analysis is of the window; false when the window recorded no delay
    /// while the profile since start has some, which the analysis then shows.
    pub used: bool,
}

impl ContentionAnalysis {
    /// Gives the delay per second of uptime: mutex and block profiles count since the
    /// process started.
    pub fn per_uptime(mut self, uptime_seconds: Option<f64>) -> Self {
        self.per_second_text = self
            .per_second(uptime_seconds)
            .map(|r| format!("{r:.3} s/s"));
        self
    }

    /// Seconds of delay per second of `seconds` (the window's or the uptime), when recorded.
    pub fn per_second(&self, seconds: Option<f64>) -> Option<f64> {
        seconds
            .filter(|u| *u > 0.0 && self.verdict == Verdict::Recorded)
            .map(|u| {
                let delay =
                    units::scale(self.total_delay, &self.unit_or_ns(), "nanoseconds").0 / 1e9;
                delay / u
            })
    }

    /// The seconds the delay is counted over when that is the window's.
    pub fn window_seconds(&self) -> Option<f64> {
        self.window.as_ref().filter(|w| w.used).map(|w| w.seconds)
    }

    fn unit_or_ns(&self) -> String {
        self.top
            .as_ref()
            .map_or_else(|| "nanoseconds".to_string(), |t| t.sample_unit.clone())
    }
}

/// What [`by_code`]'s one pass over the samples gives.
struct ByCode {
    table: Option<ShareTable>,
    split: Option<BlockSplit>,
    holder: Option<CodeSite>,
    sends: Option<SendStalls>,
}

/// Per (site, caller): delay and contentions, to name the site with most delay and its
/// most frequent caller.
#[derive(Default)]
struct SiteTally(std::collections::BTreeMap<(usize, Option<u32>), (i64, i64)>);

impl SiteTally {
    fn add(&mut self, site: usize, caller: Option<u32>, delay: i64, contentions: i64) {
        let entry = self.0.entry((site, caller)).or_default();
        entry.0 += delay;
        entry.1 += contentions;
    }

    /// The site with most delay (the lower index on a tie), and its caller with most.
    fn best(&self, profile: &Profile) -> Option<CodeSite> {
        let mut sites: std::collections::BTreeMap<usize, (i64, i64)> = Default::default();
        for ((site, _), (delay, contentions)) in &self.0 {
            let entry = sites.entry(*site).or_default();
            entry.0 += delay;
            entry.1 += contentions;
        }
        let (site, (delay, contentions)) = sites.into_iter().fold(
            None,
            |best: Option<(usize, (i64, i64))>, (site, v)| match best {
                Some((_, b)) if b.0 >= v.0 => best,
                _ => Some((site, v)),
            },
        )?;
        let caller = self
            .0
            .iter()
            .filter(|((s, c), _)| *s == site && c.is_some())
            .fold(None, |best: Option<(u32, i64)>, ((_, c), (d, _))| {
                let c = (*c)?;
                match best {
                    Some((_, b)) if b >= *d => best,
                    _ => Some((c, *d)),
                }
            })
            .map(|(c, _)| profile.functions[c as usize].name.clone());
        Some(CodeSite {
            name: profile.functions.get(site)?.name.clone(),
            caller,
            delay,
            contentions,
        })
    }
}

/// The delay charged to the code that waits, and (block) split into contention and idling;
/// the mutex profile's holder and the block profile's blocked sends, from the same pass.
fn by_code(
    profile: &Profile,
    kind: ContentionKind,
    (delay_index, count_index): (usize, usize),
    unit: &str,
    total_delay: i64,
) -> ByCode {
    let stacks = FunctionStacks::new(profile);
    // Per function, once: a name can be long and a stack deep, so no sample scans names.
    let plumbing: Vec<bool> = profile
        .functions
        .iter()
        .map(|f| is_lock_machinery(&f.name))
        .collect();
    let idle_wait: Vec<bool> = profile
        .functions
        .iter()
        .map(|f| {
            IDLE_WAITS.contains(&f.name.as_str())
                || matches!(package_of(&f.name), "runtime/pprof" | "net/http/pprof")
        })
        .collect();
    let send_wait: Vec<bool> = profile
        .functions
        .iter()
        .map(|f| SEND_WAITS.contains(&f.name.as_str()))
        .collect();
    let runtime_lock: Vec<bool> = profile
        .functions
        .iter()
        .map(|f| package_of(&f.name) == "runtime")
        .collect();
    let mut functions: Vec<u32> = Vec::new();
    let mut delays: Vec<i64> = vec![0; profile.functions.len() + 1];
    let (mut contention, mut idle) = (0i64, 0i64);
    let mut holders = SiteTally::default();
    let mut senders = SiteTally::default();
    let (mut send_delay, mut send_count) = (0i64, 0i64);
    for sample in profile.samples() {
        let value = sample.value(delay_index);
        if value == 0 {
            continue;
        }
        let count = sample.value(count_index);
        stacks.sample_named(sample, &mut functions);
        let idling =
            kind == ContentionKind::Block && functions.iter().any(|&f| idle_wait[f as usize]);
        if idling {
            idle += value;
            continue;
        }
        contention += value;
        // The last slot stands for a sample without frames.
        let position = functions.iter().position(|&f| !plumbing[f as usize]);
        let code = position
            .map(|p| functions[p])
            .or(functions.first().copied())
            .map_or(profile.functions.len(), |f| f as usize);
        delays[code] += value;
        let Some(position) = position else {
            continue;
        };
        let caller = functions[position + 1..]
            .iter()
            .find(|&&f| !plumbing[f as usize])
            .copied();
        match kind {
            // A runtime-internal lock (its unlock is the leaf) is held by the runtime.
            ContentionKind::Mutex
                if !functions.first().is_some_and(|&f| runtime_lock[f as usize]) =>
            {
                holders.add(code, caller, value, count);
            }
            ContentionKind::Block
                if functions[..position].iter().any(|&f| send_wait[f as usize]) =>
            {
                send_delay += value;
                send_count += count;
                senders.add(code, caller, value, count);
            }
            _ => {}
        }
    }
    let mut counter = ShareCounter::default();
    for (f, &delay) in delays.iter().enumerate().filter(|(_, d)| **d != 0) {
        let name = profile
            .functions
            .get(f)
            .map_or("(no frames)", |function| function.name.as_str());
        counter.add_one(name, delay);
    }
    let table = (contention > 0).then(|| counter.table(contention, 10, unit, None, None));
    let split = (kind == ContentionKind::Block).then(|| BlockSplit {
        contention,
        contention_text: units::label(contention, unit),
        idle,
        idle_text: units::label(idle, unit),
        idle_share_text: units::percentage(idle, total_delay).trim().to_string(),
    });
    let sends = (kind == ContentionKind::Block).then(|| SendStalls {
        delay: send_delay,
        contentions: send_count,
        site: senders.best(profile),
    });
    ByCode {
        table,
        split,
        holder: holders.best(profile),
        sends,
    }
}

/// Analyzes one contention profile, or says it was not collected.
pub fn analyze(profile: Option<&Profile>, kind: ContentionKind, rows: usize) -> ContentionAnalysis {
    let empty = |verdict| ContentionAnalysis {
        kind,
        verdict,
        total_delay: 0,
        total_delay_text: "0".to_string(),
        total_contentions: 0,
        mean_delay_text: "-".to_string(),
        period: profile.map_or(0, |p| p.period),
        top: None,
        rows: Vec::new(),
        by_code: None,
        split: None,
        per_second_text: None,
        window: None,
        holder: None,
        sends: None,
    };
    let Some(profile) = profile else {
        return empty(Verdict::NotCollected);
    };
    if profile.samples.is_empty() {
        return empty(Verdict::ProfilingOff);
    }
    let (Some(delay_index), Some(count_index)) = (
        profile.sample_index_of("delay"),
        profile.sample_index_of("contentions"),
    ) else {
        return empty(Verdict::NotCollected);
    };
    let unit = profile.sample_types[delay_index].unit.clone();
    let total_delay: i64 = profile.samples().map(|s| s.value(delay_index)).sum();
    let total_contentions: i64 = profile.samples().map(|s| s.value(count_index)).sum();
    let mean = |delay: i64, count: i64| {
        if count == 0 {
            "-".to_string()
        } else {
            units::label(delay / count, &unit)
        }
    };
    let top_of = |index: &str, node_count: usize, node_fraction: f64| {
        top::top(
            profile,
            None,
            &TopOptions {
                sample_index: Some(index.to_string()),
                node_count,
                node_fraction,
                ..TopOptions::default()
            },
        )
        .ok()
    };
    let delay_top = top_of("delay", rows, TopOptions::default().node_fraction);
    // Every function's contentions, to divide the delays shown.
    let counts: HashMap<String, (i64, i64)> = top_of("contentions", 0, 0.0)
        .map(|t| {
            t.items
                .into_iter()
                .map(|i| (i.name, (i.flat, i.cum)))
                .collect()
        })
        .unwrap_or_default();
    let rows = delay_top
        .as_ref()
        .map(|t| {
            t.items
                .iter()
                .map(|item| {
                    let (flat_count, cum_count) = counts.get(&item.name).copied().unwrap_or((0, 0));
                    let mean_delay_text = if flat_count > 0 {
                        mean(item.flat, flat_count)
                    } else {
                        mean(item.cum, cum_count)
                    };
                    ContentionRow {
                        name: item.name.clone(),
                        delay: item.flat,
                        delay_text: item.flat_text.clone(),
                        delay_share_text: item.flat_percent.trim().to_string(),
                        cum_delay: item.cum,
                        cum_delay_text: item.cum_text.clone(),
                        contentions: if flat_count > 0 {
                            flat_count
                        } else {
                            cum_count
                        },
                        mean_delay_text,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let ByCode {
        table: by_code,
        split,
        holder,
        sends,
    } = if total_delay == 0 {
        ByCode {
            table: None,
            split: None,
            holder: None,
            sends: None,
        }
    } else {
        by_code(
            profile,
            kind,
            (delay_index, count_index),
            &unit,
            total_delay,
        )
    };
    ContentionAnalysis {
        by_code,
        split,
        holder,
        sends,
        per_second_text: None,
        window: None,
        kind,
        verdict: if total_delay == 0 {
            Verdict::NoDelay
        } else {
            Verdict::Recorded
        },
        total_delay,
        total_delay_text: units::label(total_delay, &unit),
        total_contentions,
        mean_delay_text: mean(total_delay, total_contentions),
        period: profile.period,
        top: delay_top,
        rows,
    }
}

/// Analyzes a contention profile over the CPU profile's window when the set has it (the
/// delta profile of `?seconds=N`), else since the process started, per second of uptime.
/// A window that recorded no delay while the profile since start has some shows the latter
/// (the window may simply have been quiet), and says so through `window.used`.
pub fn analyze_with_window(
    lifetime: Option<&Profile>,
    window: Option<&Profile>,
    kind: ContentionKind,
    rows: usize,
    uptime_seconds: Option<f64>,
) -> ContentionAnalysis {
    let Some(window) = window.filter(|w| w.duration_nanos > 0) else {
        return analyze(lifetime, kind, rows).per_uptime(uptime_seconds);
    };
    let seconds = window.duration_nanos as f64 / 1e9;
    let over_window = analyze(Some(window), kind, rows);
    let lifetime_has_delay = lifetime.is_some_and(|p| {
        p.sample_index_of("delay")
            .is_some_and(|i| p.samples().any(|s| s.value(i) != 0))
    });
    let used = over_window.verdict == Verdict::Recorded || !lifetime_has_delay;
    let mut analysis = if used {
        let mut a = over_window;
        a.per_second_text = a.per_second(Some(seconds)).map(|r| format!("{r:.3} s/s"));
        a
    } else {
        analyze(lifetime, kind, rows).per_uptime(uptime_seconds)
    };
    analysis.window = Some(ContentionWindow {
        seconds,
        seconds_text: format!("{seconds:.2}"),
        used,
    });
    analysis
}
