//! Stacks at function granularity, and per-function keys, computed once per profile so that
//! the analyzers do integer work per frame: a production heap profile has tens of millions of
//! frames but only thousands of functions, so anything derived from a name (its package,
//! whether a pattern matches it) is derived once per function, not once per frame.

use std::collections::HashMap;

use crate::profile::{Profile, SampleRef};

/// The named frames of every location: its functions, innermost (inlined callee) first; none
/// for a location without lines (an unsymbolized address), as `Profile::stack_names` skips it.
pub struct FunctionStacks {
    starts: Vec<u32>,
    functions: Vec<u32>,
}

impl FunctionStacks {
    /// Lists the functions of every location of `profile`, once.
    pub fn new(profile: &Profile) -> Self {
        let mut starts = Vec::with_capacity(profile.locations.len() + 1);
        let mut functions = Vec::with_capacity(profile.locations.len());
        for location in &profile.locations {
            starts.push(functions.len() as u32);
            functions.extend(location.lines.iter().map(|l| l.function as u32));
        }
        starts.push(functions.len() as u32);
        FunctionStacks { starts, functions }
    }

    fn of_location(&self, location: usize) -> &[u32] {
        &self.functions[self.starts[location] as usize..self.starts[location + 1] as usize]
    }

    /// Fills `out` with the functions of a sample's stack, leaf first, inlined frames
    /// included (innermost first).
    pub fn sample_named(&self, sample: SampleRef<'_>, out: &mut Vec<u32>) {
        out.clear();
        for location in sample.locations() {
            out.extend_from_slice(self.of_location(location));
        }
    }
}

/// A key per function (its package, say), interned: `key_of[function]` indexes `names`.
pub struct FunctionKeys<'a> {
    /// Per function (its index in the profile's functions), the index of its key in `names`.
    pub key_of: Vec<u32>,
    /// The distinct keys, in the order they were first met.
    pub names: Vec<&'a str>,
}

impl<'a> FunctionKeys<'a> {
    /// Keys every function of `profile` by `key(name)`.
    pub fn new(profile: &'a Profile, key: impl Fn(&'a str) -> &'a str) -> Self {
        let mut index: HashMap<&'a str, u32> = HashMap::new();
        let mut names = Vec::new();
        let key_of = profile
            .functions
            .iter()
            .map(|f| {
                let k = key(f.name.as_str());
                *index.entry(k).or_insert_with(|| {
                    names.push(k);
                    (names.len() - 1) as u32
                })
            })
            .collect();
        FunctionKeys { key_of, names }
    }

    /// The key index of `function` (an index into the profile's functions).
    pub fn of(&self, function: u32) -> u32 {
        self.key_of[function as usize]
    }
}

/// Adds `values` to the `width` cums of `slot` (from `slot * width`) unless `seen[slot]`
/// already holds `stamp`, and marks it.
#[inline(always)]
pub fn add_once(
    cum: &mut [i64],
    seen: &mut [u32],
    (slot, width): (usize, usize),
    stamp: u32,
    values: &[i64],
) {
    if seen[slot] != stamp {
        seen[slot] = stamp;
        let at = slot * width;
        for (c, v) in cum[at..at + width].iter_mut().zip(values) {
            *c += v;
        }
    }
}

/// Flat (first key of a stack) and cum (once per stack) values per key, as pprof counts
/// nodes: a key that appears several times in one stack counts once. Each key has `width`
/// values (one per sample type), so one pass serves every sample type.
pub struct KeyCounter {
    width: usize,
    flat: Vec<i64>,
    cum: Vec<i64>,
    seen: Vec<u32>,
    stamp: u32,
}

impl KeyCounter {
    /// A counter of `keys` keys with `width` values each (one per sample type), all zero.
    pub fn new(keys: usize, width: usize) -> Self {
        KeyCounter {
            width,
            flat: vec![0; keys * width],
            cum: vec![0; keys * width],
            seen: vec![0; keys],
            stamp: 0,
        }
    }

