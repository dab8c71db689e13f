//! Reading one profile file, whatever its format (recognised by content): a pprof protobuf,
//! gzipped or not, or a goroutine text dump (`debug=1`, `debug=2`), gzipped or not.

use std::io::Read;
use std::path::Path;

use super::SetError;
use crate::dump::{self, DumpError, GoroutineDump};
use crate::profile::{self, DecodeError, DecodeOptions, Profile};

/// A decoded file.
#[derive(Debug)]
pub enum Decoded {
    /// A pprof protobuf profile.
    Profile(Profile),
    /// A goroutine text dump, with the profile built from its stacks.
    Dump(GoroutineDump),
}

impl Decoded {
    /// The stack→count profile (a dump's is built from its stacks).
    pub fn into_profile(self) -> Profile {
        match self {
            Decoded::Profile(p) => p,
            Decoded::Dump(d) => d.profile,
        }
    }
}

/// Why a file's bytes are not a profile.
#[derive(Debug, thiserror::Error)]
pub enum DecodeAnyError {
    /// The data could not be read (gzip, size limit, I/O), or is no dump and does not decode
    /// as a pprof protobuf.
    #[error("{0}")]
    Profile(#[from] DecodeError),
    /// The data starts as a goroutine dump and does not parse as one.
    #[error("{0}")]
    Dump(#[from] DumpError),
}

/// Decodes bytes: a goroutine dump is recognised by its first line (after gzip, if any),
/// anything else must be a pprof protobuf.
pub fn decode_any(data: &[u8], options: &DecodeOptions) -> Result<Decoded, DecodeAnyError> {
    decode_reader_sized(data, options, profile::decode::expected_size_of(data))
}

/// The decompressed size a profile file likely has: a gzip file's trailer says it, a plain
/// file is its own size. Only a hint for sizing buffers; `None` when it cannot be read.
pub fn expected_size(file: &std::fs::File) -> Option<u64> {
    use std::os::unix::fs::FileExt as _;
    let len = file.metadata().ok()?.len();
    let mut magic = [0u8; 2];
    file.read_exact_at(&mut magic, 0).ok()?;
    if !profile::is_gzip(&magic) {
        return Some(len);
    }
    let mut trailer = [0u8; 4];
    file.read_exact_at(&mut trailer, len.checked_sub(4)?).ok()?;
    Some(profile::decode::gzip_size_of_trailer(trailer))
}

/// Decodes a stream, as [`decode_any`] does bytes. A protobuf or a goroutine dump is decoded
/// while it is read (and inflated), so a large profile never exists in memory both
/// compressed, inflated and decoded.
///
/// This only dispatches: the start is sniffed once for gzip and once (inflated) for a dump,
/// and the decoder chosen validates what it returns ([`profile::check_value_sums`]).
pub fn decode_reader(
    input: impl Read + Send,
    options: &DecodeOptions,
) -> Result<Decoded, DecodeAnyError> {
    decode_reader_sized(input, options, None)
}

/// [`decode_reader`] of a stream expected to inflate to `expected_bytes` (see
/// [`expected_size`]), so that a protobuf's sample buffers are sized once.
pub fn decode_reader_sized(
    mut input: impl Read + Send,
    options: &DecodeOptions,
    expected_bytes: Option<u64>,
) -> Result<Decoded, DecodeAnyError> {
    if let Some(bytes) = expected_bytes {
        crate::allocator::reading_member(bytes);
    }
    let limit = options.max_decompressed_bytes;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut input)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| profile::decode::read_error(&e, false, limit))?;
    if head.is_empty() {
        return Err(DecodeError::Empty.into());
    }
    let gzip = profile::is_gzip(&head);
    let mut reader =
        profile::decompressing_reader(gzip, std::io::Cursor::new(head).chain(input), options);
    // Enough of the (inflated) start to recognise a dump by its first line.
    let mut start = Vec::with_capacity(SNIFF_BYTES);
    (&mut reader)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut start)
        .map_err(|e| profile::decode::read_error(&e, gzip, limit))?;
    if let Some(format) = dump::sniff(&start) {
        return dump::parse_stream(format, start, reader, &dump_limits(options))
            .map(Decoded::Dump)
            .map_err(|e| match e {
                dump::StreamError::Read(e) => profile::decode::read_error(&e, gzip, limit).into(),
                dump::StreamError::Dump(e) => e.into(),
            });
    }
    let decode = |rest: &mut dyn Read| {
        let stream = std::io::Cursor::new(start).chain(rest);
        profile::decode_stream(stream, gzip, options, expected_bytes)
    };
    let profile = if gzip && expected_bytes.is_some_and(|bytes| bytes >= READ_AHEAD_BYTES) {
        crate::parallel::read_ahead(reader, decode)
    } else {
        decode(&mut reader)
    };
    Ok(Decoded::Profile(profile?))
}

