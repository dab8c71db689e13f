//! The whole investigation of one profile set as one serialisable value (`ReportContext`):
//! what the templates present, what `--format json` writes, and what a report can be
//! rendered again from. Pure: the set is already read, nothing here touches the disk.

use serde::{Deserialize, Serialize};

use super::compare::{Baseline, Side};
use super::contention::{self, ContentionAnalysis, ContentionKind};
use super::cpu::{self, CpuAnalysis, CpuOptions};
use super::findings::{self, Evidence, Findings};
use super::flame;
use super::goroutines::{self, GoroutineAnalysis, GoroutineInput, GoroutineOptions};
use super::language::{self, Language, LanguageVerdict};
use super::memory::{self, MemoryAnalysis, MemoryOptions};
use super::memstats::{self, MemStatsView, StackMemory};
use super::other::{self, OtherProfile};
use super::summary::{ExecutiveSummary, summarize};
use super::{Join, Sequential};
use crate::context::Context;
use crate::profile::Profile;
use crate::set::{Content, MemberKind, ProfileSet, SetName};
use crate::timefmt;
use crate::units;

/// The investigation of one profile set: what `report.md.j2` renders and `--format json` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportContext {
    /// The program that wrote the report.
    pub tool: Tool,
    /// The report's title: `Profile investigation: <host>, <N> services`, else with the host only,
    /// else with the set's name.
    pub title: String,
    /// The profile set: its name, folder, files, and what is missing.
    pub set: SetInfo,
    /// The context (host, services, process statistics, expectations) as read from the context
    /// file; every field absent when there was none.
    pub context: Context,
    /// Where the context came from (a file name), when there was one.
    pub context_file: Option<String>,
    /// Which language's runtime wrote the profiles, and the evidence: the Go-specific
    /// sections say they do not apply when it is not Go.
    pub language: LanguageVerdict,
    /// The CPU analysis; `None` when the set has no CPU profile, or one without sample types.
    pub cpu: Option<CpuAnalysis>,
    /// The goroutine analysis; `None` when the set has no goroutine profile or dump.
    pub goroutines: Option<GoroutineAnalysis>,
    /// The heap and allocation analysis; `None` when the set has neither a heap nor an allocs
    /// profile.
    pub memory: Option<MemoryAnalysis>,
    /// The runtime's MemStats (figures, GC); `None` when the set has no heap text.
    #[serde(default)]
    pub memstats: Option<MemStatsView>,
    /// Goroutine stack memory: the runtime's `StackInuse`, else a 2 KiB floor per goroutine;
    /// `None` when neither MemStats nor a goroutine count is there.
    #[serde(default)]
    pub stacks: Option<StackMemory>,
    /// The process's RSS (from the context) split by the runtime's accounting; `None`
    /// without an RSS.
    #[serde(default)]
    pub rss: Option<super::rss::RssBreakdown>,
    /// Goroutines the runtime proved leaked (the goroutine leak profile and its dump, Go
    /// 1.26+); `None` when the set has neither.
    #[serde(default)]
    pub leaks: Option<super::leaks::LeakAnalysis>,
    /// The mutex profile (else a contention profile whose name says neither); always there, its
    /// verdict says whether it was collected.
    pub mutex: ContentionAnalysis,
    /// The block profile; always there, its verdict says whether it was collected.
    pub block: ContentionAnalysis,
    /// Profiles no section above reads (another language's wall-clock or allocation
    /// profiles, a second profile of a kind), with their language-neutral tables.
    pub others: Vec<OtherProfile>,
    /// What the executive summary says.
    pub summary: ExecutiveSummary,
    /// The rules that fired, ranked as recommendations.
    pub findings: Findings,
    /// The flame graphs, each with its file or why there is none: CPU, in-use heap, allocated bytes
    /// and goroutines, then one per profile in `others`.
    pub flame_graphs: Vec<FlameGraph>,
    /// The comparison with a baseline set, when one was given.
    pub baseline: Option<Baseline>,
    /// The command that writes this report again.
    pub command: String,
    /// The command that makes a profile for `go build -pgo` from the set's CPU profile;
    /// `None` when the set has none.
    #[serde(default)]
    pub pgo_command: Option<String>,
    /// Why `go build -pgo` cannot use the set's CPU profile (a Go before 1.20 writes no
    /// function start lines); `None` when it can, or when there is no CPU profile.
    #[serde(default)]
    pub pgo_unusable: Option<String>,
}

/// The program that wrote a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The program's name: `pprof-report`.
    pub name: String,
    /// The program's version (`0.1.0`).
    pub version: String,
}

