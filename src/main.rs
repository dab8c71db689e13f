use clap::Parser;

fn main() {
    let cli = pprof_report::cli::Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Err(error) = pprof_report::cli::run(cli, &mut out) {
        eprintln!("error: {error}");
        std::process::exit(error.exit_code());
    }
}
