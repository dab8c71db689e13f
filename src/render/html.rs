//! A standalone HTML page from the Markdown report (pulldown-cmark): a table of contents from
//! its h2/h3 headings, a light and a dark theme, and every SVG the report links shown at its
//! place — charts as `data:` images, flame graphs interactive.
//!
//! # Why flame graphs are sandboxed iframes
//!
//! inferno's SVG carries a script (zoom on click, search, tooltips) written for a document of
//! its own: global variables, `getElementById("frames")`, `getElementsByTagName("svg")[0]`,
//! handlers on `window`. Inlined side by side in one page, the graphs would share all of that.
//! So each graph is its own document, an `<iframe sandbox="allow-scripts allow-modals"
//! srcdoc=…>`: without `allow-same-origin` it runs in an opaque origin and cannot reach the page
//! (`allow-modals` is for the search prompt). The page's Content-Security-Policy, which the
//! `srcdoc` document inherits, allows no script but inferno's: `script-src 'sha256-…'`, the
//! hash computed here over the exact script text placed in the frame. That text is inferno's,
//! taken out of the SVG's `<script>` (its CDATA sections), with `onload="init(evt)"` replaced by
//! a call at the end of the script, so no inline handler needs `'unsafe-hashes'`. Names in the
//! graph come from profile data; inferno XML-escapes them, and a frame that still held a
//! `<script` or a handler would run nothing: the policy allows one script text and no
//! handlers. An SVG whose script is not where inferno puts it is shown as an image (inert).

use super::escape_xml as escape;
use base64::Engine;
use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};
use sha2::{Digest, Sha256};

/// An SVG of the report: its file as the Markdown links it, its caption, and how it is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Graphic {
    /// The path relative to the report, as written (the Markdown links it percent-encoded).
    pub file: String,
    /// What it shows; the iframe's title or the image's alt text.
    pub caption: String,
    /// The SVG document.
    pub svg: String,
    /// How the page shows it.
    pub kind: GraphicKind,
}

/// How a graphic is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphicKind {
    /// An inferno flame graph: interactive, in a sandboxed iframe.
    Flame,
    /// A static SVG without scripts (a chart): a `data:` image.
    Chart,
}

/// The page's style: a sidebar of contents beside a readable column on a laptop screen, one
/// column below that, tables that scroll instead of overflowing, and a dark theme (flame graphs
/// and charts keep a light panel).
const STYLE: &str = "\
:root{color-scheme:light dark;--bg:#fff;--fg:#1d1d1f;--muted:#666;--line:#ccc;--link:#0645ad;--code:#f4f4f4}\
@media (prefers-color-scheme:dark){:root{--bg:#16181c;--fg:#d8dadf;--muted:#9aa0a6;--line:#444;--link:#8ab4f8;--code:#23262c}}\
html{background:var(--bg);color:var(--fg)}\
body{font-family:sans-serif;line-height:1.45;margin:0 auto;padding:1em;max-width:92em;display:grid;grid-template-columns:17em minmax(0,1fr);gap:2em}\
nav.toc{position:sticky;top:0;align-self:start;max-height:100vh;overflow:auto;font-size:90%;padding:1em 0}\
nav.toc ul{list-style:none;margin:0;padding-left:0}nav.toc ul ul{padding-left:1em;font-size:95%}\
nav.toc li{margin:.2em 0}nav.toc a{text-decoration:none}nav.toc .toc-title{font-weight:bold;margin:0 0 .5em}\
main{min-width:0;max-width:62em}\
@media (max-width:60em){body{display:block}nav.toc{position:static;max-height:none;border-bottom:1px solid var(--line)}}\
a{color:var(--link)}\
.table-wrap{overflow-x:auto;max-width:100%;margin:1em 0}\
table{border-collapse:collapse}td,th{border:1px solid var(--line);padding:2px 6px;vertical-align:top}\
code{font-size:90%;overflow-wrap:anywhere;background:var(--code);padding:0 2px}\
pre{overflow-x:auto;background:var(--code);padding:.5em}pre code{background:none}\
img{max-width:100%;background:#fff;border-radius:4px}\
iframe.flame{display:block;width:100%;border:1px solid var(--line);border-radius:4px;background:#fff;margin:.5em 0}\
figure{margin:1em 0}figcaption{color:var(--muted);font-size:90%}";