    /// Adds one stack of keys, leaf first, with one value per sample type.
    pub fn add(&mut self, keys: impl IntoIterator<Item = u32>, values: &[i64]) {
        self.start_stack();
        let mut first = true;
        // Neighbouring frames mostly share their key (a package's functions call each
        // other): a key equal to the one before is already counted for this stack.
        let mut previous = u32::MAX;
        for key in keys {
            if key == previous {
                first = false;
                continue;
            }
            previous = key;
            self.count_cum(key, values);
            if first {
                self.count_flat(key, values);
            }
            first = false;
        }
    }

    /// Starts a stack: each key's cum counts once until the next start.
    #[inline]
    pub fn start_stack(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // After 2^32 stacks the stamps wrap: start the marks over.
            self.seen.fill(0);
            self.stamp = 1;
        }
    }

    /// Adds `values` to `key`'s cum, unless the stack counted it already.
    #[inline]
    pub fn count_cum(&mut self, key: u32, values: &[i64]) {
        self.count_cum_of::<0>(key, values);
    }

    /// [`KeyCounter::count_cum`] for a counter of `W` values a key (`0`: its width, read at
    /// run time), so that a caller that knows the width adds a fixed block.
    #[inline(always)]
    pub fn count_cum_of<const W: usize>(&mut self, key: u32, values: &[i64]) {
        let width = if W == 0 { self.width } else { W };
        debug_assert_eq!(width, self.width);
        add_once(
            &mut self.cum,
            &mut self.seen,
            (key as usize, width),
            self.stamp,
            values,
        );
    }

    /// Adds `values` to `key`'s flat: the stack's leaf key.
    #[inline]
    pub fn count_flat(&mut self, key: u32, values: &[i64]) {
        let at = key as usize * self.width;
        for (f, v) in self.flat[at..at + self.width].iter_mut().zip(values) {
            *f += v;
        }
    }

    /// Adds the counts of `other`, a counter of the same keys and width over other stacks.
    pub fn merge(&mut self, other: &KeyCounter) {
        for (a, b) in self.flat.iter_mut().zip(&other.flat) {
            *a += b;
        }
        for (a, b) in self.cum.iter_mut().zip(&other.cum) {
            *a += b;
        }
    }

    /// Flat and cum of `key` for sample type `index`.
    pub fn get(&self, key: usize, index: usize) -> (i64, i64) {
        let at = key * self.width + index;
        (self.flat[at], self.cum[at])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Labels, Line, ProfileBuilder, ValueType};

    fn profile() -> Profile {
        let mut b = ProfileBuilder::new(vec![ValueType {
            kind: "samples".into(),
            unit: "count".into(),
        }]);
        let a = b.function("pkg/a.F", "a.go");
        let g = b.function("pkg/a.G", "a.go");
        let m = b.function("main.main", "main.go");
        // One location with G inlined into F, one for main, one unsymbolized.
        let fg = b.location(
            0x10,
            &[
                Line {
                    function: g,
                    line: 2,
                    column: 0,
                },
                Line {
                    function: a,
                    line: 1,
                    column: 0,
                },
            ],
        );
        let main = b.location(
            0x20,
            &[Line {
                function: m,
                line: 3,
                column: 0,
            }],
        );
        let bare = b.location(0x30, &[]);
        b.sample(&[bare, fg, main], &[5], Labels::default())
            .unwrap();
        b.sample(&[fg, fg, main], &[2], Labels::default()).unwrap();
        b.finish()
    }

    #[test]
    fn stacks_keys_and_counts() {
        let p = profile();
        let stacks = FunctionStacks::new(&p);
        let mut out = Vec::new();
        stacks.sample_named(p.sample(0), &mut out);
        assert_eq!(out, [1, 0, 2]);

        let keys = FunctionKeys::new(&p, super::super::names::package_of);
        assert_eq!(keys.names, ["pkg/a", "main"]);
        let mut counter = KeyCounter::new(keys.names.len(), 1);
        for s in p.samples() {
            stacks.sample_named(s, &mut out);
            counter.add(out.iter().map(|&f| keys.of(f)), &s.values().to_vec());
        }
        // pkg/a is the leaf of both and counts once per stack despite recursion.
        assert_eq!(counter.get(0, 0), (7, 7));
        assert_eq!(counter.get(1, 0), (0, 7));
    }
}
