//! Writing files so that a failed or killed run loses nothing: a temporary file in the
//! target's folder, then a rename over (or, when asked, beside) the target; and for a report,
//! everything it writes (Markdown, HTML or JSON, its folder of flame graphs) published
//! together, one run at a time per folder, and finished by the next run when a kill cuts it
//! short ([`publish`]). Also where `--out` really goes (a symbolic link followed, a stream
//! written as one: [`destination`]), and the one place where names that came from data
//! become file names.

use std::io::Write;
use std::path::{Path, PathBuf};

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
    // tempfile creates files readable by the owner only; these are ordinary outputs.
    let mut temp = tempfile::Builder::new()
        .prefix(".pprof-report-")
        .suffix(".tmp")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .tempfile_in(folder_of(path))?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    Ok(temp)
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The longest file name component made from data, in bytes: two set names, `trend-`, `-to-`
/// and `.html` still fit the 255 bytes that Linux, macOS and Windows allow.
pub const NAME_BYTES_MAX: usize = 120;

/// A name that came from data (a set name from a file name, a host, a service) as one file
/// name component that stays where it is put: path separators, NUL and other control
/// characters, bidi controls and the characters Windows reserves (`<>:"|?*`) become `_`;
/// a leading dot (`.`, `..`, hidden files) and trailing dots and spaces (Windows drops them)
/// become `_`; Windows device names (`CON`, `NUL`, `COM1`, …) get a `_` in front; the name is
/// cut at `NAME_BYTES_MAX` bytes; an empty result is `fallback`. A plain name such as
/// `storage-57svc-20251015-210532` is unchanged.
pub fn safe_file_name(name: &str, fallback: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c if crate::text::is_hazard(c) => '_',
            c => c,
        })
        .collect();
    if out.len() > NAME_BYTES_MAX {
        let mut end = NAME_BYTES_MAX;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    if out.trim().is_empty() {
        return fallback.to_string();
    }
    if out.starts_with('.') {
        out.replace_range(..1, "_");
    }
    if out.ends_with(['.', ' ']) {
        out.pop();
        out.push('_');
    }
    let stem = out
        .split('.')
        .next()
        .unwrap_or("")
        .trim_end()
        .to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        out.insert(0, '_');
    }
    out
}

/// Everything one run writes, published together: files (the report and its HTML page, or
/// its JSON), the folder of assets that belongs to them (the flame graphs), and the main
/// output when it goes to a stream.
#[derive(Debug, Clone, Default)]
pub struct Publication {
    /// Each file's path and bytes; two with the same path are refused, and all of them and
    /// the assets folder must be in one folder (the one that is locked).
    pub files: Vec<(PathBuf, Vec<u8>)>,
    /// The assets folder that goes with the files; `None` leaves any folder alone.
    pub assets: Option<Assets>,
    /// The main output when it goes to a stream (`--out -`, a FIFO, a terminal): written as
    /// it comes, once the files and assets it links to are in place.
    pub stream: Option<(Stream, Vec<u8>)>,
}

/// A folder that holds exactly the assets of one report. Publishing replaces it as a whole,
/// so flame graphs of an earlier run that this run does not draw are not left behind to
/// mislead; with no files, an earlier folder is removed.
#[derive(Debug, Clone)]
pub struct Assets {
    /// The folder, e.g. `reports/x/` beside `reports/x.md`.
    pub dir: PathBuf,
    /// File names inside `dir` (no separators), and their bytes.
    pub files: Vec<(String, Vec<u8>)>,
}

impl Assets {
    /// The extension of the flame graphs and charts the folder holds.
    const EXTENSION: &'static str = "svg";
    /// The one other file the folder holds: the report's analysis, as JSON.
    pub const ANALYSIS: &'static str = "analysis.json";

    /// Whether a file of this name may be in the folder; a folder with anything else in it is
    /// not ours to replace.
    fn is_asset(name: &std::ffi::OsStr) -> bool {
        name == Self::ANALYSIS
            || Path::new(name)
                .extension()
                .is_some_and(|e| e == Self::EXTENSION)
    }
}

