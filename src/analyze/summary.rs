//! The executive summary as data: the CPU, goroutine, memory and contention points, the three
//! things that matter (the first ranked recommendations, each with its number and what to do)
//! and the common theories the data rules out. `summary-items.md.j2` writes the sentences.

use serde::{Deserialize, Serialize};

use super::contention::{ContentionAnalysis, Verdict};
use super::cpu::CpuAnalysis;
use super::findings::{FLOORS, Findings, percent_text};
use super::goroutines::GoroutineAnalysis;
use super::memory::MemoryAnalysis;
use crate::rules::Rule;

fn yes() -> bool {
    true
}

/// What the executive summary says, as data; `summary.md.j2` writes the sentences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutiveSummary {
    /// The CPU point; `None` without a CPU analysis.
    pub cpu: Option<CpuSummary>,
    /// The goroutine point; `None` without a goroutine analysis.
    pub goroutines: Option<GoroutineSummary>,
    /// The memory point; `None` without an in-use heap top table, or with an empty one.
    pub memory: Option<MemorySummary>,
    /// The mutex profile's verdict.
    pub mutex: Verdict,
    /// The block profile's verdict.
    pub block: Verdict,
    /// The block profile's delay split into idle waiting and contention, when it has delay.
    #[serde(default)]
    pub block_split: Option<super::contention::BlockSplit>,
    /// The first recommendation with an estimated saving, else the first one.
    pub top_recommendation: Option<TopRecommendation>,
    /// The three things that matter: the first three ranked recommendations, each a
    /// sentence with its number and the action it leads to.
    #[serde(default)]
    pub things: Vec<Thing>,
    /// Common theories the measurements refute, in words (`6254 goroutines, but the
    /// scheduler takes 1.28% of CPU…`).
    #[serde(default)]
    pub ruled_out: Vec<String>,
}

/// One of the three things that matter: a ranked recommendation in one sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thing {
    /// The recommendation's rank, which the report's Recommendations section numbers.
    pub rank: usize,
    /// The rule's id (`compression-cost`).
    pub id: String,
    /// The recommendation's title.
    pub title: String,
    /// The finding, with its measured numbers.
    pub text: String,
    /// The first action it leads to.
    pub action: Option<String>,
    /// The estimated saving (`0.12 cores`), when the rule estimates one.
    pub saving_text: Option<String>,
}

/// The executive summary's CPU point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuSummary {
    /// The profile's utilisation as pprof prints it (`121.31%` of one core); means nothing when
    /// `utilisation_known` is false.
    pub utilisation_text: String,
    /// False when the profile gives no utilisation (no duration, or values not CPU time).
    #[serde(default = "yes")]
    pub utilisation_known: bool,
    /// The process's CPU in percent of one core, the basis of the cores: the context's process
    /// CPU%, else the profile's utilisation (0 when neither is known).
    pub cores_basis_percent: f64,
    /// True when that basis is the context's process CPU%.
    pub from_context: bool,
    /// The basis in cores, without a unit (`1.21`, `0.047`).
    pub cores_text: String,
    /// Go only: the share in syscall leaves.
    pub syscall_share_text: Option<String>,
    /// Go only: the program's system calls (not the runtime's waits) taking at least 1% of
    /// CPU, at most three
    /// (`read 34.40%, recvfrom 29.91%, sendto 12.50%`).
    #[serde(default)]
    pub syscall_calls_text: Option<String>,
    /// The subsystems with at least 5% of CPU (at most three): name, share, cores.
    pub subsystems: Vec<(String, String, String)>,
    /// CPU per unit of work when the context gives the throughput
    /// (`0.254 ms of CPU per request at 1925.00 requests/s`); `None` otherwise.
    #[serde(default)]
    pub per_unit_text: Option<String>,
}

/// The executive summary's goroutine point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoroutineSummary {
    /// Goroutines in the process: the protobuf profile's count, else a dump's.
    pub total: u64,
    /// Goroutines per declared service (`109.72`); `None` when the service count is unknown.
    pub per_service_text: Option<String>,
    /// How that compares with the context's expected range
    /// (`above the expected 2–5 (21.94× the upper bound)`); `None` when the context expects none.
    pub verdict_text: Option<String>,
    /// Instances of the per-service machinery that the goroutine groups reveal; `None` when none
    /// could be inferred.
    pub instances: Option<u64>,
    /// The declared service count the instances were checked against; `None` when unknown.
    pub declared: Option<u32>,
    /// `59 instances inferred, 57 declared` when the two differ; `None` otherwise.
    pub instances_note: Option<String>,
    /// Goroutines per inferred instance (`106`, `109.72`); `None` without instances.
    pub per_instance_text: Option<String>,
}

