//! pprof's `-tagfocus` and `-tagignore` (internal/driver's compileTagFilter and
//! parseTagFilterRange, profile's FilterSamplesByTag): which samples a tag filter keeps.
//!
//! A filter is `[KEY=]VALUE`. A VALUE that reads as a numeric range (`4096`, `1mb:`,
//! `:64kb`, `12kb:64mb`) tests numeric labels, in the unit of their key; any other VALUE is
//! a comma-separated list of regular expressions over string labels. Without a KEY, every
//! expression must match some `key:value` of the sample; with one, any expression matching
//! any value of that key is enough.

use std::borrow::Cow;
use std::collections::BTreeMap;

use regex::Regex;

use super::goregex;
use crate::profile::Labels;
use crate::units;

/// A parsed `-tagfocus` or `-tagignore` value. Equal when their texts are.
#[derive(Debug, Clone)]
pub struct TagFilter {
    text: String,
    key: Option<String>,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Range(Range),
    Regexes(Vec<Regex>),
}

/// A numeric range in the unit its text named (`MB`, `s`, or "" for none), bounds scaled to
/// that unit as pprof's `measurement.Scale` gives them.
#[derive(Debug, Clone, PartialEq)]
struct Range {
    unit: String,
    low: Option<f64>,
    high: Option<f64>,
}

/// Why a tag filter cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagFilterError {
    /// One of its regular expressions does not compile (as Go's `regexp` reads it).
    #[error("invalid regular expression {pattern:?}: {reason}")]
    BadRegex {
        /// The expression, one of the comma-separated list.
        pattern: String,
        /// Why it was refused.
        reason: String,
    },
    /// A range bound that does not fit in 64 bits (pprof panics on it).
    #[error("range bound {0:?} does not fit in 64 bits")]
    BoundTooLarge(String),
}

