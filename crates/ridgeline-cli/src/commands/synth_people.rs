//! `ridgeline synth-people --out DIR --records N [--dup-rate 0.05] [--seed S] [--json]`:
//! a synthetic identity population in two systems (`a.csv`, `b.csv`) with clerk errors and
//! the ground truth of the planted duplicates (`truth.csv`).

use std::path::PathBuf;

use anyhow::Context;
use ridgeline_link::synth::{write_population, ErrorRates, SynthConfig};

/// Arguments of `ridgeline synth-people`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Records in both systems together.
    #[arg(long, default_value_t = 10_000)]
    pub records: usize,
    /// Share of all records that have a planted duplicate in the other system.
    #[arg(long, default_value_t = 0.05)]
    pub dup_rate: f64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let config = SynthConfig {
        records: args.records,
        dup_rate: args.dup_rate,
        seed: args.seed,
        errors: ErrorRates::default(),
    };
    let summary = write_population(&args.out, &config)
        .with_context(|| format!("cannot write the population to {}", args.out.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "{} records in {}: a.csv ({}), b.csv ({}), truth.csv ({} people in both)",
            summary.records_a + summary.records_b,
            args.out.display(),
            summary.records_a,
            summary.records_b,
            summary.duplicates
        );
        println!(
            "clerk error rates per record: {}",
            serde_json::to_string(&summary.config.errors)?
        );
    }
    Ok(())
}