/// Why a run's files were not published: a clash refused before anything was written, or a
/// failure while writing (what was already replaced is put back where it can be).
#[derive(Debug, thiserror::Error)]
#[error("{}: {what}", path.display())]
pub struct PublishError {
    /// The file or folder concerned.
    pub path: PathBuf,
    /// What went wrong, in words.
    pub what: String,
}

impl PublishError {
    fn io(path: &Path, error: &std::io::Error) -> PublishError {
        PublishError {
            path: path.to_path_buf(),
            what: crate::text::describe_io(error),
        }
    }

    fn refused(path: &Path, what: impl Into<String>) -> PublishError {
        PublishError {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }
}

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

    fn write(&self, bytes: &[u8]) -> Result<(), PublishError> {
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

/// The prefix of a run's staging folder: `.pprof-report-stage-<pid>-<random>`.
const STAGE_PREFIX: &str = ".pprof-report-stage-";
/// The journal inside a staging folder: present once every byte is staged and the targets
/// start being replaced.
const JOURNAL: &str = "journal.json";

/// Publishes everything or nothing, whatever is killed when, and one run at a time per folder.
///
/// Under an exclusive `flock` on the targets' folder (the folder itself, so that no lock
/// file is left beside the reports: a lock file cannot be removed safely while others may
/// wait on it), a run first settles what runs that died there left (see [`settle`]), then
/// writes every byte into its staging folder `.pprof-report-stage-<pid>-<random>/` beside
/// the targets (a failure or a kill there changes no target), then writes the journal
/// (the targets' names, whether each existed), then renames: the earlier assets folder into
/// the stage, the new one into place, each file over its target. A failure among those
/// renames rolls back, through the earlier assets folder and hard links to the earlier
/// files kept in the stage. A kill leaves the journal, and the next run on that folder
/// finishes the commit (it only renames what is still in the stage, so finishing twice is
/// harmless) before anything else: a reader sees one whole report, old or new, except
/// between a kill in those few renames and the next run. The several targets cannot switch
/// at one rename without making `reports/<set>.md` or `reports/<set>/` a symbolic link,
/// and those names are what users, Git and GitHub rely on.
///
/// Two runs on one output are serialised: each publishes a whole report, the later one
/// last. The stream, if any, is written after the lock is released.
pub fn publish(publication: &Publication) -> Result<(), PublishError> {
    check_names(publication)?;
    if let Some(folder) = target_folder(publication)? {
        std::fs::create_dir_all(&folder).map_err(|e| PublishError::io(&folder, &e))?;
        let lock = lock_folder(&folder)?;
        if lock.is_some() {
            settle_locked(&folder)?;
        }
        let assets = assets_to_publish(publication)?;
        let stage = Stage::fill(&folder, &publication.files, assets)?;
        stage.commit()?;
        drop(lock);
    }
    if let Some((stream, bytes)) = &publication.stream {
        stream.write(bytes)?;
    }
    Ok(())
}

/// Finishes or clears what runs that died left in `folder` (see [`publish`]), under its lock:
/// a run calls it before its work, so that a killed run's report is whole again even when
/// this run fails.
pub fn settle(folder: &Path) -> Result<(), PublishError> {
    if !folder.is_dir() {
        return Ok(());
    }
    if lock_folder(folder)?.is_some() {
        settle_locked(folder)?;
    }
    Ok(())
}

/// Refuses names that would clash or escape, before anything is written.
fn check_names(publication: &Publication) -> Result<(), PublishError> {
    let files: Vec<&PathBuf> = publication.files.iter().map(|(p, _)| p).collect();
    for (i, path) in files.iter().enumerate() {
        if files[..i].contains(path) {
            return Err(PublishError::refused(
                path,
                "two outputs of this run would be the same file (give --out a .md name)",
            ));
        }
        if path.file_name().is_none() {
            return Err(PublishError::refused(path, "not a file name"));
        }
    }
    let Some(assets) = &publication.assets else {
        return Ok(());
    };
    if files.contains(&&assets.dir) {
        return Err(PublishError::refused(
            &assets.dir,
            "the report and its folder of flame graphs would have the same name (give --out an extension such as .md)",
        ));
    }
    if assets.dir.file_name().is_none() {
        return Err(PublishError::refused(&assets.dir, "not a folder name"));
    }
    for (name, _) in &assets.files {
        let plain = Path::new(name)
            .file_name()
            .is_some_and(|n| n == name.as_str());
        if !plain {
            return Err(PublishError::refused(
                &assets.dir.join(name),
                "not a plain file name",
            ));
        }
    }
    Ok(())
}

/// The one folder that holds every target of a publication; `None` when it has none.
fn target_folder(publication: &Publication) -> Result<Option<PathBuf>, PublishError> {
    let paths = publication
        .files
        .iter()
        .map(|(p, _)| p)
        .chain(publication.assets.iter().map(|a| &a.dir));
    let mut folder: Option<&Path> = None;
    for path in paths {
        let this = folder_of(path);
        match folder {
            Some(f) if f != this => {
                return Err(PublishError::refused(
                    path,
                    format!(
                        "not in {}, the folder of this run's other outputs",
                        f.display()
                    ),
                ));
            }
            _ => folder = Some(this),
        }
    }
    Ok(folder.map(Path::to_path_buf))
}

/// The assets this run publishes, checked under the lock: a run without flame graphs
/// removes an earlier run's folder, and leaves anything else; a folder that is not ours is
/// not replaced.
fn assets_to_publish(publication: &Publication) -> Result<Option<&Assets>, PublishError> {
    let Some(assets) = &publication.assets else {
        return Ok(None);
    };
    match folder_state(&assets.dir)? {
        Folder::Foreign(path, what) if !assets.files.is_empty() => {
            Err(PublishError::refused(&path, what))
        }
        Folder::Foreign(..) | Folder::Missing if assets.files.is_empty() => Ok(None),
        _ => Ok(Some(assets)),
    }
}

/// What is at the place of an assets folder.
enum Folder {
    Missing,
    /// A folder of assets only: a flame graph folder of an earlier run.
    Ours,
    /// Something this run must not replace, and why.
    Foreign(PathBuf, &'static str),
}

fn folder_state(dir: &Path) -> Result<Folder, PublishError> {
    let meta = match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Folder::Missing),
        Err(e) => return Err(PublishError::io(dir, &e)),
        Ok(meta) => meta,
    };
    if !meta.is_dir() {
        return Ok(Folder::Foreign(
            dir.to_path_buf(),
            "exists and is not a folder; not replacing it with the flame graphs (choose another --out)",
        ));
    }
    for entry in std::fs::read_dir(dir).map_err(|e| PublishError::io(dir, &e))? {
        let entry = entry.map_err(|e| PublishError::io(dir, &e))?;
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        let is_asset = Assets::is_asset(&entry.file_name());
        if !(is_file && is_asset) {
            return Ok(Folder::Foreign(
                entry.path(),
                "the flame graph folder holds something else than flame graphs; not replacing it (move it away or choose another --out)",
            ));
        }
    }
    Ok(Folder::Ours)
}

/// An exclusive `flock` on a folder, released when the file is dropped (or by the kernel
/// when the process dies, so a killed run never leaves it held). `None` where the folder
/// cannot be locked (a file system without locks, a folder that cannot be opened for
/// reading): the run publishes unserialised and leaves other runs' stages alone.
fn lock_folder(folder: &Path) -> Result<Option<std::fs::File>, PublishError> {
    use std::os::fd::AsRawFd;
    let Ok(file) = std::fs::File::open(folder) else {
        return Ok(None);
    };
    loop {
        // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
        let status = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if status == 0 {
            return Ok(Some(file));
        }
        let error = std::io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ENOLCK | libc::EOPNOTSUPP | libc::EINVAL) => return Ok(None),
            _ => return Err(PublishError::io(folder, &error)),
        }
    }
}

