//! Acquisition conditions: the stresses a capture protocol puts a matcher under on purpose
//! (placement, pressure, distortion, rotation, dry, wet, creased, worn, partial and optical
//! prints), applied on top of an ordinary impression.
//!
//! A condition is written `NAME`, `NAME:S` or `NAME:A..B` with severities 1 (mild) to 3
//! (strong); a range draws each impression's severity uniformly from it. Without a severity a
//! condition is at 2, except `dry`, which spans `1..3` as a population of dry fingers does.
//! Several conditions combine (`dry,creases`).
//!
//! A key design decision: every random draw a condition makes comes from its own stream
//! ([`Purpose::Condition`](crate::rng::Purpose::Condition)), and the ordinary impression's draws are made in the same order
//! with or without conditions, so the unstressed output stays byte-identical and a stressed
//! print is the same finger on the same touch, only degraded.
//!
//! Ground truth stays the master's minutiae seen through the impression's warp: breaks, merged
//! valleys, blotches and wear are not minutiae, so detections they cause count against
//! precision and the minutiae they hide against recall. Three conditions remove truth: a
//! minutia under a crease (within its half-width plus [`CREASE_TRUTH_MARGIN_PX`]) is dropped,
//! since no extractor can see it; `placement` and `partial` drop what leaves the image or the
//! contact area, as every impression does; and any minutia whose position cannot be carried
//! back through a strong distortion to within [`TRUTH_ROUND_TRIP_PX`] is dropped rather than
//! written at a wrong place.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::impression_config::ImpressionConfig;
use crate::rng::Rng;

/// A minutia within this distance of a crease's edge is not ground truth.
pub const CREASE_TRUTH_MARGIN_PX: f64 = 3.0;
/// Largest error of the numerical inverse of the warp for a minutia to stay ground truth.
pub const TRUTH_ROUND_TRIP_PX: f64 = 0.5;

/// The kinds of acquisition condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConditionKind {
    /// Impressions placed high and low on the sensor: little common area between them.
    Placement,
    /// Pressed hard: thick ridges, narrow valleys, high contrast.
    PressureHigh,
    /// Touched lightly: thin ridges, low contrast, small contact.
    PressureLow,
    /// Strong non-linear skin distortion (finger pushed sideways on the glass).
    Distortion,
    /// Rotated far, beyond ±20°.
    Rotation,
    /// Dry skin: light, dashed, broken ridges with pores.
    Dry,
    /// Wet skin: dark print, merged ridges, speckle noise.
    Wet,
    /// Creases: white curves of varying width and number across the ridges.
    Creases,
    /// Worn ridges: low ridge height, low contrast, faded patches.
    Worn,
    /// Partial contact: a small part of the fingertip touches.
    Partial,
    /// Optical sensor: low contrast, bright background, blotches and noise.
    Optical,
}

impl ConditionKind {
    /// Every condition, in the order of the stress report.
    pub const ALL: [ConditionKind; 11] = [
        ConditionKind::Placement,
        ConditionKind::PressureHigh,
        ConditionKind::PressureLow,
        ConditionKind::Distortion,
        ConditionKind::Rotation,
        ConditionKind::Dry,
        ConditionKind::Wet,
        ConditionKind::Creases,
        ConditionKind::Worn,
        ConditionKind::Partial,
        ConditionKind::Optical,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionKind::Placement => "placement",
            ConditionKind::PressureHigh => "pressure-high",
            ConditionKind::PressureLow => "pressure-low",
            ConditionKind::Distortion => "distortion",
            ConditionKind::Rotation => "rotation",
            ConditionKind::Dry => "dry",
            ConditionKind::Wet => "wet",
            ConditionKind::Creases => "creases",
            ConditionKind::Worn => "worn",
            ConditionKind::Partial => "partial",
            ConditionKind::Optical => "optical",
        }
    }

    fn default_severity(self) -> (u8, u8) {
        match self {
            ConditionKind::Dry => (1, 3),
            _ => (2, 2),
        }
    }
}

/// One condition with its severity range (1–3, low first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Condition {
    /// What is applied.
    pub kind: ConditionKind,
    /// Lowest and highest severity; each impression draws one from this range.
    pub severity: (u8, u8),
}

impl Condition {
    /// The canonical spelling (`dry:1..3`, `creases:2`).
    pub fn name(&self) -> String {
        let (a, b) = self.severity;
        if a == b {
            format!("{}:{a}", self.kind.as_str())
        } else {
            format!("{}:{a}..{b}", self.kind.as_str())
        }
    }

