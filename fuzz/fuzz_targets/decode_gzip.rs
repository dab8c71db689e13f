//! cargo-fuzz target: the input gzipped, then decoded, so that mutations of the protobuf
//! reach the decoder through the gzip path (raw mutations of a gzip stream rarely get past
//! its checksum).
#![no_main]

#[path = "../../tests/fuzz/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = targets::decode_only(&targets::gzip(data));
});
