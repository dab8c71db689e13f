//! The legacy text profiles Go's runtime still serves (`/debug/pprof/heap?debug=1`, the same
//! text at `allocs?debug=1`, `block?debug=1` and `mutex?debug=1`), read into the owned model
//! as google/pprof's `profile/legacy_profile.go` reads them (`parseHeap`, `parseContention`):
//! the same sample types, the same unsampling arithmetic, addresses one before each return
//! address, one mapping that covers every address, and the `#` lines (the runtime's
//! symbolization) ignored, so `top` names every frame `<unknown>` as `go tool pprof` does.
//!
//! The other legacy formats (the binary CPU profile before protobuf, tcmalloc's heap and
//! contention texts, growth and fragmentation profiles, thread dumps, count profiles such as
//! `threadcreate?debug=1`) are recognised and refused by name ([`sniff`]).

use std::io::{BufRead, Read};
use std::sync::LazyLock;

use regex::Regex;

use super::limits::{DecodeError, DecodeOptions, read_error};
use super::model::{Labels, Location, Mapping, Profile, Samples, ValueType};

/// What the start of an (inflated) input says about legacy formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legacy {
    /// A heap profile text as Go writes it (`heap profile: … @ heap/RATE`).
    GoHeap,
    /// A block profile text (`--- contention:`).
    GoBlock,
    /// A mutex profile text (`--- mutex:`).
    GoMutex,
    /// A legacy format that is not read: what it is, and how to get a profile instead.
    Unread {
        /// The format in words.
        format: &'static str,
        /// What to collect instead.
        advice: &'static str,
    },
}

/// pprof's regular expressions (legacy_profile.go), the same patterns: `regex` and Go's
/// `regexp` agree on them (leftmost-first, no backreferences).
struct Patterns {
    heap_header: Regex,
    growth_header: Regex,
    fragmentation_header: Regex,
    heap_sample: Regex,
    contention_sample: Regex,
    hex_number: Regex,
}

static PATTERNS: LazyLock<Result<Patterns, regex::Error>> = LazyLock::new(|| {
    Ok(Patterns {
        heap_header: Regex::new(
            r"heap profile: *(\d+): *(\d+) *\[ *(\d+): *(\d+) *\] *@ *(heap[_a-z0-9]*)/?(\d*)",
        )?,
        growth_header: Regex::new(
            r"heap profile: *(\d+): *(\d+) *\[ *(\d+): *(\d+) *\] @ growthz?",
        )?,
        fragmentation_header: Regex::new(
            r"heap profile: *(\d+): *(\d+) *\[ *(\d+): *(\d+) *\] @ fragmentationz?",
        )?,
        heap_sample: Regex::new(r"(-?\d+): *(-?\d+) *\[ *(\d+): *(\d+) *] @([ x0-9a-f]*)")?,
        contention_sample: Regex::new(r"(\d+) *(\d+) @([ x0-9a-f]*)")?,
        hex_number: Regex::new(r"0x[0-9a-f]+")?,
    })
});

/// The compiled patterns; `None` cannot happen (a unit test compiles them), and would only
/// make legacy texts unrecognised, never panic.
fn patterns() -> Option<&'static Patterns> {
    PATTERNS.as_ref().ok()
}

/// [`patterns`] for the parsers, as an error.
fn patterns_or_error() -> Result<&'static Patterns, DecodeError> {
    patterns()
        .ok_or_else(|| DecodeError::Invalid("the legacy text patterns do not compile".to_string()))
}

const PROTOBUF_CPU: &str = "collect /debug/pprof/profile from the service (protobuf since Go 1.9)";
const PROTOBUF_HEAP: &str = "collect /debug/pprof/heap without debug=1 (protobuf)";

