//! cargo-fuzz target: the protobuf decoder alone (gzip sniffed), without what follows it,
//! so that libFuzzer spends its time in the decoder.
#![no_main]

#[path = "../../tests/fuzz/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = targets::decode_only(data);
});
