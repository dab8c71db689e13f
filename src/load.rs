//! Reading one profile file from disk, whatever its format (recognised by content).

use std::path::Path;

use crate::error::Error;
use crate::goroutine;
use crate::profile::{self, DecodeOptions, Profile};

/// Reads and decodes a profile file: a pprof protobuf (gzipped or not) or a goroutine text
/// dump (`debug=1` or `debug=2`), which becomes the same stack→count model.
pub fn read_profile(path: &Path, options: &DecodeOptions) -> Result<Profile, Error> {
    let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
    if metadata.is_dir() {
        return Err(Error::Read {
            path: path.to_path_buf(),
            what: "is a directory, not a profile file".to_string(),
        });
    }
    let data = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    if goroutine::sniff(&data).is_some() {
        return goroutine::parse(&data)
            .map(|dump| dump.profile)
            .map_err(|source| Error::Dump {
                path: path.to_path_buf(),
                source,
            });
    }
    profile::decode(&data, options).map_err(|source| Error::Decode {
        path: path.to_path_buf(),
        source,
    })
}
