//! The `debug=2` format: `runtime.Stack(buf, true)`, the traceback of every goroutine.
//!
//! ```text
//! goroutine 18 [chan receive, 5 minutes]:
//! main.worker(0xc000010000, {0x7f1, 0x5})
//!     /home/u/x/main.go:42 +0x1d
//! sync.(*Mutex).Lock(...)
//!     /usr/lib/go/src/sync/mutex.go:90
//! created by main.start in goroutine 1
//!     /home/u/x/main.go:30 +0x55
//!
//! ```
//!
//! (Shown with spaces; file lines start with a tab.) Frames are leaf first. `(...)` marks an inlined frame (its file line has no `+0x`).

use std::hash::BuildHasher as _;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::hash_chains::HashChains;

use super::stream::PieceFormat;
use super::{
    CreatedBy, DumpError, DumpFormat, GoroutineDump, GoroutineInfo, Lines, excerpt, find_byte,
    is_blank, new_builder, parse_decimal, rsplit_once_byte, split_file_line,
};
use crate::profile::model::{Labels, Line, Profile, ProfileBuilder};

/// `goroutine 7 [select, 2 minutes]:` (also with Go ≥ 1.23's `gp=0x… m=… mp=0x…` fields
/// before the bracket, and Go ≥ 1.27's labels after it: `[runnable] {role: encoder}:`) → the
/// id, the text inside the brackets and what stands between the bracket and the colon
/// (empty, the labels, or text a later runtime adds, kept as it is).
pub(super) fn parse_header(line: &str) -> Option<(u64, &str, &str)> {
    let rest = line.strip_prefix("goroutine ")?;
    let id_end = find_byte(rest, b' ')?;
    let id = parse_decimal(&rest[..id_end])?;
    let rest = &rest[id_end..];
    let open = find_byte(rest, b'[')?;
    // Only `key=value` fields may stand between the id and the bracket.
    if !rest[..open]
        .split_ascii_whitespace()
        .all(|field| field.contains('='))
    {
        return None;
    }
    let after_open = &rest[open + 1..];
    let close = find_byte(after_open, b']')?;
    let suffix = after_open[close + 1..].trim_end().strip_suffix(':')?;
    Some((id, &after_open[..close], suffix.trim()))
}

/// What follows a frame's or `created by`'s name line: its `\tfile:line …` line.
enum Pending<'a> {
    Frame {
        line: usize,
        text: &'a str,
        name: &'a str,
    },
    CreatedBy {
        line: usize,
        text: &'a str,
        function: &'a str,
        parent: Option<u64>,
    },
}

/// Where in a goroutine's block the parser is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    /// The goroutine's own frames.
    Stack,
    /// After `created by`: nothing belongs to the stack any more.
    AfterCreatedBy,
    /// `[originating from goroutine N]:` (GODEBUG=tracebackancestors): frames of ancestors,
    /// skipped.
    Ancestors,
}

struct Current<'a> {
    info: GoroutineInfo,
    header: &'a str,
    section: Section,
}

/// What a piece of a dump adds up to. It owns all it holds, so that a piece's text can go as
/// soon as it is parsed: a dump is parsed while the rest of it is still being read.
pub(super) struct Piece {
    builder: ProfileBuilder,
    /// Stack (locations, leaf first) → sample, to merge goroutines with identical stacks.
    stacks: StackIndex,
    goroutines: Vec<GoroutineInfo>,
    skipped_lines: usize,
}

struct Parser<'a> {
    piece: Piece,
    /// (function, file, line) → location, so that a frame seen before costs one lookup.
    frames: FxHashMap<(&'a str, &'a str, i64), usize>,
    /// (function, file line as printed) → location: a frame printed as before is found
    /// without taking its file line apart, which was a third of parsing a frame.
    printed_frames: FxHashMap<(&'a str, &'a str), usize>,
    /// (creator, file line as printed) → the creator, its strings shared (the parent
    /// goroutine differs from goroutine to goroutine and is set afresh).
    printed_creators: FxHashMap<(&'a str, &'a str), CreatedBy>,
    /// The locations of the current goroutine.
    stack: Vec<usize>,
    /// Most frames a goroutine may have (`--max-stack-depth`).
    max_depth: usize,
    /// States and creators, one copy each: tens of thousands of goroutines share a few.
    strings: FxHashMap<&'a str, Arc<str>>,
}

/// The `debug=2` format, parsed in pieces cut at goroutine boundaries ([`stream`]).
pub(super) struct Debug2 {
    /// Most frames a goroutine may have (`--max-stack-depth`).
    pub(super) max_depth: usize,
}

