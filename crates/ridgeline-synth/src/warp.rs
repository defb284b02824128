//! Where each pixel of an impression comes from on the master: finger placement (rotation and
//! translation on the sensor) and Cappelli's non-linear skin distortion.
//!
//! The distortion model (Cappelli, Maio, Maltoni 2001): the skin inside a *close-contact*
//! region does not move; far from it, the skin follows a rigid displacement (a small rotation
//! and translation, as when the finger is pressed and dragged); in between, a *brake* function
//! of the distance from the contact region blends the two. The map is `v + Δ(v)·brake(d(v))`.
//!
//! A key design decision: the warp is defined from impression pixels to master pixels, which is
//! the direction rendering needs (every output pixel samples the master once). Ground-truth
//! minutiae go the other way and are few, so they invert the map numerically.

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// Most shear waves a warp carries.
const MAX_SHEAR_WAVES: usize = 2;

/// A shear wave of the skin: displacement `amplitude · sin(k·p + phase)` along `direction`
/// (perpendicular to `k`, so the skin slides along the wave front, as when it is dragged).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShearWave {
    /// Wave vector, radians per pixel.
    pub k: (f64, f64),
    /// Phase, radians.
    pub phase: f64,
    /// Displacement amplitude along the wave front, pixels (signed).
    pub amplitude: (f64, f64),
}

/// How far a finger may be placed and distorted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacementConfig {
    /// Largest rotation of the finger on the sensor, degrees either way.
    pub rotation_max_deg: f64,
    /// Standard deviation of the finger's translation, pixels, per axis.
    pub translation_sd_px: f64,
    /// Largest rotation of the skin outside the close-contact region, degrees either way.
    pub distortion_rotation_max_deg: f64,
    /// Largest translation of the skin outside the close-contact region, pixels.
    pub distortion_translation_max_px: f64,
    /// Range of the radius of the close-contact region, pixels.
    pub contact_radius_px: (f64, f64),
    /// Distance over which the skin goes from fixed to fully displaced (brake length), pixels.
    pub brake_length_px: f64,
}

impl Default for PlacementConfig {
    fn default() -> Self {
        PlacementConfig {
            rotation_max_deg: 25.0,
            translation_sd_px: 28.0,
            distortion_rotation_max_deg: 9.0,
            distortion_translation_max_px: 16.0,
            contact_radius_px: (35.0, 70.0),
            brake_length_px: 60.0,
        }
    }
}

/// One impression's map from impression pixels to master pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Warp {
    /// Image centre (impression pixels).
    image_center: (f64, f64),
    /// Where the image centre lands on the master, before distortion.
    master_center: (f64, f64),
    /// Finger rotation: cos and sin.
    rotation: (f64, f64),
    /// Close-contact region centre on the master.
    contact_center: (f64, f64),
    contact_radius: f64,
    /// Skin displacement outside the contact region: rotation (cos, sin) and translation.
    skin_rotation: (f64, f64),
    skin_translation: (f64, f64),
    brake_length: f64,
    /// Non-linear shear waves added to the displacement outside the contact region (zero
    /// amplitude unless a condition asks for them).
    shear: [ShearWave; MAX_SHEAR_WAVES],
    shear_on: bool,
}

impl Warp {
    /// Draws a placement for an image of `width × height` taken from a master whose canvas
    /// centre is `master_center`, around a finger whose centre on the master is `finger_center`.
    pub fn sample(
        config: &PlacementConfig,
        width: u32,
        height: u32,
        master_center: (f64, f64),
        finger_center: (f64, f64),
        rng: &mut Rng,
    ) -> Self {
        let rotation = rng.uniform(-1.0, 1.0) * config.rotation_max_deg.to_radians();
        let shift = (
            rng.gaussian(0.0, config.translation_sd_px),
            rng.gaussian(0.0, config.translation_sd_px),
        );
        let skin_rotation =
            rng.uniform(-1.0, 1.0) * config.distortion_rotation_max_deg.to_radians();
        let skin_angle = rng.uniform(0.0, std::f64::consts::TAU);
        let skin_shift = rng.uniform(0.0, 1.0) * config.distortion_translation_max_px;
        let (r0, r1) = config.contact_radius_px;
        Warp {
            image_center: (width as f64 / 2.0, height as f64 / 2.0),
            master_center: (master_center.0 + shift.0, master_center.1 + shift.1),
            rotation: (rotation.cos(), rotation.sin()),
            contact_center: (
                finger_center.0 + rng.gaussian(0.0, 15.0),
                finger_center.1 + rng.gaussian(-10.0, 20.0),
            ),
            contact_radius: rng.uniform(r0.min(r1), r0.max(r1)),
            skin_rotation: (skin_rotation.cos(), skin_rotation.sin()),
            skin_translation: (skin_shift * skin_angle.cos(), skin_shift * skin_angle.sin()),
            brake_length: config.brake_length_px.max(1.0),
            shear: [ShearWave { k: (0.0, 0.0), phase: 0.0, amplitude: (0.0, 0.0) };
                MAX_SHEAR_WAVES],
            shear_on: false,
        }
    }

