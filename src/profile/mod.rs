//! pprof profiles: sniffing (gzip or not), decoding profile.proto, validating and resolving
//! ids into the owned model of `model.rs`.

pub mod decode;
pub mod language;
pub mod model;
/// profile.proto's messages (prost), for tools and tests that write profiles.
pub mod proto;

pub use decode::{
    DecodeError, DecodeOptions, decode, decode_stream, decompress, decompressing_reader, is_gzip,
};
pub use language::Language;
pub use model::*;
