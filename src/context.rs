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
    /// How many services (instances, nodes) the one process runs, 1 or more.
    #[serde(
        default,
        deserialize_with = "count",
        skip_serializing_if = "Option::is_none"
    )]
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
    /// Units of work per second, finite and above 0 (`per_second: 1925.5`).
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
    const GIVE: &str = "a finite number above 0";
    read_scalar(deserializer, GIVE, |scalar| {
        let rate = scalar.number(GIVE)?;
        match non_negative_problem(rate) {
            Some(problem) => Err(format!("{problem}; give {GIVE}")),
            None if rate == 0.0 => Err(format!("0 is no work; give {GIVE}")),
            None => Ok(rate),
        }
    })
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
    #[serde(
        default,
        deserialize_with = "count",
        skip_serializing_if = "Option::is_none"
    )]
    pub pid: Option<u32>,
    /// CPU use in percent of one core (`122` = 1.22 cores): over the CPU profile's window when
    /// collect measured it, else what ps printed.
    #[serde(
        default,
        deserialize_with = "non_negative",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpu_percent: Option<f64>,
    /// CPU time over uptime in percent, as `ps` computes its %CPU.
    #[serde(
        default,
        deserialize_with = "non_negative",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpu_percent_lifetime: Option<f64>,
    /// Resident set size, a size such as `2.8GB`, `2808240KiB` or a number of bytes
    /// ([`ByteSize`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss: Option<ByteSize>,
    /// Virtual memory size, in the same forms as `rss` (`vsz: 14GB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vsz: Option<ByteSize>,
    /// Threads of the process, a number (`threads: 40`).
    #[serde(
        default,
        deserialize_with = "count",
        skip_serializing_if = "Option::is_none"
    )]
    pub threads: Option<u32>,
    /// CPUs the process may run on (its affinity; `cpus: 8`).
    #[serde(
        default,
        deserialize_with = "count",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpus: Option<u32>,
    /// Its cgroup's CPU quota in cores (`cpu_quota: 1.5`); absent when unlimited. Go 1.25+
    /// sets GOMAXPROCS from it; older Go uses the CPU count.
    #[serde(
        default,
        deserialize_with = "non_negative",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpu_quota: Option<f64>,
    /// The Go version the executable was built with (`go_version: go1.24.3`), from its build
    /// information (/proc/PID/exe); absent for a binary from before Go 1.18 or not Go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_version: Option<String>,
    /// GOMAXPROCS set in the process's environment (`gomaxprocs: 8`); absent when the
    /// environment does not set it, and the runtime chooses (the CPU quota since Go 1.25,
    /// the CPUs before).
    #[serde(
        default,
        deserialize_with = "count",
        skip_serializing_if = "Option::is_none"
    )]
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
        const GIVE: &str = "a size such as 2.8GB, 512MiB or a number of bytes";
        read_scalar(deserializer, GIVE, |scalar| match scalar {
            Scalar::Text(text) => ByteSize::parse(text),
            Scalar::Integer(_) | Scalar::Float(_) => {
                let bytes = scalar.number(GIVE)?;
                if let Some(problem) = non_negative_problem(bytes) {
                    return Err(format!("{problem}; give {GIVE}"));
                }
                // 2^64 and above do not fit (u64::MAX as f64 rounds up to 2^64).
                if bytes >= u64::MAX as f64 {
                    return Err(format!("{bytes} bytes is too large; give {GIVE}"));
                }
                Ok(ByteSize(bytes.round() as u64))
            }
        })
    }
}

/// A scalar of the context YAML as it was written: read with `deserialize_any` inside the
/// field's own deserializer, so that a value [`read_scalar`] refuses is reported at its own
/// line and field path (`line 3 column 16: process.cpu_percent: …`) rather than at the
/// mapping that holds it.
#[derive(Debug, Clone, Copy)]
enum Scalar<'a> {
    /// A whole number as written (`57`, `-5`).
    Integer(i128),
    /// A number with a fraction or an exponent, or `.nan`, `.inf`, `-.inf`.
    Float(f64),
    /// Anything else that YAML reads as text (`2.8GB`, `7m50s`, `2-5`).
    Text(&'a str),
}

impl Scalar<'_> {
    /// The number, or an error saying that the text is not one and what to `give`.
    fn number(self, give: &str) -> Result<f64, String> {
        match self {
            Scalar::Integer(n) => Ok(n as f64),
            Scalar::Float(v) => Ok(v),
            Scalar::Text(text) => Err(format!("{text:?} is not a number; give {give}")),
        }
    }
}

