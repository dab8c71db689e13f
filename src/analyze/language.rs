//! Which language's runtime wrote a profile, decided from its content: the function names
//! and source files of its frames (never the file name of the profile). pprof is written by
//! Go's runtime, but also by async-profiler (Java), austin and others (Python),
//! @datadog/pprof (Node.js), rbspy (Ruby), the Datadog .NET profiler, pprof-rs (Rust) and
//! perf converters (C/C++). The analyses that read Go runtime function names (CPU
//! categories, syscall attribution, goroutines, the Go rules) only apply to Go; the verdict,
//! with its evidence, says whether they do.
//!
//! Also here: the package of a frame in each language (Go import path, Java package, Python
//! module, npm package, Ruby gem, .NET namespace, Rust crate, C++ namespace), so that the
//! per-package tables mean something whatever wrote the profile.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::names::package_of;
use crate::profile::{Profile, SampleRef};

pub use crate::profile::Language;

/// Functions of the Go runtime that every Go program's stacks pass through (goroutine entry
/// and exit, the scheduler, the allocator, the collector). One of them is proof enough:
/// no other runtime names its functions `runtime.goexit`.
const GO_RUNTIME_FUNCTIONS: &[&str] = &[
    "runtime.goexit",
    "runtime.goexit0",
    "runtime.goexit1",
    "runtime.main",
    "runtime.mcall",
    "runtime.mstart",
    "runtime.mstart0",
    "runtime.mstart1",
    "runtime.rt0_go",
    "runtime.systemstack",
    "runtime.morestack",
    "runtime.newstack",
    "runtime.gopark",
    "runtime.goparkunlock",
    "runtime.park_m",
    "runtime.schedule",
    "runtime.findRunnable",
    "runtime.findrunnable",
    "runtime.mallocgc",
    "runtime.newobject",
    "runtime.makeslice",
    "runtime.growslice",
    "runtime.gcBgMarkWorker",
    "runtime.gcDrain",
    "runtime.bgsweep",
    "runtime.bgscavenge",
    "runtime.sysmon",
    "runtime.chanrecv",
    "runtime.chansend",
    "runtime.selectgo",
    "runtime.semacquire1",
    "runtime.netpoll",
    "runtime.futex",
    "runtime.usleep",
    "runtime.memmove",
    "runtime.memclrNoHeapPointers",
];

/// Functions that count towards each language, and a few of their names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanguageVotes {
    /// The language voted for.
    pub language: Language,
    /// The language in words (`Java (JVM)`, `C/C++`).
    pub language_text: String,
    /// Distinct functions (name and source file) whose file or name points to it.
    pub functions: usize,
    /// Up to three of the functions, as examples.
    pub examples: Vec<String>,
}

/// What wrote a profile (or a set), and why it is believed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanguageVerdict {
    /// The language decided (serialised `go`, `java`, `python`, `nodejs`, `ruby`, `dotnet`, `rust`,
    /// `native` or `unknown`).
    pub language: Language,
    /// The language in words (`Go`, `Java (JVM)`, `unknown`).
    pub language_text: String,
    /// The Go-specific analyses apply.
    pub is_go: bool,
    /// Distinct named functions looked at.
    pub functions: usize,
    /// Locations with no function name (addresses only).
    pub unnamed_locations: usize,
    /// Go runtime functions found (up to five), the strongest evidence for Go.
    pub go_runtime_functions: Vec<String>,
    /// Votes per language, most first.
    pub votes: Vec<LanguageVotes>,
    /// One sentence: the verdict and its evidence.
    pub evidence_text: String,
}

/// The language a single frame's function name and source file point to, if any.
pub fn frame_language(name: &str, file: &str) -> Option<Language> {
    file_language(file).or_else(|| name_language(name))
}

/// The language of a source file, by its extension or by the pseudo-files runtimes use.
fn file_language(file: &str) -> Option<Language> {
    let file = file.trim();
    if file.is_empty() {
        return None;
    }
    if file.starts_with("node:") {
        return Some(Language::NodeJs);
    }
    if file.starts_with("<frozen ") {
        return Some(Language::Python);
    }
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let extension = base.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    Some(match extension.as_str() {
        "go" => Language::Go,
        "java" | "kt" | "scala" | "groovy" | "clj" => Language::Java,
        "py" | "pyx" | "pyi" => Language::Python,
        "js" | "mjs" | "cjs" | "ts" | "mts" | "cts" | "jsx" | "tsx" => Language::NodeJs,
        "rb" => Language::Ruby,
        "cs" | "fs" | "vb" => Language::DotNet,
        "rs" => Language::Rust,
        "c" | "cc" | "cpp" | "cxx" | "h" | "hh" | "hpp" | "hxx" | "inc" => Language::Native,
        _ => return None,
    })
}

