//! Mutex and block profiles: where goroutines waited, for how long per contention, and the
//! honest verdict when a profile is empty. Go records nothing unless
//! runtime.SetMutexProfileFraction / runtime.SetBlockProfileRate were set, so an empty
//! profile says profiling was most likely off, not that there was no contention.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::top::{self, TopOptions, TopReport};
use crate::profile::Profile;
use crate::units;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentionKind {
    Mutex,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentionRow {
    pub name: String,
    pub delay: i64,
    pub delay_text: String,
    pub delay_share_text: String,
    pub cum_delay: i64,
    pub cum_delay_text: String,
    pub contentions: i64,
    /// delay / contentions (flat, or cum when the function has no flat contentions).
    pub mean_delay_text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentionAnalysis {
    pub kind: ContentionKind,
    pub verdict: Verdict,
    pub total_delay: i64,
    pub total_delay_text: String,
    pub total_contentions: i64,
    pub mean_delay_text: String,
    /// The sampling rate the profile states (mutex: 1 in N events; block: a nanosecond rate).
    pub period: i64,
    pub top: Option<TopReport>,
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
