//! Sniff, decompress, decode and resolve a pprof protobuf into the owned model.
//! Validation follows google/pprof (`profile/encode.go` postDecode and `CheckValid`), but every
//! error says which sample, location or function is wrong instead of "malformed profile".
//!
//! The decoder streams: gzip is inflated while the protobuf is read, samples go straight into
//! the compact columns of [`Samples`] (their packed location ids are copied, not expanded), and
//! only the small messages (locations, functions, mappings, labels) are decoded one by one
//! with prost. A production heap profile of 800k samples and 25M frames never exists in memory
//! as anything larger than its own packed stacks.

use std::collections::HashMap;
use std::io::Read;

use prost::Message;
use rustc_hash::FxHashMap;

use super::model::{
    BadLocation, Function, Labels, Line, Location, Mapping, Profile, Samples, ValueType,
};
use super::proto;

/// Decoding limits. Profiles come from other machines: a gzip bomb or a profile with absurd
/// counts must be refused with a message naming the limit, not exhaust memory or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Largest decompressed size accepted, in bytes. Default: 1 GiB.
    pub max_decompressed_bytes: u64,
    /// Most samples in one profile. Default: 50 million.
    pub max_samples: usize,
    /// Most locations in one profile. Default: 20 million.
    pub max_locations: usize,
    /// Most functions in one profile. Default: 20 million.
    pub max_functions: usize,
    /// Deepest stack (locations in one sample, or frames of one goroutine). Default: 100 000.
    pub max_stack_depth: usize,
    /// Longest string (function or file name, label, comment), in bytes. Default: 1 MiB.
    pub max_string_bytes: usize,
    /// Longest line of a goroutine text dump, in bytes. Default: 1 MiB.
    pub max_line_bytes: usize,
}

impl DecodeOptions {
    /// The defaults, usable in constants (`..DecodeOptions::DEFAULT`).
    pub const DEFAULT: DecodeOptions = DecodeOptions {
        max_decompressed_bytes: 1 << 30,
        max_samples: 50_000_000,
        max_locations: 20_000_000,
        max_functions: 20_000_000,
        max_stack_depth: 100_000,
        max_string_bytes: 1 << 20,
        max_line_bytes: 1 << 20,
    };
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions::DEFAULT
    }
}

/// Why a file could not be decoded. Messages name the problem, not the file: the caller
/// knows the path and prefixes it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("the file is empty")]
    Empty,
    #[error("truncated or corrupt gzip stream ({0})")]
    Gzip(String),
    #[error(
        "decompressed size exceeds the limit of {limit} bytes (raise it with --max-decompressed-size)"
    )]
    TooLarge { limit: u64 },
    #[error("{what} exceeds the limit of {limit} (raise it with {flag})")]
    Limit {
        what: String,
        limit: u64,
        flag: &'static str,
    },
    #[error("not a pprof profile: {0}")]
    NotAProfile(String),
    #[error("{0}")]
    Invalid(String),
}

/// True when the data starts with the gzip magic number.
pub fn is_gzip(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b
}

/// A reader that fails once more than `limit` bytes came through it: the decompressed-size
/// cap, enforced while inflating.
pub struct Limited<R> {
    inner: R,
    limit: u64,
    read: u64,
}

impl<R: Read> Limited<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Limited {
            inner,
            limit,
            read: 0,
        }
    }
}

/// Marker carried through `io::Error` so that the limit is reported as itself, not as an
/// I/O failure.
#[derive(Debug)]
struct OverLimit;

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("decompressed size limit")
    }
}

impl std::error::Error for OverLimit {}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(std::io::Error::other(OverLimit));
        }
        Ok(n)
    }
}

/// Maps a read error to a decode error: the size limit, a gzip failure, or plain I/O.
pub fn read_error(e: &std::io::Error, gzip: bool, limit: u64) -> DecodeError {
    if e.get_ref().is_some_and(|inner| inner.is::<OverLimit>()) {
        return DecodeError::TooLarge { limit };
    }
    if gzip {
        DecodeError::Gzip(e.to_string())
    } else {
        DecodeError::Invalid(format!("read failed ({e})"))
    }
}

/// A reader of the decompressed bytes: gzip (every member, as Go's reader does) is undone
/// on the fly; other input passes through. Both are capped at the decompressed-size limit.
pub fn decompressing_reader<'a, R: Read + 'a>(
    head: &[u8],
    input: R,
    options: &DecodeOptions,
) -> Limited<Box<dyn Read + 'a>> {
    let gzip = is_gzip(head);
    let inner: Box<dyn Read + 'a> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(
            std::io::BufReader::with_capacity(1 << 16, input),
        ))
    } else {
        Box::new(input)
    };
    Limited::new(inner, options.max_decompressed_bytes)
}