/// The language a function name's shape points to.
fn name_language(name: &str) -> Option<Language> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    if GO_RUNTIME_FUNCTIONS.contains(&name) || is_go_shaped(name) {
        return Some(Language::Go);
    }
    if name.starts_with("|lm:")
        || name.starts_with("System.")
        || name.starts_with("Microsoft.")
        || name.contains("!System.")
        || name.contains("!Microsoft.")
    {
        return Some(Language::DotNet);
    }
    if is_java_shaped(name) {
        return Some(Language::Java);
    }
    if is_python_shaped(name) {
        return Some(Language::Python);
    }
    if is_node_shaped(name) {
        return Some(Language::NodeJs);
    }
    if is_ruby_shaped(name) {
        return Some(Language::Ruby);
    }
    if is_rust_shaped(name) {
        return Some(Language::Rust);
    }
    if is_native_shaped(name) {
        return Some(Language::Native);
    }
    None
}

/// Go's own spellings: `pkg.(*T).M` receivers, `.funcN` closures, and import paths whose
/// first element is a domain (`github.com/x/y.F`, `golang.org/x/sys/unix.Syscall`).
fn is_go_shaped(name: &str) -> bool {
    if name.contains(".(*") || name.contains(").") && name.contains(".(") {
        return true;
    }
    if let Some((_, last)) = name.rsplit_once(".func")
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return true;
    }
    if let Some((first, rest)) = name.split_once('/') {
        let domain = first.contains('.')
            && !first.starts_with('.')
            && first
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        return domain && rest.contains('.') && !rest.contains("::");
    }
    false
}

/// Java and other JVM languages: `java/lang/Thread.run` (async-profiler's default),
/// `com.example.Service.process` (dotted), or a JVM package prefix.
fn is_java_shaped(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "java/", "javax/", "jdk/", "sun/", "com/sun/", "kotlin/", "scala/", "java.", "javax.",
        "jdk.", "sun.", "com.sun.", "kotlin.", "scala.", "kotlinx.",
    ];
    if PREFIXES.iter().any(|p| name.starts_with(p)) {
        return true;
    }
    if matches!(name, "Interpreter" | "[unknown_Java]" | "call_stub") {
        return true;
    }
    let head = name.split(['(', ' ']).next().unwrap_or(name);
    // Lower-case package segments, then a capitalised class, then a method.
    let segments: Vec<&str> = head.split(['/', '.']).collect();
    if segments.len() < 3 || segments.iter().any(|s| s.is_empty()) {
        return false;
    }
    let (method, rest) = (
        segments[segments.len() - 1],
        &segments[..segments.len() - 1],
    );
    let (class, packages) = (rest[rest.len() - 1], &rest[..rest.len() - 1]);
    let identifier = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    packages
        .iter()
        .all(|p| identifier(p) && p.starts_with(|c: char| c.is_ascii_lowercase()))
        && class.starts_with(|c: char| c.is_ascii_uppercase())
        && class
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
        && (method.starts_with(|c: char| c.is_ascii_lowercase())
            || method == "<init>"
            || method == "<clinit>"
            || method.starts_with("lambda$"))
}

/// Python's code object names (`<module>`, `<listcomp>`, `f.<locals>.g`) and the
/// `function (file.py:12)` or `file.py:function` frames of py-spy-style converters.
fn is_python_shaped(name: &str) -> bool {
    matches!(
        name,
        "<module>" | "<listcomp>" | "<dictcomp>" | "<setcomp>" | "<genexpr>" | "<lambda>"
    ) || name.contains(".<locals>.")
        || name.contains(".py:")
        || name.contains(".py)")
}

/// V8's pseudo-frames and anonymous functions.
fn is_node_shaped(name: &str) -> bool {
    matches!(
        name,
        "(anonymous)" | "(program)" | "(garbage collector)" | "(idle)" | "(root)" | "(external)"
    ) || name.starts_with("(anonymous:")
}

/// Ruby: `<main>`, `block in …`, `Foo::Bar#baz`, `Integer#times`.
fn is_ruby_shaped(name: &str) -> bool {
    if matches!(name, "<main>" | "<top (required)>")
        || name.starts_with("block in ")
        || name.starts_with("block (")
        || name.starts_with("rescue in ")
        || name.starts_with("ensure in ")
        || name.starts_with("<class:")
        || name.starts_with("<module:")
    {
        return true;
    }
    match name.split_once('#') {
        Some((receiver, method)) => {
            !method.is_empty()
                && !method.contains(' ')
                && receiver.starts_with(|c: char| c.is_ascii_uppercase())
                && receiver
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
        }
        None => false,
    }
}

/// Rust: its standard crates, closures, trait impls, and its two manglings.
fn is_rust_shaped(name: &str) -> bool {
    const CRATES: &[&str] = &["core::", "alloc::", "std::"];
    // `<&dyn core::ops::Fn<()> as core::ops::FnOnce<()>>::call_once`: look at the type.
    let path = name
        .trim_start_matches('<')
        .trim_start_matches('&')
        .trim_start_matches("mut ")
        .trim_start_matches("dyn ");
    if (name.starts_with('<') && CRATES.iter().any(|p| path.starts_with(p)))
        || CRATES[..2].iter().any(|p| name.starts_with(p))
        || name.contains("{{closure}}")
        || name.contains("{closure#")
        || name.contains("{{vtable-shim}}")
        || name.starts_with("__rust_")
        || name.starts_with("rust_")
        || name.starts_with("_R") && name.len() > 8 && name[2..].starts_with(['N', 'I', 'C'])
    {
        return true;
    }
    // `std::rt::lang_start`: Rust's std has lower-case module paths and no argument lists
    // (C++'s `std::` names carry `<…>`, `(…)` or `__` parts).
    if let Some(rest) = name.strip_prefix("std::") {
        let module = rest.split("::").next().unwrap_or("");
        return rest.contains("::")
            && !name.contains('(')
            && !module.starts_with('_')
            && module.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    }
    // Legacy mangling: `_ZN…17h<16 hex digits>E`.
    name.starts_with("_ZN") && name.ends_with('E') && name.contains("17h")
}

