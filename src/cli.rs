//! The command line: clap definitions turned into option structs. Nothing below this module
//! sees clap.
// The doc comments of the argument structs are clap's --help text, read in a terminal:
// `<set name>` there is a placeholder, not an HTML tag.
#![allow(rustdoc::invalid_html_tags)]

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::analyze::goroutines::GroupLevel;
use crate::analyze::top::{self, BaseMode, Granularity, NameFilter, TagFilter, TopOptions};
use crate::collect;
use crate::error::{Error, UsageError};
use crate::jobs::{self, CommandLine, Format};
use crate::profile::DecodeOptions;
use crate::render;
use crate::set;
use crate::set::load;

// No doc comment here: clap would take it for the program's about and long about (--help);
// the help comes from the `#[command]` attributes and the docs of `Command`'s variants.
#[allow(missing_docs)]
#[derive(Debug, Parser)]
#[command(
    name = "pprof-report",
    version,
    about = "Investigation reports from Go pprof profile sets"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// No doc comment here: clap would show it as the program's about in --help; each variant's
// doc is its subcommand's help.
#[allow(missing_docs)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the top functions of a profile, exactly as `go tool pprof -top` does.
    Top(Box<TopArgs>),
    /// List the members of a profile set, classified by content, and what is missing.
    Members(MembersArgs),
    /// Collect a complete profile set from a live /debug/pprof endpoint.
    Collect(CollectArgs),
    /// Write the investigation report of a profile set (Markdown, SVG flame graphs, JSON, HTML).
    Report(ReportArgs),
    /// Compare two profile sets (before → after): key metrics, scaling, per-function deltas
    /// with their significance, predicted against measured savings, a regression gate.
    Compare(CompareArgs),
    /// Key metrics across sets taken over time (before, after fix 1, …): a table, SVG charts
    /// and what changed between consecutive sets.
    Trend(TrendArgs),
    /// Attach a report to a Backlog.md task: a dated block in its Implementation Notes, the
    /// report in its documentation list.
    Attach(AttachArgs),
    /// Merge the CPU profiles of one or more sets into one profile for `go build -pgo`,
    /// as `go tool pprof -proto` merges them.
    Pgo(PgoArgs),
    /// Render the Markdown report again from a saved analysis (--format json).
    Render(RenderArgs),
    /// Write the default templates into a folder, to override them with --templates.
    Templates(TemplatesArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout, or write pprof-report.1 and one page per
    /// subcommand (pprof-report-top.1, …) into a folder.
    Man(ManArgs),
}

// No doc comment here: on a clap `Args` struct it becomes help text (the command's about);
// the help comes from the variant's doc in `Command` and the fields' docs.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell, e.g. `pprof-report completions bash > /etc/bash_completion.d/pprof-report`.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

// No doc comment here: on a clap `Args` struct it becomes help text (the command's about);
// the help comes from the variant's doc in `Command` and the fields' docs.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write the pages into this folder (created when missing; existing pages are replaced)
    /// instead of printing pprof-report(1).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

// No doc comment here: on a clap `Args` struct it becomes help text (the command's about);
// the help comes from the variant's doc in `Command` and the fields' docs.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A directory holding one set, or a path prefix such as profiles/storage-57svc-20251015-210532.
    pub set: PathBuf,
    /// Report every set in the directory SET, each to <out-dir>/<set name>.md.
    #[arg(long, conflicts_with_all = ["out", "context"])]
    pub all: bool,
    /// With --all: the folder the reports go to.
    #[arg(long, default_value = "reports", requires = "all")]
    pub out_dir: PathBuf,
    /// The context YAML (default: the set's <prefix>-context.yaml when there is one).
    #[arg(long)]
    pub context: Option<PathBuf>,
    /// The report to write (default: reports/<set name>.md); flame graphs go to a folder
    /// named after it. A symbolic link is written through; - is standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With --out - (standard output), a FIFO or a terminal: the folder for the flame graphs
    /// and the analysis, which the report links to (default: a folder named after the set, in
    /// the current directory).
    #[arg(long, value_name = "DIR", conflicts_with = "all")]
    pub assets: Option<PathBuf>,
    /// A folder whose templates replace the defaults, file by file.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// md: the Markdown report; json: the whole analysis, which `render` turns into Markdown.
    #[arg(long, value_enum, default_value = "md")]
    pub format: FormatArg,
    /// Also write a standalone HTML page with the flame graphs inline.
    #[arg(long)]
    pub html: bool,
    /// A rule file that adds to or replaces (same id) the built-in recommendation rules;
    /// may be given several times.
    #[arg(long, value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// After writing the report, attach it to this Backlog.md task (see `attach`).
    #[arg(long, value_name = "TASK")]
    pub attach: Option<String>,
    /// With --attach: the Backlog.md folder.
    #[arg(long, default_value = "backlog", requires = "attach")]
    pub backlog_dir: PathBuf,
    /// Another set to compare with (a smaller host, or this host before a change): adds a
    /// comparison section and a differential flame graph.
    #[arg(long, value_name = "SET", conflicts_with = "all")]
    pub baseline: Option<PathBuf>,
    /// With --baseline: fail (exit 1) when a significant change passes a threshold, e.g.
    /// cpu-per-service>+10%, goroutines>+20%, heap-inuse>+15%.
    #[arg(long, value_name = "METRIC>[+-]N[%]", requires = "baseline", value_parser = crate::analyze::compare::parse_gate)]
    pub fail_on: Vec<crate::analyze::compare::GateSpec>,
    /// How goroutine stacks are grouped: exact (functions and lines), functions, or package.
    #[arg(long, value_enum, default_value = "functions")]
    pub group_level: GroupLevelArg,
    #[command(flatten)]
    pub decode: DecodeArgs,
}