/// Decompresses gzip input (all members, as Go's reader does) up to the size limit; returns
/// other input unchanged.
pub fn decompress<'a>(
    data: &'a [u8],
    options: &DecodeOptions,
) -> Result<std::borrow::Cow<'a, [u8]>, DecodeError> {
    if !is_gzip(data) {
        return Ok(std::borrow::Cow::Borrowed(data));
    }
    let mut reader = decompressing_reader(data, data, options);
    let mut out = Vec::with_capacity(data.len().saturating_mul(4));
    reader
        .read_to_end(&mut out)
        .map_err(|e| read_error(&e, true, options.max_decompressed_bytes))?;
    Ok(std::borrow::Cow::Owned(out))
}

/// Decodes a pprof profile, gzipped or not (recognised by content).
pub fn decode(data: &[u8], options: &DecodeOptions) -> Result<Profile, DecodeError> {
    if data.is_empty() {
        return Err(DecodeError::Empty);
    }
    let gzip = is_gzip(data);
    let reader = decompressing_reader(data, data, options);
    decode_stream(reader, gzip, options)
}

/// Decodes a pprof profile from a stream of decompressed bytes (see [`decompressing_reader`]);
/// `gzip` says whether they are being inflated, for error messages.
pub fn decode_stream<R: Read>(
    reader: R,
    gzip: bool,
    options: &DecodeOptions,
) -> Result<Profile, DecodeError> {
    let mut input = Input::new(reader, gzip, options.max_decompressed_bytes);
    let raw = match read_fields(&mut input, options) {
        Ok(raw) => raw,
        Err(Failure::Decode(e)) => return Err(e),
        Err(Failure::Wire(what)) => {
            return Err(match input.text_head() {
                Some(line) => {
                    DecodeError::NotAProfile(format!("it is a text file starting {line:?}"))
                }
                None if input.consumed() == 0 => {
                    DecodeError::NotAProfile("the gzip stream holds no data".to_string())
                }
                None => DecodeError::NotAProfile(format!("protobuf decoding failed ({what})")),
            });
        }
    };
    if input.consumed() == 0 {
        return Err(DecodeError::NotAProfile(
            "the gzip stream holds no data".to_string(),
        ));
    }
    resolve(raw)
}

/// What stopped the field reader: a wire-format error (the input is probably not a profile
/// at all) or a decode error that already says what is wrong.
enum Failure {
    Wire(String),
    Decode(DecodeError),
}

impl From<DecodeError> for Failure {
    fn from(e: DecodeError) -> Self {
        Failure::Decode(e)
    }
}

/// A buffered protobuf reader over a stream that hands out each length-delimited payload as
/// one contiguous slice, growing its buffer only as far as the data really arrives (a huge
/// length prefix in a short file ends in "truncated", not in a huge allocation).
struct Input<R> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    gzip: bool,
    limit: u64,
    /// Bytes consumed before `buf[0]`.
    base: u64,
    /// The first bytes of the stream, kept to describe a text file in an error.
    head: Vec<u8>,
}

const CHUNK: usize = 1 << 16;

impl<R: Read> Input<R> {
    fn new(reader: R, gzip: bool, limit: u64) -> Self {
        Input {
            reader,
            buf: vec![0; CHUNK * 4],
            pos: 0,
            end: 0,
            eof: false,
            gzip,
            limit,
            base: 0,
            head: Vec::new(),
        }
    }

