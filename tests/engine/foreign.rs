//! Profiles written by other profilers than Go's runtime, and the odd shapes they come in:
//! real ones (fixtures/foreign/README.md says how each was made) and hand-made ones in the
//! exact shape a profiler writes, which this file builds (`PPROF_REPORT_BLESS=1 cargo test
//! --test engine foreign` rewrites them; otherwise the committed bytes must be what it builds).
//! Every one goes through decode, `top`, `members`, the report (alone and mixed), JSON, HTML
//! and `compare` without a crash, and the Go-specific analyses say they do not apply.

use crate::common;

use std::path::{Path, PathBuf};

use crate::common::builder::Builder;
use pprof_report::analyze::language::{self, Language};
use pprof_report::analyze::top::{self, TopOptions};
use pprof_report::profile::DecodeOptions;
use pprof_report::set::load::read_profile;

const NS_PER_MS: i64 = 1_000_000;
/// 2025-11-20 10:00:00 UTC: a fixed time, so the fixtures never change.
const TIME: i64 = 1_763_632_800_000_000_000;

/// async-profiler's `jfrconv --cpu --total -o pprof.gz`, after its JfrToPprof.java: one
/// sample type (`cpu/nanoseconds`), no period type, one mapping named `async-profiler` that
/// no location refers to, locations without address or mapping, functions with a name only
/// (`java/lang/Thread.run`, C++ frames of the JVM without arguments), a comment.
fn java_cpu() -> Vec<u8> {
    let mut b = Builder::new();
    b.sample_type("cpu", "nanoseconds");
    b.comment("Produced by async-profiler");
    b.mapping(1, 0, i64::MAX as u64, "async-profiler", false);
    let functions = [
        "java/lang/Thread.run",
        "java/util/concurrent/ThreadPoolExecutor$Worker.run",
        "java/util/concurrent/ThreadPoolExecutor.runWorker",
        "com/example/orders/OrderService.handle",
        "com/example/orders/PriceCalculator.compute",
        "java/math/BigDecimal.multiply",
        "com/fasterxml/jackson/databind/ObjectMapper.writeValueAsString",
        "com/fasterxml/jackson/core/json/UTF8JsonGenerator.writeString",
        "java/util/HashMap.resize",
        "Interpreter",
        "thread_native_entry",
        "Thread::call_run",
        "GCTaskThread::run",
        "G1ParScanThreadState::trim_queue_to_threshold",
        "__memmove_avx_unaligned_erms",
        "start_thread",
        "__clone3",
    ];
    for (i, name) in functions.iter().enumerate() {
        b.function(i as u64 + 1, name, "", "", 0);
    }
    // Locations are (function, line) pairs, as JfrToPprof indexes them.
    let lines = [
        (1, 833),
        (2, 635),
        (3, 1136),
        (4, 42),
        (5, 17),
        (6, 1520),
        (7, 3964),
        (8, 1012),
        (9, 704),
        (10, 0),
        (11, 0),
        (12, 0),
        (13, 0),
        (14, 0),
        (15, 0),
        (16, 0),
        (17, 0),
    ];
    for (i, &(f, line)) in lines.iter().enumerate() {
        b.location(i as u64 + 1, 0, 0, &[(f, line)]);
    }
    let worker = [4, 3, 2, 1];
    let stack = |leaf: &[u64]| {
        leaf.iter()
            .chain(worker.iter())
            .copied()
            .collect::<Vec<_>>()
    };
    b.sample(&stack(&[6, 5]), &[4_210 * NS_PER_MS], &[]);
    b.sample(&stack(&[5]), &[870 * NS_PER_MS], &[]);
    b.sample(&stack(&[8, 7]), &[2_330 * NS_PER_MS], &[]);
    b.sample(&stack(&[15, 9, 7]), &[420 * NS_PER_MS], &[]);
    b.sample(&stack(&[10]), &[130 * NS_PER_MS], &[]);
    b.sample(&[14, 13, 12, 11, 16, 17], &[1_640 * NS_PER_MS], &[]);
    b.sample(&[13, 12, 11, 16, 17], &[90 * NS_PER_MS], &[]);
    b.times(TIME, 10_000 * NS_PER_MS);
    b.finish()
}

