//! Presentation of analysis results.

pub mod flame;
pub mod members_text;
pub mod top_text;
