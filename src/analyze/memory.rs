//! Heap and allocations: the four top tables (in-use and allocated, bytes and objects), the
//! packages that hold and allocate memory, the allocation rate (over the CPU profile's window
//! when the set has the allocs profile of that window, else over the uptime), and how much
//! of the allocation comes from the packages that dominate CPU.

use serde::{Deserialize, Serialize};

use super::frames::KeyCounter;
use super::language::{FramePackages, Language};
use super::shares::{ShareCounter, ShareTable};
use super::top::{self, TopOptions, TopReport};
use crate::profile::Profile;
use crate::units;

/// Options of the memory analysis, with their defaults in `Default`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryOptions {
    /// Rows of the top tables (10).
    pub top_rows: usize,
    /// Rows of the package tables (10).
    pub table_rows: usize,
    /// Process uptime in seconds, for the allocation rate.
    pub uptime_seconds: Option<f64>,
    /// Packages that dominate CPU (from the CPU analysis), to measure their allocation share.
    pub cpu_packages: Vec<String>,
    /// The language that wrote the profiles, for what a package is (Go import paths).
    pub language: Language,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions {
            top_rows: 10,
            table_rows: 10,
            uptime_seconds: None,
            cpu_packages: Vec::new(),
            language: Language::Go,
        }
    }
}

/// One sample index of a memory profile: its top table and its package table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryView {
    /// The sample type: `inuse_space`, `inuse_objects`, `alloc_space` or `alloc_objects`.
    pub sample_index: String,
    /// The top functions by flat, as `go tool pprof -top -sample_index=<type>` prints them (10
    /// rows).
    pub top: TopReport,
    /// Package flat and cum of this sample type (10 rows), as shares of the profile's total.
    pub packages: ShareTable,
}

/// What an allocation rate is measured over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateBasis {
    /// The allocs profile of the CPU profile's window (`allocs?seconds=N`) over its duration.
    Window,
    /// The allocs profile since start over the process's uptime: a lifetime average.
    Uptime,
}

fn uptime_basis() -> RateBasis {
    RateBasis::Uptime
}

/// Allocation per second: over the CPU profile's window, else since the process started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocationRate {
    /// What the rate is measured over (analyses written before windows were collected have
    /// none: theirs is over the uptime).
    #[serde(default = "uptime_basis")]
    pub basis: RateBasis,
    /// The seconds divided by: the window profile's duration, or the uptime from the context.
    #[serde(alias = "uptime_seconds")]
    pub seconds: f64,
    /// The same, as shown (`5.00`).
    #[serde(default)]
    pub seconds_text: String,
    /// Bytes allocated per second (the `alloc_space` total ÷ the seconds).
    pub bytes_per_second: f64,
    /// The same in a readable unit (`1.50MB/s`).
    pub bytes_per_second_text: String,
    /// Objects allocated per second (the `alloc_objects` total ÷ the seconds).
    pub objects_per_second: f64,
    /// The same, rounded to a whole number (`12345/s`).
    pub objects_per_second_text: String,
}

/// The allocated bytes of one of the packages that dominate CPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageAllocation {
    /// The package: one of `MemoryOptions::cpu_packages`, in a report the (up to three) CPU
    /// subsystems with at least 5% of CPU.
    pub package: String,
    /// Bytes allocated since the process started with the package anywhere on the stack (its
    /// package cum of `alloc_space`).
    pub alloc_space: i64,
    /// The same in a readable unit (`1.50GB`).
    pub alloc_space_text: String,
    /// Share of all allocated bytes, in percent (0–100).
    pub share: f64,
    /// The same, formatted as pprof prints it (`12.34%`).
    pub share_text: String,
}

/// The heap and allocs profiles analysed (`memory` in the report context).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryAnalysis {
    /// Bytes in use (from the heap profile, else the allocs profile); `None` when the profile has
    /// no `inuse_space`.
    pub inuse_space: Option<MemoryView>,
    /// Objects in use (from the heap profile, else the allocs profile); `None` when the profile has
    /// no `inuse_objects`.
    pub inuse_objects: Option<MemoryView>,
    /// Bytes allocated since start (from the allocs profile, else the heap profile); `None` when
    /// the profile has no `alloc_space`.
    pub alloc_space: Option<MemoryView>,
    /// Objects allocated since start (from the allocs profile, else the heap profile); `None` when
    /// the profile has no `alloc_objects`.
    pub alloc_objects: Option<MemoryView>,
    /// Allocation per second, over the window when the set has its allocs profile, else
    /// since the process started.
    pub rate: Option<AllocationRate>,
    /// alloc_space share (package cum) of each of the CPU-dominating packages.
    pub cpu_packages: Vec<PackageAllocation>,
    /// The call paths allocating the most bytes over the CPU profile's window (the allocs
    /// profile of that window: the current picture, and small; empty without it).
    #[serde(default)]
    pub alloc_hot_paths: Vec<super::hotpaths::HotPath>,
}

