//! Impressions of a master: what a sensor would capture of the finger on one touch.
//!
//! Every output pixel is mapped to the master through the impression's [`Warp`] (placement and
//! skin distortion) and the ridge signal sampled there. Then, in the order a real capture
//! degrades: partial contact (only part of the fingertip touches), pressure (ridge thickness),
//! dry skin (ridges broken into dashes and pores) and ink-like specks, the sensor's background
//! with its vignetting and dirt, scratches, and noise.
//!
//! Ground truth is the master's minutiae carried through the same warp, kept only where they
//! are inside the image and well inside the visible ridge area.

use ridgeline::{FingerImage, Minutia};

use crate::condition::{
    segment_distance, Condition, Crease, Stress, CREASE_TRUTH_MARGIN_PX, TRUTH_ROUND_TRIP_PX,
};
use crate::error::Result;
pub use crate::impression_config::ImpressionConfig;
use crate::master::Master;
use crate::model::Silhouette;
use crate::params;
use crate::ridges::box_blur_3;
use crate::rng::{Purpose, Rng};
use crate::warp::Warp;

/// One rendered impression with its ground truth.
#[derive(Debug, Clone)]
pub struct Impression {
    /// The image, at 500 dpi.
    pub image: FingerImage,
    /// Ground-truth minutiae in image pixels.
    pub minutiae: Vec<Minutia>,
}

/// Spacing of the grid on which the smooth per-pixel quantities are evaluated.
const COARSE_STEP_PX: usize = 4;

/// The visible part of the fingertip: the outline shrunk by the contact scale and moved by the
/// contact offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Contact {
    pub(crate) scale: f64,
    pub(crate) offset: (f64, f64),
}

impl Contact {
    /// Draws the contact area of one impression.
    pub(crate) fn sample(scale: (f64, f64), offset_sd_px: f64, rng: &mut Rng) -> Self {
        Contact {
            scale: rng.uniform(scale.0, scale.1),
            offset: (rng.gaussian(0.0, offset_sd_px), rng.gaussian(0.0, offset_sd_px)),
        }
    }

    /// Visibility 0..1 at a master position: 1 well inside, fading over a few pixels at the edge.
    #[inline]
    pub(crate) fn visibility(&self, s: &Silhouette, x: f64, y: f64) -> f64 {
        const EDGE_PX: f64 = 6.0;
        let own = s.depth(x, y);
        let contact_radius = s.radius(x - self.offset.0, y - self.offset.1) / self.scale;
        let contact = (1.0 - contact_radius) * s.half_width.min(s.half_height_top);
        (own.min(contact) / EDGE_PX).clamp(0.0, 1.0)
    }
}

/// Renders impression `impression` (from 1) of `master` (finger `finger` of `seed`).
pub fn render(
    master: &Master,
    seed: u64,
    finger: u64,
    impression: u32,
    width: u32,
    height: u32,
    config: &ImpressionConfig,
) -> Result<Impression> {
    render_with(master, seed, finger, impression, width, height, config, &[])
}