/// The style inside a flame graph's frame: no margin, a white panel whatever the page's theme.
const FRAME_STYLE: &str =
    "html,body{margin:0;background:#fff;color:#000;overflow:hidden}svg{display:block;width:100%}";

/// Run before inferno's script in a frame. A `srcdoc` document cannot rewrite its URL, so the
/// zoom state inferno keeps in the query string would throw on every click: it is dropped. And
/// inferno sizes the graph to its window from `svg.width.baseVal`, which an `<svg>` inside an
/// HTML document without a `width` attribute gives as 0 (an SVG document gives its 100%): the
/// laid-out width is given instead, at least 100 px (a frame is 0 wide for a moment while the
/// page lays out, and inferno would set a negative width then, an error on the console).
const FRAME_PRELUDE: &str = "history.replaceState=function(){};\n\
(function(){var d=Object.getOwnPropertyDescriptor(SVGSVGElement.prototype,\"width\");\
Object.defineProperty(SVGSVGElement.prototype,\"width\",{configurable:true,get:function(){\
if(this.hasAttribute(\"width\"))return d.get.call(this);\
return{baseVal:{value:Math.max(100,this.getBoundingClientRect().width)}};}});})();\n";

/// Run after inferno's script in a frame, instead of the SVG's `onload="init(evt)"`.
const FRAME_INIT: &str = "\nwindow.addEventListener(\"load\",function(){init(null)});\n";

/// The handler inferno puts on its `<svg>`, replaced by [`FRAME_INIT`].
const INFERNO_ONLOAD: &str = " onload=\"init(evt)\"";

/// The heading of the appendix that holds the graphics no link or image of the body placed.
const APPENDIX: &str = "Flame graphs, inline";

