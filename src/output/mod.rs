//! Writing files so that a failed or killed run loses nothing: a temporary file in the
//! target's folder, then a rename over (or, when asked, beside) the target; and for a report,
//! everything it writes (Markdown, HTML or JSON, its folder of flame graphs) published
//! together, one run at a time per folder, and finished by the next run when a kill cuts it
//! short ([`publish`](fn@publish)). Also where `--out` really goes (a symbolic link followed,
//! a stream written as one: [`destination`](fn@destination)), and the one place where names
//! that came from data become file names.
//!
//! One job a file: single-file writes here, names from data in `names.rs`, where an output
//! goes in `destination.rs`, a report's publication under its folder's lock in `publish.rs`,
//! and the stage and journal that make it whole after a kill in `journal.rs`.

mod destination;
mod journal;
mod names;
mod publish;

pub use destination::{Destination, Stream, destination, ignore_file_size_signal};
pub use names::{NAME_BYTES_MAX, safe_file_name};
pub use publish::{Assets, Publication, PublishError, publish, settle};

use std::io::Write;
use std::path::Path;

/// How an existing target is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// The new file takes its place.
    Replace,
    /// It is kept, and the write fails with `AlreadyExists`.
    Refuse,
}

/// Writes `bytes` to `path` atomically. With `Existing::Refuse`, an existing file is kept
/// and the write fails with `AlreadyExists`.
pub fn write_atomic(path: &Path, bytes: &[u8], existing: Existing) -> std::io::Result<()> {
    let temp = staged_file(path, bytes)?;
    match existing {
        Existing::Replace => temp.persist(path).map(|_| ()).map_err(|e| e.error),
        Existing::Refuse => temp
            .persist_noclobber(path)
            .map(|_| ())
            .map_err(|e| e.error),
    }
}

/// `bytes` in a temporary file beside `path`, synced to disk (a task file, a collected
/// profile: things that cannot be made again), ready to be renamed over it.
fn staged_file(path: &Path, bytes: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    let mut temp = staging_file_in(folder_of(path))?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    Ok(temp)
}

/// A new temporary file in `dir`, named as every staged output is (`.pprof-report-*.tmp`),
/// to be renamed into place once written.
pub fn staging_file_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    // tempfile creates files readable by the owner only; these are ordinary outputs.
    tempfile::Builder::new()
        .prefix(".pprof-report-")
        .suffix(".tmp")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .tempfile_in(dir)
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_clobber_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_atomic(&path, b"one", Existing::Refuse).unwrap();
        let error = write_atomic(&path, b"two", Existing::Refuse).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"three", Existing::Replace).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
