//! Transparency: every intermediate product of the extractor, drawn as an image and handed to
//! a [`Trace`] sink under a stable key.
//!
//! The sink is an explicit argument of [`super::Extractor::extract_traced`]; the untraced path
//! passes [`NoTrace`], whose `is_enabled` is false, so no image is ever drawn there. Images are
//! at the working resolution (500 dpi).

use super::filtering::Removal;
use super::frequency::FrequencyField;
use super::grid::Plane;
use super::minutiae::Candidate;
use super::orientation::OrientationField;
use super::parameters::*;
use super::segmentation::Mask;
use crate::error::{Error, Result};
use crate::template::MinutiaKind;

/// Stable keys of the traced stages, in pipeline order.
pub mod keys {
    /// The input at the working resolution with the background dimmed.
    pub const MASK: &str = "mask";
    /// Ridge orientation as short lines, brightness = coherence.
    pub const ORIENTATION: &str = "orientation";
    /// Ridge period as grey level (dark = short period).
    pub const FREQUENCY: &str = "frequency";
    /// Output of the Gabor filter (ridges dark).
    pub const ENHANCED: &str = "enhanced";
    /// Binary ridge map (ridges black).
    pub const BINARY: &str = "binary";
    /// Skeleton drawn over the input.
    pub const SKELETON: &str = "skeleton";
    /// Every minutia candidate, coloured by the reason it was removed (green = kept).
    pub const MINUTIAE_RAW: &str = "minutiae-raw";
    /// The minutiae kept: endings red, bifurcations blue, with their direction.
    pub const MINUTIAE: &str = "minutiae";
    /// All keys in pipeline order.
    pub const ALL: [&str; 8] =
        [MASK, ORIENTATION, FREQUENCY, ENHANCED, BINARY, SKELETON, MINUTIAE_RAW, MINUTIAE];
}

/// A sink for intermediate products.
pub trait Trace {
    /// Whether the sink wants images at all; when false the extractor draws none.
    fn is_enabled(&self) -> bool {
        true
    }
    /// Receives one stage's picture.
    fn record(&mut self, key: &'static str, image: TraceImage);
    /// Called as each stage of [`STAGES`] finishes, before its product is drawn, whether or not
    /// the sink is enabled: a profiler's clock (`cargo run --release -p ridgeline --example
    /// stage_times IMAGE`).
    fn stage_finished(&mut self, _stage: &'static str) {}
}

/// Names of the extraction stages as [`Trace::stage_finished`] reports them, in pipeline order.
pub const STAGES: [&str; 12] = [
    "gradients",
    "segmentation",
    "orientation",
    "frequency",
    "enhancement",
    "binarization",
    "skeleton",
    "minutiae",
    "filtering",
    "bridging",
    "quality",
    "singular_points",
];

/// A sink that wants nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTrace;

impl Trace for NoTrace {
    fn is_enabled(&self) -> bool {
        false
    }
    fn record(&mut self, _key: &'static str, _image: TraceImage) {}
}

/// A sink that keeps every stage in memory, in the order recorded.
#[derive(Debug, Default, Clone)]
pub struct CollectTrace {
    /// Key and picture of every recorded stage.
    pub stages: Vec<(&'static str, TraceImage)>,
}

impl CollectTrace {
    /// The picture recorded under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&TraceImage> {
        self.stages.iter().find(|(k, _)| *k == key).map(|(_, img)| img)
    }
}

impl Trace for CollectTrace {
    fn record(&mut self, key: &'static str, image: TraceImage) {
        self.stages.push((key, image));
    }
}

/// An RGB picture of a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major RGB triples.
    pub rgb: Vec<u8>,
}

type Rgb = [u8; 3];
const RED: Rgb = [230, 30, 30];
const BLUE: Rgb = [30, 90, 240];
const GREEN: Rgb = [20, 180, 40];

impl TraceImage {
    /// A picture of grey levels.
    pub(crate) fn from_gray(width: usize, height: usize, gray: impl Iterator<Item = u8>) -> Self {
        let rgb = gray.flat_map(|g| [g, g, g]).collect();
        TraceImage { width: width as u32, height: height as u32, rgb }
    }

    /// Encodes the picture as PNG.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        image::ImageEncoder::write_image(
            image::codecs::png::PngEncoder::new(&mut out),
            &self.rgb,
            self.width,
            self.height,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| Error::CorruptImage(e.to_string()))?;
        Ok(out)
    }

    fn put(&mut self, x: i32, y: i32, colour: Rgb) {
        if x >= 0 && y >= 0 && (x as u32) < self.width && (y as u32) < self.height {
            let i = (y as usize * self.width as usize + x as usize) * 3;
            self.rgb[i..i + 3].copy_from_slice(&colour);
        }
    }

