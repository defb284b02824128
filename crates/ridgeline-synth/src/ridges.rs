//! The master's ridge pattern, grown by iterative contextual Gabor filtering (SFinGe).
//!
//! Starting from a few random seeds on an empty canvas, each iteration filters every pixel with
//! the Gabor kernel tuned to the local orientation and ridge period of the finger model, then
//! amplifies and saturates the result. Ridges spread from the seeds at a few pixels per
//! iteration, follow the orientation field, and where two growing patterns meet out of phase
//! they join through bifurcations and endings: the minutiae arise from the growth itself, not
//! from a placement rule, which is what makes their arrangement look natural.
//!
//! A key design decision for speed: kernels come from a precomputed bank (orientation × period
//! bins), rows padded to 16 taps so the inner product vectorises, and blocks with no signal
//! nearby are skipped while the pattern is still small.

use std::f64::consts::{PI, TAU};
use std::sync::OnceLock;

use crate::model::FingerModel;
use crate::params::{self, GABOR_RADIUS_PX as R};
use crate::rng::Rng;

/// Taps per kernel row actually used.
const TAPS: usize = 2 * R + 1;
/// Taps per kernel row as stored (zero-padded so that a row is a fixed 16-wide dot product).
const ROW: usize = 16;

type Kernel = [[f32; ROW]; TAPS];

/// The filter bank, built once per process.
fn bank() -> &'static [Kernel] {
    static BANK: OnceLock<Vec<Kernel>> = OnceLock::new();
    BANK.get_or_init(|| {
        let mut bank =
            Vec::with_capacity(params::GABOR_ORIENTATION_BINS * params::GABOR_PERIOD_BINS);
        for o in 0..params::GABOR_ORIENTATION_BINS {
            let theta = PI * o as f64 / params::GABOR_ORIENTATION_BINS as f64;
            for p in 0..params::GABOR_PERIOD_BINS {
                let period = params::GABOR_PERIOD_MIN_PX + params::GABOR_PERIOD_STEP_PX * p as f64;
                bank.push(kernel(theta, period));
            }
        }
        bank
    })
}

/// A zero-mean Gabor kernel for ridges running along `theta` (counter-clockwise as viewed),
/// scaled so that an ideal unit sinusoid of that orientation and period passes with gain 1.
fn kernel(theta: f64, period: f64) -> Kernel {
    let (ux, uy) = (theta.cos(), -theta.sin()); // along the ridge, pixel coordinates
    let (nx, ny) = (-uy, ux); // across the ridge
    let sigma_along = params::GABOR_SIGMA_ALONG_PER_PERIOD * period;
    let sigma_across = params::GABOR_SIGMA_ACROSS_PER_PERIOD * period;
    let mut envelope = [[0.0f64; TAPS]; TAPS];
    let mut wave = [[0.0f64; TAPS]; TAPS];
    for (j, (env_row, wave_row)) in envelope.iter_mut().zip(wave.iter_mut()).enumerate() {
        for i in 0..TAPS {
            let (dx, dy) = (i as f64 - R as f64, j as f64 - R as f64);
            let a = dx * ux + dy * uy;
            let b = dx * nx + dy * ny;
            env_row[i] = (-(a * a) / (2.0 * sigma_along * sigma_along)
                - (b * b) / (2.0 * sigma_across * sigma_across))
                .exp();
            wave_row[i] = (TAU * b / period).cos();
        }
    }
    let env_sum: f64 = envelope.iter().flatten().sum();
    let raw_sum: f64 =
        envelope.iter().flatten().zip(wave.iter().flatten()).map(|(e, w)| e * w).sum();
    let dc = raw_sum / env_sum;
    let mut values = [[0.0f64; TAPS]; TAPS];
    let mut gain = 0.0;
    for j in 0..TAPS {
        for i in 0..TAPS {
            values[j][i] = envelope[j][i] * (wave[j][i] - dc);
            gain += values[j][i] * wave[j][i];
        }
    }
    let mut kernel = [[0.0f32; ROW]; TAPS];
    for j in 0..TAPS {
        for i in 0..TAPS {
            kernel[j][i] = (values[j][i] / gain) as f32;
        }
    }
    kernel
}

/// Bank index of the kernel for an orientation (radians, `[0, π)`) and a period (pixels).
#[inline]
fn kernel_index(theta: f64, period: f64) -> u16 {
    let o = ((theta / PI * params::GABOR_ORIENTATION_BINS as f64).round() as usize)
        % params::GABOR_ORIENTATION_BINS;
    let p = ((period - params::GABOR_PERIOD_MIN_PX) / params::GABOR_PERIOD_STEP_PX)
        .round()
        .clamp(0.0, (params::GABOR_PERIOD_BINS - 1) as f64) as usize;
    (o * params::GABOR_PERIOD_BINS + p) as u16
}

