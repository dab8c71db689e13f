//! Pure analyses over decoded profiles: no I/O, no formatting of documents.

pub mod top;