/// The profile set a report is made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetInfo {
    /// The set's name: the common prefix of its files (`storage-57svc-20251015-210532`).
    pub name: String,
    /// The folder the set was read from, as given.
    pub dir: String,
    /// What the set's name says (host, services, collection time) when it has the form
    /// `<host>-<N>svc-<YYYYMMDD-HHMMSS>`; `None` otherwise.
    pub naming: Option<SetName>,
    /// Host: the context's, else the set name's.
    pub host: Option<String>,
    /// Services declared (context, else set name).
    pub services: Option<u32>,
    /// When the set was collected: the context's `collected_at` (ISO 8601), else the set name's
    /// (`2025-10-15 21:05:32`, the collector's local time); `None` when neither says.
    pub collected_at: Option<String>,
    /// `collected_at` as the report prints it, with its zone (`2026-11-25 14:57:00 UTC`), or
    /// saying where it came from when no zone is known.
    #[serde(default)]
    pub collected_text: Option<String>,
    /// The set's files, in member kind order, then by path.
    pub members: Vec<MemberInfo>,
    /// The members a complete Go set has that were not found.
    pub missing: Vec<MissingMember>,
    /// Lines the text parsers skipped, per file (lenient parsing counts what it skips).
    pub skipped: Vec<Skipped>,
}

/// One file of the set, for the metadata table and the appendix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// What the file is, serialised in kebab-case (`cpu`, `goroutine-debug2`, `thread-create`).
    pub kind: MemberKind,
    /// The kind in words (`CPU profile`, `goroutine dump (debug=2)`).
    pub kind_text: String,
    /// The file's name, without its folder.
    pub file: String,
    /// The file's size in bytes.
    pub size: u64,
    /// The size in a readable unit (`1.50MB`).
    pub size_text: String,
    /// The file's SHA-256, in hex.
    pub sha256: String,
    /// pprof's `Time:` of the profile (protobuf members).
    pub time_text: Option<String>,
    /// The profile's duration in a readable unit (`60.02s`); `None` for dumps and for profiles that
    /// state none.
    pub duration_text: Option<String>,
    /// Number of samples (stacks with their values) in the profile; for a dump, in the profile
    /// built from its stacks.
    pub samples: usize,
    /// The sample types as `type/unit`, comma-separated (`samples/count, cpu/nanoseconds`).
    pub sample_types: String,
    /// The language this member's own frames point to (the set's when they say nothing).
    pub language_text: String,
}

/// A member a complete Go set has that was not found, and where to fetch it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingMember {
    /// Its kind, serialised as in [`MemberInfo::kind`].
    pub kind: MemberKind,
    /// The kind in words (`mutex profile`).
    pub kind_text: String,
    /// The `/debug/pprof` path that serves it (`/debug/pprof/mutex`).
    pub endpoint: String,
}

/// A goroutine text dump whose parser skipped lines it did not recognise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// The dump's file name.
    pub file: String,
    /// How many lines were skipped.
    pub lines: usize,
}

/// One flame graph: the SVG file (relative to the report) and what it shows, or why there
/// is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlameGraph {
    /// Names the graph and its file: `cpu`, `heap-inuse`, `allocs`, `goroutines`, or `other-<N>`
    /// for the N-th profile in `others`.
    pub id: String,
    /// The graph's title: what it shows and the set's name (`CPU — <set>`), or another profile's
    /// kind and file name.
    pub title: String,
    /// The file and sample type drawn (`<file> (cpu)`), and what was merged for being narrower than
    /// a pixel; empty when the set has no profile for it.
    pub subtitle: String,
    /// The SVG's path relative to the report (`<report stem>/cpu.svg` once the assets are placed);
    /// `None` when nothing was drawn.
    pub file: Option<String>,
    /// Why there is no graph (`the set has no profile for it`,
    /// `the profile has no samples to draw`, `the profile declares no sample types`); `None` when
    /// there is one.
    pub missing_reason: Option<String>,
}

/// A flame graph to draw: its folded stacks and how to title and colour it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlameInput {
    /// The graph's id, as in [`FlameGraph::id`]; the SVG is `<id>.svg`.
    pub id: String,
    /// The folded stacks to draw (`root;caller;leaf value`), paths narrower than a pixel merged
    /// into their callers.
    pub folded: Vec<String>,
    /// The SVG's title.
    pub title: String,
    /// The SVG's subtitle: the file and sample type drawn, and what was merged.
    pub subtitle: String,
    /// What the values count, shown in the SVG: `nanoseconds`, `bytes`, `goroutines`, or another
    /// profile's sample unit.
    pub count_name: String,
    /// inferno's palette: `hot` for CPU and time, `mem` for bytes, `aqua` for goroutines.
    pub palette: &'static str,
}

