//! The `anyns` binary: command line, logging, and exit codes. Everything else lives in
//! the library modules of this crate.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = anyns::cli::Cli::parse();
    anyns::logging::init(cli.log_format);
    match anyns::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("anyns: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}
