//! Replacing a task file without losing a save made meanwhile by an editor (or by Backlog.md's
//! own CLI), whether it saves by rename (a new file renamed over the task: a new inode) or in
//! place (the same inode truncated and written again).
//!
//! The new content is staged in a hidden file beside the task (`.pprof-report-attach-<pid>-<n>.tmp`:
//! not a `task-*.md` name, so Backlog.md never reads it), then swapped with the task by
//! `renameat2(RENAME_EXCHANGE)`. The exchange is atomic and keeps the file it displaced, now
//! under the staging name, so what was replaced can be checked after the fact: if it is not
//! the version attach read (a rename or an in-place save came between the read and the
//! exchange, including the instant before it), it is put back and attach starts again from it.
//! An in-place save that opened the old file before the exchange truncates it then (`O_TRUNC`),
//! which the check sees; one whose writes land after the exchange is caught by watching the
//! displaced file for a moment, and once more after its name is gone.
//!
//! What no check can see: a writer that opened the task before the exchange *without*
//! truncating it and writes to that descriptor after attach has finished watching. Its bytes go
//! to a file no longer in any folder, exactly as they would if any other tool had renamed a
//! new version over the task meanwhile. Where the filesystem cannot exchange (some network and
//! FUSE filesystems), attach falls back to a rename checked just before it, and a save in the
//! microseconds between that check and the rename cannot be seen either.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::BacklogError;

/// How many times attach starts again from the task as it is now when a save came between
/// its read and its replacement; and how many swaps it makes to put back saves that keep
/// arriving while it restores one (each costs microseconds).
pub(super) const ATTEMPTS: usize = 8;
const PUT_BACK_SWAPS: usize = 64;
/// How long the displaced file is watched for writes through a descriptor opened before the
/// exchange: an in-place save writes right after it opens.
const SETTLE: Duration = Duration::from_millis(10);
/// A staging file this old is stale even if a process with its pid is alive (pids are reused);
/// an attach takes milliseconds.
const STALE_AFTER: Duration = Duration::from_secs(600);
const STAGING_PREFIX: &str = ".pprof-report-attach-";
const STAGING_SUFFIX: &str = ".tmp";
/// Earlier versions staged task files as `.pprof-report-XXXXXX.tmp` (tempfile's six random
/// characters); leftovers of killed runs are removed when stale.
const LEGACY_PREFIX: &str = ".pprof-report-";
/// Test hook: milliseconds to pause once the new content is staged and checked, just before
/// the exchange, and once more after it, so that a test can kill attach or save the task at
/// those points.
pub const TEST_PAUSE_VAR: &str = "PPROF_REPORT_TEST_ATTACH_PAUSE_MS";

/// A file as read: which one (device, inode), which version (size, modification time) and its
/// bytes. Not its change time: renaming and unlinking, which attach itself does, change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Snapshot {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    /// The file's content.
    pub bytes: Vec<u8>,
    /// Permission bits, given to the new file.
    mode: u32,
}

impl Snapshot {
    /// Reads the file at `path`.
    pub fn read(path: &Path) -> std::io::Result<Snapshot> {
        Snapshot::of(&mut File::open(path)?)
    }

    /// Reads an open file from its start.
    fn of(file: &mut File) -> std::io::Result<Snapshot> {
        file.seek(SeekFrom::Start(0))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        // After the read: a write during it changes size or time, or the bytes read next time.
        let meta = file.metadata()?;
        Ok(Snapshot {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            bytes,
            mode: meta.mode() & 0o777,
        })
    }

    fn same_file(&self, other: &Snapshot) -> bool {
        (self.dev, self.ino) == (other.dev, other.ino)
    }