/// The page: the report's HTML with a table of contents, each graphic at the place the
/// Markdown links or shows it, the others in an appendix at the end.
pub fn page(title: &str, markdown: &str, graphics: &[Graphic]) -> String {
    // The title and captions name sets, whose names came from file names: made inert like
    // every other text (the Markdown is, by its filters).
    let clean = |text: &str| escape(&crate::text::truncate(&crate::text::neutralise(text), 200));
    let embeds: Vec<Embed> = graphics.iter().map(embed).collect();
    let events: Vec<Event> = Parser::new_ext(markdown, markdown_options()).collect();
    let mut ids = Ids::default();
    let mut toc: Vec<(HeadingLevel, String, String)> = Vec::new();
    let mut placed = vec![false; graphics.len()];
    let find = |dest: &str| {
        graphics
            .iter()
            .position(|g| dest == g.file || percent_decoded(dest) == g.file.as_bytes())
    };
    let html_of = |k: usize| embeds[k].html(&clean(&graphics[k].caption));
    let mut out: Vec<Event> = Vec::with_capacity(events.len());
    // Graphics a link names, shown at the end of the paragraph or item holding the link.
    let mut pending: Vec<usize> = Vec::new();
    let mut heading: Option<(HeadingLevel, String)> = None;
    let mut i = 0;
    while i < events.len() {
        let event = &events[i];
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some((*level, String::new()));
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, words)) = &mut heading {
                    words.push_str(text);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, words)) = heading.take() {
                    let id = ids.next(&words);
                    // Give the heading its id: find its start in `out`.
                    if let Some(Event::Start(Tag::Heading { id: slot, .. })) = out
                        .iter_mut()
                        .rev()
                        .find(|e| matches!(e, Event::Start(Tag::Heading { .. })))
                    {
                        *slot = Some(CowStr::from(id.clone()));
                    }
                    if matches!(level, HeadingLevel::H2 | HeadingLevel::H3) {
                        toc.push((level, id, clean(&words)));
                    }
                }
            }
            _ => {}
        }
        match event {
            // `[![TITLE](f.svg)](f.svg)`: the graphic, then the link with the image's text.
            Event::Start(Tag::Link { dest_url, .. })
                if matches!(events.get(i + 1), Some(Event::Start(Tag::Image { dest_url: d, .. })) if find(d).is_some())
                    && find(dest_url).is_some() =>
            {
                if let Some(Event::Start(Tag::Image { dest_url: d, .. })) = events.get(i + 1)
                    && let Some(k) = find(d)
                {
                    out.push(Event::InlineHtml(CowStr::from(html_of(k))));
                    placed[k] = true;
                }
                out.push(event.clone());
                i += 2;
                while i < events.len() && !matches!(events[i], Event::End(TagEnd::Image)) {
                    out.push(events[i].clone());
                    i += 1;
                }
                i += 1;
                continue;
            }
            Event::Start(Tag::Image { dest_url, .. }) if find(dest_url).is_some() => {
                if let Some(k) = find(dest_url) {
                    out.push(Event::InlineHtml(CowStr::from(html_of(k))));
                    placed[k] = true;
                }
                while i < events.len() && !matches!(events[i], Event::End(TagEnd::Image)) {
                    i += 1;
                }
                i += 1;
                continue;
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                if let Some(k) = find(dest_url)
                    && !placed[k]
                    && !pending.contains(&k)
                {
                    pending.push(k);
                }
                out.push(event.clone());
            }
            Event::End(
                TagEnd::Paragraph | TagEnd::Item | TagEnd::TableCell | TagEnd::Heading(_),
            ) if !pending.is_empty() => {
                for k in pending.drain(..) {
                    if !placed[k] {
                        out.push(Event::InlineHtml(CowStr::from(html_of(k))));
                        placed[k] = true;
                    }
                }
                out.push(event.clone());
            }
            Event::Start(Tag::Table(_)) => {
                out.push(Event::Html(CowStr::from("<div class=\"table-wrap\">\n")));
                out.push(event.clone());
            }
            Event::End(TagEnd::Table) => {
                out.push(event.clone());
                out.push(Event::Html(CowStr::from("</div>\n")));
            }
            _ => out.push(event.clone()),
        }
        i += 1;
    }
    let mut body = String::new();
    html::push_html(&mut body, out.into_iter());
    let unplaced: Vec<usize> = (0..graphics.len()).filter(|&k| !placed[k]).collect();
    if !unplaced.is_empty() {
        let id = ids.next(APPENDIX);
        body.push_str(&format!("<h2 id=\"{id}\">{APPENDIX}</h2>\n"));
        toc.push((HeadingLevel::H2, id, APPENDIX.to_string()));
        for k in unplaced {
            let caption = clean(&graphics[k].caption);
            body.push_str(&format!(
                "<figure>{}<figcaption>{caption}</figcaption></figure>\n",
                embeds[k].html(&caption)
            ));
        }
    }
    let mut hashes: Vec<&str> = embeds
        .iter()
        .filter_map(|e| match e {
            Embed::Frame { hash, .. } => Some(hash.as_str()),
            Embed::Image { .. } => None,
        })
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    let mut policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'".to_string();
    if !hashes.is_empty() {
        policy.push_str("; script-src");
        for hash in hashes {
            policy.push_str(&format!(" 'sha256-{hash}'"));
        }
    }
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{policy}\">\n"
    ));
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", clean(title)));
    out.push_str(&format!("<style>{STYLE}</style>\n"));
    out.push_str("</head>\n<body>\n");
    out.push_str(&contents(&toc));
    out.push_str("<main>\n");
    out.push_str(&body);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// GitHub-flavoured Markdown: tables, strikethrough, task lists.
