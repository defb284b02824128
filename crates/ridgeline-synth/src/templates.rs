//! Template-level synthesis: minutiae templates of synthetic fingers without rendering images.
//!
//! For million-finger galleries, rendering is far too slow. Instead each finger gets the same
//! analytic model as a rendered master (class, outline, singular points, orientation field), its
//! minutiae are drawn as a hard-core point process over the fingertip with directions along the
//! model's ridge orientation, and each impression carries them through the same placement,
//! skin distortion and partial contact as a rendered impression, then applies what an extractor
//! does to them: misses some, adds spurious ones, and jitters positions and directions.
//!
//! The densities and spacings are calibrated against rendered masters (see `docs/SYNTH.md` and
//! the statistics test), so the templates look to a matcher like extracted synthetic prints.
//!
//! Random access: [`generate`] gives any `(finger, impression)` directly; the finger's master
//! minutiae are redrawn from the finger's own random stream, so the result does not depend on
//! which other fingers were generated.

use std::f64::consts::PI;

use ridgeline::{Minutia, MinutiaKind, Template};
use serde::{Deserialize, Serialize};

use crate::class::PatternClass;
use crate::error::{Error, Result};
use crate::impression::{carry_if_visible, Contact};
use crate::master::MasterConfig;
use crate::minutiae::angular_distance;
use crate::model::FingerModel;
use crate::params;
use crate::rng::{Purpose, Rng};
use crate::warp::{PlacementConfig, Warp};

/// How template-level fingers and impressions are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateConfig {
    /// Image geometry and class frequencies (shared with rendered masters).
    pub master: MasterConfig,
    /// Rotation, translation and skin distortion (shared with rendered impressions).
    pub placement: PlacementConfig,
    /// Range of the contact scale (see [`crate::ImpressionConfig::contact_scale`]).
    pub contact_scale: (f64, f64),
    /// Standard deviation of the contact offset, pixels.
    pub contact_offset_sd_px: f64,
    /// Master minutiae per 10,000 square pixels of fingertip (inside the truth margin).
    pub density_per_10k_px2: f64,
    /// No two master minutiae are closer than this, pixels.
    pub min_spacing_px: f64,
    /// Fraction of bifurcations among master minutiae.
    pub bifurcation_fraction: f64,
    /// Fraction of visible minutiae an extractor misses.
    pub missed_fraction: f64,
    /// Spurious minutiae per impression, as a fraction of the visible true ones.
    pub spurious_fraction: f64,
    /// Standard deviation of position errors, pixels.
    pub position_jitter_px: f64,
    /// Standard deviation of direction errors, degrees.
    pub angle_jitter_deg: f64,
    /// Minutiae closer than this to another are dropped in pairs, as extractors drop close pairs
    /// (broken ridges, bridges), pixels.
    pub close_pair_px: f64,
    /// Probability that an extractor reports the other kind (as when a ridge breaks at a fork
    /// or touches its neighbour); the direction is kept, as the core convention implies.
    pub kind_flip: f64,
}

impl Default for TemplateConfig {
    fn default() -> Self {
        let impression = crate::ImpressionConfig::default();
        TemplateConfig {
            master: MasterConfig::default(),
            placement: impression.placement,
            contact_scale: impression.contact_scale,
            contact_offset_sd_px: impression.contact_offset_sd_px,
            density_per_10k_px2: params::TEMPLATE_DENSITY_PER_10K_PX2,
            min_spacing_px: params::TEMPLATE_MIN_SPACING_PX,
            bifurcation_fraction: params::TEMPLATE_BIFURCATION_FRACTION,
            missed_fraction: 0.15,
            spurious_fraction: 0.04,
            position_jitter_px: 1.5,
            angle_jitter_deg: 5.0,
            kind_flip: 0.15,
            close_pair_px: 8.0,
        }
    }
}

