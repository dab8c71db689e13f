//! GOMAXPROCS against the CPU quota: the `gomaxprocs_above_quota` metric and the
//! `{gomaxprocs}` placeholder, from what `collect --pid` recorded in the context (the Go
//! version from the executable's build information, GOMAXPROCS and the GODEBUG settings
//! deciding it, the CPUs and the cgroup's CPU quota).
//!
//! The runtime's own rule: GOMAXPROCS is the environment's value when set; else, since
//! Go 1.25, the smaller of the CPUs and the quota rounded up (unless
//! `GODEBUG=containermaxprocs=0`, the default for a main module whose go.mod says an older
//! go); before Go 1.25 the CPUs the process may run on, whatever the quota.

use super::*;
use crate::context::{ProcessStats, go_release, godebug_value};

/// The first release whose GOMAXPROCS follows the cgroup CPU quota.
const QUOTA_AWARE: (u32, u32) = (1, 25);

/// GOMAXPROCS the process runs with, and where it comes from in words.
struct Gomaxprocs {
    value: u32,
    source: String,
}

/// Whether the process's Go follows the quota by itself: `Some(true)` for Go 1.25+ without
/// `containermaxprocs=0`, `Some(false)` for an older Go or that setting, `None` when the
/// version is unknown.
fn follows_quota(process: &ProcessStats) -> Option<bool> {
    let release = go_release(process.go_version.as_deref()?)?;
    let disabled = process
        .godebug
        .as_deref()
        .and_then(|g| godebug_value(g, "containermaxprocs"))
        == Some("0");
    Some(release >= QUOTA_AWARE && !disabled)
}

fn gomaxprocs(process: &ProcessStats) -> Option<Gomaxprocs> {
    if let Some(value) = process.gomaxprocs {
        return Some(Gomaxprocs {
            value,
            source: "set in the environment".to_string(),
        });
    }
    let version = process
        .go_version
        .as_deref()
        .unwrap_or("an unknown Go version");
    match follows_quota(process) {
        Some(true) => {
            let cpus = process.cpus?;
            let quota = process.cpu_quota.map_or(cpus, |q| q.ceil().max(1.0) as u32);
            Some(Gomaxprocs {
                value: cpus.min(quota),
                source: format!("{version} sets it from the CPU quota"),
            })
        }
        Some(false) => Some(Gomaxprocs {
            value: process.cpus?,
            source: if release_at_least(process, QUOTA_AWARE) {
                format!(
                    "the CPUs: GODEBUG containermaxprocs=0 keeps {version} from following the quota"
                )
            } else {
                format!("the CPUs: {version} does not read the quota")
            },
        }),
        None => Some(Gomaxprocs {
            value: process.cpus?,
            source: format!(
                "the CPUs, assumed: {version} (before Go 1.25 the runtime ignores the quota)"
            ),
        }),
    }
}

fn release_at_least(process: &ProcessStats, release: (u32, u32)) -> bool {
    process
        .go_version
        .as_deref()
        .and_then(go_release)
        .is_some_and(|r| r >= release)
}

