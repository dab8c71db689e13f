//! Unit scaling and number formatting exactly as google/pprof's `internal/measurement` does
//! them, so that every number we print can be checked against `go tool pprof`.

struct Unit {
    canonical: &'static str,
    aliases: &'static [&'static str],
    factor: f64,
}

struct UnitType {
    default: &'static str,
    default_factor: f64,
    units: &'static [Unit],
}

const UNIT_TYPES: &[UnitType] = &[
    UnitType {
        default: "B",
        default_factor: 1.0,
        units: &[
            Unit {
                canonical: "B",
                aliases: &["b", "byte"],
                factor: 1.0,
            },
            Unit {
                canonical: "kB",
                aliases: &["kb", "kbyte", "kilobyte"],
                factor: 1024.0,
            },
            Unit {
                canonical: "MB",
                aliases: &["mb", "mbyte", "megabyte"],
                factor: 1048576.0,
            },
            Unit {
                canonical: "GB",
                aliases: &["gb", "gbyte", "gigabyte"],
                factor: 1073741824.0,
            },
            Unit {
                canonical: "TB",
                aliases: &["tb", "tbyte", "terabyte"],
                factor: 1099511627776.0,
            },
            Unit {
                canonical: "PB",
                aliases: &["pb", "pbyte", "petabyte"],
                factor: 1125899906842624.0,
            },
        ],
    },
    UnitType {
        default: "s",
        default_factor: 1e9,
        units: &[
            Unit {
                canonical: "ns",
                aliases: &["ns", "nanosecond"],
                factor: 1.0,
            },
            Unit {
                canonical: "us",
                aliases: &["μs", "us", "microsecond"],
                factor: 1e3,
            },
            Unit {
                canonical: "ms",
                aliases: &["ms", "millisecond"],
                factor: 1e6,
            },
            Unit {
                canonical: "s",
                aliases: &["s", "sec", "second"],
                factor: 1e9,
            },
            Unit {
                canonical: "hrs",
                aliases: &["hour", "hr"],
                factor: 3.6e12,
            },
        ],
    },
    UnitType {
        default: "GCU",
        default_factor: 1.0,
        units: &[
            Unit {
                canonical: "n*GCU",
                aliases: &["nanogcu"],
                factor: 1e-9,
            },
            Unit {
                canonical: "u*GCU",
                aliases: &["microgcu"],
                factor: 1e-6,
            },
            Unit {
                canonical: "m*GCU",
                aliases: &["milligcu"],
                factor: 1e-3,
            },
            Unit {
                canonical: "GCU",
                aliases: &["gcu"],
                factor: 1.0,
            },
            Unit {
                canonical: "k*GCU",
                aliases: &["kilogcu"],
                factor: 1e3,
            },
            Unit {
                canonical: "M*GCU",
                aliases: &["megagcu"],
                factor: 1e6,
            },
            Unit {
                canonical: "G*GCU",
                aliases: &["gigagcu"],
                factor: 1e9,
            },
            Unit {
                canonical: "T*GCU",
                aliases: &["teragcu"],
                factor: 1e12,
            },
            Unit {
                canonical: "P*GCU",
                aliases: &["petagcu"],
                factor: 1e15,
            },
        ],
    },
];

impl UnitType {
    /// pprof's sniffUnit: lower-case, and drop a plural `s` from names longer than two bytes
    /// (bytes, as Go counts them: `μs` loses its `s` there too).
    fn sniff(&self, unit: &str) -> Option<&Unit> {
        let lower = unit.to_lowercase();
        let name = if lower.len() > 2 {
            lower.strip_suffix('s').unwrap_or(&lower)
        } else {
            &lower
        };
        self.units.iter().find(|u| u.aliases.contains(&name))
    }

    fn auto_scale(&self, value: f64) -> Option<(f64, &'static str)> {
        let mut best: Option<&Unit> = None;
        for u in self.units {
            if u.factor >= best.map_or(0.0, |b| b.factor) && value / u.factor >= 1.0 {
                best = Some(u);
            }
        }
        best.map(|u| (value / u.factor, u.canonical))
    }

    fn convert(&self, value: i64, from: &str, to: &str) -> Option<(f64, String)> {
        let from_unit = self.sniff(from)?;
        let v = value as f64 * from_unit.factor;
        if to == "minimum" || to == "auto" {
            if let Some((scaled, unit)) = self.auto_scale(v) {
                return Some((scaled, unit.to_string()));
            }
            return Some((v / self.default_factor, self.default.to_string()));
        }
        Some(match self.sniff(to) {
            Some(to_unit) => (v / to_unit.factor, to_unit.canonical.to_string()),
            None => (v / self.default_factor, self.default.to_string()),
        })
    }
}

