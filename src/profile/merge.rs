//! Merging profiles into one, as google/pprof's `profile.Merge` does (what
//! `go tool pprof -proto a.prof b.prof` writes): the profiles must have the same sample
//! types and period type; samples with the same stack (after locations, functions and
//! mappings are unified) and the same labels are summed; samples whose values are all zero
//! are dropped; the duration is the sum, the time the earliest, the period the largest.
//! Only what the kept samples refer to is carried over (the first profile's main mapping
//! too), so the result is compact.

use rustc_hash::FxHashMap;

use super::model::{Function, Labels, Line, Location, Mapping, Profile, Samples, ValueType};

/// Why profiles cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// Nothing was given to merge.
    #[error("no profiles to merge")]
    Nothing,
    /// The merged stacks pass the 4 GiB that the model addresses.
    #[error("the merged profile's stacks take more than 4 GiB")]
    TooLarge,
    /// Profile `index` (from 0) measures something else than the first one.
    #[error("{what}")]
    Incompatible {
        /// Which profile (from 0) differs from the first.
        index: usize,
        /// The difference, with both sides: `sample types [samples/count cpu/nanoseconds]
        /// differ from the first profile's [contentions/count delay/nanoseconds]`.
        what: String,
    },
}

/// Merges `profiles` into one; see the module doc.
pub fn merge(profiles: &[&Profile]) -> Result<Profile, MergeError> {
    let first = profiles.first().ok_or(MergeError::Nothing)?;
    for (index, p) in profiles.iter().enumerate().skip(1) {
        compatible(first, p).map_err(|what| MergeError::Incompatible { index, what })?;
    }
    let mut merger = Merger::new(combine_headers(profiles));
    for src in profiles {
        let mut memo = SourceMemo::new(src);
        // The first mapping is the main binary (`File:` in pprof's header): it is taken
        // before any location's, so that it stays first. (pprof takes the first profile's
        // here, which panics when only a later profile has mappings; this takes that one's.)
        if merger.out.mappings.is_empty() && !src.mappings.is_empty() {
            merger.map_mapping(src, &mut memo, 0);
        }
        for sample in src.samples() {
            if sample.values().all(|v| v == 0) {
                continue;
            }
            merger.map_sample(src, &mut memo, sample);
        }
    }
    let merged = merger.finish()?;
    let has_zero = merged.samples().any(|s| s.values().all(|v| v == 0));
    if has_zero {
        // Values that cancel (a profile and its negation, as `-base` makes) leave zero
        // samples: merging again alone drops them and what only they referred to.
        return merge(&[&merged]);
    }
    Ok(merged)
}

/// `type/unit` of a value type, as pprof prints it.
fn describe(types: &[ValueType]) -> String {
    let words: Vec<String> = types
        .iter()
        .map(|t| format!("{}/{}", t.kind, t.unit))
        .collect();
    format!("[{}]", words.join(" "))
}

/// Whether `other` can be merged into `first`: the same period type (a missing one counts as
/// an empty one, as pprof's decoder makes it) and the same sample types in the same order.
fn compatible(first: &Profile, other: &Profile) -> Result<(), String> {
    let period = |p: &Profile| p.period_type.clone().unwrap_or_default();
    if period(first) != period(other) {
        return Err(format!(
            "period type {} differs from the first profile's {}",
            describe(&[period(other)]),
            describe(&[period(first)])
        ));
    }
    if first.sample_types != other.sample_types {
        return Err(format!(
            "sample types {} differ from the first profile's {}",
            describe(&other.sample_types),
            describe(&first.sample_types)
        ));
    }
    Ok(())
}

