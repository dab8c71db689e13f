//! The CPU profile: utilisation, top functions (the `top` engine's numbers), packages,
//! categories (syscalls, GC, scheduler, allocation, application) and syscall attribution:
//! CPU spent in syscall leaves charged to the nearest caller outside the standard library,
//! so the report names the subsystem that makes the syscalls instead of `Syscall6`.
//! Categories, subsystems and syscall attribution read Go runtime and standard library
//! names, so they are computed for Go profiles only (see `language`); utilisation, the top
//! tables and the package table are the same for every language.

use serde::{Deserialize, Serialize};

use super::frames::{FunctionKeys, FunctionStacks, KeyCounter};
use super::language::{FramePackages, Language};
use super::names::{is_application_package, package_of};
use super::runtime::{self, Role};
use super::shares::{ShareCounter, ShareTable};
use super::top::{self, TopOptions, TopReport};
use crate::profile::Profile;
use crate::units;

/// Options with their defaults in `Default`.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuOptions {
    /// Rows of the top tables (10).
    pub top_rows: usize,
    /// Rows of the package and caller tables (15).
    pub table_rows: usize,
    /// The process's CPU use from the context (percent of one core), for cores.
    pub process_cpu_percent: Option<f64>,
    /// The language that wrote the profile: the Go-specific tables are left out for others,
    /// and packages follow the language's notion (Go).
    pub language: Language,
}

impl Default for CpuOptions {
    fn default() -> Self {
        CpuOptions {
            top_rows: 10,
            table_rows: 15,
            process_cpu_percent: None,
            language: Language::Go,
        }
    }
}

/// The CPU profile analysed (`cpu` in the report context): utilisation, top tables, and share
/// tables by package, subsystem, category and syscall caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuAnalysis {
    /// The profile's duration in nanoseconds (pprof's `Duration:`); 0 when it states none.
    pub duration_nanos: i64,
    /// The duration in a readable unit (`60.02s`).
    pub duration_text: String,
    /// Sum of the cpu sample values (nanoseconds).
    pub total: i64,
    /// The total as the top table prints it (`72.81s`).
    pub total_text: String,
    /// Number of samples taken (the `samples` values).
    pub sample_count: i64,
    /// total / duration, in percent of one core (`121.31`).
    pub utilisation: f64,
    /// `utilisation` as pprof prints a percentage (`121.31%`); means nothing when
    /// `utilisation_known` is false.
    pub utilisation_text: String,
    /// False when the profile has no duration or its values are not CPU time: then
    /// `utilisation` is 0 and means nothing.
    #[serde(default = "yes")]
    pub utilisation_known: bool,
    /// Where cores come from: the context's process CPU% or else the profile's utilisation.
    pub cores_basis: CoresBasis,
    /// The process's CPU in percent of one core, by which shares become cores: the context's
    /// process CPU%, else `utilisation` (0 when neither is known).
    pub cores_basis_percent: f64,
    /// The top functions by flat, as `go tool pprof -top` prints them (10 rows).
    pub top_flat: TopReport,
    /// The top functions by cum, as `go tool pprof -top -cum` prints them (10 rows).
    pub top_cum: TopReport,
    /// Package cum and flat, packages in the profile's language's sense (Go import paths,
    /// Java packages, Python modules, Rust crates, …).
    pub packages: ShareTable,
    /// Each sample charged to the nearest package outside the standard library, from the
    /// leaf: the subsystems whose own code, or the standard library it calls, burns the CPU.
    /// Go only (`None` otherwise: it reads the Go standard library's import paths).
    pub subsystems: Option<ShareTable>,
    /// Go only: the categories read Go runtime function names.
    pub categories: Option<ShareTable>,
    /// Go only: the syscall leaves are Go's syscall functions.
    pub syscalls: Option<SyscallAttribution>,
    /// Go only: the call paths carrying the most CPU, from the first application frame to
    /// the leaf, with the cum at each step.
    #[serde(default)]
    pub hot_paths: Vec<super::hotpaths::HotPath>,
    /// The packages of the profile's frames, worked out for the package table and handed
    /// to the rules, which read the same (not serialised).
    #[serde(skip)]
    pub frame_packages: SharedPackages,
    /// CPU by pprof label (`pprof.Do`, `pprof.SetGoroutineLabels`): one table per string
    /// label key, its values by CPU, the samples without the key as one row; empty when no
    /// sample has a label.
    #[serde(default)]
    pub labels: Vec<super::labels::LabelTable>,
}

