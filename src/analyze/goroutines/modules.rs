//! Module versions seen in the stacks' file paths, with the goroutines that touch each.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::grouping::sample_value;
use super::{GoroutineInput, GoroutineSource, ModuleRow};
use crate::analyze::frames::FunctionStacks;
use crate::analyze::names::module_version;
use crate::profile::Profile;

/// Goroutines per (module, version) in one profile: each sample counts once per module its
/// frames' files belong to. A file's module is read once per function, not once per frame,
/// and counted by index: deep stacks of long paths would otherwise be parsed, and the
/// module's strings copied, again for every goroutine.
fn module_counts(profile: &Profile) -> BTreeMap<(String, String), u64> {
    let mut index: FxHashMap<(&str, &str), u32> = FxHashMap::default();
    let mut modules: Vec<(&str, &str)> = Vec::new();
    let module_of: Vec<Option<u32>> = profile
        .functions
        .iter()
        .map(|f| {
            let module = module_version(&f.filename)?;
            Some(*index.entry(module).or_insert_with(|| {
                modules.push(module);
                (modules.len() - 1) as u32
            }))
        })
        .collect();
    let stacks = FunctionStacks::new(profile);
    let mut functions: Vec<u32> = Vec::new();
    let mut counts = vec![0u64; modules.len()];
    // The sample that last counted each module: a module counts once per sample.
    let mut counted_in: Vec<usize> = vec![usize::MAX; modules.len()];
    for (sample_index, sample) in profile.samples().enumerate() {
        let value = sample_value(profile, sample);
        stacks.sample_named(sample, &mut functions);
        for &function in &functions {
            let Some(module) = module_of.get(function as usize).copied().flatten() else {
                continue;
            };
            let m = module as usize;
            if counted_in[m] != sample_index {
                counted_in[m] = sample_index;
                counts[m] += value;
            }
        }
    }
    // A module some stack shows is listed, even with no goroutines counted.
    modules
        .into_iter()
        .zip(counts)
        .zip(counted_in)
        .filter(|&(_, last)| last != usize::MAX)
        .map(|(((module, version), count), _)| ((module.to_string(), version.to_string()), count))
        .collect()
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
