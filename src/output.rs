//! Writing files so that a failed run loses nothing: a temporary file in the target's folder,
//! then a rename over (or, when asked, beside) the target.

use std::io::Write;
use std::path::Path;

/// How an existing target is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Replace,
    Refuse,
}

/// Writes `bytes` to `path` atomically. With `Existing::Refuse`, an existing file is kept
/// and the write fails with `AlreadyExists`.
pub fn write_atomic(path: &Path, bytes: &[u8], existing: Existing) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // tempfile creates files readable by the owner only; these are ordinary outputs.
    let mut temp = tempfile::Builder::new()
        .prefix(".pprof-report-")
        .suffix(".tmp")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    match existing {
        Existing::Replace => temp.persist(path).map(|_| ()).map_err(|e| e.error),
        Existing::Refuse => temp
            .persist_noclobber(path)
            .map(|_| ())
            .map_err(|e| e.error),
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