/// async-profiler's `jfrconv --alloc --total -o pprof`: `allocations/bytes`, the allocated
/// class as the leaf frame (dotted, `byte[]`), then the Java stack.
fn java_alloc() -> Vec<u8> {
    let mut b = Builder::new();
    b.sample_type("allocations", "bytes");
    b.comment("Produced by async-profiler");
    b.mapping(1, 0, i64::MAX as u64, "async-profiler", false);
    let functions = [
        "java/lang/Thread.run",
        "com/example/orders/OrderService.handle",
        "com/example/orders/OrderRepository.load",
        "java/util/ArrayList.grow",
        "java/lang/StringBuilder.toString",
        "byte[]",
        "java.lang.Object[]",
        "java.lang.String",
        "com.example.orders.Order",
    ];
    for (i, name) in functions.iter().enumerate() {
        b.function(i as u64 + 1, name, "", "", 0);
        b.location(i as u64 + 1, 0, 0, &[(i as u64 + 1, 10 * i as i64)]);
    }
    b.sample(&[6, 5, 2, 1], &[96 << 20], &[]);
    b.sample(&[8, 5, 2, 1], &[12 << 20], &[]);
    b.sample(&[7, 4, 3, 2, 1], &[40 << 20], &[]);
    b.sample(&[9, 3, 2, 1], &[7 << 20], &[]);
    b.times(TIME, 30_000 * NS_PER_MS);
    b.finish()
}

/// The Datadog .NET profiler's shape: eight sample types in registration order (no default,
/// so pprof shows the last), frames spelt `|lm:Module |ns:Namespace |ct:Type |cg: |fn:Method
/// |fg: |sg:(args)` with no file, thread labels, no mappings.
fn dotnet() -> Vec<u8> {
    let mut b = Builder::new();
    for (kind, unit) in [
        ("wall", "nanoseconds"),
        ("cpu", "nanoseconds"),
        ("cpu-samples", "count"),
        ("exception", "count"),
        ("alloc-samples", "count"),
        ("alloc-size", "bytes"),
        ("lock-count", "count"),
        ("lock-time", "nanoseconds"),
    ] {
        b.sample_type(kind, unit);
    }
    let frame = |module: &str, namespace: &str, class: &str, method: &str, args: &str| {
        format!("|lm:{module} |ns:{namespace} |ct:{class} |cg: |fn:{method} |fg: |sg:({args})")
    };
    let functions = [
        frame(
            "System.Private.CoreLib",
            "System.Threading",
            "Thread",
            "StartCallback",
            "",
        ),
        frame(
            "System.Private.CoreLib",
            "System.Threading",
            "ThreadPoolWorkQueue",
            "Dispatch",
            "",
        ),
        frame(
            "Orders.Api",
            "Orders.Api.Controllers",
            "OrdersController",
            "Get",
            "int id",
        ),
        frame(
            "Orders.Api",
            "Orders.Api.Pricing",
            "PriceEngine",
            "Compute",
            "Order order",
        ),
        frame(
            "System.Text.Json",
            "System.Text.Json",
            "JsonSerializer",
            "Serialize",
            "T value",
        ),
        frame(
            "System.Private.CoreLib",
            "System",
            "String",
            "Concat",
            "string a, string b",
        ),
        "|lm:[native] GC |ns: |ct: |cg: |fn:Garbage Collector |fg: |sg:".to_string(),
        "|lm:[native] CLR |ns: |ct: |cg: |fn:.NET |fg: |sg:".to_string(),
    ];
    for (i, name) in functions.iter().enumerate() {
        b.function(i as u64 + 1, name, "", "", 0);
        b.location(i as u64 + 1, 0, 0, &[(i as u64 + 1, 0)]);
    }
    let thread = [
        ("thread id", "3"),
        ("thread name", ".NET ThreadPool Worker"),
    ];
    let ms = NS_PER_MS;
    b.sample(
        &[4, 3, 2, 1],
        &[900 * ms, 610 * ms, 61, 0, 0, 0, 0, 0],
        &thread,
    );
    b.sample(
        &[5, 3, 2, 1],
        &[420 * ms, 380 * ms, 38, 0, 0, 0, 0, 0],
        &thread,
    );
    b.sample(
        &[6, 4, 3, 2, 1],
        &[0, 0, 0, 0, 12, 9_400_000, 0, 0],
        &thread,
    );
    b.sample(&[3, 2, 1], &[0, 0, 0, 2, 0, 0, 3, 41 * ms], &thread);
    b.sample(&[7, 8], &[150 * ms, 150 * ms, 15, 0, 0, 0, 0, 0], &[]);
    b.times(TIME, 60_000 * NS_PER_MS);
    b.finish()
}

