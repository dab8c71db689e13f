//! The layers of src/ (DESIGN.md): each module reaches only down, and no two modules reach
//! each other. Read from the source: every `crate::…` and `super::…` path outside comments.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level modules that are folders of modules of their own: each file below is a node.
const FOLDERS: &[&str] = &[
    "analyze", "collect", "dump", "jobs", "profile", "render", "rules", "set",
];

/// What each pure layer must never reach: the jobs, the command line, writing outputs,
/// collecting, the backlog and the top-level error.
const PURE: &[&str] = &["analyze", "profile", "render", "dump", "memstats"];
const ABOVE_PURE: &[&str] = &[
    "jobs", "cli", "output", "collect", "backlog", "error", "main",
];

/// The node a source file is: `analyze::compare` for src/analyze/compare.rs and for
/// everything below src/analyze/compare/, `analyze` for src/analyze/mod.rs, `cli` for
/// src/cli.rs.
fn node_of(relative: &Path) -> String {
    let parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [top, rest @ ..] if FOLDERS.contains(&top.as_str()) => match rest.first() {
            None => top.clone(),
            Some(m) if m == "mod" => top.clone(),
            Some(m) => format!("{top}::{m}"),
        },
        [file] => file.clone(),
        [top, ..] => top.clone(),
        [] => String::new(),
    }
}

/// The node a path names: `crate::analyze::top::top` → `analyze::top`.
fn node_of_path(segments: &[&str]) -> Option<String> {
    let top = *segments.first()?;
    if FOLDERS.contains(&top) {
        match segments.get(1) {
            Some(m) if m.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && *m != "self" => {
                Some(format!("{top}::{m}"))
            }
            _ => Some(top.to_string()),
        }
    } else {
        Some(top.to_string())
    }
}

/// The source without comments (line comments and doc comments; the code has no block
/// comments) and without string literals, which may quote paths.
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut previous = ' ';
        let mut kept = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if !in_string && c == '/' && chars.get(i + 1) == Some(&'/') {
                break;
            }
            if c == '"' && previous != '\\' {
                in_string = !in_string;
            } else if !in_string {
                kept.push(c);
            }
            previous = if previous == '\\' && c == '\\' {
                ' '
            } else {
                c
            };
            i += 1;
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// Each node and the nodes its code names, `use` lines and paths in code alike. A `use`
/// with braces (`use crate::{a, b::c}`) names each item.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = common::root().join("src");
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in common::files_below(&src) {
        if file.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let node = node_of(&file);
        let code = code_of(&std::fs::read_to_string(src.join(&file)).unwrap());
        // The module that `super` is: the file's parent module.
        let parent: Vec<String> = {
            let mut parts: Vec<String> = file
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            parts.pop();
            parts
        };
        let targets = edges.entry(node.clone()).or_default();
        for (at, _) in code
            .match_indices("crate::")
            .chain(code.match_indices("super::"))
        {
            // A longer identifier that merely ends in `crate` or `super` is not one.
            if at > 0
                && code[..at]
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
            {
                continue;
            }
            let is_super = code[at..].starts_with("super::");
            // `crate::` and `super::` are both seven characters.
            let rest = &code[at + 7..];
            for path in expand(rest) {
                let mut segments: Vec<&str> = Vec::new();
                if is_super {
                    segments.extend(parent.iter().map(String::as_str));
                }
                segments.extend(path.iter().map(String::as_str));
                if let Some(target) = node_of_path(&segments)
                    && target != node
                {
                    targets.insert(target);
                }
            }
        }
    }
    edges
}

