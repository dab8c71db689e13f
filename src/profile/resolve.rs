//! Resolving the fields as read into the owned model: string indices into strings, ids into
//! indices, label sets into labels. Validation follows google/pprof (`profile/encode.go`
//! postDecode and `CheckValid`), but every error says which sample, location or function is
//! wrong instead of "malformed profile".

use std::collections::HashMap;

use prost::Message;

use super::columns::ValueColumns;
use super::limits::{DecodeError, MemoryBudget, heap_bytes};
use super::model::{
    BadLocation, Function, Labels, Line, Location, Mapping, Profile, Samples, ValueType,
};
use super::proto;
use super::wire::{RawProfile, read_varint};

struct Strings<'a> {
    table: Vec<String>,
    /// Every string handed out is a copy: its bytes are charged (a 1 MiB name that a
    /// million functions share would be a terabyte).
    budget: &'a MemoryBudget,
    read: u64,
}

impl Strings<'_> {
    fn get(&self, index: i64, what: impl Fn() -> String) -> Result<String, DecodeError> {
        let string = usize::try_from(index)
            .ok()
            .and_then(|i| self.table.get(i))
            .ok_or_else(|| {
                DecodeError::Invalid(format!(
                    "{} refers to string {index}, but the string table has {} entries",
                    what(),
                    self.table.len()
                ))
            })?;
        self.budget
            .charge(heap_bytes(string.len()), self.read, || {
                format!("{} (string {index}, {} bytes)", what(), string.len())
            })?;
        Ok(string.clone())
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

/// Resolves `raw`, charging the strings it copies to `budget` (`read`: the decompressed
/// bytes the profile came from).
pub(super) fn resolve(
    raw: RawProfile,
    budget: &MemoryBudget,
    read: u64,
) -> Result<Profile, DecodeError> {
    let table = raw.strings;
    if table.first().map(String::as_str) != Some("") {
        let why = if table.is_empty() {
            "it has no string table"
        } else {
            "its string table does not start with an empty string"
        };
        return Err(DecodeError::NotAProfile(why.to_string()));
    }
    let strings = Strings {
        table,
        budget,
        read,
    };

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
                column: line.column,
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

    // Without samples no row set the number of values: it is the number of sample types.
    let values = if raw.first_value_count.is_some() {
        raw.values
    } else {
        ValueColumns::new(sample_types.len())
    };
    let samples = if let Some(ids) = raw.coder.into_ids() {
        // Ids coded while read: each code's location, found once per code.
        let location_of_code: Vec<u32> = ids
            .iter()
            .map(|&id| {
                location_index
                    .get(id)
                    .map_or(u32::MAX, |index| index as u32)
            })
            .collect();
        let any_unknown = location_of_code.contains(&u32::MAX);
        let samples = Samples::from_coded_parts(
            raw.stacks,
            location_of_code,
            raw.stack_ends,
            values,
            raw.label_of,
            label_sets,
        );
        // Only a code with no location sends the stacks to be searched for its first use.
        if any_unknown {
            let unknown = |code: u64| location_index.get(ids[code as usize - 1]).is_none();
            if let Some((sample, code)) = samples.first_sample_with_code(unknown) {
                return Err(unknown_location(sample + 1, ids[code as usize - 1]));
            }
        }
        samples
    } else {
        let mut samples =
            Samples::from_parts(raw.stacks, raw.stack_ends, values, raw.label_of, label_sets);
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
        samples
    };

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
        doc_url: strings.get(raw.doc_url, || "doc_url".to_string())?,
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
