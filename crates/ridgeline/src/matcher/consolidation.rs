//! Global consolidation of local similarities: one-to-one pair selection, relaxation by
//! geometric consistency (LSS-R after Cappelli et al.), and the final score.

use super::cylinder::wrap_angle;
use super::parameters::*;
use super::{Pair, PreparedRef};

/// Local pairs considered for the one-to-one selection: the best few times the relaxation size
/// are enough, and selecting them is linear while sorting all pairs is not.
const SELECTION_POOL: usize = 4 * MAX_RELAXATION_PAIRS;

/// The score of a comparison from its local similarities (`pairs` is reordered).
pub(super) fn score(probe: PreparedRef<'_>, candidate: PreparedRef<'_>, pairs: &mut [Pair]) -> f32 {
    score_with_matches(probe, candidate, pairs, None)
}

/// [`score`], also listing the consolidated matches (probe index, candidate index) that made
/// the score when `matches` is given (for drawing them; the hot loop passes `None`).
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
    let by_similarity = |a: &Pair, b: &Pair| {
        b.similarity
            .total_cmp(&a.similarity)
            .then(a.probe.min(a.candidate).cmp(&b.probe.min(b.candidate)))
    };
    let pool = pairs.len().min(SELECTION_POOL);
    if pairs.len() > pool {
        pairs.select_nth_unstable_by(pool - 1, by_similarity);
    }
    let pool = &mut pairs[..pool];
    pool.sort_unstable_by(by_similarity);

    // One-to-one: a minutia takes part in at most one selected pair.
    let mut used_probe = [false; MAX_PREPARED_MINUTIAE];
    let mut used_candidate = [false; MAX_PREPARED_MINUTIAE];
    let mut selected = [Selected::default(); MAX_RELAXATION_PAIRS];
    let mut n = 0;
    for p in pool.iter() {
        let (i, j) = (p.probe as usize, p.candidate as usize);
        if used_probe[i] || used_candidate[j] {
            continue;
        }
        used_probe[i] = true;
        used_candidate[j] = true;
        let (a, b) = (probe.minutia(i), candidate.minutia(j));
        let rotation = wrap_angle(b.angle - a.angle);
        let (sin, cos) = rotation.sin_cos();
        selected[n] = Selected {
            probe_index: p.probe,
            candidate_index: p.candidate,
            cos,
            sin,
            ax: a.x,
            ay: a.y,
            bx: b.x,
            by: b.y,
            rotation,
            initial: p.similarity,
            relaxed: p.similarity,
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

fn relax(pairs: &mut [Selected]) {
    let n = pairs.len();
    if n < 2 {
        for p in pairs.iter_mut() {
            p.relaxed *= RELAXATION_SELF_WEIGHT.powi(RELAXATION_ITERATIONS as i32);
        }
        return;
    }
    let mut compat = [[0f32; MAX_RELAXATION_PAIRS]; MAX_RELAXATION_PAIRS];
    for t in 0..n {
        for k in t + 1..n {
            let c = compatibility(&pairs[t], &pairs[k]);
            compat[t][k] = c;
            compat[k][t] = c;
        }
    }
    let mut current = [0f32; MAX_RELAXATION_PAIRS];
    let mut next = [0f32; MAX_RELAXATION_PAIRS];
    for (c, p) in current.iter_mut().zip(pairs.iter()) {
        *c = p.initial;
    }
    let others = (n - 1) as f32;
    for _ in 0..RELAXATION_ITERATIONS {
        for t in 0..n {
            let support: f32 = (0..n).map(|k| compat[t][k] * current[k]).sum();
            next[t] = RELAXATION_SELF_WEIGHT * current[t]
                + (1.0 - RELAXATION_SELF_WEIGHT) * support / others;
        }
        current[..n].copy_from_slice(&next[..n]);
    }
    for (p, c) in pairs.iter_mut().zip(current.iter()) {
        p.relaxed = *c;
    }
}

/// How well two pairs agree on one rigid motion: 1 for perfect agreement, falling linearly to
/// 0 at the tolerated position and rotation errors. Symmetric in its arguments.
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
