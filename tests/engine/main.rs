//! The library through its public API: decoding, `top` against the goldens, goroutine dumps
//! and their analysis, rules, sets, other runtimes' profiles, hand-made profiles and the
//! layering of src/. One test binary, so that `cargo test` links once for all of them.

// Test code unwraps: a panic with its message is how a test reports a failure.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod buildinfo;
mod decode;
mod foreign;
mod golden;
mod goldens;
mod goroutine;
mod goroutines_analysis;
mod handmade;
mod labels;
mod layers;
mod leaks;
mod merge;
mod rules;
mod runtimes;
mod services;
mod set;
mod windows;
