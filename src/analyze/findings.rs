//! Findings and ranked recommendations: the rules (src/rules/) evaluated against what was
//! measured. Each finding carries its evidence; each estimate shows its arithmetic; CPU and
//! heap savings are computed on the samples a rule matched, so two recommendations never
//! count the same samples twice.

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::contention::{ContentionAnalysis, Verdict};
use super::cpu::{self, CpuAnalysis};
use super::frames::FunctionStacks;
use super::goroutines::GoroutineAnalysis;
use super::language::{FramePackages, Language};
use super::shares::format_cores;
use crate::profile::{Profile, SampleRef};
use crate::rules::{Action, Condition, ImpactKind, Metric, Rule, Severity};
use crate::units;

/// A goroutine's smallest stack (the runtime's `stackMin`, 2 KiB since Go 1.4; stacks grow
/// from there, and Go 1.19 starts new ones at the average size): what each costs at least.
const GOROUTINE_STACK_BYTES: f64 = super::memstats::GOROUTINE_STACK_FLOOR as f64;

/// What the rules can look at.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence<'a> {
    /// The CPU profile, whose samples the CPU rules measure and the CPU estimates count.
    pub cpu_profile: Option<&'a Profile>,
    /// The CPU analysis: the CPU basis of the estimates, and the GC share of `gc` estimates.
    pub cpu: Option<&'a CpuAnalysis>,
    /// The heap profile (in-use).
    pub heap: Option<&'a Profile>,
    /// The allocs profile (allocated since start).
    pub allocs: Option<&'a Profile>,
    /// The allocs profile over the CPU profile's window (`allocs?seconds=N`): the allocation
    /// metrics measure it when the set has it, as the current picture (the profile since
    /// start mixes in start-up).
    pub allocs_window: Option<&'a Profile>,
    /// The runtime's MemStats (the heap profile's text), for `{memstats}`: GC frequency,
    /// the heap goal and the arithmetic of GOGC.
    pub memstats: Option<&'a crate::memstats::MemStats>,
    /// The goroutine profile: the protobuf one, else the stacks of a `debug=2` or `debug=1` dump.
    pub goroutine_profile: Option<&'a Profile>,
    /// The goroutine analysis: inferred instances, groups and module versions.
    pub goroutines: Option<&'a GoroutineAnalysis>,
    /// The mutex profile's analysis (`profile_empty`, `mutex_delay`).
    pub mutex: Option<&'a ContentionAnalysis>,
    /// The block profile's analysis (`profile_empty`).
    pub block: Option<&'a ContentionAnalysis>,
    /// The process's CPU% from the context; else the profile's utilisation is used.
    pub process_cpu_percent: Option<f64>,
    /// The process's uptime from the context, in seconds: mutex delay since start is divided
    /// by it (delay over a window by the window).
    pub uptime_seconds: Option<f64>,
    /// The runtime's `StackInuse` (bytes of goroutine stacks), when the set has MemStats:
    /// goroutine savings use the average stack it gives instead of the 2 KiB floor.
    pub stack_inuse: Option<u64>,
    /// Goroutines the runtime proved leaked (the goroutine leak profile); `None` when the
    /// set has no leak profile.
    pub leaked_goroutines: Option<u64>,
    /// The language of the set's profiles: rules written for one runtime (`runtime: go`)
    /// are skipped for the others, and packages follow the language. `None`: not decided,
    /// every rule is evaluated and packages are Go's.
    pub language: Option<Language>,
}

/// A rule that fired: its text with the measured values filled in, the evidence, the actions and
/// the estimated saving.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's id (`gc-pressure`).
    pub id: String,
    /// The rule's title, the recommendation's heading.
    pub title: String,
    /// The rule's severity (`high`, `medium`, `low`, `info`); recommendations rank by it first.
    pub severity: Severity,
    /// The finding in words: the rule's `finding` with `{subject}`, `{value}`, `{value2}`, … filled
    /// in.
    pub text: String,
    /// The measured quantities that fired the rule.
    pub evidence: Vec<Measured>,
    /// What to do, from the rule: each a kind (`config`, `code`, `architecture`, `profiling`) and a
    /// text.
    pub actions: Vec<Action>,
    /// How to check on the next set that the change worked: the rule's `verify` with `{value}` and
    /// `{subject}` filled in.
    pub verify: String,
    /// The estimated saving, counting only samples no higher-ranked recommendation counted; `None`
    /// for rules without an impact, or when it cannot be computed.
    pub estimate: Option<Estimate>,
}

/// One condition of a rule, as measured on the set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// What was measured, in words (`CPU with a package matching`), and the pattern the
    /// words refer to.
    pub what: String,
    /// The condition's `pattern` (a regular expression), when it has one.
    pub pattern: Option<String>,
    /// The measured value: a share in percent (0–100) for the share metrics, a goroutine count,
    /// goroutines per instance or a group factor, seconds of mutex delay (per second of uptime when
    /// known), or 1/0 for yes/no metrics.
    pub value: f64,
    /// The value as printed (`12.34%`, `6254`, `0.012s`, `empty`, `has samples`).
    pub value_text: String,
    /// The threshold it passed (`≥ 5%`); empty for yes/no measurements.
    pub threshold_text: String,
}

/// An estimated saving and how it was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// What is saved (`cpu`, `memory`, `goroutines`, `gc`).
    pub kind: ImpactKind,
    /// Cores (cpu, gc) or bytes (memory, goroutines).
    pub amount: f64,
    /// The amount as printed: `0.42 cores`, `0.42 cores of GC`, `12MB of heap` or `48MB of stacks`.
    pub amount_text: String,
    /// The arithmetic, shown in the report.
    pub arithmetic: String,
}

/// A ranked recommendation: a finding with actions, in order of its estimated saving.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Position in the ranking, from 1.
    pub rank: usize,
    /// The finding of the rule that fired.
    pub finding: Finding,
}

/// What the rules found on a set: the fired ones, ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Findings {
    /// The fired rules in rank order: most severe first, then the largest estimated saving.
    pub recommendations: Vec<Recommendation>,
    /// The rules that were evaluated.
    pub rules_evaluated: usize,
    /// Rules written for another runtime than the set's (the Go rules on a Java profile),
    /// which were not evaluated.
    #[serde(default)]
    pub rules_not_applicable: usize,
    /// Rules whose conditions held on evidence below its floor ([`FLOORS`]): not
    /// recommendations, since too few samples, bytes or goroutines cannot carry a verdict.
    #[serde(default)]
    pub held_back: Vec<HeldBack>,
}

/// A rule whose conditions held, held back because its evidence is below the floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldBack {
    /// The rule's id.
    pub id: String,
    /// The rule's title.
    pub title: String,
    /// What was measured (`CPU in the scheduler category`).
    pub what: String,
    /// The pattern it matched, when the condition has one.
    pub pattern: Option<String>,
    /// The measured value, formatted (`12.50%`).
    pub value_text: String,
    /// Why it cannot carry a verdict: the evidence and the floor (`0.27 s of CPU samples; a
    /// CPU verdict needs at least 1 s`).
    pub reason: String,
}

