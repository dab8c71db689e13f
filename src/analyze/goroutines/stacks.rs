//! The frames of a goroutine stack: which of them the text dumps show, which one names the
//! stack (its label), and the key that decides which stacks are one group at each level.
//! Frames are interned names (see `intern`), read once per location of a profile.

use std::borrow::Cow;
use std::ops::Range;

use super::GroupLevel;
use super::intern::Names;
use super::naming::label_index;
use crate::profile::{Profile, SampleRef};

/// One frame of a stack, leaf first: interned ids.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame {
    /// The function's name.
    pub(super) name: u32,
    /// `function file:line`, the frame as `Exact` keys it; only read at that level.
    pub(super) exact: u32,
}

/// The frames of every location of one profile, interned once, so that a sample's stack is
/// a copy of ids, not a walk of strings.
pub(super) struct StackTable {
    starts: Vec<u32>,
    frames: Vec<Frame>,
}

impl StackTable {
    /// The frames of every location of `profile`, inlined frames included (innermost first);
    /// a location without lines is named by its address, as pprof does. `with_exact` also interns
    /// each frame's `function file:line`.
    pub(super) fn new<'a>(profile: &'a Profile, names: &mut Names<'a>, with_exact: bool) -> Self {
        let unknown = names.function(Cow::Borrowed("?"));
        let functions: Vec<(u32, &'a str)> = profile
            .functions
            .iter()
            .map(|f| {
                (
                    names.function(Cow::Borrowed(f.name.as_str())),
                    f.filename.as_str(),
                )
            })
            .collect();
        let mut starts = Vec::with_capacity(profile.locations.len() + 1);
        let mut frames = Vec::with_capacity(profile.locations.len());
        for location in &profile.locations {
            starts.push(frames.len() as u32);
            if location.lines.is_empty() {
                let name = names.function(Cow::Owned(format!("0x{:x}", location.address)));
                let exact = exact_id(names, with_exact, name, "", 0);
                frames.push(Frame { name, exact });
            }
            for line in &location.lines {
                let (name, file) = functions
                    .get(line.function)
                    .copied()
                    .unwrap_or((unknown, ""));
                let exact = exact_id(names, with_exact, name, file, line.line);
                frames.push(Frame { name, exact });
            }
        }
        starts.push(frames.len() as u32);
        StackTable { starts, frames }
    }

    /// Fills `out` with the frames of a sample, leaf first.
    pub(super) fn sample_frames(&self, sample: SampleRef<'_>, out: &mut Vec<Frame>) {
        out.clear();
        for location in sample.locations() {
            if let (Some(&start), Some(&end)) =
                (self.starts.get(location), self.starts.get(location + 1))
            {
                out.extend_from_slice(&self.frames[start as usize..end as usize]);
            }
        }
    }
}

/// The id of `function file:line` when `exact` asks for it (else unused).
fn exact_id(names: &mut Names, exact: bool, name: u32, file: &str, line: i64) -> u32 {
    if exact {
        let text = format!("{} {file}:{line}", names.name(name));
        names.intern(Cow::Owned(text))
    } else {
        u32::MAX
    }
}

/// The range of the frames the text dumps print: without the leaf-side runtime frames and
/// `runtime.goexit`; all frames (but goexit) when every frame is a runtime one.
pub(super) fn visible_range(frames: &[Frame], names: &Names) -> Range<usize> {
    let end = match frames.last() {
        Some(last) if names.facts(last.name).goexit => frames.len() - 1,
        _ => frames.len(),
    };
    let start = frames[..end]
        .iter()
        .position(|f| !names.facts(f.name).runtime_frame)
        .unwrap_or(0);
    start..end
}

/// The label of a stack and its index among the visible frames.
#[derive(Debug, Clone, Copy)]
pub(super) struct Label {
    /// The label's id: its function's name, or `(no frames)`.
    pub(super) name: u32,
    pub(super) at: Option<usize>,
}

/// The label of a stack (see the module documentation of `goroutines`).
pub(super) fn label_of(frames: &[Frame], range: &Range<usize>, names: &mut Names) -> Label {
    let at = label_index(&frames[..range.end], range.start, names);
    Label {
        name: match at {
            Some(i) => frames[range.start + i].name,
            None => names.intern(Cow::Borrowed("(no frames)")),
        },
        at,
    }
}

/// A stack as grouping sees it: the visible frames' range and, when the key needed it, the
/// label; the key itself is written to the caller's buffer.
pub(super) struct Keyed {
    pub(super) visible: Range<usize>,
    label: Option<Label>,
}

impl Keyed {
    /// The label: computed once per group, not per sample, since it reads every frame.
    pub(super) fn label(&mut self, frames: &[Frame], names: &mut Names) -> Label {
        let range = self.visible.clone();
        *self
            .label
            .get_or_insert_with(|| label_of(frames, &range, names))
    }

    /// The part of a key that a stack is matched by across sources: the key, but never the
    /// runtime frames the text dumps leave out.
    pub(super) fn match_key<'k>(&self, key: &'k [u32], level: GroupLevel) -> &'k [u32] {
        match level {
            // The `Exact` key has one id per frame, the hidden ones included.
            GroupLevel::Exact => key.get(self.visible.clone()).unwrap_or_default(),
            GroupLevel::Functions | GroupLevel::Package => key,
        }
    }
}

/// Writes the group key of a stack at a level to `key`.
pub(super) fn key_of(
    frames: &[Frame],
    level: GroupLevel,
    names: &mut Names,
    key: &mut Vec<u32>,
) -> Keyed {
    key.clear();
    let range = visible_range(frames, names);
    let shown = &frames[range.clone()];
    let mut label = None;
    match level {
        GroupLevel::Exact => key.extend(frames.iter().map(|f| f.exact)),
        GroupLevel::Functions => key.extend(shown.iter().map(|f| f.name)),
        GroupLevel::Package => {
            let found = label_of(frames, &range, names);
            if let Some(i) = found.at {
                key.push(shown[i].name);
                let mut last = None;
                for frame in &shown[i + 1..] {
                    let package = names.facts(frame.name).package;
                    if last != Some(package) {
                        key.push(package);
                        last = Some(package);
                    }
                }
            }
            label = Some(found);
        }
    }
    Keyed {
        visible: range,
        label,
    }
}