/// C and C++: argument lists after a qualified name, libc's `__` names, thread entry points.
fn is_native_shaped(name: &str) -> bool {
    if name.starts_with("__") || name.starts_with("_Z") {
        return true;
    }
    if matches!(
        name,
        "_start" | "start_thread" | "clone" | "clone3" | "thread_start" | "malloc" | "free"
    ) {
        return true;
    }
    name.contains("::") && name.contains('(')
}

/// Decides the language of a profile from its frames. Each distinct function votes once
/// (by its source file when it has one, else by the shape of its name). Go wins whenever a
/// Go runtime function or a `.go` file is present, so a cgo program stays Go; otherwise the
/// language with most votes wins, a managed language before C/C++ frames (Java, Python and
/// Node.js profiles carry native frames of their interpreter).
pub fn detect(profile: &Profile) -> LanguageVerdict {
    detect_many(std::iter::once(profile), 0)
}

/// The verdict over several profiles (a set), plus `extra_go` pieces of outside evidence
/// (goroutine text dumps, which only Go writes).
pub fn detect_many<'a>(
    profiles: impl IntoIterator<Item = &'a Profile>,
    extra_go: usize,
) -> LanguageVerdict {
    let mut votes: BTreeMap<Language, (usize, Vec<String>)> = BTreeMap::new();
    let mut go_runtime: Vec<String> = Vec::new();
    let mut go_files = false;
    // Borrowed keys and a fast hash: this runs over every function of every member.
    let mut seen: rustc_hash::FxHashSet<(&str, &str)> = rustc_hash::FxHashSet::default();
    let mut unnamed = 0usize;
    for profile in profiles {
        for location in &profile.locations {
            if location.lines.is_empty() {
                unnamed += 1;
            }
        }
        for function in &profile.functions {
            if function.name.is_empty()
                || !seen.insert((function.name.as_str(), function.filename.as_str()))
            {
                continue;
            }
            if GO_RUNTIME_FUNCTIONS.contains(&function.name.as_str()) {
                go_runtime.push(function.name.clone());
            }
            let by_file = file_language(&function.filename);
            if by_file == Some(Language::Go) {
                go_files = true;
            }
            if let Some(language) = by_file.or_else(|| name_language(&function.name)) {
                let entry = votes.entry(language).or_default();
                entry.0 += 1;
                if entry.1.len() < 50 {
                    entry.1.push(function.name.clone());
                }
            }
        }
    }
    // The strongest evidence first: goroutine entry and exit before allocator details.
    go_runtime.sort_by_key(|name| {
        GO_RUNTIME_FUNCTIONS
            .iter()
            .position(|f| f == name)
            .unwrap_or(usize::MAX)
    });
    go_runtime.dedup();
    go_runtime.truncate(5);
    let functions = seen.len();
    let mut ranked: Vec<LanguageVotes> = votes
        .into_iter()
        .map(|(language, (functions, mut examples))| {
            // The shortest names read best as examples.
            examples.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
            examples.truncate(3);
            for example in &mut examples {
                if example.chars().count() > 60 {
                    *example = example.chars().take(59).chain(['…']).collect();
                }
            }
            LanguageVotes {
                language,
                language_text: language.describe().to_string(),
                functions,
                examples,
            }
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.functions
            .cmp(&a.functions)
            .then(a.language.cmp(&b.language))
    });
    let go_proof = !go_runtime.is_empty() || go_files || extra_go > 0;
    let language = if go_proof {
        Language::Go
    } else {
        ranked
            .iter()
            .find(|v| v.language != Language::Native)
            .or(ranked.first())
            .map_or(Language::Unknown, |v| v.language)
    };
    let evidence_text = evidence_text(
        language,
        functions,
        unnamed,
        &go_runtime,
        go_files,
        extra_go,
        &ranked,
    );
    LanguageVerdict {
        language,
        language_text: language.describe().to_string(),
        is_go: language == Language::Go,
        functions,
        unnamed_locations: unnamed,
        go_runtime_functions: go_runtime,
        votes: ranked,
        evidence_text,
    }
}

