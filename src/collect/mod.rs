//! Collecting a profile set from a live /debug/pprof endpoint: the CPU profile runs while the
//! other members are fetched; every member is checked (it must decode) and written
//! atomically as soon as it arrives, so a failure later loses nothing fetched before it.
//!
//! Over the CPU profile's window, the delta profiles `allocs`, `mutex` and `block`
//! (`?seconds=N`, served since Go 1.16: net/http/pprof takes one snapshot, sleeps N seconds,
//! and sends the difference) run side by side with it; after the window, the heap profile's
//! text (`heap?debug=1`) is fetched for its `runtime.MemStats` block, so its lifetime
//! counters (NumGC) stand at the moment the process's uptime is read. These four are
//! optional members: a server that cannot give them fails them with a reason, and the set
//! is complete without them (the report falls back and says so).
//!
//! The server is not trusted: every request is bounded in time (a deadline, not a per-read
//! timeout, so a server that drips a byte a second cannot keep it alive) and in size (checked
//! while the body streams, and again when a gzip body is inflated), redirects are not
//! followed, and what the server says is shown escaped, on one line. Only whole members that
//! decode are written, under names made of the validated `--host`, `--services` and stamp.

pub mod buildinfo;
pub mod process;

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::context::{ByteSize, Context, HumanDuration, ProcessStats};
use crate::memstats;
use crate::output::{Existing, write_atomic};
use crate::profile::DecodeOptions;
use crate::set::MemberKind;
use crate::timefmt::UtcTime;

/// Options of one collection. Built from the command line in `cli`.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Base URL of the service, e.g. `http://127.0.0.1:9099` (a trailing `/debug/pprof` is
    /// accepted).
    pub url: String,
    /// The host's name, first part of the set's name: letters, digits, `-`, `_` and `.`, not
    /// starting with `.` or `-`, at most 200 bytes (checked, never rewritten).
    pub host: String,
    /// How many services the process runs, at least 1; goes into the set's name
    /// (`<services>svc`) and its context.
    pub services: u32,
    /// Length of the CPU profile. Default 60.
    pub cpu_seconds: u64,
    /// The folder the set is written into (created when missing).
    pub out_dir: PathBuf,
    /// A local process to read CPU%, RSS, uptime … from.
    pub pid: Option<u32>,
    /// Longest wait for one member (the CPU profile gets its length on top).
    pub timeout: Duration,
    /// Longest the whole collection may take beyond the CPU profile's length; a member not
    /// complete by then is reported, the others are kept.
    pub deadline: Duration,
    /// Largest body accepted for one member, checked while it arrives.
    pub max_body_bytes: u64,
    /// Limits for checking that a body decodes (a gzip body is inflated up to
    /// `max_decompressed_bytes`, no further).
    pub decode: DecodeOptions,
    /// Draw a countdown while the CPU profile runs (only on a terminal).
    pub progress: bool,
    /// The collection time; `None` is now.
    pub at: Option<UtcTime>,
}

/// What a body must be to be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// A pprof profile that decodes.
    Profile,
    /// A goroutine text dump that parses.
    Dump,
    /// A heap profile text whose `# runtime.MemStats` block parses.
    MemStats,
    /// A profile that decodes and states the window's length (a delta profile).
    Window,
}

/// One member of the set as fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target {
    kind: MemberKind,
    /// The path below /debug/pprof/; a window profile gets `?seconds=N` added.
    path: &'static str,
    suffix: &'static str,
    check: Check,
}

impl Target {
    fn url(&self, base: &str, seconds: u64) -> String {
        match self.check {
            Check::Window => format!("{base}/debug/pprof/{}?seconds={seconds}", self.path),
            _ => format!("{base}/debug/pprof/{}", self.path),
        }
    }
}

/// The members in the set's order: the eight every set has, then the optional ones.
const TARGETS: [Target; 14] = [
    Target {
        kind: MemberKind::Cpu,
        path: "profile",
        suffix: "cpu.prof",
        check: Check::Profile,
    },
    Target {
        kind: MemberKind::Heap,
        path: "heap",
        suffix: "heap.prof",
        check: Check::Profile,
    },
    Target {
        kind: MemberKind::Allocs,
        path: "allocs",
        suffix: "allocs.prof",
        check: Check::Profile,
    },
    Target {
        kind: MemberKind::Goroutine,
        path: "goroutine",
        suffix: "goroutine.prof",
        check: Check::Profile,
    },
    Target {
        kind: MemberKind::GoroutineDebug1,
        path: "goroutine?debug=1",
        suffix: "goroutines.txt",
        check: Check::Dump,
    },
    Target {
        kind: MemberKind::GoroutineDebug2,
        path: "goroutine?debug=2",
        suffix: "goroutines-debug2.txt",
        check: Check::Dump,
    },
    Target {
        kind: MemberKind::Mutex,
        path: "mutex",
        suffix: "mutex.prof",
        check: Check::Profile,
    },
    Target {
        kind: MemberKind::Block,
        path: "block",
        suffix: "block.prof",
        check: Check::Profile,
    },
    Target {
        kind: MemberKind::MemStats,
        path: "heap?debug=1",
        suffix: "heap.txt",
        check: Check::MemStats,
    },
    Target {
        kind: MemberKind::AllocsWindow,
        path: "allocs",
        suffix: "allocs-window.prof",
        check: Check::Window,
    },
    Target {
        kind: MemberKind::MutexWindow,
        path: "mutex",
        suffix: "mutex-window.prof",
        check: Check::Window,
    },
    Target {
        kind: MemberKind::BlockWindow,
        path: "block",
        suffix: "block-window.prof",
        check: Check::Window,
    },
    Target {
        kind: MemberKind::GoroutineLeak,
        path: "goroutineleak",
        suffix: "goroutineleak.prof",
        check: Check::Profile,
    },
    Target {
        kind: MemberKind::GoroutineLeakDebug2,
        path: "goroutineleak?debug=2",
        suffix: "goroutineleak-debug2.txt",
        check: Check::Dump,
    },
];

