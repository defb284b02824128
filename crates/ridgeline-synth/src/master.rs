//! Master fingerprints: one per finger, from which every impression is taken.

use ridgeline::Minutia;
use serde::{Deserialize, Serialize};

use crate::class::{PatternClass, NATURAL_CLASS_FREQUENCIES};
use crate::error::{Error, Result};
use crate::minutiae;
use crate::model::FingerModel;
use crate::params;
use crate::ridges::{self, RidgeMap};
use crate::rng::{Purpose, Rng};

/// How masters are generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MasterConfig {
    /// Width of the impressions the masters are for, in pixels at 500 dpi.
    pub width: u32,
    /// Height of the impressions, in pixels at 500 dpi.
    pub height: u32,
    /// Relative weights of arch, tented arch, left loop, right loop, whorl.
    pub class_weights: [f64; 5],
    /// Range of the number of random seeds the ridges grow from. More seeds, more places where
    /// growing patterns meet, more minutiae.
    pub seeds: (u32, u32),
}

impl Default for MasterConfig {
    /// FVC2002 DB4 geometry: 288 × 384 pixels, natural class frequencies.
    fn default() -> Self {
        MasterConfig {
            width: 288,
            height: 384,
            class_weights: NATURAL_CLASS_FREQUENCIES,
            seeds: (80, 140),
        }
    }
}

impl MasterConfig {
    /// Checks that the configuration can produce fingers.
    pub fn validate(&self) -> Result<()> {
        let side = ridgeline::image::MIN_SIDE_PX..=ridgeline::image::MAX_SIDE_PX;
        if !side.contains(&self.width) || !side.contains(&self.height) {
            return Err(Error::InvalidConfig(format!(
                "image size {}x{} is outside {}..={} pixels a side",
                self.width,
                self.height,
                side.start(),
                side.end()
            )));
        }
        if self.class_weights.iter().any(|w| !w.is_finite() || *w < 0.0)
            || self.class_weights.iter().sum::<f64>() <= 0.0
        {
            return Err(Error::InvalidConfig(format!(
                "class weights {:?} must be non-negative with a positive sum",
                self.class_weights
            )));
        }
        if self.seeds.0 == 0 || self.seeds.0 > self.seeds.1 || self.seeds.1 > 10_000 {
            return Err(Error::InvalidConfig(format!("seed range {:?}", self.seeds)));
        }
        Ok(())
    }

    /// Master canvas size: the image plus a margin on every side.
    pub fn canvas(&self) -> (u32, u32) {
        (self.width + 2 * params::MASTER_MARGIN_PX, self.height + 2 * params::MASTER_MARGIN_PX)
    }
}

/// A master fingerprint: its model, grown ridges and ground-truth minutiae, on a canvas
/// [`params::MASTER_MARGIN_PX`] larger than the image on every side.
#[derive(Debug, Clone)]
pub struct Master {
    /// The finger's geometry.
    pub model: FingerModel,
    /// The grown ridge signal.
    pub ridges: RidgeMap,
    /// Ground-truth minutiae in master canvas coordinates.
    pub minutiae: Vec<Minutia>,
}

impl Master {
    /// Generates the master of `finger` (from 1) for `seed`.
    pub fn generate(seed: u64, finger: u64, config: &MasterConfig) -> Result<Master> {
        config.validate()?;
        let mut rng = Rng::stream(seed, finger, 0, Purpose::Master);
        let class = PatternClass::sample(&mut rng, &config.class_weights);
        let (width, height) = config.canvas();
        let model = FingerModel::sample(class, width, height, &mut rng);
        let seeds = config.seeds.0 + rng.below(config.seeds.1 - config.seeds.0 + 1);
        let ridges = ridges::grow(&model, seeds as usize, &mut rng);
        let binary: Vec<bool> = ridges.values.iter().map(|&v| v > 0.0).collect();
        let silhouette = model.silhouette;
        let minutiae = minutiae::detect(ridges.width, ridges.height, &binary, |x, y| {
            silhouette.depth(x, y) >= params::TRUTH_OUTLINE_MARGIN_PX
        });
        Ok(Master { model, ridges, minutiae })
    }

    /// The pattern class.
    pub fn class(&self) -> PatternClass {
        self.model.class
    }

    /// Is the master pixel nearest to (x, y) on a ridge?
    pub fn is_ridge(&self, x: f64, y: f64) -> bool {
        self.ridges.get(x.round() as i64, y.round() as i64) > 0.0
    }

    /// The master drawn as an image (dark ridges inside the outline), for inspection.
    pub fn to_image(&self) -> Result<ridgeline::FingerImage> {
        let (w, h) = (self.ridges.width, self.ridges.height);
        let mut pixels = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let inside = self.model.silhouette.radius(x as f64, y as f64) <= 1.0;
                let v = self.ridges.values[y * w + x];
                let level =
                    if inside { 255.0 - 255.0 * (0.5 + 0.5 * v.clamp(-1.0, 1.0)) } else { 255.0 };
                pixels.push(level as u8);
            }
        }
        Ok(ridgeline::FingerImage::from_raw(w as u32, h as u32, 500, pixels)?)
    }
}