fn evidence_text(
    language: Language,
    functions: usize,
    unnamed: usize,
    go_runtime: &[String],
    go_files: bool,
    extra_go: usize,
    ranked: &[LanguageVotes],
) -> String {
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let among = plural(functions, "function", "functions");
    match language {
        Language::Go if !go_runtime.is_empty() => format!(
            "Go runtime functions among {among} ({})",
            go_runtime.join(", ")
        ),
        Language::Go if go_files => format!("Go source files (.go) among {among}"),
        Language::Go if extra_go > 0 => "goroutine dumps, which only Go writes".to_string(),
        Language::Go => format!("Go-style names among {among}"),
        Language::Unknown if functions == 0 && unnamed > 0 => format!(
            "no function names, only the addresses of {}",
            plural(unnamed, "location", "locations")
        ),
        Language::Unknown if functions == 0 => "no stacks to look at".to_string(),
        Language::Unknown => {
            format!("no Go runtime function among {among}, and no name in a known shape")
        }
        _ => {
            let vote = ranked.iter().find(|v| v.language == language);
            let examples = vote.map(|v| v.examples.join(", ")).unwrap_or_default();
            format!(
                "no Go runtime function among {among}, and {} of them look like {}, such as {examples}",
                vote.map_or(0, |v| v.functions),
                language.describe()
            )
        }
    }
}

/// The package of a frame in the given language: what the per-package tables group by.
/// Go keeps its import path (`package_of`); other languages get their own notion, and a
/// name in no known shape is its own package rather than a wrong guess.
pub fn package_in(language: Language, name: &str, file: &str) -> String {
    if language == Language::Go {
        // An assembly symbol (`memeqbody`) is its file's package, not a package of its own.
        if super::runtime::is_assembly_symbol(name) {
            return super::runtime::assembly_package(file).to_string();
        }
        return package_of(name).to_string();
    }
    if let Some(p) = guess_package(language, name, file).filter(|p| !p.is_empty()) {
        return p;
    }
    // Frames of another language inside this one (native frames in a Java profile, a
    // Rust crate called from Python) keep a package by their own shape.
    name_language(name)
        .or_else(|| name.contains("::").then_some(Language::Native))
        .filter(|other| *other != language)
        .and_then(|other| guess_package(other, name, file))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| name.to_string())
}

fn guess_package(language: Language, name: &str, file: &str) -> Option<String> {
    match language {
        Language::Go => Some(package_of(name).to_string()),
        Language::Java => java_package(name),
        Language::Python => python_module(file, name),
        Language::NodeJs => node_module(file),
        Language::Ruby => ruby_package(file, name),
        Language::DotNet => dotnet_namespace(name),
        Language::Rust => native_namespace(name).or_else(|| rust_crate_of_file(file)),
        Language::Native => native_namespace(name),
        Language::Unknown => None,
    }
}

/// `java/lang/Thread.run` → `java.lang`; `com.example.Service.process` → `com.example`;
/// a class in the default package → the class; native frames → none.
fn java_package(name: &str) -> Option<String> {
    let head = name.split(['(', ' ']).next().unwrap_or(name);
    if !head.contains('/') && !head.contains('.') {
        return None;
    }
    let segments: Vec<&str> = head.split(['/', '.']).collect();
    let class = segments
        .iter()
        .position(|s| s.starts_with(|c: char| c.is_ascii_uppercase()))?;
    if class == 0 {
        return Some(segments[0].to_string());
    }
    Some(segments[..class].join("."))
}

/// The Python module of a frame, from its file: the path below `site-packages/`,
/// `dist-packages/` or `lib/pythonX.Y/` as a dotted package (`json/encoder.py` → `json`),
/// else the file's own name (`/srv/app/app.py` → `app`); `<frozen importlib._bootstrap>` →
/// `importlib`. Without a file, `file.py:function` names give theirs.
fn python_module(file: &str, name: &str) -> Option<String> {
    let file = if file.is_empty() {
        // py-spy style `function (path/file.py:12)` or `path/file.py:function`.
        let inner = name
            .rsplit_once(" (")
            .map(|(_, f)| f.trim_end_matches(')'))
            .unwrap_or(name);
        inner.split(".py").next().map(|p| format!("{p}.py"))?
    } else {
        file.to_string()
    };
    if let Some(frozen) = file.strip_prefix("<frozen ") {
        let module = frozen.trim_end_matches('>');
        return Some(module.split('.').next().unwrap_or(module).to_string());
    }
    let path = file.replace('\\', "/");
    for marker in ["/site-packages/", "/dist-packages/"] {
        if let Some((_, below)) = path.rsplit_once(marker) {
            return Some(first_module(below));
        }
    }
    if let Some(at) = path.find("/lib/python") {
        let below = &path[at + "/lib/python".len()..];
        if let Some((_, rest)) = below.split_once('/') {
            return Some(first_module(rest));
        }
    }
    let base = path.rsplit('/').next().unwrap_or(&path);
    Some(base.trim_end_matches(".py").to_string())
}

fn first_module(path: &str) -> String {
    let first = path.split('/').next().unwrap_or(path);
    first.trim_end_matches(".py").to_string()
}

/// The npm package of a Node.js frame (`…/node_modules/@scope/pkg/…` → `@scope/pkg`),
/// Node's own modules (`node:internal/timers` → `node:internal`), else the script's file
/// name; frames without a file (V8 built-ins, GC) are grouped as `(native)`.
fn node_module(file: &str) -> Option<String> {
    if file.is_empty() {
        return Some("(native)".to_string());
    }
    if let Some(rest) = file.strip_prefix("node:") {
        let first = rest.split('/').next().unwrap_or(rest);
        return Some(format!("node:{first}"));
    }
    let path = file.replace('\\', "/");
    if let Some((_, below)) = path.rsplit_once("/node_modules/") {
        let mut parts = below.split('/');
        let first = parts.next().unwrap_or("");
        return Some(if first.starts_with('@') {
            format!("{first}/{}", parts.next().unwrap_or(""))
        } else {
            first.to_string()
        });
    }
    Some(path.rsplit('/').next().unwrap_or(&path).to_string())
}

