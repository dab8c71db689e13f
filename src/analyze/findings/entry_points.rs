//! CPU by the application's entry point (`cpu_entry_point`) and CPU per unit of work
//! (`cpu_per_unit`).
//!
//! A sample's entry point is, in this order:
//! 1. a pprof label that names the work (`http.route`, `route`, `handler`, `endpoint`,
//!    `rpc`, `grpc.method`, `method`, `query`, `operation`): `key=value`;
//! 2. under a gRPC server (`grpc.(*Server).processUnaryRPC`/`processStreamingRPC`), the first
//!    frame outside the grpc module: the generated `_Handler` of the method;
//! 3. under net/http's server (`net/http.serverHandler.ServeHTTP`, an HTTP/2 `runHandler`),
//!    the innermost handler-shaped frame: a `ServeHTTP` method or closure, or a function
//!    `net/http.HandlerFunc.ServeHTTP` calls, net/http's own dispatchers (`HandlerFunc`,
//!    `ServeMux`, `serverHandler`) skipped. Innermost, since the outermost application
//!    handler is the first middleware, the same for every request; the innermost is the
//!    handler whose own code the sample runs (a route's handler, or a middleware's own work
//!    such as access logging); a stack the runtime truncated before net/http's frames, with
//!    handler-shaped frames left, is read the same way;
//! 4. else the goroutine's entry: the first application frame from the stack's bottom (work
//!    a handler hands to goroutines it spawns lands here, on the goroutine's function), else
//!    the first standard-library frame that is not the runtime (`net/http.(*conn).serve`
//!    reading requests); stacks of the runtime alone (GC, scheduler) have none. A goroutine
//!    launcher's closure (`errgroup.(*Group).Go.func1`) is skipped for the function it runs.
//!
//! Closures count for the function they belong to (`checkHashes.func1` and `.func2` are
//! `checkHashes`). Worked out once per evaluation ([`EntryPoints`]) from one pass over the CPU samples, with
//! every name test done once per function.

use std::collections::HashMap;

use super::measure::percent_text;
use super::*;

/// The label keys that name a sample's work, in order of preference.
const LABEL_KEYS: &[&str] = &[
    "http.route",
    "route",
    "handler",
    "endpoint",
    "rpc",
    "grpc.method",
    "method",
    "query",
    "operation",
];

/// How an entry point was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EntryKind {
    Label,
    Grpc,
    Http,
    Goroutine,
}

impl EntryKind {
    fn noun(self) -> &'static str {
        match self {
            EntryKind::Label => "pprof label",
            EntryKind::Grpc => "gRPC method",
            EntryKind::Http => "HTTP handler",
            EntryKind::Goroutine => "goroutine",
        }
    }
}

/// CPU by entry point, over the CPU profile's samples.
pub(super) struct EntryPoints {
    /// Entry points: name and how it was found.
    pub(super) entries: Vec<(String, EntryKind)>,
    /// CPU per entry point, in the profile's unit.
    pub(super) values: Vec<i64>,
    /// Per sample: its entry point, `None` for the runtime's own work.
    of_sample: Vec<Option<u32>>,
    /// CPU of the runtime's own work (no entry point).
    pub(super) runtime: i64,
    /// All CPU.
    pub(super) total: i64,
}

const APP: u8 = 1;
const STD_CODE: u8 = 2;
const HTTP_ROOT: u8 = 4;
const GRPC_ROOT: u8 = 8;
const GRPC_PACKAGE: u8 = 16;
const HANDLER_NAME: u8 = 32;
const DISPATCH: u8 = 64;
const HANDLER_FUNC: u8 = 128;

fn flags_of(name: &str) -> u8 {
    let package = crate::analyze::names::package_of(name);
    let standard = crate::analyze::names::is_standard_package(package);
    let mut flags = 0;
    // A goroutine launcher's closure (errgroup's `(*Group).Go.func1`, a worker pool's
    // `Go.func1`) runs the function it was given: that function is the entry, not it.
    let launcher = name.contains(".Go.func") || name.contains(".TryGo.func");
    if !standard && !launcher {
        flags |= APP;
    } else if standard
        && name.contains('.')
        && package != "runtime"
        && !package.starts_with("runtime/")
        && !package.starts_with("internal/")
    {
        flags |= STD_CODE;
    }
    if name == "net/http.serverHandler.ServeHTTP"
        || (package.ends_with("http2") || package == "net/http")
            && (name.ends_with(".(*serverConn).runHandler")
                || name.ends_with(".(*http2serverConn).runHandler"))
    {
        flags |= HTTP_ROOT;
    }
    if package.starts_with("google.golang.org/grpc") {
        flags |= GRPC_PACKAGE;
        if name.ends_with(".(*Server).processUnaryRPC")
            || name.ends_with(".(*Server).processStreamingRPC")
        {
            flags |= GRPC_ROOT;
        }
    }
    if name.ends_with(".ServeHTTP") || name.contains(".ServeHTTP.func") {
        flags |= HANDLER_NAME;
    }
    // net/http's own dispatch (not its subpackages: httputil's ReverseProxy is a handler).
    if package == "net/http" {
        flags |= DISPATCH;
    }
    if name == "net/http.HandlerFunc.ServeHTTP" {
        flags |= HANDLER_FUNC;
    }
    flags
}

