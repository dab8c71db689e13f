//! What each metric measures on the set.

use super::*;

/// A share in percent as the findings print it (`12.34%`, `<0.01%`).
pub fn percent_text(share: f64) -> String {
    if share == 0.0 || share >= 0.01 {
        format!("{share:.2}%")
    } else {
        "<0.01%".to_string()
    }
}

/// The share of a profile's sample type in samples for which `hit` holds.
pub(super) fn stack_share<'a>(
    profile: &'a Profile,
    kind: &str,
    hit: impl Fn(SampleRef<'a>) -> bool,
) -> Option<(f64, i64, i64, Vec<bool>)> {
    let index = profile.sample_index_of(kind)?;
    let mut mask = Vec::with_capacity(profile.samples.len());
    let (mut matched, mut total) = (0i64, 0i64);
    for sample in profile.samples() {
        let value = sample.value(index);
        total += value;
        let hit = hit(sample);
        if hit {
            matched += value;
        }
        mask.push(hit);
    }
    let share = if total == 0 {
        0.0
    } else {
        matched as f64 / total as f64 * 100.0
    };
    Some((share, matched, total, mask))
}

/// Entries searched for at most by [`stack_share_of_locations`] before it walks the stacks
/// instead: on the 400k-stack heap profile of bench/large.sh, one search of its 16 MB of
/// stacks took about 1 ms of CPU, the walk it replaced about 17 (perf).
const HELD_SEARCHES: usize = 16;

/// [`stack_share`] of the samples with a location marked in `hits` on their stack. Most
/// rules' patterns match no location of a given profile: then no stack is walked (a rule
/// walked the 25 million frames of a production heap profile to find nothing).
pub(super) fn stack_share_of_locations(
    profile: &Profile,
    kind: &str,
    hits: &[bool],
) -> Option<(f64, i64, i64, Vec<bool>)> {
    if hits.contains(&true) {
        // Few locations (a function or two): their entries are searched for in the packed
        // stacks; many (a package's): every stack is walked once.
        match profile.samples.holding(hits, HELD_SEARCHES) {
            Some(held) => stack_share(profile, kind, |sample| held[sample.index()]),
            None => stack_share(profile, kind, |sample| sample.locations().any(|l| hits[l])),
        }
    } else {
        stack_share(profile, kind, |_| false)
    }
}

pub(super) fn share_measurement(
    what: String,
    subject: String,
    share: f64,
    mask: Option<Mask>,
) -> Measurement {
    Measurement {
        value: share,
        text: format!("{share:.2}%"),
        what,
        subject,
        goroutines: None,
        mask,
        ..Default::default()
    }
}

/// Per location: whether one of its (named) frames' functions matches `regex`; each
/// function is tested once.
pub(super) fn function_hits(profile: &Profile, regex: &Regex) -> Vec<bool> {
    location_hits(profile, &name_matches(profile, regex))
}

/// Per function: whether its name matches `regex`.
pub(super) fn name_matches(profile: &Profile, regex: &Regex) -> Vec<bool> {
    profile
        .functions
        .iter()
        .map(|f| regex.is_match(&f.name))
        .collect()
}

/// Per location: whether one of its frames' functions is marked in `matches`.
pub(super) fn location_hits(profile: &Profile, matches: &[bool]) -> Vec<bool> {
    profile
        .locations
        .iter()
        .map(|l| l.lines.iter().any(|line| matches[line.function]))
        .collect()
}

/// True for a frame that is the code of the service or of a library it links, rather than
/// the Go runtime or standard library: what a caller worth naming is.
pub(super) fn is_code_frame(name: &str) -> bool {
    !crate::analyze::names::is_standard_package(crate::analyze::names::package_of(name))
}

/// The module a Go function's package most likely belongs to, by the usual shapes of module
/// paths: three elements on the code hosts (`github.com/klauspost/compress`), two elsewhere
/// (`go.uber.org/zap`), the package itself in the standard library.
pub(super) fn module_of(function: &str) -> &str {
    let package = crate::analyze::names::package_of(function);
    let host = package.split('/').next().unwrap_or("");
    let elements = if matches!(
        host,
        "github.com" | "gitlab.com" | "bitbucket.org" | "golang.org"
    ) {
        3
    } else {
        2
    };
    match package.match_indices('/').nth(elements - 1) {
        Some((end, _)) => &package[..end],
        None => package,
    }
}

/// Each function's module (as an interned number) and whether it is a code frame, worked
/// out on first use: a large profile repeats the same few thousand functions over millions
/// of frames, and the string work per frame was most of a report's time. On first use, not
/// for every function up front as `FunctionKeys` does: each rule attributes a few samples of
/// a small profile, and working out all of them per rule cost the 8-member sim-57 report 4%
/// more instructions (callgrind, 166.2M → 173.5M).
struct ModuleCache<'p> {
    profile: &'p Profile,
    /// Per function: its module's number, or `UNSET`.
    module: Vec<u32>,
    /// Per function: 0 unknown, 1 not code, 2 code.
    code: Vec<u8>,
    numbers: std::collections::HashMap<&'p str, u32>,
}

impl<'p> ModuleCache<'p> {
    const UNSET: u32 = u32::MAX;

    fn new(profile: &'p Profile) -> Self {
        ModuleCache {
            profile,
            module: vec![Self::UNSET; profile.functions.len()],
            code: vec![0; profile.functions.len()],
            numbers: Default::default(),
        }
    }

