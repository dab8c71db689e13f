//! Folded stacks (`root;caller;leaf value`), the plain interchange that flame graph tools
//! read: one line per distinct stack, sorted so the output is byte-identical across runs.

use std::collections::BTreeMap;

use crate::profile::Profile;

/// Frames kept per stack, from the root. Go records at most 128 PCs per profile stack by
/// default (1024 at most), so real stacks stay far below this even with inlined frames; a
/// small crafted profile expands to millions (a stack of thousands of locations with hundreds
/// of inlined lines each: fuzzing found 1.5 million frames in 8.5 KB, a 100 MB SVG that
/// took seconds). Deeper stacks are cut, with a last frame that says how many were left out.
pub const MAX_FRAMES: usize = 2048;

/// Folded stacks of one sample index. Frames are function names (inlined frames included);
/// `;` and control characters in names are replaced, since they would split the line.
/// Samples with a value of zero or below are left out (a flame graph cannot draw them).
pub fn folded(profile: &Profile, index: usize) -> Vec<String> {
    let mut stacks: BTreeMap<String, i64> = BTreeMap::new();
    let mut names: Vec<&str> = Vec::new();
    for sample in &profile.samples {
        let value = sample.values.get(index).copied().unwrap_or(0);
        if value <= 0 {
            continue;
        }
        names.clear();
        names.extend(profile.stack_names(sample));
        if names.is_empty() {
            names.push("[no stack]");
        }
        let elided = names.len().saturating_sub(MAX_FRAMES);
        let mut frames: Vec<String> = names
            .iter()
            .rev()
            .take(MAX_FRAMES)
            .map(|n| clean(n))
            .collect();
        if elided > 0 {
            frames.push(format!("[{elided} frames elided]"));
        }
        let key = frames.join(";");
        *stacks.entry(key).or_insert(0) += value;
    }
    stacks
        .into_iter()
        .map(|(stack, value)| format!("{stack} {value}"))
        .collect()
}

fn clean(name: &str) -> String {
    if name.is_empty() {
        return "[unknown]".to_string();
    }
    name.chars()
        .map(|c| if c == ';' || c.is_control() { ':' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Labels, Line, ProfileBuilder, ValueType};

    #[test]
    fn stacks_fold_root_first_and_merge() {
        let mut b = ProfileBuilder::new(vec![ValueType {
            kind: "samples".into(),
            unit: "count".into(),
        }]);
        let main = b.function("main.main", "");
        let odd = b.function("weird;name\n", "");
        let l1 = b.location(
            1,
            &[Line {
                function: main,
                line: 0,
            }],
        );
        let l2 = b.location(
            2,
            &[Line {
                function: odd,
                line: 0,
            }],
        );
        b.sample(vec![l2, l1], vec![3], Labels::default());
        b.sample(vec![l2, l1], vec![4], Labels::default());
        b.sample(vec![l1], vec![0], Labels::default());
        b.sample(vec![], vec![1], Labels::default());
        let p = b.finish();
        assert_eq!(folded(&p, 0), ["[no stack] 1", "main.main;weird:name: 7"]);
    }

    #[test]
    fn very_deep_stacks_are_cut_from_the_leaf_end() {
        let mut b = ProfileBuilder::new(vec![ValueType {
            kind: "samples".into(),
            unit: "count".into(),
        }]);
        let main = b.function("main.main", "");
        let f = b.function("main.f", "");
        let root = b.location(
            1,
            &[Line {
                function: main,
                line: 0,
            }],
        );
        let deep = b.location(
            2,
            &[Line {
                function: f,
                line: 0,
            }],
        );
        let mut stack = vec![deep; MAX_FRAMES + 9];
        stack.push(root);
        b.sample(stack, vec![5], Labels::default());
        let p = b.finish();
        let lines = folded(&p, 0);
        let frames: Vec<&str> = lines[0].rsplit_once(' ').unwrap().0.split(';').collect();
        assert_eq!(frames.len(), MAX_FRAMES + 1);
        assert_eq!(frames[0], "main.main");
        assert_eq!(frames[MAX_FRAMES - 1], "main.f");
        assert_eq!(frames[MAX_FRAMES], "[10 frames elided]");
    }
}
