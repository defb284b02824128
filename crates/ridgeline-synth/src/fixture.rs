//! The gallery tests' fixed template population, at template level (no images), with random
//! access by finger: `impression(finger, k)` is the same on every call. It is simpler than
//! [`crate::templates`] and kept unchanged because it reproduces, byte for byte, the checked-in
//! version-1 gallery and the galleries the core's tests build.
//!
//! The core crate's own unit tests cannot depend on this crate (it depends on the core), so
//! they compile this same file as a test-only module (`test_support::fixture`); it therefore
//! names the core as `ridgeline::` only.
//!
//! Each finger gets a master set of minutiae spread over an elliptical print with a minimum
//! spacing, directions following a smooth loop-like orientation field (so that cylinders of
//! different fingers are as alike as real ones tend to be, not trivially distinct). An
//! impression of it is the master moved rigidly (rotation, translation), distorted smoothly,
//! jittered per minutia, cropped to a partial window, with minutiae dropped and spurious ones
//! added. The parameters are in one place below, with units in their names.

use std::f32::consts::{PI, TAU};

use ridgeline::template::{normalize_angle, Minutia, MinutiaKind, Template, MAX_MINUTIAE};

/// Image size of every synthetic impression, pixels at 500 dpi.
const IMAGE_WIDTH_PX: f32 = 400.0;
/// See [`IMAGE_WIDTH_PX`].
const IMAGE_HEIGHT_PX: f32 = 500.0;
/// Semi-axes of the print ellipse.
const PRINT_SEMI_AXES_PX: (f32, f32) = (150.0, 200.0);
/// Master minutiae count range.
const MASTER_MINUTIAE: (u64, u64) = (40, 65);
/// Smallest distance between two master minutiae.
const MIN_SPACING_PX: f32 = 16.0;
/// Largest rotation of an impression, each way.
const MAX_ROTATION_RAD: f32 = 20.0 * PI / 180.0;
/// Largest translation of an impression, each axis.
const MAX_TRANSLATION_PX: f32 = 25.0;
/// Amplitude of the smooth non-linear distortion.
const DISTORTION_PX: f32 = 4.0;
/// Standard deviation of per-minutia position noise.
const POSITION_NOISE_PX: f32 = 2.0;
/// Standard deviation of per-minutia direction noise.
const DIRECTION_NOISE_RAD: f32 = 0.08;
/// Chance that a master minutia is missed in an impression (before cropping).
const DROP_CHANCE: f32 = 0.12;
/// Mean count of spurious minutiae per impression.
const SPURIOUS_MEAN: f32 = 4.0;
/// The impression window covers this share of the print's extent on each axis.
const WINDOW_SHARE: f32 = 0.85;

/// A deterministic population of synthetic fingers.
#[derive(Debug, Clone, Copy)]
pub struct FixturePopulation {
    seed: u64,
}

