//! Folded stacks (`root;caller;leaf value`), the plain interchange that flame graph tools
//! read: one line per distinct stack, sorted so the output is byte-identical across runs.
//!
//! A production heap profile has hundreds of thousands of distinct stacks, nearly all of them
//! far narrower than a pixel. [`folded_for_width`] builds the call tree level by level from
//! the root and stops following a path as soon as it is narrower than the flame graph can
//! draw: its value is merged into its caller (drawn as the caller's own time, the empty space
//! inferno leaves for frames it does not draw), and counted, so the SVG can say what it left
//! out. The work is bounded by what is drawn, not by the size of the profile.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxHashMap;

use crate::analyze::Join;
use crate::profile::Profile;

/// The narrowest frame drawn, as a share of the width inferno's default 1200 px image gives
/// the frames (10 px padding on each side): one pixel. Narrower frames cannot be seen or
/// pointed at; inferno would still draw those over 0.1 px, at the cost of an SVG several times
/// larger and slower to render for a production profile.
pub const MIN_SHARE: f64 = 1.0 / 1180.0;

/// Frames kept per stack, from the root. Go records at most 128 PCs per profile stack by
/// default (1024 at most), so real stacks stay far below this even with inlined frames; a
/// small crafted profile expands to millions (a stack of thousands of locations with hundreds
/// of inlined lines each: fuzzing found 1.5 million frames in 8.5 KB, a 100 MB SVG that
/// took seconds). Deeper stacks are cut, with a last frame that says how many were left out.
pub const MAX_FRAMES: usize = 2048;

/// Folded stacks for a flame graph, and what was merged away for being too narrow.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Folded {
    /// One line per drawn path, `root;caller;leaf value`, the value being that path's own (narrower
    /// callees merged in); sorted by path.
    pub lines: Vec<String>,
    /// Call paths cut off where they became narrower than `min_share` of the total.
    pub narrow_paths: usize,
    /// Their value, now their callers' own.
    pub narrow_value: i64,
    /// The sum of all positive sample values.
    pub total: i64,
}

/// Folded stacks of one sample index, every stack in full (for the differential graph,
/// whose two sides must line up path by path).
pub fn folded(profile: &Profile, index: usize) -> Vec<String> {
    folded_for_width(profile, index, 0.0).lines
}

/// The folded stacks of a differential CPU flame graph, `stack before after` (the
/// differential form inferno reads): widths are the second profile, colours the change in CPU
/// per second. The first profile's values are scaled to the second's duration so that
/// profiles of different lengths compare; every stack is kept in full, since a path too narrow
/// to draw on one side must still meet its counterpart on the other. Empty when either
/// profile has no `cpu` samples.
pub fn differential(before: &Profile, after: &Profile) -> Vec<String> {
    let folded_cpu = |p: &Profile| p.sample_index_of("cpu").map(|index| folded(p, index));
    let (Some(a), Some(b)) = (folded_cpu(before), folded_cpu(after)) else {
        return Vec::new();
    };
    let seconds = |p: &Profile| Some(p.duration_nanos as f64).filter(|d| *d > 0.0);
    let scale = match (seconds(before), seconds(after)) {
        (Some(x), Some(y)) => y / x,
        _ => 1.0,
    };
    let mut stacks: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (lines, second) in [(&a, false), (&b, true)] {
        for line in lines {
            if let Some((stack, count)) = line.rsplit_once(' ') {
                let value: f64 = count.parse().unwrap_or(0.0);
                let entry = stacks.entry(stack.to_string()).or_insert((0.0, 0.0));
                if second {
                    entry.1 += value;
                } else {
                    entry.0 += value * scale;
                }
            }
        }
    }
    stacks
        .into_iter()
        .map(|(stack, (x, y))| format!("{stack} {} {}", x.round() as i64, y.round() as i64))
        .collect()
}

/// Folded stacks of one sample index with paths narrower than `min_share` of the total
/// merged into their callers (0 keeps everything). Frames are function names (inlined frames
/// included); a location without a name (an unsymbolized address) is its binary,
/// `[libc.so.6]`, as pprof names it, or `<unknown>`; a sample without frames is
/// `[no stack]`. `;` and control characters in names are replaced, since they would split
/// the line. Samples with a value of zero or below are left out (a flame graph cannot draw
/// them). Top-level frames are always kept, so the graph's total width is the total.
pub fn folded_for_width(profile: &Profile, index: usize, min_share: f64) -> Folded {
    folded_for_widths(profile, &[index], min_share, &crate::analyze::Sequential)
        .pop()
        .unwrap_or_default()
}

/// Samples from which [`folded_for_widths`] folds two graphs in two walks side by side
/// rather than in one: on bench/large.sh's 800k-stack heap profile the one walk was the
/// report's last pass by about 150 ms, alone on one core; two walks took about 25 ms more
/// CPU and 30 ms less time (perf stat, 7 runs). Below it the one walk costs less.
const SPLIT_SAMPLES: usize = 1 << 16;

