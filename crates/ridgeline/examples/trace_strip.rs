//! One strip per image of the extraction stages a reader checks first: the mask, the enhanced
//! image, the skeleton, every candidate coloured by its fate and the minutiae kept (the pictures
//! of `docs/EXTRACTION.md`, "Hard cases"), with each print's counts on standard output:
//! `cargo run --release -p ridgeline --example trace_strip -- OUT_DIR IMAGE[@DPI]...`
//!
//! Writes `OUT_DIR/<stem>.png` for each image; `@DPI` gives the resolution of files that state
//! none or a wrong one.

use std::path::{Path, PathBuf};

use ridgeline::extract::trace::keys;
use ridgeline::extract::{CollectTrace, Extractor, TraceImage};
use ridgeline::FingerImage;

/// The stages drawn, left to right.
const STRIP: [&str; 5] =
    [keys::MASK, keys::ENHANCED, keys::SKELETON, keys::MINUTIAE_RAW, keys::MINUTIAE];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().ok_or("usage: trace_strip OUT_DIR IMAGE[@DPI]...")?);
    std::fs::create_dir_all(&out)?;
    let extractor = Extractor::default();
    for arg in args {
        let (path, dpi) = match arg.rsplit_once('@') {
            Some((path, dpi)) => (path.to_string(), Some(dpi.parse()?)),
            None => (arg.clone(), None),
        };
        let image = FingerImage::open(&path, dpi)?;
        let mut trace = CollectTrace::default();
        let template = extractor.extract_traced(&image, &mut trace)?;
        let tiles = STRIP
            .iter()
            .map(|key| trace.get(key).ok_or(format!("{path}: no {key} stage in the trace")))
            .collect::<Result<Vec<_>, _>>()?;
        let stem = Path::new(&path).file_stem().ok_or("image path without a name")?;
        let file = out.join(stem).with_extension("png");
        std::fs::write(&file, side_by_side(&tiles).to_png()?)?;
        println!(
            "{}: {} minutiae, image quality {}",
            file.display(),
            template.minutiae.len(),
            template.quality
        );
    }
    Ok(())
}

/// The tiles left to right, top-aligned, on black where a tile is shorter than the tallest.
fn side_by_side(tiles: &[&TraceImage]) -> TraceImage {
    let width: u32 = tiles.iter().map(|t| t.width).sum();
    let height = tiles.iter().map(|t| t.height).max().unwrap_or(0);
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    let mut left = 0usize;
    for tile in tiles {
        let row_len = tile.width as usize * 3;
        for (y, row) in tile.rgb.chunks_exact(row_len).enumerate() {
            let start = (y * width as usize + left) * 3;
            rgb[start..start + row_len].copy_from_slice(row);
        }
        left += tile.width as usize;
    }
    TraceImage { width, height, rgb }
}