/// Options of an investigation; defaults in `Default`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InvestigationOptions {
    /// How goroutine stacks are grouped.
    pub goroutines: GoroutineOptions,
    /// The recommendation rules (built-in and the user's).
    pub rules: Vec<crate::rules::Rule>,
    /// The context file's name, when there was one (shown in the report).
    pub context_file: Option<String>,
    /// Memory, not time, is what the set makes scarce (the report's job sets it when a member
    /// inflated to 16 MiB or more, `allocator::large_member_read`): the goroutine
    /// analysis then runs before the memory analysis instead of beside it. Each holds
    /// transient tables as large as its input (the goroutine grouping, the merged samples of
    /// the heap and allocs views), and on such a set the other passes keep both cores busy
    /// anyway. The results are the same either way.
    pub memory_scarce: bool,
}

/// The flame graphs a set gives: the inputs to draw, and the report's entries for the
/// profiles that no section reads (drawn or not).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flames {
    /// The graphs to draw: the report's four (those the set has a profile for; one without samples
    /// has empty `folded`), then one per profile in the report's `others` that has samples.
    pub inputs: Vec<FlameInput>,
    other_graphs: Vec<FlameGraph>,
}

impl Flames {
    /// The flame graphs with something to draw.
    pub fn drawable(&self) -> impl Iterator<Item = &FlameInput> {
        self.inputs.iter().filter(|f| !f.folded.is_empty())
    }
}

/// The folded stacks of every flame graph of the set (the four of a report, and one per
/// profile that no section reads). Independent of the other analyses.
pub fn flames(set: &ProfileSet, join: &impl Join) -> Flames {
    let mut inputs = flame_inputs(set, join);
    let (other_inputs, other_graphs) = other_flames(set);
    inputs.extend(other_inputs);
    Flames {
        inputs,
        other_graphs,
    }
}

/// The analyses that read only the profiles, and the findings (which need the CPU, goroutine
/// and contention analyses but not the memory one): computed side by side (through `join`)
/// before [`assemble`] puts them together with what depends on them.
pub struct Analyses<'s> {
    cpu: Option<CpuAnalysis>,
    goroutines: Option<GoroutineAnalysis>,
    memory: Option<memory::Measured>,
    mutex: ContentionAnalysis,
    block: ContentionAnalysis,
    findings: Findings,
    languages: Languages<'s>,
}

/// The languages of a set, each read once and on first use: the whole set's verdict (all
/// members' frames together) and each member's own. The analyses, the rules and the appendix
/// all ask, and each reading is a pass over a member's functions.
struct Languages<'s> {
    set: &'s ProfileSet,
    verdict: std::sync::OnceLock<LanguageVerdict>,
    /// Per member of the set, in its order: the member's own language (`Unknown` when its
    /// frames say nothing or it has none).
    own: Vec<std::sync::OnceLock<Language>>,
}

impl<'s> Languages<'s> {
    /// Nothing read yet.
    fn new(set: &'s ProfileSet) -> Self {
        Languages {
            set,
            verdict: std::sync::OnceLock::new(),
            own: set
                .members
                .iter()
                .map(|_| std::sync::OnceLock::new())
                .collect(),
        }
    }

    /// The whole set's verdict.
    fn set(&self) -> &LanguageVerdict {
        self.verdict.get_or_init(|| set_language(self.set))
    }

    /// A member's own language, or the set's when its frames say nothing (an empty mutex
    /// profile of a Go service has no frames at all).
    fn member(&self, member: &crate::set::Member) -> Language {
        let index = self
            .set
            .members
            .iter()
            .position(|m| std::ptr::eq(m, member));
        let own = index
            .and_then(|i| self.own.get(i))
            .map_or(Language::Unknown, |own| {
                *own.get_or_init(|| {
                    member
                        .profile()
                        .map_or(Language::Unknown, |p| language::detect(p).language)
                })
            });
        match own {
            Language::Unknown => self.set().language,
            own => own,
        }
    }
}