impl EntryPoints {
    pub(super) fn new(profile: &Profile) -> Option<Self> {
        let index = profile.sample_index_of("cpu")?;
        let flags: Vec<u8> = profile
            .functions
            .iter()
            .map(|f| flags_of(&f.name))
            .collect();
        let stacks = FunctionStacks::new(profile);
        let mut functions: Vec<u32> = Vec::new();
        let mut entries: Vec<(String, EntryKind)> = Vec::new();
        let mut by_function: HashMap<(u32, bool), u32> = HashMap::new();
        let mut by_label: HashMap<usize, Option<u32>> = HashMap::new();
        let mut by_label_text: HashMap<String, u32> = HashMap::new();
        let mut values: Vec<i64> = Vec::new();
        let mut of_sample = Vec::with_capacity(profile.samples.len());
        let (mut runtime, mut total) = (0i64, 0i64);
        let mut by_name: HashMap<(String, bool), u32> = HashMap::new();
        let mut intern_function =
            |f: u32, kind: EntryKind, entries: &mut Vec<(String, EntryKind)>| {
                let key = (f, kind == EntryKind::Goroutine);
                *by_function.entry(key).or_insert_with(|| {
                    let name = enclosing(&profile.functions[f as usize].name).to_string();
                    *by_name.entry((name.clone(), key.1)).or_insert_with(|| {
                        entries.push((name, kind));
                        (entries.len() - 1) as u32
                    })
                })
            };
        for sample in profile.samples() {
            let value = sample.value(index);
            total += value;
            let labelled = *by_label.entry(sample.label_set()).or_insert_with(|| {
                let labels = sample.labels();
                let (key, value) = LABEL_KEYS.iter().find_map(|k| {
                    labels
                        .strings
                        .get(*k)
                        .and_then(|v| v.first())
                        .map(|v| (*k, v))
                })?;
                let text = format!("{key}={value}");
                Some(*by_label_text.entry(text.clone()).or_insert_with(|| {
                    entries.push((text, EntryKind::Label));
                    (entries.len() - 1) as u32
                }))
            });
            let entry = match labelled {
                Some(e) => Some(e),
                None => {
                    stacks.sample_named(sample, &mut functions);
                    let flag = |i: usize| flags[functions[i] as usize];
                    // The innermost handler-shaped frame below `r`: a ServeHTTP method or
                    // closure, or a function HandlerFunc.ServeHTTP calls, not net/http's own.
                    let innermost_handler = |r: usize| {
                        (0..r).find(|&i| {
                            let called_by_func =
                                i + 1 < functions.len() && flag(i + 1) & HANDLER_FUNC != 0;
                            (flag(i) & HANDLER_NAME != 0 || called_by_func)
                                && flag(i) & DISPATCH == 0
                        })
                    };
                    let root = functions
                        .iter()
                        .rposition(|&f| flags[f as usize] & (HTTP_ROOT | GRPC_ROOT) != 0);
                    match root {
                        Some(r) if flag(r) & GRPC_ROOT != 0 => {
                            let f = (0..r)
                                .rev()
                                .find(|&i| flag(i) & GRPC_PACKAGE == 0)
                                .unwrap_or(r);
                            Some(intern_function(functions[f], EntryKind::Grpc, &mut entries))
                        }
                        Some(r) => {
                            let handler = innermost_handler(r);
                            Some(intern_function(
                                functions[handler.unwrap_or(r)],
                                EntryKind::Http,
                                &mut entries,
                            ))
                        }
                        // A stack the runtime truncated loses net/http's frames at its
                        // bottom; its handlers still say what it serves.
                        None if innermost_handler(functions.len()).is_some() => {
                            let handler = innermost_handler(functions.len()).unwrap_or(0);
                            Some(intern_function(
                                functions[handler],
                                EntryKind::Http,
                                &mut entries,
                            ))
                        }
                        None => functions
                            .iter()
                            .rev()
                            .find(|&&f| flags[f as usize] & APP != 0)
                            .or_else(|| {
                                functions
                                    .iter()
                                    .rev()
                                    .find(|&&f| flags[f as usize] & STD_CODE != 0)
                            })
                            .map(|&f| intern_function(f, EntryKind::Goroutine, &mut entries)),
                    }
                }
            };
            match entry {
                Some(e) => {
                    if values.len() <= e as usize {
                        values.resize(e as usize + 1, 0);
                    }
                    values[e as usize] += value;
                }
                None => runtime += value,
            }
            of_sample.push(entry);
        }
        values.resize(entries.len(), 0);
        Some(EntryPoints {
            entries,
            values,
            of_sample,
            runtime,
            total,
        })
    }

