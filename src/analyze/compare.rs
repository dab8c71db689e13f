//! Comparing two profile sets (a smaller host, or the same host before an optimization):
//! key metrics normalised per service and per second, the scaling exponent between service
//! counts, per-function deltas with a test of whether each change is larger than sampling
//! noise, predicted against measured savings, and a regression gate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cpu::{CoresBasis, CpuAnalysis, CpuBasis};
use super::findings::{self, Evidence};
use super::goroutines::GoroutineAnalysis;
use super::names::package_of;
use super::shares::format_cores;
use super::top::{self, BaseMode, TopOptions, TopReport};
use crate::profile::Profile;
use crate::rules::{ImpactKind, Rule};
use crate::set::{MemberKind, ProfileSet};
use crate::units;

/// |z| at or above which a change counts as real: 3 standard deviations (p ≈ 0.003).
pub const SIGNIFICANCE_Z: f64 = 3.0;

/// The change at which an exact count (goroutines) counts as a real change: at least this
/// share of the larger count. Counts are exact, but a service's goroutines come and go with
/// its requests; a few either way is the ordinary churn, not a change.
pub const EXACT_CHANGE_PERCENT: f64 = 5.0;

/// How a metric row's change is judged.
#[derive(Debug, Clone, Copy)]
enum Judged {
    /// Sampled values: a Poisson test on the sample counts, when it could be computed.
    Sampled(Option<f64>),
    /// Exact counts: a change of at least [`EXACT_CHANGE_PERCENT`] and this many.
    Exact { at_least: f64 },
    /// Shares of CPU: the change in percentage points; no test.
    Share,
}

/// One side of a comparison: the set and what its investigation found.
pub struct Side<'a> {
    /// The profile set: its CPU, heap and goroutine profiles are read again for the figures, the
    /// per-function deltas and the `-diff_base` views.
    pub set: &'a ProfileSet,
    /// The set's context: its process CPU% is the CPU basis when given.
    pub context: &'a crate::context::Context,
    /// The host: the context's, else the set name's.
    pub host: Option<&'a str>,
    /// The services declared (context, else set name).
    pub services: Option<u32>,
    /// The set's CPU analysis; `None` when the set has no CPU profile.
    pub cpu: Option<&'a CpuAnalysis>,
    /// The set's goroutine analysis (total, inferred instances); `None` when the set has no
    /// goroutine profile or dump.
    pub goroutines: Option<&'a GoroutineAnalysis>,
    /// The set's ranked recommendations, whose estimated savings are measured again on the other
    /// set.
    pub findings: &'a findings::Findings,
    /// What the rules look at in this set, to measure a recommendation's impact condition again.
    pub evidence: Evidence<'a>,
}

/// A comparison with another set, and its differential flame graph (relative to the report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// The name of the set compared against (the first, "before" set).
    pub name: String,
    /// The comparison: the named set before, the other set after.
    pub comparison: Comparison,
    /// The differential CPU flame graph's SVG, relative to the report
    /// (`<report stem>/cpu-diff.svg`); `None` when either set has no CPU profile with `cpu`
    /// samples.
    pub diff_flame: Option<String>,
}

/// Options of [`compare`]: the size of the delta tables and the regression gate.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompareOptions {
    /// Rows of the delta tables (15).
    pub rows: usize,
    /// `--fail-on` thresholds, e.g. `cpu-per-service>+10%`.
    pub gate: Vec<GateSpec>,
}

/// Two profile sets compared, the first before and the second after: what [`compare`] returns and
/// `baseline.md.j2` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The first set's key figures (the baseline, or the earlier set).
    pub before: SetFigures,
    /// The second set's key figures.
    pub after: SetFigures,
    /// The key metrics that both sets have, side by side: `CPU`, `cores`, `CPU per service`,
    /// `goroutines`, `goroutines per service`, `heap in use`, `heap in use per service`, then the
    /// share of CPU of the (up to three) largest subsystems.
    pub metrics: Vec<MetricRow>,
    /// Cost exponents between the two service counts; `None` when either count is unknown or they
    /// differ by less than 0.5.
    pub scaling: Option<Scaling>,
    /// Per-function changes, one table per profile kind both sets have with the same sample type
    /// (CPU, in-use heap, allocated bytes, goroutines).
    pub deltas: Vec<DeltaTable>,
    /// The same profiles through go tool pprof's `-diff_base` (the second set with the first
    /// as its base): raw sample values, percentages of the base's total.
    pub pprof_diffs: Vec<PprofDiff>,
    /// The first set's recommendations with a CPU or memory estimate, measured again on the second
    /// set.
    pub predictions: Vec<Prediction>,
    /// The regression gate's outcome; `None` when no `--fail-on` threshold was given.
    pub gate: Option<GateResult>,
    /// What could not be compared, and why.
    pub not_compared: Vec<String>,
}