/// The pieces appended so far: the first piece, grown by the others.
pub(super) struct Whole {
    first: Piece,
    /// The goroutines of the pieces after the first, their samples already the whole's:
    /// all goroutines are put together once, rather than moving the ones before at every
    /// piece.
    later_goroutines: Vec<Vec<GoroutineInfo>>,
}

impl PieceFormat for Debug2 {
    type Piece = Piece;
    type Whole = Whole;
    const FORMAT: DumpFormat = DumpFormat::Debug2;
    /// A blank line, then the header of the next goroutine.
    const BOUNDARY: &'static [u8] = b"\n\ngoroutine ";

    fn parse_piece(
        &self,
        _index: usize,
        lines: Lines<'_>,
        entries: usize,
    ) -> Result<Piece, DumpError> {
        parse_piece(lines, self.max_depth, entries)
    }

    fn append(whole: &mut Option<Whole>, piece: Piece) -> Result<(), DumpError> {
        match whole {
            Some(whole) => {
                let goroutines = whole.first.append(piece)?;
                whole.later_goroutines.push(goroutines);
            }
            None => {
                *whole = Some(Whole {
                    first: piece,
                    later_goroutines: Vec::new(),
                });
            }
        }
        Ok(())
    }

    fn finish(whole: Option<Whole>) -> Result<GoroutineDump, DumpError> {
        let Whole {
            first,
            later_goroutines,
        } = whole.unwrap_or_else(|| Whole {
            first: Piece::new(),
            later_goroutines: Vec::new(),
        });
        let mut goroutines = first.goroutines;
        goroutines.reserve_exact(later_goroutines.iter().map(Vec::len).sum());
        for later in later_goroutines {
            goroutines.extend(later);
        }
        Ok(GoroutineDump {
            format: DumpFormat::Debug2,
            header_total: None,
            profile: first.builder.finish(),
            goroutines,
            skipped_lines: first.skipped_lines,
        })
    }
}

/// One piece of a dump, parsed, before its builder is finished; `goroutines` is how many
/// headers it holds, as counted while it was read (0 when not counted).
fn parse_piece(
    mut lines: Lines<'_>,
    max_depth: usize,
    goroutines: usize,
) -> Result<Piece, DumpError> {
    let mut piece = Piece::new();
    // The count misses the first goroutine of a piece (its header has no `\n` before it).
    piece.goroutines.reserve_exact(goroutines + 1);
    let mut parser = Parser {
        piece,
        frames: FxHashMap::default(),
        printed_frames: FxHashMap::default(),
        printed_creators: FxHashMap::default(),
        stack: Vec::new(),
        max_depth,
        strings: FxHashMap::default(),
    };
    let mut current: Option<Current> = None;
    let mut pending: Option<Pending> = None;

    for (number, line) in lines.by_ref() {
        if let Some(waiting) = pending.take() {
            if let Some(printed) = line.strip_prefix('\t')
                && let Some(current) = current.as_mut()
                && parser.complete(waiting, current, printed)
            {
                continue;
            }
            // A name line without its file line: drop it and read this line afresh.
            parser.piece.skipped_lines += 1;
        }
        if is_blank(line) {
            if let Some(done) = current.take() {
                parser.finish(done)?;
            }
            continue;
        }
        if let Some((id, inner, suffix)) = parse_header(line) {
            if let Some(done) = current.take() {
                parser.finish(done)?;
            }
            let mut info = new_info(id, inner, number, |state| parser.shared(state));
            add_suffix(&mut info, suffix);
            current = Some(Current {
                info,
                header: line,
                section: Section::Stack,
            });
            continue;
        }
        let Some(current) = current.as_mut() else {
            return Err(DumpError::Unexpected {
                line: number,
                expected: "\"goroutine N [state]:\"",
                found: excerpt(line),
            });
        };
        pending = parser.body_line(current, number, line);
    }

    lines.check()?;
    if let Some(waiting) = pending {
        let (line, text) = match waiting {
            Pending::Frame { line, text, .. } | Pending::CreatedBy { line, text, .. } => {
                (line, text)
            }
        };
        return Err(DumpError::FrameCutOff {
            line,
            frame: excerpt(text),
        });
    }
    if let Some(done) = current {
        let info = &done.info;
        if parser.stack.is_empty() && !info.stack_unavailable && info.created_by.is_none() {
            return Err(DumpError::GoroutineCutOff {
                line: info.line as usize,
                header: excerpt(done.header),
            });
        }
        parser.finish(done)?;
    }
    Ok(parser.piece)
}

impl Piece {
    fn new() -> Self {
        Piece {
            builder: new_builder(),
            stacks: StackIndex::default(),
            goroutines: Vec::new(),
            skipped_lines: 0,
        }
    }

