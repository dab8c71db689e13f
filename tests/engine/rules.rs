//! Every built-in rule fires on a profile made to trigger it and stays quiet on one that
//! does not; savings are computed from the data and never count a sample twice.

use pprof_report::analyze::contention::{self, ContentionAnalysis, ContentionKind};
use pprof_report::analyze::cpu::{self, CpuOptions};
use pprof_report::analyze::findings::{self, Evidence, Findings};
use pprof_report::analyze::goroutines::{self, GoroutineAnalysis, GoroutineInput};
use pprof_report::context::Throughput;
use pprof_report::memstats::MemStats;
use pprof_report::profile::{Labels, Line, Profile, ProfileBuilder, ValueType};
use pprof_report::rules::{self, Rule};

fn types(kinds: &[(&str, &str)]) -> Vec<ValueType> {
    kinds
        .iter()
        .map(|(k, u)| ValueType {
            kind: k.to_string(),
            unit: u.to_string(),
        })
        .collect()
}

/// A profile from stacks of function names (leaf first) and their values.
fn profile(kinds: &[(&str, &str)], stacks: &[(&[&str], Vec<i64>)]) -> Profile {
    let mut b = ProfileBuilder::new(types(kinds));
    for (stack, values) in stacks {
        let locations = stack
            .iter()
            .map(|name| {
                let f = b.function(name, "x.go");
                b.location(
                    0,
                    &[Line {
                        function: f,
                        line: 1,
                        column: 0,
                    }],
                )
            })
            .collect::<Vec<usize>>();
        b.sample(&locations, values, Labels::default()).unwrap();
    }
    let mut p = b.finish();
    p.duration_nanos = 10_000_000_000;
    p
}

/// A CPU profile; each unit of value is 0.1 s of CPU, so that the worlds below (100 units)
/// stand above the evidence floors (1 s of samples, 0.05 cores).
fn cpu_profile(stacks: &[(&[&str], i64)]) -> Profile {
    let stacks: Vec<(&[&str], Vec<i64>)> = stacks
        .iter()
        .map(|(s, v)| (*s, vec![1, *v * 100_000_000]))
        .collect();
    profile(&[("samples", "count"), ("cpu", "nanoseconds")], &stacks)
}

/// A heap profile; each unit of value is a KiB, so that the worlds below (100 000 units)
/// stand above the evidence floor (1 MiB).
fn heap_profile(stacks: &[(&[&str], i64)]) -> Profile {
    let stacks: Vec<(&[&str], Vec<i64>)> = stacks
        .iter()
        .map(|(s, v)| (*s, vec![1, *v * 1024, 1, *v * 1024]))
        .collect();
    profile(
        &[
            ("alloc_objects", "count"),
            ("alloc_space", "bytes"),
            ("inuse_objects", "count"),
            ("inuse_space", "bytes"),
        ],
        &stacks,
    )
}

fn goroutine_profile(stacks: &[(&[&str], i64)]) -> Profile {
    let stacks: Vec<(&[&str], Vec<i64>)> = stacks.iter().map(|(s, v)| (*s, vec![*v])).collect();
    profile(&[("goroutine", "count")], &stacks)
}

fn contention_profile(stacks: &[(&[&str], i64, i64)]) -> Profile {
    let stacks: Vec<(&[&str], Vec<i64>)> =
        stacks.iter().map(|(s, c, d)| (*s, vec![*c, *d])).collect();
    profile(
        &[("contentions", "count"), ("delay", "nanoseconds")],
        &stacks,
    )
}

/// Everything a rule can look at, owned.
#[derive(Default)]
struct World {
    cpu: Option<Profile>,
    heap: Option<Profile>,
    goroutine: Option<Profile>,
    mutex: Option<Profile>,
    block: Option<Profile>,
    services: Option<u32>,
    uptime: Option<f64>,
    leaked: Option<u64>,
    memstats: Option<MemStats>,
    process: Option<pprof_report::context::ProcessStats>,
    throughput: Option<Throughput>,
}

impl World {
    fn evaluate(&self, rule: &Rule) -> Findings {
        let cpu = self
            .cpu
            .as_ref()
            .and_then(|p| cpu::analyze(p, &CpuOptions::default()));
        let goroutines: Option<GoroutineAnalysis> = self.goroutine.as_ref().and_then(|p| {
            goroutines::analyze(
                &GoroutineInput {
                    profile: Some(p),
                    services: self.services,
                    ..GoroutineInput::default()
                },
                &Default::default(),
            )
        });
        let mutex: ContentionAnalysis =
            contention::analyze(self.mutex.as_ref(), ContentionKind::Mutex, 10);
        let block = contention::analyze(self.block.as_ref(), ContentionKind::Block, 10);
        findings::evaluate(
            std::slice::from_ref(rule),
            &Evidence {
                cpu_profile: self.cpu.as_ref(),
                cpu: cpu.as_ref(),
                heap: self.heap.as_ref(),
                allocs: self.heap.as_ref(),
                goroutine_profile: self.goroutine.as_ref(),
                goroutines: goroutines.as_ref(),
                mutex: Some(&mutex),
                block: Some(&block),
                process_cpu_percent: Some(100.0),
                uptime_seconds: self.uptime,
                leaked_goroutines: self.leaked,
                memstats: self.memstats.as_ref(),
                process: self.process.as_ref(),
                throughput: self.throughput.as_ref(),
                ..Evidence::default()
            },
        )
    }
}

const MAIN: &str = "main.main";

fn cpu_world(hot: &[&str], hot_share: i64) -> World {
    let mut stack: Vec<&str> = hot.to_vec();
    stack.push(MAIN);
    World {
        cpu: Some(cpu_profile(&[
            (&stack, hot_share),
            (&["main.work", MAIN], 100 - hot_share),
        ])),
        ..World::default()
    }
}

fn heap_world(hot: &[&str], hot_share: i64) -> World {
    let mut stack: Vec<&str> = hot.to_vec();
    stack.push(MAIN);
    World {
        heap: Some(heap_profile(&[
            (&stack, hot_share * 1000),
            (&["main.buf", MAIN], (100 - hot_share) * 1000),
        ])),
        ..World::default()
    }
}

/// The world with a CPU profile that spends 20% in garbage collection.
fn with_gc(world: World) -> World {
    World {
        cpu: Some(cpu_profile(&[
            (&["runtime.scanobject", "runtime.gcBgMarkWorker"], 20),
            (&["main.work", MAIN], 80),
        ])),
        ..world
    }
}

/// An allocs profile from (stack, objects, bytes).
fn alloc_world(stacks: &[(&[&str], i64, i64)]) -> World {
    let stacks: Vec<(&[&str], Vec<i64>)> = stacks
        .iter()
        .map(|(s, objects, bytes)| (*s, vec![*objects, *bytes, 0, 0]))
        .collect();
    World {
        heap: Some(profile(
            &[
                ("alloc_objects", "count"),
                ("alloc_space", "bytes"),
                ("inuse_objects", "count"),
                ("inuse_space", "bytes"),
            ],
            &stacks,
        )),
        ..World::default()
    }
}

/// N instances each running the same goroutines, `per_pool` workers in the pools given.
fn goroutine_world(instances: i64, declared: u32, extra: &[(&[&str], i64)]) -> World {
    let mut stacks: Vec<(&[&str], i64)> = vec![
        (&["runtime.gopark", "app/node.(*Node).loop"], instances),
        (&["runtime.gopark", "app/node.(*Node).watch"], instances),
        (&["runtime.gopark", "app/node.(*Node).serve"], instances),
    ];
    stacks.extend_from_slice(extra);
    World {
        goroutine: Some(goroutine_profile(&stacks)),
        services: Some(declared),
        ..World::default()
    }
}