/// [`folded_for_width`] of several sample indices of one profile, in their order, from one
/// walk over the stacks: a heap profile standing in for the allocs profile gives both the
/// in-use and the allocated graphs, and the walk (one cache miss per sample per level on a
/// production profile) is most of the work, whatever each index adds. On a profile of
/// 65 536 samples or more (`SPLIT_SAMPLES`), two graphs are folded in two walks through
/// `join`.
pub fn folded_for_widths(
    profile: &Profile,
    indices: &[usize],
    min_share: f64,
    join: &impl Join,
) -> Vec<Folded> {
    let split = profile.samples.len() >= SPLIT_SAMPLES;
    fold_indices(profile, indices, min_share, join, split)
}

/// [`folded_for_widths`], two indices in one walk unless `split`.
fn fold_indices(
    profile: &Profile,
    indices: &[usize],
    min_share: f64,
    join: &impl Join,
    split: bool,
) -> Vec<Folded> {
    let frames = FrameNames::new(profile);
    // A cursor's place in its stack fits 32 bits on every real profile: 8-byte cursors
    // instead of 12 (16 before the samples became bits), 6.4 MB less at the peak of a
    // report on two heap profiles of 800k samples each.
    let most_frames = (0..profile.locations.len())
        .map(|l| frames.of_location(l).len())
        .max()
        .unwrap_or(0);
    let packed = Packed::fits(profile.samples.longest_stack_bytes(), most_frames);
    let walk = |chunk: &[usize]| match (packed, chunk.len()) {
        (true, 1) => fold::<Packed, 1>(profile, &frames, chunk, min_share),
        (true, _) => fold::<Packed, 2>(profile, &frames, chunk, min_share),
        (false, 1) => fold::<Wide, 1>(profile, &frames, chunk, min_share),
        (false, _) => fold::<Wide, 2>(profile, &frames, chunk, min_share),
    };
    let mut folded = Vec::with_capacity(indices.len());
    // Two at most in one walk: a report folds at most two graphs of one profile. Each
    // count has its own code, so a graph alone costs what it did before several shared a
    // walk.
    for chunk in indices.chunks(2) {
        if let (true, [first, second]) = (split, chunk) {
            let (a, b) = join.join(|| walk(&[*first]), || walk(&[*second]));
            folded.extend(a.into_iter().chain(b));
        } else {
            folded.extend(walk(chunk));
        }
    }
    folded
}

/// The indices a sample counts in (a bit each: its value there is positive), with its
/// value in each put in `values`.
#[inline(always)]
fn counted_in<const N: usize>(
    profile: &Profile,
    indices: &[usize],
    sample: usize,
    values: &mut [i64; N],
) -> u8 {
    let mut mask = 0;
    for (i, (&index, value)) in indices.iter().zip(values.iter_mut()).enumerate() {
        *value = profile.samples.value_of(sample, index);
        if *value > 0 {
            mask |= 1 << i;
        }
    }
    mask
}

/// The bits of `mask`, lowest first.
fn bits(mut mask: u8) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (mask != 0).then(|| {
            let bit = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            bit
        })
    })
}