/// The key figures of one set, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetFigures {
    /// The set's name (the common prefix of its files).
    pub name: String,
    /// The host: the context's, else the set name's; `None` when neither gives one.
    pub host: Option<String>,
    /// Services used for per-service figures: inferred instances when known, else declared.
    pub services: Option<f64>,
    /// The service count as printed: `59`, `59 (inferred; 57 declared)`, `57 (declared)` or
    /// `unknown`.
    pub services_text: String,
    /// CPU in percent of one core: the context's process CPU%, else the profile's utilisation.
    pub cpu_percent: Option<f64>,
    /// Where `cpu_percent` comes from, in words: `process CPU% (context)`,
    /// `CPU profile utilisation` or `no CPU data`.
    pub cpu_basis: String,
    /// CPU time the CPU profile recorded, in seconds (the sum of its `cpu` values); `None` without
    /// a CPU profile with `cpu` samples.
    pub cpu_seconds: Option<f64>,
    /// CPU samples behind that time (CPU nanoseconds ÷ the sampling period), what the significance
    /// test counts; `None` when the profile states no period.
    pub cpu_samples: Option<f64>,
    /// The CPU profile's duration in seconds; `None` when it states none.
    pub profile_seconds: Option<f64>,
    /// Goroutines in the process (the goroutine analysis's total); `None` without goroutine data.
    pub goroutines: Option<f64>,
    /// In-use heap in bytes: the `inuse_space` total of the heap profile, else of the allocs
    /// profile.
    pub heap_inuse: Option<f64>,
    /// About how many heap samples are behind `heap_inuse` (bytes ÷ the sampling period), what the
    /// significance test counts; `None` without a period.
    pub heap_samples: Option<f64>,
    /// Subsystems (from the leaf) with their share of CPU, for the before/after table.
    pub subsystems: BTreeMap<String, f64>,
    /// The context's throughput: units of work per second and the unit (`requests`); `None`
    /// when the context gives none.
    #[serde(default)]
    pub throughput: Option<crate::context::Throughput>,
}

/// One key metric in both sets, its change, and whether the change is beyond sampling noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// What is measured: `CPU`, `cores`, `CPU per service`, `goroutines`, `goroutines per service`,
    /// `heap in use`, `heap in use per service` or `share of CPU in <subsystem>`; the gate finds
    /// its metric by this name.
    pub name: String,
    /// The first set's value as printed: percent of one core (`12.34%`), cores (`0.12 cores`), a
    /// count (`6254`), a count per service (`109.72`), bytes (`1.50MB`), or a share with its
    /// cores (`42.00% (0.51 cores)`).
    pub before_text: String,
    /// The second set's value, formatted the same way.
    pub after_text: String,
    /// The relative change, signed, one decimal (`+12.3%`); `–` when the first value is 0.
    pub change_text: String,
    /// The relative change in percent of the first value ((after − before) ÷ |before| × 100);
    /// `None` when the first value is 0.
    pub change_percent: Option<f64>,
    /// None when significance cannot be judged (no sampling behind the number).
    pub significant: Option<bool>,
    /// The significance as printed: `yes (z = 4.2)`, `no (z = 1.1)`, `yes (exact count)`,
    /// `no change`, or `–` when it cannot be judged.
    pub significance_text: String,
}

/// How costs grow with the service count between the two sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// The first set's service count (inferred instances, else declared).
    pub services_before: f64,
    /// The second set's service count, counted the same way.
    pub services_after: f64,
    /// One exponent per cost: CPU, the CPU of each non-standard package with at least 5% of one
    /// core in either set, goroutines, heap in use; a cost that is zero in either set has none.
    pub rows: Vec<ExponentRow>,
}

/// cost ∝ N^k between the two service counts: k = ln(after/before) / ln(N_after/N_before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExponentRow {
    /// The cost: `CPU`, `CPU in <package>`, `goroutines` or `heap in use`.
    pub what: String,
    /// The first set's value: cores (`1.21 cores`), a goroutine count, or bytes (`1.50MB`).
    pub before_text: String,
    /// The second set's value, formatted the same way.
    pub after_text: String,
    /// The exponent k: 1 is linear, above 1 the cost per service grows with the service count.
    pub exponent: f64,
    /// k with two decimals (`1.76`).
    pub exponent_text: String,
    /// `super-linear: …` when k > 1.15, `sub-linear: …` when k < 0.85, else `about linear`.
    pub verdict: String,
}

/// Per-function changes of one sample type between the two sets, largest change first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeltaTable {
    /// What the table compares: `CPU by function (cum)`, `in-use heap by function (cum)`,
    /// `allocated bytes by function (cum)` or `goroutines by function (cum)`.
    pub what: String,
    /// The sample type compared (`cpu`, `inuse_space`, `alloc_space`, `goroutine`): what
    /// other code finds a table by.
    #[serde(default)]
    pub sample_index: String,
    /// The unit of the profile values compared: `nanoseconds`, `bytes` or `count`.
    pub unit: String,
    /// The functions whose value changed, largest absolute change first; at most the comparison's
    /// row count (15).
    pub rows: Vec<DeltaRow>,
    /// How many functions changed in all (the table shows the first `rows.len()`).
    pub total_rows: usize,
    /// How values are normalised (per second of profile, or none for snapshots).
    pub basis: String,
}

/// One profile kind through go tool pprof's `-diff_base`: the second set's profile with the first's
/// as its base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PprofDiff {
    /// The profile kind: `CPU`, `in-use heap`, `allocated bytes` or `goroutines`.
    pub what: String,
    /// The equivalent command line.
    pub command: String,
    /// The top table of the difference, as `go tool pprof -top -diff_base` prints it.
    pub top: TopReport,
}

/// One function's cum value in both sets, and its change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeltaRow {
    /// The function's name, as in the profiles.
    pub name: String,
    /// The first set's cum value in a readable unit (`1.50s`, `12MB`, `340`), with `/s` when the
    /// table is per second of profile.
    pub before_text: String,
    /// The second set's cum value, formatted the same way.
    pub after_text: String,
    /// after − before, signed, in a readable unit (`+1.20s/s`, `-512kB`).
    pub change_text: String,
    /// z of the change in sample counts (value ÷ the sampling period, a Poisson test); `None` for
    /// goroutine counts, which are exact, and when it cannot be computed.
    pub z: Option<f64>,
    /// Beyond sampling noise: |z| ≥ [`SIGNIFICANCE_Z`], or for goroutine counts any change.
    pub significant: bool,
}