/// Goroutines queued on a lock behind `taker` (leaf first), with 100 goroutines idling.
fn lock_queue_world(lock: &[&'static str], taker: &[&'static str], queued: i64) -> World {
    let mut stack: Vec<&'static str> = vec!["runtime.gopark"];
    stack.extend_from_slice(lock);
    stack.extend_from_slice(taker);
    stack.push("app.(*Server).handle");
    let stack: &'static [&'static str] = Box::leak(stack.into_boxed_slice());
    World {
        goroutine: Some(goroutine_profile(&[
            (stack, queued),
            (
                &[
                    "runtime.gopark",
                    "runtime.netpollblock",
                    "app.(*Server).idle",
                ],
                100,
            ),
        ])),
        ..World::default()
    }
}

const MUTEX_LOCK: &[&str] = &[
    "sync.runtime_SemacquireMutex",
    "sync.(*Mutex).lockSlow",
    "sync.(*Mutex).Lock",
];

/// A goroutine queued on a file's write lock, as `log.Printf` to a shared file waits.
const FILE_WRITE_LOCK: &[&str] = &[
    "internal/poll.runtime_Semacquire",
    "internal/poll.(*fdMutex).rwlock",
    "internal/poll.(*FD).writeLock",
    "internal/poll.(*FD).Write",
    "os.(*File).write",
    "os.(*File).Write",
];

/// A block profile over 10 s of uptime: `send_seconds` of blocked sends by a request
/// handler, and 100 s of idle `select` loops.
fn send_world(send_seconds: i64) -> World {
    World {
        block: Some(contention_profile(&[
            (
                &[
                    "runtime.chansend1",
                    "app.(*Queue).Push",
                    "app.(*Server).handle",
                ],
                200,
                send_seconds * 1_000_000_000,
            ),
            (
                &["runtime.selectgo", "app.(*Server).loop"],
                100,
                100_000_000_000,
            ),
        ])),
        uptime: Some(10.0),
        ..World::default()
    }
}

/// A process on 16 CPUs with a 2-core quota and GOMAXPROCS left to the runtime, built with
/// `go_version`, preempted a lot.
fn gomaxprocs_world(go_version: &str) -> World {
    World {
        process: Some(pprof_report::context::ProcessStats {
            cpus: Some(16),
            cpu_quota: Some(2.0),
            go_version: Some(go_version.to_string()),
            ..Default::default()
        }),
        ..cpu_world(&["runtime.asyncPreempt", "app.loop"], 18)
    }
}

#[test]
fn gomaxprocs_above_quota_names_its_cause_and_the_preemption() {
    let found = gomaxprocs_world("go1.21.5").evaluate(&rule("gomaxprocs-above-quota"));
    let text = &found.recommendations[0].finding.text;
    assert!(
        text.starts_with(
            "GOMAXPROCS is 16 (the CPUs: go1.21.5 does not read the quota) and the cgroup CPU quota 2 cores; signs in the CPU profile: runtime.asyncPreempt 18.00% of CPU (flat)"
        ),
        "{text}"
    );
    // The preemption rule weighs the same facts.
    let found = gomaxprocs_world("go1.21.5").evaluate(&rule("async-preemption"));
    let text = &found.recommendations[0].finding.text;
    assert!(
        text.contains("setting GOMAXPROCS to 2 comes first"),
        "{text}"
    );
    let found = gomaxprocs_world("go1.26.0").evaluate(&rule("async-preemption"));
    let text = &found.recommendations[0].finding.text;
    assert!(text.contains("within the CPU quota of 2 cores"), "{text}");
}

fn fires(world: &World, rule: &Rule) -> bool {
    !world.evaluate(rule).recommendations.is_empty()
}

fn rule(id: &str) -> Rule {
    rules::load(&[])
        .unwrap()
        .into_iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no rule {id}"))
}

/// A net/http server's stack for a handler (leaf first): `leaf`, the handler, then
/// net/http's dispatch down to the connection goroutine.
fn under_handler(leaf: &'static str, handler: &'static str) -> Vec<&'static str> {
    vec![
        leaf,
        handler,
        "net/http.HandlerFunc.ServeHTTP",
        "net/http.(*ServeMux).ServeHTTP",
        "net/http.serverHandler.ServeHTTP",
        "net/http.(*conn).serve",
    ]
}

/// A CPU world of handlers: each (leaf, handler, units of 0.1 s).
fn handlers_world(handlers: &[(&'static str, &'static str, i64)]) -> World {
    let stacks: Vec<Vec<&str>> = handlers
        .iter()
        .map(|(leaf, handler, _)| under_handler(leaf, handler))
        .collect();
    let samples: Vec<(&[&str], i64)> = stacks
        .iter()
        .zip(handlers)
        .map(|(stack, (_, _, value))| (stack.as_slice(), *value))
        .collect();
    World {
        cpu: Some(cpu_profile(&samples)),
        ..World::default()
    }
}

