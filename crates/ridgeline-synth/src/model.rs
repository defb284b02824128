//! The analytic model of one finger: silhouette, singular points, orientation and ridge period.
//!
//! Shared by the image generator (which renders ridges from it) and the template-level generator
//! (which only evaluates it at the minutiae), so that both produce the same geometry.
//!
//! Orientation follows the zero-pole model of Sherlock and Monro, with the correction of Vizcaya
//! and Gerhardt that SFinGe uses: each singular point's contribution `½·arg(z − s)` goes through
//! a piecewise-linear warp `g(α)` with eight random nodes, which bends the flow around cores and
//! deltas as real fingers do instead of the model's stiff symmetric shapes. Plain arches have no
//! singular point and use a bump model instead.

use std::f64::consts::{FRAC_PI_2, PI, TAU};

use crate::class::PatternClass;
use crate::params;
use crate::rng::Rng;

/// Number of nodes of the Vizcaya–Gerhardt warp (sectors around a singular point).
const WARP_NODES: usize = 8;

/// A core or a delta with its own orientation warp.
#[derive(Debug, Clone, PartialEq)]
pub struct Pole {
    /// Column in master pixels.
    pub x: f64,
    /// Row in master pixels.
    pub y: f64,
    /// Warp node offsets (radians) at `α_i = −π + 2πi/8`, `i = 0..=8`; first and last equal.
    warp: [f64; WARP_NODES + 1],
}

impl Pole {
    fn new(x: f64, y: f64, rng: &mut Rng) -> Self {
        let mut warp = [0.0; WARP_NODES + 1];
        for node in warp.iter_mut().take(WARP_NODES) {
            // Less than half the node spacing: keeps g monotone, so the pole keeps its index.
            *node = rng.uniform(-1.0, 1.0) * params::POLE_WARP_MAX_RAD;
        }
        warp[WARP_NODES] = warp[0];
        Pole { x, y, warp }
    }

    /// `g(arg(z − pole))`: the warped angle of the point as seen from the pole.
    #[inline]
    fn warped_arg(&self, x: f64, y: f64) -> f64 {
        // Angles counter-clockwise as viewed: y points down in the image.
        let alpha = (-(y - self.y)).atan2(x - self.x);
        let position = (alpha + PI) / (TAU / WARP_NODES as f64);
        let node = (position.floor() as usize).min(WARP_NODES - 1);
        let fraction = position - node as f64;
        let offset = self.warp[node] + (self.warp[node + 1] - self.warp[node]) * fraction;
        alpha + offset
    }
}

/// The fingertip's outline: a super-ellipse with different top and bottom half-heights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Silhouette {
    /// Centre column.
    pub cx: f64,
    /// Centre row.
    pub cy: f64,
    /// Half-width in pixels.
    pub half_width: f64,
    /// Half-height above the centre.
    pub half_height_top: f64,
    /// Half-height below the centre.
    pub half_height_bottom: f64,
    /// Super-ellipse exponent (2 = ellipse, larger = squarer).
    pub exponent: f64,
}

impl Silhouette {
    /// Normalised radius: below 1 inside, 1 on the outline.
    #[inline]
    pub fn radius(&self, x: f64, y: f64) -> f64 {
        let dx = ((x - self.cx) / self.half_width).abs();
        let half_height = if y < self.cy { self.half_height_top } else { self.half_height_bottom };
        let dy = ((y - self.cy) / half_height).abs();
        (dx.powf(self.exponent) + dy.powf(self.exponent)).powf(1.0 / self.exponent)
    }

    /// Approximate distance inside the outline in pixels (negative outside).
    #[inline]
    pub fn depth(&self, x: f64, y: f64) -> f64 {
        (1.0 - self.radius(x, y)) * self.half_width.min(self.half_height_top)
    }

    /// Area inside the outline in square pixels (numeric, on a coarse grid).
    pub fn area(&self) -> f64 {
        let step = 2.0;
        let mut count = 0u32;
        let mut y = self.cy - self.half_height_top;
        while y <= self.cy + self.half_height_bottom {
            let mut x = self.cx - self.half_width;
            while x <= self.cx + self.half_width {
                if self.radius(x, y) <= 1.0 {
                    count += 1;
                }
                x += step;
            }
            y += step;
        }
        count as f64 * step * step
    }
}

/// Parameters of the plain-arch orientation model: ridges follow `y = y0 − h(y0)·bump(x)`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ArchModel {
    cx: f64,
    bump_width_px: f64,
    height_px: f64,
    fade_row: f64,
    fade_length_px: f64,
}