/// The merged profile's header, as pprof's `combineHeaders` makes it.
fn combine_headers(profiles: &[&Profile]) -> Profile {
    let mut time_nanos = 0i64;
    let mut duration_nanos = 0i64;
    let mut period = 0i64;
    let mut comments: Vec<String> = Vec::new();
    let mut default_sample_type: Option<String> = None;
    let mut doc_url = String::new();
    for p in profiles {
        // pprof's own test, kept as it is: a later profile without a time resets the
        // earliest to 0 until another profile gives one.
        if time_nanos == 0 || p.time_nanos < time_nanos {
            time_nanos = p.time_nanos;
        }
        // Go adds durations in wrapping int64 arithmetic; so does this.
        duration_nanos = duration_nanos.wrapping_add(p.duration_nanos);
        if period == 0 || period < p.period {
            period = p.period;
        }
        for c in &p.comments {
            // Current pprof keeps each comment once (Go 1.19's vendored copy kept repeats).
            if !comments.contains(c) {
                comments.push(c.clone());
            }
        }
        if default_sample_type.is_none() {
            default_sample_type = p.default_sample_type.clone();
        }
        if doc_url.is_empty() {
            doc_url = p.doc_url.clone();
        }
    }
    let first = profiles[0];
    Profile {
        sample_types: first.sample_types.clone(),
        default_sample_type,
        samples: Samples::new(first.sample_types.len()),
        mappings: Vec::new(),
        locations: Vec::new(),
        functions: Vec::new(),
        drop_frames: first.drop_frames.clone(),
        keep_frames: first.keep_frames.clone(),
        time_nanos,
        duration_nanos,
        period_type: first.period_type.clone(),
        period,
        comments,
        doc_url,
    }
}

/// What one source profile's mappings, locations and functions became in the merged one.
struct SourceMemo {
    /// Merged mapping index and the address offset (merged start − source start).
    mappings: Vec<Option<(usize, i64)>>,
    locations: Vec<Option<usize>>,
    functions: Vec<Option<usize>>,
}

impl SourceMemo {
    fn new(src: &Profile) -> Self {
        SourceMemo {
            mappings: vec![None; src.mappings.len()],
            locations: vec![None; src.locations.len()],
            functions: vec![None; src.functions.len()],
        }
    }
}

/// A mapping's identity across profiles: its size rounded up to 4 KiB (address space
/// randomisation moves it, the linker may pad it), its file offset, and its build id, else
/// its file name, else nothing (a fake mapping, merged with the other fake ones).
#[derive(Hash, PartialEq, Eq)]
struct MappingKey {
    size: u64,
    offset: u64,
    build_id_or_file: String,
}

/// A location's identity: its address relative to its mapping, the mapping, its frames
/// (function, line, column) and whether it is folded.
#[derive(Hash, PartialEq, Eq)]
struct LocationKey {
    address: u64,
    mapping: Option<usize>,
    lines: Vec<(usize, i64, i64)>,
    is_folded: bool,
}

/// A function's identity: name, system name, file and start line.
#[derive(Hash, PartialEq, Eq)]
struct FunctionKey {
    start_line: i64,
    name: String,
    system_name: String,
    filename: String,
}

struct Merger {
    out: Profile,
    mappings: FxHashMap<MappingKey, usize>,
    locations: FxHashMap<LocationKey, usize>,
    functions: FxHashMap<FunctionKey, usize>,
    /// Each merged sample's stack and labels, and its number in first-seen order.
    samples: FxHashMap<(Vec<usize>, Labels), usize>,
    /// The merged samples' values, by number.
    values: Vec<Vec<i64>>,
}

impl Merger {
    fn new(out: Profile) -> Self {
        Merger {
            out,
            mappings: FxHashMap::default(),
            locations: FxHashMap::default(),
            functions: FxHashMap::default(),
            samples: FxHashMap::default(),
            values: Vec::new(),
        }
    }

    fn map_sample(
        &mut self,
        src: &Profile,
        memo: &mut SourceMemo,
        sample: super::model::SampleRef<'_>,
    ) {
        let stack: Vec<usize> = sample
            .locations()
            .map(|l| self.map_location(src, memo, l))
            .collect();
        let key = (stack, sample.labels().clone());
        match self.samples.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => {
                for (sum, v) in self.values[*e.get()].iter_mut().zip(sample.values()) {
                    // Go sums in wrapping int64 arithmetic; so does this.
                    *sum = sum.wrapping_add(v);
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(self.values.len());
                self.values.push(sample.values().to_vec());
            }
        }
    }

