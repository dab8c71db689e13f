//! Presentation of analysis results.

pub mod top_text;
