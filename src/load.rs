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
    if goroutine::sniff(&raw).is_some() {
        return Ok(Decoded::Dump(goroutine::parse(&raw)?));
    }
    Ok(Decoded::Profile(profile::decode(&raw, options)?))
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