    fn module(&mut self, function: u32) -> u32 {
        let slot = &mut self.module[function as usize];
        if *slot == Self::UNSET {
            let module = module_of(&self.profile.functions[function as usize].name);
            let next = self.numbers.len() as u32;
            *slot = *self.numbers.entry(module).or_insert(next);
        }
        *slot
    }

    fn is_code(&mut self, function: u32) -> bool {
        let slot = &mut self.code[function as usize];
        if *slot == 0 {
            *slot = 1 + u8::from(is_code_frame(
                &self.profile.functions[function as usize].name,
            ));
        }
        *slot == 2
    }

    /// Whether `function` may be named as the caller of code in module `module`: code of the
    /// service or a library, of another module (a library's own wrappers, gzhttp around
    /// gzip, are not who calls it).
    fn may_call(&mut self, function: usize, module: u32) -> bool {
        self.is_code(function as u32) && self.module(function as u32) != module
    }
}

/// At most this many entry modules get a table of callers per location in [`attribute`]: a
/// table is a word per location, and a pattern matching the functions of many modules gets
/// tables for the first few while the others scan.
const MAX_TABLES: usize = 8;

/// Per entry module, the first function of each location that may be named its caller
/// ([`ModuleCache::may_call`]), worked out on first use, or for every location at once when
/// `eager`: a deep stack is then one table load per frame.
struct CallerTables {
    eager: bool,
    tables: rustc_hash::FxHashMap<u32, CallerTable>,
}

/// One entry module's table, and whether any location has a caller for it (known only for
/// a table filled at once).
struct CallerTable {
    slots: Vec<u32>,
    none_at_all: bool,
}

impl CallerTables {
    const UNKNOWN: u32 = u32::MAX;
    const NONE: u32 = u32::MAX - 1;

    fn new(eager: bool) -> Self {
        CallerTables {
            eager,
            tables: Default::default(),
        }
    }

    /// The first function of the locations `above` (leaf first) that may call code in
    /// module `module`. The module's table is looked up once per stack, not per frame.
    fn first_caller(
        &mut self,
        profile: &Profile,
        modules: &mut ModuleCache,
        module: u32,
        mut above: impl Iterator<Item = usize>,
    ) -> Option<usize> {
        let mut find = |location: usize| {
            profile.locations[location]
                .lines
                .iter()
                .map(|line| line.function)
                .find(|&f| modules.may_call(f, module))
        };
        if !self.tables.contains_key(&module) && self.tables.len() >= MAX_TABLES {
            return above.find_map(find);
        }
        let eager = self.eager;
        let table = self.tables.entry(module).or_insert_with(|| {
            let slots: Vec<u32> = if eager {
                (0..profile.locations.len())
                    .map(|l| find(l).map_or(Self::NONE, |f| f as u32))
                    .collect()
            } else {
                vec![Self::UNKNOWN; profile.locations.len()]
            };
            let none_at_all = eager && slots.iter().all(|&s| s == Self::NONE);
            CallerTable { slots, none_at_all }
        });
        if table.none_at_all {
            return None;
        }
        above.find_map(|l| {
            let slot = &mut table.slots[l];
            if *slot == Self::UNKNOWN {
                *slot = find(l).map_or(Self::NONE, |f| f as u32);
            }
            (*slot != Self::NONE).then_some(*slot as usize)
        })
    }
}

/// The function matched on most of the masked samples' value, counting per sample the
/// outermost matching frame (the entry into the matched code), and the code calling it:
/// the nearest frame above that is not the Go runtime or standard library, else the
/// direct caller. Ties go to the lower function index, so the result is stable.
pub(super) fn attribute(
    profile: &Profile,
    kind: &str,
    mask: &[bool],
    matches: &[bool],
) -> Option<Attribution> {
    let index = profile.sample_index_of(kind)?;
    let mut modules = ModuleCache::new(profile);
    // Locations, not functions, are walked per sample: a location holds one function or a
    // few inlined ones, and only the one holding the outermost match is opened up.
    let hits = location_hits(profile, matches);
    // Tables of callers filled up front when there are more samples to attribute than
    // locations: then a module that nothing in the profile may call is known at once, and
    // its samples' stacks are not searched for a caller (a service whose sites are called
    // by its own module's code only, the usual case, searched every stack to its root).
    let masked = mask.iter().filter(|&&m| m).count();
    let mut callers = CallerTables::new(masked > profile.locations.len());
    // (entry, caller) → value, hashed per sample and put in order once at the end.
    let mut tally: rustc_hash::FxHashMap<(u32, Option<u32>), i64> = Default::default();
    for (sample, hit) in profile.samples().zip(mask) {
        if !*hit {
            continue;
        }
        // The outermost matching location, and what is above it, read without collecting
        // the stack.
        let mut stack = sample.locations();
        let mut outer = None;
        while let Some(location) = stack.next() {
            if hits[location] {
                outer = Some((location, stack.clone()));
            }
        }
        let Some((outer, above)) = outer else {
            continue;
        };
        // The functions of the location holding the outermost match, innermost first.
        let lines = &profile.locations[outer].lines;
        let Some(entry_line) = lines.iter().rposition(|l| matches[l.function]) else {
            continue;
        };
        let entry = lines[entry_line].function as u32;
        let module = modules.module(entry);
        let in_entry_location = lines[entry_line + 1..].iter().map(|l| l.function);
        // The nearest code above from another module, else the direct caller.
        let direct = in_entry_location.clone().next().or_else(|| {
            above
                .clone()
                .find_map(|l| profile.locations[l].lines.first())
                .map(|l| l.function)
        });
        let caller = in_entry_location
            .clone()
            .find(|&f| modules.may_call(f, module))
            .or_else(|| callers.first_caller(profile, &mut modules, module, above))
            .or(direct)
            .map(|f| f as u32);
        *tally.entry((entry, caller)).or_default() += sample.value(index);
    }
    let tally: std::collections::BTreeMap<(u32, Option<u32>), i64> = tally.into_iter().collect();
    let mut by_entry: std::collections::BTreeMap<u32, i64> = Default::default();
    for ((entry, _), value) in &tally {
        *by_entry.entry(*entry).or_default() += value;
    }
    let top = best(&by_entry)?;
    let caller = best(
        &tally
            .iter()
            .filter(|((entry, caller), _)| *entry == top && caller.is_some())
            .filter_map(|((_, caller), value)| caller.map(|c| (c, *value)))
            .fold(std::collections::BTreeMap::new(), |mut m, (c, v)| {
                *m.entry(c).or_insert(0i64) += v;
                m
            }),
    );
    let name = |f: u32| profile.functions[f as usize].name.clone();
    Some(Attribution {
        top: name(top),
        caller: caller.map(name),
    })
}

