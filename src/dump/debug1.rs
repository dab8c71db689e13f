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

pub(super) fn parse(mut lines: Lines<'_>, max_depth: usize) -> Result<GoroutineDump, DumpError> {
    let first = lines.by_ref().find(|(_, line)| !is_blank(line));
    lines.check()?;
    let (header_line, header) = first.ok_or(DumpError::Empty)?;
    let header_total = parse_header(header).ok_or_else(|| DumpError::Unexpected {
        line: header_line,
        expected: "\"goroutine profile: total N\"",
        found: excerpt(header),
    })?;

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
                match parse_frame(fields) {
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
    // Go always has at least the goroutine that wrote the dump, so a header without blocks
    // means the rest of the file is missing (unless the header itself says there is nothing).
    if blocks == 0 && header_total != 0 {
        return Err(DumpError::NoBlocks {
            line: header_line,
            header: excerpt(header),
        });
    }
    Ok(GoroutineDump {
        format: DumpFormat::Debug1,
        header_total: Some(header_total),
        profile: builder.finish(),
        goroutines: Vec::new(),
        skipped_lines,
    })
}

/// `COUNT @ 0xPC 0xPC …` → the count, with the PCs in `pcs` (cleared first).
fn parse_block_header(line: &str, pcs: &mut Vec<u64>) -> Option<i64> {
    let (count, rest) = line.split_once(' ')?;
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
    let mut parts = fields.split('\t').filter(|part| !part.is_empty());
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
    let name = match function.rsplit_once("+0x") {
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

/// Buffers reused across blocks.
#[derive(Default)]
struct Scratch {
    locations: Vec<usize>,
    lines: Vec<Line>,
    max_depth: usize,
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
    scratch: &mut Scratch,
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
                    let function = builder.function(name, file);
                    scratch.lines.push(Line {
                        function,
                        line,
                        column: 0,
                    });
                }
            }
            scratch
                .locations
                .push(builder.location(address, &scratch.lines));
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