    fn consumed(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Reads more data; false at the end of the stream.
    fn fill(&mut self) -> Result<bool, Failure> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 && self.pos == self.end {
            self.base += self.pos as u64;
            self.pos = 0;
            self.end = 0;
        }
        if self.end == self.buf.len() {
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.end, 0);
                self.base += self.pos as u64;
                self.end -= self.pos;
                self.pos = 0;
            } else {
                let grown = self.buf.len().saturating_mul(2);
                self.buf.resize(grown, 0);
            }
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    if self.head.len() < 512 {
                        let take = n.min(512 - self.head.len());
                        self.head
                            .extend_from_slice(&self.buf[self.end..self.end + take]);
                    }
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(&e, self.gzip, self.limit).into()),
            }
        }
    }

    /// The next varint, or `None` at a clean end of the stream (between fields).
    fn varint_or_end(&mut self) -> Result<Option<u64>, Failure> {
        if self.pos == self.end && !self.fill()? {
            return Ok(None);
        }
        self.varint().map(Some)
    }

    fn varint(&mut self) -> Result<u64, Failure> {
        loop {
            match read_varint(&self.buf[self.pos..self.end]) {
                Some(Ok((value, used))) => {
                    self.pos += used;
                    return Ok(value);
                }
                Some(Err(e)) => return Err(Failure::Wire(e.to_string())),
                None => {
                    if !self.fill()? {
                        return Err(Failure::Wire("truncated varint".to_string()));
                    }
                }
            }
        }
    }

    /// The next `len` bytes as one slice.
    fn bytes(&mut self, len: u64) -> Result<&[u8], Failure> {
        if len > self.limit.saturating_sub(self.consumed()) {
            return Err(Failure::Wire(format!(
                "a field claims {len} bytes, more than the rest of the profile"
            )));
        }
        let len = len as usize;
        while self.end - self.pos < len {
            if !self.fill()? {
                return Err(Failure::Wire(
                    "the profile ends inside a field (truncated?)".to_string(),
                ));
            }
        }
        let start = self.pos;
        self.pos += len;
        Ok(&self.buf[start..start + len])
    }

    fn fixed(&mut self, len: u64) -> Result<(), Failure> {
        self.bytes(len).map(|_| ())
    }

    /// The start of the stream as a line of text, when it reads as text.
    fn text_head(&self) -> Option<String> {
        text_first_line(&self.head)
    }
}

/// Decodes a varint at the start of `data`: `None` when `data` ends inside it, an error when
/// it runs past 10 bytes.
#[inline]
fn read_varint(data: &[u8]) -> Option<Result<(u64, usize), &'static str>> {
    let mut value = 0u64;
    for (i, &byte) in data.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some(Ok((value, i + 1)));
        }
    }
    if data.len() >= 10 {
        Some(Err("varint longer than 10 bytes"))
    } else {
        None
    }
}

/// The first line of data that reads as text, shortened for an error message.
fn text_first_line(data: &[u8]) -> Option<String> {
    let head = &data[..data.len().min(512)];
    if head.is_empty() {
        return None;
    }
    // A cut may split a character: keep the valid part.
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
    };
    if text.is_empty()
        || text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return None;
    }
    let line = text.lines().next().unwrap_or("").trim();
    Some(line.chars().take(60).collect())
}

/// The profile's top-level fields as read, before ids and strings are resolved. Samples are
/// already in their final columns, with raw location ids and raw label sets.
struct RawProfile {
    sample_types: Vec<proto::ValueType>,
    /// Each sample's packed location ids, as they came.
    stacks: Vec<u8>,
    stack_ends: Vec<u32>,
    /// The values of every sample whose value count is the first sample's.
    values: Vec<i64>,
    label_of: Vec<u32>,
    /// The first sample whose value count differs from the first sample's: (number, count).
    value_mismatch: Option<(usize, usize)>,
    first_value_count: Option<usize>,
    /// Raw label messages of each distinct label set (set id − 1) and the first sample
    /// (1-based) that has it, resolved once the string table is known.
    label_sets: Vec<(Vec<u8>, usize)>,
    mappings: Vec<proto::Mapping>,
    locations: Vec<proto::Location>,
    functions: Vec<proto::Function>,
    strings: Vec<String>,
    drop_frames: i64,
    keep_frames: i64,
    time_nanos: i64,
    duration_nanos: i64,
    period_type: Option<proto::ValueType>,
    period: i64,
    comments: Vec<i64>,
    default_sample_type: i64,
}

const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

