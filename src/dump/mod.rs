//! Parsers for the two text formats of Go's `/debug/pprof/goroutine` endpoint.
//!
//! * `debug=1` (runtime/pprof's legacy count format): a `goroutine profile: total N` header,
//!   then one block per distinct stack (and label set): `COUNT @ 0xPC 0xPC …`, optional
//!   `# labels: {"k":"v", …}`, and one `#\t0xADDR\tfunc+0xOFF\tfile:line` line per frame.
//! * `debug=2` (the output of `runtime.Stack(buf, true)`, like a panic traceback): one block
//!   per goroutine, `goroutine ID [state, N minutes, locked to thread]:`, frames as a
//!   `func(args)` line followed by a `\tfile:line +0xOFF` line, and `created by …`.
//!
//! Both end in the model of the goroutine protobuf: a [`Profile`] with one sample type
//! `goroutine/count` (period type `goroutine/count`, period 1) whose samples are stacks,
//! leaf first, valued with their goroutine count. [`GoroutineDump`] adds what only the text
//! formats carry: the `debug=1` header total and, for `debug=2`, one [`GoroutineInfo`] per
//! goroutine (state, wait time, creator).
//!
//! How the text models differ from the protobuf of the same process:
//! * Neither format prints the leading runtime frames (`runtime.gopark`, `runtime.chanrecv`, …)
//!   nor `runtime.goexit`, so stacks are shorter and the leaf is usually the first
//!   non-runtime frame. Totals are the same. In `debug=1` the hidden frames are still listed as
//!   bare PCs on the `@` line; they are not turned into locations, because the dump carries no
//!   symbol for them and a location of a bare address would only show as hex in every report.
//! * `debug=2` has no addresses: every distinct frame (function, file, line) is a location of
//!   its own with address 0, and goroutines with identical stacks are merged into one sample
//!   whose value is their number, as the protobuf does. Identity is the sequence of frames;
//!   arguments, `created by` and the state are per goroutine ([`GoroutineInfo`]), not part
//!   of it.
//! * `debug=1` blocks stay one sample each: the runtime already aggregated them by PCs and
//!   labels, so two blocks with the same visible frames differ in hidden PCs or in labels,
//!   and are two samples in the protobuf too. Consecutive `#` lines with one address are one
//!   location with several lines (inlined frames, innermost first), unless the `@` line shows
//!   that PC repeated (recursion), in which case each repetition is a location.
//!
//! What counts as truncated: a `debug=1` header without blocks, a block header at the end of
//! the file with no frame line and no closing blank line, a `debug=2` goroutine header or frame or `created by` line at
//! the end of the file without what must follow it, and a last line without its `\n`. A
//! dump cut exactly between two frames cannot be told from a complete one (for `debug=1`, a
//! header total larger than [`GoroutineDump::total`] hints at it). A `debug=1` block without
//! frames that its blank line closes is kept with an empty stack (the runtime prints no frame
//! for a goroutine whose stack is only `runtime.goexit`: created, not yet started); one
//! followed directly by another header is an error. A `debug=2` goroutine without frames is
//! kept with an empty stack too: the runtime prints such goroutines (`stack unavailable`,
//! tracebacks it could not unwind).
//!
//! Parsing is lenient inside a valid structure (unrecognised lines are skipped and counted in
//! [`GoroutineDump::skipped_lines`]) and strict about truncation: a dump that ends inside a
//! block, or in the middle of a line, is an error, because its last stack would be wrong.

mod debug1;
mod debug2;
mod labels;
mod stream;

use thiserror::Error;

use crate::profile::limits::MemoryBudget;
use crate::profile::model::{Profile, ProfileBuilder, ValueType};

/// Which text format a dump is in (the `debug=` query parameter that produced it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DumpFormat {
    /// `?debug=1`: stacks with counts, aggregated by the runtime.
    Debug1,
    /// `?debug=2`: one traceback per goroutine.
    Debug2,
}

impl DumpFormat {
    /// The query parameter that produces this format: `debug=1` or `debug=2`.
    pub fn as_str(self) -> &'static str {
        match self {
            DumpFormat::Debug1 => "debug=1",
            DumpFormat::Debug2 => "debug=2",
        }
    }
}

