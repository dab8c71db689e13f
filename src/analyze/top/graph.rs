//! pprof's graph for `top`: nodes at the chosen granularity, flat and cum per node from one
//! walk over the merged stacks, sorting, and the edges that decide `(inline)`.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use super::Granularity;
use super::merge::{Merged, StackAt, TotalSums};
use super::paths::{go_base, go_clean, trim_path};
use crate::analyze::Join;
use crate::analyze::frames::{KeyCounter, add_once};
use crate::analyze::language::LocationKeys;

/// pprof's `NodeInfo` for the chosen granularity (addresses are always aggregated away).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct NodeInfo {
    name: String,
    file: String,
    start_line: i64,
    lineno: i64,
    objfile: String,
}

impl NodeInfo {
    /// pprof's `PrintableName` (NameComponents joined by spaces).
    fn printable_name(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.name.is_empty() {
            parts.push(self.name.clone());
        }
        if self.lineno != 0 {
            parts.push(format!("{}:{}", self.file, self.lineno));
        } else if !self.file.is_empty() {
            parts.push(self.file.clone());
        } else if !self.name.is_empty() {
        } else if !self.objfile.is_empty() {
            parts.push(format!("[{}]", go_base(&self.objfile)));
        } else {
            parts.push("<unknown>".to_string());
        }
        parts.join(" ")
    }

    /// `fmt.Sprint(info)` in Go, pprof's last tie-breaker when sorting.
    fn go_sprint(&self) -> String {
        format!(
            "{{{}  0 {} {} {} {}}}",
            self.name, self.file, self.start_line, self.lineno, self.objfile
        )
    }
}

/// The graph nodes of the aggregated profile: each location's frames mapped to node ids.
pub(super) struct Nodes {
    infos: Vec<NodeInfo>,
    names: Vec<String>,
    /// Per merged location: node ids, innermost frame first.
    by_location: Vec<Vec<u32>>,
}

impl Nodes {
    pub(super) fn build(merged: &Merged, granularity: Granularity) -> Nodes {
        let (keep_function, keep_file, keep_line) = match granularity {
            Granularity::Functions => (true, false, false),
            Granularity::FileFunctions => (true, true, false),
            Granularity::Files => (false, true, false),
            Granularity::Lines => (true, true, true),
        };
        let mut ids: FxHashMap<NodeInfo, u32> = FxHashMap::default();
        let mut infos: Vec<NodeInfo> = Vec::new();
        // A named function's node depends on the function (and line) alone, not on the
        // location: found once, not once per location it appears in.
        let mut named_nodes: FxHashMap<(usize, i64), u32> = FxHashMap::default();
        let mut by_location = Vec::with_capacity(merged.locations.len());
        for location in &merged.locations {
            let lines = &location.lines;
            let objfile = location.objfile;
            let mut location_nodes = Vec::with_capacity(lines.len().max(1));
            let mut add = |info: NodeInfo| {
                let next = infos.len() as u32;
                let id = *ids.entry(info.clone()).or_insert(next);
                if id == next {
                    infos.push(info);
                }
                id
            };
            if location.hidden {
                // `-hide`/`-show` took every frame: the location leaves the stacks.
                by_location.push(location_nodes);
                continue;
            }
            if lines.is_empty() {
                location_nodes.push(add(NodeInfo {
                    name: String::new(),
                    file: String::new(),
                    start_line: 0,
                    lineno: 0,
                    objfile: objfile.to_string(),
                }));
            }
            for &(function, line) in lines {
                let f = &merged.functions[function];
                let lineno = if keep_line { line } else { 0 };
                let named = keep_function && !f.name.is_empty();
                if named && let Some(&id) = named_nodes.get(&(function, lineno)) {
                    location_nodes.push(id);
                    continue;
                }
                let name = if keep_function {
                    f.name.to_string()
                } else {
                    String::new()
                };
                let file = if keep_file && !f.filename.is_empty() {
                    go_clean(trim_path(f.filename))
                } else {
                    String::new()
                };
                let id = add(NodeInfo {
                    name,
                    file,
                    start_line: if named { 0 } else { f.start_line },
                    lineno,
                    objfile: if named {
                        String::new()
                    } else {
                        objfile.to_string()
                    },
                });
                if named {
                    named_nodes.insert((function, lineno), id);
                }
                location_nodes.push(id);
            }
            by_location.push(location_nodes);
        }
        let names = infos.iter().map(NodeInfo::printable_name).collect();
        Nodes {
            infos,
            names,
            by_location,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.infos.len()
    }

    pub(super) fn printable_name(&self, node: u32) -> &str {
        &self.names[node as usize]
    }
}

/// One built graph: flat and cum per node id, and the ids of the nodes in the graph.
pub(super) struct Built {
    pub(super) flat: Vec<i64>,
    pub(super) cum: Vec<i64>,
    pub(super) nodes: Vec<u32>,
    /// The column's sums for pprof's total ([`Merged::total_from`]), taken in the walk.
    pub(super) sums: TotalSums,
}

impl Built {
    pub(super) fn is_node(&self, n: usize) -> bool {
        self.flat[n] != 0 || self.cum[n] != 0
    }

