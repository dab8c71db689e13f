//! The jobs: read the sets, investigate, render, write. Each command's job is a file of its
//! own (`report`, `compare`, `trend`, `attach`, `pgo`); what they share is here: preparing sets (the
//! analyses' passes run side by side on threads), the rules, and publishing what a run made.

pub mod attach;
pub mod compare;
pub mod pgo;
pub mod report;
pub mod trend;

use std::path::{Path, PathBuf};

use crate::analyze::Join;
use crate::analyze::goroutines::{GoroutineOptions, GroupLevel};
use crate::analyze::investigation::{self, InvestigationOptions, ReportContext};
use crate::context::Context;
use crate::error::Error;
use crate::output::{Assets, Destination, Publication, Stream, publish, safe_file_name};
use crate::parallel::{self, joined};
use crate::profile::DecodeOptions;
use crate::render::flame::{self, FlameSpec};
use crate::set;

/// The main file a job writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Markdown report (`--format md`, `.md`).
    Markdown,
    /// The analysis as JSON (`--format json`, `.json`), which `render` turns into Markdown.
    Json,
}

impl Format {
    /// The file extension of the format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Json => "json",
        }
    }
}

/// The command that writes a report again, as the user gave it (paths as given, so that the
/// report does not depend on the machine it was made on): every word but `--out`, which the
/// job settles. `cli` builds it, since it owns the flags' spellings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    words: Vec<String>,
}

impl CommandLine {
    /// A command line from its words (`pprof-report`, the subcommand, arguments, flags).
    pub fn new(words: Vec<String>) -> CommandLine {
        CommandLine { words }
    }

    /// The whole command, writing to `out`.
    pub fn with_out(&self, out: &Path) -> String {
        let mut words = self.words.clone();
        words.push("--out".to_string());
        words.push(out.display().to_string());
        words.join(" ")
    }
}

/// What a run wrote: the flame graphs and the analysis first, then the files in their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The paths written: each asset inside its folder first, then the main files (the HTML
    /// page before the Markdown it shows).
    pub files: Vec<PathBuf>,
    /// Whether the main output went to standard output (`--out -`): the list of what was
    /// written then goes to standard error.
    pub to_stdout: bool,
}

/// A set read and investigated.
pub struct Prepared {
    /// The set as read, every member decoded.
    pub set: set::ProfileSet,
    /// What the investigation found, as the templates read it.
    pub report: ReportContext,
}

impl Prepared {
    /// This set's side of a comparison.
    pub fn side(&self) -> crate::analyze::compare::Side<'_> {
        self.report.side(&self.set)
    }
}

/// What preparing a set needs besides the set.
pub struct PrepareOptions<'a> {
    /// The context file; `None` uses the set's own `<prefix>-context.yaml` when present.
    pub context: Option<&'a Path>,
    /// The recommendation rules to evaluate (built-in and the user's, [`load_rules`]).
    pub rules: &'a [crate::rules::Rule],
    /// How goroutine stacks are grouped.
    pub group_level: GroupLevel,
    /// Limits for decoding the set's members.
    pub decode: &'a DecodeOptions,
}

/// The analyses' independent passes on scoped threads: `a` on a new thread, `b` on this one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Threads;

impl Join for Threads {
    fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        std::thread::scope(|scope| {
            let a = scope.spawn(a);
            let b = b();
            (joined(a), b)
        })
    }
}

/// Reads a set and its context, and investigates it.
pub fn prepare(set_path: &Path, options: &PrepareOptions) -> Result<Prepared, Error> {
    let set = set::open(set_path, options.decode)?;
    let (context, investigation_options) = investigation_inputs(&set, options)?;
    let (flames, analyses) = Threads.join(
        || investigation::flames(&set, &Threads),
        || investigation::analyses(&set, &context, &investigation_options, &Threads),
    );
    let report = investigation::assemble(&set, &context, &investigation_options, analyses, &flames);
    Ok(Prepared { set, report })
}

/// The context (the option's file, else the set's, else none) and the investigation options.
fn investigation_inputs(
    set: &set::ProfileSet,
    options: &PrepareOptions,
) -> Result<(Context, InvestigationOptions), Error> {
    let context_path = options
        .context
        .map(Path::to_path_buf)
        .or_else(|| set.context.clone());
    let context = match &context_path {
        Some(path) => Context::load(path).map_err(|source| Error::Context {
            path: path.clone(),
            source,
        })?,
        None => Context::default(),
    };
    let investigation_options = InvestigationOptions {
        goroutines: GoroutineOptions {
            level: options.group_level,
            ..GoroutineOptions::default()
        },
        rules: options.rules.to_vec(),
        context_file: context_path
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned()),
        memory_scarce: crate::allocator::large_member_read(),
    };
    Ok((context, investigation_options))
}

