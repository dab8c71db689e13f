//! The jobs: read, investigate, render, write. Parallelism and drawing live here.

pub mod report;
