//! Folded stacks (`root;caller;leaf value`), the plain interchange that flame graph tools
//! read: one line per distinct stack, sorted so the output is byte-identical across runs.

use std::collections::BTreeMap;

use crate::profile::Profile;

/// Folded stacks of one sample index. Frames are function names (inlined frames included);
/// a location without a name (an unsymbolized address) is its binary, `[libc.so.6]`, as
/// pprof names it, or `<unknown>`. `;` and control characters in names are replaced,
/// since they would split the line. Samples with a value of zero or below are left out (a
/// flame graph cannot draw them).
pub fn folded(profile: &Profile, index: usize) -> Vec<String> {
    let mut stacks: BTreeMap<String, i64> = BTreeMap::new();
    let mut names: Vec<&str> = Vec::new();
    let binaries: Vec<String> = profile
        .mappings
        .iter()
        .map(|m| match m.filename.rsplit('/').next() {
            Some(base) if !base.is_empty() => format!("[{base}]"),
            _ => "<unknown>".to_string(),
        })
        .collect();
    for sample in profile.samples() {
        let value = sample.values().get(index).copied().unwrap_or(0);
        if value <= 0 {
            continue;
        }
        names.clear();
        for l in sample.locations() {
            let location = &profile.locations[l];
            if location.lines.is_empty() {
                names.push(
                    location
                        .mapping
                        .and_then(|m| binaries.get(m))
                        .map_or("<unknown>", String::as_str),
                );
            }
            names.extend(
                location
                    .lines
                    .iter()
                    .map(|line| profile.functions[line.function].name.as_str()),
            );
        }
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
        b.sample(&[l2, l1], &[3], Labels::default()).unwrap();
        b.sample(&[l2, l1], &[4], Labels::default()).unwrap();
        b.sample(&[l1], &[0], Labels::default()).unwrap();
        b.sample(&[], &[1], Labels::default()).unwrap();
        let p = b.finish();
        assert_eq!(folded(&p, 0), ["[no stack] 1", "main.main;weird:name: 7"]);
    }
}
