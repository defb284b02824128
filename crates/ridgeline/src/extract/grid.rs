//! Primitives shared by the stages: pixel planes, block grids, padded images, angle helpers and
//! Gaussian smoothing over block fields.
//!
//! Angles inside the extractor are in *image coordinates*: a unit step in direction `t` is
//! `(cos t, sin t)` with y pointing down. Ridge orientations are undirected, in `[0, π)`. Only
//! the final minutiae are converted to the template convention (see [`to_template_angle`]).

use std::f32::consts::{PI, TAU};

/// A row-major 2-D array of values, one per pixel or per block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plane<T> {
    /// Columns.
    pub(crate) width: usize,
    /// Rows.
    pub(crate) height: usize,
    /// `width * height` values, row by row.
    pub(crate) data: Vec<T>,
}

impl<T: Copy> Plane<T> {
    /// A plane filled with one value.
    pub(crate) fn filled(width: usize, height: usize, value: T) -> Self {
        Plane { width, height, data: vec![value; width * height] }
    }

    /// The value at column `x`, row `y`; callers keep coordinates in bounds.
    #[inline]
    pub(crate) fn at(&self, x: usize, y: usize) -> T {
        self.data[y * self.width + x]
    }

    /// Sets the value at column `x`, row `y`.
    #[inline]
    pub(crate) fn set(&mut self, x: usize, y: usize, value: T) {
        self.data[y * self.width + x] = value;
    }

    /// The value at signed coordinates, or `None` outside the plane.
    #[inline]
    pub(crate) fn get(&self, x: isize, y: isize) -> Option<T> {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            None
        } else {
            Some(self.data[y as usize * self.width + x as usize])
        }
    }
}

/// The division of an image into square blocks; the last row and column may be partial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockGrid {
    /// Block side in pixels.
    pub(crate) block_px: usize,
    /// Image width in pixels.
    pub(crate) width: usize,
    /// Image height in pixels.
    pub(crate) height: usize,
    /// Number of block columns.
    pub(crate) cols: usize,
    /// Number of block rows.
    pub(crate) rows: usize,
}

impl BlockGrid {
    /// The grid of `block_px` blocks covering a `width` × `height` image.
    pub(crate) fn new(width: usize, height: usize, block_px: usize) -> Self {
        let block_px = block_px.max(1);
        BlockGrid {
            block_px,
            width,
            height,
            cols: width.div_ceil(block_px),
            rows: height.div_ceil(block_px),
        }
    }

    /// Number of blocks.
    pub(crate) fn len(&self) -> usize {
        self.cols * self.rows
    }

    /// The block holding pixel (`x`, `y`).
    #[inline]
    pub(crate) fn block_of(&self, x: usize, y: usize) -> (usize, usize) {
        (
            (x / self.block_px).min(self.cols.saturating_sub(1)),
            (y / self.block_px).min(self.rows.saturating_sub(1)),
        )
    }

    /// Pixel ranges `(x0..x1, y0..y1)` of block (`bx`, `by`), clipped to the image.
    pub(crate) fn pixels_of(
        &self,
        bx: usize,
        by: usize,
    ) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let x0 = bx * self.block_px;
        let y0 = by * self.block_px;
        (x0..(x0 + self.block_px).min(self.width), y0..(y0 + self.block_px).min(self.height))
    }

    /// Centre of block (`bx`, `by`) in pixel coordinates.
    pub(crate) fn centre_of(&self, bx: usize, by: usize) -> (f32, f32) {
        let (xs, ys) = self.pixels_of(bx, by);
        ((xs.start + xs.end) as f32 * 0.5 - 0.5, (ys.start + ys.end) as f32 * 0.5 - 0.5)
    }

    /// Block coordinates (fractional) of a pixel position, for bilinear interpolation between
    /// block centres.
    pub(crate) fn fractional_block(&self, x: f32, y: f32) -> (f32, f32) {
        let b = self.block_px as f32;
        ((x + 0.5) / b - 0.5, (y + 0.5) / b - 0.5)
    }
}