    /// Applies the placement and distortion parts of an acquisition condition
    /// (`condition::Stress`): a rotation instead of the ordinary draw, a shift of the finger on
    /// the master, a skin distortion instead of the ordinary draw, and shear waves.
    pub fn stressed(
        mut self,
        rotation_rad: Option<f64>,
        shift_px: (f64, f64),
        skin: Option<(f64, (f64, f64))>,
        shear: &[ShearWave],
    ) -> Self {
        if let Some(angle) = rotation_rad {
            self.rotation = (angle.cos(), angle.sin());
        }
        self.master_center.0 += shift_px.0;
        self.master_center.1 += shift_px.1;
        if let Some((angle, translation)) = skin {
            self.skin_rotation = (angle.cos(), angle.sin());
            self.skin_translation = translation;
        }
        for (slot, wave) in self.shear.iter_mut().zip(shear) {
            *slot = *wave;
            self.shear_on = true;
        }
        self
    }

    /// Rigid placement: impression pixel to undistorted master position.
    #[inline]
    fn place(&self, x: f64, y: f64) -> (f64, f64) {
        let (dx, dy) = (x - self.image_center.0, y - self.image_center.1);
        let (c, s) = self.rotation;
        (self.master_center.0 + c * dx - s * dy, self.master_center.1 + s * dx + c * dy)
    }

    /// Inverse of [`Warp::place`].
    #[inline]
    fn unplace(&self, x: f64, y: f64) -> (f64, f64) {
        let (dx, dy) = (x - self.master_center.0, y - self.master_center.1);
        let (c, s) = self.rotation;
        (self.image_center.0 + c * dx + s * dy, self.image_center.1 - s * dx + c * dy)
    }

    /// Skin displacement at a master position: `Δ(v)·brake(d(v))`.
    #[inline]
    fn displacement(&self, x: f64, y: f64) -> (f64, f64) {
        let (dx, dy) = (x - self.contact_center.0, y - self.contact_center.1);
        let distance = (dx * dx + dy * dy).sqrt() - self.contact_radius;
        if distance <= 0.0 {
            return (0.0, 0.0);
        }
        let ratio = distance / self.brake_length;
        let brake = 1.0 - (-ratio * ratio).exp();
        let (c, s) = self.skin_rotation;
        let (mut tx, mut ty) = self.skin_translation;
        if self.shear_on {
            for wave in &self.shear {
                let phase = (wave.k.0 * x + wave.k.1 * y + wave.phase).sin();
                tx += wave.amplitude.0 * phase;
                ty += wave.amplitude.1 * phase;
            }
        }
        let moved = (c * dx - s * dy + tx, s * dx + c * dy + ty);
        ((moved.0 - dx) * brake, (moved.1 - dy) * brake)
    }

    /// Impression pixel to master position.
    #[inline]
    pub fn to_master(&self, x: f64, y: f64) -> (f64, f64) {
        let (px, py) = self.place(x, y);
        let (ddx, ddy) = self.displacement(px, py);
        (px + ddx, py + ddy)
    }

    /// Master position to impression pixel (numeric inverse of [`Warp::to_master`]).
    pub fn to_impression(&self, x: f64, y: f64) -> (f64, f64) {
        // Solve p + Δ(p) = v by fixed-point iteration: the displacement's gradient is well
        // below 1 for the configured ranges, so this contracts quickly.
        let (mut px, mut py) = (x, y);
        for _ in 0..30 {
            let (ddx, ddy) = self.displacement(px, py);
            let (nx, ny) = (x - ddx, y - ddy);
            let moved = (nx - px).abs() + (ny - py).abs();
            (px, py) = (nx, ny);
            if moved < 1e-4 {
                break;
            }
        }
        self.unplace(px, py)
    }

    /// A direction (radians, counter-clockwise as viewed) at a master position, carried to the
    /// impression.
    pub fn direction_to_impression(&self, x: f64, y: f64, angle: f64) -> f64 {
        const STEP_PX: f64 = 3.0;
        let a = self.to_impression(x, y);
        let b = self.to_impression(x + STEP_PX * angle.cos(), y - STEP_PX * angle.sin());
        (-(b.1 - a.1)).atan2(b.0 - a.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;

    #[test]
    fn inverse_round_trips() {
        for finger in 1..30 {
            let mut rng = Rng::stream(9, finger, 1, Purpose::Impression);
            let warp = Warp::sample(
                &PlacementConfig::default(),
                288,
                384,
                (184.0, 232.0),
                (184.0, 240.0),
                &mut rng,
            );
            for (x, y) in [(10.0, 10.0), (144.0, 192.0), (280.0, 370.0), (50.0, 300.0)] {
                let (mx, my) = warp.to_master(x, y);
                let (bx, by) = warp.to_impression(mx, my);
                assert!((bx - x).abs() < 1e-2 && (by - y).abs() < 1e-2, "{x},{y} -> {bx},{by}");
            }
        }
    }

    #[test]
    fn contact_region_is_rigid() {
        let mut rng = Rng::stream(1, 1, 1, Purpose::Impression);
        let warp = Warp::sample(
            &PlacementConfig::default(),
            288,
            384,
            (184.0, 232.0),
            (184.0, 240.0),
            &mut rng,
        );
        let (cx, cy) = warp.contact_center;
        assert_eq!(warp.displacement(cx + 1.0, cy), (0.0, 0.0));
        let far = warp.displacement(cx + 300.0, cy);
        assert!(far.0.abs() + far.1.abs() > 0.1);
    }
}