    /// The graph pprof builds again with only the `kept` nodes (see [`Graph::build`]); all
    /// of them when `None`.
    pub(super) fn restrict(&self, kept: Option<&[bool]>) -> Built {
        Built {
            flat: self.flat.clone(),
            cum: self.cum.clone(),
            sums: self.sums,
            nodes: self
                .nodes
                .iter()
                .copied()
                .filter(|&n| kept.is_none_or(|k| k[n as usize]))
                .collect(),
        }
    }

    /// pprof's FlatNameOrder / CumNameOrder, with the same tie-breakers.
    pub(super) fn sort(&mut self, nodes: &Nodes, cum_sort: bool) {
        let (flat, cum) = (&self.flat, &self.cum);
        self.nodes.sort_by(|&l, &r| {
            let (l, r) = (l as usize, r as usize);
            let (primary, secondary) = if cum_sort {
                (
                    cum[r].abs().cmp(&cum[l].abs()),
                    flat[r].abs().cmp(&flat[l].abs()),
                )
            } else {
                (
                    flat[r].abs().cmp(&flat[l].abs()),
                    cum[r].abs().cmp(&cum[l].abs()),
                )
            };
            primary
                .then_with(|| nodes.names[l].cmp(&nodes.names[r]))
                .then(secondary)
                .then_with(|| nodes.infos[l].go_sprint().cmp(&nodes.infos[r].go_sprint()))
        });
    }
}

const NONE: u32 = u32::MAX;
/// Merged samples from which [`Graph::build`] counts two halves side by side. A walk of
/// that many stacks takes milliseconds, a thread tens of microseconds; the small real sets
/// (a few thousand samples a profile) stay on one thread, with no thread's fresh pages.
const PARALLEL_SAMPLES: usize = 1 << 16;

/// Builds the graph over the merged samples (pprof's newGraph), reusing scratch space.
pub(super) struct Graph<'a> {
    merged: &'a Merged<'a>,
    nodes: &'a Nodes,
    /// Per source profile: its locations' nodes (innermost first), flattened, so that a
    /// walk goes from the source's packed stack to nodes without a merged-location step.
    sources: Vec<NodeTable>,
}

/// Nodes of each location of one source, flattened: `nodes[starts[l]..starts[l + 1]]`.
struct NodeTable {
    starts: Vec<u32>,
    nodes: Vec<u32>,
}

/// What [`Graph::count_range`] counts over some of the merged samples: flat and cum per node
/// and column (`node * width + column`), each column's sums for its total, and the keys
/// counted beside the nodes.
struct Counted<'k> {
    flat: Vec<i64>,
    cum: Vec<i64>,
    sums: Vec<TotalSums>,
    keys: Option<(LocationKeys<'k>, KeyCounter)>,
}

impl Counted<'_> {
    /// Adds what was counted over other samples of the same graph.
    fn add(&mut self, other: Counted<'_>) {
        let (flat, cum) = (self.flat.iter_mut(), self.cum.iter_mut());
        for (a, b) in flat.zip(other.flat).chain(cum.zip(other.cum)) {
            *a += b;
        }
        for (a, b) in self.sums.iter_mut().zip(other.sums) {
            a.add(b);
        }
        if let (Some((_, a)), Some((_, b))) = (&mut self.keys, &other.keys) {
            a.merge(b);
        }
    }
}

/// In [`single_node_and_key`]'s table: the location has several nodes or keys, or none.
const NO_SINGLE: u64 = u64::MAX;

/// Per location of `table`: its one node and one key as `node << 32 | key`, or
/// [`NO_SINGLE`].
fn single_node_and_key(table: &NodeTable, keys: &LocationKeys<'_>) -> Vec<u64> {
    (0..table.starts.len().saturating_sub(1).min(keys.locations()))
        .map(|location| match (table.of(location), keys.of(location)) {
            (&[node], &[key]) if node != NONE && key != NONE => {
                u64::from(node) << 32 | u64::from(key)
            }
            _ => NO_SINGLE,
        })
        .collect()
}

