//! The runtime's own memory statistics (`runtime.MemStats`, from the heap profile's text) as
//! the report shows them: the figures, the GC picture, and goroutine stack memory, which is
//! the runtime's `StackInuse` where the set has it and else a floor of 2 KiB per goroutine.
//!
//! MemStats counters such as `NumGC` and `GCCPUFraction` count from the process's start: the
//! rates here divide them by the uptime and say so.

use serde::{Deserialize, Serialize};

use crate::memstats::MemStats;
use crate::units;

/// A goroutine's smallest stack (the runtime's `stackMin`, 2 KiB since Go 1.4; stacks grow
/// from there): what each goroutine costs at least.
pub const GOROUTINE_STACK_FLOOR: u64 = 2048;

/// One figure of the MemStats block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatRow {
    /// The MemStats field (`HeapAlloc`).
    pub name: String,
    /// Its value (bytes, or a count).
    pub value: u64,
    /// The value as shown (`12.50MB`, `1234`).
    pub value_text: String,
    /// What it is, in words.
    pub meaning: String,
}

/// Garbage collection since the process started, from MemStats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GcPicture {
    /// Completed GC cycles since start (`NumGC`).
    pub num_gc: u64,
    /// Of them, forced by `runtime.GC` calls (`NumForcedGC`).
    pub num_forced_gc: Option<u64>,
    /// The uptime the counts are divided by (the context's), in seconds.
    pub uptime_seconds: Option<f64>,
    /// GC cycles per minute of uptime (`NumGC ÷ uptime`), a lifetime average.
    pub per_minute: Option<f64>,
    /// The same, as shown (`12.3`).
    pub per_minute_text: Option<String>,
    /// The GC's share of the CPU time available since start (`GCCPUFraction`), in percent.
    pub cpu_share: Option<f64>,
    /// The same, as shown (`0.42%`).
    pub cpu_share_text: Option<String>,
    /// How many pauses the runtime's buffer still held (`min(NumGC, 256)`).
    pub pauses: usize,
    /// True when those are every pause since start (NumGC ≤ 256), so their sum is the
    /// lifetime pause total.
    pub pauses_all: bool,
    /// The sum of those pauses, in nanoseconds.
    pub pause_total_ns: u64,
    /// The same, as shown (`12.5ms`).
    pub pause_total_text: String,
    /// The mean pause, as shown; `-` without pauses.
    pub pause_mean_text: String,
    /// The longest pause, as shown; `-` without pauses.
    pub pause_max_text: String,
}

/// The MemStats block as the memory section shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemStatsView {
    /// The member it was read from (`…-heap.txt`).
    pub file: String,
    /// The figures, in the runtime's order; fields the text lacks are left out.
    pub rows: Vec<StatRow>,
    /// The GC picture; `None` when the text has no `NumGC`.
    pub gc: Option<GcPicture>,
}

/// Where the stack figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StackSource {
    /// The runtime's `StackInuse` (bytes in stack spans).
    MemStats,
    /// 2 KiB × goroutines: the least their stacks can take.
    Floor,
}

/// Goroutine stack memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackMemory {
    /// Which figure this is.
    pub source: StackSource,
    /// Bytes of goroutine stacks: `StackInuse`, or the floor.
    pub bytes: u64,
    /// The same, as shown.
    pub bytes_text: String,
    /// The goroutines counted (the goroutine analysis's total), when known.
    pub goroutines: Option<u64>,
    /// Bytes per goroutine: `StackInuse ÷ goroutines`, or 2 KiB for the floor.
    pub per_goroutine: Option<f64>,
    /// The same, as shown (`8.12kB`).
    pub per_goroutine_text: Option<String>,
    /// Stack memory obtained from the OS (`StackSys`), as shown.
    pub stack_sys_text: Option<String>,
}

fn bytes_text(bytes: u64) -> String {
    units::label(i64::try_from(bytes).unwrap_or(i64::MAX), "bytes")
}

fn ns_text(ns: u64) -> String {
    units::label(i64::try_from(ns).unwrap_or(i64::MAX), "nanoseconds")
}

/// The view of a MemStats block; `uptime_seconds` is the process's, for the GC rate.
pub fn view(stats: &MemStats, file: &str, uptime_seconds: Option<f64>) -> MemStatsView {
    let bytes: [(&str, Option<u64>, &str); 11] = [
        (
            "HeapAlloc",
            stats.heap_alloc,
            "bytes of heap objects, live and not yet swept",
        ),
        ("HeapInuse", stats.heap_inuse, "bytes in heap spans in use"),
        ("HeapIdle", stats.heap_idle, "bytes in idle heap spans"),
        (
            "HeapReleased",
            stats.heap_released,
            "bytes of idle heap returned to the OS",
        ),
        (
            "HeapSys",
            stats.heap_sys,
            "heap address space obtained from the OS",
        ),
        (
            "NextGC",
            stats.next_gc,
            "the heap size the next GC cycle aims at",
        ),
        ("StackInuse", stats.stack_inuse, "bytes of goroutine stacks"),
        (
            "StackSys",
            stats.stack_sys,
            "stack memory obtained from the OS",
        ),
        (
            "Sys",
            stats.sys,
            "all memory the runtime obtained from the OS",
        ),
        (
            "MaxRSS",
            stats.max_rss,
            "the process's peak resident set (getrusage)",
        ),
        (
            "TotalAlloc",
            stats.total_alloc,
            "bytes allocated since the process started",
        ),
    ];
    let mut rows: Vec<StatRow> = bytes
        .iter()
        .filter_map(|&(name, value, meaning)| {
            Some(StatRow {
                name: name.to_string(),
                value: value?,
                value_text: bytes_text(value?),
                meaning: meaning.to_string(),
            })
        })
        .collect();
    if let Some(objects) = stats.heap_objects {
        rows.push(StatRow {
            name: "HeapObjects".to_string(),
            value: objects,
            value_text: objects.to_string(),
            meaning: "heap objects allocated and not freed".to_string(),
        });
    }
    MemStatsView {
        file: file.to_string(),
        rows,
        gc: stats
            .num_gc
            .map(|num_gc| gc_picture(stats, num_gc, uptime_seconds)),
    }
}

