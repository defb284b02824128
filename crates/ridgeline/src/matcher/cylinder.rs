//! Bit-based Minutia Cylinder-Code descriptors: one cylinder per minutia.
//!
//! A cylinder is a disk of radius `R` centred on a minutia and turned with its direction,
//! divided into `NS × NS` spatial cells, each split into `ND` angular sections. A section's bit
//! is set when the neighbouring minutiae near the cell centre, whose direction relative to the
//! central minutia falls into that section, contribute enough (Gaussian in distance and in
//! direction difference). Cells outside the disk or outside the fingerprint's region of
//! interest (convex hull of the minutiae, grown by a margin) are *invalid*: unknown, so they
//! take no part in a comparison.
//!
//! Bits are packed so that one angular section is one run of `NS·NS` bits (`LAYER_WORDS` u64
//! words); the validity mask has the same spatial layout, so masking a section is a word-wise
//! AND. Bits are stored already masked by their own validity.

use super::parameters::*;

/// Words of one spatial layer (`NS·NS` bits).
pub(crate) const LAYER_WORDS: usize = (SPATIAL_CELLS * SPATIAL_CELLS).div_ceil(64);
/// Words of a cylinder's bits (all angular sections).
pub(crate) const BIT_WORDS: usize = LAYER_WORDS * ANGULAR_CELLS;
/// Words of one cylinder record: validity mask then bits.
pub const CYLINDER_WORDS: usize = LAYER_WORDS + BIT_WORDS;
/// Bits in a cylinder (upper bound of any popcount over it).
pub(crate) const CYLINDER_BITS: usize = BIT_WORDS * 64;

/// A minutia in working geometry: 500-dpi pixels, direction in radians.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    /// Column.
    pub(crate) x: f32,
    /// Row (down).
    pub(crate) y: f32,
    /// Direction, `[0, 2π)`, counter-clockwise as viewed.
    pub(crate) angle: f32,
}

/// One cylinder: validity mask words then bit words.
pub(crate) type Cylinder = [u64; CYLINDER_WORDS];

/// The spatial cells that lie inside the disk, as a layer mask.
pub(crate) fn disk_mask() -> [u64; LAYER_WORDS] {
    let mut mask = [0u64; LAYER_WORDS];
    for i in 0..SPATIAL_CELLS {
        for j in 0..SPATIAL_CELLS {
            let (u, v) = cell_offset(i, j);
            if u * u + v * v <= CYLINDER_RADIUS_PX * CYLINDER_RADIUS_PX {
                let cell = i * SPATIAL_CELLS + j;
                mask[cell / 64] |= 1 << (cell % 64);
            }
        }
    }
    mask
}

/// Number of cells inside the disk.
pub(crate) fn disk_cells() -> u32 {
    disk_mask().iter().map(|w| w.count_ones()).sum()
}

/// Offset of cell (i, j)'s centre from the cylinder centre, in the minutia's own frame.
fn cell_offset(i: usize, j: usize) -> (f32, f32) {
    let cell_px = 2.0 * CYLINDER_RADIUS_PX / SPATIAL_CELLS as f32;
    let half = SPATIAL_CELLS as f32 / 2.0;
    ((i as f32 + 0.5 - half) * cell_px, (j as f32 + 0.5 - half) * cell_px)
}

