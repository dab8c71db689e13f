//! Tests of the goroutine analysis, mostly through `analyze` on hand-built profiles and dumps.

use std::borrow::Cow;

use super::intern::Names;
use super::stacks::{Frame, key_of};
use super::*;
use crate::profile::{Labels, Line, ProfileBuilder, ValueType};

/// A frame of a hand-built stack: function, file, line, address.
type F<'a> = (&'a str, &'a str, i64, u64);

fn goroutine_profile(samples: &[(i64, Vec<F>)]) -> Profile {
    let count = ValueType {
        kind: "goroutine".into(),
        unit: "count".into(),
    };
    let mut builder = ProfileBuilder::new(vec![count]);
    builder.profile_mut().time_nanos = 1_760_576_733_000_000_000;
    for (value, frames) in samples {
        let locations = frames
            .iter()
            .map(|&(name, file, line, address)| {
                let function = builder.function(name, file);
                builder.location(
                    address,
                    &[Line {
                        function,
                        line,
                        column: 0,
                    }],
                )
            })
            .collect::<Vec<usize>>();
        builder
            .sample(&locations, &[*value], Labels::default())
            .unwrap();
    }
    builder.finish()
}

/// A stack of functions at distinct addresses (`x.go`, line 1).
fn stack<'a>(names: &[&'a str]) -> Vec<F<'a>> {
    names
        .iter()
        .enumerate()
        .map(|(i, &n)| (n, "x.go", 1, 0x1000 + i as u64))
        .collect()
}

fn mutex_profile(values: &[[i64; 2]]) -> Profile {
    let types = vec![
        ValueType {
            kind: "contentions".into(),
            unit: "count".into(),
        },
        ValueType {
            kind: "delay".into(),
            unit: "nanoseconds".into(),
        },
    ];
    let mut builder = ProfileBuilder::new(types);
    let function = builder.function("sync.(*Mutex).Unlock", "sync/mutex.go");
    let location = builder.location(
        0x10,
        &[Line {
            function,
            line: 1,
            column: 0,
        }],
    );
    for v in values {
        builder.sample(&[location], v, Labels::default()).unwrap();
    }
    builder.finish()
}

fn run(input: &GoroutineInput) -> GoroutineAnalysis {
    analyze(input, &GoroutineOptions::default()).expect("analysis")
}

fn with_level(input: &GoroutineInput, level: GroupLevel) -> GoroutineAnalysis {
    let options = GoroutineOptions {
        level,
        ..GoroutineOptions::default()
    };
    analyze(input, &options).expect("analysis")
}

fn labels_and_counts(analysis: &GoroutineAnalysis) -> Vec<(String, u64)> {
    analysis
        .groups
        .rows
        .iter()
        .map(|g| (g.label.clone(), g.goroutines))
        .collect()
}

#[test]
fn nothing_to_analyze() {
    assert!(analyze(&GoroutineInput::default(), &GoroutineOptions::default()).is_none());
}

#[test]
fn identical_functions_are_one_group_whatever_the_addresses() {
    // Same functions, different addresses and lines: one group by functions, two exact.
    let a = vec![
        ("runtime.gopark", "runtime/proc.go", 400, 0x10),
        ("example.com/a.Worker", "a.go", 10, 0x20),
    ];
    let b = vec![
        ("runtime.gopark", "runtime/proc.go", 400, 0x10),
        ("example.com/a.Worker", "a.go", 12, 0x24),
    ];
    let profile = goroutine_profile(&[(3, a), (2, b)]);
    let input = GoroutineInput {
        profile: Some(&profile),
        ..GoroutineInput::default()
    };
    let functions = run(&input);
    assert_eq!(functions.groups.source, GoroutineSource::Protobuf);
    assert_eq!(
        labels_and_counts(&functions),
        [("example.com/a.Worker".to_string(), 5)]
    );
    assert_eq!(functions.groups.rows[0].stacks, 2);
    assert_eq!(functions.groups.rows[0].frames, ["example.com/a.Worker"]);
    let exact = with_level(&input, GroupLevel::Exact);
    assert_eq!(exact.groups.total_groups, 2);
    assert_eq!(
        exact.groups.rows[0].frames,
        [
            "runtime.gopark runtime/proc.go:400",
            "example.com/a.Worker a.go:10"
        ]
    );
}

#[test]
fn hidden_runtime_frames_do_not_split_groups() {
    // chanrecv1 and chanrecv2 are what the text dumps hide; goexit is at every root.
    let profile = goroutine_profile(&[
        (
            2,
            stack(&[
                "runtime.gopark",
                "runtime.chanrecv",
                "runtime.chanrecv1",
                "example.com/a.Loop",
                "runtime.goexit",
            ]),
        ),
        (
            1,
            stack(&[
                "runtime.gopark",
                "runtime.chanrecv",
                "runtime.chanrecv2",
                "example.com/a.Loop",
                "runtime.goexit",
            ]),
        ),
        // Only runtime frames: kept whole (but goexit), as runtime/pprof prints them.
        (1, stack(&["runtime.gopark", "runtime.forcegchelper"])),
    ]);
    let input = GoroutineInput {
        profile: Some(&profile),
        ..GoroutineInput::default()
    };
    let analysis = run(&input);
    assert_eq!(
        labels_and_counts(&analysis),
        [
            ("example.com/a.Loop".to_string(), 3),
            ("runtime.gopark".to_string(), 1)
        ]
    );
    assert_eq!(
        analysis.groups.rows[1].frames,
        ["runtime.gopark", "runtime.forcegchelper"]
    );
    assert_eq!(with_level(&input, GroupLevel::Exact).groups.total_groups, 3);
}

