//! Parsing a dump in pieces: both formats are cut at blank lines (where a single pass over
//! the text holds no state), each piece is parsed alone on one of the cores and the pieces
//! are appended in the text's order, which gives what one pass over the whole text gives.
//! A dump read from a stream is cut while it is read, so that reading (and inflating) and
//! parsing overlap and the whole text is never in memory at once; a dump already in memory
//! is cut into one piece per core.

use super::{DumpError, DumpFormat, GoroutineDump, Lines, StreamError};
use crate::profile::limits::MemoryBudget;

/// A format whose dumps can be cut into pieces, parsed alone and appended in order.
pub(super) trait PieceFormat: Sync {
    /// What one piece adds up to. It owns all it holds, so that a piece's text can go as
    /// soon as it is parsed.
    type Piece: Send;
    /// The pieces appended so far.
    type Whole: Send;
    /// The format, for the memory budget's count of its entries.
    const FORMAT: DumpFormat;
    /// A piece may end after the first two bytes of this (a blank line), and only there.
    const BOUNDARY: &'static [u8];

    /// Parses piece `index` (the first holds the start of the dump); `entries` is the number
    /// of goroutine or block headers counted in it, a hint for what to reserve.
    fn parse_piece(
        &self,
        index: usize,
        lines: Lines<'_>,
        entries: usize,
    ) -> Result<Self::Piece, DumpError>;

    /// Appends the next piece, as if the parser of the pieces before had read on.
    fn append(whole: &mut Option<Self::Whole>, piece: Self::Piece) -> Result<(), DumpError>;

    /// The dump, once every piece is in (`None` when there was none).
    fn finish(whole: Option<Self::Whole>) -> Result<GoroutineDump, DumpError>;
}

/// Dumps at least this large are parsed in pieces, side by side (a production dump of tens of
/// thousands of goroutines is tens of MB).
const PIECE_BYTES: usize = 1 << 20;

/// Parses a whole dump already in memory: a large one is cut into one piece per core.
pub(super) fn parse<F: PieceFormat>(
    format: &F,
    text: &str,
    max_line_bytes: usize,
) -> Result<GoroutineDump, DumpError> {
    let pieces = crate::parallel::cores().min(text.len() / PIECE_BYTES);
    parse_in_pieces(format, text, max_line_bytes, pieces)
}

/// [`parse`] in `pieces` pieces (the tests compare the cuts).
pub(super) fn parse_in_pieces<F: PieceFormat>(
    format: &F,
    text: &str,
    max_line_bytes: usize,
    pieces: usize,
) -> Result<GoroutineDump, DumpError> {
    let pieces: Vec<(usize, (usize, &str))> = split(text, F::BOUNDARY, pieces)
        .into_iter()
        .enumerate()
        .collect();
    let parsed = crate::parallel::map(&pieces, |&(index, (lines_before, piece))| {
        let lines = Lines::with_limit(piece, max_line_bytes).after_line(lines_before);
        format.parse_piece(index, lines, 0)
    });
    let mut in_order = InOrder::<F>::default();
    for (index, piece) in parsed.into_iter().enumerate() {
        in_order.add(index, piece);
    }
    in_order.finish()
}

/// Merges the pieces of a dump in the text's order, whatever the order they are parsed in:
/// each is appended once those before it are. The first error in the text's order is the one
/// a single pass would have met; what comes after it is dropped.
struct InOrder<F: PieceFormat> {
    whole: Option<F::Whole>,
    /// The index of the next piece to append.
    next: usize,
    waiting: std::collections::BTreeMap<usize, Result<F::Piece, DumpError>>,
    error: Option<DumpError>,
}

impl<F: PieceFormat> Default for InOrder<F> {
    fn default() -> Self {
        InOrder {
            whole: None,
            next: 0,
            waiting: std::collections::BTreeMap::new(),
            error: None,
        }
    }
}

impl<F: PieceFormat> InOrder<F> {
    fn add(&mut self, index: usize, piece: Result<F::Piece, DumpError>) {
        self.waiting.insert(index, piece);
        while let Some(piece) = self.waiting.remove(&self.next) {
            self.next += 1;
            if self.error.is_some() {
                continue;
            }
            if let Err(error) = piece.and_then(|piece| F::append(&mut self.whole, piece)) {
                self.error = Some(error);
                // Nothing after the first error is used: what was appended can go now.
                self.whole = None;
            }
        }
    }

    /// The dump, once every piece is in.
    fn finish(self) -> Result<GoroutineDump, DumpError> {
        match self.error {
            Some(error) => Err(error),
            None => F::finish(self.whole),
        }
    }
}

