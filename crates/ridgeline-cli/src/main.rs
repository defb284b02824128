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
    /// Generate synthetic fingerprints (images with ground truth, or templates only).
    Synth(commands::synth::Args),
    /// Score the extractor's minutiae against the ground truth of a synthetic set.
    EvalExtract(commands::eval_extract::Args),
    /// List the attached fingerprint readers.
    Readers(commands::readers::Args),
    /// Capture one fingerprint image from a reader.
    Capture(commands::capture::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = std::panic::catch_unwind(move || match cli.command {
        Command::Extract(args) => commands::extract::run(args),
        Command::Synth(args) => commands::synth::run(args),
        Command::EvalExtract(args) => commands::eval_extract::run(args),
        Command::Readers(args) => commands::readers::run(args),
        Command::Capture(args) => commands::capture::run(args),
    });
    exit::report(result)
}