#[test]
fn labels_skip_the_runtime_and_the_standard_library() {
    let label = |functions: &[&str]| {
        let mut names = Names::default();
        let frames: Vec<Frame> = functions
            .iter()
            .map(|&name| Frame {
                name: names.function(Cow::Borrowed(name)),
                exact: u32::MAX,
            })
            .collect();
        let mut key = Vec::new();
        let label =
            key_of(&frames, GroupLevel::Functions, &mut names, &mut key).label(&frames, &mut names);
        names.name(label.name).to_string()
    };
    // A library the standard library reads through (`Read` of a net.Conn) is an adapter:
    // the goroutine is a server connection, whatever transport it reads.
    assert_eq!(
        label(&[
            "sync.runtime_notifyListWait",
            "sync.(*Cond).Wait",
            "tailscale.com/net/memnet.(*Pipe).readOrBlock",
            "tailscale.com/net/memnet.(*Pipe).Read",
            "net/http.(*connReader).Read",
            "bufio.(*Reader).fill",
            "net/http.(*conn).serve",
        ]),
        "net/http.(*conn).serve"
    );
    // A closure around a standard-library server loop is a wrapper: the loop names the
    // group; a closure that waits by itself is its own name.
    assert_eq!(
        label(&[
            "net.(*TCPListener).Accept",
            "net/http.(*Server).Serve",
            "example.com/app.run.func5.1",
            "example.com/app.run.func5",
        ]),
        "net/http.(*Server).Serve"
    );
    assert_eq!(
        label(&["runtime.selectgo", "example.com/app.run.func2"]),
        "example.com/app.run.func2"
    );
    // A handler the standard library calls is what the goroutine does.
    assert_eq!(
        label(&[
            "sync.runtime_SemacquireMutex",
            "sync.(*Mutex).Lock",
            "example.com/app/store.(*DB).Get",
            "example.com/app/api.handle",
            "net/http.HandlerFunc.ServeHTTP",
            "net/http.serverHandler.ServeHTTP",
            "net/http.(*conn).serve",
        ]),
        "example.com/app/store.(*DB).Get"
    );
    // Only the standard library: the first frame past the wait plumbing.
    assert_eq!(
        label(&[
            "internal/poll.runtime_pollWait",
            "internal/poll.(*FD).Read",
            "net.(*netFD).Read",
            "net.(*conn).Read",
            "net/http.(*connReader).backgroundRead",
        ]),
        "net/http.(*connReader).backgroundRead"
    );
    assert_eq!(label(&["time.Sleep", "main.main"]), "main.main");
    assert_eq!(label(&["runtime.gopark", "time.Sleep"]), "time.Sleep");
    assert_eq!(label(&["runtime.gopark"]), "runtime.gopark");
    assert_eq!(label(&[]), "(no frames)");
}

/// The label of a protobuf stack (runtime frames included), at the default level.
fn profile_label(names: &[&str]) -> String {
    let profile = goroutine_profile(&[(1, stack(names))]);
    let input = GoroutineInput {
        profile: Some(&profile),
        ..GoroutineInput::default()
    };
    run(&input).groups.rows[0].label.clone()
}

#[test]
fn wait_primitives_that_park_goroutines_themselves_never_name_a_group() {
    // A library's own sync package parks the goroutine (it calls gopark directly); the package
    // that called it is a wait primitive; the pool that waits through it names the group.
    let parked = [
        "runtime.gopark",
        "example.org/lib/sync.Gopark",
        "example.org/lib/sleep.(*Sleeper).nextWaker",
        "example.org/lib/sleep.(*Sleeper).Fetch",
        "example.org/lib/tcp.(*processor).start",
    ];
    assert_eq!(
        profile_label(&parked),
        "example.org/lib/tcp.(*processor).start"
    );
    // Mirrored: the packages swap roles, and the rule still follows the shape, not the
    // names. Here `tcp` parks through a helper of its own package (no /sync), so `tcp` is the
    // primitive and `sleep` the code that waits.
    assert_eq!(
        profile_label(&[
            "runtime.gopark",
            "example.org/lib/tcp.park",
            "example.org/lib/tcp.(*processor).wait",
            "example.org/lib/sleep.(*Sleeper).start",
        ]),
        "example.org/lib/sleep.(*Sleeper).start"
    );
    // A library sync wrapper over the standard library's mutex parks nothing itself: the
    // code that locks names the group.
    assert_eq!(
        profile_label(&[
            "runtime.gopark",
            "runtime.semacquire1",
            "sync.runtime_SemacquireMutex",
            "sync.(*Mutex).Lock",
            "example.org/lib/sync.(*Mutex).Lock",
            "example.org/app/store.(*DB).Get",
            "example.org/lib/sleep.run",
        ]),
        "example.org/app/store.(*DB).Get"
    );
    // The same from a debug=2 dump, which hides gopark: a library sync frame at the leaf says
    // it parks.
    let dump = crate::dump::parse(
        "goroutine 7 [select]:
example.org/lib/sync.Gopark(...)
\t/src/lib/sync/gopark.go:10
example.org/lib/sleep.(*Sleeper).nextWaker(0x0)
\t/src/lib/sleep/sleep.go:20 +0x1
example.org/lib/tcp.(*processor).start(0x0)
\t/src/lib/tcp/processor.go:30 +0x1
created by example.org/lib/tcp.newProcessors in goroutine 1
\t/src/lib/tcp/processor.go:40 +0x1

"
        .as_bytes(),
    )
    .expect("dump");
    let analysis = run(&debug2_input(&dump, None, None));
    assert_eq!(
        analysis.groups.rows[0].label,
        "example.org/lib/tcp.(*processor).start"
    );
}

#[test]
fn groups_with_one_name_are_told_apart_where_their_stacks_differ() {
    let profile = goroutine_profile(&[
        (
            3,
            stack(&[
                "runtime.gopark",
                "example.com/a.(*Q).wait",
                "example.com/a.serve",
                "example.com/a.startLeft",
            ]),
        ),
        (
            2,
            stack(&[
                "runtime.gopark",
                "example.com/a.(*Q).wait",
                "example.com/a.serve",
                "example.com/a.startRight",
            ]),
        ),
        // Same callers, different frames toward the leaf.
        (
            4,
            stack(&["runtime.gopark", "net.(*conn).Read", "example.com/b.pump"]),
        ),
        (
            1,
            stack(&[
                "runtime.gopark",
                "crypto/tls.(*Conn).Read",
                "example.com/b.pump",
            ]),
        ),
        (1, stack(&["runtime.gopark", "example.com/c.alone"])),
    ]);
    let input = GoroutineInput {
        profile: Some(&profile),
        ..GoroutineInput::default()
    };
    let rows = run(&input).groups.rows;
    let named: Vec<(&str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.label.as_str(), r.distinct.as_deref()))
        .collect();
    assert_eq!(
        named,
        [
            ("example.com/b.pump", Some("via net.(*conn).Read")),
            (
                "example.com/a.(*Q).wait",
                Some("from example.com/a.startLeft")
            ),
            (
                "example.com/a.(*Q).wait",
                Some("from example.com/a.startRight")
            ),
            ("example.com/b.pump", Some("via crypto/tls.(*Conn).Read")),
            ("example.com/c.alone", None),
        ]
    );
}

