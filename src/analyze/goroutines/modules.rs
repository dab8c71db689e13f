//! Module versions seen in the stacks' file paths, with the goroutines that touch each.

use std::collections::{BTreeMap, BTreeSet};

use super::grouping::sample_value;
use super::{GoroutineInput, GoroutineSource, ModuleRow};
use crate::analyze::frames::FunctionStacks;
use crate::analyze::names::module_version;
use crate::profile::Profile;

/// Goroutines per (module, version) in one profile: each sample counts once per module its
/// frames' files belong to. A file's module is read once per function, not once per frame:
/// deep stacks of long paths would otherwise be parsed again for every goroutine.
fn module_counts(profile: &Profile) -> BTreeMap<(String, String), u64> {
    let module_of: Vec<Option<(&str, &str)>> = profile
        .functions
        .iter()
        .map(|f| module_version(&f.filename))
        .collect();
    let stacks = FunctionStacks::new(profile);
    let mut functions: Vec<u32> = Vec::new();
    let mut counts = BTreeMap::new();
    for sample in profile.samples() {
        let value = sample_value(profile, sample);
        stacks.sample_named(sample, &mut functions);
        let touched: BTreeSet<(&str, &str)> = functions
            .iter()
            .filter_map(|&f| module_of.get(f as usize).copied().flatten())
            .collect();
        for (module, version) in touched {
            *counts
                .entry((module.to_string(), version.to_string()))
                .or_default() += value;
        }
    }
    counts
}

pub(super) fn modules(input: &GoroutineInput) -> Vec<ModuleRow> {
    let sources = [
        (GoroutineSource::Debug2, input.debug2.map(|d| &d.profile)),
        (GoroutineSource::Protobuf, input.profile),
        (GoroutineSource::Debug1, input.debug1.map(|d| &d.profile)),
    ];
    let mut rows: BTreeMap<(String, String), (u64, GoroutineSource)> = BTreeMap::new();
    for (source, profile) in sources {
        let Some(profile) = profile else { continue };
        for (key, count) in module_counts(profile) {
            rows.entry(key).or_insert((count, source));
        }
    }
    rows.into_iter()
        .map(|((module, version), (goroutines, source))| ModuleRow {
            module,
            version,
            goroutines,
            source,
        })
        .collect()
}
