//! `ridgeline synth --out DIR --fingers N --impressions K --seed S [--size WxH] [--dpi 500]
//! [--condition NAME[:S|:A..B][,NAME...]] [--templates-only] [--json]`
//!
//! Images: `DIR/<finger>_<impression>.png` plus `DIR/truth/<finger>_<impression>.json`.
//! `--condition` degrades every impression by acquisition conditions (`placement`,
//! `pressure-high`, `pressure-low`, `distortion`, `rotation`, `dry`, `wet`, `creases`, `worn`,
//! `partial`, `optical`; severity 1–3, see `ridgeline_synth::condition` and docs/SYNTH.md).
//! Templates only: `--out FILE.rlp` writes one template pack; any other `--out` is a folder of
//! `<finger>_<impression>.rlt` files.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use ridgeline_synth::condition;
use ridgeline_synth::dataset::{self, DatasetSpec, TemplateOutput};
use ridgeline_synth::{ImpressionConfig, MasterConfig, PatternClass, TemplateConfig};

use crate::progress::Progress;

/// Arguments of `ridgeline synth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folder (images, or `.rlt` templates), or a `.rlp` file with `--templates-only`.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of fingers.
    #[arg(long, default_value_t = 10)]
    pub fingers: u64,
    /// Impressions per finger.
    #[arg(long, default_value_t = 8)]
    pub impressions: u32,
    /// Seed: the same seed gives byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Image size in pixels, WIDTHxHEIGHT (FVC2002 DB4: 288x384).
    #[arg(long, default_value = "288x384", value_parser = parse_size)]
    pub size: (u32, u32),
    /// Resolution of the images in dots per inch.
    #[arg(long, default_value_t = 500)]
    pub dpi: u32,
    /// Write native templates only, without rendering images (fast: for large galleries).
    #[arg(long, conflicts_with = "condition")]
    pub templates_only: bool,
    /// Acquisition conditions applied to every impression, comma-separated, each `NAME`,
    /// `NAME:S` or `NAME:A..B` with severities 1–3 (e.g. `dry:1..3,creases`): placement,
    /// pressure-high, pressure-low, distortion, rotation, dry, wet, creases, worn, partial,
    /// optical.
    #[arg(long)]
    pub condition: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WIDTHxHEIGHT, got {text:?}"))?;
    let parse = |s: &str| s.trim().parse::<u32>().map_err(|e| format!("{s:?}: {e}"));
    Ok((parse(w)?, parse(h)?))
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.fingers == 0 || args.impressions == 0 {
        anyhow::bail!("--fingers and --impressions must be at least 1");
    }
    let conditions = match &args.condition {
        Some(text) => condition::parse_list(text)?,
        None => Vec::new(),
    };
    let spec = DatasetSpec {
        fingers: args.fingers,
        impressions: args.impressions,
        seed: args.seed,
        width: args.size.0,
        height: args.size.1,
        dpi: args.dpi,
    };
    let bar = Progress::started("synth", "fingers", args.fingers);
    let progress = |n: u64| bar.inc(n);
    let started = Instant::now();
    let (summary, what) = if args.templates_only {
        let output = if args.out.extension().is_some_and(|e| e.eq_ignore_ascii_case("rlp")) {
            TemplateOutput::Pack(args.out.clone())
        } else {
            TemplateOutput::Dir(args.out.clone())
        };
        let summary =
            dataset::write_templates(&output, &spec, &TemplateConfig::default(), &progress)
                .with_context(|| format!("cannot write templates to {}", args.out.display()))?;
        (summary, "templates")
    } else {
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("cannot create {}", args.out.display()))?;
        let summary = dataset::write_images_with(
            &args.out,
            &spec,
            &MasterConfig::default(),
            &ImpressionConfig::default(),
            &conditions,
            &progress,
        )
        .with_context(|| format!("cannot write images to {}", args.out.display()))?;
        (summary, "images")
    };
    bar.finish();
    let elapsed = started.elapsed().as_secs_f64();
    let classes: serde_json::Map<String, serde_json::Value> = PatternClass::ALL
        .iter()
        .zip(summary.class_counts)
        .map(|(class, count)| (class.as_str().to_string(), count.into()))
        .collect();
    if args.json {
        let report = serde_json::json!({
            "out": args.out.display().to_string(),
            "fingers": args.fingers,
            "impressions": args.impressions,
            "seed": args.seed,
            "kind": what,
            "conditions": condition::list_name(&conditions),
            "written": summary.written,
            "truth_minutiae": summary.truth_minutiae,
            "classes": classes,
            "elapsed_ms": (elapsed * 1e3).round(),
        });
        println!("{report}");
    } else {
        println!(
            "wrote {} {what} of {} fingers to {} in {:.1} s ({:.0} fingers/s)",
            summary.written,
            args.fingers,
            args.out.display(),
            elapsed,
            args.fingers as f64 / elapsed.max(1e-9)
        );
        let parts: Vec<String> = classes.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("classes: {}", parts.join(", "));
        if !conditions.is_empty() {
            println!("conditions: {}", condition::list_name(&conditions));
        }
        if !args.templates_only {
            println!(
                "ground truth: {} minutiae in {}/truth/",
                summary.truth_minutiae,
                args.out.display()
            );
        }
    }
    Ok(())
}