impl std::fmt::Display for DumpFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed goroutine text dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoroutineDump {
    /// Which of the two text formats the dump is in.
    pub format: DumpFormat,
    /// The `N` of the `debug=1` header `goroutine profile: total N`. It is kept apart from the
    /// sum of the sample values (see [`GoroutineDump::total`]) because the two may differ.
    pub header_total: Option<u64>,
    /// Stack → goroutine count, in the model of the goroutine protobuf. Samples are in the
    /// order of their first appearance in the dump.
    pub profile: Profile,
    /// `debug=2` only (empty for `debug=1`): one entry per goroutine, in dump order.
    pub goroutines: Vec<GoroutineInfo>,
    /// Lines that were not recognised inside an otherwise valid structure and were skipped.
    pub skipped_lines: usize,
}

impl GoroutineDump {
    /// The number of goroutines the stacks account for: the sum of the sample values.
    pub fn total(&self) -> u64 {
        self.profile
            .samples()
            .filter_map(|s| s.values().next())
            .map(|v| v.max(0) as u64)
            .sum()
    }
}

/// One goroutine of a `debug=2` dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoroutineInfo {
    /// The goroutine's id, from its `goroutine N [...]:` header.
    pub id: u64,
    /// The wait reason or status, as printed: `chan receive`, `IO wait`, `select (no cases)`,
    /// `sync.Mutex.Lock`, `running`. Shared by the goroutines in the same state.
    pub state: std::sync::Arc<str>,
    /// `(leaked)` after the state (Go ≥ 1.26, in the dump written after the leak detector
    /// ran): the runtime proved that nothing can ever wake this goroutine.
    pub leaked: bool,
    /// The goroutine's pprof labels, from the header (Go ≥ 1.27): `{key: value, …}`, in the
    /// order printed.
    pub labels: Box<[(String, String)]>,
    /// `N minutes` in the header. The runtime prints it only from one minute of waiting on.
    /// (32 bits hold 8,000 years; more is read as the most they hold.)
    pub wait_minutes: Option<u32>,
    /// `locked to thread` in the header (`runtime.LockOSThread`).
    pub locked_to_thread: bool,
    /// Any other item of the bracket, as printed (e.g. `synctest bubble 1` of Go 1.25).
    pub annotations: Box<[String]>,
    /// Index into `GoroutineDump::profile.samples`: this goroutine's stack.
    pub sample: usize,
    /// `created by …`; `None` for the main goroutine and for runtime-started ones.
    pub created_by: Option<CreatedBy>,
    /// The traceback said `...additional frames elided...` (or `...N frames elided...`):
    /// the stack is incomplete.
    pub frames_elided: bool,
    /// The runtime printed `goroutine running on other thread; stack unavailable` instead of
    /// frames; the sample's stack is empty.
    pub stack_unavailable: bool,
    /// 1-based line of the `goroutine N [...]:` header in the dump.
    pub line: u32,
}

/// The `created by` line of a `debug=2` goroutine and the file line after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedBy {
    /// Shared by the goroutines of the same creator, as `file`.
    pub function: std::sync::Arc<str>,
    /// Source file of the `go` statement, from the line after `created by`.
    pub file: std::sync::Arc<str>,
    /// Line of the `go` statement in `file`.
    pub line: i64,
    /// `in goroutine N` (Go ≥ 1.21); older runtimes do not print it.
    pub parent_goroutine: Option<u64>,
}