/// The CPU, goroutine, memory and contention analyses of a set, and its findings by
/// `options.rules`; `join` decides whether they run side by side. The memory analysis (the
/// longest on a large heap profile) runs beside all the others: the rules, which walk the
/// same stacks, are measured while it goes on.
pub fn analyses<'s>(
    set: &'s ProfileSet,
    context: &Context,
    options: &InvestigationOptions,
    join: &impl Join,
) -> Analyses<'s> {
    let profile_of = |kind| set.member(kind).and_then(|m| m.profile());
    let process = context.process.clone().unwrap_or_default();
    let languages = Languages::new(set);
    let language_of = |kinds: &[MemberKind]| {
        kinds
            .iter()
            .find_map(|k| set.member(*k))
            .map_or(languages.set().language, |member| languages.member(member))
    };
    let goroutine_input = goroutine_input(set, context);
    let uptime = process.uptime.map(|u| u.seconds);
    let memory_options = MemoryOptions {
        uptime_seconds: uptime,
        language: language_of(&[MemberKind::Heap, MemberKind::Allocs]),
        ..MemoryOptions::default()
    };
    let cpu_options = CpuOptions {
        process_cpu_percent: process.cpu_percent,
        language: language_of(&[MemberKind::Cpu]),
        ..CpuOptions::default()
    };
    let goroutines_and_cpu = || {
        join.join(
            || goroutines::analyze(&goroutine_input, &options.goroutines),
            || profile_of(MemberKind::Cpu).and_then(|p| cpu::analyze(p, &cpu_options)),
        )
    };
    let memory = || {
        memory::measure(
            profile_of(MemberKind::Heap),
            profile_of(MemberKind::Allocs),
            profile_of(MemberKind::AllocsWindow),
            &memory_options,
            join,
        )
    };
    // Contention and the findings, which need the CPU and goroutine analyses.
    let contention_and_findings =
        |cpu: Option<&CpuAnalysis>, goroutines: Option<&GoroutineAnalysis>| {
            let mutex = contention::analyze_with_window(
                mutex_profile_of(set),
                profile_of(MemberKind::MutexWindow),
                ContentionKind::Mutex,
                10,
                uptime,
            );
            let block = contention::analyze_with_window(
                profile_of(MemberKind::Block),
                profile_of(MemberKind::BlockWindow),
                ContentionKind::Block,
                10,
                uptime,
            );
            let findings = findings::evaluate_with(
                &options.rules,
                &evidence(
                    set,
                    context,
                    languages.set().language,
                    cpu,
                    goroutines,
                    &mutex,
                    &block,
                ),
                join,
            );
            (mutex, block, findings)
        };
    let (memory, (cpu, goroutines, (mutex, block, findings))) = if options.memory_scarce {
        // Measured on bench/large.sh's whole generated set: peak RSS 120.0 MB instead of
        // 128.5 (medians of 9 alternating runs), in the same time (docs/speed.md).
        let (goroutines, cpu) = goroutines_and_cpu();
        let (memory, rest) = join.join(memory, || {
            contention_and_findings(cpu.as_ref(), goroutines.as_ref())
        });
        (memory, (cpu, goroutines, rest))
    } else {
        join.join(memory, || {
            let (goroutines, cpu) = goroutines_and_cpu();
            let rest = contention_and_findings(cpu.as_ref(), goroutines.as_ref());
            (cpu, goroutines, rest)
        })
    };
    Analyses {
        cpu,
        goroutines,
        memory,
        mutex,
        block,
        findings,
        languages,
    }
}

/// Analyzes the set, one analysis after another; returns the report context and the flame
/// graphs to draw. A job that runs the passes side by side calls [`flames`], [`analyses`]
/// and [`assemble`] itself.
pub fn investigate(
    set: &ProfileSet,
    context: &Context,
    options: &InvestigationOptions,
) -> (ReportContext, Flames) {
    let flames = flames(set, &Sequential);
    let analyses = analyses(set, context, options, &Sequential);
    (assemble(set, context, options, analyses, &flames), flames)
}

