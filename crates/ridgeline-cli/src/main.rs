//! `ridgeline`: the command-line tool over the Ridgeline engine.
//!
//! Every reporting command prints human text by default and one JSON object with `--json`.
//! Exit codes: 0 success, 1 user error (message on stderr), 2 internal error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod exit;

#[derive(Debug, Parser)]
#[command(name = "ridgeline", version, about = "Fingerprint identification engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Extract minutiae from a fingerprint image.
    Extract(commands::extract::Args),
    /// Create, inspect, verify or compact a gallery.
    Gallery(commands::gallery::Args),
    /// Enrol templates or images into a gallery.
    Enroll(commands::enroll::Args),
    /// Search a gallery for the subjects most similar to a probe (1:N).
    Identify(commands::identify::Args),
    /// De-register a subject from a gallery.
    Remove(commands::remove::Args),
    /// Throughput benchmarks.
    Bench(commands::bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = std::panic::catch_unwind(move || match cli.command {
        Command::Extract(args) => commands::extract::run(args),
        Command::Gallery(args) => commands::gallery::run(args),
        Command::Enroll(args) => commands::enroll::run(args),
        Command::Identify(args) => commands::identify::run(args),
        Command::Remove(args) => commands::remove::run(args),
        Command::Bench(args) => commands::bench::run(args),
    });
    exit::report(result)
}
