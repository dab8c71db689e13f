//! The YAML context of a profile set: what the profiles cannot say (host, how many services
//! the process runs, process stats, expectations). `collect` writes it; people write it by
//! hand too, so every field is optional, sizes and durations take human forms (`2.8GB`,
//! `7m50s`), and an unknown field or a wrong type is an error that names the line.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The context of a profile set: the YAML mapping of `<prefix>-context.yaml` (or of
/// `--context FILE`), which templates read as `context`. Every field is optional (`None` when
/// the file does not give it); an unknown field is an error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// The machine the process ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The program, e.g. `tsnsrv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// How many services (instances, nodes) the one process runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<u32>,
    /// When the set was collected, ISO 8601 (`2025-10-15T21:05:32Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected_at: Option<String>,
    /// The /debug/pprof base URL the set came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Length of the CPU profile that was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_profile: Option<HumanDuration>,
    /// What `ps` or /proc says about the process: the mapping under `process:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessStats>,
    /// What the process should need: the mapping under `expectations:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expectations: Option<Expectations>,
    /// Free text carried into the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The recommendations applied since the set this one is compared with, by rule id
    /// (`changes: [portlist-polling]`): `compare` measures the predicted saving of these
    /// only, and calls the others not applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    /// The work the process did while the set was collected (`throughput: {per_second: 1925,
    /// unit: requests}`): the report gives CPU and allocation per unit of work, and `compare`
    /// compares per unit when both sets have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Throughput>,
}

/// Work done per second while the set was collected (the `throughput:` mapping).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throughput {
    /// Units of work per second, above 0 (`per_second: 1925.5`).
    #[serde(deserialize_with = "positive_rate")]
    pub per_second: f64,
    /// What one unit is, a plural noun (`requests`, `messages`, `writes`, `lines`); default
    /// `requests`.
    #[serde(default = "default_unit")]
    pub unit: String,
}

fn default_unit() -> String {
    "requests".to_string()
}

fn positive_rate<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let rate = f64::deserialize(deserializer)?;
    if rate.is_finite() && rate > 0.0 {
        Ok(rate)
    } else {
        Err(serde::de::Error::custom(format!(
            "per_second must be a number above 0, not {rate}"
        )))
    }
}

impl Throughput {
    /// The unit in the singular, for "per request": a trailing `s` dropped.
    pub fn unit_singular(&self) -> &str {
        let unit = self.unit.trim();
        unit.strip_suffix('s')
            .filter(|u| !u.is_empty())
            .unwrap_or(unit)
    }
}

/// What `ps` or /proc says about the process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessStats {
    /// The process id, a number (`pid: 3123363`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// CPU use in percent of one core (`122` = 1.22 cores): over the CPU profile's window when
    /// collect measured it, else what ps printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    /// CPU time over uptime in percent, as `ps` computes its %CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent_lifetime: Option<f64>,
    /// Resident set size, a size such as `2.8GB`, `2808240KiB` or a number of bytes
    /// ([`ByteSize`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss: Option<ByteSize>,
    /// Virtual memory size, in the same forms as `rss` (`vsz: 14GB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vsz: Option<ByteSize>,
    /// Threads of the process, a number (`threads: 40`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
    /// CPUs the process may run on (its affinity; `cpus: 8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<u32>,
    /// Its cgroup's CPU quota in cores (`cpu_quota: 1.5`); absent when unlimited. Go 1.25+
    /// sets GOMAXPROCS from it; older Go uses the CPU count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<f64>,
    /// The Go version the executable was built with (`go_version: go1.24.3`), from its build
    /// information (/proc/PID/exe); absent for a binary from before Go 1.18 or not Go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_version: Option<String>,
    /// GOMAXPROCS set in the process's environment (`gomaxprocs: 8`); absent when the
    /// environment does not set it, and the runtime chooses (the CPU quota since Go 1.25,
    /// the CPUs before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gomaxprocs: Option<u32>,
    /// The GODEBUG settings that decide GOMAXPROCS in effect, from the build's default and
    /// the environment (`godebug: containermaxprocs=0`: Go 1.25+ ignores the quota, as it
    /// does by default for a main module whose go.mod says an older go).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub godebug: Option<String>,
    /// How long the process had been running at collection time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime: Option<HumanDuration>,
    /// Cumulative CPU time (user + system), the TIME column of ps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_time: Option<HumanDuration>,
    /// The command line, its words separated by spaces
    /// (`command: /usr/bin/tsnsrv -config=/etc/tsnsrv.yaml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// `(major, minor)` of a Go version string (`go1.24.3` → `(1, 24)`, `go1.21rc2` → `(1, 21)`);
