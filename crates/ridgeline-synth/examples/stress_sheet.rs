//! Realism check of the acquisition conditions: one strip per condition (the first impressions
//! of one synthetic finger under it) and one per real print list, every tile at the same scale,
//! so the stresses can be set beside real prints.
//!
//! `cargo run --release -p ridgeline-synth --example stress_sheet -- OUT_DIR [--seed S]
//!  [--finger F] [--impressions K] [--dpi D] [LABEL=IMAGE[,IMAGE...][@DPI]]...`
//!
//! Writes `OUT_DIR/stress-<condition>.png` for a clean print and every condition of the stress
//! suite, and `OUT_DIR/real-<LABEL>.png` for each real list (`@DPI` gives the resolution of
//! files that state none or a wrong one). Tiles are resampled to `--dpi` (default 333, two
//! thirds of the generator's 500) and padded to a common size.

use std::path::PathBuf;

use ridgeline::FingerImage;
use ridgeline_synth::condition::{self, Condition};
use ridgeline_synth::{impression, ImpressionConfig, Master, MasterConfig};

/// The conditions drawn, with the file name each gets.
const SETS: [&str; 14] = [
    "clean",
    "placement",
    "pressure-high",
    "pressure-low",
    "distortion",
    "rotation",
    "dry:1",
    "dry:3",
    "wet",
    "creases",
    "worn",
    "partial",
    "optical",
    "dry:2,creases:3",
];
/// Gap between tiles, pixels.
const GAP_PX: u32 = 6;
/// Grey level of the padding.
const PAD_LEVEL: u8 = 255;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next().ok_or("usage: stress_sheet OUT_DIR [options] [LABEL=IMAGE,...]")?,
    );
    let (mut seed, mut finger, mut impressions, mut dpi) = (1u64, 3u64, 3u32, 333u32);
    let mut real = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--seed" => seed = value("--seed")?.parse()?,
            "--finger" => finger = value("--finger")?.parse()?,
            "--impressions" => impressions = value("--impressions")?.parse()?,
            "--dpi" => dpi = value("--dpi")?.parse()?,
            _ => real.push(arg),
        }
    }
    std::fs::create_dir_all(&out)?;
    let (width, height) = (288, 384);
    let master =
        Master::generate(seed, finger, &MasterConfig { width, height, ..Default::default() })?;
    // Both sides of the tile: the synthetic size at the sheet's resolution.
    let tile = (width * dpi / 500, height * dpi / 500);
    for set in SETS {
        let conditions: Vec<Condition> =
            if set == "clean" { Vec::new() } else { condition::parse_list(set)? };
        let mut tiles = Vec::new();
        for k in 1..=impressions {
            let imp = impression::render_with(
                &master,
                seed,
                finger,
                k,
                width,
                height,
                &ImpressionConfig::default(),
                &conditions,
            )?;
            tiles.push(imp.image.resampled_to(dpi));
        }
        let name = set.replace(':', "").replace(',', "-");
        let path = out.join(format!("stress-{name}.png"));
        ridgeline_synth::dataset::write_png(&path, &strip(&tiles, tile, dpi)?)?;
        println!("{}", path.display());
    }
    for spec in real {
        let (label, rest) =
            spec.split_once('=').ok_or(format!("{spec}: expected LABEL=IMAGE,..."))?;
        let (list, file_dpi) = match rest.rsplit_once('@') {
            Some((l, d)) => (l, Some(d.parse::<u32>()?)),
            None => (rest, None),
        };
        let mut tiles = Vec::new();
        for image in list.split(',') {
            tiles.push(FingerImage::open(image, file_dpi)?.resampled_to(dpi));
        }
        let tall = tiles.iter().map(|t| t.height()).max().unwrap_or(tile.1).max(tile.1);
        let wide = tiles.iter().map(|t| t.width()).max().unwrap_or(tile.0).max(tile.0);
        let path = out.join(format!("real-{label}.png"));
        ridgeline_synth::dataset::write_png(&path, &strip(&tiles, (wide, tall), dpi)?)?;
        println!("{}", path.display());
    }
    Ok(())
}

/// Tiles side by side, each centred in a `size` cell, with white gaps.
fn strip(
    tiles: &[FingerImage],
    size: (u32, u32),
    dpi: u32,
) -> Result<FingerImage, ridgeline::Error> {
    let n = tiles.len() as u32;
    let width = n * size.0 + n.saturating_sub(1) * GAP_PX;
    let (w, h) = (width as usize, size.1 as usize);
    let mut pixels = vec![PAD_LEVEL; w * h];
    for (i, t) in tiles.iter().enumerate() {
        let left = i * (size.0 + GAP_PX) as usize;
        let (tw, th) = (t.width().min(size.0) as usize, t.height().min(size.1) as usize);
        let (ox, oy) = (left + (size.0 as usize - tw) / 2, (h - th) / 2);
        for y in 0..th {
            let row = &t.pixels()[y * t.width() as usize..y * t.width() as usize + tw];
            pixels[(oy + y) * w + ox..(oy + y) * w + ox + tw].copy_from_slice(row);
        }
    }
    FingerImage::from_raw(width, size.1, dpi, pixels)
}
