//! Tiles fingerprint images side by side, at half size, into one PNG (for the class figures of
//! `docs/SYNTH.md`): `cargo run --release -p ridgeline-synth --example sheet OUT.png IMAGE...`.
//!
//! Every image is resampled to [`SHEET_DPI`] (half of 500 dpi), tiles are top-aligned with a
//! white gap of [`GAP_PX`] between them.

/// Resolution of the tiles, dots per inch.
const SHEET_DPI: u32 = 250;
/// White space between tiles, pixels.
const GAP_PX: u32 = 6;
/// Background grey level of the sheet.
const WHITE: u8 = 255;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, inputs) = args.split_first().ok_or("usage: sheet OUT.png IMAGE...")?;
    let tiles: Vec<ridgeline::FingerImage> = inputs
        .iter()
        .map(|p| ridgeline::FingerImage::open(p, None).map(|img| img.resampled_to(SHEET_DPI)))
        .collect::<Result<_, _>>()?;
    let width: u32 = tiles.iter().map(|t| t.width()).sum::<u32>()
        + GAP_PX * (tiles.len() as u32).saturating_sub(1);
    let height = tiles.iter().map(|t| t.height()).max().unwrap_or(0);
    let mut pixels = vec![WHITE; width as usize * height as usize];
    let mut left = 0u32;
    for tile in &tiles {
        for y in 0..tile.height() {
            let row = (y * width + left) as usize;
            let src = (y * tile.width()) as usize;
            pixels[row..row + tile.width() as usize]
                .copy_from_slice(&tile.pixels()[src..src + tile.width() as usize]);
        }
        left += tile.width() + GAP_PX;
    }
    ridgeline::FingerImage::from_raw(width, height, SHEET_DPI, pixels)?.save_png(out)?;
    Ok(())
}
