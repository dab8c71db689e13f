//! The runner: a seeded PRNG, the iteration budget, and one input at a time under
//! `catch_unwind`, with every panic, property failure or slow input written out to a file
//! whose path is printed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::targets::{Outcome, Target};

/// splitmix64: tiny, seedable, and good enough to pick mutations; no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`; 0 when `n` is 0, so callers need no guard for empty collections.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True `num` times out of `den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next_u64() % den < num
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// How long a run lasts: a fixed number of inputs (the default, cheap enough for every
/// `cargo test`), or, with `PPROF_REPORT_FUZZ_SECONDS`, a time budget per target.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub seed: u64,
    pub seconds: Option<f64>,
    /// Inputs of the random phase when there is no time budget.
    pub scale: f64,
}

pub const DEFAULT_SEED: u64 = 0x7070_726f_6621_2026;

impl Config {
    pub fn from_env() -> Config {
        let seed = std::env::var("PPROF_REPORT_FUZZ_SEED")
            .ok()
            .and_then(|s| {
                let s = s.trim();
                match s.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16).ok(),
                    None => s.parse().ok(),
                }
            })
            .unwrap_or(DEFAULT_SEED);
        let seconds = std::env::var("PPROF_REPORT_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| *s > 0.0);
        // Release builds are about ten times faster: the same wall time buys more inputs.
        let scale = if cfg!(debug_assertions) { 1.0 } else { 10.0 };
        Config {
            seed,
            seconds,
            scale,
        }
    }

    /// True when one more input fits: under the count without a budget, under the time
    /// with one.
    pub fn more(&self, started: Instant, done: usize, count: usize) -> bool {
        match self.seconds {
            Some(seconds) => started.elapsed().as_secs_f64() < seconds,
            None => (done as f64) < count as f64 * self.scale,
        }
    }

    /// The seed of one target: the run's seed mixed with the target's name, so that targets
    /// do not share a sequence and adding a target changes no other's inputs.
    pub fn target_seed(&self, target: Target) -> u64 {
        let mut h = self.seed ^ 0xcbf2_9ce4_8422_2325;
        for b in target.name().bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        h
    }
}

/// Where failing inputs go (under target/, which git ignores).
pub fn crash_dir(target: Target) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("fuzz-crashes")
        .join(target.name())
}