/// The report context from the analyses and the flame graphs: the memory's share of the
/// CPU's packages, the other profiles and the summary. The flame
/// graphs' files are named by their id (`cpu.svg`); [`ReportContext::place_assets`] puts them
/// in the report's folder.
pub fn assemble(
    set: &ProfileSet,
    context: &Context,
    options: &InvestigationOptions,
    analyses: Analyses<'_>,
    flames: &Flames,
) -> ReportContext {
    let Analyses {
        cpu,
        goroutines,
        memory,
        mutex,
        block,
        findings,
        languages,
    } = analyses;
    let profile_of = |kind| set.member(kind).and_then(|m| m.profile());
    let set_language = languages.set().clone();
    let services_declared = services_declared(set, context);
    // The subsystems that dominate CPU: the largest (up to three) with at least 5% of it.
    let cpu_packages: Vec<String> = cpu
        .as_ref()
        .and_then(|c| c.subsystems.as_ref())
        .map(|t| {
            t.rows
                .iter()
                .filter(|r| !r.name.starts_with('(') && r.cum_share >= 5.0)
                .take(3)
                .map(|r| r.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let memory = memory.map(|m| m.with_cpu_packages(&cpu_packages));
    let uptime = context
        .process
        .as_ref()
        .and_then(|p| p.uptime.as_ref())
        .map(|u| u.seconds);
    let others: Vec<OtherProfile> = unread_members(set)
        .filter_map(|m| Some((m, m.profile()?)))
        .map(|(m, profile)| {
            other::analyze(
                profile,
                &file_name(&m.path),
                m.kind.describe(),
                languages.member(m),
                10,
            )
        })
        .collect();
    let rss = super::rss::breakdown(
        context.process.as_ref().and_then(|p| p.rss).map(|r| r.0),
        memstats_of(set),
        memory
            .as_ref()
            .and_then(|m| m.inuse_space.as_ref())
            .map(|v| v.top.total),
    );
    let summary = summarize(
        &options.rules,
        context.throughput.as_ref(),
        cpu.as_ref(),
        goroutines.as_ref(),
        memory.as_ref(),
        rss.as_ref(),
        &mutex,
        &block,
        &findings,
    );

    let host = context
        .host
        .clone()
        .or_else(|| set.naming.as_ref().map(|n| n.host.clone()));
    let services = services_declared;
    let collected_at = context
        .collected_at
        .clone()
        .or_else(|| set.naming.as_ref().map(|n| n.collected_at.clone()));
    let collected_text = match (&context.collected_at, &set.naming) {
        (Some(at), _) => Some(timefmt::report_iso_time(at)),
        (None, Some(naming)) => Some(format!(
            "{}, from the set's name (the collector's clock; zone not recorded)",
            naming.collected_at
        )),
        (None, None) => None,
    };

    let mut flame_graphs = flames_for_report(set, &flames.inputs);
    flame_graphs.extend(flames.other_graphs.iter().cloned());
    let members = set
        .members
        .iter()
        .map(|m| member_info(m, languages.member(m)))
        .collect();
    ReportContext {
        tool: Tool {
            name: "pprof-report".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
        title: match (&host, services) {
            (Some(h), Some(1)) => format!("Profile investigation: {h}, 1 service"),
            (Some(h), Some(n)) => format!("Profile investigation: {h}, {n} services"),
            (Some(h), None) => format!("Profile investigation: {h}"),
            _ => format!("Profile investigation: {}", set.name),
        },
        set: SetInfo {
            name: set.name.clone(),
            dir: set.dir.display().to_string(),
            naming: set.naming.clone(),
            host,
            services,
            collected_at,
            collected_text,
            members,
            missing: set
                .missing
                .iter()
                .map(|kind| MissingMember {
                    kind: *kind,
                    kind_text: kind.describe().to_string(),
                    endpoint: kind.endpoint().to_string(),
                })
                .collect(),
            skipped: set
                .members
                .iter()
                .filter_map(|m| match &m.content {
                    Content::Dump(d) if d.skipped_lines > 0 => Some(Skipped {
                        file: file_name(&m.path),
                        lines: d.skipped_lines,
                    }),
                    _ => None,
                })
                .collect(),
        },
        context: context.clone(),
        context_file: options.context_file.clone(),
        language: set_language,
        memstats: set
            .member(MemberKind::MemStats)
            .and_then(|m| Some(memstats::view(m.memstats()?, &file_name(&m.path), uptime))),
        stacks: memstats::stacks(
            memstats_of(set),
            goroutines.as_ref().map(|g| g.totals.total),
        ),
        leaks: leaks_of(set),
        rss,
        cpu,
        goroutines,
        memory,
        mutex,
        block,
        others,
        summary,
        findings,
        flame_graphs,
        baseline: None,
        command: String::new(),
        pgo_command: None,
        pgo_unusable: profile_of(MemberKind::Cpu).and_then(|p| super::pgo::check_usable(p).err()),
    }
}

impl ReportContext {
    /// This report's side of a comparison; `set` is the set it was made from.
    pub fn side<'a>(&'a self, set: &'a ProfileSet) -> Side<'a> {
        Side {
            set,
            context: &self.context,
            host: self.set.host.as_deref(),
            services: self.set.services,
            cpu: self.cpu.as_ref(),
            goroutines: self.goroutines.as_ref(),
            findings: &self.findings,
            evidence: evidence(
                set,
                &self.context,
                self.language.language,
                self.cpu.as_ref(),
                self.goroutines.as_ref(),
                &self.mutex,
                &self.block,
            ),
        }
    }

    /// Puts the flame graphs' files in `dir`, the report's assets folder (relative to the
    /// report): `cpu.svg` becomes `DIR/cpu.svg`.
    pub fn place_assets(&mut self, dir: &str) {
        for graph in &mut self.flame_graphs {
            if let Some(file) = &mut graph.file {
                *file = format!("{dir}/{file}");
            }
        }
    }
}
/// The mutex profile of a set, else its unnamed contention profile.
fn mutex_profile_of(set: &ProfileSet) -> Option<&crate::profile::Profile> {
    set.member(MemberKind::Mutex)
        .or_else(|| set.member(MemberKind::Contention))
        .and_then(|m| m.profile())
}

/// The services the context declares, else the set's name.
fn services_declared(set: &ProfileSet, context: &Context) -> Option<u32> {
    context
        .services
        .or_else(|| set.naming.as_ref().map(|n| n.services))
}

/// What the goroutine analysis reads of a set and its context.
pub fn goroutine_input<'a>(set: &'a ProfileSet, context: &Context) -> GoroutineInput<'a> {
    let dump_of = |kind| match set.member(kind).map(|m| &m.content) {
        Some(Content::Dump(d)) => Some(d),
        _ => None,
    };
    GoroutineInput {
        profile: set.member(MemberKind::Goroutine).and_then(|m| m.profile()),
        debug1: dump_of(MemberKind::GoroutineDebug1),
        debug2: dump_of(MemberKind::GoroutineDebug2),
        services: services_declared(set, context),
        expected_per_service: context
            .expectations
            .as_ref()
            .and_then(|e| e.goroutines_per_service)
            .map(|r| (r.min, r.max)),
        uptime_seconds: context
            .process
            .as_ref()
            .and_then(|p| p.uptime.as_ref())
            .map(|u| u.seconds),
        mutex: mutex_profile_of(set),
    }
}

/// What the rules look at, from a set and its analyses.
pub fn evidence<'a>(
    set: &'a ProfileSet,
    context: &'a Context,
    language: Language,
    cpu: Option<&'a CpuAnalysis>,
    goroutines: Option<&'a GoroutineAnalysis>,
    mutex: &'a ContentionAnalysis,
    block: &'a ContentionAnalysis,
) -> Evidence<'a> {
    let profile_of = |kind| set.member(kind).and_then(|m| m.profile());
    let process = context.process.clone().unwrap_or_default();
    Evidence {
        cpu_profile: profile_of(MemberKind::Cpu),
        cpu,
        heap: profile_of(MemberKind::Heap),
        allocs: profile_of(MemberKind::Allocs),
        allocs_window: profile_of(MemberKind::AllocsWindow),
        memstats: memstats_of(set),
        goroutine_profile: profile_of(MemberKind::Goroutine)
            .or_else(|| profile_of(MemberKind::GoroutineDebug2))
            .or_else(|| profile_of(MemberKind::GoroutineDebug1)),
        goroutines,
        mutex: Some(mutex),
        block: Some(block),
        process_cpu_percent: process.cpu_percent,
        uptime_seconds: process.uptime.map(|u| u.seconds),
        stack_inuse: memstats_of(set).and_then(|m| m.stack_inuse),
        leaked_goroutines: leaks_of(set).map(|l| l.total),
        language: Some(language),
        process: context.process.as_ref(),
        throughput: context.throughput.as_ref(),
    }
}

