//! The contention metrics: who holds the lock goroutines wait for (`mutex_holder`), which
//! code goroutines queue behind to take a lock (`lock_queue`, `lock_queue_share`), and
//! producers blocked on full channels (`blocked_send_share`, `blocked_send_delay`). The
//! mutex and block measurements read what the contention analysis found in its one pass
//! over the profile (the window's profile when the set has one); the lock queue reads the
//! goroutine stacks once.

use super::measure::percent_text;
use super::*;
use crate::analyze::contention::CodeSite;
use crate::analyze::names::package_of;

/// `mutex_holder`: the share of the mutex delay charged to the code that held the lock
/// most; `{top}` is that code, `{caller}` its caller.
pub(super) fn mutex_holder(evidence: &Evidence) -> Option<Measurement> {
    let mutex = evidence.mutex?;
    if mutex.verdict != Verdict::Recorded || mutex.total_delay <= 0 {
        return None;
    }
    let holder = mutex.holder.as_ref();
    let delay = holder.map_or(0, |h| h.delay);
    let share = delay as f64 / mutex.total_delay as f64 * 100.0;
    let over = if mutex.window_seconds().is_some() {
        "over the window"
    } else {
        "since start"
    };
    let subject = holder.map_or_else(
        || "no code outside the runtime".to_string(),
        |h| site_text(h, &mutex.total_delay_text, share, delay_unit(mutex)),
    );
    Some(Measurement {
        value: share,
        text: percent_text(share),
        what: format!("mutex delay {over} charged to the one code site holding the lock most"),
        subject,
        attribution: holder.map(attribution),
        ..Default::default()
    })
}

/// `blocked_send_share` (`rate` false) and `blocked_send_delay` (`rate` true): the block
/// profile's delay in blocked channel sends, as a share of its contention delay (idle
/// waiting apart) or in seconds per second of the window (else of the uptime).
pub(super) fn blocked_sends(evidence: &Evidence, rate: bool) -> Option<Measurement> {
    let block = evidence.block?;
    if block.verdict != Verdict::Recorded {
        return None;
    }
    let sends = block.sends.as_ref()?;
    let contention = block
        .split
        .as_ref()
        .map_or(block.total_delay, |s| s.contention);
    let unit = delay_unit(block);
    let (seconds, _) = units::scale(sends.delay, unit, "nanoseconds");
    let seconds = seconds / 1e9;
    let share = if contention > 0 {
        sends.delay as f64 / contention as f64 * 100.0
    } else {
        0.0
    };
    let subject = sends.site.as_ref().map_or_else(
        || "no blocked sends".to_string(),
        |site| {
            let site_share = if sends.delay > 0 {
                site.delay as f64 / sends.delay as f64 * 100.0
            } else {
                0.0
            };
            format!(
                "{} of blocked sends ({} events), {} of them in {}{}",
                units::label(sends.delay, unit),
                sends.contentions,
                percent_text(site_share),
                site.name,
                site.caller
                    .as_ref()
                    .map(|c| format!(" (called from {c})"))
                    .unwrap_or_default()
            )
        },
    );
    let attribution = sends.site.as_ref().map(attribution);
    if !rate {
        return Some(Measurement {
            value: share,
            text: percent_text(share),
            what: "block delay that is not idle waiting spent in blocked channel sends".to_string(),
            subject,
            attribution,
            ..Default::default()
        });
    }
    let (per, what) = match block.window_seconds() {
        Some(window) => (
            window,
            format!("seconds of blocked channel sends per second of the {window:.2} s window"),
        ),
        None => (
            evidence.uptime_seconds.filter(|u| *u > 0.0)?,
            "seconds of blocked channel sends per second of uptime".to_string(),
        ),
    };
    Some(Measurement {
        value: seconds / per,
        text: format!("{:.3}s", seconds / per),
        what,
        subject,
        attribution,
        ..Default::default()
    })
}

/// Why a blocked-send measurement cannot carry a verdict: fewer sampled blocked sends than
/// the contention floor.
pub(super) fn sends_floor(evidence: &Evidence, floors: &Floors) -> Option<String> {
    let events = evidence.block?.sends.as_ref()?.contentions as f64;
    (events < floors.contentions).then(|| {
        format!(
            "{events} sampled blocked sends; a contention verdict needs at least {}",
            floors.contentions
        )
    })
}

/// Why a lock-queue measurement cannot carry a verdict: fewer goroutines queued than the
/// goroutine floor. A condition with only `below` says there is no such queue, which needs
/// no goroutines to say: it has no floor.
pub(super) fn queue_floor(
    condition: &Condition,
    m: &Measurement,
    floors: &Floors,
) -> Option<String> {
    let goroutines = m.goroutines?;
    (condition.above.is_some() && goroutines < floors.goroutines).then(|| {
        format!(
            "{goroutines} goroutines; a goroutine verdict needs at least {}",
            floors.goroutines
        )
    })
}

/// Frames on a stack only while its goroutine waits to acquire a lock: sync.Mutex and
/// RWMutex (and Go 1.24's internal/sync), and a file's or socket's read or write lock
/// (`internal/poll`'s fdMutex, which goroutines writing to one file queue on). A bare
/// `runtime.semacquire` is not one: sync.WaitGroup.Wait parks there too.
fn is_lock_wait(name: &str) -> bool {
    crate::analyze::goroutines::is_mutex_lock_frame(name)
        || name == "internal/poll.(*fdMutex).rwlock"
}

