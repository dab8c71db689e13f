//! Which frame names a goroutine group, and how groups that would get the same name are told
//! apart (see the module documentation of `goroutines`).
//!
//! The rules read the shape of a stack, never a library's names:
//!
//! * the standard library's wait plumbing (`runtime`, `internal/…`, `sync`, `net`, `io`,
//!   `bufio`, …) never names a group when a better frame exists;
//! * a library's own sync package (a path ending in `/sync`) is wait plumbing too;
//! * a frame that parks the goroutine itself (it calls `runtime.gopark` directly, which only
//!   code linked to the runtime's internals does) belongs to a wait primitive: the frames of
//!   the package that called into the parking helper are its API (gVisor's `sleep.Sleeper`
//!   over `sync.Gopark`), so they are plumbing as well;
//! * code that the standard library calls back through an I/O interface (`Read`, `Write`,
//!   `Accept`, … of a `net.Conn`, `io.Reader` or `net.Listener` implementation) is an adapter:
//!   the goroutine is doing what the standard-library caller does (`net/http.(*conn).serve`
//!   reading over an in-memory pipe is a server connection, not the pipe);
//! * among standard-library frames, those I/O methods (`net/http.(*connReader).Read`) are
//!   plumbing too.

use super::stacks::Frame;
use crate::analyze::names::{is_standard_package, package_of};

/// Standard-library packages through which goroutines wait.
fn is_wait_plumbing(package: &str) -> bool {
    const PACKAGES: &[&str] = &[
        "runtime",
        "sync",
        "sync/atomic",
        "syscall",
        "os",
        "net",
        "time",
        "io",
        "bufio",
        "bytes",
        "crypto/tls",
        "context",
    ];
    PACKAGES.contains(&package)
        || package.starts_with("internal/")
        || package.starts_with("runtime/internal/")
}

/// The method or function name after the package and any receiver: `Read` for
/// `x.(*conn).Read`, `func1` for `x.f.func1`.
fn method_name(function: &str) -> &str {
    let rest = &function[package_of(function).len()..];
    let tail = rest.rfind([')', ']']).map_or(rest, |i| &rest[i + 1..]);
    tail.rsplit('.').next().unwrap_or(tail)
}

