//! Collecting a profile set from a live /debug/pprof endpoint: the CPU profile runs while the
//! other members are fetched; every member is checked (it must decode) and written
//! atomically as soon as it arrives, so a failure later loses nothing fetched before it.

pub mod process;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::context::{ByteSize, Context, HumanDuration, ProcessStats};
use crate::goroutine;
use crate::output::{Existing, write_atomic};
use crate::profile::{self, DecodeOptions};
use crate::set::MemberKind;
use crate::timefmt::UtcTime;

/// Options of one collection. Built from the command line in `cli`.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Base URL of the service, e.g. `http://127.0.0.1:9099` (a trailing `/debug/pprof` is
    /// accepted).
    pub url: String,
    pub host: String,
    pub services: u32,
    /// Length of the CPU profile. Default 60.
    pub cpu_seconds: u64,
    pub out_dir: PathBuf,
    /// A local process to read CPU%, RSS, uptime … from.
    pub pid: Option<u32>,
    /// Longest wait for one member (the CPU profile gets its length on top).
    pub timeout: Duration,
    /// Largest body accepted for one member.
    pub max_body_bytes: u64,
    /// Draw a countdown while the CPU profile runs (only on a terminal).
    pub progress: bool,
    /// The collection time; `None` is now.
    pub at: Option<UtcTime>,
}

/// One member of the set as fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target {
    kind: MemberKind,
    path: &'static str,
    suffix: &'static str,
    text: bool,
}

const TARGETS: [Target; 8] = [
    Target {
        kind: MemberKind::Cpu,
        path: "profile",
        suffix: "cpu.prof",
        text: false,
    },
    Target {
        kind: MemberKind::Heap,
        path: "heap",
        suffix: "heap.prof",
        text: false,
    },
    Target {
        kind: MemberKind::Allocs,
        path: "allocs",
        suffix: "allocs.prof",
        text: false,
    },
    Target {
        kind: MemberKind::Goroutine,
        path: "goroutine",
        suffix: "goroutine.prof",
        text: false,
    },
    Target {
        kind: MemberKind::GoroutineDebug1,
        path: "goroutine?debug=1",
        suffix: "goroutines.txt",
        text: true,
    },
    Target {
        kind: MemberKind::GoroutineDebug2,
        path: "goroutine?debug=2",
        suffix: "goroutines-debug2.txt",
        text: true,
    },
    Target {
        kind: MemberKind::Mutex,
        path: "mutex",
        suffix: "mutex.prof",
        text: false,
    },
    Target {
        kind: MemberKind::Block,
        path: "block",
        suffix: "block.prof",
        text: false,
    },
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub kind: MemberKind,
    pub path: PathBuf,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: MemberKind,
    pub url: String,
    pub what: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub prefix: String,
    pub saved: Vec<Saved>,
    pub failures: Vec<Failure>,
    /// None when nothing could be fetched (no context is written then).
    pub context_path: Option<PathBuf>,
}

impl Outcome {
    pub fn complete(&self) -> bool {
        self.failures.is_empty()
    }
}

/// What stops a collection before it starts (or stops it writing at all).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("--url {0:?}: {1}")]
    BadUrl(String, String),
    #[error("--host {0:?}: {1}")]
    BadHost(String, String),
    #[error("{}: a set named {prefix} is already there; not overwriting it", dir.display())]
    Exists { dir: PathBuf, prefix: String },
    #[error("{}: {what}", path.display())]
    Write { path: PathBuf, what: String },
    #[error("{0}")]
    Process(#[from] process::ProcessError),
}