/// pprof's `measurement.Scale`: the value converted from one unit to another ("auto" and
/// "minimum" pick a readable unit), and the unit to print ("" when not worth printing).
pub fn scale(value: i64, from: &str, to: &str) -> (f64, String) {
    if value < 0 && value != i64::MIN {
        let (v, u) = scale(-value, from, to);
        return (-v, u);
    }
    for unit_type in UNIT_TYPES {
        if let Some(result) = unit_type.convert(value, from, to) {
            return result;
        }
    }
    match to {
        "count" | "sample" | "unit" | "minimum" | "auto" => (value as f64, String::new()),
        _ => (value as f64, to.to_string()),
    }
}

/// pprof's `measurement.ScaledLabel`: `1.50MB`, `65.58s`, `0`.
pub fn scaled_label(value: i64, from: &str, to: &str) -> String {
    let (v, unit) = scale(value, from, to);
    let text = format!("{v:.2}");
    let text = text.strip_suffix(".00").unwrap_or(&text);
    if text == "0" || text == "-0" {
        return "0".to_string();
    }
    format!("{text}{unit}")
}

/// pprof's `measurement.Label`: a value in its most readable unit.
pub fn label(value: i64, unit: &str) -> String {
    scaled_label(value, unit, "auto")
}

/// pprof's `measurement.Percentage`: width 5, two decimals from 1% up, two significant
/// digits below (`0.096%`, `0.0043%`), and `  100%` near 100.
pub fn percentage(value: i64, total: i64) -> String {
    let ratio = if total != 0 {
        (value as f64 / total as f64).abs() * 100.0
    } else {
        0.0
    };
    if (99.95..=100.05).contains(&ratio) {
        "  100%".to_string()
    } else if ratio >= 1.0 {
        format!("{ratio:5.2}%")
    } else {
        format!("{:>5}%", format_g2(ratio))
    }
}

/// Go's `%.2g`: two significant digits, trailing zeros removed, exponent form when the
/// exponent is below -4 or at least 2.
fn format_g2(value: f64) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    // Rust's `{:e}` rounds like Go's strconv (exact decimal, ties to even).
    let sci = format!("{value:.1e}");
    let (mantissa, exponent) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    if !(-4..2).contains(&exponent) {
        let mantissa = trim_fraction_zeros(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    let decimals = (1 - exponent).max(0) as usize;
    trim_fraction_zeros(&format!("{value:.decimals$}")).to_string()
}

fn trim_fraction_zeros(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_match_pprof() {
        assert_eq!(percentage(6558, 7279), "90.09%");
        assert_eq!(percentage(7, 7279), "0.096%");
        assert_eq!(percentage(0, 7279), "    0%");
        assert_eq!(percentage(6252, 6254), "  100%");
        assert_eq!(percentage(1, 100000), "0.001%");
        assert_eq!(percentage(1, 10000000), "1e-05%");
        assert_eq!(percentage(12, 1000000), "0.0012%");
        assert_eq!(percentage(60, 100), "60.00%");
        assert_eq!(percentage(5, 10000), " 0.05%");
        assert_eq!(percentage(0, 0), "    0%");
    }

    #[test]
    fn labels_match_pprof() {
        assert_eq!(scaled_label(65_580_000_000, "nanoseconds", "s"), "65.58s");
        assert_eq!(scaled_label(0, "nanoseconds", "s"), "0");
        assert_eq!(scaled_label(1_500_000, "bytes", "MB"), "1.43MB");
        assert_eq!(scaled_label(2 << 20, "bytes", "MB"), "2MB");
        assert_eq!(scaled_label(6252, "count", "minimum"), "6252");
        assert_eq!(label(60_000_000_000, "nanoseconds"), "60s");
        assert_eq!(label(3_600_000_000_000, "nanoseconds"), "1hrs");
        assert_eq!(scaled_label(-1_000_000, "nanoseconds", "ms"), "-1ms");
    }

    #[test]
    fn scale_picks_pprof_units() {
        assert_eq!(scale(1, "bytes", "minimum").1, "B");
        assert_eq!(scale(2048, "bytes", "minimum").1, "kB");
        assert_eq!(scale(10_000_000, "nanoseconds", "minimum").1, "ms");
        assert_eq!(scale(5, "count", "minimum").1, "");
        assert_eq!(scale(5, "count", "nanoseconds").1, "nanoseconds");
        assert_eq!(scale(5, "contentions", "minimum").1, "");
    }
}
