//! pprof-report: turns a Go service's profile set into an investigation report.

pub mod goroutine;
pub mod profile;