// No doc comment here: on a clap `Args` struct it becomes help text (the command's about);
// the help comes from the variant's doc in `Command` and the fields' docs.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The first set (before, or the smaller host).
    pub before: PathBuf,
    /// The second set (after, or the larger host).
    pub after: PathBuf,
    /// The report to write (default: reports/<before>-vs-<after>.md); - is standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With --out - (standard output), a FIFO or a terminal: the folder for the flame graphs
    /// and the analysis, which the report links to (default: a folder named after the default report, in
    /// the current directory).
    #[arg(long, value_name = "DIR")]
    pub assets: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "md")]
    pub format: FormatArg,
    /// Also write a standalone HTML page.
    #[arg(long)]
    pub html: bool,
    /// A folder whose templates replace the defaults, file by file.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// Rule files that add to or replace the built-in rules (for predicted savings).
    #[arg(long, value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Fail (exit 1) when a significant change passes a threshold, e.g.
    /// cpu-per-service>+10%, goroutines>+20%, heap-inuse>+15%.
    #[arg(long, value_name = "METRIC>[+-]N[%]", value_parser = crate::analyze::compare::parse_gate)]
    pub fail_on: Vec<crate::analyze::compare::GateSpec>,
    #[command(flatten)]
    pub decode: DecodeArgs,
}

// No doc comment here: on a clap `Args` struct it becomes help text (the command's about);
// the help comes from the variant's doc in `Command` and the fields' docs.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The report (Markdown, written by `pprof-report report`).
    pub report: PathBuf,
    /// The task id: 17, task-17.
    #[arg(long)]
    pub task: String,
    /// The Backlog.md folder.
    #[arg(long, default_value = "backlog")]
    pub backlog_dir: PathBuf,
    /// A folder whose templates replace the defaults, file by file (the block is
    /// `backlog.md.j2`).
    #[arg(long)]
    pub templates: Option<PathBuf>,
}

// No doc comment here: on a clap `Args` struct it becomes help text (the command's about);
// the help comes from the variant's doc in `Command` and the fields' docs.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct TrendArgs {
    /// The sets, in time order.
    #[arg(required = true, num_args = 2..)]
    pub sets: Vec<PathBuf>,
    /// The report to write (default: reports/trend-<first>-to-<last>.md, or .json); - is
    /// standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With --out - (standard output), a FIFO or a terminal: the folder for the flame graphs
    /// and the analysis, which the report links to (default: a folder named after the default report, in
    /// the current directory).
    #[arg(long, value_name = "DIR")]
    pub assets: Option<PathBuf>,
    /// md: the Markdown trend; json: its data (sets, metrics, steps, charts' files).
    #[arg(long, value_enum, default_value = "md")]
    pub format: FormatArg,
    /// Also write a standalone HTML page.
    #[arg(long)]
    pub html: bool,
    /// A folder whose templates replace the defaults, file by file.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    #[command(flatten)]
    pub decode: DecodeArgs,
}

// No doc comment here: on a clap `Args` struct it becomes help text (the command's about);
// the help comes from the variant's doc in `Command` and the fields' docs.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct PgoArgs {
    /// The sets (a directory holding one set, or a path prefix), or CPU profiles.
    #[arg(required = true)]
    pub sets: Vec<PathBuf>,
    /// The profile to write, gzipped profile.proto (replaced if it exists). `go build` uses
    /// a default.pgo in the main package's folder by itself.
    #[arg(long, default_value = "default.pgo")]
    pub out: PathBuf,
    #[command(flatten)]
    pub decode: DecodeArgs,
}