/// An image copied into a larger buffer with a replicated border, so that oriented filters can
/// read `pad` pixels beyond every edge without bounds checks.
#[derive(Debug, Clone)]
pub(crate) struct PaddedImage {
    /// Width of the original image.
    pub(crate) width: usize,
    /// Height of the original image.
    pub(crate) height: usize,
    /// Border width on every side.
    pub(crate) pad: usize,
    /// Row length of the buffer (`width + 2 * pad`).
    pub(crate) stride: usize,
    /// The buffer, `(height + 2 * pad)` rows of `stride` values.
    pub(crate) data: Vec<f32>,
}

impl PaddedImage {
    /// Pads `values` (a `width` × `height` row-major plane) by `pad` replicated pixels.
    pub(crate) fn new(values: &Plane<f32>, pad: usize) -> Self {
        let (width, height) = (values.width, values.height);
        let stride = width + 2 * pad;
        let rows = height + 2 * pad;
        let mut data = vec![0.0f32; stride * rows];
        for py in 0..rows {
            let y = py.saturating_sub(pad).min(height.saturating_sub(1));
            let src = &values.data[y * width..(y + 1) * width];
            let dst = &mut data[py * stride..(py + 1) * stride];
            let first = src.first().copied().unwrap_or(0.0);
            let last = src.last().copied().unwrap_or(0.0);
            dst[..pad].fill(first);
            dst[pad..pad + width].copy_from_slice(src);
            dst[pad + width..].fill(last);
        }
        PaddedImage { width, height, pad, stride, data }
    }

    /// Buffer index of image pixel (`x`, `y`).
    #[inline]
    pub(crate) fn index(&self, x: usize, y: usize) -> usize {
        (y + self.pad) * self.stride + x + self.pad
    }

    /// Buffer index offset of a step of `dx`, `dy` pixels.
    #[inline]
    pub(crate) fn offset(&self, dx: i32, dy: i32) -> isize {
        dy as isize * self.stride as isize + dx as isize
    }
}

/// Wraps an angle to `(-π, π]`.
#[inline]
pub(crate) fn wrap_pi(angle: f32) -> f32 {
    let a = (angle + PI).rem_euclid(TAU) - PI;
    if a <= -PI {
        a + TAU
    } else {
        a
    }
}

/// Smallest absolute difference between two directed angles, in `[0, π]`.
#[inline]
pub(crate) fn angle_distance(a: f32, b: f32) -> f32 {
    wrap_pi(a - b).abs()
}

/// Smallest absolute difference between two undirected orientations (mod π), in `[0, π/2]`.
#[inline]
#[cfg(test)]
pub(crate) fn orientation_distance(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(PI);
    d.min(PI - d)
}

/// Converts a direction in image coordinates (y down, step `(cos t, sin t)`) to the template
/// convention (counter-clockwise as viewed, step `(cos a, -sin a)`), in `[0, 2π)`.
#[inline]
pub(crate) fn to_template_angle(image_angle: f32) -> f32 {
    crate::template::normalize_angle(-image_angle)
}

/// Index of the orientation bin (of [`crate::extract::parameters::ORIENTATION_BINS`] over π)
/// nearest to an undirected orientation.
#[inline]
pub(crate) fn orientation_bin(orientation: f32, bins: usize) -> usize {
    let t = orientation.rem_euclid(PI) / PI * bins as f32;
    (t.round() as usize) % bins
}

/// A normalised 1-D Gaussian kernel of standard deviation `sigma`, radius `ceil(3 sigma)`.
pub(crate) fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil().max(1.0) as i32;
    let mut kernel: Vec<f32> =
        (-radius..=radius).map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= sum);
    kernel
}

/// Separable Gaussian smoothing of several block fields at once, each weighted by `weight`
/// (normalised convolution: blocks of zero weight neither contribute nor distort the result).
/// Every field and the weight share one grid; results are written back in place.
pub(crate) fn smooth_weighted(
    fields: &mut [&mut Plane<f32>],
    weight: &Plane<f32>,
    sigma_blocks: f32,
) {
    let kernel = gaussian_kernel(sigma_blocks);
    let radius = (kernel.len() / 2) as isize;
    let (w, h) = (weight.width, weight.height);
    let mut weighted_norm = weight.clone();
    blur_separable(&mut weighted_norm, &kernel, radius);
    let mut scratch = vec![0.0f32; w * h];
    for field in fields.iter_mut() {
        for (v, wt) in field.data.iter_mut().zip(&weight.data) {
            *v *= wt;
        }
        blur_separable_with(field, &kernel, radius, &mut scratch);
        for (v, n) in field.data.iter_mut().zip(&weighted_norm.data) {
            *v = if *n > 1e-6 { *v / n } else { 0.0 };
        }
    }
}