/// The targets fetched while the CPU profile runs, one after the other.
const DURING: std::ops::Range<usize> = 1..8;
/// The targets fetched after the window, in this order: MemStats, so that its lifetime
/// counters stand where the uptime is read, then the goroutine leak profile and its dump,
/// last because writing them runs a GC cycle.
const AFTER: [usize; 3] = [8, 12, 13];
/// The window profiles, fetched side by side with the CPU profile.
const WINDOWS: std::ops::Range<usize> = 9..12;

/// A member fetched, checked and written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// Which member it is.
    pub kind: MemberKind,
    /// The file written, `<out_dir>/<prefix>-<suffix>` (e.g. `…-cpu.prof`).
    pub path: PathBuf,
    /// Its size in bytes, as received (a gzipped profile stays gzipped).
    pub bytes: u64,
}

/// A member not kept, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Which member it is.
    pub kind: MemberKind,
    /// The URL it was asked from.
    pub url: String,
    /// Why it was not kept, on one line with control characters escaped.
    pub what: String,
}

impl Failure {
    /// True for a member a set is complete without ([`MemberKind::OPTIONAL`]).
    pub fn optional(&self) -> bool {
        MemberKind::OPTIONAL.contains(&self.kind)
    }
}

/// What a collection did: the members saved and those that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The set's name, `<host>-<services>svc-<YYYYMMDD-HHMMSS>`, which starts every file name.
    pub prefix: String,
    /// The members written, in the order of the set's members (CPU first).
    pub saved: Vec<Saved>,
    /// The members not kept: those fetched during the window, then the CPU profile, the
    /// window profiles and MemStats (stored after the window, in that order).
    pub failures: Vec<Failure>,
    /// None when nothing could be fetched (no context is written then).
    pub context_path: Option<PathBuf>,
}

impl Outcome {
    /// True when every member a complete set has ([`MemberKind::EXPECTED`]) was saved; the
    /// optional ones (window profiles, MemStats) may have failed.
    pub fn complete(&self) -> bool {
        self.failures.iter().all(|f| f.optional())
    }
}

/// What stops a collection before it starts (or stops it writing at all).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// `--url` is not an `http://` URL with a host: the URL as given, and why.
    #[error("--url {0:?}: {1}")]
    BadUrl(String, String),
    /// The host as shown (shortened when very long), and why it cannot be used.
    #[error("--host {0}: {1}")]
    BadHost(String, String),
    /// `--services` is 0: the value, and why it cannot be used.
    #[error("--services {0}: {1}")]
    BadServices(u32, String),
    /// The output folder already holds files of a set with this name.
    #[error("{}: a set named {prefix} is already there; not overwriting it", dir.display())]
    Exists {
        /// The output folder.
        dir: PathBuf,
        /// The set's name.
        prefix: String,
    },
    /// The output folder, a member or the context file cannot be written (an existing file
    /// is never replaced).
    #[error("{}: {what}", path.display())]
    Write {
        /// The folder or file.
        path: PathBuf,
        /// Why, in words.
        what: String,
    },
    /// `--pid`'s process cannot be read from /proc (before or after the collection).
    #[error("{0}")]
    Process(#[from] process::ProcessError),
}