/// C++ frames (demangled, with argument lists) and no mapping table at all: what a perf
/// converter writes when it drops the mappings.
fn native_no_mappings() -> Vec<u8> {
    let mut b = Builder::new();
    b.sample_type("samples", "count");
    let functions = [
        ("main", "/src/server/main.cc"),
        ("server::Listener::accept_loop()", "/src/server/listener.cc"),
        (
            "server::Handler::serve(server::Request const&)",
            "/src/server/handler.cc",
        ),
        (
            "codec::Json::encode(codec::Value const&)",
            "/src/codec/json.cc",
        ),
        (
            "std::vector<char, std::allocator<char> >::_M_realloc_insert(char&&)",
            "",
        ),
        ("__memcpy_avx_unaligned", ""),
    ];
    for (i, (name, file)) in functions.iter().enumerate() {
        b.function(i as u64 + 1, name, name, file, 0);
        b.location(i as u64 + 1, 0, 0, &[(i as u64 + 1, 10 + i as i64)]);
    }
    b.sample(&[4, 3, 2, 1], &[310], &[]);
    b.sample(&[6, 5, 4, 3, 2, 1], &[120], &[]);
    b.sample(&[3, 2, 1], &[45], &[]);
    b.sample(&[2, 1], &[5], &[]);
    b.times(TIME, 0);
    b.finish()
}

/// An unsymbolized CPU profile: addresses and mappings (with build ids), no function at all.
fn addresses_only() -> Vec<u8> {
    let mut b = Builder::new();
    b.sample_type("samples", "count");
    b.sample_type("cpu", "nanoseconds");
    b.period_type("cpu", "nanoseconds", 10 * NS_PER_MS);
    b.mapping(1, 0x40_0000, 0x90_0000, "/usr/local/bin/server", true);
    b.mapping(
        2,
        0x7f3a_0000_0000,
        0x7f3a_0020_0000,
        "/lib/x86_64-linux-gnu/libc.so.6",
        false,
    );
    let addresses = [
        (1, 0x40_1a20),
        (1, 0x45_9f10),
        (1, 0x4a_0044),
        (1, 0x4a_1200),
        (2, 0x7f3a_0009_8a40),
        (2, 0x7f3a_0012_0c10),
    ];
    for (i, &(mapping, address)) in addresses.iter().enumerate() {
        b.location(i as u64 + 1, mapping, address, &[]);
    }
    let ms = 10 * NS_PER_MS;
    b.sample(&[3, 2, 1], &[61, 61 * ms], &[]);
    b.sample(&[5, 3, 2, 1], &[23, 23 * ms], &[]);
    b.sample(&[4, 2, 1], &[11, 11 * ms], &[]);
    b.sample(&[6, 1], &[4, 4 * ms], &[]);
    b.times(TIME, 2_000 * NS_PER_MS);
    b.finish()
}

