//! The instance inference: how many copies of the per-service machinery the group counts
//! reveal (see the module documentation of `goroutines`).

use std::collections::BTreeMap;

use super::connections::is_per_connection;
use super::grouping::Group;
use super::{
    FactorRow, GoroutineOptions, InstanceCandidate, InstanceInference, number_text, percent_text,
    plural, share,
};

/// The instance count the groups reveal, when it means something: the context declares more
/// than one service (a process running one has no instances to find), the count is not read
/// from per-connection groups, and the groups it explains hold at least
/// [`GoroutineOptions::min_explained_percent`] of the goroutines.
pub(super) fn infer(
    groups: &[Group],
    declared: Option<u32>,
    options: &GoroutineOptions,
) -> Option<InstanceInference> {
    if declared.is_none_or(|d| d <= 1) {
        return None;
    }
    let counts: Vec<u64> = groups.iter().map(|g| g.goroutines).collect();
    let total_goroutines: u64 = counts.iter().sum();
    let mut exact: BTreeMap<u64, usize> = BTreeMap::new();
    for group in groups
        .iter()
        .filter(|g| g.goroutines >= 2 && !is_per_connection(g))
    {
        *exact.entry(group.goroutines).or_default() += 1;
    }
    let mut candidates: Vec<InstanceCandidate> = exact
        .into_iter()
        .filter(|&(_, groups)| groups >= options.min_exact_groups.max(1))
        .map(|(n, exact_groups)| {
            let explained: Vec<u64> = counts
                .iter()
                .copied()
                .filter(|c| c.is_multiple_of(n))
                .collect();
            InstanceCandidate {
                instances: n,
                exact_groups,
                explained_groups: explained.len(),
                explained_goroutines: explained.iter().sum(),
            }
        })
        .collect();
    let is_declared = |n: u64| declared.is_some_and(|d| u64::from(d) == n);
    candidates.sort_by(|a, b| {
        b.explained_goroutines
            .cmp(&a.explained_goroutines)
            .then_with(|| is_declared(b.instances).cmp(&is_declared(a.instances)))
            .then_with(|| b.exact_groups.cmp(&a.exact_groups))
            .then_with(|| b.instances.cmp(&a.instances))
    });
    candidates.truncate(options.max_candidates.max(1));
    let best = candidates.first()?.clone();
    if share(best.explained_goroutines, total_goroutines) < options.min_explained_percent {
        return None;
    }
    let n = best.instances;

    let mut factors: BTreeMap<u64, (usize, u64)> = BTreeMap::new();
    for &count in counts.iter().filter(|&&c| c.is_multiple_of(n)) {
        let entry = factors.entry(count / n).or_default();
        entry.0 += 1;
        entry.1 += count;
    }
    let factors = factors
        .into_iter()
        .rev()
        .map(|(factor, (groups, goroutines))| FactorRow {
            factor,
            groups,
            goroutines,
            per_instance: factor * groups as u64,
            text: format!(
                "{groups} {} × {factor} per instance",
                plural(groups as u64, "group", "groups")
            ),
        })
        .collect();
    let per_instance = best.explained_goroutines / n;
    let total_per_instance = total_goroutines as f64 / n as f64;
    let explained_share_text = percent_text(best.explained_goroutines, total_goroutines);
    let matches_declared = declared.map(|d| u64::from(d) == n);
    Some(InstanceInference {
        instances: n,
        declared,
        matches_declared,
        declared_note: match declared {
            Some(d) if u64::from(d) != n => Some(format!(
                "{n} {} inferred, {d} declared",
                plural(n, "instance", "instances")
            )),
            _ => None,
        },
        exact_groups: best.exact_groups,
        explained_groups: best.explained_groups,
        explained_goroutines: best.explained_goroutines,
        total_groups: counts.len(),
        total_goroutines,
        explained_share: share(best.explained_goroutines, total_goroutines),
        summary_text: format!(
            "{n} instances explain {} of {total_goroutines} goroutines ({explained_share_text}) \
             in {} of {} groups: {per_instance} goroutines per instance",
            best.explained_goroutines,
            best.explained_groups,
            counts.len()
        ),
        explained_share_text,
        per_instance,
        total_per_instance,
        total_per_instance_text: number_text(total_per_instance),
        factors,
        candidates,
    })
}
