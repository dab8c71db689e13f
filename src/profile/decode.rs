//! The door from bytes to a [`Profile`]: decode options and errors, gzip sniffing and
//! inflating under the decompressed-size limit, and the public decode functions, which read
//! (`wire.rs`), resolve (`resolve.rs`) and validate ([`check_value_sums`]) before they return
//! a profile.
//!
//! The decoder streams: gzip is inflated while the protobuf is read, samples go straight into
//! the compact columns of [`Samples`](super::Samples) (their packed location ids are copied,
//! not expanded), and only the small messages (locations, functions, mappings, labels) are
//! decoded one by one with prost. A production heap profile of 800k samples and 25M frames
//! never exists in memory as anything larger than its own packed stacks.

use std::io::Read;

use super::model::Profile;
use super::resolve::resolve;
use super::validate::check_value_sums;
use super::wire::{Failure, Input, read_fields};

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
    #[error("the file is empty")]
    Empty,
    #[error("truncated or corrupt gzip stream ({0})")]
    Gzip(String),
    #[error(
        "decompressed size exceeds the limit of {limit} bytes (raise it with --max-decompressed-size)"
    )]
    TooLarge { limit: u64 },
    #[error("{what} exceeds the limit of {limit} (raise it with {flag})")]
    Limit {
        what: String,
        limit: u64,
        flag: &'static str,
    },
    #[error("not a pprof profile: {0}")]
    NotAProfile(String),
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

/// A reader of the decompressed bytes: gzip (every member, as Go's reader does) is undone
/// on the fly; other input passes through. Both are capped at the decompressed-size limit.
/// `gzip` is what the caller sniffed ([`is_gzip`]) at the start of `input`.
pub fn decompressing_reader<'a, R: Read + 'a>(
    gzip: bool,
    input: R,
    options: &DecodeOptions,
) -> Limited<Box<dyn Read + 'a>> {
    let inner: Box<dyn Read + 'a> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(
            std::io::BufReader::with_capacity(1 << 16, input),
        ))
    } else {
        Box::new(input)
    };
    Limited::new(inner, options.max_decompressed_bytes)
}

/// Decompresses gzip input (all members, as Go's reader does) up to the size limit; returns
/// other input unchanged.
pub fn decompress<'a>(
    data: &'a [u8],
    options: &DecodeOptions,
) -> Result<std::borrow::Cow<'a, [u8]>, DecodeError> {
    if !is_gzip(data) {
        return Ok(std::borrow::Cow::Borrowed(data));
    }
    let mut reader = decompressing_reader(true, data, options);
    let mut out = Vec::with_capacity(data.len().saturating_mul(4));
    reader
        .read_to_end(&mut out)
        .map_err(|e| read_error(&e, true, options.max_decompressed_bytes))?;
    Ok(std::borrow::Cow::Owned(out))
}

/// Decodes a pprof profile, gzipped or not (recognised by content), and validates it
/// ([`check_value_sums`]).
pub fn decode(data: &[u8], options: &DecodeOptions) -> Result<Profile, DecodeError> {
    if data.is_empty() {
        return Err(DecodeError::Empty);
    }
    let gzip = is_gzip(data);
    let reader = decompressing_reader(gzip, data, options);
    decode_stream(reader, gzip, options)
}