    fn line(&mut self, (x0, y0): (f32, f32), (x1, y1): (f32, f32), colour: Rgb) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).ceil().max(1.0) as i32;
        for s in 0..=steps {
            let t = s as f32 / steps as f32;
            self.put(
                (x0 + t * (x1 - x0)).round() as i32,
                (y0 + t * (y1 - y0)).round() as i32,
                colour,
            );
        }
    }

    fn circle(&mut self, (cx, cy): (f32, f32), radius: f32, colour: Rgb) {
        let steps = (radius * 8.0).ceil() as i32;
        for s in 0..steps {
            let a = s as f32 * std::f32::consts::TAU / steps as f32;
            self.put(
                (cx + radius * a.cos()).round() as i32,
                (cy + radius * a.sin()).round() as i32,
                colour,
            );
        }
    }
}

/// The input with the background dimmed.
pub(crate) fn mask(gray: &Plane<u8>, mask: &Mask) -> TraceImage {
    let dim = |(&g, &m): (&u8, &bool)| if m { g } else { g / 3 };
    TraceImage::from_gray(gray.width, gray.height, gray.data.iter().zip(&mask.pixels.data).map(dim))
}

/// Orientation lines per block over the faded input.
pub(crate) fn orientation(gray: &Plane<u8>, field: &OrientationField, mask: &Mask) -> TraceImage {
    let mut img =
        TraceImage::from_gray(gray.width, gray.height, gray.data.iter().map(|&g| 160 + g / 3));
    let grid = field.grid;
    let half = grid.block_px as f32 * 0.45;
    for by in 0..grid.rows {
        for bx in 0..grid.cols {
            if !mask.blocks.at(bx, by) {
                continue;
            }
            let (cx, cy) = grid.centre_of(bx, by);
            let theta = field.angle.at(bx, by);
            let level = (field.coherence.at(bx, by) * 200.0) as u8;
            let colour = [200 - level, 40, level];
            let (dx, dy) = (half * theta.cos(), half * theta.sin());
            img.line((cx - dx, cy - dy), (cx + dx, cy + dy), colour);
        }
    }
    img
}

/// Ridge period per block as grey level, background black.
pub(crate) fn frequency(field: &FrequencyField, mask: &Mask) -> TraceImage {
    let (w, h) = (mask.pixels.width, mask.pixels.height);
    let grid = field.grid;
    let span = RIDGE_PERIOD_MAX_PX - RIDGE_PERIOD_MIN_PX;
    let pixels = (0..w * h).map(|i| {
        let (x, y) = (i % w, i / w);
        if !mask.pixels.data[i] {
            return 0;
        }
        let (bx, by) = grid.block_of(x, y);
        let p = field.period_px.at(bx, by);
        (40.0 + 215.0 * (p - RIDGE_PERIOD_MIN_PX) / span) as u8
    });
    TraceImage::from_gray(w, h, pixels)
}

/// The enhanced image, ridges dark, scaled to its own range.
pub(crate) fn enhanced(values: &Plane<f32>) -> TraceImage {
    let peak = values.data.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    let pixels = values.data.iter().map(|v| (127.5 - 127.5 * v / peak).clamp(0.0, 255.0) as u8);
    TraceImage::from_gray(values.width, values.height, pixels)
}

/// A binary map, set pixels black.
pub(crate) fn binary(values: &Plane<bool>) -> TraceImage {
    TraceImage::from_gray(
        values.width,
        values.height,
        values.data.iter().map(|&b| if b { 0 } else { 255 }),
    )
}

/// The skeleton in black over the faded input.
pub(crate) fn skeleton(gray: &Plane<u8>, skel: &Plane<bool>) -> TraceImage {
    let pixels = gray.data.iter().zip(&skel.data).map(|(&g, &s)| if s { 0 } else { 170 + g / 3 });
    TraceImage::from_gray(gray.width, gray.height, pixels)
}

/// Minutiae over the input: with `removals`, every candidate coloured by its fate; without,
/// the kept ones by kind.
pub(crate) fn minutiae(
    gray: &Plane<u8>,
    candidates: &[Candidate],
    removals: Option<&[Option<Removal>]>,
) -> TraceImage {
    let mut img = TraceImage::from_gray(
        gray.width,
        gray.height,
        gray.data.iter().map(|&g| (90 + g as u16 * 2 / 3) as u8),
    );
    for (i, c) in candidates.iter().enumerate() {
        let colour = match removals {
            Some(r) => match r.get(i).copied().flatten() {
                None => GREEN,
                Some(Removal::Border) => [255, 255, 255],
                Some(Removal::Spur) => [240, 140, 0],
                Some(Removal::Bridge) => [200, 0, 200],
                Some(Removal::Hole) => [0, 200, 200],
                Some(Removal::Fragment) => [140, 70, 0],
                Some(Removal::BrokenRidge) => [230, 230, 0],
                Some(Removal::ClosePair) => [0, 0, 0],
            },
            None => match c.kind {
                MinutiaKind::Ending => RED,
                MinutiaKind::Bifurcation => BLUE,
            },
        };
        img.circle((c.x, c.y), 4.0, colour);
        let tip = (c.x + 10.0 * c.direction.cos(), c.y + 10.0 * c.direction.sin());
        img.line((c.x, c.y), tip, colour);
    }
    img
}