/// The first pieces of a streamed dump are small, so that parsing starts early and their
/// buffers, passed back by the parsers, are reused: a few of them hold the whole text in
/// turn, where fresh memory for all of it would cost a page fault per 4 KB. Every
/// `PIECES_PER_SIZE` pieces the size doubles, up to the last size: a dump of tens of MB is
/// merged from fewer pieces. The last size is 1 MB, not more: up to five pieces are in
/// flight (one read, one queued per parser, one parsed per parser), and the 63 MB `debug=2`
/// dump of bench/large.sh took 50 MB at most of live memory with 4 MB pieces, 35 MB with
/// 1 MB ones, in the same time.
pub(super) const FIRST_STREAM_PIECE: usize = 256 << 10;
const LAST_STREAM_PIECE: usize = 1 << 20;
const PIECES_PER_SIZE: usize = 8;

/// A piece read, on its way to a parser: its index, the lines before it, the entries
/// counted in it and its text.
type Sent = (usize, usize, usize, Vec<u8>);

/// Parses a dump while it is read: `text` is its start, `rest` the remainder of the stream.
/// Pieces cut at blank lines go to one parser per core as they are read. Errors come in the
/// order of a read-then-parse: a read error or the memory budget first, then a cut-off last
/// line, then the first error in the text.
pub(super) fn parse_stream<F: PieceFormat>(
    format: &F,
    mut text: Vec<u8>,
    mut rest: impl std::io::Read,
    max_line_bytes: usize,
    first_piece_bytes: usize,
    budget: &MemoryBudget,
) -> Result<GoroutineDump, StreamError> {
    // A dump that ends within its first piece is one piece: parsed here, with no parser
    // threads to start (they took longer than parsing the 23 KB debug=1 dump of the sim-57
    // set, and held a core the set's other members needed).
    let workers = if read_up_to(&mut text, &mut rest, first_piece_bytes)? {
        0
    } else {
        crate::parallel::cores()
    };
    // Bounded, so that reading waits for the parsers rather than piling up text.
    let (to_parse, queue) = std::sync::mpsc::sync_channel::<Sent>(workers.max(1));
    // Shared by the parsers alone: if they all stop (a panic), reading stops too.
    let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
    // Each parser appends what it parsed as soon as the pieces before it are in.
    let in_order = std::sync::Mutex::new(InOrder::<F>::default());
    let (to_reuse, reusable) = std::sync::mpsc::channel::<Vec<u8>>();
    let parse_queued = |queue: &std::sync::Mutex<std::sync::mpsc::Receiver<Sent>>,
                        to_reuse: std::sync::mpsc::Sender<Vec<u8>>| {
        loop {
            // A poisoned lock means another parser panicked: that panic carries on.
            let next = match queue.lock() {
                Ok(queue) => queue.recv(),
                Err(_) => return,
            };
            let Ok((index, lines_before, entries, piece)) = next else {
                return;
            };
            let piece = match String::from_utf8(piece) {
                Ok(piece) => piece,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            };
            let lines = Lines::with_limit(&piece, max_line_bytes).after_line(lines_before);
            let parsed = format.parse_piece(index, lines, entries);
            match in_order.lock() {
                Ok(mut in_order) => in_order.add(index, parsed),
                Err(_) => return,
            }
            // The reader may have finished: then the buffer just goes.
            let _ = to_reuse.send(piece.into_bytes());
        }
    };
    if workers == 0 {
        // The one piece is queued (the channel holds it), then parsed on this thread.
        send_pieces::<F>(text, rest, first_piece_bytes, to_parse, reusable, budget)?;
        parse_queued(&queue, to_reuse);
    } else {
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let queue = std::sync::Arc::clone(&queue);
                let to_reuse = to_reuse.clone();
                let parse_queued = &parse_queued;
                scope.spawn(move || parse_queued(&queue, to_reuse));
            }
            drop((queue, to_reuse));
            // Moved in, so that the parsers stop once it returns, whether it read all or
            // failed.
            send_pieces::<F>(text, rest, first_piece_bytes, to_parse, reusable, budget)
        })?;
    }
    // The parsers are done, and none panicked: the scope would have carried that on.
    in_order
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .finish()
        .map_err(StreamError::Dump)
}

