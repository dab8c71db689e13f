//! The `pprof-report` command: parses the command line and runs it; an error is printed as
//! one line, `error: <file>: <what>`, with exit status 2 for usage errors and 1 otherwise.

use clap::Parser;
use clap::error::ErrorKind;

/// mimalloc instead of the system's allocator: a report makes about 70,000 small
/// allocations on a dozen short-lived threads, and glibc's gives each thread its own arena
/// (a fresh mapping grown page by page). Measured: the 8-member sim-57 report takes 6% fewer
/// instructions (callgrind: 173 vs 184 million), and the report of `bench/large.sh`'s
/// generated set 3.42 s instead of 4.13 s (peak RSS 469 MB instead of 435 MB).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // A file-size limit (`ulimit -f`) then fails a write with an error naming the file.
    pprof_report::output::ignore_file_size_signal();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // pprof's `-nodecount=10`: a hint to spell it `--nodecount 10`, not clap's "unexpected
    // argument '-n'".
    if let Some(hint) = pprof_report::cli::single_dash_hint(&args) {
        eprintln!("error: {}", pprof_report::text::for_terminal(&hint));
        std::process::exit(2);
    }
    let cli = match pprof_report::cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) => match error.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => error.exit(),
            // A usage error: clap's first line, which names the argument and the problem
            // (its tips and usage lines follow in --help).
            _ => {
                let text = error.render().to_string();
                let line = text
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("error");
                eprintln!("{line}");
                std::process::exit(2);
            }
        },
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Err(error) = pprof_report::cli::run(cli, &mut out) {
        // One line whatever the error names: a file name with a line break or an escape
        // sequence is shown escaped.
        eprintln!(
            "error: {}",
            pprof_report::text::for_terminal(&error.to_string())
        );
        std::process::exit(error.exit_code());
    }
    keep_memory_at_exit();
}

/// Statically linked, mimalloc frees everything when the process exits and returns it to
/// the system segment by segment: on the 8-member sim-57 report about 120 `madvise` calls
/// between the last output and `exit_group`, 2.4–3.8 ms of a 25 ms run (strace), for a
/// process that is about to end. Set once the work is done, so that memory freed during the
/// run is still returned (never purging at all took the large generated set's report from
/// 443 to 517 MB peak RSS).
fn keep_memory_at_exit() {
    pprof_report::allocator::set_purge_delay(-1);
}

/// The allocator's options (`allocator::configure_before_first_allocation` says which and
/// why). Set in a constructor, before the standard library's first allocation initialises
/// mimalloc (from `main` it is too late).
#[used]
#[unsafe(link_section = ".init_array")]
static SET_ALLOCATOR_OPTIONS: extern "C" fn() = set_allocator_options;

extern "C" fn set_allocator_options() {
    pprof_report::allocator::configure_before_first_allocation();
}
