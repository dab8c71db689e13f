//! Committed expected files ("goldens": fixtures the tests build, committed reports) checked
//! against what a test produces, in one place: a mismatch names the file, shows a line diff
//! and says how to accept the new output; `PPROF_REPORT_BLESS=1` rewrites the files instead.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Set to anything but empty or `0`, the checks write the expected files instead.
pub const BLESS: &str = "PPROF_REPORT_BLESS";

/// Diff lines shown at most: enough to see what changed, short enough to read in a panic.
const MAX_LINES: usize = 60;
/// Characters shown of one diff line (HTML pages and SVGs hold very long lines).
const MAX_WIDTH: usize = 200;

/// What both sides go through before they are compared.
pub type Normalize = fn(&[u8]) -> Vec<u8>;

pub fn blessing() -> bool {
    std::env::var_os(BLESS).is_some_and(|v| !v.is_empty() && v != "0")
}

/// `expected` must hold exactly `actual`, unless blessing, which writes it.
pub fn assert_matches(expected: &Path, actual: impl AsRef<[u8]>) {
    check(expected, actual.as_ref(), None, blessing());
}

/// Like `assert_matches`, for files whose bytes may change while what they stand for does
/// not (gzip output depends on the deflate implementation): both sides go through
/// `normalize` before they are compared; blessing writes `actual` as it is.
pub fn assert_matches_normalized(expected: &Path, actual: &[u8], normalize: Normalize) {
    check(expected, actual, Some(normalize), blessing());
}

/// The check itself, with blessing passed in so that its own tests do not depend on the
/// environment they run in.
pub fn check(expected: &Path, actual: &[u8], normalize: Option<Normalize>, bless: bool) {
    let normal = |bytes: &[u8]| normalize.map_or_else(|| bytes.to_vec(), |f| f(bytes));
    let shown = shown_path(expected);
    let committed = std::fs::read(expected);
    if bless {
        // A file that already matches is left alone, so blessing rewrites no equivalent bytes.
        if !committed.is_ok_and(|c| normal(&c) == normal(actual)) {
            if let Some(parent) = expected.parent() {
                std::fs::create_dir_all(parent)
                    .unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
            }
            std::fs::write(expected, actual).unwrap_or_else(|e| panic!("{shown}: {e}"));
            eprintln!("{BLESS}: wrote {shown}");
        }
        return;
    }
    let committed = committed.unwrap_or_else(|e| {
        panic!(
            "{shown}: {e}\nto write it from this test's output: {}",
            bless_command()
        )
    });
    let (committed, actual) = (normal(&committed), normal(actual));
    if committed != actual {
        panic!(
            "{shown} differs from what the test produced\n{}\
             to accept the new output, rewrite it and review it with `git diff`:\n    {}",
            diff(&shown, &committed, &actual),
            bless_command()
        );
    }
}

/// The path from the repository root when it is inside, as a reader types it.
fn shown_path(path: &Path) -> String {
    path.strip_prefix(super::root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The command that blesses this test alone: test threads are named after their test.
fn bless_command() -> String {
    let binary = env!("CARGO_CRATE_NAME");
    match std::thread::current().name() {
        Some(test) if test != "main" => {
            format!("{BLESS}=1 cargo test --test {binary} -- --exact {test}")
        }
        _ => format!("{BLESS}=1 cargo test --test {binary}"),
    }
}

fn diff(name: &str, expected: &[u8], actual: &[u8]) -> String {
    match (text(expected), text(actual)) {
        (Some(expected), Some(actual)) => line_diff(name, expected, actual),
        _ => byte_diff(expected, actual),
    }
}

/// The bytes as text, unless they hold controls other than line ends and tabs: protobuf is
/// often valid UTF-8, and a line diff of it reads worse than its bytes.
fn text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    let binary = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    (!binary).then_some(text)
}

fn line_diff(name: &str, expected: &str, actual: &str) -> String {
    // A deadline: a huge diff falls back to a coarser one rather than stalling the test.
    let diff = similar::TextDiff::configure()
        .timeout(Duration::from_secs(5))
        .diff_lines(expected, actual);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (expected)"), "actual")
        .to_string();
    // Split on '\n' alone, so that a '\r' stays and is shown escaped.
    let lines: Vec<&str> = text.split('\n').filter(|l| !l.is_empty()).collect();
    let mut out = String::new();
    for line in lines.iter().take(MAX_LINES) {
        out.push_str(&visible(line));
        out.push('\n');
    }
    if lines.len() > MAX_LINES {
        let _ = writeln!(out, "… {} more diff lines", lines.len() - MAX_LINES);
    }
    out
}

/// A diff line as it can be read in a terminal: controls escaped, cut at MAX_WIDTH.
fn visible(line: &str) -> String {
    let mut out = String::new();
    for (i, c) in line.chars().enumerate() {
        if i == MAX_WIDTH {
            out.push('…');
            break;
        }
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn byte_diff(expected: &[u8], actual: &[u8]) -> String {
    let at = expected
        .iter()
        .zip(actual)
        .position(|(e, a)| e != a)
        .unwrap_or(expected.len().min(actual.len()));
    let window = |bytes: &[u8]| {
        bytes
            .iter()
            .skip(at)
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "binary contents: expected {} bytes, actual {} bytes, first difference at byte {at}\n\
         expected: {}\n\
         actual:   {}\n",
        expected.len(),
        actual.len(),
        window(expected),
        window(actual)
    )
}
