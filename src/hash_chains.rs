//! Entries found by a hash of their content, without a copy of the content as a key: each
//! hash leads to the newest entry made with it, and each entry to the one made before it with
//! the same hash. Whoever owns the entries says whether one is the content looked for, where
//! it keeps it (a profile's samples, a goroutine grouping's arena of keys): a large profile's
//! stacks are not stored a second time just to be found.

use rustc_hash::FxHashMap;

/// Entries numbered 0, 1, … in the order they were added, chained by hash.
#[derive(Debug, Default)]
pub struct HashChains {
    /// Hash → the newest entry of that hash.
    newest: FxHashMap<u64, u32>,
    /// Entry → the entry added before it with the same hash, or [`HashChains::NONE`].
    before: Vec<u32>,
}

impl HashChains {
    const NONE: u32 = u32::MAX;

    /// The newest entry of hash `hash` for which `is_it` holds.
    pub fn find(&self, hash: u64, mut is_it: impl FnMut(usize) -> bool) -> Option<usize> {
        let mut entry = *self.newest.get(&hash)?;
        while entry != Self::NONE {
            if is_it(entry as usize) {
                return Some(entry as usize);
            }
            entry = self.before[entry as usize];
        }
        None
    }

    /// Adds the next entry, of hash `hash`, and returns its number; `None` once the numbers
    /// (32 bits) are used up.
    pub fn add(&mut self, hash: u64) -> Option<usize> {
        let entry = u32::try_from(self.before.len())
            .ok()
            .filter(|&e| e != Self::NONE)?;
        self.before
            .push(self.newest.insert(hash, entry).unwrap_or(Self::NONE));
        Some(entry as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::HashChains;

    #[test]
    fn entries_of_one_hash_are_found_newest_first_and_others_are_not() {
        let mut chains = HashChains::default();
        let contents = ["a", "b", "c", "d"];
        // "a", "b" and "d" share hash 7; "c" has its own.
        let hashes = [7, 7, 9, 7];
        for (i, &hash) in hashes.iter().enumerate() {
            assert_eq!(chains.add(hash), Some(i));
        }
        let find = |hash, content: &str| chains.find(hash, |e| contents[e] == content);
        assert_eq!(find(7, "a"), Some(0));
        assert_eq!(find(7, "b"), Some(1));
        assert_eq!(find(9, "c"), Some(2));
        assert_eq!(find(7, "d"), Some(3));
        assert_eq!(find(7, "c"), None, "c is chained under 9, not 7");
        assert_eq!(find(8, "a"), None);
        let mut visited = Vec::new();
        chains.find(7, |e| {
            visited.push(e);
            false
        });
        assert_eq!(visited, [3, 1, 0]);
    }
}
