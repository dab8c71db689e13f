//! Where `--out` really goes, and the streams written as they come.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::PublishError;

/// Where a job's main output goes, once `--out` has been looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A regular file, or none yet: replaced by staged publication. The path is the one at
    /// the end of any symbolic links, so that a link is written through and kept, as a shell
    /// redirection would, and the staging happens beside the file really replaced.
    File(PathBuf),
    /// A stream, written as it comes: no staging, no rename.
    Stream(Stream),
}

/// A stream a job writes its main output to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    /// Standard output: `--out -`, `/dev/stdout`, `/dev/fd/1`.
    Stdout,
    /// Standard error: `/dev/stderr`, `/dev/fd/2`.
    Stderr,
    /// A FIFO, a character device, or another descriptor of this process
    /// (`/proc/self/fd/N`), opened for writing.
    Path(PathBuf),
}

impl Stream {
    /// The stream as a path for messages: `<stdout>`, `<stderr>`, or its path.
    pub fn name(&self) -> PathBuf {
        match self {
            Stream::Stdout => PathBuf::from("<stdout>"),
            Stream::Stderr => PathBuf::from("<stderr>"),
            Stream::Path(path) => path.clone(),
        }
    }

    pub(super) fn write(&self, bytes: &[u8]) -> Result<(), PublishError> {
        let result = match self {
            Stream::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes).and_then(|()| out.flush())
            }
            Stream::Stderr => std::io::stderr().lock().write_all(bytes),
            // Appending: a descriptor opened by the shell with `>>` keeps what it holds.
            Stream::Path(path) => std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .and_then(|mut file| file.write_all(bytes)),
        };
        match result {
            // A closed pipe (`| head`) is the reader's choice, not a failure.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(PublishError::io(&self.name(), &e)),
            Ok(()) => Ok(()),
        }
    }
}

/// How many symbolic links are followed before giving up, as Linux's `ELOOP` does.
const SYMLINKS_MAX: usize = 40;

/// Where `--out` really goes: `-` and the names of this process's descriptors
/// (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`) are streams, never files to replace; a
/// symbolic link is followed, link by link, to what it names; a FIFO or character device
/// at the end is a stream; a regular file, or nothing yet, is a file; anything else is
/// refused.
pub fn destination(out: &Path) -> Result<Destination, PublishError> {
    if out == Path::new("-") {
        return Ok(Destination::Stream(Stream::Stdout));
    }
    let mut path = out.to_path_buf();
    for _ in 0..SYMLINKS_MAX {
        if let Some(stream) = descriptor_stream(&path) {
            return Ok(Destination::Stream(stream));
        }
        let meta = match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Destination::File(path));
            }
            Err(e) => return Err(PublishError::io(out, &e)),
            Ok(meta) => meta,
        };
        let kind = meta.file_type();
        use std::os::unix::fs::FileTypeExt;
        if kind.is_symlink() {
            let target = std::fs::read_link(&path).map_err(|e| PublishError::io(&path, &e))?;
            path = match path.parent() {
                Some(parent) if target.is_relative() && !parent.as_os_str().is_empty() => {
                    parent.join(target)
                }
                _ => target,
            };
        } else if kind.is_fifo() || kind.is_char_device() {
            return Ok(Destination::Stream(Stream::Path(path)));
        } else if kind.is_file() || kind.is_dir() {
            // A folder is refused when its rename fails, naming it, as before.
            return Ok(Destination::File(path));
        } else {
            return Err(PublishError::refused(
                &path,
                "not a regular file, FIFO or character device; not writing the report there",
            ));
        }
    }
    Err(PublishError::refused(
        out,
        "too many levels of symbolic links",
    ))
}

/// The stream a path names when it is one of this process's descriptors.
fn descriptor_stream(path: &Path) -> Option<Stream> {
    let text = path.to_str()?;
    match text {
        "/dev/stdout" => return Some(Stream::Stdout),
        "/dev/stderr" => return Some(Stream::Stderr),
        _ => {}
    }
    let own = format!("/proc/{}/fd/", std::process::id());
    let number = ["/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/", &own]
        .iter()
        .find_map(|prefix| text.strip_prefix(prefix))?;
    match number.parse::<u32>().ok()? {
        1 => Some(Stream::Stdout),
        2 => Some(Stream::Stderr),
        _ => Some(Stream::Path(path.to_path_buf())),
    }
}

/// Makes a write past the file-size limit (`ulimit -f`) fail with `EFBIG`, reported in one
/// line naming the file while the staged files are removed, instead of the default SIGXFSZ
/// killing the process mid-write, with nothing said and its temporary files left.
pub fn ignore_file_size_signal() {
    // SAFETY: SIG_IGN installs no handler code; called once at start, before any thread.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
