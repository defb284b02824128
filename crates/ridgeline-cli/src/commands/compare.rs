//! `ridgeline compare A B [--fmr F] [--json]`: compares two fingerprints (images or template
//! files) and says whether they match at the threshold for the chosen false match rate.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use ridgeline::matcher::{calibration, MatchTemplate, Matcher};
use ridgeline::Template;

/// Arguments of `ridgeline compare`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// First fingerprint: an image (PNG, BMP, TIFF, JPEG, PGM) or a template (native, ISO, ANSI).
    pub a: PathBuf,
    /// Second fingerprint, same kinds as the first.
    pub b: PathBuf,
    /// False match rate the decision threshold is chosen for (from the calibration table).
    #[arg(long, default_value_t = 1e-4)]
    pub fmr: f64,
    /// Resolution of images whose files carry none (default 500).
    #[arg(long)]
    pub dpi: Option<u32>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    if !(args.fmr > 0.0 && args.fmr < 1.0) {
        anyhow::bail!("--fmr must lie strictly between 0 and 1, got {}", args.fmr);
    }
    let a = load_template(&args.a, args.dpi)?;
    let b = load_template(&args.b, args.dpi)?;
    let matcher = Matcher::new();
    let (pa, pb) = (MatchTemplate::prepare(&a.template), MatchTemplate::prepare(&b.template));
    let start = Instant::now();
    let score = matcher.compare(pa.view(), pb.view());
    let compare_us = start.elapsed().as_secs_f64() * 1e6;
    let threshold = calibration::threshold_for_fmr(args.fmr);
    let is_match = score >= threshold;
    if args.json {
        let out = serde_json::json!({
            "score": score,
            "threshold": threshold,
            "match": is_match,
            "compare_us": compare_us,
        });
        println!("{out}");
    } else {
        println!(
            "score {score:.4} ({} at FMR {:.1e}: threshold {threshold:.4}; a score this high has estimated FMR {:.1e})",
            if is_match { "MATCH" } else { "no match" },
            args.fmr,
            calibration::fmr_for_score(score),
        );
        println!(
            "{} minutiae vs {} minutiae, compared in {compare_us:.1} µs",
            a.template.minutiae.len(),
            b.template.minutiae.len()
        );
    }
    Ok(())
}

/// A template loaded from a file, with how long extraction took when it came from an image.
#[derive(Debug)]
pub struct Loaded {
    /// The template.
    pub template: Template,
    /// Milliseconds spent extracting (not reading and decoding), `None` for template files.
    pub extract_ms: Option<f64>,
}

/// Reads a template file (native, ISO/IEC 19794-2, ANSI 378) or extracts one from an image.
/// `dpi` overrides the resolution of images, and of templates, whose files state none or a
/// wrong one.
pub fn load_template(path: &Path, dpi: Option<u32>) -> anyhow::Result<Loaded> {
    let bytes = ridgeline::image::read_input(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if ridgeline::formats::detect_format(&bytes).is_ok() {
        let (mut template, warnings) = ridgeline::formats::decode_template_with_warnings(&bytes)
            .with_context(|| format!("cannot decode the template {}", path.display()))?;
        // A tolerated quirk (a resolution of 0, minutiae outside the image) changes what is
        // matched: the user hears of it.
        for warning in warnings {
            eprintln!("warning: {}: {warning}", path.display());
        }
        if let Some(dpi) = dpi {
            template.dpi = dpi;
        }
        return Ok(Loaded { template, extract_ms: None });
    }
    let image = ridgeline::FingerImage::decode(&bytes, dpi).with_context(|| {
        format!("{} is neither a template nor a readable image", path.display())
    })?;
    extract(&image).with_context(|| format!("cannot extract minutiae from {}", path.display()))
}

fn extract(image: &ridgeline::FingerImage) -> anyhow::Result<Loaded> {
    let extractor = ridgeline::extract::Extractor::new(Default::default());
    let start = Instant::now();
    let template = extractor.extract(image)?;
    let extract_ms = start.elapsed().as_secs_f64() * 1e3;
    Ok(Loaded { template, extract_ms: Some(extract_ms) })
}