/// `--group-level`'s values, turned into the analysis's `GroupLevel`.
// The variants have no doc comments: clap would list them in --help as the values' help; the
// flag's own doc says what each value means.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum GroupLevelArg {
    Exact,
    Functions,
    Package,
}

/// `--format`'s values, turned into the jobs' `Format`.
// The variants have no doc comments: clap would list them in --help as the values' help;
// `report --format`'s doc says what each value means.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Md,
    Json,
}

// No doc comment here: on a clap `Args` struct it becomes help text (the command's about);
// the help comes from the variant's doc in `Command` and the fields' docs.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// An analysis written by `report --format json`.
    pub json: PathBuf,
    /// The Markdown file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// A folder whose templates replace the defaults, file by file.
    #[arg(long)]
    pub templates: Option<PathBuf>,
}

// No doc comment here: on a clap `Args` struct it becomes help text (the command's about);
// the help comes from the variant's doc in `Command` and the fields' docs.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct TemplatesArgs {
    /// Folder to write the default templates into (existing files are kept).
    pub dir: PathBuf,
}

// No doc comment here: on a clap `Args` struct it becomes help text (the command's about);
// the help comes from the variant's doc in `Command` and the fields' docs.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Base URL of the service's net/http/pprof, e.g. http://127.0.0.1:9099.
    #[arg(long)]
    pub url: String,
    /// Host name for the set's name and context (one plain name).
    #[arg(long)]
    pub host: String,
    /// How many services (instances, nodes) the process runs.
    #[arg(long)]
    pub services: u32,
    /// Length of the CPU profile in seconds.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Folder to write the set into (created when missing).
    #[arg(long, default_value = "profiles")]
    pub out: PathBuf,
    /// A local process to read CPU%, RSS, VSZ, threads, uptime, CPUs and quota, Go version and
    /// GOMAXPROCS from (/proc).
    #[arg(long)]
    pub pid: Option<u32>,
    /// Longest wait for one member, beyond the CPU profile's length (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// Longest the whole collection may take, beyond the CPU profile's length; members not
    /// complete by then are reported, the others kept.
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    pub deadline: std::time::Duration,
    /// Largest body accepted for one member (suffixes: KiB, MiB, GiB).
    #[arg(long, help_heading = "Limits", value_name = "SIZE", default_value = "1GiB", value_parser = parse_size)]
    pub max_size: u64,
    #[command(flatten)]
    pub decode: DecodeArgs,
    /// No countdown while the CPU profile runs.
    #[arg(long)]
    pub quiet: bool,
    /// Name the set with this UTC time (YYYYMMDD-HHMMSS) instead of now, for reproducible
    /// fixture names.
    #[arg(long, value_parser = parse_stamp)]
    pub stamp: Option<crate::timefmt::UtcTime>,
}

/// Parses `20251015-210532`.
fn parse_stamp(text: &str) -> Result<crate::timefmt::UtcTime, String> {
    crate::timefmt::UtcTime::parse_compact(text)
        .ok_or_else(|| format!("{text:?} is not a time such as 20251015-210532"))
}

// No doc comment here: on a clap `Args` struct it becomes help text (the command's about);
// the help comes from the variant's doc in `Command` and the fields' docs.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct MembersArgs {
    /// A directory holding one set, or a path prefix such as profiles/storage-57svc-20251015-210532.
    pub set: PathBuf,
    #[command(flatten)]
    pub decode: DecodeArgs,
}

// No doc comment here: on a clap `Args` struct it becomes help text (the about of each
// command that flattens it); the help comes from the fields' docs.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Largest decompressed profile accepted, in bytes (suffixes: KiB, MiB, GiB, KB, MB, GB).
    #[arg(long, help_heading = "Limits", value_name = "SIZE", default_value = "1GiB", value_parser = parse_size)]
    pub max_decompressed_size: u64,
    /// Most samples accepted in one profile.
    #[arg(long, help_heading = "Limits", value_name = "N", default_value_t = DecodeOptions::default().max_samples)]
    pub max_samples: usize,
    /// Most locations accepted in one profile.
    #[arg(long, help_heading = "Limits", value_name = "N", default_value_t = DecodeOptions::default().max_locations)]
    pub max_locations: usize,
    /// Most functions accepted in one profile.
    #[arg(long, help_heading = "Limits", value_name = "N", default_value_t = DecodeOptions::default().max_functions)]
    pub max_functions: usize,
    /// Deepest stack accepted (locations of one sample, frames of one goroutine).
    #[arg(long, help_heading = "Limits", value_name = "N", default_value_t = DecodeOptions::default().max_stack_depth)]
    pub max_stack_depth: usize,
    /// Longest string accepted in a profile (function, file, label), in bytes.
    #[arg(long, help_heading = "Limits", value_name = "SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub max_string_length: u64,
    /// Longest line accepted in a goroutine text dump, in bytes.
    #[arg(long, help_heading = "Limits", value_name = "SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub max_line_length: u64,
    /// Most memory one decoded profile may take, estimated while it is read. Default: 16 bytes
    /// per (decompressed) byte of profile plus 16 MiB, at most 2 GiB; a SIZE replaces all three.
    #[arg(long, help_heading = "Limits", value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
}

