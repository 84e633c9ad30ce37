//! The `fust` command line: run, validate, preview and explain job files; list plugins;
//! print the job file's JSON Schema; serve the job service.

mod cli;
mod progress;
mod server;

use std::process::ExitCode;

/// mimalloc instead of the system allocator: Arrow arrays, CSV and database rows allocate
/// and free many small buffers per batch (measured in README "Choices").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