/// The proven leaks of a set, when it has the goroutine leak profile or its dump.
fn leaks_of(set: &ProfileSet) -> Option<super::leaks::LeakAnalysis> {
    let profile = set.member(MemberKind::GoroutineLeak).and_then(|m| {
        let profile = m.profile()?;
        Some((file_name(&m.path), profile))
    });
    let dump = set
        .member(MemberKind::GoroutineLeakDebug2)
        .and_then(|m| match &m.content {
            Content::Dump(d) => Some((file_name(&m.path), d)),
            _ => None,
        });
    super::leaks::analyze(
        profile.as_ref().map(|(f, p)| (f.as_str(), *p)),
        dump.as_ref().map(|(f, d)| (f.as_str(), *d)),
    )
}

/// The runtime's MemStats of a set, when it has the heap text.
fn memstats_of(set: &ProfileSet) -> Option<&crate::memstats::MemStats> {
    set.member(MemberKind::MemStats).and_then(|m| m.memstats())
}

/// The language of the whole set: all members' frames together, and goroutine text dumps
/// (which only Go writes) as evidence for Go.
pub fn set_language(set: &ProfileSet) -> LanguageVerdict {
    let dumps = set
        .members
        .iter()
        .filter(|m| matches!(m.content, Content::Dump(_)))
        .count();
    language::detect_many(
        set.members
            .iter()
            .filter(|m| matches!(m.content, Content::Profile(_)))
            .filter_map(|m| m.profile()),
        dumps,
    )
}