/// Why a dump could not be parsed. Messages name the line but not the file: the caller
/// prefixes the path.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DumpError {
    /// The data holds only blank lines.
    #[error("the goroutine dump is empty")]
    Empty,
    /// A line is not what the format has there: the first line is neither format's header,
    /// or a line outside any block is not a block or goroutine header.
    #[error("line {line}: expected {expected} but found \"{found}\"")]
    Unexpected {
        /// 1-based number of the line.
        line: usize,
        /// What was expected there, in words: `"COUNT @ 0x..."`.
        expected: &'static str,
        /// The line found, shortened to 60 characters, control characters escaped.
        found: String,
    },
    /// A `debug=1` header with a nonzero total and no block after it.
    #[error("line {line}: \"{header}\" header with no blocks after it (truncated dump?)")]
    NoBlocks {
        /// 1-based number of the header line.
        line: usize,
        /// The header, shortened as in `Unexpected`.
        header: String,
    },
    /// A `debug=1` block header at the end of the file, with no frame and no blank line after.
    #[error("line {line}: block cut off after \"{header}\" header with no frames")]
    BlockCutOff {
        /// 1-based number of the block's `COUNT @ …` line.
        line: usize,
        /// That line, shortened as in `Unexpected`.
        header: String,
    },
    /// A `debug=1` block header followed directly by the next one, with no frame or blank line
    /// between.
    #[error("line {line}: block \"{header}\" has no frames")]
    EmptyBlock {
        /// 1-based number of the block's `COUNT @ …` line.
        line: usize,
        /// That line, shortened as in `Unexpected`.
        header: String,
    },
    /// A `debug=2` goroutine header at the end of the file with no frame, `created by` or
    /// `stack unavailable` line after it.
    #[error("line {line}: goroutine cut off after \"{header}\" header with no frames")]
    GoroutineCutOff {
        /// 1-based number of the `goroutine N [...]:` line.
        line: usize,
        /// That line, shortened as in `Unexpected`.
        header: String,
    },
    /// A `debug=2` frame or `created by` line at the end of the file, without the
    /// `\tfile:line` line that must follow it.
    #[error("line {line}: \"{frame}\" cut off before its file:line line")]
    FrameCutOff {
        /// 1-based number of the frame or `created by` line.
        line: usize,
        /// That line, shortened as in `Unexpected`.
        frame: String,
    },
    /// The last line has no `\n`: the dump was cut inside it.
    #[error("line {line}: the dump ends in the middle of this line (truncated dump?)")]
    MidLine {
        /// 1-based number of the last line.
        line: usize,
    },
    /// A line, a stack or all stacks together went past a limit.
    #[error("{what} exceeds the limit of {limit} (raise it with {flag})")]
    Limit {
        /// What went past it: `line 12 (2000000 bytes)`, `line 40: the stack of this block
        /// (120000 frames)`.
        what: String,
        /// The limit, in the unit of `what` (bytes or frames).
        limit: u64,
        /// The command-line flag that raises it: `--max-line-length`, `--max-stack-depth`.
        flag: &'static str,
    },
    /// The profile the dump makes fails the profile layer's validation, as a protobuf would.
    #[error(transparent)]
    Invalid(#[from] crate::profile::DecodeError),
}

impl DumpError {
    /// The stacks of a dump outgrew the model's 4 GiB stack buffer. The decompressed-size
    /// limit (1 GiB by default) keeps this from happening unless it is raised past 4 GiB.
    fn stacks_full() -> Self {
        DumpError::Limit {
            what: "the total size of all stacks".to_string(),
            limit: u64::from(u32::MAX),
            flag: "--max-decompressed-size",
        }
    }
}

/// The format of a goroutine dump, judged by its first non-blank line; `None` when the data
/// is neither (a protobuf, another profile's text, …).
pub fn sniff(data: &[u8]) -> Option<DumpFormat> {
    let (_, first) = first_line(data)?;
    let first = String::from_utf8_lossy(first);
    sniff_line(&first)
}

fn sniff_line(line: &str) -> Option<DumpFormat> {
    if debug1::parse_header(line).is_some() {
        Some(DumpFormat::Debug1)
    } else if debug2::parse_header(line).is_some() {
        Some(DumpFormat::Debug2)
    } else {
        None
    }
}