/// The key with the largest value (the first such key on a tie).
pub(super) fn best(values: &std::collections::BTreeMap<u32, i64>) -> Option<u32> {
    let mut best: Option<(u32, i64)> = None;
    for (&key, &value) in values {
        if best.is_none_or(|(_, v)| value > v) {
            best = Some((key, value));
        }
    }
    best.map(|(key, _)| key)
}

/// The leaf function of a sample (pprof's flat): the innermost frame of its first location.
pub(super) fn leaf_function(profile: &Profile, sample: SampleRef<'_>) -> Option<usize> {
    sample
        .locations()
        .next()
        .and_then(|l| profile.locations[l].lines.first())
        .map(|line| line.function)
}

/// Allocated bytes and objects per allocation site (leaf function), from one pass.
pub(super) fn sites(profile: &Profile, kind: &str) -> Option<(Vec<i64>, Vec<i64>, i64)> {
    let index = profile.sample_index_of(kind)?;
    let objects_index = profile.sample_index_of(if kind == "inuse_space" {
        "inuse_objects"
    } else {
        "alloc_objects"
    });
    let mut bytes = vec![0i64; profile.functions.len()];
    let mut objects = vec![0i64; profile.functions.len()];
    let mut total = 0i64;
    for sample in profile.samples_for_leaves() {
        let value = sample.value(index);
        total += value;
        if let Some(f) = leaf_function(profile, sample) {
            bytes[f] += value;
            objects[f] += objects_index.map_or(0, |i| sample.value(i));
        }
    }
    Some((bytes, objects, total))
}

/// `large_allocations`: the share of allocated bytes at sites whose objects average at
/// least [`crate::rules::LARGE_OBJECT_BYTES`]; the subject names the largest such site.
pub(super) fn large_allocations(profile: &Profile) -> Option<Measurement> {
    let (bytes, objects, total) = sites(profile, "alloc_space")?;
    let large: Vec<bool> = bytes
        .iter()
        .zip(&objects)
        .map(|(&b, &o)| o > 0 && b as f64 / o as f64 >= crate::rules::LARGE_OBJECT_BYTES)
        .collect();
    let matched: i64 = bytes
        .iter()
        .zip(&large)
        .filter(|(_, l)| **l)
        .map(|(b, _)| b)
        .sum();
    let share = if total == 0 {
        0.0
    } else {
        matched as f64 / total as f64 * 100.0
    };
    let mask: Vec<bool> = profile
        .samples_for_leaves()
        .map(|s| leaf_function(profile, s).is_some_and(|f| large[f]))
        .collect();
    let top = (0..bytes.len())
        .filter(|&f| large[f])
        .max_by_key(|&f| (bytes[f], std::cmp::Reverse(f)));
    let subject = top.map_or_else(String::new, |f| {
        format!(
            "{} ({} per object, {} of allocated bytes)",
            profile.functions[f].name,
            units::label(
                (bytes[f] as f64 / objects[f] as f64).round() as i64,
                "bytes"
            ),
            percent_text(bytes[f] as f64 / total.max(1) as f64 * 100.0)
        )
    });
    let attribution = top.and_then(|f| {
        let mut only = vec![false; profile.functions.len()];
        only[f] = true;
        attribute(profile, "alloc_space", &mask, &only)
    });
    Some(Measurement {
        attribution,
        ..share_measurement(
            format!(
                "allocated bytes at sites averaging {} or more per object",
                units::label(crate::rules::LARGE_OBJECT_BYTES as i64, "bytes")
            ),
            subject,
            share,
            Some(Mask::Alloc(mask)),
        )
    })
}