/// The executive summary's memory point: the function holding the most in-use heap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemorySummary {
    /// The first function of the in-use heap top table (by flat).
    pub leader: String,
    /// Its share of the in-use heap, as pprof prints it (`23.45%`).
    pub share_text: String,
    /// Its in-use bytes, as the top table prints them (`120.50MB`).
    pub leader_text: String,
    /// The in-use heap in total, as the top table prints it (`512.30MB`).
    pub total_text: String,
    /// The process's RSS and the part of it the heap in use is
    /// (`RSS 2.68GB, 80.50% of it the heap in use`), when the context gives the RSS.
    #[serde(default)]
    pub rss_text: Option<String>,
}

/// The recommendation the executive summary names: the first with an estimated saving, else the
/// first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopRecommendation {
    /// The recommendation's title.
    pub title: String,
    /// Its estimated saving (`0.42 cores`); `None` when it has no estimate.
    pub saving_text: Option<String>,
    /// How the saving was computed (`12.00% of CPU × 121.31% CPU (profile) = 0.15 cores`); `None`
    /// when it has no estimate.
    pub arithmetic: Option<String>,
}

/// The executive summary of a set's analyses and ranked findings; `rules` gives the
/// thresholds the ruled-out theories are held against.
#[allow(clippy::too_many_arguments)]
pub fn summarize(
    rules: &[Rule],
    throughput: Option<&crate::context::Throughput>,
    cpu_analysis: Option<&CpuAnalysis>,
    goroutine_analysis: Option<&GoroutineAnalysis>,
    memory: Option<&MemoryAnalysis>,
    rss: Option<&super::rss::RssBreakdown>,
    mutex: &ContentionAnalysis,
    block: &ContentionAnalysis,
    findings: &Findings,
) -> ExecutiveSummary {
    let cpu = cpu_analysis.map(|c| CpuSummary {
        utilisation_text: c.utilisation_text.clone(),
        utilisation_known: c.utilisation_known,
        cores_basis_percent: c.cores_basis_percent,
        from_context: c.cores_basis == super::cpu::CoresBasis::ProcessCpu,
        cores_text: super::shares::format_cores(c.cores_basis_percent / 100.0),
        syscall_share_text: c.syscalls.as_ref().map(|s| s.share_text.clone()),
        syscall_calls_text: c.syscalls.as_ref().and_then(|s| {
            let calls: Vec<String> = s
                .by_call
                .iter()
                // The program's calls, as the share counts them: the runtime's own waits
                // (futex, epoll_wait, nanosleep) are the scheduler's.
                .filter(|k| {
                    let runtime = k.function.starts_with("runtime.")
                        || k.function.starts_with("internal/runtime/");
                    !runtime
                        || super::runtime::role(&k.function)
                            == Some(super::runtime::Role::SyscallLeaf)
                })
                .filter(|k| c.total > 0 && k.cum as f64 / c.total as f64 >= 0.01)
                .take(3)
                .map(|k| format!("{} {}", k.call, k.share_text))
                .collect();
            (!calls.is_empty()).then(|| calls.join(", "))
        }),
        subsystems: c
            .subsystems
            .iter()
            .flat_map(|t| t.rows.iter())
            .filter(|r| !r.name.starts_with('(') && r.cum_share >= 5.0)
            .take(3)
            .map(|r| {
                (
                    r.name.clone(),
                    r.cum_share_text.clone(),
                    r.cores_text.clone().unwrap_or_default(),
                )
            })
            .collect(),
        per_unit_text: throughput
            .filter(|_| c.cores_basis_percent > 0.0)
            .map(|t| super::shares::cpu_per_unit_text(c.cores_basis_percent / 100.0, t)),
    });
    let goroutines = goroutine_analysis.map(|g| GoroutineSummary {
        total: g.totals.total,
        // For one declared service the figure repeats the total, unless an expectation
        // gives it something to be held against.
        per_service_text: g
            .per_service
            .as_ref()
            .filter(|p| p.services > 1 || p.expected_text.is_some())
            .map(|p| p.per_service_text.clone()),
        verdict_text: g
            .per_service
            .as_ref()
            .filter(|p| p.expected_text.is_some())
            .map(|p| p.verdict_text.clone()),
        instances: g.instances.as_ref().map(|i| i.instances),
        declared: g.instances.as_ref().and_then(|i| i.declared),
        instances_note: g.instances.as_ref().and_then(|i| i.declared_note.clone()),
        per_instance_text: g
            .instances
            .as_ref()
            .map(|i| i.total_per_instance_text.clone()),
    });
    let memory = memory
        .and_then(|m| m.inuse_space.as_ref())
        .and_then(|view| {
            let leader = view.top.items.first()?;
            Some(MemorySummary {
                leader: leader.name.clone(),
                share_text: leader.flat_percent.trim().to_string(),
                leader_text: leader.flat_text.clone(),
                total_text: view.top.total_text.clone(),
                rss_text: rss.and_then(|r| {
                    let heap = r.parts.first()?;
                    Some(format!(
                        "RSS {}, {} of it the heap in use{}",
                        r.rss_text,
                        heap.share_text,
                        if r.from_memstats {
                            " (HeapInuse)"
                        } else {
                            " by the heap profile's estimate"
                        }
                    ))
                }),
            })
        });
    let top = findings
        .recommendations
        .iter()
        .find(|r| r.finding.estimate.is_some())
        .or(findings.recommendations.first())
        .map(|r| TopRecommendation {
            title: r.finding.title.clone(),
            saving_text: r.finding.estimate.as_ref().map(|e| e.amount_text.clone()),
            arithmetic: r.finding.estimate.as_ref().map(|e| e.arithmetic.clone()),
        });
    ExecutiveSummary {
        cpu,
        goroutines,
        memory,
        mutex: mutex.verdict,
        block: block.verdict,
        block_split: block.split.clone(),
        top_recommendation: top,
        things: things(findings),
        ruled_out: ruled_out(rules, cpu_analysis, goroutine_analysis),
    }
}

