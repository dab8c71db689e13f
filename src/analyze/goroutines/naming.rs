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

use super::intern::{Facts, Names};
use super::stacks::Frame;
use crate::analyze::names::package_of;

/// Standard-library packages through which goroutines wait.
pub(super) fn is_wait_plumbing(package: &str) -> bool {
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
pub(super) fn is_closure(function: &str) -> bool {
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
pub(super) fn is_io_method(function: &str) -> bool {
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
pub(super) fn is_library_sync(package: &str) -> bool {
    package.ends_with("/sync")
}

/// The runtime functions that park the calling goroutine. Compiled Go reaches them only
/// through the runtime (channels, select, locks); a frame that calls one directly is linked
/// to the runtime's internals, as wait primitives are.
pub(super) fn is_park(function: &str) -> bool {
    matches!(function, "runtime.gopark" | "runtime.goparkunlock")
}

/// Index, into `frames[start..]`, of the frame that names the stack: `frames` is the whole
/// stack, leaf first, and `frames[start..]` the frames the text dumps show.
pub(super) fn label_index(frames: &[Frame], start: usize, names: &Names) -> Option<usize> {
    let shown = frames.get(start..)?;
    if shown.is_empty() {
        return None;
    }
    // Each frame's facts, read once per function when it was interned.
    let facts: Vec<&Facts> = shown.iter().map(|f| names.facts(f.name)).collect();
    let package = |i: usize| facts[i].package;
    let standard = |i: usize| facts[i].standard;
    let mut plumbing: Vec<bool> = (0..shown.len())
        .map(|i| !standard(i) && facts[i].library_sync)
        .collect();

    // A wait primitive: the leaf frame parks the goroutine itself (the profile shows it
    // calling gopark; a dump hides the runtime, so a library sync frame at the leaf says it).
    let parks_itself = !standard(0)
        && (facts[0].library_sync
            || start
                .checked_sub(1)
                .is_some_and(|callee| names.facts(frames[callee].name).park));
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
        if entry + 1 < shown.len() && facts[entry].io_method {
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
            && ((standard(i - 1) && !facts[i - 1].wait_plumbing && !facts[i - 1].io_method)
                || (!standard(i - 1) && plumbing[i - 1] && facts[i - 1].closure));
        if !standard(i) && facts[i].closure && callee_is_work {
            plumbing[i] = true;
        }
    }

    (0..shown.len())
        .find(|&i| !standard(i) && !plumbing[i])
        .or_else(|| {
            (0..shown.len())
                .find(|&i| standard(i) && !facts[i].wait_plumbing && !facts[i].io_method)
        })
        .or_else(|| (0..shown.len()).find(|&i| standard(i) && !facts[i].wait_plumbing))
        .or_else(|| (0..shown.len()).find(|&i| !standard(i)))
        .or_else(|| (0..shown.len()).find(|&i| !facts[i].runtime_package))
        .or(Some(0))
}

/// What tells a group apart from others with its label: a caller (`from X`) or a frame
/// toward the leaf (`via X`), as an interned function name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Distinct {
    /// The first caller of the label frame where the stacks differ.
    From(u32),
    /// The first frame between the label and the leaf where they do.
    Via(u32),
}

impl Distinct {
    /// `from pkg.caller` or `via pkg.callee`.
    pub(super) fn text(self, names: &Names) -> String {
        match self {
            Distinct::From(id) => format!("from {}", names.name(id)),
            Distinct::Via(id) => format!("via {}", names.name(id)),
        }
    }
}

/// What tells one group apart from others with the same label: the first caller of the
/// label frame where its stack differs from theirs (`from X`), else the first frame between
/// the label and the leaf where it does (`via X`). `names` holds each group's function names,
/// leaf first, and the index of its label frame. Ids stand for strings one to one, so where
/// stacks differ is the same over ids.
pub(super) fn distinctions(names: &[(&[u32], usize)]) -> Vec<Option<Distinct>> {
    let callers: Vec<&[u32]> = names
        .iter()
        .map(|&(frames, at)| frames.get(at + 1..).unwrap_or_default())
        .collect();
    // The frames toward the leaf, nearest the label first: reversed copies, in one buffer.
    let mut reversed: Vec<u32> = Vec::new();
    let ends: Vec<usize> = names
        .iter()
        .map(|&(frames, at)| {
            reversed.extend(frames.get(..at).unwrap_or_default().iter().rev());
            reversed.len()
        })
        .collect();
    let leafward: Vec<&[u32]> = ends
        .iter()
        .enumerate()
        .map(|(g, &end)| &reversed[g.checked_sub(1).map_or(0, |p| ends[p])..end])
        .collect();
    let by_callers = deepest_split(&callers);
    let by_leafward = deepest_split(&leafward);
    (0..names.len())
        .map(|g| {
            by_callers[g]
                .and_then(|k| callers[g].get(k))
                .map(|&frame| Distinct::From(frame))
                .or_else(|| {
                    by_leafward[g]
                        .and_then(|k| leafward[g].get(k))
                        .map(|&frame| Distinct::Via(frame))
                })
        })
        .collect()
}

/// For each sequence, the deepest index at which it differs from another one (`None` when
/// all others equal it): the longest common prefix with its nearest different neighbours in
/// sorted order, which is the longest with any other, so the work is a sort, not all pairs.
fn deepest_split<T: Ord + AsRef<[U]>, U: Ord>(sequences: &[T]) -> Vec<Option<usize>> {
    let mut order: Vec<usize> = (0..sequences.len()).collect();
    // Equal sequences get one answer: their order among themselves does not matter.
    order.sort_unstable_by(|&a, &b| sequences[a].as_ref().cmp(sequences[b].as_ref()));
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
