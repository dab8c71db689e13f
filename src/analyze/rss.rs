//! Memory against RSS: what of the process's resident memory (the context's `rss`, from ps
//! or /proc) the Go runtime accounts for (runtime.MemStats when the set has it: the heap in
//! use, the idle heap not yet returned, the stacks, the runtime's own structures), and what is
//! left outside the Go heap. Without MemStats only the heap profile's in-use bytes can be set
//! against RSS, an estimate from sampled allocations.

use serde::{Deserialize, Serialize};

use crate::memstats::MemStats;
use crate::units;

/// One part of RSS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RssPart {
    /// What it is (`heap in use`).
    pub what: String,
    /// Where the figure comes from (`HeapInuse`).
    pub source: String,
    /// Bytes, signed: the part outside Go's accounting is negative when the runtime holds
    /// memory it has not touched.
    pub bytes: i64,
    /// The bytes as the report prints them.
    pub bytes_text: String,
    /// Share of RSS (`78.61%`).
    pub share_text: String,
}

/// The process's RSS, split by what the runtime says of its memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RssBreakdown {
    /// RSS as the report prints it.
    pub rss_text: String,
    /// The parts, the last being what the Go runtime does not account for.
    pub parts: Vec<RssPart>,
    /// True when the parts come from runtime.MemStats; false when only the heap profile's
    /// in-use bytes (sampled) are set against RSS.
    pub from_memstats: bool,
    /// What the part outside the Go runtime usually means, in words.
    pub outside_meaning: String,
}

/// The share of RSS outside the Go runtime from which it is worth explaining: below it, it
/// is the binary's text and data and the threads' system stacks of any Go program.
const OUTSIDE_NOTABLE: f64 = 0.20;

/// RSS split by the runtime's accounting; `None` without an RSS, or with neither MemStats
/// nor an in-use heap figure.
pub fn breakdown(
    rss: Option<u64>,
    memstats: Option<&MemStats>,
    heap_inuse_profile: Option<i64>,
) -> Option<RssBreakdown> {
    let rss = rss.filter(|&r| r > 0)? as i64;
    let part = |what: &str, source: &str, bytes: i64| RssPart {
        what: what.to_string(),
        source: source.to_string(),
        bytes,
        bytes_text: signed_bytes(bytes),
        share_text: units::percentage(bytes, rss).trim().to_string(),
    };
    let complete = memstats.and_then(|m| {
        Some((
            m.heap_inuse?,
            m.heap_idle?,
            m.heap_released?,
            m.heap_sys?,
            m.stack_inuse?,
            m.stack_sys?,
            m.sys?,
        ))
    });
    let (parts, from_memstats, go_total) = match complete {
        Some((inuse, idle, released, heap_sys, stack_inuse, stack_sys, sys)) => {
            let idle_kept = idle.saturating_sub(released) as i64;
            // Spans, caches, GC metadata, profiling buckets and the rest: what the runtime
            // obtained that is neither heap nor stacks.
            let runtime = sys.saturating_sub(heap_sys + stack_sys) as i64;
            let parts = vec![
                part("heap in use", "HeapInuse", inuse as i64),
                part(
                    "idle heap not yet returned to the OS",
                    "HeapIdle − HeapReleased",
                    idle_kept,
                ),
                part("goroutine stacks", "StackInuse", stack_inuse as i64),
                part(
                    "the runtime's own structures",
                    "Sys − HeapSys − StackSys",
                    runtime,
                ),
            ];
            let total = inuse as i64 + idle_kept + stack_inuse as i64 + runtime;
            (parts, true, total)
        }
        None => {
            let heap = heap_inuse_profile.filter(|&h| h > 0)?;
            (
                vec![part(
                    "heap in use (the heap profile's estimate)",
                    "inuse_space",
                    heap,
                )],
                false,
                heap,
            )
        }
    };
    let outside = rss - go_total;
    let mut parts = parts;
    let what = if from_memstats {
        "outside the Go runtime's accounting"
    } else {
        "everything else (stacks, idle heap, runtime, non-Go memory)"
    };
    parts.push(part(what, "RSS − the above", outside));
    let share = outside as f64 / rss as f64;
    let outside_meaning = if !from_memstats {
        "Without runtime.MemStats (heap?debug=1) the rest cannot be split: collect it to see the stacks, the idle heap and the runtime's share.".to_string()
    } else if outside < 0 {
        "Negative: the runtime counts memory it has mapped but not touched, or that the OS has not kept resident; the Go figures are an upper bound here.".to_string()
    } else if share >= OUTSIDE_NOTABLE {
        format!(
            "{} of RSS is memory the Go runtime does not account for: C memory through cgo (a C library's own allocations), files mapped with mmap, or the binary's code and data. With cgo, profile the C side (jemalloc or tcmalloc profiling, heaptrack); pprof's heap profile cannot see it.",
            units::percentage(outside, rss).trim()
        )
    } else {
        "A small rest: the binary's code and data and the threads' system stacks, which every Go program has.".to_string()
    };
    Some(RssBreakdown {
        rss_text: units::label(rss, "bytes"),
        parts,
        from_memstats,
        outside_meaning,
    })
}

fn signed_bytes(bytes: i64) -> String {
    if bytes < 0 {
        format!("−{}", units::label(-bytes, "bytes"))
    } else {
        units::label(bytes, "bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_splits_into_the_runtime_figures_and_the_rest() {
        let stats = MemStats {
            heap_inuse: Some(600 << 20),
            heap_idle: Some(300 << 20),
            heap_released: Some(100 << 20),
            heap_sys: Some(900 << 20),
            stack_inuse: Some(50 << 20),
            stack_sys: Some(50 << 20),
            sys: Some(1000 << 20),
            ..MemStats::default()
        };
        let b = breakdown(Some(1200 << 20), Some(&stats), None).unwrap();
        let bytes: Vec<i64> = b.parts.iter().map(|p| p.bytes).collect();
        // 600 in use, 200 idle kept, 50 stacks, 50 runtime; 300 outside of 1200.
        assert_eq!(bytes, [600 << 20, 200 << 20, 50 << 20, 50 << 20, 300 << 20]);
        assert!(
            b.outside_meaning.starts_with("25.00% of RSS"),
            "{}",
            b.outside_meaning
        );
        let small = breakdown(Some(950 << 20), Some(&stats), None).unwrap();
        assert!(small.outside_meaning.starts_with("A small rest"));
        let under = breakdown(Some(800 << 20), Some(&stats), None).unwrap();
        assert_eq!(under.parts[4].bytes_text, "−100MB");
        let profile_only = breakdown(Some(1000), None, Some(600)).unwrap();
        assert!(!profile_only.from_memstats);
        assert_eq!(profile_only.parts.len(), 2);
        assert!(breakdown(None, Some(&stats), None).is_none());
    }
}