/// Where the CPU that shares are turned into cores comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoresBasis {
    /// The context's process CPU%.
    ProcessCpu,
    /// The CPU profile's own utilisation (CPU time over its duration).
    ProfileUtilisation,
}

/// The process's CPU in percent of one core, the basis on which shares become cores: the
/// context's process CPU% where given, else the CPU profile's utilisation. Worked out here
/// only; the CPU analysis, the findings and the comparison all read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuBasis {
    /// CPU in percent of one core (`121.31` is 1.21 cores); 0 when not `known`.
    pub percent: f64,
    /// Where `percent` comes from.
    pub source: CoresBasis,
    /// False when neither says anything (the profile's utilisation is unknown, and `percent`
    /// is 0).
    pub known: bool,
}

impl CpuBasis {
    /// The basis from the context's CPU% and the profile's utilisation.
    pub fn new(
        process_cpu_percent: Option<f64>,
        utilisation: f64,
        utilisation_known: bool,
    ) -> Self {
        match process_cpu_percent {
            Some(percent) => CpuBasis {
                percent,
                source: CoresBasis::ProcessCpu,
                known: true,
            },
            None => CpuBasis {
                percent: utilisation,
                source: CoresBasis::ProfileUtilisation,
                known: utilisation_known,
            },
        }
    }

    /// The basis of a set: its context's CPU% and its CPU analysis, when it has either.
    pub fn of(process_cpu_percent: Option<f64>, cpu: Option<&CpuAnalysis>) -> Option<Self> {
        match (process_cpu_percent, cpu) {
            (None, None) => None,
            (p, c) => Some(CpuBasis::new(
                p,
                c.map_or(0.0, |c| c.utilisation),
                c.is_some_and(|c| c.utilisation_known),
            )),
        }
    }
}

/// CPU spent in syscall leaves, charged to the code that made the syscalls (Go only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyscallAttribution {
    /// CPU in syscall leaves.
    pub total: i64,
    /// The syscall CPU in the top table's unit (`4.20s`).
    pub total_text: String,
    /// Share of the profile's total CPU, in percent (0–100).
    pub share: f64,
    /// The same, formatted as pprof prints it (`12.34%`).
    pub share_text: String,
    /// By the nearest function outside the standard library.
    pub by_caller: ShareTable,
    /// By that function's package.
    pub by_package: ShareTable,
    /// By system call: the wrapper or runtime stub of each call, with pprof's cum of it
    /// and the code calling it, most first.
    #[serde(default)]
    pub by_call: Vec<super::syscalls::SyscallKind>,
}

fn yes() -> bool {
    true
}

/// A CPU analysis's frame packages, shared with the rules; always equal, since they follow
/// from the profile the rest of the analysis compares.
#[derive(Clone, Default)]
pub struct SharedPackages(pub Option<std::sync::Arc<FramePackages>>);

impl PartialEq for SharedPackages {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for SharedPackages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedPackages")
    }
}

/// The categories, in the order they are decided: a sample belongs to the first that
/// matches. Which runtime functions make each is `runtime`'s table.
pub const CATEGORIES: [&str; 6] = [
    "garbage collection",
    "syscalls",
    "preemption",
    "scheduler",
    "memory allocation",
    "application",
];

/// True for a leaf function that is a system call entering the kernel (any Go release).
pub fn is_syscall_leaf(name: &str) -> bool {
    runtime::role(name) == Some(Role::SyscallLeaf)
}

/// What each function of a profile says about a stack's category, computed once per
/// function so that categorizing a stack is a few bit tests per frame.
pub struct CategoryFlags {
    flags: Vec<u8>,
}

const GC: u8 = 1;
const SYSCALL_LEAF: u8 = 2;
const SCHEDULER: u8 = 4;
const ALLOCATION: u8 = 8;
const PREEMPTION: u8 = 16;
const SCHEDULER_SYSCALL: u8 = 32;

impl CategoryFlags {
    /// Flags every function of `profile`, once each.
    pub fn new(profile: &Profile) -> Self {
        CategoryFlags {
            flags: profile
                .functions
                .iter()
                .map(|f| match runtime::role(&f.name) {
                    Some(Role::Gc) => GC,
                    Some(Role::SyscallLeaf) => SYSCALL_LEAF,
                    Some(Role::SchedulerSyscall) => SCHEDULER_SYSCALL,
                    Some(Role::Preemption) => PREEMPTION,
                    Some(Role::Scheduler) => SCHEDULER,
                    Some(Role::Allocation) => ALLOCATION,
                    None => 0,
                })
                .collect(),
        }
    }

