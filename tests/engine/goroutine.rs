//! The goroutine text dump parsers, through the public API, on the dumps of
//! fixtures/goroutine/ and on small inline inputs for the edge cases and errors.

use crate::common::goroutines::assert_consistent;
use pprof_report::dump::{CreatedBy, DumpError, DumpFormat, GoroutineDump, parse, sniff};
use pprof_report::profile::{Profile, ValueType};

const DEBUG1: &[u8] = include_bytes!("../../fixtures/goroutine/debug1.txt");
const DEBUG2: &[u8] = include_bytes!("../../fixtures/goroutine/debug2.txt");
const DEBUG2_GO119: &[u8] = include_bytes!("../../fixtures/goroutine/debug2-go119.txt");

/// A sample's stack, leaf first: one entry per location, `func:line`, inlined frames joined
/// with ` / ` (innermost first), `0xADDR` for a location without lines.
fn stack(profile: &Profile, sample: usize) -> Vec<String> {
    profile
        .sample(sample)
        .locations()
        .map(|l| {
            let location = &profile.locations[l];
            if location.lines.is_empty() {
                return format!("{:#x}", location.address);
            }
            location
                .lines
                .iter()
                .map(|line| format!("{}:{}", profile.functions[line.function].name, line.line))
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .collect()
}

fn value(dump: &GoroutineDump, sample: usize) -> i64 {
    dump.profile.sample(sample).value(0)
}

fn parse_ok(text: &str) -> GoroutineDump {
    match parse(text.as_bytes()) {
        Ok(dump) => dump,
        Err(err) => panic!("{err}"),
    }
}

fn parse_err(text: &str) -> String {
    match parse(text.as_bytes()) {
        Ok(dump) => panic!("parsed: {dump:?}"),
        Err(err) => err.to_string(),
    }
}

fn goroutine_count() -> ValueType {
    ValueType {
        kind: "goroutine".to_string(),
        unit: "count".to_string(),
    }
}

fn assert_profile_header(profile: &Profile) {
    assert_eq!(profile.sample_types, vec![goroutine_count()]);
    assert_eq!(profile.period_type, Some(goroutine_count()));
    assert_eq!(profile.period, 1);
}

#[test]
fn sniffs_the_fixtures() {
    assert_eq!(sniff(DEBUG1), Some(DumpFormat::Debug1));
    assert_eq!(sniff(DEBUG2), Some(DumpFormat::Debug2));
    assert_eq!(sniff(DEBUG2_GO119), Some(DumpFormat::Debug2));
    assert_eq!(DumpFormat::Debug2.to_string(), "debug=2");
}

#[test]
fn debug1_blocks_become_samples() {
    let dump = parse(DEBUG1).unwrap();
    assert_eq!(dump.format, DumpFormat::Debug1);
    assert_eq!(dump.header_total, Some(16));
    assert_eq!(dump.total(), 16);
    assert_eq!(dump.skipped_lines, 0);
    assert!(dump.goroutines.is_empty());
    assert_profile_header(&dump.profile);
    assert_consistent(&dump.profile);
    let profile = &dump.profile;
    assert_eq!(profile.samples.len(), 8);
    assert_eq!(
        profile.samples().map(|s| s.value(0)).collect::<Vec<_>>(),
        vec![5, 3, 2, 2, 1, 1, 1, 1]
    );
    // Only the `#` lines become frames: the hidden runtime PCs of the `@` line do not.
    assert_eq!(
        stack(profile, 0),
        vec!["example.com/shop/queue.(*Worker).run:88"]
    );
    let location = &profile.locations[profile.sample(0).locations().next().unwrap()];
    assert_eq!(location.address, 0x8a1c24);
    // Module versions stay in the file names.
    let function = &profile.functions[location.lines[0].function];
    assert_eq!(function.filename, "example.com/shop@v1.4.2/queue/worker.go");
    assert_eq!(function.system_name, function.name);
    // Last: the goroutine that wrote the dump, down to runtime.main.
    assert_eq!(
        stack(profile, 7),
        vec![
            "runtime/pprof.writeRuntimeProfile:734",
            "runtime/pprof.writeGoroutine:694",
            "main.main:61",
            "runtime.main:272",
        ]
    );
}

#[test]
fn debug1_labels() {
    let dump = parse(DEBUG1).unwrap();
    assert!(dump.profile.sample(0).labels().is_empty());
    assert_eq!(
        dump.profile.sample(1).labels().strings["service"],
        vec!["orders"]
    );
    assert_eq!(
        dump.profile.sample(1).labels().strings["tenant"],
        vec!["a\"b\tc"]
    );
    assert_eq!(
        dump.profile.sample(2).labels().strings["service"],
        vec!["payments"]
    );
    assert_eq!(
        dump.profile.sample(2).labels().strings["tenant"],
        vec!["zürich\u{1}"]
    );
    // Same stack, different labels: two samples sharing their locations, as in the protobuf.
    assert_eq!(
        dump.profile.sample(1).locations().collect::<Vec<_>>(),
        dump.profile.sample(2).locations().collect::<Vec<_>>()
    );
    assert_eq!(stack(&dump.profile, 1), stack(&dump.profile, 2));
}

#[test]
fn debug1_inlined_frames_share_a_location() {
    let dump = parse(DEBUG1).unwrap();
    let profile = &dump.profile;
    assert_eq!(
        stack(profile, 3),
        vec![
            "example.com/shop/cache.(*LRU[...]).wait:41 / example.com/shop/cache.(*LRU[...]).Get:77",
            "example.com/shop/cache.Fill[...]:12",
        ]
    );
    let location = &profile.locations[profile.sample(3).locations().next().unwrap()];
    assert_eq!(location.address, 0x6a2f30);
    assert_eq!(location.lines.len(), 2);
}

#[test]
fn debug1_recursion_is_one_location_per_pc() {
    let dump = parse(DEBUG1).unwrap();
    let profile = &dump.profile;
    assert_eq!(
        stack(profile, 4),
        vec![
            "example.com/shop/tree.walk:19",
            "example.com/shop/tree.walk:23",
            "example.com/shop/tree.walk:23",
            "example.com/shop/tree.walk:23",
            "example.com/shop/tree.(*Tree).Walk.func1:31",
        ]
    );
    let locations: Vec<usize> = profile.sample(4).locations().collect();
    assert_eq!(locations[1], locations[2]);
    assert_eq!(locations[2], locations[3]);
    // A recursive PC with an inlined frame: two locations of two lines each.
    assert_eq!(
        stack(profile, 5),
        vec![
            "example.com/shop/tree.leaf:8",
            "example.com/shop/tree.visit:14 / example.com/shop/tree.descend:20",
            "example.com/shop/tree.visit:14 / example.com/shop/tree.descend:20",
        ]
    );
}

#[test]
fn debug1_unsymbolized_pc_and_names_with_spaces() {
    let dump = parse(DEBUG1).unwrap();
    assert_eq!(
        stack(&dump.profile, 6),
        vec![
            "0x7f3a2b1c4d5d",
            "example.com/shop/native._Cfunc_poll:61",
            "type:.eq.struct { A int; B string }:1",
        ]
    );
    let profile = &dump.profile;
    let last = profile.sample(6).locations().nth(2).unwrap();
    let function = &profile.functions[profile.locations[last].lines[0].function];
    assert_eq!(function.filename, "<autogenerated>");
}

#[test]
fn debug1_header_total_and_sum_may_differ() {
    let dump = parse_ok(
        "goroutine profile: total 10\n\
         4 @ 0x43b9ae 0x4a1c25 0x46c2a1\n\
         #\t0x4a1c24\tmain.worker+0x184\t/src/main.go:20\n\
         \n\
         3 @ 0x43b9ae 0x4a1d01 0x46c2a1\n\
         #\t0x4a1d00\tmain.other+0x20\t/src/main.go:30\n\
         \n",
    );
    assert_eq!(dump.header_total, Some(10));
    assert_eq!(dump.total(), 7);
}

#[test]
fn debug1_lenient_lines_are_counted() {
    let dump = parse_ok(
        "goroutine profile: total 3\n\
         2 @ 0x43b9ae 0x4a1c25 0x46c2a1\n\
         # labels: {not labels}\n\
         #\t0x4a1c24\tmain.worker+0x184\t/src/main.go:20\n\
         #\tnot a frame\n\
         some stray text\n\
         1 @ 0x43b9ae 0x4a1d01 0x46c2a1\n\
         #\t0x4a1d00\tmain.other+0x20\t\t\t/src/main.go:30\r\n\
         \r\n",
    );
    assert_eq!(dump.skipped_lines, 3);
    assert_eq!(
        dump.profile.samples.len(),
        2,
        "a header right after a block starts a new one"
    );
    assert_eq!(stack(&dump.profile, 0), vec!["main.worker:20"]);
    assert_eq!(stack(&dump.profile, 1), vec!["main.other:30"]);
    assert!(dump.profile.sample(0).labels().is_empty());
}

#[test]
fn debug2_goroutines_and_merged_stacks() {
    let dump = parse(DEBUG2).unwrap();
    assert_eq!(dump.format, DumpFormat::Debug2);
    assert_eq!(dump.header_total, None);
    assert_eq!(dump.skipped_lines, 0);
    assert_profile_header(&dump.profile);
    assert_consistent(&dump.profile);
    assert_eq!(dump.goroutines.len(), 13);
    assert_eq!(dump.total(), 13);
    assert_eq!(dump.profile.samples.len(), 11);
    // Goroutines 18, 19 and 20 wait in the same frame: one sample of 3, although 20 has
    // another creator.
    let workers: Vec<_> = dump
        .goroutines
        .iter()
        .filter(|g| [18, 19, 20].contains(&g.id))
        .collect();
    assert_eq!(workers.len(), 3);
    let sample = workers[0].sample;
    assert!(workers.iter().all(|g| g.sample == sample));
    assert_eq!(value(&dump, sample), 3);
    assert_eq!(
        stack(&dump.profile, sample),
        vec!["example.com/shop/queue.(*Worker).run:88"]
    );
    let file = &dump.profile.functions[dump.profile.locations
        [dump.profile.sample(sample).locations().next().unwrap()]
    .lines[0]
        .function]
        .filename;
    assert_eq!(
        file,
        "/home/dev/go/pkg/mod/example.com/shop@v1.4.2/queue/worker.go"
    );
    // Every location is one frame without address; a frame seen twice is one location.
    for location in &dump.profile.locations {
        assert_eq!(location.address, 0);
        assert_eq!(location.lines.len(), 1);
    }
    let walk = dump.goroutines.iter().find(|g| g.id == 26).unwrap();
    let locations: Vec<usize> = dump.profile.sample(walk.sample).locations().collect();
    assert_eq!(locations[1], locations[2]);
    assert_eq!(locations[2], locations[3]);
}

#[test]
fn debug2_states_and_wait_times() {
    let dump = parse(DEBUG2).unwrap();
    let states: Vec<_> = dump
        .goroutines
        .iter()
        .map(|g| (g.id, &*g.state, g.wait_minutes, g.locked_to_thread))
        .collect();
    assert_eq!(
        states,
        vec![
            (41, "running", None, false),
            (1, "semacquire", Some(112), true),
            (3, "GC worker (idle)", Some(112), false),
            (8, "IO wait", Some(2), false),
            (18, "chan receive", Some(5), false),
            (19, "chan receive", Some(5), false),
            (20, "chan receive", Some(1), false),
            (21, "select", None, false),
            (22, "syscall", Some(3), false),
            (23, "sync.Mutex.Lock", None, false),
            (24, "chan receive (nil chan)", None, false),
            (25, "running", None, false),
            (26, "chan send", Some(9), false),
        ]
    );
    assert!(dump.goroutines.iter().all(|g| g.annotations.is_empty()));
    assert_eq!(dump.goroutines[0].line, 1);
    assert_eq!(dump.goroutines[1].line, 23);
}

#[test]
fn debug2_created_by() {
    let dump = parse(DEBUG2).unwrap();
    let main = &dump.goroutines[1];
    assert_eq!(main.id, 1);
    assert_eq!(main.created_by, None);
    assert_eq!(
        dump.goroutines[0].created_by,
        Some(CreatedBy {
            function: "net/http.(*Server).Serve".into(),
            file: "/usr/lib/go/src/net/http/server.go".into(),
            line: 3360,
            parent_goroutine: Some(8),
        })
    );
    let grown = dump.goroutines.iter().find(|g| g.id == 20).unwrap();
    let created = grown.created_by.as_ref().unwrap();
    assert_eq!(&*created.function, "example.com/shop/queue.(*Pool).Grow");
    assert_eq!(created.parent_goroutine, Some(18));

    // Go before 1.21: no `in goroutine N`.
    let old = parse(DEBUG2_GO119).unwrap();
    assert_eq!(
        old.goroutines[0].created_by,
        Some(CreatedBy {
            function: "net/http.(*Server).Serve".into(),
            file: "/usr/lib/go-1.19/src/net/http/server.go".into(),
            line: 3089,
            parent_goroutine: None,
        })
    );
    assert!(
        old.goroutines
            .iter()
            .filter_map(|g| g.created_by.as_ref())
            .all(|c| c.parent_goroutine.is_none())
    );
}

#[test]
fn debug2_frame_variants() {
    let dump = parse(DEBUG2).unwrap();
    let by_id = |id: u64| dump.goroutines.iter().find(|g| g.id == id).unwrap();
    // `(...)` inlined frames (no `+0x`), generics, closures.
    assert_eq!(
        stack(&dump.profile, by_id(23).sample),
        vec![
            "sync.runtime_SemacquireMutex:95",
            "sync.(*Mutex).lockSlow:173",
            "sync.(*Mutex).Lock:92",
            "example.com/shop/cache.(*LRU[...]).Get:77",
            "example.com/shop/cache.Fill[...]:12",
            "main.main.func1:44",
        ]
    );
    assert_eq!(
        stack(&dump.profile, by_id(21).sample),
        vec![
            "example.com/shop/queue.(*Worker).tick:120",
            "example.com/shop/queue.(*Worker).run.func1:79",
        ]
    );
    // `gp=… m=nil` header fields and `fp= sp= pc=` after the file line (GOTRACEBACK=system).
    let gc = by_id(3);
    assert_eq!(
        stack(&dump.profile, gc.sample),
        vec![
            "runtime.gopark:402",
            "runtime.gcBgMarkWorker:1310",
            "runtime.goexit:1695",
        ]
    );
    assert_eq!(gc.created_by.as_ref().unwrap().line, 1234);
    // `...N frames elided...`.
    let walk = by_id(26);
    assert!(walk.frames_elided);
    assert_eq!(stack(&dump.profile, walk.sample).len(), 5);
    assert!(!by_id(18).frames_elided);
    // `goroutine running on other thread; stack unavailable`: an empty stack, still counted.
    let running = by_id(25);
    assert!(running.stack_unavailable);
    assert!(dump.profile.sample(running.sample).locations().is_empty());
    assert_eq!(value(&dump, running.sample), 1);
    assert!(running.created_by.is_some());
}

#[test]
fn debug2_go119_dump() {
    let dump = parse(DEBUG2_GO119).unwrap();
    assert_eq!(dump.goroutines.len(), 8);
    assert_eq!(dump.total(), 8);
    assert_eq!(dump.skipped_lines, 0);
    assert_consistent(&dump.profile);
    let relays: Vec<_> = dump
        .goroutines
        .iter()
        .filter(|g| &*g.state == "chan receive")
        .collect();
    assert_eq!(relays.len(), 3);
    assert_eq!(value(&dump, relays[0].sample), 3);
    assert_eq!(relays[2].wait_minutes, Some(13));
    let main = &dump.goroutines[1];
    assert_eq!(
        (&*main.state, main.wait_minutes),
        ("select (no cases)", Some(14))
    );
    let deep = dump.goroutines.last().unwrap();
    assert!(deep.frames_elided);
    assert!(deep.locked_to_thread);
    assert_eq!(
        stack(&dump.profile, deep.sample),
        vec!["main.deep:9", "main.deep:11", "main.deep:11"]
    );
}

#[test]
fn debug2_minute_singular_and_annotations() {
    let dump = parse_ok(
        "goroutine 5 [chan receive, 1 minute]:\n\
         main.f()\n\
         \t/src/main.go:3 +0x1d\n\
         \n\
         goroutine 6 [select (durable), synctest bubble 2, 4 minutes]:\n\
         main.g()\n\
         \t/src/main.go:4\n",
    );
    assert_eq!(dump.goroutines[0].wait_minutes, Some(1));
    assert_eq!(&*dump.goroutines[1].state, "select (durable)");
    assert_eq!(dump.goroutines[1].wait_minutes, Some(4));
    assert_eq!(*dump.goroutines[1].annotations, vec!["synctest bubble 2"]);
}

#[test]
fn debug2_lenient_lines_are_counted() {
    let dump = parse_ok(
        "goroutine 1 [running]:\n\
         main.lost(0x1)\n\
         runtime: unexpected return pc for main.f called from 0x0\n\
         main.f(...)\n\
         \t/src/main.go:10\n\
         \tstray tab line\n\
         main.main()\n\
         \t/src/main.go:20 +0x1d\n\
         created by main.init in goroutine 0\n\
         \t/src/init.go:5 +0x10\n\
         main.after()\n\
         [originating from goroutine 0]:\n\
         main.ancestor(...)\n\
         \t/src/init.go:2\n\
         \n\
         \n\
         goroutine 2 [chan receive]:\n\
         runtime: some message\n\
         \n\
         goroutine 3 [select]:\r\n\
         main.g()\r\n\
         \t/src/g.go:1 +0x5\r\n",
    );
    // main.lost (no file line), the runtime message, the stray tab line, the frame after
    // `created by`, and the 3 lines of the ancestors section; in goroutine 2 the message.
    assert_eq!(dump.skipped_lines, 8);
    assert_eq!(dump.goroutines.len(), 3);
    assert_eq!(stack(&dump.profile, 0), vec!["main.f:10", "main.main:20"]);
    let created = dump.goroutines[0].created_by.as_ref().unwrap();
    assert_eq!(&*created.function, "main.init");
    assert_eq!(created.parent_goroutine, Some(0));
    // A goroutine without frames in the middle of the dump keeps its count, stack empty.
    assert!(
        dump.profile
            .sample(dump.goroutines[1].sample)
            .locations()
            .is_empty()
    );
    assert_eq!(
        stack(&dump.profile, dump.goroutines[2].sample),
        vec!["main.g:1"]
    );
}

#[test]
fn errors_name_the_line_and_the_problem() {
    let cases: &[(&str, &str)] = &[
        ("", "the goroutine dump is empty"),
        ("\n \n", "the goroutine dump is empty"),
        (
            "\nhello world\n",
            "line 2: expected \"goroutine profile: total N\" (debug=1) or \"goroutine N [state]:\" (debug=2) but found \"hello world\"",
        ),
        (
            "goroutine profile: total 1\ngarbage\n",
            "line 2: expected \"COUNT @ 0x...\" but found \"garbage\"",
        ),
        (
            "goroutine profile: total 2\n\
             1 @ 0x43b9ae 0x4a1c25 0x46c2a1\n\
             #\t0x4a1c24\tmain.worker+0x184\t/src/main.go:20\n\
             \n\
             #\t0x4a1c24\tmain.worker+0x184\t/src/main.go:20\n",
            "line 5: expected \"COUNT @ 0x...\" but found \"#\\t0x4a1c24\\tmain.worker+0x184\\t/src/main.go:20\"",
        ),
        (
            "goroutine profile: total 5\n",
            "line 1: \"goroutine profile: total 5\" header with no blocks after it (truncated dump?)",
        ),
        (
            "goroutine profile: total 5\n\n\n",
            "line 1: \"goroutine profile: total 5\" header with no blocks after it (truncated dump?)",
        ),
        (
            "goroutine profile: total 2\n\
             1 @ 0x43b9ae 0x4a1c25 0x46c2a1\n\
             #\t0x4a1c24\tmain.worker+0x184\t/src/main.go:20\n\
             \n\
             1 @ 0x4773ce 0x40fc65\n",
            "line 5: block cut off after \"1 @ 0x4773ce 0x40fc65\" header with no frames",
        ),
        (
            "goroutine profile: total 2\n\
             1 @ 0x4773ce 0x40fc65\n\
             # labels: {\"a\":\"b\"}\n",
            "line 2: block cut off after \"1 @ 0x4773ce 0x40fc65\" header with no frames",
        ),
        (
            "goroutine profile: total 2\n\
             1 @ 0x4773ce 0x40fc65\n\
             1 @ 0x43b9ae 0x4a1c25 0x46c2a1\n\
             #\t0x4a1c24\tmain.worker+0x184\t/src/main.go:20\n",
            "line 2: block \"1 @ 0x4773ce 0x40fc65\" has no frames",
        ),
        (
            "goroutine 1 [running]:\n\
             main.main()\n\
             \t/src/main.go:20 +0x1d\n\
             \n\
             goroutine 7 [select]:\n\
             main.f(0xc000010000, {0x7f1, 0x5})\n",
            "line 6: \"main.f(0xc000010000, {0x7f1, 0x5})\" cut off before its file:line line",
        ),
        (
            "goroutine 7 [select]:\n\
             main.f()\n\
             \t/src/main.go:20 +0x1d\n\
             created by main.main in goroutine 1\n",
            "line 4: \"created by main.main in goroutine 1\" cut off before its file:line line",
        ),
        (
            "goroutine 1 [running]:\n\
             main.main()\n\
             \t/src/main.go:20 +0x1d\n\
             \n\
             goroutine 7 [select, 3 minutes]:\n",
            "line 5: goroutine cut off after \"goroutine 7 [select, 3 minutes]:\" header with no frames",
        ),
        (
            "goroutine 1 [running]:\n\
             main.main()\n\
             \t/src/main.go:20 +0x1d\n\
             \n\
             panic: boom\n",
            "line 5: expected \"goroutine N [state]:\" but found \"panic: boom\"",
        ),
        (
            "goroutine 1 [running]:\n\
             main.main()\n\
             \t/src/main.go:2",
            "line 3: the dump ends in the middle of this line (truncated dump?)",
        ),
        (
            "goroutine profile: total 1\n\
             1 @ 0x43b9ae 0x4a1c25 0x46c2a1\n\
             #\t0x4a1c24\tmain.worker+0x184\t/src/ma",
            "line 3: the dump ends in the middle of this line (truncated dump?)",
        ),
    ];
    for (input, message) in cases {
        assert_eq!(&parse_err(input), message, "input: {input:?}");
    }
}

#[test]
fn error_values_are_matchable() {
    assert_eq!(
        parse(b"goroutine 9 [select]:\n"),
        Err(DumpError::GoroutineCutOff {
            line: 1,
            header: "goroutine 9 [select]:".to_string()
        })
    );
    let message = parse(b"\x1f\x8b\x08\x00").unwrap_err().to_string();
    assert!(message.starts_with("line 1: expected"), "{message}");
}

#[test]
fn blank_last_line_without_newline_is_fine() {
    let dump = parse_ok("goroutine 1 [running]:\nmain.main()\n\t/src/main.go:2\n  ");
    assert_eq!(dump.total(), 1);
}

/// Go prints no `#` line for a goroutine whose stack is only runtime.goexit (created, not
/// started yet): a block closed by its blank line with no frames is complete.
#[test]
fn a_block_without_frames_closed_by_a_blank_line_is_a_goroutine_with_no_stack() {
    let dump = parse(
        b"goroutine profile: total 3\n\
          2 @ 0x46c081\n\
          \n\
          1 @ 0x43b9ae 0x4a1c25 0x46c2a1\n\
          #\t0x4a1c24\tmain.worker+0x184\t/src/main.go:20\n\
          \n",
    )
    .unwrap();
    assert_eq!(dump.total(), 3);
    assert_eq!(dump.profile.sample(0).values().to_vec(), [2]);
    assert!(dump.profile.sample(0).locations().is_empty());
}

/// A real Go 1.27 dump (fixtures/leaky, built with Go 1.27 and served on loopback; taken from
/// `/debug/pprof/goroutine?debug=2` after `goroutineleak` had run): labels after the state,
/// one of them Go-quoted with `, ` and `}` inside, and goroutines marked `(leaked)`.
#[test]
fn a_go_1_27_dump_with_labels_and_leaked_goroutines() {
    let text = include_bytes!("../../fixtures/goroutine/debug2-go127-labels-leaked.txt");
    assert_eq!(sniff(text), Some(DumpFormat::Debug2));
    let dump = parse(text).unwrap();
    assert_consistent(&dump.profile);
    assert_eq!(dump.goroutines.len(), 10);
    let leaked: Vec<_> = dump.goroutines.iter().filter(|g| g.leaked).collect();
    assert_eq!(leaked.len(), 5);
    assert!(leaked.iter().all(|g| &*g.state == "chan send"));
    let mut labels: Vec<_> = dump
        .goroutines
        .iter()
        .flat_map(|g| g.labels.iter().cloned())
        .collect();
    labels.sort();
    assert_eq!(
        labels,
        [
            ("role".to_string(), "encoder".to_string()),
            ("role".to_string(), "tenant a, b}".to_string()),
        ]
    );
    assert!(dump.goroutines.iter().all(|g| g.annotations.is_empty()));
}