/// Recognises a legacy format from the start of the inflated input; `None` when the input
/// is none of them (a protobuf, a goroutine dump, other text).
pub fn sniff(head: &[u8]) -> Option<Legacy> {
    if let Some(unread) = sniff_binary_cpu(head) {
        return Some(unread);
    }
    // Text formats only: a protobuf's first "line" holds control bytes (field tags, lengths),
    // so none is ever taken for one (pprof tries protobuf first; this keeps that priority).
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    if first_line
        .iter()
        .any(|&b| b < 0x20 && b != b'\t' && b != b'\r')
    {
        return None;
    }
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    if first.starts_with("--- mutex:") {
        return Some(Legacy::GoMutex);
    }
    if first.starts_with("--- contention:") {
        return Some(Legacy::GoBlock);
    }
    if first.starts_with("--- contentionz ") {
        return Some(Legacy::Unread {
            format: "a C++ (gperftools) contention profile in text form",
            advice: "only the mutex and block texts of Go's runtime are read",
        });
    }
    // The patterns are compiled only for a line that holds their words: every text member
    // of a set (goroutine dumps among them) is sniffed, and compiling them costs more than
    // reading a small profile.
    if first.contains("heap profile:")
        && let Some(heap) = sniff_heap_header(first)
    {
        return Some(heap);
    }
    // pprof's count and thread parsers skip comments and blank lines before the header.
    let header = text
        .lines()
        .find(|line| !is_space_or_comment(line))
        .unwrap_or("");
    if let Some(name) = count_profile_name(header) {
        // Goroutine dumps have their own reader; this is only reached for the others.
        return Some(Legacy::Unread {
            format: if name == "threadcreate" {
                "a threadcreate profile in text form (threadcreate?debug=1)"
            } else {
                "a Go count profile in text form"
            },
            advice: "collect the endpoint without debug=1 (protobuf)",
        });
    }
    if header.starts_with("--- threadz ") || header.starts_with("--- Thread ") {
        return Some(Legacy::Unread {
            format: "a legacy thread profile (threadz)",
            advice: "collect /debug/pprof/goroutine (protobuf) or goroutine?debug=2",
        });
    }
    None
}

/// `NAME profile: total N` (pprof's `countStartRE`, `\A(\S+) profile: total \d+\z`) → NAME.
fn count_profile_name(line: &str) -> Option<&str> {
    let (name, total) = line.split_once(" profile: total ")?;
    let plain = !name.is_empty() && !name.chars().any(char::is_whitespace);
    let number = !total.is_empty() && total.bytes().all(|b| b.is_ascii_digit());
    (plain && number).then_some(name)
}

/// A first line holding `heap profile:`: Go's heap text, or tcmalloc's, growth or
/// fragmentation texts.
fn sniff_heap_header(first: &str) -> Option<Legacy> {
    let patterns = patterns()?;
    if let Some(header) = patterns.heap_header.captures(first) {
        let sampling = header.get(5).map_or("", |m| m.as_str());
        return Some(if sampling == "heap" {
            Legacy::GoHeap
        } else {
            Legacy::Unread {
                format: "a C++ (tcmalloc) heap profile in text form",
                advice: "only the heap text of Go's runtime (@ heap/RATE) is read",
            }
        });
    }
    if patterns.growth_header.is_match(first) {
        return Some(Legacy::Unread {
            format: "a heap growth profile in text form",
            advice: PROTOBUF_HEAP,
        });
    }
    if patterns.fragmentation_header.is_match(first) {
        return Some(Legacy::Unread {
            format: "a heap fragmentation profile in text form",
            advice: PROTOBUF_HEAP,
        });
    }
    None
}

