//! Sniff, decompress, decode and resolve a pprof protobuf into the owned model.
//! Validation follows google/pprof (`profile/encode.go` postDecode and `CheckValid`), but every
//! error says which sample, location or function is wrong instead of "malformed profile".

use std::collections::HashMap;
use std::io::Read;

use prost::Message;

use super::model::{Function, Labels, Line, Location, Mapping, Profile, Sample, ValueType};
use super::proto;

/// Decoding limits. Profiles come from other machines: a gzip bomb must be refused, not
/// decompressed into all of memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Largest decompressed size accepted, in bytes. Default: 1 GiB.
    pub max_decompressed_bytes: u64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_decompressed_bytes: 1 << 30,
        }
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
    #[error("not a pprof profile: {0}")]
    NotAProfile(String),
    #[error("{0}")]
    Invalid(String),
}

/// True when the data starts with the gzip magic number.
pub fn is_gzip(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b
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
    let limit = options.max_decompressed_bytes;
    let decoder = flate2::read::MultiGzDecoder::new(data);
    let mut out = Vec::with_capacity(data.len().saturating_mul(4));
    decoder
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Gzip(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// Decodes a pprof profile, gzipped or not (recognised by content).
pub fn decode(data: &[u8], options: &DecodeOptions) -> Result<Profile, DecodeError> {
    if data.is_empty() {
        return Err(DecodeError::Empty);
    }
    let raw = decompress(data, options)?;
    if raw.is_empty() {
        return Err(DecodeError::NotAProfile(
            "the gzip stream holds no data".to_string(),
        ));
    }
    let message =
        proto::Profile::decode(raw.as_ref()).map_err(|e| match text_first_line(&raw) {
            Some(line) => DecodeError::NotAProfile(format!("it is a text file starting {line:?}")),
            None => DecodeError::NotAProfile(format!("protobuf decoding failed ({e})")),
        })?;
    resolve(message)
}

/// The first line of data that reads as text, shortened for an error message.
fn text_first_line(data: &[u8]) -> Option<String> {
    let head = &data[..data.len().min(512)];
    // A cut may split a character: keep the valid part.
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
    };
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return None;
    }
    let line = text.lines().next().unwrap_or("").trim();
    Some(line.chars().take(60).collect())
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

fn resolve(message: proto::Profile) -> Result<Profile, DecodeError> {
    let table: Vec<String> = message
        .string_table
        .into_iter()
        .map(|bytes| match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
        .collect();
    if table.first().map(String::as_str) != Some("") {
        let why = if table.is_empty() {
            "it has no string table"
        } else {
            "its string table does not start with an empty string"
        };
        return Err(DecodeError::NotAProfile(why.to_string()));
    }
    let strings = Strings { table };

    let mut sample_types = Vec::with_capacity(message.sample_type.len());
    for (i, st) in message.sample_type.iter().enumerate() {
        sample_types.push(ValueType {
            kind: strings.get(st.r#type, || format!("sample type {}", i + 1))?,
            unit: strings.get(st.unit, || format!("sample type {}", i + 1))?,
        });
    }

    let mut mappings = Vec::with_capacity(message.mapping.len());
    for m in &message.mapping {
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
        message.mapping.iter().map(|m| m.id),
        message.mapping.len(),
    )?;

    let mut functions = Vec::with_capacity(message.function.len());
    for f in &message.function {
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
        message.function.iter().map(|f| f.id),
        message.function.len(),
    )?;

    let location_index = IdIndex::build(
        "location",
        message.location.iter().map(|l| l.id),
        message.location.len(),
    )?;
    let mut locations = Vec::with_capacity(message.location.len());
    for l in message.location {
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

    if sample_types.is_empty() && !message.sample.is_empty() {
        return Err(DecodeError::Invalid(
            "the profile has samples but declares no sample types".to_string(),
        ));
    }
    let mut samples = Vec::with_capacity(message.sample.len());
    for (n, s) in message.sample.into_iter().enumerate() {
        let number = n + 1;
        if s.value.len() != sample_types.len() {
            return Err(DecodeError::Invalid(format!(
                "sample {number} has {} values, but the profile declares {} sample types",
                s.value.len(),
                sample_types.len()
            )));
        }
        let mut sample_locations = Vec::with_capacity(s.location_id.len());
        for &id in &s.location_id {
            sample_locations.push(location_index.get(id).ok_or_else(|| {
                DecodeError::Invalid(format!(
                    "sample {number} refers to location {id}, which the profile does not define"
                ))
            })?);
        }
        let labels = resolve_labels(&s.label, &strings, number)?;
        samples.push(Sample {
            locations: sample_locations,
            values: s.value,
            labels,
        });
    }

    let period_type = match &message.period_type {
        Some(pt) => Some(ValueType {
            kind: strings.get(pt.r#type, || "the period type".to_string())?,
            unit: strings.get(pt.unit, || "the period type".to_string())?,
        }),
        None => None,
    };
    let mut comments = Vec::with_capacity(message.comment.len());
    for &c in &message.comment {
        comments.push(strings.get(c, || "a comment".to_string())?);
    }
    let default_sample_type = strings.get(message.default_sample_type, || {
        "the default sample type".to_string()
    })?;

    Ok(Profile {
        sample_types,
        default_sample_type: Some(default_sample_type).filter(|s| !s.is_empty()),
        samples,
        mappings,
        locations,
        functions,
        drop_frames: strings.get(message.drop_frames, || "drop_frames".to_string())?,
        keep_frames: strings.get(message.keep_frames, || "keep_frames".to_string())?,
        time_nanos: message.time_nanos,
        duration_nanos: message.duration_nanos,
        period_type,
        period: message.period,
        comments,
    })
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