fn read_fields<R: Read>(
    input: &mut Input<R>,
    options: &DecodeOptions,
) -> Result<RawProfile, Failure> {
    let mut raw = RawProfile {
        sample_types: Vec::new(),
        stacks: Vec::new(),
        stack_ends: Vec::new(),
        values: Vec::new(),
        label_of: Vec::new(),
        value_mismatch: None,
        first_value_count: None,
        label_sets: Vec::new(),
        mappings: Vec::new(),
        locations: Vec::new(),
        functions: Vec::new(),
        strings: Vec::new(),
        drop_frames: 0,
        keep_frames: 0,
        time_nanos: 0,
        duration_nanos: 0,
        period_type: None,
        period: 0,
        comments: Vec::new(),
        default_sample_type: 0,
    };
    let mut sample = SampleScratch::default();
    let mut label_ids: FxHashMap<Vec<u8>, u32> = FxHashMap::default();
    while let Some(key) = input.varint_or_end()? {
        let (field, wire) = (key >> 3, key & 7);
        if field == 0 {
            return Err(Failure::Wire("field number 0".to_string()));
        }
        match (field, wire) {
            (1 | 2 | 3 | 4 | 5 | 6 | 11, LEN) => {
                let len = input.varint()?;
                if field == 6 && len > options.max_string_bytes as u64 {
                    return Err(DecodeError::Limit {
                        what: format!("string {} ({len} bytes)", raw.strings.len()),
                        limit: options.max_string_bytes as u64,
                        flag: "--max-string-length",
                    }
                    .into());
                }
                let payload = input.bytes(len)?;
                read_message(
                    field,
                    payload,
                    &mut raw,
                    &mut sample,
                    &mut label_ids,
                    options,
                )?;
            }
            (7..=10 | 12 | 14, VARINT) => {
                let value = input.varint()? as i64;
                match field {
                    7 => raw.drop_frames = value,
                    8 => raw.keep_frames = value,
                    9 => raw.time_nanos = value,
                    10 => raw.duration_nanos = value,
                    12 => raw.period = value,
                    _ => raw.default_sample_type = value,
                }
            }
            (13, VARINT) => raw.comments.push(input.varint()? as i64),
            (13, LEN) => {
                let len = input.varint()?;
                let mut packed = input.bytes(len)?;
                while !packed.is_empty() {
                    let (value, used) = slice_varint(packed)?;
                    raw.comments.push(value as i64);
                    packed = &packed[used..];
                }
            }
            (_, VARINT) => {
                input.varint()?;
            }
            (_, FIXED64) => input.fixed(8)?,
            (_, FIXED32) => input.fixed(4)?,
            (_, LEN) => {
                let len = input.varint()?;
                input.fixed(len)?;
            }
            (_, wire) => {
                return Err(Failure::Wire(format!(
                    "field {field} has the unsupported wire type {wire}"
                )));
            }
        }
    }
    Ok(raw)
}

/// A varint inside an already-read payload: its end is the payload's end.
#[inline]
fn slice_varint(data: &[u8]) -> Result<(u64, usize), Failure> {
    match read_varint(data) {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(Failure::Wire(e.to_string())),
        None => Err(Failure::Wire("truncated varint".to_string())),
    }
}

fn prost_error(what: &str, e: prost::DecodeError) -> Failure {
    Failure::Wire(format!("{what}: {e}"))
}

/// Reused buffers for one sample at a time.
#[derive(Default)]
struct SampleScratch {
    stack: Vec<u8>,
    values: Vec<i64>,
    labels: Vec<u8>,
}

fn read_message(
    field: u64,
    payload: &[u8],
    raw: &mut RawProfile,
    sample: &mut SampleScratch,
    label_ids: &mut FxHashMap<Vec<u8>, u32>,
    options: &DecodeOptions,
) -> Result<(), Failure> {
    match field {
        1 => raw
            .sample_types
            .push(proto::ValueType::decode(payload).map_err(|e| prost_error("sample type", e))?),
        2 => read_sample(payload, raw, sample, label_ids, options)?,
        3 => raw
            .mappings
            .push(proto::Mapping::decode(payload).map_err(|e| prost_error("mapping", e))?),
        4 => {
            if raw.locations.len() >= options.max_locations {
                return Err(limit(
                    "the number of locations",
                    options.max_locations,
                    "--max-locations",
                ));
            }
            raw.locations
                .push(proto::Location::decode(payload).map_err(|e| prost_error("location", e))?)
        }
        5 => {
            if raw.functions.len() >= options.max_functions {
                return Err(limit(
                    "the number of functions",
                    options.max_functions,
                    "--max-functions",
                ));
            }
            raw.functions
                .push(proto::Function::decode(payload).map_err(|e| prost_error("function", e))?)
        }
        6 => raw.strings.push(match String::from_utf8(payload.to_vec()) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }),
        _ => {
            raw.period_type =
                Some(proto::ValueType::decode(payload).map_err(|e| prost_error("period type", e))?)
        }
    }
    Ok(())
}

fn limit(what: &str, limit: usize, flag: &'static str) -> Failure {
    Failure::Decode(DecodeError::Limit {
        what: what.to_string(),
        limit: limit as u64,
        flag,
    })
}