impl DecodeArgs {
    fn options(&self) -> DecodeOptions {
        DecodeOptions {
            max_decompressed_bytes: self.max_decompressed_size,
            max_samples: self.max_samples,
            max_locations: self.max_locations,
            max_functions: self.max_functions,
            max_stack_depth: self.max_stack_depth,
            max_string_bytes: usize::try_from(self.max_string_length).unwrap_or(usize::MAX),
            max_line_bytes: usize::try_from(self.max_line_length).unwrap_or(usize::MAX),
            max_memory_bytes: self.max_memory,
        }
    }
}

// No doc comment here: on a clap `Args` struct it becomes help text (the command's about);
// the help comes from the variant's doc in `Command` and the fields' docs.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct TopArgs {
    /// The profile (pprof protobuf, gzipped or not).
    pub file: PathBuf,
    /// Show at most N nodes (0: all that pass the node fraction).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub nodecount: usize,
    /// Sample type to report, by name (alloc_space, inuse_objects, delay, …) or index.
    #[arg(long, value_name = "NAME|N")]
    pub sample_index: Option<String>,
    /// Sort by cumulative value.
    #[arg(long)]
    pub cum: bool,
    /// Report at the level of source lines.
    #[arg(long, group = "granularity")]
    pub lines: bool,
    /// Report at the level of source files.
    #[arg(long, group = "granularity")]
    pub files: bool,
    /// Report at the level of functions, with their file.
    #[arg(long, group = "granularity")]
    pub filefunctions: bool,
    /// Report at the level of functions (the default).
    #[arg(long, group = "granularity")]
    pub functions: bool,
    /// Subtract this profile (pprof's -base).
    #[arg(long, value_name = "FILE", conflicts_with = "diff_base")]
    pub base: Option<PathBuf>,
    /// Subtract this profile and show percentages of its total (pprof's -diff_base).
    #[arg(long, value_name = "FILE")]
    pub diff_base: Option<PathBuf>,
    /// Hide nodes below this fraction of the total.
    #[arg(long, value_name = "F", default_value_t = 0.005)]
    pub nodefraction: f64,
    /// Ignore edges below this fraction of the total (they decide "(inline)").
    #[arg(long, value_name = "F", default_value_t = 0.001)]
    pub edgefraction: f64,
    /// Only samples with matching labels, as pprof's -tagfocus: `[KEY=]REGEX[,REGEX…]` over
    /// string labels, or `[KEY=]RANGE` over numeric ones (`bytes=1mb:`, `:64kb`, `4kb:1mb`).
    /// Percentages stay of the whole profile's total.
    #[arg(long, value_name = "[KEY=]REGEX|RANGE", value_parser = parse_tag_filter)]
    pub tagfocus: Option<TagFilter>,
    /// Not the samples with matching labels, as pprof's -tagignore (same forms as --tagfocus).
    #[arg(long, value_name = "[KEY=]REGEX|RANGE", value_parser = parse_tag_filter)]
    pub tagignore: Option<TagFilter>,
    /// Only samples with a frame whose function, file or mapping matches, as pprof's -focus.
    /// Percentages stay of the whole profile's total.
    #[arg(long, value_name = "REGEX", value_parser = parse_name_filter)]
    pub focus: Option<NameFilter>,
    /// Not the samples with a frame that matches, as pprof's -ignore.
    #[arg(long, value_name = "REGEX", value_parser = parse_name_filter)]
    pub ignore: Option<NameFilter>,
    /// Take the frames that match off the stacks, as pprof's -hide.
    #[arg(long, value_name = "REGEX", value_parser = parse_name_filter)]
    pub hide: Option<NameFilter>,
    /// Keep only the frames that match on the stacks, as pprof's -show.
    #[arg(long, value_name = "REGEX", value_parser = parse_name_filter)]
    pub show: Option<NameFilter>,
    #[command(flatten)]
    pub decode: DecodeArgs,
}

/// A `--tagfocus`/`--tagignore` value; clap reports a refusal as a usage error naming the flag.
fn parse_tag_filter(text: &str) -> Result<TagFilter, String> {
    TagFilter::parse(text).map_err(|e| e.to_string())
}