/// A recommendation of the first set with an estimated saving, measured again on the second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The recommendation's rank in the first set (1 is first).
    pub rank: usize,
    /// The recommendation's title.
    pub title: String,
    /// The saving the first set's report estimated (`0.42 cores`, `12MB of heap`).
    pub predicted_text: String,
    /// What the second set shows: `0.40 cores saved (…)`, `12MB less in use`, or
    /// `not measurable in the second set`.
    pub measured_text: String,
    /// The measured saving against the estimate: `materialised (N% of the prediction)` from 75%,
    /// `partly (…)` from 25%, `did not materialise (…)` below, `nothing was predicted`,
    /// `unknown`, or `not applied (…)` when the second set's context does not list the rule
    /// among its `changes`.
    pub verdict: String,
}

/// A `--fail-on` threshold: how much a metric may grow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateSpec {
    /// The metric, one of [`GATE_METRICS`] (`cpu-per-service`).
    pub metric: String,
    /// Allowed change in percent (`+10` for `>+10%`).
    pub limit_percent: f64,
    /// The threshold as written on the command line (`cpu-per-service>+10%`).
    pub text: String,
}

/// One threshold of the gate, checked against the key metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateRow {
    /// The threshold as written (`cpu-per-service>+10%`).
    pub spec: String,
    /// The metric's change (`+12.3%`); `–` when it is not measurable in both sets.
    pub change_text: String,
    /// Whether that change is beyond sampling noise; `None` when it cannot be judged or the metric
    /// is missing.
    pub significant: Option<bool>,
    /// True when the change is over the limit and not shown to be within sampling noise (a change
    /// that cannot be judged counts).
    pub failed: bool,
    /// Why, in words: `within the limit`, `over the limit`,
    /// `over the limit, but within sampling noise: not counted` or `not measurable in both sets`.
    pub reason: String,
}

/// The regression gate's outcome: each threshold's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    /// One row per `--fail-on` threshold, in the order given.
    pub rows: Vec<GateRow>,
    /// True when no threshold failed; otherwise `pprof-report compare` ends with an error.
    pub passed: bool,
}

/// The metrics a gate can name.
pub const GATE_METRICS: [&str; 6] = [
    "cpu",
    "cpu-per-service",
    "goroutines",
    "goroutines-per-service",
    "heap-inuse",
    "heap-per-service",
];

/// Parses `cpu-per-service>+10%` (also `goroutines>20%`).
pub fn parse_gate(text: &str) -> Result<GateSpec, String> {
    let (metric, limit) = text
        .split_once('>')
        .ok_or_else(|| format!("{text:?}: expected METRIC>[+-]N[%], e.g. cpu-per-service>+10%"))?;
    let metric = metric.trim();
    if !GATE_METRICS.contains(&metric) {
        return Err(format!(
            "{text:?}: unknown metric {metric:?} (one of {})",
            GATE_METRICS.join(", ")
        ));
    }
    let number = limit.trim().trim_end_matches('%').trim_start_matches('+');
    let limit_percent: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: {limit:?} is not a percentage such as +10%"))?;
    Ok(GateSpec {
        metric: metric.to_string(),
        limit_percent,
        text: text.to_string(),
    })
}

fn sum_of(profile: &Profile, kind: &str) -> Option<f64> {
    let index = profile.sample_index_of(kind)?;
    Some(profile.samples().map(|s| s.value(index) as f64).sum())
}

fn figures(side: &Side) -> SetFigures {
    let set = side.set;
    let profile_of = |kind| set.member(kind).and_then(|m| m.profile());
    let cpu_profile = profile_of(MemberKind::Cpu);
    let cpu_ns = cpu_profile.and_then(|p| sum_of(p, "cpu"));
    let period = cpu_profile.map(|p| p.period).filter(|p| *p > 0);
    let profile_seconds = cpu_profile
        .map(|p| p.duration_nanos as f64 / 1e9)
        .filter(|d| *d > 0.0);
    let (cpu_percent, cpu_basis) = match CpuBasis::of(
        side.context.process.as_ref().and_then(|p| p.cpu_percent),
        side.cpu,
    ) {
        Some(b) if b.known => (
            Some(b.percent),
            match b.source {
                CoresBasis::ProcessCpu => "process CPU% (context)",
                CoresBasis::ProfileUtilisation => "CPU profile utilisation",
            }
            .to_string(),
        ),
        _ => (None, "no CPU data".to_string()),
    };
    let instances = side
        .goroutines
        .and_then(|g| g.instances.as_ref())
        .map(|i| i.instances as f64);
    let declared = side.services.map(f64::from);
    let (services, services_text) = match (instances, declared) {
        (Some(i), Some(d)) if (i - d).abs() > 0.5 => {
            (Some(i), format!("{i} (inferred; {d} declared)"))
        }
        (Some(i), _) => (Some(i), format!("{i}")),
        (None, Some(d)) => (Some(d), format!("{d} (declared)")),
        (None, None) => (None, "unknown".to_string()),
    };
    let heap = profile_of(MemberKind::Heap).or_else(|| profile_of(MemberKind::Allocs));
    let heap_inuse = heap.and_then(|p| sum_of(p, "inuse_space"));
    let heap_samples = match (heap, heap_inuse) {
        (Some(p), Some(bytes)) if p.period > 0 => Some(bytes / p.period as f64),
        _ => None,
    };
    SetFigures {
        name: set.name.clone(),
        host: side.host.map(str::to_string),
        services,
        services_text,
        cpu_percent,
        cpu_basis,
        cpu_seconds: cpu_ns.map(|ns| ns / 1e9),
        cpu_samples: match (cpu_ns, period) {
            (Some(ns), Some(p)) => Some(ns / p as f64),
            _ => None,
        },
        profile_seconds,
        goroutines: side.goroutines.map(|g| g.totals.total as f64),
        heap_inuse,
        heap_samples,
        subsystems: side
            .cpu
            .and_then(|c| c.subsystems.as_ref())
            .map(|t| {
                t.rows
                    .iter()
                    .map(|r| (r.name.clone(), r.cum_share))
                    .collect()
            })
            .unwrap_or_default(),
        throughput: side.context.throughput.clone(),
    }
}

