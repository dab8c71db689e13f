//! The frames of a goroutine stack: which of them the text dumps show, which one names the
//! stack (its label), and the key that decides which stacks are one group at each level.

use std::borrow::Cow;

use super::GroupLevel;
use super::naming::label_index;
use crate::analyze::names::package_of;
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

/// The range of the frames the text dumps print: without the leaf-side runtime frames and
/// `runtime.goexit`; all frames (but goexit) when every frame is a runtime one.
pub(super) fn visible_range(frames: &[Frame]) -> std::ops::Range<usize> {
    let end = match frames.last() {
        Some(last) if last.function == "runtime.goexit" => frames.len() - 1,
        _ => frames.len(),
    };
    let start = frames[..end]
        .iter()
        .position(|f| !is_runtime_function(&f.function))
        .unwrap_or(0);
    start..end
}

/// A stack as grouping sees it: the key at a level, the visible frames' range and, when
/// the key needed it, the label.
pub(super) struct Keyed {
    pub(super) key: Vec<String>,
    pub(super) visible: std::ops::Range<usize>,
    label: Option<Label>,
}

/// The label of a stack and its index among the visible frames.
pub(super) struct Label {
    pub(super) text: String,
    pub(super) at: Option<usize>,
}

/// The label of a stack (see the module documentation of `goroutines`).
fn label_of(frames: &[Frame], range: &std::ops::Range<usize>) -> Label {
    let at = label_index(&frames[..range.end], range.start);
    Label {
        text: at.map_or_else(
            || "(no frames)".to_string(),
            |i| frames[range.start + i].function.to_string(),
        ),
        at,
    }
}

impl Keyed {
    /// The label: computed once per group, not per sample, since it reads every frame.
    pub(super) fn label(&mut self, frames: &[Frame]) -> &Label {
        let range = self.visible.clone();
        self.label.get_or_insert_with(|| label_of(frames, &range))
    }
}

/// The group key of a stack at a level.
pub(super) fn key_of(frames: &[Frame], level: GroupLevel) -> Keyed {
    let range = visible_range(frames);
    let shown = &frames[range.clone()];
    let mut label = None;
    let key = match level {
        GroupLevel::Exact => frames
            .iter()
            .map(|f| format!("{} {}:{}", f.function, f.file, f.line))
            .collect(),
        GroupLevel::Functions => shown.iter().map(|f| f.function.to_string()).collect(),
        GroupLevel::Package => {
            let found = label_of(frames, &range);
            let key = match found.at {
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
            };
            label = Some(found);
            key
        }
    };
    Keyed {
        key,
        visible: range,
        label,
    }
}