/// The least evidence a verdict stands on, by kind of metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Floors {
    /// Seconds of CPU samples in the profile, for any CPU metric (100 samples at Go's
    /// 100 Hz).
    pub cpu_seconds: f64,
    /// Cores that the measured CPU share amounts to (share × the CPU basis).
    pub cpu_cores: f64,
    /// Bytes that a heap or allocation share amounts to.
    pub bytes: f64,
    /// Goroutines concerned, for goroutine metrics.
    pub goroutines: f64,
    /// Sampled contention events, for the mutex delay metric.
    pub contentions: f64,
}

/// The floors the built-in evaluation uses.
pub const FLOORS: Floors = Floors {
    cpu_seconds: 1.0,
    cpu_cores: 0.05,
    bytes: 1024.0 * 1024.0,
    goroutines: 10.0,
    contentions: 10.0,
};

/// Whether a rule applies to the evidence's language: a rule without `runtime` applies to
/// every profile, one with it only to profiles of that language.
pub fn applies(rule: &Rule, evidence: &Evidence) -> bool {
    match (rule.runtime, evidence.language) {
        (Some(runtime), Some(language)) => runtime == language,
        _ => true,
    }
}

/// Which samples a measurement matched, for savings without double counting.
#[derive(Debug, Clone)]
enum Mask {
    Cpu(Vec<bool>),
    Heap(Vec<bool>),
    /// Samples of the allocation profile the metrics read ([`allocations`]).
    Alloc(Vec<bool>),
}

#[derive(Default)]
struct Measurement {
    value: f64,
    text: String,
    what: String,
    subject: String,
    /// Goroutines concerned (goroutine metrics).
    goroutines: Option<f64>,
    /// Bytes concerned, for a metric whose value is not a share of bytes (a share of
    /// objects): its floor is on these.
    bytes: Option<f64>,
    /// The matching function found on most of the matched value (`{top}`), and the code
    /// that calls it (`{caller}`).
    attribution: Option<Attribution>,
    mask: Option<Mask>,
}

/// Who a measurement points at: the function matched most, and its caller.
#[derive(Debug, Clone, Default)]
struct Attribution {
    top: String,
    caller: Option<String>,
}

/// The profile the allocation metrics read: the window's allocs profile, else the allocs
/// profile since start, else the heap profile (which carries the same `alloc_*` values).
fn allocations<'a>(evidence: &Evidence<'a>) -> Option<&'a Profile> {
    evidence.allocs_window.or(evidence.allocs).or(evidence.heap)
}

/// The best fired rule so far in a ranking step: its index, its estimate and the goroutines
/// that estimate counts (counted, of those the rule concerns).
type Candidate = (usize, Option<Estimate>, Option<(f64, f64)>);

/// Evaluates the rules; returns the fired ones as ranked recommendations.
pub fn evaluate(rules: &[Rule], evidence: &Evidence) -> Findings {
    evaluate_with(rules, evidence, &super::Sequential)
}

/// What measuring one rule's conditions gave.
enum Outcome {
    /// The rule is for another runtime.
    NotApplicable,
    /// A condition could not be measured or did not pass.
    Silent,
    /// Every condition passed: their measurements, in order.
    Holds(Vec<Measurement>),
}

fn measure_rule(rule: &Rule, evidence: &Evidence, shared: &Shared) -> Outcome {
    if !applies(rule, evidence) {
        return Outcome::NotApplicable;
    }
    let mut measured = Vec::new();
    for condition in &rule.when {
        match measure(condition, evidence, shared) {
            Some(m) if passes(condition, m.value) => measured.push(m),
            _ => return Outcome::Silent,
        }
    }
    Outcome::Holds(measured)
}

/// [`evaluate`], measuring the two halves of the rules side by side (each rule's
/// measurement reads the profiles on its own; the ranking after them is sequential).
pub fn evaluate_with(rules: &[Rule], evidence: &Evidence, join: &impl super::Join) -> Findings {
    let basis = super::cpu::CpuBasis::of(evidence.process_cpu_percent, evidence.cpu);
    let basis_percent = basis.map_or(0.0, |b| b.percent);
    let mut fired: Vec<(Finding, Option<Mask>, Option<f64>)> = Vec::new();
    let mut held_back: Vec<HeldBack> = Vec::new();
    let mut not_applicable = 0;
    let shared = Shared::default();
    let (first, second) = rules.split_at(rules.len() / 2);
    let measure_all = |part: &[Rule]| -> Vec<Outcome> {
        part.iter()
            .map(|rule| measure_rule(rule, evidence, &shared))
            .collect()
    };
    let (mut outcomes, rest) = join.join(|| measure_all(first), || measure_all(second));
    outcomes.extend(rest);
    for (rule, outcome) in rules.iter().zip(outcomes) {
        let measured = match outcome {
            Outcome::NotApplicable => {
                not_applicable += 1;
                continue;
            }
            Outcome::Silent => continue,
            Outcome::Holds(measured) => measured,
        };
        let below = rule.when.iter().zip(&measured).find_map(|(c, m)| {
            below_floor(c, m, evidence, basis, &FLOORS).map(|reason| (c, m, reason))
        });
        if let Some((condition, m, reason)) = below {
            held_back.push(HeldBack {
                id: rule.id.clone(),
                title: rule.title.clone(),
                what: m.what.clone(),
                pattern: condition.pattern.clone(),
                value_text: m.text.clone(),
                reason,
            });
            continue;
        }
        let impact_index = rule.impact.condition.min(measured.len().saturating_sub(1));
        let fill = |template: &str| fill_placeholders(template, &measured, evidence);
        let text = fill(&rule.finding);
        let verify = fill(&rule.verify);
        let actions = rule
            .actions
            .iter()
            .map(|a| Action {
                kind: a.kind,
                text: fill(&a.text),
            })
            .collect();
        let impact_measure = measured.get(impact_index);
        let mask = impact_measure.and_then(|m| m.mask.clone());
        let goroutines = impact_measure.and_then(|m| m.goroutines);
        let finding = Finding {
            id: rule.id.clone(),
            title: rule.title.clone(),
            severity: rule.severity,
            text,
            evidence: rule
                .when
                .iter()
                .zip(&measured)
                .map(|(c, m)| Measured {
                    what: m.what.clone(),
                    pattern: c.pattern.clone(),
                    value: m.value,
                    value_text: m.text.clone(),
                    threshold_text: threshold_text(c),
                })
                .collect(),
            actions,
            verify,
            estimate: None,
        };
        fired.push((finding, mask, goroutines));
    }

    // Greedy ranking: at each step the most severe, then the largest saving once the
    // samples already claimed by higher-ranked recommendations are taken out.
    let mut taken_cpu: Vec<bool> = Vec::new();
    let mut taken_heap: Vec<bool> = Vec::new();
    let mut taken_alloc: Vec<bool> = Vec::new();
    // Goroutines counted by higher-ranked recommendations: a later one counts at most the
    // rest, so that no goroutine's stack is counted twice over.
    let mut taken_goroutines = 0.0;
    let goroutines_total = evidence.goroutines.map(|g| g.totals.total as f64);
    let mut recommendations: Vec<Recommendation> = Vec::new();
    let rule_of = |id: &str| rules.iter().find(|r| r.id == id);
    while !fired.is_empty() {
        let mut best: Option<Candidate> = None;
        for (i, (finding, mask, goroutines)) in fired.iter().enumerate() {
            let Some(rule) = rule_of(&finding.id) else {
                continue;
            };
            // (counted, of): the goroutines the estimate counts, of those the rule concerns.
            let goroutines = match (*goroutines, goroutines_total) {
                (Some(count), Some(total)) => {
                    Some((count.min((total - taken_goroutines).max(0.0)), count))
                }
                (count, _) => count.map(|c| (c, c)),
            };
            let estimate = estimate(
                rule,
                finding,
                mask.as_ref(),
                goroutines,
                evidence,
                basis_percent,
                &Taken {
                    cpu: &taken_cpu,
                    heap: &taken_heap,
                    alloc: &taken_alloc,
                },
            );
            let better = match &best {
                None => true,
                Some((j, best_estimate, _)) => {
                    let other = &fired[*j].0;
                    rank_key(finding, estimate.as_ref()) < rank_key(other, best_estimate.as_ref())
                }
            };
            if better {
                best = Some((i, estimate, goroutines));
            }
        }
        let Some((index, estimate, goroutines)) = best else {
            break;
        };
        let (mut finding, mask, _) = fired.remove(index);
        if estimate
            .as_ref()
            .is_some_and(|e| e.kind == ImpactKind::Goroutines)
        {
            taken_goroutines += goroutines.map_or(0.0, |(counted, _)| counted);
        }
        match mask {
            Some(Mask::Cpu(m)) => merge(&mut taken_cpu, &m),
            Some(Mask::Heap(m)) => merge(&mut taken_heap, &m),
            Some(Mask::Alloc(m)) => merge(&mut taken_alloc, &m),
            None => {}
        }
        finding.estimate = estimate;
        recommendations.push(Recommendation {
            rank: recommendations.len() + 1,
            finding,
        });
    }
    Findings {
        recommendations,
        rules_evaluated: rules.len() - not_applicable,
        rules_not_applicable: not_applicable,
        held_back,
    }
}

