//! The template filters, in one place. Each escapes or formats for the place a value lands
//! in: Markdown text, a Markdown table cell, a code span.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

use crate::text::{NAME_MAX, neutralise, truncate, truncate_words};

/// Registers every filter.
pub fn register(env: &mut Environment) {
    env.add_filter("md", md);
    env.add_filter("inline", inline);
    env.add_filter("code", code);
    env.add_filter("code_cell", code_cell);
    env.add_filter("url", url);
    env.add_filter("pct", pct);
    env.add_filter("bytes", bytes);
    env.add_filter("upper_first", upper_first);
    env.add_filter("size", size);
    env.add_filter("or_dash", or_dash);
    env.add_filter("noun", noun);
    env.add_function("anchors", anchors);
}

/// `"packages" | noun(n)`: a plural noun, made singular when `n` is 1 (`1 package`,
/// `2 packages`; `categories` → `category`).
fn noun(v: Value, n: Value) -> Result<String, Error> {
    let word = text_of(&v, "noun")?;
    if number(&n) != Some(1.0) {
        return Ok(word);
    }
    Ok(if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else {
        word.strip_suffix('s').unwrap_or(&word).to_string()
    })
}

/// `anchors(["CPU", "Memory", …])`: the link targets GitHub gives headings with these texts,
/// in document order ([`Slugger`]).
fn anchors(headings: Vec<String>) -> Vec<String> {
    let mut slugger = Slugger::default();
    headings.iter().map(|h| slugger.slug(h)).collect()
}

/// GitHub's heading anchors, as its Markdown renderer and github-slugger compute them:
/// the heading's text lowercased, every character but letters, digits, `_`, `-` and spaces
/// dropped, spaces turned into `-`; a slug already taken gets `-1`, `-2`, … appended.
#[derive(Debug, Default)]
pub struct Slugger {
    seen: std::collections::BTreeMap<String, usize>,
}

impl Slugger {
    /// The anchor of the next heading with this text (its text as rendered, without Markdown).
    pub fn slug(&mut self, heading: &str) -> String {
        let base = slug(heading);
        let mut candidate = base.clone();
        while self.seen.contains_key(&candidate) {
            let count = self.seen.entry(base.clone()).or_insert(0);
            *count += 1;
            candidate = format!("{base}-{count}");
        }
        self.seen.insert(candidate.clone(), 0);
        candidate
    }
}

/// One heading's slug, without the suffix that tells repeated headings apart.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn md(v: Value) -> Result<String, Error> {
    Ok(markdown_text(&text_of(&v, "md")?))
}

fn inline(v: Value) -> Result<String, Error> {
    Ok(markdown_inline(&text_of(&v, "inline")?))
}

/// `code`, `code(max=0)`.
fn code(v: Value, args: Kwargs) -> Result<String, Error> {
    Ok(code_span(&text_of(&v, "code")?, false, max_arg(&args)?))
}

/// `code_cell`, `code_cell(max=0)`.
fn code_cell(v: Value, args: Kwargs) -> Result<String, Error> {
    Ok(code_span(&text_of(&v, "code_cell")?, true, max_arg(&args)?))
}

fn url(v: Value) -> Result<String, Error> {
    Ok(url_path(&text_of(&v, "url")?))
}

/// `pct`, `pct(digits=1)`: a number as a percentage, `–` for anything else.
fn pct(v: Value, args: Kwargs) -> Result<String, Error> {
    defined(&v, "pct")?;
    let digits = args.get::<Option<usize>>("digits")?.unwrap_or(2);
    args.assert_all_used()?;
    Ok(match number(&v) {
        Some(x) => format!("{x:.digits$}%"),
        None => "–".to_string(),
    })
}

/// A whole number of bytes with its unit, `–` for anything else.
fn bytes(v: Value) -> Result<String, Error> {
    defined(&v, "bytes")?;
    Ok(match v.as_i64().filter(|_| v.is_integer()) {
        Some(x) => crate::units::label(x, "bytes"),
        None => "–".to_string(),
    })
}

