//! Hostile strings: profile sets whose function, file, mapping and label names, build ids,
//! comments, goroutine dump frames and states, context fields and set names are Markdown,
//! HTML, SVG, Jinja and JavaScript, control and bidi characters, NUL, invalid UTF-8 and a
//! 100 kB name. `report` (Markdown, HTML, JSON), `report --baseline`, `compare`, `trend` and
//! `attach` must keep every output well-formed and inert: what the profile says is shown as
//! text, never read as markup, never run.
//!
//! The two sets are written here and committed under fixtures/hostile/ with plain names
//! (`PPROF_REPORT_BLESS=1 cargo test --test cli hostile` rewrites them); the tests copy them under
//! a hostile set name. The headless Chromium check (`browser_runs_nothing_from_profile_data`)
//! is ignored by `cargo test` and run by `.ci/browser-check.sh`.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::ProfileBuilder;

/// JavaScript that leaves a trace if it ever runs: an attribute on the root element and the
/// page title. The trace is assembled at run time, so the payload's own text never contains it.
const JS: &str =
    "document.documentElement.setAttribute('data-'+'pwned','1');document.title='PW'+'NED'";

/// The traces `JS` leaves; found only if some payload ran.
const TRACES: [&str; 2] = ["data-pwned", "PWNED"];

/// The host part of the hostile set names: everything a file name on Linux can hold that a
/// Markdown link, an HTML page, a path or a terminal would read as something else.
const HOSTILE_HOST: &str = "..\\evil <script>x<img src=x onerror=alert(1)>|*?\":`{{x}}`[a](javascript:b)#%&\u{1b}[31m\u{202e}gpj\nend";

const SET_A: &str = "hostile-3svc-20260101-000000";
const SET_B: &str = "hostile-9svc-20260102-000000";

/// Texts that Markdown, HTML, XML, Jinja or a terminal would read as something else.
fn payloads() -> Vec<Vec<u8>> {
    let js = JS;
    let texts: Vec<String> = vec![
        "pipe|in|cell".into(),
        "*star* _under_ **bold** __bold__ ~~strike~~".into(),
        "`tick` ``two`` ```three".into(),
        "[x](javascript:alert(1))".into(),
        "![i](javascript:alert(2)) <javascript:alert(3)> <http://example.com/>".into(),
        format!("<script>{js}</script>"),
        format!("<img src=x onerror=\"{js}\">"),
        format!("</svg><svg onload=\"{js}\"><script>{js}</script>"),
        format!("]]><script>{js}</script><![CDATA["),
        "<!-- comment --> <!-- open".into(),
        "&amp; &lt;b&gt; &#60;script&#62; &#x202e;".into(),
        "{{ title }} {% if true %}tera{% endif %} {# c #} {{ 7 * 7 }}".into(),
        "line\nbreak\r\ncarriage\rtab\there".into(),
        "nul\0byte".into(),
        "c0\u{1}\u{7}\u{8}\u{b}\u{c}\u{1b}[31mred\u{1b}[0m del\u{7f} c1\u{80}\u{85}\u{9b}".into(),
        "bidi\u{202e}gpj.exe\u{202c} \u{2066}iso\u{2069} \u{2067}r\u{2068}f\u{202a}\u{202b}\u{202d}\u{200e}\u{200f}\u{61c}".into(),
        "bom\u{feff}zwsp\u{200b}ls\u{2028}ps\u{2029}nc\u{fffe}\u{ffff}".into(),
        "# heading".into(),
        "- item".into(),
        "1. ordered".into(),
        "> quote".into(),
        "    indented".into(),
        "back\\slash\\|pipe\\".into(),
        format!(
            "<iframe src=\"javascript:{js}\"></iframe><meta http-equiv=\"refresh\" content=\"0;url=javascript:{js}\">"
        ),
        "<style>*{display:none!important}</style>".into(),
        "\"quotes\" 'single' <a href=\"javascript:alert(1)\">a</a>".into(),
        "../../../etc/passwd C:\\Windows\\System32\\con".into(),
    ];
    let mut out: Vec<Vec<u8>> = texts.into_iter().map(String::into_bytes).collect();
    out.push(b"bad\xff\xfe\xc3\x28\xed\xa0\x80utf8".to_vec());
    out.push(huge_name().into_bytes());
    out
}

/// A 100 kB function name.
fn huge_name() -> String {
    format!("huge.{}", "A".repeat(100_000))
}

/// Payloads that fit on one line of a goroutine text dump (the runtime never writes a line
/// break or a tab inside a name).
fn one_line(payload: &[u8]) -> bool {
    !payload.iter().any(|b| matches!(b, b'\n' | b'\r' | b'\t'))
}

/// Function names of the sets: for payload i, a leaf that is the payload itself and a
/// caller in a package named after it (so package, subsystem and caller tables show it too).
struct Names {
    leaves: Vec<Vec<u8>>,
    callers: Vec<Vec<u8>>,
    files: Vec<Vec<u8>>,
}

fn names() -> Names {
    let payloads = payloads();
    let callers = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| [format!("evil.example/p{i}/").as_bytes(), p, b".Call"].concat())
        .collect();
    let files = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            [
                format!("evil.example/m{i}@v1.0.{i}-").as_bytes(),
                p,
                b"/x.go",
            ]
            .concat()
        })
        .collect();
    Names {
        leaves: payloads,
        callers,
        files,
    }
}

