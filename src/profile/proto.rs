//! profile.proto as prost messages, written by hand so that building needs no protoc.
//! Strings are kept as bytes: Go writes arbitrary bytes into the string table, and an invalid
//! UTF-8 function name must not make the whole profile unreadable.

/// A whole profile (profile.proto's `Profile`): its samples and the tables they refer to.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Profile {
    /// What each entry of `Sample::value` measures, in order: `cpu/nanoseconds`, or
    /// `alloc_objects/count` then `alloc_space/bytes`…
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    /// The recorded samples.
    #[prost(message, repeated, tag = "2")]
    pub sample: Vec<Sample>,
    /// Address ranges and the binary or library mapped into each; the first is the main binary
    /// when one can be told.
    #[prost(message, repeated, tag = "3")]
    pub mapping: Vec<Mapping>,
    /// Locations, referred to by `Sample::location_id`.
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    /// Functions, referred to by `Line::function_id`.
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    /// The strings every `int64` string field indexes into; entry 0 must be the empty string.
    /// Kept as bytes (see the module doc).
    #[prost(bytes = "vec", repeated, tag = "6")]
    pub string_table: Vec<Vec<u8>>,
    /// String index of a regexp: frames whose function name matches it wholly are dropped from
    /// the samples with everything below them toward the leaf; 0 for none.
    #[prost(int64, tag = "7")]
    pub drop_frames: i64,
    /// String index of a regexp: frames whose function name matches it wholly are kept even when
    /// they match `drop_frames`; 0 for none.
    #[prost(int64, tag = "8")]
    pub keep_frames: i64,
    /// When the profile was collected, in nanoseconds since the Unix epoch (UTC); 0 when unknown.
    #[prost(int64, tag = "9")]
    pub time_nanos: i64,
    /// How long the profile was collected over, in nanoseconds, when a duration makes sense.
    #[prost(int64, tag = "10")]
    pub duration_nanos: i64,
    /// The kind of event counted between two samples (`cpu/nanoseconds`, `space/bytes`).
    #[prost(message, optional, tag = "11")]
    pub period_type: Option<ValueType>,
    /// Events (of `period_type`) between two samples: 10000000 ns for a 100 Hz CPU profile.
    #[prost(int64, tag = "12")]
    pub period: i64,
    /// String indices of free-form, human-readable comments shown as they are.
    #[prost(int64, repeated, tag = "13")]
    pub comment: Vec<i64>,
    /// String index of the preferred sample type's name; 0 means the last sample type.
    #[prost(int64, tag = "14")]
    pub default_sample_type: i64,
    /// String index of an absolute URL that documents this kind of profile; 0 when none
    /// (added to profile.proto in 2023; older writers leave it out).
    #[prost(int64, tag = "15")]
    pub doc_url: i64,
}

/// A kind of value and its unit, both as string indices: `cpu` / `nanoseconds`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueType {
    /// String index of the kind of value (`cpu`, `inuse_space`, `goroutine`).
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    /// String index of the unit (`nanoseconds`, `bytes`, `count`).
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

/// Values measured at one stack, with optional labels.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// Ids of the stack's locations (`Location::id`), leaf first.
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    /// One value per `Profile::sample_type`, in the same order and units.
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
    /// Extra context of the sample (a thread id, an allocation size, a pprof label).
    #[prost(message, repeated, tag = "3")]
    pub label: Vec<Label>,
}

/// One label of a sample: a key with either a string or a numeric value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    /// String index of the label's name (`bytes`, `thread`, a pprof label key).
    #[prost(int64, tag = "1")]
    pub key: i64,
    /// String index of the value, for a string label; 0 when the label is numeric.
    #[prost(int64, tag = "2")]
    pub str: i64,
    /// The value, for a numeric label.
    #[prost(int64, tag = "3")]
    pub num: i64,
    /// String index of `num`'s unit (`bytes`, `seconds`, or any count unit), only with `num`;
    /// 0 when not given.
    #[prost(int64, tag = "4")]
    pub num_unit: i64,
}

/// A binary or shared library mapped into the process's address space.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Mapping {
    /// The mapping's id, unique and nonzero; `Location::mapping_id` refers to it.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Address at which the mapping starts in memory (where the binary is loaded).
    #[prost(uint64, tag = "2")]
    pub memory_start: u64,
    /// Address at which the mapping ends (its range's limit).
    #[prost(uint64, tag = "3")]
    pub memory_limit: u64,
    /// Offset in the file of the first mapped address.
    #[prost(uint64, tag = "4")]
    pub file_offset: u64,
    /// String index of the mapped object: a path on disk, or a name such as `[vdso]`.
    #[prost(int64, tag = "5")]
    pub filename: i64,
    /// String index of an id that identifies the binary's version (on Linux, the GNU build id).
    #[prost(int64, tag = "6")]
    pub build_id: i64,
    /// True when the locations in this mapping are symbolized with function names.
    #[prost(bool, tag = "7")]
    pub has_functions: bool,
    /// True when the locations in this mapping carry source file names.
    #[prost(bool, tag = "8")]
    pub has_filenames: bool,
    /// True when the locations in this mapping carry source line numbers.
    #[prost(bool, tag = "9")]
    pub has_line_numbers: bool,
    /// True when the locations in this mapping list their inlined frames.
    #[prost(bool, tag = "10")]
    pub has_inline_frames: bool,
}

/// A program counter and the source lines (function frames) it stands for.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Location {
    /// The location's id, unique and nonzero; `Sample::location_id` refers to it.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Id of the mapping the address is in; 0 when unknown or not applicable.
    #[prost(uint64, tag = "2")]
    pub mapping_id: u64,
    /// Instruction address, within its mapping's `memory_start..memory_limit`, when known; above
    /// the leaf it may point into the middle of a call instruction.
    #[prost(uint64, tag = "3")]
    pub address: u64,
    /// The frames at this address: several when functions were inlined, the innermost first and
    /// the caller they were inlined into last.
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
    /// True when several symbols share this address (identical code folding by the linker) and
    /// `line` names only one of them.
    #[prost(bool, tag = "5")]
    pub is_folded: bool,
}

/// One frame of a location: a function and a line in it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Line {
    /// Id of the frame's function (`Function::id`).
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    /// Source line number; 0 when unknown.
    #[prost(int64, tag = "2")]
    pub line: i64,
    /// Source column number; 0 when unknown (added to profile.proto in 2023; Go's runtime
    /// does not write it, other profilers may).
    #[prost(int64, tag = "3")]
    pub column: i64,
}

/// A function, with where its source is.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Function {
    /// The function's id, unique and nonzero; `Line::function_id` refers to it.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// String index of the function's name, human-readable when available (`main.main`).
    #[prost(int64, tag = "2")]
    pub name: i64,
    /// String index of the name as the system knows it (a C++ mangled name, for instance).
    #[prost(int64, tag = "3")]
    pub system_name: i64,
    /// String index of the source file that holds the function.
    #[prost(int64, tag = "4")]
    pub filename: i64,
    /// Line in `filename` where the function starts; 0 when unknown.
    #[prost(int64, tag = "5")]
    pub start_line: i64,
}