fn upper_first(v: Value) -> Result<String, Error> {
    let text = text_of(&v, "upper_first")?;
    let mut chars = text.chars();
    Ok(match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    })
}

/// A size as the context writes it (`2808240KiB`) in the report's units; other text as it is.
fn size(v: Value) -> Result<String, Error> {
    let text = text_of(&v, "size")?;
    Ok(match crate::context::ByteSize::parse(&text) {
        Ok(size) => crate::units::label(size.0 as i64, "bytes"),
        Err(_) => text,
    })
}

/// `–` for none or an empty string, any other value as it is.
fn or_dash(v: Value) -> Result<Value, Error> {
    defined(&v, "or_dash")?;
    Ok(if v.is_none() || v.as_str() == Some("") {
        Value::from("–")
    } else {
        v
    })
}

/// Filters refuse an undefined value, as printing one is refused: a misspelt field must not
/// come out as an empty cell or a dash.
fn defined(value: &Value, filter: &str) -> Result<(), Error> {
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            format!("the {filter} filter was given an undefined value"),
        ));
    }
    Ok(())
}

/// The text of a value: strings as they are, none as nothing, anything else as printed.
fn text_of(value: &Value, filter: &str) -> Result<String, Error> {
    defined(value, filter)?;
    Ok(match value.as_str() {
        Some(s) => s.to_string(),
        None if value.is_none() => String::new(),
        None => value.to_string(),
    })
}

fn number(value: &Value) -> Option<f64> {
    (value.kind() == ValueKind::Number)
        .then(|| f64::try_from(value.clone()).ok())
        .flatten()
}

/// `max=N` of `code` and `code_cell`: the longest text shown, 0 for no limit (commands, which
/// the reader copies and which come from the command line, not from a profile).
fn max_arg(args: &Kwargs) -> Result<usize, Error> {
    let max = args.get::<Option<u64>>("max")?;
    args.assert_all_used()?;
    Ok(max.map_or(NAME_MAX, |m| if m == 0 { usize::MAX } else { m as usize }))
}

/// Plain text that Markdown must not interpret: punctuation with a meaning is backslash-
/// escaped, line breaks become spaces, other control and bidi characters U+FFFD
/// (`crate::text::neutralise`), and words longer than `NAME_MAX` are cut. Safe at the start
/// of a line too (list, heading and quote markers are escaped there).
pub fn markdown_text(text: &str) -> String {
    escape_markdown(text, true)
}

/// Like `markdown_text`, for text inside a line (a table cell, the middle of a sentence):
/// a leading `-` or `1.` means nothing there, so figures such as `-5.2%` stay as they are.
/// For the figures of the analysis: they carry the profile's own unit names.
pub fn markdown_inline(text: &str) -> String {
    escape_markdown(text, false)
}

