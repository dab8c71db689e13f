//! Names interned into `u32` ids, one table shared by the goroutine profile and the dumps, so
//! that grouping keys, matches and sorts compare integers, not strings: a large set has tens
//! of thousands of stacks, tens of frames deep, over a few thousand distinct functions.
//!
//! Interning is injective (one id per distinct string), so two keys of ids are equal exactly
//! when the strings they stand for are. Ids follow first use, not string order: anything that
//! reaches the output in string order compares the strings ([`Names::cmp`]).
//!
//! What grouping, naming and the wait reader ask of a function name (its package, whether it
//! is runtime or standard-library plumbing, what wait it says, …) is read once per distinct
//! function into its [`Facts`], not once per frame.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};

use super::connections::{ConnectionFacts, connection_facts};
use super::mutex::is_mutex_lock_frame;
use super::naming::{is_closure, is_io_method, is_library_sync, is_park, is_wait_plumbing};
use super::waits::{WaitFacts, wait_facts};
use crate::analyze::names::{is_standard_package, package_of};
use crate::hash_chains::HashChains;

/// What the analysis asks of one function name, read once.
#[derive(Debug, Clone, Copy)]
pub(super) struct Facts {
    /// The id of the function's package path.
    pub(super) package: u32,
    /// The package is the standard library's.
    pub(super) standard: bool,
    /// The package is the standard library's wait plumbing (see `naming`).
    pub(super) wait_plumbing: bool,
    /// The package is `runtime`.
    pub(super) runtime_package: bool,
    /// A library's own sync package.
    pub(super) library_sync: bool,
    /// A method of a standard I/O interface (`Read`, `Write`, `Accept`, …).
    pub(super) io_method: bool,
    /// An anonymous function (`pkg.f.func2`).
    pub(super) closure: bool,
    /// `runtime.gopark` or `runtime.goparkunlock`.
    pub(super) park: bool,
    /// A `runtime.*` or `internal/runtime/*` function, which the text dumps hide at the leaf.
    pub(super) runtime_frame: bool,
    /// `runtime.goexit`.
    pub(super) goexit: bool,
    /// On a stack only while it waits to lock a mutex.
    pub(super) mutex_lock: bool,
    /// What it says of connections.
    pub(super) connection: ConnectionFacts,
    /// What the function says of the goroutine's wait.
    pub(super) wait: WaitFacts,
}

/// The interning table.
#[derive(Debug, Default)]
pub(super) struct Names<'a> {
    ids: FxHashMap<Cow<'a, str>, u32>,
    strings: Vec<Cow<'a, str>>,
    /// Per id, the facts of a function name (`None` for ids only used as other strings).
    facts: Vec<Option<Facts>>,
}

/// Facts for an id that was never interned as a function: nothing at all (never reached by
/// ids the grouping made, which are functions where facts are read).
const NO_FACTS: Facts = Facts {
    package: u32::MAX,
    standard: false,
    wait_plumbing: false,
    runtime_package: false,
    library_sync: false,
    io_method: false,
    closure: false,
    park: false,
    runtime_frame: false,
    goexit: false,
    mutex_lock: false,
    connection: ConnectionFacts::NONE,
    wait: WaitFacts::NONE,
};

impl<'a> Names<'a> {
    /// The id of `text`, added on first use.
    pub(super) fn intern(&mut self, text: Cow<'a, str>) -> u32 {
        if let Some(&id) = self.ids.get(&*text) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(text.clone());
        self.facts.push(None);
        self.ids.insert(text, id);
        id
    }

    /// The id of a function name, its facts read on first use.
    pub(super) fn function(&mut self, name: Cow<'a, str>) -> u32 {
        let id = self.intern(name);
        if self.facts[id as usize].is_none() {
            let facts = self.read_facts(id);
            self.facts[id as usize] = Some(facts);
        }
        id
    }

    fn read_facts(&mut self, id: u32) -> Facts {
        // The package is a prefix of the name: borrowed where the name is.
        let (package, name): (Cow<'a, str>, &str) = match &self.strings[id as usize] {
            Cow::Borrowed(name) => {
                let name: &'a str = name;
                (Cow::Borrowed(package_of(name)), name)
            }
            Cow::Owned(name) => (Cow::Owned(package_of(name).to_string()), name.as_str()),
        };
        let standard = is_standard_package(&package);
        let facts = Facts {
            package: u32::MAX,
            standard,
            wait_plumbing: is_wait_plumbing(&package),
            runtime_package: package == "runtime",
            library_sync: is_library_sync(&package),
            io_method: is_io_method(name),
            closure: is_closure(name),
            park: is_park(name),
            runtime_frame: name.starts_with("runtime.") || name.starts_with("internal/runtime/"),
            goexit: name == "runtime.goexit",
            mutex_lock: is_mutex_lock_frame(name),
            connection: connection_facts(name),
            wait: wait_facts(name, standard),
        };
        Facts {
            package: self.intern(package),
            ..facts
        }
    }

    /// The string of an id.
    pub(super) fn name(&self, id: u32) -> &str {
        self.strings.get(id as usize).map_or("", |s| s)
    }