    /// The category of one stack of function indices, leaf first: the first that matches of
    /// garbage collection (a GC frame anywhere), syscalls (a syscall leaf, unless the
    /// runtime's own waiting reached it), preemption, scheduler, memory allocation (a frame
    /// of each anywhere); else application.
    pub fn category(&self, functions: &[u32]) -> &'static str {
        let flag = |f: Option<&u32>| f.map_or(0, |&f| self.flags[f as usize]);
        let any = |wanted: u8| {
            functions
                .iter()
                .any(|&f| self.flags[f as usize] & wanted != 0)
        };
        let leaf_is_syscall = flag(functions.first()) & SYSCALL_LEAF != 0;
        let runtime_wait = flag(functions.get(1)) & SCHEDULER_SYSCALL != 0;
        if any(GC) {
            CATEGORIES[0]
        } else if leaf_is_syscall && !runtime_wait {
            CATEGORIES[1]
        } else if any(PREEMPTION) {
            CATEGORIES[2]
        } else if any(SCHEDULER | SCHEDULER_SYSCALL) {
            CATEGORIES[3]
        } else if any(ALLOCATION) {
            CATEGORIES[4]
        } else {
            CATEGORIES[5]
        }
    }
}

/// The subsystem each package's CPU is charged to: its own, unless the package is a helper
/// of one other package: only that one calls it (in every sample that holds it, the nearest
/// package outside the standard library on the caller's side is that one), and that one
/// burns at least as much CPU itself. The owner may be owned in turn. A utility that several
/// packages call stays apart; a package that burns more than its only caller is a subsystem
/// the caller starts (a poller a node runs), not its helper; and nothing is charged to
/// `main`, the program itself. So a package's private helpers (a directory walker that only
/// the port lister calls) count with it, and the subsystems rank as an engineer reads them.
fn subsystem_owners(
    profile: &Profile,
    index: usize,
    stacks: &FunctionStacks,
    packages: &FunctionKeys,
    user_package: &[bool],
) -> Vec<usize> {
    /// The nearest calling package seen so far: none yet, one, or several (or a stack root).
    #[derive(Clone, Copy, PartialEq)]
    enum Caller {
        Unseen,
        One(u32),
        Several,
    }
    let count = packages.names.len();
    let mut callers = vec![Caller::Unseen; count];
    // What each package burns itself: the samples it is the nearest such package of.
    let mut own = vec![0i64; count];
    let mut functions: Vec<u32> = Vec::new();
    let mut chain: Vec<u32> = Vec::new();
    for sample in profile.samples() {
        stacks.sample_named(sample, &mut functions);
        chain.clear();
        for &f in &functions {
            let k = packages.of(f);
            if user_package[k as usize] && chain.last() != Some(&k) {
                chain.push(k);
            }
        }
        if let Some(&leafward) = chain.first() {
            own[leafward as usize] += sample.value(index);
        }
        for (i, &k) in chain.iter().enumerate() {
            let seen = match chain.get(i + 1) {
                Some(&caller) if caller != k => Caller::One(caller),
                _ => Caller::Several,
            };
            let slot = &mut callers[k as usize];
            *slot = match *slot {
                Caller::Unseen => seen,
                same if same == seen => same,
                _ => Caller::Several,
            };
        }
    }
    (0..count)
        .map(|start| {
            let mut owner = start;
            // At most one step per package: a cycle of callers stops where it started.
            for _ in 0..count {
                match callers[owner] {
                    Caller::One(caller)
                        if packages.names[caller as usize] != "main"
                            && caller as usize != start
                            && own[caller as usize] >= own[owner] =>
                    {
                        owner = caller as usize
                    }
                    _ => break,
                }
            }
            owner
        })
        .collect()
}