/// `inuse_top_site`: the share of in-use heap bytes at the site holding most. When that
/// site is a `sync.Pool`'s New function (called from `sync.(*Pool).Get`), the caller named
/// is the code that calls Get: the pool's user keeps the objects alive, not New.
pub(super) fn inuse_top_site(profile: &Profile) -> Option<Measurement> {
    let (bytes, _, total) = sites(profile, "inuse_space")?;
    let top = (0..bytes.len()).max_by_key(|&f| (bytes[f], std::cmp::Reverse(f)))?;
    let share = if total == 0 {
        0.0
    } else {
        bytes[top] as f64 / total as f64 * 100.0
    };
    let mask: Vec<bool> = profile
        .samples_for_leaves()
        .map(|s| leaf_function(profile, s) == Some(top))
        .collect();
    // Names are compared once per function, not once per frame.
    let gets: Vec<bool> = profile
        .functions
        .iter()
        .map(|f| f.name == "sync.(*Pool).Get")
        .collect();
    let get_locations = location_hits(profile, &gets);
    let through_pool = gets.contains(&true)
        && profile
            .samples()
            .zip(&mask)
            .any(|(s, hit)| *hit && s.locations().any(|l| get_locations[l]));
    let mut matches = vec![false; profile.functions.len()];
    if through_pool {
        // The entry is Get; its caller is the pool's user.
        matches = gets;
    } else {
        matches[top] = true;
    }
    let attribution = attribute(profile, "inuse_space", &mask, &matches).map(|a| Attribution {
        top: profile.functions[top].name.clone(),
        caller: a.caller,
    });
    let site = &profile.functions[top].name;
    let subject = match (&attribution, through_pool) {
        (
            Some(Attribution {
                caller: Some(caller),
                ..
            }),
            true,
        ) => format!(
            "{site}, a sync.Pool New function, whose objects are taken with sync.(*Pool).Get by {caller}"
        ),
        _ => site.clone(),
    };
    Some(Measurement {
        attribution,
        ..share_measurement(
            "in-use heap allocated at the one site holding most".to_string(),
            subject,
            share,
            Some(Mask::Heap(mask)),
        )
    })
}

/// The language packages are read in: the evidence's, else Go's (the rules' own).
pub(super) fn language(evidence: &Evidence) -> Language {
    evidence.language.unwrap_or(Language::Go)
}