    /// Parses `NAME`, `NAME:S` or `NAME:A..B`.
    pub fn parse(text: &str) -> Result<Condition> {
        let text = text.trim();
        let (name, severity) = match text.split_once(':') {
            Some((n, s)) => (n, Some(s)),
            None => (text, None),
        };
        let kind =
            ConditionKind::ALL.iter().copied().find(|k| k.as_str() == name).ok_or_else(|| {
                let names: Vec<&str> = ConditionKind::ALL.iter().map(|k| k.as_str()).collect();
                Error::InvalidConfig(format!(
                    "unknown condition {name:?}; choose from {}",
                    names.join(", ")
                ))
            })?;
        let severity = match severity {
            None => kind.default_severity(),
            Some(s) => parse_severity(s).ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "condition {text:?}: severity must be 1, 2, 3 or a range A..B of them"
                ))
            })?,
        };
        Ok(Condition { kind, severity })
    }
}

fn parse_severity(text: &str) -> Option<(u8, u8)> {
    let one = |s: &str| s.trim().parse::<u8>().ok().filter(|v| (1..=3).contains(v));
    match text.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (one(a)?, one(b)?);
            (a <= b).then_some((a, b))
        }
        None => one(text).map(|v| (v, v)),
    }
}

/// Parses a comma-separated list of conditions; a kind may appear once.
pub fn parse_list(text: &str) -> Result<Vec<Condition>> {
    let mut list: Vec<Condition> = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let c = Condition::parse(part)?;
        if list.iter().any(|o| o.kind == c.kind) {
            return Err(Error::InvalidConfig(format!(
                "condition {} is given twice",
                c.kind.as_str()
            )));
        }
        list.push(c);
    }
    if list.is_empty() {
        return Err(Error::InvalidConfig("an empty list of conditions".into()));
    }
    Ok(list)
}

/// The canonical name of a list (`dry:1..3,creases:2`), or `clean` for none.
pub fn list_name(conditions: &[Condition]) -> String {
    if conditions.is_empty() {
        return "clean".into();
    }
    conditions.iter().map(Condition::name).collect::<Vec<_>>().join(",")
}

/// A white crease across the ridges: a quadratic curve in impression pixels and its width.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crease {
    /// Start, control and end points.
    pub points: [(f64, f64); 3],
    /// Full width, pixels.
    pub width_px: f64,
}

impl Crease {
    /// Points along the curve (a polyline fine enough for the widths drawn).
    pub fn polyline(&self) -> Vec<(f64, f64)> {
        const SEGMENTS: usize = 32;
        let [a, c, b] = self.points;
        (0..=SEGMENTS)
            .map(|i| {
                let t = i as f64 / SEGMENTS as f64;
                let u = 1.0 - t;
                (
                    u * u * a.0 + 2.0 * u * t * c.0 + t * t * b.0,
                    u * u * a.1 + 2.0 * u * t * c.1 + t * t * b.1,
                )
            })
            .collect()
    }

    /// Distance from a point to the curve's centre line.
    pub fn distance(&self, x: f64, y: f64) -> f64 {
        let line = self.polyline();
        line.windows(2).map(|w| segment_distance((x, y), w[0], w[1])).fold(f64::MAX, f64::min)
    }
}

pub(crate) fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length2 = (dx * dx + dy * dy).max(1e-12);
    let t = (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / length2).clamp(0.0, 1.0);
    ((p.0 - a.0 - t * dx).powi(2) + (p.1 - a.1 - t * dy).powi(2)).sqrt()
}

/// A soft round patch: centre, radius (the Gaussian's σ) and strength 0–1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Patch {
    /// Centre in impression pixels.
    pub center: (f64, f64),
    /// Gaussian σ, pixels.
    pub sigma_px: f64,
    /// Effect at the centre, 0–1.
    pub strength: f64,
}

impl Patch {
    /// The patch's weight at a pixel, 0–`strength`.
    #[inline]
    pub fn at(&self, x: f64, y: f64) -> f64 {
        let d2 = (x - self.center.0).powi(2) + (y - self.center.1).powi(2);
        self.strength * (-d2 / (2.0 * self.sigma_px * self.sigma_px)).exp()
    }
}

pub use crate::warp::ShearWave;

/// Everything the conditions do to one impression, drawn once per impression.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stress {
    /// Finger rotation to use instead of the ordinary draw, radians.
    pub rotation_rad: Option<f64>,
    /// Added to the finger's translation on the master, pixels.
    pub shift_px: (f64, f64),
    /// Skin distortion to use instead of the ordinary draw: rotation (radians) and translation.
    pub skin: Option<(f64, (f64, f64))>,
    /// Non-linear shear waves added to the skin distortion.
    pub shear: Vec<ShearWave>,
    /// Whatever lies outside the master canvas is background, not mid-grey (large shifts).
    pub clip_to_canvas: bool,
    /// Fraction of ridge length lost to dashes (dry), 0 for none.
    pub dash_fraction: f64,
    /// Merged-valley patches (wet): valleys filled with ink up to the patch strength.
    pub merge: Vec<Patch>,
    /// Extra 3 × 3 blur passes of the ink (wet, worn).
    pub extra_blur: u32,
    /// Ridge height kept, 0–1 (worn: valleys rise towards the ridges), 1 for none.
    pub ridge_height: f64,
    /// Faded patches: ink multiplied by `1 − weight` (worn, optical blotches).
    pub fade: Vec<Patch>,
    /// Dark blotches on the sensor: grey levels removed at the centre (optical residue).
    pub dark: Vec<Patch>,
    /// White creases across the ridges.
    pub creases: Vec<Crease>,
}

