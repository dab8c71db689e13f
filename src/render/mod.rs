//! Presentation of analysis results.

pub mod members_text;
pub mod top_text;
