//! soapgate command line entry point.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    soapgate::cli::run(soapgate::cli::Cli::parse())
}