/// Renders an impression under acquisition `conditions` (none: the same bytes as [`render`]).
#[allow(clippy::too_many_arguments)]
pub fn render_with(
    master: &Master,
    seed: u64,
    finger: u64,
    impression: u32,
    width: u32,
    height: u32,
    config: &ImpressionConfig,
    conditions: &[Condition],
) -> Result<Impression> {
    config.validate()?;
    let mut config = config.clone();
    let mut condition_rng = Rng::stream(seed, finger, impression, Purpose::Condition);
    let stress = if conditions.is_empty() {
        Stress::none()
    } else {
        let stress =
            Stress::draw(conditions, impression, width, height, &mut config, &mut condition_rng);
        config.validate()?;
        stress
    };
    let stressed = !stress.is_none();
    let config = &config;
    let mut rng = Rng::stream(seed, finger, impression, Purpose::Impression);
    let canvas_center = (master.ridges.width as f64 / 2.0, master.ridges.height as f64 / 2.0);
    let s = master.model.silhouette;
    let warp =
        Warp::sample(&config.placement, width, height, canvas_center, (s.cx, s.cy), &mut rng)
            .stressed(stress.rotation_rad, stress.shift_px, stress.skin, &stress.shear);
    let contact = Contact::sample(config.contact_scale, config.contact_offset_sd_px, &mut rng);
    let pressure = rng.uniform(config.pressure.0, config.pressure.1);
    let dryness = rng.uniform(config.dryness.0, config.dryness.1);
    let contrast = rng.uniform(config.contrast.0, config.contrast.1);
    let background = rng.uniform(config.background_level.0, config.background_level.1);
    let canvas = (master.ridges.width as f64, master.ridges.height as f64);
    let on_canvas = |mx: f64, my: f64| {
        !stress.clip_to_canvas || (mx >= 0.0 && my >= 0.0 && mx < canvas.0 && my < canvas.1)
    };

    let (w, h) = (width as usize, height as usize);
    // Two fine noise fields (pores and breaks on ridges, specks in valleys).
    let pores = fine_noise(w, h, &mut rng);
    let specks = fine_noise(w, h, &mut rng);
    let pore_level = normal_quantile(1.0 - dryness) as f32;
    let speck_level = normal_quantile(1.0 - config.speckle) as f32;
    // Slow variations of contrast across the print (uneven pressure and moisture).
    let waves: Vec<(f64, f64, f64)> = (0..3)
        .map(|_| {
            let direction = rng.uniform(0.0, std::f64::consts::TAU);
            let k = std::f64::consts::TAU / rng.uniform(120.0, 300.0);
            (k * direction.cos(), k * direction.sin(), rng.uniform(0.0, std::f64::consts::TAU))
        })
        .collect();
    // Ridge width: pressure moves the threshold on the smooth ridge profile.
    let threshold = -0.45 * pressure as f32;

    // Placement, visibility and slow contrast change smoothly: evaluate them on a coarse grid
    // and interpolate, which keeps the per-pixel work to a few multiplications.
    let step = COARSE_STEP_PX;
    let (gw, gh) = (w / step + 2, h / step + 2);
    let mut coarse = Vec::with_capacity(gw * gh);
    for gy in 0..gh {
        for gx in 0..gw {
            let (x, y) = ((gx * step) as f64, (gy * step) as f64);
            let (mx, my) = warp.to_master(x, y);
            let mut visible = contact.visibility(&master.model.silhouette, mx, my);
            if !on_canvas(mx, my) {
                visible = 0.0;
            }
            let mut slow = 0.0;
            for (kx, ky, phase) in &waves {
                slow += (kx * x + ky * y + phase).sin();
            }
            let local_contrast = (contrast * (1.0 + 0.12 * slow)).clamp(0.0, 1.0);
            coarse.push([mx as f32, my as f32, visible as f32, local_contrast as f32]);
        }
    }
    let mut ink = vec![0.0f32; w * h];
    // Where the finger is and how much contrast it has (only the stresses need it).
    let mut presence = if stressed { vec![0.0f32; w * h] } else { Vec::new() };
    for y in 0..h {
        let (gy, fy) = (y / step, (y % step) as f32 / step as f32);
        for x in 0..w {
            let (gx, fx) = (x / step, (x % step) as f32 / step as f32);
            let corner = |dx: usize, dy: usize| coarse[(gy + dy) * gw + gx + dx];
            let (a, b, c, d) = (corner(0, 0), corner(1, 0), corner(0, 1), corner(1, 1));
            let lerp = |k: usize| {
                let top = a[k] + (b[k] - a[k]) * fx;
                let bottom = c[k] + (d[k] - c[k]) * fx;
                top + (bottom - top) * fy
            };
            let visible = lerp(2);
            if visible <= 0.0 {
                continue;
            }
            let ridge = master.ridges.sample(lerp(0) as f64, lerp(1) as f64);
            let mut value = smoothstep((ridge - threshold) / 0.5 + 0.5);
            let i = y * w + x;
            value *= 1.0 - smoothstep((pores[i] - pore_level) * 2.0 + 0.5);
            value += (1.0 - value) * smoothstep((specks[i] - speck_level) * 2.0 + 0.5) * 0.8;
            ink[i] = value * visible * lerp(3);
            if stressed {
                presence[i] = visible * lerp(3);
            }
        }
    }
    if stressed {
        apply_ink_stress(&mut ink, &presence, w, h, &stress, &mut condition_rng);
    }
    let mut ink = box_blur_3(&ink, w, h);
    for _ in 0..stress.extra_blur {
        ink = box_blur_3(&ink, w, h);
    }
    if !stress.creases.is_empty() {
        paint_creases(&mut ink, w, h, &stress.creases);
    }

    // The sensor: background with vignetting, dirt, scratches, then the finger, then noise.
    let mut gray = vec![0.0f32; w * h];
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let corner = (cx * cx + cy * cy).max(1.0);
    for y in 0..h {
        for x in 0..w {
            let r2 = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)) / corner;
            gray[y * w + x] = (background - config.vignette * r2 * r2) as f32;
        }
    }
    for _ in 0..rng.poisson(config.dirt_mean) {
        let (x0, y0) = (rng.uniform(0.0, w as f64), rng.uniform(0.0, h as f64));
        let radius = rng.uniform(1.5, 6.0);
        let delta = rng.uniform(-25.0, 12.0) as f32;
        paint_disc(&mut gray, w, h, (x0, y0), radius, delta);
    }
    for (g, k) in gray.iter_mut().zip(&ink) {
        *g *= 1.0 - k * 0.92;
    }
    for patch in &stress.dark {
        for y in 0..h {
            for x in 0..w {
                gray[y * w + x] -= patch.at(x as f64, y as f64) as f32;
            }
        }
    }
    for _ in 0..rng.poisson(config.scratches_mean) {
        let start = (rng.uniform(0.0, w as f64), rng.uniform(0.0, h as f64));
        let angle = rng.uniform(0.0, std::f64::consts::TAU);
        let length = rng.uniform(20.0, 160.0);
        let end = (start.0 + length * angle.cos(), start.1 + length * angle.sin());
        let thickness = rng.uniform(0.6, 1.6);
        let level = (background + rng.uniform(-10.0, 15.0)) as f32;
        paint_line(&mut gray, w, h, start, end, thickness, level);
    }
    // Pixel noise: the sum of four uniform bytes (mean 510, deviation 147.2) is close enough to
    // Gaussian and far cheaper than Box–Muller.
    let noise_scale = (config.noise_sd / 147.2) as f32;
    let pixels: Vec<u8> = gray
        .iter()
        .map(|g| {
            let bits = rng.bits();
            let sum: u32 = (0..4).map(|k| ((bits >> (8 * k)) & 0xFF) as u32).sum();
            (g + (sum as f32 - 510.0) * noise_scale).round().clamp(0.0, 255.0) as u8
        })
        .collect();
    let image = FingerImage::from_raw(width, height, ridgeline::image::STANDARD_DPI, pixels)?;

    let mut minutiae = visible_minutiae(master, &warp, &contact, width, height);
    if !stress.is_none() {
        minutiae.retain(|m| truth_survives(m, &warp, &stress, canvas));
    }
    Ok(Impression { image, minutiae })
}