impl NodeTable {
    #[inline]
    fn of(&self, location: usize) -> &[u32] {
        &self.nodes[self.starts[location] as usize..self.starts[location + 1] as usize]
    }
}

/// What the edge pass needs of one view: its column, its kept and shown nodes, its cutoff.
pub(super) struct EdgeView<'v> {
    pub(super) column: usize,
    pub(super) kept: Option<&'v [bool]>,
    pub(super) shown: &'v [u32],
    pub(super) cutoff: i64,
}

impl<'a> Graph<'a> {
    pub(super) fn new(merged: &'a Merged<'a>, nodes: &'a Nodes) -> Self {
        let sources = merged
            .sources
            .iter()
            .map(|(_, map)| {
                let mut table = NodeTable {
                    starts: Vec::with_capacity(map.len() + 1),
                    nodes: Vec::with_capacity(map.len()),
                };
                for &merged_location in map {
                    table.starts.push(table.nodes.len() as u32);
                    table
                        .nodes
                        .extend_from_slice(&nodes.by_location[merged_location as usize]);
                }
                table.starts.push(table.nodes.len() as u32);
                table
            })
            .collect();
        Graph {
            merged,
            nodes,
            sources,
        }
    }

    /// Calls `visit(node, inline)` for every node of sample `s`'s stack from the root to
    /// the leaf; `inline` says the frame was inlined into the next one out (it is not its
    /// location's outermost frame).
    #[inline]
    fn walk(&self, s: usize, scratch: &mut Vec<u32>, mut visit: impl FnMut(u32, bool)) {
        let skip = self.merged.skip_of(s);
        match self.merged.stack_at(s) {
            StackAt::Source {
                source,
                sample: index,
            } => {
                let (profile, _) = &self.merged.sources[source as usize];
                let table = &self.sources[source as usize];
                let mut stack = profile.sample(index as usize).locations();
                for _ in 0..skip {
                    stack.next();
                }
                for location in stack.rev() {
                    let nodes = table.of(location);
                    let outermost = nodes.len().wrapping_sub(1);
                    for (ni, &n) in nodes.iter().enumerate().rev() {
                        visit(n, ni != outermost);
                    }
                }
            }
            StackAt::Owned(_) => {
                self.merged.stack(s, scratch);
                for &location in scratch.iter().rev() {
                    let nodes = &self.nodes.by_location[location as usize];
                    let outermost = nodes.len().wrapping_sub(1);
                    for (ni, &n) in nodes.iter().enumerate().rev() {
                        visit(n, ni != outermost);
                    }
                }
            }
        }
    }

    /// Walks every sample from the root: cum once per node per sample, flat to the leaf, for
    /// every column at once. Samples of value 0 in a column count nothing there (pprof skips
    /// them).
    ///
    /// pprof builds the graph again after dropping nodes (under the node fraction, past the
    /// node count), skipping the dropped ones. That changes no kept node's numbers: cum is
    /// still counted once per sample, and flat still goes to the leaf's node only when that
    /// node is kept (otherwise the sample's last edge is residual and nobody gets flat). So
    /// the numbers are computed once and the rebuilt graphs are this one restricted to
    /// their nodes ([`Built::restrict`]); only the edges, which decide `(inline)`, need the
    /// kept set ([`Graph::inline_labels`]).
    pub(super) fn build(
        &mut self,
        keys: Option<(LocationKeys<'_>, &mut KeyCounter)>,
        join: &impl Join,
    ) -> Vec<Built> {
        let count = self.nodes.len();
        let width = self.merged.width;
        let samples = self.merged.samples.len();
        let table = keys.as_ref().map(|(table, _)| *table);
        let fresh = || table.map(|t| (t, KeyCounter::new(t.count(), width)));
        // A large profile's samples are counted in two halves side by side, whose sums
        // add up: the walk is the memory analysis's longest part, and it would otherwise
        // finish alone after every other analysis.
        let Counted {
            flat,
            cum,
            sums,
            keys: counted,
        } = if samples >= PARALLEL_SAMPLES {
            let this = &*self;
            let half = samples / 2;
            let (mut first, second) = join.join(
                || this.count_range(0..half, fresh()),
                || this.count_range(half..samples, fresh()),
            );
            first.add(second);
            first
        } else {
            self.count_range(0..samples, fresh())
        };
        if let (Some((_, into)), Some((_, counted))) = (keys, counted) {
            into.merge(&counted);
        }
        (0..width)
            .map(|column| {
                let flat: Vec<i64> = (0..count).map(|n| flat[n * width + column]).collect();
                let cum: Vec<i64> = (0..count).map(|n| cum[n * width + column]).collect();
                let nodes = (0..count as u32)
                    .filter(|&n| flat[n as usize] != 0 || cum[n as usize] != 0)
                    .collect();
                Built {
                    flat,
                    cum,
                    nodes,
                    sums: sums[column],
                }
            })
            .collect()
    }

    /// What the merged samples `range` count ([`Counted`]), with the width known at compile
    /// time when it is a usual one: a heap profile's four columns are then added as one
    /// fixed block per frame instead of a loop of unknown length.
    fn count_range<'k>(
        &self,
        range: std::ops::Range<usize>,
        keys: Option<(LocationKeys<'k>, KeyCounter)>,
    ) -> Counted<'k> {
        match self.merged.width {
            1 => self.count_range_of::<1>(range, keys),
            2 => self.count_range_of::<2>(range, keys),
            3 => self.count_range_of::<3>(range, keys),
            4 => self.count_range_of::<4>(range, keys),
            _ => self.count_range_of::<0>(range, keys),
        }
    }

