//! cargo-fuzz target: the same checks as the `cargo test` harness's `MemStats` target
//! (tests/fuzz/targets.rs). A panic there is a crash here.
#![no_main]

#[path = "../../tests/fuzz/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = targets::run(targets::Target::MemStats, data);
});
