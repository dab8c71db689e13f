//! A run's stage and its journal: the files staged beside their targets, the journal that
//! lets a later run finish (or undo) a publication cut short, and the settling of the stages
//! that dead runs left.

use std::path::{Path, PathBuf};

use super::{Assets, PublishError};

/// The prefix of a run's staging folder: `.pprof-report-stage-<pid>-<random>`.
pub(super) const STAGE_PREFIX: &str = ".pprof-report-stage-";
/// The journal inside a staging folder: present once every byte is staged and the targets
/// start being replaced.
pub(super) const JOURNAL: &str = "journal.json";

/// [`settle`](super::settle), the lock held: every stage in `folder` is a dead run's. One
/// with a journal is finished the way the journal says; one without had changed nothing yet.
/// Both are removed.
pub(super) fn settle_locked(folder: &Path) -> Result<(), PublishError> {
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
pub(super) struct Stage {
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
    pub(super) fn fill(
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
    pub(super) fn commit(self) -> Result<(), PublishError> {
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
    pub(super) static FAIL_AT: std::cell::Cell<Option<usize>> =
        const { std::cell::Cell::new(None) };
    pub(super) static CRASH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    pub(super) static CRASHED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
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
