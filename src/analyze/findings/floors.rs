//! The least evidence a verdict stands on.

use super::*;

/// Why a measurement cannot carry a verdict, when its evidence is below `floors`: the CPU
/// profile's seconds of samples and the cores a CPU share amounts to, the bytes of a heap or
/// allocation share, the goroutines of a goroutine metric, the sampled contentions of the
/// mutex delay. Facts (a profile is empty, a module version) have no floor.
pub(super) fn below_floor(
    condition: &Condition,
    m: &Measurement,
    evidence: &Evidence,
    basis: Option<crate::analyze::cpu::CpuBasis>,
    floors: &Floors,
) -> Option<String> {
    let bytes_of = |profile: Option<&Profile>, kind: &str| -> Option<f64> {
        let profile = profile?;
        let index = profile.sample_index_of(kind)?;
        let total: i64 = profile.samples().map(|s| s.value(index)).sum();
        Some(m.value / 100.0 * total as f64)
    };
    match condition.metric {
        Metric::CpuFunction
        | Metric::CpuPackage
        | Metric::CpuCategory
        | Metric::CpuFlatFunction
        | Metric::CpuCategories
        | Metric::CpuUnbufferedSocketWrites
        | Metric::CpuEntryPoint => {
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
                    crate::analyze::shares::format_cores(cores),
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
        Metric::BlockedSendShare | Metric::BlockedSendDelay => {
            contention_metrics::sends_floor(evidence, floors)
        }
        Metric::LockQueue | Metric::LockQueueShare => {
            contention_metrics::queue_floor(condition, m, floors)
        }
        Metric::MutexDelay | Metric::MutexHolder => {
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
        | Metric::LeakedGoroutines
        | Metric::GomaxprocsAboveQuota
        // Arithmetic on the context's throughput and CPU, split by the profile's shares.
        | Metric::CpuPerUnit => None,
    }
}