/// Computes the cylinder of every minutia. Returns `None` for a minutia whose cylinder is
/// invalid (too little of it inside the region of interest, or too few neighbours).
pub(crate) fn compute_all(points: &[Point]) -> Vec<Option<Cylinder>> {
    let hull = convex_hull(points);
    let disk = disk_mask();
    let disk_cells = disk_cells();
    let reach = CYLINDER_RADIUS_PX + NEIGHBOUR_CUTOFF_SIGMAS * SPATIAL_SIGMA_PX;
    let cutoff_sq = (NEIGHBOUR_CUTOFF_SIGMAS * SPATIAL_SIGMA_PX).powi(2);
    let spatial_norm = 1.0 / (SPATIAL_SIGMA_PX * (2.0 * std::f32::consts::PI).sqrt());
    let section_rad = 2.0 * std::f32::consts::PI / ANGULAR_CELLS as f32;

    points
        .iter()
        .enumerate()
        .map(|(index, m)| {
            let neighbours: Vec<&Point> = points
                .iter()
                .enumerate()
                .filter(|&(k, p)| k != index && distance_sq(m, p) <= reach * reach)
                .map(|(_, p)| p)
                .collect();
            if neighbours.len() < MIN_NEIGHBOURS {
                return None;
            }
            // Directional contribution of each neighbour to each angular section: the
            // Gaussian's mass over the section, centred on the relative direction.
            let directional: Vec<[f32; ANGULAR_CELLS]> = neighbours
                .iter()
                .map(|p| {
                    let relative = wrap_angle(p.angle - m.angle);
                    std::array::from_fn(|k| {
                        let centre = -std::f32::consts::PI + (k as f32 + 0.5) * section_rad;
                        let d = wrap_angle(centre - relative);
                        gaussian_mass(d - section_rad / 2.0, d + section_rad / 2.0)
                    })
                })
                .collect();

            let (sin, cos) = m.angle.sin_cos();
            let mut cylinder = [0u64; CYLINDER_WORDS];
            let mut valid_cells = 0u32;
            for i in 0..SPATIAL_CELLS {
                for j in 0..SPATIAL_CELLS {
                    let cell = i * SPATIAL_CELLS + j;
                    let (word, bit) = (cell / 64, 1u64 << (cell % 64));
                    if disk[word] & bit == 0 {
                        continue;
                    }
                    // The frame turns with the minutia: u along its direction (cos, −sin) in
                    // y-down pixels, v perpendicular to it.
                    let (u, v) = cell_offset(i, j);
                    let cx = m.x + u * cos + v * sin;
                    let cy = m.y - u * sin + v * cos;
                    if !hull.contains_with_margin(cx, cy, HULL_MARGIN_PX) {
                        continue;
                    }
                    valid_cells += 1;
                    cylinder[word] |= bit;
                    let mut sums = [0f32; ANGULAR_CELLS];
                    for (p, dir) in neighbours.iter().zip(&directional) {
                        let d_sq = (p.x - cx).powi(2) + (p.y - cy).powi(2);
                        if d_sq > cutoff_sq {
                            continue;
                        }
                        let spatial = spatial_norm
                            * (-d_sq / (2.0 * SPATIAL_SIGMA_PX * SPATIAL_SIGMA_PX)).exp();
                        for (s, d) in sums.iter_mut().zip(dir) {
                            *s += spatial * d;
                        }
                    }
                    for (k, s) in sums.iter().enumerate() {
                        if *s >= CELL_ON_THRESHOLD {
                            cylinder[LAYER_WORDS + k * LAYER_WORDS + word] |= bit;
                        }
                    }
                }
            }
            (valid_cells as f32 >= MIN_VALID_CELL_SHARE * disk_cells as f32).then_some(cylinder)
        })
        .collect()
}

/// Wraps an angle difference into `[-π, π)`.
#[inline]
pub(crate) fn wrap_angle(a: f32) -> f32 {
    let tau = std::f32::consts::TAU;
    if (-1.5 * tau..1.5 * tau).contains(&a) {
        wrap_direction_difference(a)
    } else {
        let w = (a + std::f32::consts::PI).rem_euclid(tau) - std::f32::consts::PI;
        if w >= std::f32::consts::PI {
            w - tau
        } else {
            w
        }
    }
}

/// [`wrap_angle`] for `a` in `[-3π, 3π)`, e.g. the difference of two directions or of two
/// wrapped angles: without branches, and without the cost of the general reduction's `fmod`.
/// Gives exactly what the general reduction gives: with `x = a + π`, `x − τ` is exact for `x`
/// in `[τ, 2τ)`, and `rem_euclid` adds τ to a negative remainder the same way.
#[inline(always)]
pub(crate) fn wrap_direction_difference(a: f32) -> f32 {
    let tau = std::f32::consts::TAU;
    let shifted = a + std::f32::consts::PI;
    let reduced = if shifted >= tau {
        shifted - tau
    } else if shifted < 0.0 {
        shifted + tau
    } else {
        shifted
    };
    let w = reduced - std::f32::consts::PI;
    if w >= std::f32::consts::PI {
        w - tau
    } else {
        w
    }
}

/// Absolute difference of two directions in `[0, 2π)`, in `[0, π]`; branch-light for hot loops.
#[inline(always)]
pub(crate) fn direction_difference(a: f32, b: f32) -> f32 {
    let d = (a - b).abs();
    if d > std::f32::consts::PI {
        std::f32::consts::TAU - d
    } else {
        d
    }
}

fn distance_sq(a: &Point, b: &Point) -> f32 {
    (a.x - b.x).powi(2) + (a.y - b.y).powi(2)
}

/// Mass of the zero-mean directional Gaussian between `lo` and `hi` radians.
fn gaussian_mass(lo: f32, hi: f32) -> f32 {
    let s = ANGULAR_SIGMA_RAD * std::f32::consts::SQRT_2;
    0.5 * (erf(hi / s) - erf(lo / s))
}

/// Error function (Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7).
fn erf(x: f32) -> f32 {
    let sign = x.signum();
    let x = x.abs() as f64;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    sign * (1.0 - poly * (-x * x).exp()) as f32
}