    /// Adds the frames and stacks of the next piece of the dump, in their order of
    /// appearance, as if this piece's parser had read on. Returns the next piece's goroutines,
    /// their samples now this piece's: the caller puts all goroutines together once, rather
    /// than moving the ones before at every piece.
    fn append(&mut self, next: Piece) -> Result<Vec<GoroutineInfo>, DumpError> {
        let next_profile = next.builder.finish();
        let location_of = super::add_locations_of(&mut self.builder, &next_profile);
        let mut stack = Vec::new();
        let sample_of = next_profile
            .samples()
            .map(|sample| {
                stack.clear();
                stack.extend(sample.locations().map(|l| location_of[l]));
                self.add_stack(&stack, sample.value(0))
            })
            .collect::<Result<Vec<usize>, DumpError>>()?;
        let mut goroutines = next.goroutines;
        for info in &mut goroutines {
            info.sample = sample_of[info.sample];
        }
        self.skipped_lines += next.skipped_lines;
        Ok(goroutines)
    }

    /// Counts `count` goroutines with `stack`: adds to the sample of the same stack, else
    /// makes one. Returns the sample.
    fn add_stack(&mut self, stack: &[usize], count: i64) -> Result<usize, DumpError> {
        let hash = rustc_hash::FxBuildHasher.hash_one(stack);
        let profile = self.builder.profile_mut();
        if let Some(sample) = self.stacks.find(hash, stack, profile) {
            profile.samples.add_to_value(sample, 0, count);
            return Ok(sample);
        }
        let sample = profile.samples.len();
        self.builder
            .sample(stack, &[count], Labels::default())
            .map_err(|_| DumpError::stacks_full())?;
        self.stacks.add(hash, sample)?;
        Ok(sample)
    }
}

/// Stack → sample, without a second copy of every stack (a `Vec` key per stack took more
/// than the stacks themselves): the entries are the samples, in the order they are made, and
/// their stacks are compared where the profile being built keeps them.
#[derive(Default)]
struct StackIndex {
    chains: HashChains,
}

impl StackIndex {
    /// The sample of `profile` whose stack is `stack` (of hash `hash`).
    fn find(&self, hash: u64, stack: &[usize], profile: &Profile) -> Option<usize> {
        self.chains.find(hash, |sample| {
            profile.sample(sample).locations().eq(stack.iter().copied())
        })
    }

    /// Records `sample`, the next one made, with the hash of its stack.
    fn add(&mut self, hash: u64, sample: usize) -> Result<(), DumpError> {
        let entry = self.chains.add(hash).ok_or_else(DumpError::stacks_full)?;
        debug_assert_eq!(entry, sample);
        Ok(())
    }
}

impl<'a> Parser<'a> {
    /// The one copy of `text` that this piece's goroutines share.
    fn shared(&mut self, text: &'a str) -> Arc<str> {
        Arc::clone(self.strings.entry(text).or_insert_with(|| Arc::from(text)))
    }

    /// The location of a frame, created on first sight.
    fn frame_location(&mut self, name: &'a str, file: &'a str, line: i64) -> usize {
        if let Some(&location) = self.frames.get(&(name, file, line)) {
            return location;
        }
        let builder = &mut self.piece.builder;
        let function = builder.function(name, file);
        let location = builder.location(
            0,
            &[Line {
                function,
                line,
                column: 0,
            }],
        );
        self.frames.insert((name, file, line), location);
        location
    }