/// Whether a ground-truth minutia stays truth under the stress: carried back to its master
/// position exactly (strong distortions can defeat the numerical inverse), on the master
/// canvas, and not under a crease.
fn truth_survives(m: &Minutia, warp: &Warp, stress: &Stress, canvas: (f64, f64)) -> bool {
    let margin = params::VISIBLE_MARGIN_PX;
    let (x, y) = (m.x as f64, m.y as f64);
    let (mx, my) = warp.to_master(x, y);
    let (bx, by) = warp.to_impression(mx, my);
    if ((bx - x).powi(2) + (by - y).powi(2)).sqrt() > TRUTH_ROUND_TRIP_PX {
        return false;
    }
    if stress.clip_to_canvas
        && !(mx >= margin && my >= margin && mx < canvas.0 - margin && my < canvas.1 - margin)
    {
        return false;
    }
    stress.creases.iter().all(|c| c.distance(x, y) > c.width_px / 2.0 + CREASE_TRUTH_MARGIN_PX)
}

/// The ink-level parts of a stress, before the print is blurred: dashes along dry ridges,
/// merged valleys, worn ridge height and faded patches. `presence` is the finger's visibility
/// times its local contrast (the ink a fully dark pixel would have).
fn apply_ink_stress(
    ink: &mut [f32],
    presence: &[f32],
    w: usize,
    h: usize,
    stress: &Stress,
    rng: &mut Rng,
) {
    if stress.dash_fraction > 0.0 {
        // Breaks a few pixels long: white noise blurred four times (features of 4–6 pixels),
        // thresholded at the quantile that removes the wanted share of ridge pixels.
        let mut field = fine_noise(w, h, rng);
        field = box_blur_3(&box_blur_3(&field, w, h), w, h);
        let n = field.len().max(1) as f64;
        let mean = field.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = field.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        let sd = var.sqrt().max(1e-9);
        let level = normal_quantile(1.0 - stress.dash_fraction);
        for (v, f) in ink.iter_mut().zip(&field) {
            let z = (*f as f64 - mean) / sd;
            *v *= 1.0 - smoothstep(((z - level) * 3.0 + 0.5) as f32);
        }
    }
    let patched = !stress.merge.is_empty() || !stress.fade.is_empty();
    if !patched && stress.ridge_height >= 1.0 {
        return;
    }
    let k = stress.ridge_height as f32;
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let full = presence[i];
            if full <= 0.0 {
                continue;
            }
            let (px, py) = (x as f64, y as f64);
            let mut v = ink[i];
            // Wet: moisture fills the valleys with ink, merging neighbouring ridges.
            let merge = stress.merge.iter().map(|p| p.at(px, py)).fold(0.0, f64::max) as f32;
            v = v.max(merge * 0.9 * full);
            // Worn: the ridges lose height, so ridges and valleys move towards a middle level.
            v = v * k + (1.0 - k) * 0.45 * full;
            let fade = stress.fade.iter().map(|p| p.at(px, py)).fold(0.0, f64::max);
            v *= (1.0 - fade.min(0.95)) as f32;
            ink[i] = v;
        }
    }
}