    /// The facts of a function name's id.
    pub(super) fn facts(&self, id: u32) -> &Facts {
        match self.facts.get(id as usize) {
            Some(Some(facts)) => facts,
            _ => &NO_FACTS,
        }
    }

    /// The order of the strings of two ids.
    pub(super) fn cmp(&self, a: u32, b: u32) -> Ordering {
        if a == b {
            Ordering::Equal
        } else {
            self.name(a).cmp(self.name(b))
        }
    }

    /// The order of two sequences of ids as the sequences of their strings: what sorting
    /// them as `Vec<String>` gives.
    pub(super) fn cmp_seq(&self, a: &[u32], b: &[u32]) -> Ordering {
        a.iter()
            .zip(b)
            .find(|(x, y)| x != y)
            .map_or_else(|| a.len().cmp(&b.len()), |(&x, &y)| self.cmp(x, y))
    }

    /// The strings of a sequence of ids.
    pub(super) fn strings(&self, ids: &[u32]) -> Vec<String> {
        ids.iter().map(|&id| self.name(id).to_string()).collect()
    }
}

/// Sequences of ids (stacks) found by content, each standing for a value (a group): the
/// sequences themselves lie in their owner's arena (see [`Span`]), so finding a stack's group
/// allocates nothing and a new group's key is stored once.
#[derive(Debug, Default)]
pub(super) struct SeqIndex {
    chains: HashChains,
    /// Per entry: where its sequence lies, and its value.
    entries: Vec<(Span, usize)>,
}

impl SeqIndex {
    /// The hash a sequence is found by.
    pub(super) fn hash(sequence: &[u32]) -> u64 {
        let mut hasher = FxHasher::default();
        sequence.hash(&mut hasher);
        hasher.finish()
    }

    /// The value of `sequence` (of hash `hash`), its entries' sequences lying in `arena`.
    pub(super) fn find(&self, hash: u64, sequence: &[u32], arena: &[u32]) -> Option<usize> {
        self.chains
            .find(hash, |entry| self.entries[entry].0.of(arena) == sequence)
            .map(|entry| self.entries[entry].1)
    }

    /// Adds a value whose sequence (of hash `hash`, not in the index yet) lies at `span`.
    pub(super) fn insert(&mut self, hash: u64, span: Span, value: usize) {
        // Past 2^32 entries (more groups than a profile can hold) a sequence is not found
        // again: it would make a group of its own.
        if self.chains.add(hash).is_some() {
            self.entries.push((span, value));
        }
    }
}

/// Where a sequence of ids lies in an arena of them (a `Vec<u32>` holding many).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Span {
    start: usize,
    len: usize,
}

impl Span {
    /// Appends `ids` to `arena`, and says where they lie.
    pub(super) fn push(arena: &mut Vec<u32>, ids: impl IntoIterator<Item = u32>) -> Span {
        let start = arena.len();
        arena.extend(ids);
        Span {
            start,
            len: arena.len() - start,
        }
    }

    /// The part `range` of the sequence.
    pub(super) fn sub(self, range: std::ops::Range<usize>) -> Span {
        let start = self.start + range.start.min(self.len);
        let end = self.start + range.end.min(self.len);
        Span {
            start,
            len: end.saturating_sub(start),
        }
    }

    /// How many ids.
    pub(super) fn len(self) -> usize {
        self.len
    }

    /// The ids.
    pub(super) fn of(self, arena: &[u32]) -> &[u32] {
        arena
            .get(self.start..self.start + self.len)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_as_their_strings() {
        let mut names = Names::default();
        // Met in the reverse of their string order.
        let [c, b, a] = ["c", "b", "a"].map(|s| names.intern(Cow::Borrowed(s)));
        assert_eq!(names.intern(Cow::Owned("b".to_string())), b);
        assert_eq!(names.cmp(a, c), Ordering::Less);
        let sequences = [
            vec![c],
            vec![a, c],
            vec![a],
            vec![b, a],
            vec![a, c, a],
            vec![],
        ];
        let mut by_ids = sequences.to_vec();
        by_ids.sort_by(|x, y| names.cmp_seq(x, y));
        let mut by_strings: Vec<Vec<String>> = sequences.iter().map(|s| names.strings(s)).collect();
        by_strings.sort();
        let by_ids: Vec<Vec<String>> = by_ids.iter().map(|s| names.strings(s)).collect();
        assert_eq!(by_ids, by_strings);
    }

    #[test]
    fn sequences_of_one_hash_are_told_apart_by_content() {
        let mut arena = Vec::new();
        let mut index = SeqIndex::default();
        let first = Span::push(&mut arena, [1, 2, 3]);
        let second = Span::push(&mut arena, [1, 2]);
        // The same hash for both, as a collision would give.
        index.insert(7, first, 10);
        index.insert(7, second, 20);
        assert_eq!(index.find(7, &[1, 2, 3], &arena), Some(10));
        assert_eq!(index.find(7, &[1, 2], &arena), Some(20));
        assert_eq!(index.find(7, &[1], &arena), None);
        assert_eq!(index.find(SeqIndex::hash(&[1, 2]), &[1, 2], &arena), None);
        assert_eq!(first.sub(1..3).of(&arena), [2, 3]);
        assert_eq!(first.sub(2..9).of(&arena), [3]);
    }
}