/// A `--focus`/`--ignore`/`--hide`/`--show` value: a Go regular expression.
fn parse_name_filter(text: &str) -> Result<NameFilter, String> {
    NameFilter::parse(text).map_err(|e| e.to_string())
}

impl TopArgs {
    /// The `top` options these flags ask for: the granularity from `--lines`, `--files` or
    /// `--filefunctions` (else functions), the sample index, the sort and the node and edge
    /// limits.
    pub fn options(&self) -> TopOptions {
        let granularity = if self.lines {
            Granularity::Lines
        } else if self.files {
            Granularity::Files
        } else if self.filefunctions {
            Granularity::FileFunctions
        } else {
            Granularity::Functions
        };
        TopOptions {
            sample_index: self.sample_index.clone(),
            cum_sort: self.cum,
            granularity,
            node_count: self.nodecount,
            node_fraction: self.nodefraction,
            edge_fraction: self.edgefraction,
            // pprof takes an empty value as no filter.
            tag_focus: self.tagfocus.clone().filter(|f| !f.text().is_empty()),
            tag_ignore: self.tagignore.clone().filter(|f| !f.text().is_empty()),
            focus: self.focus.clone().filter(|f| !f.text().is_empty()),
            ignore: self.ignore.clone().filter(|f| !f.text().is_empty()),
            hide: self.hide.clone().filter(|f| !f.text().is_empty()),
            show: self.show.clone().filter(|f| !f.text().is_empty()),
        }
    }
}

/// pprof's single-dash spellings (`-nodecount=10`, `-cum`, `-sample_index=alloc_space`): the
/// first argument of the form `-word` or `-word=value` whose `--word` (underscores read as
/// dashes) is a long option of the subcommand, as a one-line hint to spell it with two
/// dashes. Clap would otherwise read `-nodecount` as the short options `-n -o …`.
pub fn single_dash_hint(args: &[std::ffi::OsString]) -> Option<String> {
    use clap::CommandFactory;
    let root = Cli::command();
    let mut command = &root;
    for arg in args.iter().skip(1) {
        let arg = arg.to_str()?;
        if arg == "--" {
            return None;
        }
        if !arg.starts_with('-') {
            if let Some(sub) = command.find_subcommand(arg) {
                command = sub;
            }
            continue;
        }
        let Some(word) = arg.strip_prefix('-').filter(|w| !w.starts_with('-')) else {
            continue;
        };
        let (name, value) = match word.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (word, None),
        };
        // `-h` and other one-letter words are clap's short options.
        if name.chars().count() < 2 {
            continue;
        }
        let long = name.replace('_', "-");
        let known = command
            .get_arguments()
            .any(|a| a.get_long() == Some(long.as_str()))
            || matches!(long.as_str(), "help" | "version");
        if known {
            let spelled = match value {
                Some(value) => format!("--{long} {value}"),
                None => format!("--{long}"),
            };
            return Some(format!(
                "use {spelled} (pprof's {arg} is spelled with two dashes here)"
            ));
        }
    }
    None
}

/// Parses `1073741824`, `512MiB`, `1GiB`, `2GB`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 512MiB or 1GiB"))?;
    let multiplier: u64 = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => {
            return Err(format!(
                "unknown size suffix {other:?} (use KiB, MiB or GiB)"
            ));
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// Runs a parsed command line, writing results to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<(), Error> {
    match cli.command {
        Command::Top(args) => run_top(&args, out),
        Command::Collect(args) => run_collect(&args, out),
        Command::Report(args) => run_report(&args, out),
        Command::Compare(args) => {
            let format = format_of(args.format);
            let (written, passed) = jobs::compare::run(&jobs::compare::CompareJob {
                before: args.before.clone(),
                after: args.after.clone(),
                out: args.out.clone(),
                assets: args.assets.clone(),
                format,
                html: args.html,
                templates: args.templates.clone(),
                rules: args.rules.clone(),
                gate: args.fail_on.clone(),
                decode: args.decode.options(),
                command: regenerate(
                    "compare",
                    &[&args.before, &args.after],
                    &Flags {
                        templates: args.templates.as_deref(),
                        json: format == Format::Json,
                        html: args.html,
                        gates: &args.fail_on,
                        rules: &args.rules,
                        ..Flags::default()
                    },
                ),
            })?;
            say_written(out, &written)?;
            if passed {
                Ok(())
            } else {
                Err(Error::GateFailed)
            }
        }
        Command::Trend(args) => {
            let paths: Vec<&Path> = args.sets.iter().map(PathBuf::as_path).collect();
            let format = format_of(args.format);
            let written = jobs::trend::run(&jobs::trend::TrendJob {
                sets: args.sets.clone(),
                out: args.out.clone(),
                assets: args.assets.clone(),
                format,
                templates: args.templates.clone(),
                html: args.html,
                decode: args.decode.options(),
                command: regenerate(
                    "trend",
                    &paths,
                    &Flags {
                        templates: args.templates.as_deref(),
                        json: format == Format::Json,
                        html: args.html,
                        ..Flags::default()
                    },
                ),
            })?;
            say_written(out, &written)
        }
        Command::Attach(args) => {
            let attached = jobs::attach::run(&attach_job(
                &args.report,
                &args.task,
                &args.backlog_dir,
                args.templates.clone(),
            ))?;
            say_attached(&attached, out)
        }
        Command::Pgo(args) => run_pgo(&args, out),
        Command::Render(args) => {
            let written =
                jobs::report::render_from_json(&args.json, &args.out, args.templates.as_deref())?;
            say_written(out, &written)
        }
        Command::Templates(args) => {
            let written = jobs::write_default_templates(&args.dir)?;
            list_written(out, &written)
        }
        Command::Completions(args) => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "pprof-report", &mut script);
            write_output(out, &script)
        }
        Command::Man(args) => run_man(&args, out),
        Command::Members(args) => {
            let set = set::open(&args.set, &args.decode.options())?;
            write_output(out, render::members_text::render(&set).as_bytes())
        }
    }
}

