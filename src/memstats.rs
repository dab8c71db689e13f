//! The `# runtime.MemStats` block that ends Go's heap profile in text form
//! (`/debug/pprof/heap?debug=1`).
//!
//! runtime/pprof's `writeHeapInternal` prints the same lines in every release from Go 1.19 to
//! 1.27 (checked in both toolchains' `runtime/pprof/pprof.go`): `# Name = value` for `Alloc`,
//! `TotalAlloc`, `Sys`, `Lookups`, `Mallocs`, `Frees`, the `Heap*` fields, `# Stack = inuse /
//! sys` (and `MSpan`, `MCache` alike), `BuckHashSys`, `GCSys`, `OtherSys`, `NextGC`, `LastGC`,
//! `# PauseNs = [n n …]` and `# PauseEnd = […]` (the runtime's 256-entry circular buffers),
//! `NumGC`, `NumForcedGC`, `GCCPUFraction` (a float, `%v`), `DebugGC`, and `MaxRSS` where
//! getrusage exists. `PauseTotalNs` is not printed; the pause buffer stands in for it.
//!
//! Lenient where Go may add lines (unknown names are ignored, so is the heap records' part),
//! strict about numbers: a known field whose value does not parse is an error naming the line.

use thiserror::Error;

/// The line that opens the block.
const BLOCK_START: &str = "# runtime.MemStats";

/// How many recent pauses the runtime keeps (`len(MemStats.PauseNs)`).
pub const PAUSE_BUFFER: usize = 256;

/// The figures of one `runtime.MemStats` block; a field the text does not hold is `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemStats {
    /// Bytes of allocated heap objects (`Alloc`, the same as `HeapAlloc`).
    pub alloc: Option<u64>,
    /// Bytes allocated for heap objects since the process started (`TotalAlloc`).
    pub total_alloc: Option<u64>,
    /// Bytes of memory obtained from the OS, all kinds (`Sys`).
    pub sys: Option<u64>,
    /// Heap objects allocated since start (`Mallocs`).
    pub mallocs: Option<u64>,
    /// Heap objects freed since start (`Frees`).
    pub frees: Option<u64>,
    /// Bytes of allocated heap objects (`HeapAlloc`).
    pub heap_alloc: Option<u64>,
    /// Bytes of heap memory obtained from the OS (`HeapSys`).
    pub heap_sys: Option<u64>,
    /// Bytes in idle (unused) heap spans (`HeapIdle`).
    pub heap_idle: Option<u64>,
    /// Bytes in in-use heap spans (`HeapInuse`).
    pub heap_inuse: Option<u64>,
    /// Bytes of physical memory returned to the OS (`HeapReleased`).
    pub heap_released: Option<u64>,
    /// Allocated heap objects (`HeapObjects`).
    pub heap_objects: Option<u64>,
    /// Bytes in stack spans: goroutine stacks (`StackInuse`, the first number of `# Stack`).
    pub stack_inuse: Option<u64>,
    /// Bytes of stack memory obtained from the OS (`StackSys`, the second number).
    pub stack_sys: Option<u64>,
    /// The heap size the next GC cycle aims at (`NextGC`).
    pub next_gc: Option<u64>,
    /// When the last GC ended, nanoseconds since the Unix epoch; 0: never (`LastGC`).
    pub last_gc: Option<u64>,
    /// Recent stop-the-world pause times in nanoseconds, the runtime's circular buffer: the
    /// pause of cycle N is at `(N+255) % 256` (`PauseNs`).
    pub pause_ns: Vec<u64>,
    /// When each of those pauses ended, Unix nanoseconds (`PauseEnd`).
    pub pause_end: Vec<u64>,
    /// Completed GC cycles since start (`NumGC`).
    pub num_gc: Option<u64>,
    /// GC cycles forced by the application calling `runtime.GC` (`NumForcedGC`).
    pub num_forced_gc: Option<u64>,
    /// Fraction of the CPU time available since start used by the GC (`GCCPUFraction`).
    pub gc_cpu_fraction: Option<f64>,
    /// The process's peak resident set, in bytes (`MaxRSS`, where the platform has it).
    pub max_rss: Option<u64>,
}