/// The first non-blank line with its 1-based number, without its line ending. Only the start
/// of the data is read.
fn first_line(data: &[u8]) -> Option<(usize, &[u8])> {
    data.split(|&b| b == b'\n')
        .map(trim_cr)
        .enumerate()
        .find(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(index, line)| (index + 1, line))
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Limits on a text dump: each is an error naming its flag, not a crash or a stall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpLimits {
    /// Longest line, in bytes (`--max-line-length`).
    pub max_line_bytes: usize,
    /// Most frames in one goroutine or block (`--max-stack-depth`).
    pub max_stack_depth: usize,
    /// Most memory the parsed dump may take (`--max-memory`; see
    /// [`DecodeOptions::max_memory_bytes`](crate::profile::DecodeOptions::max_memory_bytes)).
    pub max_memory_bytes: Option<u64>,
}

impl Default for DumpLimits {
    fn default() -> Self {
        let decode = crate::profile::DecodeOptions::default();
        DumpLimits {
            max_line_bytes: decode.max_line_bytes,
            max_stack_depth: decode.max_stack_depth,
            max_memory_bytes: decode.max_memory_bytes,
        }
    }
}

/// Parses a `debug=1` or `debug=2` goroutine dump, recognised by content, with the default
/// limits.
pub fn parse(data: &[u8]) -> Result<GoroutineDump, DumpError> {
    parse_with(data, &DumpLimits::default())
}

/// Why a dump read from a stream was not parsed.
#[derive(Debug)]
pub enum StreamError {
    /// Reading (or inflating) the stream failed.
    Read(std::io::Error),
    /// The text read is not a valid dump.
    Dump(DumpError),
}

/// Parses a goroutine dump from a stream: `start` is what was read of it to recognise it as
/// `format` ([`sniff`]), `rest` the remainder. The dump is parsed while it is read, in pieces
/// on every core, so that a dump of tens of MB is never in memory whole.
pub fn parse_stream(
    format: DumpFormat,
    start: Vec<u8>,
    rest: impl std::io::Read,
    limits: &DumpLimits,
) -> Result<GoroutineDump, StreamError> {
    let budget = MemoryBudget::with_limit(limits.max_memory_bytes);
    let (max_line, first) = (limits.max_line_bytes, stream::FIRST_STREAM_PIECE);
    let max_depth = limits.max_stack_depth;
    let dump = match format {
        DumpFormat::Debug1 => {
            let debug1 = debug1::Debug1 { max_depth };
            stream::parse_stream(&debug1, start, rest, max_line, first, &budget)?
        }
        DumpFormat::Debug2 => {
            let debug2 = debug2::Debug2 { max_depth };
            stream::parse_stream(&debug2, start, rest, max_line, first, &budget)?
        }
    };
    validated(dump).map_err(StreamError::Dump)
}

/// Parses a `debug=1` or `debug=2` goroutine dump, recognised by content.
pub fn parse_with(data: &[u8], limits: &DumpLimits) -> Result<GoroutineDump, DumpError> {
    validated(parse_unchecked(data, limits)?)
}

/// Every dump returned passes the validation a decoded protobuf does: both end in a
/// [`Profile`] that the analyses sum over.
fn validated(dump: GoroutineDump) -> Result<GoroutineDump, DumpError> {
    crate::profile::check_value_sums(&dump.profile)?;
    Ok(dump)
}

fn parse_unchecked(data: &[u8], limits: &DumpLimits) -> Result<GoroutineDump, DumpError> {
    let Some((line, first)) = first_line(data) else {
        return Err(DumpError::Empty);
    };
    let first = String::from_utf8_lossy(first);
    let format = sniff_line(&first).ok_or_else(|| DumpError::Unexpected {
        line,
        expected: "\"goroutine profile: total N\" (debug=1) or \"goroutine N [state]:\" (debug=2)",
        found: excerpt(&first),
    })?;
    check_final_newline(data, 0)?;
    charge_entries(
        format,
        data,
        data.len() as u64,
        &MemoryBudget::with_limit(limits.max_memory_bytes),
        &mut 0,
    )?;
    // Go writes UTF-8, but file names and label values are arbitrary bytes: replace what is
    // not UTF-8 once, up front, so that the parsers work on `&str` slices without copies.
    // The strict check is much faster than the lossy one, which only runs when it fails.
    let text = match std::str::from_utf8(data) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(data),
    };
    let (max_line, max_depth) = (limits.max_line_bytes, limits.max_stack_depth);
    match format {
        DumpFormat::Debug1 => stream::parse(&debug1::Debug1 { max_depth }, &text, max_line),
        DumpFormat::Debug2 => stream::parse(&debug2::Debug2 { max_depth }, &text, max_line),
    }
}

/// What one `debug=2` goroutine takes in memory at least: its [`GoroutineInfo`] in a vector
/// grown by doubling. A file of bare headers (`goroutine 1 [a]:` and a blank line, 18 bytes)
/// takes 19 times its size, and is refused within its first megabytes; a real goroutine,
/// with its frames, 4 times at most.
const GOROUTINE_COST: u64 = 2 * size_of::<GoroutineInfo>() as u64;
/// What one `debug=1` block takes in memory at least: its sample's columns (stack end, label
/// set, value: 16 bytes, in vectors grown by doubling) and what the analyses build for each
/// sample (`top` merges samples through a table of 32 bytes each, grown by doubling too). A
/// file of bare blocks (`1 @ 0x1` and a blank line, 9 bytes) takes 18 times its size.
const DEBUG1_BLOCK_COST: u64 = 2 * 16 + 2 * 2 * 32;

