//! The owned, resolved profile model. Every id of profile.proto is resolved into an index of
//! the vectors below, and every string-table reference into a `String`, so nothing downstream
//! ever sees prost types or raw ids.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::columns::{IndexColumn, ValueColumns, Values};

/// A sample type or the period type: `cpu/nanoseconds`, `inuse_space/bytes`, `goroutine/count`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValueType {
    /// What is measured (profile.proto's `type`): `cpu`, `inuse_space`, `goroutine`.
    pub kind: String,
    /// Unit of the values: `nanoseconds`, `bytes`, `count`.
    pub unit: String,
}

/// A binary or shared library mapped into the profiled process, with how far its frames are
/// symbolized (profile.proto's `Mapping`, strings resolved).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mapping {
    /// The profile's nonzero id for the mapping (kept as read; locations refer by index instead).
    pub id: u64,
    /// Address at which the mapping starts in memory.
    pub memory_start: u64,
    /// Address at which the mapping ends (the limit of its range).
    pub memory_limit: u64,
    /// Offset in the file of the first mapped address.
    pub file_offset: u64,
    /// The mapped object: a path (`/usr/bin/app`), a name such as `[vdso]`, or empty.
    pub filename: String,
    /// Id of the binary's version (on Linux, the GNU build id); empty when not given.
    pub build_id: String,
    /// True when the mapping's locations are symbolized with function names.
    pub has_functions: bool,
    /// True when the mapping's locations carry source file names.
    pub has_filenames: bool,
    /// True when the mapping's locations carry source line numbers.
    pub has_line_numbers: bool,
    /// True when the mapping's locations list their inlined frames.
    pub has_inline_frames: bool,
}

impl Mapping {
    /// How a frame without a function name is named after its mapping, as pprof does:
    /// `[libc.so.6]`, or `<unknown>` when the mapping names no file.
    pub fn binary_frame_name(&self) -> String {
        match self.filename.rsplit('/').next() {
            Some(base) if !base.is_empty() => format!("[{base}]"),
            _ => "<unknown>".to_string(),
        }
    }
}

/// A function and where its source is (profile.proto's `Function`, strings resolved).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Function {
    /// The profile's nonzero id for the function (from a goroutine dump: its index + 1).
    pub id: u64,
    /// Name, human-readable when available: `main.(*Server).handle`, `runtime.gopark`.
    pub name: String,
    /// Name as the system knows it (a mangled C++ name, for instance); a goroutine dump's
    /// functions repeat `name` here.
    pub system_name: String,
    /// Source file that holds the function, as the profile gives it (often absolute); may be empty.
    pub filename: String,
    /// Line in `filename` where the function starts; 0 when unknown (always, from a dump).
    pub start_line: i64,
}

/// One frame of a location: a function (index into `Profile::functions`) and a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// Index into `Profile::functions`.
    pub function: usize,
    /// Source line number; 0 when unknown.
    pub line: i64,
    /// Source column number; 0 when unknown (Go's runtime never writes one; kept so that a
    /// profile written again, merged by `pgo`, loses nothing).
    pub column: i64,
}

/// A program counter with the source lines it stands for. `lines` holds the inlined frames,
/// innermost (callee) first, as in profile.proto.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The profile's nonzero id for the location (from a goroutine dump: its index + 1).
    pub id: u64,
    /// Index into `Profile::mappings`.
    pub mapping: Option<usize>,
    /// Instruction address; 0 when unknown (always, from a `debug=2` goroutine dump).
    pub address: u64,
    /// The frames at this address, innermost (inlined callee) first; empty when unsymbolized.
    pub lines: Vec<Line>,
    /// True when several symbols share this address (identical code folding) and `lines` names
    /// only one of them.
    pub is_folded: bool,
}

/// A label value that came with a sample. String labels and numeric labels (with their unit)
/// are kept apart, as pprof does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Labels {
    /// String labels: key → values, in the order the sample gave them.
    pub strings: BTreeMap<String, Vec<String>>,
    /// Numeric labels: key → values, in the order the sample gave them.
    pub numbers: BTreeMap<String, Vec<i64>>,
    /// Unit of each numeric label key, when the profile gave one.
    pub number_units: BTreeMap<String, Vec<String>>,
}

impl Labels {
    /// True when the sample has no string and no numeric label.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty() && self.numbers.is_empty()
    }
}

/// How many samples ahead [`Profile::samples_for_leaves`] asks for a stack's first byte.
const LEAF_FETCH_AHEAD: usize = 16;