impl Stress {
    /// No condition: the ordinary impression.
    pub fn none() -> Stress {
        Stress { ridge_height: 1.0, ..Default::default() }
    }

    /// Whether this changes nothing.
    pub fn is_none(&self) -> bool {
        *self == Stress::none()
    }

    /// Draws what `conditions` do to impression `impression` (from 1), changing `config`'s
    /// ranges where a condition is a matter of ranges. `rng` is the condition stream.
    pub fn draw(
        conditions: &[Condition],
        impression: u32,
        width: u32,
        height: u32,
        config: &mut ImpressionConfig,
        rng: &mut Rng,
    ) -> Stress {
        let mut s = Stress::none();
        let (w, h) = (width as f64, height as f64);
        for c in conditions {
            let (a, b) = c.severity;
            let severity = a + rng.below(u32::from(b - a) + 1) as u8;
            // 0 (mild), 0.5, 1 (strong).
            let t = f64::from(severity - 1) / 2.0;
            match c.kind {
                ConditionKind::Placement => {
                    // Odd impressions high, even ones low, so that every finger has pairs far
                    // apart; the master moves the other way from the view.
                    let sign = if impression % 2 == 1 { -1.0 } else { 1.0 };
                    let dy = rng.uniform(40.0 + 25.0 * t, 60.0 + 30.0 * t);
                    s.shift_px = (s.shift_px.0 + rng.gaussian(0.0, 15.0), s.shift_px.1 + sign * dy);
                    s.clip_to_canvas = true;
                }
                ConditionKind::PressureHigh => {
                    config.pressure = (0.55 + 0.2 * t, 0.8 + 0.2 * t);
                    config.contrast = (0.85, 1.0);
                    config.dryness = (0.05, 0.2);
                    config.contact_scale = (0.9, 1.0);
                }
                ConditionKind::PressureLow => {
                    config.pressure = (-1.0, -0.8 + 0.2 * (1.0 - t));
                    config.contrast = (0.55 - 0.25 * t, 0.7 - 0.25 * t);
                    config.contact_scale = (0.7 - 0.1 * t, 0.85 - 0.1 * t);
                }
                ConditionKind::Distortion => {
                    let rot = rng.uniform(6.0 + 2.0 * t, 9.0 + 5.0 * t).to_radians();
                    let rot = if rng.chance(0.5) { -rot } else { rot };
                    let along = rng.uniform(0.0, std::f64::consts::TAU);
                    let shift = rng.uniform(10.0 + 4.0 * t, 14.0 + 8.0 * t);
                    s.skin = Some((rot, (shift * along.cos(), shift * along.sin())));
                    for _ in 0..2 {
                        let dir = rng.uniform(0.0, std::f64::consts::TAU);
                        let k = std::f64::consts::TAU / rng.uniform(170.0, 260.0);
                        let amp = rng.uniform(1.5, 2.5 + 3.0 * t);
                        s.shear.push(ShearWave {
                            k: (k * dir.cos(), k * dir.sin()),
                            phase: rng.uniform(0.0, std::f64::consts::TAU),
                            amplitude: (-amp * dir.sin(), amp * dir.cos()),
                        });
                    }
                }
                ConditionKind::Rotation => {
                    let deg = rng.uniform(15.0, 25.0 + 10.0 * f64::from(severity));
                    let sign = if rng.chance(0.5) { -1.0 } else { 1.0 };
                    s.rotation_rad = Some(sign * deg.to_radians());
                }
                ConditionKind::Dry => {
                    config.dryness = (0.3 + 0.15 * t, 0.4 + 0.15 * t);
                    config.contrast = (0.6 - 0.15 * t, 0.8 - 0.15 * t);
                    config.pressure = (-0.8, 0.0);
                    s.dash_fraction = 0.1 + 0.15 * t;
                }
                ConditionKind::Wet => {
                    config.pressure = (0.7, 1.0);
                    config.contrast = (0.85, 1.0);
                    config.dryness = (0.0, 0.1);
                    config.speckle = 0.12 + 0.08 * t;
                    config.background_level = (140.0 - 20.0 * t, 170.0 - 20.0 * t);
                    config.noise_sd = 9.0 + 3.0 * t;
                    s.extra_blur += 1;
                    for _ in 0..(3 + 2 * severity) {
                        s.merge.push(Patch {
                            center: (rng.uniform(0.0, w), rng.uniform(0.0, h)),
                            sigma_px: rng.uniform(15.0, 35.0),
                            strength: rng.uniform(0.4, 0.6 + 0.25 * t),
                        });
                    }
                }
                ConditionKind::Creases => {
                    let count = 2 + 2 * u32::from(severity) + rng.below(4);
                    for _ in 0..count {
                        s.creases.push(draw_crease(
                            w,
                            h,
                            1.5,
                            2.5 + 2.5 * f64::from(severity),
                            rng,
                        ));
                    }
                }
                ConditionKind::Worn => {
                    config.contrast = (0.45 - 0.1 * t, 0.6 - 0.1 * t);
                    config.pressure = (0.0, 0.6);
                    s.ridge_height = s.ridge_height.min(0.7 - 0.2 * t);
                    s.extra_blur += 1;
                    for _ in 0..(2 + severity) {
                        s.fade.push(Patch {
                            center: (rng.uniform(0.0, w), rng.uniform(0.0, h)),
                            sigma_px: rng.uniform(20.0, 45.0),
                            strength: rng.uniform(0.3, 0.5 + 0.2 * t),
                        });
                    }
                }
                ConditionKind::Partial => {
                    config.contact_scale = (0.65 - 0.1 * t, 0.8 - 0.1 * t);
                    config.contact_offset_sd_px = 30.0 + 15.0 * t;
                }
                ConditionKind::Optical => {
                    config.background_level = (205.0, 235.0);
                    config.contrast = (0.5 - 0.1 * t, 0.7 - 0.1 * t);
                    config.vignette = 45.0;
                    config.noise_sd = 8.0 + 3.0 * t;
                    config.dirt_mean = 8.0;
                    for _ in 0..(3 + 2 * severity) {
                        s.fade.push(Patch {
                            center: (rng.uniform(0.0, w), rng.uniform(0.0, h)),
                            sigma_px: rng.uniform(12.0, 40.0),
                            strength: rng.uniform(0.35, 0.6 + 0.2 * t),
                        });
                    }
                    for _ in 0..(1 + severity) {
                        s.dark.push(Patch {
                            center: (rng.uniform(0.0, w), rng.uniform(0.0, h)),
                            sigma_px: rng.uniform(10.0, 30.0),
                            strength: rng.uniform(15.0, 35.0),
                        });
                    }
                }
            }
        }
        s
    }
}

