//! `collect` against a real HTTP listener on loopback that serves the fixture set, with one
//! endpoint broken per test: each failure gives its message and loses nothing else. The
//! hostile answers (endless, dripping, cut, garbage, bombs, redirects) also check that the
//! collection ends in bounded time and writes nothing but whole members inside `--out`.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pprof_report::collect::{CollectOptions, Outcome, collect};
use pprof_report::profile::DecodeOptions;
use pprof_report::set::{self, MemberKind};
use pprof_report::timefmt::UtcTime;

const SET: &str = "profiles/fixture-3svc-20261125-120000";
/// The members the generator set lacks (window profiles, the heap text) come from a set
/// collected from the simulator.
const WINDOW_SET: &str = "profiles/sim119-3svc-20261201-120000";
const WINDOW_MEMBERS: [&str; 4] = [
    "heap.txt",
    "allocs-window.prof",
    "mutex-window.prof",
    "block-window.prof",
];
/// The goroutine leak profile and its dump come from a set collected from the simulator
/// built with Go 1.27 and leaking goroutines.
const LEAK_SET: &str = "profiles/sim127-leaky-3svc-20261201-123000";
const LEAK_MEMBERS: [&str; 2] = ["goroutineleak.prof", "goroutineleak-debug2.txt"];
const PREFIX: &str = "fake-3svc-20251125-120000";

