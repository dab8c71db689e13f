//! Tables of shares: a name with flat and cum values and their share of a total, computed
//! from samples (by package, by category, by syscall caller). Rows carry raw numbers and the
//! text the report prints, pprof-style.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::units;

/// One row of a share table: a name, its flat and cum values, and their shares of the total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareRow {
    /// What the row counts: a package, a subsystem, a category, or a syscall caller; a name in
    /// parentheses is a remainder (`(standard library and runtime)`).
    pub name: String,
    /// Flat, in the profile's sample unit: in package tables the value of samples whose leaf frame
    /// has this name; in subsystem, category and caller tables the same as `cum`.
    pub flat: i64,
    /// Cum, in the profile's sample unit: in package tables the value of samples with this name
    /// anywhere on the stack (once per sample); in subsystem, category and caller tables the value
    /// of the samples charged to it.
    pub cum: i64,
    /// `flat` in the table's output unit, as pprof prints it (`1.50s`).
    pub flat_text: String,
    /// `cum` in the table's output unit, as pprof prints it (`3.20s`).
    pub cum_text: String,
    /// Percent of the table's total (0–100).
    pub flat_share: f64,
    /// Cum as a percent of the table's total (0–100).
    pub cum_share: f64,
    /// `flat_share` as pprof prints a percentage (`12.34%`, `0.096%`, `100%`).
    pub flat_share_text: String,
    /// `cum_share` as pprof prints a percentage (`12.34%`, `0.096%`, `100%`).
    pub cum_share_text: String,
    /// cum share × the process's CPU use, in cores (CPU tables only).
    pub cores: Option<f64>,
    /// `cores` with two decimals, or two significant digits below 0.1, without a unit (`1.10`,
    /// `0.047`); `None` when `cores` is.
    pub cores_text: Option<String>,
}

/// A whole table: the rows shown, and what they are out of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareTable {
    /// The rows shown, by cum, then flat, then name.
    pub rows: Vec<ShareRow>,
    /// Rows that exist in all (the table shows the first `rows.len()`).
    pub total_rows: usize,
    /// What the shares are out of, in the profile's sample unit: the profile's total of the sample
    /// type.
    pub total: i64,
    /// The total in the table's output unit (`72.81s`).
    pub total_text: String,
}

/// Accumulates flat (leaf) and cum (once per sample) values per name.
#[derive(Debug, Default)]
pub struct ShareCounter {
    values: BTreeMap<String, (i64, i64)>,
}

impl ShareCounter {
    /// Adds one sample: `names` is its stack's keys leaf first; the first is flat, every
    /// distinct one gets cum once.
    pub fn add<'a>(&mut self, names: impl IntoIterator<Item = &'a str>, value: i64) {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut first = true;
        for name in names {
            if seen.insert(name) {
                let entry = self.values.entry(name.to_string()).or_insert((0, 0));
                entry.1 += value;
                if first {
                    entry.0 += value;
                }
            }
            first = false;
        }
    }

    /// A counter holding the given (name, flat, cum) values, summed per name.
    pub fn from_values<'a>(values: impl IntoIterator<Item = (&'a str, i64, i64)>) -> Self {
        let mut counter = ShareCounter::default();
        for (name, flat, cum) in values {
            if flat != 0 || cum != 0 {
                let entry = counter.values.entry(name.to_string()).or_insert((0, 0));
                entry.0 += flat;
                entry.1 += cum;
            }
        }
        counter
    }

    /// Adds a value to one name, as flat and cum.
    pub fn add_one(&mut self, name: &str, value: i64) {
        let entry = self.values.entry(name.to_string()).or_insert((0, 0));
        entry.0 += value;
        entry.1 += value;
    }

    /// The rows sorted by cum, then flat, then name; at most `limit`. Values print in
    /// `output_unit`, or when `None` in the unit pprof would pick for the rows shown;
    /// `cores_per_share` turns a share into cores (CPU only).
    pub fn table(
        self,
        total: i64,
        limit: usize,
        unit: &str,
        output_unit: Option<&str>,
        cores_per_share: Option<f64>,
    ) -> ShareTable {
        let mut rows: Vec<(String, i64, i64)> = self
            .values
            .into_iter()
            .filter(|(_, (flat, cum))| *flat != 0 || *cum != 0)
            .map(|(name, (flat, cum))| (name, flat, cum))
            .collect();
        rows.sort_by(|a, b| {
            b.2.abs()
                .cmp(&a.2.abs())
                .then(b.1.abs().cmp(&a.1.abs()))
                .then_with(|| a.0.cmp(&b.0))
        });
        let total_rows = rows.len();
        rows.truncate(limit);
        let output_unit = match output_unit {
            Some(u) => u.to_string(),
            None => self::output_unit(rows.iter().flat_map(|r| [r.1, r.2]), total, unit),
        };
        let rows = rows
            .into_iter()
            .map(|(name, flat, cum)| {
                share_row(name, flat, cum, total, unit, &output_unit, cores_per_share)
            })
            .collect();
        ShareTable {
            rows,
            total_rows,
            total,
            total_text: units::scaled_label(total, unit, &output_unit),
        }
    }
}