/// A hint that `byte` will be read soon: the cache line holding it is fetched while other
/// work goes on. Elsewhere than on x86-64 it does nothing.
#[inline(always)]
fn prefetch(byte: &u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and changes nothing a program can see; the pointer
    // comes from a reference, so it points into the stacks' buffer anyway.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(byte).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = byte;
}

/// The samples of a profile, stored by column so that a production-sized profile (millions of
/// samples, tens of millions of frames) costs a few bytes per frame instead of a heap
/// allocation per sample: stacks as LEB128 varints in one buffer (as profile.proto packs them),
/// values in one column per sample type, each as narrow as its values, and label sets
/// deduplicated (Go's heap profiles give each of their samples the same few `bytes` labels).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Samples {
    /// Each stack as LEB128 varints, leaf first: of `location index + 1`, or of codes when
    /// `location_of_code` is not empty.
    stacks: Vec<u8>,
    /// The location index of each code − 1, for a profile whose decoder gave its frequent
    /// locations the shortest entries (see `profile::codes`); empty when entries are indices.
    location_of_code: Vec<u32>,
    /// End of each sample's stack in `stacks`; a stack starts where the previous one ends.
    stack_ends: Vec<u32>,
    /// One value per sample type per sample, each type's column as narrow as its values.
    values: ValueColumns,
    /// Index into `label_sets` per sample; set 0 is the empty set.
    label_of: IndexColumn,
    label_sets: Vec<Labels>,
}

impl Default for Samples {
    fn default() -> Self {
        Samples::new(0)
    }
}

/// Why a sample could not be added: the stack buffer is addressed with 32-bit offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StacksFull;

