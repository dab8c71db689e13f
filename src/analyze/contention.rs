//! Mutex and block profiles: where goroutines waited, for how long per contention, and the
//! honest verdict when a profile is empty. Go records nothing unless
//! runtime.SetMutexProfileFraction / runtime.SetBlockProfileRate were set, so an empty
//! profile says profiling was most likely off, not that there was no contention.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::top::{self, TopOptions, TopReport};
use crate::profile::Profile;
use crate::units;

/// Which contention profile an analysis is of (serialised `mutex`, `block`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentionKind {
    /// Go's mutex profile (`/debug/pprof/mutex`), or a contention profile whose name says neither
    /// when the set has no mutex profile.
    Mutex,
    /// Go's block profile (`/debug/pprof/block`).
    Block,
}

/// What can be said about one contention profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The set has no such profile.
    NotCollected,
    /// The profile has no samples: profiling was most likely not enabled.
    ProfilingOff,
    /// Samples exist, but they add up to no delay.
    NoDelay,
    /// Contention was recorded.
    Recorded,
}

/// One function of the delay top table, with its contentions and mean delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentionRow {
    /// The function's name.
    pub name: String,
    /// Flat delay: the delay of samples whose leaf is this function, in the profile's delay unit
    /// (nanoseconds for Go).
    pub delay: i64,
    /// The flat delay as the top table prints it (`1.50s`).
    pub delay_text: String,
    /// The flat delay as a share of the profile's total delay, as pprof prints it (`12.34%`).
    pub delay_share_text: String,
    /// Cum delay: the delay of samples with this function anywhere on the stack, in the delay unit.
    pub cum_delay: i64,
    /// The cum delay as the top table prints it (`3.20s`).
    pub cum_delay_text: String,
    /// Sampled contention events: the function's flat count, or its cum count when it has no flat
    /// contentions.
    pub contentions: i64,
    /// delay / contentions (flat, or cum when the function has no flat contentions).
    pub mean_delay_text: String,
}

/// One contention profile analysed: the verdict, the totals and the delay top table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentionAnalysis {
    /// Which profile this is (`mutex` or `block`).
    pub kind: ContentionKind,
    /// What can be said about the profile (`recorded`, `no_delay`, `profiling_off`,
    /// `not_collected`).
    pub verdict: Verdict,
    /// Sum of the `delay` values, in the profile's delay unit (nanoseconds for Go); 0 when the
    /// profile has no delay samples.
    pub total_delay: i64,
    /// The total delay in a readable unit (`1.50s`); `0` when the profile has no delay samples.
    pub total_delay_text: String,
    /// Sum of the `contentions` values: the contention events sampled.
    pub total_contentions: i64,
    /// Total delay ÷ contentions, in a readable unit (`1.20ms`); `-` without contentions.
    pub mean_delay_text: String,
    /// The sampling rate the profile states (mutex: 1 in N events; block: a nanosecond rate).
    pub period: i64,
    /// The top table by delay, as `go tool pprof -top -sample_index=delay` prints it (10 rows);
    /// `None` unless the profile has samples of `delay` and `contentions`.
    pub top: Option<TopReport>,
    /// The top table's functions with their contentions and mean delay; empty when `top` is `None`.
    pub rows: Vec<ContentionRow>,
}

/// Analyzes one contention profile, or says it was not collected.
pub fn analyze(profile: Option<&Profile>, kind: ContentionKind, rows: usize) -> ContentionAnalysis {
    let empty = |verdict| ContentionAnalysis {
        kind,
        verdict,
        total_delay: 0,
        total_delay_text: "0".to_string(),
        total_contentions: 0,
        mean_delay_text: "-".to_string(),
        period: profile.map_or(0, |p| p.period),
        top: None,
        rows: Vec::new(),
    };
    let Some(profile) = profile else {
        return empty(Verdict::NotCollected);
    };
    if profile.samples.is_empty() {
        return empty(Verdict::ProfilingOff);
    }
    let (Some(delay_index), Some(count_index)) = (
        profile.sample_index_of("delay"),
        profile.sample_index_of("contentions"),
    ) else {
        return empty(Verdict::NotCollected);
    };
    let unit = profile.sample_types[delay_index].unit.clone();
    let total_delay: i64 = profile.samples().map(|s| s.values()[delay_index]).sum();
    let total_contentions: i64 = profile.samples().map(|s| s.values()[count_index]).sum();
    let mean = |delay: i64, count: i64| {
        if count == 0 {
            "-".to_string()
        } else {
            units::label(delay / count, &unit)
        }
    };
    let top_of = |index: &str, node_count: usize, node_fraction: f64| {
        top::top(
            profile,
            None,
            &TopOptions {
                sample_index: Some(index.to_string()),
                node_count,
                node_fraction,
                ..TopOptions::default()
            },
        )
        .ok()
    };
    let delay_top = top_of("delay", rows, TopOptions::default().node_fraction);
    // Every function's contentions, to divide the delays shown.
    let counts: HashMap<String, (i64, i64)> = top_of("contentions", 0, 0.0)
        .map(|t| {
            t.items
                .into_iter()
                .map(|i| (i.name, (i.flat, i.cum)))
                .collect()
        })
        .unwrap_or_default();
    let rows = delay_top
        .as_ref()
        .map(|t| {
            t.items
                .iter()
                .map(|item| {
                    let (flat_count, cum_count) = counts.get(&item.name).copied().unwrap_or((0, 0));
                    let mean_delay_text = if flat_count > 0 {
                        mean(item.flat, flat_count)
                    } else {
                        mean(item.cum, cum_count)
                    };
                    ContentionRow {
                        name: item.name.clone(),
                        delay: item.flat,
                        delay_text: item.flat_text.clone(),
                        delay_share_text: item.flat_percent.trim().to_string(),
                        cum_delay: item.cum,
                        cum_delay_text: item.cum_text.clone(),
                        contentions: if flat_count > 0 {
                            flat_count
                        } else {
                            cum_count
                        },
                        mean_delay_text,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    ContentionAnalysis {
        kind,
        verdict: if total_delay == 0 {
            Verdict::NoDelay
        } else {
            Verdict::Recorded
        },
        total_delay,
        total_delay_text: units::label(total_delay, &unit),
        total_contentions,
        mean_delay_text: mean(total_delay, total_contentions),
        period: profile.period,
        top: delay_top,
        rows,
    }
}