/// A rule's text with its placeholders filled: `{subject}`, `{value}`, `{value2}`, …,
/// `{top}` and `{caller}` (from the first condition that names them), `{memstats}`.
fn fill_placeholders(template: &str, measured: &[Measurement], evidence: &Evidence) -> String {
    let subject = measured.first().map_or("", |m| m.subject.as_str());
    let mut text = template.replace("{subject}", subject);
    // From the last index down, so that `{value1…}` never eats `{value10}`'s prefix.
    for (i, m) in measured.iter().enumerate().rev() {
        let key = if i == 0 {
            "{value}".to_string()
        } else {
            format!("{{value{}}}", i + 1)
        };
        text = text.replace(&key, &m.text);
    }
    if text.contains("{top}") || text.contains("{caller}") {
        let attribution = measured.iter().find_map(|m| m.attribution.as_ref());
        let top = attribution.map_or("the functions matched", |a| a.top.as_str());
        let caller = attribution
            .and_then(|a| a.caller.as_deref())
            .unwrap_or("its callers");
        text = text.replace("{top}", top).replace("{caller}", caller);
    }
    if text.contains("{memstats}") {
        text = text.replace("{memstats}", &memstats_text(evidence));
    }
    text
}

/// The GC picture and what GOGC would change, from runtime.MemStats: cycles per second
/// (`NumGC` ÷ uptime), the heap goal (`NextGC`) and the live heap it implies at the default
/// GOGC=100 (the goal is live × (1 + GOGC/100)), and the goal and cycles at GOGC=200.
fn memstats_text(evidence: &Evidence) -> String {
    let Some(stats) = evidence.memstats else {
        return "The set has no runtime.MemStats (the heap profile's text, heap?debug=1), so GC frequency and the heap goal are unknown; collect it to size GOGC and GOMEMLIMIT.".to_string();
    };
    let bytes = |b: f64| units::label(b.round() as i64, "bytes");
    let mut parts = Vec::new();
    let rate = stats
        .num_gc
        .zip(evidence.uptime_seconds.filter(|u| *u > 0.0))
        .map(|(n, uptime)| (n, uptime, n as f64 / uptime));
    if let Some((n, uptime, per_second)) = rate {
        parts.push(format!(
            "By runtime.MemStats, {n} GC cycles ran in {uptime:.0} s of uptime ({per_second:.2} a second)"
        ));
    }
    if let Some(next_gc) = stats.next_gc.filter(|n| *n > 0) {
        let live = next_gc as f64 / 2.0;
        let heap_alloc = stats
            .heap_alloc
            .map(|h| format!(" (HeapAlloc {} when the text was taken)", bytes(h as f64)))
            .unwrap_or_default();
        let halved = rate
            .map(|(_, _, r)| format!(" and about halve the cycles (to {:.2} a second)", r / 2.0))
            .unwrap_or_else(|| " and about halve the cycles".to_string());
        // The runtime never sets the goal below 4 MB × GOGC/100: at that floor the goal
        // says only that the live heap is at most half of it.
        let about = if next_gc <= HEAP_MINIMUM {
            "at most"
        } else {
            "about"
        };
        parts.push(format!(
            "The heap goal (NextGC) is {}{heap_alloc}, so the live heap is {about} {} at the default GOGC=100 (goal = live × 2, and never below 4 MB); GOGC=200 would move the goal to about {} (live × 3, {} more heap){halved}, and GOMEMLIMIT caps the heap where memory is short",
            bytes(next_gc as f64),
            bytes(live),
            bytes(live * 3.0),
            bytes(live)
        ));
    }
    if parts.is_empty() {
        return "runtime.MemStats has neither NumGC with an uptime nor NextGC to size GOGC from."
            .to_string();
    }
    parts.join(". ") + "."
}

/// The runtime's smallest heap goal at GOGC=100 (`heapMinimum`, 4 MB).
const HEAP_MINIMUM: u64 = 4 << 20;

/// Samples already counted by higher-ranked recommendations, per profile.
struct Taken<'t> {
    cpu: &'t [bool],
    heap: &'t [bool],
    alloc: &'t [bool],
}