/// A crease runs across the finger, mostly sideways (within ±35° of horizontal), through a
/// random point of the image, and bends a little.
fn draw_crease(w: f64, h: f64, min_width: f64, max_width: f64, rng: &mut Rng) -> Crease {
    let center = (rng.uniform(0.1 * w, 0.9 * w), rng.uniform(0.1 * h, 0.9 * h));
    let angle = rng.uniform(-35.0f64, 35.0).to_radians();
    let half = rng.uniform(0.3, 0.8) * w;
    let (c, s) = (angle.cos(), angle.sin());
    let a = (center.0 - half * c, center.1 - half * s);
    let b = (center.0 + half * c, center.1 + half * s);
    let bend = rng.gaussian(0.0, 0.12 * half);
    let control = (center.0 - bend * s, center.1 + bend * c);
    Crease { points: [a, control, b], width_px: rng.uniform(min_width, max_width) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_severities() {
        assert_eq!(Condition::parse("dry").expect("dry").severity, (1, 3));
        assert_eq!(Condition::parse("dry:3").expect("dry:3").severity, (3, 3));
        assert_eq!(Condition::parse("creases:1..2").expect("range").severity, (1, 2));
        assert_eq!(Condition::parse("pressure-high").expect("ph").name(), "pressure-high:2");
        for bad in ["dusty", "dry:0", "dry:4", "dry:3..1", "dry:", "dry:a"] {
            assert!(Condition::parse(bad).is_err(), "{bad}");
        }
        let list = parse_list("dry:1..3, creases").expect("list");
        assert_eq!(list_name(&list), "dry:1..3,creases:2");
        assert!(parse_list("dry,dry:2").is_err());
        assert!(parse_list("").is_err());
        for k in ConditionKind::ALL {
            assert_eq!(Condition::parse(k.as_str()).expect("name").kind, k);
        }
    }

    #[test]
    fn crease_distance_is_zero_on_the_curve() {
        let c = Crease { points: [(0.0, 10.0), (50.0, 10.0), (100.0, 10.0)], width_px: 4.0 };
        assert!(c.distance(30.0, 10.0) < 1e-9);
        assert!((c.distance(30.0, 17.0) - 7.0).abs() < 1e-9);
    }
}