/// The header of pprof's legacy binary CPU profile: five words `0, 3, 0, period, 0`, 32 or 64
/// bits, either byte order (`parseCPU`); `0, 3, 1, …` is the Java variant. No protobuf starts
/// with a zero byte, so this never takes a profile.proto.
fn sniff_binary_cpu(head: &[u8]) -> Option<Legacy> {
    let words = |size: usize, big: bool| -> Option<[u64; 5]> {
        let mut out = [0u64; 5];
        for (i, word) in out.iter_mut().enumerate() {
            let bytes = head.get(i * size..(i + 1) * size)?;
            let mut value = 0u64;
            for k in 0..size {
                let byte = if big { bytes[k] } else { bytes[size - 1 - k] };
                value = (value << 8) | u64::from(byte);
            }
            *word = value;
        }
        Some(out)
    };
    for (size, big) in [(4, false), (4, true), (8, false), (8, true)] {
        if let Some([0, 3, third @ (0 | 1), period, 0]) = words(size, big)
            && period > 0
        {
            return Some(Legacy::Unread {
                format: if third == 0 {
                    "a legacy CPU profile (binary, pre-protobuf: Go before 1.9 or gperftools)"
                } else {
                    "a legacy Java CPU profile (binary)"
                },
                advice: PROTOBUF_CPU,
            });
        }
    }
    None
}

fn is_space_or_comment(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.is_empty() || trimmed.starts_with('#')
}

fn is_memory_map_sentinel(line: &str) -> bool {
    line.contains("--- Memory map: ---") || line.contains("MAPPED_LIBRARIES:")
}

/// pprof's `allocRxStr` and `allocSkipRxStr` (`addLegacyFrameInfo`), for heap texts.
const ALLOC_DROP_FRAMES: &str = concat!(
    "calloc|cfree|malloc|free|memalign|do_memalign|(__)?posix_memalign|pvalloc|valloc|realloc|",
    "tcmalloc::.*|tc_calloc|tc_cfree|tc_malloc|tc_free|tc_memalign|tc_posix_memalign|tc_pvalloc|",
    "tc_valloc|tc_realloc|tc_new|tc_delete|tc_newarray|tc_deletearray|tc_new_nothrow|",
    "tc_newarray_nothrow|malloc_zone_malloc|malloc_zone_calloc|malloc_zone_valloc|",
    "malloc_zone_realloc|malloc_zone_memalign|malloc_zone_free|runtime\\..*|BaseArena::.*|",
    "(::)?do_malloc_no_errno|(::)?do_malloc_pages|(::)?do_malloc|DoSampledAllocation|",
    "MallocedMemBlock::MallocedMemBlock|_M_allocate|__builtin_(vec_)?delete|",
    "__builtin_(vec_)?new|__gnu_cxx::new_allocator::allocate|__libc_malloc|",
    "__malloc_alloc_template::allocate|allocate|cpp_alloc|operator new(\\[\\])?|",
    "simple_alloc::allocate"
);
const ALLOC_KEEP_FRAMES: &str = "runtime\\.panic|runtime\\.reflectcall|runtime\\.call[0-9]*";
/// pprof's `lockRxStr`, for contention texts.
const LOCK_DROP_FRAMES: &str = concat!(
    "RecordLockProfileData|(base::)?RecordLockProfileData.*|(base::)?SubmitMutexProfileData.*|",
    "(base::)?SubmitSpinLockProfileData.*|(base::Mutex::)?AwaitCommon.*|(base::Mutex::)?Unlock.*|",
    "(base::Mutex::)?UnlockSlow.*|(base::Mutex::)?ReaderUnlock.*|(base::MutexLock::)?~MutexLock.*|",
    "(Mutex::)?AwaitCommon.*|(Mutex::)?Unlock.*|(Mutex::)?UnlockSlow.*|(Mutex::)?ReaderUnlock.*|",
    "(MutexLock::)?~MutexLock.*|(SpinLock::)?Unlock.*|(SpinLock::)?SlowUnlock.*|",
    "(SpinLockHolder::)?~SpinLockHolder.*"
);