impl Samples {
    /// No samples yet, each to have `value_count` values (one per sample type).
    pub fn new(value_count: usize) -> Self {
        Samples {
            stacks: Vec::new(),
            location_of_code: Vec::new(),
            stack_ends: Vec::new(),
            values: ValueColumns::new(value_count),
            label_of: IndexColumn::default(),
            label_sets: vec![Labels::default()],
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.stack_ends.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.stack_ends.is_empty()
    }

    /// Adds a label set and returns its index; the empty set is 0.
    fn add_label_set(&mut self, labels: Labels) -> u32 {
        if labels.is_empty() {
            return 0;
        }
        self.label_sets.push(labels);
        (self.label_sets.len() - 1) as u32
    }

    /// Adds a sample whose stack is given as location indices, leaf first.
    pub fn push(
        &mut self,
        locations: &[usize],
        values: &[i64],
        labels: Labels,
    ) -> Result<(), StacksFull> {
        let label_set = self.add_label_set(labels);
        for &location in locations {
            let entry = if self.location_of_code.is_empty() {
                location as u64 + 1
            } else {
                // Profiles are not added to once decoded; were one, a new code per entry
                // keeps it right.
                self.location_of_code.push(location as u32);
                self.location_of_code.len() as u64
            };
            encode_varint(entry, &mut self.stacks);
        }
        self.finish_sample(values, label_set)
    }

    /// Samples from columns a decoder filled: `stacks` holds each sample's stack as LEB128
    /// varints ending at `stack_ends[i]`, `values` a row of values per sample and `label_of`
    /// each sample's index into `label_sets` (whose first set is the empty one). The caller
    /// checks the stacks with [`Samples::check_stacks`].
    pub fn from_parts(
        stacks: Vec<u8>,
        stack_ends: Vec<u32>,
        values: ValueColumns,
        label_of: IndexColumn,
        label_sets: Vec<Labels>,
    ) -> Self {
        Samples::from_coded_parts(stacks, Vec::new(), stack_ends, values, label_of, label_sets)
    }

    /// Samples whose stacks hold codes: `location_of_code[code - 1]` is the location index of
    /// each code, every code in `stacks` has one, and each names an existing location (an
    /// empty table: the entries are indices + 1, as [`Samples::from_parts`] takes them).
    pub(crate) fn from_coded_parts(
        stacks: Vec<u8>,
        location_of_code: Vec<u32>,
        stack_ends: Vec<u32>,
        values: ValueColumns,
        label_of: IndexColumn,
        label_sets: Vec<Labels>,
    ) -> Self {
        Samples {
            stacks,
            location_of_code,
            stack_ends,
            values,
            label_of,
            label_sets,
        }
    }

    /// The first sample whose stack holds a code for which `unknown` is true, with that code.
    pub(crate) fn first_sample_with_code(
        &self,
        mut unknown: impl FnMut(u64) -> bool,
    ) -> Option<(usize, u64)> {
        let mut start = 0;
        for (sample, &end) in self.stack_ends.iter().enumerate() {
            let mut entries = Varints {
                bytes: &self.stacks[start..end as usize],
            };
            start = end as usize;
            if let Some(code) = entries.find(|&code| unknown(code)) {
                return Some((sample, code));
            }
        }
        None
    }

    fn finish_sample(&mut self, values: &[i64], label_set: u32) -> Result<(), StacksFull> {
        let end = u32::try_from(self.stacks.len()).map_err(|_| StacksFull)?;
        self.stack_ends.push(end);
        // Missing values read as 0, extra ones are dropped: the decoder rejects both before.
        self.values.push_row(values);
        self.label_of.push(label_set);
        Ok(())
    }

    #[inline(always)]
    fn stack_range(&self, sample: usize) -> std::ops::Range<usize> {
        let start = match sample {
            0 => 0,
            s => self.stack_ends[s - 1] as usize,
        };
        start..self.stack_ends[sample] as usize
    }

    /// The most bytes one sample's stack takes.
    pub fn longest_stack_bytes(&self) -> usize {
        let mut start = 0;
        let mut longest = 0;
        for &end in &self.stack_ends {
            longest = longest.max(end - start);
            start = end;
        }
        longest as usize
    }

    /// Value `index` of sample `sample`, without the sample's stack: the flame graph's walk
    /// keeps a million cursors and reads their values here rather than carrying a copy.
    #[inline]
    pub fn value_of(&self, sample: usize, index: usize) -> i64 {
        self.values.get(sample, index)
    }

    /// Adds `delta` to value `index` of sample `sample` (the goroutine dump parsers merge
    /// goroutines with equal stacks into one sample).
    pub fn add_to_value(&mut self, sample: usize, index: usize, delta: i64) {
        let value = self.values.get(sample, index).saturating_add(delta);
        self.values.set(sample, index, value);
    }

    /// The bytes the stored stacks take, for the size tests.
    pub fn stack_bytes(&self) -> usize {
        self.stacks.len()
    }

    /// The bytes the stored values take, for the size tests.
    pub fn value_bytes(&self) -> usize {
        self.values.bytes()
    }

    /// Replaces every stack entry through `map` (sample, old entry → new one), for
    /// decoders whose location ids are not `1..=n` in order. A coded entry is given to `map`
    /// as its `location index + 1`, and the result is stored uncoded.
    pub fn remap_locations(&mut self, mut map: impl FnMut(usize, u64) -> u64) {
        let mut stacks = Vec::with_capacity(self.stacks.len());
        let mut start = 0;
        for (sample, end) in self.stack_ends.iter_mut().enumerate() {
            let cursor = Varints {
                bytes: &self.stacks[start..*end as usize],
            };
            start = *end as usize;
            for value in cursor {
                let entry = match self.location_of_code.get((value as usize).wrapping_sub(1)) {
                    Some(&location) => u64::from(location) + 1,
                    None => value,
                };
                encode_varint(map(sample, entry), &mut stacks);
            }
            *end = stacks.len() as u32;
        }
        self.stacks = stacks;
        self.location_of_code = Vec::new();
    }

    /// Checks every stack entry is a location `1..=locations`; the first one that is not,
    /// with its sample. (Depth is limited while decoding, sample by sample.) Coded stacks
    /// were checked when their codes were made.
    pub fn check_stacks(&self, locations: usize) -> Result<(), BadLocation> {
        if !self.location_of_code.is_empty() {
            return Ok(());
        }
        // A large profile's stacks are checked in parts, one a core: the check stands
        // between reading the profile and every analysis of it, with the other cores idle.
        let parts = if self.len() >= CHECK_IN_PARTS {
            crate::parallel::cores()
        } else {
            1
        };
        let ranges: Vec<std::ops::Range<usize>> = (0..parts)
            .map(|i| self.len() * i / parts..self.len() * (i + 1) / parts)
            .collect();
        let checked =
            crate::parallel::map(&ranges, |range| self.check_range(range.clone(), locations));
        // The first bad sample in the profile's order, as one walk would find it.
        checked.into_iter().collect()
    }

    /// [`Samples::check_stacks`] of the samples `range`.
    fn check_range(
        &self,
        range: std::ops::Range<usize>,
        locations: usize,
    ) -> Result<(), BadLocation> {
        let mut start = match range.start {
            0 => 0,
            first => self.stack_ends[first - 1] as usize,
        };
        for (sample, &end) in self.stack_ends[range.clone()].iter().enumerate() {
            let cursor = Varints {
                bytes: &self.stacks[start..end as usize],
            };
            start = end as usize;
            for value in cursor {
                if value == 0 || value > locations as u64 {
                    return Err(BadLocation {
                        sample: range.start + sample,
                        value,
                    });
                }
            }
        }
        Ok(())
    }
}

impl Samples {
    /// Per sample, whether its stack holds a location marked in `hits` (indexed by location),
    /// found by searching the packed stacks for the entries that name those locations
    /// instead of decoding every frame: a byte search reads gigabytes a second, a frame
    /// walk a few hundred million frames. `None` when more than `most` entries name them
    /// (a search each would then cost more than one walk).
    pub fn holding(&self, hits: &[bool], most: usize) -> Option<Vec<bool>> {
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut add = |entry: u64| {
            let mut bytes = Vec::with_capacity(2);
            encode_varint(entry, &mut bytes);
            patterns.push(bytes);
        };
        if self.location_of_code.is_empty() {
            for (location, _) in hits.iter().enumerate().filter(|(_, hit)| **hit) {
                add(location as u64 + 1);
            }
        } else {
            for (code, &location) in self.location_of_code.iter().enumerate() {
                if hits.get(location as usize).copied().unwrap_or(false) {
                    add(code as u64 + 1);
                }
            }
        }
        if patterns.len() > most {
            return None;
        }
        let mut held = vec![false; self.len()];
        for pattern in &patterns {
            let finder = memchr::memmem::Finder::new(pattern);
            let mut sample = 0;
            let mut from = 0;
            while let Some(found) = finder.find(&self.stacks[from..]) {
                let at = from + found;
                // A match counts where an entry starts: after a byte that ends one (high bit
                // clear), or at the very start. Each stack ends with such a byte, so a match
                // never spans two stacks.
                let starts_entry = at == 0 || self.stacks[at - 1] < 0x80;
                while self
                    .stack_ends
                    .get(sample)
                    .is_some_and(|&end| end as usize <= at)
                {
                    sample += 1;
                }
                if starts_entry && let Some(held) = held.get_mut(sample) {
                    *held = true;
                    // The rest of this stack need not be searched.
                    from = self.stack_ends[sample] as usize;
                } else {
                    from = at + 1;
                }
            }
        }
        Some(held)
    }
}

/// Samples from which [`Samples::check_stacks`] checks parts side by side: below it a
/// thread would cost about what it saves.
const CHECK_IN_PARTS: usize = 1 << 16;

/// What [`Samples::check_stacks`] found wrong: sample `sample` (from 0) names location entry
/// `value` (an id, or an index + 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadLocation {
    /// Index of the sample, from 0.
    pub sample: usize,
    /// The offending stack entry: 0, or more than the number of locations.
    pub value: u64,
}