/// A socket write from `code`, through `via` (leaf first), as Go 1.19-1.26 name it.
fn socket_write_world(via: &[&'static str], share: i64) -> World {
    let mut stack = vec![
        "syscall.Syscall",
        "syscall.write",
        "internal/poll.(*FD).Write",
        "net.(*netFD).Write",
        "net.(*conn).Write",
    ];
    stack.extend_from_slice(via);
    stack.push("example.com/app.(*Session).send");
    cpu_world(&stack, share)
}

/// (rule, a world that triggers it, one that does not)
fn cases() -> Vec<(&'static str, World, World)> {
    let workers = |n: i64| -> Vec<(&'static [&'static str], i64)> {
        vec![
            (
                &[
                    "runtime.gopark",
                    "x.org/wireguard/device.(*Device).RoutineEncryption",
                ] as &[&str],
                n,
            ),
            (
                &[
                    "runtime.gopark",
                    "x.org/wireguard/device.(*Device).RoutineDecryption",
                ],
                n,
            ),
        ]
    };
    vec![
        (
            "gc-pressure",
            cpu_world(
                &[
                    "runtime.scanobject",
                    "runtime.gcDrain",
                    "runtime.gcBgMarkWorker",
                ],
                30,
            ),
            cpu_world(
                &[
                    "runtime.scanobject",
                    "runtime.gcDrain",
                    "runtime.gcBgMarkWorker",
                ],
                5,
            ),
        ),
        (
            "scheduler-overhead",
            cpu_world(
                &["runtime.futex", "runtime.findRunnable", "runtime.schedule"],
                25,
            ),
            cpu_world(
                &["runtime.futex", "runtime.findRunnable", "runtime.schedule"],
                5,
            ),
        ),
        (
            "syscall-heavy",
            cpu_world(&["syscall.Syscall6", "os.(*File).Read", "app.poll"], 60),
            cpu_world(&["syscall.Syscall6", "os.(*File).Read", "app.poll"], 10),
        ),
        (
            "lock-contention",
            World {
                mutex: Some(contention_profile(&[(
                    &["sync.(*Mutex).Unlock", "app.update"],
                    100,
                    5_000_000_000,
                )])),
                uptime: Some(10.0),
                ..World::default()
            },
            World {
                mutex: Some(contention_profile(&[(
                    &["sync.(*Mutex).Unlock", "app.update"],
                    1,
                    1_000,
                )])),
                uptime: Some(10.0),
                ..World::default()
            },
        ),
        (
            "mutex-profiling-off",
            World {
                mutex: Some(contention_profile(&[])),
                ..World::default()
            },
            World {
                mutex: Some(contention_profile(&[(&["sync.(*Mutex).Unlock"], 1, 10)])),
                ..World::default()
            },
        ),
        (
            "block-profiling-off",
            World {
                block: Some(contention_profile(&[])),
                ..World::default()
            },
            // Not collected at all: nothing to enable from evidence.
            World::default(),
        ),
        (
            "goroutines-per-instance",
            goroutine_world(10, 10, &workers(10 * 30)),
            goroutine_world(10, 10, &workers(10 * 2)),
        ),
        (
            "goroutine-leaks-proven",
            World {
                leaked: Some(3),
                ..World::default()
            },
            World {
                leaked: Some(0),
                ..World::default()
            },
        ),
        (
            "instances-differ",
            goroutine_world(12, 10, &[]),
            goroutine_world(10, 10, &[]),
        ),
        (
            "allocation-churn-reflection",
            heap_world(
                &["reflect.New", "encoding/json.Unmarshal", "app.decode"],
                40,
            ),
            heap_world(&["app.alloc"], 40),
        ),
        (
            "timer-churn",
            cpu_world(
                &[
                    "runtime.siftdownTimer",
                    "runtime.runTimer",
                    "runtime.checkTimers",
                ],
                12,
            ),
            cpu_world(
                &[
                    "runtime.siftdownTimer",
                    "runtime.runTimer",
                    "runtime.checkTimers",
                ],
                2,
            ),
        ),
        (
            "portlist-polling",
            cpu_world(
                &[
                    "syscall.Syscall6",
                    "tailscale.com/portlist.(*linuxImpl).parseProcNetFile",
                ],
                40,
            ),
            cpu_world(&["syscall.Syscall6", "tailscale.com/netcheck.probe"], 40),
        ),
        (
            "netmon-interface-enumeration",
            cpu_world(
                &["syscall.NetlinkRIB", "tailscale.com/net/netmon.interfaces"],
                40,
            ),
            cpu_world(
                &["syscall.NetlinkRIB", "tailscale.com/net/netmon.interfaces"],
                2,
            ),
        ),
        (
            "wireguard-buffer-pools",
            heap_world(
                &["github.com/tailscale/wireguard-go/device.(*Device).PopulatePools.func3"],
                80,
            ),
            heap_world(
                &["github.com/tailscale/wireguard-go/device.(*Device).PopulatePools.func3"],
                10,
            ),
        ),
        (
            "wireguard-worker-pools",
            goroutine_world(10, 10, &workers(10 * 16)),
            goroutine_world(10, 10, &workers(10 * 2)),
        ),
        (
            "netstack-processors",
            goroutine_world(
                10,
                10,
                &[(
                    &["gvisor.dev/gvisor/pkg/tcpip/transport/tcp.(*processor).start"],
                    160,
                )],
            ),
            goroutine_world(
                10,
                10,
                &[(
                    &["gvisor.dev/gvisor/pkg/tcpip/transport/tcp.(*processor).start"],
                    20,
                )],
            ),
        ),
        (
            "compression-cost",
            cpu_world(
                &[
                    "compress/flate.(*compressor).deflate",
                    "compress/gzip.(*Writer).Write",
                    "app.(*Handler).serve",
                ],
                30,
            ),
            cpu_world(
                &[
                    "compress/flate.(*compressor).deflate",
                    "compress/gzip.(*Writer).Write",
                    "app.(*Handler).serve",
                ],
                5,
            ),
        ),
        (
            "serialization-cpu",
            cpu_world(
                &[
                    "reflect.Value.Field",
                    "encoding/json.(*encodeState).marshal",
                    "encoding/json.Marshal",
                    "app.respond",
                ],
                40,
            ),
            cpu_world(
                &[
                    "reflect.Value.Field",
                    "encoding/json.(*encodeState).marshal",
                    "encoding/json.Marshal",
                    "app.respond",
                ],
                5,
            ),
        ),
        (
            "large-per-call-buffers",
            // 1000 buffers of 32 KiB, then the same bytes in 64 000 small objects.
            with_gc(alloc_world(&[
                (
                    &["io.copyBuffer", "io.Copy", "app.(*Store).put"],
                    1000,
                    32 * 1024 * 1000,
                ),
                (&["app.small"], 10_000, 8 * 1024 * 1000),
            ])),
            with_gc(alloc_world(&[
                (
                    &["io.copyBuffer", "io.Copy", "app.(*Store).put"],
                    64_000,
                    32 * 1024 * 1000,
                ),
                (&["app.small"], 10_000, 8 * 1024 * 1000),
            ])),
        ),
        (
            "slice-growth",
            heap_world(&["runtime.growslice", "app.collect"], 40),
            heap_world(&["runtime.growslice", "app.collect"], 5),
        ),
        (
            "logging-cpu",
            cpu_world(
                &[
                    "go.uber.org/zap/zapcore.(*ioCore).Write",
                    "go.uber.org/zap.(*Logger).Info",
                    "app.handle",
                ],
                20,
            ),
            cpu_world(
                &[
                    "go.uber.org/zap/zapcore.(*ioCore).Write",
                    "go.uber.org/zap.(*Logger).Info",
                    "app.handle",
                ],
                2,
            ),
        ),
        (
            "logging-allocations",
            heap_world(
                &[
                    "github.com/sirupsen/logrus.(*Entry).WithFields",
                    "app.handle",
                ],
                30,
            ),
            // A package of the service's own named log is not a logging library.
            heap_world(&["example.com/app/log.(*Ring).add", "app.handle"], 30),
        ),
        (
            "regexp-compile-hot-path",
            cpu_world(
                &[
                    "regexp/syntax.Parse",
                    "regexp.compile",
                    "regexp.MustCompile",
                    "app.match",
                ],
                10,
            ),
            // Matching with a compiled expression is not compiling.
            cpu_world(
                &[
                    "regexp.(*Regexp).tryBacktrack",
                    "regexp.(*Regexp).FindStringSubmatch",
                    "app.match",
                ],
                30,
            ),
        ),
        (
            "fmt-hot-path",
            cpu_world(&["fmt.(*pp).doPrintf", "fmt.Sprintf", "app.key"], 20),
            cpu_world(&["fmt.(*pp).doPrintf", "fmt.Sprintf", "app.key"], 2),
        ),
        (
            "sync-pool-churn",
            cpu_world(&["sync.(*Pool).getSlow", "sync.(*Pool).Get", "app.get"], 15),
            cpu_world(&["sync.(*Pool).getSlow", "sync.(*Pool).Get", "app.get"], 2),
        ),
        (
            "heap-dominated-by-one-site",
            heap_world(&["app.newBuf", "sync.(*Pool).Get", "app.(*Queue).push"], 80),
            // The heap spread over three sites, none holding half.
            World {
                heap: Some(heap_profile(&[
                    (
                        &["app.newBuf", "sync.(*Pool).Get", "app.(*Queue).push"],
                        30_000,
                    ),
                    (&["app.(*Cache).put", MAIN], 35_000),
                    (&["app.(*Index).add", MAIN], 35_000),
                ])),
                ..World::default()
            },
        ),
        (
            "lock-cost-in-cpu",
            // No mutex profile: the CPU is the only evidence of the lock.
            cpu_world(&["sync.(*RWMutex).Unlock", "app.(*Hub).deliver"], 20),
            // The same CPU with a mutex profile that has samples: lock-contention's case.
            World {
                mutex: Some(contention_profile(&[(
                    &["sync.(*RWMutex).Unlock", "app.(*Hub).deliver"],
                    100,
                    1_000_000_000,
                )])),
                ..cpu_world(&["sync.(*RWMutex).Unlock", "app.(*Hub).deliver"], 20)
            },
        ),
        (
            "async-preemption",
            cpu_world(&["runtime.asyncPreempt", "app.loop"], 18),
            cpu_world(&["runtime.asyncPreempt", "app.loop"], 5),
        ),
        (
            "goroutines-queued-on-lock",
            lock_queue_world(MUTEX_LOCK, &["app.(*Cache).Get"], 30),
            // The same queue behind a logger is logging-writer-lock's.
            lock_queue_world(FILE_WRITE_LOCK, &["log.(*Logger).output", "log.Printf"], 30),
        ),
        (
            "logging-writer-lock",
            lock_queue_world(FILE_WRITE_LOCK, &["log.(*Logger).output", "log.Printf"], 30),
            lock_queue_world(MUTEX_LOCK, &["app.(*Cache).Get"], 30),
        ),
        (
            "producer-stalls",
            // 30 s of blocked sends in 10 s: three goroutines stalled throughout.
            send_world(30),
            // 5 s in 10 s: half of one goroutine, as one dispatcher feeding busy workers.
            send_world(5),
        ),
        (
            "gc-assist-stalls",
            cpu_world(
                &[
                    "runtime.gcAssistAlloc",
                    "runtime.mallocgc",
                    "app.(*Decoder).build",
                ],
                12,
            ),
            cpu_world(
                &[
                    "runtime.gcAssistAlloc",
                    "runtime.mallocgc",
                    "app.(*Decoder).build",
                ],
                3,
            ),
        ),
        (
            "gomaxprocs-above-quota",
            gomaxprocs_world("go1.21.5"),
            gomaxprocs_world("go1.25.1"),
        ),
        (
            "hashing-cpu",
            cpu_world(
                &[
                    "crypto/sha256.block",
                    "crypto/sha256.(*digest).Write",
                    "example.com/app.(*Store).checksum",
                ],
                40,
            ),
            cpu_world(
                &[
                    "crypto/sha256.block",
                    "crypto/sha256.(*digest).Write",
                    "example.com/app.(*Store).checksum",
                ],
                5,
            ),
        ),
        (
            "regexp-matching-cost",
            cpu_world(
                &[
                    "regexp.(*Regexp).tryBacktrack",
                    "regexp.(*Regexp).backtrack",
                    "regexp.(*Regexp).doExecute",
                    "regexp.(*Regexp).FindStringSubmatch",
                    "app.parse",
                ],
                30,
            ),
            // Compiling is regexp-compile-hot-path's, not matching.
            cpu_world(
                &[
                    "regexp/syntax.Parse",
                    "regexp.compile",
                    "regexp.MustCompile",
                    "app.match",
                ],
                30,
            ),
        ),
        (
            "small-writes",
            socket_write_world(&[], 20),
            // The same writes through a bufio.Writer: batched.
            socket_write_world(
                &[
                    "net/http.checkConnErrorWriter.Write",
                    "bufio.(*Writer).Flush",
                ],
                20,
            ),
        ),
        (
            "one-entry-point-dominates",
            handlers_world(&[
                ("app.score", "example.com/app.(*API).search", 60),
                ("app.encode", "example.com/app.(*API).write", 30),
                ("app.log", "example.com/app.(*API).health", 10),
            ]),
            handlers_world(&[
                ("app.score", "example.com/app.(*API).search", 25),
                ("app.encode", "example.com/app.(*API).write", 25),
                ("app.log", "example.com/app.(*API).health", 25),
                ("app.list", "example.com/app.(*API).list", 25),
            ]),
        ),
        (
            "cpu-per-request",
            World {
                throughput: Some(Throughput {
                    per_second: 200.0,
                    unit: "requests".to_string(),
                }),
                ..cpu_world(&["app.work"], 50)
            },
            // Without the context's throughput there is no unit of work.
            cpu_world(&["app.work"], 50),
        ),
        (
            "http-persistent-connections",
            goroutine_world(10, 10, &[(&["net/http.(*persistConn).readLoop"], 300)]),
            goroutine_world(10, 10, &[(&["net/http.(*persistConn).readLoop"], 20)]),
        ),
    ]
}

