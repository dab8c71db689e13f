//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod builder;

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(relative: &str) -> PathBuf {
    root().join("fixtures").join(relative)
}

/// Runs the binary; returns (exit code, stdout, stderr).
pub fn run(args: &[&str], dir: &Path) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_pprof-report"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run pprof-report");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A minimal protobuf writer, to build profiles (valid or deliberately broken) by hand.
#[derive(Default)]
pub struct Pb(pub Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    pub fn uint(mut self, field: u32, v: u64) -> Self {
        self.varint(u64::from(field) << 3);
        self.varint(v);
        self
    }
    pub fn int(self, field: u32, v: i64) -> Self {
        self.uint(field, v as u64)
    }
    pub fn bytes(mut self, field: u32, data: &[u8]) -> Self {
        self.varint((u64::from(field) << 3) | 2);
        self.varint(data.len() as u64);
        self.0.extend_from_slice(data);
        self
    }
    pub fn msg(self, field: u32, inner: Pb) -> Self {
        self.bytes(field, &inner.0)
    }
    pub fn string(self, s: &str) -> Self {
        self.bytes(6, s.as_bytes())
    }
}

/// A small valid cpu-like profile: strings, one function, one location, one sample whose
/// location id is `location_ref` (1 is valid).
pub fn tiny_profile(location_ref: u64) -> Vec<u8> {
    Pb::default()
        .msg(1, Pb::default().int(1, 1).int(2, 2)) // sample type samples/count
        .msg(2, Pb::default().uint(1, location_ref).int(2, 5))
        .msg(
            4,
            Pb::default()
                .uint(1, 1)
                .msg(4, Pb::default().uint(1, 1).int(2, 10)),
        )
        .msg(5, Pb::default().uint(1, 1).int(2, 3).int(4, 4))
        .string("")
        .string("samples")
        .string("count")
        .string("main.work")
        .string("main.go")
        .0
}

/// The bytes a committed fixture stands for: gzip undone (compressed bytes depend on the
/// deflate implementation, which may change; the profile inside must not).
pub fn content(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    if data.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        data.to_vec()
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Checks a generated Markdown report: it parses as GitHub-flavoured Markdown, every table
/// row has as many cells as its header, every relative link points at a file that exists,
/// and every SVG beside it is well-formed XML. Returns the number of tables seen.
pub fn check_markdown(path: &Path) -> usize {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let text = std::fs::read_to_string(path).unwrap();
    let dir = path.parent().unwrap();
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut tables = 0;
    let mut columns = 0;
    let mut cells = 0;
    for event in Parser::new_ext(&text, options) {
        match event {
            Event::Start(Tag::Table(alignments)) => {
                tables += 1;
                columns = alignments.len();
            }
            Event::Start(Tag::TableHead) | Event::Start(Tag::TableRow) => cells = 0,
            Event::Start(Tag::TableCell) => cells += 1,
            Event::End(TagEnd::TableHead) | Event::End(TagEnd::TableRow) => {
                assert_eq!(
                    cells,
                    columns,
                    "{}: a table row has {cells} cells, not {columns}",
                    path.display()
                );
            }
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => {
                let url = dest_url.to_string();
                if !url.contains("://") && !url.starts_with('#') && !url.starts_with("mailto:") {
                    let target = dir.join(&url);
                    assert!(target.exists(), "{}: link to missing {url}", path.display());
                    if url.ends_with(".svg") {
                        let svg = std::fs::read_to_string(&target).unwrap();
                        let options = roxmltree::ParsingOptions {
                            allow_dtd: true,
                            ..Default::default()
                        };
                        roxmltree::Document::parse_with_options(&svg, options).unwrap_or_else(
                            |e| panic!("{}: not well-formed: {e}", target.display()),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    tables
}

/// Every file below `dir`, relative to it, sorted.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}