/// [`settle`], the lock held: every stage in `folder` is a dead run's. One with a journal is
/// finished the way the journal says; one without had changed nothing yet. Both are removed.
fn settle_locked(folder: &Path) -> Result<(), PublishError> {
    use std::os::unix::ffi::OsStrExt;
    let entries = std::fs::read_dir(folder).map_err(|e| PublishError::io(folder, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| PublishError::io(folder, &e))?;
        let is_stage = entry
            .file_name()
            .as_bytes()
            .starts_with(STAGE_PREFIX.as_bytes())
            && entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_stage {
            continue;
        }
        let stage = entry.path();
        if let Some(journal) = Journal::read(&stage)? {
            journal.apply(&stage, folder).map_err(|e| {
                PublishError::refused(
                    &stage,
                    format!(
                        "could not finish the publication of a run that died here ({e}); move this folder away to go on"
                    ),
                )
            })?;
        }
        remove_stage(&stage);
    }
    Ok(())
}

/// A run's staging folder, filled and journaled, ready to commit.
struct Stage {
    dir: PathBuf,
    folder: PathBuf,
    journal: Journal,
}

/// What the next run needs to finish (or undo) an interrupted commit; names are bytes, as
/// file names may not be UTF-8.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Journal {
    /// Whether a commit is finished forward (the new report) or back (the earlier one).
    forward: bool,
    /// The assets folder, if the run replaces or removes one.
    assets: Option<JournalAssets>,
    /// The files, in their order (`file-<n>` and `backup-<n>` in the stage).
    files: Vec<JournalFile>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct JournalAssets {
    /// The folder's name in the targets' folder.
    name: Vec<u8>,
    /// Replaced by the stage's `new/`, else removed.
    replace: bool,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct JournalFile {
    /// The file's name in the targets' folder.
    name: Vec<u8>,
    /// Whether something was there before the run; with no hard link to it (`backup-<n>`)
    /// (a file system without links), it cannot be put back.
    existed: bool,
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

fn name_in(folder: &Path, name: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    folder.join(std::ffi::OsStr::from_bytes(name))
}

fn rename(from: &Path, to: &Path, name: &Path) -> Result<(), PublishError> {
    std::fs::rename(from, to).map_err(|e| PublishError::io(name, &e))
}

impl Journal {
    fn read(stage: &Path) -> Result<Option<Journal>, PublishError> {
        let path = stage.join(JOURNAL);
        match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PublishError::io(&path, &e)),
            // Written whole by a rename: a journal that does not parse is not ours.
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                PublishError::refused(&path, format!("not a journal of this tool: {e}"))
            }),
        }
    }

    /// Writes the journal by a rename, so that it is there whole or not at all.
    fn write(&self, stage: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        let temp = stage.join("journal.tmp");
        std::fs::write(&temp, bytes)?;
        std::fs::rename(&temp, stage.join(JOURNAL))
    }

    fn apply(&self, stage: &Path, folder: &Path) -> Result<(), PublishError> {
        if self.forward {
            self.roll_forward(stage, folder)
        } else {
            self.roll_back(stage, folder)
        }
    }

    /// Puts in place whatever is still in the stage.
    fn roll_forward(&self, stage: &Path, folder: &Path) -> Result<(), PublishError> {
        if let Some(assets) = &self.assets {
            let target = name_in(folder, &assets.name);
            let (new, old) = (stage.join("new"), stage.join("old"));
            let still_to_replace = assets.replace && exists(&new);
            if (still_to_replace || !assets.replace) && exists(&target) && !exists(&old) {
                checkpoint().map_err(|e| PublishError::io(&target, &e))?;
                rename(&target, &old, &target)?;
            }
            if still_to_replace {
                checkpoint().map_err(|e| PublishError::io(&target, &e))?;
                rename(&new, &target, &target)?;
            }
        }
        for (n, file) in self.files.iter().enumerate() {
            let staged = staged_file_in(stage, n);
            let target = name_in(folder, &file.name);
            if exists(&staged) {
                checkpoint().map_err(|e| PublishError::io(&target, &e))?;
                rename(&staged, &target, &target)?;
            }
        }
        Ok(())
    }

    /// Puts back what was replaced: the files from their hard links, the assets folder from
    /// the stage.
    fn roll_back(&self, stage: &Path, folder: &Path) -> Result<(), PublishError> {
        for (n, file) in self.files.iter().enumerate().rev() {
            let target = name_in(folder, &file.name);
            if exists(&staged_file_in(stage, n)) {
                continue;
            }
            let backup = backup_file_in(stage, n);
            if exists(&backup) {
                rename(&backup, &target, &target)?;
            } else if !file.existed {
                match std::fs::remove_file(&target) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(PublishError::io(&target, &e));
                    }
                    _ => {}
                }
            }
        }
        if let Some(assets) = &self.assets {
            let target = name_in(folder, &assets.name);
            let (new, old) = (stage.join("new"), stage.join("old"));
            if assets.replace && !exists(&new) && exists(&target) {
                rename(&target, &new, &target)?;
            }
            if exists(&old) {
                rename(&old, &target, &target)?;
            }
        }
        Ok(())
    }
}