pub fn markdown_options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// The table of contents: the h2 headings, each with its h3 headings below it.
fn contents(toc: &[(HeadingLevel, String, String)]) -> String {
    if toc.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<nav class=\"toc\" aria-label=\"Contents\">\n<p class=\"toc-title\">Contents</p>\n<ul>\n",
    );
    let mut open_sub = false;
    let mut open_item = false;
    for (level, id, text) in toc {
        let link = format!("<a href=\"#{id}\">{text}</a>");
        if *level == HeadingLevel::H3 && open_item {
            if !open_sub {
                out.push_str("<ul>\n");
                open_sub = true;
            }
            out.push_str(&format!("<li>{link}</li>\n"));
            continue;
        }
        if open_sub {
            out.push_str("</ul>\n");
            open_sub = false;
        }
        if open_item {
            out.push_str("</li>\n");
        }
        out.push_str(&format!("<li>{link}"));
        open_item = true;
    }
    if open_sub {
        out.push_str("</ul>\n");
    }
    if open_item {
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n</nav>\n");
    out
}

/// Heading ids: the heading's words in lower case, other characters as `-`, numbered from
/// the second use on.
#[derive(Default)]
struct Ids {
    used: std::collections::BTreeSet<String>,
}

impl Ids {
    fn next(&mut self, words: &str) -> String {
        let mut slug = String::new();
        for c in words.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
            if slug.len() >= 60 {
                break;
            }
        }
        let slug = slug.trim_end_matches('-');
        let base = if slug.is_empty() { "section" } else { slug }.to_string();
        let mut id = base.clone();
        let mut n = 2;
        while self.used.contains(&id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        self.used.insert(id.clone());
        id
    }
}

/// How one graphic is embedded.
enum Embed {
    /// A flame graph's own document, for a sandboxed iframe's `srcdoc`, the base64 SHA-256 of
    /// its one script, and the graph's height in pixels.
    Frame {
        doc: String,
        hash: String,
        height: u32,
    },
    /// The SVG as a `data:` URL.
    Image { url: String },
}

impl Embed {
    /// The element; `caption` is already escaped.
    fn html(&self, caption: &str) -> String {
        match self {
            Embed::Frame { doc, height, .. } => format!(
                "<iframe class=\"flame\" sandbox=\"allow-scripts allow-modals\" title=\"{caption}\" style=\"height:{}px\" srcdoc=\"{}\"></iframe>",
                height + 2,
                escape(doc)
            ),
            Embed::Image { url } => format!("<img alt=\"{caption}\" src=\"{url}\">"),
        }
    }
}

fn embed(graphic: &Graphic) -> Embed {
    if graphic.kind == GraphicKind::Flame
        && let Some(frame) = frame(&graphic.svg)
    {
        return frame;
    }
    let data = base64::engine::general_purpose::STANDARD.encode(graphic.svg.as_bytes());
    Embed::Image {
        url: format!("data:image/svg+xml;base64,{data}"),
    }
}