#[test]
fn every_builtin_rule_fires_on_its_trigger_and_not_otherwise() {
    let cases = cases();
    let all = rules::load(&[]).unwrap();
    for rule_id in all.iter().map(|r| r.id.as_str()) {
        assert!(
            cases.iter().any(|(id, _, _)| *id == rule_id),
            "rule {rule_id} has no test case"
        );
    }
    for (id, triggering, quiet) in &cases {
        let rule = rule(id);
        assert!(fires(triggering, &rule), "{id} did not fire on its trigger");
        assert!(!fires(quiet, &rule), "{id} fired where it should not");
    }
}

#[test]
fn cpu_savings_show_their_arithmetic() {
    let world = cpu_world(&["syscall.Syscall6", "tailscale.com/portlist.scan"], 40);
    let found = world.evaluate(&rule("portlist-polling"));
    let estimate = found.recommendations[0].finding.estimate.clone().unwrap();
    assert_eq!(estimate.amount_text, "0.40 cores");
    assert_eq!(
        estimate.arithmetic,
        "40.00% of CPU × 100% process CPU = 0.40 cores"
    );
}

#[test]
fn overlapping_savings_are_not_counted_twice() {
    // Both rules match the same 40% of samples (portlist calls into netmon here).
    let world = cpu_world(
        &[
            "syscall.Syscall6",
            "tailscale.com/net/netmon.interfaces",
            "tailscale.com/portlist.scan",
        ],
        40,
    );
    let rules: Vec<Rule> = ["portlist-polling", "netmon-interface-enumeration"]
        .iter()
        .map(|id| rule(id))
        .collect();
    let cpu = cpu::analyze(world.cpu.as_ref().unwrap(), &CpuOptions::default()).unwrap();
    let found = findings::evaluate(
        &rules,
        &Evidence {
            cpu_profile: world.cpu.as_ref(),
            cpu: Some(&cpu),
            process_cpu_percent: Some(100.0),
            ..Evidence::default()
        },
    );
    let estimates: Vec<String> = found
        .recommendations
        .iter()
        .map(|r| r.finding.estimate.as_ref().unwrap().amount_text.clone())
        .collect();
    assert_eq!(estimates, ["0.40 cores", "0.00 cores"]);
    let second = found.recommendations[1].finding.estimate.as_ref().unwrap();
    assert!(
        second
            .arithmetic
            .contains("after 40.00% already counted above"),
        "{}",
        second.arithmetic
    );
}

/// The examples in docs/rules.md are valid rule files.
#[test]
fn the_documented_examples_parse() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md"),
    )
    .unwrap();
    let blocks: Vec<&str> = doc
        .split("```yaml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert_eq!(blocks.len(), 2);
    for block in blocks {
        let parsed = rules::parse("docs/rules.md", block).unwrap();
        assert_eq!(parsed.len(), 1);
    }
    // The module rule fires on an old version seen in a goroutine stack.
    let old = rules::parse(
        "docs",
        doc.split("```yaml\n")
            .nth(2)
            .unwrap()
            .split("```")
            .next()
            .unwrap(),
    )
    .unwrap()
    .remove(0);
    assert_eq!(old.id, "old-tailscale");
    let world_with = |version: &str| {
        let mut b = ProfileBuilder::new(types(&[("goroutine", "count")]));
        let f = b.function(
            "tailscale.com/ipn.(*Backend).run",
            &format!("tailscale.com@{version}/ipn/backend.go"),
        );
        let l = b.location(
            0,
            &[Line {
                function: f,
                line: 1,
                column: 0,
            }],
        );
        b.sample(&[l], &[3], Labels::default()).unwrap();
        World {
            goroutine: Some(b.finish()),
            ..World::default()
        }
    };
    assert!(fires(&world_with("v1.70.0"), &old));
    assert!(!fires(&world_with("v1.86.5"), &old));
    let found = world_with("v1.70.0").evaluate(&old);
    assert_eq!(
        found.recommendations[0].finding.text,
        "The goroutine stacks show tailscale.com@v1.70.0."
    );
}

