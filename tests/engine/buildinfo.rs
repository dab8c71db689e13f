//! The Go build information parser (`collect::buildinfo`) on the `.go.buildinfo` sections of
//! real binaries: fixtures/patterns built with Go 1.19.8 and Go 1.27.3 (`-trimpath
//! -buildvcs=false`), the sections extracted byte for byte (fixtures/buildinfo/README.md).

use std::path::PathBuf;

use pprof_report::collect::buildinfo;
use pprof_report::context::{go_release, godebug_value};

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/buildinfo")
        .join(name)
}

#[test]
fn go_1_19_build_information() {
    let bytes = std::fs::read(sample("patterns-go119.go.buildinfo")).unwrap();
    let info = buildinfo::parse(&bytes).unwrap();
    assert_eq!(info.go_version, "go1.19.8");
    // Go 1.19 wrote no DefaultGODEBUG.
    assert_eq!(info.default_godebug, "");
    assert_eq!(go_release(&info.go_version), Some((1, 19)));
    // The same through the file reader, which finds the aligned magic.
    assert_eq!(
        buildinfo::read(&sample("patterns-go119.go.buildinfo")),
        Some(info)
    );
}

#[test]
fn go_1_27_build_information_with_a_default_godebug() {
    let info = buildinfo::read(&sample("patterns-go127.go.buildinfo")).unwrap();
    assert_eq!(info.go_version, "go1.27.3");
    assert_eq!(go_release(&info.go_version), Some((1, 27)));
    // go.mod says go 1.19: Go 1.25+'s container-aware GOMAXPROCS is off by default.
    assert_eq!(
        godebug_value(&info.default_godebug, "containermaxprocs"),
        Some("0")
    );
    assert_eq!(
        godebug_value(&info.default_godebug, "updatemaxprocs"),
        Some("0")
    );
}

#[test]
fn a_pointer_layout_or_a_cut_block_is_unknown() {
    let mut bytes = std::fs::read(sample("patterns-go119.go.buildinfo")).unwrap();
    // Before Go 1.18 the flags byte had no inline bit: the header held pointers.
    let mut old = bytes.clone();
    old[15] &= !0x2;
    assert_eq!(buildinfo::parse(&old), None);
    bytes.truncate(40);
    assert_eq!(buildinfo::parse(&bytes), None);
}

#[test]
fn the_running_test_binary_is_not_go() {
    let exe = std::env::current_exe().unwrap();
    assert_eq!(buildinfo::read(&exe), None);
}
