//! Hot paths: the few call paths that carry a profile's largest costs, from the first
//! application frame (counting from the goroutine's start) down to where the cost is spent,
//! with the cum at each step, as a hand-written investigation shows them
//! (`readPoller → Poll → AppendListeningPorts → parseProcNetFile → bufio.ReadSlice → read`).
//! Each step's cum is the value of the samples whose stack, from its first application
//! frame, starts with the path up to that step: on a path without branching it is pprof's
//! `-peek` edge weight.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::frames::{FunctionKeys, FunctionStacks};
use super::names::{is_application_package, package_of};
use crate::profile::Profile;
use crate::units;

/// How many paths a view shows.
pub const PATHS: usize = 3;

/// The steps a path shows at most: runs of steps that carry the same value are shortened
/// first, then the middle of the path.
const MAX_STEPS: usize = 12;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The function (`tailscale.com/portlist.(*Poller).Run`); empty for an elision.
    pub function: String,
    /// Its cum on this path, as the top tables print values.
    pub cum_text: String,
    /// The same as a share of the profile's total (`48.87%`).
    pub share_text: String,
    /// How many steps an elision stands for (0 for a function).
    #[serde(default)]
    pub elided: usize,
}

/// One hot path, from the first application frame to the leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotPath {
    /// The value the path carries: at its first step, or for a path branching off an
    /// earlier one at the branch, as a share of the total (`48.87%`).
    pub share_text: String,
    /// The value at its last step (what is spent where the path ends), as a share.
    pub leaf_share_text: String,
    /// The steps, first application frame first.
    pub steps: Vec<Step>,
}

struct Node {
    function: u32,
    cum: i64,
    children: Vec<usize>,
}

/// The hot paths of `profile`'s sample type `index`: at most [`PATHS`], heaviest first.
/// The first follows the heaviest child from the heaviest first application frame until a
/// node spends more itself than any child carries; each next one starts at the heaviest
/// branch not yet taken (another first frame, or a sibling off an earlier path).
pub fn hot_paths(profile: &Profile, index: usize, unit: &str, out_unit: &str) -> Vec<HotPath> {
    let stacks = FunctionStacks::new(profile);
    let packages = FunctionKeys::new(profile, package_of);
    let application: Vec<bool> = packages
        .names
        .iter()
        .map(|p| is_application_package(p))
        .collect();
    let is_application = |f: u32| application[packages.of(f) as usize];
    hot_paths_with(profile, index, (unit, out_unit), &stacks, &is_application)
}

/// [`hot_paths`] with the stacks and the application's functions a caller already has
/// (the CPU analysis).
pub fn hot_paths_with(
    profile: &Profile,
    index: usize,
    (unit, out_unit): (&str, &str),
    stacks: &FunctionStacks,
    is_application: &dyn Fn(u32) -> bool,
) -> Vec<HotPath> {
    let mut nodes = vec![Node {
        function: u32::MAX,
        cum: 0,
        children: Vec::new(),
    }];
    // (parent, function) → child: one map for the whole tree.
    let mut edges: FxHashMap<(usize, u32), usize> = FxHashMap::default();
    let mut total = 0i64;
    let mut functions: Vec<u32> = Vec::new();
    for sample in profile.samples() {
        let value = sample.value(index);
        total += value;
        if value == 0 {
            continue;
        }
        stacks.sample_named(sample, &mut functions);
        // From the root down: the first application frame starts the path.
        let Some(start) = functions.iter().rposition(|&f| is_application(f)) else {
            continue;
        };
        let mut node = 0;
        nodes[0].cum += value;
        for &function in functions[..=start].iter().rev() {
            let next = *edges.entry((node, function)).or_insert_with(|| {
                nodes.push(Node {
                    function,
                    cum: 0,
                    children: Vec::new(),
                });
                let child = nodes.len() - 1;
                nodes[node].children.push(child);
                child
            });
            nodes[next].cum += value;
            node = next;
        }
    }
    if total == 0 {
        return Vec::new();
    }
    let name = |f: u32| {
        profile
            .functions
            .get(f as usize)
            .map_or("", |f| f.name.as_str())
    };
    // Children heaviest first, ties by name, so that the same profile gives the same paths.
    let ordered = |node: usize| -> Vec<usize> {
        let mut children: Vec<usize> = nodes[node].children.clone();
        children.sort_by(|&a, &b| {
            nodes[b]
                .cum
                .cmp(&nodes[a].cum)
                .then_with(|| name(nodes[a].function).cmp(name(nodes[b].function)))
        });
        children
    };
    // Candidates: (node, the path above it).
    let mut candidates: Vec<(usize, Vec<usize>)> =
        ordered(0).into_iter().map(|c| (c, Vec::new())).collect();
    let mut paths = Vec::new();
    while paths.len() < PATHS && !candidates.is_empty() {
        let best = candidates
            .iter()
            .enumerate()
            .max_by(|(i, a), (j, b)| nodes[a.0].cum.cmp(&nodes[b.0].cum).then(j.cmp(i)))
            .map(|(i, _)| i)
            .unwrap_or(0);
        let (start, mut path) = candidates.swap_remove(best);
        let mut node = start;
        loop {
            path.push(node);
            let children = ordered(node);
            let Some(&heaviest) = children.first() else {
                break;
            };
            let own = nodes[node].cum - children.iter().map(|&c| nodes[c].cum).sum::<i64>();
            if own > nodes[heaviest].cum {
                break;
            }
            for &sibling in &children[1..] {
                candidates.push((sibling, path.clone()));
            }
            node = heaviest;
        }
        // The kernel entry points under a system call's wrapper say nothing the wrapper
        // (`syscall.read`) does not: the path ends at the wrapper.
        while path.len() > 1
            && path.last().is_some_and(|&n| {
                super::runtime::role(name(nodes[n].function))
                    == Some(super::runtime::Role::SyscallLeaf)
            })
        {
            path.pop();
        }
        let share = |v: i64| units::percentage(v, total).trim().to_string();
        let steps: Vec<Step> = path
            .iter()
            .map(|&n| Step {
                function: name(nodes[n].function).to_string(),
                cum_text: units::scaled_label(nodes[n].cum, unit, out_unit),
                share_text: share(nodes[n].cum),
                elided: 0,
            })
            .collect();
        let values: Vec<i64> = path.iter().map(|&n| nodes[n].cum).collect();
        let ours: Vec<bool> = path
            .iter()
            .map(|&n| is_application(nodes[n].function))
            .collect();
        paths.push(HotPath {
            // A path branching off an earlier one carries what its branch carries.
            share_text: share(nodes[start].cum),
            leaf_share_text: share(values.last().copied().unwrap_or(0)),
            steps: shorten(steps, &values, &ours),
        });
    }
    paths
}

