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

use rustc_hash::FxHashMap;

use super::{
    CreatedBy, DumpError, DumpFormat, GoroutineDump, GoroutineInfo, Lines, excerpt, is_blank,
    new_builder, parse_decimal, split_file_line,
};
use crate::profile::model::{Labels, Line, ProfileBuilder};

/// `goroutine 7 [select, 2 minutes]:` (also with Go ≥ 1.23's `gp=0x… m=… mp=0x…` fields
/// before the bracket) → the id and the text inside the brackets.
pub(super) fn parse_header(line: &str) -> Option<(u64, &str)> {
    let rest = line.strip_prefix("goroutine ")?;
    let id_end = rest.find(' ')?;
    let id = parse_decimal(&rest[..id_end])?;
    let rest = &rest[id_end..];
    let open = rest.find('[')?;
    // Only `key=value` fields may stand between the id and the bracket.
    if !rest[..open]
        .split_ascii_whitespace()
        .all(|field| field.contains('='))
    {
        return None;
    }
    let inner = rest[open + 1..].trim_end().strip_suffix("]:")?;
    Some((id, inner))
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

struct Parser<'a> {
    builder: ProfileBuilder,
    /// (function, file, line) → location, so that a frame seen before costs one lookup.
    frames: FxHashMap<(&'a str, &'a str, i64), usize>,
    /// Stack (locations, leaf first) → sample, to merge goroutines with identical stacks.
    stacks: FxHashMap<Vec<usize>, usize>,
    /// The locations of the current goroutine.
    stack: Vec<usize>,
    goroutines: Vec<GoroutineInfo>,
    skipped_lines: usize,
    /// Most frames a goroutine may have (`--max-stack-depth`).
    max_depth: usize,
}

/// Dumps at least this large are parsed in pieces, side by side (a production `debug=2`
/// dump of tens of thousands of goroutines is tens of MB).
const PIECE_BYTES: usize = 1 << 20;

/// Parses a whole `debug=2` dump. A large one is cut at goroutine boundaries into one piece
/// per core; each piece is parsed alone and the pieces are merged in order, which gives what
/// one pass over the whole text gives (the tests check it).
pub(super) fn parse(
    text: &str,
    max_line_bytes: usize,
    max_depth: usize,
) -> Result<GoroutineDump, DumpError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    parse_in_pieces(
        text,
        max_line_bytes,
        max_depth,
        cores.min(text.len() / PIECE_BYTES),
    )
}

fn parse_in_pieces(
    text: &str,
    max_line_bytes: usize,
    max_depth: usize,
    pieces: usize,
) -> Result<GoroutineDump, DumpError> {
    let pieces = split_at_goroutines(text, pieces);
    let parsed = crate::parallel::map(&pieces, |&(lines_before, piece)| {
        let lines = Lines::with_limit(piece, max_line_bytes).after_line(lines_before);
        parse_piece(lines, max_depth)
    });
    // The first error in the text's order is the one a single pass would have met.
    let mut parsed = parsed.into_iter();
    let mut whole = match parsed.next() {
        Some(first) => first?,
        None => parse_piece(Lines::with_limit(text, max_line_bytes), max_depth)?,
    };
    for piece in parsed {
        whole.append(piece?)?;
    }
    Ok(GoroutineDump {
        format: DumpFormat::Debug2,
        header_total: None,
        profile: whole.builder.finish(),
        goroutines: whole.goroutines,
        skipped_lines: whole.skipped_lines,
    })
}