/// Collects a complete set; failures of single members are in the outcome, not errors.
pub fn collect(options: &CollectOptions) -> Result<Outcome, CollectError> {
    let begun = Instant::now();
    let base = base_url(&options.url)?;
    check_host(&options.host)?;
    if options.services == 0 {
        return Err(CollectError::BadServices(
            0,
            "the process runs at least one service (per-service figures divide by it)".to_string(),
        ));
    }
    let clock = Clock {
        deadline: begun + Duration::from_secs(options.cpu_seconds) + options.deadline,
        flags: format!(
            "--seconds {} + --deadline {}",
            options.cpu_seconds,
            exact(options.deadline)
        ),
    };
    let at = options.at.unwrap_or_else(UtcTime::now);
    let prefix = format!("{}-{}svc-{}", options.host, options.services, at.compact());
    let dir = &options.out_dir;
    std::fs::create_dir_all(dir).map_err(|e| CollectError::Write {
        path: dir.clone(),
        what: crate::text::describe_io(&e),
    })?;
    if set_exists(dir, &prefix) {
        return Err(CollectError::Exists {
            dir: dir.clone(),
            prefix,
        });
    }

    let process_start = options.pid.map(process::snapshot).transpose()?;
    let started = Instant::now();
    let cpu_target = TARGETS[0];
    let cpu_url = format!("{base}/debug/pprof/profile?seconds={}", options.cpu_seconds);
    // The CPU profile and the window profiles answer only after --seconds: their own
    // timeout starts after them.
    let window_budget = || {
        clock.budget(
            options.timeout + Duration::from_secs(options.cpu_seconds),
            format!(
                "--seconds {} + --timeout {}; raise --timeout",
                options.cpu_seconds,
                exact(options.timeout)
            ),
        )
    };
    let member_budget = || clock.budget(options.timeout, "raise --timeout".to_string());
    let window_urls: Vec<String> = TARGETS[WINDOWS]
        .iter()
        .map(|t| t.url(&base, options.cpu_seconds))
        .collect();

    let mut saved = Vec::new();
    let mut failures = Vec::new();
    let (cpu_result, window_results) = std::thread::scope(|scope| {
        let cpu = scope.spawn(|| {
            window_budget().and_then(|budget| fetch(&cpu_url, &budget, options.max_body_bytes, dir))
        });
        // Started with the CPU profile, so that all cover the same seconds.
        let windows: Vec<_> = window_urls
            .iter()
            .map(|url| {
                scope.spawn(|| {
                    window_budget()
                        .and_then(|budget| fetch(url, &budget, options.max_body_bytes, dir))
                })
            })
            .collect();
        for target in &TARGETS[DURING] {
            let url = target.url(&base, options.cpu_seconds);
            let result = member_budget()
                .and_then(|budget| fetch(&url, &budget, options.max_body_bytes, dir));
            store(
                *target,
                &url,
                result,
                options,
                &prefix,
                &mut saved,
                &mut failures,
            )?;
        }
        let progress = countdown(options, started);
        while !cpu.is_finished() {
            progress.set_position(started.elapsed().as_secs().min(options.cpu_seconds));
            std::thread::sleep(Duration::from_millis(200));
        }
        progress.finish_and_clear();
        let joined = |handle: std::thread::ScopedJoinHandle<'_, Result<Fetched, String>>| {
            handle
                .join()
                .unwrap_or_else(|_| Err("the fetching thread failed".to_string()))
        };
        let cpu = joined(cpu);
        let windows: Vec<_> = windows.into_iter().map(joined).collect();
        Ok::<_, CollectError>((cpu, windows))
    })?;
    let wall = started.elapsed().as_secs_f64();
    store(
        cpu_target,
        &cpu_url,
        cpu_result,
        options,
        &prefix,
        &mut saved,
        &mut failures,
    )?;
    for ((target, url), result) in TARGETS[WINDOWS]
        .iter()
        .zip(&window_urls)
        .zip(window_results)
    {
        store(
            *target,
            url,
            result,
            options,
            &prefix,
            &mut saved,
            &mut failures,
        )?;
    }
    for target in AFTER.map(|i| TARGETS[i]) {
        let url = target.url(&base, options.cpu_seconds);
        let result = member_budget()
            .and_then(|budget| fetch(&url, &budget, options.max_body_bytes, dir))
            .map_err(|what| explain_missing(target.kind, what));
        store(
            target,
            &url,
            result,
            options,
            &prefix,
            &mut saved,
            &mut failures,
        )?;
    }
    saved.sort_by_key(|s| TARGETS.iter().position(|t| t.kind == s.kind));

    let process_end = options.pid.map(process::snapshot).transpose()?;
    let go_settings = options.pid.map(process::go_settings).unwrap_or_default();
    let context_path = dir.join(format!("{prefix}-context.yaml"));
    if saved.is_empty() {
        // Nothing came: a context file alone would be a set with no profiles.
        return Ok(Outcome {
            prefix,
            saved,
            failures,
            context_path: None,
        });
    }
    let context = Context {
        host: Some(options.host.clone()),
        services: Some(options.services),
        collected_at: Some(at.iso()),
        endpoint: Some(base.clone()),
        cpu_profile: Some(HumanDuration::from_secs(options.cpu_seconds as f64)),
        process: match (process_start, process_end) {
            (Some(start), Some(end)) => Some(process_stats(&start, &end, wall, &go_settings)),
            _ => None,
        },
        ..Context::default()
    };
    let header = format!(
        "Context of profile set {prefix}, written by pprof-report collect.\n\
         Every field is optional; edit it to add what the profiles cannot know (notes,\n\
         expectations such as goroutines_per_service: 2-5)."
    );
    let yaml = context.to_yaml(&header).map_err(|e| CollectError::Write {
        path: context_path.clone(),
        what: e.to_string(),
    })?;
    write_atomic(&context_path, yaml.as_bytes(), Existing::Refuse).map_err(|e| {
        CollectError::Write {
            path: context_path.clone(),
            what: crate::text::describe_io(&e),
        }
    })?;
    Ok(Outcome {
        prefix,
        saved,
        failures,
        context_path: Some(context_path),
    })
}

