//! The saving a recommendation estimates, and its arithmetic.

use super::measure::percent_text;
use super::*;

#[allow(clippy::too_many_arguments)]
pub(super) fn estimate(
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
            let total: i64 = profile.samples().map(|s| s.value(index)).sum();
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
pub(super) fn remaining_share(
    profile: &Profile,
    kind: &str,
    mask: &[bool],
    taken: &[bool],
) -> Option<(f64, f64)> {
    let index = profile.sample_index_of(kind)?;
    let (mut free, mut overlap, mut total) = (0i64, 0i64, 0i64);
    for (i, sample) in profile.samples().enumerate() {
        let value = sample.value(index);
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