    /// A line inside a goroutine's block other than a header or a blank line. Returns what
    /// now waits for its file line.
    fn body_line(
        &mut self,
        current: &mut Current<'a>,
        number: usize,
        line: &'a str,
    ) -> Option<Pending<'a>> {
        if current.section == Section::Ancestors {
            self.piece.skipped_lines += 1;
            return None;
        }
        if let Some(rest) = line.strip_prefix("created by ") {
            if current.section != Section::Stack {
                self.piece.skipped_lines += 1;
                return None;
            }
            current.section = Section::AfterCreatedBy;
            // `F in goroutine 7`: the function, and the number after the last space.
            let parent = rsplit_once_byte(rest, b' ').and_then(|(before, number)| {
                let function = before.strip_suffix(" in goroutine")?;
                Some((function, parse_decimal(number)?))
            });
            let (function, parent) = match parent {
                Some((function, parent)) => (function, Some(parent)),
                None => (rest, None),
            };
            return Some(Pending::CreatedBy {
                line: number,
                text: line,
                function,
                parent,
            });
        }
        if line.starts_with("[originating from goroutine ") {
            current.section = Section::Ancestors;
            self.piece.skipped_lines += 1;
            return None;
        }
        if let Some(message) = line.strip_prefix('\t') {
            if message == "goroutine running on other thread; stack unavailable" {
                current.info.stack_unavailable = true;
            } else {
                self.piece.skipped_lines += 1;
            }
            return None;
        }
        // `...additional frames elided...` (Go < 1.21) or `...N frames elided...`.
        if line.starts_with("...") && line.ends_with("...") && line.contains("elided") {
            current.info.frames_elided = true;
            return None;
        }
        if current.section == Section::Stack
            && let Some(name) = frame_name(line)
        {
            return Some(Pending::Frame {
                line: number,
                text: line,
                name,
            });
        }
        self.piece.skipped_lines += 1;
        None
    }

    /// A name line and the text after the tab of its file line, together; false when that
    /// text is no `file:line`. A name and file line printed before are looked up whole,
    /// without taking the file line apart.
    fn complete(
        &mut self,
        pending: Pending<'a>,
        current: &mut Current<'a>,
        printed: &'a str,
    ) -> bool {
        match pending {
            Pending::Frame { name, .. } => {
                let location = match self.printed_frames.get(&(name, printed)) {
                    Some(&location) => location,
                    None => {
                        let Some((file, line)) = parse_file_line(printed) else {
                            return false;
                        };
                        let location = self.frame_location(name, file, line);
                        self.printed_frames.insert((name, printed), location);
                        location
                    }
                };
                self.stack.push(location);
            }
            Pending::CreatedBy {
                function, parent, ..
            } => {
                let mut creator = match self.printed_creators.get(&(function, printed)) {
                    Some(creator) => creator.clone(),
                    None => {
                        let Some((file, line)) = parse_file_line(printed) else {
                            return false;
                        };
                        let creator = CreatedBy {
                            function: self.shared(function),
                            file: self.shared(file),
                            line,
                            parent_goroutine: None,
                        };
                        self.printed_creators
                            .insert((function, printed), creator.clone());
                        creator
                    }
                };
                creator.parent_goroutine = parent;
                current.info.created_by = Some(creator);
            }
        }
        true
    }

    /// Ends a goroutine: its stack becomes a sample, or adds one to the identical one.
    fn finish(&mut self, current: Current<'a>) -> Result<(), DumpError> {
        if self.stack.len() > self.max_depth {
            return Err(DumpError::Limit {
                what: format!(
                    "line {}: the stack of goroutine {} ({} frames)",
                    current.info.line,
                    current.info.id,
                    self.stack.len()
                ),
                limit: self.max_depth as u64,
                flag: "--max-stack-depth",
            });
        }
        let mut info = current.info;
        info.sample = self.piece.add_stack(&self.stack, 1)?;
        self.stack.clear();
        self.piece.goroutines.push(info);
        Ok(())
    }
}

/// The goroutine of a header, before its stack is read.
fn new_info<'a>(
    id: u64,
    inner: &'a str,
    line: usize,
    shared: impl FnOnce(&'a str) -> Arc<str>,
) -> GoroutineInfo {
    let mut items = bracket_items(inner);
    let first = items.next().unwrap_or_default();
    // Go ≥ 1.26 marks a goroutine that the leak detector proved unreachable: `chan send
    // (leaked)`. The state is the wait reason without the mark.
    let (first, leaked) = match first.strip_suffix(" (leaked)") {
        Some(state) => (state, true),
        None => (first, false),
    };
    let state = shared(first);
    let mut info = GoroutineInfo {
        id,
        state,
        leaked,
        labels: Box::default(),
        wait_minutes: None,
        locked_to_thread: false,
        annotations: Box::default(),
        sample: 0,
        created_by: None,
        frames_elided: false,
        stack_unavailable: false,
        // A dump of 2^32 lines is far past the memory budget; the line is only shown.
        line: u32::try_from(line).unwrap_or(u32::MAX),
    };
    let mut annotations = Vec::new();
    for item in items {
        if item == "locked to thread" {
            info.locked_to_thread = true;
        } else if let Some(minutes) = parse_minutes(item) {
            info.wait_minutes = Some(u32::try_from(minutes).unwrap_or(u32::MAX));
        } else {
            annotations.push(item.to_string());
        }
    }
    info.annotations = annotations.into_boxed_slice();
    info
}

/// What follows a header's brackets: Go 1.27's goroutine labels `{key: value, …}`, or text a
/// later runtime adds, kept as an annotation rather than failing the dump.
fn add_suffix(info: &mut GoroutineInfo, suffix: &str) {
    if suffix.is_empty() {
        return;
    }
    match parse_traceback_labels(suffix) {
        Some(labels) => info.labels = labels.into_boxed_slice(),
        None => {
            let mut annotations = std::mem::take(&mut info.annotations).into_vec();
            annotations.push(suffix.to_string());
            info.annotations = annotations.into_boxed_slice();
        }
    }
}