/// A verdict needs evidence: the same shares that fire a rule are held back, and said to be,
/// when the profile holds less than 1 s of CPU samples, when the share amounts to less than
/// 0.05 cores, or when a heap share is less than 1 MiB.
#[test]
fn rules_below_the_evidence_floor_are_held_back() {
    let scheduler = rule("scheduler-overhead");
    let busy = cpu_world(&["runtime.schedule"], 40);
    assert!(fires(&busy, &scheduler));
    // 40 samples of 10 ms: 0.4 s of CPU in all.
    let few = World {
        cpu: Some(profile(
            &[("samples", "count"), ("cpu", "nanoseconds")],
            &[
                (&["runtime.schedule", MAIN], vec![16, 160_000_000]),
                (&["main.work", MAIN], vec![24, 240_000_000]),
            ],
        )),
        ..World::default()
    };
    let found = few.evaluate(&scheduler);
    assert!(found.recommendations.is_empty());
    assert_eq!(found.held_back.len(), 1);
    assert_eq!(
        found.held_back[0].reason,
        "0.40 s of CPU samples (40 samples); a CPU verdict needs at least 1 s"
    );
    // 10 s of samples, but a process at 0.1% CPU: 40% of it is 0.0004 cores.
    let idle = cpu_world(&["runtime.schedule"], 40);
    let cpu = cpu::analyze(idle.cpu.as_ref().unwrap(), &CpuOptions::default()).unwrap();
    let found = findings::evaluate(
        std::slice::from_ref(&scheduler),
        &Evidence {
            cpu_profile: idle.cpu.as_ref(),
            cpu: Some(&cpu),
            process_cpu_percent: Some(0.1),
            ..Evidence::default()
        },
    );
    assert!(found.recommendations.is_empty());
    assert!(
        found.held_back[0]
            .reason
            .ends_with("cores; a CPU verdict needs at least 0.05 cores"),
        "{:?}",
        found.held_back
    );
    // A heap share of 100 kB.
    let pools = rule("wireguard-buffer-pools");
    let small = World {
        heap: Some(heap_profile(&[
            (
                &[
                    "golang.zx2c4.com/wireguard/device.(*Device).PopulatePools",
                    MAIN,
                ],
                60,
            ),
            (&["main.buf", MAIN], 40),
        ])),
        ..World::default()
    };
    let found = small.evaluate(&pools);
    assert!(found.recommendations.is_empty(), "{found:?}");
    assert!(
        found.held_back[0]
            .reason
            .ends_with("; a memory verdict needs at least 1MB"),
        "{:?}",
        found.held_back
    );
}

/// Stack savings count each goroutine once: the per-instance rule counts every goroutine, so
/// the idle-connection rule, ranked after it, counts none of its own again, and says so. The
/// arithmetic uses Go's smallest stack, 2 KiB, as a floor.
#[test]
fn goroutine_stacks_are_not_counted_twice() {
    let world = goroutine_world(
        10,
        10,
        &[
            (&["net/http.(*persistConn).readLoop"], 300),
            (&["app.(*Pool).worker"], 10 * 30),
        ],
    );
    let rules: Vec<Rule> = ["goroutines-per-instance", "http-persistent-connections"]
        .iter()
        .map(|id| rule(id))
        .collect();
    let goroutines = goroutines::analyze(
        &GoroutineInput {
            profile: world.goroutine.as_ref(),
            services: world.services,
            ..GoroutineInput::default()
        },
        &Default::default(),
    )
    .unwrap();
    let total = goroutines.totals.total as f64;
    let found = findings::evaluate(
        &rules,
        &Evidence {
            goroutine_profile: world.goroutine.as_ref(),
            goroutines: Some(&goroutines),
            ..Evidence::default()
        },
    );
    let estimates: Vec<_> = found
        .recommendations
        .iter()
        .filter_map(|r| r.finding.estimate.as_ref())
        .collect();
    assert_eq!(estimates.len(), 2, "{found:?}");
    let counted: f64 = estimates.iter().map(|e| e.amount).sum();
    assert!(
        counted <= total * 2048.0,
        "{counted} bytes for {total} goroutines"
    );
    assert!(
        estimates[0].arithmetic.contains("× 2 KiB"),
        "{}",
        estimates[0].arithmetic
    );
    assert_eq!(estimates[1].amount, 0.0);
    assert!(
        estimates[1].arithmetic.starts_with(
            "0 goroutines (all its 300 are counted by a higher-ranked recommendation)"
        ),
        "{}",
        estimates[1].arithmetic
    );
}

/// The subsystem table charges a utility that only one package calls to that package, and
/// keeps a utility that several call apart. The roles are mirrored between two profiles
/// (the exclusive utility under one subsystem, then under the other), so that the outcome
/// follows the call graph, not the names.
#[test]
fn subsystems_own_the_utilities_only_they_call() {
    let subsystems = |stacks: &[(&[&str], i64)]| -> Vec<(String, f64)> {
        let analysis = cpu::analyze(
            &cpu_profile(stacks),
            &CpuOptions {
                language: pprof_report::analyze::language::Language::Go,
                ..CpuOptions::default()
            },
        )
        .unwrap();
        analysis
            .subsystems
            .unwrap()
            .rows
            .iter()
            .map(|r| (r.name.clone(), r.flat_share))
            .collect()
    };
    const WALK: &str = "example.com/util/walk.Dir";
    const SHARED: &str = "example.com/util/shared.Parse";
    const A: &str = "example.com/a.(*Poller).run";
    const B: &str = "example.com/b.(*Monitor).loop";
    // `walk` is only ever called by `a`, which burns more itself: its 10 units are `a`'s,
    // which then leads `b`.
    let first = subsystems(&[
        (&["syscall.Syscall6", WALK, A], 10),
        (&["syscall.Syscall6", A], 35),
        (&["syscall.Syscall6", B], 40),
        (&[SHARED, A], 5),
        (&[SHARED, B], 10),
    ]);
    assert_eq!(first[0], ("example.com/a".to_string(), 45.0), "{first:?}");
    assert_eq!(first[1], ("example.com/b".to_string(), 40.0), "{first:?}");
    assert!(
        first
            .iter()
            .any(|(n, v)| n == "example.com/util/shared" && *v == 15.0)
    );
    assert!(
        !first.iter().any(|(n, _)| n == "example.com/util/walk"),
        "{first:?}"
    );
    // Mirrored: `walk` only under `b`.
    let second = subsystems(&[
        (&["syscall.Syscall6", WALK, B], 10),
        (&["syscall.Syscall6", B], 35),
        (&["syscall.Syscall6", A], 40),
        (&[SHARED, B], 5),
        (&[SHARED, A], 10),
    ]);
    assert_eq!(second[0], ("example.com/b".to_string(), 45.0), "{second:?}");
    assert_eq!(second[1], ("example.com/a".to_string(), 40.0), "{second:?}");
    assert!(
        second
            .iter()
            .any(|(n, v)| n == "example.com/util/shared" && *v == 15.0)
    );
    // A package that burns more than its only caller is a subsystem that caller starts (a
    // poller a node runs), not its helper: it stays apart.
    let started = subsystems(&[
        (&["syscall.Syscall6", WALK, A], 60),
        (&["syscall.Syscall6", A], 5),
        (&["syscall.Syscall6", B], 35),
    ]);
    assert_eq!(
        started[0],
        ("example.com/util/walk".to_string(), 60.0),
        "{started:?}"
    );
}

