//! pprof profiles: the owned model (`model.rs`) and the one door from bytes to it
//! (`decode.rs`): sniffing (gzip or not), reading profile.proto (`wire.rs`) or the legacy
//! text profiles Go still serves (`legacy.rs`), resolving ids
//! into the model (`resolve.rs`) and validating the whole (`validate.rs`), under the options,
//! limits and errors of `limits.rs`; and the `Language` a profile's program is written in.
//! The way back: merging profiles as pprof does (`merge.rs`) and writing a profile as
//! profile.proto again (`encode.rs`).

mod codes;
pub mod columns;
pub mod decode;
pub mod encode;
pub mod language;
pub mod legacy;
pub mod limits;
pub mod merge;
pub mod model;
/// profile.proto's messages (prost), for tools and tests that write profiles.
pub mod proto;
mod resolve;
mod validate;
mod wire;

pub use decode::{decode, decode_stream, decompress, decompressing_reader};
pub use encode::{encode, encode_gzip};
pub use language::Language;
pub use limits::{DecodeError, DecodeOptions, is_gzip};
pub use merge::{MergeError, merge};
pub use model::*;
pub use validate::check_value_sums;