/// FNV-1a of the input, for file names.
pub fn hash(data: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in data {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// The longest one input may take before it counts as pathologically slow: generous, since
/// the machine is shared and debug builds are slow; a quadratic blow-up on the inputs the
/// mutators make takes far longer.
pub fn slow_limit(target: Target) -> Duration {
    let base = match target {
        Target::Pipeline => 20.0,
        _ => 2.0,
    };
    let factor = if cfg!(debug_assertions) { 5.0 } else { 1.0 };
    Duration::from_secs_f64(base * factor)
}

/// One input's last words, kept while it runs: a watchdog thread writes it out if the
/// input hangs, since a hang cannot be caught.
struct Current {
    input: Mutex<Vec<u8>>,
    started_ms: AtomicU64,
    busy: AtomicBool,
    stop: AtomicBool,
}

pub struct Runner {
    target: Target,
    config: Config,
    started: Instant,
    pub inputs: usize,
    pub ok: usize,
    pub errors: usize,
    failures: Vec<String>,
    slowest: (Duration, u64),
    /// Kept to be written out at the end: the input to look at when a run gets slow.
    slowest_input: Vec<u8>,
    current: Arc<Current>,
    watchdog: Option<std::thread::JoinHandle<()>>,
}

/// Failures after which a run stops: the first few say what is wrong.
const MAX_FAILURES: usize = 10;

impl Runner {
    pub fn new(target: Target, config: Config) -> Runner {
        let current = Arc::new(Current {
            input: Mutex::new(Vec::new()),
            started_ms: AtomicU64::new(0),
            busy: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let started = Instant::now();
        let watched = Arc::clone(&current);
        // A hang is several times the slow limit; the watchdog writes the input and exits
        // the whole test process (a stuck thread cannot be stopped any other way).
        let hang = slow_limit(target) * 6;
        let watchdog = std::thread::spawn(move || {
            while !watched.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                if !watched.busy.load(Ordering::Relaxed) {
                    continue;
                }
                // Saturating: the runner may start a new input between the two reads.
                let since = (started.elapsed().as_millis() as u64)
                    .saturating_sub(watched.started_ms.load(Ordering::Relaxed));
                if Duration::from_millis(since) > hang {
                    let input = watched.input.lock().map(|i| i.clone()).unwrap_or_default();
                    let path = save(target, "hang", &input);
                    eprintln!(
                        "fuzz {}: an input ran for more than {hang:?}; it is in {}",
                        target.name(),
                        path.display()
                    );
                    std::process::exit(3);
                }
            }
        });
        Runner {
            target,
            config,
            started,
            inputs: 0,
            ok: 0,
            errors: 0,
            failures: Vec::new(),
            slowest: (Duration::ZERO, 0),
            slowest_input: Vec::new(),
            current,
            watchdog: Some(watchdog),
        }
    }

    pub fn stopped(&self) -> bool {
        self.failures.len() >= MAX_FAILURES
    }

    /// Runs one input; a panic or a slow input is recorded with the input's file.
    pub fn run(&mut self, data: &[u8], f: impl FnOnce(&[u8]) -> Outcome) {
        if self.stopped() {
            return;
        }
        if let Ok(mut input) = self.current.input.lock() {
            input.clear();
            input.extend_from_slice(data);
        }
        self.current
            .started_ms
            .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.current.busy.store(true, Ordering::Relaxed);
        let t = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| f(data)));
        let elapsed = t.elapsed();
        self.current.busy.store(false, Ordering::Relaxed);
        self.inputs += 1;
        match result {
            Ok(Ok(())) => self.ok += 1,
            Ok(Err(_)) => self.errors += 1,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "(no message)".to_string());
                let path = save(self.target, "crash", data);
                self.failures
                    .push(format!("panic: {message}\n    input: {}", path.display()));
            }
        }
        if elapsed > self.slowest.0 {
            self.slowest = (elapsed, hash(data));
            self.slowest_input.clear();
            self.slowest_input.extend_from_slice(data);
        }
        if elapsed > slow_limit(self.target) {
            let path = save(self.target, "slow", data);
            self.failures.push(format!(
                "slow: {elapsed:?} for {} bytes (limit {:?})\n    input: {}",
                data.len(),
                slow_limit(self.target),
                path.display()
            ));
        }
    }

    /// Prints what the run did and fails the test when an input failed.
    pub fn finish(mut self) {
        self.current.stop.store(true, Ordering::Relaxed);
        if let Some(w) = self.watchdog.take() {
            let _ = w.join();
        }
        let elapsed = self.started.elapsed();
        let slowest = save(self.target, "slowest", &self.slowest_input);
        println!(
            "fuzz {}: {} inputs in {:.1}s (seed {:#x}, {}): {} ok, {} clean errors, {} failures; slowest {:?} ({})",
            self.target.name(),
            self.inputs,
            elapsed.as_secs_f64(),
            self.config.seed,
            match self.config.seconds {
                Some(s) => format!("budget {s}s"),
                None => "fixed count".to_string(),
            },
            self.ok,
            self.errors,
            self.failures.len(),
            self.slowest.0,
            slowest.display()
        );
        if !self.failures.is_empty() {
            panic!(
                "fuzz {}: {} failing inputs (copy each to tests/fuzz-regressions/{}/ once fixed):\n  {}",
                self.target.name(),
                self.failures.len(),
                self.target.name(),
                self.failures.join("\n  ")
            );
        }
    }
}

/// Writes a failing input; returns its path.
fn save(target: Target, kind: &str, data: &[u8]) -> PathBuf {
    let dir = crash_dir(target);
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{kind}-{:016x}", hash(data)));
    if let Err(e) = std::fs::write(&path, data) {
        eprintln!("fuzz: cannot write {}: {e}", path.display());
    }
    path
}
