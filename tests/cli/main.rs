//! The command line end to end: the tests that run the built binary (report, compare,
//! attach, collect, output paths, bad and hostile input) and the docs' promises about them.
//! One test binary, so that `cargo test` links once for all of them.

// Test code unwraps: a panic with its message is how a test reports a failure.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod attach;
mod bad_input;
mod collect;
mod command_line;
mod compare;
mod context;
mod docs;
mod hostile;
mod legacy;
mod output;
mod pgo;
mod report;