/// Package flat and cum of a profile's sample types: those of its top views, counted in
/// the views' walk over the stacks, else all of them in a pass of their own.
struct PackageValues {
    packages: FramePackages,
    counts: PackageCounts,
}

enum PackageCounts {
    /// Counted beside the top views, for their sample types.
    WithViews(top::KeyCounts),
    /// Counted alone, for every sample type.
    Alone(KeyCounter),
}

impl PackageValues {
    /// Every sample type's package values, in a pass of their own.
    fn count(profile: &Profile, packages: FramePackages) -> Self {
        let mut counter = KeyCounter::new(packages.names().len(), profile.sample_types.len());
        let mut values = Vec::new();
        for sample in profile.samples() {
            if sample.values().all(|v| v == 0) {
                continue;
            }
            values.clear();
            values.extend(sample.values());
            counter.add(packages.keys(sample), &values);
        }
        PackageValues {
            packages,
            counts: PackageCounts::Alone(counter),
        }
    }

    /// Flat and cum of package `key` for sample type `index`.
    fn get(&self, key: usize, index: usize) -> (i64, i64) {
        match &self.counts {
            PackageCounts::WithViews(counts) => counts.get(key, index).unwrap_or((0, 0)),
            PackageCounts::Alone(counter) => counter.get(key, index),
        }
    }

    fn counter(&self, index: usize) -> ShareCounter {
        ShareCounter::from_values(self.packages.names().iter().enumerate().map(|(k, name)| {
            let (flat, cum) = self.get(k, index);
            (name.as_str(), flat, cum)
        }))
    }

    /// Package cum of `package` for sample type `index`.
    fn cum(&self, package: &str, index: usize) -> i64 {
        self.packages
            .names()
            .iter()
            .position(|name| name == package)
            .map_or(0, |k| self.get(k, index).1)
    }
}

/// The package values and the views of `kinds` of one profile: top tables and package
/// tables, counted together in one walk over the stacks. A kind the profile does not have
/// gives `None`. The package values cover the kinds' sample types at least.
fn profile_views(
    profile: &Profile,
    kinds: &[&str],
    options: &MemoryOptions,
    join: &impl super::Join,
) -> (PackageValues, Vec<Option<MemoryView>>) {
    let packages = FramePackages::new(profile, options.language);
    let present: Vec<(&str, usize)> = kinds
        .iter()
        .filter_map(|&kind| Some((kind, profile.sample_index_of(kind)?)))
        .collect();
    let counted = top::top_views_counting(
        profile,
        &present
            .iter()
            .map(|&(kind, _)| TopOptions {
                sample_index: Some(kind.to_string()),
                node_count: options.top_rows,
                ..TopOptions::default()
            })
            .collect::<Vec<_>>(),
        packages.location_key_table(),
        join,
    )
    .ok();
    let (tops, counts) = match counted {
        Some((tops, counts)) => (Some(tops), counts),
        None => (None, None),
    };
    let packages = match counts {
        Some(counts) => PackageValues {
            packages,
            counts: PackageCounts::WithViews(counts),
        },
        None => PackageValues::count(profile, packages),
    };
    let views = kinds
        .iter()
        .map(|&kind| {
            let position = present.iter().position(|&(k, _)| k == kind)?;
            let index = present[position].1;
            let top = tops.as_ref()?.get(position)?.clone();
            let unit = profile.sample_types[index].unit.clone();
            let total: i64 = profile.samples().map(|s| s.value(index)).sum();
            Some(MemoryView {
                sample_index: kind.to_string(),
                // In the unit pprof picked for the top table above it: one total, one scaling.
                packages: packages.counter(index).table(
                    total,
                    options.table_rows,
                    &unit,
                    Some(&top.output_unit),
                    None,
                ),
                top,
            })
        })
        .collect();
    (packages, views)
}

