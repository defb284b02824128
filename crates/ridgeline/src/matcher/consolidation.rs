//! Global consolidation of local similarities: one-to-one pair selection, relaxation by
//! geometric consistency (LSS-R after Cappelli et al.), and the final score.

use super::cylinder::{wrap_angle, wrap_direction_difference};
use super::parameters::*;
use super::{Pair, PreparedRef};

/// Local pairs considered for the one-to-one selection: the best few times the relaxation size
/// are enough, and selecting them is linear while sorting all pairs is not.
const SELECTION_POOL: usize = 4 * MAX_RELAXATION_PAIRS;

/// The score of a comparison from its local similarities (`pairs` is reordered), also listing the consolidated matches (probe index, candidate index) that made
/// the score when `matches` is given (for drawing them; the hot loop passes `None`). Inlined
/// into each instruction-set variant of the comparison, so that its loops vectorise for it.
#[inline(always)]
pub(super) fn score_with_matches(
    probe: PreparedRef<'_>,
    candidate: PreparedRef<'_>,
    pairs: &mut [Pair],
    matches: Option<&mut Vec<(usize, usize)>>,
) -> f32 {
    let scored_pairs = scored_pair_count(probe.len().min(candidate.len()));
    if pairs.is_empty() || scored_pairs == 0 {
        return 0.0;
    }
    // Best first; `Pair`'s order is total, so the selection does not depend on the algorithm.
    let by_preference = |a: &Pair, b: &Pair| b.cmp(a);
    let pool = pairs.len().min(SELECTION_POOL);
    if pairs.len() > pool {
        pairs.select_nth_unstable_by(pool - 1, by_preference);
    }
    let pool = &mut pairs[..pool];
    pool.sort_unstable_by(by_preference);

    // One-to-one: a minutia takes part in at most one selected pair.
    let mut used_probe = [false; MAX_PREPARED_MINUTIAE];
    let mut used_candidate = [false; MAX_PREPARED_MINUTIAE];
    let mut selected = [Selected::default(); MAX_RELAXATION_PAIRS];
    let mut n = 0;
    for p in pool.iter() {
        let (i, j) = (p.probe(), p.candidate());
        if used_probe[i] || used_candidate[j] {
            continue;
        }
        used_probe[i] = true;
        used_candidate[j] = true;
        let (a, b) = (probe.minutia(i), candidate.minutia(j));
        let rotation = wrap_angle(b.angle - a.angle);
        let (sin, cos) = rotation.sin_cos();
        selected[n] = Selected {
            probe_index: i as u8,
            candidate_index: j as u8,
            cos,
            sin,
            ax: a.x,
            ay: a.y,
            bx: b.x,
            by: b.y,
            rotation,
            initial: p.similarity(),
            relaxed: p.similarity(),
        };
        n += 1;
        if n == MAX_RELAXATION_PAIRS {
            break;
        }
    }
    let selected = &mut selected[..n];
    relax(selected);

    // The best pairs after relaxation: those both similar and supported by consistent pairs.
    selected.sort_unstable_by(|a, b| b.relaxed.total_cmp(&a.relaxed));
    if let Some(matches) = matches {
        matches.extend(
            selected
                .iter()
                .take(scored_pairs)
                .map(|s| (s.probe_index as usize, s.candidate_index as usize)),
        );
    }
    let total: f32 = selected.iter().take(scored_pairs).map(|s| s.relaxed).sum();
    (total / scored_pairs as f32).clamp(0.0, 1.0)
}

#[derive(Debug, Clone, Copy, Default)]
struct Selected {
    /// Index of the probe minutia (prepared order).
    probe_index: u8,
    /// Index of the candidate minutia (prepared order).
    candidate_index: u8,
    ax: f32,
    ay: f32,
    bx: f32,
    by: f32,
    /// Rotation taking the probe minutia's direction to the candidate's.
    rotation: f32,
    cos: f32,
    sin: f32,
    initial: f32,
    relaxed: f32,
}