/// z of a change in a Poisson rate: given n = a + b events over exposures ea and eb, b is
/// binomial(n, eb / (ea + eb)) when the rate did not change.
pub fn poisson_z(a: f64, b: f64, exposure_a: f64, exposure_b: f64) -> Option<f64> {
    let n = a + b;
    if n <= 0.0 || exposure_a <= 0.0 || exposure_b <= 0.0 {
        return None;
    }
    let p = exposure_b / (exposure_a + exposure_b);
    let variance = n * p * (1.0 - p);
    if variance <= 0.0 {
        return None;
    }
    Some((b - n * p) / variance.sqrt())
}

fn change_percent(before: f64, after: f64) -> Option<f64> {
    (before != 0.0).then(|| (after - before) / before.abs() * 100.0)
}

fn signed_percent(p: Option<f64>) -> String {
    match p {
        Some(p) => format!("{p:+.1}%"),
        None => "–".to_string(),
    }
}

/// An exact count's change is real when it is at least [`EXACT_CHANGE_PERCENT`] of the larger
/// count and at least `at_least`.
fn exact_significance(x: f64, y: f64, at_least: f64) -> (Option<bool>, String) {
    let delta = (y - x).abs();
    if delta == 0.0 {
        return (Some(false), "no change".to_string());
    }
    let relative = delta / x.abs().max(y.abs()) * 100.0;
    let significant = relative >= EXACT_CHANGE_PERCENT && delta >= at_least;
    let text = if significant {
        "yes (exact count)".to_string()
    } else {
        format!("no (exact count: a change counts from {EXACT_CHANGE_PERCENT}% and {at_least})")
    };
    (Some(significant), text)
}

fn significance_text(z: Option<f64>) -> (Option<bool>, String) {
    match z {
        Some(z) => {
            let significant = z.abs() >= SIGNIFICANCE_Z;
            (
                Some(significant),
                if significant {
                    format!("yes (z = {z:.1})")
                } else {
                    format!("no (z = {z:.1})")
                },
            )
        }
        None => (None, "–".to_string()),
    }
}

