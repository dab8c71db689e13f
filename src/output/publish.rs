//! Publishing a run's outputs together, under a lock on their folder.

use std::path::{Path, PathBuf};

use super::journal::{Stage, settle_locked};
use super::{Stream, folder_of};

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
    pub(super) fn io(path: &Path, error: &std::io::Error) -> PublishError {
        PublishError {
            path: path.to_path_buf(),
            what: crate::text::describe_io(error),
        }
    }

    pub(super) fn refused(path: &Path, what: impl Into<String>) -> PublishError {
        PublishError {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }
}

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
    use rustix::fs::{FlockOperation, flock};
    use rustix::io::Errno;
    let Ok(file) = std::fs::File::open(folder) else {
        return Ok(None);
    };
    loop {
        match flock(&file, FlockOperation::LockExclusive) {
            Ok(()) => return Ok(Some(file)),
            Err(Errno::INTR) => continue,
            Err(Errno::NOLCK | Errno::OPNOTSUPP | Errno::INVAL) => return Ok(None),
            Err(errno) => return Err(PublishError::io(folder, &errno.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::journal::{CRASH, CRASHED, FAIL_AT, JOURNAL, STAGE_PREFIX};

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