/// Reads one sample message into the columns: location ids packed as they came (validated
/// as varints here, as ids once the locations are known), values, and its label set.
fn read_sample(
    mut payload: &[u8],
    raw: &mut RawProfile,
    scratch: &mut SampleScratch,
    label_ids: &mut FxHashMap<Vec<u8>, u32>,
    options: &DecodeOptions,
) -> Result<(), Failure> {
    let number = raw.stack_ends.len() + 1;
    if number > options.max_samples {
        return Err(limit(
            "the number of samples",
            options.max_samples,
            "--max-samples",
        ));
    }
    scratch.stack.clear();
    scratch.values.clear();
    scratch.labels.clear();
    let mut depth = 0usize;
    while !payload.is_empty() {
        let (key, used) = slice_varint(payload)?;
        payload = &payload[used..];
        match (key >> 3, key & 7) {
            (1, LEN) => {
                let (len, used) = slice_varint(payload)?;
                payload = &payload[used..];
                let packed = take(&mut payload, len)?;
                // Every byte with the high bit clear ends one id; a last byte with it set is
                // an unterminated varint, and a run of 10 such bytes an overlong one.
                let mut run = 0;
                for &byte in packed {
                    if byte < 0x80 {
                        depth += 1;
                        run = 0;
                    } else {
                        run += 1;
                        if run >= 10 {
                            return Err(Failure::Wire("varint longer than 10 bytes".into()));
                        }
                    }
                }
                if run > 0 {
                    return Err(Failure::Wire("truncated varint".into()));
                }
                scratch.stack.extend_from_slice(packed);
            }
            (1, VARINT) => {
                let (id, used) = slice_varint(payload)?;
                payload = &payload[used..];
                super::model::encode_varint(id, &mut scratch.stack);
                depth += 1;
            }
            (2, LEN) => {
                let (len, used) = slice_varint(payload)?;
                payload = &payload[used..];
                let mut packed = take(&mut payload, len)?;
                while !packed.is_empty() {
                    let (value, used) = slice_varint(packed)?;
                    scratch.values.push(value as i64);
                    packed = &packed[used..];
                }
            }
            (2, VARINT) => {
                let (value, used) = slice_varint(payload)?;
                payload = &payload[used..];
                scratch.values.push(value as i64);
            }
            (3, LEN) => {
                let (len, used) = slice_varint(payload)?;
                let label = take(&mut &payload[used..], len)?;
                // Kept with its length prefix, so the set's bytes split back into labels.
                scratch
                    .labels
                    .extend_from_slice(&payload[..used + label.len()]);
                payload = &payload[used + label.len()..];
            }
            (_, wire) => skip_field(&mut payload, wire)?,
        }
    }
    if depth > options.max_stack_depth {
        return Err(Failure::Decode(DecodeError::Limit {
            what: format!("the stack of sample {number} ({depth} locations)"),
            limit: options.max_stack_depth as u64,
            flag: "--max-stack-depth",
        }));
    }
    match raw.first_value_count {
        None => raw.first_value_count = Some(scratch.values.len()),
        Some(count) if count != scratch.values.len() && raw.value_mismatch.is_none() => {
            raw.value_mismatch = Some((number, scratch.values.len()));
        }
        Some(_) => {}
    }
    let label_set = if scratch.labels.is_empty() {
        0
    } else if let Some(&id) = label_ids.get(&scratch.labels) {
        id
    } else {
        raw.label_sets.push((scratch.labels.clone(), number));
        let id = raw.label_sets.len() as u32;
        label_ids.insert(scratch.labels.clone(), id);
        id
    };
    if raw.first_value_count == Some(scratch.values.len()) {
        raw.values.extend_from_slice(&scratch.values);
    }
    raw.stacks.extend_from_slice(&scratch.stack);
    let end = u32::try_from(raw.stacks.len()).map_err(|_| {
        limit(
            "the total size of all stacks (4 GiB)",
            u32::MAX as usize,
            "--max-samples",
        )
    })?;
    raw.stack_ends.push(end);
    raw.label_of.push(label_set);
    Ok(())
}

fn take<'a>(payload: &mut &'a [u8], len: u64) -> Result<&'a [u8], Failure> {
    if len > payload.len() as u64 {
        return Err(Failure::Wire(
            "a field runs past the end of its message".to_string(),
        ));
    }
    let (head, rest) = payload.split_at(len as usize);
    *payload = rest;
    Ok(head)
}

fn skip_field(payload: &mut &[u8], wire: u64) -> Result<(), Failure> {
    match wire {
        VARINT => {
            let (_, used) = slice_varint(payload)?;
            *payload = &payload[used..];
        }
        FIXED64 => {
            take(payload, 8)?;
        }
        FIXED32 => {
            take(payload, 4)?;
        }
        LEN => {
            let (len, used) = slice_varint(payload)?;
            *payload = &payload[used..];
            take(payload, len)?;
        }
        wire => {
            return Err(Failure::Wire(format!("unsupported wire type {wire}")));
        }
    }
    Ok(())
}