fn format_of(arg: FormatArg) -> Format {
    match arg {
        FormatArg::Md => Format::Markdown,
        FormatArg::Json => Format::Json,
    }
}

/// `report`: one set, or every set of a folder (`--all`), each attached when asked.
fn run_report(args: &ReportArgs, out: &mut dyn Write) -> Result<(), Error> {
    let format = format_of(args.format);
    if args.attach.is_some() && format != Format::Markdown {
        return Err(UsageError::AttachNeedsMarkdown.into());
    }
    let to_stream = |out: &Path| {
        matches!(
            crate::output::destination(out),
            Ok(crate::output::Destination::Stream(_))
        )
    };
    if args.attach.is_some() && args.out.as_deref().is_some_and(to_stream) {
        return Err(UsageError::AttachNeedsFile.into());
    }
    let group_level = match args.group_level {
        GroupLevelArg::Exact => GroupLevel::Exact,
        GroupLevelArg::Functions => GroupLevel::Functions,
        GroupLevelArg::Package => GroupLevel::Package,
    };
    let options = |set: PathBuf, out: Option<PathBuf>| jobs::report::ReportOptions {
        command: regenerate(
            "report",
            &[&set],
            &Flags {
                context: args.context.as_deref(),
                templates: args.templates.as_deref(),
                json: format == Format::Json,
                html: args.html,
                baseline: args.baseline.as_deref(),
                gates: &args.fail_on,
                rules: &args.rules,
                group_level: (group_level != GroupLevel::default()).then_some(group_level),
            },
        ),
        pgo_command: regenerate("pgo", &[&set], &Flags::default()),
        set,
        context: args.context.clone(),
        out,
        assets: args.assets.clone(),
        templates: args.templates.clone(),
        format,
        html: args.html,
        decode: args.decode.options(),
        rules: args.rules.clone(),
        baseline: args.baseline.clone(),
        gate: args.fail_on.clone(),
        group_level,
    };
    let runs = if args.all {
        let mut runs: Vec<jobs::report::ReportOptions> = Vec::new();
        for set in set::list(&args.set)? {
            let name = set
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // The set's name came from file names: it becomes a safe one here.
            let safe = crate::output::safe_file_name(&name, "report");
            let out_file = args.out_dir.join(format!("{safe}.{}", format.extension()));
            if let Some(other) = runs.iter().find(|r| r.out.as_ref() == Some(&out_file)) {
                return Err(Error::SameOutput {
                    out: out_file,
                    first: other.set.clone(),
                    second: set,
                });
            }
            runs.push(options(set, Some(out_file)));
        }
        runs
    } else {
        vec![options(args.set.clone(), args.out.clone())]
    };
    for run in &runs {
        let reported = jobs::report::run(run)?;
        say_written(out, &reported.written)?;
        if let (Some(task), Some(markdown)) = (&args.attach, &reported.markdown) {
            let job = attach_job(markdown, task, &args.backlog_dir, args.templates.clone());
            let attached = jobs::attach::attach_analysis(&job, &reported.analysis)?;
            say_attached(&attached, out)?;
        }
    }
    Ok(())
}

/// The flags a regenerated command repeats, in the order it writes them.
#[derive(Default)]
struct Flags<'a> {
    context: Option<&'a Path>,
    templates: Option<&'a Path>,
    json: bool,
    html: bool,
    baseline: Option<&'a Path>,
    gates: &'a [crate::analyze::compare::GateSpec],
    rules: &'a [PathBuf],
    group_level: Option<GroupLevel>,
}

