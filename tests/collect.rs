//! `collect` against a real HTTP listener on loopback that serves the fixture set, with one
//! endpoint broken per test: each failure gives its message and loses nothing else.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use pprof_report::collect::{CollectOptions, collect};
use pprof_report::set::{self, MemberKind};
use pprof_report::timefmt::UtcTime;

const SET: &str = "profiles/fixture-3svc-20261125-120000";

/// How the fake service answers one path.
#[derive(Clone)]
enum Answer {
    File(&'static str),
    Status(u16, &'static str),
    Body(&'static [u8]),
    /// Accept, then say nothing until the server stops.
    Silence,
    /// Redirect elsewhere.
    Redirect(&'static str),
}

fn answer_for(path: &str, broken: &[(&str, Answer)]) -> Answer {
    for (prefix, answer) in broken {
        if path.starts_with(prefix) {
            return answer.clone();
        }
    }
    let route = path.trim_start_matches("/debug/pprof/");
    let member = match route.split('?').next().unwrap_or("") {
        "profile" => "cpu.prof",
        "heap" => "heap.prof",
        "allocs" => "allocs.prof",
        "mutex" => "mutex.prof",
        "block" => "block.prof",
        "goroutine" if route.ends_with("debug=1") => "goroutines.txt",
        "goroutine" if route.ends_with("debug=2") => "goroutines-debug2.txt",
        "goroutine" => "goroutine.prof",
        _ => return Answer::Status(404, "404 page not found"),
    };
    Answer::File(member)
}

/// A one-thread HTTP/1.0-style server on 127.0.0.1; stopped and joined on drop.
struct FakeService {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeService {
    fn start(broken: Vec<(&'static str, Answer)>) -> FakeService {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut silent: Vec<TcpStream> = Vec::new();
            for stream in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let mut line = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                reader.read_line(&mut line).unwrap();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap() == 0 || header.trim().is_empty() {
                        break;
                    }
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                let respond = |stream: &mut TcpStream, status: u16, extra: &str, body: &[u8]| {
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(body);
                };
                match answer_for(&path, &broken) {
                    Answer::File(member) => {
                        let body =
                            std::fs::read(common::fixture(&format!("{SET}-{member}"))).unwrap();
                        respond(&mut stream, 200, "", &body);
                    }
                    Answer::Status(code, text) => respond(&mut stream, code, "", text.as_bytes()),
                    Answer::Body(body) => respond(&mut stream, 200, "", body),
                    Answer::Redirect(to) => {
                        respond(&mut stream, 302, &format!("Location: {to}\r\n"), b"")
                    }
                    Answer::Silence => silent.push(stream),
                }
            }
        });
        FakeService {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for FakeService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn options(url: String, out: &Path) -> CollectOptions {
    CollectOptions {
        url,
        host: "fake".to_string(),
        services: 3,
        cpu_seconds: 1,
        out_dir: out.to_path_buf(),
        pid: Some(std::process::id()),
        timeout: Duration::from_secs(2),
        max_body_bytes: 1 << 30,
        progress: false,
        at: Some(UtcTime::from_unix_seconds(1_764_072_000)),
    }
}

fn saved_kinds(out: &Path) -> Vec<MemberKind> {
    let set = set::open(&out.join("fake-3svc-20251125-120000"), &Default::default()).unwrap();
    set.members.iter().map(|m| m.kind).collect()
}

#[test]
fn a_healthy_service_gives_a_complete_set_with_its_context() {
    let service = FakeService::start(vec![]);
    let out = tempfile::tempdir().unwrap();
    let outcome = collect(&options(service.url(), out.path())).unwrap();
    assert!(outcome.complete(), "{:?}", outcome.failures);
    assert_eq!(saved_kinds(out.path()), MemberKind::EXPECTED.to_vec());
    let set = set::open(out.path(), &Default::default()).unwrap();
    assert!(set.missing.is_empty());
    let context = pprof_report::context::Context::load(set.context.as_ref().unwrap()).unwrap();
    assert_eq!(context.host.as_deref(), Some("fake"));
    assert_eq!(context.services, Some(3));
    assert_eq!(
        context.collected_at.as_deref(),
        Some("2025-11-25T12:00:00Z")
    );
    let process = context.process.unwrap();
    assert_eq!(process.pid, Some(std::process::id()));
    assert!(process.rss.unwrap().0 > 0);
    // The fixture bodies arrive unchanged.
    let cpu = std::fs::read(out.path().join("fake-3svc-20251125-120000-cpu.prof")).unwrap();
    assert_eq!(
        cpu,
        std::fs::read(common::fixture(&format!("{SET}-cpu.prof"))).unwrap()
    );
}

fn collect_with(broken: Vec<(&'static str, Answer)>) -> (tempfile::TempDir, Vec<String>) {
    let service = FakeService::start(broken);
    let out = tempfile::tempdir().unwrap();
    let outcome = collect(&options(service.url(), out.path())).unwrap();
    let failures = outcome
        .failures
        .iter()
        .map(|f| format!("{:?}: {}", f.kind, f.what))
        .collect();
    (out, failures)
}

fn all_but(kind: MemberKind) -> Vec<MemberKind> {
    MemberKind::EXPECTED
        .iter()
        .copied()
        .filter(|k| *k != kind)
        .collect()
}

#[test]
fn cpu_profiling_already_in_use() {
    let (out, failures) = collect_with(vec![(
        "/debug/pprof/profile",
        Answer::Status(
            500,
            "Could not enable CPU profiling: cpu profiling already in use\n",
        ),
    )]);
    assert_eq!(
        failures,
        vec![
            "Cpu: HTTP 500 Internal Server Error: Could not enable CPU profiling: \
             cpu profiling already in use"
        ]
    );
    assert_eq!(saved_kinds(out.path()), all_but(MemberKind::Cpu));
}

#[test]
fn an_endpoint_that_does_not_exist() {
    let (out, failures) = collect_with(vec![(
        "/debug/pprof/mutex",
        Answer::Status(404, "404 page not found"),
    )]);
    assert_eq!(
        failures,
        vec!["Mutex: HTTP 404 Not Found: 404 page not found"]
    );
    assert_eq!(saved_kinds(out.path()), all_but(MemberKind::Mutex));
}

#[test]
fn a_body_that_is_not_a_profile() {
    let (out, failures) = collect_with(vec![(
        "/debug/pprof/heap",
        Answer::Body(b"<html><body>login required</body></html>"),
    )]);
    assert_eq!(
        failures,
        vec![
            "Heap: the body is not a profile: not a pprof profile: it is a text file starting \
             \"<html><body>login required</body></html>\""
        ]
    );
    assert_eq!(saved_kinds(out.path()), all_but(MemberKind::Heap));
}

#[test]
fn a_dump_that_is_not_a_dump() {
    let (out, failures) = collect_with(vec![(
        "/debug/pprof/goroutine?debug=2",
        Answer::Body(b"goroutine profile: total 3\n"),
    )]);
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].starts_with("GoroutineDebug2: the body is not a goroutine dump: "),
        "{failures:?}"
    );
    assert_eq!(
        saved_kinds(out.path()),
        all_but(MemberKind::GoroutineDebug2)
    );
}

#[test]
fn a_silent_endpoint_times_out() {
    let (out, failures) = collect_with(vec![("/debug/pprof/block", Answer::Silence)]);
    assert_eq!(
        failures,
        vec!["Block: no complete answer within 2s (raise --timeout)"]
    );
    assert_eq!(saved_kinds(out.path()), all_but(MemberKind::Block));
}

#[test]
fn a_redirect_is_not_followed() {
    let (out, failures) = collect_with(vec![(
        "/debug/pprof/allocs",
        Answer::Redirect("http://elsewhere.example/x"),
    )]);
    assert_eq!(
        failures,
        vec!["Allocs: HTTP 302 Found to http://elsewhere.example/x; not followed"]
    );
    assert_eq!(saved_kinds(out.path()), all_but(MemberKind::Allocs));
}

#[test]
fn a_refused_connection_fails_every_member_and_writes_nothing() {
    // Bind then drop a listener: nothing listens on that port afterwards.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = tempfile::tempdir().unwrap();
    let outcome = collect(&options(format!("http://127.0.0.1:{port}"), out.path())).unwrap();
    assert_eq!(outcome.failures.len(), 8);
    assert!(
        outcome
            .failures
            .iter()
            .all(|f| f.what == "connection refused (is the service listening there?)")
    );
    assert!(outcome.context_path.is_none());
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn an_existing_set_is_never_overwritten() {
    let service = FakeService::start(vec![]);
    let out = tempfile::tempdir().unwrap();
    let existing: PathBuf = out.path().join("fake-3svc-20251125-120000-heap.prof");
    std::fs::write(&existing, b"precious").unwrap();
    let error = collect(&options(service.url(), out.path())).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: a set named fake-3svc-20251125-120000 is already there; not overwriting it",
            out.path().display()
        )
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1);
}

#[test]
fn the_command_line_reports_an_incomplete_set_and_exits_1() {
    let service = FakeService::start(vec![(
        "/debug/pprof/profile",
        Answer::Status(500, "cpu profiling already in use"),
    )]);
    let out = tempfile::tempdir().unwrap();
    let url = service.url();
    let (code, stdout, stderr) = common::run(
        &[
            "collect",
            "--url",
            &url,
            "--host",
            "cli",
            "--services",
            "3",
            "--seconds",
            "1",
            "--out",
            ".",
            "--quiet",
        ],
        out.path(),
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout.lines().count(), 8, "{stdout}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert_eq!(
        lines[0],
        format!(
            "error: CPU profile ({url}/debug/pprof/profile?seconds=1): HTTP 500 Internal \
             Server Error: cpu profiling already in use"
        )
    );
    assert!(lines[1].starts_with("error: set cli-3svc-"), "{}", lines[1]);
    assert!(
        lines[1].ends_with(" is incomplete: 7 of 8 members saved"),
        "{}",
        lines[1]
    );
}