/// A protobuf profile with the given sample types; every payload's stack gets `value(i)` per
/// sample type, and string labels made of payloads.
fn profile(
    sample_types: &[(&str, &str)],
    period: Option<(&str, &str, i64)>,
    default_type: Option<&str>,
    value: impl Fn(usize) -> i64,
    syscalls: bool,
) -> Vec<u8> {
    let n = names();
    let payloads = payloads();
    let mut b = ProfileBuilder::new();
    for (kind, unit) in sample_types {
        b.sample_type(kind, unit);
    }
    if let Some((kind, unit, every)) = period {
        b.period_type(kind, unit, every);
    }
    if let Some(kind) = default_type {
        b.default_sample_type(kind);
    }
    b.mapping(1, 0x40_0000, 0x80_0000, &payloads[5], &payloads[28]);
    b.mapping(2, 0x90_0000, 0xa0_0000, &payloads[7], &payloads[13]);
    // Function ids: 1 main.main, 2 syscall.Syscall6, 3 runtime.goexit, then 10 + 2i the
    // leaf of payload i and 11 + 2i its caller.
    b.function(1, "main.main", "main.go", 1);
    b.function(2, "syscall.Syscall6", "syscall/syscall_linux.go", 1);
    b.function(3, "runtime.goexit", "runtime/asm_amd64.s", 1);
    for i in 0..payloads.len() {
        b.function(10 + 2 * i as u64, &n.leaves[i], &n.files[i], 10);
        b.function(11 + 2 * i as u64, &n.callers[i], &n.files[i], 20);
    }
    b.location(1, 1, 0x40_1000, &[(1, 5)]);
    b.location(2, 1, 0x40_2000, &[(2, 7)]);
    b.location(3, 1, 0x40_3000, &[(3, 9)]);
    // An address without a symbol, in the hostile second mapping.
    b.location(4, 2, 0x90_1234, &[]);
    for i in 0..payloads.len() as u64 {
        b.location(10 + 2 * i, 1, 0x50_0000 + 0x100 * i, &[(10 + 2 * i, 11)]);
        b.location(11 + 2 * i, 1, 0x60_0000 + 0x100 * i, &[(11 + 2 * i, 21)]);
    }
    let types = sample_types.len();
    for i in 0..payloads.len() {
        let v = value(i);
        let (leaf, caller) = (10 + 2 * i as u64, 11 + 2 * i as u64);
        let label_key = &payloads[i];
        let label_value = &payloads[(i + 1) % payloads.len()];
        b.sample_bytes(
            &[leaf, caller, 1, 3],
            &vec![v; types],
            &[(label_key, label_value)],
            &[],
        );
        if syscalls {
            b.sample_bytes(&[2, caller, 1, 3], &vec![v / 2 + 1; types], &[], &[]);
        }
    }
    b.sample(&[4, 1, 3], &vec![value(0); types], &[], &[]);
    for p in &payloads {
        b.comment(p);
    }
    b.header(1_767_225_600_000_000_000, 10_000_000_000, &[]);
    b.finish()
}

/// A `debug=1` goroutine dump of the one-line payloads.
fn dump_debug1(count: impl Fn(usize) -> u64) -> Vec<u8> {
    let n = names();
    let mut body = Vec::new();
    let mut total = 0;
    for i in (0..n.leaves.len()).filter(|&i| one_line(&n.leaves[i]) && one_line(&n.files[i])) {
        let c = count(i);
        total += c;
        body.extend(format!("{c} @ 0x401000 0x402000 0x403000\n").as_bytes());
        body.extend(b"# labels: {\"");
        body.extend(&n.leaves[i]);
        body.extend(b"\":\"");
        body.extend(&n.callers[i]);
        body.extend(b"\"}\n");
        for (pc, name, line) in [(0x401000, &n.leaves[i], 11), (0x402000, &n.callers[i], 21)] {
            body.extend(format!("#\t{:#x}\t", pc - 1).as_bytes());
            body.extend(name);
            body.extend(b"+0x10\t");
            body.extend(&n.files[i]);
            body.extend(format!(":{line}\n").as_bytes());
        }
        body.extend(b"#\t0x402fff\truntime.goexit+0x1\truntime/asm_amd64.s:1598\n\n");
    }
    [
        format!("goroutine profile: total {total}\n").into_bytes(),
        body,
    ]
    .concat()
}

/// A `debug=2` goroutine dump: one goroutine per one-line payload, its state a payload too.
fn dump_debug2(minutes: u64) -> Vec<u8> {
    let n = names();
    let mut out = Vec::new();
    let shown: Vec<usize> = (0..n.leaves.len())
        .filter(|&i| one_line(&n.leaves[i]) && one_line(&n.files[i]))
        .collect();
    for (k, &i) in shown.iter().enumerate() {
        out.extend(format!("goroutine {} [", 100 + i).as_bytes());
        out.extend(&n.leaves[shown[(k + 3) % shown.len()]]);
        out.extend(format!(", {minutes} minutes]:\n").as_bytes());
        for (name, line) in [(&n.leaves[i], 11), (&n.callers[i], 21)] {
            out.extend(name);
            out.extend(b"(0xc000010000)\n\t");
            out.extend(&n.files[i]);
            out.extend(format!(":{line} +0x10\n").as_bytes());
        }
        out.extend(b"created by ");
        out.extend(&n.callers[(i + 1) % n.callers.len()]);
        out.extend(b" in goroutine 1\n\t");
        out.extend(&n.files[i]);
        out.extend(b":5 +0x20\n\n");
    }
    out
}

/// The context file: every string field hostile (and the notes all payloads but the huge one).
fn context(services: u32) -> Vec<u8> {
    let text = |i: usize| String::from_utf8_lossy(&payloads()[i]).into_owned();
    let notes: Vec<String> = payloads()[..payloads().len() - 1]
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let context = pprof_report::context::Context {
        host: Some(text(5)),
        service: Some(text(6)),
        services: Some(services),
        collected_at: Some(text(3)),
        endpoint: Some(text(23)),
        notes: Some(notes.join(" ")),
        process: Some(pprof_report::context::ProcessStats {
            cpu_percent: Some(42.5),
            command: Some(text(7)),
            ..Default::default()
        }),
        ..Default::default()
    };
    context.to_yaml(&text(9)).unwrap().into_bytes()
}

