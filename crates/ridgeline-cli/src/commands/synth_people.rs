//! `ridgeline synth-people --out DIR --records N [--dup-rate 0.05] [--fingers K] [--seed S]
//! [--json]`: a synthetic identity population in two systems (`a.csv`, `b.csv`) with clerk
//! errors and the ground truth of the planted duplicates (`truth.csv`); with `--fingers`, every
//! record also carries `K` synthetic templates (`prints/`), a planted pair's records two
//! impressions of the same fingers.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rayon::prelude::*;
use ridgeline_link::synth::{write_population_with_prints, ErrorRates, PlannedPrint, SynthConfig};
use ridgeline_synth::TemplateConfig;

use crate::progress::Progress;

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
    /// Prints per record (0–10): synthetic templates under `prints/`, named by the exports'
    /// `finger,path` columns.
    #[arg(long, default_value_t = 0)]
    pub fingers: u8,
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
    let (summary, prints) = write_population_with_prints(&args.out, &config, args.fingers)
        .with_context(|| format!("cannot write the population to {}", args.out.display()))?;
    write_prints(&args.out, &prints, args.seed)?;
    if args.json {
        let mut report = serde_json::to_value(summary)?;
        report["fingers"] = args.fingers.into();
        report["prints"] = prints.len().into();
        println!("{report}");
    } else {
        println!(
            "{} records in {}: a.csv ({}), b.csv ({}), truth.csv ({} people in both)",
            summary.records_a + summary.records_b,
            args.out.display(),
            summary.records_a,
            summary.records_b,
            summary.duplicates
        );
        if !prints.is_empty() {
            println!(
                "{} synthetic templates in {} ({} per record)",
                prints.len(),
                args.out.join("prints").display(),
                args.fingers
            );
        }
        println!(
            "clerk error rates per record: {}",
            serde_json::to_string(&summary.config.errors)?
        );
    }
    Ok(())
}

/// Fingers per batch: one batch's templates are drawn in parallel, then written in order.
const PRINT_BATCH: usize = 8192;

/// Draws and writes the templates the exports name (the seed's template-level fingers, as
/// `synth --templates-only` draws them).
fn write_prints(dir: &Path, prints: &[PlannedPrint], seed: u64) -> anyhow::Result<()> {
    if prints.is_empty() {
        return Ok(());
    }
    let config = TemplateConfig::default();
    let bar = Progress::started("prints", "templates", prints.len() as u64);
    for batch in prints.chunks(PRINT_BATCH) {
        let encoded = batch
            .par_iter()
            .map(|p| {
                ridgeline_synth::templates::generate(seed, p.finger, p.impression, &config)
                    .map_err(anyhow::Error::from)
                    .and_then(|t| Ok(t.to_native_bytes()?))
                    .with_context(|| format!("cannot draw the template of {}", p.path))
            })
            .collect::<anyhow::Result<Vec<Vec<u8>>>>()?;
        for (p, bytes) in batch.iter().zip(encoded) {
            let path = dir.join(&p.path);
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder)
                    .with_context(|| format!("cannot create {}", folder.display()))?;
            }
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        bar.inc(batch.len() as u64);
    }
    bar.finish();
    Ok(())
}
