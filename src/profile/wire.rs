//! The protobuf wire format of profile.proto, read from a stream field by field: samples
//! go straight into their final columns, the small messages are decoded with prost, and every
//! count and size is held to the decode limits while it is read, and every entry is charged
//! to the memory budget before it is stored.

use std::io::Read;

use prost::Message;
use rustc_hash::FxHashMap;

use super::codes::StackCoder;
use super::columns::{IndexColumn, ValueColumns, reserve_toward};
use super::limits::{DecodeError, DecodeOptions, MemoryBudget, heap_bytes, read_error};
use super::{model, proto};

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
    /// Each sample's packed location ids, as they came or coded (see `coder`).
    pub(super) stacks: Vec<u8>,
    /// Whether `stacks` holds ids as read or codes, and the codes' ids.
    pub(super) coder: StackCoder,
    pub(super) stack_ends: Vec<u32>,
    /// The values of every sample whose value count is the first sample's.
    pub(super) values: ValueColumns,
    pub(super) label_of: IndexColumn,
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
    /// How the per-sample buffers grow (from the expected size of the whole stream).
    pub(super) growth: Growth,
    pub(super) doc_url: i64,
}

/// What one entry of each repeated field holds in memory once decoded and resolved, for the
/// memory budget: the prost message as read, in a vector grown by doubling (so up to
/// `GROWTH` times its size: address space is what runs out), the model's struct it becomes
/// (allocated to size), and its slot in the id index (a vector of `Option<usize>`, or a hash
/// map entry for large ids).
const GROWTH: usize = 2;
const ID_SLOT: u64 = 2 * size_of::<Option<usize>>() as u64;
pub(super) const SAMPLE_TYPE_COST: u64 =
    (GROWTH * size_of::<proto::ValueType>() + size_of::<model::ValueType>()) as u64;
pub(super) const MAPPING_COST: u64 =
    (GROWTH * size_of::<proto::Mapping>() + size_of::<model::Mapping>()) as u64 + ID_SLOT;
pub(super) const LOCATION_COST: u64 =
    (GROWTH * size_of::<proto::Location>() + size_of::<model::Location>()) as u64 + ID_SLOT;
pub(super) const LINE_COST: u64 =
    (GROWTH * size_of::<proto::Line>() + size_of::<model::Line>()) as u64;
pub(super) const FUNCTION_COST: u64 =
    (GROWTH * size_of::<proto::Function>() + size_of::<model::Function>()) as u64 + ID_SLOT;
/// A string of the table (its bytes are charged besides).
pub(super) const STRING_COST: u64 = (GROWTH * size_of::<String>()) as u64;
/// A comment: its index, then the string it resolves to (whose bytes are charged then).
pub(super) const COMMENT_COST: u64 = (GROWTH * size_of::<i64>() + size_of::<String>()) as u64;
/// A sample: its stack's end and its label set's index (stack bytes and values are
/// charged besides).
pub(super) const SAMPLE_COST: u64 = (GROWTH * 2 * size_of::<u32>()) as u64;
/// One value of a sample.
pub(super) const VALUE_COST: u64 = (GROWTH * size_of::<i64>()) as u64;
/// One byte of a stack: in the column grown by doubling, then copied once when location
/// ids are renumbered.
pub(super) const STACK_BYTE_COST: u64 = GROWTH as u64 + 1;
/// One code given to a location id while reading (`codes.rs`): its id in the list of codes
/// and its entry in the map of larger ids, both grown by doubling, and its location index.
pub(super) const CODE_COST: u64 =
    (GROWTH * (size_of::<u64>() + 2 * size_of::<(u64, u32)>()) + size_of::<u32>()) as u64;
/// One label of a distinct label set: the prost message, the key and value it resolves
/// to, and its entry in the set's map (resolved strings' bytes are charged then).
pub(super) const LABEL_COST: u64 =
    (GROWTH * size_of::<proto::Label>() + 2 * size_of::<String>() + 32) as u64;
/// Most memory one byte of a sample message can become: a 2-byte label, a 1-byte value,
/// a 1-byte location id (kept, and copied once when ids are renumbered).
const SAMPLE_WORST_PER_BYTE: u64 = {
    let label = LABEL_COST.div_ceil(2) + 2;
    let value = VALUE_COST + STACK_BYTE_COST;
    if label > value { label } else { value }
};

const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

