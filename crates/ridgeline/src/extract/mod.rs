//! Minutiae extraction: image in, template out.
//!
//! The pipeline reads top to bottom in [`Extractor::extract_traced`], one stage per line, each
//! stage in its own module named after what it produces:
//!
//! ```text
//! image ─> gradients ─> segmentation (mask) ─> orientation ─> frequency ─> enhancement
//!       ─> binarization ─> skeleton ─> minutiae (candidates + ridge graph) ─> filtering
//!       ─> bridging (sparse prints only: enhancement to filtering again, along-ridge σ longer)
//!       ─> quality, singular_points ─> Template
//! ```
//!
//! A key design decision: everything runs at 500 dpi ([`STANDARD_DPI`]), so that every length in
//! the tuning constants (`extract/parameters.rs`, units in their names) means the same thing on
//! every sensor; inputs at other resolutions are
//! resampled first and the minutiae mapped back to the original pixels at the end.
//!
//! Speed: the work is block-wise where it can be (gradients, mask, orientation, frequency), the
//! Gabor filter is separable, thinning is table-driven, and there are no per-pixel
//! allocations. Extraction is single-threaded; callers parallelise across images.
//!
//! Every intermediate product can be looked at: pass a [`Trace`] sink to
//! [`Extractor::extract_traced`] (`ridgeline extract --trace DIR` writes them as PNGs). The
//! stages themselves are private; [`trace`] is the one window onto them, with the stage names
//! ([`trace::STAGES`]) a profiler's sink sees go by.

mod binarization;
mod bridging;
mod enhancement;
mod filtering;
mod frequency;
mod gradients;
mod grid;
mod minutiae;
mod orientation;
mod parameters;
mod quality;
mod segmentation;
mod singular_points;
mod skeleton;
#[cfg(test)]
mod tests;
pub mod trace;

pub use quality::{needs_recapture, RECAPTURE_QUALITY};
pub use trace::{CollectTrace, NoTrace, Trace, TraceImage};

use crate::error::{Error, Result};
use crate::image::{FingerImage, STANDARD_DPI};
use crate::template::{Minutia, SingularPoint, SingularPointKind, Template, MAX_MINUTIAE};
use grid::{BlockGrid, PaddedImage, Plane};

/// Options of the extractor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractorConfig {
    /// Most minutiae kept (the best by quality); at most [`MAX_MINUTIAE`].
    pub max_minutiae: usize,
}

impl Default for ExtractorConfig {
    fn default() -> Self {
        ExtractorConfig { max_minutiae: MAX_MINUTIAE }
    }
}

/// The minutiae extractor. Cheap to create, immutable, shareable across threads.
#[derive(Debug, Clone)]
pub struct Extractor {
    config: ExtractorConfig,
}

impl Extractor {
    /// An extractor with the given options.
    pub fn new(config: ExtractorConfig) -> Self {
        Extractor { config }
    }

    /// Extracts the template of a fingerprint image.
    pub fn extract(&self, image: &FingerImage) -> Result<Template> {
        self.extract_traced(image, &mut NoTrace)
    }