/// inferno's SVG as a document of its own, its script moved after the graph and run on load;
/// `None` when the SVG is not shaped as inferno writes it (one `<script>` of CDATA sections, the
/// `onload` handler on `<svg>`), or when anything else in it looks like a script.
fn frame(svg: &str) -> Option<Embed> {
    const OPEN: &str = "<script type=\"text/ecmascript\">";
    const CLOSE: &str = "</script>";
    let svg = &svg[svg.find("<svg ")?..];
    let start = svg.find(OPEN)?;
    let end = start + svg[start..].find(CLOSE)?;
    let mut inner = &svg[start + OPEN.len()..end];
    let mut script = String::from(FRAME_PRELUDE);
    loop {
        inner = inner.trim_start();
        if inner.is_empty() {
            break;
        }
        let rest = inner.strip_prefix("<![CDATA[")?;
        let close = rest.find("]]>")?;
        script.push_str(&rest[..close]);
        inner = &rest[close + 3..];
    }
    script.push_str(FRAME_INIT);
    let lower = script.to_ascii_lowercase();
    // In an HTML <script>, these would end the script or change how it is read.
    if lower.contains("</script") || lower.contains("<!--") || script.contains('\r') {
        return None;
    }
    let tag_end = svg.find('>')?;
    let open_tag = &svg[..tag_end];
    if !open_tag.contains(INFERNO_ONLOAD) {
        return None;
    }
    let height = open_tag
        .split(" height=\"")
        .nth(1)?
        .split('"')
        .next()?
        .parse::<u32>()
        .ok()?;
    let graph = format!(
        "{}{}{}",
        open_tag.replacen(INFERNO_ONLOAD, "", 1),
        &svg[tag_end..start],
        &svg[end + CLOSE.len()..]
    );
    let graph_lower = graph.to_ascii_lowercase();
    if graph_lower.contains("<script") || graph_lower.contains(" on") && has_handler(&graph_lower) {
        return None;
    }
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()));
    let doc = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>{FRAME_STYLE}</style></head><body>{}<script>{script}</script></body></html>",
        graph.trim_end()
    );
    Some(Embed::Frame { doc, hash, height })
}