/// Builds the call tree of `N` sample indices at once. Each index's tree
/// is the one a walk of that index alone would build: a node is that index's (its bit in
/// `present`) when a sample with a positive value of the index reached it from a node of
/// the index that was not cut, and it is cut for the index (its bit in `cut`) when that
/// index's value there is narrower than its threshold. A cursor goes on while its node
/// is still live for an index its sample counts in.
fn fold<P: Place, const N: usize>(
    profile: &Profile,
    frames: &FrameNames<'_>,
    indices: &[usize],
    min_share: f64,
) -> Vec<Folded> {
    let indices = &indices[..N];
    let mut elided_names: Vec<String> = Vec::new();
    let totals: Vec<i64> = indices
        .iter()
        .map(|&index| {
            profile
                .samples()
                .map(|s| s.value(index))
                .filter(|&v| v > 0)
                .fold(0i64, i64::saturating_add)
        })
        .collect();
    let thresholds: Vec<f64> = totals.iter().map(|&t| t as f64 * min_share).collect();
    let counted =
        |sample: usize, values: &mut [i64; N]| counted_in(profile, indices, sample, values);
    let mut values = [0i64; N];

    let mut tree = Tree::<N>::new();
    // Sized once: a filtered iterator gives no length, and doubling a vector of a million
    // cursors copies it and faults in fresh pages at every size.
    let mut cursors: Cursors<P> = Cursors::with_capacity(profile.samples.len());
    for s in profile.samples() {
        if counted(s.index(), &mut values) != 0 {
            cursors.push(
                s.index(),
                Cursor {
                    node: ROOT,
                    place: P::new(s.locations().remaining_bytes() as u32, 0),
                },
            );
        }
    }
    let mut narrow_paths = [0usize; N];
    let mut narrow_value = [0i64; N];
    let mut depth = 0;
    // The nodes whose children this level creates, and the children it created.
    let mut parents: Vec<u32> = vec![ROOT];
    let mut created: Vec<u32> = Vec::new();
    // Each parent's position in `parents`, and a parents × names table of children: the
    // lookup of every sample at every level is an index, not a hash (a level has at most
    // about 1/min_share parents per index, since narrower ones are cut).
    let mut position: Vec<u32> = vec![0];
    let mut table: Vec<u32> = Vec::new();
    let names = frames.names.len();
    while !cursors.cursors.is_empty() {
        depth += 1;
        created.clear();
        if depth > MAX_FRAMES {
            // One last level: what is left of each stack becomes one frame that says how
            // many frames it had.
            let mut elided: HashMap<usize, u32> = HashMap::new();
            for (sample, cursor) in cursors.iter() {
                let count = cursor.remaining_frames(profile, sample, frames);
                let name = *elided.entry(count).or_insert_with(|| {
                    elided_names.push(format!("[{count} frames elided]"));
                    (names + elided_names.len() - 1) as u32
                });
                let mask = counted(sample, &mut values) & tree.live(cursor.node);
                let child = tree.child(cursor.node, name, &mut created);
                let node = &mut tree.nodes[child as usize];
                node.present |= mask;
                for i in bits(mask) {
                    node.value[i] += values[i];
                    node.own[i] += values[i];
                }
            }
            break;
        }
        position.resize(tree.nodes.len(), NONE);
        for (i, &p) in parents.iter().enumerate() {
            position[p as usize] = i as u32;
        }
        let dense = parents.len().saturating_mul(names) <= DENSE_LIMIT;
        if dense {
            table.clear();
            table.resize(parents.len() * names, NONE);
        }
        let fetch = |sample: usize, cursor: &Cursor<P>| {
            profile
                .sample(sample)
                .prefetch_within(cursor.place.bytes() as usize);
        };
        cursors.retain_fetching_ahead(fetch, |sample, cursor| {
            // Every cursor left counts in an index its node is live for (see below); with
            // one index, that is the index.
            let mask = match N {
                1 => counted(sample, &mut values),
                _ => counted(sample, &mut values) & tree.live(cursor.node),
            };
            let Some(name) = cursor.next_frame(profile, sample, frames, depth) else {
                let node = &mut tree.nodes[cursor.node as usize];
                for i in bits(mask) {
                    node.own[i] += values[i];
                }
                return false;
            };
            let child = if dense {
                let slot =
                    &mut table[position[cursor.node as usize] as usize * names + name as usize];
                if *slot == NONE {
                    *slot = tree.add(cursor.node, name, &mut created);
                }
                *slot
            } else {
                tree.child(cursor.node, name, &mut created)
            };
            let node = &mut tree.nodes[child as usize];
            node.present |= mask;
            for i in bits(mask) {
                node.value[i] += values[i];
            }
            cursor.node = child;
            true
        });
        if depth > 1 {
            let mut any_cut = false;
            for &node in &created {
                let n = &tree.nodes[node as usize];
                let (parent, present) = (n.parent as usize, n.present);
                for i in bits(present) {
                    let value = tree.nodes[node as usize].value[i];
                    if thresholds[i] > 0.0 && (value as f64) < thresholds[i] {
                        tree.nodes[node as usize].cut |= 1 << i;
                        tree.nodes[parent].own[i] += value;
                        narrow_paths[i] += 1;
                        narrow_value[i] += value;
                        any_cut = true;
                    }
                }
            }
            if any_cut {
                cursors.retain(|sample, c| match N {
                    // The cursor's sample counts in the one index.
                    1 => tree.live(c.node) != 0,
                    _ => counted(sample, &mut values) & tree.live(c.node) != 0,
                });
            }
        }
        parents.clear();
        parents.extend(created.iter().filter(|&&n| tree.live(n) != 0));
    }
    (0..N)
        .map(|i| Folded {
            lines: tree.lines(frames, &elided_names, i),
            narrow_paths: narrow_paths[i],
            narrow_value: narrow_value[i],
            total: totals[i],
        })
        .collect()
}

/// The cleaned frame names of every location, innermost first, interned.
/// Names are borrowed from the profile unless cleaning changed them.
struct FrameNames<'a> {
    names: Vec<Cow<'a, str>>,
    starts: Vec<u32>,
    ids: Vec<u32>,
    no_stack: u32,
}

impl<'a> FrameNames<'a> {
    fn new(profile: &'a Profile) -> Self {
        let binaries: Vec<String> = profile
            .mappings
            .iter()
            .map(|m| m.binary_frame_name())
            .collect();
        let mut index: FxHashMap<Cow<'a, str>, u32> = FxHashMap::default();
        let mut names: Vec<Cow<'a, str>> = Vec::new();
        let mut intern = |name: Cow<'a, str>| {
            *index.entry(name).or_insert_with_key(|name| {
                names.push(name.clone());
                (names.len() - 1) as u32
            })
        };
        let function_ids: Vec<u32> = profile
            .functions
            .iter()
            .map(|f| intern(clean(&f.name)))
            .collect();
        let mut starts = Vec::with_capacity(profile.locations.len() + 1);
        let mut ids = Vec::with_capacity(profile.locations.len());
        for location in &profile.locations {
            starts.push(ids.len() as u32);
            if location.lines.is_empty() {
                let binary = location
                    .mapping
                    .and_then(|m| binaries.get(m))
                    .map_or("<unknown>", String::as_str);
                ids.push(intern(Cow::Owned(binary.to_string())));
            }
            ids.extend(location.lines.iter().map(|l| function_ids[l.function]));
        }
        starts.push(ids.len() as u32);
        let no_stack = intern(Cow::Borrowed("[no stack]"));
        FrameNames {
            names,
            starts,
            ids,
            no_stack,
        }
    }

    fn of_location(&self, location: usize) -> &[u32] {
        &self.ids[self.starts[location] as usize..self.starts[location + 1] as usize]
    }
}