/// Why a measurement cannot carry a verdict, when its evidence is below `floors`: the CPU
/// profile's seconds of samples and the cores a CPU share amounts to, the bytes of a heap or
/// allocation share, the goroutines of a goroutine metric, the sampled contentions of the
/// mutex delay. Facts (a profile is empty, a module version) have no floor.
fn below_floor(
    condition: &Condition,
    m: &Measurement,
    evidence: &Evidence,
    basis: Option<super::cpu::CpuBasis>,
    floors: &Floors,
) -> Option<String> {
    let bytes_of = |profile: Option<&Profile>, kind: &str| -> Option<f64> {
        let profile = profile?;
        let index = profile.sample_index_of(kind)?;
        let total: i64 = profile.samples().map(|s| s.values()[index]).sum();
        Some(m.value / 100.0 * total as f64)
    };
    match condition.metric {
        Metric::CpuFunction
        | Metric::CpuPackage
        | Metric::CpuCategory
        | Metric::CpuFlatFunction
        | Metric::CpuCategories => {
            // The CPU analysis has the totals; the profile says their unit.
            let profile = evidence.cpu_profile?;
            let cpu = evidence.cpu?;
            let unit = &profile.sample_types[profile.sample_index_of("cpu")?].unit;
            let (nanos, unit) = units::scale(cpu.total, unit, "nanoseconds");
            if unit == "ns" && nanos / 1e9 < floors.cpu_seconds {
                return Some(format!(
                    "{:.2} s of CPU samples ({} samples); a CPU verdict needs at least {} s",
                    nanos / 1e9,
                    cpu.sample_count,
                    floors.cpu_seconds
                ));
            }
            let basis = basis.filter(|b| b.known)?;
            let cores = m.value / 100.0 * basis.percent / 100.0;
            (cores < floors.cpu_cores).then(|| {
                format!(
                    "{} cores; a CPU verdict needs at least {} cores",
                    super::shares::format_cores(cores),
                    floors.cpu_cores
                )
            })
        }
        Metric::InuseFunction
        | Metric::InuseTopSite
        | Metric::AllocPackage
        | Metric::AllocFunction
        | Metric::AllocObjectsFunction
        | Metric::LargeAllocations => {
            let bytes = match condition.metric {
                Metric::InuseFunction | Metric::InuseTopSite => {
                    bytes_of(evidence.heap.or(evidence.allocs), "inuse_space")?
                }
                // A share of objects: the floor is on the bytes of the same samples.
                Metric::AllocObjectsFunction => m.bytes?,
                _ => bytes_of(allocations(evidence), "alloc_space")?,
            };
            (bytes < floors.bytes).then(|| {
                format!(
                    "{}; a memory verdict needs at least {}",
                    units::label(bytes.round() as i64, "bytes"),
                    units::label(floors.bytes as i64, "bytes")
                )
            })
        }
        Metric::GoroutinesPerInstance
        | Metric::GoroutinesFunction
        | Metric::GoroutineGroupFactor => {
            let goroutines = m.goroutines?;
            (goroutines < floors.goroutines).then(|| {
                format!(
                    "{goroutines} goroutines; a goroutine verdict needs at least {}",
                    floors.goroutines
                )
            })
        }
        Metric::MutexDelay => {
            let contentions = evidence.mutex?.total_contentions as f64;
            (contentions < floors.contentions).then(|| {
                format!(
                    "{contentions} sampled contentions; a contention verdict needs at least {}",
                    floors.contentions
                )
            })
        }
        // Facts and proofs, not samples: nothing to be too few.
        Metric::InstancesDiffer
        | Metric::ProfileEmpty
        | Metric::ProfileRecorded
        | Metric::ModuleVersionBelow
        | Metric::LeakedGoroutines => None,
    }
}

/// The measured value of a rule's impact condition, whether or not the rule fires: what a
/// later profile set is compared against to see whether a predicted saving materialised.
pub fn impact_value(rule: &Rule, evidence: &Evidence) -> Option<f64> {
    let condition = rule.when.get(rule.impact.condition)?;
    measure(condition, evidence, &Shared::default()).map(|m| m.value)
}

/// What several rules' measurements read, worked out once per evaluation: the packages of
/// the CPU profile's frames (every package rule would otherwise redo them).
#[derive(Default)]
struct Shared {
    cpu_packages: std::sync::OnceLock<FramePackages>,
}

/// Orders recommendations: severity first, then savings in cores (cpu, gc), then bytes,
/// then by id so the order is stable.
fn rank_key(finding: &Finding, estimate: Option<&Estimate>) -> (Severity, u8, i64, String) {
    let (kind_order, amount) = match estimate {
        Some(e) => match e.kind {
            ImpactKind::Cpu | ImpactKind::Gc => (0, e.amount * 1e6),
            ImpactKind::Memory => (1, e.amount / 1024.0),
            ImpactKind::Goroutines => (2, e.amount / 1024.0),
            ImpactKind::None => (3, 0.0),
        },
        None => (3, 0.0),
    };
    (
        finding.severity,
        kind_order,
        -(amount as i64),
        finding.id.clone(),
    )
}

fn merge(taken: &mut Vec<bool>, mask: &[bool]) {
    if taken.len() < mask.len() {
        taken.resize(mask.len(), false);
    }
    for (t, m) in taken.iter_mut().zip(mask) {
        *t |= *m;
    }
}

fn passes(condition: &Condition, value: f64) -> bool {
    condition.above.is_none_or(|a| value >= a) && condition.below.is_none_or(|b| value < b)
}

fn threshold_text(condition: &Condition) -> String {
    if matches!(
        condition.metric,
        Metric::InstancesDiffer
            | Metric::ProfileEmpty
            | Metric::ProfileRecorded
            | Metric::ModuleVersionBelow
    ) {
        return String::new();
    }
    let percent = matches!(
        condition.metric,
        Metric::CpuFunction
            | Metric::CpuPackage
            | Metric::CpuCategory
            | Metric::InuseFunction
            | Metric::AllocPackage
            | Metric::CpuFlatFunction
            | Metric::CpuCategories
            | Metric::AllocFunction
            | Metric::AllocObjectsFunction
            | Metric::LargeAllocations
            | Metric::InuseTopSite
    );
    let unit = if percent { "%" } else { "" };
    match (condition.above, condition.below) {
        (Some(a), Some(b)) => format!("≥ {a}{unit} and < {b}{unit}"),
        (Some(a), None) => format!("≥ {a}{unit}"),
        (None, Some(b)) => format!("< {b}{unit}"),
        (None, None) => "any".to_string(),
    }
}

fn percent_text(share: f64) -> String {
    if share == 0.0 || share >= 0.01 {
        format!("{share:.2}%")
    } else {
        "<0.01%".to_string()
    }
}

/// The share of a profile's sample type in samples for which `hit` holds.
fn stack_share<'a>(
    profile: &'a Profile,
    kind: &str,
    hit: impl Fn(SampleRef<'a>) -> bool,
) -> Option<(f64, i64, i64, Vec<bool>)> {
    let index = profile.sample_index_of(kind)?;
    let mut mask = Vec::with_capacity(profile.samples.len());
    let (mut matched, mut total) = (0i64, 0i64);
    for sample in profile.samples() {
        let value = sample.values()[index];
        total += value;
        let hit = hit(sample);
        if hit {
            matched += value;
        }
        mask.push(hit);
    }
    let share = if total == 0 {
        0.0
    } else {
        matched as f64 / total as f64 * 100.0
    };
    Some((share, matched, total, mask))
}

fn share_measurement(what: String, subject: String, share: f64, mask: Option<Mask>) -> Measurement {
    Measurement {
        value: share,
        text: format!("{share:.2}%"),
        what,
        subject,
        goroutines: None,
        mask,
        ..Default::default()
    }
}

/// Per location: whether one of its (named) frames' functions matches `regex`; each
/// function is tested once.
fn function_hits(profile: &Profile, regex: &Regex) -> Vec<bool> {
    let matches: Vec<bool> = profile
        .functions
        .iter()
        .map(|f| regex.is_match(&f.name))
        .collect();
    profile
        .locations
        .iter()
        .map(|l| l.lines.iter().any(|line| matches[line.function]))
        .collect()
}

