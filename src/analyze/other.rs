//! Profiles that no dedicated section reads: another language's wall-clock, allocation or
//! lock profiles (sample types such as `wall`, `alloc-samples`, `CPU time`), Go's
//! threadcreate profile, and a second profile of a kind the set already has. Each gets the
//! language-neutral views: for every sample type that recorded something, the top functions
//! (the `top` engine's numbers, as `go tool pprof -sample_index=N` prints them) and the
//! packages, in the profile's language's sense.

use serde::{Deserialize, Serialize};

use super::language::{FramePackages, Language};
use super::shares::{ShareCounter, ShareTable};
use super::top::{self, TopOptions, TopReport};
use crate::profile::Profile;
use crate::units;

/// At most this many sample types get tables: profiles with more (a .NET profile carries
/// eight) would bury the report.
const MAX_VIEWS: usize = 6;

/// A profile that no dedicated section reads, with its language-neutral tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtherProfile {
    /// The profile's file name.
    pub file: String,
    /// Its member kind in words (`threadcreate profile`, `other pprof profile`, or `CPU profile`
    /// for a second one).
    pub kind_text: String,
    /// The language that wrote it, in words (`Node.js`): its own frames', else the set's.
    pub language_text: String,
    /// `wall/nanoseconds, samples/count`.
    pub sample_types: String,
    /// Its duration in a readable unit (`30s`); `None` when it states none.
    pub duration_text: Option<String>,
    /// One per sample type with a non-zero total, the default sample type first.
    pub views: Vec<OtherView>,
    /// Sample types whose values are all zero, or beyond `MAX_VIEWS`.
    pub not_shown: Vec<String>,
}

/// One sample type of such a profile: its top table and its package table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtherView {
    /// The sample type's name and its index (what `-sample_index` takes).
    pub sample_type: String,
    /// The sample type's index in the profile, what `-sample_index` takes.
    pub sample_index: usize,
    /// The sample type's unit (`nanoseconds`, `count`, `bytes`).
    pub unit: String,
    /// True for the profile's default sample type, which comes first.
    pub is_default: bool,
    /// The top functions by flat, as `go tool pprof -top -sample_index=N` prints them (10 rows).
    pub top: TopReport,
    /// Package flat and cum (10 rows) as shares of the sample type's total, packages in the
    /// profile's language's sense.
    pub packages: ShareTable,
}

/// Analyzes one profile: the views of its sample types.
pub fn analyze(
    profile: &Profile,
    file: &str,
    kind_text: &str,
    language: Language,
    rows: usize,
) -> OtherProfile {
    let default = profile.default_sample_index();
    let mut order: Vec<usize> = (0..profile.sample_types.len()).collect();
    order.sort_by_key(|&i| (i != default, i));
    let frame_packages = FramePackages::new(profile, language);
    let mut views = Vec::new();
    let mut not_shown = Vec::new();
    for i in order {
        let sample_type = &profile.sample_types[i];
        let recorded = profile.samples().any(|s| s.value(i) != 0);
        if !recorded || views.len() >= MAX_VIEWS {
            not_shown.push(sample_type.kind.clone());
            continue;
        }
        let options = TopOptions {
            sample_index: Some(i.to_string()),
            node_count: rows,
            ..TopOptions::default()
        };
        let Ok(top) = top::top(profile, None, &options) else {
            not_shown.push(sample_type.kind.clone());
            continue;
        };
        let mut packages = ShareCounter::default();
        let mut total = 0i64;
        for sample in profile.samples() {
            let value = sample.value(i);
            total = total.saturating_add(value);
            if value != 0 {
                packages.add(frame_packages.stack(sample), value);
            }
        }
        views.push(OtherView {
            sample_type: sample_type.kind.clone(),
            sample_index: i,
            unit: sample_type.unit.clone(),
            is_default: i == default,
            packages: packages.table(total, rows, &sample_type.unit, Some(&top.output_unit), None),
            top,
        });
    }
    OtherProfile {
        file: file.to_string(),
        kind_text: kind_text.to_string(),
        language_text: language.describe().to_string(),
        sample_types: profile
            .sample_types
            .iter()
            .map(|t| format!("{}/{}", t.kind, t.unit))
            .collect::<Vec<_>>()
            .join(", "),
        duration_text: (profile.duration_nanos > 0)
            .then(|| units::label(profile.duration_nanos, "nanoseconds")),
        views,
        not_shown,
    }
}