#[test]
fn the_profile_shows_what_goroutines_wait_in_and_the_dump_adds_states() {
    // The profile holds a GC-assist stall and a lock queue in one function; the dump, taken
    // at another instant, saw them all in a channel receive, plus a goroutine that was gone
    // by the time of the profile.
    let frames = |leaf: &[&'static str]| {
        let mut names = leaf.to_vec();
        names.push("example.com/app/store.(*DB).Put");
        names.push("example.com/app/store.worker");
        stack(&names)
    };
    let profile = goroutine_profile(&[
        (
            3,
            frames(&[
                "runtime.gopark",
                "runtime.gcParkAssist",
                "runtime.gcAssistAlloc",
                "runtime.mallocgc",
                "runtime.makeslice",
            ]),
        ),
        (
            2,
            frames(&[
                "runtime.gopark",
                "runtime.goparkunlock",
                "runtime.semacquire1",
                "sync.runtime_SemacquireMutex",
                "sync.(*Mutex).lockSlow",
                "sync.(*Mutex).Lock",
            ]),
        ),
    ]);
    let dump = crate::dump::parse(
        "goroutine 10 [chan receive]:
example.com/app/store.(*DB).Put()
\t/src/store.go:10 +0x1
example.com/app/store.worker()
\t/src/store.go:20 +0x1
created by example.com/app/store.Open in goroutine 1
\t/src/store.go:30 +0x1

goroutine 11 [chan receive]:
example.com/app/gone.f()
\t/src/gone.go:10 +0x1

"
        .as_bytes(),
    )
    .expect("dump");
    let input = GoroutineInput {
        profile: Some(&profile),
        debug2: Some(&dump),
        ..GoroutineInput::default()
    };
    let analysis = run(&input);
    let table = &analysis.groups;
    assert_eq!(table.source, GoroutineSource::Protobuf);
    assert_eq!(table.details_source, Some(GoroutineSource::Debug2));
    assert_eq!(table.details_unmatched, Some(1));
    // The lock queue is a group of its own: the lock frames are part of the stack.
    let put: Vec<_> = table
        .rows
        .iter()
        .map(|r| {
            (
                r.label.as_str(),
                r.goroutines,
                r.waiting
                    .iter()
                    .map(|s| (s.state.as_str(), s.goroutines))
                    .collect::<Vec<_>>(),
                r.dump_goroutines,
            )
        })
        .collect();
    assert_eq!(
        put,
        [
            (
                "example.com/app/store.(*DB).Put",
                3,
                vec![("GC assist wait", 3)],
                1
            ),
            (
                "example.com/app/store.(*DB).Put",
                2,
                vec![("sync.Mutex.Lock", 2)],
                0
            ),
        ]
    );
    assert_eq!(table.rows[0].states[0].state, "chan receive");
    // Counts are the profile's: the dump's goroutines are never added.
    assert_eq!(table.total_goroutines, 5);
    assert_eq!(analysis.mutex_waiters.waiters, 2);
    let columns = table.columns;
    assert!(columns.waiting && columns.states && columns.created_by);
    assert!(!columns.per_instance && !columns.labels && !columns.max_wait);
}

#[test]
fn package_level_merges_stacks_through_different_wait_plumbing() {
    let profile = goroutine_profile(&[
        (
            2,
            stack(&[
                "sync.runtime_notifyListWait",
                "sync.(*Cond).Wait",
                "example.com/q.(*Queue).Pop",
                "example.com/w.worker",
                "example.com/w.worker.func1",
            ]),
        ),
        (
            3,
            stack(&[
                "runtime.gopark",
                "runtime.chanrecv1",
                "example.com/q.(*Queue).Pop",
                "example.com/w.run",
            ]),
        ),
        (
            1,
            stack(&["example.com/q.(*Queue).Pop", "example.com/z.other"]),
        ),
    ]);
    let input = GoroutineInput {
        profile: Some(&profile),
        ..GoroutineInput::default()
    };
    assert_eq!(run(&input).groups.total_groups, 3);
    let by_package = with_level(&input, GroupLevel::Package);
    assert_eq!(
        labels_and_counts(&by_package),
        [
            ("example.com/q.(*Queue).Pop".to_string(), 5),
            ("example.com/q.(*Queue).Pop".to_string(), 1)
        ]
    );
    assert_eq!(by_package.groups.rows[0].stacks, 2);
}

#[test]
fn groups_sort_by_count_then_label() {
    let profile = goroutine_profile(&[
        (2, stack(&["example.com/b.B"])),
        (5, stack(&["example.com/c.C"])),
        (2, stack(&["example.com/a.A"])),
    ]);
    let input = GoroutineInput {
        profile: Some(&profile),
        ..GoroutineInput::default()
    };
    let options = GoroutineOptions {
        max_groups: 2,
        ..GoroutineOptions::default()
    };
    let analysis = analyze(&input, &options).expect("analysis");
    assert_eq!(
        labels_and_counts(&analysis),
        [
            ("example.com/c.C".to_string(), 5),
            ("example.com/a.A".to_string(), 2)
        ]
    );
    assert_eq!(analysis.groups.total_groups, 3);
    assert_eq!(analysis.groups.shown_goroutines, 7);
    assert_eq!(
        analysis.groups.coverage_text,
        "showing 2 of 3 groups, 77.78% of 9 goroutines"
    );
}