/// A Go CPU profile cut to one frame per sample (a profiler that keeps only the leaf).
fn truncated_go() -> Vec<u8> {
    let mut b = Builder::new();
    b.sample_type("samples", "count");
    b.sample_type("cpu", "nanoseconds");
    b.period_type("cpu", "nanoseconds", 10 * NS_PER_MS);
    b.mapping(1, 0x40_0000, 0x80_0000, "/usr/local/bin/api", true);
    let functions = [
        (
            "crypto/sha256.block",
            "/usr/lib/go/src/crypto/sha256/sha256block_amd64.s",
        ),
        ("runtime.memmove", "/usr/lib/go/src/runtime/memmove_amd64.s"),
        (
            "example.com/api/handler.(*Server).encode",
            "/src/api/handler/encode.go",
        ),
        (
            "syscall.Syscall6",
            "/usr/lib/go/src/syscall/syscall_linux.go",
        ),
    ];
    for (i, (name, file)) in functions.iter().enumerate() {
        b.function(i as u64 + 1, name, name, file, 1);
        b.location(
            i as u64 + 1,
            1,
            0x40_1000 + 0x100 * i as u64,
            &[(i as u64 + 1, 20)],
        );
    }
    let ms = 10 * NS_PER_MS;
    for (location, n) in [(1, 40), (2, 25), (3, 12), (4, 9)] {
        b.sample(&[location], &[n, n * ms], &[]);
    }
    b.times(TIME, 1_000 * NS_PER_MS);
    b.finish()
}

/// What `go tool pprof -proto -diff_base=old new` writes: the base's samples negated and
/// labelled `pprof::base`, so values are negative where CPU went down.
fn diff_go() -> Vec<u8> {
    let mut b = Builder::new();
    b.sample_type("samples", "count");
    b.sample_type("cpu", "nanoseconds");
    b.period_type("cpu", "nanoseconds", 10 * NS_PER_MS);
    b.mapping(1, 0x40_0000, 0x80_0000, "/usr/local/bin/api", true);
    let functions = [
        "runtime.goexit",
        "main.main",
        "main.serve",
        "main.parse",
        "encoding/json.Unmarshal",
        "runtime.mallocgc",
    ];
    for (i, name) in functions.iter().enumerate() {
        b.function(i as u64 + 1, name, name, "/src/main.go", 1);
        b.location(
            i as u64 + 1,
            1,
            0x40_1000 + 0x40 * i as u64,
            &[(i as u64 + 1, 5)],
        );
    }
    let ms = 10 * NS_PER_MS;
    let base = [("pprof::base", "true")];
    b.sample(&[4, 3, 2, 1], &[30, 30 * ms], &[]);
    b.sample(&[4, 3, 2, 1], &[-52, -52 * ms], &base);
    b.sample(&[5, 4, 3, 2, 1], &[18, 18 * ms], &[]);
    b.sample(&[5, 4, 3, 2, 1], &[-11, -11 * ms], &base);
    b.sample(&[6, 5, 4, 3, 2, 1], &[7, 7 * ms], &[]);
    b.sample(&[3, 2, 1], &[-3, -3 * ms], &base);
    b.times(TIME, 30_000 * NS_PER_MS);
    b.finish()
}

/// No period type, a zero period, no time and no duration: a CPU profile that says nothing
/// about when or how often it sampled (Rust-style names, no files).
fn zero_period() -> Vec<u8> {
    let mut b = Builder::new();
    b.sample_type("cpu", "nanoseconds");
    let functions = [
        "std::rt::lang_start_internal",
        "worker::pool::run",
        "worker::job::execute",
        "core::str::converts::from_utf8",
    ];
    for (i, name) in functions.iter().enumerate() {
        b.function(i as u64 + 1, name, "", "", 0);
        b.location(i as u64 + 1, 0, 0, &[(i as u64 + 1, 0)]);
    }
    b.sample(&[4, 3, 2, 1], &[70 * NS_PER_MS], &[]);
    b.sample(&[3, 2, 1], &[20 * NS_PER_MS], &[]);
    b.sample(&[2, 1], &[0], &[]);
    b.finish()
}

/// No sample types and no samples: only the string table (and a comment).
fn no_sample_types() -> Vec<u8> {
    let mut b = Builder::new();
    b.comment("empty export");
    b.finish()
}

