//! The orientation field: the local ridge direction (undirected, in `[0, π)`) of every block,
//! with its coherence.
//!
//! The gradient structure tensor of each block is turned into a doubled-angle vector
//! `(gxx − gyy, 2 gxy)`, in which opposite gradients (the two flanks of a ridge) add up instead
//! of cancelling, and these vectors are smoothed with a Gaussian across foreground blocks. The
//! ridge runs perpendicular to the dominant gradient; coherence is the length of the smoothed
//! vector over the gradient energy (1 = parallel ridges, 0 = no dominant direction).

use std::f32::consts::{FRAC_PI_2, PI};

use super::gradients::BlockGradients;
use super::grid::{smooth_weighted, BlockGrid, Plane};
use super::parameters::*;
use super::segmentation::Mask;

/// Ridge orientation and coherence per block.
#[derive(Debug, Clone)]
pub(crate) struct OrientationField {
    /// The block grid.
    pub(crate) grid: BlockGrid,
    /// Ridge orientation per block, radians in `[0, π)`, image coordinates (y down).
    pub(crate) angle: Plane<f32>,
    /// Coherence per block, `[0, 1]`.
    pub(crate) coherence: Plane<f32>,
    /// Unit doubled-angle vector of the ridge orientation per block: `(cos 2θ, sin 2θ)`.
    pub(crate) doubled: Plane<(f32, f32)>,
}

impl OrientationField {
    /// Ridge orientation at a pixel position, interpolated bilinearly between block centres in
    /// the doubled-angle domain.
    pub(crate) fn orientation_at(&self, x: f32, y: f32) -> f32 {
        let (fx, fy) = self.grid.fractional_block(x, y);
        let max_x = (self.grid.cols - 1) as f32;
        let max_y = (self.grid.rows - 1) as f32;
        let (fx, fy) = (fx.clamp(0.0, max_x), fy.clamp(0.0, max_y));
        let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.grid.cols - 1), (y0 + 1).min(self.grid.rows - 1));
        let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
        let mut c = 0.0;
        let mut s = 0.0;
        for (bx, by, w) in [
            (x0, y0, (1.0 - tx) * (1.0 - ty)),
            (x1, y0, tx * (1.0 - ty)),
            (x0, y1, (1.0 - tx) * ty),
            (x1, y1, tx * ty),
        ] {
            let (dc, ds) = self.doubled.at(bx, by);
            c += w * dc;
            s += w * ds;
        }
        (0.5 * s.atan2(c)).rem_euclid(PI)
    }
}

/// Computes the orientation field from block gradients, smoothing over the foreground.
pub(crate) fn compute(gradients: &BlockGradients, mask: &Mask) -> OrientationField {
    compute_smoothed(gradients, mask, ORIENTATION_SMOOTHING_SIGMA_BLOCKS)
}

/// [`compute`] with an explicit smoothing scale (singular points use a coarser one).
pub(crate) fn compute_smoothed(
    gradients: &BlockGradients,
    mask: &Mask,
    sigma_blocks: f32,
) -> OrientationField {
    let grid = gradients.grid;
    let n = grid.len();
    let mut a = Plane { width: grid.cols, height: grid.rows, data: Vec::with_capacity(n) };
    let mut b = a.clone();
    let mut e = a.clone();
    for i in 0..n {
        a.data.push(gradients.gxx.data[i] - gradients.gyy.data[i]);
        b.data.push(2.0 * gradients.gxy.data[i]);
        e.data.push(gradients.gxx.data[i] + gradients.gyy.data[i]);
    }
    // Background blocks weigh a little, so that the field is defined (from the nearest
    // foreground) everywhere without letting background noise bend foreground ridges.
    let weight = Plane {
        width: grid.cols,
        height: grid.rows,
        data: mask.blocks.data.iter().map(|&m| if m { 1.0 } else { 0.01 }).collect(),
    };
    smooth_weighted(&mut [&mut a, &mut b, &mut e], &weight, sigma_blocks);
    let mut angle = Plane::filled(grid.cols, grid.rows, 0.0f32);
    let mut coherence = Plane::filled(grid.cols, grid.rows, 0.0f32);
    let mut doubled = Plane::filled(grid.cols, grid.rows, (1.0f32, 0.0f32));
    for i in 0..n {
        let (va, vb) = (a.data[i], b.data[i]);
        let len = (va * va + vb * vb).sqrt();
        coherence.data[i] = if e.data[i] > f32::EPSILON { (len / e.data[i]).min(1.0) } else { 0.0 };
        // The ridge is perpendicular to the gradient: add π/2, i.e. negate the doubled vector.
        let theta = (0.5 * vb.atan2(va) + FRAC_PI_2).rem_euclid(PI);
        angle.data[i] = theta;
        doubled.data[i] = if len > 0.0 { (-va / len, -vb / len) } else { (1.0, 0.0) };
    }
    OrientationField { grid, angle, coherence, doubled }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{gradients, segmentation};

    fn stripes(theta: f32, size: usize) -> Plane<u8> {
        // Ridges running along direction theta, period 9 px.
        let (nx, ny) = (-theta.sin(), theta.cos());
        let data = (0..size * size)
            .map(|i| {
                let (x, y) = ((i % size) as f32, (i / size) as f32);
                let u = x * nx + y * ny;
                (128.0 + 100.0 * (u * std::f32::consts::TAU / 9.0).cos()) as u8
            })
            .collect();
        Plane { width: size, height: size, data }
    }

    #[test]
    fn recovers_the_orientation_of_stripes() {
        for deg in [0.0f32, 30.0, 60.0, 90.0, 135.0, 170.0] {
            let theta = deg.to_radians();
            let img = stripes(theta, 96);
            let g = gradients::compute(&img, BlockGrid::new(96, 96, 8));
            let mask = segmentation::compute(&g);
            let field = compute(&g, &mask);
            let got = field.angle.at(6, 6);
            assert!(
                crate::extract::grid::orientation_distance(got, theta) < 0.05,
                "{deg}°: got {}°",
                got.to_degrees()
            );
            assert!(field.coherence.at(6, 6) > 0.8);
            let interpolated = field.orientation_at(50.0, 47.0);
            assert!(crate::extract::grid::orientation_distance(interpolated, theta) < 0.05);
        }
    }
}