/// Collects a complete set; failures of single members are in the outcome, not errors.
pub fn collect(options: &CollectOptions) -> Result<Outcome, CollectError> {
    let base = base_url(&options.url)?;
    check_host(&options.host)?;
    let at = options.at.unwrap_or_else(UtcTime::now);
    let prefix = format!("{}-{}svc-{}", options.host, options.services, at.compact());
    let dir = &options.out_dir;
    std::fs::create_dir_all(dir).map_err(|e| CollectError::Write {
        path: dir.clone(),
        what: crate::error::describe_io(&e),
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
    let cpu_timeout = options.timeout + Duration::from_secs(options.cpu_seconds);

    let mut saved = Vec::new();
    let mut failures = Vec::new();
    let cpu_result = std::thread::scope(|scope| {
        let cpu = scope.spawn(|| fetch(&cpu_url, cpu_timeout, options.max_body_bytes));
        for target in &TARGETS[1..] {
            let url = format!("{base}/debug/pprof/{}", target.path);
            let result = fetch(&url, options.timeout, options.max_body_bytes);
            store(
                *target,
                &url,
                result,
                dir,
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
        Ok::<_, CollectError>(
            cpu.join()
                .unwrap_or_else(|_| Err("the fetching thread failed".to_string())),
        )
    })?;
    let wall = started.elapsed().as_secs_f64();
    store(
        cpu_target,
        &cpu_url,
        cpu_result,
        dir,
        &prefix,
        &mut saved,
        &mut failures,
    )?;
    saved.sort_by_key(|s| TARGETS.iter().position(|t| t.kind == s.kind));

    let process_end = options.pid.map(process::snapshot).transpose()?;
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
            (Some(start), Some(end)) => Some(process_stats(&start, &end, wall)),
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
            what: crate::error::describe_io(&e),
        }
    })?;
    Ok(Outcome {
        prefix,
        saved,
        failures,
        context_path: Some(context_path),
    })
}

fn process_stats(start: &process::Snapshot, end: &process::Snapshot, wall: f64) -> ProcessStats {
    let round2 = |v: f64| (v * 100.0).round() / 100.0;
    ProcessStats {
        pid: Some(end.pid),
        cpu_percent: process::cpu_percent_between(start, end, wall).map(round2),
        cpu_percent_lifetime: (end.uptime_seconds > 0.0)
            .then(|| round2(end.cpu_seconds / end.uptime_seconds * 100.0)),
        rss: Some(ByteSize(end.rss_bytes)),
        vsz: Some(ByteSize(end.vsz_bytes)),
        threads: Some(end.threads),
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
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len}s, {eta} left")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("CPU profile");
    bar.set_position(started.elapsed().as_secs());
    bar
}

/// Checks the body and writes it, or records why it could not be kept.
#[allow(clippy::too_many_arguments)]
fn store(
    target: Target,
    url: &str,
    result: Result<Vec<u8>, String>,
    dir: &Path,
    prefix: &str,
    saved: &mut Vec<Saved>,
    failures: &mut Vec<Failure>,
) -> Result<(), CollectError> {
    let body = match result.and_then(|body| check_body(target, body)) {
        Ok(body) => body,
        Err(what) => {
            failures.push(Failure {
                kind: target.kind,
                url: url.to_string(),
                what,
            });
            return Ok(());
        }
    };
    let path = dir.join(format!("{prefix}-{}", target.suffix));
    write_atomic(&path, &body, Existing::Refuse).map_err(|e| CollectError::Write {
        path: path.clone(),
        what: crate::error::describe_io(&e),
    })?;
    saved.push(Saved {
        kind: target.kind,
        bytes: body.len() as u64,
        path,
    });
    Ok(())
}

/// A body is kept only when it is what was asked for: a decodable profile or dump.
fn check_body(target: Target, body: Vec<u8>) -> Result<Vec<u8>, String> {
    if target.text {
        goroutine::parse(&body).map_err(|e| format!("the body is not a goroutine dump: {e}"))?;
    } else {
        profile::decode(&body, &DecodeOptions::default())
            .map_err(|e| format!("the body is not a profile: {e}"))?;
    }
    Ok(body)
}

/// GETs a URL: the body of a 200 answer, or why there is none, in words.
fn fetch(url: &str, timeout: Duration, max_body: u64) -> Result<Vec<u8>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        // A redirect could lead anywhere; a pprof endpoint has no reason to send one.
        .max_redirects(0)
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| describe(&e, timeout))?;
    let status = response.status();
    let body = response
        .body_mut()
        .with_config()
        .limit(max_body)
        .read_to_vec()
        .map_err(|e| describe(&e, timeout))?;
    if status != 200 {
        let text = String::from_utf8_lossy(&body);
        let first_line = text.lines().next().unwrap_or("").trim();
        let reason = status.canonical_reason().unwrap_or("");
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(|l| format!(" to {l}; not followed"))
            .unwrap_or_default();
        let detail = if first_line.is_empty() {
            String::new()
        } else {
            format!(": {}", first_line.chars().take(200).collect::<String>())
        };
        return Err(format!(
            "HTTP {} {reason}{location}{detail}",
            status.as_u16()
        ));
    }
    Ok(body)
}

fn describe(error: &ureq::Error, timeout: Duration) -> String {
    match error {
        ureq::Error::Timeout(_) => format!(
            "no complete answer within {} (raise --timeout)",
            HumanDuration::from_secs(timeout.as_secs_f64())
        ),
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is the service listening there?)".to_string()
        }
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::BodyExceedsLimit(limit) => {
            format!("the body is larger than {limit} bytes (raise --max-size)")
        }
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

/// The longest host accepted, in bytes (a DNS label's limit): the set's file names stay far
/// below the 255 bytes file systems allow.
const HOST_BYTES_MAX: usize = 63;

/// The host becomes part of file names: it must be one plain name, so that no file of the
/// set can land outside `--out` or be misread: letters, digits, `-`, `_` and `.`, not
/// starting with a dot or a dash.
fn check_host(host: &str) -> Result<(), CollectError> {
    let bad = |why: &str| CollectError::BadHost(host.to_string(), why.to_string());
    if host.is_empty() {
        return Err(bad("it is empty"));
    }
    if host.starts_with('.') || host.starts_with('-') {
        return Err(bad("it may not start with a dot or a dash"));
    }
    if host.len() > HOST_BYTES_MAX {
        return Err(bad(&format!("it is longer than {HOST_BYTES_MAX} bytes")));
    }
    if !host
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(bad(
            "it becomes part of file names: use letters, digits, '-', '_' or '.'",
        ));
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
        assert!(check_host("höst_1.example").is_ok());
        for bad in [
            "..",
            ".hidden",
            "-rf",
            "a:b",
            "a*b",
            "a|b",
            "a<b>",
            "a\"b",
            "a?b",
            "a\\b",
            "a b",
            "x\u{202e}gpj",
            "a\nb",
            "/abs",
        ] {
            assert!(check_host(bad).is_err(), "{bad:?}");
        }
        assert!(check_host(&"h".repeat(63)).is_ok());
        assert!(check_host(&"h".repeat(64)).is_err());
    }
}
