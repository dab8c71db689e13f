//! Goroutine totals of every source side by side, and the count per declared service
//! against its expectation.

use super::grouping::sample_value;
use super::{
    Expectation, GoroutineInput, GoroutineSource, GoroutineTotals, PerService, TotalRow,
    number_text,
};
use crate::timefmt;

pub(super) fn totals(input: &GoroutineInput) -> GoroutineTotals {
    struct Raw {
        source: GoroutineSource,
        header: Option<u64>,
        stacks: u64,
        time: Option<i64>,
    }
    let mut raw = Vec::new();
    if let Some(profile) = input.profile {
        raw.push(Raw {
            source: GoroutineSource::Protobuf,
            header: None,
            stacks: profile.samples().map(|s| sample_value(profile, s)).sum(),
            time: (profile.time_nanos != 0).then_some(profile.time_nanos),
        });
    }
    if let Some(dump) = input.debug2 {
        raw.push(Raw {
            source: GoroutineSource::Debug2,
            header: dump.header_total,
            stacks: dump.total(),
            time: None,
        });
    }
    if let Some(dump) = input.debug1 {
        raw.push(Raw {
            source: GoroutineSource::Debug1,
            header: dump.header_total,
            stacks: dump.total(),
            time: None,
        });
    }
    let count = |r: &Raw| r.header.unwrap_or(r.stacks);
    let (total, source) = raw
        .first()
        .map_or((0, GoroutineSource::Protobuf), |r| (count(r), r.source));
    let rows: Vec<TotalRow> = raw
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let goroutines = count(r);
            let difference = goroutines as i64 - total as i64;
            TotalRow {
                source: r.source,
                source_text: r.source.text().to_string(),
                goroutines,
                header_total: r.header,
                stacks_total: r.stacks,
                difference,
                difference_text: if i == 0 {
                    // The first source is what the others differ from: the dash every other
                    // empty cell of the report shows.
                    "–".to_string()
                } else {
                    format!(
                        "{difference:+} ({:+.2}%)",
                        if total == 0 {
                            0.0
                        } else {
                            difference as f64 / total as f64 * 100.0
                        }
                    )
                },
                time_nanos: r.time,
                time_text: r.time.map(timefmt::report_time),
            }
        })
        .collect();
    let consistent = rows
        .iter()
        .all(|r| r.goroutines == total && r.header_total.is_none_or(|h| h == r.stacks_total));
    let note = (!consistent).then(|| {
        let mut parts: Vec<String> = rows
            .iter()
            .map(|r| match &r.time_text {
                Some(time) => format!("{} in the {} ({time})", r.goroutines, r.source_text),
                None => format!("{} in the {}", r.goroutines, r.source_text),
            })
            .collect();
        let mut note = parts.remove(0);
        for part in parts {
            note.push_str(", ");
            note.push_str(&part);
        }
        note.push_str(": the profiles are taken moments apart, and goroutines come and go");
        for r in &rows {
            if let Some(header) = r.header_total.filter(|&h| h != r.stacks_total) {
                note.push_str(&format!(
                    "; the {} header says {header} but its stacks hold {} (truncated dump?)",
                    r.source_text, r.stacks_total
                ));
            }
        }
        note
    });
    GoroutineTotals {
        total,
        source,
        source_text: source.text().to_string(),
        rows,
        consistent,
        note,
    }
}

pub(super) fn per_service(total: u64, input: &GoroutineInput) -> Option<PerService> {
    let services = input.services.filter(|&s| s > 0)?;
    let per = total as f64 / f64::from(services);
    let expected = input
        .expected_per_service
        .filter(|(min, max)| min.is_finite() && max.is_finite() && min <= max);
    let expected_text = expected.map(|(min, max)| {
        if min == max {
            number_text(min)
        } else {
            format!("{}–{}", number_text(min), number_text(max))
        }
    });
    let (verdict, verdict_text) = match (expected, &expected_text) {
        (Some((min, max)), Some(text)) => {
            if per > max {
                let ratio = if max > 0.0 {
                    format!(" ({}× the upper bound)", number_text(per / max))
                } else {
                    String::new()
                };
                (
                    Expectation::Above,
                    format!("above the expected {text}{ratio}"),
                )
            } else if per < min {
                (Expectation::Below, format!("below the expected {text}"))
            } else {
                (Expectation::Within, format!("within the expected {text}"))
            }
        }
        _ => (
            Expectation::NoExpectation,
            "no expectation given".to_string(),
        ),
    };
    Some(PerService {
        services,
        goroutines: total,
        per_service: per,
        per_service_text: number_text(per),
        expected_min: expected.map(|e| e.0),
        expected_max: expected.map(|e| e.1),
        expected_text,
        verdict,
        verdict_text,
    })
}
