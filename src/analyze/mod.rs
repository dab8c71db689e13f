//! Pure analyses over decoded profiles: no I/O, no formatting of documents.

pub mod compare;
pub mod contention;
pub mod cpu;
pub mod findings;
pub mod flame;
pub mod frames;
pub mod goroutines;
pub mod investigation;
pub mod language;
pub mod memory;
pub mod names;
pub mod other;
pub mod shares;
pub mod top;