/// Compares `before` and `after`.
pub fn compare(
    before: &Side,
    after: &Side,
    rules: &[Rule],
    options: &CompareOptions,
) -> Comparison {
    let a = figures(before);
    let b = figures(after);
    let mut not_compared = Vec::new();
    let mut metrics = Vec::new();

    // CPU: the test is on samples per second of profile.
    let cpu_z = match (
        a.cpu_samples,
        b.cpu_samples,
        a.profile_seconds,
        b.profile_seconds,
    ) {
        (Some(x), Some(y), Some(dx), Some(dy)) => poisson_z(x, y, dx, dy),
        _ => None,
    };
    let heap_z = match (a.heap_samples, b.heap_samples) {
        (Some(x), Some(y)) => poisson_z(x, y, 1.0, 1.0),
        _ => None,
    };
    // Per service, the exposure is service-seconds (CPU) or services (heap).
    let services = |f: &SetFigures| f.services.filter(|s| *s > 0.0);
    let cpu_per_service_z = match (
        a.cpu_samples,
        b.cpu_samples,
        a.profile_seconds.zip(services(&a)),
        b.profile_seconds.zip(services(&b)),
    ) {
        (Some(x), Some(y), Some((da, na)), Some((db, nb))) => poisson_z(x, y, da * na, db * nb),
        _ => None,
    };
    // Per unit of work, the exposure is the units done while the profile ran.
    let same_unit = match (&a.throughput, &b.throughput) {
        (Some(x), Some(y)) if x.unit.trim() == y.unit.trim() => Some((x, y)),
        _ => None,
    };
    let cpu_per_unit_z = match (
        a.cpu_samples,
        b.cpu_samples,
        a.profile_seconds,
        b.profile_seconds,
        same_unit,
    ) {
        (Some(x), Some(y), Some(dx), Some(dy), Some((tx, ty))) => {
            poisson_z(x, y, dx * tx.per_second, dy * ty.per_second)
        }
        _ => None,
    };
    let heap_per_service_z = match (a.heap_samples, b.heap_samples, services(&a), services(&b)) {
        (Some(x), Some(y), Some(na), Some(nb)) => poisson_z(x, y, na, nb),
        _ => None,
    };
    let per = |v: Option<f64>, s: Option<f64>| match (v, s) {
        (Some(v), Some(s)) if s > 0.0 => Some(v / s),
        _ => None,
    };
    let mut push = |name: &str,
                    x: Option<f64>,
                    y: Option<f64>,
                    fmt: &dyn Fn(f64) -> String,
                    judged: Judged| {
        match (x, y) {
            (Some(x), Some(y)) => {
                let change = change_percent(x, y);
                let (significant, significance_text) = match judged {
                    Judged::Sampled(z) => significance_text(z),
                    Judged::Exact { at_least } => exact_significance(x, y, at_least),
                    Judged::Share => (None, "–".to_string()),
                };
                let change_text = match judged {
                    Judged::Share => format!("{:+.2} pp", y - x),
                    _ => signed_percent(change),
                };
                metrics.push(MetricRow {
                    name: name.to_string(),
                    before_text: fmt(x),
                    after_text: fmt(y),
                    change_text,
                    change_percent: change,
                    significant,
                    significance_text,
                });
            }
            _ => not_compared.push(format!(
                "{name}: {} has no value for it",
                if x.is_none() {
                    "the first set"
                } else {
                    "the second set"
                }
            )),
        }
    };
    let pct = |v: f64| format!("{v:.2}%");
    let count = |v: f64| format!("{v:.0}");
    let count2 = |v: f64| format!("{v:.2}");
    let bytes = |v: f64| units::label(v as i64, "bytes");
    let cores = |v: f64| format!("{} cores", format_cores(v / 100.0));
    push(
        "CPU",
        a.cpu_percent,
        b.cpu_percent,
        &pct,
        Judged::Sampled(cpu_z),
    );
    push(
        "cores",
        a.cpu_percent,
        b.cpu_percent,
        &cores,
        Judged::Sampled(cpu_z),
    );
    push(
        "CPU per service",
        per(a.cpu_percent, a.services),
        per(b.cpu_percent, b.services),
        &pct,
        Judged::Sampled(cpu_per_service_z),
    );
    if let Some((tx, ty)) = same_unit {
        // CPU milliseconds per unit: cores ÷ units per second × 1000.
        let millis = |cpu: Option<f64>, t: &crate::context::Throughput| {
            cpu.map(|c| c / 100.0 / t.per_second * 1000.0)
        };
        push(
            &format!("CPU per {}", tx.unit_singular()),
            millis(a.cpu_percent, tx),
            millis(b.cpu_percent, ty),
            &|v: f64| format!("{v:.4} ms"),
            Judged::Sampled(cpu_per_unit_z),
        );
    }
    push(
        "goroutines",
        a.goroutines,
        b.goroutines,
        &count,
        Judged::Exact { at_least: 10.0 },
    );
    push(
        "goroutines per service",
        per(a.goroutines, a.services),
        per(b.goroutines, b.services),
        &count2,
        Judged::Exact { at_least: 1.0 },
    );
    push(
        "heap in use",
        a.heap_inuse,
        b.heap_inuse,
        &bytes,
        Judged::Sampled(heap_z),
    );
    push(
        "heap in use per service",
        per(a.heap_inuse, a.services),
        per(b.heap_inuse, b.services),
        &bytes,
        Judged::Sampled(heap_per_service_z),
    );
    // The largest subsystems of either set, as shares of CPU.
    let mut subsystems: Vec<(&String, f64)> = a
        .subsystems
        .iter()
        .chain(b.subsystems.iter())
        .map(|(k, v)| (k, *v))
        .collect();
    subsystems.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| x.0.cmp(y.0)));
    let mut seen = Vec::new();
    for (name, _) in subsystems {
        if seen.contains(name) || name.starts_with('(') || seen.len() >= 3 {
            continue;
        }
        seen.push(name.clone());
        push(
            &format!("share of CPU in {name}"),
            Some(a.subsystems.get(name).copied().unwrap_or(0.0)),
            Some(b.subsystems.get(name).copied().unwrap_or(0.0)),
            &pct,
            Judged::Share,
        );
    }
    // A share says little without the CPU it is a share of: each side in cores too, and the
    // change in cores beside the points.
    if let (Some(ca), Some(cb)) = (a.cpu_percent, b.cpu_percent) {
        for row in metrics
            .iter_mut()
            .filter(|r| r.name.starts_with("share of CPU in "))
        {
            let name = &row.name["share of CPU in ".len()..];
            let share_a = a.subsystems.get(name).copied().unwrap_or(0.0);
            let share_b = b.subsystems.get(name).copied().unwrap_or(0.0);
            let (cores_a, cores_b) = (share_a * ca / 1e4, share_b * cb / 1e4);
            row.before_text = format!("{} ({} cores)", row.before_text, format_cores(cores_a));
            row.after_text = format!("{} ({} cores)", row.after_text, format_cores(cores_b));
            let sign = if cores_b >= cores_a { "+" } else { "-" };
            row.change_text = format!(
                "{} ({sign}{} cores)",
                row.change_text,
                format_cores((cores_b - cores_a).abs())
            );
        }
    }

    let scaling = scaling(before, after, &a, &b);
    let deltas = delta_tables(
        before.set,
        after.set,
        options.rows.max(1),
        &mut not_compared,
    );
    let pprof_diffs = pprof_diffs(
        before.set,
        after.set,
        options.rows.max(1),
        &mut not_compared,
    );
    let predictions = predictions(before, after, rules, &b);
    let gate = (!options.gate.is_empty()).then(|| evaluate_gate(&options.gate, &metrics));
    Comparison {
        before: a,
        after: b,
        metrics,
        scaling,
        deltas,
        pprof_diffs,
        predictions,
        gate,
        not_compared,
    }
}