/// Per function: whether its name (or, `by_package`, its package in `language`'s sense)
/// matches `regex`.
fn function_matches(
    profile: &Profile,
    language: Language,
    by_package: bool,
    regex: &Regex,
) -> Vec<bool> {
    profile
        .functions
        .iter()
        .map(|f| {
            if by_package {
                regex.is_match(&super::language::package_in(language, &f.name, &f.filename))
            } else {
                regex.is_match(&f.name)
            }
        })
        .collect()
}

/// Per location: whether one of its frames' functions is marked in `matches`.
fn location_hits(profile: &Profile, matches: &[bool]) -> Vec<bool> {
    profile
        .locations
        .iter()
        .map(|l| l.lines.iter().any(|line| matches[line.function]))
        .collect()
}

/// True for a frame that is the code of the service or of a library it links, rather than
/// the Go runtime or standard library: what a caller worth naming is.
fn is_code_frame(name: &str) -> bool {
    !super::names::is_standard_package(super::names::package_of(name))
}

/// The module a Go function's package most likely belongs to, by the usual shapes of module
/// paths: three elements on the code hosts (`github.com/klauspost/compress`), two elsewhere
/// (`go.uber.org/zap`), the package itself in the standard library.
fn module_of(function: &str) -> &str {
    let package = super::names::package_of(function);
    let host = package.split('/').next().unwrap_or("");
    let elements = if matches!(
        host,
        "github.com" | "gitlab.com" | "bitbucket.org" | "golang.org"
    ) {
        3
    } else {
        2
    };
    match package.match_indices('/').nth(elements - 1) {
        Some((end, _)) => &package[..end],
        None => package,
    }
}

/// The function matched on most of the masked samples' value, counting per sample the
/// outermost matching frame (the entry into the matched code), and the code calling it:
/// the nearest frame above that is not the Go runtime or standard library, else the
/// direct caller. Ties go to the lower function index, so the result is stable.
fn attribute(
    profile: &Profile,
    kind: &str,
    mask: &[bool],
    matches: &[bool],
) -> Option<Attribution> {
    let index = profile.sample_index_of(kind)?;
    let stacks = FunctionStacks::new(profile);
    let mut functions: Vec<u32> = Vec::new();
    // (entry, caller) → value; BTreeMap for a stable order.
    let mut tally: std::collections::BTreeMap<(u32, Option<u32>), i64> = Default::default();
    for (sample, hit) in profile.samples().zip(mask) {
        if !*hit {
            continue;
        }
        stacks.sample_named(sample, &mut functions);
        let Some(outer) = functions.iter().rposition(|&f| matches[f as usize]) else {
            continue;
        };
        let above = &functions[outer + 1..];
        let entry_module = module_of(&profile.functions[functions[outer] as usize].name);
        // The library's own wrappers (gzhttp around gzip) are not who calls it.
        let caller = above
            .iter()
            .find(|&&f| {
                let name = &profile.functions[f as usize].name;
                is_code_frame(name) && module_of(name) != entry_module
            })
            .or(above.first())
            .copied();
        *tally.entry((functions[outer], caller)).or_default() += sample.values()[index];
    }
    let mut by_entry: std::collections::BTreeMap<u32, i64> = Default::default();
    for ((entry, _), value) in &tally {
        *by_entry.entry(*entry).or_default() += value;
    }
    let top = best(&by_entry)?;
    let caller = best(
        &tally
            .iter()
            .filter(|((entry, caller), _)| *entry == top && caller.is_some())
            .filter_map(|((_, caller), value)| caller.map(|c| (c, *value)))
            .fold(std::collections::BTreeMap::new(), |mut m, (c, v)| {
                *m.entry(c).or_insert(0i64) += v;
                m
            }),
    );
    let name = |f: u32| profile.functions[f as usize].name.clone();
    Some(Attribution {
        top: name(top),
        caller: caller.map(name),
    })
}

/// The key with the largest value (the first such key on a tie).
fn best(values: &std::collections::BTreeMap<u32, i64>) -> Option<u32> {
    let mut best: Option<(u32, i64)> = None;
    for (&key, &value) in values {
        if best.is_none_or(|(_, v)| value > v) {
            best = Some((key, value));
        }
    }
    best.map(|(key, _)| key)
}

/// The leaf function of a sample (pprof's flat): the innermost frame of its first location.
fn leaf_function(profile: &Profile, sample: SampleRef<'_>) -> Option<usize> {
    sample
        .locations()
        .next()
        .and_then(|l| profile.locations[l].lines.first())
        .map(|line| line.function)
}

/// Allocated bytes and objects per allocation site (leaf function), from one pass.
fn sites(profile: &Profile, kind: &str) -> Option<(Vec<i64>, Vec<i64>, i64)> {
    let index = profile.sample_index_of(kind)?;
    let objects_index = profile.sample_index_of(if kind == "inuse_space" {
        "inuse_objects"
    } else {
        "alloc_objects"
    });
    let mut bytes = vec![0i64; profile.functions.len()];
    let mut objects = vec![0i64; profile.functions.len()];
    let mut total = 0i64;
    for sample in profile.samples() {
        let value = sample.values()[index];
        total += value;
        if let Some(f) = leaf_function(profile, sample) {
            bytes[f] += value;
            objects[f] += objects_index.map_or(0, |i| sample.values()[i]);
        }
    }
    Some((bytes, objects, total))
}

/// `large_allocations`: the share of allocated bytes at sites whose objects average at
/// least [`crate::rules::LARGE_OBJECT_BYTES`]; the subject names the largest such site.
fn large_allocations(profile: &Profile) -> Option<Measurement> {
    let (bytes, objects, total) = sites(profile, "alloc_space")?;
    let large: Vec<bool> = bytes
        .iter()
        .zip(&objects)
        .map(|(&b, &o)| o > 0 && b as f64 / o as f64 >= crate::rules::LARGE_OBJECT_BYTES)
        .collect();
    let matched: i64 = bytes
        .iter()
        .zip(&large)
        .filter(|(_, l)| **l)
        .map(|(b, _)| b)
        .sum();
    let share = if total == 0 {
        0.0
    } else {
        matched as f64 / total as f64 * 100.0
    };
    let mask: Vec<bool> = profile
        .samples()
        .map(|s| leaf_function(profile, s).is_some_and(|f| large[f]))
        .collect();
    let top = (0..bytes.len())
        .filter(|&f| large[f])
        .max_by_key(|&f| (bytes[f], std::cmp::Reverse(f)));
    let subject = top.map_or_else(String::new, |f| {
        format!(
            "{} ({} per object, {} of allocated bytes)",
            profile.functions[f].name,
            units::label(
                (bytes[f] as f64 / objects[f] as f64).round() as i64,
                "bytes"
            ),
            percent_text(bytes[f] as f64 / total.max(1) as f64 * 100.0)
        )
    });
    let attribution = top.and_then(|f| {
        let mut only = vec![false; profile.functions.len()];
        only[f] = true;
        attribute(profile, "alloc_space", &mask, &only)
    });
    Some(Measurement {
        attribution,
        ..share_measurement(
            format!(
                "allocated bytes at sites averaging {} or more per object",
                units::label(crate::rules::LARGE_OBJECT_BYTES as i64, "bytes")
            ),
            subject,
            share,
            Some(Mask::Alloc(mask)),
        )
    })
}

