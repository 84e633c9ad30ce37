//! The `fust` command line: run, validate, preview and explain job files; list plugins;
//! print the job file's JSON Schema; serve the job service.

mod cli;
mod progress;
mod server;
mod telemetry;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