/// Three sample types whose default is the middle one, `wall` (JVM names, dotted).
fn default_wall() -> Vec<u8> {
    let mut b = Builder::new();
    b.sample_type("cpu", "nanoseconds");
    b.sample_type("wall", "nanoseconds");
    b.sample_type("samples", "count");
    b.default_sample_type("wall");
    b.period_type("wall", "nanoseconds", 10 * NS_PER_MS);
    let functions = [
        "java.lang.Thread.run",
        "com.example.jobs.Scheduler.loop",
        "com.example.jobs.Report.render",
        "java.lang.Thread.sleep",
        "java.net.SocketInputStream.read",
    ];
    for (i, name) in functions.iter().enumerate() {
        b.function(i as u64 + 1, name, "", "", 0);
        b.location(i as u64 + 1, 0, 0, &[(i as u64 + 1, 0)]);
    }
    let ms = 10 * NS_PER_MS;
    b.sample(&[3, 2, 1], &[80 * ms, 85 * ms, 85], &[]);
    b.sample(&[4, 2, 1], &[0, 400 * ms, 400], &[]);
    b.sample(&[5, 3, 2, 1], &[2 * ms, 115 * ms, 115], &[]);
    b.times(TIME, 6_000 * NS_PER_MS);
    b.finish()
}

/// The hand-made profiles: file name and bytes (gzipped where the profiler gzips).
fn handmade() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("java-async-profiler-cpu.pb.gz", common::gzip(&java_cpu())),
        ("java-async-profiler-alloc.pb", java_alloc()),
        ("dotnet-datadog.pb.gz", common::gzip(&dotnet())),
        ("native-cpp-no-mappings.pb", native_no_mappings()),
        ("addresses-only.pb.gz", common::gzip(&addresses_only())),
        ("truncated-go.pb", truncated_go()),
        ("diff-go.pb.gz", common::gzip(&diff_go())),
        ("zero-period.pb", zero_period()),
        ("no-sample-types.pb", no_sample_types()),
        ("default-wall.pb", default_wall()),
    ]
}

/// The real profiles (fixtures/foreign/README.md: tool, version, command).
const REAL: &[&str] = &[
    "rust-pprof-rs-cpu.pb",
    "nodejs-datadog-wall.pb.gz",
    "nodejs-datadog-heap.pb.gz",
    "python-austin-cpu.pprof",
    "python-austin-full.pprof",
    "ruby-rbspy-wall.pprof",
];

fn foreign(name: &str) -> PathBuf {
    common::fixture(&format!("foreign/{name}"))
}

fn all_names() -> Vec<String> {
    REAL.iter()
        .map(|s| s.to_string())
        .chain(handmade().into_iter().map(|(n, _)| n.to_string()))
        .collect()
}

#[test]
fn handmade_foreign_profiles_are_current() {
    for (name, bytes) in handmade() {
        common::golden::assert_matches_normalized(&foreign(name), &bytes, common::content);
    }
}