/// Reads a legacy text profile that [`sniff`] recognised as [`Legacy::GoHeap`],
/// [`Legacy::GoBlock`] or [`Legacy::GoMutex`], line by line from the inflated stream.
/// `gzip` is for read errors. A line that does not parse is an error naming its number.
pub fn parse(
    format: Legacy,
    input: impl Read,
    gzip: bool,
    options: &DecodeOptions,
) -> Result<Profile, DecodeError> {
    let mut lines = Lines {
        input: std::io::BufReader::with_capacity(1 << 16, input),
        buffer: Vec::new(),
        number: 0,
        gzip,
        options,
    };
    let mut builder = Builder::new(options);
    match format {
        Legacy::GoHeap => parse_heap(&mut lines, &mut builder)?,
        Legacy::GoBlock | Legacy::GoMutex => parse_contention(&mut lines, &mut builder)?,
        Legacy::Unread { format, advice } => {
            return Err(DecodeError::UnreadFormat { format, advice });
        }
    }
    Ok(builder.finish())
}

/// The input's lines, each bounded by `--max-line-length`, numbered for errors.
struct Lines<'a, R> {
    input: std::io::BufReader<R>,
    buffer: Vec<u8>,
    number: usize,
    gzip: bool,
    options: &'a DecodeOptions,
}

impl<R: Read> Lines<'_, R> {
    /// The next line without its line end, or `None` at the end of the input.
    fn next_line(&mut self) -> Result<Option<String>, DecodeError> {
        self.buffer.clear();
        let limit = self.options.max_line_bytes;
        let read = (&mut self.input)
            .take(limit as u64 + 1)
            .read_until(b'\n', &mut self.buffer)
            .map_err(|e| read_error(&e, self.gzip, self.options.max_decompressed_bytes))?;
        if read == 0 {
            return Ok(None);
        }
        self.number += 1;
        if self.buffer.last() == Some(&b'\n') {
            self.buffer.pop();
            if self.buffer.last() == Some(&b'\r') {
                self.buffer.pop();
            }
        } else if self.buffer.len() > limit {
            return Err(DecodeError::Limit {
                what: format!("line {}", self.number),
                limit: limit as u64,
                flag: "--max-line-length",
            });
        }
        Ok(Some(String::from_utf8_lossy(&self.buffer).into_owned()))
    }

    fn error(&self, what: impl std::fmt::Display) -> DecodeError {
        DecodeError::Invalid(format!("line {}: {what}", self.number))
    }
}

/// The profile being built: locations by address (first seen first, as pprof numbers them)
/// and the samples, under the decode limits.
struct Builder<'a> {
    options: &'a DecodeOptions,
    profile: Profile,
    by_address: rustc_hash::FxHashMap<u64, usize>,
    stack: Vec<usize>,
}

impl<'a> Builder<'a> {
    fn new(options: &'a DecodeOptions) -> Self {
        Builder {
            options,
            profile: Profile::default(),
            by_address: rustc_hash::FxHashMap::default(),
            stack: Vec::new(),
        }
    }

    fn types(&mut self, period_type: (&str, &str), types: &[(&str, &str)]) {
        let value_type = |(kind, unit): (&str, &str)| ValueType {
            kind: kind.to_string(),
            unit: unit.to_string(),
        };
        self.profile.period_type = Some(value_type(period_type));
        self.profile.sample_types = types.iter().copied().map(value_type).collect();
        self.profile.samples = Samples::new(types.len());
    }