/// How many things the summary names.
const THINGS: usize = 3;

/// The first [`THINGS`] ranked recommendations, each in one sentence: the finding with its
/// number, the first action, the saving.
fn things(findings: &Findings) -> Vec<Thing> {
    findings
        .recommendations
        .iter()
        .take(THINGS)
        .map(|r| Thing {
            rank: r.rank,
            id: r.finding.id.clone(),
            title: r.finding.title.clone(),
            text: first_sentence(&r.finding.text).to_string(),
            action: r.finding.actions.first().map(|a| a.text.clone()),
            saving_text: r.finding.estimate.as_ref().map(|e| e.amount_text.clone()),
        })
        .collect()
}

/// A finding's first sentence, the one with its number: up to the first full stop that
/// ends a sentence (followed by a space and a capital letter, or the end), so that the dots
/// of `io.copyBuffer` or `12.34%` do not cut it.
fn first_sentence(text: &str) -> &str {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices(". ") {
        if bytes
            .get(i + 2)
            .is_some_and(|b| b.is_ascii_uppercase() || *b == b'`')
        {
            return &text[..=i];
        }
    }
    text
}

/// The goroutine count from which a service's goroutines are commonly blamed for its CPU.
const MANY_GOROUTINES: u64 = 1000;

/// The common theories the CPU profile refutes, each in a sentence with its numbers:
/// "the goroutines burn the CPU" (many goroutines, yet the scheduler and garbage collection
/// below the thresholds of the rules that recommend on them) and "garbage collection burns
/// the CPU" (GC and allocation below `gc-pressure`'s threshold). Thresholds are the rule
/// set's own, so a rule file that moves them moves these too; without the rule, or on a
/// CPU profile under the evidence floor, nothing is ruled out.
fn ruled_out(
    rules: &[Rule],
    cpu: Option<&CpuAnalysis>,
    goroutines: Option<&GoroutineAnalysis>,
) -> Vec<String> {
    let Some(cpu) = cpu else {
        return Vec::new();
    };
    // Go's 100 Hz: the floor's seconds of samples as a sample count.
    if (cpu.sample_count as f64) < FLOORS.cpu_seconds * 100.0 {
        return Vec::new();
    }
    let Some(categories) = cpu.categories.as_ref() else {
        return Vec::new();
    };
    let share = |name: &str| {
        categories
            .rows
            .iter()
            .find(|r| r.name == name)
            .map_or(0.0, |r| r.cum_share)
    };
    let threshold = |id: &str| {
        rules
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.when.first())
            .and_then(|c| c.above)
    };
    let gc = share("garbage collection");
    let memory_management = gc + share("memory allocation");
    let scheduler = share("scheduler");
    let mut sentences = Vec::new();
    let gc_low = threshold("gc-pressure").filter(|t| memory_management < *t);
    if let (Some(total), Some(scheduler_threshold), Some(_)) = (
        goroutines.map(|g| g.totals.total),
        threshold("scheduler-overhead"),
        gc_low,
    ) && total >= MANY_GOROUTINES
        && scheduler < scheduler_threshold
    {
        sentences.push(format!(
            "{total} goroutines, but the scheduler takes {} of CPU and garbage collection {}: \
             the goroutine count is not what burns the CPU.",
            percent_text(scheduler),
            percent_text(gc)
        ));
        return sentences;
    }
    if let Some(gc_threshold) = gc_low {
        sentences.push(format!(
            "Garbage collection is not what burns the CPU: with allocation it takes {} of it \
             (the collector {}), under the {}% from which this report recommends working on it.",
            percent_text(memory_management),
            percent_text(gc),
            gc_threshold
        ));
    }
    sentences
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_is_cut_after_its_first_sentence_only() {
        assert_eq!(
            first_sentence("io.copyBuffer (32kB per object, 12.34% of bytes). Pool it."),
            "io.copyBuffer (32kB per object, 12.34% of bytes)."
        );
        assert_eq!(first_sentence("One sentence only."), "One sentence only.");
        assert_eq!(
            first_sentence("e.g. lower. then more"),
            "e.g. lower. then more"
        );
    }
}