/// `inuse_top_site`: the share of in-use heap bytes at the site holding most. When that
/// site is a `sync.Pool`'s New function (called from `sync.(*Pool).Get`), the caller named
/// is the code that calls Get: the pool's user keeps the objects alive, not New.
fn inuse_top_site(profile: &Profile) -> Option<Measurement> {
    let (bytes, _, total) = sites(profile, "inuse_space")?;
    let top = (0..bytes.len()).max_by_key(|&f| (bytes[f], std::cmp::Reverse(f)))?;
    let share = if total == 0 {
        0.0
    } else {
        bytes[top] as f64 / total as f64 * 100.0
    };
    let mask: Vec<bool> = profile
        .samples()
        .map(|s| leaf_function(profile, s) == Some(top))
        .collect();
    let get = |name: &str| name == "sync.(*Pool).Get";
    let through_pool = profile
        .samples()
        .zip(&mask)
        .any(|(s, hit)| *hit && profile.stack_names(s).any(get));
    let mut matches = vec![false; profile.functions.len()];
    if through_pool {
        // The entry is Get; its caller is the pool's user.
        for (i, f) in profile.functions.iter().enumerate() {
            matches[i] = get(&f.name);
        }
    } else {
        matches[top] = true;
    }
    let attribution = attribute(profile, "inuse_space", &mask, &matches).map(|a| Attribution {
        top: profile.functions[top].name.clone(),
        caller: a.caller,
    });
    let site = &profile.functions[top].name;
    let subject = match (&attribution, through_pool) {
        (
            Some(Attribution {
                caller: Some(caller),
                ..
            }),
            true,
        ) => format!(
            "{site}, a sync.Pool New function, whose objects are taken with sync.(*Pool).Get by {caller}"
        ),
        _ => site.clone(),
    };
    Some(Measurement {
        attribution,
        ..share_measurement(
            "in-use heap allocated at the one site holding most".to_string(),
            subject,
            share,
            Some(Mask::Heap(mask)),
        )
    })
}

/// The language packages are read in: the evidence's, else Go's (the rules' own).
fn language(evidence: &Evidence) -> Language {
    evidence.language.unwrap_or(Language::Go)
}