    /// Adds a sample whose stack is the hex return addresses in `addresses`, leaf first.
    fn sample(
        &mut self,
        addresses: &str,
        values: &[i64],
        labels: Labels,
        line: usize,
    ) -> Result<(), DecodeError> {
        if self.profile.samples.len() >= self.options.max_samples {
            return Err(DecodeError::Limit {
                what: "the number of samples".to_string(),
                limit: self.options.max_samples as u64,
                flag: "--max-samples",
            });
        }
        self.stack.clear();
        for hex in patterns_or_error()?.hex_number.find_iter(addresses) {
            let address = u64::from_str_radix(&hex.as_str()[2..], 16).map_err(|_| {
                DecodeError::Invalid(format!(
                    "line {line}: {} is not a 64-bit address",
                    hex.as_str()
                ))
            })?;
            // Return addresses: one back lands on the call instruction (pprof's `addr--`).
            let address = address.wrapping_sub(1);
            let next = self.profile.locations.len();
            let index = *self.by_address.entry(address).or_insert(next);
            if index == next {
                if next >= self.options.max_locations {
                    return Err(DecodeError::Limit {
                        what: "the number of locations".to_string(),
                        limit: self.options.max_locations as u64,
                        flag: "--max-locations",
                    });
                }
                self.profile.locations.push(Location {
                    id: next as u64 + 1,
                    address,
                    ..Location::default()
                });
            }
            self.stack.push(index);
            if self.stack.len() > self.options.max_stack_depth {
                return Err(DecodeError::Limit {
                    what: format!("the stack of line {line}"),
                    limit: self.options.max_stack_depth as u64,
                    flag: "--max-stack-depth",
                });
            }
        }
        self.profile
            .samples
            .push(&self.stack, values, labels)
            .map_err(|_| DecodeError::Invalid("the stacks exceed 4 GiB".to_string()))
    }

    /// pprof's `remapMappingIDs` for a Go text, which lists no mappings: one mapping with
    /// id 1 covering every address holds every location with a nonzero address.
    fn finish(mut self) -> Profile {
        let mut any = false;
        for location in &mut self.profile.locations {
            if location.address != 0 {
                location.mapping = Some(0);
                any = true;
            }
        }
        if any {
            self.profile.mappings.push(Mapping {
                id: 1,
                memory_limit: u64::MAX,
                ..Mapping::default()
            });
        }
        self.profile
    }
}

/// pprof's `parseHeap` for the `@ heap/RATE` header Go writes.
fn parse_heap<R: Read>(lines: &mut Lines<R>, builder: &mut Builder) -> Result<(), DecodeError> {
    let patterns = patterns_or_error()?;
    let header = lines.next_line()?.unwrap_or_default();
    let Some(captures) = patterns.heap_header.captures(&header) else {
        return Err(lines.error("not a heap profile header"));
    };
    let field = |i: usize| captures.get(i).map_or("", |m| m.as_str());
    // pprof's rule, on the header's text: alloc figures that are neither the in-use ones nor
    // zero mean the text has both.
    let has_alloc =
        (field(3) != field(1) && field(3) != "0") || (field(4) != field(2) && field(4) != "0");
    let period: i64 = match field(6) {
        "" => 0,
        digits => digits
            .parse()
            .map_err(|_| lines.error("the sampling rate does not fit 64 bits"))?,
    };
    // `heap/RATE`: Go writes twice the MemProfileRate there (parseHeapHeader halves it).
    let rate = period / 2;
    builder.profile.period = rate;
    if has_alloc {
        // Alloc before in-use, so that the default (last) sample type is inuse_space.
        builder.types(
            ("space", "bytes"),
            &[
                ("alloc_objects", "count"),
                ("alloc_space", "bytes"),
                ("inuse_objects", "count"),
                ("inuse_space", "bytes"),
            ],
        );
    } else {
        builder.types(
            ("space", "bytes"),
            &[("objects", "count"), ("space", "bytes")],
        );
    }
    builder.profile.drop_frames = ALLOC_DROP_FRAMES.to_string();
    builder.profile.keep_frames = ALLOC_KEEP_FRAMES.to_string();
    let mut values = Vec::with_capacity(4);
    while let Some(line) = lines.next_line()? {
        let line = line.trim();
        if is_space_or_comment(line) {
            continue;
        }
        if is_memory_map_sentinel(line) {
            return Err(
                lines.error("a memory map section, which Go's heap text never holds: not read")
            );
        }
        let Some(sample) = patterns.heap_sample.captures(line) else {
            return Err(lines.error("not a heap sample (COUNT: BYTES [COUNT: BYTES] @ ADDRESSES)"));
        };
        let field = |i: usize| sample.get(i).map_or("", |m| m.as_str());
        values.clear();
        let mut block_size = 0;
        let mut add = |count: &str, size: &str, what: &str| -> Result<(), DecodeError> {
            let count: i64 = count
                .parse()
                .map_err(|_| lines.error(format!("the {what} count does not fit 64 bits")))?;
            let size: i64 = size
                .parse()
                .map_err(|_| lines.error(format!("the {what} bytes do not fit 64 bits")))?;
            if count == 0 && size != 0 {
                return Err(lines.error(format!("{what} count was 0 but {what} bytes was {size}")));
            }
            let (mut count, mut size) = (count, size);
            if count != 0 {
                block_size = size / count;
                (count, size) = scale_heap_sample(count, size, rate);
            }
            values.extend([count, size]);
            Ok(())
        };
        if has_alloc {
            add(field(3), field(4), "allocation")?;
        }
        add(field(1), field(2), "inuse")?;
        let mut labels = Labels::default();
        labels.numbers.insert("bytes".to_string(), vec![block_size]);
        let number = lines.number;
        builder.sample(field(5), &values, labels, number)?;
    }
    Ok(())
}

