//! SVG flame graphs from folded stacks, with inferno. Colours come from a hash of each
//! function name (`deterministic`), so the same profile always gives the same bytes.

use inferno::flamegraph::{self, Options, Palette};

/// What a flame graph shows; the title says it in the SVG itself.
#[derive(Debug, Clone, PartialEq)]
pub struct FlameSpec {
    /// The heading drawn in the SVG (made inert, cut to 200 characters).
    pub title: String,
    /// The line under it; empty: none.
    pub subtitle: String,
    /// What the widths count: `nanoseconds`, `bytes`, `goroutines`.
    pub count_name: String,
    /// inferno palette name: `hot` (CPU), `mem`, `io`, `aqua`, …
    pub palette: &'static str,
}

/// A flame graph that could not be drawn: inferno failed (it does on no stacks), or the
/// palette is unknown.
#[derive(Debug, thiserror::Error)]
#[error("flame graph {title:?}: {reason}")]
pub struct FlameError {
    /// The graph's title, as given.
    pub title: String,
    /// What inferno (or the palette lookup) said.
    pub reason: String,
}

/// The longest title or subtitle drawn, in characters.
const TITLE_MAX: usize = 200;

/// Renders an SVG. There must be at least one stack: callers say "nothing to draw" in
/// the report instead.
pub fn svg(folded: &[String], spec: &FlameSpec) -> Result<String, FlameError> {
    let fail = |reason: String| FlameError {
        title: spec.title.clone(),
        reason,
    };
    // Titles name the set, whose name came from a file name: made inert like every other
    // text (inferno escapes markup, but control characters would make the XML invalid).
    let clean = |text: &str| crate::text::truncate(&crate::text::neutralise(text), TITLE_MAX);
    let mut options = Options::default();
    options.title = clean(&spec.title);
    options.subtitle = Some(clean(&spec.subtitle)).filter(|s| !s.is_empty());
    options.count_name = spec.count_name.clone();
    options.colors = spec
        .palette
        .parse::<Palette>()
        .map_err(|e| fail(format!("palette {}: {e}", spec.palette)))?;
    options.deterministic = true;
    options.hash = true;
    let mut out = Vec::new();
    flamegraph::from_lines(&mut options, folded.iter().map(String::as_str), &mut out)
        .map_err(|e| fail(e.to_string()))?;
    String::from_utf8(out).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FlameSpec {
        FlameSpec {
            title: "CPU <test> & more".into(),
            subtitle: "set x".into(),
            count_name: "nanoseconds".into(),
            palette: "hot",
        }
    }

    #[test]
    fn same_input_same_bytes_and_escaped_names() {
        let lines = vec![
            "main.main;main.<script>alert(1)</script> 30".to_string(),
            "main.main;runtime.mallocgc 10".to_string(),
        ];
        let a = svg(&lines, &spec()).unwrap();
        let b = svg(&lines, &spec()).unwrap();
        assert_eq!(a, b);
        assert!(a.starts_with("<?xml"));
        assert!(a.contains("CPU &lt;test&gt; &amp; more"));
        assert!(!a.contains("<script>alert"));
    }

    #[test]
    fn empty_input_is_an_error_not_a_panic() {
        let error = svg(&[], &spec()).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("flame graph \"CPU <test> & more\": ")
        );
    }
}