/// The command that writes a report, comparison or trend again (but for `--out`, which the
/// job settles), with the paths as the user gave them: the one place that spells the flags
/// of a regenerated command.
fn regenerate(subcommand: &str, paths: &[&Path], flags: &Flags) -> CommandLine {
    let mut words = vec!["pprof-report".to_string(), subcommand.to_string()];
    words.extend(paths.iter().map(|p| p.display().to_string()));
    let path_flag = |words: &mut Vec<String>, name: &str, value: Option<&Path>| {
        if let Some(value) = value {
            words.push(name.to_string());
            words.push(value.display().to_string());
        }
    };
    path_flag(&mut words, "--context", flags.context);
    path_flag(&mut words, "--templates", flags.templates);
    if flags.json {
        words.push("--format json".to_string());
    }
    if flags.html {
        words.push("--html".to_string());
    }
    path_flag(&mut words, "--baseline", flags.baseline);
    for gate in flags.gates {
        words.push(format!("--fail-on '{}'", gate.text));
    }
    for rules in flags.rules {
        words.push("--rules".to_string());
        words.push(rules.display().to_string());
    }
    if let Some(level) = flags.group_level {
        words.push(format!("--group-level {}", level.as_arg()));
    }
    CommandLine::new(words)
}

fn attach_job(
    report: &Path,
    task: &str,
    backlog_dir: &Path,
    templates: Option<PathBuf>,
) -> jobs::attach::AttachJob {
    jobs::attach::AttachJob {
        backlog_dir: backlog_dir.to_path_buf(),
        task: task.to_string(),
        report: report.to_path_buf(),
        templates,
        now: crate::timefmt::UtcTime::now(),
    }
}

fn say_attached(attached: &crate::backlog::Attached, out: &mut dyn Write) -> Result<(), Error> {
    let verb = if attached.replaced {
        "replaced the block in"
    } else {
        "attached to"
    };
    write_output(
        out,
        format!("{verb} {}\n", attached.task_file.display()).as_bytes(),
    )
}

fn run_top(args: &TopArgs, out: &mut dyn Write) -> Result<(), Error> {
    let decode = args.decode.options();
    let profile = load::read_profile(&args.file, &decode)?;
    let base = match (&args.base, &args.diff_base) {
        (Some(path), _) => Some((path, BaseMode::Subtract)),
        (None, Some(path)) => Some((path, BaseMode::Diff)),
        (None, None) => None,
    };
    let base_profile = match base {
        Some((path, mode)) => Some((load::read_profile(path, &decode)?, mode)),
        None => None,
    };
    let options = args.options();
    for (name, filter) in [
        ("tagfocus", &options.tag_focus),
        ("tagignore", &options.tag_ignore),
    ] {
        // pprof's note on stderr, word for word: a value that looks numeric is no regexp.
        if let Some(filter) = filter.as_ref().filter(|f| f.is_range()) {
            eprintln!(
                "{name}:Interpreted '{}' as range, not regexp",
                filter.value()
            );
        }
    }
    let report = top::top(
        &profile,
        base_profile.as_ref().map(|(p, mode)| (p, *mode)),
        &options,
    )
    .map_err(|source| Error::Top {
        path: args.file.clone(),
        source,
    })?;
    // pprof's warnings on stderr, word for word, for a filter that matched nothing.
    let matched = report.name_matches;
    for (given, matched, name) in [
        (options.focus.is_some(), matched.focus, "Focus"),
        (options.ignore.is_some(), matched.ignore, "Ignore"),
        (options.hide.is_some(), matched.hide, "Hide"),
        (options.show.is_some(), matched.show, "Show"),
    ] {
        if given && !matched {
            eprintln!("{name} expression matched no samples");
        }
    }
    write_output(out, render::top_text::render(&report).as_bytes())
}

/// The man pages from the same clap definition as the command line: pprof-report(1) on
/// stdout, or it and one page per subcommand (`pprof-report-top.1`, …) written into a folder.
fn run_man(args: &ManArgs, out: &mut dyn Write) -> Result<(), Error> {
    use clap::CommandFactory;
    let mut command = Cli::command().disable_help_subcommand(true);
    // Building sets each subcommand's display name (`pprof-report-top`), which names its page.
    command.build();
    let render = |command: &clap::Command| {
        let mut page = Vec::new();
        clap_mangen::Man::new(command.clone())
            .render(&mut page)
            .map(|()| page)
    };
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let Some(dir) = &args.out else {
        let page = render(&command).map_err(io_error(Path::new("<stdout>")))?;
        return write_output(out, &page);
    };
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let mut written = Vec::new();
    let pages = std::iter::once(&command).chain(command.get_subcommands());
    for page_command in pages {
        let path = dir.join(clap_mangen::Man::new(page_command.clone()).get_filename());
        let page = render(page_command).map_err(io_error(&path))?;
        crate::output::write_atomic(&path, &page, crate::output::Existing::Replace)
            .map_err(io_error(&path))?;
        written.push(path);
    }
    list_written(out, &written)
}

