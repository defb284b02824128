//! The enhanced image: ridges sharpened by a contextual Gabor filter tuned to the local ridge
//! orientation and period.
//!
//! A key design decision: the 2-D Gabor filter is applied as two 1-D passes (Areekul et al.,
//! "Separable Gabor filter realization for fast fingerprint enhancement", ICIP 2005). With an
//! isotropic envelope the Gabor kernel factors, in the ridge's own frame, into a Gaussian along
//! the ridge times a Gaussian-windowed cosine across it. So the image is first smoothed along
//! the local ridge direction (bridging pores and small gaps), then filtered across it with the
//! zero-mean cosine kernel of the local period (separating ridges from valleys). Two passes of
//! about 20 taps replace one of about 600, which is what makes a 10 ms extraction possible.
//!
//! Sign convention of the result: positive on ridges (dark in the input), negative in valleys,
//! zero outside the foreground.

use std::f32::consts::{PI, TAU};

use super::frequency::FrequencyField;
use super::grid::{orientation_bin, BlockGrid, PaddedImage, Plane};
use super::orientation::OrientationField;
use super::parameters::*;
use super::segmentation::Mask;

/// Largest radius of the across-ridge kernel, in pixels (a multiple of [`LANES`]).
const ACROSS_RADIUS_MAX_PX: usize = 16;
/// Pixels filtered together; blocks are made of whole runs of them.
const LANES: usize = 8;
const _: () = assert!(BLOCK_SIZE_PX % LANES == 0 && ACROSS_RADIUS_MAX_PX % LANES == 0);

/// Radius (pixels) of a kernel of standard deviation `sigma`: the envelope is cut at 2.5 σ.
fn radius_for(sigma: f32) -> usize {
    (2.5 * sigma).ceil() as usize
}

/// Padding the input image needs for [`compute`].
pub(crate) fn padding_px() -> usize {
    // The first pass covers the margin the second reads, in whole runs, and reads along-ridge
    // samples around that.
    let along_sigma = GABOR_ALONG_SIGMA_PX.max(BRIDGING_ALONG_SIGMA_PX);
    ACROSS_RADIUS_MAX_PX + LANES + radius_for(along_sigma) + GABOR_ALONG_STEP_PX + 1
}

/// Precomputed sample offsets and weights of the two 1-D passes.
struct Kernels {
    along_weights: Vec<f32>,
    /// Per orientation bin: buffer offsets of the along-ridge samples.
    along_offsets: Vec<Vec<isize>>,
    /// Per orientation bin: buffer offsets of the across-ridge samples, radius
    /// `ACROSS_RADIUS_MAX_PX`.
    across_offsets: Vec<Vec<isize>>,
    /// Per quantised period: the across-ridge weights, centred, of their own radius.
    across_weights: Vec<Vec<f32>>,
}

impl Kernels {
    fn new(image: &PaddedImage, along_sigma_px: f32) -> Self {
        // Along the ridge the signal varies slowly, so every other pixel is enough.
        let step = GABOR_ALONG_STEP_PX as i32;
        let along_taps = radius_for(along_sigma_px) as i32 / step;
        let s2 = 2.0 * along_sigma_px * along_sigma_px;
        let mut along_weights: Vec<f32> = (-along_taps..=along_taps)
            .map(|k| (-((k * step) * (k * step)) as f32 / s2).exp())
            .collect();
        let sum: f32 = along_weights.iter().sum();
        along_weights.iter_mut().for_each(|w| *w /= sum);
        let line = |theta: f32, taps: i32, step: i32| -> Vec<isize> {
            let (c, s) = (theta.cos(), theta.sin());
            (-taps..=taps)
                .map(|k| {
                    let d = (k * step) as f32;
                    image.offset((d * c).round() as i32, (d * s).round() as i32)
                })
                .collect()
        };
        let mut along_offsets = Vec::with_capacity(ORIENTATION_BINS);
        let mut across_offsets = Vec::with_capacity(ORIENTATION_BINS);
        for bin in 0..ORIENTATION_BINS {
            let theta = bin as f32 * PI / ORIENTATION_BINS as f32;
            along_offsets.push(line(theta, along_taps, step));
            across_offsets.push(line(theta + PI / 2.0, ACROSS_RADIUS_MAX_PX as i32, 1));
        }
        let across_weights = (0..period_bins()).map(|i| across_kernel(period_of_bin(i))).collect();
        Kernels { along_weights, along_offsets, across_offsets, across_weights }
    }
}

