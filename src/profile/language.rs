//! The language whose runtime or profiler wrote a profile: what the analyses ask before they
//! read runtime names. Telling it from the frames is `analyze::language`'s job.

use serde::{Deserialize, Serialize};

/// The language of a profile's program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Go (frames in `.go` files, or Go-shaped names such as `runtime.goexit`).
    Go,
    /// Java and the other JVM languages (Kotlin, Scala, Groovy, Clojure).
    Java,
    /// Python (frames in `.py` files, or Python-shaped names).
    Python,
    /// JavaScript and TypeScript on Node.js; serialised `nodejs`.
    #[serde(rename = "nodejs")]
    NodeJs,
    /// Ruby (frames in `.rb` files, or Ruby-shaped names).
    Ruby,
    /// C#, F# and Visual Basic on .NET; serialised `dotnet`.
    #[serde(rename = "dotnet")]
    DotNet,
    /// Rust (frames in `.rs` files, or Rust-shaped names).
    Rust,
    /// C and C++ (and anything else compiled to native code without a runtime of its own).
    Native,
    /// No frame says: no function names (addresses only), or names in no known shape.
    Unknown,
}

impl Language {
    /// The language in words, as reports print it: `Go`, `Java (JVM)`, `Node.js`, `C/C++`.
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
