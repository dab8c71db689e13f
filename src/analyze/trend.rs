//! The trend across sets taken in time order: the key figures of each set (from the
//! comparisons of consecutive sets) as rows and series, and what changed beyond noise at each
//! step.

use serde::{Deserialize, Serialize};

use super::compare::{Comparison, DeltaRow, MetricRow, SetFigures};
use crate::units;

/// How a metric's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Already in percent.
    Percent,
    /// Bytes.
    Bytes,
    /// Counts and plain numbers.
    Plain,
}

/// One metric across the sets: a table row and, unless `table_only`, a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Names the chart's file (`cpu` → `cpu.svg`).
    pub id: &'static str,
    /// The metric's name, heading its table row and chart (`CPU (% of one core)`).
    pub name: &'static str,
    /// How the values read, for formatting.
    pub kind: ValueKind,
    /// One value per set, `None` where the set does not have it.
    pub values: Vec<Option<f64>>,
    /// Shown in the table only (the service count is context for the others).
    pub table_only: bool,
}

/// A metric row of the trend table: one formatted value per set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrendMetric {
    /// The metric's name (`heap in use per service`).
    pub name: String,
    /// One value per set, in order: `12.34%`, `1.50MB`, `57`, `109.72`, or `–` where a set has
    /// none.
    pub values: Vec<String>,
}

/// What changed between two consecutive sets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrendStep {
    /// The earlier set's name.
    pub from: String,
    /// The later set's name.
    pub to: String,
    /// The key metrics of the comparison of the two, as in [`Comparison::metrics`].
    pub metrics: Vec<MetricRow>,
    /// The largest significant CPU changes by function.
    pub functions: Vec<DeltaRow>,
}

/// Each set's figures, in order, from the comparisons of consecutive sets: the first set's
/// from the first comparison's "before", the others' from each "after".
pub fn figures(comparisons: &[Comparison]) -> Vec<&SetFigures> {
    comparisons
        .first()
        .map(|first| &first.before)
        .into_iter()
        .chain(comparisons.iter().map(|c| &c.after))
        .collect()
}

/// The key metrics across the sets.
pub fn series(figures: &[&SetFigures]) -> Vec<Series> {
    type Extract = fn(&SetFigures) -> Option<f64>;
    let rows: [(&'static str, &'static str, Extract, ValueKind); 6] = [
        (
            "cpu",
            "CPU (% of one core)",
            |f| f.cpu_percent,
            ValueKind::Percent,
        ),
        (
            "cpu-per-service",
            "CPU per service (%)",
            |f| per_service(f.cpu_percent, f.services),
            ValueKind::Percent,
        ),
        ("services", "services", |f| f.services, ValueKind::Plain),
        (
            "goroutines",
            "goroutines",
            |f| f.goroutines,
            ValueKind::Plain,
        ),
        ("heap", "heap in use", |f| f.heap_inuse, ValueKind::Bytes),
        (
            "heap-per-service",
            "heap in use per service",
            |f| per_service(f.heap_inuse, f.services),
            ValueKind::Bytes,
        ),
    ];
    rows.into_iter()
        .map(|(id, name, extract, kind)| Series {
            id,
            name,
            kind,
            values: figures.iter().map(|f| extract(f)).collect(),
            table_only: id == "services",
        })
        .collect()
}

/// A value per service, where the service count is known.
fn per_service(value: Option<f64>, services: Option<f64>) -> Option<f64> {
    match (value, services) {
        (Some(v), Some(s)) if s > 0.0 => Some(v / s),
        _ => None,
    }
}

/// The table rows of the series, values formatted (`–` where a set has none).
pub fn metrics(series: &[Series]) -> Vec<TrendMetric> {
    series
        .iter()
        .map(|s| TrendMetric {
            name: s.name.to_string(),
            values: s.values.iter().map(|v| format_value(*v, s.kind)).collect(),
        })
        .collect()
}

fn format_value(value: Option<f64>, kind: ValueKind) -> String {
    match (value, kind) {
        (None, _) => "–".to_string(),
        (Some(v), ValueKind::Percent) => format!("{v:.2}%"),
        (Some(v), ValueKind::Bytes) => units::label(v as i64, "bytes"),
        (Some(v), ValueKind::Plain) => {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            }
        }
    }
}

/// What changed at each step; `names` are the sets' names in order.
pub fn steps(comparisons: &[Comparison], names: &[String]) -> Vec<TrendStep> {
    comparisons
        .iter()
        .zip(names.windows(2))
        .map(|(c, pair)| TrendStep {
            from: pair[0].clone(),
            to: pair[1].clone(),
            metrics: c.metrics.clone(),
            functions: c
                .deltas
                .iter()
                .find(|t| t.sample_index == "cpu")
                .map(|t| t.rows.iter().filter(|r| r.significant).cloned().collect())
                .unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_format_by_kind() {
        assert_eq!(format_value(None, ValueKind::Plain), "–");
        assert_eq!(format_value(Some(12.5), ValueKind::Percent), "12.50%");
        assert_eq!(format_value(Some(3.0), ValueKind::Plain), "3");
        assert_eq!(format_value(Some(2.5), ValueKind::Plain), "2.50");
        assert_eq!(format_value(Some(2048.0), ValueKind::Bytes), "2kB");
    }
}