/// The grown ridge pattern of a master.
#[derive(Debug, Clone)]
pub struct RidgeMap {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major ridge signal, about −1 (valley) to +1 (ridge centre), smooth across ridges.
    pub values: Vec<f32>,
    /// Growth iterations run.
    pub iterations: usize,
}

impl RidgeMap {
    /// The signal at a pixel; zero outside the canvas.
    #[inline]
    pub fn get(&self, x: i64, y: i64) -> f32 {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return 0.0;
        }
        self.values[y as usize * self.width + x as usize]
    }

    /// Bilinear sample at a real position; zero outside the canvas.
    #[inline]
    pub fn sample(&self, x: f64, y: f64) -> f32 {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = ((x - x0) as f32, (y - y0) as f32);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let top = self.get(x0, y0) * (1.0 - fx) + self.get(x0 + 1, y0) * fx;
        let bottom = self.get(x0, y0 + 1) * (1.0 - fx) + self.get(x0 + 1, y0 + 1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// A canvas with an `R`-pixel zero border (and 3 more columns on the right, for the padded
/// kernel rows), so that the filter needs no bounds checks.
struct Padded {
    stride: usize,
    data: Vec<f32>,
}

impl Padded {
    fn new(width: usize, height: usize) -> Self {
        let stride = width + 2 * R + (ROW - TAPS);
        Padded { stride, data: vec![0.0; stride * (height + 2 * R)] }
    }

    #[inline]
    fn index(&self, x: usize, y: usize) -> usize {
        (y + R) * self.stride + x + R
    }
}

/// Filters one pixel: the dot product of its kernel with the window around it.
#[inline]
fn respond(field: &Padded, kernel: &Kernel, x: usize, y: usize) -> f32 {
    let mut sum = [0.0f32; ROW];
    for (j, row) in kernel.iter().enumerate() {
        let start = (y + j) * field.stride + x;
        let window: &[f32; ROW] = match field.data[start..start + ROW].try_into() {
            Ok(w) => w,
            Err(_) => continue, // unreachable: the slice has exactly ROW elements
        };
        for i in 0..ROW {
            sum[i] += row[i] * window[i];
        }
    }
    sum.iter().sum()
}

/// Grows the ridge pattern of `model` from `seed_count` random seeds.
pub fn grow(model: &FingerModel, seed_count: usize, rng: &mut Rng) -> RidgeMap {
    let (width, height) = (model.width as usize, model.height as usize);
    let bank = bank();
    let mut kernels = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let (fx, fy) = (x as f64, y as f64);
            kernels.push(kernel_index(model.orientation(fx, fy), model.period(fx, fy)));
        }
    }

    let mut field = Padded::new(width, height);
    let mut next = Padded::new(width, height);
    // Seeds: a kernel-shaped patch of random polarity, inside the fingertip where possible.
    for _ in 0..seed_count {
        let (mut sx, mut sy) = (0usize, 0usize);
        for _attempt in 0..20 {
            sx = rng.below(width as u32) as usize;
            sy = rng.below(height as u32) as usize;
            if model.silhouette.radius(sx as f64, sy as f64) < 0.9 {
                break;
            }
        }
        let kernel = &bank[kernels[sy * width + sx] as usize];
        let peak = kernel.iter().flatten().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
        let sign = if rng.chance(0.5) { 1.0 } else { -1.0 };
        for (j, row) in kernel.iter().enumerate() {
            for (i, value) in row.iter().take(TAPS).enumerate() {
                let (x, y) = (sx + i, sy + j); // padded coordinates: the patch centres on (sx, sy)
                let index = y * field.stride + x;
                field.data[index] = sign * value / peak;
            }
        }
    }

    let block = params::GROWTH_BLOCK_PX;
    let (blocks_x, blocks_y) = (width.div_ceil(block), height.div_ceil(block));
    // Only blocks near the fingertip are grown: nothing outside it is ever shown.
    let region: Vec<bool> = (0..blocks_x * blocks_y)
        .map(|b| {
            let (bx, by) = ((b % blocks_x) * block, (b / blocks_x) * block);
            let corners = [(bx, by), (bx + block, by), (bx, by + block), (bx + block, by + block)];
            corners.iter().any(|&(x, y)| {
                model.silhouette.radius(x as f64, y as f64) < params::GROWTH_REGION_RADIUS
            })
        })
        .collect();
    let region_pixels = region.iter().filter(|&&r| r).count() * block * block;
    let mut active = vec![false; blocks_x * blocks_y];
    let mut iterations = 0;
    let mut filled_at: Option<usize> = None;
    for iteration in 0..params::GROWTH_MAX_ITERATIONS {
        iterations = iteration + 1;
        let occupied = occupied_blocks(&field, width, height, block);
        for by in 0..blocks_y {
            for bx in 0..blocks_x {
                let mut any = false;
                for ny in by.saturating_sub(1)..(by + 2).min(blocks_y) {
                    for nx in bx.saturating_sub(1)..(bx + 2).min(blocks_x) {
                        any |= occupied[ny * blocks_x + nx];
                    }
                }
                active[by * blocks_x + bx] = any && region[by * blocks_x + bx];
            }
        }
        let mut undecided = 0usize;
        for by in 0..blocks_y {
            for bx in 0..blocks_x {
                if !active[by * blocks_x + bx] {
                    continue;
                }
                for y in by * block..((by + 1) * block).min(height) {
                    for x in bx * block..((bx + 1) * block).min(width) {
                        let kernel = &bank[kernels[y * width + x] as usize];
                        let value =
                            (params::GROWTH_GAIN * respond(&field, kernel, x, y)).clamp(-1.0, 1.0);
                        let index = field.index(x, y);
                        undecided += (value.abs() < params::GROWTH_EMPTY_LEVEL) as usize;
                        next.data[index] = value;
                    }
                }
            }
        }
        std::mem::swap(&mut field, &mut next);
        // Skipped blocks are empty, hence undecided too.
        let skipped = active.iter().zip(&region).filter(|(&a, &r)| r && !a).count() * block * block;
        let undecided_fraction = (undecided + skipped) as f64 / region_pixels.max(1) as f64;
        if filled_at.is_none() && undecided_fraction < params::GROWTH_FILLED_UNDECIDED_FRACTION {
            filled_at = Some(iteration);
        }
        if let Some(filled) = filled_at {
            if iteration >= filled + params::GROWTH_SETTLE_ITERATIONS {
                break;
            }
        }
    }

    // A small blur turns the saturated square wave into a smooth ridge profile, so that
    // impressions can vary ridge thickness by thresholding.
    let mut values = Vec::with_capacity(width * height);
    for y in 0..height {
        values.extend_from_slice(&field.data[field.index(0, y)..field.index(0, y) + width]);
    }
    let values = box_blur_3(&box_blur_3(&values, width, height), width, height);
    RidgeMap { width, height, values, iterations }
}