impl TemplateConfig {
    /// The configuration without extractor errors: templates equal the ground truth of
    /// rendered impressions (used to check the model against rendering).
    pub fn truth_like() -> Self {
        TemplateConfig {
            missed_fraction: 0.0,
            spurious_fraction: 0.0,
            position_jitter_px: 0.0,
            angle_jitter_deg: 0.0,
            kind_flip: 0.0,
            close_pair_px: 0.0,
            ..TemplateConfig::default()
        }
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<()> {
        self.master.validate()?;
        let fraction = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::InvalidConfig(format!("{name} = {v} must lie in [0, 1]")))
            }
        };
        fraction("bifurcation_fraction", self.bifurcation_fraction)?;
        fraction("missed_fraction", self.missed_fraction)?;
        fraction("spurious_fraction", self.spurious_fraction)?;
        fraction("kind_flip", self.kind_flip)?;
        let positive = |name: &str, v: f64, max: f64| {
            if v.is_finite() && (0.0..=max).contains(&v) {
                Ok(())
            } else {
                Err(Error::InvalidConfig(format!("{name} = {v} must lie in [0, {max}]")))
            }
        };
        positive("density_per_10k_px2", self.density_per_10k_px2, 50.0)?;
        positive("min_spacing_px", self.min_spacing_px, 50.0)?;
        positive("position_jitter_px", self.position_jitter_px, 50.0)?;
        positive("angle_jitter_deg", self.angle_jitter_deg, 180.0)?;
        positive("contact_offset_sd_px", self.contact_offset_sd_px, 200.0)?;
        positive("close_pair_px", self.close_pair_px, 50.0)?;
        if !(0.2..=1.5).contains(&self.contact_scale.0)
            || self.contact_scale.0 > self.contact_scale.1
            || self.contact_scale.1 > 1.5
        {
            return Err(Error::InvalidConfig(format!("contact_scale {:?}", self.contact_scale)));
        }
        Ok(())
    }
}

/// A template-level master: the finger model and its minutiae on the master canvas.
#[derive(Debug, Clone)]
pub struct TemplateMaster {
    /// The finger's geometry.
    pub model: FingerModel,
    /// Master minutiae (canvas coordinates).
    pub minutiae: Vec<Minutia>,
}

impl TemplateMaster {
    /// Draws the master of `finger` (from 1) for `seed`.
    pub fn generate(seed: u64, finger: u64, config: &TemplateConfig) -> TemplateMaster {
        let mut rng = Rng::stream(seed, finger, 0, Purpose::TemplateMaster);
        let class = PatternClass::sample(&mut rng, &config.master.class_weights);
        let (width, height) = config.master.canvas();
        let model = FingerModel::sample(class, width, height, &mut rng);
        let s = model.silhouette;
        // The region where truth minutiae live: the outline shrunk by the truth margin.
        let shrink = 1.0 - params::TRUTH_OUTLINE_MARGIN_PX / s.half_width.min(s.half_height_top);
        let area = superellipse_area(&s) * shrink * shrink;
        let count = rng.poisson(config.density_per_10k_px2 * area / 10_000.0) as usize;
        let spacing2 = config.min_spacing_px * config.min_spacing_px;
        let mut minutiae: Vec<Minutia> = Vec::with_capacity(count);
        let (x0, x1) = (s.cx - s.half_width, s.cx + s.half_width);
        let (y0, y1) = (s.cy - s.half_height_top, s.cy + s.half_height_bottom);
        let mut attempts = 0;
        while minutiae.len() < count && attempts < count * 200 {
            attempts += 1;
            let (x, y) = (rng.uniform(x0, x1), rng.uniform(y0, y1));
            if s.depth(x, y) < params::TRUTH_OUTLINE_MARGIN_PX {
                continue;
            }
            // Grown ridges meet out of phase more often near the centre of the fingertip.
            if !rng.chance((-params::TEMPLATE_CENTRAL_FALLOFF * s.radius(x, y)).exp()) {
                continue;
            }
            let crowded = minutiae.iter().any(|m| {
                let (dx, dy) = (m.x as f64 - x, m.y as f64 - y);
                dx * dx + dy * dy < spacing2
            });
            if crowded {
                continue;
            }
            let flip = if rng.chance(0.5) { PI } else { 0.0 };
            let spread = if rng.chance(params::TEMPLATE_ANGLE_WIDE_FRACTION) {
                params::TEMPLATE_ANGLE_WIDE_SD_DEG
            } else {
                params::TEMPLATE_ANGLE_SD_DEG
            };
            let deviation = rng.gaussian(0.0, spread.to_radians());
            let angle = model.orientation(x, y) + flip + deviation;
            let kind = if rng.chance(config.bifurcation_fraction) {
                MinutiaKind::Bifurcation
            } else {
                MinutiaKind::Ending
            };
            minutiae.push(Minutia {
                x: x as f32,
                y: y as f32,
                angle: ridgeline::template::normalize_angle(angle as f32),
                kind,
                quality: 100,
            });
        }
        TemplateMaster { model, minutiae }
    }

