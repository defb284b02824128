//! The bridging pass: more minutiae for prints on which the first pass found few.
//!
//! On a dry, light print the ridges break into dashes, and the first pass's skeleton turns them
//! into a maze of short pieces whose endings the filters rightly remove: what is left is a
//! sparse print, and a sparse print loses its genuine comparisons (the matcher puts its scores
//! on the whole-print scale). Missed minutiae cost the matcher far more than false ones
//! (docs/ACCURACY.md, "Where the loss is"), so on such a print the enhancement runs again with a
//! longer along-ridge Gaussian, which joins the dashes into ridges, and the minutiae it finds
//! are added where the first pass removed candidates and kept nothing nearby. Prints with
//! enough minutiae are left as they are: the second enhancement also joins ridges that are
//! really apart, and on a whole print that costs more than it finds.

use super::binarization;
use super::enhancement;
use super::filtering::{self, Removal};
use super::frequency::FrequencyField;
use super::gradients::BlockGradients;
use super::grid::PaddedImage;
use super::minutiae::{self, Candidate};
use super::orientation::OrientationField;
use super::parameters::*;
use super::quality;
use super::segmentation::Mask;
use super::skeleton;
use crate::template::WHOLE_PRINT_MINUTIAE;

/// Whether a print whose first pass kept `kept` minutiae gets the bridging pass: below the
/// count at which the matcher treats a print as whole.
pub(crate) fn applies(kept: usize) -> bool {
    kept < WHOLE_PRINT_MINUTIAE
}

/// The first pass's results the bridging pass builds on.
pub(crate) struct FirstPass<'a> {
    pub(crate) image: &'a PaddedImage,
    pub(crate) gradients: &'a BlockGradients,
    pub(crate) mask: &'a Mask,
    pub(crate) orientation: &'a OrientationField,
    pub(crate) frequency: &'a FrequencyField,
    /// Every candidate and why it was removed (`None`: kept).
    pub(crate) candidates: &'a [Candidate],
    pub(crate) removals: &'a [Option<Removal>],
}

/// The bridging pass's minutiae to add to the first pass's, each with its quality.
pub(crate) fn minutiae(first: &FirstPass<'_>) -> Vec<(Candidate, u8)> {
    let kept: Vec<(f32, f32)> = first
        .candidates
        .iter()
        .zip(first.removals)
        .filter(|(_, r)| r.is_none())
        .map(|(c, _)| (c.x, c.y))
        .collect();
    // Candidates at the border are removed for where they are, not for a maze around them.
    let maze: Vec<(f32, f32)> = first
        .candidates
        .iter()
        .zip(first.removals)
        .filter(|(_, r)| r.is_some_and(|r| r != Removal::Border))
        .map(|(c, _)| (c.x, c.y))
        .collect();
    let within = |points: &[(f32, f32)], c: &Candidate, px: f32| {
        points.iter().any(|&(x, y)| (x - c.x).hypot(y - c.y) <= px)
    };

    let enhanced = enhancement::compute(
        first.image,
        first.orientation,
        first.frequency,
        first.mask,
        BRIDGING_ALONG_SIGMA_PX,
    );
    let binary = binarization::compute(&enhanced, first.mask);
    let skeleton = skeleton::compute(&binary);
    let candidates = minutiae::detect(&skeleton, first.orientation);
    let removals = filtering::apply(&candidates, first.mask);
    candidates
        .into_iter()
        .zip(removals)
        .filter(|(c, r)| {
            r.is_none()
                && !within(&kept, c, BRIDGING_APART_PX)
                && within(&maze, c, BRIDGING_MAZE_PX)
        })
        .map(|(c, _)| {
            let q = quality::minutia(first.orientation, first.gradients, c.x, c.y);
            (c, q)
        })
        .collect()
}