fn gc_picture(stats: &MemStats, num_gc: u64, uptime_seconds: Option<f64>) -> GcPicture {
    let uptime = uptime_seconds.filter(|u| *u > 0.0);
    let per_minute = uptime.map(|u| num_gc as f64 / u * 60.0);
    let cpu_share = stats.gc_cpu_fraction.map(|f| f * 100.0);
    let (pauses, pauses_all) = stats.recent_pauses();
    let total: u64 = pauses.iter().fold(0u64, |sum, p| sum.saturating_add(*p));
    let max = pauses.iter().copied().max();
    GcPicture {
        num_gc,
        num_forced_gc: stats.num_forced_gc,
        uptime_seconds: uptime,
        per_minute,
        per_minute_text: per_minute.map(|p| format!("{p:.2}")),
        cpu_share,
        cpu_share_text: cpu_share.map(|s| format!("{s:.3}%")),
        pauses: pauses.len(),
        pauses_all,
        pause_total_ns: total,
        pause_total_text: ns_text(total),
        pause_mean_text: if pauses.is_empty() {
            "-".to_string()
        } else {
            ns_text(total / pauses.len() as u64)
        },
        pause_max_text: max.map_or_else(|| "-".to_string(), ns_text),
    }
}

/// Goroutine stack memory: `StackInuse` when the set has MemStats, else 2 KiB × the
/// goroutines counted, a floor. `None` when neither is known.
pub fn stacks(stats: Option<&MemStats>, goroutines: Option<u64>) -> Option<StackMemory> {
    let counted = goroutines.filter(|g| *g > 0);
    if let Some(inuse) = stats.and_then(|s| s.stack_inuse) {
        let per = counted.map(|g| inuse as f64 / g as f64);
        return Some(StackMemory {
            source: StackSource::MemStats,
            bytes: inuse,
            bytes_text: bytes_text(inuse),
            goroutines: counted,
            per_goroutine: per,
            per_goroutine_text: per.map(|p| bytes_text(p.round() as u64)),
            stack_sys_text: stats.and_then(|s| s.stack_sys).map(bytes_text),
        });
    }
    let count = counted?;
    let floor = count.saturating_mul(GOROUTINE_STACK_FLOOR);
    Some(StackMemory {
        source: StackSource::Floor,
        bytes: floor,
        bytes_text: bytes_text(floor),
        goroutines: Some(count),
        per_goroutine: Some(GOROUTINE_STACK_FLOOR as f64),
        per_goroutine_text: Some(bytes_text(GOROUTINE_STACK_FLOOR)),
        stack_sys_text: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats() -> MemStats {
        let mut pause_ns = vec![0; 256];
        pause_ns[..4].copy_from_slice(&[100_000, 300_000, 200_000, 400_000]);
        MemStats {
            heap_alloc: Some(4 << 20),
            stack_inuse: Some(1 << 20),
            stack_sys: Some(2 << 20),
            num_gc: Some(4),
            gc_cpu_fraction: Some(0.0125),
            pause_ns,
            ..MemStats::default()
        }
    }

    #[test]
    fn the_gc_rate_divides_lifetime_counts_by_the_uptime() {
        let view = view(&stats(), "x-heap.txt", Some(120.0));
        let gc = view.gc.unwrap();
        assert_eq!(gc.per_minute_text.as_deref(), Some("2.00"));
        assert_eq!(gc.cpu_share_text.as_deref(), Some("1.250%"));
        assert_eq!((gc.pauses, gc.pauses_all), (4, true));
        assert_eq!(gc.pause_total_ns, 1_000_000);
        assert_eq!(gc.pause_total_text, "1ms");
        assert_eq!(gc.pause_max_text, "400us");
        assert_eq!(view.rows[0].name, "HeapAlloc");
        assert_eq!(view.rows[0].value_text, "4MB");
        let no_uptime = super::view(&stats(), "x", None).gc.unwrap();
        assert_eq!(no_uptime.per_minute, None);
    }

    #[test]
    fn stacks_come_from_stack_inuse_else_the_floor() {
        let from_runtime = stacks(Some(&stats()), Some(128)).unwrap();
        assert_eq!(from_runtime.source, StackSource::MemStats);
        assert_eq!(from_runtime.bytes, 1 << 20);
        assert_eq!(from_runtime.per_goroutine, Some(8192.0));
        let floor = stacks(None, Some(100)).unwrap();
        assert_eq!(floor.source, StackSource::Floor);
        assert_eq!(floor.bytes, 204_800);
        assert_eq!(stacks(None, None), None);
        let without_field = MemStats::default();
        assert_eq!(
            stacks(Some(&without_field), Some(3)).unwrap().source,
            StackSource::Floor
        );
    }
}