fn exponent(x: f64, y: f64, na: f64, nb: f64) -> Option<f64> {
    (x > 0.0 && y > 0.0 && na > 0.0 && nb > 0.0 && (nb / na).ln().abs() > 1e-9)
        .then(|| (y / x).ln() / (nb / na).ln())
}

fn verdict(k: f64) -> String {
    if k > 1.15 {
        "super-linear: the cost per service grows with the service count".to_string()
    } else if k < 0.85 {
        "sub-linear: the cost per service falls with the service count".to_string()
    } else {
        "about linear".to_string()
    }
}

fn scaling(before: &Side, after: &Side, a: &SetFigures, b: &SetFigures) -> Option<Scaling> {
    // Scaling is about running more services: only when the declared counts differ. Two runs
    // of one service under different loads differ in connections, not services.
    if before.services? == after.services? {
        return None;
    }
    let (na, nb) = (a.services?, b.services?);
    if (na - nb).abs() < 0.5 {
        return None;
    }
    let mut rows = Vec::new();
    let mut row = |what: String, x: f64, y: f64, fmt: &dyn Fn(f64) -> String| {
        if let Some(k) = exponent(x, y, na, nb) {
            rows.push(ExponentRow {
                what,
                before_text: fmt(x),
                after_text: fmt(y),
                exponent: k,
                exponent_text: format!("{k:.2}"),
                verdict: verdict(k),
            });
        }
    };
    let cores = |v: f64| format!("{} cores", format_cores(v / 100.0));
    if let (Some(x), Some(y)) = (a.cpu_percent, b.cpu_percent) {
        row("CPU".to_string(), x, y, &cores);
        // Per package: package cum share × the process's CPU, for the packages that matter.
        let package_cores = |side: &Side, cpu: f64| -> BTreeMap<String, f64> {
            side.cpu
                .map(|c| {
                    c.packages
                        .rows
                        .iter()
                        .map(|r| (r.name.clone(), r.cum_share / 100.0 * cpu))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (pa, pb) = (package_cores(before, x), package_cores(after, y));
        for (name, xa) in &pa {
            if let Some(xb) = pb.get(name)
                && !super::names::is_standard_package(name)
                && xa.max(*xb) >= 5.0
            {
                row(format!("CPU in {name}"), *xa, *xb, &cores);
            }
        }
    }
    if let (Some(x), Some(y)) = (a.goroutines, b.goroutines) {
        row("goroutines".to_string(), x, y, &|v| format!("{v:.0}"));
    }
    if let (Some(x), Some(y)) = (a.heap_inuse, b.heap_inuse) {
        row("heap in use".to_string(), x, y, &|v| {
            units::label(v as i64, "bytes")
        });
    }
    Some(Scaling {
        services_before: na,
        services_after: nb,
        rows,
    })
}

/// Per-function values of one sample type: (flat, cum) by function name.
fn per_function(profile: &Profile, index: usize) -> BTreeMap<String, (f64, f64)> {
    let mut out: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for sample in profile.samples() {
        let value = sample.value(index) as f64;
        let mut seen: Vec<&str> = Vec::new();
        for (i, name) in profile.stack_names(sample).enumerate() {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            let entry = out.entry(name.to_string()).or_insert((0.0, 0.0));
            entry.1 += value;
            if i == 0 {
                entry.0 += value;
            }
        }
    }
    out
}

fn delta_tables(
    before: &ProfileSet,
    after: &ProfileSet,
    rows: usize,
    not_compared: &mut Vec<String>,
) -> Vec<DeltaTable> {
    let specs: [(&str, &[MemberKind], &str, &str, bool); 4] = [
        (
            "CPU by function (cum)",
            &[MemberKind::Cpu],
            "cpu",
            "nanoseconds",
            true,
        ),
        (
            "in-use heap by function (cum)",
            &[MemberKind::Heap, MemberKind::Allocs],
            "inuse_space",
            "bytes",
            false,
        ),
        (
            "allocated bytes by function (cum)",
            &[MemberKind::Allocs, MemberKind::Heap],
            "alloc_space",
            "bytes",
            true,
        ),
        (
            "goroutines by function (cum)",
            &[
                MemberKind::Goroutine,
                MemberKind::GoroutineDebug2,
                MemberKind::GoroutineDebug1,
            ],
            "goroutine",
            "count",
            false,
        ),
    ];
    let mut tables = Vec::new();
    for (what, kinds, index_name, unit, per_second) in specs {
        fn find<'s>(set: &'s ProfileSet, kinds: &[MemberKind]) -> Option<&'s Profile> {
            kinds
                .iter()
                .find_map(|k| set.member(*k))
                .and_then(|m| m.profile())
        }
        let (Some(pa), Some(pb)) = (find(before, kinds), find(after, kinds)) else {
            not_compared.push(format!("{what}: a set has no profile for it"));
            continue;
        };
        let (Some(ia), Some(ib)) = (
            pa.sample_index_of(index_name),
            pb.sample_index_of(index_name),
        ) else {
            not_compared.push(format!(
                "{what}: the profiles do not both have {index_name} samples"
            ));
            continue;
        };
        let seconds = |p: &Profile| (p.duration_nanos as f64 / 1e9).max(0.0);
        let (da, db) = (seconds(pa), seconds(pb));
        // Rates per second where the profile has a duration and sums over time (CPU,
        // allocations since start are not: they cover the uptime, so they compare raw).
        let normalise = per_second && index_name == "cpu" && da > 0.0 && db > 0.0;
        let (sa, sb) = if normalise { (da, db) } else { (1.0, 1.0) };
        // What one sample weighs, to test counts: the period (ns per CPU sample, bytes per
        // heap sample); goroutine counts are exact.
        let weight = |p: &Profile| if p.period > 0 { p.period as f64 } else { 1.0 };
        let exact = index_name == "goroutine";
        let fa = per_function(pa, ia);
        let fb = per_function(pb, ib);
        let mut names: Vec<&String> = fa.keys().chain(fb.keys()).collect();
        names.sort();
        names.dedup();
        let mut table: Vec<(f64, DeltaRow)> = names
            .into_iter()
            .map(|name| {
                let x = fa.get(name).map_or(0.0, |v| v.1);
                let y = fb.get(name).map_or(0.0, |v| v.1);
                let (rx, ry) = (x / sa, y / sb);
                let z = if exact {
                    None
                } else {
                    poisson_z(x / weight(pa), y / weight(pb), sa, sb)
                };
                let significant = if exact {
                    exact_significance(x, y, 10.0).0 == Some(true)
                } else {
                    z.is_some_and(|z| z.abs() >= SIGNIFICANCE_Z)
                };
                let format = |v: f64| units::label(v.round() as i64, unit);
                let suffix = if normalise { "/s" } else { "" };
                (
                    (ry - rx).abs(),
                    DeltaRow {
                        name: name.clone(),
                        before_text: format!("{}{suffix}", format(rx)),
                        after_text: format!("{}{suffix}", format(ry)),
                        change_text: format!(
                            "{}{}{suffix}",
                            if ry >= rx { "+" } else { "" },
                            format(ry - rx)
                        ),
                        z,
                        significant,
                    },
                )
            })
            .filter(|(delta, _)| *delta > 0.0)
            .collect();
        table.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| x.1.name.cmp(&y.1.name)));
        let total_rows = table.len();
        tables.push(DeltaTable {
            what: what.to_string(),
            sample_index: index_name.to_string(),
            unit: unit.to_string(),
            rows: table.into_iter().take(rows).map(|(_, r)| r).collect(),
            total_rows,
            basis: if normalise {
                "per second of profile".to_string()
            } else {
                "as recorded: snapshots, and totals since start".to_string()
            },
        });
    }
    tables
}