/// pprof's `scaleHeapSample`: a sample of average size S was recorded with probability
/// 1 - exp(-S/rate); dividing by it estimates the unsampled count and bytes.
fn scale_heap_sample(count: i64, size: i64, rate: i64) -> (i64, i64) {
    if count == 0 || size == 0 {
        return (0, 0);
    }
    if rate <= 1 {
        return (count, size);
    }
    let average = size as f64 / count as f64;
    let scale = 1.0 / (1.0 - (-average / rate as f64).exp());
    ((count as f64 * scale) as i64, (size as f64 * scale) as i64)
}

/// pprof's `parseContention` for the `--- contention:` (block) and `--- mutex:` texts.
fn parse_contention<R: Read>(
    lines: &mut Lines<R>,
    builder: &mut Builder,
) -> Result<(), DecodeError> {
    let patterns = patterns_or_error()?;
    // The header line was recognised by `sniff`.
    lines.next_line()?;
    builder.types(
        ("contentions", "count"),
        &[("contentions", "count"), ("delay", "nanoseconds")],
    );
    builder.profile.period = 1;
    builder.profile.drop_frames = LOCK_DROP_FRAMES.to_string();
    let mut cycles_per_second: i64 = 0;
    // `name = value` lines until the first sample.
    let mut pending = None;
    while let Some(line) = lines.next_line()? {
        let trimmed = line.trim();
        if is_space_or_comment(trimmed) {
            continue;
        }
        if trimmed.starts_with("---") {
            pending = Some(line);
            break;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            pending = Some(line);
            break;
        };
        let (key, value) = (key.trim(), value.trim());
        let number = || {
            parse_go_int(value)
                .ok_or_else(|| lines.error(format!("{key} = {value:?} is not a number")))
        };
        match key {
            "cycles/second" => cycles_per_second = number()?,
            "sampling period" => builder.profile.period = number()?,
            "ms since reset" => builder.profile.duration_nanos = number()?.wrapping_mul(1_000_000),
            "discarded samples" => {}
            _ => return Err(lines.error(format!("unknown header line {key:?}"))),
        }
    }
    let period = builder.profile.period;
    let mut next = pending;
    while let Some(line) = next.take() {
        let line = line.trim();
        if line.starts_with("---") {
            break;
        }
        if !is_space_or_comment(line) {
            let Some(sample) = patterns.contention_sample.captures(line) else {
                return Err(lines.error("not a contention sample (CYCLES COUNT @ ADDRESSES)"));
            };
            let field = |i: usize| sample.get(i).map_or("", |m| m.as_str());
            let mut cycles: i64 = field(1)
                .parse()
                .map_err(|_| lines.error("the cycles do not fit 64 bits"))?;
            let mut count: i64 = field(2)
                .parse()
                .map_err(|_| lines.error("the count does not fit 64 bits"))?;
            // Unsampled as pprof does: cycles to nanoseconds, both times the sampling period.
            if period > 0 {
                if cycles_per_second > 0 {
                    let giga_hertz = cycles_per_second as f64 / 1e9;
                    cycles = (cycles as f64 * period as f64 / giga_hertz) as i64;
                }
                count = count.wrapping_mul(period);
            }
            let number = lines.number;
            builder.sample(field(3), &[count, cycles], Labels::default(), number)?;
        }
        next = lines.next_line()?;
    }
    Ok(())
}

