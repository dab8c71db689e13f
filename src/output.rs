//! Writing files so that a failed run loses nothing: a temporary file in the target's folder,
//! then a rename over (or, when asked, beside) the target; and for a report, everything it
//! writes (Markdown, HTML or JSON, its folder of flame graphs) published together or not at
//! all. Also the one place where names that came from data become file names.

use std::io::Write;
use std::path::{Path, PathBuf};

/// How an existing target is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Replace,
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

/// `bytes` in a synced temporary file beside `path`, ready to be renamed over it.
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
/// its JSON) and the folder of assets that belongs to them (the flame graphs).
#[derive(Debug, Clone, Default)]
pub struct Publication {
    pub files: Vec<(PathBuf, Vec<u8>)>,
    pub assets: Option<Assets>,
}

/// A folder that holds exactly the assets of one report. Publishing replaces it as a whole,
/// so flame graphs of an earlier run that this run does not draw are not left behind to
/// mislead; with no files, an earlier folder is removed.
#[derive(Debug, Clone)]
pub struct Assets {
    pub dir: PathBuf,
    /// File names inside `dir` (no separators), and their bytes.
    pub files: Vec<(String, Vec<u8>)>,
}

impl Assets {
    /// The extension of every file the folder may hold; a folder with anything else in it is
    /// not ours to replace.
    const EXTENSION: &'static str = "svg";
}

#[derive(Debug, thiserror::Error)]
#[error("{}: {what}", path.display())]
pub struct PublishError {
    pub path: PathBuf,
    pub what: String,
}

impl PublishError {
    fn io(path: &Path, error: &std::io::Error) -> PublishError {
        PublishError {
            path: path.to_path_buf(),
            what: crate::error::describe_io(error),
        }
    }