/// go tool pprof's `-diff_base` view of each profile the two sets share.
fn pprof_diffs(
    before: &ProfileSet,
    after: &ProfileSet,
    rows: usize,
    not_compared: &mut Vec<String>,
) -> Vec<PprofDiff> {
    let specs: [(&str, MemberKind, Option<&str>); 4] = [
        ("CPU", MemberKind::Cpu, None),
        ("in-use heap", MemberKind::Heap, Some("inuse_space")),
        ("allocated bytes", MemberKind::Allocs, Some("alloc_space")),
        ("goroutines", MemberKind::Goroutine, None),
    ];
    let mut out = Vec::new();
    for (what, kind, index) in specs {
        fn with_profile(
            set: &ProfileSet,
            kind: MemberKind,
        ) -> Option<(&crate::set::Member, &Profile)> {
            let member = set.member(kind)?;
            Some((member, member.profile()?))
        }
        let (Some((a, a_profile)), Some((b, b_profile))) =
            (with_profile(before, kind), with_profile(after, kind))
        else {
            continue;
        };
        let options = TopOptions {
            sample_index: index.map(str::to_string),
            node_count: rows,
            ..TopOptions::default()
        };
        match top::top(b_profile, Some((a_profile, BaseMode::Diff)), &options) {
            Ok(report) => out.push(PprofDiff {
                what: what.to_string(),
                command: format!(
                    "go tool pprof -top -nodecount={rows}{} -diff_base={} {}",
                    index
                        .map(|i| format!(" -sample_index={i}"))
                        .unwrap_or_default(),
                    file_name(&a.path),
                    file_name(&b.path)
                ),
                top: report,
            }),
            Err(e) => not_compared.push(format!("{what} (pprof -diff_base): {e}")),
        }
    }
    out
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The first set's recommendations with CPU or memory estimates, measured again on the
/// second set.
fn predictions(before: &Side, after: &Side, rules: &[Rule], b: &SetFigures) -> Vec<Prediction> {
    let mut out = Vec::new();
    for recommendation in &before.findings.recommendations {
        let finding = &recommendation.finding;
        let Some(estimate) = &finding.estimate else {
            continue;
        };
        let Some(rule) = rules.iter().find(|r| r.id == finding.id) else {
            continue;
        };
        // A saving is measured only where the later set's context says the change was made:
        // between two sets with nothing applied, a moved number is noise or load, not a
        // prediction that failed.
        if !after.context.changes.iter().any(|c| c == &rule.id) {
            out.push(Prediction {
                rank: recommendation.rank,
                title: finding.title.clone(),
                predicted_text: estimate.amount_text.clone(),
                measured_text: "–".to_string(),
                verdict: format!(
                    "not applied (the second set's context lists no change `{}`)",
                    rule.id
                ),
            });
            continue;
        }
        let measured_now = findings::impact_value(rule, &after.evidence);
        let measured_then = finding.evidence.get(rule.impact.condition).map(|m| m.value);
        let (measured_text, verdict) = match (rule.impact.kind, measured_then, measured_now) {
            (ImpactKind::Cpu, Some(then), Some(now)) => {
                let cpu_then = CpuBasis::of(before.evidence.process_cpu_percent, before.cpu)
                    .map_or(0.0, |b| b.percent);
                let cpu_now = b.cpu_percent.unwrap_or(0.0);
                let cores_then = then / 100.0 * cpu_then / 100.0;
                let cores_now = now / 100.0 * cpu_now / 100.0;
                let saved = cores_then - cores_now;
                (
                    format!(
                        "{} cores saved ({:.2}% of {:.2}% CPU before, {:.2}% of {:.2}% after)",
                        format_cores(saved),
                        then,
                        cpu_then,
                        now,
                        cpu_now
                    ),
                    materialised(saved, estimate.amount),
                )
            }
            (ImpactKind::Memory, Some(then), Some(now)) => {
                let total = |side: &Side| {
                    side.evidence
                        .heap
                        .or(side.evidence.allocs)
                        .and_then(|p| sum_of(p, "inuse_space"))
                        .unwrap_or(0.0)
                };
                let saved = then / 100.0 * total(before) - now / 100.0 * total(after);
                (
                    format!("{} less in use", units::label(saved as i64, "bytes")),
                    materialised(saved, estimate.amount),
                )
            }
            (_, _, None) => (
                "not measurable in the second set".to_string(),
                "unknown".to_string(),
            ),
            _ => continue,
        };
        out.push(Prediction {
            rank: recommendation.rank,
            title: finding.title.clone(),
            predicted_text: estimate.amount_text.clone(),
            measured_text,
            verdict,
        });
    }
    out
}

fn materialised(saved: f64, predicted: f64) -> String {
    if predicted <= 0.0 {
        return "nothing was predicted".to_string();
    }
    let ratio = saved / predicted;
    if ratio >= 0.75 {
        format!("materialised ({:.0}% of the prediction)", ratio * 100.0)
    } else if ratio >= 0.25 {
        format!("partly ({:.0}% of the prediction)", ratio * 100.0)
    } else {
        format!(
            "did not materialise ({:.0}% of the prediction)",
            ratio * 100.0
        )
    }
}

fn evaluate_gate(specs: &[GateSpec], metrics: &[MetricRow]) -> GateResult {
    let rows: Vec<GateRow> = specs
        .iter()
        .map(|spec| {
            let name = match spec.metric.as_str() {
                "cpu" => "CPU",
                "cpu-per-service" => "CPU per service",
                "goroutines" => "goroutines",
                "goroutines-per-service" => "goroutines per service",
                "heap-inuse" => "heap in use",
                _ => "heap in use per service",
            };
            match metrics.iter().find(|m| m.name == name) {
                Some(m) => {
                    let over = m.change_percent.is_some_and(|c| c > spec.limit_percent);
                    let significant = m.significant;
                    let failed = over && significant != Some(false);
                    let reason = match (over, significant) {
                        (false, _) => "within the limit".to_string(),
                        (true, Some(false)) => {
                            "over the limit, but within sampling noise: not counted".to_string()
                        }
                        (true, _) => "over the limit".to_string(),
                    };
                    GateRow {
                        spec: spec.text.clone(),
                        change_text: m.change_text.clone(),
                        significant,
                        failed,
                        reason,
                    }
                }
                None => GateRow {
                    spec: spec.text.clone(),
                    change_text: "–".to_string(),
                    significant: None,
                    failed: false,
                    reason: "not measurable in both sets".to_string(),
                },
            }
        })
        .collect();
    GateResult {
        passed: rows.iter().all(|r| !r.failed),
        rows,
    }
}

/// Package of a function, re-exported for templates that group deltas.
pub fn package(function: &str) -> &str {
    package_of(function)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_parse() {
        let g = parse_gate("cpu-per-service>+10%").unwrap();
        assert_eq!(
            (g.metric.as_str(), g.limit_percent),
            ("cpu-per-service", 10.0)
        );
        assert_eq!(parse_gate("goroutines>20%").unwrap().limit_percent, 20.0);
        assert!(parse_gate("cpu").is_err());
        assert!(parse_gate("latency>+5%").is_err());
        assert!(parse_gate("cpu>lots").is_err());
    }

    #[test]
    fn poisson_test() {
        // Same rate: z = 0.
        assert_eq!(poisson_z(100.0, 100.0, 1.0, 1.0), Some(0.0));
        // Doubling 1000 events is far beyond noise; 10 → 12 is not.
        assert!(poisson_z(1000.0, 2000.0, 1.0, 1.0).unwrap() > 10.0);
        assert!(poisson_z(10.0, 12.0, 1.0, 1.0).unwrap().abs() < 1.0);
        // Per second: 100 in 10 s and 30 in 3 s is the same rate.
        assert!(poisson_z(100.0, 30.0, 10.0, 3.0).unwrap().abs() < 1e-9);
        assert_eq!(poisson_z(0.0, 0.0, 1.0, 1.0), None);
    }

    #[test]
    fn exponents() {
        // 14 → 57 services, 9.5% → 113%: k ≈ 1.76.
        let k = exponent(9.5, 113.0, 14.0, 57.0).unwrap();
        assert!((k - 1.76).abs() < 0.01, "{k}");
        assert_eq!(exponent(1.0, 2.0, 5.0, 5.0), None);
        assert!(verdict(k).starts_with("super-linear"));
        assert_eq!(verdict(1.0), "about linear");
    }
}
