//! The Tera filters the templates use, in one place. Each escapes or formats for the place a
//! value lands in: Markdown text, a Markdown table cell, a code span.

use std::collections::HashMap;

use tera::{Tera, Value, to_value};

/// Registers every filter.
pub fn register(tera: &mut Tera) {
    tera.register_filter("md", |v: &Value, _: &HashMap<String, Value>| {
        Ok(to_value(markdown_text(&text_of(v)))?)
    });
    tera.register_filter("code", |v: &Value, _: &HashMap<String, Value>| {
        Ok(to_value(code_span(&text_of(v), false))?)
    });
    tera.register_filter("code_cell", |v: &Value, _: &HashMap<String, Value>| {
        Ok(to_value(code_span(&text_of(v), true))?)
    });
    tera.register_filter("pct", |v: &Value, args: &HashMap<String, Value>| {
        let digits = args.get("digits").and_then(Value::as_u64).unwrap_or(2) as usize;
        match v.as_f64() {
            Some(x) => Ok(to_value(format!("{x:.digits$}%"))?),
            None => Ok(to_value("–")?),
        }
    });
    tera.register_filter("bytes", |v: &Value, _: &HashMap<String, Value>| {
        match v.as_i64() {
            Some(x) => Ok(to_value(crate::units::label(x, "bytes"))?),
            None => Ok(to_value("–")?),
        }
    });
    tera.register_filter("upper_first", |v: &Value, _: &HashMap<String, Value>| {
        let text = text_of(v);
        let mut chars = text.chars();
        Ok(to_value(match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
            None => String::new(),
        })?)
    });
    tera.register_filter("size", |v: &Value, _: &HashMap<String, Value>| {
        let text = text_of(v);
        Ok(to_value(match crate::context::ByteSize::parse(&text) {
            Ok(size) => crate::units::label(size.0 as i64, "bytes"),
            Err(_) => text,
        })?)
    });
    tera.register_filter("or_dash", |v: &Value, _: &HashMap<String, Value>| {
        Ok(match v {
            Value::Null => to_value("–")?,
            Value::String(s) if s.is_empty() => to_value("–")?,
            other => other.clone(),
        })
    });
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Plain text that Markdown must not interpret: punctuation with a meaning is backslash-
/// escaped, line breaks become spaces, control characters become U+FFFD.
pub fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in text.chars().enumerate() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '&' | '!' => {
                out.push('\\');
                out.push(c);
            }
            // List and heading markers matter only at the start of a line.
            '-' | '+' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() || is_bidi_control(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A code span that shows `text` literally: fenced by more backticks than it contains, with
/// `|` escaped when it sits in a table cell (GFM unescapes it there).
pub fn code_span(text: &str, in_table: bool) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() || is_bidi_control(c) => '\u{fffd}',
            c => c,
        })
        .collect();
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

/// Characters that reorder text when displayed (Trojan Source): never shown raw.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_text_escapes_what_markdown_would_read() {
        assert_eq!(markdown_text("a*b_c"), "a\\*b\\_c");
        assert_eq!(markdown_text("<script>"), "\\<script\\>");
        assert_eq!(markdown_text("x|y\nz"), "x\\|y z");
        assert_eq!(markdown_text("- item"), "\\- item");
        assert_eq!(markdown_text("a-b"), "a-b");
        assert_eq!(markdown_text("[link](x)"), "\\[link\\](x)");
        assert_eq!(markdown_text("\u{202e}evil"), "\u{fffd}evil");
    }

    #[test]
    fn code_spans_show_text_literally() {
        assert_eq!(code_span("pkg.(*T).F", false), "`pkg.(*T).F`");
        assert_eq!(code_span("a`b", false), "``a`b``");
        assert_eq!(code_span("`x`", false), "`` `x` ``");
        assert_eq!(code_span("a|b", true), "`a\\|b`");
        assert_eq!(code_span("a|b", false), "`a|b`");
        assert_eq!(code_span("", false), "` `");
        assert_eq!(code_span("a\nb", false), "`a b`");
    }

    #[test]
    fn filters_run_in_tera() {
        let mut tera = Tera::default();
        register(&mut tera);
        tera.add_raw_template(
            "t",
            "{{ a | code_cell }} {{ b | pct }} {{ c | bytes }} {{ d | or_dash }} {{ e | md }} \
             {{ f | upper_first }} {{ g | size }}",
        )
        .unwrap();
        let mut context = tera::Context::new();
        context.insert("a", "x|y");
        context.insert("b", &12.345);
        context.insert("c", &(3u64 << 20));
        context.insert("d", &Option::<String>::None);
        context.insert("e", "*bold*");
        context.insert("f", "heap profile");
        context.insert("g", "2808240KiB");
        assert_eq!(
            tera.render("t", &context).unwrap(),
            "`x\\|y` 12.35% 3MB – \\*bold\\* Heap profile 2.68GB"
        );
    }
}
