//! Presentation of analysis results.

pub mod chart;
pub mod filters;
pub mod flame;
pub mod html;
pub mod members_text;
pub mod report;
pub mod top_text;