impl MemStats {
    /// The pauses of the cycles the buffer still holds (`min(NumGC, 256)` of them), and
    /// whether that is every cycle since start (so their sum is the lifetime pause total).
    pub fn recent_pauses(&self) -> (Vec<u64>, bool) {
        let Some(num_gc) = self.num_gc else {
            return (Vec::new(), false);
        };
        let held = (num_gc as usize).min(PAUSE_BUFFER).min(self.pause_ns.len());
        // Cycle k (1-based) is at (k + 255) % 256: for NumGC ≤ 256 the first NumGC slots.
        let pauses = if num_gc as usize <= PAUSE_BUFFER {
            self.pause_ns[..held].to_vec()
        } else {
            self.pause_ns.clone()
        };
        (
            pauses,
            num_gc as usize <= PAUSE_BUFFER && held == num_gc as usize,
        )
    }
}

/// Why a text holds no usable MemStats block.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MemStatsError {
    /// The text does not start as runtime/pprof's heap profile text does.
    #[error(
        "not a heap profile in text form (expected a first line \"heap profile: …\", as /debug/pprof/heap?debug=1 writes)"
    )]
    NotHeapText,
    /// The heap text ends without the block (cut, or not written by Go's runtime/pprof).
    #[error(
        "no \"# runtime.MemStats\" block (the text is cut, or not written by Go's runtime/pprof)"
    )]
    NoBlock,
    /// The block holds none of the fields this parser knows.
    #[error(
        "the \"# runtime.MemStats\" block holds none of the known fields (Alloc, HeapAlloc, NumGC, …)"
    )]
    Empty,
    /// A known field whose value is not a number.
    #[error("line {line}: {field} = {value:?} is not {expected}")]
    BadValue {
        /// The 1-based line number in the text.
        line: usize,
        /// The field's name.
        field: String,
        /// The value as written (shortened).
        value: String,
        /// What was expected, in words.
        expected: &'static str,
    },
}

/// Parses the MemStats block of a heap profile text.
pub fn parse(text: &[u8]) -> Result<MemStats, MemStatsError> {
    if !text.starts_with(b"heap profile:") {
        return Err(MemStatsError::NotHeapText);
    }
    let start = find_block(text).ok_or(MemStatsError::NoBlock)?;
    // Line numbers count from the start of the text, so an error can be found in the file.
    let first_line = 1 + memchr::memchr_iter(b'\n', &text[..start]).count();
    parse_block(&text[start..], first_line)
}

/// The line that opens the block, as [`parse_block`] wants it first.
pub fn is_block_start(line: &[u8]) -> bool {
    line == BLOCK_START.as_bytes()
}

