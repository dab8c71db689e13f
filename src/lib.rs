//! pprof-report: turns a Go service's profile set into an investigation report.

pub mod allocator;
pub mod analyze;
pub mod backlog;
pub mod cli;
pub mod collect;
pub mod context;
pub mod dump;
pub mod error;
pub mod hash_chains;
pub mod jobs;
pub mod memstats;
pub mod output;
pub mod parallel;
pub mod profile;
pub mod render;
pub mod rules;
pub mod set;
#[cfg(test)]
mod test_rng;
pub mod text;
pub mod timefmt;
pub mod units;

pub use error::Error;