pub(super) fn measure(
    condition: &Condition,
    evidence: &Evidence,
    shared: &Shared,
) -> Option<Measurement> {
    let pattern = condition.regex();
    let pattern_text = condition.pattern.clone().unwrap_or_default();
    match condition.metric {
        Metric::CpuFunction | Metric::CpuPackage => {
            let profile = evidence.cpu_profile?;
            let regex = pattern?;
            let by_package = condition.metric == Metric::CpuPackage;
            // The CPU analysis's packages when it read the same profile in the same
            // language, else worked out once for every rule.
            let packages = by_package.then(|| {
                let from_cpu = evidence
                    .cpu
                    .and_then(|c| c.frame_packages.0.as_deref())
                    .filter(|p| p.language() == language(evidence));
                match from_cpu {
                    Some(packages) => packages,
                    None => shared
                        .cpu_packages
                        .get_or_init(|| FramePackages::new(profile, language(evidence))),
                }
            });
            let hits = match packages {
                Some(packages) => packages.location_hits(|p| regex.is_match(p)),
                None => function_hits(profile, &regex),
            };
            let (share, _, _, mask) = stack_share_of_locations(profile, "cpu", &hits)?;
            let noun = if by_package { "package" } else { "function" };
            // Who is named only matters when the rule fires: the attribution walks the
            // matched samples only.
            let attribution = (share > 0.0)
                .then(|| {
                    let matches = match packages {
                        Some(packages) => packages.function_hits(|p| regex.is_match(p)),
                        None => name_matches(profile, &regex),
                    };
                    attribute(profile, "cpu", &mask, &matches)
                })
                .flatten();
            Some(Measurement {
                attribution,
                ..share_measurement(
                    format!("CPU with a {noun} on the stack matching"),
                    pattern_text,
                    share,
                    Some(Mask::Cpu(mask)),
                )
            })
        }
        Metric::CpuFlatFunction => {
            let profile = evidence.cpu_profile?;
            let regex = pattern?;
            let matches = name_matches(profile, &regex);
            // pprof's flat, by location: the leaf location's functions, the innermost and
            // those it was inlined into, so that a primitive the compiler inlined into its
            // caller (Go 1.27's RWMutex.RLock, whose leaf line is sync/atomic's Add) still
            // counts as its own cost. `runtime.asyncPreempt` is pushed onto the stack of
            // the code a signal interrupted, so under it the location below is the leaf.
            let matched = |l: usize| {
                profile.locations[l]
                    .lines
                    .iter()
                    .any(|line| matches[line.function])
            };
            let preempt = |l: usize| {
                profile.locations[l].lines.first().is_some_and(|line| {
                    profile.functions[line.function].name == "runtime.asyncPreempt"
                })
            };
            let (share, _, _, mask) = stack_share(profile, "cpu", |sample| {
                let mut locations = sample.locations();
                match locations.next() {
                    Some(leaf) if matched(leaf) => true,
                    Some(leaf) if preempt(leaf) => locations.next().is_some_and(matched),
                    _ => false,
                }
            })?;
            let attribution = attribute(profile, "cpu", &mask, &matches);
            Some(Measurement {
                attribution,
                ..share_measurement(
                    "CPU in a function matching (flat, as the leaf)".to_string(),
                    pattern_text,
                    share,
                    Some(Mask::Cpu(mask)),
                )
            })
        }
        Metric::CpuCategory | Metric::CpuCategories => {
            let profile = evidence.cpu_profile?;
            let (name, regex) = if condition.metric == Metric::CpuCategory {
                (condition.name.clone()?, None)
            } else {
                let regex = pattern?;
                let names: Vec<&str> = cpu::CATEGORIES
                    .iter()
                    .copied()
                    .filter(|c| regex.is_match(c))
                    .collect();
                (names.join(" and "), Some(regex))
            };
            let in_category = |category: &str| match &regex {
                Some(regex) => regex.is_match(category),
                None => category == name,
            };
            let index = profile.sample_index_of("cpu")?;
            let stacks = FunctionStacks::new(profile);
            let flags = shared
                .cpu_flags
                .get_or_init(|| cpu::CategoryFlags::new(profile));
            let mut functions: Vec<u32> = Vec::new();
            let mut mask = Vec::with_capacity(profile.samples.len());
            let (mut matched, mut total) = (0i64, 0i64);
            for sample in profile.samples() {
                stacks.sample_named(sample, &mut functions);
                let hit = in_category(flags.category(&functions));
                total += sample.value(index);
                if hit {
                    matched += sample.value(index);
                }
                mask.push(hit);
            }
            let share = if total == 0 {
                0.0
            } else {
                matched as f64 / total as f64 * 100.0
            };
            let what = if regex.is_some() {
                format!("CPU in the categories {name}")
            } else {
                format!("CPU in the {name} category")
            };
            Some(share_measurement(what, name, share, Some(Mask::Cpu(mask))))
        }
        Metric::InuseFunction => {
            let profile = evidence.heap.or(evidence.allocs)?;
            let regex = pattern?;
            let hits = function_hits(profile, &regex);
            let (share, _, _, mask) = stack_share_of_locations(profile, "inuse_space", &hits)?;
            Some(share_measurement(
                "in-use heap allocated under a function matching".to_string(),
                pattern_text,
                share,
                Some(Mask::Heap(mask)),
            ))
        }
        Metric::AllocPackage | Metric::AllocFunction | Metric::AllocObjectsFunction => {
            let profile = allocations(evidence)?;
            let regex = pattern?;
            let by_package = condition.metric == Metric::AllocPackage;
            // By package: each function's own package (not the binary a location may
            // name), worked out once for every rule.
            let matches = if by_package {
                shared
                    .alloc_packages
                    .get_or_init(|| FramePackages::new(profile, language(evidence)))
                    .function_hits(|p| regex.is_match(p))
            } else {
                name_matches(profile, &regex)
            };
            let hits = location_hits(profile, &matches);
            let objects = condition.metric == Metric::AllocObjectsFunction;
            let kind = if objects {
                "alloc_objects"
            } else {
                "alloc_space"
            };
            let (share, _, _, mask) = stack_share_of_locations(profile, kind, &hits)?;
            let bytes = if objects {
                let index = profile.sample_index_of("alloc_space")?;
                Some(
                    profile
                        .samples()
                        .zip(&mask)
                        .filter(|(_, hit)| **hit)
                        .map(|(s, _)| s.value(index) as f64)
                        .sum(),
                )
            } else {
                None
            };
            let noun = if by_package { "package" } else { "function" };
            let what = if objects {
                format!("allocated objects under a {noun} matching")
            } else {
                format!("allocated bytes under a {noun} matching")
            };
            let attribution = attribute(profile, kind, &mask, &matches);
            Some(Measurement {
                bytes,
                attribution,
                ..share_measurement(what, pattern_text, share, Some(Mask::Alloc(mask)))
            })
        }
        Metric::LargeAllocations => {
            let profile = allocations(evidence)?;
            large_allocations(profile)
        }
        Metric::CpuUnbufferedSocketWrites => {
            super::socket_writes::unbuffered_socket_writes(evidence.cpu_profile?)
        }
        Metric::CpuEntryPoint => {
            let profile = evidence.cpu_profile?;
            let entries = shared.entry_points(profile)?;
            super::entry_points::entry_point(profile, entries, evidence)
        }
        Metric::CpuPerUnit => super::entry_points::per_unit(
            evidence.cpu_profile.and_then(|p| shared.entry_points(p)),
            evidence,
        ),
        Metric::InuseTopSite => {
            let profile = evidence.heap.or(evidence.allocs)?;
            inuse_top_site(profile)
        }
        Metric::GoroutinesPerInstance => {
            let g = evidence.goroutines?;
            let instances = g.instances.as_ref()?;
            Some(Measurement {
                value: instances.total_per_instance,
                text: instances.total_per_instance_text.clone(),
                what: format!(
                    "goroutines per inferred instance ({} instances)",
                    instances.instances
                ),
                subject: instances.summary_text.clone(),
                goroutines: Some(g.totals.total as f64),
                mask: None,
                ..Default::default()
            })
        }
        Metric::LeakedGoroutines => {
            let count = evidence.leaked_goroutines?;
            Some(Measurement {
                value: count as f64,
                text: count.to_string(),
                what: "goroutines the runtime proved leaked".to_string(),
                subject: String::new(),
                goroutines: Some(count as f64),
                mask: None,
                ..Default::default()
            })
        }
        Metric::GoroutinesFunction => {
            let profile = evidence.goroutine_profile?;
            let regex = pattern?;
            let index = profile.sample_index_of("goroutine").unwrap_or(0);
            let hits = function_hits(profile, &regex);
            let count: i64 = profile
                .samples()
                .filter(|&s| s.locations().any(|l| hits[l]))
                .map(|s| s.value(index))
                .sum();
            Some(Measurement {
                value: count as f64,
                text: count.to_string(),
                what: "goroutines with a function on the stack matching".to_string(),
                subject: pattern_text,
                goroutines: Some(count as f64),
                mask: None,
                ..Default::default()
            })
        }
        Metric::GoroutineGroupFactor => {
            let g = evidence.goroutines?;
            let regex = pattern?;
            let matched: Vec<_> = g
                .groups
                .rows
                .iter()
                .filter(|row| regex.is_match(&row.label))
                .collect();
            let factor = matched.iter().filter_map(|r| r.instance_factor).max()?;
            let goroutines: u64 = matched.iter().map(|r| r.goroutines).sum();
            // Each distinct factor once, with how many groups show it: `944 = 16 × 59 in each
            // of 3 groups`, not the same product three times.
            let mut factors: Vec<(String, usize)> = Vec::new();
            for text in matched
                .iter()
                .filter_map(|r| r.instance_factor_text.as_ref())
            {
                match factors.iter_mut().find(|(t, _)| t == text) {
                    Some((_, n)) => *n += 1,
                    None => factors.push((text.clone(), 1)),
                }
            }
            let subject = factors
                .iter()
                .map(|(text, n)| match n {
                    1 => text.clone(),
                    n => format!("{text} in each of {n} groups"),
                })
                .collect::<Vec<_>>()
                .join("; ");
            Some(Measurement {
                value: factor as f64,
                text: factor.to_string(),
                what: "goroutines per instance in the groups whose name matches".to_string(),
                subject,
                goroutines: Some(goroutines as f64),
                mask: None,
                ..Default::default()
            })
        }
        Metric::InstancesDiffer => {
            let g = evidence.goroutines?;
            let instances = g.instances.as_ref()?;
            let differs = instances.matches_declared == Some(false);
            Some(Measurement {
                value: if differs { 1.0 } else { 0.0 },
                text: instances
                    .declared_note
                    .clone()
                    .unwrap_or_else(|| format!("{} instances", instances.instances)),
                what: "inferred instances against declared services".to_string(),
                subject: instances
                    .declared_note
                    .clone()
                    .unwrap_or_else(|| format!("{} instances", instances.instances)),
                goroutines: None,
                mask: None,
                ..Default::default()
            })
        }
        Metric::ProfileEmpty => {
            let name = condition.name.as_deref()?;
            let analysis = match name {
                "mutex" => evidence.mutex?,
                "block" => evidence.block?,
                _ => return None,
            };
            let empty = analysis.verdict == Verdict::ProfilingOff;
            Some(Measurement {
                value: if empty { 1.0 } else { 0.0 },
                text: if empty { "empty" } else { "has samples" }.to_string(),
                what: format!("{name} profile collected without samples"),
                subject: name.to_string(),
                goroutines: None,
                mask: None,
                ..Default::default()
            })
        }
        Metric::ProfileRecorded => {
            let name = condition.name.as_deref()?;
            let analysis = match name {
                "mutex" => evidence.mutex,
                "block" => evidence.block,
                _ => return None,
            };
            let verdict = analysis.map(|a| a.verdict);
            let recorded = matches!(verdict, Some(Verdict::Recorded | Verdict::NoDelay));
            let text = match verdict {
                Some(Verdict::Recorded | Verdict::NoDelay) => "has samples",
                Some(Verdict::ProfilingOff) => "empty",
                _ => "not collected",
            };
            Some(Measurement {
                value: if recorded { 1.0 } else { 0.0 },
                text: text.to_string(),
                what: format!("{name} profile collected with samples"),
                subject: name.to_string(),
                ..Default::default()
            })
        }
        Metric::MutexDelay => {
            let mutex = evidence.mutex?;
            if mutex.verdict != Verdict::Recorded {
                return None;
            }
            let seconds = mutex.total_delay as f64 / 1e9;
            if let Some(window) = mutex.window_seconds() {
                return Some(Measurement {
                    value: seconds / window,
                    text: format!("{:.3}s", seconds / window),
                    what: format!("mutex delay per second of the {window:.2} s window"),
                    subject: "mutex".to_string(),
                    goroutines: None,
                    mask: None,
                    ..Default::default()
                });
            }
            let (value, text, what) = match evidence.uptime_seconds.filter(|u| *u > 0.0) {
                Some(uptime) => (
                    seconds / uptime,
                    format!("{:.3}s", seconds / uptime),
                    "mutex delay per second of uptime".to_string(),
                ),
                None => (
                    seconds,
                    format!("{seconds:.3}s (in total; no uptime to divide by)"),
                    "mutex delay in total".to_string(),
                ),
            };
            Some(Measurement {
                value,
                text,
                what,
                subject: "mutex".to_string(),
                goroutines: None,
                mask: None,
                ..Default::default()
            })
        }
        Metric::MutexHolder => contention_metrics::mutex_holder(evidence),
        Metric::LockQueue => contention_metrics::lock_queue(condition, evidence, false),
        Metric::LockQueueShare => contention_metrics::lock_queue(condition, evidence, true),
        Metric::BlockedSendShare => contention_metrics::blocked_sends(evidence, false),
        Metric::BlockedSendDelay => contention_metrics::blocked_sends(evidence, true),
        Metric::GomaxprocsAboveQuota => super::gomaxprocs::measure(evidence),
        Metric::ModuleVersionBelow => {
            let g = evidence.goroutines?;
            let regex = pattern?;
            let minimum = condition.version.as_deref()?;
            let old: Vec<String> = g
                .modules
                .iter()
                .filter(|m| regex.is_match(&m.module) && version_below(&m.version, minimum))
                .map(|m| format!("{}@{}", m.module, m.version))
                .collect();
            Some(Measurement {
                value: if old.is_empty() { 0.0 } else { 1.0 },
                text: old.join(", "),
                what: format!("modules below {minimum} whose path matches"),
                subject: old.join(", "),
                goroutines: None,
                mask: None,
                ..Default::default()
            })
        }
    }
}