#[test]
fn the_rows_shown_are_the_head_of_the_whole_table_in_string_order() {
    // Many ties on count and label, so the frames decide; names are met in the reverse of
    // their string order, so an order of first use would show.
    let callers = [
        "example.com/z.Run",
        "example.com/m.Run",
        "example.com/a.Run",
    ];
    let mut samples: Vec<(i64, Vec<F>)> = Vec::new();
    for (i, caller) in callers.iter().enumerate() {
        for (j, label) in ["example.com/y.Wait", "example.com/b.Wait"]
            .iter()
            .enumerate()
        {
            for (k, extra) in ["example.com/x.Go", "example.com/c.Go"].iter().enumerate() {
                let count = 1 + ((i + j + k) % 2) as i64;
                samples.push((count, stack(&[*label, *caller, *extra])));
            }
        }
    }
    let profile = goroutine_profile(&samples);
    let input = GoroutineInput {
        profile: Some(&profile),
        ..GoroutineInput::default()
    };
    let table = |max_groups: usize| {
        let options = GoroutineOptions {
            max_groups,
            ..GoroutineOptions::default()
        };
        analyze(&input, &options).expect("analysis").groups.rows
    };
    let all = table(samples.len());
    assert_eq!(all.len(), samples.len());
    // The whole table is sorted by count (descending), then label, then frames, as strings.
    let mut expected: Vec<(u64, String, Vec<String>)> = samples
        .iter()
        .map(|(count, frames)| {
            let names: Vec<String> = frames.iter().map(|f| f.0.to_string()).collect();
            (*count as u64, names[0].clone(), names)
        })
        .collect();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let got: Vec<(u64, String, Vec<String>)> = all
        .iter()
        .map(|r| (r.goroutines, r.label.clone(), r.frames.clone()))
        .collect();
    assert_eq!(got, expected);
    // Any number of rows shown is the head of that table.
    for max_groups in 0..=samples.len() + 1 {
        let head = table(max_groups);
        assert_eq!(
            head[..],
            all[..max_groups.min(all.len())],
            "{max_groups} rows"
        );
    }
}

#[test]
fn exact_groups_take_dump_goroutines_by_their_visible_frames() {
    // Two stacks that differ only in the runtime frames the dump hides: two groups at
    // `Exact`, and the dump's goroutines, which show only the visible frames, go to the
    // first of them.
    let visible = [
        ("example.com/a.Loop", "/src/a/a.go", 10, 0x20),
        ("example.com/a.main", "/src/a/main.go", 5, 0x30),
    ];
    let with_runtime = |receive: &'static str| {
        let mut frames: Vec<F> = vec![
            ("runtime.gopark", "/go/src/runtime/proc.go", 1, 0x1),
            (receive, "/go/src/runtime/chan.go", 2, 0x2),
        ];
        frames.extend(visible);
        frames
    };
    let profile = goroutine_profile(&[
        (2, with_runtime("runtime.chanrecv1")),
        (3, with_runtime("runtime.chanrecv2")),
    ]);
    let dump = crate::dump::parse(
        "goroutine 7 [chan receive]:
example.com/a.Loop()
\t/src/a/a.go:10 +0x1
example.com/a.main()
\t/src/a/main.go:5 +0x1

goroutine 8 [chan receive]:
example.com/a.Loop()
\t/src/a/a.go:10 +0x1
example.com/a.main()
\t/src/a/main.go:5 +0x1

goroutine 9 [select]:
example.com/a.Other()
\t/src/a/a.go:20 +0x1

"
        .as_bytes(),
    )
    .expect("dump");
    let input = GoroutineInput {
        profile: Some(&profile),
        debug2: Some(&dump),
        ..GoroutineInput::default()
    };
    let groups = with_level(&input, GroupLevel::Exact).groups;
    assert_eq!(groups.total_groups, 2);
    let dump_goroutines = |receive: &str| {
        groups
            .rows
            .iter()
            .find(|r| r.frames.iter().any(|f| f.starts_with(receive)))
            .map(|r| (r.goroutines, r.dump_goroutines))
    };
    assert_eq!(dump_goroutines("runtime.chanrecv1 "), Some((2, 2)));
    assert_eq!(dump_goroutines("runtime.chanrecv2 "), Some((3, 0)));
    assert_eq!(groups.details_unmatched, Some(1));
    assert_eq!(
        groups.rows[0].frames[2],
        "example.com/a.Loop /src/a/a.go:10"
    );
}

/// Groups with these counts, each its own function.
fn counts_profile(counts: &[u64]) -> Profile {
    let names: Vec<String> = (0..counts.len())
        .map(|i| format!("example.com/p.F{i}"))
        .collect();
    let samples: Vec<(i64, Vec<F>)> = counts
        .iter()
        .zip(&names)
        .map(|(&c, n)| (c as i64, vec![(n.as_str(), "p.go", 1, 0x10)]))
        .collect();
    goroutine_profile(&samples)
}

fn infer_counts(counts: &[u64], declared: Option<u32>) -> Option<InstanceInference> {
    let profile = counts_profile(counts);
    let input = GoroutineInput {
        profile: Some(&profile),
        services: declared,
        ..GoroutineInput::default()
    };
    run(&input).instances
}

#[test]
fn instances_of_the_real_debug1_counts() {
    // The block counts of the production debug=1 dump (57 services declared).
    let mut counts = vec![944, 944, 944, 944, 146, 113, 113, 87, 87, 60, 60];
    counts.extend([59; 30]);
    counts.extend([54, 47, 28, 12, 5, 1, 1, 1, 1, 1, 1]);
    let inference = infer_counts(&counts, Some(57)).expect("instances");
    assert_eq!(inference.instances, 59);
    assert_eq!(inference.exact_groups, 30);
    assert_eq!(inference.explained_groups, 34);
    assert_eq!(inference.explained_goroutines, 4 * 944 + 30 * 59);
    assert_eq!(inference.per_instance, 64 + 30);
    assert_eq!(inference.matches_declared, Some(false));
    assert_eq!(
        inference.declared_note.as_deref(),
        Some("59 instances inferred, 57 declared")
    );
    assert_eq!(inference.factors[0].factor, 16);
    assert_eq!(inference.factors[0].text, "4 groups × 16 per instance");
    assert_eq!(inference.candidates[1].instances, 944);
    // Small divisors explain more goroutines but no group has exactly 2 or 4.
    assert!(inference.candidates.iter().all(|c| c.instances > 4));
}

#[test]
fn instances_need_groups_of_exactly_n() {
    // Two groups of 6 are not enough evidence; 1 is never a candidate.
    assert!(infer_counts(&[6, 6, 12, 1, 1, 1], Some(6)).is_none());
    let options = GoroutineOptions {
        min_exact_groups: 2,
        ..GoroutineOptions::default()
    };
    let profile = counts_profile(&[6, 6, 12, 1, 1, 1]);
    let input = GoroutineInput {
        profile: Some(&profile),
        services: Some(5),
        ..GoroutineInput::default()
    };
    let inference = analyze(&input, &options)
        .and_then(|a| a.instances)
        .expect("instances");
    assert_eq!(inference.instances, 6);
    assert_eq!(inference.matches_declared, Some(false));
}

