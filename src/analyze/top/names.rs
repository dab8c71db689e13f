//! pprof's `-focus`, `-ignore`, `-hide` and `-show` (profile's `FilterSamplesByName`): which
//! samples a name filter keeps and which frames it takes off their stacks.
//!
//! A location matches an expression when any of its frames' function names or file names
//! does, or its mapping's file. `-focus` keeps the samples with a matching location,
//! `-ignore` drops them; `-hide` takes the matching frames out of each location (a location
//! left with none leaves every stack), `-show` keeps only the matching ones.

use regex::Regex;

use super::goregex;

/// A `-focus`/`-ignore`/`-hide`/`-show` expression, compiled as Go's `regexp` reads it
/// (unanchored, as pprof's `MatchString`). Equal when their texts are.
#[derive(Debug, Clone)]
pub struct NameFilter {
    text: String,
    regex: Regex,
}

impl PartialEq for NameFilter {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// Why a name filter cannot be used: Go's `regexp` refuses the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regular expression {pattern:?}: {reason}")]
pub struct NameFilterError {
    /// The expression as given.
    pub pattern: String,
    /// Why it was refused.
    pub reason: String,
}

impl NameFilter {
    /// Compiles `text` as Go's `regexp.Compile` does.
    pub fn parse(text: &str) -> Result<NameFilter, NameFilterError> {
        let regex = goregex::compile(text).map_err(|reason| NameFilterError {
            pattern: text.to_string(),
            reason,
        })?;
        Ok(NameFilter {
            text: text.to_string(),
            regex,
        })
    }

    /// The expression as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the expression matches anywhere in `text`.
    pub(super) fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

/// The four name filters of one report.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct NameFilters<'f> {
    pub(super) focus: Option<&'f NameFilter>,
    pub(super) ignore: Option<&'f NameFilter>,
    pub(super) hide: Option<&'f NameFilter>,
    pub(super) show: Option<&'f NameFilter>,
}

impl NameFilters<'_> {
    pub(super) fn any(&self) -> bool {
        self.focus.is_some() || self.ignore.is_some() || self.hide.is_some() || self.show.is_some()
    }
}

/// Which of the filters matched something, as pprof's `FilterSamplesByName` returns it (it
/// warns on stderr for each that did not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NameMatches {
    /// `-focus` matched a location that `-ignore` did not.
    pub focus: bool,
    /// `-ignore` matched a location.
    pub ignore: bool,
    /// `-hide` matched a location.
    pub hide: bool,
    /// `-show` left a frame in some location.
    pub show: bool,
}
