//! Pure analyses over decoded profiles: no I/O, no formatting of documents.

pub mod cpu;
pub mod names;
pub mod shares;
pub mod top;