#[test]
fn ties_prefer_the_declared_count() {
    // 3 and 4 both explain 12 goroutines.
    let counts = [4, 4, 4, 3, 3, 3, 3];
    assert_eq!(infer_counts(&counts, Some(4)).map(|i| i.instances), Some(4));
    assert_eq!(infer_counts(&counts, Some(3)).map(|i| i.instances), Some(3));
    // With another declared count: more groups of exactly N.
    assert_eq!(infer_counts(&counts, Some(7)).map(|i| i.instances), Some(3));
    // Without a declaration of more than one service, no instances are inferred.
    assert!(infer_counts(&counts, None).is_none());
    assert!(infer_counts(&counts, Some(1)).is_none());
}

#[test]
fn groups_carry_their_instance_factor() {
    let profile = counts_profile(&[18, 3, 3, 3, 7]);
    let input = GoroutineInput {
        profile: Some(&profile),
        services: Some(3),
        ..GoroutineInput::default()
    };
    let analysis = run(&input);
    let rows = &analysis.groups.rows;
    assert_eq!(rows[0].instance_factor, Some(6));
    assert_eq!(rows[0].instance_factor_text.as_deref(), Some("18 = 6 × 3"));
    assert_eq!(rows[1].instance_factor, None);
    assert_eq!(rows[2].instance_factor_text.as_deref(), Some("3 = 1 × 3"));
    let inference = analysis.instances.expect("instances");
    assert_eq!(inference.per_instance, 9);
    assert_eq!(inference.total_per_instance_text, "11.33");
    assert_eq!(inference.declared_note, None);
    assert_eq!(
        inference.summary_text,
        "3 instances explain 27 of 34 goroutines (79.41%) in 4 of 5 groups: 9 goroutines per instance"
    );
}

const DEBUG1: &str = "goroutine profile: total 7
5 @ 0x4773ce 0x40fc65 0x47f1a1
#\t0x40fc64\texample.com/a.Worker+0x64\t/root/go/pkg/mod/example.com/a@v1.2.3/w.go:10

2 @ 0x4773ce 0x40fc66 0x47f1a1
#\t0x40fc65\tmain.main+0x64\t/src/app/main.go:5

";

#[test]
fn totals_keep_every_source_and_the_protobuf_time() {
    let profile = goroutine_profile(&[(6, stack(&["example.com/a.Worker"]))]);
    let dump = crate::dump::parse(DEBUG1.as_bytes()).expect("dump");
    let input = GoroutineInput {
        profile: Some(&profile),
        debug1: Some(&dump),
        ..GoroutineInput::default()
    };
    let totals = run(&input).totals;
    assert_eq!(totals.total, 6);
    assert_eq!(totals.source, GoroutineSource::Protobuf);
    assert!(!totals.consistent);
    assert_eq!(totals.rows.len(), 2);
    assert_eq!(
        totals.rows[0].time_text.as_deref(),
        Some("2025-10-16 01:05:33 UTC")
    );
    assert_eq!(totals.rows[1].goroutines, 7);
    assert_eq!(totals.rows[1].header_total, Some(7));
    assert_eq!(totals.rows[1].difference_text, "+1 (+16.67%)");
    assert_eq!(
        totals.note.as_deref(),
        Some(
            "6 in the goroutine profile (2025-10-16 01:05:33 UTC), 7 in the debug=1 \
                 dump: the profiles are taken moments apart, and goroutines come and go"
        )
    );
    // The debug=1 dump alone is the source of everything.
    let alone = GoroutineInput {
        debug1: Some(&dump),
        ..GoroutineInput::default()
    };
    let analysis = run(&alone);
    assert_eq!(analysis.totals.total, 7);
    assert!(analysis.totals.consistent);
    assert_eq!(analysis.groups.source, GoroutineSource::Debug1);
    assert_eq!(
        labels_and_counts(&analysis),
        [
            ("example.com/a.Worker".to_string(), 5),
            ("main.main".to_string(), 2)
        ]
    );
}

#[test]
fn per_service_against_the_expectation() {
    let profile = counts_profile(&[10, 2]);
    let verdict = |expected: Option<(f64, f64)>| {
        let input = GoroutineInput {
            profile: Some(&profile),
            services: Some(4),
            expected_per_service: expected,
            ..GoroutineInput::default()
        };
        run(&input).per_service.expect("per service")
    };
    let above = verdict(Some((1.0, 2.0)));
    assert_eq!(above.per_service, 3.0);
    assert_eq!(above.per_service_text, "3");
    assert_eq!(above.verdict, Expectation::Above);
    assert_eq!(
        above.verdict_text,
        "above the expected 1–2 (1.5× the upper bound)"
    );
    assert_eq!(verdict(Some((2.5, 3.0))).verdict, Expectation::Within);
    let below = verdict(Some((5.0, 5.0)));
    assert_eq!(below.verdict, Expectation::Below);
    assert_eq!(below.verdict_text, "below the expected 5");
    assert_eq!(verdict(None).verdict, Expectation::NoExpectation);
    let none = GoroutineInput {
        profile: Some(&profile),
        services: Some(0),
        ..GoroutineInput::default()
    };
    assert!(run(&none).per_service.is_none());
}

const DEBUG2: &str = "goroutine 1 [running]:
main.main()
\t/src/app/main.go:10 +0x1d

goroutine 5 [sync.Mutex.Lock, 90 minutes]:
sync.runtime_SemacquireMutex(0x0?, 0x0?, 0x0?)
\t/usr/lib/go/src/runtime/sema.go:95 +0x25
sync.(*Mutex).lockSlow(0xc000016310)
\t/usr/lib/go/src/sync/mutex.go:173 +0x165
sync.(*Mutex).Lock(...)
\t/usr/lib/go/src/sync/mutex.go:92
example.com/app/store.(*DB).Get(0x0?)
\t/root/go/pkg/mod/example.com/app@v1.2.3/store/db.go:40 +0x3c
created by example.com/app/server.Start in goroutine 1
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:20 +0x55

goroutine 6 [semacquire, 70 minutes]:
sync.runtime_SemacquireMutex(0x0?, 0x0?, 0x0?)
\t/usr/lib/go/src/runtime/sema.go:95 +0x25
sync.(*Mutex).lockSlow(0xc000016310)
\t/usr/lib/go/src/sync/mutex.go:173 +0x165
sync.(*Mutex).Lock(...)
\t/usr/lib/go/src/sync/mutex.go:92
example.com/app/store.(*DB).Get(0x0?)
\t/root/go/pkg/mod/example.com/app@v1.2.3/store/db.go:40 +0x3c
created by example.com/app/server.Start in goroutine 1
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:20 +0x55