/// Charges the goroutines or blocks of `text` (a dump, or a piece of one, `read` bytes
/// into it, after `counted` entries) to `budget` before they are parsed: a first pass that
/// only counts their headers (`goroutine N [` at the start of a line, a block's
/// `COUNT @ `), and at least one.
fn charge_entries(
    format: DumpFormat,
    text: &[u8],
    read: u64,
    budget: &MemoryBudget,
    counted: &mut u64,
) -> Result<(), DumpError> {
    let (header, cost, kind) = match format {
        DumpFormat::Debug1 => (&b" @ "[..], DEBUG1_BLOCK_COST, "block"),
        DumpFormat::Debug2 => (&b"\ngoroutine "[..], GOROUTINE_COST, "goroutine"),
    };
    let count = (memchr::memmem::find_iter(text, header).count() as u64).max(1);
    *counted += count;
    budget.charge(count.saturating_mul(cost), read, || {
        format!("{kind} {counted} of the dump")
    })?;
    Ok(())
}

/// Go ends every line of both formats with `\n`; a non-blank last line without it was cut
/// (runtime/pprof stops the `debug=2` dump at 64 MB, copies get interrupted), and its frame
/// or count may be wrong without looking wrong. `data` is the end of a dump that has
/// `lines_before` lines before it.
fn check_final_newline(data: &[u8], lines_before: usize) -> Result<(), DumpError> {
    if data.ends_with(b"\n") {
        return Ok(());
    }
    let last_start = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if data[last_start..].iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let line = lines_before + 1 + data[..last_start].iter().filter(|&&b| b == b'\n').count();
    Err(DumpError::MidLine { line })
}

/// The builder both parsers start from: one sample type `goroutine/count`, like the protobuf.
fn new_builder() -> ProfileBuilder {
    let goroutine_count = ValueType {
        kind: "goroutine".to_string(),
        unit: "count".to_string(),
    };
    let mut builder = ProfileBuilder::new(vec![goroutine_count.clone()]);
    let profile = builder.profile_mut();
    profile.period_type = Some(goroutine_count);
    profile.period = 1;
    builder
}

/// Adds the functions and locations of a later piece's profile to `builder`, in their order;
/// returns each of the piece's locations' index in `builder`. Both formats join their pieces
/// through it.
fn add_locations_of(builder: &mut ProfileBuilder, piece: &Profile) -> Vec<usize> {
    let mut lines = Vec::new();
    piece
        .locations
        .iter()
        .map(|location| {
            lines.clear();
            lines.extend(location.lines.iter().map(|line| {
                let function = &piece.functions[line.function];
                crate::profile::model::Line {
                    function: builder.function(&function.name, &function.filename),
                    line: line.line,
                    column: line.column,
                }
            }));
            builder.location(location.address, &lines)
        })
        .collect()
}

/// Lines of the dump with their 1-based numbers, without `\n` or `\r\n`.
struct Lines<'a> {
    rest: &'a str,
    number: usize,
    /// Longest line accepted (`--max-line-length`); the iteration stops at a longer one.
    max: usize,
    /// The first line over `max`: its number and length.
    too_long: Option<(usize, usize)>,
}

impl<'a> Lines<'a> {
    #[cfg(test)]
    fn new(text: &'a str) -> Self {
        Lines::with_limit(text, usize::MAX)
    }

    fn with_limit(text: &'a str, max: usize) -> Self {
        Lines {
            rest: text,
            number: 0,
            max,
            too_long: None,
        }
    }

    /// Numbers the lines as if `before` lines came first: a piece of a dump parsed alone
    /// names the lines of the whole.
    fn after_line(mut self, before: usize) -> Self {
        self.number = before;
        self
    }