fn escape_markdown(text: &str, line_start: bool) -> String {
    let text = truncate_words(&neutralise(text), NAME_MAX);
    // Leading spaces would make an indented code block at the start of a line.
    let text = if line_start { text.trim_start() } else { &text };
    // `1.` or `1)` then a space (or nothing) at the start of a line opens an ordered list.
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    let list_marker = line_start
        && (1..=9).contains(&digits)
        && matches!(text.as_bytes().get(digits), Some(b'.') | Some(b')'))
        && matches!(text.as_bytes().get(digits + 1), None | Some(b' '));
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in text.chars().enumerate() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '&' | '!' => {
                out.push('\\');
                out.push(c);
            }
            // List and heading markers matter only at the start of a line.
            '-' | '+' | '=' if line_start && i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')' if list_marker && i == digits => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code span that shows `text` literally: one line without hazards, at most `max`
/// characters, fenced by more backticks than it contains, with `|` escaped when it sits in
/// a table cell (GFM unescapes it there, even inside code).
pub fn code_span(text: &str, in_table: bool, max: usize) -> String {
    let cleaned = truncate(&neutralise(text), max);
    let cleaned = if in_table {
        cleaned.replace('|', "\\|")
    } else {
        cleaned
    };
    if cleaned.is_empty() {
        return "` `".to_string();
    }
    let longest_run = cleaned.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = if cleaned.starts_with('`') || cleaned.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{cleaned}{pad}{fence}")
}

/// A relative path as a link destination: every byte but unreserved characters and `/` is
/// percent-encoded, so spaces, parentheses and angle brackets in a folder name cannot end
/// the link early or turn it into something else.
pub fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts that Markdown, HTML, XML or Jinja would read as something else.
    const HOSTILE: &[&str] = &[
        "pipe|in|cell",
        "*star* _under_ **bold** __bold__ ~~strike~~",
        "`tick` ``two`` ```three",
        "[x](javascript:alert(1))",
        "![i](javascript:alert(2)) <javascript:alert(3)> <http://example.com/>",
        "<script>alert(1)</script>",
        "<img src=x onerror=\"alert(1)\">",
        "</svg><svg onload=alert(1)>",
        "]]><!-- comment --> <!-- open",
        "&amp; &lt;b&gt; &#60;script&#62; &#x202e;",
        "{{ title }} {% if true %}x{% endif %} {# c #}",
        "line\nbreak\r\ncarriage\rtab\there",
        "nul\0c0\u{1}\u{7}\u{1b}[31mc1\u{85}\u{9b}del\u{7f}",
        "bidi\u{202e}gpj.exe\u{202c}\u{2066}iso\u{2069}\u{200f}bom\u{feff}ls\u{2028}nc\u{ffff}",
        "# heading",
        "- item",
        "+ item",
        "1. ordered",
        "12) ordered",
        "> quote",
        "    indented",
        "=====",
        "back\\slash\\|pipe\\",
        "trailing backslash\\",
        "a\\",
        "\\`",
        "https://example.com/autolink www.example.com",
        "",
    ];

    /// What a reader sees of a Markdown fragment, and whether anything but text was parsed
    /// out of it (the checks accept `Code` only when `code` is true).
    fn seen(markdown: &str, code: bool) -> String {
        use pulldown_cmark::{Event, Parser, Tag, TagEnd};
        let mut text = String::new();
        for event in Parser::new_ext(markdown, super::super::html::markdown_options()) {
            match event {
                Event::Text(t) => text.push_str(&t),
                Event::Code(t) if code => text.push_str(&t),
                Event::Start(Tag::Paragraph | Tag::Table(_) | Tag::TableHead | Tag::TableRow)
                | Event::Start(Tag::TableCell)
                | Event::End(
                    TagEnd::Paragraph | TagEnd::Table | TagEnd::TableHead | TagEnd::TableRow,
                )
                | Event::End(TagEnd::TableCell) => {}
                other => panic!("{markdown:?}: {other:?}"),
            }
        }
        text
    }

    /// The text of a hostile input as the filters promise to show it.
    fn expected(text: &str) -> String {
        neutralise(text).trim().to_string()
    }

    #[test]
    fn markdown_text_escapes_what_markdown_would_read() {
        assert_eq!(markdown_text("a*b_c"), "a\\*b\\_c");
        assert_eq!(markdown_text("<script>"), "\\<script\\>");
        assert_eq!(markdown_text("x|y\nz"), "x\\|y z");
        assert_eq!(markdown_text("- item"), "\\- item");
        assert_eq!(markdown_text("a-b"), "a-b");
        assert_eq!(markdown_text("1. x"), "1\\. x");
        assert_eq!(markdown_text("2024.5 x"), "2024.5 x");
        assert_eq!(markdown_text("[link](x)"), "\\[link\\](x)");
        assert_eq!(markdown_text("\u{202e}evil"), "\u{fffd}evil");
        assert_eq!(markdown_text("  lead"), "lead");
        assert_eq!(markdown_inline("-5.2%"), "-5.2%");
        assert_eq!(markdown_inline("1.50MB"), "1.50MB");
        assert_eq!(markdown_inline("3<script>"), "3\\<script\\>");
    }

    #[test]
    fn markdown_text_reads_back_as_the_text_itself_wherever_it_lands() {
        for &hostile in HOSTILE {
            let escaped = markdown_text(hostile);
            let want = expected(hostile);
            // A paragraph of its own, text inside a sentence, and a table cell.
            assert_eq!(seen(&escaped, false).trim(), want, "{hostile:?}");
            assert_eq!(
                seen(&format!("a {escaped} b"), false),
                format!("a {} b", neutralise(hostile).trim_start()).trim_end(),
                "{hostile:?}"
            );
            let table = format!("| x | y |\n|---|---|\n| {escaped} | 2 |\n");
            assert_eq!(seen(&table, false), format!("xy{want}2"), "{hostile:?}");
            let inline = markdown_inline(hostile);
            let table = format!("| x | y |\n|---|---|\n| 1 {inline} | 2 |\n");
            assert_eq!(
                seen(&table, false),
                format!("xy{}2", format!("1 {}", neutralise(hostile)).trim_end()),
                "{hostile:?}"
            );
        }
    }

    #[test]
    fn long_words_are_cut_but_prose_is_kept() {
        let name = format!("pkg.{}", "A".repeat(100_000));
        let shown = markdown_text(&format!("calls {name} often"));
        assert!(shown.len() < NAME_MAX + 40, "{}", shown.len());
        assert!(shown.starts_with("calls pkg.AAA") && shown.ends_with("A… often"));
        let prose = "word ".repeat(500);
        assert_eq!(markdown_text(&prose), prose);
    }

    #[test]
    fn code_spans_show_text_literally() {
        assert_eq!(code_span("pkg.(*T).F", false, NAME_MAX), "`pkg.(*T).F`");
        assert_eq!(code_span("a`b", false, NAME_MAX), "``a`b``");
        assert_eq!(code_span("`x`", false, NAME_MAX), "`` `x` ``");
        assert_eq!(code_span("a|b", true, NAME_MAX), "`a\\|b`");
        assert_eq!(code_span("a|b", false, NAME_MAX), "`a|b`");
        assert_eq!(code_span("", false, NAME_MAX), "` `");
        assert_eq!(code_span("a\nb", false, NAME_MAX), "`a b`");
        assert_eq!(code_span("abcdef", false, 4), "`abc…`");
    }

    #[test]
    fn code_spans_read_back_as_the_text_itself_in_text_and_tables() {
        for &hostile in HOSTILE {
            // Code keeps spaces; an empty span shows one.
            let want = if hostile.is_empty() {
                " ".to_string()
            } else {
                neutralise(hostile)
            };
            let span = code_span(hostile, false, NAME_MAX);
            assert_eq!(seen(&format!("a {span} b"), true), format!("a {want} b"));
            let cell = code_span(hostile, true, NAME_MAX);
            let table = format!("| x | y |\n|---|---|\n| {cell} | 2 |\n");
            assert_eq!(seen(&table, true), format!("xy{want}2"), "{hostile:?}");
        }
        let name = format!("pkg.{}", "A".repeat(100_000));
        assert_eq!(
            code_span(&name, true, NAME_MAX).chars().count(),
            NAME_MAX + 2
        );
        assert_eq!(code_span(&name, false, usize::MAX).len(), name.len() + 2);
    }

    #[test]
    fn url_paths_are_percent_encoded() {
        assert_eq!(url_path("sim-57svc/cpu.svg"), "sim-57svc/cpu.svg");
        assert_eq!(
            url_path("my report (2)/<x>.svg"),
            "my%20report%20%282%29/%3Cx%3E.svg"
        );
        assert_eq!(url_path("é"), "%C3%A9");
        // The link keeps pointing where it should.
        use pulldown_cmark::{Event, Parser, Tag};
        let markdown = format!("[t]({})", url_path("a b)(javascript:x)/c.svg"));
        let dests: Vec<String> = Parser::new(&markdown)
            .filter_map(|e| match e {
                Event::Start(Tag::Link { dest_url, .. }) => Some(dest_url.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(dests, ["a%20b%29%28javascript%3Ax%29/c.svg"]);
    }

    #[test]
    fn slugs_are_githubs_heading_anchors() {
        assert_eq!(slug("Executive summary"), "executive-summary");
        assert_eq!(slug("CPU"), "cpu");
        assert_eq!(
            slug("1. Port listing polls /proc for every node"),
            "1-port-listing-polls-proc-for-every-node"
        );
        assert_eq!(slug("By label `handler`"), "by-label-handler");
        assert_eq!(
            slug("Comparison with sim-14svc_2026 (before)"),
            "comparison-with-sim-14svc_2026-before"
        );
        assert_eq!(
            slug("Scaling from 14 to 57 services: k ≥ 1"),
            "scaling-from-14-to-57-services-k--1"
        );
        assert_eq!(slug("Größe Ünits"), "größe-ünits");
        assert_eq!(slug("  a  b "), "a--b");
        let mut slugger = Slugger::default();
        let got: Vec<String> = [
            "By package",
            "Memory",
            "By package",
            "By package",
            "By package-1",
        ]
        .iter()
        .map(|h| slugger.slug(h))
        .collect();
        assert_eq!(
            got,
            [
                "by-package",
                "memory",
                "by-package-1",
                "by-package-2",
                "by-package-1-1"
            ]
        );
        assert_eq!(anchors(vec!["A".into(), "a".into()]), ["a", "a-1"]);
    }

    #[test]
    fn nouns_agree_with_their_count() {
        let mut env = Environment::new();
        register(&mut env);
        let render = |source: &str| env.render_str(source, minijinja::context! {}).unwrap();
        assert_eq!(
            render(
                "{{ 'services' | noun(1) }} {{ 'services' | noun(2) }} {{ 'categories' | noun(1) }} {{ 'values' | noun(0) }} {{ 'functions' | noun(1.0) }} {{ 'services' | noun(none) }}"
            ),
            "service services category values function services"
        );
    }

    #[test]
    fn filters_run_in_templates() {
        let mut env = Environment::new();
        register(&mut env);
        let context = minijinja::context! {
            a => "x|y", b => 12.345, c => 3u64 << 20, d => Option::<String>::None,
            e => "*bold*", f => "heap profile", g => "2808240KiB", h => "abcdef",
            i => "a b/c.svg", j => "-1|2", k => "",
        };
        let render = |source: &str| env.render_str(source, context.clone());
        assert_eq!(
            render(
                "{{ j | inline }} {{ a | code_cell }} {{ b | pct }} {{ c | bytes }} {{ d | or_dash }} {{ e | md }} \
                 {{ f | upper_first }} {{ g | size }} {{ h | code(max=3) }} {{ h | code(max=0) }} \
                 {{ i | url }}"
            )
            .unwrap(),
            "-1\\|2 `x\\|y` 12.35% 3MB – \\*bold\\* Heap profile 2.68GB `ab…` `abcdef` a%20b/c.svg"
        );
        assert_eq!(
            render("{{ b | pct(digits=1) }} {{ h | pct }} {{ b | bytes }} {{ k | or_dash }} {{ c | or_dash }}")
                .unwrap(),
            "12.3% – – – 3145728"
        );
        // Misspelt arguments and undefined values are errors, not a silent default.
        for bad in [
            "{{ h | code(mx=3) }}",
            "{{ nope | md }}",
            "{{ nope | or_dash }}",
            "{{ h | md(1) }}",
        ] {
            assert!(render(bad).is_err(), "{bad}");
        }
    }
}