/// Runs the CPU analysis. `None` when the profile has no cpu sample type.
pub fn analyze(profile: &Profile, options: &CpuOptions) -> Option<CpuAnalysis> {
    let index = profile
        .sample_index_of("cpu")
        .or_else(|| (!profile.sample_types.is_empty()).then(|| profile.default_sample_index()))?;
    let unit = profile.sample_types[index].unit.clone();
    let count_index = profile.sample_index_of("samples");
    let total: i64 = profile.samples().map(|s| s.value(index)).sum();
    let sample_count: i64 = match count_index {
        Some(i) => profile.samples().map(|s| s.value(i)).sum(),
        None => profile.samples.len() as i64,
    };
    let (total_nanos, time_unit) = units::scale(total, &unit, "nanoseconds");
    // Utilisation needs CPU time and a duration: a profile in sample counts (async-profiler's
    // `cpu/count`) or without a duration says nothing about it, and its cores are unknown.
    let utilisation_known = time_unit == "ns" && profile.duration_nanos > 0;
    let utilisation = if utilisation_known {
        total_nanos / profile.duration_nanos as f64 * 100.0
    } else {
        0.0
    };
    let basis = CpuBasis::new(options.process_cpu_percent, utilisation, utilisation_known);
    let (cores_basis, cores_basis_percent) = (basis.source, basis.percent);
    let cores_per_share = basis.known.then_some(cores_basis_percent / 100.0);

    let sample_index = Some(profile.sample_types[index].kind.clone());
    let top_options = TopOptions {
        sample_index: sample_index.clone(),
        node_count: options.top_rows,
        ..TopOptions::default()
    };
    let cum_options = TopOptions {
        cum_sort: true,
        ..top_options.clone()
    };
    let mut tops = top::top_views(profile, None, &[top_options, cum_options]).ok()?;
    let top_cum = tops.pop()?;
    let top_flat = tops.pop()?;
    let out_unit = top_flat.output_unit.clone();

    let go = options.language == Language::Go;
    let frame_packages = std::sync::Arc::new(FramePackages::new(profile, options.language));
    let mut packages = KeyCounter::new(frame_packages.names().len(), 1);
    // Per function, computed once: its Go package, whether that is code outside the
    // standard library (the subsystem a sample is charged to), and its category flags.
    let stacks = FunctionStacks::new(profile);
    let go_packages = FunctionKeys::new(profile, package_of);
    let user_package: Vec<bool> = go_packages
        .names
        .iter()
        .map(|p| is_application_package(p))
        .collect();
    let flags = CategoryFlags::new(profile);
    let owners = if go {
        subsystem_owners(profile, index, &stacks, &go_packages, &user_package)
    } else {
        Vec::new()
    };
    let mut subsystems = vec![0i64; go_packages.names.len() + 1];
    let mut categories = [0i64; CATEGORIES.len()];
    let mut callers = vec![0i64; profile.functions.len() + 1];
    let mut syscall_total = 0i64;
    let calls = super::syscalls::Calls::new(profile.functions.iter().map(|f| f.name.as_str()));
    // Per wrapper function: its CPU, and its callers' (function, CPU).
    let mut by_call: rustc_hash::FxHashMap<u32, (i64, rustc_hash::FxHashMap<u32, i64>)> =
        rustc_hash::FxHashMap::default();
    let mut functions: Vec<u32> = Vec::new();
    for sample in profile.samples() {
        let value = sample.value(index);
        if value == 0 {
            continue;
        }
        packages.add(frame_packages.keys(sample), &[value]);
        if !go {
            continue;
        }
        stacks.sample_named(sample, &mut functions);
        // The last slot stands for "(standard library and runtime)".
        let subsystem = functions
            .iter()
            .map(|&f| go_packages.of(f))
            .find(|&k| user_package[k as usize])
            .map_or(go_packages.names.len(), |k| owners[k as usize]);
        subsystems[subsystem] += value;
        if let Some((_, at)) = calls.of_stack(&functions) {
            let above = &functions[at + 1..];
            let caller = above
                .iter()
                .find(|&&f| user_package[go_packages.of(f) as usize])
                .or(above.first());
            let entry = by_call.entry(functions[at]).or_default();
            entry.0 += value;
            if let Some(&caller) = caller {
                *entry.1.entry(caller).or_default() += value;
            }
        }
        let category = flags.category(&functions);
        if let Some(c) = CATEGORIES.iter().position(|c| *c == category) {
            categories[c] += value;
        }
        if category == CATEGORIES[1] {
            syscall_total += value;
            // The last slot stands for "(standard library only)".
            let caller = functions
                .iter()
                .find(|&&f| user_package[go_packages.of(f) as usize])
                .map_or(profile.functions.len(), |&f| f as usize);
            callers[caller] += value;
        }
    }
    let packages =
        ShareCounter::from_values(frame_packages.names().iter().enumerate().map(|(k, name)| {
            let (flat, cum) = packages.get(k, 0);
            (name.as_str(), flat, cum)
        }));
    let subsystems = ShareCounter::from_values(subsystems.iter().enumerate().map(|(k, &v)| {
        let name = go_packages
            .names
            .get(k)
            .copied()
            .unwrap_or("(standard library and runtime)");
        (name, v, v)
    }));
    let categories = ShareCounter::from_values(
        CATEGORIES
            .iter()
            .zip(categories)
            .map(|(name, v)| (*name, v, v)),
    );
    let caller_name = |f: usize| {
        profile
            .functions
            .get(f)
            .map_or("(standard library only)", |f| f.name.as_str())
    };
    let caller_packages = ShareCounter::from_values(callers.iter().enumerate().map(|(f, &v)| {
        let name = caller_name(f);
        let package = if name.starts_with('(') {
            name
        } else {
            package_of(name)
        };
        (package, v, v)
    }));
    let callers = ShareCounter::from_values(
        callers
            .iter()
            .enumerate()
            .map(|(f, &v)| (caller_name(f), v, v)),
    );
    let table = |counter: ShareCounter, rows: usize, of: i64| {
        counter.table(of, rows, &unit, Some(&out_unit), cores_per_share)
    };
    Some(CpuAnalysis {
        duration_nanos: profile.duration_nanos,
        duration_text: units::label(profile.duration_nanos, "nanoseconds"),
        total,
        total_text: top_flat.total_text.clone(),
        sample_count,
        utilisation,
        utilisation_known,
        utilisation_text: units::percentage(total_nanos as i64, profile.duration_nanos)
            .trim()
            .to_string(),
        cores_basis,
        cores_basis_percent,
        packages: table(packages, options.table_rows, total),
        subsystems: go.then(|| table(subsystems, options.table_rows, total)),
        labels: super::labels::tables(profile, index, |counter, of| {
            table(counter, options.table_rows, of)
        }),
        categories: go.then(|| table(categories, CATEGORIES.len(), total)),
        syscalls: go.then(|| SyscallAttribution {
            total: syscall_total,
            total_text: units::scaled_label(syscall_total, &unit, &out_unit),
            share: if total == 0 {
                0.0
            } else {
                syscall_total as f64 / total as f64 * 100.0
            },
            share_text: units::percentage(syscall_total, total).trim().to_string(),
            by_caller: table(callers, options.table_rows, total),
            by_package: table(caller_packages, options.table_rows, total),
            by_call: syscall_kinds(
                profile,
                &calls,
                by_call,
                total,
                (&unit, &out_unit),
                cores_per_share,
                options.table_rows,
            ),
        }),
        hot_paths: if go {
            super::hotpaths::hot_paths_with(profile, index, (&unit, &out_unit), &stacks, &|f| {
                user_package[go_packages.of(f) as usize]
            })
        } else {
            Vec::new()
        },
        frame_packages: SharedPackages(Some(frame_packages)),
        top_flat,
        top_cum,
    })
}