/// Where a sample's walk from the root stands: the part of its stack not yet visited, and
/// the inlined frames of the current location still to visit. Its value is read from the
/// profile when needed, and which sample it follows is its place among [`Cursors`]: 8 bytes
/// a cursor, a million of them on a production heap profile.
#[derive(Clone, Copy)]
struct Cursor<P> {
    node: u32,
    place: P,
}

/// The cursors of a walk, in sample order, and a bit per sample telling which samples they
/// follow: the n-th cursor follows the sample of the n-th set bit.
struct Cursors<P> {
    cursors: Vec<Cursor<P>>,
    followed: Vec<u64>,
}

impl<P: Place> Cursors<P> {
    fn with_capacity(samples: usize) -> Self {
        Cursors {
            cursors: Vec::with_capacity(samples),
            followed: vec![0; samples.div_ceil(64)],
        }
    }

    /// Adds the cursor of `sample`, which comes after every sample added before.
    fn push(&mut self, sample: usize, cursor: Cursor<P>) {
        self.followed[sample / 64] |= 1 << (sample % 64);
        self.cursors.push(cursor);
    }

    /// Each cursor with its sample, in sample order.
    fn iter(&self) -> impl Iterator<Item = (usize, &Cursor<P>)> {
        SetBits::new(&self.followed).zip(&self.cursors)
    }

    /// Keeps the cursors for which `keep` (given each one's sample) is true, in order.
    fn retain(&mut self, keep: impl FnMut(usize, &mut Cursor<P>) -> bool) {
        self.retain_fetching_ahead(|_, _| {}, keep);
    }

    /// [`Cursors::retain`], calling `fetch` on each cursor [`FETCH_AHEAD`] cursors before
    /// `keep` reaches it: a step of a walk reads one byte of each stack, and the stacks of a
    /// large profile are far apart, so each step would wait on memory unless its byte was
    /// asked for earlier.
    fn retain_fetching_ahead(
        &mut self,
        mut fetch: impl FnMut(usize, &Cursor<P>),
        mut keep: impl FnMut(usize, &mut Cursor<P>) -> bool,
    ) {
        // Two scans of the bitmap, one at the cursor kept or dropped and one FETCH_AHEAD
        // cursors further, read it as it was; the cursors kept get a bitmap of their own.
        let cursors = &mut self.cursors;
        let mut samples = SetBits::new(&self.followed);
        let mut ahead = SetBits::new(&self.followed);
        let mut followed = vec![0u64; self.followed.len()];
        for cursor in cursors.iter().take(FETCH_AHEAD) {
            if let Some(sample) = ahead.next() {
                fetch(sample, cursor);
            }
        }
        let mut kept = 0;
        for read in 0..cursors.len() {
            if let Some(cursor) = cursors.get(read + FETCH_AHEAD)
                && let Some(sample) = ahead.next()
            {
                fetch(sample, cursor);
            }
            // As many set bits as cursors: a sample is found for each.
            let Some(sample) = samples.next() else {
                break;
            };
            let mut cursor = cursors[read];
            if keep(sample, &mut cursor) {
                cursors[kept] = cursor;
                kept += 1;
                followed[sample / 64] |= 1 << (sample % 64);
            }
        }
        cursors.truncate(kept);
        self.followed = followed;
    }
}

/// How many cursors ahead of the one stepped a walk asks for the next one's stack byte:
/// enough steps (each a few dozen instructions) to cover a fetch from memory.
const FETCH_AHEAD: usize = 16;

/// The indices of the set bits of a bitmap, in order.
struct SetBits<'a> {
    words: &'a [u64],
    word: usize,
    bits: u64,
}

impl<'a> SetBits<'a> {
    fn new(words: &'a [u64]) -> Self {
        SetBits {
            words,
            word: 0,
            bits: words.first().copied().unwrap_or(0),
        }
    }
}

impl Iterator for SetBits<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.bits == 0 {
            self.word += 1;
            self.bits = *self.words.get(self.word)?;
        }
        let bit = self.word * 64 + self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        Some(bit)
    }
}

/// A cursor's place in its stack: the bytes of the stack not yet visited (the walk goes from
/// the end toward the leaf; the location being visited is the entry that starts there, read
/// again rather than kept), and the frames of that location still to visit, outermost first
/// (indices below this one).
trait Place: Copy {
    fn new(bytes: u32, pending: u32) -> Self;
    fn bytes(self) -> u32;
    fn pending(self) -> u32;
}

/// Both in 32 bits: the frames of a location in the low `PENDING_BITS`.
#[derive(Clone, Copy)]
struct Packed(u32);