/// An anonymous function: `pkg.f.func2`, `pkg.(*T).m.func5.1`.
fn is_closure(function: &str) -> bool {
    let rest = &function[package_of(function).len()..];
    let tail = rest.rfind([')', ']']).map_or(rest, |i| &rest[i + 1..]);
    tail.split('.')
        .rev()
        .take_while(|part| part.chars().all(|c| c.is_ascii_digit()) || part.starts_with("func"))
        .any(|part| {
            part.strip_prefix("func")
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
}

/// A frame of a goroutine that accepts connections (`net.Listener.Accept` and its
/// implementations): the goroutines it starts exist per connection.
pub(super) fn is_accept_loop(function: &str) -> bool {
    method_name(function) == "Accept"
}

/// The methods of the standard library's I/O interfaces (`io.Reader`, `io.Writer`,
/// `io.ReaderFrom`, `io.ByteReader`, `net.Listener`, …): code reached through them moves bytes
/// for its caller.
fn is_io_method(function: &str) -> bool {
    matches!(
        method_name(function),
        "Read"
            | "Write"
            | "ReadAt"
            | "WriteAt"
            | "ReadFrom"
            | "WriteTo"
            | "ReadByte"
            | "ReadRune"
            | "Accept"
            | "Close"
    )
}

/// A library's own sync package: `gvisor.dev/gvisor/pkg/sync`.
fn is_library_sync(package: &str) -> bool {
    package.ends_with("/sync")
}

/// The runtime functions that park the calling goroutine. Compiled Go reaches them only
/// through the runtime (channels, select, locks); a frame that calls one directly is linked
/// to the runtime's internals, as wait primitives are.
fn is_park(function: &str) -> bool {
    matches!(function, "runtime.gopark" | "runtime.goparkunlock")
}

/// Index, into `frames[start..]`, of the frame that names the stack: `frames` is the whole
/// stack, leaf first, and `frames[start..]` the frames the text dumps show.
pub(super) fn label_index(frames: &[Frame], start: usize) -> Option<usize> {
    let shown = frames.get(start..)?;
    if shown.is_empty() {
        return None;
    }
    // Each frame's package, read once: names can be long.
    let packages: Vec<&str> = shown.iter().map(|f| package_of(&f.function)).collect();
    let standards: Vec<bool> = packages.iter().map(|p| is_standard_package(p)).collect();
    let package = |i: usize| packages[i];
    let standard = |i: usize| standards[i];
    let mut plumbing: Vec<bool> = (0..shown.len())
        .map(|i| !standard(i) && is_library_sync(package(i)))
        .collect();

    // A wait primitive: the leaf frame parks the goroutine itself (the profile shows it
    // calling gopark; a dump hides the runtime, so a library sync frame at the leaf says it).
    let parks_itself = !standard(0)
        && (is_library_sync(package(0))
            || start
                .checked_sub(1)
                .is_some_and(|callee| is_park(&frames[callee].function)));
    if parks_itself {
        let primitive = (0..shown.len()).find(|&i| !plumbing[i]);
        if let Some(first) = primitive.filter(|&i| !standard(i)) {
            let primitive_package = package(first);
            for (i, flag) in plumbing.iter_mut().enumerate().skip(first) {
                if package(i) != primitive_package {
                    break;
                }
                *flag = true;
            }
        }
    }

    // Adapters: a run of non-standard frames that the standard library entered through an
    // I/O method.
    let mut i = 0;
    while i < shown.len() {
        if standard(i) {
            i += 1;
            continue;
        }
        let mut entry = i;
        while entry + 1 < shown.len() && !standard(entry + 1) {
            entry += 1;
        }
        if entry + 1 < shown.len() && is_io_method(&shown[entry].function) {
            for flag in &mut plumbing[i..=entry] {
                *flag = true;
            }
        }
        i = entry + 1;
    }

    // Closure wrappers: `go func() { srv.Serve(ln) }()` does what the standard-library
    // function it calls does; so do the closures around such a wrapper.
    for i in 0..shown.len() {
        let callee_is_work = i > 0
            && ((standard(i - 1)
                && !is_wait_plumbing(package(i - 1))
                && !is_io_method(&shown[i - 1].function))
                || (!standard(i - 1) && plumbing[i - 1] && is_closure(&shown[i - 1].function)));
        if !standard(i) && is_closure(&shown[i].function) && callee_is_work {
            plumbing[i] = true;
        }
    }

    (0..shown.len())
        .find(|&i| !standard(i) && !plumbing[i])
        .or_else(|| {
            (0..shown.len()).find(|&i| {
                standard(i) && !is_wait_plumbing(package(i)) && !is_io_method(&shown[i].function)
            })
        })
        .or_else(|| (0..shown.len()).find(|&i| standard(i) && !is_wait_plumbing(package(i))))
        .or_else(|| (0..shown.len()).find(|&i| !standard(i)))
        .or_else(|| (0..shown.len()).find(|&i| package(i) != "runtime"))
        .or(Some(0))
}

/// What tells one group apart from others with the same label: the first caller of the
/// label frame where its stack differs from theirs (`from X`), else the first frame between
/// the label and the leaf where it does (`via X`). `names` holds each group's function names,
/// leaf first, and the index of its label frame.
pub(super) fn distinctions(names: &[(&[String], usize)]) -> Vec<Option<String>> {
    let callers: Vec<&[String]> = names
        .iter()
        .map(|&(frames, at)| frames.get(at + 1..).unwrap_or_default())
        .collect();
    let leafward: Vec<Vec<&String>> = names
        .iter()
        .map(|&(frames, at)| frames.get(..at).unwrap_or_default().iter().rev().collect())
        .collect();
    let by_callers = deepest_split(&callers);
    let by_leafward = deepest_split(&leafward);
    (0..names.len())
        .map(|g| {
            by_callers[g]
                .and_then(|k| callers[g].get(k))
                .map(|frame| format!("from {frame}"))
                .or_else(|| {
                    by_leafward[g]
                        .and_then(|k| leafward[g].get(k))
                        .map(|frame| format!("via {frame}"))
                })
        })
        .collect()
}

/// For each sequence, the deepest index at which it differs from another one (`None` when
/// all others equal it): the longest common prefix with its nearest different neighbours in
/// sorted order, which is the longest with any other, so the work is a sort, not all pairs.
fn deepest_split<T: Ord + AsRef<[U]>, U: Ord>(sequences: &[T]) -> Vec<Option<usize>> {
    let mut order: Vec<usize> = (0..sequences.len()).collect();
    order.sort_by(|&a, &b| sequences[a].as_ref().cmp(sequences[b].as_ref()));
    let seq = |i: usize| sequences[order[i]].as_ref();
    let common = |a: &[U], b: &[U]| a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let mut out = vec![None; sequences.len()];
    // Runs of equal sequences share their nearest different neighbours.
    let mut start = 0;
    while start < order.len() {
        let own = seq(start);
        let end = (start..order.len())
            .find(|&i| seq(i) != own)
            .unwrap_or(order.len());
        let left = start.checked_sub(1);
        let right = (end < order.len()).then_some(end);
        let split = [left, right]
            .into_iter()
            .flatten()
            .map(|i| common(own, seq(i)))
            .max();
        for &index in &order[start..end] {
            out[index] = split;
        }
        start = end;
    }
    out
}