/// How the fake service answers one path.
#[derive(Clone)]
enum Answer {
    File(&'static str),
    Status(u16, &'static str),
    /// 200 with this body.
    Body(Vec<u8>),
    /// 200 with this Content-Type and body.
    Typed(&'static str, Vec<u8>),
    /// Accept, then say nothing until the server stops.
    Silence,
    /// A redirect (status, Location).
    Redirect(u16, String),
    /// 200, chunked, 64 KiB chunks for as long as the client reads.
    EndlessChunked,
    /// 200 announcing a petabyte, then bytes for as long as the client reads.
    EndlessLength,
    /// This status, then a chunked body for as long as the client reads.
    EndlessStatus(u16),
    /// 200 announcing a megabyte, then one byte every 200 ms.
    Drip,
    /// The fixture member's real Content-Length, half of it, then close.
    Cut(&'static str),
    /// HTTP/1.0, no Content-Length: the fixture member, then close.
    Http10(&'static str),
    /// A 1 MiB header line before a valid answer.
    HugeHeader(&'static str),
    /// These bytes (no HTTP at all), then close.
    Raw(&'static [u8]),
}

fn answer_for(path: &str, broken: &[(&str, Answer)]) -> Answer {
    for (route, answer) in broken {
        // Exact, but the CPU profile's route matches whatever --seconds asked for.
        let cpu = *route == "/debug/pprof/profile" && path.starts_with("/debug/pprof/profile?");
        if path == *route || cpu {
            return answer.clone();
        }
    }
    let route = path.trim_start_matches("/debug/pprof/");
    let window = route.contains("?seconds=");
    let member = match route.split('?').next().unwrap_or("") {
        "profile" => "cpu.prof",
        "heap" if route.ends_with("debug=1") => "heap.txt",
        "allocs" if window => "allocs-window.prof",
        "mutex" if window => "mutex-window.prof",
        "block" if window => "block-window.prof",
        "heap" => "heap.prof",
        "allocs" => "allocs.prof",
        "mutex" => "mutex.prof",
        "block" => "block.prof",
        "goroutine" if route.ends_with("debug=1") => "goroutines.txt",
        "goroutine" if route.ends_with("debug=2") => "goroutines-debug2.txt",
        "goroutine" => "goroutine.prof",
        "goroutineleak" if route.ends_with("debug=2") => "goroutineleak-debug2.txt",
        "goroutineleak" => "goroutineleak.prof",
        _ => return Answer::Status(404, "404 page not found"),
    };
    Answer::File(member)
}

fn fixture_member(member: &str) -> Vec<u8> {
    if LEAK_MEMBERS.contains(&member) {
        let path = common::fixture(&format!("{LEAK_SET}-{member}"));
        if path.exists() {
            return std::fs::read(path).unwrap();
        }
        // The dump is committed gzipped; the service sends it as text.
        let gz = std::fs::read(common::fixture(&format!("{LEAK_SET}-{member}.gz"))).unwrap();
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
        return text;
    }
    let set = if WINDOW_MEMBERS.contains(&member) {
        WINDOW_SET
    } else {
        SET
    };
    std::fs::read(common::fixture(&format!("{set}-{member}"))).unwrap()
}

/// Every member collect fetches, in the set's order.
fn all_kinds() -> Vec<MemberKind> {
    [
        MemberKind::EXPECTED.as_slice(),
        MemberKind::OPTIONAL.as_slice(),
    ]
    .concat()
}

/// An HTTP server on a loopback address, one thread per connection; every thread is stopped
/// and joined on drop.
struct FakeService {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeService {
    fn start(broken: Vec<(&'static str, Answer)>) -> FakeService {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (stop_flag, log) = (stop.clone(), requests.clone());
        let broken = Arc::new(broken);
        let thread = std::thread::spawn(move || {
            let mut handlers = Vec::new();
            for stream in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (broken, stop, log) = (broken.clone(), stop_flag.clone(), log.clone());
                handlers.push(std::thread::spawn(move || {
                    serve(stream, &broken, &stop, &log);
                }));
            }
            for handler in handlers {
                let _ = handler.join();
            }
        });
        FakeService {
            addr,
            stop,
            requests,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Writes all of `bytes` unless the client goes away or the server stops (false then).
/// Writes time out every 50 ms so that a client that stopped reading cannot pin the thread.
fn send(stream: &mut TcpStream, mut bytes: &[u8], stop: &AtomicBool) -> bool {
    while !bytes.is_empty() {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        match stream.write(bytes) {
            Ok(0) => return false,
            Ok(n) => bytes = &bytes[n..],
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return false,
        }
    }
    true
}

fn serve(
    mut stream: TcpStream,
    broken: &[(&'static str, Answer)],
    stop: &AtomicBool,
    log: &Mutex<Vec<String>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_millis(50)));
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    log.lock().unwrap().push(path.clone());
    let head = |status: u16, extra: &str, length: usize| {
        format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {length}\r\nConnection: close\r\n{extra}\r\n"
        )
    };
    let s = &mut stream;
    let mut reply = |status: u16, extra: &str, body: &[u8]| {
        let _ = send(s, head(status, extra, body.len()).as_bytes(), stop) && send(s, body, stop);
    };
    let filler = vec![b'x'; 1 << 16];
    let chunk = [
        format!("{:x}\r\n", filler.len()).as_bytes(),
        &filler,
        b"\r\n",
    ]
    .concat();
    match answer_for(&path, broken) {
        Answer::File(member) => reply(200, "", &fixture_member(member)),
        Answer::Status(code, text) => reply(code, "", text.as_bytes()),
        Answer::Body(body) => reply(200, "", &body),
        Answer::Typed(kind, body) => reply(200, &format!("Content-Type: {kind}\r\n"), &body),
        Answer::Redirect(code, to) => reply(code, &format!("Location: {to}\r\n"), b""),
        Answer::Silence => {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Answer::EndlessChunked => endless(s, 200, "Transfer-Encoding: chunked", &chunk, stop),
        Answer::EndlessStatus(code) => endless(s, code, "Transfer-Encoding: chunked", &chunk, stop),
        Answer::EndlessLength => endless(
            s,
            200,
            "Content-Length: 1000000000000000",
            &chunk[8..],
            stop,
        ),
        Answer::Drip => {
            if send(s, head(200, "", 1 << 20).as_bytes(), stop) {
                while send(s, b"\x1f", stop) {
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        Answer::Cut(member) => {
            let body = fixture_member(member);
            let _ = send(s, head(200, "", body.len()).as_bytes(), stop)
                && send(s, &body[..body.len() / 2], stop);
        }
        Answer::Http10(member) => {
            let _ = send(
                s,
                b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n",
                stop,
            ) && send(s, &fixture_member(member), stop);
        }
        Answer::HugeHeader(member) => {
            let body = fixture_member(member);
            let mut answer = b"HTTP/1.1 200 OK\r\nX-Junk: ".to_vec();
            answer.extend(std::iter::repeat_n(b'a', 1 << 20));
            answer.extend(format!("\r\nContent-Length: {}\r\n\r\n", body.len()).bytes());
            answer.extend(body);
            let _ = send(s, &answer, stop);
        }
        Answer::Raw(bytes) => {
            let _ = send(s, bytes, stop);
        }
    }
    // Let the client read what was sent before the close.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut rest = [0u8; 1024];
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let _ = stream.read(&mut rest);
}

/// A head with this status and header, then `piece` again and again until the client goes.
fn endless(s: &mut TcpStream, status: u16, header: &str, piece: &[u8], stop: &AtomicBool) {
    let head = format!("HTTP/1.1 {status} X\r\n{header}\r\n\r\n");
    if send(s, head.as_bytes(), stop) {
        while send(s, piece, stop) {}
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
        deadline: Duration::from_secs(30),
        max_body_bytes: 1 << 30,
        decode: DecodeOptions::default(),
        progress: false,
        at: Some(UtcTime::from_unix_seconds(1_764_072_000)),
    }
}

fn saved_kinds(out: &Path) -> Vec<MemberKind> {
    let set = set::open(&out.join(PREFIX), &Default::default()).unwrap();
    set.members.iter().map(|m| m.kind).collect()
}

#[test]
fn a_healthy_service_gives_a_complete_set_with_its_context() {
    let service = FakeService::start(vec![]);
    let out = tempfile::tempdir().unwrap();
    let outcome = collect(&options(service.url(), out.path())).unwrap();
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!(saved_kinds(out.path()), all_kinds());
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
    let cpu = std::fs::read(out.path().join(format!("{PREFIX}-cpu.prof"))).unwrap();
    assert_eq!(cpu, fixture_member("cpu.prof"));
    for member in WINDOW_MEMBERS {
        let saved = std::fs::read(out.path().join(format!("{PREFIX}-{member}"))).unwrap();
        assert_eq!(saved, fixture_member(member), "{member}");
    }
    for member in LEAK_MEMBERS {
        let saved = std::fs::read(out.path().join(format!("{PREFIX}-{member}"))).unwrap();
        assert_eq!(saved, fixture_member(member), "{member}");
    }
    // The windows are asked over --seconds, then the heap text, then the leak profile and its
    // dump, whose writing runs a GC (the fake service answers at once, so the log shows the
    // order collect asked in).
    let requests = service.requests();
    for window in ["allocs", "mutex", "block"] {
        assert!(
            requests.contains(&format!("/debug/pprof/{window}?seconds=1")),
            "{requests:?}"
        );
    }
    assert_eq!(
        requests[requests.len() - 3..],
        [
            "/debug/pprof/heap?debug=1",
            "/debug/pprof/goroutineleak",
            "/debug/pprof/goroutineleak?debug=2"
        ],
        "{requests:?}"
    );
}

#[test]
fn a_server_that_ignores_seconds_fails_the_windows_and_the_set_stays_complete() {
    // net/http/pprof before Go 1.16 serves the profile since start for ?seconds=N.
    let (out, failures) = collect_with(vec![
        ("/debug/pprof/allocs?seconds=1", Answer::File("allocs.prof")),
        ("/debug/pprof/mutex?seconds=1", Answer::File("mutex.prof")),
        ("/debug/pprof/block?seconds=1", Answer::File("block.prof")),
    ]);
    let why = "the answer states no duration, so it is the profile since the process started: \
               the server ignores ?seconds= (net/http/pprof before Go 1.16); reports fall back \
               to the profile since start";
    assert_eq!(
        failures,
        vec![
            format!("AllocsWindow: {why}"),
            format!("MutexWindow: {why}"),
            format!("BlockWindow: {why}"),
        ]
    );
    let set = set::open(&out.path().join(PREFIX), &Default::default()).unwrap();
    assert!(set.missing.is_empty(), "{:?}", set.missing);
    assert_eq!(
        saved_kinds(out.path()),
        [
            MemberKind::EXPECTED.as_slice(),
            &[
                MemberKind::MemStats,
                MemberKind::GoroutineLeak,
                MemberKind::GoroutineLeakDebug2
            ]
        ]
        .concat()
    );
}

#[test]
fn a_server_without_the_delta_endpoint_fails_the_windows_with_its_reason() {
    let refusal = "\"seconds\" parameter is not supported for this profile type\n";
    let service = FakeService::start(vec![
        (
            "/debug/pprof/allocs?seconds=1",
            Answer::Status(400, refusal),
        ),
        (
            "/debug/pprof/mutex?seconds=1",
            Answer::Status(404, "404 page not found"),
        ),
    ]);
    let out = tempfile::tempdir().unwrap();
    let outcome = collect(&options(service.url(), out.path())).unwrap();
    assert!(outcome.complete());
    assert_eq!(
        failure_lines(&outcome),
        vec![
            "AllocsWindow: HTTP 400 Bad Request: \"seconds\" parameter is not supported for \
             this profile type",
            "MutexWindow: HTTP 404 Not Found: 404 page not found",
        ]
    );
    assert!(outcome.failures.iter().all(|f| f.optional()));
}

#[test]
fn a_heap_text_without_memstats_is_not_kept() {
    let (out, failures) = collect_with(vec![(
        "/debug/pprof/heap?debug=1",
        Answer::Body(b"heap profile: 0: 0 [0: 0] @ heap/1048576\n".to_vec()),
    )]);
    assert_eq!(
        failures,
        vec![
            "MemStats: the body is not a heap profile text with runtime.MemStats: no \
             \"# runtime.MemStats\" block (the text is cut, or not written by Go's runtime/pprof)"
        ]
    );
    assert!(!out.path().join(format!("{PREFIX}-heap.txt")).exists());
}

#[test]
fn the_command_line_warns_about_optional_members_and_exits_0() {
    let service = FakeService::start(vec![(
        "/debug/pprof/block?seconds=1",
        Answer::Status(404, "404 page not found"),
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
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 14, "{stdout}");
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        vec![format!(
            "warning: block profile over the window ({url}/debug/pprof/block?seconds=1): HTTP \
             404 Not Found: 404 page not found"
        )]
    );
}

fn collect_with(broken: Vec<(&'static str, Answer)>) -> (tempfile::TempDir, Vec<String>) {
    let service = FakeService::start(broken);
    let out = tempfile::tempdir().unwrap();
    let outcome = collect(&options(service.url(), out.path())).unwrap();
    (out, failure_lines(&outcome))
}

fn failure_lines(outcome: &Outcome) -> Vec<String> {
    outcome
        .failures
        .iter()
        .map(|f| format!("{:?}: {}", f.kind, f.what))
        .collect()
}

fn all_but(kinds: &[MemberKind]) -> Vec<MemberKind> {
    all_kinds()
        .into_iter()
        .filter(|k| !kinds.contains(k))
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
    assert_eq!(saved_kinds(out.path()), all_but(&[MemberKind::Cpu]));
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
    assert_eq!(saved_kinds(out.path()), all_but(&[MemberKind::Mutex]));
}

#[test]
fn a_body_that_is_not_a_profile() {
    let (out, failures) = collect_with(vec![(
        "/debug/pprof/heap",
        Answer::Body(b"Forbidden: login required\n".to_vec()),
    )]);
    assert_eq!(
        failures,
        vec![
            "Heap: the body is not a profile: not a pprof profile: it is a text file starting \
             \"Forbidden: login required\""
        ]
    );
    assert_eq!(saved_kinds(out.path()), all_but(&[MemberKind::Heap]));
}

#[test]
fn a_dump_that_is_not_a_dump() {
    let (out, failures) = collect_with(vec![(
        "/debug/pprof/goroutine?debug=2",
        Answer::Body(b"goroutine profile: total 3\n".to_vec()),
    )]);
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].starts_with("GoroutineDebug2: the body is not a goroutine dump: "),
        "{failures:?}"
    );
    assert_eq!(
        saved_kinds(out.path()),
        all_but(&[MemberKind::GoroutineDebug2])
    );
}

#[test]
fn a_silent_endpoint_times_out() {
    let (out, failures) = collect_with(vec![("/debug/pprof/block", Answer::Silence)]);
    assert_eq!(
        failures,
        vec!["Block: no complete answer within 2s (raise --timeout)"]
    );
    assert_eq!(saved_kinds(out.path()), all_but(&[MemberKind::Block]));
}

#[test]
fn a_redirect_is_not_followed() {
    let (out, failures) = collect_with(vec![(
        "/debug/pprof/allocs",
        Answer::Redirect(302, "http://elsewhere.example/x".to_string()),
    )]);
    assert_eq!(
        failures,
        vec!["Allocs: HTTP 302 Found to http://elsewhere.example/x; not followed"]
    );
    assert_eq!(saved_kinds(out.path()), all_but(&[MemberKind::Allocs]));
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
    assert_eq!(outcome.failures.len(), 14);
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
    let existing: PathBuf = out.path().join(format!("{PREFIX}-heap.prof"));
    std::fs::write(&existing, b"precious").unwrap();
    let error = collect(&options(service.url(), out.path())).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: a set named {PREFIX} is already there; not overwriting it",
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
    assert_eq!(stdout.lines().count(), 14, "{stdout}");
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

// ---- Hostile servers -------------------------------------------------------------------

/// What one collection against a hostile server did.
struct Run {
    /// The folder `--out` lives in: it must hold nothing but `--out` afterwards.
    root: tempfile::TempDir,
    out: PathBuf,
    outcome: Outcome,
    elapsed: Duration,
    /// Longest the collection may take: the CPU profile's length plus three timeouts and two
    /// seconds of slack for a loaded machine.
    bound: Duration,
    requests: Vec<String>,
}

/// Collects from a fake service with `broken` answers, short limits (1 s timeout, 8 MiB body,
/// 1 MiB decompressed) and whatever `tweak` changes; fails instead of hanging when collect
/// outlives its bound.
fn hostile(broken: Vec<(&'static str, Answer)>, tweak: impl FnOnce(&mut CollectOptions)) -> Run {
    let service = FakeService::start(broken);
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("profiles");
    let mut opts = options(service.url(), &out);
    opts.timeout = Duration::from_secs(1);
    opts.max_body_bytes = 8 << 20;
    opts.decode.max_decompressed_bytes = 1 << 20;
    tweak(&mut opts);
    let bound = Duration::from_secs(opts.cpu_seconds) + opts.timeout * 3 + Duration::from_secs(2);
    let (tx, rx) = std::sync::mpsc::channel();
    let started = Instant::now();
    std::thread::spawn(move || {
        let _ = tx.send(collect(&opts));
    });
    // A collect that never returns fails the test (the service's drop then ends the thread).
    let outcome = rx
        .recv_timeout(bound)
        .unwrap_or_else(|_| panic!("collect still running after {bound:?}"))
        .unwrap();
    let elapsed = started.elapsed();
    eprintln!("collect took {elapsed:?} (bound {bound:?})");
    let requests = service.requests();
    drop(service);
    Run {
        root,
        out,
        outcome,
        elapsed,
        bound,
        requests,
    }
}

impl Run {
    fn failures(&self) -> Vec<String> {
        failure_lines(&self.outcome)
    }

    /// The time bound held; `failed` are the members reported, each in one clean line, the
    /// others are saved whole; nothing else exists in `--out` or beside it.
    fn check(&self, failed: &[MemberKind]) {
        assert!(self.elapsed < self.bound, "took {:?}", self.elapsed);
        let mut failed_kinds: Vec<MemberKind> =
            self.outcome.failures.iter().map(|f| f.kind).collect();
        failed_kinds.sort_by_key(|k| all_kinds().iter().position(|e| e == k));
        assert_eq!(failed_kinds, failed, "{:?}", self.failures());
        for failure in &self.outcome.failures {
            assert!(
                !failure.what.is_empty() && !failure.what.chars().any(char::is_control),
                "not one clean line: {:?}",
                failure.what
            );
        }
        let beside: Vec<_> = std::fs::read_dir(self.root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(beside, vec!["profiles"], "written beside --out");
        let mut names: Vec<String> = std::fs::read_dir(&self.out)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let suffix = |kind: MemberKind| match kind {
            MemberKind::Cpu => "cpu.prof",
            MemberKind::Heap => "heap.prof",
            MemberKind::Allocs => "allocs.prof",
            MemberKind::Goroutine => "goroutine.prof",
            MemberKind::GoroutineDebug1 => "goroutines.txt",
            MemberKind::GoroutineDebug2 => "goroutines-debug2.txt",
            MemberKind::Mutex => "mutex.prof",
            MemberKind::Block => "block.prof",
            MemberKind::MemStats => "heap.txt",
            MemberKind::AllocsWindow => "allocs-window.prof",
            MemberKind::MutexWindow => "mutex-window.prof",
            MemberKind::BlockWindow => "block-window.prof",
            MemberKind::GoroutineLeak => "goroutineleak.prof",
            MemberKind::GoroutineLeakDebug2 => "goroutineleak-debug2.txt",
            other => panic!("{other:?}"),
        };
        let mut expected: Vec<String> = all_but(failed)
            .into_iter()
            .map(|k| format!("{PREFIX}-{}", suffix(k)))
            .collect();
        if expected.is_empty() {
            assert!(self.outcome.context_path.is_none());
        } else {
            expected.push(format!("{PREFIX}-context.yaml"));
        }
        expected.sort();
        assert_eq!(names, expected, "temporary or partial files left behind");
        // Every saved member is the fixture's, byte for byte.
        for kind in all_but(failed) {
            let name = suffix(kind);
            assert_eq!(
                std::fs::read(self.out.join(format!("{PREFIX}-{name}"))).unwrap(),
                fixture_member(name),
                "{name}"
            );
        }
    }
}

#[test]
fn hostile_endless_chunked_body_stops_at_max_size() {
    let run = hostile(vec![("/debug/pprof/heap", Answer::EndlessChunked)], |_| {});
    run.check(&[MemberKind::Heap]);
    assert_eq!(
        run.failures(),
        vec!["Heap: the body is larger than --max-size 8MiB (raise --max-size)"]
    );
}

#[test]
fn hostile_endless_body_with_a_huge_content_length_is_refused_before_reading() {
    let run = hostile(vec![("/debug/pprof/allocs", Answer::EndlessLength)], |_| {});
    run.check(&[MemberKind::Allocs]);
    assert_eq!(
        run.failures(),
        vec![
            "Allocs: the answer announces 1000000000000000 bytes, more than --max-size 8MiB \
             (raise --max-size)"
        ]
    );
}

#[test]
fn hostile_endless_body_with_a_large_max_size_stops_at_the_timeout() {
    // Loopback delivers 1 GiB in about a second: with --max-size above what 1 s can bring,
    // the timeout is what ends it.
    let run = hostile(vec![("/debug/pprof/block", Answer::EndlessChunked)], |o| {
        o.max_body_bytes = 1 << 40;
        o.timeout = Duration::from_millis(300);
    });
    run.check(&[MemberKind::Block]);
    assert_eq!(
        run.failures(),
        vec!["Block: no complete answer within 0.3s (raise --timeout)"]
    );
}

#[test]
fn hostile_slow_drip_is_cut_at_the_timeout() {
    let run = hostile(vec![("/debug/pprof/mutex", Answer::Drip)], |_| {});
    run.check(&[MemberKind::Mutex]);
    assert_eq!(
        run.failures(),
        vec!["Mutex: no complete answer within 1s (raise --timeout)"]
    );
    // It is the timeout that ended it, not something sooner.
    assert!(
        run.elapsed >= Duration::from_millis(900),
        "{:?}",
        run.elapsed
    );
}

#[test]
fn hostile_slow_drip_of_the_cpu_profile_is_cut_at_seconds_plus_timeout() {
    let run = hostile(vec![("/debug/pprof/profile", Answer::Drip)], |_| {});
    run.check(&[MemberKind::Cpu]);
    assert_eq!(
        run.failures(),
        vec!["Cpu: no complete answer within 2s (--seconds 1 + --timeout 1s; raise --timeout)"]
    );
    assert!(
        run.elapsed >= Duration::from_millis(1900),
        "{:?}",
        run.elapsed
    );
}

#[test]
fn hostile_silence_is_cut_at_the_timeout() {
    let run = hostile(
        vec![("/debug/pprof/goroutine?debug=1", Answer::Silence)],
        |_| {},
    );
    run.check(&[MemberKind::GoroutineDebug1]);
    assert_eq!(
        run.failures(),
        vec!["GoroutineDebug1: no complete answer within 1s (raise --timeout)"]
    );
}

#[test]
fn hostile_html_page_with_200_is_not_a_profile() {
    let page = b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n\
                 <body><h1>502 Bad Gateway</h1></body></html>\n";
    let run = hostile(
        vec![
            (
                "/debug/pprof/heap",
                Answer::Typed("text/html; charset=utf-8", page.to_vec()),
            ),
            (
                "/debug/pprof/goroutine?debug=2",
                Answer::Typed("text/html", page.to_vec()),
            ),
        ],
        |_| {},
    );
    run.check(&[MemberKind::Heap, MemberKind::GoroutineDebug2]);
    assert_eq!(
        run.failures(),
        vec![
            "Heap: the body is an HTML page (Content-Type text/html; charset=utf-8), not a \
             profile: \"502 Bad Gateway\"",
            "GoroutineDebug2: the body is an HTML page (Content-Type text/html), not a \
             goroutine dump: \"502 Bad Gateway\"",
        ]
    );
}

#[test]
fn hostile_json_error_with_200_is_not_a_profile() {
    let run = hostile(
        vec![(
            "/debug/pprof/allocs",
            Answer::Typed(
                "application/json",
                b"{\"error\":\"unauthorized\"}\n".to_vec(),
            ),
        )],
        |_| {},
    );
    run.check(&[MemberKind::Allocs]);
    assert_eq!(
        run.failures(),
        vec![
            "Allocs: the body (Content-Type application/json) is not a profile: not a pprof \
             profile: it is a text file starting \"{\\\"error\\\":\\\"unauthorized\\\"}\""
        ]
    );
}

#[test]
fn hostile_valid_profile_with_an_unusual_content_type_is_kept() {
    // Proxies relabel bodies; what decides is that the body decodes.
    let run = hostile(
        vec![
            (
                "/debug/pprof/heap",
                Answer::Typed("text/html", fixture_member("heap.prof")),
            ),
            (
                "/debug/pprof/goroutine?debug=1",
                Answer::Typed("application/json", fixture_member("goroutines.txt")),
            ),
        ],
        |_| {},
    );
    run.check(&[]);
}

#[test]
fn hostile_redirect_to_another_host_is_not_followed() {
    // A listener on another loopback address: it must never see a connection.
    let elsewhere = TcpListener::bind("127.0.0.2:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let to = format!(
        "http://{}/debug/pprof/heap",
        elsewhere.local_addr().unwrap()
    );
    let run = hostile(
        vec![("/debug/pprof/heap", Answer::Redirect(307, to.clone()))],
        |_| {},
    );
    run.check(&[MemberKind::Heap]);
    assert_eq!(
        run.failures(),
        vec![format!(
            "Heap: HTTP 307 Temporary Redirect to {to}; not followed"
        )]
    );
    let error = elsewhere.accept().unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
}

#[test]
fn hostile_redirect_loop_is_asked_once() {
    let run = hostile(
        vec![(
            "/debug/pprof/mutex",
            Answer::Redirect(308, "/debug/pprof/mutex".to_string()),
        )],
        |_| {},
    );
    run.check(&[MemberKind::Mutex]);
    assert_eq!(
        run.failures(),
        vec!["Mutex: HTTP 308 Permanent Redirect to /debug/pprof/mutex; not followed"]
    );
    let asked = run
        .requests
        .iter()
        .filter(|p| p.as_str() == "/debug/pprof/mutex")
        .count();
    assert_eq!(asked, 1, "{:?}", run.requests);
}

/// 64 MiB of zeros gzipped: 64 KiB on the wire.
fn gzip_bomb() -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Valid protobuf all the way (field 15, varint 0, repeated), so that a streaming decoder
    // reads on until the decompressed-size limit stops it, as a bomb in profile form would.
    let filler: Vec<u8> = [0x78u8, 0x00].repeat(1 << 19);
    for _ in 0..64 {
        encoder.write_all(&filler).unwrap();
    }
    encoder.finish().unwrap()
}

#[test]
fn hostile_gzip_bomb_is_refused_at_the_decompressed_limit() {
    let bomb = gzip_bomb();
    assert!(bomb.len() < 1 << 20);
    let run = hostile(vec![("/debug/pprof/heap", Answer::Body(bomb))], |_| {});
    run.check(&[MemberKind::Heap]);
    assert_eq!(
        run.failures(),
        vec![
            "Heap: the body is not a profile: decompressed size exceeds the limit of 1048576 \
             bytes (raise it with --max-decompressed-size)"
        ]
    );
}

#[test]
fn hostile_body_cut_mid_stream_is_not_kept() {
    let run = hostile(
        vec![("/debug/pprof/goroutine", Answer::Cut("goroutine.prof"))],
        |_| {},
    );
    run.check(&[MemberKind::Goroutine]);
    assert_eq!(
        run.failures(),
        vec!["Goroutine: the connection closed before the whole body arrived (809 of 1619 bytes)"]
    );
}

#[test]
fn http_1_0_without_content_length_is_read_to_the_close() {
    let run = hostile(
        vec![
            ("/debug/pprof/heap", Answer::Http10("heap.prof")),
            (
                "/debug/pprof/goroutine?debug=2",
                Answer::Http10("goroutines-debug2.txt"),
            ),
        ],
        |_| {},
    );
    run.check(&[]);
}

#[test]
fn hostile_huge_header_line_is_refused() {
    let run = hostile(
        vec![("/debug/pprof/block", Answer::HugeHeader("block.prof"))],
        |_| {},
    );
    run.check(&[MemberKind::Block]);
    let failures = run.failures();
    assert!(
        failures[0].starts_with("Block: the answer's header is larger than "),
        "{failures:?}"
    );
}

#[test]
fn hostile_empty_200_is_reported_as_empty() {
    let run = hostile(
        vec![
            ("/debug/pprof/heap", Answer::Body(Vec::new())),
            ("/debug/pprof/goroutine?debug=1", Answer::Body(Vec::new())),
        ],
        |_| {},
    );
    run.check(&[MemberKind::Heap, MemberKind::GoroutineDebug1]);
    assert_eq!(
        run.failures(),
        vec![
            "Heap: HTTP 200 with an empty body",
            "GoroutineDebug1: HTTP 200 with an empty body"
        ]
    );
}

#[test]
fn hostile_garbage_instead_of_http_is_reported() {
    let run = hostile(
        vec![(
            "/debug/pprof/allocs",
            Answer::Raw(b"\x00\x01\x02SSH-2.0-OpenSSH_9.6\r\n\x1b[31m"),
        )],
        |_| {},
    );
    run.check(&[MemberKind::Allocs]);
    let failures = run.failures();
    assert!(
        failures[0].starts_with("Allocs: not an HTTP answer"),
        "{failures:?}"
    );
}

#[test]
fn hostile_error_status_with_an_endless_body_shows_its_first_line_at_once() {
    let run = hostile(
        vec![("/debug/pprof/heap", Answer::EndlessStatus(503))],
        |_| {},
    );
    run.check(&[MemberKind::Heap]);
    let failures = run.failures();
    assert!(
        failures[0].starts_with("Heap: HTTP 503 Service Unavailable: xxxx"),
        "{failures:?}"
    );
    // Only a few KiB are read of an error's body, whatever --max-size says.
    assert!(failures[0].len() < 300, "{}", failures[0].len());
}

#[test]
fn hostile_error_text_with_terminal_escapes_is_shown_escaped() {
    let run = hostile(
        vec![(
            "/debug/pprof/block",
            Answer::Status(500, "\x1b[2J\x1b[31mboom\rfake\u{202e}txt\nsecond line"),
        )],
        |_| {},
    );
    run.check(&[MemberKind::Block]);
    assert_eq!(
        run.failures(),
        vec!["Block: HTTP 500 Internal Server Error: \\u{1b}[2J\\u{1b}[31mboom\\rfake\\u{202e}txt"]
    );
}

#[test]
fn hostile_every_member_slow_ends_at_the_collection_deadline() {
    // Seven dripping members at 1 s each would take 7 s; the deadline (--seconds 1 +
    // --deadline 0.5s) ends the whole collection after 1.5 s.
    let drips = [
        "/debug/pprof/heap",
        "/debug/pprof/allocs",
        "/debug/pprof/goroutine",
        "/debug/pprof/goroutine?debug=1",
        "/debug/pprof/goroutine?debug=2",
        "/debug/pprof/mutex",
        "/debug/pprof/block",
    ];
    let run = hostile(drips.iter().map(|d| (*d, Answer::Drip)).collect(), |o| {
        o.deadline = Duration::from_millis(500);
    });
    // The window profiles run beside the CPU profile and arrive; the heap text, asked after
    // the window, finds the deadline passed.
    run.check(&all_but(&[
        MemberKind::Cpu,
        MemberKind::AllocsWindow,
        MemberKind::MutexWindow,
        MemberKind::BlockWindow,
    ]));
    assert!(
        run.elapsed < Duration::from_millis(3500),
        "{:?}",
        run.elapsed
    );
    let failures = run.failures();
    assert_eq!(
        failures[0],
        "Heap: no complete answer within 1s (raise --timeout)"
    );
    let cut_short = "(what was left of the collection's deadline, --seconds 1 + --deadline 0.5s; \
                     raise --deadline)";
    let not_fetched = "not fetched: the collection's deadline (--seconds 1 + --deadline 0.5s) had \
                       passed (raise --deadline)";
    for failure in &failures[1..] {
        assert!(
            failure.ends_with(cut_short) || failure.ends_with(not_fetched),
            "{failure}"
        );
    }
    assert!(
        failures.last().unwrap().ends_with(not_fetched),
        "{failures:?}"
    );
    // Members past the deadline are not even asked for.
    assert!(
        !run.requests.iter().any(|p| p == "/debug/pprof/block"),
        "{:?}",
        run.requests
    );
}

#[test]
fn the_command_line_applies_every_limit_flag() {
    let service = FakeService::start(vec![
        ("/debug/pprof/heap", Answer::Body(gzip_bomb())),
        ("/debug/pprof/mutex", Answer::EndlessChunked),
        ("/debug/pprof/block", Answer::Drip),
    ]);
    let root = tempfile::tempdir().unwrap();
    let url = service.url();
    let started = Instant::now();
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
            "profiles",
            "--quiet",
            "--stamp",
            "20251125-120000",
            "--timeout",
            "1s",
            "--deadline",
            "30s",
            "--max-size",
            "1MiB",
            "--max-decompressed-size",
            "1MiB",
        ],
        root.path(),
    );
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout.lines().count(), 12, "{stdout}");
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        vec![
            format!(
                "error: heap profile ({url}/debug/pprof/heap): the body is not a profile: \
                 decompressed size exceeds the limit of 1048576 bytes (raise it with \
                 --max-decompressed-size)"
            ),
            format!(
                "error: mutex profile ({url}/debug/pprof/mutex): the body is larger than \
                 --max-size 1MiB (raise --max-size)"
            ),
            format!(
                "error: block profile ({url}/debug/pprof/block): no complete answer within 1s \
                 (raise --timeout)"
            ),
            "error: set cli-3svc-20251125-120000 is incomplete: 5 of 8 members saved".to_string(),
        ]
    );
    let beside: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, vec!["profiles"]);
    assert_eq!(
        std::fs::read_dir(root.path().join("profiles"))
            .unwrap()
            .count(),
        12
    );
}

// ---- Names that would escape --out -----------------------------------------------------

/// Collects with `host`; returns the error and checks that nothing at all was written.
fn refused_host(host: &str) -> String {
    let root = tempfile::tempdir().unwrap();
    let mut opts = options(
        "http://127.0.0.1:9".to_string(),
        &root.path().join("profiles"),
    );
    opts.host = host.to_string();
    let error = collect(&opts).unwrap_err().to_string();
    assert_eq!(
        std::fs::read_dir(root.path()).unwrap().count(),
        0,
        "{host:?} wrote something"
    );
    assert!(!error.contains('\n') && !error.contains('\0'), "{error:?}");
    error
}

const FIX: &str = "use a plain name of letters, digits, '-', '_' and '.', such as storage-1";

#[test]
fn hosts_that_would_leave_out_are_refused() {
    assert_eq!(
        refused_host("../x"),
        format!("--host \"../x\": '/' cannot be part of the set's file names; {FIX}")
    );
    assert_eq!(
        refused_host("/etc/x"),
        format!("--host \"/etc/x\": '/' cannot be part of the set's file names; {FIX}")
    );
    assert_eq!(
        refused_host("a/b"),
        format!("--host \"a/b\": '/' cannot be part of the set's file names; {FIX}")
    );
    assert_eq!(
        refused_host("a\\b"),
        format!("--host \"a\\\\b\": '\\\\' cannot be part of the set's file names; {FIX}")
    );
    assert_eq!(
        refused_host(".."),
        format!(
            "--host \"..\": it may not start with '.' or '-' (hidden files, names read as \
             options); {FIX}"
        )
    );
    assert_eq!(
        refused_host("-rf"),
        format!(
            "--host \"-rf\": it may not start with '.' or '-' (hidden files, names read as \
             options); {FIX}"
        )
    );
}

#[test]
fn hosts_that_no_file_name_can_hold_are_refused() {
    assert_eq!(refused_host(""), format!("--host \"\": it is empty; {FIX}"));
    assert_eq!(
        refused_host("a\0b"),
        format!("--host \"a\\0b\": '\\0' cannot be part of the set's file names; {FIX}")
    );
    assert_eq!(
        refused_host("a\nb"),
        format!("--host \"a\\nb\": '\\n' cannot be part of the set's file names; {FIX}")
    );
    assert_eq!(
        refused_host("a\u{1b}[31mb"),
        format!(
            "--host \"a\\u{{1b}}[31mb\": '\\u{{1b}}' cannot be part of the set's file names; \
             {FIX}"
        )
    );
    assert_eq!(
        refused_host("storage 1"),
        format!("--host \"storage 1\": ' ' cannot be part of the set's file names; {FIX}")
    );
    assert_eq!(
        refused_host(&"a".repeat(201)),
        format!(
            "--host \"{}\"…: it is 201 bytes long and becomes part of file names; use at \
             most 200",
            "a".repeat(40)
        )
    );
}

#[test]
fn the_longest_host_accepted_gives_a_complete_set() {
    let service = FakeService::start(vec![]);
    let out = tempfile::tempdir().unwrap();
    let mut opts = options(service.url(), out.path());
    opts.host = "h".repeat(200);
    opts.services = u32::MAX;
    let outcome = collect(&opts).unwrap();
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    // Fourteen members and the context.
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 15);
}

#[test]
fn zero_services_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let mut opts = options(
        "http://127.0.0.1:9".to_string(),
        &root.path().join("profiles"),
    );
    opts.services = 0;
    assert_eq!(
        collect(&opts).unwrap_err().to_string(),
        "--services 0: the process runs at least one service (per-service figures divide by it)"
    );
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
}

#[test]
fn the_command_line_refuses_names_that_would_leave_out_with_status_2() {
    let root = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--host", "../x", "--services", "3"],
            "error: --host \"../x\": '/' cannot be part of the set's file names; use a plain \
             name of letters, digits, '-', '_' and '.', such as storage-1",
        ),
        (
            &["--host", "x", "--services", "0"],
            "error: --services 0: the process runs at least one service (per-service figures \
             divide by it)",
        ),
        (
            &["--host", "x", "--services", "../3"],
            "error: invalid value '../3' for '--services <SERVICES>': invalid digit found in \
             string",
        ),
        (
            &[
                "--host",
                "x",
                "--services",
                "3",
                "--stamp",
                "../20251125-120000",
            ],
            "error: invalid value '../20251125-120000' for '--stamp <STAMP>': \
             \"../20251125-120000\" is not a time such as 20251015-210532",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec![
            "collect",
            "--url",
            "http://127.0.0.1:9",
            "--out",
            "profiles",
        ];
        all.extend_from_slice(args);
        let (code, stdout, stderr) = common::run(&all, root.path());
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stdout, "");
        assert_eq!(stderr.lines().next(), Some(expected), "{args:?}: {stderr}");
        assert_eq!(
            std::fs::read_dir(root.path()).unwrap().count(),
            0,
            "{args:?}"
        );
    }
}

// ---- Wrong kinds and streamed bodies -----------------------------------------------------

#[test]
fn wrong_kind_heap_at_the_cpu_endpoint_is_flagged_and_not_saved() {
    let run = hostile(
        vec![("/debug/pprof/profile", Answer::File("heap.prof"))],
        |_| {},
    );
    // Nothing is written under -cpu.prof (or any other name), and the rest is whole.
    run.check(&[MemberKind::Cpu]);
    assert_eq!(
        run.failures(),
        vec![
            "Cpu: wrong kind: expected CPU profile, found heap profile \
             (sample types alloc_objects/count, alloc_space/bytes, inuse_objects/count, \
             inuse_space/bytes); not saved"
        ]
    );
    assert!(!run.outcome.complete());
    // The set as `members` reads it: the CPU profile is missing, and nothing else is.
    let set = set::open(&run.out.join(PREFIX), &Default::default()).unwrap();
    assert_eq!(set.missing, vec![MemberKind::Cpu]);
}

#[test]
fn wrong_kinds_of_every_shape_are_flagged() {
    let run = hostile(
        vec![
            // An allocs profile (default alloc_space) where the heap profile belongs: the set
            // would read it as a second allocs profile.
            ("/debug/pprof/heap", Answer::File("allocs.prof")),
            // A debug=2 dump where the debug=1 dump belongs.
            (
                "/debug/pprof/goroutine?debug=1",
                Answer::File("goroutines-debug2.txt"),
            ),
            // A goroutine dump where the protobuf goroutine profile belongs.
            ("/debug/pprof/goroutine", Answer::File("goroutines.txt")),
        ],
        |_| {},
    );
    run.check(&[
        MemberKind::Heap,
        MemberKind::Goroutine,
        MemberKind::GoroutineDebug1,
    ]);
    let failures = run.failures();
    assert_eq!(
        failures[0],
        "Heap: wrong kind: expected heap profile, found allocs profile \
         (sample types alloc_objects/count, alloc_space/bytes, inuse_objects/count, \
         inuse_space/bytes); not saved"
    );
    assert_eq!(
        failures[1],
        "Goroutine: wrong kind: expected goroutine profile (protobuf), found goroutine dump \
         (debug=1); not saved"
    );
    assert_eq!(
        failures[2],
        "GoroutineDebug1: wrong kind: expected goroutine dump (debug=1), found goroutine dump \
         (debug=2); not saved"
    );
}

#[test]
fn the_command_line_flags_a_wrong_kind_member_and_exits_1() {
    let service = FakeService::start(vec![("/debug/pprof/profile", Answer::File("heap.prof"))]);
    let out = tempfile::tempdir().unwrap();
    let url = service.url();
    let (code, _, stderr) = common::run(
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
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with(&format!(
            "error: CPU profile ({url}/debug/pprof/profile?seconds=1): wrong kind: \
             expected CPU profile, found heap profile (sample types"
        )),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].ends_with(" is incomplete: 7 of 8 members saved"),
        "{}",
        lines[1]
    );
    let names: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with("-cpu.prof")), "{names:?}");
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}

/// A valid profile followed by zeros up to `size` bytes (protobuf ignores nothing, so it is
/// padded inside a field the decoder skips: an unknown field 15 of that length).
fn padded_profile(size: usize) -> Vec<u8> {
    let mut body = fixture_member("heap.prof");
    if body.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        flate2::read::MultiGzDecoder::new(&body[..])
            .read_to_end(&mut plain)
            .unwrap();
        body = plain;
    }
    let padding = size.saturating_sub(body.len() + 10);
    body.push((15 << 3) | 2);
    let mut length = padding as u64;
    while length >= 0x80 {
        body.push((length as u8) | 0x80);
        length >>= 7;
    }
    body.push(length as u8);
    body.resize(body.len() + padding, 0);
    body
}

#[test]
fn a_large_body_streams_to_disk_and_is_kept_whole() {
    let body = padded_profile(48 << 20);
    let run = hostile(
        vec![("/debug/pprof/heap", Answer::Body(body.clone()))],
        |opts| {
            opts.max_body_bytes = 64 << 20;
            opts.decode.max_decompressed_bytes = 64 << 20;
            opts.timeout = Duration::from_secs(10);
        },
    );
    assert!(run.outcome.failures.is_empty(), "{:?}", run.failures());
    let saved = std::fs::read(run.out.join(format!("{PREFIX}-heap.prof"))).unwrap();
    assert!(saved == body, "the saved body differs from the one served");
}

#[test]
fn contention_texts_are_checked_by_their_first_line() {
    let text = |name: &str| std::fs::read(common::fixture(&format!("legacy/{name}.txt"))).unwrap();
    let run = hostile(
        vec![
            // The block profile's text at the mutex endpoint: its first line says block.
            ("/debug/pprof/mutex", Answer::Body(text("go127-block"))),
            // The block profile's text at its own endpoint is a block profile, kept.
            ("/debug/pprof/block", Answer::Body(text("go119-block"))),
        ],
        |_| {},
    );
    assert_eq!(
        run.failures(),
        vec![
            "Mutex: wrong kind: expected mutex profile, found block profile (sample types \
             contentions/count, delay/nanoseconds); not saved"
        ]
    );
    let set = set::open(&run.out.join(PREFIX), &Default::default()).unwrap();
    assert_eq!(set.missing, vec![MemberKind::Mutex]);
    let block = set.member(MemberKind::Block).unwrap();
    assert_eq!(std::fs::read(&block.path).unwrap(), text("go119-block"));
}