goroutine 7 [semacquire, 30 minutes]:
sync.runtime_SemacquireWaitGroup(0x0?)
\t/usr/lib/go/src/runtime/sema.go:110 +0x25
sync.(*WaitGroup).Wait(0x0?)
\t/usr/lib/go/src/sync/waitgroup.go:118 +0x47
example.com/app/server.drain()
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:50 +0x24
created by example.com/app/server.Start in goroutine 1
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:21 +0x65

goroutine 8 [chan receive, 5 minutes, locked to thread]:
example.com/app/server.loop()
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:60 +0x24
created by example.com/app/server.Start in goroutine 1
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:22 +0x75

goroutine 9 [chan receive]:
example.com/app/server.loop()
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:60 +0x24
created by example.com/app/server.Start in goroutine 1
\t/root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:22 +0x75

";

fn debug2_input<'a>(
    dump: &'a GoroutineDump,
    uptime: Option<f64>,
    mutex: Option<&'a Profile>,
) -> GoroutineInput<'a> {
    GoroutineInput {
        debug2: Some(dump),
        uptime_seconds: uptime,
        mutex,
        ..GoroutineInput::default()
    }
}

#[test]
fn debug2_groups_carry_states_creators_and_waits() {
    let dump = crate::dump::parse(DEBUG2.as_bytes()).expect("dump");
    let analysis = run(&debug2_input(&dump, None, None));
    assert_eq!(analysis.groups.source, GoroutineSource::Debug2);
    // Two groups of two: by label, server.loop before store.(*DB).Get.
    let get = &analysis.groups.rows[1];
    assert_eq!(get.label, "example.com/app/store.(*DB).Get");
    assert_eq!(get.goroutines, 2);
    assert_eq!(
        get.states,
        [
            StateCount {
                state: "semacquire".into(),
                goroutines: 1
            },
            StateCount {
                state: "sync.Mutex.Lock".into(),
                goroutines: 1
            }
        ]
    );
    assert_eq!(get.max_wait_minutes, Some(90));
    assert_eq!(get.created_by.len(), 1);
    assert_eq!(get.created_by[0].goroutines, 2);
    assert_eq!(
        get.created_by[0].text,
        "example.com/app/server.Start at /root/go/pkg/mod/example.com/app@v1.2.3/server/server.go:20"
    );
    let loop_group = &analysis.groups.rows[0];
    assert_eq!(loop_group.label, "example.com/app/server.loop");
    assert_eq!(loop_group.max_wait_minutes, Some(5));
}

#[test]
fn debug2_states_wait_buckets_and_leak_suspects() {
    let dump = crate::dump::parse(DEBUG2.as_bytes()).expect("dump");
    // Uptime unknown: blocked for an hour or more.
    let states = run(&debug2_input(&dump, None, None))
        .states
        .expect("states");
    assert_eq!(states.goroutines, 6);
    let rows: Vec<(&str, u64)> = states
        .states
        .iter()
        .map(|s| (s.state.as_str(), s.goroutines))
        .collect();
    assert_eq!(
        rows,
        [
            ("chan receive", 2),
            ("semacquire", 2),
            ("running", 1),
            ("sync.Mutex.Lock", 1)
        ]
    );
    let buckets: Vec<(&str, u64)> = states
        .wait_buckets
        .iter()
        .map(|b| (b.label.as_str(), b.goroutines))
        .collect();
    assert_eq!(
        buckets,
        [
            ("< 1 min", 2),
            ("1–10 min", 1),
            ("10–60 min", 1),
            ("≥ 60 min", 2)
        ]
    );
    assert_eq!(states.locked_to_thread, 1);
    assert_eq!(states.leak_threshold_minutes, 60);
    assert_eq!(states.leak_threshold_text, "≥ 60 min (uptime unknown)");
    // The two lock waiters are blocked for over an hour, but server.Start created them once,
    // not per request: lifecycle goroutines, not a leak.
    assert!(states.leak_suspects.is_empty());
    assert_eq!(
        (
            states.blocked_not_suspect_groups,
            states.blocked_not_suspect_goroutines
        ),
        (1, 2)
    );

    // 100 minutes up: 80% is 80 minutes, so only the 90-minute waiter is blocked that long.
    let states = run(&debug2_input(&dump, Some(6000.0), None))
        .states
        .expect("states");
    assert_eq!(states.leak_threshold_minutes, 80);
    assert_eq!(
        states.leak_threshold_text,
        "≥ 80 min (80% of the 100 min uptime)"
    );
    assert_eq!(states.blocked_not_suspect_goroutines, 1);
}

/// A `debug=2` dump of a server: `connections` connections in `net/http.(*conn).serve`
/// (goroutines 100…), one accept loop, and `leaked` goroutines that `handler` started in
/// goroutine `parent`, blocked in a channel send for 90 minutes (the first `proved` of them
/// marked leaked by the runtime).
fn server_dump(connections: u64, leaked: u64, handler: &str, parent: u64, proved: u64) -> String {
    let mut out = String::from(
        "goroutine 1 [IO wait, 95 minutes]:
internal/poll.runtime_pollWait(0x0, 0x72)
\t/go/src/runtime/netpoll.go:351 +0x85
net.(*TCPListener).Accept(0x0)
\t/go/src/net/tcpsock.go:380 +0x30
net/http.(*Server).Serve(0x0, {0x0, 0x0})
\t/go/src/net/http/server.go:3424 +0x30f
main.main()
\t/src/main.go:10 +0x1

",
    );
    for i in 0..connections {
        out.push_str(&format!(
            "goroutine {} [IO wait]:
internal/poll.runtime_pollWait(0x0, 0x72)
\t/go/src/runtime/netpoll.go:351 +0x85
net.(*conn).Read(0x0, {{0x0, 0x0, 0x0}})
\t/go/src/net/net.go:194 +0x45
net/http.(*connReader).Read(0x0, {{0x0, 0x0, 0x0}})
\t/go/src/net/http/server.go:798 +0x14a
bufio.(*Reader).fill(0x0)
\t/go/src/bufio/bufio.go:113 +0x103
bufio.(*Reader).Peek(0x0, 0x4)
\t/go/src/bufio/bufio.go:152 +0x53
net/http.(*conn).serve(0x0, {{0x0, 0x0}})
\t/go/src/net/http/server.go:2079 +0x749
created by net/http.(*Server).Serve in goroutine 1
\t/go/src/net/http/server.go:3454 +0x485

",
            100 + i
        ));
    }
    for i in 0..leaked {
        let state = if i < proved {
            "chan send (leaked), 90 minutes"
        } else {
            "chan send, 90 minutes"
        };
        out.push_str(&format!(
            "goroutine {} [{state}]:
{handler}.func1()
\t/src/main.go:30 +0x1
created by {handler} in goroutine {parent}
\t/src/main.go:29 +0x1

",
            1000 + i
        ));
    }
    out
}