/// Profiles inflating to at least this much are inflated on a second thread while the first
/// decodes them: inflating is about half of decoding. Smaller ones, such as every member of
/// the sim-57 set, stay on one thread, which a second would only cost its start.
const READ_AHEAD_BYTES: u64 = 4 << 20;

/// How much of an inflated stream is read to tell a dump from a protobuf.
const SNIFF_BYTES: usize = 4096;

/// The text-dump limits of the decode options.
pub fn dump_limits(options: &DecodeOptions) -> dump::DumpLimits {
    dump::DumpLimits {
        max_line_bytes: options.max_line_bytes,
        max_stack_depth: options.max_stack_depth,
        max_memory_bytes: options.max_memory_bytes,
    }
}

/// Reads and decodes a profile file into the stack→count model.
pub fn read_profile(path: &Path, options: &DecodeOptions) -> Result<Profile, SetError> {
    let io = |e: std::io::Error| SetError::Io {
        path: path.to_path_buf(),
        what: crate::text::describe_io(&e),
    };
    let metadata = std::fs::metadata(path).map_err(io)?;
    if metadata.is_dir() {
        return Err(SetError::Io {
            path: path.to_path_buf(),
            what: "is a directory, not a profile file".to_string(),
        });
    }
    // Decoded while it is read: a large profile or dump is never in memory whole as well.
    let file = std::fs::File::open(path).map_err(io)?;
    let expected = expected_size(&file);
    decode_reader_sized(
        std::io::BufReader::with_capacity(1 << 16, file),
        options,
        expected,
    )
    .map(Decoded::into_profile)
    .map_err(|e| match e {
        DecodeAnyError::Profile(source) => SetError::Decode {
            path: path.to_path_buf(),
            source,
        },
        DecodeAnyError::Dump(source) => SetError::Dump {
            path: path.to_path_buf(),
            source,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_gzipped_profile_read_ahead_decodes_as_one_read_directly() {
        // Enough samples to inflate past READ_AHEAD_BYTES: 150 000 stacks of 20 frames.
        let mut builder =
            crate::profile::model::ProfileBuilder::new(vec![crate::profile::model::ValueType {
                kind: "samples".to_string(),
                unit: "count".to_string(),
            }]);
        let locations: Vec<usize> = (0..200)
            .map(|i| {
                let function = builder.function(&format!("main.f{i}"), "main.go");
                builder.location(
                    0x1000 + i as u64,
                    &[crate::profile::model::Line {
                        function,
                        line: i as i64,
                        column: 0,
                    }],
                )
            })
            .collect();
        for sample in 0..150_000usize {
            let stack: Vec<usize> = (0..20)
                .map(|depth| locations[(sample * 31 + depth * 17) % locations.len()])
                .collect();
            builder
                .sample(&stack, &[sample as i64 + 1], Default::default())
                .unwrap();
        }
        let gzipped = crate::profile::encode::encode_gzip(&builder.finish()).unwrap();
        let expected = profile::decode::expected_size_of(&gzipped).unwrap();
        assert!(expected >= READ_AHEAD_BYTES, "{expected} bytes inflated");
        let options = DecodeOptions::default();
        let ahead = decode_reader_sized(&gzipped[..], &options, Some(expected)).unwrap();
        let direct = decode_reader_sized(&gzipped[..], &options, None).unwrap();
        assert_eq!(ahead.into_profile(), direct.into_profile());

        // Cut short, it fails as a direct read does.
        let cut = &gzipped[..gzipped.len() / 2];
        let ahead = decode_reader_sized(cut, &options, Some(expected)).unwrap_err();
        let direct = decode_reader_sized(cut, &options, None).unwrap_err();
        assert_eq!(ahead.to_string(), direct.to_string());
    }

    #[test]
    fn a_large_profile_whose_hot_locations_have_high_ids_is_stored_coded_and_reads_the_same() {
        use crate::profile::model::{Line, ProfileBuilder, ValueType};
        let mut builder = ProfileBuilder::new(vec![ValueType {
            kind: "samples".to_string(),
            unit: "count".to_string(),
        }]);
        // 300 locations; every stack runs through 150..180, whose ids take two bytes.
        let locations: Vec<usize> = (0..300)
            .map(|i| {
                let function = builder.function(&format!("main.f{i}"), "main.go");
                let line = Line {
                    function,
                    line: i as i64,
                    column: 0,
                };
                builder.location(0x1000 + i as u64, &[line])
            })
            .collect();
        for sample in 0..150_000usize {
            let mut stack = vec![locations[sample % 150]];
            stack.extend(&locations[150..180]);
            builder
                .sample(&stack, &[sample as i64 + 1], Default::default())
                .unwrap();
        }
        let gzipped = crate::profile::encode::encode_gzip(&builder.finish()).unwrap();
        let expected = profile::decode::expected_size_of(&gzipped).unwrap();
        let options = DecodeOptions::default();
        let coded = decode_reader_sized(&gzipped[..], &options, Some(expected))
            .unwrap()
            .into_profile();
        let as_read = decode_reader_sized(&gzipped[..], &options, None)
            .unwrap()
            .into_profile();
        assert_eq!(coded.sample_count(), as_read.sample_count());
        for (a, b) in coded.samples().zip(as_read.samples()) {
            assert!(a.locations().eq(b.locations()));
            assert!(a.locations().rev().eq(b.locations().rev()));
            assert!(a.values().eq(b.values()));
        }
        assert_eq!(coded.locations, as_read.locations);
        // One byte a frame instead of two for 30 of the 31.
        let (coded_bytes, as_read_bytes) =
            (coded.samples.stack_bytes(), as_read.samples.stack_bytes());
        assert!(
            coded_bytes * 10 < as_read_bytes * 6,
            "{coded_bytes} vs {as_read_bytes}"
        );

        // A location no location message defines is named with its sample, coded or not.
        use prost::Message as _;
        let mut message =
            crate::profile::proto::Profile::decode(&crate::profile::encode::encode(&as_read)[..])
                .unwrap();
        message.sample[100_000].location_id[3] = 9_999;
        message.sample[120_000].location_id[0] = 8_888;
        let bytes = message.encode_to_vec();
        let coded = decode_reader_sized(&bytes[..], &options, Some(bytes.len() as u64));
        let as_read = decode_reader_sized(&bytes[..], &options, None);
        let (coded, as_read) = (coded.unwrap_err(), as_read.unwrap_err());
        assert_eq!(
            coded.to_string(),
            "sample 100001 refers to location 9999, which the profile does not define"
        );
        assert_eq!(coded.to_string(), as_read.to_string());
    }

    #[test]
    fn values_that_add_up_past_what_sums_can_hold_are_refused() {
        let dump = b"goroutine profile: total 0\n2 @ 0xc\n\n9223372036854775807 @ 0x1\n\n";
        let error = decode_any(dump, &DecodeOptions::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the \"goroutine\" values add up to 9223372036854775809 (absolute), more than the 2^61 that sums over them can hold"
        );
        let fine = b"goroutine profile: total 0\n2 @ 0xc\n\n2305843009213693950 @ 0x1\n\n";
        assert!(decode_any(fine, &DecodeOptions::default()).is_ok());
    }

    #[test]
    fn a_dump_parsed_directly_is_refused_alike() {
        let dump = b"goroutine profile: total 0\n2 @ 0xc\n\n9223372036854775807 @ 0x1\n\n";
        let direct = dump::parse(dump).unwrap_err();
        let loaded = decode_any(dump, &DecodeOptions::default()).unwrap_err();
        assert_eq!(direct.to_string(), loaded.to_string());
    }
}