/// Appends `value` as a LEB128 varint.
pub fn encode_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads LEB128 varints from a buffer that the encoder wrote (so always well-formed).
#[derive(Debug, Clone)]
pub(super) struct Varints<'a> {
    bytes: &'a [u8],
}

impl<'a> Varints<'a> {
    /// The varints of `bytes`, which hold only complete ones of at most 10 bytes.
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Varints { bytes }
    }
}

impl Iterator for Varints<'_> {
    type Item = u64;

    #[inline]
    fn next(&mut self) -> Option<u64> {
        let (&first, rest) = self.bytes.split_first()?;
        if first < 0x80 {
            self.bytes = rest;
            return Some(u64::from(first));
        }
        let mut value = 0u64;
        let mut shift = 0;
        let mut used = 0;
        for &byte in self.bytes {
            used += 1;
            value |= u64::from(byte & 0x7f).wrapping_shl(shift);
            shift += 7;
            if byte < 0x80 {
                break;
            }
        }
        self.bytes = &self.bytes[used..];
        Some(value)
    }
}

impl DoubleEndedIterator for Varints<'_> {
    // Always inlined: the walks from the root read every frame of every stack this way.
    #[inline(always)]
    fn next_back(&mut self) -> Option<u64> {
        let (&last, rest) = self.bytes.split_last()?;
        if rest.last().is_none_or(|&b| b < 0x80) {
            self.bytes = rest;
            return Some(u64::from(last));
        }
        // The varint starts after the previous terminating byte (high bit clear).
        let start = rest.iter().rposition(|&b| b < 0x80).map_or(0, |p| p + 1);
        let value = Varints {
            bytes: &self.bytes[start..],
        }
        .next()
        .unwrap_or(0);
        self.bytes = &self.bytes[..start];
        Some(value)
    }
}