#[test]
fn leak_suspects_are_created_per_request_and_far_more_than_the_work_in_flight() {
    let uptime = Some(100.0 * 60.0);
    let suspects = |text: &str| {
        let dump = crate::dump::parse(text.as_bytes()).expect("dump");
        run(&debug2_input(&dump, uptime, None))
            .states
            .expect("states")
    };
    // 12 goroutines started by a handler that ran in connection goroutine 100: per request,
    // 12 ≥ 4 × 2 connections and ≥ 10.
    let states = suspects(&server_dump(2, 12, "main.handle", 100, 0));
    assert_eq!(states.in_flight, 2);
    assert_eq!(states.leak_size_floor, 10);
    assert_eq!(states.leak_suspects.len(), 1);
    let suspect = &states.leak_suspects[0];
    assert_eq!(suspect.label, "main.handle.func1");
    assert_eq!((suspect.blocked, suspect.group_goroutines), (12, 12));
    assert_eq!(
        suspect.per_request_text,
        "created by main.handle in a goroutine of net/http.(*conn).serve"
    );
    // The idle connections, blocked under a minute, are connections, not suspects.
    assert_eq!(states.blocked_not_suspect_groups, 1);
    // Not far larger than the work in flight: 12 < 4 × 5 connections.
    let states = suspects(&server_dump(5, 12, "main.handle", 100, 0));
    assert!(states.leak_suspects.is_empty());
    assert_eq!(states.leak_size_floor, 20);
    // The same goroutines started by a goroutine that neither serves a connection nor
    // accepts them (goroutine 7, gone): a lifecycle pool, however long blocked.
    let states = suspects(&server_dump(2, 12, "main.startPool", 7, 0));
    assert!(states.leak_suspects.is_empty());
    assert_eq!(states.blocked_not_suspect_goroutines, 13);
    // Started by the accept loop's goroutine: one per connection.
    let states = suspects(&server_dump(2, 12, "main.acceptLoop", 1, 0));
    assert_eq!(states.leak_suspects.len(), 1);
    // Leaks the runtime proved are reported apart, whatever the suspects.
    let states = suspects(&server_dump(2, 12, "main.startPool", 7, 3));
    assert_eq!(states.proved_leaked, 3);
    assert_eq!(states.proved_leaks[0].label, "main.startPool.func1");
}

#[test]
fn mutex_waiters_against_the_mutex_profile() {
    let dump = crate::dump::parse(DEBUG2.as_bytes()).expect("dump");
    // The WaitGroup semacquire is not a mutex wait; the two lockers are.
    let empty = mutex_profile(&[]);
    let waiters = run(&debug2_input(&dump, None, Some(&empty))).mutex_waiters;
    assert_eq!(waiters.waiters, 2);
    assert_eq!(waiters.by_state.len(), 2);
    assert_eq!(waiters.groups[0].label, "example.com/app/store.(*DB).Get");
    assert_eq!(waiters.mutex_profile, MutexProfileState::Empty);
    assert!(waiters.profiling_off_with_contention);
    assert_eq!(
        waiters.note.as_deref(),
        Some(
            "2 goroutines wait to lock a mutex but the mutex profile is empty: mutex \
                 profiling is most likely off (runtime.SetMutexProfileFraction) while \
                 contention exists"
        )
    );
    let zero = mutex_profile(&[[0, 0]]);
    let waiters = run(&debug2_input(&dump, None, Some(&zero))).mutex_waiters;
    assert_eq!(waiters.mutex_profile, MutexProfileState::Empty);

    let recorded = mutex_profile(&[[3, 5_000_000], [1, 1_000_000]]);
    let waiters = run(&debug2_input(&dump, None, Some(&recorded))).mutex_waiters;
    assert_eq!(waiters.mutex_profile, MutexProfileState::Recorded);
    assert_eq!(waiters.mutex_contentions, 4);
    assert_eq!(waiters.mutex_delay_text, "6ms");
    assert!(!waiters.profiling_off_with_contention);

    let missing = run(&debug2_input(&dump, None, None)).mutex_waiters;
    assert_eq!(missing.mutex_profile, MutexProfileState::NotCollected);
    assert!(missing.note.is_some_and(|n| n.contains("no mutex profile")));
}

#[test]
fn mutex_waiters_from_protobuf_frames() {
    let profile = goroutine_profile(&[
        (
            4,
            stack(&[
                "runtime.gopark",
                "runtime.semacquire1",
                "sync.runtime_SemacquireMutex",
                "sync.(*Mutex).lockSlow",
                "sync.(*Mutex).Lock",
                "example.com/a.(*S).Update",
            ]),
        ),
        (
            2,
            stack(&[
                "runtime.gopark",
                "runtime.semacquire1",
                "sync.runtime_SemacquireWaitGroup",
                "sync.(*WaitGroup).Wait",
                "example.com/a.wait",
            ]),
        ),
    ]);
    let empty = mutex_profile(&[]);
    let input = GoroutineInput {
        profile: Some(&profile),
        mutex: Some(&empty),
        ..GoroutineInput::default()
    };
    let waiters = run(&input).mutex_waiters;
    assert_eq!(waiters.waiters, 4);
    assert!(waiters.by_state.is_empty());
    assert_eq!(waiters.groups[0].label, "example.com/a.(*S).Update");
    assert!(waiters.profiling_off_with_contention);
}