/// A Ruby frame's gem (`…/gems/rack-2.2.3/lib/…` → `rack`), else the top-level constant of
/// its method (`Foo::Bar#baz` → `Foo`), else its file's name.
fn ruby_package(file: &str, name: &str) -> Option<String> {
    let path = file.replace('\\', "/");
    if let Some((_, below)) = path.rsplit_once("/gems/") {
        let dir = below.split('/').next().unwrap_or(below);
        // `rack-2.2.3` → `rack`: the version starts at the last `-` followed by a digit.
        let name = match dir.rfind('-') {
            Some(i) if dir[i + 1..].starts_with(|c: char| c.is_ascii_digit()) => &dir[..i],
            _ => dir,
        };
        return Some(name.to_string());
    }
    let method = name
        .rsplit(" in ")
        .next()
        .unwrap_or(name)
        .trim_start_matches("<class:")
        .trim_start_matches("<module:");
    if let Some((receiver, _)) = method.split_once(['#', '.'])
        && receiver.starts_with(|c: char| c.is_ascii_uppercase())
    {
        return Some(receiver.split("::").next().unwrap_or(receiver).to_string());
    }
    if path.is_empty() {
        return None;
    }
    Some(path.rsplit('/').next().unwrap_or(&path).to_string())
}

/// .NET: the namespace. Datadog's frames spell it out (`|lm:Module |ns:Namespace |ct:Type
/// |fn:Method`); `Module!Namespace.Type.Method(args)` and `Namespace.Type.Method` drop the
/// type and the method.
fn dotnet_namespace(name: &str) -> Option<String> {
    if name.starts_with("|lm:") {
        let field = |key: &str| {
            name.split(" |")
                .map(|p| p.trim_start_matches('|'))
                .find_map(|p| p.strip_prefix(key))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        return field("ns:").or_else(|| field("lm:")).map(str::to_string);
    }
    let head = name.split('(').next().unwrap_or(name);
    let head = head.rsplit('!').next().unwrap_or(head);
    let segments: Vec<&str> = head.split('.').collect();
    (segments.len() >= 3).then(|| segments[..segments.len() - 2].join("."))
}

/// Rust crates and C++ namespaces: the first `::` segment of the path, looking inside
/// `<Type as Trait>::` and `<Type>::` at the type (or the trait, when the type is a bare
/// parameter or a primitive); plain C names have none.
fn native_namespace(name: &str) -> Option<String> {
    let mut text = name.trim();
    if let Some(inner) = text.strip_prefix('<') {
        text = strip_type_prefixes(inner);
        let (self_type, rest) = text.split_once(" as ").unwrap_or((text, ""));
        let self_path = self_type.split(['<', '>']).next().unwrap_or("");
        if !self_path.contains("::") && !rest.is_empty() {
            text = strip_type_prefixes(rest);
        }
    }
    if text.starts_with("(anonymous namespace)") {
        return Some("(anonymous namespace)".to_string());
    }
    let (first, _) = text.split_once("::")?;
    let first = first.trim();
    (!first.is_empty()
        && first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    .then(|| first.to_string())
}

fn strip_type_prefixes(mut text: &str) -> &str {
    loop {
        let before = text;
        for prefix in ["&", "[", "*const ", "*mut ", "mut ", "dyn ", "impl "] {
            text = text.trim_start_matches(prefix);
        }
        if text == before {
            return text;
        }
    }
}

/// The crate of a Rust frame from its source file: the standard library's
/// (`/rustc/<hash>/library/core/src/…` → `core`) or a crates.io dependency's
/// (`…/registry/src/<index>/serde-1.0.0/src/…` → `serde`).
fn rust_crate_of_file(file: &str) -> Option<String> {
    let path = file.replace('\\', "/");
    if let Some((_, below)) = path.split_once("/library/") {
        let krate = below.split('/').next()?;
        return (!krate.is_empty()).then(|| krate.to_string());
    }
    if let Some((_, below)) = path.split_once("/registry/src/") {
        let dir = below.split('/').nth(1)?;
        let krate = match dir.rfind('-') {
            Some(i) if dir[i + 1..].starts_with(|c: char| c.is_ascii_digit()) => &dir[..i],
            _ => dir,
        };
        return Some(krate.to_string());
    }
    None
}

/// Packages of a profile's frames, computed once per function: what the package tables and
/// the package rules look at. Frames without a function name (addresses only) are named by
/// their binary, as pprof names them (`[libc.so.6]`), outside Go.
pub struct FramePackages {
    /// The language the packages were read in.
    language: Language,
    /// Distinct package names; `keys` index them.
    names: Vec<String>,
    /// Per location, where its package keys start in `keys` (innermost frame first).
    starts: Vec<u32>,
    keys: Vec<u32>,
    /// Per function, its own package (by name and file alone, without the binary a
    /// location may add) as an index into `function_package_names`: what the package rules
    /// match per function, each distinct package once.
    function_packages: Vec<u32>,
    function_package_names: Vec<String>,
}

impl FramePackages {
    /// The packages of every frame of `profile` in `language`'s sense, worked out once per function
    /// and per location.
    pub fn new(profile: &Profile, language: Language) -> Self {
        let by_function: Vec<String> = profile
            .functions
            .iter()
            .map(|f| package_in(language, &f.name, &f.filename))
            .collect();
        // Whether the function's package is only its own name (a plain C function): such
        // frames are grouped by their binary when the location's mapping names one.
        let by_name_only: Vec<bool> = profile
            .functions
            .iter()
            .zip(&by_function)
            .map(|(f, package)| language != Language::Go && *package == f.name)
            .collect();
        // `[libc.so.6]` per mapping, for frames without a name.
        let by_mapping: Vec<String> = profile
            .mappings
            .iter()
            .map(|m| m.binary_frame_name())
            .collect();
        // Interned once per location, so that a stack's packages are integers to count.
        let mut index: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        let mut names: Vec<String> = Vec::new();
        let mut starts = Vec::with_capacity(profile.locations.len() + 1);
        let mut keys = Vec::with_capacity(profile.locations.len());
        let mut intern = |name: &str, keys: &mut Vec<u32>| {
            let key = match index.get(name) {
                Some(&k) => k,
                None => {
                    names.push(name.to_string());
                    let k = (names.len() - 1) as u32;
                    index.insert(name.to_string(), k);
                    k
                }
            };
            keys.push(key);
        };
        for location in &profile.locations {
            starts.push(keys.len() as u32);
            let binary = location.mapping.and_then(|m| by_mapping.get(m));
            if location.lines.is_empty() {
                if language != Language::Go {
                    intern(binary.map_or("<unknown>", String::as_str), &mut keys);
                }
                continue;
            }
            let binary = binary.filter(|b| b.as_str() != "<unknown>");
            for line in &location.lines {
                match binary {
                    Some(b) if by_name_only[line.function] => intern(b, &mut keys),
                    _ => intern(&by_function[line.function], &mut keys),
                }
            }
        }
        starts.push(keys.len() as u32);
        let mut function_index: rustc_hash::FxHashMap<&str, u32> = rustc_hash::FxHashMap::default();
        let mut function_package_names: Vec<String> = Vec::new();
        let function_packages = by_function
            .iter()
            .map(|package| {
                *function_index.entry(package).or_insert_with(|| {
                    function_package_names.push(package.clone());
                    (function_package_names.len() - 1) as u32
                })
            })
            .collect();
        FramePackages {
            language,
            names,
            starts,
            keys,
            function_packages,
            function_package_names,
        }
    }

    /// Per function: whether its own package satisfies `hit`, each distinct package tested
    /// once.
    pub fn function_hits(&self, hit: impl Fn(&str) -> bool) -> Vec<bool> {
        let package_hits: Vec<bool> = self.function_package_names.iter().map(|n| hit(n)).collect();
        self.function_packages
            .iter()
            .map(|&k| package_hits[k as usize])
            .collect()
    }

    /// The language the packages were read in.
    pub fn language(&self) -> Language {
        self.language
    }

    /// The distinct package names, indexed by [`FramePackages::keys`].
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The package keys of a sample's frames, leaf first (inlined frames included).
    pub fn keys<'s>(&'s self, sample: SampleRef<'s>) -> StackKeys<'s> {
        StackKeys {
            locations: sample.locations(),
            current: &[],
            packages: self,
        }
    }

    fn location_keys(&self, location: usize) -> &[u32] {
        &self.keys[self.starts[location] as usize..self.starts[location + 1] as usize]
    }

    /// The package keys of every location, for a walk that counts them beside its own work
    /// ([`crate::analyze::top::top_views_counting`]).
    pub fn location_key_table(&self) -> LocationKeys<'_> {
        LocationKeys {
            starts: &self.starts,
            keys: &self.keys,
            count: self.names.len(),
        }
    }

    /// Per location: whether any of its frames' packages satisfies `hit`. Each package is
    /// tested once, so a stack test is a lookup per location, not a regex per frame.
    pub fn location_hits(&self, hit: impl Fn(&str) -> bool) -> Vec<bool> {
        let key_hits: Vec<bool> = self.names.iter().map(|n| hit(n)).collect();
        (0..self.starts.len().saturating_sub(1))
            .map(|l| self.location_keys(l).iter().any(|&k| key_hits[k as usize]))
            .collect()
    }

    /// The packages of a sample's frames, leaf first (inlined frames included).
    pub fn stack<'s>(&'s self, sample: SampleRef<'s>) -> impl Iterator<Item = &'s str> + 's {
        self.keys(sample).map(|k| self.names[k as usize].as_str())
    }
}