/// `None` for `devel …` and anything else.
pub fn go_release(version: &str) -> Option<(u32, u32)> {
    let rest = version.strip_prefix("go")?;
    let mut parts = rest.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    Some((major, minor.parse().ok()?))
}

/// The value of `key` in a GODEBUG list (`a=1,b=0`), the last one winning as in the runtime.
pub fn godebug_value<'a>(godebug: &'a str, key: &str) -> Option<&'a str> {
    godebug
        .split(',')
        .filter_map(|kv| kv.trim().split_once('='))
        .rfind(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// What the process is expected to need, for the report to hold the measurements against
/// (the `expectations:` mapping).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Goroutines one service should need, e.g. `2-5` or `100`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goroutines_per_service: Option<Range>,
}

/// Why a context cannot be used; the message does not name the file (the caller does).
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The file cannot be read: why, in words.
    #[error("{0}")]
    Read(String),
    /// The YAML does not parse into a context (`line 3 column 1: unknown field …`), or a
    /// context cannot be written as YAML ([`Context::to_yaml`]).
    #[error("{0}")]
    Parse(String),
}

impl Context {
    /// Parses context YAML. Errors read `line 3 column 1: unknown field `hots`, expected …`.
    pub fn parse(text: &str) -> Result<Context, ContextError> {
        if text.trim().is_empty() {
            return Ok(Context::default());
        }
        yaml_serde::from_str(text).map_err(|e| ContextError::Parse(describe_yaml_error(&e)))
    }

    /// Reads and parses a context file; an empty file is an empty context.
    pub fn load(path: &Path) -> Result<Context, ContextError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ContextError::Read(crate::text::describe_io(&e)))?;
        Context::parse(&text)
    }

    /// The YAML text, with a header comment that says what wrote it.
    pub fn to_yaml(&self, header: &str) -> Result<String, ContextError> {
        let body = yaml_serde::to_string(self).map_err(|e| ContextError::Parse(e.to_string()))?;
        let mut out = String::new();
        for line in header.lines() {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(&body);
        Ok(out)
    }
}

/// `line L column C: message` from a YAML error (its location first, so the line is named
/// even when the message is long).
fn describe_yaml_error(error: &yaml_serde::Error) -> String {
    let message = crate::text::one_line(&error.to_string());
    match error.location() {
        Some(at) => {
            let suffix = format!(" at line {} column {}", at.line(), at.column());
            let message = message.replace(&suffix, "");
            format!("line {} column {}: {message}", at.line(), at.column())
        }
        None => message,
    }
}

/// A size in bytes, written and read in human forms: `2808240KiB`, `2.8GB`, `512MiB`, `1234`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Parses a size: a number, optionally with a fraction, then a unit: none or `B` (bytes),
    /// `k`/`kB`/`KB`, `M`/`MB`, `G`/`GB`, `T`/`TB` (powers of 1000), `K`/`KiB`, `MiB`, `GiB`,
    /// `TiB` (powers of 1024). Rounded to whole bytes.
    pub fn parse(text: &str) -> Result<ByteSize, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: f64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a size such as 2.8GB or 512MiB"))?;
        let multiplier: f64 = match unit.trim() {
            "" | "B" => 1.0,
            "k" | "kB" | "KB" => 1e3,
            "M" | "MB" => 1e6,
            "G" | "GB" => 1e9,
            "T" | "TB" => 1e12,
            "K" | "KiB" => 1024.0,
            "MiB" => 1_048_576.0,
            "GiB" => 1_073_741_824.0,
            "TiB" => 1_099_511_627_776.0,
            other => {
                return Err(format!(
                    "unknown size unit {other:?} in {text:?} (use B, kB, MB, GB, KiB, MiB, GiB)"
                ));
            }
        };
        let bytes = value * multiplier;
        if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
            return Err(format!("{text:?} is out of range"));
        }
        Ok(ByteSize(bytes.round() as u64))
    }
}

impl fmt::Display for ByteSize {
    /// Exact: the largest binary unit that divides the size.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
        for (name, size) in units {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{name}", self.0 / size);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match NumberOrText::deserialize(deserializer)? {
            NumberOrText::Number(n) if n >= 0.0 => Ok(ByteSize(n.round() as u64)),
            NumberOrText::Number(n) => Err(serde::de::Error::custom(format!(
                "a size cannot be negative ({n})"
            ))),
            NumberOrText::Text(t) => ByteSize::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(f64),
    Text(String),
}

/// A duration in Go's notation: `7m50s`, `1h2m`, `60s`, `1.5s`, `250ms`; also `2d3h`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct HumanDuration {
    /// The duration in seconds (fractions allowed).
    pub seconds: f64,
}