    /// [`Graph::count_range`] for `W` columns (`0`: the merged width, read at run time).
    fn count_range_of<'k, const W: usize>(
        &self,
        range: std::ops::Range<usize>,
        mut keys: Option<(LocationKeys<'k>, KeyCounter)>,
    ) -> Counted<'k> {
        let count = self.nodes.len();
        let width = if W == 0 { self.merged.width } else { W };
        let mut flat = vec![0i64; count * width];
        let mut cum = vec![0i64; count * width];
        let mut seen = vec![NONE; count];
        let mut sums = vec![TotalSums::default(); width];
        let mut values = Vec::with_capacity(width);
        let mut scratch = Vec::new();
        // Counting keys beside the nodes reads each location once for both. The caller
        // passes keys only when every stack is its source profile's whole stack
        // ([`Merged::whole_source_stacks`]).
        let whole = keys.is_some();
        // A location with one node and one key (no inlined frames: most of them) gives
        // both from one read.
        let single = match &keys {
            Some((keys, _)) => single_node_and_key(&self.sources[0], keys),
            None => Vec::new(),
        };
        for s in range {
            self.merged.values_into(s, &mut values);
            let values = &values[..width];
            let diff_base = self.merged.diff_base_at(s);
            for (sum, &value) in sums.iter_mut().zip(values) {
                sum.count(value, diff_base);
            }
            let mut leaf = NONE;
            let mut count_node = |n: u32| {
                add_once(&mut cum, &mut seen, (n as usize, width), s as u32, values);
                leaf = n;
            };
            match (&mut keys, self.merged.stack_at(s)) {
                (Some((keys, counter)), StackAt::Source { sample, .. }) if whole => {
                    let (profile, _) = &self.merged.sources[0];
                    let table = &self.sources[0];
                    counter.start_stack();
                    let mut leaf_key = NONE;
                    for location in profile.sample(sample as usize).locations().rev() {
                        if let Some(&pair) = single.get(location)
                            && pair != NO_SINGLE
                        {
                            count_node((pair >> 32) as u32);
                            leaf_key = pair as u32;
                            counter.count_cum_of::<W>(leaf_key, values);
                            continue;
                        }
                        for &n in table.of(location).iter().rev() {
                            count_node(n);
                        }
                        for &k in keys.of(location).iter().rev() {
                            counter.count_cum_of::<W>(k, values);
                            leaf_key = k;
                        }
                    }
                    if leaf_key != NONE {
                        counter.count_flat(leaf_key, values);
                    }
                }
                _ => self.walk(s, &mut scratch, |n, _| count_node(n)),
            }
            if leaf != NONE {
                let at = leaf as usize * width;
                for (f, v) in flat[at..at + width].iter_mut().zip(values) {
                    *f += v;
                }
            }
        }
        Counted {
            flat,
            cum,
            sums,
            keys,
        }
    }

    /// pprof's `(inline)` / `(partial-inline)` labels of each view's shown nodes: a node is
    /// inline when the calls into it that survive the edge cutoff were inlined into their
    /// caller. Edges run between a view's kept nodes (a dropped node between two kept ones
    /// makes the edge residual, which does not matter here); only edges into shown nodes are
    /// counted, and one walk over the stacks serves every view.
    pub(super) fn inline_labels(&mut self, all_views: &[EdgeView<'_>]) -> Vec<Vec<&'static str>> {
        let count = self.nodes.len();
        // An edge is inline when its callee's frame is not the outermost of its location,
        // so a node that is outermost wherever it appears has no inline edge and no label:
        // only views showing a node that is somewhere inlined need the walk.
        let mut inlined = vec![false; count];
        for nodes in &self.nodes.by_location {
            for &n in nodes.iter().take(nodes.len().saturating_sub(1)) {
                inlined[n as usize] = true;
            }
        }
        let needed: Vec<bool> = all_views
            .iter()
            .map(|v| v.shown.iter().any(|&n| inlined[n as usize]))
            .collect();
        let views: Vec<&EdgeView<'_>> = all_views
            .iter()
            .zip(&needed)
            .filter(|(_, needed)| **needed)
            .map(|(v, _)| v)
            .collect();
        let mut walked = if views.is_empty() {
            Vec::new().into_iter()
        } else {
            self.walk_edges(&views).into_iter()
        };
        all_views
            .iter()
            .zip(&needed)
            .map(|(view, needed)| match needed {
                true => walked.next().unwrap_or_default(),
                false => vec![""; view.shown.len()],
            })
            .collect()
    }

    /// The edge walk of [`Graph::inline_labels`], for the views that need it.
    fn walk_edges(&mut self, views: &[&EdgeView<'_>]) -> Vec<Vec<&'static str>> {
        let count = self.nodes.len();
        let mut edges: Vec<Edges> = views.iter().map(|v| Edges::new(v.shown, count)).collect();
        let mut parents = vec![NONE; views.len()];
        let mut values = Vec::with_capacity(self.merged.width);
        let mut scratch = Vec::new();
        for s in 0..self.merged.samples.len() {
            self.merged.values_into(s, &mut values);
            let values = values.as_slice();
            parents.fill(NONE);
            self.walk(s, &mut scratch, |n, inline| {
                for ((view, edges), parent) in views.iter().zip(&mut edges).zip(&mut parents) {
                    let w = values[view.column];
                    if w == 0 || view.kept.is_some_and(|k| !k[n as usize]) {
                        continue;
                    }
                    if *parent != NONE && n != *parent {
                        edges.add(*parent, n, w, inline, s as u32);
                    }
                    *parent = n;
                }
            });
        }
        views
            .iter()
            .zip(edges)
            .map(|(view, edges)| edges.labels(view.cutoff))
            .collect()
    }
}

/// The edges into one view's shown nodes: (weight, every contribution inline, last sample
/// counted) per (caller, shown callee), in a dense table while it stays small, else a map.
struct Edges {
    shown_at: Vec<u32>,
    shown: usize,
    count: usize,
    table: Vec<(i64, bool, u32)>,
    map: HashMap<(u32, u32), (i64, bool, u32)>,
}

impl Edges {
    fn new(shown: &[u32], count: usize) -> Self {
        let mut shown_at = vec![NONE; count];
        for (position, &n) in shown.iter().enumerate() {
            shown_at[n as usize] = position as u32;
        }
        let dense = shown.len().saturating_mul(count) <= 1 << 18;
        Edges {
            shown_at,
            shown: shown.len(),
            count,
            table: if dense {
                vec![(0, true, NONE); shown.len() * count]
            } else {
                Vec::new()
            },
            map: HashMap::new(),
        }
    }

    /// Counts the edge parent → n once per sample.
    #[inline]
    fn add(&mut self, parent: u32, n: u32, w: i64, inline: bool, sample: u32) {
        let at = self.shown_at[n as usize];
        if at == NONE {
            return;
        }
        let edge = if self.table.is_empty() {
            self.map.entry((parent, at)).or_insert((0, true, NONE))
        } else {
            &mut self.table[at as usize * self.count + parent as usize]
        };
        if edge.2 != sample {
            edge.2 = sample;
            edge.0 += w;
            edge.1 &= inline;
        }
    }

    fn labels(&self, cutoff: i64) -> Vec<&'static str> {
        let mut state = vec![(false, false); self.shown];
        let mut mark = |at: usize, &(weight, inline, last): &(i64, bool, u32)| {
            if last == NONE || weight.abs() < cutoff {
                return;
            }
            if inline {
                state[at].0 = true;
            } else {
                state[at].1 = true;
            }
        };
        if self.table.is_empty() {
            for (&(_, at), edge) in &self.map {
                mark(at as usize, edge);
            }
        } else {
            for (i, edge) in self.table.iter().enumerate() {
                mark(i / self.count, edge);
            }
        }
        state
            .iter()
            .map(|state| match state {
                (true, true) => "(partial-inline)",
                (true, false) => "(inline)",
                _ => "",
            })
            .collect()
    }
}
