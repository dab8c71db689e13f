//! The `pprof-report` command: parses the command line and runs it; an error is printed as
//! one line, `error: <file>: <what>`, with exit status 2 for usage errors and 1 otherwise.

use clap::Parser;

fn main() {
    let cli = pprof_report::cli::Cli::parse();
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
}