/// A path cut to at most [`MAX_STEPS`] steps: within each run of steps carrying the same
/// value (a chain of wrappers) only the first and last stay; then runs of standard-library
/// frames between the application's keep their first (the call into the library) and the
/// path's last step; then the middle goes.
fn shorten(steps: Vec<Step>, values: &[i64], application: &[bool]) -> Vec<Step> {
    let steps = if steps.len() > MAX_STEPS {
        let last = steps.len() - 1;
        let mut kept: Vec<Step> = Vec::new();
        let mut kept_values: Vec<i64> = Vec::new();
        let mut skipped = 0;
        for (i, step) in steps.into_iter().enumerate() {
            let library_inside = !application[i] && i > 0 && !application[i - 1] && i != last;
            if library_inside {
                skipped += 1;
                continue;
            }
            if skipped > 0 {
                kept.push(Step {
                    function: String::new(),
                    cum_text: String::new(),
                    share_text: String::new(),
                    elided: skipped,
                });
                kept_values.push(-1);
                skipped = 0;
            }
            kept.push(step);
            kept_values.push(values[i]);
        }
        return shorten_runs(kept, &kept_values);
    } else {
        steps
    };
    shorten_runs(steps, values)
}

/// [`shorten`] without the library runs: equal-value runs, then the middle. Elisions
/// already made carry the value -1.
fn shorten_runs(steps: Vec<Step>, values: &[i64]) -> Vec<Step> {
    let elision = |count: usize| Step {
        function: String::new(),
        cum_text: String::new(),
        share_text: String::new(),
        elided: count,
    };
    let mut out: Vec<Step> = Vec::new();
    let mut i = 0;
    while i < steps.len() {
        let mut j = i;
        while j + 1 < steps.len() && values[i] >= 0 && values[j + 1] == values[i] {
            j += 1;
        }
        out.push(steps[i].clone());
        if j - i >= 2 {
            out.push(elision(j - i - 1));
        }
        if j > i {
            out.push(steps[j].clone());
        }
        i = j + 1;
    }
    if out.len() > MAX_STEPS {
        let keep = MAX_STEPS - 1;
        let head = keep / 2;
        let tail = keep - head;
        let dropped: usize = out[head..out.len() - tail]
            .iter()
            .map(|s| if s.elided > 0 { s.elided } else { 1 })
            .sum();
        let mut cut: Vec<Step> = out[..head].to_vec();
        cut.push(elision(dropped));
        for step in &out[out.len() - tail..] {
            // One elision where two would meet.
            match cut.last_mut() {
                Some(last) if last.elided > 0 && step.elided > 0 => last.elided += step.elided,
                _ => cut.push(step.clone()),
            }
        }
        out = cut;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str) -> Step {
        Step {
            function: name.to_string(),
            cum_text: String::new(),
            share_text: String::new(),
            elided: 0,
        }
    }

    #[test]
    fn runs_of_equal_value_keep_their_ends() {
        let steps: Vec<Step> = ["a", "b", "c", "d", "e"].iter().map(|n| step(n)).collect();
        let out = shorten(steps, &[10, 8, 8, 8, 8], &[true; 5]);
        let names: Vec<(&str, usize)> = out
            .iter()
            .map(|s| (s.function.as_str(), s.elided))
            .collect();
        assert_eq!(names, [("a", 0), ("b", 0), ("", 2), ("e", 0)]);
        let long: Vec<Step> = (0..30).map(|i| step(&format!("f{i}"))).collect();
        let values: Vec<i64> = (0..30).map(|i| 100 - i).collect();
        let out = shorten(long.clone(), &values, &[true; 30]);
        assert_eq!(out.len(), MAX_STEPS);
        assert_eq!(out[5].elided, 19);
        assert_eq!(out.last().map(|s| s.function.as_str()), Some("f29"));
        // Library frames between the application's go first: their first stays.
        let mut ours = [true; 30];
        for o in ours.iter_mut().skip(10).take(15) {
            *o = false;
        }
        let out = shorten(long, &values, &ours);
        let names: Vec<&str> = out.iter().map(|s| s.function.as_str()).collect();
        assert!(out.len() <= MAX_STEPS, "{names:?}");
        assert!(
            !names.contains(&"f11") && names.contains(&"f29"),
            "{names:?}"
        );
        let represented: usize = out.iter().map(|s| s.elided.max(1)).sum();
        assert_eq!(represented, 30, "{names:?}");
        assert!(
            out.windows(2)
                .all(|w| !(w[0].elided > 0 && w[1].elided > 0)),
            "{names:?}"
        );
    }
}