/// Semantic-version comparison of `v1.86.5`-style versions; pre-release and pseudo-versions
/// compare by their numeric core.
pub fn version_below(version: &str, minimum: &str) -> bool {
    let core = |v: &str| -> Vec<u64> {
        v.trim_start_matches('v')
            .split(['-', '+'])
            .next()
            .unwrap_or("")
            .split('.')
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    core(version) < core(minimum)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cpu profile of `stacks` (leaf first; each location's functions innermost first, an
    /// empty location being an unsymbolized address), one sample of `value` per stack.
    fn profile_of(stacks: &[(&[&[&str]], i64)]) -> Profile {
        use crate::profile::{Labels, Line, ProfileBuilder, ValueType};
        let mut builder = ProfileBuilder::new(vec![ValueType {
            kind: "cpu".into(),
            unit: "nanoseconds".into(),
        }]);
        let mut address = 0x1000;
        for (stack, value) in stacks {
            let locations: Vec<usize> = stack
                .iter()
                .map(|names| {
                    let lines: Vec<Line> = names
                        .iter()
                        .map(|name| Line {
                            function: builder.function(name, "x.go"),
                            line: 1,
                            column: 0,
                        })
                        .collect();
                    address += 1;
                    builder.location(address, &lines)
                })
                .collect();
            builder
                .sample(&locations, &[*value], Labels::default())
                .unwrap();
        }
        builder.finish()
    }

    #[test]
    fn a_share_of_locations_is_the_share_of_the_stacks_holding_them() {
        let profile = profile_of(&[
            (&[&["a"], &["b"]], 30),
            (&[&["c"]], 50),
            (&[&["b"], &["c"]], 20),
        ]);
        let walked = |hits: &[bool]| {
            stack_share(&profile, "cpu", |sample| {
                sample.locations().any(|l| hits[l])
            })
            .unwrap()
        };
        for hits in [vec![false; 5], vec![false, true, false, false, false]] {
            assert_eq!(
                stack_share_of_locations(&profile, "cpu", &hits).unwrap(),
                walked(&hits)
            );
        }
        let (share, matched, total, mask) =
            stack_share_of_locations(&profile, "cpu", &[false; 5]).unwrap();
        assert_eq!((share, matched, total), (0.0, 0, 100));
        assert_eq!(mask, [false; 3]);
    }

    #[test]
    fn attribution_of_more_samples_than_locations_names_the_same_callers() {
        use crate::profile::{Labels, Line, ProfileBuilder, ValueType};
        let site = "example.com/shop/cache.(*Cache).fill";
        let own = "example.com/shop/cache.(*Cache).Get";
        let other = "example.com/gateway/api.serve";
        // `own_stacks` stacks of site ← own ← goexit, and one through `other` if `via_other`,
        // sharing their locations as a real profile's stacks do.
        let profile_of = |own_stacks: i64, via_other: bool| {
            let mut b = ProfileBuilder::new(vec![ValueType {
                kind: "cpu".into(),
                unit: "nanoseconds".into(),
            }]);
            let location = |name: &str| {
                let function = b.function(name, "x.go");
                let line = Line {
                    function,
                    line: 1,
                    column: 0,
                };
                b.location(function as u64 + 1, &[line])
            };
            let [site, own, other, root] = [site, own, other, "runtime.goexit"].map(location);
            for i in 0..own_stacks {
                b.sample(&[site, own, root], &[10 + i], Labels::default())
                    .unwrap();
            }
            if via_other {
                b.sample(&[site, own, other, root], &[1000], Labels::default())
                    .unwrap();
            }
            b.finish()
        };
        // A few stacks get their callers' tables filled on first use, more stacks than
        // locations at once; the callers named are the same.
        for (count, via_other, caller) in [
            // Called by its own module's code only, nothing of another module anywhere:
            // the direct caller.
            (1, false, own),
            (12, false, own),
            // Code of another module above in one stack, the heaviest: named.
            (1, true, other),
            (12, true, other),
        ] {
            let profile = profile_of(count, via_other);
            assert_eq!(profile.locations.len(), 4);
            let matches: Vec<bool> = profile.functions.iter().map(|f| f.name == site).collect();
            let mask = vec![true; profile.samples.len()];
            let attribution = attribute(&profile, "cpu", &mask, &matches).unwrap();
            assert_eq!(
                attribution.caller.as_deref(),
                Some(caller),
                "{count} stacks"
            );
        }
    }

    #[test]
    fn attribution_names_the_outermost_match_and_the_nearest_code_of_another_module() {
        let zip = "github.com/klauspost/compress/zstd.(*Encoder).EncodeAll";
        let zip_wrapper = "github.com/klauspost/compress/gzhttp.(*GzipResponseWriter).Write";
        let handler = "example.com/shop/api.(*Server).serve";
        let profile = profile_of(&[
            // The match is inlined into the library's own wrapper, beneath an unsymbolized
            // frame and the standard library: the caller is the service's handler.
            (
                &[
                    &["runtime.memmove"],
                    &[zip, zip_wrapper],
                    &[],
                    &["net/http.HandlerFunc.ServeHTTP"],
                    &[handler],
                    &["net/http.(*conn).serve"],
                ],
                70,
            ),
            // The same entry twice in one stack counts once, at the outermost.
            (&[&[zip], &[zip], &[handler]], 20),
            // Only the standard library above: the direct caller.
            (&[&[zip], &["net/http.(*conn).serve"]], 5),
            // No match: not counted.
            (&[&["main.main"]], 1000),
        ]);
        let matches: Vec<bool> = profile.functions.iter().map(|f| f.name == zip).collect();
        let mask = vec![true; profile.samples.len()];
        let attribution = attribute(&profile, "cpu", &mask, &matches).unwrap();
        assert_eq!(attribution.top, zip);
        assert_eq!(attribution.caller.as_deref(), Some(handler));
        // Masked to the last two stacks with a match: handler 20 against net/http 5.
        let mask = [false, true, true, false];
        let attribution = attribute(&profile, "cpu", &mask, &matches).unwrap();
        assert_eq!(attribution.caller.as_deref(), Some(handler));
        let mask = [false, false, true, false];
        let attribution = attribute(&profile, "cpu", &mask, &matches).unwrap();
        assert_eq!(
            attribution.caller.as_deref(),
            Some("net/http.(*conn).serve")
        );
        // Inlined into the standard library, with only the runtime above: the direct
        // caller is the function it was inlined into.
        let inlined = profile_of(&[(&[&[zip, "bufio.(*Writer).Flush"], &["runtime.goexit"]], 3)]);
        let matches: Vec<bool> = inlined.functions.iter().map(|f| f.name == zip).collect();
        let attribution = attribute(&inlined, "cpu", &[true], &matches).unwrap();
        assert_eq!(attribution.caller.as_deref(), Some("bufio.(*Writer).Flush"));
        // The service's code the match was inlined into is nearer than the handler.
        let codec = "example.com/shop/codec.Encode";
        let inlined = profile_of(&[(&[&[zip, codec], &[handler]], 3)]);
        let matches: Vec<bool> = inlined.functions.iter().map(|f| f.name == zip).collect();
        let attribution = attribute(&inlined, "cpu", &[true], &matches).unwrap();
        assert_eq!(attribution.caller.as_deref(), Some(codec));
        // Entries in more modules than get tables: the later ones scan, to the same result.
        let modules: Vec<(String, String)> = (0..MAX_TABLES + 2)
            .map(|m| {
                (
                    format!("example.com/lib{m}/codec.Encode"),
                    format!("example.com/shop/api.call{m}"),
                )
            })
            .collect();
        let frames: Vec<[[&str; 1]; 3]> = modules
            .iter()
            .map(|(entry, caller)| [[entry.as_str()], ["runtime.systemstack"], [caller.as_str()]])
            .collect();
        let locations: Vec<[&[&str]; 3]> = frames
            .iter()
            .map(|f| f.each_ref().map(|l| &l[..]))
            .collect();
        // Sample m has value m + 1: the last module's entry is the top.
        let stacks: Vec<(&[&[&str]], i64)> = locations
            .iter()
            .enumerate()
            .map(|(m, s)| (&s[..], 1 + m as i64))
            .collect();
        let many = profile_of(&stacks);
        let matches: Vec<bool> = many
            .functions
            .iter()
            .map(|f| f.name.ends_with("codec.Encode"))
            .collect();
        let mask = vec![true; many.samples.len()];
        let attribution = attribute(&many, "cpu", &mask, &matches).unwrap();
        let (entry, caller) = modules.last().unwrap();
        assert_eq!(&attribution.top, entry);
        assert_eq!(attribution.caller.as_ref(), Some(caller));
        // A match with nothing above it has no caller.
        let leaf_only = profile_of(&[(&[&[zip]], 3)]);
        let matches: Vec<bool> = leaf_only.functions.iter().map(|f| f.name == zip).collect();
        let attribution = attribute(&leaf_only, "cpu", &[true], &matches).unwrap();
        assert_eq!((attribution.top.as_str(), attribution.caller), (zip, None));
    }

    #[test]
    fn versions_compare_by_their_numbers() {
        assert!(version_below("v1.80.2", "v1.86.0"));
        assert!(!version_below("v1.86.5", "v1.86.0"));
        assert!(version_below(
            "v0.0.0-20250716170648-1d0488a3d7da",
            "v0.1.0"
        ));
        assert!(!version_below("v1.10.0", "v1.9.0"));
    }
}