impl Stage {
    /// Writes every byte into a new stage in `folder`, links the files to be replaced, and
    /// writes the journal last. On failure the stage is removed and no target has changed.
    fn fill(
        folder: &Path,
        files: &[(PathBuf, Vec<u8>)],
        assets: Option<&Assets>,
    ) -> Result<Stage, PublishError> {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::Builder::new()
            .prefix(&format!("{STAGE_PREFIX}{}-", std::process::id()))
            .tempdir_in(folder)
            .map_err(|e| PublishError::io(folder, &e))?
            .keep();
        let journal = Journal {
            forward: true,
            assets: assets.map(|a| JournalAssets {
                name: a
                    .dir
                    .file_name()
                    .map(|n| n.as_bytes().to_vec())
                    .unwrap_or_default(),
                replace: !a.files.is_empty(),
            }),
            files: files
                .iter()
                .map(|(path, _)| JournalFile {
                    name: path
                        .file_name()
                        .map(|n| n.as_bytes().to_vec())
                        .unwrap_or_default(),
                    existed: exists(path),
                })
                .collect(),
        };
        let stage = Stage {
            dir,
            folder: folder.to_path_buf(),
            journal,
        };
        match stage.write_all(files, assets) {
            Ok(()) => Ok(stage),
            Err(e) => {
                if !simulated_crash() {
                    remove_stage(&stage.dir);
                }
                Err(e)
            }
        }
    }

