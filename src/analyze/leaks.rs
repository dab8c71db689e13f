//! Goroutine leaks the runtime proved (Go 1.26+): the goroutine leak profile
//! (`/debug/pprof/goroutineleak`, one sample per leaked stack with its count and labels) and
//! the `debug=2` dump written by the same detection, whose leaked goroutines say `(leaked)`
//! next to what they block on and name their creator. Grouped by the site where they block:
//! the first frame outside the runtime, the code that waits forever. Kept apart from the
//! suspects of heuristics, since nothing here is a guess.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dump::GoroutineDump;
use crate::profile::Profile;
use crate::units;

/// The proven leaks of a set, when it has the leak profile or its dump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeakAnalysis {
    /// The files read, as shown (`x-goroutineleak.prof` and `x-goroutineleak-debug2.txt`).
    pub sources: Vec<String>,
    /// Leaked goroutines: the leak profile's count, else the dump's `(leaked)` goroutines.
    pub total: u64,
    /// Goroutines marked `(leaked)` in the dump, when the set has it (the two are written one
    /// after the other, so they can differ by the goroutines that leaked in between).
    pub dump_leaked: Option<u64>,
    /// By site, most goroutines first (ties by site name).
    pub sites: Vec<LeakSite>,
}

/// The leaked goroutines blocked at one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeakSite {
    /// The first frame outside the runtime on their stacks (`example.com/x.(*S).send`).
    pub site: String,
    /// How many leaked there.
    pub count: u64,
    /// Share of all leaked goroutines (`33.33%`).
    pub share_text: String,
    /// What they block on, as the dump says (`chan send`), else read from the runtime frame
    /// below the site (`chan send` for `runtime.chansend1`); `None` when neither tells.
    pub blocked_on: Option<String>,
    /// The function whose `go` statement started them (the dump's `created by`), the most
    /// common when they differ; `None` without the dump.
    pub created_by: Option<String>,
    /// Their pprof labels, by label set, most goroutines first: `node=svc01 (4)`; empty when
    /// they carry none.
    pub labels: Vec<String>,
}

/// What the leak members give; `None` when the set has neither.
pub fn analyze(
    profile: Option<(&str, &Profile)>,
    dump: Option<(&str, &GoroutineDump)>,
) -> Option<LeakAnalysis> {
    if profile.is_none() && dump.is_none() {
        return None;
    }
    let mut sites: BTreeMap<String, SiteTally> = BTreeMap::new();
    let mut sources = Vec::new();
    let mut total = 0u64;
    if let Some((file, profile)) = profile {
        sources.push(file.to_string());
        for sample in profile.samples() {
            let count = sample.values().next().unwrap_or(0).max(0) as u64;
            if count == 0 {
                continue;
            }
            let names: Vec<&str> = profile.stack_names(sample).collect();
            let tally = sites.entry(site_of(&names).to_string()).or_default();
            tally.count += count;
            if let Some(wait) = wait_of(&names) {
                *tally.waits_from_stack.entry(wait.to_string()).or_default() += count;
            }
            let labels = crate::analyze::labels::text(
                sample
                    .labels()
                    .strings
                    .iter()
                    .flat_map(|(k, vs)| vs.iter().map(move |v| (k.as_str(), v.as_str()))),
            );
            if !labels.is_empty() {
                *tally.labels.entry(labels).or_default() += count;
            }
            total += count;
        }
    }
    let mut dump_leaked = None;
    if let Some((file, dump)) = dump {
        sources.push(file.to_string());
        let mut leaked = 0u64;
        for goroutine in dump.goroutines.iter().filter(|g| g.leaked) {
            leaked += 1;
            let names: Vec<&str> = dump
                .profile
                .stack_names(dump.profile.sample(goroutine.sample))
                .collect();
            let tally = sites.entry(site_of(&names).to_string()).or_default();
            *tally.states.entry(goroutine.state.to_string()).or_default() += 1;
            if let Some(creator) = &goroutine.created_by {
                *tally
                    .creators
                    .entry(creator.function.to_string())
                    .or_default() += 1;
            }
            // Counted from the dump only when there is no profile to count from.
            if profile.is_none() {
                tally.count += 1;
                let labels = crate::analyze::labels::text(
                    goroutine
                        .labels
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str())),
                );
                if !labels.is_empty() {
                    *tally.labels.entry(labels).or_default() += 1;
                }
                if let Some(wait) = wait_of(&names) {
                    *tally.waits_from_stack.entry(wait.to_string()).or_default() += 1;
                }
            }
        }
        if profile.is_none() {
            total = leaked;
        }
        dump_leaked = Some(leaked);
    }
    let mut rows: Vec<LeakSite> = sites
        .into_iter()
        .filter(|(_, t)| t.count > 0)
        .map(|(site, t)| LeakSite {
            share_text: units::percentage(t.count as i64, total as i64)
                .trim()
                .to_string(),
            count: t.count,
            blocked_on: most(&t.states).or_else(|| most(&t.waits_from_stack)),
            created_by: most(&t.creators),
            labels: by_count(&t.labels)
                .into_iter()
                .map(|(labels, n)| format!("{labels} ({n})"))
                .collect(),
            site,
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.site.cmp(&b.site)));
    Some(LeakAnalysis {
        sources,
        total,
        dump_leaked,
        sites: rows,
    })
}