/// The language each profile's frames point to, and whether the Go analyses apply.
#[test]
fn languages_are_detected_from_frames() {
    let expected = [
        ("rust-pprof-rs-cpu.pb", Language::Rust),
        ("nodejs-datadog-wall.pb.gz", Language::NodeJs),
        ("nodejs-datadog-heap.pb.gz", Language::NodeJs),
        ("python-austin-cpu.pprof", Language::Python),
        ("python-austin-full.pprof", Language::Python),
        ("ruby-rbspy-wall.pprof", Language::Ruby),
        ("java-async-profiler-cpu.pb.gz", Language::Java),
        ("java-async-profiler-alloc.pb", Language::Java),
        ("dotnet-datadog.pb.gz", Language::DotNet),
        ("native-cpp-no-mappings.pb", Language::Native),
        ("addresses-only.pb.gz", Language::Unknown),
        ("truncated-go.pb", Language::Go),
        ("diff-go.pb.gz", Language::Go),
        ("zero-period.pb", Language::Rust),
        ("no-sample-types.pb", Language::Unknown),
        ("default-wall.pb", Language::Java),
    ];
    assert_eq!(expected.len(), all_names().len());
    for (name, language) in expected {
        let profile = read_profile(&foreign(name), &DecodeOptions::default()).unwrap();
        let verdict = language::detect(&profile);
        assert_eq!(
            verdict.language, language,
            "{name}: {}",
            verdict.evidence_text
        );
        assert_eq!(verdict.is_go, language == Language::Go, "{name}");
        assert!(!verdict.evidence_text.is_empty());
    }
    // The Go fixtures stay Go, by their runtime frames.
    for set in ["fixture-3svc-20261125-120000", "sim-57svc-20261125-145700"] {
        let profile = read_profile(
            &common::fixture(&format!("profiles/{set}-cpu.prof")),
            &DecodeOptions::default(),
        )
        .unwrap();
        let verdict = language::detect(&profile);
        assert!(verdict.is_go, "{set}: {}", verdict.evidence_text);
        assert!(
            verdict
                .go_runtime_functions
                .iter()
                .all(|f| f.starts_with("runtime.")),
            "{:?}",
            verdict.go_runtime_functions
        );
    }
}

/// `top` works on every sample index and granularity of every profile (pprof's numbers are
/// checked byte for byte by the goldens; here: no error where pprof has none, no panic).
#[test]
fn top_runs_on_every_sample_index_and_granularity() {
    use pprof_report::analyze::top::Granularity;
    for name in all_names() {
        let profile = read_profile(&foreign(&name), &DecodeOptions::default()).unwrap();
        let indices: Vec<Option<String>> = std::iter::once(None)
            .chain((0..profile.sample_types.len()).map(|i| Some(i.to_string())))
            .collect();
        for sample_index in indices {
            for granularity in [
                Granularity::Functions,
                Granularity::Lines,
                Granularity::Files,
                Granularity::FileFunctions,
            ] {
                for cum_sort in [false, true] {
                    let options = TopOptions {
                        sample_index: sample_index.clone(),
                        granularity,
                        cum_sort,
                        ..TopOptions::default()
                    };
                    let result = top::top(&profile, None, &options);
                    if profile.sample_types.is_empty() {
                        // pprof: "sample index 0 is outside the range [0..-1]"-style refusal.
                        assert!(result.is_err(), "{name}");
                    } else {
                        let report = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                        let text = pprof_report::render::top_text::render(&report);
                        assert!(text.contains("flat%"), "{name}:\n{text}");
                    }
                }
            }
        }
    }
}

/// A directory holding one profile, and the report's verdicts on it.
fn report_of(name: &str, dir: &Path) -> (serde_json::Value, String) {
    let set = dir.join(name.split('.').next().unwrap());
    std::fs::create_dir_all(&set).unwrap();
    std::fs::copy(foreign(name), set.join(name)).unwrap();
    // Beside the set's folder, not as its sibling of the same name: the report's flame graph
    // folder is named after the report, and must not be the folder holding the set.
    std::fs::create_dir_all(dir.join("reports")).unwrap();
    let md = dir
        .join("reports")
        .join(format!("{}.md", name.split('.').next().unwrap()));
    let json = md.with_extension("json");
    let set_arg = set.to_str().unwrap();
    let (code, _, stderr) = common::run(
        &["report", set_arg, "--out", md.to_str().unwrap(), "--html"],
        dir,
    );
    assert_eq!(code, 0, "{name}: {stderr}");
    assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    let (code, _, stderr) = common::run(
        &[
            "report",
            set_arg,
            "--format",
            "json",
            "--out",
            json.to_str().unwrap(),
        ],
        dir,
    );
    assert_eq!(code, 0, "{name}: {stderr}");
    common::check_markdown(&md);
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (value, std::fs::read_to_string(&md).unwrap())
}