    /// Whether the file at `path` is still this one, in this version, with these bytes.
    pub fn is_current(&self, path: &Path) -> std::io::Result<bool> {
        match Snapshot::read(path) {
            Ok(now) => Ok(now == *self),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// What one replacement did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The task holds the new content, and what it replaced was the version read.
    Replaced,
    /// The task changed since it was read; it is as that change left it (put back if
    /// displaced), and attach must start again from it.
    Changed,
}

/// Replaces the task with `updated` if, up to the instant of the replacement, it is still
/// the version `read`.
pub(super) fn replace(
    task: &Path,
    read: &Snapshot,
    updated: &[u8],
) -> Result<Outcome, BacklogError> {
    let io = |e: std::io::Error| BacklogError::Io {
        path: task.to_path_buf(),
        what: crate::text::describe_io(&e),
    };
    let folder = folder_of(task);
    let staged = stage(folder, updated, read.mode).map_err(io)?;
    // Cheap and catches most saves; the exchange below checks what it replaced anyway.
    if !read.is_current(task).map_err(io)? {
        let _ = std::fs::remove_file(&staged.path);
        return Ok(Outcome::Changed);
    }
    test_pause();
    if let Err(e) = exchange(&staged.path, task) {
        if exchange_unsupported(&e) {
            // This filesystem cannot exchange: rename, just after the check above.
            return std::fs::rename(&staged.path, task)
                .map(|()| {
                    sync_folder(folder);
                    Outcome::Replaced
                })
                .map_err(|e| {
                    let _ = std::fs::remove_file(&staged.path);
                    io(e)
                });
        }
        let _ = std::fs::remove_file(&staged.path);
        return Err(io(e));
    }
    test_pause();
    // The task is the new file; the staging name holds the file it displaced.
    let displaced = &staged.path;
    let mut file = File::open(displaced).map_err(io)?;
    let first = Snapshot::of(&mut file).map_err(io)?;
    if !first.same_file(read) || first != *read {
        put_back(displaced, task, &staged.written)?;
        return Ok(Outcome::Changed);
    }
    // A descriptor opened before the exchange still writes to the displaced file.
    std::thread::sleep(SETTLE);
    if Snapshot::of(&mut file).map_err(io)? != first {
        put_back(displaced, task, &staged.written)?;
        return Ok(Outcome::Changed);
    }
    std::fs::remove_file(displaced).map_err(io)?;
    let last = Snapshot::of(&mut file).map_err(io)?;
    if last != first {
        // Written between the look above and the removal: its bytes now live only in this
        // open file. Let the writer finish, and put a copy of them back.
        std::thread::sleep(SETTLE);
        let bytes = Snapshot::of(&mut file).map_err(io)?.bytes;
        let copy = stage(folder, &bytes, read.mode).map_err(io)?;
        put_back(&copy.path, task, &staged.written)?;
        return Ok(Outcome::Changed);
    }
    sync_folder(folder);
    Ok(Outcome::Replaced)
}

/// Puts the file at `displaced` back at `task`, where `ours` (as written) was put. The file
/// that comes out must be `ours`, unchanged; anything else was saved at the task's name after
/// the exchange and is newer, so it goes back in its turn, and the one displaced then is the
/// older save. With saves still arriving this swaps again, a bounded number of times.
fn put_back(displaced: &Path, task: &Path, ours: &Snapshot) -> Result<(), BacklogError> {
    let kept = |what: String| BacklogError::Refused {
        path: task.to_path_buf(),
        what: format!(
            "{what} while the file was being saved by something else; the version attach displaced is kept as {}",
            keep(displaced).display()
        ),
    };
    let mut expected = ours.clone();
    for _ in 0..PUT_BACK_SWAPS {
        let putting = Snapshot::read(displaced).map_err(|e| kept(crate::text::describe_io(&e)))?;
        exchange(displaced, task).map_err(|e| kept(crate::text::describe_io(&e)))?;
        let out = Snapshot::read(displaced).map_err(|e| kept(crate::text::describe_io(&e)))?;
        if out.same_file(&expected) && out == expected {
            std::fs::remove_file(displaced).map_err(|e| kept(crate::text::describe_io(&e)))?;
            sync_folder(folder_of(task));
            return Ok(());
        }
        expected = putting;
    }
    Err(kept(format!(
        "the task kept changing through {PUT_BACK_SWAPS} swaps"
    )))
}

/// Renames a file that may hold someone's save to a name the cleanup of stale staging files
/// leaves alone (still hidden from Backlog.md); where that fails, it stays where it is.
fn keep(path: &Path) -> PathBuf {
    let kept = path.with_file_name(format!(
        "{STAGING_PREFIX}kept-{}-{}.md",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    match std::fs::rename(path, &kept) {
        Ok(()) => kept,
        Err(_) => path.to_path_buf(),
    }
}

/// A staged file: its path, and what was written (as a snapshot, to recognise it later).
struct Staged {
    path: PathBuf,
    written: Snapshot,
}

/// Writes `bytes` to a new staging file in `folder`, synced, with permission bits `mode`.
fn stage(folder: &Path, bytes: &[u8], mode: u32) -> std::io::Result<Staged> {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    let mut tries = 0;
    let (path, mut file) = loop {
        let n = SERIAL.fetch_add(1, Ordering::Relaxed);
        let path = folder.join(format!("{STAGING_PREFIX}{pid}-{n}{STAGING_SUFFIX}"));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
        {
            Ok(file) => break (path, file),
            // A leftover of a dead run that had the same pid, not yet cleaned.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 1000 => {
                tries += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let written = (|| {
        file.write_all(bytes)?;
        // The umask narrowed the mode at creation; the task keeps its own.
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        Snapshot::of(&mut file)
    })();
    match written {
        Ok(written) => Ok(Staged { path, written }),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(e)
        }
    }
}

/// Swaps the two names atomically (`renameat2` on Linux, `renameatx_np` on macOS).
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

/// Elsewhere there is no exchange: the caller falls back to a checked rename.
#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(rustix::io::Errno::NOSYS))
}

/// The errors of a filesystem or kernel that cannot exchange two names.
fn exchange_unsupported(error: &std::io::Error) -> bool {
    use rustix::io::Errno;
    [Errno::INVAL, Errno::NOSYS, Errno::OPNOTSUPP]
        .iter()
        .any(|e| error.raw_os_error() == Some(e.raw_os_error()))
}

/// Waits a little longer after each change seen, so that a burst of saves ends before attach
/// gives up: 5 ms, then 10, 15… (140 ms over all the attempts).
pub(super) fn pause_before_retry(attempt: usize) {
    std::thread::sleep(Duration::from_millis(5) * attempt as u32);
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes the renames durable; best effort, as the files themselves are synced.
fn sync_folder(folder: &Path) {
    if let Ok(dir) = File::open(folder) {
        let _ = dir.sync_all();
    }
}

thread_local! {
    static TEST_PAUSE: std::cell::Cell<Option<Duration>> = const { std::cell::Cell::new(None) };
}

/// Test hook: makes this thread's attaches pause between their last check and the exchange,
/// and after the exchange (as [`TEST_PAUSE_VAR`] does for a process), so that a test can
/// save the task in that gap. `None` ends it.
#[doc(hidden)]
pub fn pause_attaches_for_tests(pause: Option<Duration>) {
    TEST_PAUSE.set(pause);
}

fn test_pause() {
    let pause = TEST_PAUSE.get().or_else(|| {
        std::env::var(TEST_PAUSE_VAR)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
    });
    if let Some(pause) = pause {
        std::thread::sleep(pause);
    }
}

/// Removes the staging files that runs killed before they finished left in `folder`: those
/// whose process is gone, and any older than a few minutes. Best effort: a file that cannot be
/// removed is left for the next run.
pub(super) fn remove_stale_staging(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let old = || {
            entry
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > STALE_AFTER)
        };
        let stale = if let Some(pid) = name
            .strip_prefix(STAGING_PREFIX)
            .and_then(|rest| rest.strip_suffix(STAGING_SUFFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, serial)| serial.parse::<u64>().ok().and(pid.parse::<i32>().ok()))
        {
            !process_alive(pid) || old()
        } else {
            is_legacy_staging(name) && old()
        };
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn is_legacy_staging(name: &str) -> bool {
    name.strip_prefix(LEGACY_PREFIX)
        .and_then(|rest| rest.strip_suffix(STAGING_SUFFIX))
        .is_some_and(|random| {
            random.len() == 6 && random.chars().all(|c| c.is_ascii_alphanumeric())
        })
}

/// Whether a process with this pid exists (one of another user's counts).
fn process_alive(pid: i32) -> bool {
    if pid == std::process::id() as i32 {
        return true;
    }
    let Some(pid) = rustix::process::Pid::from_raw(pid) else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e != rustix::io::Errno::SRCH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_names_are_recognised() {
        assert!(is_legacy_staging(".pprof-report-a1B2c3.tmp"));
        assert!(!is_legacy_staging(".pprof-report-attach-1-2.tmp"));
        assert!(!is_legacy_staging("task-1 - x.md"));
    }

    #[test]
    fn only_stale_staging_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let own = format!("{STAGING_PREFIX}{}-0{STAGING_SUFFIX}", std::process::id());
        // pid_max is at most 2^22 on Linux: this pid cannot be alive.
        let dead = format!("{STAGING_PREFIX}{}-0{STAGING_SUFFIX}", (1 << 22) + 1);
        let fresh_legacy = ".pprof-report-abcdef.tmp";
        for name in [own.as_str(), dead.as_str(), fresh_legacy, "task-1 - x.md"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        remove_stale_staging(dir.path());
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut expected = vec![own, fresh_legacy.to_string(), "task-1 - x.md".to_string()];
        expected.sort();
        assert_eq!(left, expected);
    }
}