struct Strings {
    table: Vec<String>,
}

impl Strings {
    fn get(&self, index: i64, what: impl FnOnce() -> String) -> Result<String, DecodeError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.table.get(i))
            .cloned()
            .ok_or_else(|| {
                DecodeError::Invalid(format!(
                    "{} refers to string {index}, but the string table has {} entries",
                    what(),
                    self.table.len()
                ))
            })
    }
}

/// Maps profile ids to indices: a vector while ids are small, as pprof does, else a map.
struct IdIndex {
    dense: Vec<Option<usize>>,
    sparse: HashMap<u64, usize>,
}

impl IdIndex {
    fn build(
        kind: &str,
        ids: impl Iterator<Item = u64>,
        count: usize,
    ) -> Result<Self, DecodeError> {
        let mut index = IdIndex {
            dense: vec![None; count + 1],
            sparse: HashMap::new(),
        };
        for (position, id) in ids.enumerate() {
            if id == 0 {
                return Err(DecodeError::Invalid(format!(
                    "{kind} {} has the reserved id 0",
                    position + 1
                )));
            }
            let slot = match usize::try_from(id).ok().filter(|&i| i <= count) {
                Some(i) => index.dense[i].replace(position),
                None => index.sparse.insert(id, position),
            };
            if slot.is_some() {
                return Err(DecodeError::Invalid(format!(
                    "two {kind}s have the same id {id}"
                )));
            }
        }
        Ok(index)
    }

    fn get(&self, id: u64) -> Option<usize> {
        match usize::try_from(id).ok().and_then(|i| self.dense.get(i)) {
            Some(slot) => *slot,
            None => self.sparse.get(&id).copied(),
        }
    }
}

