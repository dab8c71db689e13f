//! Folded stacks (`root;caller;leaf value`), the plain interchange that flame graph tools
//! read: one line per distinct stack, sorted so the output is byte-identical across runs.

use std::collections::BTreeMap;

use crate::profile::Profile;

/// Folded stacks of one sample index. Frames are function names (inlined frames included);
/// `;` becomes `:` and line breaks a space, since they would split the line, and other
/// control and bidi characters become U+FFFD (`crate::text::neutralise`); names are cut at
/// `crate::text::NAME_MAX` characters, so a 100 kB name cannot bloat every frame and tooltip
/// it appears in.
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
        let key = names
            .iter()
            .rev()
            .map(|n| clean(n))
            .collect::<Vec<_>>()
            .join(";");
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
    let cleaned = crate::text::neutralise(name).replace(';', ":");
    crate::text::truncate(&cleaned, crate::text::NAME_MAX)
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
        let odd = b.function("weird;name\n\u{202e}", "");
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
        assert_eq!(
            folded(&p, 0),
            ["[no stack] 1", "main.main;weird:name \u{fffd} 7"]
        );
    }
}