#[inline(always)]
fn relax(pairs: &mut [Selected]) {
    let n = pairs.len();
    if n < 2 {
        for p in pairs.iter_mut() {
            p.relaxed *= RELAXATION_SELF_WEIGHT.powi(RELAXATION_ITERATIONS as i32);
        }
        return;
    }
    // Compatibilities, upper triangle first (one pair's row against all later pairs, in
    // fixed-size arrays so that the loop vectorises), then mirrored.
    let mut compat = [[0f32; MAX_RELAXATION_PAIRS]; MAX_RELAXATION_PAIRS];
    let motions = Motions::of(pairs);
    for (t, row) in compat.iter_mut().enumerate().take(n) {
        motions.compatibilities(t, row);
        row[..=t].fill(0.0);
    }
    #[allow(clippy::needless_range_loop)] // a transpose reads best with both indices
    for t in 0..n {
        for k in t + 1..n {
            compat[k][t] = compat[t][k];
        }
    }
    let mut current = [0f32; MAX_RELAXATION_PAIRS];
    for (c, p) in current.iter_mut().zip(pairs.iter()) {
        *c = p.initial;
    }
    let others = (n - 1) as f32;
    for _ in 0..RELAXATION_ITERATIONS {
        // support[t] = Σ_k compat[t][k]·current[k], summed in the order of k; the matrix is
        // symmetric, so row k scaled by current[k] adds every t's term k at once.
        let mut support = [0f32; MAX_RELAXATION_PAIRS];
        for (row, &weight) in compat.iter().zip(current.iter()).take(n) {
            for (s, c) in support.iter_mut().zip(row) {
                *s += c * weight;
            }
        }
        for (c, s) in current.iter_mut().zip(support) {
            *c = RELAXATION_SELF_WEIGHT * *c + (1.0 - RELAXATION_SELF_WEIGHT) * s / others;
        }
    }
    for (p, c) in pairs.iter_mut().zip(current.iter()) {
        p.relaxed = *c;
    }
}

/// Compatibility rows are computed in blocks of this many pairs (one vector).
const COMPAT_BLOCK: usize = 8;
const _: () = assert!(MAX_RELAXATION_PAIRS % COMPAT_BLOCK == 0);

/// The selected pairs' geometry as columns, for computing compatibilities many at a time.
/// Unused entries are zero.
struct Motions {
    ax: [f32; MAX_RELAXATION_PAIRS],
    ay: [f32; MAX_RELAXATION_PAIRS],
    bx: [f32; MAX_RELAXATION_PAIRS],
    by: [f32; MAX_RELAXATION_PAIRS],
    rotation: [f32; MAX_RELAXATION_PAIRS],
    cos: [f32; MAX_RELAXATION_PAIRS],
    sin: [f32; MAX_RELAXATION_PAIRS],
}

impl Motions {
    #[inline(always)]
    fn of(pairs: &[Selected]) -> Motions {
        let column = |f: fn(&Selected) -> f32| {
            let mut c = [0f32; MAX_RELAXATION_PAIRS];
            for (c, p) in c.iter_mut().zip(pairs) {
                *c = f(p);
            }
            c
        };
        Motions {
            ax: column(|p| p.ax),
            ay: column(|p| p.ay),
            bx: column(|p| p.bx),
            by: column(|p| p.by),
            rotation: column(|p| p.rotation),
            cos: column(|p| p.cos),
            sin: column(|p| p.sin),
        }
    }