#[test]
fn reports_of_foreign_profiles_say_what_does_not_apply() {
    let dir = tempfile::tempdir().unwrap();
    for name in all_names() {
        let (json, md) = report_of(&name, dir.path());
        let is_go = json["language"]["is_go"].as_bool().unwrap();
        let language = json["language"]["language"].as_str().unwrap().to_string();
        if is_go {
            continue;
        }
        // The verdict and its evidence are in the JSON and in the report.
        let headline = if language == "unknown" {
            "Runtime unknown"
        } else {
            "Not a Go program"
        };
        assert!(md.contains(headline), "{name}");
        assert!(md.contains("| Runtime |"), "{name}");
        assert!(
            json["findings"]["rules_not_applicable"].as_u64().unwrap() >= 16,
            "{name}"
        );
        assert!(
            json["findings"]["recommendations"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{name}"
        );
        // No Go advice for a non-Go program.
        for go_only in ["/debug/pprof", "SetMutexProfileFraction(5)", "GOGC"] {
            assert!(!md.contains(go_only), "{name}: {go_only}");
        }
        assert!(md.contains("goroutines are Go's"), "{name}");
        if let Some(cpu) = json["cpu"].as_object() {
            assert!(cpu["categories"].is_null(), "{name}");
            assert!(cpu["subsystems"].is_null(), "{name}");
            assert!(cpu["syscalls"].is_null(), "{name}");
            assert!(md.contains("do not apply to this profile"), "{name}");
        }
        // Something language-neutral is shown whenever there are samples.
        let samples = json["set"]["members"][0]["samples"].as_u64().unwrap();
        if samples > 0 && language != "unknown" {
            assert!(md.contains("| Flat | Flat % |"), "{name}: no top table");
            assert!(md.contains("By package"), "{name}");
        }
    }
}

#[test]
fn packages_mean_something_in_each_language() {
    let dir = tempfile::tempdir().unwrap();
    let expect: &[(&str, &[&str])] = &[
        (
            "rust-pprof-rs-cpu.pb",
            &["`core`", "`alloc`", "`pprofrs_demo`"],
        ),
        (
            "java-async-profiler-cpu.pb.gz",
            &["`java.util.concurrent`", "`com.example.orders`"],
        ),
        ("python-austin-cpu.pprof", &["`json`", "`importlib`"]),
        ("nodejs-datadog-heap.pb.gz", &["`node:internal`"]),
        (
            "dotnet-datadog.pb.gz",
            &["`System.Threading`", "`Orders.Api.Pricing`"],
        ),
        ("ruby-rbspy-wall.pprof", &["`app.rb`"]),
        ("addresses-only.pb.gz", &["`[server]`", "`[libc.so.6]`"]),
    ];
    for (name, packages) in expect {
        let (_, md) = report_of(name, dir.path());
        for p in *packages {
            assert!(md.contains(p), "{name}: no package {p}");
        }
    }
}

#[test]
fn a_set_mixing_runtimes_reports_every_profile() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("mixed");
    std::fs::create_dir_all(&set).unwrap();
    // Underscores: `-cpu` in a name would make it a set prefix of its own (and the
    // directory ambiguous, which `report` refuses with the set names).
    let names: Vec<String> = all_names().iter().map(|n| n.replace('-', "_")).collect();
    for (name, original) in names.iter().zip(all_names()) {
        std::fs::copy(foreign(&original), set.join(name)).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("reports")).unwrap();
    let md = dir.path().join("reports").join("mixed.md");
    let (code, stdout, stderr) = common::run(
        &[
            "report",
            set.to_str().unwrap(),
            "--out",
            md.to_str().unwrap(),
            "--html",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    common::check_markdown(&md);
    let text = std::fs::read_to_string(&md).unwrap();
    // The Go profiles among them make it a Go set; every file is listed, and those no
    // section reads have their own tables.
    for name in &names {
        assert!(text.contains(name.as_str()), "{name} not in the report");
    }
    assert!(text.contains("## Other profiles"));
    let (code, stdout, _) = common::run(&["members", set.to_str().unwrap()], dir.path());
    assert_eq!(code, 0);
    assert!(stdout.contains("python_austin_full.pprof"), "{stdout}");
}

#[test]
fn compare_two_foreign_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let mut sets = Vec::new();
    for name in ["rust-pprof-rs-cpu.pb", "java-async-profiler-cpu.pb.gz"] {
        let set = dir.path().join(name.split('.').next().unwrap());
        std::fs::create_dir_all(&set).unwrap();
        std::fs::copy(foreign(name), set.join(name)).unwrap();
        sets.push(set.to_str().unwrap().to_string());
    }
    let out = dir.path().join("compare.md");
    for format in ["md", "json"] {
        let (code, stdout, stderr) = common::run(
            &[
                "compare",
                &sets[0],
                &sets[1],
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert_eq!(code, 0, "{stdout}{stderr}");
    }
}

/// `top` and `report` on a single file (no directory), and a clear error naming the file
/// when a profile has nothing to show.
#[test]
fn single_files_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wall.pb.gz");
    std::fs::copy(foreign("nodejs-datadog-wall.pb.gz"), &path).unwrap();
    let (code, _, stderr) = common::run(
        &["report", path.to_str().unwrap(), "--out", "wall.md"],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let md = std::fs::read_to_string(dir.path().join("wall.md")).unwrap();
    assert!(md.contains("wall.pb.gz"));
    assert!(md.contains("(anonymous:L#"));

    let empty = foreign("no-sample-types.pb");
    let (code, stdout, stderr) = common::run(&["top", empty.to_str().unwrap()], dir.path());
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("no-sample-types.pb"),
        "{stderr}"
    );
}

/// No duration (and no period, no time): the utilisation and the cores are unknown, not 0%.
#[test]
fn a_profile_without_duration_has_unknown_utilisation() {
    let dir = tempfile::tempdir().unwrap();
    let (json, md) = report_of("zero-period.pb", dir.path());
    let cpu = &json["cpu"];
    assert_eq!(cpu["utilisation_known"], false);
    assert!(cpu["packages"]["rows"][0]["cores_text"].is_null());
    assert!(md.contains("so its utilisation is unknown"), "{md}");
    assert!(!md.contains("0% of one core"), "{md}");
}

/// A user rule without `runtime` is evaluated on any language, with packages in that
/// language's sense; the built-in Go rules are not.
#[test]
fn user_rules_without_runtime_apply_to_other_languages() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("java-rules.yaml");
    std::fs::write(
        &rules,
        r#"rules:
  - id: bigdecimal-math
    title: BigDecimal arithmetic takes a large share of CPU
    severity: medium
    when:
      - metric: cpu_package
        pattern: '^java\.math$'
        above: 20
    impact:
      kind: cpu
    finding: java.math is on the stack of {value} of CPU.
    actions:
      - kind: code
        text: Use long cents instead of BigDecimal on the pricing path.
    verify: java.math should shrink in the next profile.
  - id: go-only
    title: A rule for Go only
    severity: low
    runtime: go
    when:
      - metric: cpu_function
        pattern: 'BigDecimal'
        above: 1
    finding: Never fires on Java.
    actions: []
    verify: Nothing.
"#,
    )
    .unwrap();
    let set = dir.path().join("java");
    std::fs::create_dir_all(&set).unwrap();
    std::fs::copy(
        foreign("java-async-profiler-cpu.pb.gz"),
        set.join("profile.pb.gz"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("reports")).unwrap();
    let json = dir.path().join("reports").join("java.json");
    let (code, _, stderr) = common::run(
        &[
            "report",
            set.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
            "--format",
            "json",
            "--out",
            json.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let findings = &value["findings"];
    let ids: Vec<&str> = findings["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["finding"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["bigdecimal-math"]);
    assert_eq!(findings["rules_evaluated"], 1);
    // Every built-in rule says `runtime: go`, and so does the user's second rule.
    assert_eq!(
        findings["rules_not_applicable"],
        pprof_report::rules::load(&[]).unwrap().len() + 1
    );
    let estimate = &findings["recommendations"][0]["finding"]["estimate"];
    assert_eq!(estimate["amount_text"], "0.42 cores");
}