/// Instances are inferred only where they mean something: more than one declared service,
/// never from groups that exist once per connection, and only when the groups that reveal
/// the count hold most goroutines.
#[test]
fn instances_are_not_invented_from_connections_or_one_service() {
    let instances = |declared: u32, stacks: &[(&[&str], i64)]| {
        goroutines::analyze(
            &GoroutineInput {
                profile: Some(&goroutine_profile(stacks)),
                services: Some(declared),
                ..GoroutineInput::default()
            },
            &Default::default(),
        )
        .unwrap()
        .instances
        .map(|i| i.instances)
    };
    // 30 client connections (a server handler and two keep-alive loops each) and a service's
    // own groups of 4.
    let stacks: Vec<(&[&str], i64)> = vec![
        (&["runtime.gopark", "net/http.(*conn).serve"], 30),
        (&["runtime.gopark", "net/http.(*persistConn).readLoop"], 30),
        (&["runtime.gopark", "net/http.(*persistConn).writeLoop"], 30),
        (&["runtime.gopark", "app/node.(*Node).loop"], 4),
        (&["runtime.gopark", "app/node.(*Node).watch"], 4),
        (&["runtime.gopark", "app/node.(*Node).serve"], 4),
        (&["runtime.gopark", "app/pool.(*Pool).worker"], 4 * 25),
    ];
    assert_eq!(instances(4, &stacks), Some(4));
    // One declared service: nothing to infer, whatever the counts.
    assert_eq!(instances(1, &stacks), None);
    // 30 connections and a pool of 120 look like 30 instances, were connections counted.
    let connections: Vec<(&[&str], i64)> = vec![
        stacks[0],
        stacks[1],
        stacks[2],
        (&["runtime.gopark", "app/pool.(*Pool).worker"], 120),
    ];
    assert_eq!(instances(4, &connections), None);
    // Groups that explain less than half the goroutines reveal nothing.
    let mut few = stacks.clone();
    few[6] = (&["runtime.gopark", "app/pool.(*Pool).worker"], 4);
    assert_eq!(instances(4, &few), None);
}

/// Contention is charged to the code that holds or waits for the lock, not to the primitive,
/// and the block profile's idle waiting (receives, `select`, the profiler's own request) is
/// kept apart from the one real stall.
#[test]
fn contention_names_the_code_and_sets_idle_waiting_apart() {
    let mutex = contention::analyze(
        Some(&contention_profile(&[
            (
                &["sync.(*Mutex).Unlock", "app/cache.(*Cache).Put", MAIN],
                10,
                900,
            ),
            (
                &["sync.(*Mutex).Unlock", "app/queue.(*Queue).Push", MAIN],
                5,
                100,
            ),
        ])),
        ContentionKind::Mutex,
        10,
    )
    .per_uptime(Some(100.0));
    let rows: Vec<(&str, i64)> = mutex
        .by_code
        .as_ref()
        .unwrap()
        .rows
        .iter()
        .map(|r| (r.name.as_str(), r.flat))
        .collect();
    assert_eq!(
        rows,
        [
            ("app/cache.(*Cache).Put", 900),
            ("app/queue.(*Queue).Push", 100)
        ]
    );
    assert_eq!(mutex.per_second_text.as_deref(), Some("0.000 s/s"));
    let block = contention::analyze(
        Some(&contention_profile(&[
            (
                &["runtime.selectgo", "app/loop.(*Writer).run"],
                100,
                50_000_000_000,
            ),
            (
                &["runtime.chanrecv1", "net/http/pprof.Profile"],
                1,
                30_000_000_000,
            ),
            (
                &["runtime.chansend1", "app/ingest.(*Stage).emit"],
                7,
                2_000_000_000,
            ),
        ])),
        ContentionKind::Block,
        10,
    );
    let split = block.split.as_ref().unwrap();
    assert_eq!(split.idle, 80_000_000_000);
    assert_eq!(split.contention, 2_000_000_000);
    let code = &block.by_code.as_ref().unwrap().rows;
    assert_eq!(code.len(), 1);
    assert_eq!(code[0].name, "app/ingest.(*Stage).emit");
}

/// Mutex delay from a handful of sampled contentions is held back, however long the delay.
#[test]
fn mutex_delay_from_few_contentions_is_held_back() {
    let lock = rule("lock-contention");
    let world = |contentions| World {
        mutex: Some(contention_profile(&[(
            &["sync.(*Mutex).Unlock", "app.update"],
            contentions,
            5_000_000_000,
        )])),
        uptime: Some(10.0),
        ..World::default()
    };
    assert!(fires(&world(100), &lock));
    let found = world(3).evaluate(&lock);
    assert!(found.recommendations.is_empty());
    assert_eq!(
        found.held_back[0].reason,
        "3 sampled contentions; a contention verdict needs at least 10"
    );
}

/// The actions name what was found: the site, its size per object and the code calling it
/// (the nearest frame outside the standard library), and a pool's New is charged to the
/// caller of Get.
#[test]
fn actions_name_the_functions_and_numbers_found() {
    let buffers = with_gc(alloc_world(&[
        (
            &["io.copyBuffer", "io.Copy", "example.com/store.(*Store).put"],
            1000,
            32 * 1024 * 1000,
        ),
        (&["app.small"], 10_000, 8 * 1024 * 1000),
    ]));
    let found = buffers.evaluate(&rule("large-per-call-buffers"));
    let finding = &found.recommendations[0].finding;
    assert!(
        finding.text.contains(
            "io.copyBuffer (32kB per object, 80.00% of allocated bytes), called from example.com/store.(*Store).put"
        ),
        "{}",
        finding.text
    );
    assert!(
        finding.actions[0]
            .text
            .contains("in example.com/store.(*Store).put"),
        "{:?}",
        finding.actions
    );
    let pool = heap_world(
        &[
            "example.com/queue.newBuf",
            "sync.(*Pool).Get",
            "example.com/queue.(*Queue).push",
        ],
        80,
    );
    let found = pool.evaluate(&rule("heap-dominated-by-one-site"));
    assert_eq!(
        found.recommendations[0].finding.text,
        "One site holds 80.00% of the in-use heap: example.com/queue.newBuf, a sync.Pool New function, whose objects are taken with sync.(*Pool).Get by example.com/queue.(*Queue).push."
    );
    // A library's own wrapper is not its caller: gzhttp wraps gzip, the proxy calls it.
    let compression = cpu_world(
        &[
            "github.com/klauspost/compress/flate.(*fastEncL5).Encode",
            "github.com/klauspost/compress/gzip.(*Writer).Write",
            "github.com/klauspost/compress/gzhttp.(*GzipResponseWriter).Write",
            "example.com/proxy.(*Compress).ServeHTTP",
        ],
        30,
    );
    let found = compression.evaluate(&rule("compression-cost"));
    assert!(
        found.recommendations[0].finding.text.contains(
            "entered most through github.com/klauspost/compress/gzip.(*Writer).Write, called by example.com/proxy.(*Compress).ServeHTTP"
        ),
        "{}",
        found.recommendations[0].finding.text
    );
}