/// The members no dedicated section reads: kinds without one (another language's wall or
/// allocation profiles, threadcreate), and every member after the first of its kind (the
/// sections read the first).
fn unread_members(set: &ProfileSet) -> impl Iterator<Item = &crate::set::Member> {
    let first = |kind: MemberKind| set.members.iter().position(|m| m.kind == kind);
    let read: Vec<usize> = [
        MemberKind::Cpu,
        MemberKind::Heap,
        MemberKind::Allocs,
        MemberKind::Goroutine,
        MemberKind::GoroutineDebug1,
        MemberKind::GoroutineDebug2,
        MemberKind::Block,
        MemberKind::MemStats,
        MemberKind::AllocsWindow,
        MemberKind::MutexWindow,
        MemberKind::BlockWindow,
        MemberKind::GoroutineLeak,
        MemberKind::GoroutineLeakDebug2,
    ]
    .into_iter()
    .filter_map(first)
    .chain(first(MemberKind::Mutex).or_else(|| first(MemberKind::Contention)))
    .collect();
    set.members
        .iter()
        .enumerate()
        .filter(move |(i, _)| !read.contains(i))
        .map(|(_, m)| m)
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What the appendix says of a member; `language` is its own, or the set's.
fn member_info(member: &crate::set::Member, language: Language) -> MemberInfo {
    let Some(profile) = member.profile() else {
        // The MemStats text: figures, no stacks or sample types.
        return MemberInfo {
            kind: member.kind,
            kind_text: member.kind.describe().to_string(),
            file: file_name(&member.path),
            size: member.size,
            size_text: units::label(member.size as i64, "bytes"),
            sha256: member.sha256.clone(),
            time_text: None,
            duration_text: None,
            samples: 0,
            sample_types: String::new(),
            language_text: Language::Go.describe().to_string(),
        };
    };
    let is_profile = matches!(member.content, Content::Profile(_));
    MemberInfo {
        kind: member.kind,
        kind_text: member.kind.describe().to_string(),
        file: file_name(&member.path),
        size: member.size,
        size_text: units::label(member.size as i64, "bytes"),
        sha256: member.sha256.clone(),
        time_text: (is_profile && profile.time_nanos != 0)
            .then(|| timefmt::report_time(profile.time_nanos)),
        duration_text: (is_profile && profile.duration_nanos != 0)
            .then(|| units::label(profile.duration_nanos, "nanoseconds")),
        samples: profile.samples.len(),
        sample_types: profile
            .sample_types
            .iter()
            .map(|t| format!("{}/{}", t.kind, t.unit))
            .collect::<Vec<_>>()
            .join(", "),
        language_text: language.describe().to_string(),
    }
}

/// One of the four flame graphs of a report: which member it draws (with stand-ins), which
/// sample type, and how it is labelled and coloured.
struct FlameKind {
    id: &'static str,
    what: &'static str,
    members: &'static [MemberKind],
    sample_index: &'static str,
    count_name: &'static str,
    palette: &'static str,
}

const FLAME_KINDS: [FlameKind; 4] = [
    FlameKind {
        id: "cpu",
        what: "CPU",
        members: &[MemberKind::Cpu],
        sample_index: "cpu",
        count_name: "nanoseconds",
        palette: "hot",
    },
    FlameKind {
        id: "heap-inuse",
        what: "In-use heap",
        members: &[MemberKind::Heap, MemberKind::Allocs],
        sample_index: "inuse_space",
        count_name: "bytes",
        palette: "mem",
    },
    FlameKind {
        id: "allocs",
        what: "Allocated bytes",
        members: &[MemberKind::Allocs, MemberKind::Heap],
        sample_index: "alloc_space",
        count_name: "bytes",
        palette: "mem",
    },
    FlameKind {
        id: "goroutines",
        what: "Goroutines",
        members: &[
            MemberKind::Goroutine,
            MemberKind::GoroutineDebug2,
            MemberKind::GoroutineDebug1,
        ],
        sample_index: "goroutine",
        count_name: "goroutines",
        palette: "aqua",
    },
];

/// The flame graphs the set can give, with their folded stacks. Graphs of one profile (a
/// heap profile standing in for the allocs profile gives both memory graphs) are folded
/// in one walk over its stacks.
fn flame_inputs(set: &ProfileSet, join: &impl Join) -> Vec<FlameInput> {
    let drawn: Vec<(&FlameKind, &crate::set::Member, &Profile, usize)> = FLAME_KINDS
        .iter()
        .filter_map(|kind| {
            let member = kind.members.iter().find_map(|k| set.member(*k))?;
            let profile = member.profile()?;
            let index = profile.sample_index_of(kind.sample_index)?;
            Some((kind, member, profile, index))
        })
        .collect();
    let mut folded: Vec<Option<flame::Folded>> = vec![None; drawn.len()];
    for (first, &(_, _, profile, _)) in drawn.iter().enumerate() {
        if folded[first].is_some() {
            continue;
        }
        let same: Vec<usize> = (first..drawn.len())
            .filter(|&i| std::ptr::eq(drawn[i].2, profile))
            .collect();
        let indices: Vec<usize> = same.iter().map(|&i| drawn[i].3).collect();
        let graphs = flame::folded_for_widths(profile, &indices, flame::MIN_SHARE, join);
        for (i, graph) in same.into_iter().zip(graphs) {
            folded[i] = Some(graph);
        }
    }
    drawn
        .into_iter()
        .zip(folded)
        .map(|((kind, member, _, _), folded)| {
            let folded = folded.unwrap_or_default();
            let base = format!("{} ({})", file_name(&member.path), kind.sample_index);
            FlameInput {
                id: kind.id.to_string(),
                subtitle: flame_subtitle(base, &folded),
                folded: folded.lines,
                title: format!("{} — {}", kind.what, set.name),
                count_name: kind.count_name.to_string(),
                palette: kind.palette,
            }
        })
        .collect()
}

/// A flame graph's subtitle: what it draws, and what it merged for being narrower than the
/// graph can draw (so that the SVG says it left something out).
fn flame_subtitle(base: String, folded: &flame::Folded) -> String {
    if folded.narrow_paths == 0 {
        return base;
    }
    let noun = if folded.narrow_paths == 1 {
        "call path"
    } else {
        "call paths"
    };
    format!(
        "{base}; {} {noun} narrower than 1 px ({} of the total) drawn as their callers' own",
        folded.narrow_paths,
        crate::units::percentage(folded.narrow_value, folded.total).trim()
    )
}

/// Every flame graph the report lists: its file, or why there is none.
fn flames_for_report(set: &ProfileSet, inputs: &[FlameInput]) -> Vec<FlameGraph> {
    FLAME_KINDS
        .iter()
        .map(|kind| {
            let input = inputs.iter().find(|f| f.id == kind.id);
            let drawn = input.is_some_and(|i| !i.folded.is_empty());
            FlameGraph {
                id: kind.id.to_string(),
                title: input.map_or_else(
                    || format!("{} — {}", kind.what, set.name),
                    |i| i.title.clone(),
                ),
                subtitle: input.map(|i| i.subtitle.clone()).unwrap_or_default(),
                file: drawn.then(|| format!("{}.svg", kind.id)),
                missing_reason: match input {
                    _ if drawn => None,
                    Some(_) => Some("the profile has no samples to draw".to_string()),
                    None => Some("the set has no profile for it".to_string()),
                },
            }
        })
        .collect()
}

/// One flame graph per profile that no section reads (its default sample type), so that a
/// Node.js wall profile or a Java allocation profile is drawn like a Go CPU profile.
fn other_flames(set: &ProfileSet) -> (Vec<FlameInput>, Vec<FlameGraph>) {
    let mut inputs = Vec::new();
    let mut graphs = Vec::new();
    let unread = unread_members(set).filter_map(|m| Some((m, m.profile()?)));
    for (n, (member, profile)) in unread.enumerate() {
        let id = format!("other-{}", n + 1);
        let file = file_name(&member.path);
        let title = format!("{} — {}", upper_first(member.kind.describe()), file);
        let Some(sample_type) = profile.sample_types.get(profile.default_sample_index()) else {
            graphs.push(FlameGraph {
                id,
                title,
                subtitle: String::new(),
                file: None,
                missing_reason: Some("the profile declares no sample types".to_string()),
            });
            continue;
        };
        let folded =
            flame::folded_for_width(profile, profile.default_sample_index(), flame::MIN_SHARE);
        let subtitle = flame_subtitle(format!("{file} ({})", sample_type.kind), &folded);
        let folded = folded.lines;
        graphs.push(FlameGraph {
            id: id.clone(),
            title: title.clone(),
            subtitle: subtitle.clone(),
            file: (!folded.is_empty()).then(|| format!("{id}.svg")),
            missing_reason: folded
                .is_empty()
                .then(|| "the profile has no samples to draw".to_string()),
        });
        if !folded.is_empty() {
            inputs.push(FlameInput {
                id,
                folded,
                title,
                subtitle,
                count_name: sample_type.unit.clone(),
                palette: if sample_type.unit == "bytes" {
                    "mem"
                } else {
                    "hot"
                },
            });
        }
    }
    (inputs, graphs)
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