/// Go's `strconv.ParseInt(s, 0, 64)`: decimal, `0x` hex, `0o`/leading-zero octal, `0b`
/// binary, with an optional sign and `_` between digits when a prefix is given.
fn parse_go_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body, prefixed) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest.to_string(), true)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest.to_string(), true)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower.clone(), false)
    };
    let body = if prefixed {
        if body.starts_with('_') || body.ends_with('_') || body.contains("__") {
            return None;
        }
        body.replace('_', "")
    } else {
        body
    };
    if body.is_empty() || body.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(&body, radix).ok()?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_headers_read_as_pprofs_count_start_pattern() {
        let pattern = regex::Regex::new(r"\A(\S+) profile: total \d+\z").unwrap();
        for line in [
            "threadcreate profile: total 12",
            "goroutine profile: total 944",
            "x profile: total ",
            " profile: total 3",
            "a b profile: total 3",
            "heap profile: total 1a",
            "heap profile: total 12 ",
            "heap profile: total 7 profile: total 8",
        ] {
            let expected = pattern
                .captures(line)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str());
            assert_eq!(count_profile_name(line), expected, "{line:?}");
        }
    }

    fn read(text: &str) -> Result<Profile, DecodeError> {
        let format = sniff(text.as_bytes()).expect("a legacy format");
        parse(format, text.as_bytes(), false, &DecodeOptions::default())
    }

    #[test]
    fn the_patterns_compile() {
        if let Err(e) = &*PATTERNS {
            panic!("{e}");
        }
    }

    #[test]
    fn heap_values_are_unsampled_as_pprof_does() {
        let p = read(
            "heap profile: 2: 1024 [4: 2048] @ heap/1048576\n\
             2: 1024 [4: 2048] @ 0x1001 0x2002\n\
             #\t0x1000\tmain.f+0x0\tmain.go:1\n\
             \n\
             # runtime.MemStats\n# Alloc = 1\n",
        )
        .unwrap();
        let types: Vec<&str> = p.sample_types.iter().map(|t| t.kind.as_str()).collect();
        assert_eq!(
            types,
            [
                "alloc_objects",
                "alloc_space",
                "inuse_objects",
                "inuse_space"
            ]
        );
        assert_eq!(p.period, 524288);
        // 512-byte blocks at rate 524288: scale = 1 / (1 - exp(-512/524288)).
        let scale = 1.0 / (1.0 - (-512.0f64 / 524288.0).exp());
        assert_eq!(
            p.sample(0).values().to_vec(),
            [
                (4.0 * scale) as i64,
                (2048.0 * scale) as i64,
                (2.0 * scale) as i64,
                (1024.0 * scale) as i64
            ]
        );
        assert_eq!(p.sample(0).labels().numbers["bytes"], [512]);
        let addresses: Vec<u64> = p.locations.iter().map(|l| l.address).collect();
        assert_eq!(addresses, [0x1000, 0x2001]);
        assert_eq!(p.mappings.len(), 1);
        assert!(
            p.locations
                .iter()
                .all(|l| l.mapping == Some(0) && l.lines.is_empty())
        );
    }

    #[test]
    fn a_heap_text_without_alloc_figures_has_two_sample_types() {
        let p = read("heap profile: 1: 64 [1: 64] @ heap/2\n1: 64 [1: 64] @ 0x10\n").unwrap();
        let types: Vec<&str> = p.sample_types.iter().map(|t| t.kind.as_str()).collect();
        assert_eq!(types, ["objects", "space"]);
        // Rate 1: every allocation was recorded, nothing to scale.
        assert_eq!(p.sample(0).values().to_vec(), [1, 64]);
    }

    #[test]
    fn contention_values_are_unsampled_as_pprof_does() {
        let p = read(
            "--- mutex:\ncycles/second=2000000000\nsampling period=5\n\
             3000 7 @ 0x10 0x20\n#\t0xf\tsync.(*Mutex).Unlock+0x0\tx.go:1\n",
        )
        .unwrap();
        assert_eq!(p.period, 5);
        // delay: 3000 cycles × 5 / 2 GHz = 7500 ns; contentions 7 × 5.
        assert_eq!(p.sample(0).values().to_vec(), [35, 7500]);
        let block = read("--- contention:\ncycles/second=1000000000\n10 2 @ 0x10\n").unwrap();
        assert_eq!(block.sample(0).values().to_vec(), [2, 10]);
    }

    #[test]
    fn bad_lines_are_named_by_number() {
        let error = read("--- mutex:\ncycles/second=1\nsampling period=x\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 3: sampling period = \"x\" is not a number"
        );
        let error = read("heap profile: 1: 1 [1: 1] @ heap/2\nnonsense\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 2: not a heap sample (COUNT: BYTES [COUNT: BYTES] @ ADDRESSES)"
        );
        let error = read("heap profile: 1: 1 [1: 1] @ heap/2\n0: 5 [0: 0] @ 0x1\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 2: inuse count was 0 but inuse bytes was 5"
        );
    }

    #[test]
    fn other_legacy_formats_are_named() {
        let name = |head: &[u8]| match sniff(head) {
            Some(Legacy::Unread { format, .. }) => format,
            other => panic!("{other:?}"),
        };
        let mut cpu = Vec::new();
        for word in [0u64, 3, 0, 10000, 0, 1, 1, 0x401000] {
            cpu.extend_from_slice(&word.to_le_bytes());
        }
        assert!(name(&cpu).starts_with("a legacy CPU profile (binary"));
        let mut cpu32 = Vec::new();
        for word in [0u32, 3, 0, 10000, 0] {
            cpu32.extend_from_slice(&word.to_be_bytes());
        }
        assert!(name(&cpu32).starts_with("a legacy CPU profile (binary"));
        assert!(name(b"threadcreate profile: total 9\n1 @ 0x1\n").starts_with("a threadcreate"));
        assert!(name(b"heap profile: 1: 1 [1: 1] @ growthz\n").starts_with("a heap growth"));
        assert!(name(b"heap profile: 1: 1 [1: 1] @ heap_v2/524288\n").contains("tcmalloc"));
        assert!(name(b"--- contentionz 1 ---\n").contains("gperftools"));
        assert!(name(b"--- threadz 1 ---\n").contains("thread profile"));
        assert_eq!(
            sniff(b"goroutine profile: total 3\n"),
            Some(Legacy::Unread {
                format: "a Go count profile in text form",
                advice: "collect the endpoint without debug=1 (protobuf)",
            })
        );
        assert_eq!(sniff(b"\x0a\x04"), None);
        // A protobuf whose first bytes spell a header is still a protobuf.
        assert_eq!(sniff(b"--- mutex:\x08\x01\n"), None);
    }

    #[test]
    fn go_integers_parse_as_strconv_does() {
        assert_eq!(parse_go_int("2596121697"), Some(2596121697));
        assert_eq!(parse_go_int("0x10"), Some(16));
        assert_eq!(parse_go_int("010"), Some(8));
        assert_eq!(parse_go_int("1_000"), None);
        assert_eq!(parse_go_int("0x1_0"), Some(16));
        assert_eq!(parse_go_int("-5"), Some(-5));
        assert_eq!(parse_go_int(""), None);
    }
}