/// The contention rules name the code: the lock's holder (the mutex profile's stacks are
/// the holder's, at Unlock), the code goroutines queue behind to take a lock (through a
/// file's write lock, the logger that writes), the sending code of blocked sends, and the
/// code whose allocations pay GC assists.
#[test]
fn contention_rules_name_the_holder_the_taker_and_the_sender() {
    let mutex = World {
        mutex: Some(contention_profile(&[
            (
                &[
                    "sync.(*Mutex).Unlock",
                    "example.com/stats.(*Stats).Add",
                    "example.com/sync.(*Checker).run",
                ],
                90,
                9_000_000_000,
            ),
            (
                &["sync.(*RWMutex).RUnlock", "example.com/cache.(*Cache).Get"],
                10,
                1_000_000_000,
            ),
            // A runtime-internal lock counts in the total and is nobody's to shorten.
            (
                &["runtime.unlock", "runtime.findRunnable", "runtime.schedule"],
                10,
                5_000_000_000,
            ),
        ])),
        uptime: Some(10.0),
        ..World::default()
    };
    let found = mutex.evaluate(&rule("lock-contention"));
    let finding = &found.recommendations[0].finding;
    assert!(
        finding.text.contains(
            "60.00% of the delay was held by example.com/stats.(*Stats).Add, called from example.com/sync.(*Checker).run"
        ),
        "{}",
        finding.text
    );
    assert!(
        finding.actions[0]
            .text
            .starts_with("Shorten or shard the critical section in example.com/stats.(*Stats).Add (60.00% of the mutex delay)"),
        "{:?}",
        finding.actions
    );

    let logging = lock_queue_world(FILE_WRITE_LOCK, &["log.(*Logger).output", "log.Printf"], 30);
    let found = logging.evaluate(&rule("logging-writer-lock"));
    let finding = &found.recommendations[0].finding;
    assert!(
        finding.text.starts_with(
            "30 of 130 goroutines (23.08%) queued on a lock taken in log.(*Logger).output (called from log.Printf)"
        ),
        "{}",
        finding.text
    );
    assert!(
        finding.actions[0]
            .text
            .contains("so that log.Printf never waits")
    );

    let sends = send_world(30);
    let found = sends.evaluate(&rule("producer-stalls"));
    let finding = &found.recommendations[0].finding;
    assert!(
        finding.text.contains(
            "100.00% of the block profile's contention delay (idle receives, selects and joins apart) is goroutines blocked sending on a channel, 3.000s per second: 30s of blocked sends (200 events), 100.00% of them in app.(*Queue).Push (called from app.(*Server).handle)"
        ),
        "{}",
        finding.text
    );

    let assists = cpu_world(
        &[
            "runtime.gcAssistAlloc",
            "runtime.mallocgc",
            "example.com/codec.(*Decoder).build",
        ],
        12,
    );
    let found = assists.evaluate(&rule("gc-assist-stalls"));
    let finding = &found.recommendations[0].finding;
    assert!(
        finding.actions[0]
            .text
            .starts_with("Cut the allocation rate in example.com/codec.(*Decoder).build"),
        "{:?}",
        finding.actions
    );
}

/// The memory-management rule gives the arithmetic of GOGC from runtime.MemStats: cycles
/// per second, the live heap the goal implies, and the goal at GOGC=200.
#[test]
fn gc_advice_carries_the_memstats_arithmetic() {
    let gc = rule("gc-pressure");
    let mut world = cpu_world(&["runtime.scanobject", "runtime.gcBgMarkWorker"], 30);
    let without = world.evaluate(&gc).recommendations[0].finding.text.clone();
    assert!(
        without.contains("The set has no runtime.MemStats"),
        "{without}"
    );
    world.uptime = Some(10.0);
    world.memstats = Some(MemStats {
        num_gc: Some(60),
        next_gc: Some(200 << 20),
        heap_alloc: Some(150 << 20),
        ..MemStats::default()
    });
    let text = world.evaluate(&gc).recommendations[0].finding.text.clone();
    assert!(
        text.contains("60 GC cycles ran in 10 s of uptime (6.00 a second)"),
        "{text}"
    );
    assert!(
        text.contains("the live heap is about 100MB at the default GOGC=100"),
        "{text}"
    );
    assert!(
        text.contains("GOGC=200 would move the goal to about 300MB (live × 3, 100MB more heap) and about halve the cycles (to 3.00 a second)"),
        "{text}"
    );
}

/// An allocation saving never counts the same allocated bytes twice: two rules over the
/// same samples, the second gets what remains.
#[test]
fn allocation_savings_are_not_counted_twice() {
    let world = heap_world(
        &[
            "runtime.growslice",
            "encoding/json.(*decodeState).array",
            "encoding/json.Unmarshal",
            "app.decode",
        ],
        40,
    );
    let world = World {
        cpu: Some(cpu_profile(&[
            (&["runtime.scanobject", "runtime.gcBgMarkWorker"], 20),
            (&["main.work", MAIN], 80),
        ])),
        ..world
    };
    let rules: Vec<Rule> = ["slice-growth", "allocation-churn-reflection"]
        .iter()
        .map(|id| rule(id))
        .collect();
    let cpu = cpu::analyze(world.cpu.as_ref().unwrap(), &CpuOptions::default()).unwrap();
    let found = findings::evaluate(
        &rules,
        &Evidence {
            cpu_profile: world.cpu.as_ref(),
            cpu: Some(&cpu),
            heap: world.heap.as_ref(),
            allocs: world.heap.as_ref(),
            process_cpu_percent: Some(100.0),
            ..Evidence::default()
        },
    );
    let estimates: Vec<_> = found
        .recommendations
        .iter()
        .map(|r| r.finding.estimate.as_ref().unwrap())
        .collect();
    assert_eq!(estimates.len(), 2);
    assert!(estimates[0].amount > 0.0);
    assert_eq!(estimates[1].amount, 0.0, "{}", estimates[1].arithmetic);
    assert!(
        estimates[1]
            .arithmetic
            .contains("after 40.00% already counted above"),
        "{}",
        estimates[1].arithmetic
    );
}

/// The rows of docs/rules.md's table of every built-in rule: (id, fires on, silent on), each
/// a list of fixture sets (relative to fixtures/) or `synthetic`.
fn documented_evidence() -> Vec<(String, Vec<String>, Vec<String>)> {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md"),
    )
    .unwrap();
    let table = doc
        .split("## Every built-in rule")
        .nth(1)
        .expect("docs/rules.md has no table of every built-in rule");
    let list = |cell: &str| -> Vec<String> {
        cell.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| {
            // Cells split on unescaped bars only.
            let cells: Vec<&str> = line.split(" | ").collect();
            let id = cells[0].trim_start_matches("| `").trim_end_matches('`');
            let n = cells.len();
            (
                id.to_string(),
                list(cells[n - 2]),
                list(cells[n - 1].trim_end_matches(" |")),
            )
        })
        .collect()
}