impl HumanDuration {
    /// A duration of `seconds` seconds, taken as given (not checked: see [`HumanDuration::parse`]).
    pub fn from_secs(seconds: f64) -> Self {
        HumanDuration { seconds }
    }

    /// Parses Go's notation: numbers (fractions allowed) each followed by a unit, `ns`, `us`
    /// (`µs`), `ms`, `s`, `m`, `h` or `d`, summed (`1h2m3s`, `1.5s`). A bare number, a space or
    /// an unknown unit is an error, and so is a total that is infinite.
    pub fn parse(text: &str) -> Result<HumanDuration, String> {
        let text = text.trim();
        let bad = || format!("{text:?} is not a duration such as 7m50s, 60s or 1h30m");
        if text.is_empty() {
            return Err(bad());
        }
        let mut rest = text;
        let mut seconds = 0.0;
        while !rest.is_empty() {
            let split = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(bad)?;
            let (number, tail) = rest.split_at(split);
            let value: f64 = number.parse().map_err(|_| bad())?;
            let unit_len = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            let (unit, tail) = tail.split_at(unit_len);
            let factor = match unit {
                "ns" => 1e-9,
                "us" | "µs" | "μs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                "d" => 86_400.0,
                _ => return Err(bad()),
            };
            seconds += value * factor;
            rest = tail;
        }
        HumanDuration::checked(seconds).map_err(|_| format!("{text:?} is out of range"))
    }

    /// Refuses negative, infinite and NaN durations: none is a real uptime or profile
    /// length, and their text (`-1s`, `infs`) would not read back from the context or the
    /// JSON analysis that carries them (found by fuzzing).
    fn checked(seconds: f64) -> Result<HumanDuration, String> {
        if seconds.is_finite() && seconds >= 0.0 {
            Ok(HumanDuration { seconds })
        } else {
            Err(format!(
                "a duration cannot be negative, infinite or NaN ({seconds})"
            ))
        }
    }
}

impl fmt::Display for HumanDuration {
    /// Go's `time.Duration` style for whole seconds (`1h2m3s`, `7m50s`), else seconds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds;
        if s.fract() != 0.0 || s < 0.0 {
            return write!(f, "{s}s");
        }
        let total = s as u64;
        let (hours, minutes, secs) = (total / 3600, (total % 3600) / 60, total % 60);
        if hours > 0 {
            write!(f, "{hours}h{minutes}m{secs}s")
        } else if minutes > 0 {
            write!(f, "{minutes}m{secs}s")
        } else {
            write!(f, "{secs}s")
        }
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match NumberOrText::deserialize(deserializer)? {
            NumberOrText::Number(n) => HumanDuration::checked(n).map_err(serde::de::Error::custom),
            NumberOrText::Text(t) => HumanDuration::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// An expected range: `2-5`, or one number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// The smallest expected value, not negative; for one number, that number.
    pub min: f64,
    /// The largest expected value, not below `min`; for one number, that number.
    pub max: f64,
}

impl Range {
    /// Refuses what no goroutine count can be and what would not read back as written
    /// (`-5`, `-inf`, NaN: found by fuzzing), and a minimum above the maximum.
    fn checked(min: f64, max: f64) -> Result<Range, String> {
        if !(min.is_finite() && max.is_finite() && min >= 0.0) {
            return Err("a range needs finite numbers that are not negative".to_string());
        }
        if min > max {
            return Err("the minimum is above the maximum".to_string());
        }
        Ok(Range { min, max })
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}-{}", self.min, self.max)
        }
    }
}