/// One finger's geometry, everything the renderer and the template generator need.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerModel {
    /// Pattern class.
    pub class: PatternClass,
    /// Master canvas width in pixels.
    pub width: u32,
    /// Master canvas height in pixels.
    pub height: u32,
    /// The fingertip outline.
    pub silhouette: Silhouette,
    /// Cores (loops, whorls, tented arches).
    pub cores: Vec<Pole>,
    /// Deltas.
    pub deltas: Vec<Pole>,
    /// Orientation far from the singular points (radians).
    theta_far: f64,
    arch: Option<ArchModel>,
    /// Mean ridge period in pixels.
    pub base_period_px: f64,
    /// Smooth period variation: (wave vector x, wave vector y, phase) of three plane waves.
    period_waves: [(f64, f64, f64); 3],
}

impl FingerModel {
    /// Draws a finger of `class` on a `width × height` master canvas.
    pub fn sample(class: PatternClass, width: u32, height: u32, rng: &mut Rng) -> Self {
        let (w, h) = (width as f64, height as f64);
        let silhouette = Silhouette {
            cx: w / 2.0 + rng.gaussian(0.0, params::SILHOUETTE_CENTER_SD_PX),
            cy: h / 2.0
                + rng.gaussian(params::SILHOUETTE_CENTER_DROP_PX, params::SILHOUETTE_CENTER_SD_PX),
            half_width: rng.uniform(params::HALF_WIDTH_PX.0, params::HALF_WIDTH_PX.1),
            half_height_top: rng
                .uniform(params::HALF_HEIGHT_TOP_PX.0, params::HALF_HEIGHT_TOP_PX.1),
            half_height_bottom: rng
                .uniform(params::HALF_HEIGHT_BOTTOM_PX.0, params::HALF_HEIGHT_BOTTOM_PX.1),
            exponent: rng.uniform(params::SILHOUETTE_EXPONENT.0, params::SILHOUETTE_EXPONENT.1),
        };
        let (cx, cy) = (silhouette.cx, silhouette.cy - params::CORE_ABOVE_CENTER_PX);
        let mut cores = Vec::new();
        let mut deltas = Vec::new();
        let mut arch = None;
        match class {
            PatternClass::Arch => {
                arch = Some(ArchModel {
                    cx: cx + rng.gaussian(0.0, 12.0),
                    bump_width_px: rng.uniform(45.0, 75.0),
                    height_px: rng.uniform(25.0, 55.0),
                    fade_row: cy + rng.uniform(-10.0, 50.0),
                    fade_length_px: rng.uniform(30.0, 60.0),
                });
            }
            PatternClass::TentedArch => {
                let core = (cx + rng.gaussian(0.0, 12.0), cy + rng.gaussian(0.0, 15.0));
                cores.push(Pole::new(core.0, core.1, rng));
                deltas.push(Pole::new(
                    core.0 + rng.gaussian(0.0, 6.0),
                    core.1 + rng.uniform(30.0, 60.0),
                    rng,
                ));
            }
            PatternClass::LeftLoop | PatternClass::RightLoop => {
                let core = (cx + rng.gaussian(0.0, 15.0), cy + rng.gaussian(0.0, 18.0));
                // A left loop's ridges open to the left, so its delta lies to the right.
                let side = if class == PatternClass::LeftLoop { 1.0 } else { -1.0 };
                cores.push(Pole::new(core.0, core.1, rng));
                deltas.push(Pole::new(
                    core.0 + side * rng.uniform(45.0, 95.0),
                    core.1 + rng.uniform(65.0, 120.0),
                    rng,
                ));
            }
            PatternClass::Whorl => {
                let middle = (cx + rng.gaussian(0.0, 12.0), cy + rng.gaussian(0.0, 15.0));
                let separation = rng.uniform(6.0, 28.0);
                let tilt = FRAC_PI_2 + rng.uniform(-1.0, 1.0);
                let (dx, dy) = (tilt.cos() * separation / 2.0, tilt.sin() * separation / 2.0);
                cores.push(Pole::new(middle.0 - dx, middle.1 - dy, rng));
                cores.push(Pole::new(middle.0 + dx, middle.1 + dy, rng));
                for side in [-1.0, 1.0] {
                    deltas.push(Pole::new(
                        middle.0 + side * rng.uniform(60.0, 100.0),
                        middle.1 + rng.uniform(60.0, 110.0),
                        rng,
                    ));
                }
            }
        }
        let base_period_px = rng.uniform(params::RIDGE_PERIOD_PX.0, params::RIDGE_PERIOD_PX.1);
        let mut period_waves = [(0.0, 0.0, 0.0); 3];
        for wave in &mut period_waves {
            let direction = rng.uniform(0.0, TAU);
            let wavelength = rng.uniform(150.0, 400.0);
            let k = TAU / wavelength;
            *wave = (k * direction.cos(), k * direction.sin(), rng.uniform(0.0, TAU));
        }
        FingerModel {
            class,
            width,
            height,
            silhouette,
            cores,
            deltas,
            theta_far: rng.gaussian(0.0, params::FAR_ORIENTATION_SD_RAD),
            arch,
            base_period_px,
            period_waves,
        }
    }