/// One row with its shares of `total`.
pub fn share_row(
    name: String,
    flat: i64,
    cum: i64,
    total: i64,
    unit: &str,
    output_unit: &str,
    cores_per_share: Option<f64>,
) -> ShareRow {
    let share = |v: i64| {
        if total == 0 {
            0.0
        } else {
            v as f64 / total as f64 * 100.0
        }
    };
    let cores = cores_per_share.map(|per| share(cum) / 100.0 * per);
    ShareRow {
        name,
        flat,
        cum,
        flat_text: units::scaled_label(flat, unit, output_unit),
        cum_text: units::scaled_label(cum, unit, output_unit),
        flat_share: share(flat),
        cum_share: share(cum),
        flat_share_text: units::percentage(flat, total).trim().to_string(),
        cum_share_text: units::percentage(cum, total).trim().to_string(),
        cores,
        cores_text: cores.map(format_cores),
    }
}

/// `1.10` cores, `0.047` cores: two decimals, or two significant digits below 0.1.
pub fn format_cores(cores: f64) -> String {
    if cores.abs() >= 0.1 || cores == 0.0 {
        format!("{cores:.2}")
    } else {
        let digits = (-cores.abs().log10().floor()) as usize + 1;
        format!("{cores:.digits$}")
    }
}

/// CPU per unit of work: `cores` of CPU doing `throughput` units a second, as
/// `0.254 ms of CPU per request at 1925.00 requests/s` (three significant digits, in ms,
/// or µs below 0.01 ms).
pub fn cpu_per_unit_text(cores: f64, throughput: &crate::context::Throughput) -> String {
    let millis = cores / throughput.per_second * 1000.0;
    format!(
        "{} of CPU per {} at {:.2} {}/s",
        millis_text(millis),
        throughput.unit_singular(),
        throughput.per_second,
        throughput.unit.trim()
    )
}

/// Milliseconds with three significant digits, in µs below 0.01 ms (`0.254 ms`, `9.60 µs`);
/// `0 µs` for nothing, `0 ms` for a figure that is not finite.
pub fn millis_text(millis: f64) -> String {
    if !millis.is_finite() {
        "0 ms".to_string()
    } else if millis == 0.0 {
        "0 µs".to_string()
    } else if millis >= 0.01 {
        format!("{} ms", significant(millis, 3))
    } else {
        format!("{} µs", significant(millis * 1000.0, 3))
    }
}

/// `value` with `digits` significant digits, without an exponent (`0.254`, `12.3`, `1230`).
fn significant(value: f64, digits: i32) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    format!("{value:.decimals$}")
}

/// The unit pprof would print a table's values in: the smallest non-zero value's unit,
/// moved up when the total is more than 100 times bigger (pprof's selectOutputUnit).
pub fn output_unit(values: impl IntoIterator<Item = i64>, total: i64, unit: &str) -> String {
    let min = values
        .into_iter()
        .map(i64::abs)
        .filter(|v| *v > 0)
        .min()
        .unwrap_or(total.abs());
    let (_, min_unit) = units::scale(min, unit, "minimum");
    let (_, max_unit) = units::scale(total, unit, "minimum");
    let chosen = if min_unit != max_unit && min.saturating_mul(100) < total {
        units::scale(min.saturating_mul(100), unit, "minimum").1
    } else {
        min_unit
    };
    if chosen.is_empty() {
        unit.to_string()
    } else {
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cum_counts_once_per_sample_and_flat_the_leaf() {
        let mut counter = ShareCounter::default();
        counter.add(["a", "b", "a", "c"], 10);
        counter.add(["b"], 5);
        let table = counter.table(15, 10, "count", Some("count"), None);
        let rows: Vec<(&str, i64, i64)> = table
            .rows
            .iter()
            .map(|r| (r.name.as_str(), r.flat, r.cum))
            .collect();
        assert_eq!(rows, [("b", 5, 15), ("a", 10, 10), ("c", 0, 10)]);
        assert_eq!(table.rows[0].cum_share_text, "100%");
        assert_eq!(table.rows[1].cum_share_text, "66.67%");
    }

    #[test]
    fn cores() {
        assert_eq!(format_cores(1.1), "1.10");
        assert_eq!(format_cores(0.047), "0.047");
        assert_eq!(format_cores(0.0), "0.00");
        let row = share_row("x".into(), 0, 50, 100, "count", "count", Some(1.22));
        assert_eq!(row.cores_text.as_deref(), Some("0.61"));
    }

    #[test]
    fn cpu_per_unit_of_work() {
        let per = |rate: f64, unit: &str| crate::context::Throughput {
            per_second: rate,
            unit: unit.to_string(),
        };
        // 0.49 cores at 1925 requests/s: 0.49 / 1925 s = 0.2545 ms.
        assert_eq!(
            cpu_per_unit_text(0.49, &per(1925.0, "requests")),
            "0.255 ms of CPU per request at 1925.00 requests/s"
        );
        // 0.34 cores at 40000 lines/s: 8.5 µs.
        assert_eq!(
            cpu_per_unit_text(0.34, &per(40000.0, "lines")),
            "8.50 µs of CPU per line at 40000.00 lines/s"
        );
        assert_eq!(
            cpu_per_unit_text(2.0, &per(0.5, "batch")),
            "4000 ms of CPU per batch at 0.50 batch/s"
        );
    }
}
