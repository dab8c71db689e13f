//! Converts the built-in rule files (src/rules/*.yaml) to JSON at build time: every report
//! reads them, and parsing JSON costs a fraction of parsing YAML (the YAML stays the source,
//! and a rule file given with `--rules` is still YAML). A built-in file that does not parse
//! fails the build with its name and the problem.

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
    for name in &names {
        let path = dir.join(name);
        println!("cargo::rerun-if-changed={}", path.display());
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let value: serde_json::Value =
            yaml_serde::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
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
        .map_err(|e| format!("builtin_rules.rs: {e}"))
}