const PENDING_BITS: u32 = 8;

impl Packed {
    /// True when every stack and every location of a profile fits.
    fn fits(longest_stack_bytes: usize, most_frames: usize) -> bool {
        longest_stack_bytes < 1 << (32 - PENDING_BITS) && most_frames < 1 << PENDING_BITS
    }
}

impl Place for Packed {
    #[inline]
    fn new(bytes: u32, pending: u32) -> Self {
        Packed(bytes << PENDING_BITS | pending)
    }
    #[inline]
    fn bytes(self) -> u32 {
        self.0 >> PENDING_BITS
    }
    #[inline]
    fn pending(self) -> u32 {
        self.0 & ((1 << PENDING_BITS) - 1)
    }
}

/// Each in its own 32 bits, for a crafted profile with a location of 256 frames or more.
#[derive(Clone, Copy)]
struct Wide(u32, u32);

impl Place for Wide {
    #[inline]
    fn new(bytes: u32, pending: u32) -> Self {
        Wide(bytes, pending)
    }
    #[inline]
    fn bytes(self) -> u32 {
        self.0
    }
    #[inline]
    fn pending(self) -> u32 {
        self.1
    }
}

impl<P: Place> Cursor<P> {
    /// Frames not yet visited: the current location's and those of the rest of the stack.
    fn remaining_frames(&self, profile: &Profile, sample: usize, frames: &FrameNames) -> usize {
        let rest: usize = profile
            .sample(sample)
            .locations_within(self.place.bytes() as usize)
            .map(|l| frames.of_location(l).len())
            .sum();
        self.place.pending() as usize + rest
    }

    /// The next frame from the root, or `None` at the end of the stack.
    #[inline(always)]
    fn next_frame(
        &mut self,
        profile: &Profile,
        sample: usize,
        frames: &FrameNames,
        depth: usize,
    ) -> Option<u32> {
        let sample = profile.sample(sample);
        let mut bytes = self.place.bytes();
        let mut pending = self.place.pending();
        let mut location = None;
        if pending > 0 {
            location = sample.location_at(bytes as usize);
        }
        while pending == 0 {
            let mut stack = sample.locations_within(bytes as usize);
            let Some(next) = stack.next_back() else {
                // A sample with no frames at all is drawn as one `[no stack]` frame.
                return (depth == 1).then_some(frames.no_stack);
            };
            bytes = stack.remaining_bytes() as u32;
            pending = frames.of_location(next).len() as u32;
            location = Some(next);
        }
        pending -= 1;
        self.place = P::new(bytes, pending);
        // A cursor with frames pending stopped on a location, which is still there.
        let names = frames.of_location(location?);
        names.get(pending as usize).copied()
    }
}

const ROOT: u32 = 0;
const NONE: u32 = u32::MAX;
/// Largest parents × names table of a level (16 MiB); beyond it children are hashed.
const DENSE_LIMIT: usize = 1 << 22;

struct Node<const N: usize> {
    parent: u32,
    name: u32,
    /// The indices whose tree holds the node, a bit each.
    present: u8,
    /// The indices for which the node is too narrow: its value went to its parent's own.
    cut: u8,
    /// Per index, everything beneath the node.
    value: [i64; N],
    /// Per index, the samples that end at the node, and the paths beneath it cut for being
    /// too narrow.
    own: [i64; N],
}

/// The call tree of `N` sample indices.
struct Tree<const N: usize> {
    nodes: Vec<Node<N>>,
    children: FxHashMap<u64, u32>,
}

impl<const N: usize> Tree<N> {
    /// The root alone, in every index's tree.
    fn new() -> Self {
        Tree {
            nodes: vec![Node {
                parent: ROOT,
                name: u32::MAX,
                present: u8::MAX,
                cut: 0,
                value: [0; N],
                own: [0; N],
            }],
            children: HashMap::default(),
        }
    }

    /// The indices for which the walk goes on beneath `node`.
    #[inline]
    fn live(&self, node: u32) -> u8 {
        let n = &self.nodes[node as usize];
        n.present & !n.cut
    }

    /// A new node under `parent`, for a level that finds its children in a table.
    fn add(&mut self, parent: u32, name: u32, created: &mut Vec<u32>) -> u32 {
        let id = self.nodes.len() as u32;
        self.nodes.push(Node {
            parent,
            name,
            present: 0,
            cut: 0,
            value: [0; N],
            own: [0; N],
        });
        created.push(id);
        id
    }

    /// The child `name` of `parent`, created on first use, for a level that hashes.
    fn child(&mut self, parent: u32, name: u32, created: &mut Vec<u32>) -> u32 {
        let key = (u64::from(parent) << 32) | u64::from(name);
        match self.children.get(&key) {
            Some(&id) => id,
            None => {
                let id = self.add(parent, name, created);
                self.children.insert(key, id);
                id
            }
        }
    }