#[test]
fn module_versions_from_every_source() {
    let dump = crate::dump::parse(DEBUG2.as_bytes()).expect("dump");
    let debug1 = crate::dump::parse(DEBUG1.as_bytes()).expect("dump");
    let profile = goroutine_profile(&[(
        3,
        vec![
            (
                "tailscale.com/net/x.F",
                "tailscale.com@v1.86.5/net/x/x.go",
                1,
                1,
            ),
            (
                "tailscale.com/net/x.G",
                "tailscale.com@v1.86.5/net/x/x.go",
                2,
                2,
            ),
            ("runtime.goexit", "runtime/asm_amd64.s", 1, 3),
        ],
    )]);
    let input = GoroutineInput {
        profile: Some(&profile),
        debug1: Some(&debug1),
        debug2: Some(&dump),
        ..GoroutineInput::default()
    };
    let modules: Vec<(String, String, u64, GoroutineSource)> = run(&input)
        .modules
        .into_iter()
        .map(|m| (m.module, m.version, m.goroutines, m.source))
        .collect();
    assert_eq!(
        modules,
        [
            // Both dumps show example.com/app or /a; debug=2 is preferred for counts.
            (
                "example.com/a".into(),
                "v1.2.3".into(),
                5,
                GoroutineSource::Debug1
            ),
            (
                "example.com/app".into(),
                "v1.2.3".into(),
                5,
                GoroutineSource::Debug2
            ),
            // Counted once per goroutine although two frames are in it.
            (
                "tailscale.com".into(),
                "v1.86.5".into(),
                3,
                GoroutineSource::Protobuf
            ),
        ]
    );
}

#[test]
fn round_trips_through_json_and_is_deterministic() {
    let dump = crate::dump::parse(DEBUG2.as_bytes()).expect("dump");
    let mutex = mutex_profile(&[]);
    let mut input = debug2_input(&dump, Some(6000.0), Some(&mutex));
    input.services = Some(2);
    input.expected_per_service = Some((1.0, 2.0));
    let analysis = run(&input);
    let json = serde_json::to_string(&analysis).expect("json");
    let back: GoroutineAnalysis = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, analysis);
    assert_eq!(serde_json::to_string(&run(&input)).expect("json"), json);
}

#[test]
fn connections_are_counted_by_kind_with_idle_keep_alive() {
    let server_idle = stack(&[
        "runtime.gopark",
        "internal/poll.runtime_pollWait",
        "net.(*conn).Read",
        "net/http.(*connReader).Read",
        "bufio.(*Reader).Peek",
        "net/http.(*conn).serve",
    ]);
    let server_busy = stack(&[
        "runtime.gopark",
        "runtime.selectgo",
        "example.com/app.handle",
        "net/http.HandlerFunc.ServeHTTP",
        "net/http.serverHandler.ServeHTTP",
        "net/http.(*conn).serve",
    ]);
    let background = stack(&[
        "runtime.gopark",
        "net.(*conn).Read",
        "net/http.(*connReader).backgroundRead",
    ]);
    let read_loop = stack(&[
        "runtime.gopark",
        "net.(*conn).Read",
        "net/http.(*persistConn).Read",
        "bufio.(*Reader).fill",
        "bufio.(*Reader).Peek",
        "net/http.(*persistConn).readLoop",
    ]);
    let write_loop = stack(&[
        "runtime.gopark",
        "runtime.selectgo",
        "net/http.(*persistConn).writeLoop",
    ]);
    let round_trip = stack(&[
        "runtime.gopark",
        "runtime.selectgo",
        "net/http.(*persistConn).roundTrip",
        "net/http.(*Transport).roundTrip",
        "example.com/app.fetch",
    ]);
    let raw = stack(&["runtime.gopark", "net.(*conn).Read", "example.com/app.pump"]);
    let profile = goroutine_profile(&[
        (5, server_idle),
        (2, server_busy),
        (2, background),
        (4, read_loop),
        (4, write_loop),
        (1, round_trip),
        (3, raw),
        (3, stack(&["runtime.gopark", "example.com/app.tick"])),
    ]);
    let input = GoroutineInput {
        profile: Some(&profile),
        ..GoroutineInput::default()
    };
    let analysis = run(&input);
    let connections = analysis.connections.expect("connections");
    let rows: Vec<(&str, Option<u64>, Option<u64>, u64)> = connections
        .rows
        .iter()
        .map(|r| (r.kind.as_str(), r.connections, r.idle, r.goroutines))
        .collect();
    assert_eq!(
        rows,
        [
            ("HTTP/1 server connections", Some(7), Some(5), 9),
            ("HTTP/1 upstream connections", Some(4), Some(3), 8),
            (
                "stream sockets read or written outside HTTP and gRPC",
                None,
                None,
                3
            ),
        ]
    );
    assert_eq!(connections.goroutines, 20);
    assert_eq!(connections.upstream_requests, 1);
    // The server connections' groups are named by the connection loop, not the reader.
    assert!(
        analysis
            .groups
            .rows
            .iter()
            .any(|r| r.label == "net/http.(*conn).serve" && r.goroutines == 5)
    );
    // No connection groups: no summary.
    let quiet = goroutine_profile(&[(3, stack(&["runtime.gopark", "example.com/app.tick"]))]);
    let input = GoroutineInput {
        profile: Some(&quiet),
        ..GoroutineInput::default()
    };
    assert!(run(&input).connections.is_none());
}

#[test]
fn connection_groups_never_reveal_instances() {
    // Three services, each with two per-service loops, and three client connections of two
    // goroutines each: 3 is the instance count from the loops alone; the connection pairs
    // (groups of exactly 3 too) are not counted as groups of exactly N.
    let mut samples = vec![
        (3, stack(&["runtime.gopark", "example.com/svc.loopA"])),
        (3, stack(&["runtime.gopark", "example.com/svc.loopB"])),
        (
            3,
            stack(&[
                "runtime.gopark",
                "runtime.selectgo",
                "net/http.(*persistConn).writeLoop",
            ]),
        ),
        (
            3,
            stack(&[
                "runtime.gopark",
                "net/http.(*persistConn).Read",
                "net/http.(*persistConn).readLoop",
            ]),
        ),
    ];
    let profile = goroutine_profile(&samples);
    let input = GoroutineInput {
        profile: Some(&profile),
        services: Some(3),
        ..GoroutineInput::default()
    };
    // Two non-connection groups of exactly 3: below the three groups a candidate needs.
    assert!(run(&input).instances.is_none());
    samples.push((3, stack(&["runtime.gopark", "example.com/svc.loopC"])));
    let profile = goroutine_profile(&samples);
    let input = GoroutineInput {
        profile: Some(&profile),
        services: Some(3),
        ..GoroutineInput::default()
    };
    let instances = run(&input).instances.expect("instances");
    assert_eq!((instances.instances, instances.exact_groups), (3, 3));
}