/// The recommendations a fixture set's report makes, by rule id.
fn recommended(set: &str) -> Vec<String> {
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("report.json");
    let path = crate::common::fixture(set);
    let (code, _, stderr) = crate::common::run(
        &[
            "report",
            path.to_str().unwrap(),
            "--format",
            "json",
            "--out",
            json.to_str().unwrap(),
        ],
        out.path(),
    );
    assert_eq!(code, 0, "{set}: {stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    report["findings"]["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["finding"]["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every built-in rule has evidence both ways, listed in docs/rules.md: a fixture set (or
/// its synthetic world) where it fires and one where it stays silent, and each fixture set
/// named there does what the table says.
#[test]
fn every_rule_has_a_set_where_it_fires_and_one_where_it_is_silent() {
    let rows = documented_evidence();
    let synthetic: Vec<&str> = cases().iter().map(|(id, _, _)| *id).collect();
    let mut reports: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for rule in rules::load(&[]).unwrap() {
        let (_, fires, silent) = rows
            .iter()
            .find(|(id, _, _)| *id == rule.id)
            .unwrap_or_else(|| panic!("docs/rules.md does not list rule {}", rule.id));
        assert!(
            !fires.is_empty() && !silent.is_empty(),
            "{}: needs a set where it fires and one where it is silent",
            rule.id
        );
        for (sets, should_fire) in [(fires, true), (silent, false)] {
            for set in sets {
                if set == "synthetic" {
                    assert!(
                        synthetic.contains(&rule.id.as_str()),
                        "{}: no synthetic world in tests/engine/rules.rs",
                        rule.id
                    );
                    continue;
                }
                let ids = reports
                    .entry(set.clone())
                    .or_insert_with(|| recommended(set));
                assert_eq!(
                    ids.contains(&rule.id),
                    should_fire,
                    "{}: {} on {set} (it recommends {ids:?})",
                    rule.id,
                    if should_fire {
                        "does not fire"
                    } else {
                        "fires"
                    }
                );
            }
        }
    }
}

/// Entry points come from pprof labels, gRPC's generated handlers, the innermost HTTP
/// handler under net/http's dispatch (middleware's own work apart from the route's), and
/// else the goroutine's own function, closures counting for the function they belong to
/// and a goroutine launcher's closure skipped.
#[test]
fn cpu_is_grouped_by_the_entry_point_it_runs_under() {
    let mut b = ProfileBuilder::new(types(&[("samples", "count"), ("cpu", "nanoseconds")]));
    let sample = |b: &mut ProfileBuilder, stack: &[&str], tenths: i64, labels: &[(&str, &str)]| {
        let locations: Vec<usize> = stack
            .iter()
            .map(|name| {
                let f = b.function(name, "x.go");
                b.location(
                    0,
                    &[Line {
                        function: f,
                        line: 1,
                        column: 0,
                    }],
                )
            })
            .collect();
        let mut set = Labels::default();
        for (k, v) in labels {
            set.strings.insert(k.to_string(), vec![v.to_string()]);
        }
        b.sample(&locations, &[1, tenths * 100_000_000], set)
            .unwrap();
    };
    // A route's handler inside a logging middleware, and the middleware's own work.
    let search = [
        "example.com/app.score",
        "example.com/app.(*API).search",
        "net/http.HandlerFunc.ServeHTTP",
        "example.com/app.logged.func1",
        "net/http.HandlerFunc.ServeHTTP",
        "net/http.serverHandler.ServeHTTP",
        "net/http.(*conn).serve",
    ];
    sample(&mut b, &search, 40, &[]);
    sample(&mut b, &search[2..], 5, &[]);
    sample(
        &mut b,
        &[
            "log.Printf",
            "example.com/app.logged.func1",
            "net/http.HandlerFunc.ServeHTTP",
            "net/http.serverHandler.ServeHTTP",
        ],
        5,
        &[],
    );
    // A gRPC method through an interceptor.
    sample(
        &mut b,
        &[
            "example.com/app.(*server).Get",
            "example.com/app/pb._Store_Get_Handler.func1",
            "google.golang.org/grpc.chainUnaryInterceptors.func1",
            "example.com/app/pb._Store_Get_Handler",
            "google.golang.org/grpc.(*Server).processUnaryRPC",
            "google.golang.org/grpc.(*Server).handleStream",
        ],
        20,
        &[],
    );
    // Labelled work, and a goroutine an errgroup started.
    sample(
        &mut b,
        &["example.com/app.compact", MAIN],
        10,
        &[("http.route", "/compact")],
    );
    sample(
        &mut b,
        &[
            "crypto/md5.block",
            "example.com/app.verify.func2",
            "golang.org/x/sync/errgroup.(*Group).Go.func1",
            "runtime.goexit",
        ],
        15,
        &[],
    );
    sample(
        &mut b,
        &["runtime.scanobject", "runtime.gcBgMarkWorker"],
        5,
        &[],
    );
    let mut profile = b.finish();
    profile.duration_nanos = 10_000_000_000;
    let world = World {
        cpu: Some(profile),
        throughput: Some(Throughput {
            per_second: 100.0,
            unit: "requests".to_string(),
        }),
        ..World::default()
    };
    let found = world.evaluate(&rule("one-entry-point-dominates"));
    let text = &found.recommendations[0].finding.text;
    assert!(
        text.starts_with("example.com/app.(*API).search holds 40.00% of CPU."),
        "{text}"
    );
    for part in [
        "example.com/app/pb._Store_Get_Handler (gRPC method) 20.00% (0.20 cores)",
        "example.com/app.verify (goroutine) 15.00%",
        "example.com/app.logged (HTTP handler) 10.00%",
        "http.route=/compact (pprof label) 10.00%",
        "the runtime's own work (garbage collection, scheduler) 5.00%",
    ] {
        assert!(text.contains(part), "{part} not in {text}");
    }
    // Per request: 1 core (100% process CPU) ÷ 100 requests/s = 10 ms, split the same way.
    let per = world.evaluate(&rule("cpu-per-request"));
    let text = &per.recommendations[0].finding.text;
    assert!(
        text.starts_with("10.0 ms of CPU per request at 100.00 requests/s: 1.00 cores × 1000 ÷ 100.00 requests/s = 10.0 ms; per request: example.com/app.(*API).search 4.00 ms (40.00%)"),
        "{text}"
    );
}

/// Unbuffered socket writes name the code that writes; io.Copy and writev are not small.
#[test]
fn small_writes_name_the_writer_and_spare_batched_writes() {
    let found = socket_write_world(&[], 20).evaluate(&rule("small-writes"));
    let finding = &found.recommendations[0].finding;
    assert!(
        finding
            .text
            .contains("entered through net.(*conn).Write from example.com/app.(*Session).send"),
        "{}",
        finding.text
    );
    assert!(
        finding.actions[0]
            .text
            .contains("Wrap the connection example.com/app.(*Session).send writes to"),
        "{:?}",
        finding.actions
    );
    for via in [
        &["io.copyBuffer", "io.Copy"] as &[&str],
        &["net.(*netFD).writeBuffers", "net.Buffers.WriteTo"],
        &["google.golang.org/grpc/internal/transport.(*bufWriter).Flush"],
    ] {
        let world = socket_write_world(via, 20);
        assert!(!fires(&world, &rule("small-writes")), "{via:?}");
    }
}

/// The CPU per unit of work is a figure for the record: after every recommendation, info
/// ones included.
#[test]
fn cpu_per_request_ranks_last() {
    let all = rules::load(&[]).unwrap();
    let world = World {
        throughput: Some(Throughput {
            per_second: 50.0,
            unit: "requests".to_string(),
        }),
        mutex: Some(contention_profile(&[])),
        block: Some(contention_profile(&[])),
        ..cpu_world(&["runtime.scanobject", "runtime.gcBgMarkWorker"], 40)
    };
    let cpu = world
        .cpu
        .as_ref()
        .and_then(|p| cpu::analyze(p, &CpuOptions::default()));
    let mutex = contention::analyze(world.mutex.as_ref(), ContentionKind::Mutex, 10);
    let block = contention::analyze(world.block.as_ref(), ContentionKind::Block, 10);
    let found = findings::evaluate(
        &all,
        &Evidence {
            cpu_profile: world.cpu.as_ref(),
            cpu: cpu.as_ref(),
            mutex: Some(&mutex),
            block: Some(&block),
            process_cpu_percent: Some(100.0),
            throughput: world.throughput.as_ref(),
            ..Evidence::default()
        },
    );
    let ids: Vec<&str> = found
        .recommendations
        .iter()
        .map(|r| r.finding.id.as_str())
        .collect();
    assert!(ids.contains(&"mutex-profiling-off"), "{ids:?}");
    assert_eq!(ids.last(), Some(&"cpu-per-request"), "{ids:?}");
}

/// The standard library's handlers and loops (a reverse proxy, net/http's connection
/// goroutines) are listed but do not dominate: they are the server's machinery. A stack
/// the runtime truncated before net/http's frames is read by the handlers it still holds.
#[test]
fn only_the_applications_entry_points_dominate() {
    let proxy = handlers_world(&[
        (
            "net/http/httputil.(*ReverseProxy).copyResponse",
            "net/http/httputil.(*ReverseProxy).ServeHTTP",
            60,
        ),
        ("log.Printf", "example.com/app.(*Access).ServeHTTP", 20),
        ("app.check", "example.com/app.(*Auth).ServeHTTP", 20),
    ]);
    assert!(!fires(&proxy, &rule("one-entry-point-dominates")));
    let truncated = World {
        cpu: Some(cpu_profile(&[
            (
                &[
                    "example.com/app.score",
                    "example.com/app.(*API).search",
                    "net/http.HandlerFunc.ServeHTTP",
                    "example.com/app.logged.func1",
                ],
                70,
            ),
            (
                &["example.com/app.flush", "example.com/app.(*Batcher).run"],
                30,
            ),
        ])),
        ..World::default()
    };
    let found = truncated.evaluate(&rule("one-entry-point-dominates"));
    let text = &found.recommendations[0].finding.text;
    assert!(
        text.contains("example.com/app.(*API).search (HTTP handler) 70.00%"),
        "{text}"
    );
}