/// Decodes a pprof profile from a stream of decompressed bytes (see [`decompressing_reader`]);
/// `gzip` says whether they are being inflated, for error messages. Like [`decode`], it
/// returns only a profile that passes [`check_value_sums`].
pub fn decode_stream<R: Read>(
    reader: R,
    gzip: bool,
    options: &DecodeOptions,
) -> Result<Profile, DecodeError> {
    let mut input = Input::new(reader, gzip, options.max_decompressed_bytes);
    let raw = match read_fields(&mut input, options) {
        Ok(raw) => raw,
        Err(Failure::Decode(e)) => return Err(e),
        Err(Failure::Wire(what)) => {
            return Err(match input.text_head() {
                Some(line) => {
                    DecodeError::NotAProfile(format!("it is a text file starting {line:?}"))
                }
                None if input.consumed() == 0 => {
                    DecodeError::NotAProfile("the gzip stream holds no data".to_string())
                }
                None => DecodeError::NotAProfile(format!("protobuf decoding failed ({what})")),
            });
        }
    };
    if input.consumed() == 0 {
        return Err(DecodeError::NotAProfile(
            "the gzip stream holds no data".to_string(),
        ));
    }
    let profile = resolve(raw)?;
    check_value_sums(&profile)?;
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::profile::proto;

    fn strings(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    /// Two functions at locations with ids 20 and 10 (not 1..=n in order), three samples.
    fn profile() -> proto::Profile {
        let location = |id, function_id| proto::Location {
            id,
            line: vec![proto::Line {
                function_id,
                line: 1,
            }],
            ..Default::default()
        };
        let function = |id, name| proto::Function {
            id,
            name,
            ..Default::default()
        };
        let sample = |location_id: Vec<u64>, value| proto::Sample {
            location_id,
            value: vec![value],
            label: vec![],
        };
        proto::Profile {
            sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
            sample: vec![
                sample(vec![10, 20], 5),
                sample(vec![20], 7),
                sample(vec![], 1),
            ],
            location: vec![location(20, 2), location(10, 1)],
            function: vec![function(1, 3), function(2, 4)],
            string_table: strings(&["", "samples", "count", "leaf", "root"]),
            ..Default::default()
        }
    }

    fn names(p: &Profile, sample: usize) -> Vec<&str> {
        p.stack_names(p.sample(sample)).collect()
    }

    #[test]
    fn location_ids_out_of_order_are_resolved() {
        let p = decode(&profile().encode_to_vec(), &DecodeOptions::default()).unwrap();
        assert_eq!(p.sample_count(), 3);
        assert_eq!(names(&p, 0), ["leaf", "root"]);
        assert_eq!(names(&p, 1), ["root"]);
        assert!(names(&p, 2).is_empty());
        assert_eq!(p.sample(1).values(), [7]);
    }

    #[test]
    fn gzip_and_plain_decode_alike() {
        use std::io::Write;
        let plain = profile().encode_to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        let options = DecodeOptions::default();
        assert_eq!(decode(&gz, &options), decode(&plain, &options));
    }

    #[test]
    fn unpacked_location_ids_are_read_too() {
        // Field 1 of a sample as separate varints (wire type 0) instead of one packed field.
        let mut p = profile();
        p.sample.clear();
        let mut bytes = p.encode_to_vec();
        let sample = [0x08, 10, 0x08, 20, 0x10, 9];
        bytes.extend_from_slice(&[0x12, sample.len() as u8]);
        bytes.extend_from_slice(&sample);
        let p = decode(&bytes, &DecodeOptions::default()).unwrap();
        assert_eq!(names(&p, 0), ["leaf", "root"]);
        assert_eq!(p.sample(0).values(), [9]);
    }

    #[test]
    fn an_unknown_location_names_the_sample() {
        let mut p = profile();
        p.sample[1].location_id = vec![20, 99];
        let e = decode(&p.encode_to_vec(), &DecodeOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "sample 2 refers to location 99, which the profile does not define"
        );
    }

    #[test]
    fn values_that_add_up_past_what_sums_can_hold_are_refused() {
        let with_values = |values: [i64; 3]| {
            let mut p = profile();
            p.string_table[1] = b"goroutine".to_vec();
            for (sample, value) in p.sample.iter_mut().zip(values) {
                sample.value = vec![value];
            }
            decode(&p.encode_to_vec(), &DecodeOptions::default())
        };
        let error = with_values([i64::MAX, 2, 0]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the \"goroutine\" values add up to 9223372036854775809 (absolute), more than the 2^61 that sums over them can hold"
        );
        assert!(with_values([2305843009213693950, 2, 0]).is_ok());
    }

    #[test]
    fn limits_name_themselves_and_their_flag() {
        let bytes = profile().encode_to_vec();
        let check = |options: DecodeOptions, expected: &str| {
            assert_eq!(decode(&bytes, &options).unwrap_err().to_string(), expected);
        };
        let defaults = DecodeOptions::default();
        check(
            DecodeOptions {
                max_samples: 2,
                ..defaults
            },
            "the number of samples exceeds the limit of 2 (raise it with --max-samples)",
        );
        check(
            DecodeOptions {
                max_stack_depth: 1,
                ..defaults
            },
            "the stack of sample 1 (2 locations) exceeds the limit of 1 (raise it with --max-stack-depth)",
        );
        check(
            DecodeOptions {
                max_locations: 1,
                ..defaults
            },
            "the number of locations exceeds the limit of 1 (raise it with --max-locations)",
        );
        check(
            DecodeOptions {
                max_functions: 1,
                ..defaults
            },
            "the number of functions exceeds the limit of 1 (raise it with --max-functions)",
        );
        check(
            DecodeOptions {
                max_string_bytes: 6,
                ..defaults
            },
            "string 1 (7 bytes) exceeds the limit of 6 (raise it with --max-string-length)",
        );
        check(
            DecodeOptions {
                max_decompressed_bytes: 10,
                ..defaults
            },
            "decompressed size exceeds the limit of 10 bytes (raise it with --max-decompressed-size)",
        );
    }
}
