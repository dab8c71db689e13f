//! pprof profiles: sniffing (gzip or not), decoding profile.proto, validating and resolving
//! ids into the owned model of `model.rs`.

pub mod decode;
pub mod model;
mod proto;

pub use decode::{DecodeError, DecodeOptions, decode, decompress, is_gzip};
pub use model::*;
