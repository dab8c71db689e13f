//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod builder;
pub mod golden;
pub mod goroutines;

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

/// Builds a profile.proto message with an interned string table. Strings are bytes, so that
/// a test can put invalid UTF-8 into a profile as Go may.
#[derive(Default)]
pub struct ProfileBuilder {
    strings: Vec<Vec<u8>>,
    index: std::collections::HashMap<Vec<u8>, i64>,
    body: Pb,
}

impl ProfileBuilder {
    pub fn new() -> Self {
        let mut b = ProfileBuilder::default();
        b.s("");
        b
    }

    /// The string table index of `text`, adding it when new.
    pub fn s(&mut self, text: impl AsRef<[u8]>) -> i64 {
        let text = text.as_ref();
        if let Some(&i) = self.index.get(text) {
            return i;
        }
        let i = self.strings.len() as i64;
        self.strings.push(text.to_vec());
        self.index.insert(text.to_vec(), i);
        i
    }

    pub fn field(&mut self, f: impl FnOnce(Pb) -> Pb) {
        let body = std::mem::take(&mut self.body);
        self.body = f(body);
    }

    pub fn sample_type(&mut self, kind: &str, unit: &str) {
        let (k, u) = (self.s(kind), self.s(unit));
        self.field(|b| b.msg(1, Pb::default().int(1, k).int(2, u)));
    }

    pub fn period_type(&mut self, kind: &str, unit: &str, period: i64) {
        let (k, u) = (self.s(kind), self.s(unit));
        self.field(|b| b.msg(11, Pb::default().int(1, k).int(2, u)).int(12, period));
    }

    pub fn default_sample_type(&mut self, kind: &str) {
        let k = self.s(kind);
        self.field(|b| b.int(14, k));
    }

    pub fn mapping(
        &mut self,
        id: u64,
        start: u64,
        limit: u64,
        file: impl AsRef<[u8]>,
        build_id: impl AsRef<[u8]>,
    ) {
        let (f, bid) = (self.s(file), self.s(build_id));
        self.field(|b| {
            b.msg(
                3,
                Pb::default()
                    .uint(1, id)
                    .uint(2, start)
                    .uint(3, limit)
                    .int(5, f)
                    .int(6, bid)
                    .uint(7, 1),
            )
        });
    }

    pub fn function(
        &mut self,
        id: u64,
        name: impl AsRef<[u8]>,
        file: impl AsRef<[u8]>,
        start_line: i64,
    ) {
        let (n, f) = (self.s(name), self.s(file));
        self.field(|b| {
            b.msg(
                5,
                Pb::default()
                    .uint(1, id)
                    .int(2, n)
                    .int(3, n)
                    .int(4, f)
                    .int(5, start_line),
            )
        });
    }

    /// A location with frames (function id, line), innermost first.
    pub fn location(&mut self, id: u64, mapping: u64, address: u64, lines: &[(u64, i64)]) {
        let mut loc = Pb::default().uint(1, id).uint(2, mapping).uint(3, address);
        for &(function, line) in lines {
            loc = loc.msg(4, Pb::default().uint(1, function).int(2, line));
        }
        self.field(|b| b.msg(4, loc));
    }

    /// A sample: locations leaf first, values, string labels and numeric labels with units.
    pub fn sample(
        &mut self,
        locations: &[u64],
        values: &[i64],
        labels: &[(&str, &str)],
        numbers: &[(&str, i64, &str)],
    ) {
        let labels: Vec<(&[u8], &[u8])> = labels
            .iter()
            .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
            .collect();
        self.sample_bytes(locations, values, &labels, numbers);
    }

    /// A sample whose string labels are any bytes.
    pub fn sample_bytes(
        &mut self,
        locations: &[u64],
        values: &[i64],
        labels: &[(&[u8], &[u8])],
        numbers: &[(&str, i64, &str)],
    ) {
        let mut s = Pb::default();
        for &l in locations {
            s = s.uint(1, l);
        }
        for &v in values {
            s = s.int(2, v);
        }
        for &(k, v) in labels {
            let (k, v) = (self.s(k), self.s(v));
            s = s.msg(3, Pb::default().int(1, k).int(2, v));
        }
        for &(k, n, unit) in numbers {
            let k = self.s(k);
            let mut label = Pb::default().int(1, k).int(3, n);
            if !unit.is_empty() {
                label = label.int(4, self.s(unit));
            }
            s = s.msg(3, label);
        }
        self.field(|b| b.msg(2, s));
    }

    pub fn header(&mut self, time: i64, duration: i64, comments: &[&str]) {
        for c in comments {
            self.comment(c);
        }
        self.field(|b| b.int(9, time).int(10, duration));
    }

    /// A comment of any bytes.
    pub fn comment(&mut self, text: impl AsRef<[u8]>) {
        let c = self.s(text);
        self.field(|b| b.int(13, c));
    }

    pub fn finish(self) -> Vec<u8> {
        let mut out = self.body;
        for s in &self.strings {
            out = out.bytes(6, s);
        }
        out.0
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
                let url = percent_decode(&dest_url);
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

/// A link destination as the path it names (`%20` → space).
pub fn percent_decode(url: &str) -> String {
    let bytes = url.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("a UTF-8 path")
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
