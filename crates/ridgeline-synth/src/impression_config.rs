//! How impressions are degraded: the ranges every impression draws its own values from, which
//! acquisition conditions narrow or move.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::warp::PlacementConfig;

/// How impressions are degraded. Each effect has a range; every impression draws its own value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImpressionConfig {
    /// Rotation, translation and skin distortion.
    pub placement: PlacementConfig,
    /// Range of the contact scale: the fraction of the fingertip outline that touches the
    /// sensor (1 = all of it).
    pub contact_scale: (f64, f64),
    /// Standard deviation of the offset of the contact area from the fingertip centre, pixels
    /// (partial contact: one side of the finger lifted).
    pub contact_offset_sd_px: f64,
    /// Range of the pressure, −1 (light touch, thin ridges) to 1 (hard press, thick ridges).
    pub pressure: (f64, f64),
    /// Range of the fraction of ridge pixels lost to dry skin (breaks and pores), 0 to 0.6.
    pub dryness: (f64, f64),
    /// Fraction of valley pixels darkened by specks, 0 to 0.3.
    pub speckle: f64,
    /// Range of the ridge contrast, 0 (invisible) to 1 (black ridges on the background).
    pub contrast: (f64, f64),
    /// Range of the background grey level.
    pub background_level: (f64, f64),
    /// How much darker the image corners are than its centre, grey levels.
    pub vignette: f64,
    /// Mean number of scratches on the sensor.
    pub scratches_mean: f64,
    /// Mean number of dirt spots on the sensor.
    pub dirt_mean: f64,
    /// Standard deviation of the pixel noise, grey levels.
    pub noise_sd: f64,
}

impl Default for ImpressionConfig {
    /// Defaults tuned to look and score like FVC2002 DB4 (itself made by SFinGe).
    fn default() -> Self {
        ImpressionConfig {
            placement: PlacementConfig::default(),
            contact_scale: (0.75, 1.0),
            contact_offset_sd_px: 25.0,
            pressure: (-0.6, 0.7),
            dryness: (0.2, 0.5),
            speckle: 0.06,
            contrast: (0.7, 0.95),
            background_level: (185.0, 215.0),
            vignette: 35.0,
            scratches_mean: 1.0,
            dirt_mean: 4.0,
            noise_sd: 7.0,
        }
    }
}

impl ImpressionConfig {
    /// Checks ranges.
    pub fn validate(&self) -> Result<()> {
        let in_range = |name: &str, (a, b): (f64, f64), low: f64, high: f64| {
            if a.is_finite() && b.is_finite() && low <= a && a <= b && b <= high {
                Ok(())
            } else {
                Err(Error::InvalidConfig(format!(
                    "{name} ({a}, {b}) must lie in [{low}, {high}], low first"
                )))
            }
        };
        in_range("contact_scale", self.contact_scale, 0.2, 1.5)?;
        in_range("pressure", self.pressure, -1.0, 1.0)?;
        in_range("dryness", self.dryness, 0.0, 0.6)?;
        in_range("contrast", self.contrast, 0.0, 1.0)?;
        in_range("background_level", self.background_level, 0.0, 255.0)?;
        in_range("speckle", (self.speckle, self.speckle), 0.0, 0.3)?;
        in_range("noise_sd", (self.noise_sd, self.noise_sd), 0.0, 100.0)?;
        in_range("scratches_mean", (self.scratches_mean, self.scratches_mean), 0.0, 50.0)?;
        in_range("dirt_mean", (self.dirt_mean, self.dirt_mean), 0.0, 200.0)?;
        in_range("vignette", (self.vignette, self.vignette), 0.0, 255.0)?;
        let p = &self.placement;
        in_range("rotation_max_deg", (p.rotation_max_deg, p.rotation_max_deg), 0.0, 180.0)?;
        in_range("translation_sd_px", (p.translation_sd_px, p.translation_sd_px), 0.0, 500.0)?;
        in_range(
            "distortion_rotation_max_deg",
            (p.distortion_rotation_max_deg, p.distortion_rotation_max_deg),
            0.0,
            15.0,
        )?;
        in_range(
            "distortion_translation_max_px",
            (p.distortion_translation_max_px, p.distortion_translation_max_px),
            0.0,
            25.0,
        )?;
        in_range("contact_radius_px", p.contact_radius_px, 0.0, 500.0)?;
        in_range("brake_length_px", (p.brake_length_px, p.brake_length_px), 35.0, 1000.0)?;
        in_range(
            "contact_offset_sd_px",
            (self.contact_offset_sd_px, self.contact_offset_sd_px),
            0.0,
            200.0,
        )?;
        Ok(())
    }
}
