//! Micro-benchmarks of the parts that the command line cannot time alone, for
//! bench/large.sh. No framework: each measurement runs RUNS times (default 5) and prints the
//! median, so the script can put it beside other figures.
//!
//!   cargo bench --bench large -- parse FILE        goroutine dump (debug=1 or 2) parse rate
//!   cargo bench --bench large -- decode FILE       pprof protobuf decode (gzip included)
//!   cargo bench --bench large -- flame FILE INDEX  flame graph SVG of one sample type
//!   cargo bench --bench large -- templates SET     parsing the default templates, and
//!                                                  rendering the set's Markdown report
//!
//! Without arguments (as `cargo bench` runs every bench) it measures the committed fixtures,
//! so that it always has something to do.

use std::path::Path;
use std::time::{Duration, Instant};

use pprof_report::analyze::flame;
use pprof_report::dump;
use pprof_report::profile::{self, DecodeOptions};
use pprof_report::render::flame::{FlameSpec, svg};
use pprof_report::render::templates::Templates;

fn runs() -> usize {
    std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(5)
}

/// The median of `runs` timings of `work`.
fn median(mut work: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs())
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("bench: {path}: {e}");
        std::process::exit(2)
    })
}

fn parse(path: &str) {
    let data = read(path);
    let text = profile::decompress(&data, &DecodeOptions::default())
        .unwrap_or_else(|e| {
            eprintln!("bench: {path}: {e}");
            std::process::exit(2)
        })
        .into_owned();
    let mut goroutines = 0;
    let time = median(|| {
        let dump = dump::parse(&text).unwrap_or_else(|e| {
            eprintln!("bench: {path}: {e}");
            std::process::exit(2)
        });
        goroutines = dump.total();
    });
    let mb = text.len() as f64 / 1e6;
    println!(
        "parse {}: {:.1} MB, {goroutines} goroutines, median {:.1} ms, {:.0} MB/s",
        name(path),
        mb,
        time.as_secs_f64() * 1e3,
        mb / time.as_secs_f64()
    );
}

fn decode(path: &str) {
    let data = read(path);
    let mut samples = 0;
    let time = median(|| {
        let p = profile::decode(&data, &DecodeOptions::default()).unwrap_or_else(|e| {
            eprintln!("bench: {path}: {e}");
            std::process::exit(2)
        });
        samples = p.sample_count();
    });
    println!(
        "decode {}: {samples} samples, median {:.1} ms",
        name(path),
        time.as_secs_f64() * 1e3
    );
}

fn flame_graph(path: &str, index: &str) {
    let data = read(path);
    let p = profile::decode(&data, &DecodeOptions::default()).unwrap_or_else(|e| {
        eprintln!("bench: {path}: {e}");
        std::process::exit(2)
    });
    let Some(index) = p.sample_index_of(index) else {
        eprintln!("bench: {path}: no sample type {index}");
        std::process::exit(2)
    };
    let spec = FlameSpec {
        title: name(path),
        subtitle: String::new(),
        count_name: p.sample_types[index].unit.clone(),
        palette: "mem",
    };
    let mut bytes = 0;
    let mut lines = 0;
    let time = median(|| {
        let folded = flame::folded_for_width(&p, index, flame::MIN_SHARE);
        lines = folded.lines.len();
        bytes = svg(&folded.lines, &spec).map(|s| s.len()).unwrap_or(0);
    });
    // The two parts apart: the call tree (ours) and the SVG (inferno's).
    let folding = median(|| {
        lines = flame::folded_for_width(&p, index, flame::MIN_SHARE)
            .lines
            .len();
    });
    println!(
        "flame {} ({}): {} samples, {lines} folded stacks drawn, SVG {:.0} kB, median {:.1} ms \
         ({:.1} ms folding)",
        name(path),
        p.sample_types[index].kind,
        p.sample_count(),
        bytes as f64 / 1e3,
        time.as_secs_f64() * 1e3,
        folding.as_secs_f64() * 1e3
    );
}

/// The template engine's two costs in a report: parsing the templates (paid by every run) and
/// rendering one report.
fn templates(set: &str) {
    let fail = |e: &dyn std::fmt::Display| -> ! {
        eprintln!("bench: {set}: {e}");
        std::process::exit(2)
    };
    let rules = pprof_report::jobs::load_rules(&[]).unwrap_or_else(|e| fail(&e));
    let options = pprof_report::jobs::PrepareOptions {
        context: None,
        rules: &rules,
        group_level: Default::default(),
        decode: &DecodeOptions::default(),
    };
    let prepared =
        pprof_report::jobs::prepare(Path::new(set), &options).unwrap_or_else(|e| fail(&e));
    let parse = median(|| {
        Templates::new(None).unwrap_or_else(|e| fail(&e));
    });
    let templates = Templates::new(None).unwrap_or_else(|e| fail(&e));
    let mut bytes = 0;
    let render = median(|| {
        bytes = templates
            .render(&prepared.report)
            .unwrap_or_else(|e| fail(&e))
            .len();
    });
    println!(
        "templates {}: parse median {:.2} ms, render ({:.0} kB of Markdown) median {:.2} ms",
        name(set),
        parse.as_secs_f64() * 1e3,
        bytes as f64 / 1e3,
        render.as_secs_f64() * 1e3
    );
}

fn name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn main() {
    // `cargo bench` passes `--bench`; anything else is ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["parse", file] => parse(file),
        ["decode", file] => decode(file),
        ["flame", file, index] => flame_graph(file, index),
        ["templates", set] => templates(set),
        [] => {
            let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/profiles/");
            parse(&format!(
                "{fixtures}sim-57svc-20261125-145700-goroutines-debug2.txt.gz"
            ));
            decode(&format!("{fixtures}sim-57svc-20261125-145700-heap.prof"));
            flame_graph(
                &format!("{fixtures}sim-57svc-20261125-145700-heap.prof"),
                "inuse_space",
            );
            templates(&format!("{fixtures}sim-57svc-20261125-145700"));
        }
        _ => {
            eprintln!(
                "usage: cargo bench --bench large -- parse FILE | decode FILE | flame FILE INDEX | templates SET"
            );
            std::process::exit(2)
        }
    }
}
