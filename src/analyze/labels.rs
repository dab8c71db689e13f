//! pprof labels (`pprof.Do`, `pprof.SetGoroutineLabels`): a profile broken down by the
//! values of each string label key, for the CPU and the goroutine sections.

use serde::{Deserialize, Serialize};

use super::shares::{ShareCounter, ShareTable};
use crate::profile::Profile;

/// A profile's values by the values of one label key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelTable {
    /// The label key (`tenant`, `handler`).
    pub key: String,
    /// Its values by CPU; samples without the key are the row `(no <key> label)`.
    pub values: ShareTable,
}

/// One table per string label key: what each value of it holds (CPU, goroutines), shares
/// of the whole profile. Samples are summed per distinct label set first, so the pass over
/// the samples does no string work.
pub fn tables(
    profile: &Profile,
    index: usize,
    table: impl Fn(ShareCounter, i64) -> ShareTable,
) -> Vec<LabelTable> {
    let mut total = 0i64;
    let mut by_set: std::collections::BTreeMap<usize, (i64, &crate::profile::Labels)> =
        std::collections::BTreeMap::new();
    for sample in profile.samples() {
        let value = sample.value(index);
        total += value;
        if value != 0 {
            by_set
                .entry(sample.label_set())
                .or_insert((0, sample.labels()))
                .0 += value;
        }
    }
    let keys: std::collections::BTreeSet<&str> = by_set
        .values()
        .flat_map(|(_, labels)| labels.strings.keys().map(String::as_str))
        .collect();
    keys.into_iter()
        .map(|key| {
            let unlabelled = format!("(no {key} label)");
            let mut counter = ShareCounter::default();
            for (value, labels) in by_set.values() {
                match labels.strings.get(key) {
                    // A sample with two values of one key counts for each, as pprof's -tags.
                    Some(values) => {
                        for v in values {
                            counter.add_one(v, *value);
                        }
                    }
                    None => counter.add_one(&unlabelled, *value),
                }
            }
            LabelTable {
                key: key.to_string(),
                values: table(counter, total),
            }
        })
        .collect()
}

/// `key=value, key=value` of a set of string labels, keys in order (a key's values in the
/// order given): how a group of goroutines or a leak site shows its labels.
pub fn text<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = pairs.collect();
    pairs.sort_by_key(|(key, _)| *key);
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