/// `{role: encoder, "tenant id": "a, b"}`: the runtime prints a key or value as it is when it
/// holds only letters, digits, `.`, `/` and `_`, else Go-quoted, so `}` and `, ` may stand
/// inside a quoted one. `None` when the text is not in that form.
fn parse_traceback_labels(text: &str) -> Option<Vec<(String, String)>> {
    let mut rest = text.strip_prefix('{')?;
    let mut pairs = Vec::new();
    if rest == "}" {
        return Some(pairs);
    }
    loop {
        let (key, after) = label_token(rest)?;
        let after = after.strip_prefix(": ")?;
        let (value, after) = label_token(after)?;
        pairs.push((key, value));
        if let Some(after) = after.strip_prefix(", ") {
            rest = after;
        } else {
            return (after == "}").then_some(pairs);
        }
    }
}

/// One key or value of the traceback labels: Go-quoted, or a run of the characters the
/// runtime leaves unquoted (possibly empty).
fn label_token(text: &str) -> Option<(String, &str)> {
    if text.starts_with('"') {
        return super::labels::unquote(text);
    }
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '/' || c == '_'))
        .unwrap_or(text.len());
    Some((text[..end].to_string(), &text[end..]))
}

/// The items of a header's brackets: `str::split(", ")`, without building a substring searcher
/// for every goroutine.
fn bracket_items(inner: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(inner);
    std::iter::from_fn(move || {
        let text = rest?;
        let bytes = text.as_bytes();
        let mut from = 0;
        while let Some(at) = memchr::memchr(b',', &bytes[from..]).map(|i| from + i) {
            if bytes.get(at + 1) == Some(&b' ') {
                rest = Some(&text[at + 2..]);
                return Some(&text[..at]);
            }
            from = at + 1;
        }
        rest = None;
        Some(text)
    })
}

/// `5 minutes` → 5. The runtime always writes `minutes`; `1 minute` is accepted too.
fn parse_minutes(item: &str) -> Option<u64> {
    let (number, unit) = item.split_once(' ')?;
    if unit != "minutes" && unit != "minute" {
        return None;
    }
    parse_decimal(number)
}

/// `pkg.(*T).F[...](0xc000010000, {0x1, 0x2}, ...)` → `pkg.(*T).F[...]`. Arguments never
/// hold parentheses, so they start at the last `(`; receivers like `(*T)` come before it.
fn frame_name(line: &str) -> Option<&str> {
    if !line.ends_with(')') {
        return None;
    }
    let open = memchr::memrchr(b'(', line.as_bytes())?;
    let name = &line[..open];
    if name.is_empty() || name.starts_with(char::is_whitespace) {
        return None;
    }
    Some(name)
}

/// The text after the tab of a file line: `/path/file.go:42 +0x1d`, possibly with
/// `fp=0x… sp=0x… pc=0x…` (GOTRACEBACK=system) and without `+0x…` (inlined frames).
/// Paths may hold spaces, so the known trailing fields are removed from the end.
fn parse_file_line(text: &str) -> Option<(&str, i64)> {
    let mut text = text.trim_end();
    while let Some((before, last)) = rsplit_once_byte(text, b' ') {
        let known = last.starts_with("+0x")
            || last.starts_with("fp=")
            || last.starts_with("sp=")
            || last.starts_with("pc=");
        if !known {
            break;
        }
        text = before;
    }
    split_file_line(text)
}

#[cfg(test)]
mod tests {
    use super::super::{StreamError, stream};
    use super::*;
    use crate::profile::limits::MemoryBudget;

    const FIRST_STREAM_PIECE: usize = stream::FIRST_STREAM_PIECE;

    fn parse_in_pieces(
        text: &str,
        max_line: usize,
        max_depth: usize,
        pieces: usize,
    ) -> Result<GoroutineDump, DumpError> {
        stream::parse_in_pieces(&Debug2 { max_depth }, text, max_line, pieces)
    }

    fn split_at_goroutines(text: &str, pieces: usize) -> Vec<(usize, &str)> {
        stream::split(text, Debug2::BOUNDARY, pieces)
    }

    fn parse_stream_from(
        text: Vec<u8>,
        rest: impl std::io::Read,
        max_line: usize,
        max_depth: usize,
        first_piece: usize,
        budget: &MemoryBudget,
    ) -> Result<GoroutineDump, StreamError> {
        stream::parse_stream(
            &Debug2 { max_depth },
            text,
            rest,
            max_line,
            first_piece,
            budget,
        )
    }