/// The files of one hostile set, by file name suffix. `after` is the second set: other
/// values, and hostile units on its CPU and mutex profiles.
fn set_files(after: bool) -> Vec<(&'static str, Vec<u8>)> {
    let scale = if after { 3 } else { 1 };
    let ms = 10_000_000;
    let cpu_unit = if after {
        "nanoseconds<script>x</script>|*"
    } else {
        "nanoseconds"
    };
    let delay_unit = if after {
        "nanoseconds<img src=x onerror=alert(1)>"
    } else {
        "nanoseconds"
    };
    let gz = common::gzip;
    vec![
        (
            "cpu.prof.gz",
            gz(&profile(
                &[("samples", "count"), ("cpu", cpu_unit)],
                Some(("cpu", cpu_unit, ms)),
                None,
                |i| (i as i64 + 1) * ms * scale * if i % 2 == 0 { 1 } else { 2 },
                true,
            )),
        ),
        (
            "heap.prof.gz",
            gz(&profile(
                &[
                    ("alloc_objects", "count"),
                    ("alloc_space", "bytes"),
                    ("inuse_objects", "count"),
                    ("inuse_space", "bytes"),
                ],
                Some(("space", "bytes", 524_288)),
                None,
                |i| (i as i64 + 1) * 4096 * scale,
                false,
            )),
        ),
        (
            "allocs.prof.gz",
            gz(&profile(
                &[
                    ("alloc_objects", "count"),
                    ("alloc_space", "bytes"),
                    ("inuse_objects", "count"),
                    ("inuse_space", "bytes"),
                ],
                Some(("space", "bytes", 524_288)),
                Some("alloc_space"),
                |i| (i as i64 + 2) * 8192 * scale,
                false,
            )),
        ),
        (
            "goroutine.prof.gz",
            gz(&profile(
                &[("goroutine", "count")],
                Some(("goroutine", "count", 1)),
                None,
                |i| (i as i64 % 4 + 1) * scale,
                false,
            )),
        ),
        (
            "goroutines.txt.gz",
            gz(&dump_debug1(|i| (i as u64 % 4 + 1) * scale as u64)),
        ),
        (
            "goroutines-debug2.txt.gz",
            gz(&dump_debug2(if after { 30 } else { 3 })),
        ),
        (
            "mutex.prof.gz",
            gz(&profile(
                &[("contentions", "count"), ("delay", delay_unit)],
                Some(("contentions", "count", 1)),
                None,
                |i| (i as i64 + 1) * 1000 * scale,
                false,
            )),
        ),
        (
            "block.prof.gz",
            gz(&profile(
                &[("contentions", "count"), ("delay", delay_unit)],
                Some(("contentions", "count", 1)),
                None,
                |i| (i as i64 + 1) * 5000 * scale,
                false,
            )),
        ),
        ("context.yaml", context(if after { 9 } else { 3 })),
    ]
}

#[test]
fn hostile_fixtures_are_current() {
    for (set, after) in [(SET_A, false), (SET_B, true)] {
        for (suffix, bytes) in set_files(after) {
            let path = common::fixture(&format!("hostile/{set}-{suffix}"));
            common::golden::assert_matches(&path, &bytes);
        }
    }
}

/// The hostile set names: the committed sets' names with their host replaced.
fn hostile_name(set: &str) -> String {
    set.replacen("hostile", HOSTILE_HOST, 1)
}

/// A temporary folder with `profiles/` holding both committed sets under hostile names.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("profiles");
    std::fs::create_dir(&profiles).unwrap();
    for entry in std::fs::read_dir(common::fixture("hostile")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        for set in [SET_A, SET_B] {
            if let Some(rest) = name.strip_prefix(set) {
                std::fs::copy(&path, profiles.join(format!("{}{rest}", hostile_name(set))))
                    .unwrap();
            }
        }
    }
    dir
}

fn set_path(set: &str) -> String {
    format!("profiles/{}", hostile_name(set))
}

fn run_ok(args: &[&str], dir: &Path) -> String {
    let (code, stdout, stderr) = common::run(args, dir);
    assert_eq!(code, 0, "pprof-report {args:?}: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    stdout
}

/// Characters that must never reach an output raw (a line break only as one).
fn hazard(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{feff}'
                | '\u{fffe}'
                | '\u{ffff}'
        )
}

fn assert_no_hazards(what: &str, text: &str) {
    if let Some((at, c)) = text.char_indices().find(|&(_, c)| hazard(c)) {
        // The 40 bytes before, from a character boundary (`floor_char_boundary` is newer
        // than the crate's rust-version).
        let start = (0..=at.saturating_sub(40))
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        panic!("{what}: {c:?} at byte {at}, after {:?}", &text[start..at]);
    }
}

/// The longest line a Markdown report may have: long enough for a table row of several
/// names cut at 300 characters, far below a 100 kB name.
const LINE_MAX: usize = 4000;

