//! What decoding accepts and how it refuses: the options with their limits, the decode
//! errors, gzip sniffing, the reader that stops at the decompressed-size limit and the
//! memory budget of a decoded profile. Every stage of decoding (`wire`, `resolve`,
//! `validate`, `decode`) reports through these.

use std::cell::Cell;
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
    /// Most memory the decoded profile may take, in bytes, estimated entry by entry while it
    /// is read. `None` (the default) allows [`MEMORY_PER_BYTE`] bytes per decompressed byte
    /// read plus [`MEMORY_FLOOR`], at most [`MEMORY_CAP`]: a file of tiny entries (an empty
    /// string is 2 bytes on the wire and 24 in memory) is refused after a few megabytes,
    /// while a real profile, whose entries carry data, never comes near. A value given
    /// replaces all three.
    pub max_memory_bytes: Option<u64>,
}

/// Bytes of memory the decoded profile may take per decompressed byte read, by default.
/// Real profiles take 5 to 10 (the production set of ../shared/real 5 to 8, the fixtures up
/// to 10): locations and functions take a few hundred bytes for twenty, values 16 for 1 or
/// 2, strings and stacks about their wire size. Files of empty or one-byte entries take 16
/// to 80, and are refused within their first few megabytes.
pub const MEMORY_PER_BYTE: u64 = 16;
/// Memory every profile may take whatever its size, by default: small profiles of few
/// entries with much metadata (a table of mappings, long names) are never refused.
pub const MEMORY_FLOOR: u64 = 16 << 20;
/// The most memory any profile may take by default, however large: with the default
/// decompressed limit of 1 GiB, a profile of many small entries stays under 4 GiB of
/// address space with everything around it.
pub const MEMORY_CAP: u64 = 2 << 30;

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
        max_memory_bytes: None,
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
    /// The entries read so far would take more memory than [`DecodeOptions::max_memory_bytes`]
    /// (or its default) allows.
    #[error(
        "the profile would take more than {limit} bytes of memory once decoded, at {what} ({why}; raise it with --max-memory)"
    )]
    Memory {
        /// What was being read when the limit was reached, with its number: `string 1398102`,
        /// `sample 1 (536870912 bytes)`.
        what: String,
        /// The limit at that point, in bytes.
        limit: u64,
        /// How the limit was set: `the limit for 2796204 bytes read: …` or `the limit set by
        /// --max-memory`.
        why: String,
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

/// What a heap block of `len` bytes takes from the allocator: nothing for 0, else at least
/// 32 bytes (glibc's smallest chunk), in steps of 16 with an 8-byte header. A file of
/// one-byte strings takes 80 bytes of memory per 3 bytes read, not 25.
pub(crate) fn heap_bytes(len: usize) -> u64 {
    if len == 0 {
        0
    } else {
        (len as u64).saturating_add(8).next_multiple_of(16).max(32)
    }
}

/// The memory a decoded profile may take, charged as its entries are read and resolved
/// (see [`DecodeOptions::max_memory_bytes`]). Charges are estimates of what each entry
/// holds in memory (its structs and the bytes it owns), made before the entry is stored, so
/// that a refused profile never allocates what it would have taken.
pub(crate) struct MemoryBudget {
    explicit: Option<u64>,
    used: Cell<u64>,
}

impl MemoryBudget {
    pub(crate) fn new(options: &DecodeOptions) -> Self {
        MemoryBudget::with_limit(options.max_memory_bytes)
    }

    /// A budget of `max_memory_bytes` ([`DecodeOptions::max_memory_bytes`]).
    pub(crate) fn with_limit(max_memory_bytes: Option<u64>) -> Self {
        MemoryBudget {
            explicit: max_memory_bytes,
            used: Cell::new(0),
        }
    }

    /// The limit once `read` decompressed bytes have been read.
    fn limit(&self, read: u64) -> u64 {
        match self.explicit {
            Some(limit) => limit,
            None => read
                .saturating_mul(MEMORY_PER_BYTE)
                .saturating_add(MEMORY_FLOOR)
                .min(MEMORY_CAP),
        }
    }

    fn refusal(&self, what: impl FnOnce() -> String, read: u64) -> DecodeError {
        DecodeError::Memory {
            what: what(),
            limit: self.limit(read),
            why: match self.explicit {
                Some(_) => "the limit set by --max-memory".to_string(),
                None => format!(
                    "the limit for {read} bytes read: {MEMORY_PER_BYTE} per byte plus {} MiB, at most {} GiB",
                    MEMORY_FLOOR >> 20,
                    MEMORY_CAP >> 30
                ),
            },
        }
    }

    /// Fails when `bytes` more would pass the limit for `read` bytes read, without taking
    /// them: for what lives only while one entry is read, or the worst case of an entry
    /// about to be read.
    pub(crate) fn check(
        &self,
        bytes: u64,
        read: u64,
        what: impl FnOnce() -> String,
    ) -> Result<(), DecodeError> {
        if self.used.get().saturating_add(bytes) > self.limit(read) {
            return Err(self.refusal(what, read));
        }
        Ok(())
    }

    /// Takes `bytes` for good, or fails as [`MemoryBudget::check`] does.
    pub(crate) fn charge(
        &self,
        bytes: u64,
        read: u64,
        what: impl FnOnce() -> String,
    ) -> Result<(), DecodeError> {
        self.check(bytes, read, what)?;
        self.used.set(self.used.get().saturating_add(bytes));
        Ok(())
    }
}