/// 3 × 3 mean filter, edges clamped.
pub(crate) fn box_blur_3(values: &[f32], width: usize, height: usize) -> Vec<f32> {
    let mut horizontal = vec![0.0f32; values.len()];
    for y in 0..height {
        let row = &values[y * width..(y + 1) * width];
        for x in 0..width {
            let left = row[x.saturating_sub(1)];
            let right = row[(x + 1).min(width - 1)];
            horizontal[y * width + x] = (left + row[x] + right) / 3.0;
        }
    }
    let mut out = vec![0.0f32; values.len()];
    for y in 0..height {
        let up = y.saturating_sub(1) * width;
        let down = (y + 1).min(height - 1) * width;
        for x in 0..width {
            out[y * width + x] =
                (horizontal[up + x] + horizontal[y * width + x] + horizontal[down + x]) / 3.0;
        }
    }
    out
}

/// Which blocks hold any non-zero value.
fn occupied_blocks(field: &Padded, width: usize, height: usize, block: usize) -> Vec<bool> {
    let (blocks_x, blocks_y) = (width.div_ceil(block), height.div_ceil(block));
    let mut occupied = vec![false; blocks_x * blocks_y];
    for y in 0..height {
        let row = &field.data[field.index(0, y)..field.index(0, y) + width];
        for (bx, chunk) in row.chunks(block).enumerate() {
            if chunk.iter().any(|&v| v != 0.0) {
                occupied[(y / block) * blocks_x + bx] = true;
            }
        }
    }
    occupied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_passes_its_own_sinusoid_and_blocks_dc() {
        let theta = 0.7;
        let period = 9.0;
        let k = kernel(theta, period);
        let (nx, ny) = (theta.sin(), theta.cos());
        let mut tuned = 0.0;
        let mut dc = 0.0;
        let mut crossed = 0.0;
        for (j, row) in k.iter().enumerate() {
            for (i, &value) in row.iter().take(TAPS).enumerate() {
                let value = value as f64;
                let (dx, dy) = (i as f64 - R as f64, j as f64 - R as f64);
                let b = dx * nx + dy * ny;
                let b_crossed = dx * theta.cos() - dy * theta.sin();
                tuned += value * (TAU * b / period).cos();
                crossed += value * (TAU * b_crossed / period).cos();
                dc += value;
            }
        }
        assert!((tuned - 1.0).abs() < 1e-4, "{tuned}");
        assert!(dc.abs() < 1e-4, "{dc}");
        assert!(crossed.abs() < 0.2, "{crossed}");
    }
}
