//! `ridgeline capture [--reader auto|usb[:VID:PID]|virtual:DIR] -o IMAGE [--timeout S] [--json]`
//!
//! Waits for a finger on the reader, writes the image as PNG and reports what was captured.
//! JSON: `image, reader, driver, firmware, width, height, dpi, capture_ms`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use ridgeline_sensor::{open_reader, CancelToken, OpenOptions, ReaderSpec};

use crate::exit::InternalError;

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
    let info = reader.info();
    if args.json {
        let report = serde_json::json!({
            "image": args.out.display().to_string(),
            "reader": info.model,
            "driver": info.driver,
            "firmware": info.firmware,
            "width": image.width(),
            "height": image.height(),
            "dpi": image.dpi(),
            "capture_ms": capture_ms,
        });
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
    }
    Ok(())
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
