//! A standalone HTML page from the Markdown report (pulldown-cmark), with the flame graphs
//! inline as images: an SVG shown through `<img>` never runs scripts, whatever it contains.

use super::escape_xml as escape;
use base64::Engine;
use pulldown_cmark::{Options, Parser, html};

/// The page: the report's HTML, then each flame graph as an embedded image.
pub fn page(title: &str, markdown: &str, svgs: &[(String, String)]) -> String {
    // The title and captions name sets, whose names came from file names: made inert like
    // every other text (the Markdown is, by its filters).
    let clean = |text: &str| escape(&crate::text::truncate(&crate::text::neutralise(text), 200));
    let mut body = String::new();
    html::push_html(&mut body, Parser::new_ext(markdown, markdown_options()));
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n");
    out.push_str(&format!("<title>{}</title>\n", clean(title)));
    out.push_str("<style>body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}code{font-size:90%;overflow-wrap:anywhere}img{max-width:100%}</style>\n");
    out.push_str("</head>\n<body>\n");
    out.push_str(&body);
    if !svgs.is_empty() {
        out.push_str("<h2>Flame graphs, inline</h2>\n");
        for (caption, svg) in svgs {
            let data = base64::engine::general_purpose::STANDARD.encode(svg.as_bytes());
            out.push_str(&format!(
                "<figure><img alt=\"{0}\" src=\"data:image/svg+xml;base64,{data}\"><figcaption>{0}</figcaption></figure>\n",
                clean(caption)
            ));
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// GitHub-flavoured Markdown: tables, strikethrough, task lists.
pub fn markdown_options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_with_escaped_title_and_embedded_images() {
        let page = page(
            "a <b> & c",
            "# Title\n\n| a | b |\n|---|---|\n| `<x>` | 2 |\n",
            &[("cpu <svg>".to_string(), "<svg/>".to_string())],
        );
        assert!(page.contains("<title>a &lt;b&gt; &amp; c</title>"));
        assert!(page.contains("<table>"));
        assert!(page.contains("<code>&lt;x&gt;</code>"));
        assert!(page.contains("data:image/svg+xml;base64,PHN2Zy8+"));
        assert!(page.contains("<figcaption>cpu &lt;svg&gt;</figcaption>"));
    }

    #[test]
    fn titles_and_captions_are_one_line_without_control_characters() {
        let page = page(
            "set\nname\u{1b}[31m\u{202e}",
            "# T\n",
            &[("a\u{0}b".to_string(), "<svg/>".to_string())],
        );
        assert!(page.contains("<title>set name\u{fffd}[31m\u{fffd}</title>"));
        assert!(page.contains("<figcaption>a\u{fffd}b</figcaption>"));
        assert!(!page.contains(['\u{1b}', '\u{202e}', '\0']));
    }
}