fn process_stats(
    start: &process::Snapshot,
    end: &process::Snapshot,
    wall: f64,
    go: &process::GoSettings,
) -> ProcessStats {
    let round2 = |v: f64| (v * 100.0).round() / 100.0;
    ProcessStats {
        pid: Some(end.pid),
        cpu_percent: process::cpu_percent_between(start, end, wall).map(round2),
        cpu_percent_lifetime: (end.uptime_seconds > 0.0)
            .then(|| round2(end.cpu_seconds / end.uptime_seconds * 100.0)),
        rss: Some(ByteSize(end.rss_bytes)),
        vsz: Some(ByteSize(end.vsz_bytes)),
        // /proc gives 0 when it does not say; the context takes counts from 1.
        threads: (end.threads > 0).then_some(end.threads),
        cpus: end.cpus_allowed,
        cpu_quota: end.cpu_quota.map(round2),
        go_version: go.go_version.clone(),
        gomaxprocs: go.gomaxprocs,
        godebug: Some(go.godebug.clone()).filter(|g| !g.is_empty()),
        uptime: Some(HumanDuration::from_secs(end.uptime_seconds.round())),
        cpu_time: Some(HumanDuration::from_secs(round2(end.cpu_seconds))),
        command: Some(end.command.clone()).filter(|c| !c.is_empty()),
    }
}

fn countdown(options: &CollectOptions, started: Instant) -> indicatif::ProgressBar {
    if !options.progress || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(options.cpu_seconds);
    // Not indicatif's `{eta}`: that extrapolates the rate since the bar appeared, and the bar
    // appears only after the other members were fetched, its position already seconds in
    // (`10/30s, 14s left`). The profile runs at one second per second: what is left is the
    // length less the position.
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len}s, {left}s left")
    {
        bar.set_style(
            style
                .with_key(
                    "left",
                    |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                        let _ = write!(
                            out,
                            "{}",
                            seconds_left(state.len().unwrap_or(0), state.pos())
                        );
                    },
                )
                .progress_chars("=> "),
        );
    }
    bar.set_message("CPU profile");
    bar.set_position(started.elapsed().as_secs());
    bar
}

/// The countdown's seconds left: the profile's length less the whole seconds elapsed (its
/// position), so that position and what is left add up to the length.
fn seconds_left(length: u64, position: u64) -> u64 {
    length.saturating_sub(position)
}

/// Checks the staged body and renames it into place, or records why it could not be kept
/// (the staged file is then removed).
#[allow(clippy::too_many_arguments)]
fn store(
    target: Target,
    url: &str,
    result: Result<Fetched, String>,
    options: &CollectOptions,
    prefix: &str,
    saved: &mut Vec<Saved>,
    failures: &mut Vec<Failure>,
) -> Result<(), CollectError> {
    let fetched = match result
        .and_then(|mut fetched| check_body(target, &mut fetched, &options.decode).map(|()| fetched))
    {
        Ok(fetched) => fetched,
        Err(what) => {
            failures.push(Failure {
                kind: target.kind,
                url: url.to_string(),
                what: one_line(&what),
            });
            return Ok(());
        }
    };
    let path = options.out_dir.join(format!("{prefix}-{}", target.suffix));
    let write_error = |e: &std::io::Error| CollectError::Write {
        path: path.clone(),
        what: crate::text::describe_io(e),
    };
    // Synced before the rename: a collected profile cannot be made again.
    fetched
        .staged
        .as_file()
        .sync_all()
        .map_err(|e| write_error(&e))?;
    fetched
        .staged
        .persist_noclobber(&path)
        .map_err(|e| write_error(&e.error))?;
    saved.push(Saved {
        kind: target.kind,
        bytes: fetched.size,
        path,
    });
    Ok(())
}

/// Why an endpoint that only newer runtimes serve answered 404, added to the status.
fn explain_missing(kind: MemberKind, what: String) -> String {
    match kind {
        MemberKind::GoroutineLeak | MemberKind::GoroutineLeakDebug2
            if what.starts_with("HTTP 404") =>
        {
            format!(
                "{what}: the service does not serve the goroutine leak profile (Go before \
                 1.26, or Go 1.26 without GOEXPERIMENT=goroutineleakprofile)"
            )
        }
        _ => what,
    }
}