#[derive(Default)]
struct SiteTally {
    count: u64,
    states: BTreeMap<String, u64>,
    waits_from_stack: BTreeMap<String, u64>,
    creators: BTreeMap<String, u64>,
    labels: BTreeMap<String, u64>,
}

/// The first frame, leaf first, outside the runtime: where the goroutine's own code waits.
fn site_of<'a>(names: &[&'a str]) -> &'a str {
    names
        .iter()
        .find(|name| !is_runtime(name))
        .or(names.first())
        .copied()
        .unwrap_or("(no frames)")
}

fn is_runtime(name: &str) -> bool {
    name.starts_with("runtime.") || name.starts_with("internal/") || name.starts_with("runtime/")
}

/// What the runtime frames under the site say the goroutine waits for, when the dump does
/// not: the names of the Go runtime's blocking entry points.
fn wait_of(names: &[&str]) -> Option<&'static str> {
    names
        .iter()
        .take_while(|name| is_runtime(name))
        .find_map(|name| match *name {
            "runtime.chansend1" | "runtime.chansend" => Some("chan send"),
            "runtime.chanrecv1" | "runtime.chanrecv2" | "runtime.chanrecv" => Some("chan receive"),
            "runtime.selectgo" => Some("select"),
            "runtime.block" => Some("select (no cases)"),
            "runtime.semacquire1" | "runtime.notifyListWait" => Some("sync primitive"),
            _ => None,
        })
}

fn by_count(counts: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = counts.iter().map(|(k, n)| (k.clone(), *n)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows
}

fn most(counts: &BTreeMap<String, u64>) -> Option<String> {
    by_count(counts).into_iter().next().map(|(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(text: &str) -> GoroutineDump {
        crate::dump::parse(text.as_bytes()).unwrap()
    }

    const LEAKED: &str = "goroutine 91 [chan send (leaked)] {node: svc01}:
runtime.gopark(0x0?, 0x0?, 0x0?, 0x0?, 0x0?)
\t/usr/lib/go/src/runtime/proc.go:460 +0xce
runtime.chansend1(0x0?, 0x0?)
\t/usr/lib/go/src/runtime/chan.go:161 +0x1d
example.com/x/resolver.answer(...)
\t/src/resolver.go:23
created by example.com/x/resolver.Lookup in goroutine 90
\t/src/resolver.go:12 +0xc5

goroutine 92 [chan send (leaked)] {node: svc02}:
runtime.gopark(0x0?, 0x0?, 0x0?, 0x0?, 0x0?)
\t/usr/lib/go/src/runtime/proc.go:460 +0xce
runtime.chansend1(0x0?, 0x0?)
\t/usr/lib/go/src/runtime/chan.go:161 +0x1d
example.com/x/resolver.answer(...)
\t/src/resolver.go:23
created by example.com/x/resolver.Lookup in goroutine 87
\t/src/resolver.go:12 +0xc5

goroutine 7 [select]:
runtime.gopark(0x0?, 0x0?, 0x0?, 0x0?, 0x0?)
\t/usr/lib/go/src/runtime/proc.go:460 +0xce
example.com/x/main.loop()
\t/src/main.go:5
created by example.com/x/main.main in goroutine 1
\t/src/main.go:3 +0x10
";

    #[test]
    fn a_dump_alone_counts_its_leaked_goroutines_by_site() {
        let dump = dump(LEAKED);
        let leaks = analyze(None, Some(("x-goroutineleak-debug2.txt", &dump))).unwrap();
        assert_eq!(leaks.total, 2);
        assert_eq!(leaks.dump_leaked, Some(2));
        assert_eq!(leaks.sites.len(), 1);
        let site = &leaks.sites[0];
        assert_eq!(site.site, "example.com/x/resolver.answer");
        assert_eq!(site.count, 2);
        assert_eq!(site.share_text, "100%");
        assert_eq!(site.blocked_on.as_deref(), Some("chan send"));
        assert_eq!(
            site.created_by.as_deref(),
            Some("example.com/x/resolver.Lookup")
        );
        assert_eq!(site.labels, ["node=svc01 (1)", "node=svc02 (1)"]);
    }

    #[test]
    fn nothing_to_read_is_no_analysis_and_an_empty_profile_is_none_leaked() {
        assert!(analyze(None, None).is_none());
        let empty = dump("goroutine 7 [select]:\nexample.com/x/main.loop()\n\t/src/main.go:5\n");
        let leaks = analyze(None, Some(("d.txt", &empty))).unwrap();
        assert_eq!(leaks.total, 0);
        assert!(leaks.sites.is_empty());
    }

    #[test]
    fn what_a_goroutine_waits_for_is_read_from_the_runtime_frames() {
        assert_eq!(
            wait_of(&["runtime.gopark", "runtime.chanrecv1", "main.f"]),
            Some("chan receive")
        );
        // Only frames below the site count: a runtime call above it says nothing.
        assert_eq!(
            wait_of(&["runtime.gopark", "main.f", "runtime.chansend1"]),
            None
        );
        assert_eq!(
            site_of(&["runtime.gopark", "internal/x.y", "main.f"]),
            "main.f"
        );
    }
}