/// Parses the block alone: `block` starts with its `# runtime.MemStats` line, which is line
/// `first_line` of the text (for errors). For a reader that streams the text and keeps only
/// the block.
pub fn parse_block(block: &[u8], first_line: usize) -> Result<MemStats, MemStatsError> {
    let block = String::from_utf8_lossy(block);
    let mut stats = MemStats::default();
    let mut known = 0usize;
    for (offset, raw) in block.lines().enumerate().skip(1) {
        let line = first_line + offset;
        let Some(rest) = raw.strip_prefix("# ") else {
            continue;
        };
        let Some((name, value)) = rest.split_once(" = ") else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        let bad = |expected| MemStatsError::BadValue {
            line,
            field: name.to_string(),
            value: value.chars().take(40).collect(),
            expected,
        };
        let number = || value.parse::<u64>().map_err(|_| bad("a whole number"));
        let slot = match name {
            "Alloc" => &mut stats.alloc,
            "TotalAlloc" => &mut stats.total_alloc,
            "Sys" => &mut stats.sys,
            "Mallocs" => &mut stats.mallocs,
            "Frees" => &mut stats.frees,
            "HeapAlloc" => &mut stats.heap_alloc,
            "HeapSys" => &mut stats.heap_sys,
            "HeapIdle" => &mut stats.heap_idle,
            "HeapInuse" => &mut stats.heap_inuse,
            "HeapReleased" => &mut stats.heap_released,
            "HeapObjects" => &mut stats.heap_objects,
            "NextGC" => &mut stats.next_gc,
            "LastGC" => &mut stats.last_gc,
            "NumGC" => &mut stats.num_gc,
            "NumForcedGC" => &mut stats.num_forced_gc,
            "MaxRSS" => &mut stats.max_rss,
            "Stack" => {
                let (inuse, sys) = value
                    .split_once(" / ")
                    .ok_or_else(|| bad("two whole numbers, \"inuse / sys\""))?;
                let pair = |v: &str| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| bad("two whole numbers, \"inuse / sys\""))
                };
                stats.stack_inuse = Some(pair(inuse)?);
                stats.stack_sys = Some(pair(sys)?);
                known += 1;
                continue;
            }
            "PauseNs" | "PauseEnd" => {
                let list = value
                    .strip_prefix('[')
                    .and_then(|v| v.strip_suffix(']'))
                    .ok_or_else(|| bad("a list of whole numbers in brackets"))?;
                let numbers = list
                    .split_whitespace()
                    .map(|n| n.parse::<u64>())
                    .collect::<Result<Vec<u64>, _>>()
                    .map_err(|_| bad("a list of whole numbers in brackets"))?;
                if numbers.len() > PAUSE_BUFFER {
                    return Err(bad("a list of at most 256 numbers"));
                }
                if name == "PauseNs" {
                    stats.pause_ns = numbers;
                } else {
                    stats.pause_end = numbers;
                }
                known += 1;
                continue;
            }
            "GCCPUFraction" => {
                let fraction = value
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && (0.0..=1.0).contains(f))
                    .ok_or_else(|| bad("a fraction between 0 and 1"))?;
                stats.gc_cpu_fraction = Some(fraction);
                known += 1;
                continue;
            }
            _ => continue,
        };
        *slot = Some(number()?);
        known += 1;
    }
    if known == 0 {
        return Err(MemStatsError::Empty);
    }
    Ok(stats)
}

/// Where the block's opening line starts: the last line that is exactly `# runtime.MemStats`
/// (a function name in a heap record cannot be that line, which the records indent).
fn find_block(text: &[u8]) -> Option<usize> {
    let needle = format!("\n{BLOCK_START}\n");
    memchr::memmem::rfind(text, needle.as_bytes()).map(|at| at + 1)
}