/// A body is kept only when it is what was asked for: a decodable profile or dump of the
/// kind the endpoint serves.
///
/// The Content-Type does not decide: net/http/pprof sends `application/octet-stream` for
/// profiles and `text/plain` for the dumps, but proxies and tunnels relabel bodies, and a
/// body that decodes is a profile whatever its label. The label only helps to explain a body
/// that does not decode: an HTML page (a proxy's 502, a login page) is named as one, with its
/// title, and an unexpected type is shown next to the decoder's complaint.
///
/// The body is read from its staged file: decoded while it is read (as `report` reads it),
/// and only its first [`HEAD_BYTES`] are held to explain a failure.
fn check_body(target: Target, fetched: &mut Fetched, decode: &DecodeOptions) -> Result<(), String> {
    use std::io::{Seek, SeekFrom};
    if fetched.size == 0 {
        return Err("HTTP 200 with an empty body".to_string());
    }
    let staging = |e: std::io::Error| {
        format!(
            "the staged body could not be read back: {}",
            crate::text::describe_io(&e)
        )
    };
    let file = fetched.staged.as_file_mut();
    file.seek(SeekFrom::Start(0)).map_err(staging)?;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    (&mut *file)
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(staging)?;
    file.seek(SeekFrom::Start(0)).map_err(staging)?;
    let reader = std::io::BufReader::with_capacity(COPY_BUFFER_BYTES, &*file);
    let (what, problem) = match target.check {
        Check::MemStats => match check_memstats(reader, decode) {
            Ok(()) => return Ok(()),
            Err(e) => ("a heap profile text with runtime.MemStats", e),
        },
        Check::Dump | Check::Profile | Check::Window => {
            match crate::set::load::decode_reader(reader, decode) {
                Ok(decoded) => return check_kind(target, &head, &decoded),
                Err(e) if target.check == Check::Dump => ("a goroutine dump", e.to_string()),
                Err(e) => ("a profile", e.to_string()),
            }
        }
    };
    let content_type = fetched.content_type.as_deref();
    if let Some(title) = html_page(&head, content_type) {
        let label = content_type
            .map(|t| format!(" (Content-Type {t})"))
            .unwrap_or_default();
        return Err(format!(
            "the body is an HTML page{label}, not {what}: {title:?}"
        ));
    }
    let label = match content_type {
        Some(t) if !expected_content_type(t) => format!(" (Content-Type {t})"),
        _ => String::new(),
    };
    Err(format!("the body{label} is not {what}: {problem}"))
}

/// How much of the start of a body is held to explain why it is not a profile.
const HEAD_BYTES: usize = 4096;

/// The buffer a body streams through, from the socket to its staged file and back into the
/// decoder: what a member costs in memory beyond its decoded form.
const COPY_BUFFER_BYTES: usize = 1 << 16;

/// The largest `# runtime.MemStats` block read (Go's is about 10 kB: two 256-entry buffers).
const MAX_MEMSTATS_BLOCK_BYTES: usize = 1 << 20;

