//! The text of a top report: items, header labels and the output unit, as pprof prints them.

use super::graph::{Built, Nodes};
use super::merge::Header;
use super::{Shaped, TopItem, TopOptions, TopReport};
use crate::profile::{Profile, ValueType};
use crate::{timefmt, units};

/// The report lines and header of one shaped view, as pprof prints them.
#[allow(clippy::too_many_arguments)]
pub(super) fn format_report(
    profile: &Profile,
    header: &Header,
    nodes: &Nodes,
    view: Shaped,
    inline_labels: &[&str],
    total: i64,
    index: usize,
    options: &TopOptions,
) -> TopReport {
    let current = view.current;
    let (dropped_nodes, node_total) = (view.dropped_nodes, view.node_total);
    let sample_type = profile.sample_types[index].clone();
    let output_unit = select_output_unit(&current, total, &sample_type.unit);
    let format = |v: i64| units::scaled_label(v, &sample_type.unit, &output_unit);

    let mut items = Vec::with_capacity(current.nodes.len());
    let mut flat_sum = 0i64;
    for (position, &n) in current.nodes.iter().enumerate() {
        let (flat, cum) = (current.flat[n as usize], current.cum[n as usize]);
        flat_sum += flat;
        items.push(TopItem {
            name: nodes.printable_name(n).to_string(),
            inline_label: inline_labels[position].to_string(),
            flat,
            cum,
            flat_sum,
            flat_text: format(flat),
            cum_text: format(cum),
            flat_percent: units::percentage(flat, total),
            sum_percent: units::percentage(flat_sum, total),
            cum_percent: units::percentage(cum, total),
        });
    }

    let mut labels = profile_labels(header, &sample_type, total, &format);
    labels.extend(active_filters(options));
    labels.push(format!(
        "Showing nodes accounting for {}, {} of {} total",
        format(flat_sum),
        units::percentage(flat_sum, total).trim(),
        format(total)
    ));
    if total != 0 {
        if dropped_nodes > 0 {
            let cutoff = ((total as f64 * options.node_fraction) as i64).abs();
            let noun = if dropped_nodes > 1 { "nodes" } else { "node" };
            labels.push(format!(
                "Dropped {dropped_nodes} {noun} (cum <= {})",
                format(cutoff)
            ));
        }
        if !items.is_empty() && items.len() < node_total {
            labels.push(format!(
                "Showing top {} nodes out of {node_total}",
                items.len()
            ));
        }
    }

    let total_text = format(total);
    let shown_flat_text = format(flat_sum);
    TopReport {
        labels,
        sample_type: sample_type.kind.clone(),
        sample_unit: sample_type.unit.clone(),
        total_text,
        output_unit,
        total,
        shown_flat: flat_sum,
        shown_flat_text,
        shown_percent_text: units::percentage(flat_sum, total).trim().to_string(),
        dropped_nodes,
        node_total,
        items,
        name_matches: Default::default(),
    }
}

/// pprof's legendActiveFilters: a heading and each filter as `name=value`, cut after 80
/// bytes (pprof cuts bytes; a cut inside a character is moved back to its start here).
fn active_filters(options: &TopOptions) -> Vec<String> {
    let names = [
        ("focus", &options.focus),
        ("ignore", &options.ignore),
        ("hide", &options.hide),
        ("show", &options.show),
    ]
    .into_iter()
    .filter_map(|(name, filter)| filter.as_ref().map(|f| format!("{name}={}", f.text())));
    let tags = [
        ("tagfocus", &options.tag_focus),
        ("tagignore", &options.tag_ignore),
    ]
    .into_iter()
    .filter_map(|(name, filter)| filter.as_ref().map(|f| format!("{name}={}", f.text())));
    let filters: Vec<String> = names.chain(tags).collect();
    if filters.is_empty() {
        return Vec::new();
    }
    std::iter::once("Active filters:".to_string())
        .chain(filters.into_iter().map(|filter| {
            if filter.len() > 80 {
                let mut cut = 80;
                while !filter.is_char_boundary(cut) {
                    cut -= 1;
                }
                format!("   {}…", &filter[..cut])
            } else {
                format!("   {filter}")
            }
        }))
        .collect()
}

/// pprof's selectOutputUnit for `-unit=minimum`: the unit of the smallest non-zero value,
/// moved up when the largest value is more than 100 times bigger.
fn select_output_unit(graph: &Built, total: i64, sample_unit: &str) -> String {
    if graph.nodes.is_empty() {
        return "minimum".to_string();
    }
    let mut min_value = 0i64;
    for &n in &graph.nodes {
        let mut node_min = graph.flat[n as usize].abs();
        if node_min == 0 {
            node_min = graph.cum[n as usize].abs();
        }
        if node_min > 0 && (min_value == 0 || node_min < min_value) {
            min_value = node_min;
        }
    }
    let max_value = total;
    if min_value == 0 {
        min_value = max_value;
    }
    let (_, min_unit) = units::scale(min_value, sample_unit, "minimum");
    let (_, max_unit) = units::scale(max_value, sample_unit, "minimum");
    let mut unit = min_unit.clone();
    if min_unit != max_unit && min_value.wrapping_mul(100) < max_value {
        unit = units::scale(min_value.wrapping_mul(100), sample_unit, "minimum").1;
    }
    if unit.is_empty() {
        sample_unit.to_string()
    } else {
        unit
    }
}

/// pprof's ProfileLabels: File, Build ID, comments, Type, Time, Duration.
fn profile_labels(
    header: &Header,
    sample_type: &ValueType,
    total: i64,
    format: &dyn Fn(i64) -> String,
) -> Vec<String> {
    let mut labels = Vec::new();
    if let Some(file) = &header.main_file {
        labels.push(format!("File: {file}"));
    }
    if !header.build_id.is_empty() {
        labels.push(format!("Build ID: {}", header.build_id));
    }
    for comment in &header.comments {
        if !comment.starts_with('#') {
            labels.push(comment.clone());
        }
    }
    labels.push(format!("Type: {}", sample_type.kind));
    if header.time_nanos != 0 {
        labels.push(format!("Time: {}", timefmt::pprof_time(header.time_nanos)));
    }
    if header.duration_nanos != 0 {
        let duration = units::label(header.duration_nanos, "nanoseconds");
        let (total_nanos, total_unit) = units::scale(total, &sample_type.unit, "nanoseconds");
        let ratio = if total_unit == "ns" && total_nanos != 0.0 {
            format!(
                "({})",
                units::percentage(total_nanos as i64, header.duration_nanos)
            )
        } else {
            String::new()
        };
        labels.push(format!(
            "Duration: {duration}, Total samples = {} {ratio}",
            format(total)
        ));
    }
    labels
}