/// Cuts `text` into at most `pieces` parts, each but the first starting at a goroutine header
/// right after a blank line (where a single pass holds no state), with the number of lines
/// before each part.
fn split_at_goroutines(text: &str, pieces: usize) -> Vec<(usize, &str)> {
    const BOUNDARY: &str = "\n\ngoroutine ";
    let mut parts = Vec::new();
    let (mut start, mut lines_before) = (0, 0);
    for k in 1..pieces.max(1) {
        let mut target = (text.len() / pieces * k).max(start);
        while !text.is_char_boundary(target) {
            target += 1;
        }
        let Some(found) = text[target..].find(BOUNDARY) else {
            break;
        };
        let end = target + found + 2;
        parts.push((lines_before, &text[start..end]));
        lines_before += text.as_bytes()[start..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        start = end;
    }
    parts.push((lines_before, &text[start..]));
    parts
}

/// One piece of a dump, parsed, before its builder is finished.
fn parse_piece(mut lines: Lines<'_>, max_depth: usize) -> Result<Parser<'_>, DumpError> {
    let mut parser = Parser {
        max_depth,
        builder: new_builder(),
        frames: FxHashMap::default(),
        stacks: FxHashMap::default(),
        stack: Vec::new(),
        goroutines: Vec::new(),
        skipped_lines: 0,
    };
    let mut current: Option<Current> = None;
    let mut pending: Option<Pending> = None;

    for (number, line) in lines.by_ref() {
        if let Some(waiting) = pending.take() {
            if let Some(file_line) = line.strip_prefix('\t')
                && let Some((file, line_number)) = parse_file_line(file_line)
                && let Some(current) = current.as_mut()
            {
                parser.complete(waiting, current, file, line_number);
                continue;
            }
            // A name line without its file line: drop it and read this line afresh.
            parser.skipped_lines += 1;
        }
        if is_blank(line) {
            if let Some(done) = current.take() {
                parser.finish(done)?;
            }
            continue;
        }
        if let Some((id, inner)) = parse_header(line) {
            if let Some(done) = current.take() {
                parser.finish(done)?;
            }
            current = Some(Current {
                info: new_info(id, inner, number),
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
                line: info.line,
                header: excerpt(done.header),
            });
        }
        parser.finish(done)?;
    }
    Ok(parser)
}

impl<'a> Parser<'a> {
    /// Adds the next piece of the dump: its frames, stacks and goroutines, in their order
    /// of appearance, as if this parser had read on.
    fn append(&mut self, next: Parser<'a>) -> Result<(), DumpError> {
        let mut frames: Vec<(&(&'a str, &'a str, i64), &usize)> = next.frames.iter().collect();
        frames.sort_unstable_by_key(|&(_, &location)| location);
        let mut location_of = vec![0; frames.len()];
        for (&(name, file, line), &location) in frames {
            location_of[location] = self.frame_location(name, file, line);
        }
        let mut stacks: Vec<(&Vec<usize>, &usize)> = next.stacks.iter().collect();
        stacks.sort_unstable_by_key(|&(_, &sample)| sample);
        let next_profile = next.builder.finish();
        let mut sample_of = vec![0; stacks.len()];
        for (stack, &sample) in stacks {
            self.stack.clear();
            self.stack.extend(stack.iter().map(|&l| location_of[l]));
            let count = next_profile.sample(sample).value(0);
            sample_of[sample] = self.add_stack(count)?;
        }
        self.stack.clear();
        self.goroutines
            .extend(next.goroutines.into_iter().map(|mut info| {
                info.sample = sample_of[info.sample];
                info
            }));
        self.skipped_lines += next.skipped_lines;
        Ok(())
    }

    /// The location of a frame, created on first sight.
    fn frame_location(&mut self, name: &'a str, file: &'a str, line: i64) -> usize {
        if let Some(&location) = self.frames.get(&(name, file, line)) {
            return location;
        }
        let function = self.builder.function(name, file);
        let location = self.builder.location(0, &[Line { function, line }]);
        self.frames.insert((name, file, line), location);
        location
    }

    /// Counts `count` goroutines with the stack in `self.stack`: adds to the sample of the
    /// same stack, else makes one. Returns the sample.
    fn add_stack(&mut self, count: i64) -> Result<usize, DumpError> {
        if let Some(&sample) = self.stacks.get(self.stack.as_slice()) {
            if let Some(value) = self
                .builder
                .profile_mut()
                .samples
                .values_mut(sample)
                .first_mut()
            {
                *value += count;
            }
            return Ok(sample);
        }
        let sample = self.builder.profile_mut().samples.len();
        self.builder
            .sample(&self.stack, &[count], Labels::default())
            .map_err(|_| DumpError::stacks_full())?;
        self.stacks.insert(self.stack.clone(), sample);
        Ok(sample)
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
            self.skipped_lines += 1;
            return None;
        }
        if let Some(rest) = line.strip_prefix("created by ") {
            if current.section != Section::Stack {
                self.skipped_lines += 1;
                return None;
            }
            current.section = Section::AfterCreatedBy;
            let (function, parent) = match rest.rsplit_once(" in goroutine ") {
                Some((function, parent)) => match parse_decimal(parent) {
                    Some(parent) => (function, Some(parent)),
                    None => (rest, None),
                },
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
            self.skipped_lines += 1;
            return None;
        }
        if let Some(message) = line.strip_prefix('\t') {
            if message == "goroutine running on other thread; stack unavailable" {
                current.info.stack_unavailable = true;
            } else {
                self.skipped_lines += 1;
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
        self.skipped_lines += 1;
        None
    }

    /// A name line and its file line, together.
    fn complete(
        &mut self,
        pending: Pending<'a>,
        current: &mut Current<'a>,
        file: &'a str,
        line: i64,
    ) {
        match pending {
            Pending::Frame { name, .. } => {
                let location = self.frame_location(name, file, line);
                self.stack.push(location);
            }
            Pending::CreatedBy {
                function, parent, ..
            } => {
                current.info.created_by = Some(CreatedBy {
                    function: function.to_string(),
                    file: file.to_string(),
                    line,
                    parent_goroutine: parent,
                });
            }
        }
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
        info.sample = self.add_stack(1)?;
        self.stack.clear();
        self.goroutines.push(info);
        Ok(())
    }
}

/// The goroutine of a header, before its stack is read.
fn new_info(id: u64, inner: &str, line: usize) -> GoroutineInfo {
    let mut items = inner.split(", ");
    let state = items.next().unwrap_or_default().to_string();
    let mut info = GoroutineInfo {
        id,
        state,
        wait_minutes: None,
        locked_to_thread: false,
        annotations: Vec::new(),
        sample: 0,
        created_by: None,
        frames_elided: false,
        stack_unavailable: false,
        line,
    };
    for item in items {
        if item == "locked to thread" {
            info.locked_to_thread = true;
        } else if let Some(minutes) = parse_minutes(item) {
            info.wait_minutes = Some(minutes);
        } else {
            info.annotations.push(item.to_string());
        }
    }
    info
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
    let open = line.rfind('(')?;
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
    while let Some((before, last)) = text.rsplit_once(' ') {
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
    use super::*;

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
        let (_, text) = committed_dumps()
            .into_iter()
            .max_by_key(|(_, text)| text.len())
            .unwrap();
        let pieces = split_at_goroutines(&text, 3);
        assert_eq!(pieces.len(), 3);
        // A broken header at the start of the last piece, and one too-long line in it.
        let (lines_before, last) = pieces[2];
        let at = text.len() - last.len();
        let broken = format!(
            "{}goroutine x{}",
            &text[..at],
            &text[at + "goroutine".len()..]
        );
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
        let longest = text.lines().map(str::len).max().unwrap();
        let long = format!(
            "{}\t{}\n{}",
            &text[..at],
            "x".repeat(longest + 1),
            &text[at..]
        );
        same_error_at_line(&long, longest);
    }

    #[test]
    fn headers() {
        assert_eq!(parse_header("goroutine 1 [running]:"), Some((1, "running")));
        assert_eq!(
            parse_header("goroutine 5 gp=0xc000007340 m=nil [select]:"),
            Some((5, "select"))
        );
        assert_eq!(
            parse_header("goroutine 9 gp=0xc0001 m=3 mp=0xc0002 [IO wait, 2 minutes]:"),
            Some((9, "IO wait, 2 minutes"))
        );
        assert_eq!(parse_header("goroutine 1 [running]"), None);
        assert_eq!(parse_header("goroutine x [running]:"), None);
        assert_eq!(parse_header("goroutine 1 running [x]:"), None);
        assert_eq!(parse_header("goroutine profile: total 3"), None);
    }

    #[test]
    fn header_items() {
        let info = new_info(3, "semacquire, 112 minutes, locked to thread", 1);
        assert_eq!(info.state, "semacquire");
        assert_eq!(info.wait_minutes, Some(112));
        assert!(info.locked_to_thread);
        let info = new_info(3, "chan receive (durable), synctest bubble 1, 1 minute", 1);
        assert_eq!(info.state, "chan receive (durable)");
        assert_eq!(info.wait_minutes, Some(1));
        assert_eq!(info.annotations, vec!["synctest bubble 1"]);
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
