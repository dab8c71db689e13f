//! Reading one profile file, whatever its format (recognised by content): a pprof protobuf,
//! gzipped or not, or a goroutine text dump (`debug=1`, `debug=2`), gzipped or not.

use std::path::Path;

use crate::error::Error;
use crate::goroutine::{self, DumpError, GoroutineDump};
use crate::profile::{self, DecodeError, DecodeOptions, Profile};

/// A decoded file.
#[derive(Debug)]
pub enum Decoded {
    Profile(Profile),
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
    #[error("{0}")]
    Profile(#[from] DecodeError),
    #[error("{0}")]
    Dump(#[from] DumpError),
}

/// Decodes bytes: gzip is undone first (within the size limit), then a goroutine dump is
/// recognised by its first line, and anything else must be a pprof protobuf.
pub fn decode_any(data: &[u8], options: &DecodeOptions) -> Result<Decoded, DecodeAnyError> {
    if data.is_empty() {
        return Err(DecodeError::Empty.into());
    }
    let raw = profile::decompress(data, options)?;
    let decoded = if goroutine::sniff(&raw).is_some() {
        Decoded::Dump(goroutine::parse(&raw)?)
    } else {
        Decoded::Profile(profile::decode(&raw, options)?)
    };
    let profile = match &decoded {
        Decoded::Profile(p) => p,
        Decoded::Dump(d) => &d.profile,
    };
    check_value_sums(profile)?;
    Ok(decoded)
}

/// The largest sum of |value| over the samples of one sample type that is accepted. Every
/// total, flat and cum downstream is a sum of some of these values, and `top --base` adds a
/// second profile's: below 2^61 none of it can overflow an i64. Above, Go's pprof wraps
/// silently and prints garbage, and our debug builds panicked (found by fuzzing). No real
/// profile comes near: 2^61 nanoseconds are 73 years of CPU, 2^61 bytes 2 EiB.
const MAX_VALUE_SUM: u128 = 1 << 61;

fn check_value_sums(profile: &Profile) -> Result<(), DecodeError> {
    for (i, sample_type) in profile.sample_types.iter().enumerate() {
        let sum: u128 = profile
            .samples
            .iter()
            .filter_map(|s| s.values.get(i))
            .map(|v| u128::from(v.unsigned_abs()))
            .sum();
        if sum > MAX_VALUE_SUM {
            return Err(DecodeError::Invalid(format!(
                "the {:?} values add up to {sum} (absolute), more than the 2^61 that sums over them can hold",
                sample_type.kind
            )));
        }
    }
    Ok(())
}

/// Reads and decodes a profile file into the stack→count model.
pub fn read_profile(path: &Path, options: &DecodeOptions) -> Result<Profile, Error> {
    let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
    if metadata.is_dir() {
        return Err(Error::Read {
            path: path.to_path_buf(),
            what: "is a directory, not a profile file".to_string(),
        });
    }
    let data = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    decode_any(&data, options)
        .map(Decoded::into_profile)
        .map_err(|e| match e {
            DecodeAnyError::Profile(source) => Error::Decode {
                path: path.to_path_buf(),
                source,
            },
            DecodeAnyError::Dump(source) => Error::Dump {
                path: path.to_path_buf(),
                source,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