/// Keys of each location of a profile, innermost frame first, numbered `0..count`.
#[derive(Debug, Clone, Copy)]
pub struct LocationKeys<'a> {
    starts: &'a [u32],
    keys: &'a [u32],
    count: usize,
}

impl LocationKeys<'_> {
    /// The keys of `location`, innermost frame first.
    #[inline]
    pub fn of(&self, location: usize) -> &[u32] {
        &self.keys[self.starts[location] as usize..self.starts[location + 1] as usize]
    }

    /// How many distinct keys there are.
    pub fn count(&self) -> usize {
        self.count
    }

    /// How many locations have keys.
    pub fn locations(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }
}

/// The package keys of one stack's frames, leaf first: a location at a time, a production
/// heap profile's tens of millions of frames read without a nested iterator's bookkeeping
/// (a `flat_map` took about 50 instructions a frame, callgrind).
pub struct StackKeys<'s> {
    locations: crate::profile::Stack<'s>,
    /// The keys of the current location not yet given.
    current: &'s [u32],
    packages: &'s FramePackages,
}

impl Iterator for StackKeys<'_> {
    type Item = u32;

    #[inline(always)]
    fn next(&mut self) -> Option<u32> {
        loop {
            if let [key, rest @ ..] = self.current {
                self.current = rest;
                return Some(*key);
            }
            let location = self.locations.next()?;
            self.current = self.packages.location_keys(location);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_vote_for_their_language() {
        let cases: &[(&str, &str, Option<Language>)] = &[
            ("runtime.goexit", "", Some(Language::Go)),
            ("net/http.(*conn).serve", "", Some(Language::Go)),
            ("github.com/x/y.F", "", Some(Language::Go)),
            ("main.main.func1", "", Some(Language::Go)),
            ("main.work", "/src/main.go", Some(Language::Go)),
            ("java/lang/Thread.run", "", Some(Language::Java)),
            ("com.example.Service.process", "", Some(Language::Java)),
            ("com/example/Service.<init>", "", Some(Language::Java)),
            ("build_records", "/srv/app.py", Some(Language::Python)),
            ("<module>", "", Some(Language::Python)),
            ("run (worker.py:12)", "", Some(Language::Python)),
            ("(anonymous:L#33:C#14)", "", Some(Language::NodeJs)),
            (
                "listOnTimeout",
                "node:internal/timers",
                Some(Language::NodeJs),
            ),
            ("Integer#times", "", Some(Language::Ruby)),
            ("block in <main>", "", Some(Language::Ruby)),
            ("Foo::Bar#baz", "/app/foo.rb", Some(Language::Ruby)),
            (
                "|lm:System.Private.CoreLib |ns:System.Threading |ct:Thread |fn:StartCallback",
                "",
                Some(Language::DotNet),
            ),
            (
                "System.Threading.Thread.StartCallback()",
                "",
                Some(Language::DotNet),
            ),
            ("core::fmt::write", "", Some(Language::Rust)),
            ("std::rt::lang_start_internal", "", Some(Language::Rust)),
            (
                "<alloc::string::String as core::fmt::Write>::write_str",
                "",
                Some(Language::Rust),
            ),
            (
                "std::vector<int>::push_back(int const&)",
                "",
                Some(Language::Native),
            ),
            ("__libc_start_main", "", Some(Language::Native)),
            ("JavaThread::run()", "", Some(Language::Native)),
            ("buildObjects", "", None),
            ("main.main", "", None),
            ("json.Marshal", "", None),
            ("", "", None),
        ];
        for (name, file, expected) in cases {
            assert_eq!(frame_language(name, file), *expected, "{name:?} {file:?}");
        }
    }

    fn profile_of(names: &[(&str, &str)]) -> Profile {
        use crate::profile::{Labels, Line, ProfileBuilder, ValueType};
        let mut b = ProfileBuilder::new(vec![ValueType {
            kind: "samples".into(),
            unit: "count".into(),
        }]);
        let mut stack = Vec::new();
        for (i, (name, file)) in names.iter().enumerate() {
            let function = b.function(name, file);
            stack.push(b.location(
                i as u64 + 1,
                &[Line {
                    function,
                    line: 1,
                    column: 0,
                }],
            ));
        }
        b.sample(&stack, &[1], Labels::default()).unwrap();
        b.finish()
    }

    #[test]
    fn function_hits_match_each_function_by_its_own_package() {
        let profile = profile_of(&[
            ("compress/flate.(*compressor).deflate", ""),
            ("net/http.(*conn).serve", ""),
            ("compress/flate.NewWriter", ""),
            ("main.main", ""),
        ]);
        let packages = FramePackages::new(&profile, Language::Go);
        let tested = std::cell::RefCell::new(Vec::new());
        let hits = packages.function_hits(|p| {
            tested.borrow_mut().push(p.to_string());
            p == "compress/flate"
        });
        assert_eq!(hits, [true, false, true, false]);
        // Each distinct package is tested once, in the order first met.
        assert_eq!(tested.into_inner(), ["compress/flate", "net/http", "main"]);
        // Outside Go a function of no known shape is its own package, whatever binary its
        // location names (the location keys would name the binary).
        let native = FramePackages::new(&profile_of(&[("memcpy", "")]), Language::Python);
        assert_eq!(native.function_hits(|p| p == "memcpy"), [true]);
    }

    #[test]
    fn verdicts() {
        let go = detect(&profile_of(&[
            ("main.work", ""),
            ("runtime.main", ""),
            ("__libc_start_main", ""),
        ]));
        assert!(go.is_go);
        assert_eq!(go.go_runtime_functions, ["runtime.main"]);
        // A cgo-free Go profile cut to leaves still shows its .go files.
        assert!(detect(&profile_of(&[("main.work", "/src/main.go")])).is_go);
        // Native frames do not outvote the interpreter's language.
        let python = detect(&profile_of(&[
            ("run", "/srv/app.py"),
            ("__libc_start_main", ""),
            ("_start", ""),
            ("start_thread", ""),
        ]));
        assert_eq!(python.language, Language::Python);
        assert!(!python.is_go);
        assert!(python.evidence_text.contains("no Go runtime function"));
        let nothing = detect(&Profile::default());
        assert_eq!(nothing.language, Language::Unknown);
        assert_eq!(nothing.evidence_text, "no stacks to look at");
        // Goroutine dumps are Go's alone.
        let dumps = detect_many(std::iter::empty(), 1);
        assert!(dumps.is_go);
    }

    #[test]
    fn packages_per_language() {
        use Language::*;
        let cases: &[(Language, &str, &str, &str)] = &[
            (Go, "github.com/a/b.(*T).M", "", "github.com/a/b"),
            (Java, "java/lang/Thread.run", "", "java.lang"),
            (
                Java,
                "com.example.cache.Lru$Node.get",
                "",
                "com.example.cache",
            ),
            (Java, "Main.main", "", "Main"),
            (Java, "JavaThread::run()", "", "JavaThread"),
            (Java, "GCTaskThread::run", "", "GCTaskThread"),
            (Java, "__GI___clone3", "", "__GI___clone3"),
            (
                Python,
                "JSONEncoder.iterencode",
                "/usr/lib/python3.11/json/encoder.py",
                "json",
            ),
            (
                Python,
                "get",
                "/venv/lib/python3.11/site-packages/requests/api.py",
                "requests",
            ),
            (Python, "main", "/srv/app/app.py", "app"),
            (
                Python,
                "_load",
                "<frozen importlib._bootstrap>",
                "importlib",
            ),
            (Python, "run (worker.py:12)", "", "worker"),
            (
                NodeJs,
                "listOnTimeout",
                "node:internal/timers",
                "node:internal",
            ),
            (
                NodeJs,
                "parse",
                "/srv/node_modules/@scope/pkg/lib/x.js",
                "@scope/pkg",
            ),
            (NodeJs, "work", "/srv/app.js", "app.js"),
            (NodeJs, "Garbage Collection", "", "(native)"),
            (
                Ruby,
                "call",
                "/usr/lib/gems/rack-2.2.3/lib/rack/x.rb",
                "rack",
            ),
            (Ruby, "Foo::Bar#baz", "/app/foo.rb", "Foo"),
            (Ruby, "block in <main>", "/app/main.rb", "main.rb"),
            (
                DotNet,
                "|lm:System.Private.CoreLib |ns:System.Threading |ct:Thread |cg: |fn:StartCallback |fg: |sg:()",
                "",
                "System.Threading",
            ),
            (
                DotNet,
                "|lm:[native] GC |ns: |ct: |cg: |fn:Garbage Collector |fg: |sg:",
                "",
                "[native] GC",
            ),
            (
                DotNet,
                "System.Private.CoreLib!System.Threading.Thread.Run()",
                "",
                "System.Threading",
            ),
            (Rust, "core::fmt::write", "", "core"),
            (
                Rust,
                "<alloc::string::String as core::fmt::Write>::write_str",
                "",
                "alloc",
            ),
            (
                Rust,
                "<A as core::slice::cmp::SliceOrd>::compare",
                "",
                "core",
            ),
            (
                Rust,
                "<&dyn core::ops::Fn<()> as core::ops::FnOnce<()>>::call_once",
                "",
                "core",
            ),
            (Rust, "pprofrs_demo::main", "", "pprofrs_demo"),
            (Rust, "_start", "", "_start"),
            (
                Rust,
                "<u64>::_fmt",
                "/rustc/abc/library/core/src/fmt/num.rs",
                "core",
            ),
            (
                Rust,
                "<[T]>::sort_unstable",
                "/rustc/abc/library/core/src/slice/mod.rs",
                "core",
            ),
            (
                Rust,
                "<[core::mem::MaybeUninit<u8>]>::get_unchecked",
                "",
                "core",
            ),
            (
                Rust,
                "x::y",
                "/home/u/.cargo/registry/src/index-abc/serde-1.0.1/src/de.rs",
                "x",
            ),
            (
                Rust,
                "<T>::f",
                "/home/u/.cargo/registry/src/index-abc/serde-1.0.1/src/de.rs",
                "serde",
            ),
            (Native, "std::vector<int>::push_back(int const&)", "", "std"),
            (
                Native,
                "(anonymous namespace)::Worker::run()",
                "",
                "(anonymous namespace)",
            ),
            (Unknown, "whatever", "", "whatever"),
        ];
        for (language, name, file, expected) in cases {
            assert_eq!(
                package_in(*language, name, file),
                *expected,
                "{language:?} {name:?} {file:?}"
            );
        }
    }
}