/// The convex hull of the minutiae, counter-clockwise in a y-up sense (order irrelevant for
/// the distance tests).
struct Hull {
    vertices: Vec<(f32, f32)>,
}

fn convex_hull(points: &[Point]) -> Hull {
    let mut p: Vec<(f32, f32)> = points.iter().map(|m| (m.x, m.y)).collect();
    p.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    p.dedup();
    if p.len() < 3 {
        return Hull { vertices: p };
    }
    let cross = |o: (f32, f32), a: (f32, f32), b: (f32, f32)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    // Andrew's monotone chain: lower hull left to right, upper hull right to left, each
    // dropping points that would make a clockwise turn.
    let chain = |iter: &mut dyn Iterator<Item = (f32, f32)>| {
        let mut part: Vec<(f32, f32)> = Vec::new();
        for pt in iter {
            while part.len() >= 2 && cross(part[part.len() - 2], part[part.len() - 1], pt) <= 0.0 {
                part.pop();
            }
            part.push(pt);
        }
        part.pop(); // the last point starts the other chain
        part
    };
    let mut hull = chain(&mut p.iter().copied());
    hull.extend(chain(&mut p.iter().rev().copied()));
    Hull { vertices: hull }
}

impl Hull {
    /// Whether (x, y) lies inside the hull or within `margin` of it.
    fn contains_with_margin(&self, x: f32, y: f32, margin: f32) -> bool {
        let v = &self.vertices;
        if v.is_empty() {
            return false;
        }
        if v.len() >= 3 {
            let inside = (0..v.len()).all(|k| {
                let (a, b) = (v[k], v[(k + 1) % v.len()]);
                (b.0 - a.0) * (y - a.1) - (b.1 - a.1) * (x - a.0) >= 0.0
            });
            if inside {
                return true;
            }
        }
        let margin_sq = margin * margin;
        (0..v.len()).any(|k| segment_distance_sq((x, y), v[k], v[(k + 1) % v.len()]) <= margin_sq)
    }
}

fn segment_distance_sq(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len_sq = dx * dx + dy * dy;
    let t = if len_sq > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len_sq).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
    (p.0 - cx).powi(2) + (p.1 - cy).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        assert!((erf(0.0)).abs() < 1e-6);
        assert!((erf(1.0) - 0.842_700_8).abs() < 1e-5);
        assert!((erf(-2.0) + 0.995_322_3).abs() < 1e-5);
    }

    #[test]
    fn wrap_angle_range() {
        for a in [-10.0f32, -3.2, 0.0, 3.1, 3.2, 7.0] {
            let w = wrap_angle(a);
            assert!((-std::f32::consts::PI..std::f32::consts::PI).contains(&w), "{a} -> {w}");
            assert!((w.cos() - a.cos()).abs() < 1e-4 && (w.sin() - a.sin()).abs() < 1e-4);
        }
    }

    #[test]
    fn wrap_angle_fast_paths_equal_the_general_reduction() {
        let reference = |a: f32| {
            let w =
                (a + std::f32::consts::PI).rem_euclid(std::f32::consts::TAU) - std::f32::consts::PI;
            if w >= std::f32::consts::PI {
                w - std::f32::consts::TAU
            } else {
                w
            }
        };
        // Every 2^-10 rad over (-4π, 4π), plus the boundaries of the fast paths.
        let mut inputs: Vec<f32> = (-12_868..=12_868).map(|k| k as f32 / 1024.0).collect();
        for edge in
            [-std::f32::consts::TAU, 0.0, std::f32::consts::TAU, 2.0 * std::f32::consts::TAU]
        {
            let x = edge - std::f32::consts::PI;
            inputs.extend([x, f32::from_bits(x.to_bits() + 1), f32::from_bits(x.to_bits() - 1)]);
        }
        for a in inputs {
            assert_eq!(wrap_angle(a).to_bits(), reference(a).to_bits(), "{a}");
            if (-3.0 * std::f32::consts::PI..3.0 * std::f32::consts::PI).contains(&a) {
                assert_eq!(wrap_direction_difference(a).to_bits(), reference(a).to_bits(), "{a}");
            }
        }
    }

    #[test]
    fn hull_contains_interior_and_margin_only() {
        let pts: Vec<Point> =
            [(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0), (50.0, 50.0)]
                .iter()
                .map(|&(x, y)| Point { x, y, angle: 0.0 })
                .collect();
        let hull = convex_hull(&pts);
        assert_eq!(hull.vertices.len(), 4);
        assert!(hull.contains_with_margin(50.0, 50.0, 0.0));
        assert!(hull.contains_with_margin(-10.0, 50.0, 20.0));
        assert!(!hull.contains_with_margin(-30.0, 50.0, 20.0));
    }
}