/// The location indices of one sample's stack, leaf first (`.rev()` walks from the root).
#[derive(Debug, Clone)]
pub struct Stack<'a> {
    varints: Varints<'a>,
    /// [`Samples::location_of_code`]; empty when the entries are indices + 1.
    location_of_code: &'a [u32],
}

impl Stack<'_> {
    #[inline(always)]
    fn location(&self, entry: u64) -> usize {
        let entry = entry as usize - 1;
        if self.location_of_code.is_empty() {
            entry
        } else {
            self.location_of_code[entry] as usize
        }
    }
}

impl Stack<'_> {
    /// True when no (more) locations are left.
    pub fn is_empty(&self) -> bool {
        self.varints.bytes.is_empty()
    }

    /// Size of what is left, for [`SampleRef::locations_within`]: a walk from the root can
    /// stop and resume later from this number alone.
    pub fn remaining_bytes(&self) -> usize {
        self.varints.bytes.len()
    }
}

impl Iterator for Stack<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        let entry = self.varints.next()?;
        Some(self.location(entry))
    }
}

impl DoubleEndedIterator for Stack<'_> {
    #[inline(always)]
    fn next_back(&mut self) -> Option<usize> {
        let entry = self.varints.next_back()?;
        Some(self.location(entry))
    }
}

/// One sample of a profile: its stack, values and labels.
#[derive(Debug, Clone, Copy)]
pub struct SampleRef<'a> {
    samples: &'a Samples,
    index: usize,
}

impl<'a> SampleRef<'a> {
    /// Position of the sample in the profile.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Location indices (into `Profile::locations`), leaf first.
    #[inline(always)]
    pub fn locations(&self) -> Stack<'a> {
        Stack {
            varints: Varints {
                bytes: &self.samples.stacks[self.samples.stack_range(self.index)],
            },
            location_of_code: &self.samples.location_of_code,
        }
    }

    /// Asks the processor to start fetching the byte a walk from the root that stopped at
    /// `bytes` (see [`Stack::remaining_bytes`]) reads next: a walk that steps a million
    /// stacks a frame at a time touches one byte of each, and waits on memory for each
    /// unless it is fetched ahead. Nothing is read; an offset past the stack does nothing.
    #[inline(always)]
    pub fn prefetch_within(&self, bytes: usize) {
        if let Some(last) = bytes.checked_sub(1) {
            self.prefetch_byte(last);
        }
    }

    /// Asks for the stack's byte at `offset`, if it has one (see [`prefetch_within`]).
    ///
    /// [`prefetch_within`]: SampleRef::prefetch_within
    #[inline(always)]
    fn prefetch_byte(&self, offset: usize) {
        let stack = self
            .samples
            .stacks
            .get(self.samples.stack_range(self.index));
        if let Some(byte) = stack.and_then(|stack| stack.get(offset)) {
            prefetch(byte);
        }
    }

    /// The first `bytes` bytes of the stack (see [`Stack::remaining_bytes`]): the locations
    /// not yet visited by a walk from the root that stopped there.
    #[inline(always)]
    pub fn locations_within(&self, bytes: usize) -> Stack<'a> {
        let range = self.samples.stack_range(self.index);
        let end = range.start + bytes.min(range.len());
        Stack {
            varints: Varints {
                bytes: &self.samples.stacks[range.start..end],
            },
            location_of_code: &self.samples.location_of_code,
        }
    }

    /// The location whose entry starts `offset` bytes into the stack: the one a walk from
    /// the root read last when [`Stack::remaining_bytes`] gave `offset`, read again instead
    /// of kept. `None` past the end.
    #[inline(always)]
    pub fn location_at(&self, offset: usize) -> Option<usize> {
        let range = self.samples.stack_range(self.index);
        let bytes = self.samples.stacks.get(range.start + offset..range.end)?;
        let mut stack = Stack {
            varints: Varints { bytes },
            location_of_code: &self.samples.location_of_code,
        };
        stack.next()
    }

    /// One value per sample type.
    pub fn values(&self) -> Values<'a> {
        self.samples.values.row(self.index)
    }

    /// The value of sample type `index`, 0 when there is no such type.
    #[inline]
    pub fn value(&self, index: usize) -> i64 {
        if index < self.samples.values.count() {
            self.samples.values.get(self.index, index)
        } else {
            0
        }
    }

    /// The number of the sample's label set: samples that share a number share their labels
    /// (a question about labels is answered once per set, not once per sample).
    pub fn label_set(&self) -> usize {
        self.samples.label_of.get(self.index) as usize
    }

    /// The sample's labels; empty when it has none.
    pub fn labels(&self) -> &'a Labels {
        &self.samples.label_sets[self.samples.label_of.get(self.index) as usize]
    }
}