pub(super) fn read_fields<R: Read>(
    input: &mut Input<R>,
    options: &DecodeOptions,
    budget: &MemoryBudget,
    expected_bytes: Option<u64>,
) -> Result<RawProfile, Failure> {
    let mut raw = RawProfile {
        sample_types: Vec::new(),
        stacks: Vec::new(),
        coder: StackCoder::for_stream(expected_bytes),
        stack_ends: Vec::new(),
        values: ValueColumns::new(0),
        label_of: IndexColumn::default(),
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
        growth: Growth {
            expected_bytes: expected_bytes.map(|b| b.min(options.max_decompressed_bytes)),
        },
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
                // The worst this entry could take, refused before its bytes are read: one
                // message of a gigabyte of 2-byte labels or lines is not inflated first.
                let read = input.consumed().saturating_add(len);
                let worst = match field {
                    2 => len.saturating_mul(SAMPLE_WORST_PER_BYTE),
                    4 => LOCATION_COST.saturating_add(len.saturating_mul(LINE_COST.div_ceil(2))),
                    _ => 0,
                };
                budget.check(len.saturating_add(worst), read, || {
                    format!("{} ({len} bytes)", entry_name(field, &raw))
                })?;
                let payload = input.bytes(len)?;
                read_message(
                    field,
                    payload,
                    &mut raw,
                    &mut sample,
                    &mut label_ids,
                    Context {
                        options,
                        budget,
                        read,
                    },
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
            (13, VARINT) => {
                let value = input.varint()? as i64;
                charge_comments(budget, 1, input.consumed(), &raw)?;
                raw.comments.push(value);
            }
            (13, LEN) => {
                let len = input.varint()?;
                let read = input.consumed().saturating_add(len);
                let mut packed = input.bytes(len)?;
                // Every byte below 0x80 ends one varint.
                let count = packed.iter().filter(|&&b| b < 0x80).count() as u64;
                charge_comments(budget, count, read, &raw)?;
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

/// How an entry of a top-level field is named in a memory refusal: `string 12`, `sample 3`.
fn entry_name(field: u64, raw: &RawProfile) -> String {
    let (kind, number) = match field {
        1 => ("sample type", raw.sample_types.len()),
        2 => ("sample", raw.stack_ends.len()),
        3 => ("mapping", raw.mappings.len()),
        4 => ("location", raw.locations.len()),
        5 => ("function", raw.functions.len()),
        6 => ("string", raw.strings.len()),
        _ => return "the period type".to_string(),
    };
    format!("{kind} {}", number + 1)
}

fn charge_comments(
    budget: &MemoryBudget,
    count: u64,
    read: u64,
    raw: &RawProfile,
) -> Result<(), Failure> {
    budget.charge(count.saturating_mul(COMMENT_COST), read, || {
        format!("comment {}", raw.comments.len() as u64 + count)
    })?;
    Ok(())
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

/// What every message reader needs besides its payload: the limits, the memory budget and
/// how many decompressed bytes have been read (the budget grows with them).
#[derive(Clone, Copy)]
struct Context<'a> {
    options: &'a DecodeOptions,
    budget: &'a MemoryBudget,
    read: u64,
}

impl Context<'_> {
    fn charge(&self, bytes: u64, what: impl FnOnce() -> String) -> Result<(), Failure> {
        self.budget.charge(bytes, self.read, what)?;
        Ok(())
    }

    fn check(&self, bytes: u64, what: impl FnOnce() -> String) -> Result<(), Failure> {
        self.budget.check(bytes, self.read, what)?;
        Ok(())
    }
}

/// Entries of a top-level field whose id is 0 can never be referred to, and profile.proto
/// reserves it: refused as they are read, so that a file of empty entries stops at its first.
fn reserved_id(kind: &str, id: u64, position: usize) -> Result<(), Failure> {
    if id == 0 {
        return Err(Failure::Decode(DecodeError::Invalid(format!(
            "{kind} {position} has the reserved id 0"
        ))));
    }
    Ok(())
}

/// How many entries of field `tag` (any wire type) a message holds, counted over its
/// top-level fields without decoding them.
fn count_field(mut payload: &[u8], tag: u64) -> Result<u64, Failure> {
    let mut count = 0;
    while !payload.is_empty() {
        let (key, used) = slice_varint(payload)?;
        payload = &payload[used..];
        if key >> 3 == tag {
            count += 1;
        }
        skip_field(&mut payload, key & 7)?;
    }
    Ok(count)
}

fn read_message(
    field: u64,
    payload: &[u8],
    raw: &mut RawProfile,
    sample: &mut SampleScratch,
    label_ids: &mut FxHashMap<Vec<u8>, u32>,
    cx: Context<'_>,
) -> Result<(), Failure> {
    let options = cx.options;
    match field {
        1 => {
            cx.charge(SAMPLE_TYPE_COST, || {
                format!("sample type {}", raw.sample_types.len() + 1)
            })?;
            raw.sample_types
                .push(proto::ValueType::decode(payload).map_err(|e| prost_error("sample type", e))?)
        }
        2 => read_sample(payload, raw, sample, label_ids, cx)?,
        3 => {
            let number = raw.mappings.len() + 1;
            cx.charge(MAPPING_COST, || format!("mapping {number}"))?;
            let mapping = proto::Mapping::decode(payload).map_err(|e| prost_error("mapping", e))?;
            reserved_id("mapping", mapping.id, number)?;
            raw.mappings.push(mapping)
        }
        4 => {
            if raw.locations.len() >= options.max_locations {
                return Err(limit(
                    "the number of locations",
                    options.max_locations,
                    "--max-locations",
                ));
            }
            let number = raw.locations.len() + 1;
            let lines = count_field(payload, 4)?;
            cx.charge(
                LOCATION_COST.saturating_add(lines.saturating_mul(LINE_COST)),
                || format!("location {number} ({lines} lines)"),
            )?;
            let location =
                proto::Location::decode(payload).map_err(|e| prost_error("location", e))?;
            reserved_id("location", location.id, number)?;
            raw.locations.push(location)
        }
        5 => {
            if raw.functions.len() >= options.max_functions {
                return Err(limit(
                    "the number of functions",
                    options.max_functions,
                    "--max-functions",
                ));
            }
            let number = raw.functions.len() + 1;
            cx.charge(FUNCTION_COST, || format!("function {number}"))?;
            let function =
                proto::Function::decode(payload).map_err(|e| prost_error("function", e))?;
            reserved_id("function", function.id, number)?;
            raw.functions.push(function)
        }
        6 => {
            cx.charge(STRING_COST + heap_bytes(payload.len()), || {
                format!("string {}", raw.strings.len() + 1)
            })?;
            raw.strings.push(match String::from_utf8(payload.to_vec()) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            })
        }
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
    cx: Context<'_>,
) -> Result<(), Failure> {
    let options = cx.options;
    let number = raw.stack_ends.len() + 1;
    if number > options.max_samples {
        return Err(limit(
            "the number of samples",
            options.max_samples,
            "--max-samples",
        ));
    }
    scratch.stack.clear();
    let codes_before = raw.coder.code_count();
    scratch.values.clear();
    scratch.labels.clear();
    let mut depth = 0usize;
    let mut label_count = 0u64;
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
                raw.coder.append_packed(packed, &mut scratch.stack);
            }
            (1, VARINT) => {
                let (id, used) = slice_varint(payload)?;
                payload = &payload[used..];
                raw.coder.append_id(id, &mut scratch.stack);
                depth += 1;
            }
            (2, LEN) => {
                let (len, used) = slice_varint(payload)?;
                payload = &payload[used..];
                let mut packed = take(&mut payload, len)?;
                let count = packed.iter().filter(|&&b| b < 0x80).count();
                cx.check((scratch.values.len() + count) as u64 * VALUE_COST, || {
                    format!("sample {number} ({} values)", scratch.values.len() + count)
                })?;
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
                label_count += 1;
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
        None => {
            raw.first_value_count = Some(scratch.values.len());
            raw.values = ValueColumns::new(scratch.values.len());
        }
        Some(count) if count != scratch.values.len() && raw.value_mismatch.is_none() => {
            raw.value_mismatch = Some((number, scratch.values.len()));
        }
        Some(_) => {}
    }
    if scratch.values.is_empty() {
        // Never valid: a profile with samples declares sample types, and each sample has
        // one value per type. Refused at once, so a file of empty samples stops here.
        return Err(Failure::Decode(DecodeError::Invalid(format!(
            "sample {number} has no values: every sample needs one per sample type"
        ))));
    }
    let stored_values = if raw.first_value_count == Some(scratch.values.len()) {
        scratch.values.len() as u64
    } else {
        0
    };
    let new_codes = (raw.coder.code_count() - codes_before) as u64;
    cx.charge(
        SAMPLE_COST
            + stored_values * VALUE_COST
            + STACK_BYTE_COST * scratch.stack.len() as u64
            + new_codes * CODE_COST,
        || format!("sample {number}"),
    )?;
    let label_set = if scratch.labels.is_empty() {
        0
    } else if let Some(&id) = label_ids.get(&scratch.labels) {
        id
    } else {
        // Kept twice (the set and its key in the map), and resolved label by label.
        cx.charge(
            2 * scratch.labels.len() as u64 + label_count * LABEL_COST,
            || format!("the labels of sample {number} ({label_count} labels)"),
        )?;
        raw.label_sets.push((scratch.labels.clone(), number));
        let id = raw.label_sets.len() as u32;
        label_ids.insert(scratch.labels.clone(), id);
        id
    };
    let read = cx.read;
    if raw.first_value_count == Some(scratch.values.len()) {
        let rows = raw.values.rows();
        raw.values
            .reserve_rows(1, || raw.growth.target(rows, 1, read));
        raw.values.push_row(&scratch.values);
    }
    raw.growth
        .reserve(&mut raw.stacks, scratch.stack.len(), read);
    raw.growth.reserve(&mut raw.stack_ends, 1, read);
    let samples = raw.label_of.len();
    raw.label_of
        .reserve(1, || raw.growth.target(samples, 1, read));
    raw.stacks.extend_from_slice(&scratch.stack);
    let end = u32::try_from(raw.stacks.len()).map_err(|_| {
        limit(
            "the total size of all stacks (4 GiB)",
            u32::MAX as usize,
            "--max-samples",
        )
    })?;
    raw.stack_ends.push(end);
    raw.coder
        .sample_stored(&mut raw.stacks, &mut raw.stack_ends);
    raw.label_of.push(label_set);
    Ok(())
}

/// Growth of the per-sample buffers (stacks, values, stack ends, label sets) from the size the
/// whole stream is expected to have: Go writes the samples first, so a buffer ends about as
/// much larger than it is as the stream is larger than what was read. Reserving that once,
/// instead of doubling, spares the copies and the fresh pages of every size on the way (on a
/// 40 MB heap profile, a fifth of a report's time went to zeroing pages for them) and the
/// unused half of the last doubling. The size is only a hint (a gzip trailer can lie): a
/// reservation that cannot be made falls back to doubling, and untouched reserved pages
/// cost no memory.
#[derive(Debug, Default)]
pub(super) struct Growth {
    /// The expected decompressed size of the whole stream.
    pub(super) expected_bytes: Option<u64>,
}

impl Growth {
    /// Read this much before extrapolating: the first samples are few and uneven.
    const MIN_READ: u64 = 1 << 20;

    /// Makes room for `additional` more items in `buffer`, `read` bytes into the stream.
    fn reserve<T>(&self, buffer: &mut Vec<T>, additional: usize, read: u64) {
        if buffer.capacity() - buffer.len() >= additional {
            return;
        }
        let target = self.target(buffer.len(), additional, read);
        reserve_toward(buffer, additional, target);
    }

    /// The size a buffer of `len` items is expected to end at, `read` bytes into the stream,
    /// when it is worth reserving at once; `None` until enough was read to tell.
    fn target(&self, len: usize, additional: usize, read: u64) -> Option<usize> {
        let expected = self.expected_bytes?;
        if read < Self::MIN_READ || expected <= read {
            return None;
        }
        let estimate = (len as u128 * expected as u128 / read as u128) as usize;
        // A little over, so that the last samples do not make it double after all.
        Some(
            estimate
                .saturating_add(estimate / 32)
                .saturating_add(additional),
        )
    }
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

#[cfg(test)]
mod tests {
    use super::Growth;

    #[test]
    fn buffers_grow_once_to_the_extrapolated_size() {
        let growth = Growth {
            expected_bytes: Some(8 << 20),
        };
        let mut buffer: Vec<u8> = vec![0; 1000];
        buffer.shrink_to_fit();
        // A quarter of the stream read holding 1000 bytes: about 4000 in the end.
        growth.reserve(&mut buffer, 10, 2 << 20);
        assert!(
            (4000..4200).contains(&buffer.capacity()),
            "{}",
            buffer.capacity()
        );
    }

    #[test]
    fn without_a_hint_or_early_on_buffers_double() {
        for (growth, read) in [
            (Growth::default(), 4 << 20),
            (
                Growth {
                    expected_bytes: Some(8 << 20),
                },
                Growth::MIN_READ - 1,
            ),
            (
                // A hint smaller than what was read already is wrong: ignored.
                Growth {
                    expected_bytes: Some(1 << 20),
                },
                4 << 20,
            ),
        ] {
            let mut buffer: Vec<u8> = vec![0; 1000];
            buffer.shrink_to_fit();
            growth.reserve(&mut buffer, 10, read);
            assert!(
                (1010..2100).contains(&buffer.capacity()),
                "{}",
                buffer.capacity()
            );
        }
    }
}
