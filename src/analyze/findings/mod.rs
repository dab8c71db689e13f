//! Findings and ranked recommendations: the rules (src/rules/) evaluated against what was
//! measured. Each finding carries its evidence; each estimate shows its arithmetic; CPU and
//! heap savings are computed on the samples a rule matched, so two recommendations never
//! count the same samples twice.

use crate::rules::Pattern as Regex;
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

mod contention_metrics;
mod entry_points;
mod estimate;
mod floors;
mod gomaxprocs;
mod measure;
mod placeholders;
mod socket_writes;

use estimate::estimate;
use floors::below_floor;
use measure::measure;
pub use measure::{percent_text, version_below};
use placeholders::fill_placeholders;

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
    /// The context's process statistics: the Go version, GOMAXPROCS and the CPU quota
    /// (`gomaxprocs_above_quota`, `{gomaxprocs}`).
    pub process: Option<&'a crate::context::ProcessStats>,
    /// The context's throughput (units of work per second), for `cpu_per_unit`.
    pub throughput: Option<&'a crate::context::Throughput>,
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
    // Both sides take the next rule not yet taken: a few rules walk every stack of a large
    // heap profile while most read a number, so fixed halves left one core idle.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let measure_next = || -> Vec<(usize, Outcome)> {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(rule) = rules.get(index) else {
                return done;
            };
            done.push((index, measure_rule(rule, evidence, &shared)));
        }
    };
    let (mut outcomes, rest) = join.join(measure_next, measure_next);
    outcomes.extend(rest);
    outcomes.sort_unstable_by_key(|(index, _)| *index);
    for (rule, (_, outcome)) in rules.iter().zip(outcomes) {
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
            severity: rule
                .escalate
                .as_ref()
                .filter(|e| {
                    measured
                        .get(e.condition)
                        .is_some_and(|m| m.value >= e.above)
                })
                .map_or(rule.severity, |e| e.severity),
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

/// Samples already counted by higher-ranked recommendations, per profile.
struct Taken<'t> {
    cpu: &'t [bool],
    heap: &'t [bool],
    alloc: &'t [bool],
}

/// The measured value of a rule's impact condition, whether or not the rule fires: what a
/// later profile set is compared against to see whether a predicted saving materialised.
pub fn impact_value(rule: &Rule, evidence: &Evidence) -> Option<f64> {
    let condition = rule.when.get(rule.impact.condition)?;
    measure(condition, evidence, &Shared::default()).map(|m| m.value)
}

/// What several rules' measurements read, worked out once per evaluation: the packages of
/// the CPU and allocation profiles' frames and the CPU profile's category flags (every
/// package or category rule would otherwise redo them).
#[derive(Default)]
struct Shared {
    cpu_packages: std::sync::OnceLock<FramePackages>,
    alloc_packages: std::sync::OnceLock<FramePackages>,
    cpu_flags: std::sync::OnceLock<super::cpu::CategoryFlags>,
    cpu_entry_points: std::sync::OnceLock<Option<entry_points::EntryPoints>>,
}

impl Shared {
    /// CPU by entry point, worked out on first use (`cpu_entry_point`, `cpu_per_unit`).
    fn entry_points(&self, profile: &Profile) -> Option<&entry_points::EntryPoints> {
        self.cpu_entry_points
            .get_or_init(|| entry_points::EntryPoints::new(profile))
            .as_ref()
    }
}

/// Orders recommendations: severity first, findings without actions last within it, then savings in cores (cpu, gc), then bytes,
/// then by id so the order is stable.
fn rank_key(finding: &Finding, estimate: Option<&Estimate>) -> (Severity, bool, u8, i64, String) {
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
        // A finding that asks nothing (no actions: a figure for the record) after those that do.
        finding.actions.is_empty(),
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
            | Metric::GomaxprocsAboveQuota
            | Metric::CpuPerUnit
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
            | Metric::MutexHolder
            | Metric::LockQueueShare
            | Metric::BlockedSendShare
            | Metric::CpuUnbufferedSocketWrites
            | Metric::CpuEntryPoint
    );
    let unit = if percent { "%" } else { "" };
    match (condition.above, condition.below) {
        (Some(a), Some(b)) => format!("≥ {a}{unit} and < {b}{unit}"),
        (Some(a), None) => format!("≥ {a}{unit}"),
        (None, Some(b)) => format!("< {b}{unit}"),
        (None, None) => "any".to_string(),
    }
}