    /// Entry points by CPU, largest first (then by name, for a stable order), without those
    /// that hold none.
    pub(super) fn ranked(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.entries.len())
            .filter(|&e| self.values[e] > 0)
            .collect();
        order.sort_by(|&a, &b| {
            self.values[b]
                .cmp(&self.values[a])
                .then_with(|| self.entries[a].0.cmp(&self.entries[b].0))
        });
        order
    }

    /// Whether an entry point is the application's: a label, a gRPC method, or a function
    /// outside the standard library (not httputil's ReverseProxy, not net/http's connection
    /// and transport loops, which are the server's machinery rather than work to optimise).
    pub(super) fn is_application(&self, entry: usize) -> bool {
        let (name, kind) = &self.entries[entry];
        match kind {
            EntryKind::Label | EntryKind::Grpc => true,
            EntryKind::Http | EntryKind::Goroutine => {
                !crate::analyze::names::is_standard_package(crate::analyze::names::package_of(name))
            }
        }
    }

    pub(super) fn share(&self, entry: usize) -> f64 {
        share(self.values[entry], self.total)
    }
}

/// The function a closure belongs to: `pkg.F.func2.1` → `pkg.F`. The goroutines a
/// function starts (`go func() {…}()`) and the closures it hands out are its work.
fn enclosing(name: &str) -> &str {
    let mut name = name;
    while let Some((head, last)) = name.rsplit_once('.') {
        let closure = last
            .strip_prefix("func")
            .unwrap_or(last)
            .bytes()
            .all(|b| b.is_ascii_digit())
            && !last.is_empty()
            && last != "func";
        if !closure || head.is_empty() || !head.contains('.') {
            break;
        }
        name = head;
    }
    name
}

fn share(part: i64, total: i64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 / total as f64 * 100.0
    }
}

/// The entry points that count as others for `cpu_entry_point`: those holding at least this
/// share of CPU (below it, a one-off goroutine or a stray sample).
const OTHER_ENTRY_MIN_SHARE: f64 = 1.0;

/// How many entry points a finding lists.
const LISTED: usize = 5;

/// `cpu_entry_point`: the share of CPU of the application's entry point holding most, when
/// at least one other entry point holds [`OTHER_ENTRY_MIN_SHARE`] (else 0: with one entry
/// point there is nothing to compare); the subject lists the top entry points, the standard
/// library's too, with shares and cores.
pub(super) fn entry_point(
    profile: &Profile,
    entries: &EntryPoints,
    evidence: &Evidence,
) -> Option<Measurement> {
    let ranked = entries.ranked();
    let cores = cores_basis(evidence);
    let significant = ranked
        .iter()
        .filter(|&&e| entries.share(e) >= OTHER_ENTRY_MIN_SHARE)
        .count();
    let top = ranked.iter().copied().find(|&e| entries.is_application(e));
    let value = match top {
        Some(top) if significant >= 2 => entries.share(top),
        _ => 0.0,
    };
    let mut listed: Vec<String> = ranked
        .iter()
        .take(LISTED)
        .map(|&e| {
            let (name, kind) = &entries.entries[e];
            format!(
                "{name} ({}) {}{}",
                kind.noun(),
                percent_text(entries.share(e)),
                cores_text(entries.share(e), cores)
            )
        })
        .collect();
    if ranked.len() > LISTED {
        let rest: i64 = ranked[LISTED..].iter().map(|&e| entries.values[e]).sum();
        listed.push(format!(
            "{} other entry points {}",
            ranked.len() - LISTED,
            percent_text(share(rest, entries.total))
        ));
    }
    if entries.runtime > 0 {
        let runtime = share(entries.runtime, entries.total);
        listed.push(format!(
            "the runtime's own work (garbage collection, scheduler) {}{}",
            percent_text(runtime),
            cores_text(runtime, cores)
        ));
    }
    let mask: Vec<bool> = match top {
        Some(top) => entries
            .of_sample
            .iter()
            .map(|e| *e == Some(top as u32))
            .collect(),
        None => vec![false; profile.samples.len()],
    };
    Some(Measurement {
        attribution: top.map(|top| Attribution {
            top: entries.entries[top].0.clone(),
            caller: None,
        }),
        ..super::measure::share_measurement(
            "CPU under the application's entry point (handler, RPC, label or goroutine) holding most".to_string(),
            listed.join("; "),
            value,
            Some(Mask::Cpu(mask)),
        )
    })
}

