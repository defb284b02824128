//! `ridgeline capture [--reader auto|usb[:VID:PID]|virtual:DIR] -o IMAGE [--timeout S]
//! [--extract [--template OUT]] [--json]`
//!
//! Waits for a finger on the reader, writes the image as PNG and reports what was captured.
//! With `--extract` it also extracts the minutiae, writes the template (native format) and
//! prints its quality, so that the clerk can ask for a re-take when it is low.
//! JSON: `image, reader, driver, firmware, width, height, dpi, capture_ms`, and with `--extract`
//! also `template, quality, minutiae, extract_ms, retake`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use ridgeline::extract::{Extractor, ExtractorConfig};
use ridgeline_sensor::{open_reader, CancelToken, OpenOptions, ReaderSpec};

use crate::exit::InternalError;

/// With fewer minutiae than this a template matches poorly whatever its quality: re-take. (The
/// quality already falls with the count; this floor catches a clear print of a fingertip.)
pub const RETAKE_BELOW_MINUTIAE: usize = 8;

/// Arguments of `ridgeline capture`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which reader: auto, usb, usb:VID:PID (hexadecimal) or virtual:DIR (a folder of images).
    #[arg(long, default_value = "auto")]
    pub reader: String,
    /// Where to write the captured image (PNG).
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Seconds to wait for a finger (and, after the capture, for it to be lifted).
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
    /// Also extract the minutiae: write the template and print its quality.
    #[arg(long)]
    pub extract: bool,
    /// Where `--extract` writes the template (native format); default: IMAGE with `.rlt`.
    #[arg(long, requires = "extract")]
    pub template: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Fixed seed for the U.are.U scrambling key exchange (for replaying recorded sessions);
    /// random when absent.
    #[arg(long, hide = true)]
    pub scramble_seed: Option<u32>,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let is_png = args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !is_png {
        anyhow::bail!(
            "{}: the captured image is written as PNG; name it *.png",
            args.out.display()
        );
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 86_400.0) {
        anyhow::bail!("--timeout must be a number of seconds between 0 and 86400");
    }
    let timeout = Duration::from_secs_f64(args.timeout);
    let spec: ReaderSpec = args.reader.parse()?;
    let options = OpenOptions { scramble_seed: args.scramble_seed };
    let mut reader = open_reader(&spec, &options).map_err(classify)?;

    let waiting = indicatif::ProgressBar::new_spinner();
    waiting.set_message(format!("place a finger on the reader ({})", reader.info().model));
    waiting.enable_steady_tick(Duration::from_millis(120));
    let started = Instant::now();
    let captured = reader.capture(timeout, &CancelToken::new());
    waiting.finish_and_clear();
    let image = captured.map_err(classify)?;
    let capture_ms = started.elapsed().as_secs_f64() * 1e3;

    image.save_png(&args.out).with_context(|| format!("cannot write {}", args.out.display()))?;
    let extraction = if args.extract { Some(extract(&image, &args)?) } else { None };

    let info = reader.info();
    if args.json {
        let mut report = serde_json::json!({
            "image": args.out.display().to_string(),
            "reader": info.model,
            "driver": info.driver,
            "firmware": info.firmware,
            "width": image.width(),
            "height": image.height(),
            "dpi": image.dpi(),
            "capture_ms": capture_ms,
        });
        if let (Some(e), Some(fields)) = (&extraction, report.as_object_mut()) {
            fields.insert("template".into(), e.path.display().to_string().into());
            fields.insert("quality".into(), e.quality.into());
            fields.insert("minutiae".into(), e.minutiae.into());
            fields.insert("extract_ms".into(), e.extract_ms.into());
            fields.insert("retake".into(), e.needs_retake().into());
        }
        println!("{report}");
    } else {
        println!(
            "captured {}x{} at {} dpi from {} -> {}",
            image.width(),
            image.height(),
            image.dpi(),
            info.model,
            args.out.display()
        );
        if let Some(e) = &extraction {
            println!("quality {}/100, {} minutiae -> {}", e.quality, e.minutiae, e.path.display());
            if e.needs_retake() {
                println!(
                    "ask for a re-take (quality below {} or fewer than \
                     {RETAKE_BELOW_MINUTIAE} minutiae): clean the reader, press the finger flat",
                    ridgeline::extract::RECAPTURE_QUALITY
                );
            }
        }
    }
    Ok(())
}

/// What `--extract` produced.
struct Extraction {
    path: PathBuf,
    quality: u8,
    minutiae: usize,
    extract_ms: f64,
}

impl Extraction {
    fn needs_retake(&self) -> bool {
        ridgeline::extract::needs_recapture(self.quality) || self.minutiae < RETAKE_BELOW_MINUTIAE
    }
}

fn extract(image: &ridgeline::FingerImage, args: &Args) -> anyhow::Result<Extraction> {
    let started = Instant::now();
    let template = Extractor::new(ExtractorConfig::default())
        .extract(image)
        .context("cannot extract minutiae from the captured image")?;
    let extract_ms = started.elapsed().as_secs_f64() * 1e3;
    let path = args.template.clone().unwrap_or_else(|| args.out.with_extension("rlt"));
    let bytes = template.to_native_bytes().context("cannot encode the template")?;
    std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Extraction {
        path,
        quality: template.quality,
        minutiae: template.minutiae.len(),
        extract_ms,
    })
}

/// Reader failures the user can act on (no reader, permissions, no finger) are user errors;
/// a device that breaks its protocol is reported as internal.
fn classify(error: ridgeline_sensor::Error) -> anyhow::Error {
    match error {
        ridgeline_sensor::Error::Protocol(_) => {
            let message = error.to_string();
            anyhow::Error::new(error).context(InternalError(message))
        }
        other => anyhow::Error::new(other),
    }
}
