//! Checks on the real production profile set in ../shared/real, which is not part of the
//! repository: ignored by `cargo test`, run by `.ci/run` with `cargo test --test real --
//! --ignored`.

#[path = "../common/mod.rs"]
mod common;

mod real_set;