/// Prepares several sets side by side (each set decodes its own members in parallel too);
/// the first error in the sets' order wins.
pub fn prepare_all(paths: &[PathBuf], options: &PrepareOptions) -> Result<Vec<Prepared>, Error> {
    parallel::map(paths, |path| prepare(path, options))
        .into_iter()
        .collect()
}

/// The built-in rules and the user's rule files.
pub fn load_rules(files: &[PathBuf]) -> Result<Vec<crate::rules::Rule>, Error> {
    let mut user_rules = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        user_rules.push((path.display().to_string(), text));
    }
    Ok(crate::rules::load(&user_rules)?)
}

/// The SVGs of the flame graphs, drawn side by side (a report has four).
fn flame_svgs(inputs: &[investigation::FlameInput]) -> Vec<Result<String, Error>> {
    parallel::map(inputs, |input| {
        flame::svg(
            &input.folded,
            &FlameSpec {
                title: input.title.clone(),
                subtitle: input.subtitle.clone(),
                count_name: input.count_name.clone(),
                palette: input.palette,
            },
        )
        .map_err(Error::from)
    })
}

/// The differential CPU flame graph of two sets (`None` when either has no CPU samples).
fn differential_svg(
    before: &set::ProfileSet,
    after: &set::ProfileSet,
) -> Result<Option<String>, Error> {
    fn cpu(set: &set::ProfileSet) -> Option<&crate::profile::Profile> {
        set.member(set::MemberKind::Cpu).and_then(|m| m.profile())
    }
    let (Some(a), Some(b)) = (cpu(before), cpu(after)) else {
        return Ok(None);
    };
    let lines = crate::analyze::flame::differential(a, b);
    if lines.is_empty() {
        return Ok(None);
    }
    let svg = flame::svg(
        &lines,
        &FlameSpec {
            title: format!("CPU change — {} → {}", before.name, after.name),
            subtitle:
                "widths: the second set; red: more CPU per second than the first set, blue: less"
                    .to_string(),
            count_name: "nanoseconds".to_string(),
            palette: "hot",
        },
    )?;
    Ok(Some(svg))
}

/// Where a job's outputs go: its main file or stream, and the HTML page and assets folder
/// that go with it.
#[derive(Debug, Clone)]
pub struct Placement {
    /// The main output: a file (symbolic links followed) or a stream.
    destination: Destination,
    /// The path the HTML page is named after: the main file, or for a stream the assets
    /// folder with the format's extension (`--out - --assets x` → `x.html`).
    base: PathBuf,
    /// The assets folder (flame graphs, the analysis).
    pub assets_dir: PathBuf,
    /// The assets folder as the main output links it: its name beside a file; for a stream,
    /// the folder relative to the current directory when it can be, else as given.
    pub link: String,
    /// `--out` as given (or the default), for the command that writes the report again.
    given: PathBuf,
    /// `--assets` as given.
    assets_given: Option<PathBuf>,
}

impl Placement {
    /// Settles `--out` (`explicit`, else `default`): a file beside which the assets folder
    /// is named after it, or a stream whose assets go to `assets` (by default a folder named
    /// after `default`, in the current directory). `--assets` with a file is refused: the
    /// file's links are to the folder beside it.
    pub fn new(
        explicit: Option<&Path>,
        assets: Option<&Path>,
        default: PathBuf,
        fallback: &str,
        format: Format,
    ) -> Result<Placement, Error> {
        let given = explicit.map_or_else(|| default.clone(), Path::to_path_buf);
        let destination = crate::output::destination(&given)?;
        let (base, assets_dir, link) = match &destination {
            Destination::File(path) => {
                if assets.is_some() {
                    return Err(crate::error::UsageError::AssetsNeedStream.into());
                }
                let link = assets_dir_of(path, fallback);
                (path.clone(), folder_of(path).join(&link), link)
            }
            Destination::Stream(_) => {
                // Named after the default output (`reports/x.md` → `x`): `-` or a device's
                // name would say nothing.
                let dir = assets.map_or_else(
                    || PathBuf::from(assets_dir_of(&default, fallback)),
                    Path::to_path_buf,
                );
                let mut base = dir.clone().into_os_string();
                base.push(".");
                base.push(format.extension());
                let link = link_from_current_dir(&dir);
                (PathBuf::from(base), dir, link)
            }
        };
        Ok(Placement {
            destination,
            base,
            assets_dir,
            link,
            given,
            assets_given: assets.map(Path::to_path_buf),
        })
    }