/// The system calls' rows, most CPU first (then by name), at most `rows`.
fn syscall_kinds(
    profile: &Profile,
    calls: &super::syscalls::Calls,
    by_call: rustc_hash::FxHashMap<u32, (i64, rustc_hash::FxHashMap<u32, i64>)>,
    total: i64,
    (unit, out_unit): (&str, &str),
    cores_per_share: Option<f64>,
    rows: usize,
) -> Vec<super::syscalls::SyscallKind> {
    let name = |f: u32| {
        profile
            .functions
            .get(f as usize)
            .map_or("", |f| f.name.as_str())
    };
    let share = |v: i64| units::percentage(v, total).trim().to_string();
    let mut kinds: Vec<super::syscalls::SyscallKind> = by_call
        .into_iter()
        .filter_map(|(function, (cum, callers))| {
            let call = calls.call(function)?.to_string();
            let mut callers: Vec<(u32, i64)> = callers.into_iter().collect();
            callers.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| name(a.0).cmp(name(b.0))));
            Some(super::syscalls::SyscallKind {
                call,
                function: name(function).to_string(),
                cum,
                cum_text: units::scaled_label(cum, unit, out_unit),
                share_text: share(cum),
                cores_text: cores_per_share
                    .map(|c| super::shares::format_cores(cum as f64 / total.max(1) as f64 * c)),
                callers: callers
                    .into_iter()
                    .take(3)
                    .map(|(f, v)| (name(f).to_string(), share(v)))
                    .collect(),
            })
        })
        .collect();
    kinds.sort_by(|a, b| b.cum.cmp(&a.cum).then_with(|| a.function.cmp(&b.function)));
    kinds.truncate(rows);
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The category of one stack of names, leaf first: the reference that the per-function
    /// flags of [`CategoryFlags`] are held to.
    fn categorize(names: &[&str]) -> &'static str {
        let has = |role: Role| names.iter().any(|n| runtime::role(n) == Some(role));
        let runtime_wait =
            names.get(1).and_then(|n| runtime::role(n)) == Some(Role::SchedulerSyscall);
        if has(Role::Gc) {
            return CATEGORIES[0];
        }
        if names.first().is_some_and(|n| is_syscall_leaf(n)) && !runtime_wait {
            return CATEGORIES[1];
        }
        if has(Role::Preemption) {
            return CATEGORIES[2];
        }
        if has(Role::Scheduler) || has(Role::SchedulerSyscall) {
            return CATEGORIES[3];
        }
        if has(Role::Allocation) {
            return CATEGORIES[4];
        }
        CATEGORIES[5]
    }

    /// The function a syscall is charged to: the first frame, from the leaf, outside the
    /// standard library (and outside golang.org/x/sys, which only wraps syscalls).
    fn syscall_caller<'a>(names: &[&'a str]) -> Option<&'a str> {
        names
            .iter()
            .copied()
            .find(|name| is_application_package(package_of(name)))
    }

    /// The per-function flags must categorize every stack as `categorize` does its names.
    #[test]
    fn category_flags_agree_with_categorize_on_the_fixtures() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/profiles");
        let mut stacks_checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if !path.to_string_lossy().ends_with("-cpu.prof") {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            let p = crate::profile::decode(&data, &Default::default()).unwrap();
            let stacks = FunctionStacks::new(&p);
            let flags = CategoryFlags::new(&p);
            let mut functions = Vec::new();
            for sample in p.samples() {
                stacks.sample_named(sample, &mut functions);
                let names: Vec<&str> = p.stack_names(sample).collect();
                assert_eq!(flags.category(&functions), categorize(&names));
                stacks_checked += 1;
            }
        }
        assert!(stacks_checked > 1000, "{stacks_checked}");
    }

    #[test]
    fn categories_in_priority_order() {
        assert_eq!(
            categorize(&[
                "runtime.scanobject",
                "runtime.gcDrain",
                "runtime.gcBgMarkWorker"
            ]),
            "garbage collection"
        );
        assert_eq!(
            categorize(&[
                "internal/runtime/syscall.Syscall6",
                "syscall.RawSyscall6",
                "main.f"
            ]),
            "syscalls"
        );
        assert_eq!(
            categorize(&["runtime.futex", "runtime.futexsleep", "runtime.notesleep"]),
            "scheduler"
        );
        assert_eq!(
            categorize(&["runtime.memclrNoHeapPointers", "runtime.mallocgc", "main.f"]),
            "memory allocation"
        );
        assert_eq!(
            categorize(&[
                "runtime.memmove",
                "runtime.mallocgc",
                "runtime.gcAssistAlloc"
            ]),
            "garbage collection"
        );
        assert_eq!(categorize(&["main.f", "main.main"]), "application");
        assert_eq!(categorize(&[]), "application");
    }

    #[test]
    fn syscalls_are_charged_to_the_first_non_standard_caller() {
        let stack = [
            "internal/runtime/syscall.Syscall6",
            "syscall.RawSyscall6",
            "syscall.NetlinkRIB",
            "net.interfaceAddrTable",
            "net.(*Interface).Addrs",
            "tailscale.com/net/netmon.(*Monitor).interfaces",
            "main.main",
        ];
        assert_eq!(
            syscall_caller(&stack),
            Some("tailscale.com/net/netmon.(*Monitor).interfaces")
        );
        assert_eq!(
            syscall_caller(&[
                "golang.org/x/sys/unix.Syscall",
                "golang.org/x/sys/unix.Read",
                "x.io/y.F"
            ]),
            Some("x.io/y.F")
        );
        assert_eq!(syscall_caller(&["syscall.Syscall6", "runtime.main"]), None);
    }
}