    /// Impression `impression` (from 1) of this master, as an extractor would report it.
    pub fn impression(
        &self,
        seed: u64,
        finger: u64,
        impression: u32,
        config: &TemplateConfig,
    ) -> Template {
        let mut rng = Rng::stream(seed, finger, impression, Purpose::TemplateImpression);
        let (width, height) = (config.master.width, config.master.height);
        let canvas_center = (self.model.width as f64 / 2.0, self.model.height as f64 / 2.0);
        let s = self.model.silhouette;
        let warp =
            Warp::sample(&config.placement, width, height, canvas_center, (s.cx, s.cy), &mut rng);
        let contact = Contact::sample(config.contact_scale, config.contact_offset_sd_px, &mut rng);
        let jitter_angle = config.angle_jitter_deg.to_radians();
        let mut minutiae = Vec::with_capacity(self.minutiae.len() + 8);
        for m in &self.minutiae {
            let (mx, my) = (m.x as f64, m.y as f64);
            let Some((x, y)) = carry_if_visible(&s, &warp, &contact, width, height, mx, my) else {
                continue;
            };
            if rng.chance(config.missed_fraction) {
                continue;
            }
            let angle = warp.direction_to_impression(mx, my, m.angle as f64);
            let mut kind = m.kind;
            if rng.chance(config.kind_flip) {
                // A fork whose arm breaks off (or an ending that touches its neighbour) changes
                // kind; with the core crate's convention (a bifurcation points away from its
                // stem) its direction stays.
                kind = other_kind(kind);
            }
            minutiae.push(Minutia {
                x: (x + rng.gaussian(0.0, config.position_jitter_px)) as f32,
                y: (y + rng.gaussian(0.0, config.position_jitter_px)) as f32,
                angle: ridgeline::template::normalize_angle(
                    (angle + rng.gaussian(0.0, jitter_angle)) as f32,
                ),
                kind,
                quality: (60.0 + rng.uniform(0.0, 40.0)) as u8,
            });
        }
        if config.close_pair_px > 0.0 {
            let limit = (config.close_pair_px * config.close_pair_px) as f32;
            let crowded: Vec<bool> = minutiae
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    minutiae.iter().enumerate().any(|(j, b)| {
                        let d2 = (a.x - b.x).powi(2) + (a.y - b.y).powi(2);
                        // Minutiae facing each other across a gap look like a broken ridge
                        // to an extractor, which removes both over a longer range.
                        let facing = angular_distance(a.angle as f64, b.angle as f64)
                            > params::TEMPLATE_FACING_ANGLE_RAD;
                        let range = if facing {
                            limit * params::TEMPLATE_FACING_RANGE_FACTOR
                        } else {
                            limit
                        };
                        i != j && d2 < range
                    })
                })
                .collect();
            let mut keep = crowded.iter().map(|c| !c);
            minutiae.retain(|_| keep.next().unwrap_or(true));
        }
        // Spurious minutiae: anywhere in the visible area, along the ridges.
        let spurious = rng.poisson(config.spurious_fraction * minutiae.len() as f64);
        let mut attempts = 0;
        let mut added = 0;
        while added < spurious && attempts < 200 {
            attempts += 1;
            let (x, y) = (rng.uniform(0.0, width as f64), rng.uniform(0.0, height as f64));
            let (mx, my) = warp.to_master(x, y);
            if contact.visibility(&s, mx, my) < 1.0
                || s.depth(mx, my) < params::TRUTH_OUTLINE_MARGIN_PX
            {
                continue;
            }
            let flip = if rng.chance(0.5) { PI } else { 0.0 };
            let angle = warp.direction_to_impression(mx, my, self.model.orientation(mx, my) + flip);
            let kind = if rng.chance(0.5) { MinutiaKind::Ending } else { MinutiaKind::Bifurcation };
            minutiae.push(Minutia {
                x: x as f32,
                y: y as f32,
                angle: ridgeline::template::normalize_angle(angle as f32),
                kind,
                quality: (30.0 + rng.uniform(0.0, 50.0)) as u8,
            });
            added += 1;
        }
        minutiae.truncate(ridgeline::template::MAX_MINUTIAE);
        let quality = (45.0 + rng.uniform(0.0, 50.0)) as u8;
        let singular_points = self
            .model
            .singular_points()
            .into_iter()
            .filter_map(|mut p| {
                let (x, y) = warp.to_impression(p.x as f64, p.y as f64);
                let inside = x >= 0.0 && y >= 0.0 && x < width as f64 && y < height as f64;
                p.x = x as f32;
                p.y = y as f32;
                inside.then_some(p)
            })
            .collect();
        Template {
            width,
            height,
            dpi: ridgeline::image::STANDARD_DPI,
            quality,
            minutiae,
            singular_points,
        }
    }
}

