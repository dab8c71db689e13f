//! The frames of a goroutine stack: which of them the text dumps show, which one names the
//! stack (its label), and the key that decides which stacks are one group at each level.

use std::borrow::Cow;

use super::GroupLevel;
use crate::analyze::names::{is_standard_package, package_of};
use crate::profile::{Profile, SampleRef};

/// One frame of a stack, leaf first.
pub(super) struct Frame<'a> {
    pub(super) function: Cow<'a, str>,
    pub(super) file: &'a str,
    pub(super) line: i64,
}

/// The frames of a sample, leaf first, inlined frames included (innermost first). A location
/// without lines is named by its address, as pprof does.
pub(super) fn frames<'a>(profile: &'a Profile, sample: SampleRef<'_>) -> Vec<Frame<'a>> {
    let mut out = Vec::new();
    for index in sample.locations() {
        let Some(location) = profile.locations.get(index) else {
            continue;
        };
        if location.lines.is_empty() {
            out.push(Frame {
                function: Cow::Owned(format!("0x{:x}", location.address)),
                file: "",
                line: 0,
            });
        }
        for line in &location.lines {
            let (function, file) = profile
                .functions
                .get(line.function)
                .map_or(("?", ""), |f| (f.name.as_str(), f.filename.as_str()));
            out.push(Frame {
                function: Cow::Borrowed(function),
                file,
                line: line.line,
            });
        }
    }
    out
}

fn is_runtime_function(name: &str) -> bool {
    name.starts_with("runtime.") || name.starts_with("internal/runtime/")
}

/// The frames the text dumps print: without the leaf-side runtime frames and
/// `runtime.goexit`; all frames (but goexit) when every frame is a runtime one.
pub(super) fn visible<'f, 'a>(frames: &'f [Frame<'a>]) -> &'f [Frame<'a>] {
    let end = match frames.last() {
        Some(last) if last.function == "runtime.goexit" => frames.len() - 1,
        _ => frames.len(),
    };
    let frames = &frames[..end];
    match frames
        .iter()
        .position(|f| !is_runtime_function(&f.function))
    {
        Some(start) => &frames[start..],
        None => frames,
    }
}

/// Standard-library packages through which goroutines wait: never a stack's label when a
/// better frame exists.
fn is_wait_plumbing(package: &str) -> bool {
    const PACKAGES: &[&str] = &[
        "runtime",
        "sync",
        "sync/atomic",
        "syscall",
        "os",
        "net",
        "time",
        "io",
        "bufio",
        "bytes",
        "crypto/tls",
        "context",
    ];
    PACKAGES.contains(&package)
        || package.starts_with("internal/")
        || package.starts_with("runtime/internal/")
}

/// Index of the label frame (see the module documentation).
fn label_index(frames: &[Frame]) -> Option<usize> {
    fn package<'f>(frame: &'f Frame) -> &'f str {
        package_of(&frame.function)
    }
    frames
        .iter()
        .position(|f| !is_standard_package(package(f)))
        .or_else(|| frames.iter().position(|f| !is_wait_plumbing(package(f))))
        .or_else(|| frames.iter().position(|f| package(f) != "runtime"))
        .or(if frames.is_empty() { None } else { Some(0) })
}

/// The group key of a stack at a level, and the label.
pub(super) fn key_and_label(frames: &[Frame], level: GroupLevel) -> (Vec<String>, String) {
    let shown = visible(frames);
    let label = label_index(shown).map_or_else(
        || "(no frames)".to_string(),
        |i| shown[i].function.to_string(),
    );
    let key = match level {
        GroupLevel::Exact => frames
            .iter()
            .map(|f| format!("{} {}:{}", f.function, f.file, f.line))
            .collect(),
        GroupLevel::Functions => shown.iter().map(|f| f.function.to_string()).collect(),
        GroupLevel::Package => match label_index(shown) {
            Some(i) => {
                let mut key = vec![shown[i].function.to_string()];
                let mut last: Option<&str> = None;
                for frame in &shown[i + 1..] {
                    let package = package_of(&frame.function);
                    if last != Some(package) {
                        key.push(package.to_string());
                        last = Some(package);
                    }
                }
                key
            }
            None => Vec::new(),
        },
    };
    (key, label)
}