/// The paths a `use` tree names, from the text after `crate::`: `a::b::{c, d::e}` →
/// `[a, b, c]`, `[a, b, d, e]`; a plain path `a::b::f(…)` → `[a, b, f]`.
fn expand(rest: &str) -> Vec<Vec<String>> {
    let mut prefix: Vec<String> = Vec::new();
    let mut chars = rest.char_indices().peekable();
    let mut word = String::new();
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else if c == ':' && rest[i..].starts_with("::") {
            chars.next();
            prefix.push(std::mem::take(&mut word));
            if rest[i + 2..].starts_with('{') {
                // A braced list: each item at depth one, with the prefix.
                let inner = &rest[i + 3..];
                let mut depth = 1;
                let mut end = inner.len();
                for (j, ch) in inner.char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = j;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let mut out = Vec::new();
                let mut depth = 0;
                let mut start = 0;
                let body = &inner[..end];
                for (j, ch) in body.char_indices().chain([(body.len(), ',')]) {
                    match ch {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            let item = body[start..j].trim();
                            if !item.is_empty() {
                                for mut tail in expand(&format!("{item};")) {
                                    let mut path = prefix.clone();
                                    path.append(&mut tail);
                                    out.push(path);
                                }
                            }
                            start = j + 1;
                        }
                        _ => {}
                    }
                }
                return out;
            }
        } else {
            break;
        }
    }
    if !word.is_empty() {
        prefix.push(word);
    }
    vec![prefix]
}

/// The top-level module of a node (`analyze::compare` → `analyze`).
fn layer(node: &str) -> &str {
    node.split("::").next().unwrap_or(node)
}

#[test]
fn pure_layers_reach_nothing_above_them() {
    let mut wrong = Vec::new();
    for (node, targets) in graph() {
        if !PURE.contains(&layer(&node)) {
            continue;
        }
        for target in targets {
            if ABOVE_PURE.contains(&layer(&target)) {
                wrong.push(format!("{node} → {target}"));
            }
        }
    }
    assert!(wrong.is_empty(), "layers reaching up: {wrong:#?}");
}

#[test]
fn no_two_modules_reach_each_other() {
    let graph = graph();
    // Top-level modules, and the nodes inside each folder.
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (node, targets) in &graph {
        for target in targets {
            if layer(node) != layer(target) {
                top.entry(layer(node).to_string())
                    .or_default()
                    .insert(layer(target).to_string());
            }
        }
    }
    let mut loops = Vec::new();
    for g in [&graph, &top] {
        // Depth-first search from every node; a path back to the start is a loop.
        for start in g.keys() {
            let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((node, path)) = stack.pop() {
                for next in g.get(&node).into_iter().flatten() {
                    if next == start {
                        let mut cycle = path.clone();
                        cycle.push(next.clone());
                        loops.push(cycle.join(" → "));
                    } else if seen.insert(next.clone()) {
                        let mut longer = path.clone();
                        longer.push(next.clone());
                        stack.push((next.clone(), longer));
                    }
                }
            }
        }
    }
    loops.sort();
    loops.dedup();
    assert!(loops.is_empty(), "import loops: {loops:#?}");
}

#[test]
fn the_reader_sees_use_trees_and_paths() {
    assert_eq!(
        expand("a::{b, c::{d, e}}, f;"),
        vec![vec!["a", "b"], vec!["a", "c", "d"], vec!["a", "c", "e"]]
    );
    assert_eq!(
        expand("analyze::top::top(&p)"),
        vec![vec!["analyze", "top", "top"]]
    );
    assert_eq!(node_of(Path::new("analyze/top/merge.rs")), "analyze::top");
    assert_eq!(node_of(Path::new("analyze/mod.rs")), "analyze");
    assert_eq!(node_of(Path::new("cli.rs")), "cli");
    assert_eq!(
        node_of_path(&["analyze", "Join"]),
        Some("analyze".to_string())
    );
    assert!(code_of("let x = \"crate::cli\"; // crate::jobs\n").trim() == "let x = ;");
    // The graph read from src/ has the edges everyone knows of.
    let graph = graph();
    for (from, to) in [
        ("jobs::report", "analyze::investigation"),
        ("cli", "jobs"),
        ("analyze::investigation", "analyze::compare"),
        ("analyze::memory", "analyze"),
        ("error", "set"),
    ] {
        assert!(graph[from].contains(to), "{from} → {to}: {:?}", graph[from]);
    }
}