    /// The error for a line over the limit, if the iteration stopped at one. Parsers call it
    /// before judging the end of the dump: the dump did not end there.
    fn check(&self) -> Result<(), DumpError> {
        match self.too_long {
            Some((line, length)) => Err(DumpError::Limit {
                what: format!("line {line} ({length} bytes)"),
                limit: self.max as u64,
                flag: "--max-line-length",
            }),
            None => Ok(()),
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.too_long.is_some() {
            return None;
        }
        self.number += 1;
        let line = match memchr::memchr(b'\n', self.rest.as_bytes()) {
            Some(end) => {
                let line = &self.rest[..end];
                self.rest = &self.rest[end + 1..];
                line
            }
            None => std::mem::take(&mut self.rest),
        };
        if line.len() > self.max {
            self.too_long = Some((self.number, line.len()));
            return None;
        }
        Some((self.number, line.strip_suffix('\r').unwrap_or(line)))
    }
}

/// `true` for an empty or whitespace-only line: the block separator of both formats.
fn is_blank(line: &str) -> bool {
    line.bytes().all(|b| b.is_ascii_whitespace())
}

/// A line as quoted in an error message: at most 60 characters, control characters escaped.
fn excerpt(line: &str) -> String {
    const MAX: usize = 60;
    let mut out = String::new();
    for (count, c) in line.chars().enumerate() {
        if count == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits `file:line` (the line number after the last colon, so Windows drive letters and
/// colons in directory names stay in the file). `None` unless the number is all digits.
fn split_file_line(text: &str) -> Option<(&str, i64)> {
    let (file, line) = rsplit_once_byte(text, b':')?;
    if file.is_empty() {
        return None;
    }
    Some((file, parse_decimal(line)?.try_into().ok()?))
}

/// `str::rsplit_once` of an ASCII byte, with memchr's vectorised search: the parsers split
/// every line of a dump, and core's search is the slower one.
fn rsplit_once_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    debug_assert!(byte.is_ascii());
    let at = memchr::memrchr(byte, text.as_bytes())?;
    Some((&text[..at], &text[at + 1..]))
}

/// The byte position of the first `byte` (ASCII) in `text`, as `str::find` of it.
fn find_byte(text: &str, byte: u8) -> Option<usize> {
    debug_assert!(byte.is_ascii());
    memchr::memchr(byte, text.as_bytes())
}

/// A decimal number of ASCII digits only (no sign, no spaces, not empty).
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A `0x`-prefixed hexadecimal number that fits in 64 bits (leading zeros allowed). By hand:
/// a `debug=1` dump has one on every `@` and `#` line, and `u64::from_str_radix` after a
/// check of the digits was a tenth of its parse.
fn parse_hex(text: &str) -> Option<u64> {
    let digits = text.strip_prefix("0x")?.as_bytes();
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in digits {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            b'A'..=b'F' => byte - b'A' + 10,
            _ => return None,
        };
        // Another digit would push the top one out.
        if value >> 60 != 0 {
            return None;
        }
        value = (value << 4) | u64::from(digit);
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(
            sniff(b"goroutine profile: total 3\n"),
            Some(DumpFormat::Debug1)
        );
        assert_eq!(
            sniff(b"\n\ngoroutine 1 [running]:\nmain.main()\n"),
            Some(DumpFormat::Debug2)
        );
        assert_eq!(
            sniff(b"goroutine 5 gp=0xc000007340 m=nil [select]:\r\n"),
            Some(DumpFormat::Debug2)
        );
        assert_eq!(sniff(b"\x1f\x8b\x08\x00\x00\x00"), None);
        assert_eq!(sniff(b"heap profile: 1: 2 [3: 4] @ heap/1048576\n"), None);
        assert_eq!(sniff(b"goroutine profile: total x\n"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn lines_are_numbered_without_line_endings() {
        let lines: Vec<_> = Lines::new("a\r\n\nb\nc").collect();
        assert_eq!(lines, vec![(1, "a"), (2, ""), (3, "b"), (4, "c")]);
    }

    #[test]
    fn excerpts_are_short_and_escaped() {
        assert_eq!(excerpt("a\tb"), "a\\tb");
        let long = "x".repeat(100);
        assert_eq!(excerpt(&long), format!("{}…", "x".repeat(60)));
    }

    #[test]
    fn file_lines_split_at_the_last_colon() {
        assert_eq!(
            split_file_line("C:/go/src/x.go:12"),
            Some(("C:/go/src/x.go", 12))
        );
        assert_eq!(split_file_line("x.go:"), None);
        assert_eq!(split_file_line(":12"), None);
        assert_eq!(split_file_line("x.go:1a"), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_hex("0x4773ce"), Some(0x4773ce));
        assert_eq!(parse_hex("4773ce"), None);
        assert_eq!(parse_hex("0x"), None);
        assert_eq!(parse_hex("0xFFFFFFFFFFFFFFFF"), Some(u64::MAX));
        assert_eq!(parse_hex("0x0000FFFFFFFFFFFFFFFF"), Some(u64::MAX));
        assert_eq!(parse_hex("0x10000000000000000"), None);
        assert_eq!(parse_hex("0x12g"), None);
        assert_eq!(parse_hex("0x+1"), None);
        assert_eq!(parse_decimal("+5"), None);
        assert_eq!(parse_decimal("99999999999999999999999"), None);
    }
}