/// `<details><summary>N more rows</summary>` or `</details>`, as `folded_table` writes them.
fn is_fold(html: &str) -> bool {
    let html = html.trim_end();
    html == "</details>"
        || html
            .strip_prefix("<details><summary>")
            .and_then(|rest| rest.strip_suffix(" more rows</summary>"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A Markdown output: valid UTF-8 (it is read as a String), tables consistent and links to
/// existing SVGs (`common::check_markdown`), no raw HTML but the folds of long tables (the
/// templates write no other, so any would come from data), contents links to anchors, every link and image a relative path to an SVG, no control or
/// bidi character, no line longer than `LINE_MAX`; and the hostile text is shown, not dropped.
fn check_markdown(path: &Path) -> String {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    common::check_markdown(path);
    let text = std::fs::read_to_string(path).unwrap();
    let what = path.display().to_string();
    assert_no_hazards(&what, &text);
    let longest = text.lines().map(str::len).max().unwrap_or(0);
    assert!(longest <= LINE_MAX, "{what}: a line of {longest} bytes");
    let mut seen = String::new();
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    for event in Parser::new_ext(&text, options) {
        match event {
            // The one HTML the templates write: a long table's fold.
            Event::Html(h) | Event::InlineHtml(h) if is_fold(&h) => {}
            Event::Html(h) | Event::InlineHtml(h) => panic!("{what}: raw HTML {h:?}"),
            // The table of contents: anchors of GitHub's form only.
            Event::Start(Tag::Link { dest_url, .. }) if dest_url.starts_with('#') => {
                assert!(
                    dest_url[1..]
                        .chars()
                        .all(|c| c.is_alphanumeric() && !c.is_uppercase() || c == '-' || c == '_'),
                    "{what}: link to {dest_url:?}"
                );
            }
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => {
                assert!(
                    !dest_url.contains(':')
                        && !dest_url.starts_with('/')
                        && dest_url.ends_with(".svg"),
                    "{what}: link to {dest_url:?}"
                );
            }
            Event::Text(t) | Event::Code(t) => seen.push_str(&t),
            _ => {}
        }
    }
    seen
}

/// Attribute values of inferno's own event handlers and its script, from a flame graph of
/// ordinary names: the only script an SVG may hold.
fn inferno_own() -> (BTreeSet<(String, String)>, String) {
    let clean = std::fs::read_to_string(
        common::root().join("reports/fixture-3svc-20261125-120000/cpu.svg"),
    )
    .unwrap();
    let doc = parse_svg(&clean);
    let mut handlers = BTreeSet::new();
    let mut script = String::new();
    for node in doc.descendants().filter(|n| n.is_element()) {
        for a in node.attributes() {
            if a.name().starts_with("on") {
                handlers.insert((a.name().to_string(), a.value().to_string()));
            }
        }
        if node.has_tag_name("script") {
            script = node.text().unwrap_or_default().to_string();
        }
    }
    assert!(!script.is_empty() && !handlers.is_empty());
    (handlers, script)
}

fn parse_svg(text: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(text, options)
        .unwrap_or_else(|e| panic!("SVG not well-formed: {e}"))
}

/// An SVG: well-formed XML, no hazard, no script but inferno's own, no event handler but
/// inferno's, no link anywhere but to a fragment of itself; returns its text content.
fn check_svg(what: &str, text: &str) -> String {
    let (handlers, script) = inferno_own();
    assert_no_hazards(what, &text.replace('\t', " "));
    let doc = parse_svg(text);
    let mut seen = String::new();
    for node in doc.descendants() {
        // The script is inferno's (checked below); the HTML page's frames hold it apart.
        if node.is_text() && !node.parent().is_some_and(|p| p.has_tag_name("script")) {
            seen.push_str(node.text().unwrap_or_default());
            seen.push(' ');
        }
        if !node.is_element() {
            continue;
        }
        if node.has_tag_name("script") {
            assert_eq!(node.text().unwrap_or_default(), script, "{what}: a script");
        }
        assert!(
            !matches!(
                node.tag_name().name(),
                "foreignObject" | "iframe" | "embed" | "object" | "use" | "image" | "a"
            ),
            "{what}: <{}>",
            node.tag_name().name()
        );
        for a in node.attributes() {
            if a.name().starts_with("on") {
                assert!(
                    handlers.contains(&(a.name().to_string(), a.value().to_string())),
                    "{what}: {}={:?}",
                    a.name(),
                    a.value()
                );
            }
            if a.name() == "href" {
                assert!(a.value().starts_with('#'), "{what}: href {:?}", a.value());
            }
        }
    }
    seen
}

/// Every SVG below `dir`, checked; their text content, concatenated. The only other file an
/// assets folder holds is the report's analysis, which must be JSON.
fn check_svgs(dir: &Path) -> String {
    let mut seen = String::new();
    let files = common::files_below(dir);
    assert!(!files.is_empty(), "{}: no SVG", dir.display());
    for file in files {
        let path = dir.join(&file);
        if file == Path::new("analysis.json") {
            let text = std::fs::read_to_string(&path).unwrap();
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            continue;
        }
        assert_eq!(path.extension().unwrap(), "svg", "{}", path.display());
        let text = std::fs::read_to_string(&path).unwrap();
        seen.push_str(&check_svg(&path.display().to_string(), &text));
    }
    seen
}

/// Tags and attributes the HTML page may have: what pulldown-cmark writes for the templates'
/// Markdown, and the page around it.
const HTML_TAGS: &[&str] = &[
    "!DOCTYPE",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "h1",
    "h2",
    "h3",
    "h4",
    "p",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "code",
    "ul",
    "ol",
    "li",
    "a",
    "img",
    "figure",
    "nav",
    "main",
    "div",
    "iframe",
    "figcaption",
    "strong",
    "em",
    "del",
    "br",
    "hr",
    "details",
    "summary",
];
const HTML_ATTRIBUTES: &[&str] = &[
    "lang",
    "charset",
    "http-equiv",
    "content",
    "style",
    "href",
    "src",
    "alt",
    "start",
    "id",
    "class",
    "aria-label",
    "name",
    "title",
    "sandbox",
    "srcdoc",
];

/// The HTML page: no hazard; every tag and attribute from the lists above (all text from
/// data is escaped, so every `<` left is a tag the page meant); one `<style>`, no script, no
/// handler; links to relative SVGs or to the page's own headings, images only as embedded SVG,
/// flame graphs only as sandboxed frames whose one script is inferno's and is the one the
/// policy allows; each SVG checked.
fn check_html(path: &Path) -> String {
    use base64::Engine;
    use sha2::Digest;
    let what = path.display().to_string();
    let html = std::fs::read_to_string(path).unwrap();
    assert_no_hazards(&what, &html);
    assert!(html.contains("Content-Security-Policy"), "{what}: no CSP");
    let policy = html
        .split("<meta http-equiv=\"Content-Security-Policy\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(
        policy.starts_with("default-src 'none'; img-src data:; style-src 'unsafe-inline'"),
        "{what}: {policy}"
    );
    let allowed: Vec<&str> = policy
        .split("; script-src ")
        .nth(1)
        .map(|list| list.split(' ').collect())
        .unwrap_or_default();
    assert!(
        !policy.contains("unsafe-eval") && !policy.contains("unsafe-hashes"),
        "{what}: {policy}"
    );
    let (_, inferno_script) = inferno_own();
    let mut svg_text = String::new();
    let mut styles = 0;
    for tag in html.split('<').skip(1) {
        let tag = &tag[..tag
            .find('>')
            .unwrap_or_else(|| panic!("{what}: unclosed tag"))];
        let tag = tag.strip_prefix('/').unwrap_or(tag);
        let mut parts = tag.splitn(2, [' ', '\n']);
        let name = parts.next().unwrap();
        assert!(HTML_TAGS.contains(&name), "{what}: <{name}>");
        styles += usize::from(name == "style");
        let rest = parts.next().unwrap_or("").trim();
        let mut rest = rest.strip_suffix('/').unwrap_or(rest).trim();
        while !rest.is_empty() {
            let (attribute, after) = rest.split_once('=').unwrap_or((rest, ""));
            let attribute = attribute.trim();
            if name == "!DOCTYPE" {
                break;
            }
            assert!(
                HTML_ATTRIBUTES.contains(&attribute),
                "{what}: <{name} {attribute}="
            );
            let after = after.trim_start();
            let value = after
                .strip_prefix('"')
                .and_then(|v| v.split_once('"'))
                .unwrap_or_else(|| panic!("{what}: unquoted {attribute} in <{name}>"));
            match attribute {
                "href" => assert!(
                    (!value.0.contains(':') && value.0.ends_with(".svg"))
                        || value.0.strip_prefix('#').is_some_and(|id| !id.is_empty()
                            && id.bytes().all(|b| b.is_ascii_lowercase()
                                || b.is_ascii_digit()
                                || b == b'-'
                                || b == b'_')),
                    "{what}: href {:?}",
                    value.0
                ),
                "sandbox" => assert_eq!(value.0, "allow-scripts allow-modals", "{what}"),
                "srcdoc" => {
                    assert_eq!(name, "iframe", "{what}");
                    let doc = value
                        .0
                        .replace("&quot;", "\"")
                        .replace("&#39;", "'")
                        .replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&amp;", "&");
                    assert_eq!(
                        doc.to_ascii_lowercase().matches("<script").count(),
                        1,
                        "{what}: frame scripts"
                    );
                    let svg_start = doc
                        .find("<svg ")
                        .unwrap_or_else(|| panic!("{what}: frame without SVG"));
                    let svg_end = doc.rfind("</svg>").unwrap() + "</svg>".len();
                    assert!(
                        doc[..svg_start].starts_with(
                            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>"
                        ),
                        "{what}: frame head"
                    );
                    let script = doc[svg_end..]
                        .strip_prefix("<script>")
                        .and_then(|rest| rest.strip_suffix("</script></body></html>"))
                        .unwrap_or_else(|| panic!("{what}: frame end"));
                    assert!(
                        script.contains(inferno_script.trim()),
                        "{what}: the frame's script is not inferno's"
                    );
                    let hash = base64::engine::general_purpose::STANDARD
                        .encode(sha2::Sha256::digest(script.as_bytes()));
                    assert!(
                        allowed.contains(&format!("'sha256-{hash}'").as_str()),
                        "{what}: the frame's script is not the one allowed"
                    );
                    svg_text.push_str(&check_svg(
                        &format!("{what} (frame)"),
                        &doc[svg_start..svg_end],
                    ));
                }
                "src" => {
                    let data = value
                        .0
                        .strip_prefix("data:image/svg+xml;base64,")
                        .unwrap_or_else(|| panic!("{what}: src {:?}", value.0));
                    let svg = base64::engine::general_purpose::STANDARD
                        .decode(data)
                        .unwrap();
                    let svg = String::from_utf8(svg).unwrap();
                    svg_text.push_str(&check_svg(&format!("{what} (embedded)"), &svg));
                }
                _ => {}
            }
            rest = value.1.trim();
        }
    }
    assert_eq!(styles, 2, "{what}: <style> and </style>, once");
    svg_text
}

/// Markers of the payloads that must be seen as text in what a reader gets: the payload was
/// escaped, not dropped.
const SHOWN: &[&str] = &[
    "<script>document.documentElement.setAttribute",
    "[x](javascript:alert(1))",
    "pipe|in|cell",
    "{{ title }}",
    "&amp; &lt;b&gt;",
    "]]><script>",
    "bad\u{fffd}\u{fffd}",
];

fn assert_shown(what: &str, seen: &str, markers: &[&str]) {
    for marker in markers {
        assert!(seen.contains(marker), "{what}: {marker:?} is not shown");
    }
}

#[test]
fn a_hostile_report_stays_well_formed_and_inert() {
    let ws = workspace();
    let set = set_path(SET_A);
    run_ok(&["report", &set, "--out", "out/r.md", "--html"], ws.path());
    run_ok(
        &["report", &set, "--out", "out/r.json", "--format", "json"],
        ws.path(),
    );
    let out = ws.path().join("out");
    let seen = check_markdown(&out.join("r.md"));
    assert_shown("r.md", &seen, SHOWN);
    // The set name and the context's host and service, as text.
    assert!(
        seen.contains("<script>x<img src=x onerror=alert(1)>|*?\":`{{x}}`[a](javascript:b)#%&")
    );
    assert!(
        seen.contains("gpj end"),
        "the line break in the set name is a space"
    );
    // The 100 kB name, cut.
    assert!(seen.contains(&format!("huge.{}…", "A".repeat(294))));
    assert!(!seen.contains(&"A".repeat(300)));

    let svg_seen = check_svgs(&out.join("r"));
    assert_shown(
        "r/*.svg",
        &svg_seen,
        &["<script>document.documentElement", "pipe|in|cell"],
    );
    let html_svgs = check_html(&out.join("r.html"));
    assert_eq!(html_svgs.len(), svg_seen.len());
    let html = std::fs::read_to_string(out.join("r.html")).unwrap();
    assert!(html.contains("&lt;script&gt;document.documentElement.setAttribute"));

    // The JSON keeps the data whole: the 100 kB name, and invalid UTF-8 as U+FFFD.
    let json = std::fs::read_to_string(out.join("r.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(value.is_object());
    assert!(json.contains(&huge_name()));
    assert!(json.contains("bad\u{fffd}\u{fffd}"));
    assert!(json.contains("\\u202e") || json.contains('\u{202e}'));
    // Rendering the JSON again gives the same Markdown, as safe.
    run_ok(
        &["render", "out/r.json", "--out", "out/again.md"],
        ws.path(),
    );
    check_markdown(&out.join("again.md"));
}

#[test]
fn hostile_comparisons_and_trends_stay_well_formed_and_inert() {
    let ws = workspace();
    let (a, b) = (set_path(SET_A), set_path(SET_B));
    run_ok(
        &[
            "report",
            &b,
            "--baseline",
            &a,
            "--out",
            "out/base.md",
            "--html",
        ],
        ws.path(),
    );
    run_ok(
        &["compare", &a, &b, "--out", "out/cmp.md", "--html"],
        ws.path(),
    );
    run_ok(
        &[
            "compare",
            &a,
            &b,
            "--out",
            "out/cmp.json",
            "--format",
            "json",
        ],
        ws.path(),
    );
    run_ok(
        &["trend", &a, &b, &a, "--out", "out/trend.md", "--html"],
        ws.path(),
    );
    let out = ws.path().join("out");
    for (report, markers) in [
        ("base", SHOWN),
        (
            "cmp",
            &["<a href=\"javascript:alert(1)\">a</a>", "<script>x<img"][..],
        ),
        ("trend", &["<script>x<img"][..]),
    ] {
        let seen = check_markdown(&out.join(format!("{report}.md")));
        assert_shown(report, &seen, markers);
        check_svgs(&out.join(report));
        check_html(&out.join(format!("{report}.html")));
    }
    serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(out.join("cmp.json")).unwrap(),
    )
    .unwrap();
}

#[test]
fn the_same_hostile_inputs_give_the_same_bytes() {
    let ws = workspace();
    let set = set_path(SET_A);
    for out in ["a/r.md", "b/r.md"] {
        run_ok(&["report", &set, "--out", out, "--html"], ws.path());
    }
    let files = common::files_below(&ws.path().join("a"));
    assert_eq!(files, common::files_below(&ws.path().join("b")));
    for file in &files {
        let read = |d: &str| std::fs::read(ws.path().join(d).join(file)).unwrap();
        let (x, y) = (read("a"), read("b"));
        let x = String::from_utf8(x).unwrap().replace("a/r.md", "X");
        let y = String::from_utf8(y).unwrap().replace("b/r.md", "X");
        assert!(x == y, "{} differs between runs", file.display());
    }
}

/// Everything below `dir`, files and folders, relative.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A file name made from a hostile set name holds no separator, control or bidi character,
/// nothing Windows reserves, and does not start with a dot.
fn assert_safe_name(name: &str) {
    assert!(!name.starts_with('.'), "{name:?}");
    assert!(
        !name
            .chars()
            .any(|c| hazard(c) || c == '\n' || "/\\<>:\"|?*".contains(c)),
        "{name:?}"
    );
}

#[test]
fn names_from_hostile_sets_stay_inside_the_output_folder() {
    let ws = workspace();
    let (a, b) = (set_path(SET_A), set_path(SET_B));
    // The default outputs, named after the sets.
    let stdout = run_ok(&["report", &a, "--html"], ws.path());
    run_ok(&["compare", &a, &b], ws.path());
    run_ok(&["trend", &a, &b], ws.path());
    run_ok(
        &["report", "profiles", "--all", "--out-dir", "all"],
        ws.path(),
    );
    // The list of written files is one line per file, hazards escaped: four flame graphs,
    // the analysis, the page and the report.
    assert_eq!(stdout.lines().count(), 7, "{stdout}");
    assert!(
        stdout.lines().all(|l| l.starts_with("wrote reports/")),
        "{stdout}"
    );
    assert_no_hazards("stdout", &stdout);
    // Nothing but the profiles and the two output folders, and every name in them safe.
    let top: Vec<PathBuf> = std::fs::read_dir(ws.path())
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .strip_prefix(ws.path())
                .unwrap()
                .to_path_buf()
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(top, ["all", "profiles", "reports"].map(PathBuf::from));
    let reports = tree(&ws.path().join("reports"));
    for path in reports.iter().chain(&tree(&ws.path().join("all"))) {
        for component in path.components() {
            assert_safe_name(component.as_os_str().to_str().unwrap());
        }
    }
    let safe_a = pprof_report::output::safe_file_name(&hostile_name(SET_A), "x");
    let safe_b = pprof_report::output::safe_file_name(&hostile_name(SET_B), "x");
    for expected in [
        format!("{safe_a}.md"),
        format!("{safe_a}.html"),
        format!("{safe_a}/cpu.svg"),
        format!("{safe_a}-vs-{safe_b}.md"),
        format!("trend-{safe_a}-to-{safe_b}.md"),
    ] {
        assert!(
            reports.contains(&PathBuf::from(&expected)),
            "{expected:?} not in {reports:?}"
        );
    }
    for report in ["md", "html"] {
        let path = ws.path().join("reports").join(format!("{safe_a}.{report}"));
        if report == "md" {
            check_markdown(&path);
        } else {
            check_html(&path);
        }
    }
    check_markdown(&ws.path().join("all").join(format!("{safe_b}.md")));
    // An error naming a hostile path is still one line, its hazards escaped.
    let (code, _, stderr) = common::run(&["report", "profiles/x\n\u{1b}[31my\u{202e}z"], ws.path());
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("x\\n\\u{1b}[31my\\u{202e}z"), "{stderr}");
}

#[test]
fn a_set_named_dot_dot_writes_nothing_outside_its_folder() {
    let ws = tempfile::tempdir().unwrap();
    let sets = ws.path().join("sets");
    let out = ws.path().join("out");
    std::fs::create_dir_all(&sets).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    for (suffix, bytes) in set_files(false) {
        if suffix.starts_with("cpu") || suffix.starts_with("heap") {
            std::fs::write(sets.join(format!("..-{suffix}")), bytes).unwrap();
        }
    }
    let outside = tree(ws.path());
    // The set's name is `..`: its report would be `reports/...md` and its flame graphs would
    // go to `reports/../`, the working folder, if the name were used as it is.
    run_ok(&["report", "../sets", "--html"], &out);
    let written = tree(&out);
    assert!(
        written.contains(&PathBuf::from("reports/__.md")),
        "{written:?}"
    );
    assert!(
        written.contains(&PathBuf::from("reports/__/cpu.svg")),
        "{written:?}"
    );
    for path in &written {
        assert!(
            path == Path::new("reports")
                || path.starts_with("reports/__")
                || path.starts_with("reports/__.html")
                || path.starts_with("reports/__.md"),
            "{}",
            path.display()
        );
    }
    // The same name given with --out: the flame graph folder is still a safe name.
    run_ok(&["report", "../sets", "--out", "x/...md"], &out);
    assert!(out.join("x/...md").is_file());
    assert!(out.join("x/__/cpu.svg").is_file());
    let mut now: Vec<PathBuf> = tree(ws.path());
    now.retain(|p| !p.starts_with("out/"));
    let mut before = outside.clone();
    before.retain(|p| !p.starts_with("out/"));
    assert_eq!(now, before, "files appeared outside out/");
    // --all cannot name a set `..` on a command line of its own: refused, in one line.
    let (code, _, stderr) = common::run(&["report", "../sets", "--all", "--out-dir", "all"], &out);
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("holds a set named \"..\""), "{stderr}");
    assert!(!out.join("all").exists());
}

#[test]
fn attaching_a_hostile_report_keeps_the_task_well_formed() {
    let ws = workspace();
    let backlog = ws.path().join("backlog");
    for file in common::files_below(&common::fixture("backlog")) {
        let to = backlog.join(&file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(common::fixture("backlog").join(&file), to).unwrap();
    }
    let set = set_path(SET_A);
    run_ok(
        &["report", &set, "--out", "reports/r.md", "--attach", "18"],
        ws.path(),
    );
    // Again with the second set: its block goes after the first.
    run_ok(
        &[
            "report",
            &set_path(SET_B),
            "--out",
            "reports/s.md",
            "--attach",
            "18",
        ],
        ws.path(),
    );
    let task = backlog.join("tasks/task-18 - Shrink-heap.md");
    let text = std::fs::read_to_string(&task).unwrap();
    assert_no_hazards("task", &text);
    // Only the lines attach writes are new: two blocks, balanced, in the notes.
    assert_eq!(text.matches("<!-- pprof-report:BEGIN ").count(), 2);
    assert_eq!(text.matches("<!-- pprof-report:END ").count(), 2);
    assert_eq!(text.matches("<!-- SECTION:NOTES:END -->").count(), 1);
    // The front matter still parses.
    let front = text.split("---\n").nth(1).unwrap();
    yaml_serde::from_str::<yaml_serde::Value>(front).unwrap();
    // In the notes, the only HTML is the markers, the only links those to the reports, and
    // the hostile names are text.
    let notes = text.split("<!-- SECTION:NOTES:BEGIN -->").nth(1).unwrap();
    let notes = notes.split("<!-- SECTION:NOTES:END -->").next().unwrap();
    let mut seen = String::new();
    for event in pulldown_cmark::Parser::new_ext(notes, pulldown_cmark::Options::ENABLE_TABLES) {
        use pulldown_cmark::{Event, Tag};
        match event {
            Event::Html(h) | Event::InlineHtml(h) => {
                assert!(h.starts_with("<!-- pprof-report:"), "raw HTML {h:?}")
            }
            Event::Start(Tag::Link { dest_url, .. }) => assert!(
                ["../../reports/r.md", "../../reports/s.md"].contains(&dest_url.as_ref()),
                "{dest_url}"
            ),
            Event::Start(Tag::Image { dest_url, .. }) => panic!("image {dest_url}"),
            Event::Text(t) | Event::Code(t) => seen.push_str(&t),
            _ => {}
        }
    }
    assert!(
        seen.contains("<a href=\"javascript:alert(1)\">a</a>"),
        "the summary names the hostile package, as text"
    );
    // And attach still reads the task: attaching the first report again replaces its block.
    let stdout = run_ok(&["attach", "--task", "18", "reports/r.md"], ws.path());
    assert!(stdout.starts_with("replaced the block in"), "{stdout}");
}

/// The Chromium binary, when there is one.
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
}

/// Loads `url` in a fresh headless Chromium; returns the DOM after scripts ran, and writes a
/// screenshot to `png`.
fn load_in_chromium(browser: &Path, url: &str, png: &Path, page: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let common_flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--virtual-time-budget=3000",
        "--window-size=1280,1600",
    ];
    let user_data = format!("--user-data-dir={}", profile.path().display());
    let run = |extra: &str| {
        let output = std::process::Command::new(browser)
            .args(common_flags)
            .arg(&user_data)
            .arg(extra)
            .arg(url)
            .output()
            .expect("run chromium");
        assert!(
            output.status.success(),
            "chromium {extra} {page}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    run(&format!("--screenshot={}", png.display()));
    String::from_utf8(run("--dump-dom")).unwrap()
}

/// The pixels of a PNG as RGBA rows, from its IDAT chunks (8-bit RGB or RGBA, no interlace:
/// what Chromium writes).
fn png_pixels(png: &[u8]) -> (usize, usize, Vec<u8>) {
    use std::io::Read;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut at, mut width, mut height, mut channels) = (8, 0, 0, 0);
    let mut idat = Vec::new();
    while at + 8 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind = &png[at + 4..at + 8];
        let data = &png[at + 8..at + 8 + len];
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                assert_eq!(data[8], 8, "bit depth");
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("colour type {other}"),
                };
                assert_eq!(data[12], 0, "interlaced");
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = width * channels;
    let mut pixels = vec![0u8; height * stride];
    for y in 0..height {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= channels {
                pixels[y * stride + x - channels]
            } else {
                0
            };
            let b = if y > 0 {
                pixels[(y - 1) * stride + x]
            } else {
                0
            };
            let c = if y > 0 && x >= channels {
                pixels[(y - 1) * stride + x - channels]
            } else {
                0
            };
            let predictor = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                other => panic!("PNG filter {other}"),
            };
            pixels[y * stride + x] = line[x].wrapping_add(predictor);
        }
    }
    (width, height, pixels)
}

