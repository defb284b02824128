//! `ridgeline extract IMAGE [--dpi N] [-o OUT] [--format F] [--json] [--trace DIR]`

use std::path::PathBuf;

use anyhow::Context;

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
    /// Template format to write with `-o`.
    #[arg(long, default_value = "native")]
    pub format: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write every intermediate stage of the extraction as a PNG into this folder.
    #[arg(long)]
    pub trace: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let image = ridgeline::FingerImage::open(&args.image, args.dpi)
        .with_context(|| format!("cannot read {}", args.image.display()))?;
    anyhow::bail!(
        "{}x{} image read, but the extractor is not built yet (issue #2)",
        image.width(),
        image.height()
    )
}