/// True when the start of a file is a heap profile in text form (what a set member of
/// MemStats looks like).
pub fn sniff(head: &[u8]) -> bool {
    head.starts_with(b"heap profile:")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_119: &[u8] =
        include_bytes!("../fixtures/profiles/sim119-3svc-20261201-120000-heap.txt");
    const GO_127: &[u8] =
        include_bytes!("../fixtures/profiles/sim127-3svc-20261201-121500-heap.txt");

    fn with_block(block: &str) -> Vec<u8> {
        format!("heap profile: 0: 0 [0: 0] @ heap/1048576\n\n# runtime.MemStats\n{block}")
            .into_bytes()
    }

    #[test]
    fn a_go_1_19_text_parses() {
        let stats = parse(GO_119).unwrap();
        let expected = expected_fields(GO_119);
        assert_eq!(stats.heap_alloc, Some(expected["HeapAlloc"]));
        assert_eq!(stats.num_gc, Some(expected["NumGC"]));
        assert_eq!(stats.stack_inuse, Some(expected["StackInuse"]));
        assert_eq!(stats.stack_sys, Some(expected["StackSys"]));
        assert_eq!(stats.max_rss, Some(expected["MaxRSS"]));
        assert_eq!(stats.pause_ns.len(), PAUSE_BUFFER);
        assert_eq!(stats.pause_end.len(), PAUSE_BUFFER);
        assert!(stats.gc_cpu_fraction.is_some());
    }

    #[test]
    fn a_go_1_27_text_parses() {
        let stats = parse(GO_127).unwrap();
        let expected = expected_fields(GO_127);
        assert_eq!(stats.sys, Some(expected["Sys"]));
        assert_eq!(stats.next_gc, Some(expected["NextGC"]));
        assert_eq!(stats.heap_objects, Some(expected["HeapObjects"]));
        assert_eq!(stats.stack_inuse, Some(expected["StackInuse"]));
        assert_eq!(stats.num_forced_gc, Some(expected["NumForcedGC"]));
        assert_eq!(stats.pause_ns.len(), PAUSE_BUFFER);
    }

    /// The fields read back with a different method than the parser's: a plain scan for
    /// `# Name = ` anywhere in the text, and the `# Stack` pair split by hand.
    fn expected_fields(text: &[u8]) -> std::collections::HashMap<&'static str, u64> {
        let text = std::str::from_utf8(text).unwrap();
        let mut out = std::collections::HashMap::new();
        for name in [
            "HeapAlloc",
            "NumGC",
            "MaxRSS",
            "Sys",
            "NextGC",
            "HeapObjects",
            "NumForcedGC",
        ] {
            let key = format!("\n# {name} = ");
            let at = text.find(&key).unwrap() + key.len();
            let end = at + text[at..].find('\n').unwrap();
            out.insert(name, text[at..end].parse().unwrap());
        }
        let at = text.find("\n# Stack = ").unwrap() + "\n# Stack = ".len();
        let end = at + text[at..].find('\n').unwrap();
        let parts: Vec<u64> = text[at..end]
            .split(" / ")
            .map(|p| p.parse().unwrap())
            .collect();
        out.insert("StackInuse", parts[0]);
        out.insert("StackSys", parts[1]);
        out
    }

    #[test]
    fn unknown_lines_are_ignored() {
        let stats = parse(&with_block(
            "# Alloc = 5\n# SomethingNew = whatever\nnot a field\n# NumGC = 3\n",
        ))
        .unwrap();
        assert_eq!(stats.alloc, Some(5));
        assert_eq!(stats.num_gc, Some(3));
        assert_eq!(stats.stack_inuse, None);
    }

    #[test]
    fn malformed_numbers_name_the_line() {
        let error = parse(&with_block("# Alloc = 5\n# NumGC = -3\n")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 5: NumGC = \"-3\" is not a whole number"
        );
        let error = parse(&with_block("# Stack = 12\n")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 4: Stack = \"12\" is not two whole numbers, \"inuse / sys\""
        );
        let error = parse(&with_block("# GCCPUFraction = NaN\n")).unwrap_err();
        assert!(error.to_string().contains("a fraction between 0 and 1"));
        let error = parse(&with_block("# PauseNs = [1 x]\n")).unwrap_err();
        assert!(error.to_string().contains("PauseNs"));
    }

    #[test]
    fn texts_that_are_not_heap_texts_or_have_no_block_are_refused() {
        assert_eq!(
            parse(b"goroutine profile: total 1\n"),
            Err(MemStatsError::NotHeapText)
        );
        assert_eq!(
            parse(b"heap profile: 0: 0 [0: 0] @ heap/1048576\n"),
            Err(MemStatsError::NoBlock)
        );
        assert_eq!(
            parse(&with_block("# Lookups = 0\n")),
            Err(MemStatsError::Empty)
        );
    }

    #[test]
    fn recent_pauses_follow_the_circular_buffer() {
        let mut stats = MemStats {
            num_gc: Some(3),
            pause_ns: vec![0; PAUSE_BUFFER],
            ..MemStats::default()
        };
        stats.pause_ns[..3].copy_from_slice(&[10, 20, 30]);
        assert_eq!(stats.recent_pauses(), (vec![10, 20, 30], true));
        stats.num_gc = Some(300);
        let (pauses, all) = stats.recent_pauses();
        assert_eq!((pauses.len(), all), (PAUSE_BUFFER, false));
        stats.num_gc = None;
        assert_eq!(stats.recent_pauses(), (Vec::new(), false));
    }
}