fn measure(condition: &Condition, evidence: &Evidence, shared: &Shared) -> Option<Measurement> {
    let pattern = condition.regex();
    let pattern_text = condition.pattern.clone().unwrap_or_default();
    match condition.metric {
        Metric::CpuFunction | Metric::CpuPackage => {
            let profile = evidence.cpu_profile?;
            let regex = pattern?;
            let by_package = condition.metric == Metric::CpuPackage;
            let hits = if by_package {
                shared
                    .cpu_packages
                    .get_or_init(|| FramePackages::new(profile, language(evidence)))
                    .location_hits(|p| regex.is_match(p))
            } else {
                function_hits(profile, &regex)
            };
            let (share, _, _, mask) =
                stack_share(profile, "cpu", |sample| sample.locations().any(|l| hits[l]))?;
            let noun = if by_package { "package" } else { "function" };
            // Who is named only matters when the rule fires: the attribution walks the
            // matched samples only.
            let attribution = (share > 0.0)
                .then(|| {
                    let matches = function_matches(profile, language(evidence), by_package, &regex);
                    attribute(profile, "cpu", &mask, &matches)
                })
                .flatten();
            Some(Measurement {
                attribution,
                ..share_measurement(
                    format!("CPU with a {noun} on the stack matching"),
                    pattern_text,
                    share,
                    Some(Mask::Cpu(mask)),
                )
            })
        }
        Metric::CpuFlatFunction => {
            let profile = evidence.cpu_profile?;
            let regex = pattern?;
            let matches = function_matches(profile, language(evidence), false, &regex);
            // pprof's flat: the innermost function of the leaf location.
            let (share, _, _, mask) = stack_share(profile, "cpu", |sample| {
                sample
                    .locations()
                    .next()
                    .and_then(|l| profile.locations[l].lines.first())
                    .is_some_and(|line| matches[line.function])
            })?;
            let attribution = attribute(profile, "cpu", &mask, &matches);
            Some(Measurement {
                attribution,
                ..share_measurement(
                    "CPU in a function matching (flat, as the leaf)".to_string(),
                    pattern_text,
                    share,
                    Some(Mask::Cpu(mask)),
                )
            })
        }
        Metric::CpuCategory | Metric::CpuCategories => {
            let profile = evidence.cpu_profile?;
            let (name, regex) = if condition.metric == Metric::CpuCategory {
                (condition.name.clone()?, None)
            } else {
                let regex = pattern?;
                let names: Vec<&str> = cpu::CATEGORIES
                    .iter()
                    .copied()
                    .filter(|c| regex.is_match(c))
                    .collect();
                (names.join(" and "), Some(regex))
            };
            let in_category = |category: &str| match &regex {
                Some(regex) => regex.is_match(category),
                None => category == name,
            };
            let index = profile.sample_index_of("cpu")?;
            let stacks = FunctionStacks::new(profile);
            let flags = cpu::CategoryFlags::new(profile);
            let mut functions: Vec<u32> = Vec::new();
            let mut mask = Vec::with_capacity(profile.samples.len());
            let (mut matched, mut total) = (0i64, 0i64);
            for sample in profile.samples() {
                stacks.sample_named(sample, &mut functions);
                let hit = in_category(flags.category(&functions));
                total += sample.values()[index];
                if hit {
                    matched += sample.values()[index];
                }
                mask.push(hit);
            }
            let share = if total == 0 {
                0.0
            } else {
                matched as f64 / total as f64 * 100.0
            };
            let what = if regex.is_some() {
                format!("CPU in the categories {name}")
            } else {
                format!("CPU in the {name} category")
            };
            Some(share_measurement(what, name, share, Some(Mask::Cpu(mask))))
        }
        Metric::InuseFunction => {
            let profile = evidence.heap.or(evidence.allocs)?;
            let regex = pattern?;
            let hits = function_hits(profile, &regex);
            let (share, _, _, mask) = stack_share(profile, "inuse_space", |sample| {
                sample.locations().any(|l| hits[l])
            })?;
            Some(share_measurement(
                "in-use heap allocated under a function matching".to_string(),
                pattern_text,
                share,
                Some(Mask::Heap(mask)),
            ))
        }
        Metric::AllocPackage | Metric::AllocFunction | Metric::AllocObjectsFunction => {
            let profile = allocations(evidence)?;
            let regex = pattern?;
            let by_package = condition.metric == Metric::AllocPackage;
            let matches = function_matches(profile, language(evidence), by_package, &regex);
            let hits = location_hits(profile, &matches);
            let objects = condition.metric == Metric::AllocObjectsFunction;
            let kind = if objects {
                "alloc_objects"
            } else {
                "alloc_space"
            };
            let (share, _, _, mask) =
                stack_share(profile, kind, |sample| sample.locations().any(|l| hits[l]))?;
            let bytes = if objects {
                let index = profile.sample_index_of("alloc_space")?;
                Some(
                    profile
                        .samples()
                        .zip(&mask)
                        .filter(|(_, hit)| **hit)
                        .map(|(s, _)| s.values()[index] as f64)
                        .sum(),
                )
            } else {
                None
            };
            let noun = if by_package { "package" } else { "function" };
            let what = if objects {
                format!("allocated objects under a {noun} matching")
            } else {
                format!("allocated bytes under a {noun} matching")
            };
            let attribution = attribute(profile, kind, &mask, &matches);
            Some(Measurement {
                bytes,
                attribution,
                ..share_measurement(what, pattern_text, share, Some(Mask::Alloc(mask)))
            })
        }
        Metric::LargeAllocations => {
            let profile = allocations(evidence)?;
            large_allocations(profile)
        }
        Metric::InuseTopSite => {
            let profile = evidence.heap.or(evidence.allocs)?;
            inuse_top_site(profile)
        }
        Metric::GoroutinesPerInstance => {
            let g = evidence.goroutines?;
            let instances = g.instances.as_ref()?;
            Some(Measurement {
                value: instances.total_per_instance,
                text: instances.total_per_instance_text.clone(),
                what: format!(
                    "goroutines per inferred instance ({} instances)",
                    instances.instances
                ),
                subject: instances.summary_text.clone(),
                goroutines: Some(g.totals.total as f64),
                mask: None,
                ..Default::default()
            })
        }
        Metric::LeakedGoroutines => {
            let count = evidence.leaked_goroutines?;
            Some(Measurement {
                value: count as f64,
                text: count.to_string(),
                what: "goroutines the runtime proved leaked".to_string(),
                subject: String::new(),
                goroutines: Some(count as f64),
                mask: None,
                ..Default::default()
            })
        }
        Metric::GoroutinesFunction => {
            let profile = evidence.goroutine_profile?;
            let regex = pattern?;
            let index = profile.sample_index_of("goroutine").unwrap_or(0);
            let hits = function_hits(profile, &regex);
            let count: i64 = profile
                .samples()
                .filter(|&s| s.locations().any(|l| hits[l]))
                .map(|s| s.values().get(index).copied().unwrap_or(0))
                .sum();
            Some(Measurement {
                value: count as f64,
                text: count.to_string(),
                what: "goroutines with a function on the stack matching".to_string(),
                subject: pattern_text,
                goroutines: Some(count as f64),
                mask: None,
                ..Default::default()
            })
        }
        Metric::GoroutineGroupFactor => {
            let g = evidence.goroutines?;
            let regex = pattern?;
            let matched: Vec<_> = g
                .groups
                .rows
                .iter()
                .filter(|row| regex.is_match(&row.label))
                .collect();
            let factor = matched.iter().filter_map(|r| r.instance_factor).max()?;
            let goroutines: u64 = matched.iter().map(|r| r.goroutines).sum();
            let subject = matched
                .iter()
                .filter_map(|r| r.instance_factor_text.clone())
                .collect::<Vec<_>>()
                .join(", ");
            Some(Measurement {
                value: factor as f64,
                text: factor.to_string(),
                what: "goroutines per instance in the groups whose name matches".to_string(),
                subject,
                goroutines: Some(goroutines as f64),
                mask: None,
                ..Default::default()
            })
        }
        Metric::InstancesDiffer => {
            let g = evidence.goroutines?;
            let instances = g.instances.as_ref()?;
            let differs = instances.matches_declared == Some(false);
            Some(Measurement {
                value: if differs { 1.0 } else { 0.0 },
                text: instances
                    .declared_note
                    .clone()
                    .unwrap_or_else(|| format!("{} instances", instances.instances)),
                what: "inferred instances against declared services".to_string(),
                subject: instances
                    .declared_note
                    .clone()
                    .unwrap_or_else(|| format!("{} instances", instances.instances)),
                goroutines: None,
                mask: None,
                ..Default::default()
            })
        }
        Metric::ProfileEmpty => {
            let name = condition.name.as_deref()?;
            let analysis = match name {
                "mutex" => evidence.mutex?,
                "block" => evidence.block?,
                _ => return None,
            };
            let empty = analysis.verdict == Verdict::ProfilingOff;
            Some(Measurement {
                value: if empty { 1.0 } else { 0.0 },
                text: if empty { "empty" } else { "has samples" }.to_string(),
                what: format!("{name} profile collected without samples"),
                subject: name.to_string(),
                goroutines: None,
                mask: None,
                ..Default::default()
            })
        }
        Metric::ProfileRecorded => {
            let name = condition.name.as_deref()?;
            let analysis = match name {
                "mutex" => evidence.mutex,
                "block" => evidence.block,
                _ => return None,
            };
            let verdict = analysis.map(|a| a.verdict);
            let recorded = matches!(verdict, Some(Verdict::Recorded | Verdict::NoDelay));
            let text = match verdict {
                Some(Verdict::Recorded | Verdict::NoDelay) => "has samples",
                Some(Verdict::ProfilingOff) => "empty",
                _ => "not collected",
            };
            Some(Measurement {
                value: if recorded { 1.0 } else { 0.0 },
                text: text.to_string(),
                what: format!("{name} profile collected with samples"),
                subject: name.to_string(),
                ..Default::default()
            })
        }
        Metric::MutexDelay => {
            let mutex = evidence.mutex?;
            if mutex.verdict != Verdict::Recorded {
                return None;
            }
            let seconds = mutex.total_delay as f64 / 1e9;
            if let Some(window) = mutex.window_seconds() {
                return Some(Measurement {
                    value: seconds / window,
                    text: format!("{:.3}s", seconds / window),
                    what: format!("mutex delay per second of the {window:.2} s window"),
                    subject: "mutex".to_string(),
                    goroutines: None,
                    mask: None,
                    ..Default::default()
                });
            }
            let (value, text, what) = match evidence.uptime_seconds.filter(|u| *u > 0.0) {
                Some(uptime) => (
                    seconds / uptime,
                    format!("{:.3}s", seconds / uptime),
                    "mutex delay per second of uptime".to_string(),
                ),
                None => (
                    seconds,
                    format!("{seconds:.3}s (in total; no uptime to divide by)"),
                    "mutex delay in total".to_string(),
                ),
            };
            Some(Measurement {
                value,
                text,
                what,
                subject: "mutex".to_string(),
                goroutines: None,
                mask: None,
                ..Default::default()
            })
        }
        Metric::ModuleVersionBelow => {
            let g = evidence.goroutines?;
            let regex = pattern?;
            let minimum = condition.version.as_deref()?;
            let old: Vec<String> = g
                .modules
                .iter()
                .filter(|m| regex.is_match(&m.module) && version_below(&m.version, minimum))
                .map(|m| format!("{}@{}", m.module, m.version))
                .collect();
            Some(Measurement {
                value: if old.is_empty() { 0.0 } else { 1.0 },
                text: old.join(", "),
                what: format!("modules below {minimum} whose path matches"),
                subject: old.join(", "),
                goroutines: None,
                mask: None,
                ..Default::default()
            })
        }
    }
}