/// A decoded profile (pprof protobuf, or built from a goroutine text dump): sample types,
/// samples, and the mappings, locations and functions they refer to, all by index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    /// What each sample value measures, in order; `SampleRef::values` follows it.
    pub sample_types: Vec<ValueType>,
    /// Name of the default sample type, when the profile names one.
    pub default_sample_type: Option<String>,
    /// The samples, stored by column; read them through [`Profile::samples`] and
    /// [`Profile::sample`].
    pub samples: Samples,
    /// Mapped binaries and libraries; the first one is the main binary when known.
    pub mappings: Vec<Mapping>,
    /// Locations, indexed by the entries of each sample's stack.
    pub locations: Vec<Location>,
    /// Functions, indexed by `Line::function`.
    pub functions: Vec<Function>,
    /// Regexp of the frames pprof drops with everything toward the leaf below them (function names
    /// matched whole); empty for none.
    pub drop_frames: String,
    /// Regexp of the frames kept even though they match `drop_frames`; empty for none.
    pub keep_frames: String,
    /// When the profile was collected, in nanoseconds since the Unix epoch (profile.proto's
    /// `time_nanos`); 0 when not given.
    pub time_nanos: i64,
    /// How long the profile was collected over, in nanoseconds; 0 when not given.
    pub duration_nanos: i64,
    /// The kind of event counted between two samples (`cpu/nanoseconds`; `goroutine/count` for a
    /// dump), when the profile gives one.
    pub period_type: Option<ValueType>,
    /// Events of `period_type` between two samples (10000000 ns for a 100 Hz CPU profile; 1 for a
    /// goroutine dump); 0 when not given.
    pub period: i64,
    /// Free-form comments the profile carries, shown as they are.
    pub comments: Vec<String>,
    /// An absolute URL that documents this kind of profile (profile.proto's `doc_url`); empty
    /// when not given.
    pub doc_url: String,
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

    /// Number of samples.
    pub fn sample_count(&self) -> usize {
        self.samples.len()
    }

    /// Sample `index`.
    pub fn sample(&self, index: usize) -> SampleRef<'_> {
        SampleRef {
            samples: &self.samples,
            index,
        }
    }

    /// Every sample, in profile order.
    pub fn samples(&self) -> impl ExactSizeIterator<Item = SampleRef<'_>> + '_ {
        (0..self.samples.len()).map(move |index| self.sample(index))
    }

    /// [`Profile::samples`], for a pass that reads each stack's first entry (the leaf) and
    /// little else: the leaf's byte is asked for `LEAF_FETCH_AHEAD` (16) samples ahead, since
    /// one byte of each stack is all such a pass touches and it would wait on memory for
    /// each (half of such a pass's time on a 400k-stack heap profile).
    pub fn samples_for_leaves(&self) -> impl ExactSizeIterator<Item = SampleRef<'_>> + '_ {
        let count = self.samples.len();
        (0..count).map(move |index| {
            if index + LEAF_FETCH_AHEAD < count {
                self.sample(index + LEAF_FETCH_AHEAD).prefetch_byte(0);
            }
            self.sample(index)
        })
    }

    /// The function names of a sample's stack, leaf first, inlined frames included
    /// (innermost first within a location).
    pub fn stack_names<'a>(&'a self, sample: SampleRef<'a>) -> impl Iterator<Item = &'a str> + 'a {
        sample.locations().flat_map(move |l| {
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
    function_index: FxHashMap<(String, String), usize>,
    location_index: FxHashMap<(u64, Vec<(usize, i64)>), usize>,
    /// Reused lookup keys: a lookup that finds its entry allocates nothing.
    function_key: (String, String),
    location_key: Vec<(usize, i64)>,
}

impl ProfileBuilder {
    /// A builder for a profile with these sample types and nothing else yet.
    pub fn new(sample_types: Vec<ValueType>) -> Self {
        ProfileBuilder {
            profile: Profile {
                samples: Samples::new(sample_types.len()),
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
        let mut key = std::mem::take(&mut self.function_key);
        key.0.clear();
        key.0.push_str(name);
        key.1.clear();
        key.1.push_str(filename);
        if let Some(&index) = self.function_index.get(&key) {
            self.function_key = key;
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
        let mut key = (address, std::mem::take(&mut self.location_key));
        key.1.clear();
        key.1.extend(lines.iter().map(|l| (l.function, l.line)));
        if let Some(&index) = self.location_index.get(&key) {
            self.location_key = key.1;
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

    /// Adds a sample (stack leaf first). Dumps large enough to overflow the 4 GiB stack
    /// buffer are refused by the size limits long before, so the error is only reported.
    pub fn sample(
        &mut self,
        locations: &[usize],
        values: &[i64],
        labels: Labels,
    ) -> Result<(), StacksFull> {
        self.profile.samples.push(locations, values, labels)
    }

    /// The profile built.
    pub fn finish(self) -> Profile {
        self.profile
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_read_the_same_forward_and_backward() {
        let mut samples = Samples::new(2);
        // Indices that need one, two, three and five varint bytes.
        let stack = [0usize, 127, 128, 16_383, 16_384, 1 << 31];
        samples.push(&stack, &[7, -8], Labels::default()).unwrap();
        samples.push(&[], &[1, 2], Labels::default()).unwrap();
        samples.push(&[5], &[3, 4], Labels::default()).unwrap();
        let profile = Profile {
            samples,
            ..Profile::default()
        };
        let first = profile.sample(0);
        assert_eq!(first.locations().collect::<Vec<_>>(), stack);
        let mut reversed = stack.to_vec();
        reversed.reverse();
        assert_eq!(first.locations().rev().collect::<Vec<_>>(), reversed);
        assert_eq!(first.values().to_vec(), [7, -8]);
        assert!(profile.sample(1).locations().is_empty());
        assert_eq!(profile.sample(2).locations().collect::<Vec<_>>(), [5]);
        assert_eq!(profile.sample(2).value(1), 4);
        assert_eq!(profile.sample(2).value(9), 0);
    }

    #[test]
    fn mixed_direction_reads_meet_in_the_middle() {
        let mut samples = Samples::new(1);
        samples
            .push(&[1, 300, 2, 70_000], &[1], Labels::default())
            .unwrap();
        let profile = Profile {
            samples,
            ..Profile::default()
        };
        let mut stack = profile.sample(0).locations();
        assert_eq!(stack.next(), Some(1));
        assert_eq!(stack.next_back(), Some(70_000));
        assert_eq!(stack.next_back(), Some(2));
        assert_eq!(stack.next(), Some(300));
        assert_eq!(stack.next(), None);
        assert_eq!(stack.next_back(), None);
    }

    #[test]
    fn samples_for_leaves_are_every_sample_in_order() {
        // Empty stacks, one-byte and two-byte leaves, and more samples than are fetched ahead.
        let mut samples = Samples::new(1);
        let stacks: Vec<Vec<usize>> = (0..3 * LEAF_FETCH_AHEAD + 5)
            .map(|i| match i % 4 {
                0 => vec![],
                1 => vec![i],
                2 => vec![200 + i, 1],
                _ => vec![i % 3, 300, 2],
            })
            .collect();
        for (i, stack) in stacks.iter().enumerate() {
            samples.push(stack, &[i as i64], Labels::default()).unwrap();
        }
        let profile = Profile {
            samples,
            ..Profile::default()
        };
        let leaves =
            |it: &mut dyn Iterator<Item = SampleRef<'_>>| -> Vec<(usize, i64, Option<usize>)> {
                it.map(|s| (s.index(), s.value(0), s.locations().next()))
                    .collect()
            };
        let expected: Vec<(usize, i64, Option<usize>)> = stacks
            .iter()
            .enumerate()
            .map(|(i, stack)| (i, i as i64, stack.first().copied()))
            .collect();
        assert_eq!(leaves(&mut profile.samples_for_leaves()), expected);
        assert_eq!(profile.samples_for_leaves().len(), stacks.len());
        assert_eq!(leaves(&mut profile.samples()), expected);
    }

    #[test]
    fn samples_holding_locations_are_those_a_walk_finds() {
        // 300 locations: entries from 128 up take two bytes, whose second byte could pass
        // for a one-byte entry; some stacks coded, with several codes for one location.
        let mut next = crate::test_rng::below(99);
        let stacks: Vec<Vec<usize>> = (0..500)
            .map(|_| (0..next(12)).map(|_| next(300) as usize).collect())
            .collect();
        let mut plain = Samples::new(1);
        for stack in &stacks {
            plain.push(stack, &[1], Labels::default()).unwrap();
        }
        // Coded: code c (from 1) names location (c - 1) % 300, so each location has two.
        let location_of_code: Vec<u32> = (0..600).map(|c| c % 300).collect();
        let (mut bytes, mut ends) = (Vec::new(), Vec::new());
        for stack in &stacks {
            for &location in stack {
                let code = location as u64 + 1 + 300 * next(2);
                encode_varint(code, &mut bytes);
            }
            ends.push(bytes.len() as u32);
        }
        let mut values = ValueColumns::new(1);
        let mut label_of = IndexColumn::default();
        for _ in &stacks {
            values.push_row(&[1]);
            label_of.push(0);
        }
        let coded = Samples::from_coded_parts(
            bytes,
            location_of_code,
            ends,
            values,
            label_of,
            vec![Labels::default()],
        );
        let walk = |samples: &Samples, hits: &[bool]| -> Vec<bool> {
            (0..samples.len())
                .map(|i| SampleRef { samples, index: i }.locations().any(|l| hits[l]))
                .collect()
        };
        for round in 0..40 {
            let hits: Vec<bool> = (0..300).map(|_| next(100) < round % 7).collect();
            for samples in [&plain, &coded] {
                let held = samples.holding(&hits, usize::MAX).unwrap();
                assert_eq!(held, walk(samples, &hits), "round {round}");
            }
        }
        // Location 1's entry is the byte 2, also the second byte of location 257's (258):
        // only an entry's start counts.
        let mut hits = vec![false; 300];
        hits[1] = true;
        let held = plain.holding(&hits, 1).unwrap();
        assert_eq!(held, walk(&plain, &hits));
        assert!(held.contains(&true) && held.contains(&false));
        assert_eq!(plain.holding(&[true; 300], 299), None);
    }

    #[test]
    fn stack_checks_name_the_first_bad_sample() {
        let mut samples = Samples::new(1);
        samples.push(&[0, 1], &[1], Labels::default()).unwrap();
        samples.push(&[0, 1, 2], &[1], Labels::default()).unwrap();
        assert_eq!(samples.check_stacks(3), Ok(()));
        assert_eq!(
            samples.check_stacks(2),
            Err(BadLocation {
                sample: 1,
                value: 3
            })
        );
        samples.remap_locations(|_, v| v + 1);
        assert_eq!(samples.check_stacks(4), Ok(()));
    }

    #[test]
    fn a_large_profile_checked_in_parts_names_the_first_bad_sample() {
        let samples_with_bad = |bad: &[usize]| {
            let mut samples = Samples::new(1);
            for i in 0..CHECK_IN_PARTS + 5000 {
                let stack: &[usize] = if bad.contains(&i) {
                    &[0, 7]
                } else {
                    &[0, 1, 2]
                };
                samples.push(stack, &[1], Labels::default()).unwrap();
            }
            samples
        };
        let bad = |sample| Err(BadLocation { sample, value: 8 });
        assert_eq!(samples_with_bad(&[]).check_stacks(3), Ok(()));
        let (early, late) = (CHECK_IN_PARTS / 4, CHECK_IN_PARTS);
        assert_eq!(samples_with_bad(&[early, late]).check_stacks(3), bad(early));
        assert_eq!(samples_with_bad(&[late]).check_stacks(3), bad(late));
        assert_eq!(samples_with_bad(&[late]).check_stacks(8), Ok(()));
    }

    #[test]
    fn label_sets_are_shared_and_values_change_in_place() {
        let mut samples = Samples::new(1);
        let mut labels = Labels::default();
        labels.strings.insert("k".into(), vec!["v".into()]);
        samples.push(&[0], &[1], Labels::default()).unwrap();
        samples.push(&[0], &[1], labels).unwrap();
        samples.add_to_value(0, 0, 41);
        let profile = Profile {
            samples,
            ..Profile::default()
        };
        assert_eq!(profile.sample(0).value(0), 42);
        assert!(profile.sample(0).labels().is_empty());
        assert_eq!(profile.sample(1).labels().strings["k"], ["v"]);
    }
}