fn run_pgo(args: &PgoArgs, out: &mut dyn Write) -> Result<(), Error> {
    let written = jobs::pgo::run(&jobs::pgo::PgoJob {
        sets: args.sets.clone(),
        out: args.out.clone(),
        decode: args.decode.options(),
    })?;
    let shown = |path: &Path| crate::text::for_terminal(&path.display().to_string());
    let mut text = String::new();
    for source in &written.sources {
        text.push_str(&format!(
            "set {}: {}, {}\n",
            crate::text::for_terminal(&source.set),
            shown(&source.file),
            source.totals.describe()
        ));
    }
    text.push_str(&format!(
        "merged {} CPU profile{}: {}\n",
        written.sources.len(),
        if written.sources.len() == 1 { "" } else { "s" },
        written.totals.describe()
    ));
    let replaced = if written.replaced {
        " (replaced the existing file)"
    } else {
        ""
    };
    text.push_str(&format!("wrote {}{replaced}\n", shown(&written.out)));
    write_output(out, text.as_bytes())?;
    if let Some(warning) = &written.warning {
        eprintln!("warning: {}: {warning}", shown(&written.out));
    }
    Ok(())
}

fn run_collect(args: &CollectArgs, out: &mut dyn Write) -> Result<(), Error> {
    let options = collect::CollectOptions {
        url: args.url.clone(),
        host: args.host.clone(),
        services: args.services,
        cpu_seconds: args.seconds,
        out_dir: args.out.clone(),
        pid: args.pid,
        timeout: args.timeout,
        deadline: args.deadline,
        max_body_bytes: args.max_size,
        decode: args.decode.options(),
        progress: !args.quiet,
        at: args.stamp,
    };
    // A value no collection could use is a usage error, like one clap refuses (`Error`'s
    // `From<CollectError>`).
    let outcome = collect::collect(&options)?;
    let mut text = String::new();
    for saved in &outcome.saved {
        text.push_str(&format!(
            "saved {:<30} {}\n",
            saved.kind.describe(),
            saved.path.display()
        ));
    }
    if let Some(path) = &outcome.context_path {
        text.push_str(&format!("saved {:<30} {}\n", "context", path.display()));
    }
    write_output(out, text.as_bytes())?;
    for failure in &outcome.failures {
        // An optional member (window profile, MemStats) leaves the set complete: reports
        // fall back to the lifetime profiles and say so.
        let level = if failure.optional() {
            "warning"
        } else {
            "error"
        };
        eprintln!(
            "{level}: {} ({}): {}",
            failure.kind.describe(),
            failure.url,
            failure.what
        );
    }
    if outcome.complete() {
        return Ok(());
    }
    let expected = |kind: &set::MemberKind| set::MemberKind::EXPECTED.contains(kind);
    Err(Error::Incomplete {
        prefix: outcome.prefix.clone(),
        saved: outcome.saved.iter().filter(|s| expected(&s.kind)).count(),
        total: set::MemberKind::EXPECTED.len(),
    })
}

/// Parses `30s`, `2m`, `1h`, `1.5s`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let d = crate::context::HumanDuration::parse(text)?;
    std::time::Duration::try_from_secs_f64(d.seconds).map_err(|e| format!("{text:?}: {e}"))
}

fn list_written(out: &mut dyn Write, files: &[PathBuf]) -> Result<(), Error> {
    let text: String = files
        .iter()
        .map(|f| {
            format!(
                "wrote {}\n",
                crate::text::for_terminal(&f.display().to_string())
            )
        })
        .collect();
    write_output(out, text.as_bytes())
}

/// What a job wrote, listed on `out`, or on standard error when the job's output itself
/// went to standard output (`--out -`), so as not to mix the two.
fn say_written(out: &mut dyn Write, written: &jobs::Written) -> Result<(), Error> {
    if written.to_stdout {
        list_written(&mut std::io::stderr().lock(), &written.files)
    } else {
        list_written(out, &written.files)
    }
}

fn write_output(out: &mut dyn Write, bytes: &[u8]) -> Result<(), Error> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(source) => Err(Error::Io {
            path: PathBuf::from("<stdout>"),
            source,
        }),
        Ok(()) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5XB").is_err());
    }
}
