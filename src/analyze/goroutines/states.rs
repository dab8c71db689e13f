//! `debug=2` only: goroutine states and wait-time buckets; the leak check reads the same
//! pass's threshold (see `leaks`).

use std::collections::BTreeMap;

use super::grouping::{Grouping, count_state};
use super::leaks::leaks;
use super::{GoroutineOptions, StateAnalysis, StateRow, WaitBucket, number_text, percent_text};
use crate::dump::GoroutineDump;

pub(super) fn states(
    dump: &GoroutineDump,
    grouping: &Grouping,
    uptime_seconds: Option<f64>,
    options: &GoroutineOptions,
) -> StateAnalysis {
    let goroutines = dump.goroutines.len() as u64;
    let mut by_state: BTreeMap<String, u64> = BTreeMap::new();
    // Bucket bounds in minutes: [0,1), [1,10), [10,60), [60,∞). The runtime prints waits
    // only from one minute on, so a goroutine without one is in the first bucket.
    const BOUNDS: [(u64, Option<u64>, &str); 4] = [
        (0, Some(1), "< 1 min"),
        (1, Some(10), "1–10 min"),
        (10, Some(60), "10–60 min"),
        (60, None, "≥ 60 min"),
    ];
    let mut buckets = [0u64; 4];
    let mut locked = 0;
    let uptime = uptime_seconds.filter(|u| u.is_finite() && *u > 0.0);
    let threshold = match uptime {
        Some(seconds) => {
            let minutes = (options.leak_uptime_fraction * seconds / 60.0).ceil();
            (minutes.max(1.0)) as u64
        }
        None => options.leak_minutes_without_uptime.max(1),
    };
    for goroutine in &dump.goroutines {
        count_state(&mut by_state, &goroutine.state);
        locked += u64::from(goroutine.locked_to_thread);
        let wait = goroutine.wait_minutes.map_or(0, u64::from);
        let bucket = BOUNDS
            .iter()
            .position(|(_, max, _)| max.is_none_or(|m| wait < m))
            .unwrap_or(BOUNDS.len() - 1);
        buckets[bucket] += 1;
    }
    let mut states: Vec<StateRow> = by_state
        .into_iter()
        .map(|(state, count)| StateRow {
            share_text: percent_text(count, goroutines),
            state,
            goroutines: count,
        })
        .collect();
    states.sort_by(|a, b| b.goroutines.cmp(&a.goroutines).then(a.state.cmp(&b.state)));
    let wait_buckets = BOUNDS
        .iter()
        .zip(buckets)
        .map(|(&(min, max, label), count)| WaitBucket {
            label: label.to_string(),
            min_minutes: min,
            max_minutes: max,
            goroutines: count,
            share_text: percent_text(count, goroutines),
        })
        .collect();
    let leaks = leaks(dump, grouping, threshold, options);
    StateAnalysis {
        goroutines,
        states,
        wait_buckets,
        locked_to_thread: locked,
        leak_threshold_minutes: threshold,
        leak_threshold_text: match uptime {
            Some(seconds) => format!(
                "≥ {threshold} min ({}% of the {} min uptime)",
                number_text(options.leak_uptime_fraction * 100.0),
                number_text(seconds / 60.0)
            ),
            None => format!("≥ {threshold} min (uptime unknown)"),
        },
        in_flight: leaks.in_flight,
        leak_size_floor: leaks.floor,
        leak_size_text: leaks.floor_text,
        leak_suspects: leaks.suspects,
        blocked_not_suspect_groups: leaks.other_groups,
        blocked_not_suspect_goroutines: leaks.other_goroutines,
        proved_leaks: leaks.proved,
        proved_leaked: leaks.proved_total,
    }
}
