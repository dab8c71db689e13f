//! The language whose runtime or profiler wrote a profile: what the analyses ask before they
//! read runtime names. Telling it from the frames is `analyze::language`'s job.

use serde::{Deserialize, Serialize};

/// The language of a profile's program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Go,
    Java,
    Python,
    #[serde(rename = "nodejs")]
    NodeJs,
    Ruby,
    #[serde(rename = "dotnet")]
    DotNet,
    Rust,
    /// C and C++ (and anything else compiled to native code without a runtime of its own).
    Native,
    /// No frame says: no function names (addresses only), or names in no known shape.
    Unknown,
}

impl Language {
    pub fn describe(self) -> &'static str {
        match self {
            Language::Go => "Go",
            Language::Java => "Java (JVM)",
            Language::Python => "Python",
            Language::NodeJs => "Node.js",
            Language::Ruby => "Ruby",
            Language::DotNet => ".NET",
            Language::Rust => "Rust",
            Language::Native => "C/C++",
            Language::Unknown => "unknown",
        }
    }
}