/// The kind check: the body must be the member the endpoint serves, as a set classifies it
/// by content (`set::kind_of`, what `members` will say). A heap profile at
/// `/debug/pprof/profile` would otherwise be saved as `-cpu.prof`, and the set found to lack
/// its CPU profile only later. Mutex and block profiles carry the same sample types, so the
/// endpoint's name decides between them, as it does in a set, unless the body is their text
/// form (`debug=1`), whose first line says which it is.
fn check_kind(
    target: Target,
    head: &[u8],
    decoded: &crate::set::load::Decoded,
) -> Result<(), String> {
    if let (Check::Window, crate::set::load::Decoded::Profile(p)) = (target.check, decoded)
        && p.duration_nanos <= 0
    {
        // What net/http/pprof before Go 1.16 does: it ignores ?seconds= and sends the
        // profile since start, which states no duration.
        return Err(
            "the answer states no duration, so it is the profile since the \
             process started: the server ignores ?seconds= (net/http/pprof before Go \
             1.16); reports fall back to the profile since start"
                .to_string(),
        );
    }
    let found = crate::set::kind_of(head, decoded, target.suffix)?;
    if found == target.kind {
        return Ok(());
    }
    let types = match decoded {
        crate::set::load::Decoded::Profile(p) => format!(
            " (sample types {})",
            p.sample_types
                .iter()
                .map(|t| format!("{}/{}", t.kind, t.unit))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        crate::set::load::Decoded::Dump(_) => String::new(),
    };
    Err(format!(
        "wrong kind: expected {}, found {}{types}; not saved",
        target.kind.describe(),
        found.describe()
    ))
}

/// The MemStats check, streaming: the first line must be a heap profile text's, and the last
/// `# runtime.MemStats` block (held alone, up to [`MAX_MEMSTATS_BLOCK_BYTES`]) must parse.
fn check_memstats(mut reader: impl std::io::BufRead, decode: &DecodeOptions) -> Result<(), String> {
    use std::io::BufRead as _;
    let mut line = Vec::new();
    let mut block = Vec::new();
    let mut block_line = 0;
    let mut number = 0usize;
    loop {
        line.clear();
        let read = (&mut reader)
            .take(decode.max_line_bytes as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("read failed ({})", crate::text::describe_io(&e)))?;
        if read == 0 {
            break;
        }
        number += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if line.len() > decode.max_line_bytes {
            return Err(format!(
                "line {number} is longer than {} (raise --max-line-length)",
                ByteSize(decode.max_line_bytes as u64)
            ));
        }
        if number == 1 && !memstats::sniff(&line) {
            return Err(memstats::MemStatsError::NotHeapText.to_string());
        }
        if memstats::is_block_start(&line) {
            block.clear();
            block_line = number;
        }
        if block_line > 0 {
            block.extend_from_slice(&line);
            block.push(b'\n');
            if block.len() > MAX_MEMSTATS_BLOCK_BYTES {
                return Err(format!(
                    "the \"# runtime.MemStats\" block is larger than {}, which no Go runtime writes",
                    ByteSize(MAX_MEMSTATS_BLOCK_BYTES as u64)
                ));
            }
        }
    }
    if block_line == 0 {
        return Err(memstats::MemStatsError::NoBlock.to_string());
    }
    memstats::parse_block(&block, block_line)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// What net/http/pprof sends (profiles, dumps); other types are worth showing.
fn expected_content_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/octet-stream")
        || essence.eq_ignore_ascii_case("text/plain")
}

/// When the body is an HTML page, its title (or first line), shortened.
fn html_page(body: &[u8], content_type: Option<&str>) -> Option<String> {
    let head = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` index `head`.
    let lower = head.to_ascii_lowercase();
    let start = lower.trim_start();
    let is_html = content_type
        .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("text/html"))
        || start.starts_with("<!doctype html")
        || start.starts_with("<html");
    if !is_html {
        return None;
    }
    let title = lower.find("<title").and_then(|open| {
        let text_start = open + lower[open..].find('>')? + 1;
        let text_end = text_start + lower[text_start..].find("</title")?;
        Some(
            head[text_start..text_end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        )
    });
    let shown = match title {
        Some(title) if !title.is_empty() => title,
        _ => head
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string(),
    };
    Some(shown.chars().take(100).collect())
}

/// Failure messages go to a terminal and into logs, one line each: text that came from the
/// server must not move the cursor, clear the screen, end the line or reorder what follows
/// (bidirectional overrides), so such characters are shown escaped.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let invisible = matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        );
        if c.is_control() || invisible {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A body as it arrived, staged in a temporary file beside the set (removed when dropped,
/// so a member not kept leaves nothing behind), with its size and the type the server gave it.
struct Fetched {
    staged: tempfile::NamedTempFile,
    size: u64,
    content_type: Option<String>,
}

/// The time one request may take, and the flags that set it (for the message when it ends).
#[derive(Debug, Clone)]
struct Budget {
    time: Duration,
    /// `time` as shown.
    shown: String,
    /// Which flags make it up and which one to raise.
    why: String,
}

/// The collection's time limits: each request has its own (`--timeout`, plus `--seconds` for
/// the CPU profile), and none runs past the collection's deadline (`--seconds` +
/// `--deadline`), so a run against a server that answers every request slowly still ends.
struct Clock {
    deadline: Instant,
    /// The flags that make up the deadline, for messages.
    flags: String,
}

impl Clock {
    /// The budget of a request starting now: its own, or what is left of the deadline.
    fn budget(&self, own: Duration, own_why: String) -> Result<Budget, String> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "not fetched: the collection's deadline ({}) had passed (raise --deadline)",
                self.flags
            ));
        }
        if left < own {
            return Ok(Budget {
                time: left,
                shown: rounded(left),
                why: format!(
                    "what was left of the collection's deadline, {}; raise --deadline",
                    self.flags
                ),
            });
        }
        Ok(Budget {
            time: own,
            shown: exact(own),
            why: own_why,
        })
    }
}

/// A duration as the flags take it (`30s`, `2m0s`, `1.5s`).
fn exact(d: Duration) -> String {
    HumanDuration::from_secs(d.as_secs_f64()).to_string()
}

/// What is left of the deadline, up to the next tenth of a second (never "0s").
fn rounded(d: Duration) -> String {
    HumanDuration::from_secs((d.as_secs_f64() * 10.0).ceil() / 10.0).to_string()
}

/// How much of an error answer's body is read: its first line is all that is shown, and an
/// error page has no claim on --max-size or on the time left.
const ERROR_BODY_BYTES: u64 = 4096;

/// GETs a URL: the body of a 200 answer, streamed through a bounded buffer into a file
/// staged in `dir`, or why there is none, in words.
fn fetch(url: &str, budget: &Budget, max_body: u64, dir: &Path) -> Result<Fetched, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        // A deadline for the whole call, connect to last body byte: a per-read timeout
        // would let a server that sends a byte a second keep the collection alive forever.
        .timeout_global(Some(budget.time))
        .http_status_as_error(false)
        // A redirect could lead anywhere; a pprof endpoint has no reason to send one.
        .max_redirects(0)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| describe(&e, Stage::Answer, budget, max_body))?;
    let status = response.status();
    if status != 200 {
        return Err(status_error(&mut response));
    }
    let announced = response.body().content_length();
    if let Some(length) = announced.filter(|&l| l > max_body) {
        return Err(format!(
            "the answer announces {length} bytes, more than --max-size {} (raise --max-size)",
            ByteSize(max_body)
        ));
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.chars().take(100).collect());
    let mut staged = crate::output::staging_file_in(dir).map_err(|e| {
        format!(
            "the body cannot be staged in {}: {}",
            dir.display(),
            crate::text::describe_io(&e)
        )
    })?;
    // The limit is applied while the body streams: reading stops one byte past it. Only
    // one buffer of it is in memory at a time, whatever --max-size allows.
    let mut reader = response.body_mut().with_config().limit(max_body).reader();
    let mut buffer = vec![0u8; COPY_BUFFER_BYTES];
    let mut size = 0u64;
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let error = ureq::Error::from(e);
                let cut = matches!(&error, ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof);
                return Err(match (cut, announced) {
                    (true, Some(length)) => format!(
                        "the connection closed before the whole body arrived ({size} of {length} bytes)"
                    ),
                    _ => describe(&error, Stage::Body, budget, max_body),
                });
            }
        };
        std::io::Write::write_all(&mut staged, &buffer[..read]).map_err(|e| {
            format!(
                "the body cannot be staged in {}: {}",
                dir.display(),
                crate::text::describe_io(&e)
            )
        })?;
        size += read as u64;
    }
    Ok(Fetched {
        staged,
        size,
        content_type,
    })
}

/// An answer other than 200, in one line: status, where a redirect pointed, and the first
/// line of the body (Go's http.Error puts the reason there).
fn status_error(response: &mut ureq::http::Response<ureq::Body>) -> String {
    let status = response.status();
    let mut head = Vec::new();
    // Errors while reading (a cut, the deadline) leave what arrived, which is enough.
    let _ = response
        .body_mut()
        .as_reader()
        .take(ERROR_BODY_BYTES)
        .read_to_end(&mut head);
    let text = String::from_utf8_lossy(&head);
    let first_line = text.lines().next().unwrap_or("").trim();
    let reason = status.canonical_reason().unwrap_or("");
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(|l| {
            format!(
                " to {}; not followed",
                l.chars().take(200).collect::<String>()
            )
        })
        .unwrap_or_default();
    let detail = if first_line.is_empty() {
        String::new()
    } else {
        format!(": {}", first_line.chars().take(200).collect::<String>())
    };
    format!("HTTP {} {reason}{location}{detail}", status.as_u16())
}

/// Where in the exchange an error happened: the same error means different things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Answer,
    Body,
}

fn describe(error: &ureq::Error, stage: Stage, budget: &Budget, max_body: u64) -> String {
    use std::io::ErrorKind;
    match error {
        ureq::Error::Timeout(_) => {
            format!(
                "no complete answer within {} ({})",
                budget.shown, budget.why
            )
        }
        ureq::Error::Io(e) if e.kind() == ErrorKind::ConnectionRefused => {
            "connection refused (is the service listening there?)".to_string()
        }
        ureq::Error::Io(e)
            if matches!(
                e.kind(),
                ErrorKind::UnexpectedEof
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
            ) =>
        {
            match stage {
                Stage::Answer => "the connection closed before an answer arrived".to_string(),
                Stage::Body => "the connection closed before the whole body arrived".to_string(),
            }
        }
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::BodyExceedsLimit(_) => format!(
            "the body is larger than --max-size {} (raise --max-size)",
            ByteSize(max_body)
        ),
        ureq::Error::LargeResponseHeader(_, limit) => format!(
            "the answer's header is larger than {} (not a pprof endpoint?)",
            ByteSize(*limit as u64)
        ),
        ureq::Error::Protocol(e) => match stage {
            Stage::Answer => format!("not an HTTP answer ({e})"),
            Stage::Body => format!("the body's HTTP framing is broken ({e})"),
        },
        other => other.to_string(),
    }
}

/// `http://host:port` from what the user gave (`…/debug/pprof` and trailing `/` dropped).
fn base_url(url: &str) -> Result<String, CollectError> {
    let bad = |why: &str| CollectError::BadUrl(url.to_string(), why.to_string());
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("only http:// is supported (use an ssh tunnel for remote hosts)"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(bad("no host in the URL"));
    }
    let trimmed = url.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/debug/pprof").unwrap_or(trimmed);
    Ok(trimmed.to_string())
}

/// Longest `--host` accepted: the longest member name adds 52 bytes to it (services, stamp,
/// `-goroutines-debug2.txt`), and file names stop at 255 bytes on Linux and macOS.
const MAX_HOST_BYTES: usize = 200;

/// The host becomes part of file names: it must be one plain name, so that no value can put
/// a file outside --out (`../x`, `/etc/x`, `a/b`), hide it (`.x`), make it read as an option
/// (`-x`) or make a name the file system refuses (NUL, too long). Host names are letters,
/// digits, '-' and '.'; '_' is common in service names. Refused rather than rewritten: a
/// silently changed name would not be found by the name the user gave.
fn check_host(host: &str) -> Result<(), CollectError> {
    let shown = if host.chars().count() > 40 {
        format!("{:?}…", host.chars().take(40).collect::<String>())
    } else {
        format!("{host:?}")
    };
    let bad = |why: String| CollectError::BadHost(shown.clone(), why);
    const FIX: &str = "use a plain name of letters, digits, '-', '_' and '.', such as storage-1";
    if host.is_empty() {
        return Err(bad(format!("it is empty; {FIX}")));
    }
    if host.len() > MAX_HOST_BYTES {
        return Err(bad(format!(
            "it is {} bytes long and becomes part of file names; use at most {MAX_HOST_BYTES}",
            host.len()
        )));
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(bad(format!(
            "{c:?} cannot be part of the set's file names; {FIX}"
        )));
    }
    if host.starts_with(['.', '-']) {
        return Err(bad(format!(
            "it may not start with '.' or '-' (hidden files, names read as options); {FIX}"
        )));
    }
    Ok(())
}

fn set_exists(dir: &Path, prefix: &str) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries.filter_map(Result::ok).any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('-'))
            })
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #[test]
    fn countdown_left_is_length_less_position() {
        // The case that was wrong: 10 s into a 30 s profile, indicatif's estimate said 14 s.
        assert_eq!(super::seconds_left(30, 10), 20);
        assert_eq!(super::seconds_left(30, 0), 30);
        assert_eq!(super::seconds_left(30, 30), 0);
        // The position is capped at the length, but a late tick must not wrap.
        assert_eq!(super::seconds_left(30, 31), 0);
    }

    use super::*;

    #[test]
    fn urls_are_normalised() {
        assert_eq!(
            base_url("http://127.0.0.1:9099").unwrap(),
            "http://127.0.0.1:9099"
        );
        assert_eq!(
            base_url("http://127.0.0.1:9099/debug/pprof/").unwrap(),
            "http://127.0.0.1:9099"
        );
        assert!(base_url("https://x").is_err());
        assert!(base_url("http://").is_err());
        assert!(base_url("127.0.0.1:9099").is_err());
    }

    #[test]
    fn hosts_must_be_plain_names() {
        assert!(check_host("storage").is_ok());
        assert!(check_host("sim-portlist-off").is_ok());
        assert!(check_host("../etc").is_err());
        assert!(check_host("a/b").is_err());
        assert!(check_host("").is_err());
        assert!(check_host("a\0b").is_err());
        assert!(check_host("-x").is_err());
        assert!(check_host("ストレージ").is_err());
        assert!(check_host(&"a".repeat(MAX_HOST_BYTES)).is_ok());
        assert!(check_host(&"a".repeat(MAX_HOST_BYTES + 1)).is_err());
    }

    #[test]
    fn server_text_is_shown_on_one_line() {
        assert_eq!(one_line("a\r\nb\tc"), "a\\r\\nb\\tc");
        assert_eq!(one_line("\u{1b}[2J\u{202e}é"), "\\u{1b}[2J\\u{202e}é");
        assert_eq!(one_line("plain"), "plain");
    }

    #[test]
    fn html_pages_are_named_by_their_title() {
        let page = b"<!DOCTYPE html>\n<HTML><head><TITLE>\n  Sign in\n  to SSO </title>";
        assert_eq!(html_page(page, None).as_deref(), Some("Sign in to SSO"));
        assert_eq!(
            html_page(b"\n\nService Unavailable\n", Some("Text/HTML")).as_deref(),
            Some("Service Unavailable")
        );
        assert_eq!(
            html_page(b"<html><body>x", None).as_deref(),
            Some("<html><body>x")
        );
        assert_eq!(html_page(b"goroutine profile: total 3\n", None), None);
        assert_eq!(html_page(b"{}", Some("application/json")), None);
    }

    #[test]
    fn pprof_content_types_are_not_worth_showing() {
        assert!(expected_content_type("application/octet-stream"));
        assert!(expected_content_type("text/plain; charset=utf-8"));
        assert!(!expected_content_type("text/html"));
        assert!(!expected_content_type("application/json"));
    }
}