    /// `row[k]` = how well pairs `t` and `k` agree on one rigid motion, for every `k` (only
    /// `k > t` is used): 1 for perfect agreement, falling linearly to 0 at the tolerated
    /// position and rotation errors. Each pair's rotation, applied to the probe-side
    /// displacement, predicts the candidate-side one; the mean of the two squared misses keeps
    /// the measure symmetric. With y down, a counter-clockwise (as viewed) turn maps (x, y) to
    /// (x cos + y sin, −x sin + y cos). Written without branches so that it vectorises.
    #[inline(always)]
    fn compatibilities(&self, t: usize, row: &mut [f32; MAX_RELAXATION_PAIRS]) {
        let (tax, tay, tbx, tby) = (self.ax[t], self.ay[t], self.bx[t], self.by[t]);
        let (trot, tcos, tsin) = (self.rotation[t], self.cos[t], self.sin[t]);
        // Whole blocks of 8 from the one holding t + 1: fixed-length inner loops vectorise,
        // and the blocks left of the diagonal (about a third of the matrix) are skipped.
        for block in (t + 1) / COMPAT_BLOCK..MAX_RELAXATION_PAIRS / COMPAT_BLOCK {
            #[allow(clippy::needless_range_loop)] // k indexes seven columns and the row
            for k in block * COMPAT_BLOCK..(block + 1) * COMPAT_BLOCK {
                let rotation_error = wrap_direction_difference(self.rotation[k] - trot).abs();
                let rotation_term = 1.0 - rotation_error / COMPATIBLE_ROTATION_ERROR_RAD;
                let (ux, uy) = (self.ax[k] - tax, self.ay[k] - tay);
                let (vx, vy) = (self.bx[k] - tbx, self.by[k] - tby);
                let miss_sq = |cos: f32, sin: f32| {
                    let (px, py) = (ux * cos + uy * sin, -ux * sin + uy * cos);
                    (px - vx) * (px - vx) + (py - vy) * (py - vy)
                };
                let error_sq = 0.5 * (miss_sq(tcos, tsin) + miss_sq(self.cos[k], self.sin[k]));
                let length = (0.5 * (ux * ux + uy * uy + vx * vx + vy * vy)).sqrt();
                let tolerance =
                    COMPATIBLE_POSITION_ERROR_PX + COMPATIBLE_POSITION_ERROR_PER_PX * length;
                let position_term = 1.0 - error_sq / (tolerance * tolerance);
                row[k] = if rotation_term <= 0.0 || position_term <= 0.0 {
                    0.0
                } else {
                    position_term * rotation_term
                };
            }
        }
    }
}

/// How well two pairs agree on one rigid motion: 1 for perfect agreement, falling linearly to
/// 0 at the tolerated position and rotation errors. Symmetric in its arguments. The reference
/// for [`Motions::compatibilities`], which computes the same many at a time.
#[cfg(test)]
fn compatibility(t: &Selected, k: &Selected) -> f32 {
    let rotation_error = wrap_angle(k.rotation - t.rotation).abs();
    let rotation_term = 1.0 - rotation_error / COMPATIBLE_ROTATION_ERROR_RAD;
    if rotation_term <= 0.0 {
        return 0.0;
    }
    // Each pair's rotation, applied to the probe-side displacement, predicts the candidate-side
    // one; the mean of the two squared misses keeps the measure symmetric. With y down, a
    // counter-clockwise (as viewed) turn maps (x, y) to (x cos + y sin, −x sin + y cos).
    let (ux, uy) = (k.ax - t.ax, k.ay - t.ay);
    let (vx, vy) = (k.bx - t.bx, k.by - t.by);
    let miss_sq = |cos: f32, sin: f32| {
        let (px, py) = (ux * cos + uy * sin, -ux * sin + uy * cos);
        (px - vx).powi(2) + (py - vy).powi(2)
    };
    let error_sq = 0.5 * (miss_sq(t.cos, t.sin) + miss_sq(k.cos, k.sin));
    let length = (0.5 * (ux * ux + uy * uy + vx * vx + vy * vy)).sqrt();
    let tolerance = COMPATIBLE_POSITION_ERROR_PX + COMPATIBLE_POSITION_ERROR_PER_PX * length;
    let position_term = 1.0 - error_sq / (tolerance * tolerance);
    if position_term <= 0.0 {
        return 0.0;
    }
    position_term * rotation_term
}