fn resolve(raw: RawProfile) -> Result<Profile, DecodeError> {
    let table = raw.strings;
    if table.first().map(String::as_str) != Some("") {
        let why = if table.is_empty() {
            "it has no string table"
        } else {
            "its string table does not start with an empty string"
        };
        return Err(DecodeError::NotAProfile(why.to_string()));
    }
    let strings = Strings { table };

    let mut sample_types = Vec::with_capacity(raw.sample_types.len());
    for (i, st) in raw.sample_types.iter().enumerate() {
        sample_types.push(ValueType {
            kind: strings.get(st.r#type, || format!("sample type {}", i + 1))?,
            unit: strings.get(st.unit, || format!("sample type {}", i + 1))?,
        });
    }

    let mut mappings = Vec::with_capacity(raw.mappings.len());
    for m in &raw.mappings {
        mappings.push(Mapping {
            id: m.id,
            memory_start: m.memory_start,
            memory_limit: m.memory_limit,
            file_offset: m.file_offset,
            filename: strings.get(m.filename, || format!("mapping {}", m.id))?,
            build_id: strings.get(m.build_id, || format!("mapping {}", m.id))?,
            has_functions: m.has_functions,
            has_filenames: m.has_filenames,
            has_line_numbers: m.has_line_numbers,
            has_inline_frames: m.has_inline_frames,
        });
    }
    let mapping_index = IdIndex::build(
        "mapping",
        raw.mappings.iter().map(|m| m.id),
        raw.mappings.len(),
    )?;

    let mut functions = Vec::with_capacity(raw.functions.len());
    for f in &raw.functions {
        functions.push(Function {
            id: f.id,
            name: strings.get(f.name, || format!("function {}", f.id))?,
            system_name: strings.get(f.system_name, || format!("function {}", f.id))?,
            filename: strings.get(f.filename, || format!("function {}", f.id))?,
            start_line: f.start_line,
        });
    }
    let function_index = IdIndex::build(
        "function",
        raw.functions.iter().map(|f| f.id),
        raw.functions.len(),
    )?;

    let location_index = IdIndex::build(
        "location",
        raw.locations.iter().map(|l| l.id),
        raw.locations.len(),
    )?;
    // Go numbers locations 1..=n in the order it writes them; then an id is its index + 1
    // and the packed stacks are already in the model's encoding.
    let ids_in_order = raw
        .locations
        .iter()
        .enumerate()
        .all(|(i, l)| l.id == i as u64 + 1);
    let mut locations = Vec::with_capacity(raw.locations.len());
    for l in raw.locations {
        let mapping = match l.mapping_id {
            0 => None,
            id => Some(mapping_index.get(id).ok_or_else(|| {
                DecodeError::Invalid(format!(
                    "location {} refers to mapping {id}, which the profile does not define",
                    l.id
                ))
            })?),
        };
        let mut lines = Vec::with_capacity(l.line.len());
        for line in &l.line {
            let function = function_index.get(line.function_id).ok_or_else(|| {
                DecodeError::Invalid(format!(
                    "location {} refers to function {}, which the profile does not define",
                    l.id, line.function_id
                ))
            })?;
            lines.push(Line {
                function,
                line: line.line,
            });
        }
        locations.push(Location {
            id: l.id,
            mapping,
            address: l.address,
            lines,
            is_folded: l.is_folded,
        });
    }

    let sample_count = raw.stack_ends.len();
    if sample_types.is_empty() && sample_count > 0 {
        return Err(DecodeError::Invalid(
            "the profile has samples but declares no sample types".to_string(),
        ));
    }
    let value_count_error = |number: usize, count: usize| {
        DecodeError::Invalid(format!(
            "sample {number} has {count} values, but the profile declares {} sample types",
            sample_types.len()
        ))
    };
    if let Some(first) = raw.first_value_count
        && first != sample_types.len()
    {
        return Err(value_count_error(1, first));
    }
    if let Some((number, count)) = raw.value_mismatch {
        return Err(value_count_error(number, count));
    }

    let mut label_sets = Vec::with_capacity(raw.label_sets.len() + 1);
    label_sets.push(Labels::default());
    for (bytes, number) in &raw.label_sets {
        let mut messages = Vec::new();
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let (len, used) = match read_varint(rest) {
                Some(Ok(v)) => v,
                _ => break,
            };
            let end = (used as u64).saturating_add(len).min(rest.len() as u64) as usize;
            messages.push(proto::Label::decode(&rest[used..end]).map_err(|e| {
                DecodeError::NotAProfile(format!("protobuf decoding failed (label: {e})"))
            })?);
            rest = &rest[end..];
        }
        label_sets.push(resolve_labels(&messages, &strings, *number)?);
    }

    let mut samples = Samples::from_parts(
        raw.stacks,
        raw.stack_ends,
        raw.values,
        sample_types.len(),
        raw.label_of,
        label_sets,
    );
    if !ids_in_order {
        let mut unknown: Option<(usize, u64)> = None;
        samples.remap_locations(|sample, id| match location_index.get(id) {
            Some(index) => index as u64 + 1,
            None => {
                unknown.get_or_insert((sample, id));
                0
            }
        });
        if let Some((sample, id)) = unknown {
            return Err(unknown_location(sample + 1, id));
        }
    }
    if let Err(BadLocation { sample, value }) = samples.check_stacks(locations.len()) {
        return Err(unknown_location(sample + 1, value));
    }

    let period_type = match &raw.period_type {
        Some(pt) => Some(ValueType {
            kind: strings.get(pt.r#type, || "the period type".to_string())?,
            unit: strings.get(pt.unit, || "the period type".to_string())?,
        }),
        None => None,
    };
    let mut comments = Vec::with_capacity(raw.comments.len());
    for &c in &raw.comments {
        comments.push(strings.get(c, || "a comment".to_string())?);
    }
    let default_sample_type = strings.get(raw.default_sample_type, || {
        "the default sample type".to_string()
    })?;

    Ok(Profile {
        sample_types,
        default_sample_type: Some(default_sample_type).filter(|s| !s.is_empty()),
        samples,
        mappings,
        locations,
        functions,
        drop_frames: strings.get(raw.drop_frames, || "drop_frames".to_string())?,
        keep_frames: strings.get(raw.keep_frames, || "keep_frames".to_string())?,
        time_nanos: raw.time_nanos,
        duration_nanos: raw.duration_nanos,
        period_type,
        period: raw.period,
        comments,
    })
}

fn unknown_location(number: usize, id: u64) -> DecodeError {
    DecodeError::Invalid(format!(
        "sample {number} refers to location {id}, which the profile does not define"
    ))
}

/// String labels and numeric labels with units, as pprof's postDecode reads them: a label
/// with a string value is a string label; one with a number or a unit is numeric; units are
/// padded so that each numeric value has one when any has.
fn resolve_labels(
    labels: &[proto::Label],
    strings: &Strings,
    sample: usize,
) -> Result<Labels, DecodeError> {
    let mut out = Labels::default();
    for label in labels {
        let key = strings.get(label.key, || format!("a label of sample {sample}"))?;
        if label.str != 0 {
            let value = strings.get(label.str, || format!("label {key:?} of sample {sample}"))?;
            out.strings.entry(key).or_default().push(value);
        } else if label.num != 0 || label.num_unit != 0 {
            let values = out.numbers.entry(key.clone()).or_default();
            if label.num_unit != 0 {
                let unit = strings.get(label.num_unit, || {
                    format!("label {key:?} of sample {sample}")
                })?;
                let units = out.number_units.entry(key.clone()).or_default();
                units.resize(values.len(), String::new());
                units.push(unit);
            }
            values.push(label.num);
        }
    }
    for (key, units) in out.number_units.iter_mut() {
        if let Some(values) = out.numbers.get(key)
            && units.len() < values.len()
        {
            units.resize(values.len(), String::new());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    /// Two functions at locations with ids 20 and 10 (not 1..=n in order), three samples.
    fn profile() -> proto::Profile {
        let location = |id, function_id| proto::Location {
            id,
            line: vec![proto::Line {
                function_id,
                line: 1,
            }],
            ..Default::default()
        };
        let function = |id, name| proto::Function {
            id,
            name,
            ..Default::default()
        };
        let sample = |location_id: Vec<u64>, value| proto::Sample {
            location_id,
            value: vec![value],
            label: vec![],
        };
        proto::Profile {
            sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
            sample: vec![
                sample(vec![10, 20], 5),
                sample(vec![20], 7),
                sample(vec![], 1),
            ],
            location: vec![location(20, 2), location(10, 1)],
            function: vec![function(1, 3), function(2, 4)],
            string_table: strings(&["", "samples", "count", "leaf", "root"]),
            ..Default::default()
        }
    }

    fn names(p: &Profile, sample: usize) -> Vec<&str> {
        p.stack_names(p.sample(sample)).collect()
    }

    #[test]
    fn location_ids_out_of_order_are_resolved() {
        let p = decode(&profile().encode_to_vec(), &DecodeOptions::default()).unwrap();
        assert_eq!(p.sample_count(), 3);
        assert_eq!(names(&p, 0), ["leaf", "root"]);
        assert_eq!(names(&p, 1), ["root"]);
        assert!(names(&p, 2).is_empty());
        assert_eq!(p.sample(1).values(), [7]);
    }

    #[test]
    fn gzip_and_plain_decode_alike() {
        use std::io::Write;
        let plain = profile().encode_to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        let options = DecodeOptions::default();
        assert_eq!(decode(&gz, &options), decode(&plain, &options));
    }

    #[test]
    fn unpacked_location_ids_are_read_too() {
        // Field 1 of a sample as separate varints (wire type 0) instead of one packed field.
        let mut p = profile();
        p.sample.clear();
        let mut bytes = p.encode_to_vec();
        let sample = [0x08, 10, 0x08, 20, 0x10, 9];
        bytes.extend_from_slice(&[0x12, sample.len() as u8]);
        bytes.extend_from_slice(&sample);
        let p = decode(&bytes, &DecodeOptions::default()).unwrap();
        assert_eq!(names(&p, 0), ["leaf", "root"]);
        assert_eq!(p.sample(0).values(), [9]);
    }

    #[test]
    fn an_unknown_location_names_the_sample() {
        let mut p = profile();
        p.sample[1].location_id = vec![20, 99];
        let e = decode(&p.encode_to_vec(), &DecodeOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "sample 2 refers to location 99, which the profile does not define"
        );
    }

    #[test]
    fn limits_name_themselves_and_their_flag() {
        let bytes = profile().encode_to_vec();
        let check = |options: DecodeOptions, expected: &str| {
            assert_eq!(decode(&bytes, &options).unwrap_err().to_string(), expected);
        };
        let defaults = DecodeOptions::default();
        check(
            DecodeOptions {
                max_samples: 2,
                ..defaults
            },
            "the number of samples exceeds the limit of 2 (raise it with --max-samples)",
        );
        check(
            DecodeOptions {
                max_stack_depth: 1,
                ..defaults
            },
            "the stack of sample 1 (2 locations) exceeds the limit of 1 (raise it with --max-stack-depth)",
        );
        check(
            DecodeOptions {
                max_locations: 1,
                ..defaults
            },
            "the number of locations exceeds the limit of 1 (raise it with --max-locations)",
        );
        check(
            DecodeOptions {
                max_functions: 1,
                ..defaults
            },
            "the number of functions exceeds the limit of 1 (raise it with --max-functions)",
        );
        check(
            DecodeOptions {
                max_string_bytes: 6,
                ..defaults
            },
            "string 1 (7 bytes) exceeds the limit of 6 (raise it with --max-string-length)",
        );
        check(
            DecodeOptions {
                max_decompressed_bytes: 10,
                ..defaults
            },
            "decompressed size exceeds the limit of 10 bytes (raise it with --max-decompressed-size)",
        );
    }
}
