//! The `debug=1` format, as runtime/pprof's `printCountProfile` writes it through a tabwriter:
//!
//! ```text
//! goroutine profile: total 3
//! 3 @ 0x4773ce 0x40fc65 0x40f812 0xc8fc85 0x47f1a1
//! # labels: {"svc":"storage"}
//! #    0xc8fc84    example.com/dev.(*Device).Routine+0x184    example.com/dev@v1.2.3/receive.go:244
//!
//! ```
//!
//! (Shown with spaces; the dump separates the fields of `#` lines with tabs.) The `@` line
//! lists every PC of the stack; the `#` lines are those PCs symbolized by
//! `runtime.CallersFrames` (address = PC - 1 for return addresses), without the leading
//! runtime frames and `runtime.goexit`. The tabwriter pads the columns with runs of tabs.

use rustc_hash::FxHashMap;

use super::stream::PieceFormat;
use super::{
    DumpError, DumpFormat, GoroutineDump, Lines, excerpt, is_blank, labels, new_builder,
    parse_decimal, parse_hex, split_file_line,
};
use crate::profile::model::{Labels, Line, ProfileBuilder};

const HEADER_PREFIX: &str = "goroutine profile: total ";

/// `goroutine profile: total N` → `N`.
pub(super) fn parse_header(line: &str) -> Option<u64> {
    parse_decimal(line.strip_prefix(HEADER_PREFIX)?.trim_end())
}

/// One `#` frame line: its address and, when symbolized, function, file and line.
#[derive(Debug, Clone, Copy)]
struct Frame<'a> {
    address: u64,
    symbol: Option<(&'a str, &'a str, i64)>,
}

/// The block being read. Its vectors are reused from block to block.
#[derive(Default)]
struct Block<'a> {
    line: usize,
    header: &'a str,
    count: i64,
    pcs: Vec<u64>,
    labels: Labels,
    frames: Vec<Frame<'a>>,
    /// Lines after the header other than labels, parsed or not: a block without any was cut.
    body_lines: usize,
}

/// The `debug=1` format, parsed in pieces cut at blank lines ([`stream`]): after the blank
/// line that ends a block, a single pass holds nothing but what it built.
pub(super) struct Debug1 {
    /// Most frames a block may have (`--max-stack-depth`).
    pub(super) max_depth: usize,
}

/// The `goroutine profile: total N` header of a dump: its line, as quoted in errors, and `N`.
pub(super) struct Header {
    line: usize,
    excerpt: String,
    total: u64,
}

/// What a piece of a dump adds up to (and, appended, the whole).
pub(super) struct Piece {
    /// The first piece's only.
    header: Option<Header>,
    builder: ProfileBuilder,
    blocks: usize,
    skipped_lines: usize,
}

impl PieceFormat for Debug1 {
    type Piece = Piece;
    type Whole = Piece;
    const FORMAT: DumpFormat = DumpFormat::Debug1;
    /// A blank line: every block ends with one.
    const BOUNDARY: &'static [u8] = b"\n\n";

    fn parse_piece(
        &self,
        index: usize,
        lines: Lines<'_>,
        _entries: usize,
    ) -> Result<Piece, DumpError> {
        parse_piece(index == 0, lines, self.max_depth)
    }

    fn append(whole: &mut Option<Piece>, piece: Piece) -> Result<(), DumpError> {
        match whole {
            Some(whole) => whole.append(piece),
            None => {
                *whole = Some(piece);
                Ok(())
            }
        }
    }

    fn finish(whole: Option<Piece>) -> Result<GoroutineDump, DumpError> {
        let Some(Piece {
            header: Some(header),
            builder,
            blocks,
            skipped_lines,
        }) = whole
        else {
            return Err(DumpError::Empty);
        };
        // Go always has at least the goroutine that wrote the dump, so a header without
        // blocks means the rest of the file is missing (unless the header itself says there
        // is nothing).
        if blocks == 0 && header.total != 0 {
            return Err(DumpError::NoBlocks {
                line: header.line,
                header: header.excerpt,
            });
        }
        Ok(GoroutineDump {
            format: DumpFormat::Debug1,
            header_total: Some(header.total),
            profile: builder.finish(),
            goroutines: Vec::new(),
            skipped_lines,
        })
    }
}