/// Analyzes the heap profile (in-use) and the allocs profile (allocated); either may be
/// missing, and each carries all four sample types, so one stands in for the other.
pub fn analyze(
    heap: Option<&Profile>,
    allocs: Option<&Profile>,
    options: &MemoryOptions,
) -> Option<MemoryAnalysis> {
    measure(heap, allocs, None, options, &super::Sequential)
        .map(|m| m.with_cpu_packages(&options.cpu_packages))
}

/// The memory analysis but for the allocation share of the packages that dominate CPU: it
/// needs nothing from the CPU analysis, so the two run side by side.
pub struct Measured {
    analysis: MemoryAnalysis,
    allocated_packages: PackageValues,
    /// The `alloc_space` index and total of the allocated profile.
    alloc_space: Option<(usize, i64)>,
}

/// [`analyze`] without `options.cpu_packages`; `join` decides whether the in-use and the
/// allocated profiles are walked side by side. `window` is the allocs profile of the CPU
/// profile's window (`allocs?seconds=N`), for the allocation rate.
pub fn measure(
    heap: Option<&Profile>,
    allocs: Option<&Profile>,
    window: Option<&Profile>,
    options: &MemoryOptions,
    join: &impl super::Join,
) -> Option<Measured> {
    let in_use = heap.or(allocs)?;
    let allocated = allocs.or(heap)?;
    const IN_USE: [&str; 2] = ["inuse_space", "inuse_objects"];
    const ALLOCATED: [&str; 2] = ["alloc_space", "alloc_objects"];
    // The heap and allocs profiles are both large in a busy service: each is a pass of its
    // own; one profile standing in for both is walked once for all four views.
    let (in_use_views, (allocated_packages, allocated_views)) = if std::ptr::eq(in_use, allocated) {
        let (packages, mut all) =
            profile_views(in_use, &[IN_USE, ALLOCATED].concat(), options, join);
        let allocated_views = all.split_off(2);
        (all, (packages, allocated_views))
    } else {
        join.join(
            || profile_views(in_use, &IN_USE, options, join).1,
            || profile_views(allocated, &ALLOCATED, options, join),
        )
    };
    let mut in_use_views = in_use_views.into_iter();
    let (inuse_space, inuse_objects) =
        (in_use_views.next().flatten(), in_use_views.next().flatten());
    let mut allocated_views = allocated_views.into_iter();
    let (alloc_space, alloc_objects) = (
        allocated_views.next().flatten(),
        allocated_views.next().flatten(),
    );
    let total_of = |p: &Profile, kind: &str| -> Option<i64> {
        let index = p.sample_index_of(kind)?;
        Some(p.samples().map(|s| s.value(index)).sum())
    };
    // The window's profile counts what was allocated during its duration; the profile since
    // start only gives a lifetime average.
    let window_rate = window
        .filter(|w| w.duration_nanos > 0)
        .map(|w| (RateBasis::Window, w.duration_nanos as f64 / 1e9, w));
    let lifetime_rate = || {
        options
            .uptime_seconds
            .filter(|u| *u > 0.0)
            .map(|u| (RateBasis::Uptime, u, allocated))
    };
    let rate = match window_rate
        .or_else(lifetime_rate)
        .map(|(basis, seconds, p)| {
            (
                basis,
                seconds,
                total_of(p, "alloc_space"),
                total_of(p, "alloc_objects"),
            )
        }) {
        Some((basis, seconds, Some(bytes), Some(objects))) => {
            let bytes_per_second = bytes as f64 / seconds;
            let objects_per_second = objects as f64 / seconds;
            Some(AllocationRate {
                basis,
                seconds,
                seconds_text: format!("{seconds:.2}"),
                bytes_per_second,
                bytes_per_second_text: format!(
                    "{}/s",
                    units::label(bytes_per_second.round() as i64, "bytes")
                ),
                objects_per_second,
                objects_per_second_text: format!("{:.0}/s", objects_per_second),
            })
        }
        _ => None,
    };
    let alloc_space_total = match (&alloc_space, allocated.sample_index_of("alloc_space")) {
        (Some(_), Some(index)) => total_of(allocated, "alloc_space").map(|total| (index, total)),
        _ => None,
    };
    let alloc_hot_paths = window
        .and_then(|w| {
            let index = w.sample_index_of("alloc_space")?;
            let unit = w.sample_types[index].unit.clone();
            // In the unit of the allocated bytes' top table.
            let out_unit = alloc_space
                .as_ref()
                .map_or(unit.clone(), |v| v.top.output_unit.clone());
            Some(super::hotpaths::hot_paths(w, index, &unit, &out_unit))
        })
        .unwrap_or_default();
    Some(Measured {
        analysis: MemoryAnalysis {
            inuse_space,
            inuse_objects,
            alloc_space,
            alloc_objects,
            rate,
            cpu_packages: Vec::new(),
            alloc_hot_paths,
        },
        allocated_packages,
        alloc_space: alloc_space_total,
    })
}

