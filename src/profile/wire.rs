//! The protobuf wire format of profile.proto, read from a stream field by field: samples
//! go straight into their final columns, the small messages are decoded with prost, and every
//! count and size is held to the decode limits while it is read.

use std::io::Read;

use prost::Message;
use rustc_hash::FxHashMap;

use super::limits::{DecodeError, DecodeOptions, read_error};
use super::proto;

/// What stopped the field reader: a wire-format error (the input is probably not a profile
/// at all) or a decode error that already says what is wrong.
pub(super) enum Failure {
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
pub(super) struct Input<R> {
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
    pub(super) fn new(reader: R, gzip: bool, limit: u64) -> Self {
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

    pub(super) fn consumed(&self) -> u64 {
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
    pub(super) fn text_head(&self) -> Option<String> {
        text_first_line(&self.head)
    }
}

/// Decodes a varint at the start of `data`: `None` when `data` ends inside it, an error when
/// it runs past 10 bytes.
#[inline]
pub(super) fn read_varint(data: &[u8]) -> Option<Result<(u64, usize), &'static str>> {
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
pub(super) struct RawProfile {
    pub(super) sample_types: Vec<proto::ValueType>,
    /// Each sample's packed location ids, as they came.
    pub(super) stacks: Vec<u8>,
    pub(super) stack_ends: Vec<u32>,
    /// The values of every sample whose value count is the first sample's.
    pub(super) values: Vec<i64>,
    pub(super) label_of: Vec<u32>,
    /// The first sample whose value count differs from the first sample's: (number, count).
    pub(super) value_mismatch: Option<(usize, usize)>,
    pub(super) first_value_count: Option<usize>,
    /// Raw label messages of each distinct label set (set id − 1) and the first sample
    /// (1-based) that has it, resolved once the string table is known.
    pub(super) label_sets: Vec<(Vec<u8>, usize)>,
    pub(super) mappings: Vec<proto::Mapping>,
    pub(super) locations: Vec<proto::Location>,
    pub(super) functions: Vec<proto::Function>,
    pub(super) strings: Vec<String>,
    pub(super) drop_frames: i64,
    pub(super) keep_frames: i64,
    pub(super) time_nanos: i64,
    pub(super) duration_nanos: i64,
    pub(super) period_type: Option<proto::ValueType>,
    pub(super) period: i64,
    pub(super) comments: Vec<i64>,
    pub(super) default_sample_type: i64,
    pub(super) doc_url: i64,
}

const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

pub(super) fn read_fields<R: Read>(
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
        doc_url: 0,
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
            (7..=10 | 12 | 14 | 15, VARINT) => {
                let value = input.varint()? as i64;
                match field {
                    7 => raw.drop_frames = value,
                    8 => raw.keep_frames = value,
                    9 => raw.time_nanos = value,
                    10 => raw.duration_nanos = value,
                    12 => raw.period = value,
                    14 => raw.default_sample_type = value,
                    _ => raw.doc_url = value,
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
