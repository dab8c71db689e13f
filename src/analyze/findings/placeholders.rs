//! A rule's texts with the measured values filled in.

use super::*;

/// A rule's text with its placeholders filled: `{subject}`, `{value}`, `{value2}`, …,
/// `{top}` and `{caller}` (from the first condition that names them), `{memstats}`,
/// `{gomaxprocs}`.
pub(super) fn fill_placeholders(
    template: &str,
    measured: &[Measurement],
    evidence: &Evidence,
) -> String {
    let subject = measured.first().map_or("", |m| m.subject.as_str());
    let mut text = template.replace("{subject}", subject);
    // From the last index down, so that `{value1…}` never eats `{value10}`'s prefix.
    for (i, m) in measured.iter().enumerate().rev() {
        let key = if i == 0 {
            "{value}".to_string()
        } else {
            format!("{{value{}}}", i + 1)
        };
        text = text.replace(&key, &m.text);
    }
    if text.contains("{top}") || text.contains("{caller}") {
        let attribution = measured.iter().find_map(|m| m.attribution.as_ref());
        let top = attribution.map_or("the functions matched", |a| a.top.as_str());
        let caller = attribution
            .and_then(|a| a.caller.as_deref())
            .unwrap_or("its callers");
        text = text.replace("{top}", top).replace("{caller}", caller);
    }
    if text.contains("{memstats}") {
        text = text.replace("{memstats}", &memstats_text(evidence));
    }
    if text.contains("{gomaxprocs}") {
        text = text.replace(
            "{gomaxprocs}",
            &super::gomaxprocs::gomaxprocs_text(evidence),
        );
    }
    text
}

/// The GC picture and what GOGC would change, from runtime.MemStats: cycles per second
/// (`NumGC` ÷ uptime), the heap goal (`NextGC`) and the live heap it implies at the default
/// GOGC=100 (the goal is live × (1 + GOGC/100)), and the goal and cycles at GOGC=200.
pub(super) fn memstats_text(evidence: &Evidence) -> String {
    let Some(stats) = evidence.memstats else {
        return "The set has no runtime.MemStats (the heap profile's text, heap?debug=1), so GC frequency and the heap goal are unknown; collect it to size GOGC and GOMEMLIMIT.".to_string();
    };
    let bytes = |b: f64| units::label(b.round() as i64, "bytes");
    let mut parts = Vec::new();
    let rate = stats
        .num_gc
        .zip(evidence.uptime_seconds.filter(|u| *u > 0.0))
        .map(|(n, uptime)| (n, uptime, n as f64 / uptime));
    if let Some((n, uptime, per_second)) = rate {
        parts.push(format!(
            "By runtime.MemStats, {n} GC cycles ran in {uptime:.0} s of uptime ({per_second:.2} a second)"
        ));
    }
    if let Some(next_gc) = stats.next_gc.filter(|n| *n > 0) {
        let live = next_gc as f64 / 2.0;
        let heap_alloc = stats
            .heap_alloc
            .map(|h| format!(" (HeapAlloc {} when the text was taken)", bytes(h as f64)))
            .unwrap_or_default();
        let halved = rate
            .map(|(_, _, r)| format!(" and about halve the cycles (to {:.2} a second)", r / 2.0))
            .unwrap_or_else(|| " and about halve the cycles".to_string());
        // The runtime never sets the goal below 4 MB × GOGC/100: at that floor the goal
        // says only that the live heap is at most half of it.
        let about = if next_gc <= HEAP_MINIMUM {
            "at most"
        } else {
            "about"
        };
        parts.push(format!(
            "The heap goal (NextGC) is {}{heap_alloc}, so the live heap is {about} {} at the default GOGC=100 (goal = live × 2, and never below 4 MB); GOGC=200 would move the goal to about {} (live × 3, {} more heap){halved}, and GOMEMLIMIT caps the heap where memory is short",
            bytes(next_gc as f64),
            bytes(live),
            bytes(live * 3.0),
            bytes(live)
        ));
    }
    if parts.is_empty() {
        return "runtime.MemStats has neither NumGC with an uptime nor NextGC to size GOGC from."
            .to_string();
    }
    parts.join(". ") + "."
}

/// The runtime's smallest heap goal at GOGC=100 (`heapMinimum`, 4 MB).
pub(super) const HEAP_MINIMUM: u64 = 4 << 20;
