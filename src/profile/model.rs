//! The owned, resolved profile model. Every id of profile.proto is resolved into an index of
//! the vectors below, and every string-table reference into a `String`, so nothing downstream
//! ever sees prost types or raw ids.

use std::collections::BTreeMap;

/// A sample type or the period type: `cpu/nanoseconds`, `inuse_space/bytes`, `goroutine/count`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValueType {
    pub kind: String,
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mapping {
    pub id: u64,
    pub memory_start: u64,
    pub memory_limit: u64,
    pub file_offset: u64,
    pub filename: String,
    pub build_id: String,
    pub has_functions: bool,
    pub has_filenames: bool,
    pub has_line_numbers: bool,
    pub has_inline_frames: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Function {
    pub id: u64,
    pub name: String,
    pub system_name: String,
    pub filename: String,
    pub start_line: i64,
}

/// One frame of a location: a function (index into `Profile::functions`) and a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub function: usize,
    pub line: i64,
}

/// A program counter with the source lines it stands for. `lines` holds the inlined frames,
/// innermost (callee) first, as in profile.proto.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub id: u64,
    /// Index into `Profile::mappings`.
    pub mapping: Option<usize>,
    pub address: u64,
    pub lines: Vec<Line>,
    pub is_folded: bool,
}

/// A label value that came with a sample. String labels and numeric labels (with their unit)
/// are kept apart, as pprof does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Labels {
    pub strings: BTreeMap<String, Vec<String>>,
    pub numbers: BTreeMap<String, Vec<i64>>,
    /// Unit of each numeric label key, when the profile gave one.
    pub number_units: BTreeMap<String, Vec<String>>,
}

impl Labels {
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty() && self.numbers.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sample {
    /// Indices into `Profile::locations`, leaf first.
    pub locations: Vec<usize>,
    /// One value per sample type.
    pub values: Vec<i64>,
    pub labels: Labels,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    pub sample_types: Vec<ValueType>,
    /// Name of the default sample type, when the profile names one.
    pub default_sample_type: Option<String>,
    pub samples: Vec<Sample>,
    pub mappings: Vec<Mapping>,
    pub locations: Vec<Location>,
    pub functions: Vec<Function>,
    pub drop_frames: String,
    pub keep_frames: String,
    pub time_nanos: i64,
    pub duration_nanos: i64,
    pub period_type: Option<ValueType>,
    pub period: i64,
    pub comments: Vec<String>,
}

impl Profile {
    /// Index of the sample type pprof uses when no `-sample_index` is given: the declared
    /// default, else the last one (profile.proto's rule, as in pprof's driver).
    pub fn default_sample_index(&self) -> usize {
        self.default_sample_type
            .as_deref()
            .and_then(|name| self.sample_types.iter().position(|t| t.kind == name))
            .unwrap_or(self.sample_types.len().saturating_sub(1))
    }

    /// The function names of a sample's stack, leaf first, inlined frames included
    /// (innermost first within a location).
    pub fn stack_names<'a>(&'a self, sample: &'a Sample) -> impl Iterator<Item = &'a str> + 'a {
        sample.locations.iter().flat_map(move |&l| {
            self.locations[l]
                .lines
                .iter()
                .map(move |line| self.functions[line.function].name.as_str())
        })
    }

    /// Index of the sample type with this name.
    pub fn sample_index_of(&self, kind: &str) -> Option<usize> {
        self.sample_types.iter().position(|t| t.kind == kind)
    }

    /// Main binary name, as pprof's `File:` header shows it (the base name of the first mapping).
    pub fn main_binary(&self) -> Option<&str> {
        let name = self.mappings.first()?.filename.as_str();
        if name.is_empty() {
            return None;
        }
        Some(name.rsplit('/').next().unwrap_or(name))
    }
}

/// Builds a `Profile` from already-resolved data, deduplicating functions and locations.
/// Used by the text parsers (goroutine dumps) so that they end in the same model.
#[derive(Debug, Default)]
pub struct ProfileBuilder {
    profile: Profile,
    function_index: BTreeMap<(String, String), usize>,
    location_index: BTreeMap<(u64, Vec<(usize, i64)>), usize>,
}

impl ProfileBuilder {
    pub fn new(sample_types: Vec<ValueType>) -> Self {
        ProfileBuilder {
            profile: Profile {
                sample_types,
                ..Profile::default()
            },
            ..ProfileBuilder::default()
        }
    }

    /// Mutable access to the header fields (period, time, comments, …).
    pub fn profile_mut(&mut self) -> &mut Profile {
        &mut self.profile
    }

    /// The index of the function with this name and file, created on first use.
    pub fn function(&mut self, name: &str, filename: &str) -> usize {
        let key = (name.to_string(), filename.to_string());
        if let Some(&index) = self.function_index.get(&key) {
            return index;
        }
        let index = self.profile.functions.len();
        self.profile.functions.push(Function {
            id: index as u64 + 1,
            name: name.to_string(),
            system_name: name.to_string(),
            filename: filename.to_string(),
            start_line: 0,
        });
        self.function_index.insert(key, index);
        index
    }

    /// The index of the location with this address and these frames (innermost first),
    /// created on first use.
    pub fn location(&mut self, address: u64, lines: &[Line]) -> usize {
        let key = (
            address,
            lines
                .iter()
                .map(|l| (l.function, l.line))
                .collect::<Vec<_>>(),
        );
        if let Some(&index) = self.location_index.get(&key) {
            return index;
        }
        let index = self.profile.locations.len();
        self.profile.locations.push(Location {
            id: index as u64 + 1,
            mapping: None,
            address,
            lines: lines.to_vec(),
            is_folded: false,
        });
        self.location_index.insert(key, index);
        index
    }

    pub fn sample(&mut self, locations: Vec<usize>, values: Vec<i64>, labels: Labels) {
        self.profile.samples.push(Sample {
            locations,
            values,
            labels,
        });
    }

    pub fn finish(self) -> Profile {
        self.profile
    }
}