    fn refused(path: &Path, what: impl Into<String>) -> PublishError {
        PublishError {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }
}

/// Publishes everything or nothing. Every byte is first written to temporary files and a
/// temporary folder beside the targets (a failure there changes nothing); then the assets
/// folder is swapped in and each file renamed over its target, each rename atomic; a failure
/// among those renames puts back what was replaced (the earlier folder and, through hard
/// links kept until the end, the earlier files). Readers see each file either old or new.
pub fn publish(publication: &Publication) -> Result<(), PublishError> {
    check_targets(publication)?;
    // Stage.
    let mut staged = Vec::new();
    for (path, bytes) in &publication.files {
        let dir = folder_of(path);
        std::fs::create_dir_all(dir).map_err(|e| PublishError::io(dir, &e))?;
        checkpoint().map_err(|e| PublishError::io(path, &e))?;
        let temp = staged_file(path, bytes).map_err(|e| PublishError::io(path, &e))?;
        staged.push((path.as_path(), temp));
    }
    // A run without flame graphs removes an earlier run's folder, and leaves anything else.
    let assets = match &publication.assets {
        Some(a) if a.files.is_empty() && !matches!(folder_state(&a.dir)?, Folder::Ours) => None,
        other => other.as_ref(),
    };
    let stage = match assets {
        Some(assets) => Some(stage_assets(assets)?),
        None => None,
    };
    // Commit, undoing on failure.
    let mut undo = Vec::new();
    let result = commit(assets, stage.as_ref(), staged, &mut undo);
    if result.is_err() {
        for step in undo.into_iter().rev() {
            // Best effort: the first error is the one worth reporting.
            let _ = step.undo();
        }
    }
    result
}

/// Refuses what would lose data or clash before anything is written.
fn check_targets(publication: &Publication) -> Result<(), PublishError> {
    let files: Vec<&PathBuf> = publication.files.iter().map(|(p, _)| p).collect();
    for (i, path) in files.iter().enumerate() {
        if files[..i].contains(path) {
            return Err(PublishError::refused(
                path,
                "two outputs of this run would be the same file (give --out a .md name)",
            ));
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
    match folder_state(&assets.dir)? {
        Folder::Foreign(path, what) if !assets.files.is_empty() => {
            Err(PublishError::refused(&path, what))
        }
        _ => Ok(()),
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
        let is_asset = Path::new(&entry.file_name())
            .extension()
            .is_some_and(|e| e == Assets::EXTENSION);
        if !(is_file && is_asset) {
            return Ok(Folder::Foreign(
                entry.path(),
                "the flame graph folder holds something else than flame graphs; not replacing it (move it away or choose another --out)",
            ));
        }
    }
    Ok(Folder::Ours)
}

/// A temporary folder beside the assets folder, with the new assets in `new/` and room for
/// the earlier folder in `old/`; removed with everything in it when dropped.
struct Stage {
    dir: tempfile::TempDir,
    has_new: bool,
}

impl Stage {
    fn new_dir(&self) -> PathBuf {
        self.dir.path().join("new")
    }
    fn old_dir(&self) -> PathBuf {
        self.dir.path().join("old")
    }
}

fn stage_assets(assets: &Assets) -> Result<Stage, PublishError> {
    let parent = folder_of(&assets.dir);
    std::fs::create_dir_all(parent).map_err(|e| PublishError::io(parent, &e))?;
    let dir = tempfile::Builder::new()
        .prefix(".pprof-report-")
        .tempdir_in(parent)
        .map_err(|e| PublishError::io(parent, &e))?;
    let stage = Stage {
        dir,
        has_new: !assets.files.is_empty(),
    };
    if stage.has_new {
        let new = stage.new_dir();
        std::fs::create_dir(&new).map_err(|e| PublishError::io(&new, &e))?;
        // tempdir_in makes the stage owner-only; the published folder is an ordinary one.
        std::fs::set_permissions(&new, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .map_err(|e| PublishError::io(&new, &e))?;
        for (name, bytes) in &assets.files {
            let target = assets.dir.join(name);
            let path = new.join(name);
            checkpoint().map_err(|e| PublishError::io(&target, &e))?;
            let write = || -> std::io::Result<()> {
                let mut file = std::fs::File::create(&path)?;
                file.write_all(bytes)?;
                file.sync_all()
            };
            write().map_err(|e| PublishError::io(&target, &e))?;
        }
    }
    Ok(stage)
}

/// What one commit step changed, to put back.
enum Undo<'a> {
    /// The earlier assets folder was moved here.
    OldAssets { from: PathBuf, to: PathBuf },
    /// The new assets folder was put in place.
    NewAssets { at: PathBuf, away: PathBuf },
    /// A file was replaced; the earlier one is kept through this hard link, if it existed.
    File {
        path: &'a Path,
        earlier: Option<tempfile::NamedTempFile<()>>,
    },
}

impl Undo<'_> {
    fn undo(self) -> std::io::Result<()> {
        match self {
            Undo::OldAssets { from, to } => std::fs::rename(to, from),
            Undo::NewAssets { at, away } => std::fs::rename(at, away),
            Undo::File { path, earlier } => match earlier {
                Some(link) => link.persist(path).map(|_| ()).map_err(|e| e.error),
                None => std::fs::remove_file(path),
            },
        }
    }
}

fn commit<'a>(
    assets: Option<&Assets>,
    stage: Option<&Stage>,
    staged: Vec<(&'a Path, tempfile::NamedTempFile)>,
    undo: &mut Vec<Undo<'a>>,
) -> Result<(), PublishError> {
    if let (Some(assets), Some(stage)) = (assets, stage) {
        let dir = &assets.dir;
        if std::fs::symlink_metadata(dir).is_ok() {
            checkpoint().map_err(|e| PublishError::io(dir, &e))?;
            std::fs::rename(dir, stage.old_dir()).map_err(|e| PublishError::io(dir, &e))?;
            undo.push(Undo::OldAssets {
                from: dir.clone(),
                to: stage.old_dir(),
            });
        }
        if stage.has_new {
            checkpoint().map_err(|e| PublishError::io(dir, &e))?;
            std::fs::rename(stage.new_dir(), dir).map_err(|e| PublishError::io(dir, &e))?;
            undo.push(Undo::NewAssets {
                at: dir.clone(),
                away: stage.new_dir(),
            });
        }
    }
    for (path, temp) in staged {
        // A hard link keeps the earlier file until the run has succeeded; where links are
        // not possible the replacement is still atomic, only not undone.
        let earlier = if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
            tempfile::Builder::new()
                .prefix(".pprof-report-")
                .suffix(".old")
                .make_in(folder_of(path), |link| std::fs::hard_link(path, link))
                .ok()
        } else {
            None
        };
        checkpoint().map_err(|e| PublishError::io(path, &e))?;
        temp.persist(path)
            .map_err(|e| PublishError::io(path, &e.error))?;
        undo.push(Undo::File { path, earlier });
    }
    Ok(())
}

/// A point where tests make publishing fail (the n-th checkpoint reached returns an error);
/// nothing at all outside unit tests.
#[cfg(not(test))]
fn checkpoint() -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
thread_local! {
    static FAIL_AT: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

#[cfg(test)]
fn checkpoint() -> std::io::Result<()> {
    FAIL_AT.with(|at| match at.get() {
        Some(0) => {
            at.set(None);
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
        // Two files and two SVGs staged, the folder moved away and the new one put in
        // place, two files renamed.
        assert_eq!(failures, 8);
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
        for n in 0..7 {
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
            assets: None,
        };
        assert!(publish(&clash).unwrap_err().what.contains("same file"));
        let escape = Publication {
            files: vec![],
            assets: Some(Assets {
                dir: dir.path().join("s"),
                files: vec![("../x.svg".to_string(), b"x".to_vec())],
            }),
        };
        assert!(
            publish(&escape)
                .unwrap_err()
                .what
                .contains("plain file name")
        );
        assert!(!dir.path().join("x.svg").exists());
    }
}
