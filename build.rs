//! Converts the built-in rule files (src/rules/*.yaml) to JSON at build time: every report
//! reads them, and parsing JSON costs a fraction of parsing YAML (the YAML stays the source,
//! and a rule file given with `--rules` is still YAML). A built-in file that does not parse
//! fails the build with its name and the problem.
//!
//! The built-in rules' patterns are compiled here too, into DFAs that the binary carries
//! serialized (`rules::compile` finds a pattern's DFA by its text): compiling them was the
//! largest fixed cost of a report after starting the process.

use std::fmt::Write as _;
use std::path::Path;

fn main() -> Result<(), String> {
    let out = std::env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?;
    let dir = Path::new("src/rules");
    println!("cargo::rerun-if-changed=src/rules");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("src/rules: {e}"))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    names.sort();
    let mut list = String::from("&[\n");
    let mut patterns: Vec<String> = Vec::new();
    for name in &names {
        let path = dir.join(name);
        println!("cargo::rerun-if-changed={}", path.display());
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let value: serde_json::Value =
            yaml_serde::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        collect_patterns(&value, &mut patterns);
        let json = name.replace(".yaml", ".json");
        std::fs::write(Path::new(&out).join(&json), value.to_string())
            .map_err(|e| format!("{json}: {e}"))?;
        let _ = writeln!(
            list,
            "    ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/src/rules/{name}\")), include_str!(concat!(env!(\"OUT_DIR\"), \"/{json}\"))),"
        );
    }
    list.push(']');
    std::fs::write(Path::new(&out).join("builtin_rules.rs"), list)
        .map_err(|e| format!("builtin_rules.rs: {e}"))?;
    write_pattern_dfas(Path::new(&out), patterns)
}

/// Every `pattern` of the rules' conditions in a parsed rule file.
fn collect_patterns(file: &serde_json::Value, patterns: &mut Vec<String>) {
    let rules = file.get("rules").and_then(|r| r.as_array());
    for rule in rules.into_iter().flatten() {
        let conditions = rule.get("when").and_then(|w| w.as_array());
        for condition in conditions.into_iter().flatten() {
            if let Some(pattern) = condition.get("pattern").and_then(|p| p.as_str()) {
                patterns.push(pattern.to_string());
            }
        }
    }
}

/// Compiles each distinct pattern into a sparse DFA that answers "does the name match"
/// (unanchored, stopping at the first match), serialized little-endian into OUT_DIR, and
/// writes the table `(pattern, bytes)` that `rules::compile` looks them up in. A pattern that
/// does not compile is left out: the rule file's check reports it with the rule's id.
fn write_pattern_dfas(out: &Path, mut patterns: Vec<String>) -> Result<(), String> {
    use regex_automata::dfa::{StartKind, dense};
    patterns.sort();
    patterns.dedup();
    let mut table = String::from("&[\n");
    for (n, pattern) in patterns.iter().enumerate() {
        let built = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .start_kind(StartKind::Unanchored)
                    .match_kind(regex_automata::MatchKind::All)
                    .minimize(true),
            )
            .thompson(
                regex_automata::nfa::thompson::Config::new()
                    .which_captures(regex_automata::nfa::thompson::WhichCaptures::None),
            )
            .build(pattern);
        let Ok(dense) = built else { continue };
        let sparse = dense
            .to_sparse()
            .map_err(|e| format!("pattern {pattern:?}: {e}"))?;
        let file = format!("pattern-{n}.dfa");
        std::fs::write(out.join(&file), sparse.to_bytes_little_endian())
            .map_err(|e| format!("{file}: {e}"))?;
        let _ = writeln!(
            table,
            "    ({pattern:?}, include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{file}\"))),"
        );
    }
    table.push(']');
    std::fs::write(out.join("pattern_dfas.rs"), table).map_err(|e| format!("pattern_dfas.rs: {e}"))
}