/// The CPU basis in cores (the context's process CPU, else the profile's utilisation), when
/// known.
fn cores_basis(evidence: &Evidence) -> Option<f64> {
    super::cpu::CpuBasis::of(evidence.process_cpu_percent, evidence.cpu)
        .filter(|b| b.known && b.percent > 0.0)
        .map(|b| b.percent / 100.0)
}

fn cores_text(share: f64, cores: Option<f64>) -> String {
    cores.map_or_else(String::new, |c| {
        format!(" ({} cores)", format_cores(share / 100.0 * c))
    })
}

/// `cpu_per_unit`: milliseconds of CPU per unit of the context's throughput (cores × 1000 ÷
/// units per second); the subject splits it over the top entry points. `None` without a
/// throughput or a known CPU basis.
pub(super) fn per_unit(entries: Option<&EntryPoints>, evidence: &Evidence) -> Option<Measurement> {
    let throughput = evidence.throughput?;
    let cores = cores_basis(evidence)?;
    let millis = cores * 1000.0 / throughput.per_second;
    let unit = throughput.unit_singular();
    let split = entries
        .map(|entries| {
            let mut parts: Vec<String> = entries
                .ranked()
                .iter()
                .take(3)
                .map(|&e| {
                    let share = entries.share(e);
                    format!(
                        "{} {} ({})",
                        entries.entries[e].0,
                        crate::analyze::shares::millis_text(millis * share / 100.0),
                        percent_text(share)
                    )
                })
                .collect();
            if entries.runtime > 0 {
                let share = share(entries.runtime, entries.total);
                parts.push(format!(
                    "the runtime's own work {} ({})",
                    crate::analyze::shares::millis_text(millis * share / 100.0),
                    percent_text(share)
                ));
            }
            parts.join(", ")
        })
        .filter(|s| !s.is_empty())
        .map_or_else(String::new, |s| format!("; per {unit}: {s}"));
    Some(Measurement {
        value: millis,
        text: crate::analyze::shares::cpu_per_unit_text(cores, throughput),
        what: format!("CPU per {unit} (cores × 1000 ÷ {unit}s per second)"),
        subject: format!(
            "{} cores × 1000 ÷ {:.2} {}/s = {}{split}",
            format_cores(cores),
            throughput.per_second,
            throughput.unit.trim(),
            crate::analyze::shares::millis_text(millis)
        ),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_keep_three_digits() {
        assert_eq!(crate::analyze::shares::millis_text(22.5), "22.5 ms");
        assert_eq!(crate::analyze::shares::millis_text(0.254), "0.254 ms");
        assert_eq!(crate::analyze::shares::millis_text(0.0096), "9.60 µs");
    }

    #[test]
    fn closures_count_for_their_function() {
        assert_eq!(enclosing("a/b.checkHashes.func2"), "a/b.checkHashes");
        assert_eq!(enclosing("a/b.HashLister.func1.1"), "a/b.HashLister");
        assert_eq!(enclosing("a/b.(*H).ServeHTTP.func1"), "a/b.(*H).ServeHTTP");
        assert_eq!(enclosing("main.main"), "main.main");
        assert_eq!(enclosing("a/b.func1"), "a/b.func1");
        assert_eq!(enclosing("gopkg.in/x.v2.F"), "gopkg.in/x.v2.F");
    }

    #[test]
    fn handler_frames_are_named_by_shape() {
        assert_ne!(flags_of("net/http.serverHandler.ServeHTTP") & HTTP_ROOT, 0);
        assert_ne!(flags_of("net/http.HandlerFunc.ServeHTTP") & DISPATCH, 0);
        assert_eq!(
            flags_of("net/http/httputil.(*ReverseProxy).ServeHTTP") & DISPATCH,
            0
        );
        assert_ne!(
            flags_of("example.com/app.(*api).ServeHTTP.func1") & HANDLER_NAME,
            0
        );
        assert_ne!(
            flags_of("google.golang.org/grpc.(*Server).processUnaryRPC") & GRPC_ROOT,
            0
        );
        assert_eq!(flags_of("runtime.gcBgMarkWorker") & (APP | STD_CODE), 0);
        assert_ne!(flags_of("net/http.(*conn).serve") & STD_CODE, 0);
        assert_eq!(
            flags_of("golang.org/x/sync/errgroup.(*Group).Go.func1") & (APP | STD_CODE),
            0
        );
    }
}