    /// One line per node of index `i` with its own value: the path from the root, sorted.
    /// Names past the profile's are those of `elided`.
    fn lines(&self, frames: &FrameNames, elided: &[String], i: usize) -> Vec<String> {
        let name_of = |name: u32| -> &str {
            let name = name as usize;
            match frames.names.get(name) {
                Some(n) => n,
                None => elided
                    .get(name - frames.names.len())
                    .map_or("", String::as_str),
            }
        };
        let mut stacks: BTreeMap<String, i64> = BTreeMap::new();
        let mut path: Vec<&str> = Vec::new();
        for (id, node) in self.nodes.iter().enumerate().skip(1) {
            let own = node.own[i];
            if node.present & (1 << i) == 0 || node.cut & (1 << i) != 0 || own == 0 {
                continue;
            }
            path.clear();
            let mut at = id as u32;
            while at != ROOT {
                let n = &self.nodes[at as usize];
                path.push(name_of(n.name));
                at = n.parent;
            }
            path.reverse();
            *stacks.entry(path.join(";")).or_insert(0) += own;
        }
        stacks
            .into_iter()
            .map(|(stack, value)| format!("{stack} {value}"))
            .collect()
    }
}

fn clean(name: &str) -> Cow<'_, str> {
    if name.is_empty() {
        return Cow::Borrowed("[unknown]");
    }
    // Nearly every name needs nothing done: it is used as it is, not copied.
    let short = name.len() <= crate::text::NAME_MAX;
    if short && !name.contains(';') && !name.chars().any(crate::text::is_hazard) {
        return Cow::Borrowed(name);
    }
    let cleaned = crate::text::neutralise(name).replace(';', ":");
    Cow::Owned(crate::text::truncate(&cleaned, crate::text::NAME_MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Labels, Line, ProfileBuilder, ValueType};

    #[test]
    fn a_cursor_is_eight_bytes() {
        // One per sample of a production heap profile, a million of them, held for the walk.
        assert_eq!(std::mem::size_of::<super::Cursor<Packed>>(), 8);
        let place = Packed::new((1 << 24) - 1, 255);
        assert_eq!((place.bytes(), place.pending()), ((1 << 24) - 1, 255));
        assert!(Packed::fits((1 << 24) - 1, 255));
        assert!(!Packed::fits(1 << 24, 1));
        assert!(!Packed::fits(10, 256));
    }

    #[test]
    fn cursors_keep_their_samples_through_every_retain() {
        let samples = [0, 3, 63, 64, 65, 127, 128, 200, 1000];
        let mut cursors: Cursors<Packed> = Cursors::with_capacity(1001);
        for (i, &sample) in samples.iter().enumerate() {
            let place = Packed::new(i as u32, 0);
            cursors.push(sample, Cursor { node: 7, place });
        }
        let seen = |c: &Cursors<Packed>| -> Vec<(usize, u32)> {
            c.iter().map(|(s, c)| (s, c.place.bytes())).collect()
        };
        assert_eq!(
            seen(&cursors),
            samples.iter().copied().zip(0..).collect::<Vec<_>>()
        );
        // Each cursor is given its own sample; drop every other one, then the first.
        let mut given = Vec::new();
        cursors.retain(|sample, cursor| {
            given.push((sample, cursor.place.bytes()));
            cursor.place.bytes() % 2 == 0
        });
        assert_eq!(given, samples.iter().copied().zip(0..).collect::<Vec<_>>());
        assert_eq!(
            seen(&cursors),
            [(0, 0), (63, 2), (65, 4), (128, 6), (1000, 8)]
        );
        cursors.retain(|sample, _| sample != 0);
        assert_eq!(seen(&cursors), [(63, 2), (65, 4), (128, 6), (1000, 8)]);
        cursors.retain(|_, _| false);
        assert!(cursors.cursors.is_empty() && cursors.followed.iter().all(|&w| w == 0));
    }

    #[test]
    fn cursors_are_fetched_ahead_once_each_in_the_order_they_are_kept_or_dropped() {
        use std::cell::RefCell;
        // Several words of the bitmap, some empty, and more cursors than FETCH_AHEAD.
        let samples: Vec<usize> = (0..700).filter(|s| s % 3 == 0 || s % 64 == 63).collect();
        let mut cursors: Cursors<Packed> = Cursors::with_capacity(2000);
        for (i, &sample) in samples.iter().enumerate() {
            cursors.push(
                sample,
                Cursor {
                    node: 0,
                    place: Packed::new(i as u32, 0),
                },
            );
        }
        cursors.push(
            1999,
            Cursor {
                node: 0,
                place: Packed::new(9999, 0),
            },
        );
        for round in 0..4 {
            let before: Vec<(usize, u32)> =
                cursors.iter().map(|(s, c)| (s, c.place.bytes())).collect();
            let fetched = RefCell::new(Vec::new());
            let kept_or_dropped = RefCell::new(Vec::new());
            cursors.retain_fetching_ahead(
                |sample, cursor| fetched.borrow_mut().push((sample, cursor.place.bytes())),
                |sample, cursor| {
                    let done = kept_or_dropped.borrow().len();
                    // Every cursor up to FETCH_AHEAD past this one was fetched already.
                    assert_eq!(
                        fetched.borrow().len(),
                        before.len().min(done + 1 + FETCH_AHEAD),
                        "round {round}, cursor {done}"
                    );
                    kept_or_dropped
                        .borrow_mut()
                        .push((sample, cursor.place.bytes()));
                    (sample * 7 + round) % 3 != 0
                },
            );
            assert_eq!(fetched.into_inner(), before, "round {round}");
            assert_eq!(kept_or_dropped.into_inner(), before, "round {round}");
            let survivors: Vec<(usize, u32)> = before
                .iter()
                .copied()
                .filter(|&(s, _)| (s * 7 + round) % 3 != 0)
                .collect();
            let after: Vec<(usize, u32)> =
                cursors.iter().map(|(s, c)| (s, c.place.bytes())).collect();
            assert_eq!(after, survivors, "round {round}");
            assert_eq!(
                cursors
                    .followed
                    .iter()
                    .map(|w| w.count_ones() as usize)
                    .sum::<usize>(),
                survivors.len()
            );
        }
    }

    /// A builder of one `samples/count` type, and a function to add a one-frame location.
    fn builder() -> ProfileBuilder {
        ProfileBuilder::new(vec![ValueType {
            kind: "samples".into(),
            unit: "count".into(),
        }])
    }

    fn frame(b: &mut ProfileBuilder, address: u64, name: &str) -> usize {
        let function = b.function(name, "");
        b.location(
            address,
            &[Line {
                function,
                line: 0,
                column: 0,
            }],
        )
    }

    #[test]
    fn inlined_frames_fold_outermost_first_across_levels() {
        let mut b = builder();
        let root = frame(&mut b, 1, "main.main");
        // One location of three frames: `a` inlined `b`, which inlined `c` (leaf first).
        let [a, bee, c] = ["pkg.a", "pkg.b", "pkg.c"].map(|name| Line {
            function: b.function(name, ""),
            line: 0,
            column: 0,
        });
        let inlined = b.location(2, &[c, bee, a]);
        let leaf = frame(&mut b, 3, "pkg.leaf");
        b.sample(&[leaf, inlined, root], &[5], Labels::default())
            .unwrap();
        b.sample(&[inlined, root], &[2], Labels::default()).unwrap();
        let p = b.finish();
        assert_eq!(
            folded(&p, 0),
            [
                "main.main;pkg.a;pkg.b;pkg.c 2",
                "main.main;pkg.a;pkg.b;pkg.c;pkg.leaf 5"
            ]
        );
    }

    #[test]
    fn a_location_of_300_inlined_frames_folds_with_wide_cursors_as_packed_ones_would() {
        let mut b = builder();
        let root = frame(&mut b, 1, "main.main");
        let lines: Vec<Line> = (0..300)
            .map(|i| Line {
                function: b.function(&format!("pkg.f{i:03}"), ""),
                line: 0,
                column: 0,
            })
            .collect();
        let inlined = b.location(2, &lines);
        let leaf = frame(&mut b, 3, "pkg.leaf");
        b.sample(&[leaf, inlined, root], &[5], Labels::default())
            .unwrap();
        b.sample(&[inlined, root], &[2], Labels::default()).unwrap();
        b.sample(&[leaf, root], &[1], Labels::default()).unwrap();
        let p = b.finish();
        let chain: Vec<String> = (0..300).rev().map(|i| format!("pkg.f{i:03}")).collect();
        let chain = chain.join(";");
        let folded = folded_for_width(&p, 0, 0.0);
        assert_eq!(
            folded.lines,
            [
                format!("main.main;{chain} 2"),
                format!("main.main;{chain};pkg.leaf 5"),
                "main.main;pkg.leaf 1".to_string(),
            ]
        );
        // Both places give the same graph wherever both fit.
        let mut small = builder();
        let root = frame(&mut small, 1, "main.main");
        let middle = frame(&mut small, 2, "pkg.middle");
        let leaf = frame(&mut small, 3, "pkg.leaf");
        for (stack, value) in [(vec![leaf, middle, root], 5), (vec![middle, root], 2)] {
            small.sample(&stack, &[value], Labels::default()).unwrap();
        }
        let p = small.finish();
        let packed = fold::<Packed, 1>(&p, &FrameNames::new(&p), &[0], 0.0);
        let wide = fold::<Wide, 1>(&p, &FrameNames::new(&p), &[0], 0.0);
        assert_eq!(packed, wide);
        assert_eq!(packed[0].lines.len(), 2);
    }

    #[test]
    fn stacks_fold_root_first_and_merge() {
        let mut b = builder();
        let l1 = frame(&mut b, 1, "main.main");
        let l2 = frame(&mut b, 2, "weird;name\n\u{202e}");
        b.sample(&[l2, l1], &[3], Labels::default()).unwrap();
        b.sample(&[l2, l1], &[4], Labels::default()).unwrap();
        b.sample(&[l1], &[0], Labels::default()).unwrap();
        b.sample(&[], &[1], Labels::default()).unwrap();
        let p = b.finish();
        assert_eq!(
            folded(&p, 0),
            ["[no stack] 1", "main.main;weird:name \u{fffd} 7"]
        );
    }

    #[test]
    fn deep_stacks_are_cut_with_a_count_of_what_was_left_out() {
        let mut b = builder();
        let root = frame(&mut b, 1, "main.main");
        let deep = frame(&mut b, 2, "main.f");
        let mut stack = vec![deep; MAX_FRAMES + 9];
        stack.push(root);
        b.sample(&stack, &[5], Labels::default()).unwrap();
        let p = b.finish();
        let lines = folded(&p, 0);
        let frames: Vec<&str> = lines[0].rsplit_once(' ').unwrap().0.split(';').collect();
        assert_eq!(frames.len(), MAX_FRAMES + 1);
        assert_eq!(frames[0], "main.main");
        assert_eq!(frames[MAX_FRAMES - 1], "main.f");
        assert_eq!(frames[MAX_FRAMES], "[10 frames elided]");
    }

    #[test]
    fn several_indices_fold_in_one_walk_as_each_would_alone() {
        let mut b = ProfileBuilder::new(
            ["inuse_space", "alloc_space", "other"]
                .map(|kind| ValueType {
                    kind: kind.into(),
                    unit: "bytes".into(),
                })
                .to_vec(),
        );
        let locations: Vec<usize> = (0..6)
            .map(|i| frame(&mut b, i + 1, &format!("pkg.f{i}")))
            .collect();
        // A fixed pseudo-random walk: stacks of 1 to 8 frames over six functions, values
        // that are zero or negative in one index and not in another, so that the indices
        // cut different paths and follow different samples.
        let mut next = crate::test_rng::below(12345);
        for _ in 0..400 {
            let depth = 1 + next(8) as usize;
            let stack: Vec<usize> = (0..depth).map(|_| locations[next(6) as usize]).collect();
            let value = |v: u64| match v % 5 {
                0 => 0,
                1 => -3,
                _ => v as i64,
            };
            let values = [value(next(200)), value(next(900)), value(next(50))];
            b.sample(&stack, &values, Labels::default()).unwrap();
        }
        // One stack past the cut-off depth, counted in the second index only.
        let deep = vec![locations[0]; MAX_FRAMES + 3];
        b.sample(&deep, &[0, 500, 0], Labels::default()).unwrap();
        let p = b.finish();
        for share in [0.0, 0.004, 0.02, 0.1] {
            let together = folded_for_widths(&p, &[1, 0, 2], share, &crate::analyze::Sequential);
            let alone: Vec<Folded> = [1, 0, 2]
                .map(|index| folded_for_width(&p, index, share))
                .to_vec();
            assert_eq!(together, alone, "min_share {share}");
            assert!(together.iter().all(|f| !f.lines.is_empty()));
            // A large profile's two graphs, folded in two walks, in order.
            let split = fold_indices(&p, &[1, 0, 2], share, &crate::analyze::Sequential, true);
            assert_eq!(split, alone, "min_share {share}, split");
        }
        // The cuts differ between the indices, so the walk follows each its own way.
        let cut = folded_for_widths(&p, &[0, 1], 0.02, &crate::analyze::Sequential);
        assert_ne!(cut[0].narrow_paths, cut[1].narrow_paths);
        let all = folded_for_widths(&p, &[0, 1], 0.0, &crate::analyze::Sequential);
        assert!(all[1].lines.iter().any(|l| l.contains("frames elided]")));
        assert!(!all[0].lines.iter().any(|l| l.contains("frames elided]")));
    }

    #[test]
    fn narrow_paths_merge_into_their_callers() {
        let mut b = builder();
        let mut location = |name: &str| frame(&mut b, 0, name);
        let (root, wide, thin, thinner, alone) = (
            location("root"),
            location("wide"),
            location("thin"),
            location("thinner"),
            location("alone"),
        );
        b.sample(&[wide, root], &[90], Labels::default()).unwrap();
        b.sample(&[thinner, thin, root], &[4], Labels::default())
            .unwrap();
        b.sample(&[thin, root], &[1], Labels::default()).unwrap();
        // A top-level frame stays however thin: the graph keeps its full width.
        b.sample(&[alone], &[5], Labels::default()).unwrap();
        let p = b.finish();
        let all = folded_for_width(&p, 0, 0.0);
        assert_eq!(
            all.lines,
            [
                "alone 5",
                "root;thin 1",
                "root;thin;thinner 4",
                "root;wide 90"
            ]
        );
        assert_eq!((all.narrow_paths, all.narrow_value, all.total), (0, 0, 100));
        // Under 6% of 100: `thin` (5) goes into `root`, and `thinner` with it.
        let cut = folded_for_width(&p, 0, 0.06);
        assert_eq!(cut.lines, ["alone 5", "root 5", "root;wide 90"]);
        assert_eq!((cut.narrow_paths, cut.narrow_value, cut.total), (1, 5, 100));
        // Under 4.5%: `thin` (5) stays, `thinner` (4) goes into it.
        let cut = folded_for_width(&p, 0, 0.045);
        assert_eq!(cut.lines, ["alone 5", "root;thin 5", "root;wide 90"]);
        assert_eq!((cut.narrow_paths, cut.narrow_value), (1, 4));
    }
}
