//! `ridgeline convert IN OUT [--to FORMAT] [--dpi N] [--json]`
//!
//! Between minutiae template formats (native, ISO/IEC 19794-2:2005/2011, ANSI INCITS
//! 378-2004/2009: every finger view is kept) and between image formats (any readable image,
//! WSQ, or the first fingerprint of an ANSI/NIST-ITL file, to PNG or WSQ).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ridgeline::formats::{self, TemplateFormat};

/// Arguments of `ridgeline convert`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input: a template (any supported format), an image (PNG, BMP, TIFF, JPEG, PGM, WSQ) or an
    /// ANSI/NIST-ITL file.
    pub input: PathBuf,
    /// Output file.
    pub output: PathBuf,
    /// Output format: native|iso19794-2:2005|iso19794-2:2011|ansi378:2004|ansi378:2009|png|wsq.
    /// Inferred from OUT's extension where obvious (.rlt, .iso, .png, .wsq).
    #[arg(long)]
    pub to: Option<String>,
    /// Resolution of an input image whose file carries none.
    #[arg(long)]
    pub dpi: Option<u32>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Template(TemplateFormat),
    Png,
    Wsq,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Template(f) => f.name(),
            Target::Png => "png",
            Target::Wsq => "wsq",
        }
    }
}

fn parse_target(to: Option<&str>, output: &Path) -> anyhow::Result<Target> {
    let name = match to {
        Some(name) => name.to_ascii_lowercase(),
        None => {
            let ext =
                output.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
            match ext.as_str() {
                "png" => "png".into(),
                "wsq" => "wsq".into(),
                "rlt" => "native".into(),
                "iso" => "iso19794-2:2005".into(),
                _ => bail!(
                    "cannot tell the output format from '{}'; give --to (native, iso19794-2:2005, iso19794-2:2011, ansi378:2004, ansi378:2009, png, wsq)",
                    output.display()
                ),
            }
        }
    };
    Ok(match name.as_str() {
        "png" => Target::Png,
        "wsq" => Target::Wsq,
        other => Target::Template(TemplateFormat::parse(other)?),
    })
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let target = parse_target(args.to.as_deref(), &args.output)?;
    super::probe_input::refuse_overwriting_input(&args.input, &args.output)?;
    let bytes = ridgeline::image::read_input(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let mut warnings = Vec::new();
    let (input_format, summary, out) = match target {
        Target::Template(format) => {
            let source = formats::detect_format(&bytes).with_context(|| {
                format!("{} is not a template Ridgeline reads", args.input.display())
            })?;
            let record = formats::decode_record(&bytes)
                .with_context(|| format!("cannot decode {}", args.input.display()))?;
            warnings.extend(record.warnings.iter().cloned());
            let minutiae: usize = record.views.iter().map(|v| v.minutiae.len()).sum();
            let out = if source == TemplateFormat::Native && format == TemplateFormat::Native {
                bytes.clone()
            } else if source == TemplateFormat::Native {
                formats::encode_template(&ridgeline::Template::from_native_bytes(&bytes)?, format)?
            } else {
                formats::convert_record(&record, format)
                    .with_context(|| format!("cannot write {}", format.name()))?
            };
            let summary = serde_json::json!({"views": record.views.len(), "minutiae": minutiae});
            (source.name().to_string(), summary, out)
        }
        Target::Png | Target::Wsq => {
            let (kind, image) = if bytes.starts_with(b"1.0") {
                let t = formats::an2k::parse(&bytes).with_context(|| {
                    format!("cannot parse ANSI/NIST-ITL file {}", args.input.display())
                })?;
                let first = t
                    .fingerprints
                    .first()
                    .context("the ANSI/NIST-ITL file holds no fingerprint image")?;
                if t.fingerprints.len() > 1 {
                    warnings.push(format!(
                        "{} fingerprint images; converted the first",
                        t.fingerprints.len()
                    ));
                }
                ("ansi-nist", first.decode()?)
            } else {
                let kind = if ridgeline::image::wsq::is_wsq(&bytes) { "wsq" } else { "image" };
                let image = ridgeline::FingerImage::decode(&bytes, args.dpi)
                    .with_context(|| format!("cannot decode {}", args.input.display()))?;
                (kind, image)
            };
            let out = match target {
                Target::Png => image.to_png()?,
                _ => ridgeline::image::wsq::encode(
                    &image,
                    ridgeline::image::wsq::TARGET_BITRATE_BPP,
                )?,
            };
            let summary = serde_json::json!({
                "width": image.width(), "height": image.height(), "dpi": image.dpi()
            });
            (kind.to_string(), summary, out)
        }
    };
    std::fs::write(&args.output, &out)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    if args.json {
        let mut obj = serde_json::json!({
            "input": args.input.display().to_string(),
            "output": args.output.display().to_string(),
            "input_format": input_format,
            "output_format": target.name(),
            "bytes": out.len(),
            "warnings": warnings,
        });
        if let (Some(o), Some(s)) = (obj.as_object_mut(), summary.as_object()) {
            o.extend(s.clone());
        }
        println!("{obj}");
    } else {
        for w in &warnings {
            eprintln!("warning: {w}");
        }
        println!(
            "{} ({input_format}) -> {} ({}, {} bytes)",
            args.input.display(),
            args.output.display(),
            target.name(),
            out.len()
        );
    }
    Ok(())
}
