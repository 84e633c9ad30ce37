//! The `fust` command line: run, validate, preview and explain job files; list plugins;
//! print the job file's JSON Schema.

mod cli;
mod progress;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
