//! Quality: of each minutia, from the coherence and contrast of the ridges around it, and of the
//! whole image, from the same terms over the foreground, the size of the foreground and the
//! number of minutiae found.
//!
//! Both are on a 0–100 scale. Coherence says whether the ridge flow is clean (1) or confused
//! (0); contrast whether ridges stand out from valleys. A minutia where both are high sits in
//! clear ridges; the image quality adds that a small print, or one on which few minutiae were
//! found, carries less to match on: below 20 minutiae a comparison's score is put on the
//! whole-print scale, which costs genuine comparisons of such prints their margin.

use super::gradients::BlockGradients;

/// Image quality below which a print should be captured again: an enrolment refuses it unless
/// told to accept it, and `extract --json` reports `recapture`. Chosen on the error-versus-reject
/// curves of the four FVC2002 development sets by a fixed rule, the threshold with the lowest
/// pooled FNMR at FMR 0.1 % among those that send back at most 5 % of the prints
/// (`ridgeline eval-stress` applies the rule and checks it leave-one-set-out; docs/ACCURACY.md,
/// "Stress suite and recapture").
pub const RECAPTURE_QUALITY: u8 = 38;

/// Whether a print of this image quality should be captured again.
pub fn needs_recapture(quality: u8) -> bool {
    quality < RECAPTURE_QUALITY
}
use super::orientation::OrientationField;
use super::parameters::*;
use super::segmentation::Mask;
use crate::template::WHOLE_PRINT_MINUTIAE;

/// Local reliability 0–1 of a block: coherence times saturated contrast.
fn block_reliability(orientation: &OrientationField, gradients: &BlockGradients, b: usize) -> f32 {
    let contrast = (gradients.std_dev.data[b] / QUALITY_CONTRAST_REFERENCE_GRAY).min(1.0);
    orientation.coherence.data[b].clamp(0.0, 1.0) * contrast
}

/// Quality 0–100 of a minutia at working-resolution pixel (`x`, `y`).
pub(crate) fn minutia(
    orientation: &OrientationField,
    gradients: &BlockGradients,
    x: f32,
    y: f32,
) -> u8 {
    let grid = orientation.grid;
    let (bx, by) = grid.block_of(x.max(0.0) as usize, y.max(0.0) as usize);
    let r = block_reliability(orientation, gradients, by * grid.cols + bx);
    (100.0 * r.sqrt()).round().clamp(0.0, 100.0) as u8
}

/// Quality 0–100 of the whole image with `minutiae` minutiae found in it.
pub(crate) fn image(
    orientation: &OrientationField,
    gradients: &BlockGradients,
    mask: &Mask,
    minutiae: usize,
) -> u8 {
    let mut sum = 0.0;
    let mut count = 0usize;
    for (b, &fg) in mask.blocks.data.iter().enumerate() {
        if fg {
            sum += block_reliability(orientation, gradients, b);
            count += 1;
        }
    }
    if count == 0 {
        return 0;
    }
    let mean = sum / count as f32;
    let area = (mask.area_px() as f32 / QUALITY_REFERENCE_AREA_PX).min(1.0);
    // Saturates where a print counts as whole: below it, its genuine comparisons fail more often
    // at the same false match rate.
    let found = (minutiae as f32 / WHOLE_PRINT_MINUTIAE as f32).min(1.0);
    (100.0 * (mean * area * found).sqrt()).round().clamp(0.0, 100.0) as u8
}