impl PartialEq for TagFilter {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl TagFilter {
    /// Parses a filter as pprof's compileTagFilter does.
    pub fn parse(text: &str) -> Result<TagFilter, TagFilterError> {
        // pprof splits at the first `=`; an empty key is no key.
        let (key, value) = match text.split_once('=') {
            Some((key, value)) => ((!key.is_empty()).then(|| key.to_string()), value),
            None => (None, text),
        };
        let test = match parse_range(value)? {
            Some(range) => Test::Range(range),
            None => Test::Regexes(
                value
                    .split(',')
                    .map(|pattern| {
                        goregex::compile(pattern).map_err(|reason| TagFilterError::BadRegex {
                            pattern: pattern.to_string(),
                            reason,
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(TagFilter {
            text: text.to_string(),
            key,
            test,
        })
    }

    /// The filter as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when the value was read as a numeric range, not as regular expressions (pprof
    /// says so on stderr).
    pub fn is_range(&self) -> bool {
        matches!(self.test, Test::Range(_))
    }

    /// The value after any `KEY=`: what pprof names when it says it read a range.
    pub fn value(&self) -> &str {
        match &self.key {
            Some(key) => &self.text[key.len() + 1..],
            None => self.text.strip_prefix('=').unwrap_or(&self.text),
        }
    }

    /// Whether a sample with `labels` matches. `diff_base` marks a `-diff_base` sample, to
    /// which pprof adds the string label `pprof::base:true`; `units` is the unit of each
    /// numeric label key ([`numeric_label_units`]).
    pub(super) fn matches(
        &self,
        labels: &Labels,
        diff_base: bool,
        units: &BTreeMap<String, String>,
    ) -> bool {
        match &self.test {
            Test::Range(range) => {
                let unit_of = |key: &str| units.get(key).map_or("", String::as_str);
                let any_in = |key: &str, values: &[i64]| {
                    values.iter().any(|&v| range.contains(v, unit_of(key)))
                };
                match &self.key {
                    Some(key) => labels.numbers.get(key).is_some_and(|v| any_in(key, v)),
                    None => labels.numbers.iter().any(|(k, v)| any_in(k, v)),
                }
            }
            Test::Regexes(regexes) => {
                let strings = if diff_base {
                    let mut marked = labels.strings.clone();
                    marked.insert("pprof::base".to_string(), vec!["true".to_string()]);
                    Cow::Owned(marked)
                } else {
                    Cow::Borrowed(&labels.strings)
                };
                match &self.key {
                    // Any expression on any value of the key.
                    Some(key) => strings.get(key).is_some_and(|values| {
                        regexes
                            .iter()
                            .any(|rx| values.iter().any(|v| rx.is_match(v)))
                    }),
                    // Every expression on some `key:value`.
                    None => regexes.iter().all(|rx| {
                        strings.iter().any(|(k, values)| {
                            values.iter().any(|v| rx.is_match(&format!("{k}:{v}")))
                        })
                    }),
                }
            }
        }
    }
}

impl Range {
    fn contains(&self, value: i64, unit: &str) -> bool {
        let (scaled, scaled_unit) = units::scale(value, unit, &self.unit);
        scaled_unit == self.unit
            && self.low.is_none_or(|low| scaled >= low)
            && self.high.is_none_or(|high| scaled <= high)
    }
}

/// pprof's parseTagFilterRange: `N[unit]` (equal), `N[unit]:` (at least), `:N[unit]` (at
/// most) or `N[unit]:M[unit]` (between, both included, when both units are of one kind).
/// `None` when the text is none of these (it is then read as regular expressions).
fn parse_range(filter: &str) -> Result<Option<Range>, TagFilterError> {
    let bounds = numbers_with_units(filter);
    let Some(&(first, first_number, first_unit)) = bounds.first() else {
        return Ok(None);
    };
    let parse = |number: &str| {
        number
            .parse::<i64>()
            .map_err(|_| TagFilterError::BoundTooLarge(number.to_string()))
    };
    let (low, unit) = units::scale(parse(first_number)?, first_unit, first_unit);
    let range = |low, high| Range {
        unit: unit.clone(),
        low,
        high,
    };
    if bounds.len() == 1 {
        return Ok(if filter == first {
            Some(range(Some(low), Some(low)))
        } else if filter.strip_suffix(':') == Some(first) {
            Some(range(Some(low), None))
        } else if filter.strip_prefix(':') == Some(first) {
            Some(range(None, Some(low)))
        } else {
            None
        });
    }
    let (second, second_number, second_unit) = bounds[1];
    if filter != format!("{first}:{second}") {
        return Ok(None);
    }
    let (high, high_unit) = units::scale(parse(second_number)?, second_unit, &unit);
    Ok((high_unit == unit).then(|| range(Some(low), Some(high))))
}

/// The first two matches of pprof's `([+-]?[[:digit:]]+)([[:alpha:]]+)?` in `text`: the
/// whole match, the number and the unit.
fn numbers_with_units(text: &str) -> Vec<(&str, &str, &str)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() && found.len() < 2 {
        let start = i;
        let mut j = i;
        if matches!(bytes[j], b'+' | b'-') {
            j += 1;
        }
        let digits = j;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        if j == digits {
            i += 1;
            continue;
        }
        let number_end = j;
        while j < bytes.len() && bytes[j].is_ascii_alphabetic() {
            j += 1;
        }
        // All ASCII, so these are char boundaries.
        found.push((
            &text[start..j],
            &text[start..number_end],
            &text[number_end..j],
        ));
        i = j;
    }
    found
}

/// pprof's NumLabelUnits: the unit of each numeric label key, the first one a sample gives;
/// a key no sample gives a unit for is its own unit (`bytes` for `alignment` and `request`).
pub(super) fn numeric_label_units<'a>(
    labels: impl Iterator<Item = &'a Labels>,
) -> BTreeMap<String, String> {
    let mut units: BTreeMap<String, String> = BTreeMap::new();
    for labels in labels {
        for key in labels.numbers.keys() {
            let given = labels
                .number_units
                .get(key)
                .and_then(|u| u.iter().find(|u| !u.is_empty()));
            match (units.get(key), given) {
                (None, Some(unit)) => {
                    units.insert(key.clone(), unit.clone());
                }
                (None, None) => {
                    units.insert(key.clone(), String::new());
                }
                (Some(known), Some(unit)) if known.is_empty() => {
                    let unit = unit.clone();
                    units.insert(key.clone(), unit);
                }
                _ => {}
            }
        }
    }
    for (key, unit) in units.iter_mut() {
        if unit.is_empty() {
            *unit = match key.as_str() {
                "alignment" | "request" => "bytes".to_string(),
                _ => key.clone(),
            };
        }
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(strings: &[(&str, &str)], numbers: &[(&str, i64, &str)]) -> Labels {
        let mut l = Labels::default();
        for (k, v) in strings {
            l.strings
                .entry(k.to_string())
                .or_default()
                .push(v.to_string());
        }
        for (k, v, u) in numbers {
            l.numbers.entry(k.to_string()).or_default().push(*v);
            l.number_units
                .entry(k.to_string())
                .or_default()
                .push(u.to_string());
        }
        l
    }

    fn keeps(filter: &str, l: &Labels) -> bool {
        let units = numeric_label_units(std::iter::once(l));
        TagFilter::parse(filter).unwrap().matches(l, false, &units)
    }

    #[test]
    fn ranges_read_as_pprof_reads_them() {
        let r = |t: &str| parse_range(t).unwrap();
        assert_eq!(r("1mb:").unwrap().low, Some(1.0));
        assert_eq!(r("1mb:").unwrap().unit, "MB");
        assert_eq!(r(":64kb").unwrap().high, Some(64.0));
        let between = r("512kb:2mb").unwrap();
        assert_eq!(
            (between.low, between.high, between.unit.as_str()),
            (Some(512.0), Some(2048.0), "kB")
        );
        assert!(r("4096").is_some());
        assert!(r("svc1").is_none());
        assert!(r("x1mb").is_none());
        assert!(r("1mb:2s").is_none(), "units of two kinds are no range");
        assert!(r("1:2:3").is_none());
        assert!(parse_range("99999999999999999999").is_err());
    }

    #[test]
    fn numeric_ranges_compare_in_the_unit_of_the_key() {
        let l = labels(&[], &[("bytes", 4096, "")]);
        assert!(keeps("bytes=4kb", &l));
        assert!(keeps("4kb", &l));
        assert!(keeps("1kb:1mb", &l));
        assert!(!keeps("8kb:", &l));
        assert!(keeps(":4096b", &l));
        assert!(!keeps("other=4kb", &l));
        // A bare number has no unit, and bytes scale to "B": pprof keeps nothing.
        assert!(!keeps("4096", &l));
    }

    #[test]
    fn regexes_without_a_key_must_all_match_some_key_value() {
        let l = labels(&[("service", "svc1"), ("op", "scan")], &[]);
        assert!(keeps("svc1", &l));
        assert!(keeps("service:svc", &l));
        assert!(keeps("svc1,scan", &l));
        assert!(!keeps("svc1,encode", &l));
        assert!(keeps("service=svc2,svc1", &l));
        assert!(!keeps("service=scan", &l));
        assert!(keeps("=svc1", &l), "an empty key is no key");
        assert!(!keeps("SVC1", &l), "case matters");
        assert!(keeps("(?i)SVC1", &l));
    }

    #[test]
    fn a_diff_base_sample_carries_the_base_label() {
        let l = labels(&[("service", "svc1")], &[]);
        let filter = TagFilter::parse("pprof::base=true").unwrap();
        assert!(filter.matches(&l, true, &BTreeMap::new()));
        assert!(!filter.matches(&l, false, &BTreeMap::new()));
    }

    #[test]
    fn label_units_are_the_first_given_or_the_key() {
        let a = labels(&[], &[("bytes", 1, ""), ("request", 1, ""), ("t", 1, "")]);
        let b = labels(&[], &[("t", 2, "ms"), ("bytes", 1, "kb")]);
        let units = numeric_label_units([&a, &b].into_iter());
        assert_eq!(units["bytes"], "kb");
        assert_eq!(units["request"], "bytes");
        assert_eq!(units["t"], "ms");
    }

    #[test]
    fn bad_expressions_name_themselves() {
        let error = TagFilter::parse("svc1,(").unwrap_err();
        assert!(matches!(error, TagFilterError::BadRegex { ref pattern, .. } if pattern == "("));
        assert_eq!(TagFilter::parse("k=1mb:").unwrap().value(), "1mb:");
    }
}