/// A link destination with its `%XX` escapes decoded (the templates' `url` filter writes them).
fn percent_decoded(dest: &str) -> Vec<u8> {
    let bytes = dest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Whether markup (lower-cased) holds an event handler attribute: ` on…=` inside a tag.
fn has_handler(markup: &str) -> bool {
    let mut in_tag = false;
    let bytes = markup.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'<' => in_tag = true,
            b'>' => in_tag = false,
            b' ' | b'\n' | b'\t' if in_tag && markup[i + 1..].starts_with("on") => {
                let name: String = markup[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                if name.len() > 2 && markup[i + 1 + name.len()..].trim_start().starts_with('=') {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(file: &str, caption: &str, svg: &str) -> Graphic {
        Graphic {
            file: file.to_string(),
            caption: caption.to_string(),
            svg: svg.to_string(),
            kind: GraphicKind::Chart,
        }
    }

    fn flame() -> Graphic {
        let lines = vec![
            "main.main;main.<script>alert(1)</script> 30".to_string(),
            "main.main;runtime.mallocgc 10".to_string(),
        ];
        let svg = super::super::flame::svg(
            &lines,
            &super::super::flame::FlameSpec {
                title: "CPU".into(),
                subtitle: String::new(),
                count_name: "nanoseconds".into(),
                palette: "hot",
            },
        )
        .unwrap();
        Graphic {
            file: "r x/cpu.svg".to_string(),
            caption: "CPU <x>".to_string(),
            svg,
            kind: GraphicKind::Flame,
        }
    }

    #[test]
    fn a_page_with_escaped_title_and_embedded_images() {
        let page = page(
            "a <b> & c",
            "# Title\n\n| a | b |\n|---|---|\n| `<x>` | 2 |\n",
            &[chart("d/c.svg", "cpu <svg>", "<svg/>")],
        );
        assert!(page.contains("<title>a &lt;b&gt; &amp; c</title>"));
        assert!(page.contains("<div class=\"table-wrap\">\n<table>"));
        assert!(page.contains("<code>&lt;x&gt;</code>"));
        assert!(page.contains("data:image/svg+xml;base64,PHN2Zy8+"));
        assert!(page.contains("<figcaption>cpu &lt;svg&gt;</figcaption>"));
        assert!(page.contains(">Flame graphs, inline</h2>"));
        assert!(!page.contains("script-src"));
    }

    #[test]
    fn titles_and_captions_are_one_line_without_control_characters() {
        let page = page(
            "set\nname\u{1b}[31m\u{202e}",
            "# T\n",
            &[chart("c.svg", "a\u{0}b", "<svg/>")],
        );
        assert!(page.contains("<title>set name\u{fffd}[31m\u{fffd}</title>"));
        assert!(page.contains("<figcaption>a\u{fffd}b</figcaption>"));
        assert!(!page.contains(['\u{1b}', '\u{202e}', '\0']));
    }

    #[test]
    fn images_and_links_of_graphics_are_replaced_in_place() {
        let md = "# T\n\n## Trend\n\n![cpu](t/cpu.svg)\n\n## Flame graphs\n\n- [CPU](r%20x/cpu.svg): cpu profile\n";
        let page = page("t", md, &[chart("t/cpu.svg", "cpu", "<svg/>"), flame()]);
        assert!(!page.contains("Flame graphs, inline"));
        assert!(!page.contains("src=\"t/cpu.svg\""));
        assert!(page.contains("<img alt=\"cpu\" src=\"data:image/svg+xml;base64,PHN2Zy8+\">"));
        // The link stays, the graph follows it in the item.
        let item = page
            .split("<li><a href=\"r%20x/cpu.svg\">CPU</a>: cpu profile")
            .nth(1);
        assert!(item.unwrap().starts_with(
            "<iframe class=\"flame\" sandbox=\"allow-scripts allow-modals\" title=\"CPU &lt;x&gt;\""
        ));
        assert_eq!(page.matches("<iframe").count(), 1);
        // Headings have ids, and the contents link them.
        assert!(page.contains("<h2 id=\"trend\">Trend</h2>"));
        assert!(page.contains("<a href=\"#flame-graphs\">Flame graphs</a>"));
    }

    #[test]
    fn an_image_linking_to_its_svg_becomes_the_graph_then_the_link() {
        let md = "## Flame graphs\n\n[![CPU — set](r%20x/cpu.svg)](r%20x/cpu.svg)\n";
        let page = page("t", md, &[flame()]);
        assert!(!page.contains("Flame graphs, inline"));
        assert!(!page.contains("<img"));
        assert!(page.contains("></iframe><a href=\"r%20x/cpu.svg\">CPU — set</a>"));
    }

    #[test]
    fn the_policy_allows_exactly_the_frame_script() {
        let graphic = flame();
        let page = page("t", "# T\n", std::slice::from_ref(&graphic));
        let Some(Embed::Frame { doc, hash, .. }) = frame(&graphic.svg) else {
            panic!("not a frame")
        };
        assert!(page.contains(&format!(
            "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{hash}'\""
        )));
        // The hash is over the text of the frame's one script.
        let script = doc
            .split("<script>")
            .nth(1)
            .unwrap()
            .split("</script>")
            .next()
            .unwrap();
        let expected =
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()));
        assert_eq!(hash, expected);
        assert!(script.starts_with(FRAME_PRELUDE));
        assert!(script.contains("function init(evt)"));
        assert!(!doc.contains("onload="));
        assert_eq!(doc.matches("<script").count(), 1);
        // The profile's names are text: escaped in the frame, escaped again in the attribute.
        assert!(doc.contains("main.&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("main.&amp;lt;script&amp;gt;alert(1)"));
        // Same input, same bytes.
        assert_eq!(page, super::page("t", "# T\n", &[graphic]));
    }

    #[test]
    fn an_svg_not_shaped_as_inferno_writes_it_is_an_image() {
        let mut graphic = flame();
        graphic.svg = graphic.svg.replace("<rect", "<rect onclick=\"x()\"");
        let page = page("t", "# T\n", &[graphic]);
        assert!(page.contains("<img alt=\"CPU &lt;x&gt;\" src=\"data:image/svg+xml;base64,"));
        assert!(!page.contains("script-src"));
    }

    #[test]
    fn heading_ids_are_unique_slugs() {
        let mut ids = Ids::default();
        assert_eq!(ids.next("CPU"), "cpu");
        assert_eq!(ids.next("CPU"), "cpu-2");
        assert_eq!(ids.next("<script> & ü"), "script");
        assert_eq!(ids.next("…"), "section");
    }
}