fn other_kind(kind: MinutiaKind) -> MinutiaKind {
    match kind {
        MinutiaKind::Ending => MinutiaKind::Bifurcation,
        MinutiaKind::Bifurcation => MinutiaKind::Ending,
    }
}

/// Captures of one impression before [`TemplateMaster::capture`] gives up.
pub const RECAPTURE_ATTEMPTS: u8 = 8;
/// Impression numbers between one capture attempt and the next: far above any impression a
/// population plans, so a recapture never repeats another planned impression.
pub const RECAPTURE_STRIDE: u32 = 1000;

impl TemplateMaster {
    /// Impression `impression` (from 1), captured again as a clerk would ask while it holds
    /// fewer than `min_minutiae` minutiae (attempt `k` is impression `impression + k ×`
    /// [`RECAPTURE_STRIDE`]); `None` when [`RECAPTURE_ATTEMPTS`] captures all stay too sparse.
    pub fn capture(
        &self,
        seed: u64,
        finger: u64,
        impression: u32,
        config: &TemplateConfig,
        min_minutiae: usize,
    ) -> Option<Template> {
        (0..RECAPTURE_ATTEMPTS).find_map(|attempt| {
            let number = u32::from(attempt) * RECAPTURE_STRIDE + impression;
            let template = self.impression(seed, finger, number, config);
            (template.minutiae.len() >= min_minutiae).then_some(template)
        })
    }
}

/// The template of impression `impression` (from 1) of finger `finger` (from 1) for `seed`.
///
/// Random access: costs one master draw plus one impression, whatever the index.
pub fn generate(
    seed: u64,
    finger: u64,
    impression: u32,
    config: &TemplateConfig,
) -> Result<Template> {
    config.validate()?;
    if finger == 0 || impression == 0 {
        return Err(Error::InvalidConfig(format!(
            "fingers and impressions are numbered from 1 (got finger {finger}, impression {impression})"
        )));
    }
    Ok(TemplateMaster::generate(seed, finger, config).impression(seed, finger, impression, config))
}

/// Area of the fingertip outline (two half super-ellipses).
fn superellipse_area(s: &crate::model::Silhouette) -> f64 {
    let p = s.exponent;
    let quadrant_factor = (2.0 * ln_gamma(1.0 + 1.0 / p) - ln_gamma(1.0 + 2.0 / p)).exp();
    2.0 * s.half_width * (s.half_height_top + s.half_height_bottom) * quadrant_factor
}

/// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.5203681218851,
        -1259.1392167224028,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507343278686905,
        -0.13857109526572012,
        9.984_369_578_019_572e-6,
        1.5056327351493116e-7,
    ];
    if x < 0.5 {
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_known_values() {
        assert!(ln_gamma(1.0).abs() < 1e-12);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-10);
        assert!((ln_gamma(0.5) - PI.sqrt().ln()).abs() < 1e-10);
    }

    #[test]
    fn superellipse_area_matches_numeric_area() {
        let mut rng = Rng::stream(2, 2, 0, Purpose::Master);
        let model = FingerModel::sample(PatternClass::Whorl, 368, 464, &mut rng);
        let analytic = superellipse_area(&model.silhouette);
        let numeric = model.silhouette.area();
        assert!((analytic / numeric - 1.0).abs() < 0.02, "{analytic} vs {numeric}");
    }

    #[test]
    fn random_access_and_determinism() {
        let config = TemplateConfig::default();
        let a = generate(11, 1234, 3, &config).expect("generate");
        let b = generate(11, 1234, 3, &config).expect("generate");
        assert_eq!(a, b);
        assert_ne!(a, generate(12, 1234, 3, &config).expect("generate"));
        assert_ne!(a, generate(11, 1234, 4, &config).expect("generate"));
        assert!(a.validate().is_ok());
        assert!(generate(11, 0, 1, &config).is_err());
    }

    #[test]
    fn impressions_of_one_finger_share_minutiae() {
        // Without extractor errors, two impressions of a finger, mapped back to the master,
        // land on the same master minutiae.
        let config = TemplateConfig::truth_like();
        let master = TemplateMaster::generate(5, 77, &config);
        let a = master.impression(5, 77, 1, &config);
        let b = master.impression(5, 77, 2, &config);
        assert!(
            a.minutiae.len() >= 10 && b.minutiae.len() >= 10,
            "{} {}",
            a.minutiae.len(),
            b.minutiae.len()
        );
        let other = TemplateMaster::generate(5, 78, &config);
        assert_ne!(master.minutiae.len(), 0);
        assert_ne!(master.minutiae, other.minutiae);
    }
}