    /// The main file written, when it is a file.
    pub fn file(&self) -> Option<&Path> {
        match &self.destination {
            Destination::File(path) => Some(path),
            Destination::Stream(_) => None,
        }
    }

    /// The command that writes the output again: `command` with `--out` (and `--assets`) as
    /// given.
    pub fn command(&self, command: &CommandLine) -> String {
        let mut text = command.with_out(&self.given);
        if let Some(assets) = &self.assets_given {
            text.push_str(" --assets ");
            text.push_str(&assets.display().to_string());
        }
        text
    }

    /// Finishes or clears what runs killed while publishing here left (`output::settle`):
    /// done before a run's work, so that even a run that fails leaves one whole report.
    pub fn settle(&self) -> Result<(), Error> {
        Ok(crate::output::settle(folder_of(&self.assets_dir))?)
    }

    /// The (still empty) assets folder.
    fn assets(&self) -> Assets {
        Assets {
            dir: self.assets_dir.clone(),
            files: Vec::new(),
        }
    }
}

/// The folder a path is in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// How a stream's Markdown links its assets folder: the reader is expected where the
/// command ran, so a relative folder as given, an absolute one below the current directory
/// relative to it, any other as given.
fn link_from_current_dir(dir: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .filter(|_| dir.is_absolute())
        .and_then(|cwd| dir.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|r| !r.as_os_str().is_empty());
    relative.as_deref().unwrap_or(dir).display().to_string()
}

/// The default main file of a job: `reports/<name>.<extension>`, the name made safe (it may
/// come from a set's file names).
fn default_out(name: &str, fallback: &str, format: Format) -> PathBuf {
    PathBuf::from("reports").join(format!(
        "{}.{}",
        safe_file_name(name, fallback),
        format.extension()
    ))
}

/// The folder of a report's flame graphs: named after the report (`reports/x.md` →
/// `reports/x/`), made a safe name, since the report's name may come from a set's.
pub fn assets_dir_of(out: &Path, fallback: &str) -> String {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    safe_file_name(&stem, fallback)
}

/// Publishes a run's main output, its HTML page and its assets folder together
/// (`output::publish`), and says what was written: the assets first, then the files in
/// their order, the main output last.
fn write_all(
    placement: &Placement,
    main: Vec<u8>,
    html: Option<Vec<u8>>,
    assets: Option<Assets>,
) -> Result<Written, Error> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    if let Some(page) = html {
        files.push((placement.base.with_extension("html"), page));
    }
    let stream = match &placement.destination {
        Destination::File(path) => {
            files.push((path.clone(), main));
            None
        }
        Destination::Stream(stream) => Some((stream.clone(), main)),
    };
    let mut written: Vec<PathBuf> = assets
        .iter()
        .flat_map(|a| a.files.iter().map(|(name, _)| a.dir.join(name)))
        .collect();
    written.extend(files.iter().map(|(p, _)| p.clone()));
    let to_stdout = matches!(stream, Some((Stream::Stdout, _)));
    if let Some((stream, _)) = stream.as_ref().filter(|_| !to_stdout) {
        written.push(stream.name());
    }
    publish(&Publication {
        files,
        assets,
        stream,
    })?;
    Ok(Written {
        files: written,
        to_stdout,
    })
}

/// A value as pretty JSON with a final newline.
fn json_bytes(value: &impl serde::Serialize) -> Result<Vec<u8>, Error> {
    let json = serde_json::to_string_pretty(value).map_err(Error::Json)?;
    Ok(format!("{json}\n").into_bytes())
}

/// Lets `value` go on a thread that nobody waits for. A decoded production profile is
/// millions of frames in many allocations, and freeing them one by one took 5–10% of a
/// report's time; nothing needs that done before the report is written, and a process that
/// ends first leaves the memory to the kernel.
fn free_in_background<T: Send + 'static>(value: T) {
    // Could not start a thread: the value is freed here, when the closure is dropped.
    let _ = std::thread::Builder::new()
        .name("free".to_string())
        .spawn(move || drop(value));
}

/// Writes the default templates into `dir` for a user to start from; existing files are kept.
pub fn write_default_templates(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    use crate::output::{Existing, write_atomic};
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut written = Vec::new();
    for (name, text) in crate::render::templates::DEFAULT_TEMPLATES {
        let path = dir.join(name);
        match write_atomic(&path, text.as_bytes(), Existing::Refuse) {
            Ok(()) => written.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(Error::Io { path, source }),
        }
    }
    Ok(written)
}