/// SplitMix64: tiny, fast and good enough for test data.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, finger: u64, impression: u64) -> Rng {
        let mut r = Rng(seed ^ finger.wrapping_mul(0xa076_1d64_78bd_642f));
        r.0 ^= impression.wrapping_mul(0xe703_7ed1_a0b4_28db);
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn uniform(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.unit()
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn normal(&mut self) -> f32 {
        let u = self.unit().max(1e-7);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (TAU * v).cos()
    }
    fn poisson(&mut self, mean: f32) -> u32 {
        let limit = (-mean).exp();
        let (mut k, mut p) = (0, 1.0f32);
        loop {
            p *= self.unit();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
}

/// A finger's ridge flow: a loop around a core, turned by a global angle, lightly waved.
struct Flow {
    core: (f32, f32),
    turn: f32,
    wave: f32,
}

impl Flow {
    fn orientation(&self, x: f32, y: f32) -> f32 {
        let (dx, dy) = (x - self.core.0, y - self.core.1);
        0.5 * dy.atan2(dx) + self.turn + self.wave * (x / 60.0).sin() * (y / 80.0).cos()
    }
}

impl FixturePopulation {
    /// A population; the same seed always gives the same fingers.
    pub fn new(seed: u64) -> FixturePopulation {
        FixturePopulation { seed }
    }

    fn master(&self, finger: u64) -> Vec<Minutia> {
        let mut rng = Rng::new(self.seed, finger, u64::MAX);
        let (cx, cy) = (IMAGE_WIDTH_PX / 2.0, IMAGE_HEIGHT_PX / 2.0);
        let flow = Flow {
            core: (cx + rng.uniform(-40.0, 40.0), cy + rng.uniform(-60.0, 40.0)),
            turn: rng.uniform(-0.4, 0.4),
            wave: rng.uniform(0.0, 0.5),
        };
        let target = MASTER_MINUTIAE.0 + rng.below(MASTER_MINUTIAE.1 - MASTER_MINUTIAE.0 + 1);
        let mut minutiae: Vec<Minutia> = Vec::with_capacity(target as usize);
        let (ax, ay) = PRINT_SEMI_AXES_PX;
        let mut attempts = 0;
        while (minutiae.len() as u64) < target && attempts < 5000 {
            attempts += 1;
            let (u, v) = (rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0));
            if u * u + v * v > 1.0 {
                continue;
            }
            let (x, y) = (cx + u * ax, cy + v * ay);
            let crowded = minutiae
                .iter()
                .any(|m| (m.x - x).powi(2) + (m.y - y).powi(2) < MIN_SPACING_PX * MIN_SPACING_PX);
            if crowded {
                continue;
            }
            let flip = if rng.below(2) == 0 { 0.0 } else { PI };
            minutiae.push(Minutia {
                x,
                y,
                angle: normalize_angle(flow.orientation(x, y) + flip),
                kind: if rng.below(2) == 0 {
                    MinutiaKind::Ending
                } else {
                    MinutiaKind::Bifurcation
                },
                quality: 40 + rng.below(61) as u8,
            });
        }
        minutiae
    }

    /// Impression `impression` of finger `finger`: a different rendering of the same master.
    pub fn impression(&self, finger: u64, impression: u32) -> Template {
        let master = self.master(finger);
        let mut rng = Rng::new(self.seed, finger, impression as u64);
        let rotation = rng.uniform(-MAX_ROTATION_RAD, MAX_ROTATION_RAD);
        let (tx, ty) = (
            rng.uniform(-MAX_TRANSLATION_PX, MAX_TRANSLATION_PX),
            rng.uniform(-MAX_TRANSLATION_PX, MAX_TRANSLATION_PX),
        );
        let phase = (rng.uniform(0.0, TAU), rng.uniform(0.0, TAU));
        let (ax, ay) = PRINT_SEMI_AXES_PX;
        let (cx, cy) = (IMAGE_WIDTH_PX / 2.0, IMAGE_HEIGHT_PX / 2.0);
        // A partial window over the print, placed at random.
        let slack = (1.0 - WINDOW_SHARE) * 2.0;
        let wx0 = cx - ax + rng.uniform(0.0, slack) * ax;
        let wy0 = cy - ay + rng.uniform(0.0, slack) * ay;
        let (wx1, wy1) = (wx0 + 2.0 * ax * WINDOW_SHARE, wy0 + 2.0 * ay * WINDOW_SHARE);
        let (sin, cos) = rotation.sin_cos();

        let mut minutiae = Vec::with_capacity(master.len() + 8);
        for m in &master {
            if rng.unit() < DROP_CHANCE || m.x < wx0 || m.x > wx1 || m.y < wy0 || m.y > wy1 {
                continue;
            }
            let dx = DISTORTION_PX * (m.y / 90.0 + phase.0).sin();
            let dy = DISTORTION_PX * (m.x / 70.0 + phase.1).sin();
            let (x0, y0) = (m.x + dx - cx, m.y + dy - cy);
            // Rotate counter-clockwise as viewed (y down), consistent with the angle convention.
            let x = cx + x0 * cos + y0 * sin + tx + POSITION_NOISE_PX * rng.normal();
            let y = cy - x0 * sin + y0 * cos + ty + POSITION_NOISE_PX * rng.normal();
            let kind = if rng.unit() < 0.1 {
                match m.kind {
                    MinutiaKind::Ending => MinutiaKind::Bifurcation,
                    MinutiaKind::Bifurcation => MinutiaKind::Ending,
                }
            } else {
                m.kind
            };
            minutiae.push(Minutia {
                x,
                y,
                angle: normalize_angle(m.angle + rotation + DIRECTION_NOISE_RAD * rng.normal()),
                kind,
                quality: m.quality.saturating_sub(rng.below(20) as u8),
            });
        }
        for _ in 0..rng.poisson(SPURIOUS_MEAN) {
            minutiae.push(Minutia {
                x: rng.uniform(wx0, wx1) + tx,
                y: rng.uniform(wy0, wy1) + ty,
                angle: rng.uniform(0.0, TAU - 1e-3),
                kind: MinutiaKind::Ending,
                quality: 20 + rng.below(40) as u8,
            });
        }
        minutiae
            .retain(|m| m.x >= 0.0 && m.y >= 0.0 && m.x < IMAGE_WIDTH_PX && m.y < IMAGE_HEIGHT_PX);
        minutiae.truncate(MAX_MINUTIAE);
        Template {
            width: IMAGE_WIDTH_PX as u32,
            height: IMAGE_HEIGHT_PX as u32,
            dpi: 500,
            quality: 50 + rng.below(51) as u8,
            minutiae,
            singular_points: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impressions_are_deterministic_valid_and_differ() {
        let pop = FixturePopulation::new(7);
        let a = pop.impression(3, 0);
        assert_eq!(a, pop.impression(3, 0));
        assert_ne!(a, pop.impression(3, 1));
        assert_ne!(a, pop.impression(4, 0));
        for f in 0..50 {
            let t = pop.impression(f, 1);
            t.validate().expect("valid template");
            assert!(t.minutiae.len() >= 20, "finger {f}: {} minutiae", t.minutiae.len());
        }
    }
}
