//! `ridgeline`: the command-line tool over the Ridgeline engine.
//!
//! Every reporting command prints human text by default and one JSON object with `--json`.
//! Exit codes: 0 success, 1 user error (message on stderr), 2 internal error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod cpu_report;
mod exit;
mod progress;

#[derive(Debug, Parser)]
#[command(name = "ridgeline", version, about = "Fingerprint identification engine")]
struct Cli {
    /// Operator recorded in the gallery's audit trail with everything this command does
    /// (default: the RIDGELINE_OPERATOR environment variable).
    #[arg(long, global = true, value_name = "NAME")]
    operator: Option<String>,
    /// Key of an encrypted gallery: a file of 32 raw bytes or 64 hexadecimal characters
    /// (default: the file the RIDGELINE_KEY_FILE environment variable names). With
    /// `gallery create`, makes an encrypted gallery.
    #[arg(long, global = true, value_name = "FILE")]
    key_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Extract minutiae from a fingerprint image.
    Extract(commands::extract::Args),
    /// Convert between template formats (ISO, ANSI, native) and image formats (PNG, WSQ).
    Convert(commands::convert::Args),
    /// List the attached fingerprint readers.
    Readers(commands::readers::Args),
    /// Capture one fingerprint image from a reader.
    Capture(commands::capture::Args),
    /// Compare two fingerprints (images or templates) and decide at a false match rate.
    Compare(commands::compare::Args),
    /// Measure accuracy (EER, FNMR at FMR, DET curve) on a dataset in FVC layout.
    Eval(commands::eval::Args),
    /// Whether a variant's accuracy differs from a baseline's beyond noise: a paired bootstrap over
    /// fingers of two score files (`eval --scores`).
    EvalDiff(commands::eval_diff::Args),
    /// Generate synthetic fingerprints (images with ground truth, or templates only).
    Synth(commands::synth::Args),
    /// Score the extractor's minutiae against the ground truth of a synthetic set.
    EvalExtract(commands::eval_extract::Args),
    /// The stress report: accuracy and extraction under acquisition conditions, and real sets.
    EvalStress(commands::eval_stress::Args),
    /// Interoperability: vendor ISO templates and ours, pure and mixed (MINEX style).
    EvalInterop(commands::eval_interop::Args),
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
    /// Find duplicate records in a population database (N:N).
    Dedup(commands::dedup::Args),
    /// Link the records of two systems (the same person registered twice): demographics and prints.
    Link(commands::link::Args),
    /// Apply a clerk's decisions (exported from an adjudication page) to a dedup or link report.
    Decide(commands::decide::Args),
    /// Precision and recall of `link` output against ground truth.
    LinkEval(commands::link_eval::Args),
    /// Generate a synthetic identity population in two systems with clerk errors and ground truth.
    SynthPeople(commands::synth_people::Args),
    /// The main job on built-in defaults: synthetic population, enrol, identify, de-duplicate.
    Demo(commands::demo::Args),
}

fn main() -> ExitCode {
    // Like every Unix filter, stop quietly when the reader of our output goes away
    // (`ridgeline extract --json … | head`); Rust ignores SIGPIPE by default, so printing to the
    // closed pipe would fail, and `println!` panics on that failure.
    #[cfg(unix)]
    // SAFETY: called first thing, before any other thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return exit::usage(error),
    };
    let operator = cli.operator.clone().or_else(|| std::env::var("RIDGELINE_OPERATOR").ok());
    commands::set_operator(operator.filter(|o| !o.is_empty()));
    let key_file = cli
        .key_file
        .clone()
        .or_else(|| std::env::var_os("RIDGELINE_KEY_FILE").map(std::path::PathBuf::from))
        .filter(|f| !f.as_os_str().is_empty());
    let result = std::panic::catch_unwind(move || {
        cpu_report::check_kernel_request()?;
        commands::load_key(key_file.as_deref())?;
        run(cli.command)
    });
    exit::report(result)
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Extract(args) => commands::extract::run(args),
        Command::Readers(args) => commands::readers::run(args),
        Command::Capture(args) => commands::capture::run(args),
        Command::Compare(args) => commands::compare::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::EvalDiff(args) => commands::eval_diff::run(args),
        Command::Convert(args) => commands::convert::run(args),
        Command::Synth(args) => commands::synth::run(args),
        Command::EvalExtract(args) => commands::eval_extract::run(args),
        Command::EvalStress(args) => commands::eval_stress::run(args),
        Command::EvalInterop(args) => commands::eval_interop::run(args),
        Command::Gallery(args) => commands::gallery::run(args),
        Command::Enroll(args) => commands::enroll::run(args),
        Command::Identify(args) => commands::identify::run(args),
        Command::Remove(args) => commands::remove::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Dedup(args) if args.demographics => commands::dedup_demographics::run(&args),
        Command::Dedup(args) => commands::dedup::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Link(args) => commands::link::run(args),
        Command::Decide(args) => commands::decide::run(args),
        Command::LinkEval(args) => commands::link_eval::run(args),
        Command::SynthPeople(args) => commands::synth_people::run(args),
    }
}