/// Reads a dump's text in pieces cut at blank lines and sends each to the parsers with the
/// number of lines before it; the buffers of parsed pieces come back to be reused.
fn send_pieces<F: PieceFormat>(
    mut text: Vec<u8>,
    mut rest: impl std::io::Read,
    first_piece_bytes: usize,
    to_parse: std::sync::mpsc::SyncSender<Sent>,
    reusable: std::sync::mpsc::Receiver<Vec<u8>>,
    budget: &MemoryBudget,
) -> Result<(), StreamError> {
    let (mut pieces, mut lines_before, mut piece_bytes) = (0, 0, first_piece_bytes);
    let (mut bytes_before, mut entries_before) = (0u64, 0u64);
    loop {
        let at_end = read_up_to(&mut text, &mut rest, piece_bytes)?;
        let cut = if at_end {
            text.len()
        } else {
            match last_cut(&text, F::BOUNDARY, pieces == 0) {
                Some(cut) => cut,
                // One goroutine or block larger than the piece so far: read on.
                None => {
                    piece_bytes = piece_bytes.saturating_mul(2);
                    continue;
                }
            }
        };
        let mut next = reusable.try_recv().unwrap_or_default();
        next.clear();
        next.extend_from_slice(&text[cut..]);
        text.truncate(cut);
        let piece = std::mem::replace(&mut text, next);
        if at_end {
            super::check_final_newline(&piece, lines_before).map_err(StreamError::Dump)?;
        }
        bytes_before += piece.len() as u64;
        let entries_then = entries_before;
        super::charge_entries(F::FORMAT, &piece, bytes_before, budget, &mut entries_before)
            .map_err(StreamError::Dump)?;
        let entries = usize::try_from(entries_before - entries_then).unwrap_or(0);
        let lines = if at_end { 0 } else { count_lines(&piece) };
        // Fails only when every parser stopped, which only a panic does: the scope
        // carries it on.
        if to_parse
            .send((pieces, lines_before, entries, piece))
            .is_err()
            || at_end
        {
            break;
        }
        pieces += 1;
        lines_before += lines;
        if pieces % PIECES_PER_SIZE == 0 {
            piece_bytes = (piece_bytes * 2).min(LAST_STREAM_PIECE);
        }
    }
    Ok(())
}

/// Reads from `rest` until `text` holds `bytes` bytes; true when the stream ended first.
fn read_up_to(
    text: &mut Vec<u8>,
    rest: &mut impl std::io::Read,
    bytes: usize,
) -> Result<bool, StreamError> {
    use std::io::Read as _;
    let wanted = bytes.saturating_sub(text.len());
    text.reserve(wanted);
    let read = rest
        .take(wanted as u64)
        .read_to_end(text)
        .map_err(StreamError::Read)?;
    Ok(read < wanted)
}

/// Where the first piece may be cut from: its first non-blank line (the dump's header) stays
/// in it, so that the parser of the first piece always sees the header. `None` while that
/// line is not complete.
fn first_cut_from(text: &[u8]) -> Option<usize> {
    let mut start = 0;
    loop {
        let end = start + memchr::memchr(b'\n', &text[start..])?;
        if !text[start..end].iter().all(u8::is_ascii_whitespace) {
            // From the line's `\n`: a blank line right after the header is a boundary.
            return Some(end);
        }
        start = end + 1;
    }
}

/// The end of the last boundary in `text` (just after its blank line), where a piece may be
/// cut; in the first piece, only after the header.
fn last_cut(text: &[u8], boundary: &[u8], first: bool) -> Option<usize> {
    let from = if first { first_cut_from(text)? } else { 0 };
    memchr::memmem::rfind(&text[from..], boundary).map(|found| from + found + 2)
}

/// Cuts `text` into at most `pieces` parts at boundaries (the first after the header), with
/// the number of lines before each part.
pub(super) fn split<'a>(text: &'a str, boundary: &[u8], pieces: usize) -> Vec<(usize, &'a str)> {
    let mut parts = Vec::new();
    let (mut start, mut lines_before) = (0, 0);
    let first_from = first_cut_from(text.as_bytes()).unwrap_or(text.len());
    for k in 1..pieces.max(1) {
        let target = (text.len() / pieces * k).max(start).max(first_from);
        let Some(found) = memchr::memmem::find(&text.as_bytes()[target..], boundary) else {
            break;
        };
        // Just after the blank line: a char boundary, as `\n` is ASCII.
        let end = target + found + 2;
        parts.push((lines_before, &text[start..end]));
        lines_before += count_lines(&text.as_bytes()[start..end]);
        start = end;
    }
    parts.push((lines_before, &text[start..]));
    parts
}

fn count_lines(text: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', text).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_piece_keeps_the_header() {
        assert_eq!(first_cut_from(b"\n \nheader\n\nx"), Some(9));
        assert_eq!(first_cut_from(b"\n\nhead"), None);
        assert_eq!(last_cut(b"\n\n\nh\n\n1\n\n2", b"\n\n", true), Some(9));
        assert_eq!(last_cut(b"\n\n\nh\n", b"\n\n", true), None);
        assert_eq!(last_cut(b"\n\n\nh\n", b"\n\n", false), Some(3));
        let text = "\n\nh\n\na\n\nb\n\nc\n";
        for pieces in 1..6 {
            let parts = split(text, b"\n\n", pieces);
            assert!(parts[0].1.contains('h'), "{parts:?}");
            assert_eq!(parts.iter().map(|p| p.1).collect::<String>(), text);
        }
    }
}