impl Serialize for Range {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Range {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let parse = |t: &str| -> Result<Range, String> {
            let bad = || format!("{t:?} is not a range such as 2-5");
            let (min, max) = match t.split_once('-') {
                Some((a, b)) => (
                    a.trim().parse().map_err(|_| bad())?,
                    b.trim().parse().map_err(|_| bad())?,
                ),
                None => {
                    let v: f64 = t.trim().parse().map_err(|_| bad())?;
                    (v, v)
                }
            };
            Range::checked(min, max).map_err(|e| format!("{t:?}: {e}"))
        };
        match NumberOrText::deserialize(deserializer)? {
            NumberOrText::Number(n) => Range::checked(n, n).map_err(serde::de::Error::custom),
            NumberOrText::Text(t) => parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(ByteSize::parse("2.8GB"), Ok(ByteSize(2_800_000_000)));
        assert_eq!(
            ByteSize::parse("2808240KiB"),
            Ok(ByteSize(2_808_240 * 1024))
        );
        assert_eq!(ByteSize::parse("512MiB"), Ok(ByteSize(512 << 20)));
        assert_eq!(ByteSize::parse("1234"), Ok(ByteSize(1234)));
        assert!(ByteSize::parse("2.8 parsecs").is_err());
        assert_eq!(ByteSize(2_808_240 * 1024).to_string(), "2808240KiB");
        assert_eq!(ByteSize(3 << 30).to_string(), "3GiB");
        assert_eq!(ByteSize(1000).to_string(), "1000B");
    }

    #[test]
    fn human_durations() {
        assert_eq!(HumanDuration::parse("7m50s").map(|d| d.seconds), Ok(470.0));
        assert_eq!(
            HumanDuration::parse("1h2m3s").map(|d| d.seconds),
            Ok(3723.0)
        );
        assert_eq!(HumanDuration::parse("250ms").map(|d| d.seconds), Ok(0.25));
        assert_eq!(HumanDuration::parse("2d").map(|d| d.seconds), Ok(172_800.0));
        assert!(HumanDuration::parse("7 minutes").is_err());
        assert!(HumanDuration::parse("").is_err());
        assert_eq!(HumanDuration::from_secs(470.0).to_string(), "7m50s");
        assert_eq!(HumanDuration::from_secs(3723.0).to_string(), "1h2m3s");
        assert_eq!(HumanDuration::from_secs(60.0).to_string(), "1m0s");
        assert_eq!(HumanDuration::from_secs(1.5).to_string(), "1.5s");
    }

    #[test]
    fn durations_and_ranges_that_would_not_read_back_are_refused() {
        for text in [
            "process:\n  uptime: -1\n",
            "process:\n  uptime: .inf\n",
            "process:\n  cpu_time: .nan\n",
            "cpu_profile: 1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000s\n",
            "expectations:\n  goroutines_per_service: -9\n",
            "expectations:\n  goroutines_per_service: -.inf\n",
            "expectations:\n  goroutines_per_service: .nan\n",
        ] {
            let error = Context::parse(text).unwrap_err().to_string();
            assert!(error.starts_with("line "), "{text}: {error}");
        }
        // What is accepted writes back into YAML that reads again.
        let context =
            Context::parse("process:\n  uptime: 0\nexpectations:\n  goroutines_per_service: 0\n")
                .unwrap();
        assert_eq!(
            Context::parse(&context.to_yaml("t").unwrap()).unwrap(),
            context
        );
    }

    #[test]
    fn every_field_is_optional() {
        assert_eq!(Context::parse("").unwrap(), Context::default());
        assert_eq!(
            Context::parse("host: a\n").unwrap().host.as_deref(),
            Some("a")
        );
    }

    #[test]
    fn a_hand_written_context_reads() {
        let text = "host: storage\nservices: 57\nprocess:\n  cpu_percent: 122\n  rss: 2808240KiB\n  uptime: 7m50s\n  cpu_time: 7m50s\nexpectations:\n  goroutines_per_service: 2-5\nnotes: |\n  Second host cloud runs 14 services at 9.5% CPU.\n";
        let context = Context::parse(text).unwrap();
        let process = context.process.clone().unwrap();
        assert_eq!(process.cpu_percent, Some(122.0));
        assert_eq!(process.rss, Some(ByteSize(2_808_240 * 1024)));
        assert_eq!(process.uptime.map(|d| d.seconds), Some(470.0));
        let range = context
            .expectations
            .clone()
            .unwrap()
            .goroutines_per_service
            .unwrap();
        assert_eq!((range.min, range.max), (2.0, 5.0));
        // Written and read again, nothing changes.
        let again = Context::parse(&context.to_yaml("test").unwrap()).unwrap();
        assert_eq!(again, context);
    }

    #[test]
    fn typos_and_wrong_types_name_the_line() {
        let error = Context::parse("host: a\nhots: b\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("line 2 column 1: unknown field `hots`"),
            "{error}"
        );
        let error = Context::parse("host: a\nservices: many\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("line 2 column 11: services: invalid type"),
            "{error}"
        );
        let error = Context::parse("process:\n  rss: lots\n")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("line 2 "), "{error}");
        assert!(error.contains("\"lots\" is not a size"), "{error}");
    }
}