fn blur_separable(plane: &mut Plane<f32>, kernel: &[f32], radius: isize) {
    let mut scratch = vec![0.0f32; plane.width * plane.height];
    blur_separable_with(plane, kernel, radius, &mut scratch);
}

/// Separable convolution with zero outside the plane.
fn blur_separable_with(plane: &mut Plane<f32>, kernel: &[f32], radius: isize, scratch: &mut [f32]) {
    let (w, h) = (plane.width as isize, plane.height as isize);
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (k, &kv) in kernel.iter().enumerate() {
                let sx = x + k as isize - radius;
                if sx >= 0 && sx < w {
                    acc += kv * plane.data[(y * w + sx) as usize];
                }
            }
            scratch[(y * w + x) as usize] = acc;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (k, &kv) in kernel.iter().enumerate() {
                let sy = y + k as isize - radius;
                if sy >= 0 && sy < h {
                    acc += kv * scratch[(sy * w + x) as usize];
                }
            }
            plane.data[(y * w + x) as usize] = acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_grid_covers_partial_blocks() {
        let g = BlockGrid::new(20, 17, 8);
        assert_eq!((g.cols, g.rows, g.len()), (3, 3, 9));
        assert_eq!(g.block_of(19, 16), (2, 2));
        assert_eq!(g.pixels_of(2, 2), (16..20, 16..17));
        assert_eq!(g.centre_of(0, 0), (3.5, 3.5));
        let (fx, fy) = g.fractional_block(3.5, 11.5);
        assert!((fx - 0.0).abs() < 1e-6 && (fy - 1.0).abs() < 1e-6);
    }

    #[test]
    fn angle_helpers() {
        assert!((wrap_pi(3.0 * PI) - PI).abs() < 1e-5);
        assert!((wrap_pi(-0.5) + 0.5).abs() < 1e-6);
        assert!((angle_distance(0.1, TAU - 0.1) - 0.2).abs() < 1e-5);
        assert!((orientation_distance(0.1, PI - 0.1) - 0.2).abs() < 1e-5);
        assert!(orientation_distance(0.3, 0.3 + PI).abs() < 1e-5);
        assert_eq!(orientation_bin(PI - 0.01, 32), 0);
        assert_eq!(orientation_bin(PI / 2.0, 32), 16);
        // A step to the right and down in image coordinates (y down) is 45° clockwise as
        // viewed, that is -45° = 315° in the template convention.
        let a = to_template_angle(PI / 4.0);
        assert!((a - 7.0 * PI / 4.0).abs() < 1e-5);
        assert!((a.cos() - (PI / 4.0).cos()).abs() < 1e-5);
        assert!((-a.sin() - (PI / 4.0).sin()).abs() < 1e-5);
    }

    #[test]
    fn gaussian_kernel_is_normalised_and_symmetric() {
        let k = gaussian_kernel(1.5);
        assert_eq!(k.len(), 11);
        assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!((k[0] - k[10]).abs() < 1e-7);
    }

    #[test]
    fn weighted_smoothing_ignores_zero_weight_blocks() {
        let mut field = Plane { width: 5, height: 1, data: vec![1.0, 1.0, 100.0, 1.0, 1.0] };
        let weight = Plane { width: 5, height: 1, data: vec![1.0, 1.0, 0.0, 1.0, 1.0] };
        smooth_weighted(&mut [&mut field], &weight, 1.0);
        assert!(field.data.iter().all(|v| (v - 1.0).abs() < 1e-4), "{:?}", field.data);
    }

    #[test]
    fn padding_replicates_edges() {
        let plane = Plane { width: 2, height: 2, data: vec![1.0, 2.0, 3.0, 4.0] };
        let p = PaddedImage::new(&plane, 2);
        assert_eq!(p.stride, 6);
        assert_eq!(p.data[0], 1.0);
        assert_eq!(p.data[p.data.len() - 1], 4.0);
        assert_eq!(p.data[p.index(1, 0)], 2.0);
        assert_eq!(p.data[(p.index(0, 0) as isize + p.offset(1, 1)) as usize], 4.0);
    }
}