fn period_bins() -> usize {
    ((RIDGE_PERIOD_MAX_PX - RIDGE_PERIOD_MIN_PX) / GABOR_PERIOD_STEP_PX).round() as usize + 1
}

fn period_of_bin(bin: usize) -> f32 {
    RIDGE_PERIOD_MIN_PX + bin as f32 * GABOR_PERIOD_STEP_PX
}

fn period_bin(period: f32) -> usize {
    let b = ((period - RIDGE_PERIOD_MIN_PX) / GABOR_PERIOD_STEP_PX).round().max(0.0) as usize;
    b.min(period_bins() - 1)
}

/// The across-ridge kernel for one period: a Gaussian-windowed cosine with zero mean (flat
/// regions give zero), negated so that dark ridge centres respond positively, scaled so that a
/// cosine of that period and unit amplitude gives a unit response.
fn across_kernel(period: f32) -> Vec<f32> {
    let sigma = GABOR_ACROSS_SIGMA_PERIODS * period;
    let radius = radius_for(sigma).min(ACROSS_RADIUS_MAX_PX) as i32;
    let envelope: Vec<f32> =
        (-radius..=radius).map(|k| (-(k * k) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    let mut weights: Vec<f32> = (-radius..=radius)
        .zip(&envelope)
        .map(|(k, g)| g * (TAU * k as f32 / period).cos())
        .collect();
    let dc = weights.iter().sum::<f32>() / envelope.iter().sum::<f32>();
    weights.iter_mut().zip(&envelope).for_each(|(w, g)| *w -= dc * g);
    let gain: f32 =
        (-radius..=radius).zip(&weights).map(|(k, w)| w * (TAU * k as f32 / period).cos()).sum();
    weights.iter_mut().for_each(|w| *w /= -gain);
    weights
}

/// Filters `image` (grey levels, dark ridges, padded by at least [`padding_px`]), smoothing along
/// the ridges with a Gaussian of standard deviation `along_sigma_px` (at most the largest of the
/// constants [`padding_px`] covers).
pub(crate) fn compute(
    image: &PaddedImage,
    orientation: &OrientationField,
    frequency: &FrequencyField,
    mask: &Mask,
    along_sigma_px: f32,
) -> Plane<f32> {
    debug_assert!(
        along_sigma_px <= GABOR_ALONG_SIGMA_PX.max(BRIDGING_ALONG_SIGMA_PX),
        "the padding covers the along-ridge Gaussians of the two passes, not σ {along_sigma_px}"
    );
    let grid: BlockGrid = orientation.grid;
    let kernels = Kernels::new(image, along_sigma_px);
    let (w, h) = (image.width, image.height);
    let block_bin: Vec<usize> =
        orientation.angle.data.iter().map(|&a| orientation_bin(a, ORIENTATION_BINS)).collect();
    let block_of = |x: isize, y: isize| -> usize {
        let bx = (x.max(0) as usize / grid.block_px).min(grid.cols - 1);
        let by = (y.max(0) as usize / grid.block_px).min(grid.rows - 1);
        by * grid.cols + bx
    };

    // Pass 1: along the ridges, over the foreground plus the margin the second pass reads.
    let margin = ACROSS_RADIUS_MAX_PX as isize;
    let reach_blocks = ACROSS_RADIUS_MAX_PX.div_ceil(grid.block_px) as isize;
    let mut needed = vec![false; grid.len()];
    for by in 0..grid.rows as isize {
        for bx in 0..grid.cols as isize {
            let near = (-reach_blocks..=reach_blocks).any(|dy| {
                (-reach_blocks..=reach_blocks)
                    .any(|dx| mask.blocks.get(bx + dx, by + dy).unwrap_or(false))
            });
            needed[by as usize * grid.cols + bx as usize] = near;
        }
    }
    // Both passes work on runs of LANES pixels of one block row, which share their offsets and
    // weights: the inner loop is then a fixed-width multiply-add the compiler vectorises.
    // The along-ridge pass takes each run's own orientation, interpolated between block
    // centres: its taps reach 11 px from the run, and where the flow curves (round the core,
    // beside creases) a block's one orientation is off by up to half the turn between
    // neighbouring blocks, tens of degrees, so the far taps would average neighbouring ridges
    // together. The across-ridge pass keeps the block's orientation, along which the block's
    // period was measured: an orientation error there only stretches the cosine's period by
    // 1 / cos(error), and taking the run's orientation there too scored worse
    // (`docs/ACCURACY.md`, "The along-ridge pass in each run's own orientation").
    let pad = image.pad as isize;
    let stride = image.stride as isize;
    let mut along = vec![0.0f32; image.data.len()];
    for y in -margin..h as isize + margin {
        let mut x = -margin;
        while x < w as isize + margin {
            let b = block_of(x, y);
            if needed[b] {
                let centre = ((y + pad) * stride + x + pad) as usize;
                let run_middle = x as f32 + (LANES as f32 - 1.0) / 2.0;
                let bin = orientation_bin(
                    orientation.orientation_at(run_middle, y as f32),
                    ORIENTATION_BINS,
                );
                let mut acc = [0.0f32; LANES];
                for (&o, &k) in kernels.along_offsets[bin].iter().zip(&kernels.along_weights) {
                    let start = (centre as isize + o) as usize;
                    let src = &image.data[start..start + LANES];
                    for i in 0..LANES {
                        acc[i] += k * src[i];
                    }
                }
                along[centre..centre + LANES].copy_from_slice(&acc);
            }
            x += LANES as isize;
        }
    }

    // Pass 2: across the ridges, on foreground pixels (the pixel mask is constant per block).
    let mut out = Plane::filled(w, h, 0.0f32);
    for y in 0..h {
        let mut x0 = 0;
        while x0 < w {
            let b = block_of(x0 as isize, y as isize);
            if mask.blocks.data[b] {
                let weights = &kernels.across_weights[period_bin(frequency.period_px.data[b])];
                let r = weights.len() / 2;
                let offsets = &kernels.across_offsets[block_bin[b]]
                    [ACROSS_RADIUS_MAX_PX - r..=ACROSS_RADIUS_MAX_PX + r];
                let centre = image.index(x0, y) as isize;
                let mut acc = [0.0f32; LANES];
                for (&o, &k) in offsets.iter().zip(weights) {
                    let start = (centre + o) as usize;
                    let src = &along[start..start + LANES];
                    for i in 0..LANES {
                        acc[i] += k * src[i];
                    }
                }
                let n = (w - x0).min(LANES);
                out.data[y * w + x0..y * w + x0 + n].copy_from_slice(&acc[..n]);
            }
            x0 += LANES;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn across_kernel_is_zero_mean_and_unit_gain() {
        for p in [5.0f32, 9.0, 15.0] {
            let k = across_kernel(p);
            assert!(k.iter().sum::<f32>().abs() < 1e-4, "period {p}");
            let r = (k.len() / 2) as i32;
            // A dark ridge at the centre (cosine trough) responds with +1.
            let resp: f32 = (-r..=r).zip(&k).map(|(i, w)| w * -(TAU * i as f32 / p).cos()).sum();
            assert!((resp - 1.0).abs() < 1e-4, "period {p}: {resp}");
        }
    }

    #[test]
    fn period_bins_cover_the_plausible_range() {
        assert_eq!(period_bin(RIDGE_PERIOD_MIN_PX), 0);
        assert_eq!(period_bin(RIDGE_PERIOD_MAX_PX), period_bins() - 1);
        assert_eq!(period_bin(100.0), period_bins() - 1);
        assert_eq!(period_bin(0.0), 0);
    }
}