    fn write_all(
        &self,
        files: &[(PathBuf, Vec<u8>)],
        assets: Option<&Assets>,
    ) -> Result<(), PublishError> {
        for (n, (path, bytes)) in files.iter().enumerate() {
            checkpoint().map_err(|e| PublishError::io(path, &e))?;
            // Not synced: a report lost to a power cut is made again by one command, while
            // syncing its files costs about as long as the rest of writing them.
            std::fs::write(staged_file_in(&self.dir, n), bytes)
                .map_err(|e| PublishError::io(path, &e))?;
            // The earlier file, kept to be put back; where links are not possible the
            // replacement is still atomic, only not undone.
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
                let _ = std::fs::hard_link(path, backup_file_in(&self.dir, n));
            }
        }
        if let Some(assets) = assets.filter(|a| !a.files.is_empty()) {
            let new = self.dir.join("new");
            std::fs::create_dir(&new).map_err(|e| PublishError::io(&assets.dir, &e))?;
            // tempfile makes the stage owner-only; the published folder is an ordinary one.
            std::fs::set_permissions(&new, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .map_err(|e| PublishError::io(&assets.dir, &e))?;
            for (name, bytes) in &assets.files {
                let target = assets.dir.join(name);
                checkpoint().map_err(|e| PublishError::io(&target, &e))?;
                std::fs::write(new.join(name), bytes).map_err(|e| PublishError::io(&target, &e))?;
            }
        }
        let journal = self.dir.join(JOURNAL);
        checkpoint().map_err(|e| PublishError::io(&journal, &e))?;
        // The journal's folder is named: a full disk here is this run's, not a target's.
        self.journal
            .write(&self.dir)
            .map_err(|e| PublishError::io(&self.folder, &e))
    }