impl Piece {
    /// Adds the next piece's functions, locations and samples, in their order of appearance.
    fn append(&mut self, next: Piece) -> Result<(), DumpError> {
        let next_profile = next.builder.finish();
        let location_of = super::add_locations_of(&mut self.builder, &next_profile);
        let (mut stack, mut values) = (Vec::new(), Vec::new());
        for sample in next_profile.samples() {
            stack.clear();
            stack.extend(sample.locations().map(|l| location_of[l]));
            values.clear();
            values.extend(sample.values());
            let labels = sample.labels().clone();
            self.builder
                .sample(&stack, &values, labels)
                .map_err(|_| DumpError::stacks_full())?;
        }
        self.blocks += next.blocks;
        self.skipped_lines += next.skipped_lines;
        Ok(())
    }
}

/// Parses one piece of a dump; the first starts with the header.
fn parse_piece(first: bool, mut lines: Lines<'_>, max_depth: usize) -> Result<Piece, DumpError> {
    let header = if first {
        let found = lines.by_ref().find(|(_, line)| !is_blank(line));
        lines.check()?;
        let (line, header) = found.ok_or(DumpError::Empty)?;
        let total = parse_header(header).ok_or_else(|| DumpError::Unexpected {
            line,
            expected: "\"goroutine profile: total N\"",
            found: excerpt(header),
        })?;
        Some(Header {
            line,
            excerpt: excerpt(header),
            total,
        })
    } else {
        None
    };

    let mut builder = new_builder();
    let mut scratch = Scratch {
        max_depth,
        ..Scratch::default()
    };
    let mut block: Option<Block> = None;
    // The vectors of the last finished block, reused by the next one.
    let mut spare = Block::default();
    let mut header_pcs = Vec::new();
    let mut blocks = 0usize;
    let mut skipped_lines = 0usize;

    for (number, line) in lines.by_ref() {
        if is_blank(line) {
            if let Some(done) = block.take() {
                spare = finish(done, End::Blank, &mut builder, &mut scratch)?;
                blocks += 1;
            }
            continue;
        }
        if let Some(current) = block.as_mut() {
            if let Some(text) = line.strip_prefix("# labels:") {
                if !labels::parse_into(text, &mut current.labels) {
                    skipped_lines += 1;
                }
                continue;
            }
            if let Some(fields) = line.strip_prefix('#') {
                current.body_lines += 1;
                // Tens of thousands of blocks print the same few hundred frames: a line
                // printed before is looked up whole rather than split again.
                let frame = match scratch.printed_frames.get(fields) {
                    Some(&frame) => Some(frame),
                    None => parse_frame(fields).inspect(|&frame| {
                        scratch.printed_frames.insert(fields, frame);
                    }),
                };
                match frame {
                    Some(frame) => current.frames.push(frame),
                    None => skipped_lines += 1,
                }
                continue;
            }
        }
        // A block header: after a blank line, or (leniently) right after the previous block.
        let Some(count) = parse_block_header(line, &mut header_pcs) else {
            match block.as_mut() {
                Some(current) => {
                    current.body_lines += 1;
                    skipped_lines += 1;
                    continue;
                }
                None => {
                    return Err(DumpError::Unexpected {
                        line: number,
                        expected: "\"COUNT @ 0x...\"",
                        found: excerpt(line),
                    });
                }
            }
        };
        if let Some(done) = block.take() {
            spare = finish(done, End::Header, &mut builder, &mut scratch)?;
            blocks += 1;
        }
        let mut next = std::mem::take(&mut spare);
        std::mem::swap(&mut next.pcs, &mut header_pcs);
        next.line = number;
        next.header = line;
        next.count = count;
        block = Some(next);
    }
    lines.check()?;
    if let Some(done) = block.take() {
        finish(done, End::File, &mut builder, &mut scratch)?;
        blocks += 1;
    }
    Ok(Piece {
        header,
        builder,
        blocks,
        skipped_lines,
    })
}

/// `COUNT @ 0xPC 0xPC …` → the count, with the PCs in `pcs` (cleared first).
fn parse_block_header(line: &str, pcs: &mut Vec<u64>) -> Option<i64> {
    let space = super::find_byte(line, b' ')?;
    let (count, rest) = (&line[..space], &line[space + 1..]);
    let count = i64::try_from(parse_decimal(count)?).ok()?;
    let rest = rest.strip_prefix('@')?;
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    pcs.clear();
    for pc in rest.split_ascii_whitespace() {
        pcs.push(parse_hex(pc)?);
    }
    Some(count)
}