/// Supporting figures from the CPU profile: `runtime.asyncPreempt`'s flat share and the
/// scheduler category's share, when the set has them.
fn cpu_signs(evidence: &Evidence) -> String {
    let mut parts = Vec::new();
    if let Some(profile) = evidence.cpu_profile {
        let preempt = profile
            .functions
            .iter()
            .map(|f| f.name == "runtime.asyncPreempt")
            .collect::<Vec<_>>();
        if let Some((share, _, _, _)) = measure::stack_share(profile, "cpu", |sample| {
            sample
                .locations()
                .next()
                .and_then(|l| profile.locations[l].lines.first())
                .is_some_and(|line| preempt[line.function])
        }) {
            parts.push(format!(
                "runtime.asyncPreempt {} of CPU (flat)",
                measure::percent_text(share)
            ));
        }
    }
    let scheduler = evidence
        .cpu
        .and_then(|c| c.categories.as_ref())
        .and_then(|t| t.rows.iter().find(|r| r.name == "scheduler"));
    if let Some(row) = scheduler {
        parts.push(format!(
            "the scheduler {} of CPU",
            measure::percent_text(row.cum_share)
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("; signs in the CPU profile: {}", parts.join(", "))
    }
}

/// `gomaxprocs_above_quota`: the Ps beyond the CPU quota rounded up (0 when GOMAXPROCS is
/// within it); `None` without a quota, or without the CPUs when GOMAXPROCS is not set.
pub(super) fn measure(evidence: &Evidence) -> Option<Measurement> {
    let process = evidence.process?;
    let quota = process.cpu_quota.filter(|q| *q > 0.0)?;
    let procs = gomaxprocs(process)?;
    let excess = (f64::from(procs.value) - quota.ceil()).max(0.0);
    Some(Measurement {
        value: excess,
        text: format!("{} for a CPU quota of {quota} cores", procs.value),
        what: "GOMAXPROCS beyond the CPU quota (Ps)".to_string(),
        subject: format!(
            "GOMAXPROCS is {} ({}) and the cgroup CPU quota {quota} cores{}",
            procs.value,
            procs.source,
            cpu_signs(evidence)
        ),
        ..Default::default()
    })
}

/// `{gomaxprocs}`: what the context says about GOMAXPROCS, the quota and the Go version,
/// as a sentence for a rule's text (the preemption rule weighs it).
pub(super) fn gomaxprocs_text(evidence: &Evidence) -> String {
    let Some(process) = evidence.process else {
        return "The context has no process statistics, so GOMAXPROCS and the CPU quota are unknown (collect with --pid).".to_string();
    };
    let Some(procs) = gomaxprocs(process) else {
        return "The context does not say how many CPUs the process has, so GOMAXPROCS is unknown (collect with --pid).".to_string();
    };
    match process.cpu_quota.filter(|q| *q > 0.0) {
        Some(quota) if f64::from(procs.value) > quota.ceil() => format!(
            "Here GOMAXPROCS is {} ({}) and the CPU quota {quota} cores: setting GOMAXPROCS to {} comes first.",
            procs.value,
            procs.source,
            quota.ceil()
        ),
        Some(quota) => format!(
            "Here GOMAXPROCS is {} ({}) within the CPU quota of {quota} cores, so the preemption comes from more runnable goroutines than CPUs or from long loops, not from GOMAXPROCS.",
            procs.value, procs.source
        ),
        None => format!(
            "Here GOMAXPROCS is {} ({}) and there is no CPU quota, so GOMAXPROCS matches the CPUs and the preemption comes from more runnable goroutines than CPUs or from long loops.",
            procs.value, procs.source
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(version: Option<&str>, env: Option<u32>, godebug: Option<&str>) -> ProcessStats {
        ProcessStats {
            cpus: Some(16),
            cpu_quota: Some(2.0),
            go_version: version.map(str::to_string),
            gomaxprocs: env,
            godebug: godebug.map(str::to_string),
            ..ProcessStats::default()
        }
    }

    fn excess(p: &ProcessStats) -> Option<f64> {
        measure(&Evidence {
            process: Some(p),
            ..Evidence::default()
        })
        .map(|m| m.value)
    }

    #[test]
    fn gomaxprocs_follows_the_runtime_rule() {
        assert_eq!(excess(&process(Some("go1.21.5"), None, None)), Some(14.0));
        assert_eq!(excess(&process(None, None, None)), Some(14.0));
        assert_eq!(excess(&process(Some("go1.25.0"), None, None)), Some(0.0));
        assert_eq!(excess(&process(Some("go1.25.0"), Some(8), None)), Some(6.0));
        assert_eq!(excess(&process(Some("go1.21.5"), Some(2), None)), Some(0.0));
        assert_eq!(
            excess(&process(
                Some("go1.27.3"),
                None,
                Some("containermaxprocs=0,updatemaxprocs=0")
            )),
            Some(14.0)
        );
        let unlimited = ProcessStats {
            cpu_quota: None,
            ..process(Some("go1.21.5"), None, None)
        };
        assert_eq!(excess(&unlimited), None);
        // A quota of 1.5 cores: Go 1.25 would pick 2 itself, so 2 is not above it.
        let fractional = ProcessStats {
            cpus: Some(2),
            cpu_quota: Some(1.5),
            ..process(Some("go1.19.8"), None, None)
        };
        assert_eq!(excess(&fractional), Some(0.0));
    }

    #[test]
    fn the_sentence_weighs_the_version() {
        let text = |p: &ProcessStats| {
            gomaxprocs_text(&Evidence {
                process: Some(p),
                ..Evidence::default()
            })
        };
        let old = process(Some("go1.21.5"), None, None);
        assert!(
            text(&old).contains("GOMAXPROCS is 16 (the CPUs: go1.21.5 does not read the quota)"),
            "{}",
            text(&old)
        );
        assert!(text(&old).contains("setting GOMAXPROCS to 2 comes first"));
        let new = process(Some("go1.26.1"), None, None);
        assert!(
            text(&new).contains("within the CPU quota"),
            "{}",
            text(&new)
        );
        assert!(gomaxprocs_text(&Evidence::default()).contains("collect with --pid"));
    }
}
