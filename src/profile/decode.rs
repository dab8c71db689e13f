//! The door from bytes to a [`Profile`]: inflating under the decompressed-size limit, and
//! the public decode functions, which read
//! (`wire.rs`), resolve (`resolve.rs`) and validate ([`check_value_sums`]) before they return
//! a profile.
//!
//! The decoder streams: gzip is inflated while the protobuf is read, samples go straight into
//! the compact columns of [`Samples`](super::Samples) (their packed location ids are copied,
//! not expanded), and only the small messages (locations, functions, mappings, labels) are
//! decoded one by one with prost. A production heap profile of 800k samples and 25M frames
//! never exists in memory as anything larger than its own packed stacks.

use std::io::Read;

use super::legacy;
use super::limits::MemoryBudget;
pub use super::limits::{DecodeError, DecodeOptions, Limited, is_gzip, read_error};
use super::model::Profile;
use super::resolve::resolve;
use super::validate::check_value_sums;
use super::wire::{Failure, Input, read_fields};

/// How much of the decompressed start is read to recognise a legacy format.
const LEGACY_SNIFF_BYTES: usize = 4096;

/// A reader of the decompressed bytes: gzip (every member, as Go's reader does) is undone
/// on the fly; other input passes through. Both are capped at the decompressed-size limit.
/// `gzip` is what the caller sniffed ([`is_gzip`]) at the start of `input`.
pub fn decompressing_reader<'a, R: Read + Send + 'a>(
    gzip: bool,
    input: R,
    options: &DecodeOptions,
) -> Limited<Box<dyn Read + Send + 'a>> {
    let inner: Box<dyn Read + Send + 'a> = if gzip {
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
    let expected = expected_size_of(data);
    decode_stream(reader, gzip, options, expected)
}

/// The decompressed size bytes of a profile likely have: a gzip stream's trailer says it, plain
/// bytes are their own size. Only a hint for sizing buffers.
pub fn expected_size_of(data: &[u8]) -> Option<u64> {
    if is_gzip(data) {
        data.last_chunk::<4>()
            .map(|&trailer| gzip_size_of_trailer(trailer))
    } else {
        Some(data.len() as u64)
    }
}

/// The decompressed size a gzip file's last four bytes (ISIZE) give: exact for one member
/// under 4 GiB, which is what Go writes; only ever used as a hint.
pub fn gzip_size_of_trailer(trailer: [u8; 4]) -> u64 {
    u64::from(u32::from_le_bytes(trailer))
}

/// Decodes a pprof profile from a stream of decompressed bytes (see [`decompressing_reader`]);
/// `gzip` says whether they are being inflated, for error messages; `expected_bytes`, the
/// decompressed size the stream likely has, lets the sample buffers be sized once. Like
/// [`decode`], it returns only a profile that passes [`check_value_sums`].
pub fn decode_stream<R: Read>(
    mut reader: R,
    gzip: bool,
    options: &DecodeOptions,
    expected_bytes: Option<u64>,
) -> Result<Profile, DecodeError> {
    // A legacy text profile (or another legacy format, refused by name) is told by its start;
    // no profile.proto starts like one (their first byte is a field tag, never 0, `-` or `h`).
    let mut head = Vec::with_capacity(LEGACY_SNIFF_BYTES);
    (&mut reader)
        .take(LEGACY_SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| read_error(&e, gzip, options.max_decompressed_bytes))?;
    let reader = std::io::Cursor::new(head).chain(reader);
    if let Some(format) = legacy::sniff(reader.get_ref().0.get_ref()) {
        let profile = legacy::parse(format, reader, gzip, options)?;
        check_value_sums(&profile)?;
        return Ok(profile);
    }
    let mut input = Input::new(reader, gzip, options.max_decompressed_bytes);
    let budget = MemoryBudget::new(options);
    let raw = match read_fields(&mut input, options, &budget, expected_bytes) {
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
    let profile = resolve(raw, &budget, input.consumed())?;
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
                column: 0,
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
        assert_eq!(p.sample(1).values().to_vec(), [7]);
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
        assert_eq!(p.sample(0).values().to_vec(), [9]);
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
        check(
            DecodeOptions {
                max_memory_bytes: Some(10),
                ..defaults
            },
            "the profile would take more than 10 bytes of memory once decoded, at sample type 1 \
             (the limit set by --max-memory; raise it with --max-memory)",
        );
        assert!(decode(&bytes, &defaults).is_ok());
    }
}