/// Packages that are the waiting, or the writing every taker goes through (a logger's
/// `os.(*File).Write`), rather than the code taking the lock.
fn is_queue_plumbing(name: &str) -> bool {
    let package = package_of(name);
    matches!(
        package,
        "sync" | "runtime" | "os" | "io" | "bufio" | "syscall"
    ) || package.starts_with("internal/")
        || package.starts_with("runtime/internal")
}

/// `lock_queue` (`share` false: goroutines) and `lock_queue_share` (`share` true: % of all
/// goroutines): the goroutines queued to acquire a lock behind the one taker with most (the
/// first frame above the lock outside the waiting and I/O plumbing), of the takers whose
/// package matches the condition's `pattern` (every taker without one).
pub(super) fn lock_queue(
    condition: &Condition,
    evidence: &Evidence,
    share: bool,
) -> Option<Measurement> {
    let profile = evidence.goroutine_profile?;
    let regex = condition.regex();
    let index = profile.sample_index_of("goroutine").unwrap_or(0);
    let stacks = FunctionStacks::new(profile);
    let lock: Vec<bool> = profile
        .functions
        .iter()
        .map(|f| is_lock_wait(&f.name))
        .collect();
    let any_lock = lock.iter().any(|l| *l);
    let plumbing: Vec<bool> = profile
        .functions
        .iter()
        .map(|f| any_lock && is_queue_plumbing(&f.name))
        .collect();
    let selected: Vec<bool> = profile
        .functions
        .iter()
        .map(|f| {
            any_lock
                && regex
                    .as_ref()
                    .is_none_or(|r| r.is_match(package_of(&f.name)))
        })
        .collect();
    let mut tally: std::collections::BTreeMap<(u32, Option<u32>), i64> = Default::default();
    let mut functions: Vec<u32> = Vec::new();
    let mut total = 0i64;
    for sample in profile.samples() {
        let count = sample.value(index);
        total += count;
        // No lock frame in the profile: no stack to walk.
        if !any_lock {
            continue;
        }
        stacks.sample_named(sample, &mut functions);
        let Some(position) = functions.iter().position(|&f| !plumbing[f as usize]) else {
            continue;
        };
        let taker = functions[position];
        if !selected[taker as usize] || !functions[..position].iter().any(|&f| lock[f as usize]) {
            continue;
        }
        let caller = functions[position + 1..]
            .iter()
            .find(|&&f| !plumbing[f as usize])
            .copied();
        *tally.entry((taker, caller)).or_default() += count;
    }
    let mut by_taker: std::collections::BTreeMap<u32, i64> = Default::default();
    for ((taker, _), count) in &tally {
        *by_taker.entry(*taker).or_default() += count;
    }
    let top = super::measure::best(&by_taker);
    let queued = top.and_then(|t| by_taker.get(&t).copied()).unwrap_or(0);
    let caller = top.and_then(|t| {
        let callers = tally
            .iter()
            .filter_map(|((taker, caller), count)| {
                (*taker == t).then_some((*caller)?).map(|c| (c, *count))
            })
            .fold(std::collections::BTreeMap::new(), |mut m, (c, v)| {
                *m.entry(c).or_insert(0i64) += v;
                m
            });
        super::measure::best(&callers)
    });
    let name = |f: u32| profile.functions[f as usize].name.clone();
    let percent = if total > 0 {
        queued as f64 / total as f64 * 100.0
    } else {
        0.0
    };
    let subject = match top {
        Some(t) => format!(
            "{queued} of {total} goroutines ({}) queued on a lock taken in {}{}",
            percent_text(percent),
            name(t),
            caller
                .map(|c| format!(" (called from {})", name(c)))
                .unwrap_or_default()
        ),
        None => "no goroutine queued on a lock".to_string(),
    };
    let attribution = top.map(|t| Attribution {
        top: name(t),
        caller: caller.map(name),
    });
    let (value, text, what) = if share {
        (
            percent,
            percent_text(percent),
            "of all goroutines queued on a lock behind one taker",
        )
    } else {
        (
            queued as f64,
            queued.to_string(),
            "goroutines queued on a lock behind one taker",
        )
    };
    Some(Measurement {
        value,
        text,
        what: what.to_string(),
        subject,
        goroutines: Some(queued as f64),
        attribution,
        ..Default::default()
    })
}

/// The site and its caller; a site with no frame above it is its goroutine's entry
/// function (`go func() {…}()`), which nothing calls.
fn attribution(site: &CodeSite) -> Attribution {
    Attribution {
        top: site.name.clone(),
        caller: Some(site.caller.clone().unwrap_or_else(|| {
            "no other function (it is its goroutine's entry function)".to_string()
        })),
    }
}

/// The delay unit of a contention analysis (its top table's; nanoseconds for Go).
fn delay_unit(analysis: &crate::analyze::contention::ContentionAnalysis) -> &str {
    analysis
        .top
        .as_ref()
        .map_or("nanoseconds", |t| t.sample_unit.as_str())
}

/// `accesslog.(*Handler).logTheRoundTrip (1.10s of 1.20s, 91.36%; called from …)`.
fn site_text(site: &CodeSite, total_text: &str, share: f64, unit: &str) -> String {
    format!(
        "{} ({} of {total_text}, {}, {} contentions{})",
        site.name,
        units::label(site.delay, unit),
        percent_text(share),
        site.contentions,
        site.caller
            .as_ref()
            .map(|c| format!("; called from {c}"))
            .unwrap_or_default()
    )
}
