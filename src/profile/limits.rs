//! What decoding accepts and how it refuses: the options with their limits, the decode
//! errors, gzip sniffing and the reader that stops at the decompressed-size limit. Every
//! stage of decoding (`wire`, `resolve`, `validate`, `decode`) reports through these.

use std::io::Read;

/// Decoding limits. Profiles come from other machines: a gzip bomb or a profile with absurd
/// counts must be refused with a message naming the limit, not exhaust memory or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Largest decompressed size accepted, in bytes. Default: 1 GiB.
    pub max_decompressed_bytes: u64,
    /// Most samples in one profile. Default: 50 million.
    pub max_samples: usize,
    /// Most locations in one profile. Default: 20 million.
    pub max_locations: usize,
    /// Most functions in one profile. Default: 20 million.
    pub max_functions: usize,
    /// Deepest stack (locations in one sample, or frames of one goroutine). Default: 100 000.
    pub max_stack_depth: usize,
    /// Longest string (function or file name, label, comment), in bytes. Default: 1 MiB.
    pub max_string_bytes: usize,
    /// Longest line of a goroutine text dump, in bytes. Default: 1 MiB.
    pub max_line_bytes: usize,
}

impl DecodeOptions {
    /// The defaults, usable in constants (`..DecodeOptions::DEFAULT`).
    pub const DEFAULT: DecodeOptions = DecodeOptions {
        max_decompressed_bytes: 1 << 30,
        max_samples: 50_000_000,
        max_locations: 20_000_000,
        max_functions: 20_000_000,
        max_stack_depth: 100_000,
        max_string_bytes: 1 << 20,
        max_line_bytes: 1 << 20,
    };
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions::DEFAULT
    }
}

/// Why a file could not be decoded. Messages name the problem, not the file: the caller
/// knows the path and prefixes it.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The input has no bytes at all.
    #[error("the file is empty")]
    Empty,
    /// The gzip stream could not be inflated; holds the inflater's message.
    #[error("truncated or corrupt gzip stream ({0})")]
    Gzip(String),
    /// The decompressed data grew past [`DecodeOptions::max_decompressed_bytes`].
    #[error(
        "decompressed size exceeds the limit of {limit} bytes (raise it with --max-decompressed-size)"
    )]
    TooLarge {
        /// The limit that was passed, in bytes.
        limit: u64,
    },
    /// A count or size went past one of the other [`DecodeOptions`] limits.
    #[error("{what} exceeds the limit of {limit} (raise it with {flag})")]
    Limit {
        /// What went past it: `the number of samples`, `string 12 (2000000 bytes)`.
        what: String,
        /// The limit, in the unit of `what` (a count, or bytes).
        limit: u64,
        /// The command-line flag that raises it: `--max-samples`.
        flag: &'static str,
    },
    /// The data is not a pprof profile at all (a text file, not protobuf, no string table);
    /// holds why.
    #[error("not a pprof profile: {0}")]
    NotAProfile(String),
    /// A legacy profile format that is recognised and not read (see `legacy.rs`).
    #[error("{format}: not read; {advice}")]
    UnreadFormat {
        /// The format in words: `a legacy CPU profile (binary, pre-protobuf: …)`.
        format: &'static str,
        /// What to collect instead.
        advice: &'static str,
    },
    /// A profile whose content does not hold together (a dangling id, a value count that does
    /// not match the sample types, values too large to add up), or a failed read; holds the
    /// whole message.
    #[error("{0}")]
    Invalid(String),
}

/// True when the data starts with the gzip magic number.
pub fn is_gzip(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b
}

/// A reader that fails once more than `limit` bytes came through it: the decompressed-size
/// cap, enforced while inflating.
pub struct Limited<R> {
    inner: R,
    limit: u64,
    read: u64,
}

impl<R: Read> Limited<R> {
    /// Wraps `inner`, allowing at most `limit` bytes through it.
    pub fn new(inner: R, limit: u64) -> Self {
        Limited {
            inner,
            limit,
            read: 0,
        }
    }
}

/// Marker carried through `io::Error` so that the limit is reported as itself, not as an
/// I/O failure.
#[derive(Debug)]
struct OverLimit;

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("decompressed size limit")
    }
}

impl std::error::Error for OverLimit {}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(std::io::Error::other(OverLimit));
        }
        Ok(n)
    }
}

/// Maps a read error to a decode error: the size limit, a gzip failure, or plain I/O.
pub fn read_error(e: &std::io::Error, gzip: bool, limit: u64) -> DecodeError {
    if e.get_ref().is_some_and(|inner| inner.is::<OverLimit>()) {
        return DecodeError::TooLarge { limit };
    }
    if gzip {
        DecodeError::Gzip(e.to_string())
    } else {
        DecodeError::Invalid(format!("read failed ({e})"))
    }
}
