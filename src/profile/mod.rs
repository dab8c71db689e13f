//! pprof profiles: sniffing (gzip or not), decoding profile.proto, validating and resolving
//! ids into the owned model of `model.rs`.

pub mod model;

pub use model::*;