/// Number of best pairs averaged into the score, growing with the smaller minutiae count.
fn scored_pair_count(min_minutiae: usize) -> usize {
    let z =
        1.0 / (1.0 + (-SCORED_PAIRS_SLOPE * (min_minutiae as f32 - SCORED_PAIRS_MIDPOINT)).exp());
    let span = (MAX_SCORED_PAIRS - MIN_SCORED_PAIRS) as f32;
    MIN_SCORED_PAIRS + (z * span).round() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scored_pairs_grow_with_minutiae() {
        assert_eq!(scored_pair_count(0), MIN_SCORED_PAIRS);
        assert_eq!(scored_pair_count(200), MAX_SCORED_PAIRS);
        for n in 0..100 {
            assert!(scored_pair_count(n) <= scored_pair_count(n + 1));
        }
    }

    #[test]
    fn compatibility_rows_equal_the_pairwise_reference_exactly() {
        // Pairs of one rigid motion (rotation 0.3 rad) with position and rotation noise, every
        // fourth pair with a rotation anywhere: compatible and incompatible pairs, both.
        let (motion_sin, motion_cos) = 0.3f32.sin_cos();
        let pairs: Vec<Selected> = (0..MAX_RELAXATION_PAIRS)
            .map(|i| {
                let f = i as f32;
                let rotation =
                    if i % 4 == 0 { wrap_angle(f * 2.3) } else { 0.3 + 0.2 * (f * 0.7).sin() };
                let (sin, cos) = rotation.sin_cos();
                let (ax, ay) = ((f * 37.0) % 300.0, (f * 53.0) % 380.0);
                let jitter = if i % 3 == 0 { 25.0 } else { 4.0 };
                Selected {
                    ax,
                    ay,
                    bx: ax * motion_cos + ay * motion_sin + 20.0 + jitter * (f * 1.7).sin(),
                    by: -ax * motion_sin + ay * motion_cos - 10.0 + jitter * (f * 2.9).cos(),
                    rotation,
                    cos,
                    sin,
                    ..Selected::default()
                }
            })
            .collect();
        let motions = Motions::of(&pairs);
        let (mut nonzero, mut zero) = (0, 0);
        for t in 0..pairs.len() {
            let mut row = [0f32; MAX_RELAXATION_PAIRS];
            motions.compatibilities(t, &mut row);
            for k in t + 1..pairs.len() {
                let expected = compatibility(&pairs[t], &pairs[k]);
                assert_eq!(row[k].to_bits(), expected.to_bits(), "pairs {t}, {k}");
                nonzero += usize::from(expected > 0.0);
                zero += usize::from(expected == 0.0);
            }
        }
        assert!(nonzero > 50 && zero > 50, "too one-sided to check: {nonzero}, {zero}");
    }

    #[test]
    fn compatibility_of_a_rigid_motion_is_one_and_symmetric() {
        let rot = 0.3f32;
        let (s, c) = rot.sin_cos();
        let motion = |x: f32, y: f32| (x * c + y * s + 10.0, -x * s + y * c - 5.0);
        let make = |x: f32, y: f32| {
            let (bx, by) = motion(x, y);
            Selected {
                ax: x,
                ay: y,
                bx,
                by,
                rotation: rot,
                cos: c,
                sin: s,
                initial: 1.0,
                relaxed: 1.0,
                ..Selected::default()
            }
        };
        let (t, k) = (make(10.0, 20.0), make(80.0, 60.0));
        assert!((compatibility(&t, &k) - 1.0).abs() < 1e-4);
        let mut far = k;
        far.bx += 40.0;
        assert_eq!(compatibility(&t, &far), 0.0);
        assert!((compatibility(&t, &far) - compatibility(&far, &t)).abs() < 1e-6);
    }
}