impl Measured {
    /// The analysis, with the allocation share of `cpu_packages`.
    pub fn with_cpu_packages(self, cpu_packages: &[String]) -> MemoryAnalysis {
        let Some((index, total)) = self.alloc_space else {
            return self.analysis;
        };
        let packages = cpu_packages
            .iter()
            .map(|package| {
                let value = self.allocated_packages.cum(package, index);
                PackageAllocation {
                    package: package.clone(),
                    alloc_space: value,
                    alloc_space_text: units::label(value, "bytes"),
                    share: if total == 0 {
                        0.0
                    } else {
                        value as f64 / total as f64 * 100.0
                    },
                    share_text: units::percentage(value, total).trim().to_string(),
                }
            })
            .collect();
        MemoryAnalysis {
            cpu_packages: packages,
            ..self.analysis
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Labels, Line, ProfileBuilder, ValueType};

    /// A heap-like profile: four sample types, stacks over functions of three packages, an
    /// inlined location, an unsymbolized one, recursion, and values that are zero in some
    /// sample types and not in others.
    fn heap() -> Profile {
        heap_repeated(1)
    }

    /// The four sample types of a heap profile, in the order the memory section shows them.
    const HEAP_KINDS: [&str; 4] = [
        "inuse_space",
        "inuse_objects",
        "alloc_space",
        "alloc_objects",
    ];

    /// [`heap`] with each sample `times` times over.
    fn heap_repeated(times: usize) -> Profile {
        heap_of(times, &[])
    }

    /// [`heap_repeated`] with sample types `extra` after the four.
    fn heap_of(times: usize, extra: &[&str]) -> Profile {
        let kinds = [
            "alloc_objects",
            "alloc_space",
            "inuse_objects",
            "inuse_space",
        ];
        let mut b = ProfileBuilder::new(
            kinds
                .iter()
                .chain(extra)
                .map(|kind| ValueType {
                    kind: kind.to_string(),
                    unit: "bytes".into(),
                })
                .collect(),
        );
        let names = [
            "main.main",
            "main.serve",
            "pkg/a.Read",
            "pkg/a.fill",
            "pkg/b.Put",
        ];
        let functions: Vec<usize> = names.iter().map(|n| b.function(n, "x.go")).collect();
        let line = |function: usize| Line {
            function,
            line: 1,
            column: 0,
        };
        let mut locations: Vec<usize> = functions
            .iter()
            .enumerate()
            .map(|(i, &f)| b.location(0x100 + i as u64, &[line(f)]))
            .collect();
        // pkg/a.fill inlined into main.serve, and an address without a symbol.
        locations.push(b.location(0x200, &[line(functions[3]), line(functions[1])]));
        locations.push(b.location(0x300, &[]));
        let mut next = crate::test_rng::below(7);
        for _ in 0..300 {
            let depth = 1 + next(7) as usize;
            let mut stack: Vec<usize> = (0..depth)
                .map(|_| locations[next(locations.len() as u64) as usize])
                .collect();
            stack.push(locations[0]);
            let mut values: Vec<i64> = (0..4).map(|_| next(3) as i64 * next(1000) as i64).collect();
            // The extra types' values drawn from nothing else: the stacks stay the same.
            for i in 0..extra.len() {
                values.push(values[i % 4] + 1);
            }
            for _ in 0..times {
                b.sample(&stack, &values, Labels::default()).unwrap();
            }
        }
        b.finish()
    }

    #[test]
    fn package_values_counted_beside_the_views_are_those_counted_alone() {
        let profile = heap();
        let options = MemoryOptions::default();
        let kinds = HEAP_KINDS;
        let (beside, _) = profile_views(&profile, &kinds, &options, &crate::analyze::Sequential);
        assert!(matches!(beside.counts, PackageCounts::WithViews(_)));
        let alone = PackageValues::count(&profile, FramePackages::new(&profile, options.language));
        for index in 0..4 {
            for key in 0..alone.packages.names().len() {
                assert_eq!(
                    beside.get(key, index),
                    alone.get(key, index),
                    "{key} {index}"
                );
            }
        }
        assert!((0..alone.packages.names().len()).any(|k| alone.get(k, 3).0 > 0));
        // Two of the four sample types: counted for those two.
        let (two, _) = profile_views(&profile, &kinds[2..], &options, &crate::analyze::Sequential);
        for key in 0..alone.packages.names().len() {
            assert_eq!(two.get(key, 0), alone.get(key, 0));
            assert_eq!(two.get(key, 1), alone.get(key, 1));
        }
    }

    #[test]
    fn a_large_profile_counted_in_two_halves_sums_as_one_walk() {
        // 300 samples 300 times over: past the size whose samples are counted in two
        // halves, every number 300 times the small profile's.
        let (small, large) = (heap(), heap_repeated(300));
        let options = MemoryOptions::default();
        let kinds = ["inuse_space", "alloc_space"];
        let (small_packages, small_views) =
            profile_views(&small, &kinds, &options, &crate::analyze::Sequential);
        let (large_packages, large_views) =
            profile_views(&large, &kinds, &options, &crate::analyze::Sequential);
        for (s, l) in small_views.iter().zip(&large_views) {
            let (s, l) = (&s.as_ref().unwrap().top, &l.as_ref().unwrap().top);
            assert_eq!(s.items.len(), l.items.len());
            for (s, l) in s.items.iter().zip(&l.items) {
                assert_eq!(
                    (s.name.as_str(), s.flat * 300, s.cum * 300),
                    (l.name.as_str(), l.flat, l.cum)
                );
            }
        }
        for key in 0..small_packages.packages.names().len() {
            let (flat, cum) = small_packages.get(key, 3);
            assert_eq!(large_packages.get(key, 3), (flat * 300, cum * 300));
        }
    }

    #[test]
    fn more_sample_types_than_the_usual_count_the_same() {
        // Four columns are added as a fixed block, five through a loop of the profile's
        // width: the four's numbers must not depend on which.
        let (four, five) = (heap(), heap_of(1, &["extra"]));
        let options = MemoryOptions::default();
        let kinds = HEAP_KINDS;
        let (four_packages, four_views) =
            profile_views(&four, &kinds, &options, &crate::analyze::Sequential);
        // The views of all five sample types: five columns in one walk.
        let all = [&kinds[..], &["extra"]].concat();
        let (five_packages, five_views) =
            profile_views(&five, &all, &options, &crate::analyze::Sequential);
        assert_eq!(five_views.len(), 5);
        assert!(five_views[4].is_some());
        assert!(matches!(five_packages.counts, PackageCounts::WithViews(_)));
        let mut compared = 0;
        for (f, g) in four_views.iter().zip(&five_views) {
            let (f, g) = (&f.as_ref().unwrap().top, &g.as_ref().unwrap().top);
            assert_eq!(f.items.len(), g.items.len());
            for (f, g) in f.items.iter().zip(&g.items) {
                assert_eq!((&f.name, f.flat, f.cum), (&g.name, g.flat, g.cum));
                compared += usize::from(f.cum != 0);
            }
        }
        assert!(compared > 8, "{compared}");
        for key in 0..four_packages.packages.names().len() {
            for index in 0..4 {
                assert_eq!(four_packages.get(key, index), five_packages.get(key, index));
            }
        }
    }

    #[test]
    fn pruned_stacks_leave_the_package_values_to_a_pass_of_their_own() {
        let mut profile = heap();
        // pprof cuts the frames from the leaf up to the last one matching drop_frames; the
        // package tables count every frame, so they are not taken from the views' walk.
        profile.drop_frames = "pkg/b.Put".to_string();
        let options = MemoryOptions::default();
        let (packages, views) = profile_views(
            &profile,
            &["inuse_space"],
            &options,
            &crate::analyze::Sequential,
        );
        assert!(matches!(packages.counts, PackageCounts::Alone(_)));
        assert!(views[0].is_some());
        let alone = PackageValues::count(&profile, FramePackages::new(&profile, options.language));
        let b = alone
            .packages
            .names()
            .iter()
            .position(|n| n == "pkg/b")
            .unwrap();
        assert!(packages.get(b, 3).1 > 0);
        assert_eq!(packages.get(b, 3), alone.get(b, 3));
    }
}
