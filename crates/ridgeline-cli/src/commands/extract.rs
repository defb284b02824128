//! `ridgeline extract IMAGE [--dpi N] [-o OUT] [--format F] [--json] [--trace DIR]`

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use ridgeline::extract::{trace::keys, CollectTrace, Extractor, ExtractorConfig, NoTrace, Trace};
use ridgeline::Template;

/// Arguments of `ridgeline extract`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fingerprint image (PNG, BMP, TIFF, JPEG, PGM).
    pub image: PathBuf,
    /// Resolution of the image when its file carries none (default 500).
    #[arg(long)]
    pub dpi: Option<u32>,
    /// Write the template to this file.
    #[arg(short = 'o', long = "out")]
    pub out: Option<PathBuf>,
    /// Template format to write with `-o`: native, iso19794-2:2005, iso19794-2:2011,
    /// ansi378:2004, ansi378:2009.
    #[arg(long, default_value = "native")]
    pub format: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write every intermediate stage of the extraction as a PNG into this folder.
    #[arg(long)]
    pub trace: Option<PathBuf>,
}

/// Interchange formats named by the CLI contract, written by `ridgeline::formats`.
const INTERCHANGE_FORMATS: [&str; 4] =
    ["iso19794-2:2005", "iso19794-2:2011", "ansi378:2004", "ansi378:2009"];

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    // Refuse a bad format before doing any work.
    check_format(&args.format)?;
    if let Some(out) = &args.out {
        super::probe_input::refuse_overwriting_input(&args.image, out)?;
    }
    let image = ridgeline::FingerImage::open(&args.image, args.dpi)
        .with_context(|| format!("cannot read {}", args.image.display()))?;
    let extractor = Extractor::new(ExtractorConfig::default());
    let mut collected = CollectTrace::default();
    let sink: &mut dyn Trace = if args.trace.is_some() { &mut collected } else { &mut NoTrace };
    let started = Instant::now();
    let template = extractor
        .extract_traced(&image, sink)
        .with_context(|| format!("cannot extract minutiae from {}", args.image.display()))?;
    let extract_ms = started.elapsed().as_secs_f64() * 1e3;

    if let Some(dir) = &args.trace {
        write_trace(dir, &collected)?;
    }
    if let Some(out) = &args.out {
        let bytes = encode(&template, &args.format)?;
        std::fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&json_report(&template, extract_ms))?);
    } else {
        print_human(&args, &template, extract_ms);
    }
    Ok(())
}

fn check_format(format: &str) -> anyhow::Result<()> {
    if format == "native" || INTERCHANGE_FORMATS.contains(&format) {
        Ok(())
    } else {
        anyhow::bail!(
            "unknown template format {format:?}; choose one of native, {}",
            INTERCHANGE_FORMATS.join(", ")
        )
    }
}

/// Encodes the template in the requested format through the format registry.
fn encode(template: &Template, format: &str) -> anyhow::Result<Vec<u8>> {
    let format = ridgeline::formats::TemplateFormat::parse(format)?;
    Ok(ridgeline::formats::encode_template(template, format)?)
}

fn write_trace(dir: &std::path::Path, trace: &CollectTrace) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (key, image) in &trace.stages {
        let index = keys::ALL.iter().position(|k| k == key).map_or(99, |i| i + 1);
        let path = dir.join(format!("{index:02}-{key}.png"));
        std::fs::write(&path, image.to_png()?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn json_report(template: &Template, extract_ms: f64) -> serde_json::Value {
    let minutiae: Vec<serde_json::Value> = template
        .minutiae
        .iter()
        .map(|m| {
            serde_json::json!({
                "x": m.x,
                "y": m.y,
                "angle_deg": m.angle.to_degrees(),
                "kind": m.kind.as_str(),
                "quality": m.quality,
            })
        })
        .collect();
    serde_json::json!({
        "width": template.width,
        "height": template.height,
        "dpi": template.dpi,
        "quality": template.quality,
        "recapture": ridgeline::extract::needs_recapture(template.quality),
        "minutiae": minutiae,
        "extract_ms": extract_ms,
    })
}

fn print_human(args: &Args, template: &Template, extract_ms: f64) {
    let endings =
        template.minutiae.iter().filter(|m| m.kind == ridgeline::MinutiaKind::Ending).count();
    println!(
        "{}: {}x{} px at {} dpi, quality {}, {} minutiae ({} endings, {} bifurcations), {} singular points, extracted in {:.2} ms",
        args.image.display(),
        template.width,
        template.height,
        template.dpi,
        template.quality,
        template.minutiae.len(),
        endings,
        template.minutiae.len() - endings,
        template.singular_points.len(),
        extract_ms
    );
    if ridgeline::extract::needs_recapture(template.quality) {
        println!(
            "recapture: image quality {} is below {}; capture the finger again",
            template.quality,
            ridgeline::extract::RECAPTURE_QUALITY
        );
    }
    if let Some(out) = &args.out {
        println!("template written to {} ({})", out.display(), args.format);
    }
    if let Some(dir) = &args.trace {
        println!("stages written to {}", dir.display());
    }
}