/// The part of a `#` line after `#`: `\t0xADDR\tfunc+0xOFF\t\t\tfile:line`, or `\t0xADDR`
/// alone for a PC the runtime could not symbolize. Function names may hold spaces (compiler
/// generated `type:.eq.struct { … }`), never tabs, so fields are split at runs of tabs.
fn parse_frame(fields: &str) -> Option<Frame<'_>> {
    if !fields.starts_with('\t') {
        return None;
    }
    let mut parts = tab_fields(fields);
    let address = parse_hex(parts.next()?)?;
    let Some(function) = parts.next() else {
        return Some(Frame {
            address,
            symbol: None,
        });
    };
    let (file, line) = split_file_line(parts.next()?)?;
    if parts.next().is_some() {
        return None;
    }
    // `func+0xOFF`: the offset of the PC in the function, not part of the name.
    let name = match rsplit_once_offset(function) {
        Some((name, offset))
            if !name.is_empty()
                && !offset.is_empty()
                && offset.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            name
        }
        _ => function,
    };
    Some(Frame {
        address,
        symbol: Some((name, file, line)),
    })
}

/// The non-empty fields of `text` between tabs: `split('\t')` without the empty ones, with
/// memchr's vectorised search (core's was a tenth of the parse).
fn tab_fields(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        while !rest.is_empty() {
            let end = memchr::memchr(b'\t', rest.as_bytes()).unwrap_or(rest.len());
            let field = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or_default();
            if !field.is_empty() {
                return Some(field);
            }
        }
        None
    })
}

/// `rsplit_once("+0x")`, without building a substring searcher for every frame.
fn rsplit_once_offset(function: &str) -> Option<(&str, &str)> {
    let bytes = function.as_bytes();
    let mut end = bytes.len();
    while let Some(at) = memchr::memrchr(b'+', &bytes[..end]) {
        if bytes[at..].starts_with(b"+0x") {
            return Some((&function[..at], &function[at + 3..]));
        }
        end = at;
    }
    None
}

/// Buffers reused across blocks, and what a piece's blocks have in common.
#[derive(Default)]
struct Scratch<'a> {
    locations: Vec<usize>,
    lines: Vec<Line>,
    max_depth: usize,
    /// `#` line (after the `#`) → its frame.
    printed_frames: FxHashMap<&'a str, Frame<'a>>,
    /// (name, file) → the builder's function, without the builder's owned keys.
    functions: FxHashMap<(&'a str, &'a str), usize>,
    /// (address, function, line) → the builder's location of that one line.
    one_line_locations: FxHashMap<(u64, usize, i64), usize>,
}

/// What ended a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The blank line Go writes after every block.
    Blank,
    /// The next block's header, with no blank line between (not what Go writes).
    Header,
    /// The end of the file, with no blank line: the dump may have been cut.
    File,
}

/// Turns a block into a sample and gives back its emptied vectors for the next block.
/// A block with no `#` lines is complete when a blank line closes it: Go prints none for a
/// goroutine whose stack is only `runtime.goexit` (created, not yet started); its sample
/// has an empty stack.
fn finish<'a>(
    mut block: Block<'a>,
    end: End,
    builder: &mut ProfileBuilder,
    scratch: &mut Scratch<'a>,
) -> Result<Block<'a>, DumpError> {
    if block.body_lines == 0 && end != End::Blank {
        let header = excerpt(block.header);
        return Err(if end == End::File {
            DumpError::BlockCutOff {
                line: block.line,
                header,
            }
        } else {
            DumpError::EmptyBlock {
                line: block.line,
                header,
            }
        });
    }
    scratch.locations.clear();
    let frames = &block.frames;
    let mut cursor = 0;
    let mut start = 0;
    while start < frames.len() {
        let address = frames[start].address;
        let run = frames[start..]
            .iter()
            .take_while(|f| f.address == address)
            .count();
        // Consecutive `#` lines with one address are either the inlined frames of one PC
        // (one location with several lines) or recursion (the same PC several times on the
        // `@` line, one location each), or both. The `@` line tells them apart: the number of
        // times the PC repeats there is the number of locations.
        let repeats = pc_repeats(&block.pcs, &mut cursor, address);
        let per_location = if repeats > 0 && run % repeats == 0 {
            run / repeats
        } else {
            run
        };
        for group in frames[start..start + run].chunks(per_location.max(1)) {
            scratch.lines.clear();
            for frame in group {
                if let Some((name, file, line)) = frame.symbol {
                    let function = *scratch
                        .functions
                        .entry((name, file))
                        .or_insert_with(|| builder.function(name, file));
                    scratch.lines.push(Line {
                        function,
                        line,
                        column: 0,
                    });
                }
            }
            let location = match scratch.lines.as_slice() {
                [one] => *scratch
                    .one_line_locations
                    .entry((address, one.function, one.line))
                    .or_insert_with(|| builder.location(address, &scratch.lines)),
                _ => builder.location(address, &scratch.lines),
            };
            scratch.locations.push(location);
        }
        start += run;
    }
    if scratch.locations.len() > scratch.max_depth {
        return Err(DumpError::Limit {
            what: format!(
                "line {}: the stack of this block ({} frames)",
                block.line,
                scratch.locations.len()
            ),
            limit: scratch.max_depth as u64,
            flag: "--max-stack-depth",
        });
    }
    let labels = std::mem::take(&mut block.labels);
    builder
        .sample(&scratch.locations, &[block.count], labels)
        .map_err(|_| DumpError::stacks_full())?;
    block.frames.clear();
    block.body_lines = 0;
    Ok(block)
}