    fn map_location(&mut self, src: &Profile, memo: &mut SourceMemo, index: usize) -> usize {
        if let Some(merged) = memo.locations[index] {
            return merged;
        }
        let location = &src.locations[index];
        let (mapping, offset) = match location.mapping {
            Some(m) => {
                let (merged, offset) = self.map_mapping(src, memo, m);
                (Some(merged), offset)
            }
            None => (None, 0),
        };
        let address = (location.address as i64).wrapping_add(offset) as u64;
        let lines: Vec<Line> = location
            .lines
            .iter()
            .map(|line| Line {
                function: self.map_function(src, memo, line.function),
                line: line.line,
                column: line.column,
            })
            .collect();
        let key = LocationKey {
            address: match mapping {
                Some(m) => address.wrapping_sub(self.out.mappings[m].memory_start),
                None => address,
            },
            mapping,
            lines: lines
                .iter()
                .map(|l| (l.function, l.line, l.column))
                .collect(),
            is_folded: location.is_folded,
        };
        let merged = match self.locations.get(&key) {
            Some(&merged) => merged,
            None => {
                let merged = self.out.locations.len();
                self.out.locations.push(Location {
                    id: merged as u64 + 1,
                    mapping,
                    address,
                    lines,
                    is_folded: location.is_folded,
                });
                self.locations.insert(key, merged);
                merged
            }
        };
        memo.locations[index] = Some(merged);
        merged
    }

    fn map_mapping(&mut self, src: &Profile, memo: &mut SourceMemo, index: usize) -> (usize, i64) {
        if let Some(done) = memo.mappings[index] {
            return done;
        }
        let m = &src.mappings[index];
        let rounding = 0x1000u64;
        let size = m.memory_limit.wrapping_sub(m.memory_start);
        let size = size.wrapping_add(rounding - 1);
        let size = size - size % rounding;
        let key = MappingKey {
            size,
            offset: m.file_offset,
            build_id_or_file: if !m.build_id.is_empty() {
                m.build_id.clone()
            } else {
                m.filename.clone()
            },
        };
        let done = match self.mappings.get(&key) {
            Some(&merged) => {
                let start = self.out.mappings[merged].memory_start;
                (merged, (start as i64).wrapping_sub(m.memory_start as i64))
            }
            None => {
                let merged = self.out.mappings.len();
                self.out.mappings.push(Mapping {
                    id: merged as u64 + 1,
                    ..m.clone()
                });
                self.mappings.insert(key, merged);
                (merged, 0)
            }
        };
        memo.mappings[index] = Some(done);
        done
    }

    fn map_function(&mut self, src: &Profile, memo: &mut SourceMemo, index: usize) -> usize {
        if let Some(merged) = memo.functions[index] {
            return merged;
        }
        let f = &src.functions[index];
        let key = FunctionKey {
            start_line: f.start_line,
            name: f.name.clone(),
            system_name: f.system_name.clone(),
            filename: f.filename.clone(),
        };
        let merged = match self.functions.get(&key) {
            Some(&merged) => merged,
            None => {
                let merged = self.out.functions.len();
                self.out.functions.push(Function {
                    id: merged as u64 + 1,
                    ..f.clone()
                });
                self.functions.insert(key, merged);
                merged
            }
        };
        memo.functions[index] = Some(merged);
        merged
    }

    /// The merged profile, its samples in the order they were first seen.
    fn finish(mut self) -> Result<Profile, MergeError> {
        let mut order: Vec<((Vec<usize>, Labels), usize)> = self.samples.into_iter().collect();
        order.sort_unstable_by_key(|(_, i)| *i);
        for ((stack, labels), i) in order {
            self.out
                .samples
                .push(&stack, &self.values[i], labels)
                .map_err(|_| MergeError::TooLarge)?;
        }
        Ok(self.out)
    }
}