    /// Renames everything into place; on failure, puts back what was replaced.
    fn commit(self) -> Result<(), PublishError> {
        let error = match self.journal.roll_forward(&self.dir, &self.folder) {
            Ok(()) => {
                remove_stage(&self.dir);
                return Ok(());
            }
            Err(error) if simulated_crash() => return Err(error),
            Err(error) => error,
        };
        let back = Journal {
            forward: false,
            ..self.journal.clone()
        };
        // Should the journal not be rewritten, a run that dies now is finished forward by
        // the next: whole either way.
        let _ = back.write(&self.dir);
        if back.roll_back(&self.dir, &self.folder).is_ok() {
            remove_stage(&self.dir);
        }
        // Else the stage stays, with its journal, for the next run to finish.
        Err(error)
    }
}

/// The `n`-th file of a stage, to be renamed over its target. Files and backups lie in the
/// stage itself, not in folders of their own: on this project's machine (ext4) creating a
/// folder takes 125 µs and removing one 120 µs, about what writing a 30 kB file takes.
fn staged_file_in(stage: &Path, n: usize) -> PathBuf {
    stage.join(format!("file-{n}"))
}

/// The hard link to the file the `n`-th file of a stage replaces, to be put back.
fn backup_file_in(stage: &Path, n: usize) -> PathBuf {
    stage.join(format!("backup-{n}"))
}

/// Removes a stage, its journal first: a stage found without one is only removed.
fn remove_stage(stage: &Path) {
    if simulated_crash() {
        return;
    }
    // Best effort: what is left is removed by the next run.
    let _ = std::fs::remove_file(stage.join(JOURNAL));
    let _ = std::fs::remove_dir_all(stage);
}

/// A point where tests make publishing fail (the n-th checkpoint reached returns an error)
/// or die; nothing at all outside unit tests.
#[cfg(not(test))]
fn checkpoint() -> std::io::Result<()> {
    Ok(())
}

/// Whether a test made this run "die" at a checkpoint: it then leaves everything as a
/// killed process would. Never, outside unit tests.
#[cfg(not(test))]
fn simulated_crash() -> bool {
    false
}