/// How many times in a row the PC behind `address` appears on the `@` line, searching from
/// `cursor` and moving it past them; 0 when it is not there. The symbolized address is the
/// return address minus one, or the PC itself at a function entry.
fn pc_repeats(pcs: &[u64], cursor: &mut usize, address: u64) -> usize {
    let rest = pcs.get(*cursor..).unwrap_or_default();
    let Some(found) = rest
        .iter()
        .position(|&pc| pc == address || pc == address.wrapping_add(1))
    else {
        return 0;
    };
    let pc = rest[found];
    let repeats = rest[found..].iter().take_while(|&&p| p == pc).count();
    *cursor += found + repeats;
    repeats
}

#[cfg(test)]
mod tests {
    use super::super::{StreamError, stream};
    use super::*;
    use crate::profile::limits::MemoryBudget;

    /// The committed `debug=1` dumps.
    fn committed_dumps() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut paths: Vec<std::path::PathBuf> = ["goroutine", "profiles", "runtimes", "services"]
            .iter()
            .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap())
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .collect();
        paths.sort();
        paths
            .into_iter()
            .filter_map(|path| {
                let text = String::from_utf8(std::fs::read(&path).unwrap()).ok()?;
                text.starts_with(HEADER_PREFIX)
                    .then(|| (path.display().to_string(), text))
            })
            .collect()
    }

    fn in_pieces(text: &str, max_line: usize, pieces: usize) -> Result<GoroutineDump, DumpError> {
        let debug1 = Debug1 {
            max_depth: usize::MAX,
        };
        stream::parse_in_pieces(&debug1, text, max_line, pieces)
    }

    /// The dump streamed in pieces from `first_piece` bytes on, its first 100 bytes given as
    /// already read.
    fn streamed(
        text: &str,
        max_line: usize,
        first_piece: usize,
    ) -> Result<GoroutineDump, DumpError> {
        let (start, rest) = text.as_bytes().split_at(100.min(text.len()));
        let debug1 = Debug1 {
            max_depth: usize::MAX,
        };
        let budget = MemoryBudget::with_limit(None);
        match stream::parse_stream(
            &debug1,
            start.to_vec(),
            rest,
            max_line,
            first_piece,
            &budget,
        ) {
            Ok(dump) => Ok(dump),
            Err(StreamError::Dump(e)) => Err(e),
            Err(StreamError::Read(e)) => panic!("read error {e}"),
        }
    }

    #[test]
    fn a_dump_parsed_in_pieces_is_the_dump_parsed_in_one_pass() {
        let dumps = committed_dumps();
        assert!(dumps.len() >= 10, "{}", dumps.len());
        let (mut split_somewhere, mut labels, mut recursion) = (false, false, false);
        for (path, text) in &dumps {
            let whole = in_pieces(text, usize::MAX, 1).unwrap();
            labels |= whole.profile.samples().any(|s| !s.labels().is_empty());
            recursion |= whole
                .profile
                .locations
                .windows(2)
                .any(|pair| pair[0].address == pair[1].address);
            recursion |= whole.profile.samples().any(|s| {
                let stack: Vec<usize> = s.locations().collect();
                stack.windows(2).any(|pair| {
                    let (a, b) = (
                        &whole.profile.locations[pair[0]],
                        &whole.profile.locations[pair[1]],
                    );
                    a.address == b.address
                })
            });
            for pieces in [2, 3, 8] {
                split_somewhere |= stream::split(text, Debug1::BOUNDARY, pieces).len() == pieces;
                let parsed = in_pieces(text, usize::MAX, pieces).unwrap();
                assert_eq!(parsed, whole, "{path} in {pieces} pieces");
            }
            for first_piece in [64, 1 << 10, 5 << 10, stream::FIRST_STREAM_PIECE] {
                let parsed = streamed(text, usize::MAX, first_piece).unwrap();
                assert_eq!(parsed, whole, "{path} streamed from {first_piece} bytes on");
            }
        }
        assert!(split_somewhere, "no dump was cut into pieces");
        assert!(labels, "no dump with labels");
        assert!(recursion, "no dump with a PC repeated");
    }

    /// The largest committed dump with `insert` put in at the start of a block far into it,
    /// and the number of the line it starts.
    fn with_inserted(insert: &str) -> (String, usize) {
        let (_, text) = committed_dumps()
            .into_iter()
            .max_by_key(|(_, text)| text.len())
            .unwrap();
        let at = text[text.len() * 3 / 4..].find("\n\n").unwrap() + text.len() * 3 / 4 + 2;
        let line = text[..at].matches('\n').count() + 1;
        (format!("{}{insert}{}", &text[..at], &text[at..]), line)
    }

    #[test]
    fn fields_split_as_str_split_does() {
        for text in [
            "",
            "\t",
            "a",
            "\t0x1\tf+0x2\t\t\tf.go:3",
            "a\t\tb\t",
            "\t\t\t",
        ] {
            let ours: Vec<&str> = tab_fields(text).collect();
            let std: Vec<&str> = text.split('\t').filter(|f| !f.is_empty()).collect();
            assert_eq!(ours, std, "{text:?}");
        }
        for text in [
            "f+0x1",
            "f+0x1+0x2",
            "a+0x1+b",
            "f",
            "+0x",
            "f+0",
            "x+0xy+z",
        ] {
            assert_eq!(
                rsplit_once_offset(text),
                text.rsplit_once("+0x"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_dump_cut_in_pieces_fails_as_one_pass_does() {
        let fails_alike = |text: &str, max_line: usize| {
            let one_pass = in_pieces(text, max_line, 1).unwrap_err();
            for pieces in [2, 3] {
                assert_eq!(in_pieces(text, max_line, pieces).unwrap_err(), one_pass);
            }
            for first_piece in [64, 1 << 10] {
                assert_eq!(streamed(text, max_line, first_piece).unwrap_err(), one_pass);
            }
            one_pass
        };
        // A broken block header far into the dump, named by its line in the whole dump.
        let (broken, line) = with_inserted("x @ 0x1\n");
        let error = fails_alike(&broken, usize::MAX);
        assert!(matches!(error, DumpError::Unexpected { .. }), "{error}");
        assert!(
            error.to_string().starts_with(&format!("line {line}:")),
            "{error}"
        );
        // A line over the limit there.
        let (long, line) = with_inserted(&format!("#\t{}\n", "x".repeat(5000)));
        let error = fails_alike(&long, 4000);
        assert_eq!(
            error.to_string(),
            format!(
                "line {line} (5002 bytes) exceeds the limit of 4000 (raise it with --max-line-length)"
            )
        );
        // A header with nothing after it but blank lines, in pieces of their own, and the
        // same with a bad line after them: the bad line is named, not the missing blocks.
        let blanks = format!("goroutine profile: total 3\n{}", "\n".repeat(3000));
        let error = fails_alike(&blanks, usize::MAX);
        assert!(
            matches!(error, DumpError::NoBlocks { line: 1, .. }),
            "{error}"
        );
        let error = fails_alike(&format!("{blanks}junk\n"), usize::MAX);
        assert!(
            matches!(error, DumpError::Unexpected { line: 3002, .. }),
            "{error}"
        );
        // Leading blank lines before the header, longer than the first piece.
        let late = format!(
            "{}goroutine profile: total 1\n1 @ 0x1\n#\t0x1\tmain.f+0x1\t/a.go:1\n\n",
            "\n".repeat(3000)
        );
        let whole = in_pieces(&late, usize::MAX, 1).unwrap();
        assert_eq!(streamed(&late, usize::MAX, 64).unwrap(), whole);
        assert_eq!(whole.header_total, Some(1));
    }
}