    /// Extracts the template, handing every intermediate stage to `trace` under the keys of
    /// [`trace::keys`].
    pub fn extract_traced(&self, image: &FingerImage, trace: &mut dyn Trace) -> Result<Template> {
        crate::image::check_dpi(image.dpi())?;
        if self.config.max_minutiae > MAX_MINUTIAE {
            return Err(Error::InvalidArgument(format!(
                "max_minutiae {} exceeds {MAX_MINUTIAE}",
                self.config.max_minutiae
            )));
        }
        let working = image.resampled_to(STANDARD_DPI);
        let (w, h) = (working.width() as usize, working.height() as usize);
        let gray = Plane { width: w, height: h, data: working.into_pixels() };
        let tracing = trace.is_enabled();

        let grid = BlockGrid::new(w, h, parameters::BLOCK_SIZE_PX);
        let gradients = gradients::compute(&gray, grid);
        trace.stage_finished("gradients");
        let mask = segmentation::compute(&gradients);
        trace.stage_finished("segmentation");
        if tracing {
            trace.record(trace::keys::MASK, trace::mask(&gray, &mask));
        }
        let orientation = orientation::compute(&gradients, &mask);
        trace.stage_finished("orientation");
        if tracing {
            trace.record(trace::keys::ORIENTATION, trace::orientation(&gray, &orientation, &mask));
        }
        let padded = padded_input(&gray);
        let frequency = frequency::compute(&padded, &orientation, &mask);
        trace.stage_finished("frequency");
        if tracing {
            trace.record(trace::keys::FREQUENCY, trace::frequency(&frequency, &mask));
        }
        let enhanced = enhancement::compute(
            &padded,
            &orientation,
            &frequency,
            &mask,
            parameters::GABOR_ALONG_SIGMA_PX,
        );
        trace.stage_finished("enhancement");
        if tracing {
            trace.record(trace::keys::ENHANCED, trace::enhanced(&enhanced));
        }
        let binary = binarization::compute(&enhanced, &mask);
        trace.stage_finished("binarization");
        if tracing {
            trace.record(trace::keys::BINARY, trace::binary(&binary));
        }
        let skeleton = skeleton::compute(&binary);
        trace.stage_finished("skeleton");
        if tracing {
            trace.record(trace::keys::SKELETON, trace::skeleton(&gray, &skeleton));
        }
        let candidates = minutiae::detect(&skeleton, &orientation);
        trace.stage_finished("minutiae");
        let removals = filtering::apply(&candidates, &mask);
        trace.stage_finished("filtering");
        if tracing {
            trace.record(
                trace::keys::MINUTIAE_RAW,
                trace::minutiae(&gray, &candidates, Some(&removals)),
            );
        }
        let first_kept = removals.iter().filter(|r| r.is_none()).count();
        let bridged = if bridging::applies(first_kept) {
            bridging::minutiae(&bridging::FirstPass {
                image: &padded,
                gradients: &gradients,
                mask: &mask,
                orientation: &orientation,
                frequency: &frequency,
                candidates: &candidates,
                removals: &removals,
            })
        } else {
            Vec::new()
        };
        trace.stage_finished("bridging");
        let mut kept: Vec<(minutiae::Candidate, u8)> = candidates
            .into_iter()
            .zip(&removals)
            .filter(|(_, r)| r.is_none())
            .map(|(c, _)| {
                let q = quality::minutia(&orientation, &gradients, c.x, c.y);
                (c, q)
            })
            .chain(bridged)
            .collect();
        // Keep the best when there are too many; stable order otherwise (top to bottom).
        kept.sort_by_key(|k| std::cmp::Reverse(k.1));
        kept.truncate(self.config.max_minutiae);
        kept.sort_by(|a, b| a.0.y.total_cmp(&b.0.y).then(a.0.x.total_cmp(&b.0.x)));
        let image_quality = quality::image(&orientation, &gradients, &mask, kept.len());
        trace.stage_finished("quality");
        if tracing {
            let shown: Vec<minutiae::Candidate> = kept.iter().map(|(c, _)| c.clone()).collect();
            trace.record(trace::keys::MINUTIAE, trace::minutiae(&gray, &shown, None));
        }
        let coarse = orientation::compute_smoothed(
            &gradients,
            &mask,
            parameters::SINGULAR_SMOOTHING_SIGMA_BLOCKS,
        );
        let singular = singular_points::detect(grid, &coarse.angle, &mask.blocks);
        trace.stage_finished("singular_points");

        let to_original = Scale::new(image.dpi());
        let minutiae = kept
            .iter()
            .map(|(c, q)| Minutia {
                x: to_original.coordinate(c.x, image.width()),
                y: to_original.coordinate(c.y, image.height()),
                angle: grid::to_template_angle(c.direction),
                kind: c.kind,
                quality: *q,
            })
            .collect();
        let singular_points = singular
            .iter()
            .map(|s| SingularPoint {
                x: to_original.coordinate(s.x, image.width()),
                y: to_original.coordinate(s.y, image.height()),
                angle: None,
                kind: if s.core { SingularPointKind::Core } else { SingularPointKind::Delta },
            })
            .collect();
        Ok(Template {
            width: image.width(),
            height: image.height(),
            dpi: image.dpi(),
            quality: image_quality,
            minutiae,
            singular_points,
        })
    }
}

impl Default for Extractor {
    fn default() -> Self {
        Extractor::new(ExtractorConfig::default())
    }
}

/// The working image as floats with the border the oriented filters need.
fn padded_input(gray: &Plane<u8>) -> PaddedImage {
    let values = Plane {
        width: gray.width,
        height: gray.height,
        data: gray.data.iter().map(|&g| g as f32).collect(),
    };
    PaddedImage::new(&values, enhancement::padding_px().max(frequency::reach_px()))
}

/// Maps working-resolution coordinates back to the original image.
struct Scale {
    factor: f32,
}

impl Scale {
    fn new(original_dpi: u32) -> Self {
        Scale { factor: original_dpi as f32 / STANDARD_DPI as f32 }
    }

    /// Pixel centres map to pixel centres; the result is clamped into the original image.
    fn coordinate(&self, working: f32, original_side: u32) -> f32 {
        ((working + 0.5) * self.factor - 0.5).clamp(0.0, original_side as f32 - 1.0)
    }
}