/// Paints white creases into the ink: no ink on the crease, a soft edge of one pixel.
fn paint_creases(ink: &mut [f32], w: usize, h: usize, creases: &[Crease]) {
    for crease in creases {
        let line = crease.polyline();
        let half = crease.width_px / 2.0;
        for seg in line.windows(2) {
            let (a, b) = (seg[0], seg[1]);
            let pad = half + 1.5;
            let x0 = (a.0.min(b.0) - pad).max(0.0) as usize;
            let x1 = ((a.0.max(b.0) + pad).max(0.0) as usize).min(w - 1);
            let y0 = (a.1.min(b.1) - pad).max(0.0) as usize;
            let y1 = ((a.1.max(b.1) + pad).max(0.0) as usize).min(h - 1);
            if x0 > x1 || y0 > y1 {
                continue;
            }
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let d = segment_distance((x as f64, y as f64), a, b);
                    let keep = ((d - half + 0.5).clamp(0.0, 1.0)) as f32;
                    ink[y * w + x] *= keep;
                }
            }
        }
    }
}

/// The master's minutiae carried into the impression, kept where they are clearly visible.
fn visible_minutiae(
    master: &Master,
    warp: &Warp,
    contact: &Contact,
    width: u32,
    height: u32,
) -> Vec<Minutia> {
    let mut kept = Vec::new();
    for m in &master.minutiae {
        let (mx, my) = (m.x as f64, m.y as f64);
        let silhouette = &master.model.silhouette;
        let Some((x, y)) = carry_if_visible(silhouette, warp, contact, width, height, mx, my)
        else {
            continue;
        };
        let angle = warp.direction_to_impression(mx, my, m.angle as f64);
        kept.push(Minutia {
            x: x as f32,
            y: y as f32,
            angle: ridgeline::template::normalize_angle(angle as f32),
            kind: m.kind,
            quality: m.quality,
        });
    }
    kept
}

/// Where a master position lands in the impression, if it is inside the image and clearly
/// visible (inside the contact area by a margin all around).
pub(crate) fn carry_if_visible(
    silhouette: &Silhouette,
    warp: &Warp,
    contact: &Contact,
    width: u32,
    height: u32,
    mx: f64,
    my: f64,
) -> Option<(f64, f64)> {
    let margin = params::VISIBLE_MARGIN_PX;
    if contact.visibility(silhouette, mx, my) < 1.0 {
        return None;
    }
    let (x, y) = warp.to_impression(mx, my);
    if x < margin
        || y < margin
        || x > width as f64 - 1.0 - margin
        || y > height as f64 - 1.0 - margin
    {
        return None;
    }
    let clear = (0..8).all(|k| {
        let a = k as f64 * std::f64::consts::FRAC_PI_4;
        let (px, py) = warp.to_master(x + margin * a.cos(), y + margin * a.sin());
        contact.visibility(silhouette, px, py) >= 1.0
    });
    clear.then_some((x, y))
}

