//! Calendar arithmetic and the few time formats the tool prints, all in UTC (no time-zone
//! database: output must not depend on the machine it runs on).

/// A UTC calendar time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    /// The year, e.g. `2025`.
    pub year: i64,
    /// Month of the year, 1–12.
    pub month: i64,
    /// Day of the month, 1–31.
    pub day: i64,
    /// Hour of the day, 0–23.
    pub hour: i64,
    /// Minute of the hour, 0–59.
    pub minute: i64,
    /// Second of the minute, 0–59 (no leap seconds).
    pub second: i64,
}

impl UtcTime {
    /// The calendar time of seconds since 1970-01-01T00:00:00Z (negative: before it).
    pub fn from_unix_seconds(seconds: i64) -> UtcTime {
        let days = seconds.div_euclid(86_400);
        let of_day = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        UtcTime {
            year,
            month,
            day,
            hour: of_day / 3600,
            minute: (of_day % 3600) / 60,
            second: of_day % 60,
        }
    }

    /// Now, from the system clock.
    pub fn now() -> UtcTime {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        UtcTime::from_unix_seconds(seconds)
    }

    /// Reads `20251015-210532` back.
    pub fn parse_compact(text: &str) -> Option<UtcTime> {
        let (date, time) = text.split_once('-')?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(date, 8) || !digits(time, 6) {
            return None;
        }
        let number = |s: &str| s.parse::<i64>().ok();
        let t = UtcTime {
            year: number(&date[..4])?,
            month: number(&date[4..6])?,
            day: number(&date[6..])?,
            hour: number(&time[..2])?,
            minute: number(&time[2..4])?,
            second: number(&time[4..])?,
        };
        let valid = (1..=12).contains(&t.month)
            && (1..=31).contains(&t.day)
            && t.hour < 24
            && t.minute < 60
            && t.second < 60;
        valid.then_some(t)
    }

    /// `20251015-210532`, as in profile set names.
    pub fn compact(&self) -> String {
        format!(
            "{:04}{:02}{:02}-{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `2025-10-15T21:05:32Z`.
    pub fn iso(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// The report's own form of a time, with its zone: `2025-10-16 01:05:32 UTC`.
pub fn report_time(nanos: i64) -> String {
    let t = UtcTime::from_unix_seconds(nanos.div_euclid(1_000_000_000));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// An ISO 8601 time from a context (`2026-11-25T14:57:00Z`, `2026-11-25T14:57:00+02:00`) in
/// the report's form (`2026-11-25 14:57:00 UTC`, `2026-11-25 14:57:00 UTC+02:00`); a text
/// of another form as it is, with `(zone not stated)` when nothing in it names a zone.
pub fn report_iso_time(text: &str) -> String {
    let text = text.trim();
    let Some((date, time)) = text.split_once(['T', ' ']) else {
        return format!("{text} (zone not stated)");
    };
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return format!("{date} {clock} UTC");
    }
    if let Some(at) = time.rfind(['+', '-']) {
        let (clock, offset) = time.split_at(at);
        return format!("{date} {clock} UTC{offset}");
    }
    if time.ends_with("UTC") {
        return format!("{date} {time}");
    }
    format!("{date} {time} (zone not stated)")
}

/// Go's `Format("Jan 2, 2006 at 3:04pm (MST)")` in UTC, as pprof prints `Time:`.
pub fn pprof_time(nanos: i64) -> String {
    let t = UtcTime::from_unix_seconds(nanos.div_euclid(1_000_000_000));
    let (hour12, meridian) = match t.hour {
        0 => (12, "am"),
        1..=11 => (t.hour, "am"),
        12 => (12, "pm"),
        _ => (t.hour - 12, "pm"),
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[(t.month as usize).saturating_sub(1).min(11)];
    format!(
        "{month} {}, {} at {hour12}:{:02}{meridian} (UTC)",
        t.day, t.year, t.minute
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        // The real set's cpu profile: Oct 16, 2025 at 1:05am (UTC).
        let t = UtcTime::from_unix_seconds(1_760_576_732);
        assert_eq!(t.compact(), "20251016-010532");
        assert_eq!(t.iso(), "2025-10-16T01:05:32Z");
        assert_eq!(
            pprof_time(1_760_576_732_000_000_000),
            "Oct 16, 2025 at 1:05am (UTC)"
        );
        assert_eq!(pprof_time(0), "Jan 1, 1970 at 12:00am (UTC)");
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(UtcTime::parse_compact("20251016-010532"), Some(t));
        assert_eq!(UtcTime::parse_compact("20251316-010532"), None);
        assert_eq!(UtcTime::parse_compact("2025101-010532"), None);
        assert_eq!(
            report_time(1_760_576_732_000_000_000),
            "2025-10-16 01:05:32 UTC"
        );
        assert_eq!(
            report_iso_time("2026-11-25T14:57:00Z"),
            "2026-11-25 14:57:00 UTC"
        );
        assert_eq!(
            report_iso_time("2026-11-25T14:57:00-04:00"),
            "2026-11-25 14:57:00 UTC-04:00"
        );
        assert_eq!(
            report_iso_time("2025-10-15 21:05:32"),
            "2025-10-15 21:05:32 (zone not stated)"
        );
        assert_eq!(report_iso_time("yesterday"), "yesterday (zone not stated)");
    }
}