/// What makes `value` unusable where a finite number ≥ 0 is needed, in words; `None` when
/// it is one.
fn non_negative_problem(value: f64) -> Option<String> {
    if value.is_nan() {
        Some("NaN is not a number".to_string())
    } else if value.is_infinite() {
        Some(format!("{value} is infinite"))
    } else if value < 0.0 {
        Some(format!("{value} is negative"))
    } else {
        None
    }
}

/// Reads one scalar with `deserialize_any` and hands it to `check`, whose error becomes the
/// deserializer's, located at the scalar.
fn read_scalar<'de, D, T, F>(
    deserializer: D,
    expecting: &'static str,
    check: F,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(Scalar<'_>) -> Result<T, String>,
{
    deserializer.deserialize_any(ScalarVisitor { expecting, check })
}

struct ScalarVisitor<F> {
    expecting: &'static str,
    check: F,
}

impl<F> ScalarVisitor<F> {
    fn checked<T, E: serde::de::Error>(self, scalar: Scalar<'_>) -> Result<T, E>
    where
        F: FnOnce(Scalar<'_>) -> Result<T, String>,
    {
        (self.check)(scalar).map_err(E::custom)
    }
}

impl<'de, T, F> serde::de::Visitor<'de> for ScalarVisitor<F>
where
    F: FnOnce(Scalar<'_>) -> Result<T, String>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<T, E> {
        self.checked(Scalar::Integer(i128::from(value)))
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<T, E> {
        self.checked(Scalar::Integer(i128::from(value)))
    }

    fn visit_u128<E: serde::de::Error>(self, value: u128) -> Result<T, E> {
        // Past i128 every check refuses it anyway, as too large.
        self.checked(Scalar::Integer(i128::try_from(value).unwrap_or(i128::MAX)))
    }

    fn visit_i128<E: serde::de::Error>(self, value: i128) -> Result<T, E> {
        self.checked(Scalar::Integer(value))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<T, E> {
        self.checked(Scalar::Float(value))
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<T, E> {
        self.checked(Scalar::Text(value))
    }
}

/// An optional count (`services`, `pid`, `threads`, `cpus`, `gomaxprocs`): a whole number
/// from 1 to 4294967295.
fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    Option::<Count>::deserialize(deserializer).map(|count| count.map(|Count(n)| n))
}

struct Count(u32);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const GIVE: &str = "a whole number ≥ 1";
        read_scalar(deserializer, GIVE, |scalar| {
            let whole = match scalar {
                Scalar::Integer(n) => n,
                Scalar::Float(v) => {
                    if let Some(problem) = non_negative_problem(v) {
                        return Err(format!("{problem}; give {GIVE}"));
                    }
                    if v.fract() != 0.0 {
                        return Err(format!("{v} is not a whole number; give {GIVE}"));
                    }
                    // Whole and finite: the cast saturates what is past i128.
                    v as i128
                }
                Scalar::Text(_) => scalar.number(GIVE).map(|_| 0)?,
            };
            match u32::try_from(whole) {
                Ok(0) => Err(format!("0 is below 1; give {GIVE}")),
                Ok(n) => Ok(Count(n)),
                Err(_) if whole < 0 => Err(format!("{whole} is negative; give {GIVE}")),
                Err(_) => Err(format!(
                    "{whole} is too large; give {GIVE} up to {}",
                    u32::MAX
                )),
            }
        })
    }
}

/// An optional finite number ≥ 0 (`cpu_percent`, `cpu_percent_lifetime`, `cpu_quota`).
fn non_negative<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    Option::<NonNegative>::deserialize(deserializer).map(|value| value.map(|NonNegative(v)| v))
}

struct NonNegative(f64);

impl<'de> Deserialize<'de> for NonNegative {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const GIVE: &str = "a finite number ≥ 0";
        read_scalar(deserializer, GIVE, |scalar| {
            let value = scalar.number(GIVE)?;
            match non_negative_problem(value) {
                Some(problem) => Err(format!("{problem}; give {GIVE}")),
                // -0 reads as 0, so that no report shows "-0%".
                None => Ok(NonNegative(value + 0.0)),
            }
        })
    }
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
        match non_negative_problem(seconds) {
            Some(problem) => Err(format!(
                "{problem}; give a duration such as 7m50s or a number of seconds ≥ 0"
            )),
            None => Ok(HumanDuration {
                seconds: seconds + 0.0,
            }),
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
        read_scalar(
            deserializer,
            "a duration such as 7m50s",
            |scalar| match scalar {
                Scalar::Text(text) => HumanDuration::parse(text),
                Scalar::Integer(_) | Scalar::Float(_) => {
                    HumanDuration::checked(scalar.number("a duration")?)
                }
            },
        )
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
        read_scalar(deserializer, "a range such as 2-5", |scalar| match scalar {
            Scalar::Text(text) => parse(text),
            Scalar::Integer(_) | Scalar::Float(_) => {
                let value = scalar.number("a range")?;
                Range::checked(value, value)
            }
        })
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
    fn every_number_is_finite_and_in_range_and_a_refusal_names_its_own_line() {
        // The bad value sits below other fields of its mapping: the error names its line.
        let at_line_4 = |field: &str, value: &str| {
            let text = format!("host: a\nprocess:\n  command: x\n  {field}: {value}\n");
            Context::parse(&text).unwrap_err().to_string()
        };
        for (field, value, problem) in [
            (
                "cpu_percent",
                ".nan",
                "NaN is not a number; give a finite number ≥ 0",
            ),
            (
                "cpu_percent",
                ".inf",
                "inf is infinite; give a finite number ≥ 0",
            ),
            (
                "cpu_percent",
                "-.inf",
                "-inf is infinite; give a finite number ≥ 0",
            ),
            (
                "cpu_percent",
                "-5",
                "-5 is negative; give a finite number ≥ 0",
            ),
            ("cpu_percent_lifetime", "-0.5", "-0.5 is negative"),
            ("cpu_quota", ".nan", "NaN is not a number"),
            ("rss", ".inf", "inf is infinite; give a size"),
            ("rss", ".nan", "NaN is not a number; give a size"),
            ("rss", "-1", "-1 is negative; give a size"),
            ("vsz", "1e30", "bytes is too large"),
            ("uptime", "-.inf", "-inf is infinite; give a duration"),
            ("cpu_time", "-3", "-3 is negative; give a duration"),
            ("pid", "0", "0 is below 1; give a whole number ≥ 1"),
            ("threads", "-1", "-1 is negative; give a whole number ≥ 1"),
            ("cpus", "2.5", "2.5 is not a whole number"),
            (
                "gomaxprocs",
                ".nan",
                "NaN is not a number; give a whole number ≥ 1",
            ),
            ("gomaxprocs", "4294967296", "4294967296 is too large"),
        ] {
            let error = at_line_4(field, value);
            let expected = format!("line 4 column {}: process.{field}: ", field.len() + 5);
            assert!(error.starts_with(&expected), "{field}: {value}: {error}");
            assert!(error.contains(problem), "{field}: {value}: {error}");
        }
        for (text, expected) in [
            (
                "host: a\nservices: 0\n",
                "line 2 column 11: services: 0 is below 1",
            ),
            (
                "host: a\nthroughput:\n  unit: rows\n  per_second: .nan\n",
                "line 4 column 15: throughput.per_second: NaN is not a number",
            ),
            (
                "expectations:\n  goroutines_per_service: -.inf\n",
                "line 2 column 27: expectations.goroutines_per_service: ",
            ),
        ] {
            let error = Context::parse(text).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{text}: {error}");
        }
        // Limits themselves, whole floats for counts, null and -0 are accepted.
        let context = Context::parse(
            "services: 3.0\nprocess:\n  cpu_percent: -0.0\n  rss: 0\n  threads: 4294967295\n  uptime: 0\n  cpus: ~\n",
        )
        .unwrap();
        let process = context.process.clone().unwrap();
        assert_eq!(context.services, Some(3));
        assert_eq!(process.cpu_percent.map(f64::to_bits), Some(0f64.to_bits()));
        assert_eq!(process.threads, Some(u32::MAX));
        assert_eq!(process.cpus, None);
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
        assert_eq!(
            error,
            "line 2 column 11: services: \"many\" is not a number; give a whole number ≥ 1"
        );
        let error = Context::parse("process:\n  rss: lots\n")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("line 2 "), "{error}");
        assert!(error.contains("\"lots\" is not a size"), "{error}");
    }
}