/// Smooth step from 0 (at 0) to 1 (at 1).
#[inline]
fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// White noise blurred twice (features of 2–3 pixels), standardised to mean 0 and deviation 1.
fn fine_noise(w: usize, h: usize, rng: &mut Rng) -> Vec<f32> {
    let mut noise = Vec::with_capacity(w * h);
    while noise.len() < w * h {
        let bits = rng.bits();
        for k in 0..4 {
            if noise.len() < w * h {
                noise.push(((bits >> (16 * k)) & 0xFFFF) as f32 / 65535.0 - 0.5);
            }
        }
    }
    let blurred = box_blur_3(&box_blur_3(&noise, w, h), w, h);
    // Uniform(−½, ½) has variance 1/12; two 3×3 means shrink it by Σ weights² = 0.0645 (5×5
    // triangular kernel), so the standard deviation is √(0.0645/12).
    let scale = 1.0 / (0.0645f32 / 12.0).sqrt();
    blurred.into_iter().map(|v| v * scale).collect()
}

/// Inverse of the standard normal distribution function (Acklam's rational approximation,
/// relative error below 1.2e-9), clamped to ±8.
fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return -8.0;
    }
    if p >= 1.0 {
        return 8.0;
    }
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] =
        [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let low = 0.02425;
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// Adds `delta` grey levels inside a soft disc.
fn paint_disc(gray: &mut [f32], w: usize, h: usize, center: (f64, f64), radius: f64, delta: f32) {
    let (x0, x1) = (
        (center.0 - radius - 1.0).max(0.0) as usize,
        ((center.0 + radius + 1.0) as usize).min(w - 1),
    );
    let (y0, y1) = (
        (center.1 - radius - 1.0).max(0.0) as usize,
        ((center.1 + radius + 1.0) as usize).min(h - 1),
    );
    for y in y0..=y1 {
        for x in x0..=x1 {
            let d = ((x as f64 - center.0).powi(2) + (y as f64 - center.1).powi(2)).sqrt();
            let weight = (radius + 0.5 - d).clamp(0.0, 1.0) as f32;
            gray[y * w + x] += delta * weight;
        }
    }
}

/// Draws an anti-aliased line of the given grey level.
fn paint_line(
    gray: &mut [f32],
    w: usize,
    h: usize,
    a: (f64, f64),
    b: (f64, f64),
    thickness: f64,
    level: f32,
) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length2 = (dx * dx + dy * dy).max(1e-9);
    let pad = thickness + 1.0;
    let x0 = (a.0.min(b.0) - pad).max(0.0) as usize;
    let x1 = ((a.0.max(b.0) + pad).max(0.0) as usize).min(w - 1);
    let y0 = (a.1.min(b.1) - pad).max(0.0) as usize;
    let y1 = ((a.1.max(b.1) + pad).max(0.0) as usize).min(h - 1);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (px, py) = (x as f64 - a.0, y as f64 - a.1);
            let t = ((px * dx + py * dy) / length2).clamp(0.0, 1.0);
            let d = ((px - t * dx).powi(2) + (py - t * dy).powi(2)).sqrt();
            let weight = (thickness / 2.0 + 0.5 - d).clamp(0.0, 1.0) as f32;
            let i = y * w + x;
            gray[i] += (level - gray[i]) * weight;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_matches_known_values() {
        assert!(normal_quantile(0.5).abs() < 1e-9);
        assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-5);
        assert!((normal_quantile(0.01) + 2.326348).abs() < 1e-5);
    }

    #[test]
    fn fine_noise_is_standardised() {
        let mut rng = Rng::stream(1, 1, 1, Purpose::Impression);
        let noise = fine_noise(200, 200, &mut rng);
        let n = noise.len() as f64;
        let mean = noise.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = noise.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.05 && (var - 1.0).abs() < 0.15, "{mean} {var}");
    }
}