/// Semantic-version comparison of `v1.86.5`-style versions; pre-release and pseudo-versions
/// compare by their numeric core.
pub fn version_below(version: &str, minimum: &str) -> bool {
    let core = |v: &str| -> Vec<u64> {
        v.trim_start_matches('v')
            .split(['-', '+'])
            .next()
            .unwrap_or("")
            .split('.')
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    core(version) < core(minimum)
}

#[allow(clippy::too_many_arguments)]
fn estimate(
    rule: &Rule,
    finding: &Finding,
    mask: Option<&Mask>,
    goroutines: Option<(f64, f64)>,
    evidence: &Evidence,
    basis_percent: f64,
    taken: &Taken,
) -> Option<Estimate> {
    let fraction = rule.impact.fraction;
    let fraction_text = if fraction == 1.0 {
        String::new()
    } else {
        format!(" × {fraction} expected saved")
    };
    let basis_text = match evidence.process_cpu_percent {
        Some(p) => format!("{p}% process CPU"),
        None => format!("{basis_percent:.2}% CPU (profile)"),
    };
    match rule.impact.kind {
        ImpactKind::None => None,
        ImpactKind::Cpu => {
            let profile = evidence.cpu_profile?;
            let Some(Mask::Cpu(mask)) = mask else {
                return None;
            };
            let (share, overlap) = remaining_share(profile, "cpu", mask, taken.cpu)?;
            let cores = share / 100.0 * basis_percent / 100.0 * fraction;
            let overlap_text = if overlap > 0.0 {
                format!(" (after {} already counted above)", percent_text(overlap))
            } else {
                String::new()
            };
            Some(Estimate {
                kind: ImpactKind::Cpu,
                amount: cores,
                amount_text: format!("{} cores", format_cores(cores)),
                arithmetic: format!(
                    "{} of CPU{overlap_text} × {basis_text}{fraction_text} = {} cores",
                    percent_text(share),
                    format_cores(cores)
                ),
            })
        }
        ImpactKind::Memory => {
            let profile = evidence.heap.or(evidence.allocs)?;
            let Some(Mask::Heap(mask)) = mask else {
                return None;
            };
            let (share, _) = remaining_share(profile, "inuse_space", mask, taken.heap)?;
            let index = profile.sample_index_of("inuse_space")?;
            let total: i64 = profile.samples().map(|s| s.values()[index]).sum();
            let bytes = share / 100.0 * total as f64 * fraction;
            Some(Estimate {
                kind: ImpactKind::Memory,
                amount: bytes,
                amount_text: format!("{} of heap", units::label(bytes as i64, "bytes")),
                arithmetic: format!(
                    "{} of {} in use{fraction_text} = {}",
                    percent_text(share),
                    units::label(total, "bytes"),
                    units::label(bytes as i64, "bytes")
                ),
            })
        }
        ImpactKind::Goroutines => {
            let (count, of) = goroutines?;
            // The runtime's own stack figure, averaged over every goroutine, where the set
            // has it; else the floor every goroutine costs at least.
            let total_goroutines = evidence
                .goroutines
                .map(|g| g.totals.total)
                .filter(|t| *t > 0);
            let average = evidence
                .stack_inuse
                .zip(total_goroutines)
                .map(|(inuse, total)| (inuse, total, inuse as f64 / total as f64));
            let per_goroutine = average.map_or(GOROUTINE_STACK_BYTES, |(_, _, a)| a);
            let bytes = count * per_goroutine * fraction;
            let counted_text = if count == 0.0 {
                format!("0 goroutines (all its {of} are counted by a higher-ranked recommendation)")
            } else if count < of {
                format!(
                    "{count} goroutines (of its {of}; the others are counted by a higher-ranked recommendation)"
                )
            } else {
                format!("{count} goroutines")
            };
            Some(Estimate {
                kind: ImpactKind::Goroutines,
                amount: bytes,
                amount_text: if count == 0.0 {
                    "none beyond the recommendations above".to_string()
                } else {
                    format!("{} of stacks", units::label(bytes as i64, "bytes"))
                },
                arithmetic: match average {
                    Some((inuse, total, average)) => format!(
                        "{counted_text} × {}, the average goroutine stack (StackInuse {} ÷ {total} goroutines, from runtime.MemStats){fraction_text} = {}",
                        units::label(average.round() as i64, "bytes"),
                        units::label(inuse as i64, "bytes"),
                        units::label(bytes as i64, "bytes")
                    ),
                    None => format!(
                        "{counted_text} × 2 KiB, the smallest stack Go gives a goroutine{fraction_text} = {} at least (a floor: real stacks are often larger)",
                        units::label(bytes as i64, "bytes")
                    ),
                },
            })
        }
        ImpactKind::Gc => {
            let cpu = evidence.cpu?;
            // Only Go profiles have categories; elsewhere there is no GC share to save from.
            let gc_share = cpu
                .categories
                .as_ref()?
                .rows
                .iter()
                .find(|r| r.name == cpu::CATEGORIES[0])
                .map_or(0.0, |r| r.cum_share);
            // The allocation share the rule matched, less what higher-ranked
            // recommendations already counted (when the condition says which samples).
            let (alloc_share, overlap) = match (mask, allocations(evidence)) {
                (Some(Mask::Alloc(mask)), Some(profile)) => {
                    remaining_share(profile, "alloc_space", mask, taken.alloc)?
                }
                _ => (
                    finding
                        .evidence
                        .get(rule.impact.condition)
                        .map_or(0.0, |m| m.value),
                    0.0,
                ),
            };
            let overlap_text = if overlap > 0.0 {
                format!(" (after {} already counted above)", percent_text(overlap))
            } else {
                String::new()
            };
            let cores = alloc_share / 100.0 * gc_share / 100.0 * basis_percent / 100.0 * fraction;
            Some(Estimate {
                kind: ImpactKind::Gc,
                amount: cores,
                amount_text: format!("{} cores of GC", format_cores(cores)),
                arithmetic: format!(
                    "{} of allocated bytes{overlap_text} × {} of CPU in garbage collection × {basis_text}{fraction_text} = {} cores",
                    percent_text(alloc_share),
                    percent_text(gc_share),
                    format_cores(cores)
                ),
            })
        }
    }
}

/// The share of the sample type in `mask` and not in `taken`, and the share that was
/// already taken.
fn remaining_share(
    profile: &Profile,
    kind: &str,
    mask: &[bool],
    taken: &[bool],
) -> Option<(f64, f64)> {
    let index = profile.sample_index_of(kind)?;
    let (mut free, mut overlap, mut total) = (0i64, 0i64, 0i64);
    for (i, sample) in profile.samples().enumerate() {
        let value = sample.values()[index];
        total += value;
        if mask.get(i).copied().unwrap_or(false) {
            if taken.get(i).copied().unwrap_or(false) {
                overlap += value;
            } else {
                free += value;
            }
        }
    }
    if total == 0 {
        return Some((0.0, 0.0));
    }
    Some((
        free as f64 / total as f64 * 100.0,
        overlap as f64 / total as f64 * 100.0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_their_numbers() {
        assert!(version_below("v1.80.2", "v1.86.0"));
        assert!(!version_below("v1.86.5", "v1.86.0"));
        assert!(version_below(
            "v0.0.0-20250716170648-1d0488a3d7da",
            "v0.1.0"
        ));
        assert!(!version_below("v1.10.0", "v1.9.0"));
    }
}
