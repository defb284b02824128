//! `ridgeline eval-extract DIR [--json]`: minutiae recall and precision of the extractor
//! against the ground truth of a synthetic set (`ridgeline synth` output).
//!
//! A detected minutia matches a true one within 10 px and 30° (one-to-one, closest first).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use ridgeline::extract::{Extractor, ExtractorConfig};
use ridgeline_synth::truth::{self, MatchCounts, Tolerance};

/// Arguments of `ridgeline eval-extract`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder written by `ridgeline synth` (images plus `truth/`).
    pub dir: PathBuf,
    /// Largest distance between a detected and a true minutia, pixels.
    #[arg(long, default_value_t = 10.0)]
    pub distance_px: f64,
    /// Largest direction difference, degrees.
    #[arg(long, default_value_t = 30.0)]
    pub angle_deg: f64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let truth_dir = args.dir.join("truth");
    let mut pairs = Vec::new();
    let entries = std::fs::read_dir(&truth_dir).with_context(|| {
        format!("cannot read {} (is this a `ridgeline synth` folder?)", truth_dir.display())
    })?;
    for entry in entries {
        let path = entry.with_context(|| format!("cannot list {}", truth_dir.display()))?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let Some(stem) = path.file_stem().map(|s| s.to_os_string()) else { continue };
            let image = args.dir.join(&stem).with_extension("png");
            if image.is_file() {
                pairs.push((image, path));
            }
        }
    }
    pairs.sort();
    if pairs.is_empty() {
        anyhow::bail!(
            "no <finger>_<impression>.png with truth/<finger>_<impression>.json in {}",
            args.dir.display()
        );
    }
    let tolerance = Tolerance { distance_px: args.distance_px, angle_deg: args.angle_deg };
    let extractor = Extractor::new(ExtractorConfig::default());
    let bar = ProgressBar::new(pairs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} images eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let results: Vec<anyhow::Result<(MatchCounts, f64)>> = pairs
        .par_iter()
        .map(|(image_path, truth_path)| {
            let image = ridgeline::FingerImage::open(image_path, None)
                .with_context(|| format!("cannot read {}", image_path.display()))?;
            let truth = truth::load(truth_path)?;
            let start = Instant::now();
            let template = extractor
                .extract(&image)
                .with_context(|| format!("cannot extract {}", image_path.display()))?;
            let ms = start.elapsed().as_secs_f64() * 1e3;
            bar.inc(1);
            Ok((truth::compare(&truth, &template.minutiae, tolerance), ms))
        })
        .collect();
    bar.finish_and_clear();
    let mut total = MatchCounts::default();
    let mut times = Vec::with_capacity(results.len());
    for result in results {
        let (counts, ms) = result?;
        total.add(&counts);
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    let median_ms = times[times.len() / 2];
    let matched = total.matched.max(1) as f64;
    if args.json {
        let report = serde_json::json!({
            "images": pairs.len(),
            "truth": total.truth,
            "detected": total.detected,
            "matched": total.matched,
            "recall": total.recall(),
            "precision": total.precision(),
            "kind_agreement": total.same_kind as f64 / matched,
            "mean_distance_px": total.distance_sum / matched,
            "mean_angle_deg": (total.angle_sum / matched).to_degrees(),
            "extract_ms_median": median_ms,
            "distance_px": args.distance_px,
            "angle_deg": args.angle_deg,
        });
        println!("{report}");
    } else {
        println!(
            "{} images: recall {:.3}, precision {:.3} ({} of {} true minutiae found, {} detected; within {} px and {}°)",
            pairs.len(),
            total.recall(),
            total.precision(),
            total.matched,
            total.truth,
            total.detected,
            args.distance_px,
            args.angle_deg
        );
        println!(
            "matched: kind agrees {:.1} %, mean error {:.2} px and {:.1}°; extraction median {:.1} ms; {:.1} s in all",
            100.0 * total.same_kind as f64 / matched,
            total.distance_sum / matched,
            (total.angle_sum / matched).to_degrees(),
            median_ms,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
