//! Reading one profile file from disk, whatever its format (recognised by content).

use std::path::Path;

use crate::error::Error;
use crate::profile::{self, DecodeOptions, Profile};

/// Reads and decodes a pprof protobuf file (gzipped or not).
pub fn read_profile(path: &Path, options: &DecodeOptions) -> Result<Profile, Error> {
    let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
    if metadata.is_dir() {
        return Err(Error::Read {
            path: path.to_path_buf(),
            what: "is a directory, not a profile file".to_string(),
        });
    }
    let data = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    profile::decode(&data, options).map_err(|source| Error::Decode {
        path: path.to_path_buf(),
        source,
    })
}