    /// The committed `debug=2` dumps, decompressed.
    fn committed_dumps() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut paths: Vec<std::path::PathBuf> = ["goroutine", "profiles"]
            .iter()
            .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap())
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.to_string_lossy().contains("debug2"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|path| {
                let data = std::fs::read(&path).unwrap();
                let options = crate::profile::DecodeOptions::default();
                let text = crate::profile::decompress(&data, &options).unwrap();
                let text = String::from_utf8(text.into_owned()).unwrap();
                (path.display().to_string(), text)
            })
            .collect()
    }

    fn largest_committed_dump() -> String {
        committed_dumps()
            .into_iter()
            .map(|(_, text)| text)
            .max_by_key(String::len)
            .unwrap()
    }

    /// `text` with the goroutine header at byte `at` broken: `goroutine x…`.
    fn with_broken_header(text: &str, at: usize) -> String {
        format!(
            "{}goroutine x{}",
            &text[..at],
            &text[at + "goroutine".len()..]
        )
    }

    /// `text` with a line one byte longer than its longest inserted at byte `at`, and the
    /// longest line's length: the limit that line is over.
    fn with_long_line(text: &str, at: usize) -> (String, usize) {
        let longest = text.lines().map(str::len).max().unwrap();
        let long = format!(
            "{}\t{}\n{}",
            &text[..at],
            "x".repeat(longest + 1),
            &text[at..]
        );
        (long, longest)
    }

    #[test]
    fn a_dump_parsed_in_pieces_is_the_dump_parsed_in_one_pass() {
        let dumps = committed_dumps();
        assert!(dumps.len() >= 3, "{}", dumps.len());
        let mut split_somewhere = false;
        for (path, text) in &dumps {
            let whole = parse_in_pieces(text, usize::MAX, usize::MAX, 1).unwrap();
            for pieces in [2, 3, 8] {
                split_somewhere |= split_at_goroutines(text, pieces).len() == pieces;
                let parsed = parse_in_pieces(text, usize::MAX, usize::MAX, pieces).unwrap();
                assert_eq!(parsed, whole, "{path} in {pieces} pieces");
            }
        }
        assert!(split_somewhere, "no dump was cut into pieces");
    }

    #[test]
    fn an_error_in_a_later_piece_names_its_line_in_the_whole_dump() {
        let text = largest_committed_dump();
        let pieces = split_at_goroutines(&text, 3);
        assert_eq!(pieces.len(), 3);
        // A broken header at the start of the last piece, and one too-long line in it.
        let (lines_before, last) = pieces[2];
        let at = text.len() - last.len();
        let broken = with_broken_header(&text, at);
        // The error of three pieces is the one pass's, and names the line in the whole dump.
        let same_error_at_line = |text: &str, max_line: usize| {
            let one_pass = parse_in_pieces(text, max_line, usize::MAX, 1).unwrap_err();
            assert_eq!(
                parse_in_pieces(text, max_line, usize::MAX, 3).unwrap_err(),
                one_pass
            );
            assert!(
                one_pass
                    .to_string()
                    .contains(&format!("line {}", lines_before + 1)),
                "{one_pass}"
            );
        };
        same_error_at_line(&broken, usize::MAX);
        let (long, longest) = with_long_line(&text, at);
        same_error_at_line(&long, longest);
    }

    /// The dump streamed in pieces from `first_piece` bytes on, its first 100 bytes given as
    /// already read.
    fn streamed(
        text: &str,
        max_line: usize,
        first_piece: usize,
    ) -> Result<GoroutineDump, StreamError> {
        let (start, rest) = text.as_bytes().split_at(100.min(text.len()));
        let budget = MemoryBudget::with_limit(None);
        parse_stream_from(
            start.to_vec(),
            rest,
            max_line,
            usize::MAX,
            first_piece,
            &budget,
        )
    }

    fn dump_error(result: Result<GoroutineDump, StreamError>) -> DumpError {
        match result {
            Err(StreamError::Dump(e)) => e,
            other => panic!("expected a dump error, got {other:?}"),
        }
    }

    #[test]
    fn a_dump_parsed_while_read_is_the_dump_parsed_in_one_pass() {
        for (path, text) in committed_dumps() {
            let whole = parse_in_pieces(&text, usize::MAX, usize::MAX, 1).unwrap();
            for first_piece in [1 << 10, 5 << 10, 64 << 10, FIRST_STREAM_PIECE] {
                let parsed = streamed(&text, usize::MAX, first_piece).unwrap();
                assert_eq!(parsed, whole, "{path} from {first_piece} bytes on");
            }
        }
    }

    #[test]
    fn a_dump_read_in_pieces_fails_as_one_pass_does() {
        let text = largest_committed_dump();
        let one_pass = |text: &str, max_line: usize| {
            parse_in_pieces(text, max_line, usize::MAX, 1).unwrap_err()
        };
        // A broken header far into the dump, in a later piece.
        let at = text[text.len() / 2..].find("\n\ngoroutine ").unwrap() + text.len() / 2 + 2;
        let broken = with_broken_header(&text, at);
        let error = dump_error(streamed(&broken, usize::MAX, 1 << 10));
        assert_eq!(error, one_pass(&broken, usize::MAX));
        assert!(matches!(error, DumpError::Unexpected { .. }), "{error}");
        // A line over the limit there.
        let (long, longest) = with_long_line(&text, at);
        assert_eq!(
            dump_error(streamed(&long, longest, 1 << 10)),
            one_pass(&long, longest)
        );
        // A last line cut off, after the broken header: the cut is named first, as when the
        // whole dump is read before it is parsed.
        let cut = format!("{}main.f(", broken.trim_end());
        let error = dump_error(streamed(&cut, usize::MAX, 1 << 10));
        assert_eq!(
            Err(error.clone()),
            crate::dump::parse(cut.as_bytes()).map(|_| ())
        );
        assert!(matches!(error, DumpError::MidLine { .. }), "{error}");
        // The same dumps in one first piece, parsed on the reading thread: the same errors.
        let whole_first_piece = text.len() * 2;
        assert_eq!(
            dump_error(streamed(&broken, usize::MAX, whole_first_piece)),
            one_pass(&broken, usize::MAX)
        );
        assert_eq!(
            dump_error(streamed(&long, longest, whole_first_piece)),
            one_pass(&long, longest)
        );
        assert_eq!(
            dump_error(streamed(&cut, usize::MAX, whole_first_piece)),
            error
        );
    }

    #[test]
    fn a_read_error_in_a_streamed_dump_is_reported_as_one() {
        struct FailsAfter<'a>(&'a [u8]);
        impl std::io::Read for FailsAfter<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() {
                    return Err(std::io::Error::other("disk on fire"));
                }
                let n = buf.len().min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let (_, text) = committed_dumps().into_iter().next().unwrap();
        // Failing in a later piece, and within the first (read before any parser starts).
        for first_piece in [1 << 10, text.len() * 2] {
            let result = parse_stream_from(
                Vec::new(),
                FailsAfter(&text.as_bytes()[..text.len() / 2]),
                usize::MAX,
                usize::MAX,
                first_piece,
                &MemoryBudget::with_limit(None),
            );
            match result {
                Err(StreamError::Read(e)) => assert_eq!(e.to_string(), "disk on fire"),
                other => panic!("expected a read error from {first_piece}, got {other:?}"),
            }
        }
    }

    #[test]
    fn stacks_of_one_hash_are_told_apart() {
        let mut builder = new_builder();
        let mut index = StackIndex::default();
        let stacks: [&[usize]; 3] = [&[1, 2], &[2, 1], &[1, 2, 3]];
        for (sample, stack) in stacks.iter().enumerate() {
            builder.sample(stack, &[1], Labels::default()).unwrap();
            index.add(7, sample).unwrap();
        }
        let profile = builder.finish();
        for (sample, stack) in stacks.iter().enumerate() {
            assert_eq!(index.find(7, stack, &profile), Some(sample));
        }
        assert_eq!(index.find(7, &[3], &profile), None);
        assert_eq!(index.find(8, &[1, 2], &profile), None);
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("goroutine 1 [running]:"),
            Some((1, "running", ""))
        );
        assert_eq!(
            parse_header("goroutine 5 gp=0xc000007340 m=nil [select]:"),
            Some((5, "select", ""))
        );
        assert_eq!(
            parse_header("goroutine 9 gp=0xc0001 m=3 mp=0xc0002 [IO wait, 2 minutes]:"),
            Some((9, "IO wait, 2 minutes", ""))
        );
        assert_eq!(parse_header("goroutine 1 [running]"), None);
        assert_eq!(parse_header("goroutine x [running]:"), None);
        assert_eq!(parse_header("goroutine 1 running [x]:"), None);
        assert_eq!(parse_header("goroutine profile: total 3"), None);
    }

    #[test]
    fn go_1_27_headers_labels_leaks_and_unknown_suffixes() {
        assert_eq!(
            parse_header("goroutine 309 [runnable] {role: encoder, worker: 0}:"),
            Some((309, "runnable", "{role: encoder, worker: 0}"))
        );
        let mut info = new_info(309, "chan send (leaked), 5 minutes", 1, Arc::from);
        add_suffix(
            &mut info,
            r#"{role: encoder, "tenant id": "a, b}", path: /v1/x}"#,
        );
        assert_eq!(&*info.state, "chan send");
        assert!(info.leaked);
        assert_eq!(info.wait_minutes, Some(5));
        assert_eq!(
            *info.labels,
            [
                ("role".to_string(), "encoder".to_string()),
                ("tenant id".to_string(), "a, b}".to_string()),
                ("path".to_string(), "/v1/x".to_string()),
            ]
        );
        // A wait reason with parentheses of its own is not a leak.
        let info = new_info(2, "select (no cases)", 1, Arc::from);
        assert_eq!(&*info.state, "select (no cases)");
        assert!(!info.leaked);
        // What a later runtime might add after the brackets is kept, not a failed dump.
        let mut info = new_info(4, "running", 1, Arc::from);
        add_suffix(&mut info, "<something new>");
        assert_eq!(*info.annotations, ["<something new>"]);
        assert!(info.labels.is_empty());
        let dump = crate::dump::parse(
            b"goroutine 7 [chan send (leaked)] {job: \"x y\"}:\nmain.f()\n\t/a.go:1 +0x1\n\
              created by main.main in goroutine 1\n\t/a.go:2 +0x2\n",
        )
        .unwrap();
        assert_eq!(dump.goroutines.len(), 1);
        assert!(dump.goroutines[0].leaked);
        assert_eq!(
            *dump.goroutines[0].labels,
            [("job".to_string(), "x y".to_string())]
        );
    }

    #[test]
    fn header_items() {
        let info = new_info(3, "semacquire, 112 minutes, locked to thread", 1, Arc::from);
        assert_eq!(&*info.state, "semacquire");
        assert_eq!(info.wait_minutes, Some(112));
        assert!(info.locked_to_thread);
        let info = new_info(
            3,
            "chan receive (durable), synctest bubble 1, 1 minute",
            1,
            Arc::from,
        );
        assert_eq!(&*info.state, "chan receive (durable)");
        assert_eq!(info.wait_minutes, Some(1));
        assert_eq!(*info.annotations, vec!["synctest bubble 1"]);
    }

    #[test]
    fn bracket_items_split_as_str_split_does() {
        for inner in [
            "running",
            "chan receive, 5 minutes, locked to thread",
            "a,b, c",
            "a, ,b",
            "trailing, ",
            ", leading",
            "",
            "x,, y",
        ] {
            let ours: Vec<&str> = bracket_items(inner).collect();
            let std: Vec<&str> = inner.split(", ").collect();
            assert_eq!(ours, std, "{inner:?}");
        }
    }

    #[test]
    fn created_by_parents() {
        let parse = |line: &str| {
            let text =
                format!("goroutine 9 [select]:\nmain.f()\n\tm.go:1\n{line}\n\tm.go:2 +0x1\n\n");
            let dump = crate::dump::parse(text.as_bytes()).unwrap();
            let created = dump.goroutines[0].created_by.clone().unwrap();
            (created.function, created.parent_goroutine)
        };
        assert_eq!(
            parse("created by main.g in goroutine 12"),
            ("main.g".into(), Some(12))
        );
        assert_eq!(parse("created by main.g"), ("main.g".into(), None));
        assert_eq!(
            parse("created by main.g in goroutine 1 2"),
            ("main.g in goroutine 1 2".into(), None)
        );
        assert_eq!(
            parse("created by main.g in goroutine "),
            ("main.g in goroutine ".into(), None)
        );
    }

    #[test]
    fn frame_names() {
        assert_eq!(frame_name("main.main()"), Some("main.main"));
        assert_eq!(
            frame_name("net/http.(*Server).Serve(0xc000132000, {0x7f1, 0xc0001})"),
            Some("net/http.(*Server).Serve")
        );
        assert_eq!(frame_name("main.F[...](...)"), Some("main.F[...]"));
        assert_eq!(frame_name("main.f(0x1?, 0x2?, ...)"), Some("main.f"));
        assert_eq!(frame_name("(...)"), None);
        assert_eq!(frame_name("runtime: unexpected return pc"), None);
    }

    #[test]
    fn file_lines() {
        assert_eq!(
            parse_file_line("/home/u/x/main.go:42 +0x1d"),
            Some(("/home/u/x/main.go", 42))
        );
        assert_eq!(
            parse_file_line("/usr/lib/go/src/sync/mutex.go:90"),
            Some(("/usr/lib/go/src/sync/mutex.go", 90))
        );
        assert_eq!(
            parse_file_line(
                "/my dir/proc.go:398 +0xce fp=0xc00004e7a8 sp=0xc00004e788 pc=0x43b9ae"
            ),
            Some(("/my dir/proc.go", 398))
        );
        assert_eq!(parse_file_line("goroutine running on other thread"), None);
    }
}
