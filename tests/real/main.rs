//! Checks on the real production profile set in ../shared/real, which is not part of the
//! repository: ignored by `cargo test`, run by `.ci/run` with `cargo test --test real --
//! --ignored`. Run so, they fail when the set is missing: a check that passes on no data
//! would hide a CI that lost its copy of shared/.

// Test code unwraps: a panic with its message is how a test reports a failure.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod goroutine;
mod goroutines_analysis;
mod real_set;

use std::path::{Path, PathBuf};

/// The folder of the real set, inside ../shared/real.
pub const SET: &str = "tsnsrv-storage-57svc-20251015-210532";

/// The prefix of its members' file names.
pub const PREFIX: &str = "storage-57svc-20251015-210532";

/// `relative` inside ../shared/real; panics naming the path when it is not there.
pub fn real(relative: &str) -> PathBuf {
    existing(&common::root().join("../shared/real").join(relative))
}

fn existing(path: &Path) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: the real-data tests read the real profile set from ../shared/real \
         beside the repository (CI lays a copy of shared/ there)",
        path.display()
    );
    path.to_path_buf()
}

/// Not ignored, so that plain `cargo test` shows the guard works without the real set.
#[test]
fn a_missing_real_path_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-set");
    let panic = std::panic::catch_unwind(|| existing(&missing)).expect_err("no panic");
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(
        message.contains(&missing.display().to_string()) && message.contains("is missing"),
        "{message}"
    );
    assert_eq!(existing(dir.path()), dir.path());
}