/// The share of a screenshot's pixels that are not the background colour (its first pixel):
/// a page that rendered has text, tables and images; a blank one has none.
fn ink(png: &Path) -> f64 {
    let (width, height, pixels) = png_pixels(&std::fs::read(png).unwrap());
    let channels = pixels.len() / (width * height);
    let background = &pixels[..channels];
    let different = pixels
        .chunks(channels)
        .filter(|p| p[..3] != background[..3])
        .count();
    different as f64 / (width * height) as f64
}

/// The hostile HTML report and flame graph in a real browser: nothing from the profiles runs
/// (no trace of `JS` in the DOM or the title), and the page renders (its headings are in the
/// DOM, the screenshot is not blank). Without its Content-Security-Policy too, so that the
/// escaping is what is tested, not the policy. And a page that does run a payload leaves the
/// trace, so that the check can fail. The flame graphs' frames (sandboxed `srcdoc` iframes) on
/// their own pages too, without policy or sandbox: inferno's script runs, no payload does. Run
/// by `.ci/browser-check.sh`; `.ci/html-check.sh` clicks the same graphs inside the page.
#[test]
#[ignore = "needs chromium; run by .ci/browser-check.sh"]
fn browser_runs_nothing_from_profile_data() {
    let browser = chromium().expect("chromium on the PATH");
    let ws = workspace();
    let set = set_path(SET_A);
    run_ok(&["report", &set, "--out", "out/r.md", "--html"], ws.path());
    let out = ws.path().join("out");
    let html = std::fs::read_to_string(out.join("r.html")).unwrap();
    let csp_start = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .unwrap();
    let csp_end = csp_start + html[csp_start..].find('>').unwrap() + 1;
    let without_csp = format!("{}{}", &html[..csp_start], &html[csp_end..]);
    std::fs::write(out.join("r-no-csp.html"), &without_csp).unwrap();
    // The control: one payload let through as raw HTML.
    let control = without_csp.replacen("<body>", &format!("<body><img src=x onerror=\"{JS}\">"), 1);
    std::fs::write(out.join("control.html"), control).unwrap();

    let url = |file: &str| format!("file://{}", out.join(file).display());
    for page in ["r.html", "r-no-csp.html"] {
        let png = out.join(format!("{page}.png"));
        let dom = load_in_chromium(&browser, &url(page), &png, page);
        for trace in TRACES {
            assert!(!dom.contains(trace), "{page}: {trace} in the DOM");
        }
        for heading in [
            "Executive summary",
            "CPU",
            "Goroutines",
            "Memory",
            "Appendix",
        ] {
            assert!(
                dom.contains(&format!(">{heading}</h2>")),
                "{page}: no {heading}"
            );
        }
        assert!(
            dom.contains("&lt;script&gt;document.documentElement"),
            "{page}"
        );
        let ink = ink(&png);
        assert!(ink > 0.01, "{page}: the screenshot is blank ({ink})");
        eprintln!(
            "{page}: rendered, {:.1}% of the screenshot inked, no trace",
            ink * 100.0
        );
    }
    for svg in ["cpu.svg", "goroutines.svg"] {
        let page = format!("r/{svg}");
        let png = out.join(format!("{svg}.png"));
        let dom = load_in_chromium(&browser, &url(&page), &png, &page);
        for trace in TRACES {
            assert!(!dom.contains(trace), "{page}: {trace} in the DOM");
        }
        // The flame graph itself is there.
        assert!(dom.contains("id=\"frames\""), "{page}: no frames");
        let ink = ink(&png);
        assert!(ink > 0.01, "{page}: the screenshot is blank ({ink})");
        eprintln!(
            "{page}: rendered, {:.1}% of the screenshot inked, no trace",
            ink * 100.0
        );
    }
    // The interactive flame graphs: each frame's document on its own page, without the
    // page's policy and sandbox, so that the escaping is what is tested. inferno's script runs
    // there (its fluid drawing takes the width off the <svg>); no payload does.
    let unescape = |text: &str| {
        text.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let frames: Vec<String> = html
        .split(" srcdoc=\"")
        .skip(1)
        .map(|rest| unescape(rest.split('"').next().unwrap()))
        .collect();
    assert!(frames.len() >= 4, "{} flame graph frames", frames.len());
    assert!(
        html.contains("; script-src 'sha256-"),
        "no script hash in the policy"
    );
    for (n, frame) in frames.iter().enumerate() {
        let page = format!("frame-{n}.html");
        std::fs::write(out.join(&page), frame).unwrap();
        let png = out.join(format!("{page}.png"));
        let dom = load_in_chromium(&browser, &url(&page), &png, &page);
        for trace in TRACES {
            assert!(!dom.contains(trace), "{page}: {trace} in the DOM");
        }
        assert!(dom.contains("id=\"frames\""), "{page}: no frames");
        assert!(
            dom.contains("<svg version=\"1.1\" height="),
            "{page}: inferno's script did not run"
        );
        assert!(
            dom.contains("&lt;script&gt;document.documentElement"),
            "{page}: the payload is not shown as text"
        );
        let ink = ink(&png);
        assert!(ink > 0.01, "{page}: the screenshot is blank ({ink})");
        eprintln!(
            "{page}: the flame graph ran its script, {:.1}% of the screenshot inked, no trace",
            ink * 100.0
        );
    }
    let png = out.join("control.png");
    let dom = load_in_chromium(&browser, &url("control.html"), &png, "control.html");
    assert!(
        dom.contains("data-pwned") && dom.contains("<title>PWNED</title>"),
        "the control payload should have run"
    );
    eprintln!("control.html: the control payload ran and left its trace");
}
