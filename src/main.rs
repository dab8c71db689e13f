//! The `pprof-report` binary: parses the command line, runs it, and on failure prints the
//! error on one line (escaped for the terminal) and exits with its code.

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