    /// Ridge orientation at a point, radians in `[0, π)`, counter-clockwise from +x as viewed.
    pub fn orientation(&self, x: f64, y: f64) -> f64 {
        let theta = match &self.arch {
            Some(arch) => {
                let u = (x - arch.cx) / arch.bump_width_px;
                let height =
                    arch.height_px / (1.0 + ((y - arch.fade_row) / arch.fade_length_px).exp());
                // Slope dy/dx of the ridge through (x, y), in image rows per column.
                let slope = height * u / arch.bump_width_px * (-0.5 * u * u).exp();
                self.theta_far + (-slope).atan()
            }
            None => {
                let mut sum = 0.0;
                for core in &self.cores {
                    sum += core.warped_arg(x, y);
                }
                for delta in &self.deltas {
                    sum -= delta.warped_arg(x, y);
                }
                self.theta_far + 0.5 * sum
            }
        };
        theta.rem_euclid(PI)
    }

    /// Local ridge period (distance between ridge centres) in pixels.
    pub fn period(&self, x: f64, y: f64) -> f64 {
        let mut variation = 0.0;
        for (kx, ky, phase) in &self.period_waves {
            variation += (kx * x + ky * y + phase).sin();
        }
        variation *= params::RIDGE_PERIOD_VARIATION / 3.0;
        // Ridges are wider apart towards the finger's tip and its base, narrower around the core.
        let s = &self.silhouette;
        let vertical = ((y - s.cy) / s.half_height_bottom).clamp(-1.0, 1.0);
        let spread = params::RIDGE_PERIOD_EDGE_GAIN * vertical * vertical;
        self.base_period_px * (1.0 + variation + spread)
    }

    /// Singular points as core-crate records (angle not modelled).
    pub fn singular_points(&self) -> Vec<ridgeline::SingularPoint> {
        use ridgeline::{SingularPoint, SingularPointKind};
        let core = self.cores.iter().map(|p| (p, SingularPointKind::Core));
        let delta = self.deltas.iter().map(|p| (p, SingularPointKind::Delta));
        core.chain(delta)
            .map(|(p, kind)| SingularPoint { x: p.x as f32, y: p.y as f32, angle: None, kind })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;

    /// Rotating once around a point, the orientation turns by `index · 2π` (mod π jumps unwrapped).
    fn poincare_index(model: &FingerModel, x: f64, y: f64, radius: f64) -> f64 {
        let steps = 64;
        let mut total = 0.0;
        let mut previous = model.orientation(x + radius, y);
        for i in 1..=steps {
            let a = TAU * i as f64 / steps as f64;
            let current = model.orientation(x + radius * a.cos(), y - radius * a.sin());
            let mut step = current - previous;
            while step > FRAC_PI_2 {
                step -= PI;
            }
            while step < -FRAC_PI_2 {
                step += PI;
            }
            total += step;
            previous = current;
        }
        total / TAU
    }

    #[test]
    fn cores_have_index_half_and_deltas_minus_half() {
        for finger in 1..20 {
            let mut rng = Rng::stream(3, finger, 0, Purpose::Master);
            let model = FingerModel::sample(PatternClass::Whorl, 352, 448, &mut rng);
            for core in &model.cores {
                // The two cores of a whorl may be close: circle both when they are.
                let index = poincare_index(&model, core.x, core.y, 2.0);
                assert!((index - 0.5).abs() < 0.05 || (index - 1.0).abs() < 0.05, "{index}");
            }
            for delta in &model.deltas {
                let index = poincare_index(&model, delta.x, delta.y, 3.0);
                assert!((index + 0.5).abs() < 0.05, "{index}");
            }
        }
    }

    #[test]
    fn orientation_and_period_stay_in_range() {
        for (finger, class) in PatternClass::ALL.iter().enumerate() {
            let mut rng = Rng::stream(5, finger as u64, 0, Purpose::Master);
            let model = FingerModel::sample(*class, 352, 448, &mut rng);
            for y in (0..448).step_by(16) {
                for x in (0..352).step_by(16) {
                    let theta = model.orientation(x as f64, y as f64);
                    assert!((0.0..PI).contains(&theta));
                    let period = model.period(x as f64, y as f64);
                    assert!((5.0..15.0).contains(&period), "{period}");
                }
            }
        }
    }
}