#[cfg(test)]
thread_local! {
    static FAIL_AT: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    static CRASH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static CRASHED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn checkpoint() -> std::io::Result<()> {
    FAIL_AT.with(|at| match at.get() {
        Some(0) => {
            at.set(None);
            if CRASH.get() {
                CRASHED.set(true);
            }
            Err(std::io::Error::other("injected failure"))
        }
        Some(n) => {
            at.set(Some(n - 1));
            Ok(())
        }
        None => Ok(()),
    })
}

#[cfg(test)]
fn simulated_crash() -> bool {
    CRASHED.get()
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

    #[test]
    fn names_from_data_stay_one_safe_component() {
        let cases = [
            (
                "storage-57svc-20251015-210532",
                "storage-57svc-20251015-210532",
            ),
            ("..", "__"),
            (".", "_"),
            ("...", "_._"),
            ("../../etc/passwd", "_._.._etc_passwd"),
            ("/abs/path", "_abs_path"),
            ("a\0b\nc\u{1b}d", "a_b_c_d"),
            ("x\u{202e}gpj.exe", "x_gpj.exe"),
            ("a<b>c:d\"e|f?g*h\\i", "a_b_c_d_e_f_g_h_i"),
            ("CON", "_CON"),
            ("nul.txt", "_nul.txt"),
            ("com1", "_com1"),
            ("console", "console"),
            ("trailing. ", "trailing._"),
            ("", "fallback"),
            ("  ", "fallback"),
            ("héllo wörld [1]", "héllo wörld [1]"),
        ];
        for (name, want) in cases {
            assert_eq!(safe_file_name(name, "fallback"), want, "{name:?}");
        }
        let long = "é".repeat(200);
        let cut = safe_file_name(&long, "x");
        assert!(cut.len() <= NAME_BYTES_MAX && cut.len() >= NAME_BYTES_MAX - 1);
        for name in ["..", ".", "a/b", "../x", "/x"] {
            let safe = safe_file_name(name, "x");
            let components: Vec<_> = Path::new(&safe).components().collect();
            assert!(
                matches!(components[..], [std::path::Component::Normal(_)]),
                "{name:?} → {safe:?}"
            );
        }
    }

    /// Every file below `dir` with its bytes, and every folder, sorted.
    fn snapshot(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                let relative = path.strip_prefix(dir).unwrap().to_path_buf();
                if path.is_dir() {
                    out.push((relative, None));
                    stack.push(path);
                } else {
                    out.push((relative, Some(std::fs::read(&path).unwrap())));
                }
            }
        }
        out.sort();
        out
    }

    fn publication(dir: &Path, version: &str, svgs: &[&str]) -> Publication {
        Publication {
            files: vec![
                (dir.join("r.html"), format!("html {version}").into_bytes()),
                (dir.join("r.md"), format!("md {version}").into_bytes()),
            ],
            assets: Some(Assets {
                dir: dir.join("r"),
                files: svgs
                    .iter()
                    .map(|n| (n.to_string(), format!("{n} {version}").into_bytes()))
                    .collect(),
            }),
            stream: None,
        }
    }

    #[test]
    fn a_failure_at_any_step_leaves_the_earlier_report_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        publish(&publication(dir.path(), "1", &["cpu.svg", "heap.svg"])).unwrap();
        let before = snapshot(dir.path());
        // Fail at the first checkpoint, then the second, … until a run gets through.
        let mut failures = 0;
        for n in 0.. {
            FAIL_AT.with(|at| at.set(Some(n)));
            let result = publish(&publication(
                dir.path(),
                "2",
                &["cpu.svg", "goroutines.svg"],
            ));
            FAIL_AT.with(|at| at.set(None));
            match result {
                Err(e) => {
                    assert!(e.what.contains("injected failure"), "{e}");
                    assert_eq!(snapshot(dir.path()), before, "after a failure at step {n}");
                    failures += 1;
                }
                Ok(()) => break,
            }
        }
        // Two files and two SVGs staged, the journal written, the folder moved away and the
        // new one put in place, two files renamed.
        assert_eq!(failures, 9);
        let after = snapshot(dir.path());
        let names: Vec<String> = after.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(
            names,
            ["r", "r/cpu.svg", "r/goroutines.svg", "r.html", "r.md"]
        );
        assert_eq!(std::fs::read(dir.path().join("r.md")).unwrap(), b"md 2");
        assert_eq!(
            std::fs::read(dir.path().join("r/cpu.svg")).unwrap(),
            b"cpu.svg 2"
        );
    }

    #[test]
    fn the_first_run_leaves_nothing_behind_when_it_fails() {
        for n in 0..8 {
            let dir = tempfile::tempdir().unwrap();
            FAIL_AT.with(|at| at.set(Some(n)));
            let result = publish(&publication(dir.path(), "1", &["cpu.svg", "heap.svg"]));
            FAIL_AT.with(|at| at.set(None));
            assert!(result.is_err(), "step {n}");
            assert_eq!(snapshot(dir.path()), [], "after a failure at step {n}");
        }
    }

    #[test]
    fn a_report_without_flame_graphs_removes_the_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        publish(&publication(dir.path(), "1", &["cpu.svg"])).unwrap();
        publish(&publication(dir.path(), "2", &[])).unwrap();
        let names: Vec<PathBuf> = snapshot(dir.path()).into_iter().map(|(p, _)| p).collect();
        assert_eq!(names, [PathBuf::from("r.html"), PathBuf::from("r.md")]);
    }

    #[test]
    fn folders_and_names_that_are_not_ours_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("r")).unwrap();
        std::fs::write(dir.path().join("r/notes.txt"), "mine").unwrap();
        let error = publish(&publication(dir.path(), "1", &["cpu.svg"])).unwrap_err();
        assert!(
            error.what.contains("something else than flame graphs"),
            "{error}"
        );
        assert_eq!(
            std::fs::read(dir.path().join("r/notes.txt")).unwrap(),
            b"mine"
        );
        assert!(!dir.path().join("r.md").exists());
        // With no flame graphs to write, the folder is left alone and the report written.
        publish(&publication(dir.path(), "1", &[])).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("r/notes.txt")).unwrap(),
            b"mine"
        );
        assert!(dir.path().join("r.md").exists());

        let clash = Publication {
            files: vec![
                (dir.path().join("x.html"), b"a".to_vec()),
                (dir.path().join("x.html"), b"b".to_vec()),
            ],
            ..Publication::default()
        };
        assert!(publish(&clash).unwrap_err().what.contains("same file"));
        let escape = Publication {
            files: vec![],
            assets: Some(Assets {
                dir: dir.path().join("s"),
                files: vec![("../x.svg".to_string(), b"x".to_vec())],
            }),
            ..Publication::default()
        };
        assert!(
            publish(&escape)
                .unwrap_err()
                .what
                .contains("plain file name")
        );
        assert!(!dir.path().join("x.svg").exists());
    }

    /// The snapshot without the stages of runs that died.
    fn published(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
        snapshot(dir)
            .into_iter()
            .filter(|(p, _)| !p.to_string_lossy().starts_with(STAGE_PREFIX))
            .collect()
    }

    #[test]
    fn a_run_killed_at_any_step_leaves_one_whole_report_once_the_next_run_settles() {
        // Each version published whole, alone.
        let mut whole = Vec::new();
        for (version, svgs) in [("1", &["cpu.svg", "heap.svg"][..]), ("2", &["cpu.svg"][..])] {
            let other = tempfile::tempdir().unwrap();
            publish(&publication(other.path(), version, svgs)).unwrap();
            whole.push(snapshot(other.path()));
        }
        let mut mid_commit = 0;
        for n in 0.. {
            let dir = tempfile::tempdir().unwrap();
            publish(&publication(dir.path(), "1", &["cpu.svg", "heap.svg"])).unwrap();
            FAIL_AT.with(|at| at.set(Some(n)));
            CRASH.set(true);
            let result = publish(&publication(dir.path(), "2", &["cpu.svg"]));
            FAIL_AT.with(|at| at.set(None));
            CRASH.set(false);
            let crashed = CRASHED.replace(false);
            if result.is_ok() {
                assert!(!crashed);
                assert_eq!(snapshot(dir.path()), whole[1]);
                break;
            }
            assert!(crashed, "step {n}");
            let stages: Vec<PathBuf> = snapshot(dir.path())
                .into_iter()
                .map(|(p, _)| p)
                .filter(|p| p.to_string_lossy().starts_with(STAGE_PREFIX))
                .collect();
            assert!(
                !stages.is_empty(),
                "a killed run leaves its stage, step {n}"
            );
            let journaled = stages.iter().any(|p| p.ends_with(JOURNAL));
            if journaled {
                mid_commit += 1;
            } else {
                // Before its journal, a run has changed nothing.
                assert_eq!(published(dir.path()), whole[0], "step {n}");
            }
            settle(dir.path()).unwrap();
            let after = snapshot(dir.path());
            // Finished forward once the journal is there.
            let want = if journaled { &whole[1] } else { &whole[0] };
            assert_eq!(&after, want, "after a kill at step {n}, settled");
        }
        // Journal, the folder moved away, the new one in place, two files: a kill after
        // each of the four renames' checkpoints but the first leaves a journal.
        assert_eq!(mid_commit, 4);
    }
}
