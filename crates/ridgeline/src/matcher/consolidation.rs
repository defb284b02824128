//! Global consolidation of local similarities: one-to-one pair selection, relaxation by
//! geometric consistency (LSS-R after Cappelli et al.), the global agreement of the best relaxed
//! pairs' rigid motions, and the final score.

use std::f32::consts::TAU;

use super::cylinder::{wrap_angle, wrap_direction_difference};
use super::pair::Pair;
use super::parameters::*;
use super::PreparedRef;

/// Local pairs considered for the one-to-one selection: the best few times the relaxation size
/// are enough, and selecting them is linear while sorting all pairs is not.
const SELECTION_POOL: usize = 4 * MAX_RELAXATION_PAIRS;
const _: () = assert!(MAX_PREPARED_MINUTIAE <= 64, "the selection keeps minutia sets in u64 masks");

/// The consolidation's choices that a measurement may vary ([`super::Matcher::with_tuning`]);
/// [`Tuning::default`] holds the constants of [`super::parameters`], which every product path
/// uses. Lets one process score many variants on templates extracted once
/// (`examples/consolidation_sweep.rs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// `OVERLAP_RADIUS_PX`.
    pub overlap_radius_px: f32,
    /// `OVERLAP_MIN_SHARE`.
    pub overlap_min_share: f32,
    /// `AGREEMENT_POSITION_ERROR_PX`.
    pub agreement_position_error_px: f32,
    /// `AGREEMENT_WEIGHT`.
    pub agreement_weight: f32,
    /// `COMPATIBLE_POSITION_ERROR_PER_PX`.
    pub relaxation_error_per_px: f32,
    /// Whether the score of a comparison of sparse prints is mapped onto the whole-print scale
    /// ([`super::calibration::map_sparse_score`]). Off only to measure the raw scores that map
    /// is fitted on.
    pub sparse_calibration: bool,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            overlap_radius_px: OVERLAP_RADIUS_PX,
            overlap_min_share: OVERLAP_MIN_SHARE,
            agreement_position_error_px: AGREEMENT_POSITION_ERROR_PX,
            agreement_weight: AGREEMENT_WEIGHT,
            relaxation_error_per_px: COMPATIBLE_POSITION_ERROR_PER_PX,
            sparse_calibration: true,
        }
    }
}

impl Tuning {
    /// How many of a print's `n` minutiae count as in the common region when `inside` of them
    /// lie in it: never fewer than the floor, never more than `n`.
    fn counted(&self, inside: usize, n: usize) -> usize {
        if self.overlap_radius_px <= 0.0 {
            return n;
        }
        let floor = (self.overlap_min_share * n as f32).ceil() as usize;
        inside.max(floor).min(n)
    }
}

/// The score of a comparison from its local similarities (`pairs` is reordered), also listing the consolidated matches (probe index, candidate index) that made
/// the score when `matches` is given (for drawing them; the hot loop passes `None`). Inlined
/// into each instruction-set variant of the comparison, so that its loops vectorise for it.
#[inline(always)]
pub(super) fn score_with_matches(
    probe: PreparedRef<'_>,
    candidate: PreparedRef<'_>,
    pairs: &mut [Pair],
    matches: Option<&mut Vec<(usize, usize)>>,
    tuning: &Tuning,
) -> f32 {
    if pairs.is_empty() {
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

    // One-to-one: a minutia takes part in at most one selected pair. The pairs are chosen
    // first, without branching on whether a minutia is taken (that outcome is data the branch
    // predictor cannot learn), then their motions are computed.
    let mut used_probe = 0u64;
    let mut used_candidate = 0u64;
    let mut chosen = [Pair::default(); MAX_RELAXATION_PAIRS];
    let mut n = 0;
    for p in pool.iter() {
        let (i, j) = (1u64 << p.probe(), 1u64 << p.candidate());
        let free = (used_probe & i) | (used_candidate & j) == 0;
        let taken = 0u64.wrapping_sub(u64::from(free));
        used_probe |= i & taken;
        used_candidate |= j & taken;
        chosen[n] = *p;
        n += usize::from(free);
        if n == MAX_RELAXATION_PAIRS {
            break;
        }
    }
    let mut selected = [Selected::default(); MAX_RELAXATION_PAIRS];
    for (s, p) in selected.iter_mut().zip(&chosen[..n]) {
        let (i, j) = (p.probe(), p.candidate());
        let (a, b) = (probe.minutia(i), candidate.minutia(j));
        let rotation = wrap_angle(b.angle - a.angle);
        let (sin, cos) = rotation.sin_cos();
        *s = Selected {
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
    }
    let selected = &mut selected[..n];
    relax(selected, tuning.relaxation_error_per_px);

    // The best pairs after relaxation: those both similar and supported by consistent pairs.
    selected.sort_unstable_by(|a, b| b.relaxed.total_cmp(&a.relaxed));
    // The global agreement is seeded by the pairs relaxation trusts most: the highest raw local
    // similarity is more often a lone chance pair, whose motion lines up nothing else.
    let mut seeds = [(0, 0); AGREEMENT_SEEDS];
    let seeds_taken = selected.len().min(AGREEMENT_SEEDS);
    for (seed, s) in seeds.iter_mut().zip(selected.iter()) {
        *seed = (s.probe_index as usize, s.candidate_index as usize);
    }
    let agreement = global_agreement(probe, candidate, &seeds[..seeds_taken], tuning);
    let scored_pairs = scored_pair_count(probe.len().min(candidate.len()));
    if let Some(matches) = matches {
        matches.extend(
            selected
                .iter()
                .take(scored_pairs)
                .map(|s| (s.probe_index as usize, s.candidate_index as usize)),
        );
    }
    let total: f32 = selected.iter().take(scored_pairs).map(|s| s.relaxed).sum();
    let local = (total / scored_pairs as f32).clamp(0.0, 1.0);
    let w = tuning.agreement_weight;
    ((local + w * agreement.value()) / (1.0 + w)).clamp(0.0, 1.0)
}

/// The outcome of the global agreement under the best seed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Agreement {
    /// Minutia pairs the seed's alignment explains.
    mates: usize,
    /// Probe minutiae counted: those in the common region, within the floor ([`Tuning`]).
    counted_probe: usize,
    /// Candidate minutiae counted, likewise.
    counted_candidate: usize,
}

impl Agreement {
    /// `k² / (n_probe · n_candidate)` over the counted minutiae, in `[0, 1]`.
    fn value(&self) -> f32 {
        let denominator = self.counted_probe * self.counted_candidate;
        if denominator == 0 {
            return 0.0;
        }
        ((self.mates * self.mates) as f32 / denominator as f32).min(1.0)
    }
}

/// Minutia columns are processed in blocks of this many (one vector of 32-bit lanes).
const AGREEMENT_BLOCK: usize = 16;
/// Columns of the agreement's arrays: the most minutiae, padded to whole blocks.
const AGREEMENT_COLUMNS: usize = MAX_PREPARED_MINUTIAE.next_multiple_of(AGREEMENT_BLOCK);
/// Low bits of a distance key that hold a minutia index (the distance keeps the rest).
const INDEX_BITS: u32 = 6;
const _: () = assert!(MAX_PREPARED_MINUTIAE <= 1 << INDEX_BITS);
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
/// The key bit of a pair that is not close enough to pair (see `global_agreement`).
const FAR_KEY: u32 = 1 << 31;

/// How much of both templates one rigid motion explains ([`Agreement::value`], in `[0, 1]`). Under the motion of each
/// seed pair (probe minutia onto candidate minutia), minutiae of the two templates that are each
/// other's nearest within [`AGREEMENT_POSITION_ERROR_PX`] and [`COMPATIBLE_ROTATION_ERROR_RAD`]
/// are paired (`k`); `n_probe` and `n_candidate` count the minutiae within
/// [`Tuning::overlap_radius_px`] of a minutia of the other template under the same motion (the
/// common region), never fewer than the floor of [`Tuning::counted`]. The seed with the
/// highest `k² / (n_probe · n_candidate)` counts. Unlike
/// relaxation, which only sees the few pairs chosen by local similarity, this counts every
/// minutia, so a print whose cylinders are spoiled by missing or spurious neighbours still
/// scores for the minutiae that do line up. Mutual nearest neighbours make the count symmetric
/// and independent of the order of the minutiae.
///
/// Written to vectorise: a squared distance and a minutia index share one `u32` key (a
/// non-negative float orders like its bits; the lowest [`INDEX_BITS`] bits, far below the
/// tolerance's precision, hold the index; the top bit, clear in any distance, marks a pair
/// outside the tolerances), so nearest neighbours of rows and columns are plain minima, ties
/// going to the lower index, and every array is updated by unconditional stores.
#[inline(always)]
fn global_agreement(
    probe: PreparedRef<'_>,
    candidate: PreparedRef<'_>,
    seeds: &[(usize, usize)],
    tuning: &Tuning,
) -> Agreement {
    let (na, nb) = (probe.len(), candidate.len());
    if na == 0 || nb == 0 {
        return Agreement::default();
    }
    // Candidate minutiae as columns; the padding lies far outside any tolerance.
    let mut bx = [FAR_PX; AGREEMENT_COLUMNS];
    let mut by = [FAR_PX; AGREEMENT_COLUMNS];
    let mut ba = [0f32; AGREEMENT_COLUMNS];
    for l in 0..nb {
        let m = candidate.minutia(l);
        (bx[l], by[l], ba[l]) = (m.x, m.y, m.angle);
    }
    let blocks = nb.div_ceil(AGREEMENT_BLOCK);
    let tolerance_sq = tuning.agreement_position_error_px * tuning.agreement_position_error_px;
    let overlap_sq = tuning.overlap_radius_px * tuning.overlap_radius_px;
    let mut best = Agreement::default();
    for &(seed_probe, seed_candidate) in seeds {
        let (a, b) = (probe.minutia(seed_probe), candidate.minutia(seed_candidate));
        let rotation = b.angle - a.angle;
        let (sin, cos) = rotation.sin_cos();
        // Where the motion puts each probe minutia and its direction, as in
        // `Motions::compatibilities` (y down).
        let mut px = [FAR_PX; MAX_PREPARED_MINUTIAE];
        let mut py = [FAR_PX; MAX_PREPARED_MINUTIAE];
        let mut pa = [0f32; MAX_PREPARED_MINUTIAE];
        for k in 0..na {
            let m = probe.minutia(k);
            let (ux, uy) = (m.x - a.x, m.y - a.y);
            (px[k], py[k]) = (ux * cos + uy * sin + b.x, -ux * sin + uy * cos + b.y);
            pa[k] = m.angle + rotation;
        }
        let mut column_key = [u32::MAX; AGREEMENT_COLUMNS];
        let mut column_near = [f32::INFINITY; AGREEMENT_COLUMNS];
        let mut row_arg = [u32::MAX; MAX_PREPARED_MINUTIAE];
        let mut inside_probe = 0;
        for (k, row) in row_arg.iter_mut().enumerate().take(na) {
            let (x, y, direction) = (px[k], py[k], pa[k]);
            // Row minima are kept per lane and reduced after the row: a minimum is exact and
            // its keys are distinct, so the lanes' order does not change it, and the loop
            // vectorises (a running scalar minimum does not).
            let mut row_key = [u32::MAX; AGREEMENT_BLOCK];
            let mut row_near = [f32::INFINITY; AGREEMENT_BLOCK];
            for block in 0..blocks {
                let base = block * AGREEMENT_BLOCK;
                for lane in 0..AGREEMENT_BLOCK {
                    let l = base + lane;
                    let d_sq = (bx[l] - x) * (bx[l] - x) + (by[l] - y) * (by[l] - y);
                    row_near[lane] = nearer(row_near[lane], d_sq);
                    column_near[l] = nearer(column_near[l], d_sq);
                    // The direction difference brought into [-π, π) without branches.
                    let turn = ba[l] - direction;
                    let turn = turn - TAU * (turn * (1.0 / TAU) + 0.5).floor();
                    let close =
                        (d_sq <= tolerance_sq) & (turn.abs() <= COMPATIBLE_ROTATION_ERROR_RAD);
                    // A pair too far apart or turned too far gets the key's top bit (a
                    // non-negative distance leaves it clear), so it never wins a minimum
                    // against a close pair; written as arithmetic, not as a choice of
                    // `u32::MAX`, which the compiler turns into masked stores (slow, and
                    // they stall the next row's loads of the same columns).
                    let far = u32::from(!close) * FAR_KEY;
                    let bits = d_sq.to_bits() & !INDEX_MASK | far;
                    row_key[lane] = row_key[lane].min(bits | l as u32);
                    column_key[l] = column_key[l].min(bits | k as u32);
                }
            }
            *row = row_key.iter().fold(u32::MAX, |m, &key| m.min(key));
            let row_near = row_near.iter().fold(f32::INFINITY, |m, &d_sq| nearer(m, d_sq));
            inside_probe += usize::from(row_near <= overlap_sq);
        }
        let inside_candidate =
            column_near.iter().take(nb).filter(|&&d_sq| d_sq <= overlap_sq).count();
        let mates = row_arg
            .iter()
            .take(na)
            .enumerate()
            .filter(|&(k, &key)| {
                key & FAR_KEY == 0
                    && column_key[(key & INDEX_MASK) as usize] & INDEX_MASK == k as u32
            })
            .count();
        let outcome = Agreement {
            mates,
            counted_probe: tuning.counted(inside_probe, na),
            counted_candidate: tuning.counted(inside_candidate, nb),
        };
        if best.counted_probe == 0 || outcome.value() > best.value() {
            best = outcome;
        }
    }
    best
}

/// The smaller of two squared distances, as one vector instruction: they are non-negative and
/// never NaN (coordinates are finite), so they order like their bits. `f32::min`'s NaN rule
/// costs two more instructions and keeps loops from vectorising, and a choice (`if b < a`)
/// becomes masked stores where the result goes back to memory.
#[inline(always)]
fn nearer(a: f32, b: f32) -> f32 {
    f32::from_bits(a.to_bits().min(b.to_bits()))
}

/// Padding coordinate of unused minutia slots, far outside any tolerance.
const FAR_PX: f32 = 1.0e9;

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
fn relax(pairs: &mut [Selected], error_per_px: f32) {
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
        motions.compatibilities(t, row, error_per_px);
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
    fn compatibilities(&self, t: usize, row: &mut [f32; MAX_RELAXATION_PAIRS], error_per_px: f32) {
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
                let tolerance = COMPATIBLE_POSITION_ERROR_PX + error_per_px * length;
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
    use crate::matcher::MatchTemplate;
    use crate::template::{Minutia, MinutiaKind, Template};

    /// A template of `n` minutiae spread over a 300 × 300 px print (deterministic).
    fn spread_template(n: usize, moved: impl Fn(f32, f32, f32) -> (f32, f32, f32)) -> Template {
        let minutiae = (0..n)
            .map(|i| {
                let f = i as f32;
                let (x, y) = (60.0 + (f * 97.0) % 280.0, 60.0 + (f * 61.0 + 17.0) % 280.0);
                let angle = (f * 2.39) % std::f32::consts::TAU;
                let (x, y, angle) = moved(x, y, angle);
                Minutia {
                    x,
                    y,
                    angle: crate::template::normalize_angle(angle),
                    kind: MinutiaKind::Ending,
                    quality: 80,
                }
            })
            .collect();
        Template {
            width: 400,
            height: 400,
            dpi: 500,
            quality: 80,
            minutiae,
            singular_points: Vec::new(),
        }
    }

    /// The global agreement's value with the default tuning.
    fn agreement(a: PreparedRef<'_>, b: PreparedRef<'_>, seeds: &[(usize, usize)]) -> f32 {
        global_agreement(a, b, seeds, &Tuning::default()).value()
    }

    /// The seed pairing minutia `i` of the probe with minutia `j` of the candidate.
    fn seed(i: usize, j: usize) -> [(usize, usize); 1] {
        [(i, j)]
    }

    /// Index in `b` of the minutia nearest to where `moved` puts minutia `i` of `a` (prepared
    /// templates order their minutiae by direction, not as given).
    fn mate(
        a: &MatchTemplate,
        b: &MatchTemplate,
        i: usize,
        moved: impl Fn(f32, f32, f32) -> (f32, f32, f32),
    ) -> usize {
        let m = a.view().minutia(i);
        let (x, y, _) = moved(m.x, m.y, m.angle);
        (0..b.view().len())
            .min_by(|&p, &q| {
                let d = |k: usize| {
                    let n = b.view().minutia(k);
                    (n.x - x).powi(2) + (n.y - y).powi(2)
                };
                d(p).total_cmp(&d(q))
            })
            .unwrap_or(0) // b is not empty in these tests
    }

    #[test]
    fn global_agreement_of_a_rigidly_moved_copy_is_one() {
        let a = MatchTemplate::prepare(&spread_template(30, |x, y, a| (x, y, a)));
        let n = a.view().len();
        assert!(n >= 20, "too few prepared minutiae: {n}");
        assert_eq!(agreement(a.view(), a.view(), &seed(3, 3)), 1.0);
        // Turned by 0.3 rad counter-clockwise (as viewed, y down) about the origin and shifted.
        let (sin, cos) = 0.3f32.sin_cos();
        let moved = |x: f32, y: f32, angle: f32| {
            (x * cos + y * sin + 40.0, -x * sin + y * cos + 90.0, angle + 0.3)
        };
        let b = MatchTemplate::prepare(&spread_template(30, moved));
        assert_eq!(b.view().len(), n);
        let j = mate(&a, &b, 5, moved);
        assert_eq!(agreement(a.view(), b.view(), &seed(5, j)), 1.0);
        // A seed pairing two different minutiae implies a motion that lines up almost nothing.
        let wrong = mate(&a, &b, 9, moved);
        assert!(agreement(a.view(), b.view(), &seed(5, wrong)) < 0.1);
    }

    #[test]
    fn global_agreement_is_symmetric_and_counts_partial_overlap() {
        let a = MatchTemplate::prepare(&spread_template(40, |x, y, a| (x, y, a)));
        // The same finger shifted by 30 px, with a quarter of its minutiae moved far off (lost
        // in one impression and spurious in the other): about 30 of 40 pair up.
        let moved = |x: f32, y: f32, a: f32| {
            if x as i32 % 4 == 1 {
                (y, x + 25.0, a + 1.0)
            } else {
                (x + 30.0, y, a)
            }
        };
        let b = MatchTemplate::prepare(&spread_template(40, moved));
        let (na, nb) = (a.view().len(), b.view().len());
        let mut best = 0.0f32;
        for i in [0, 7, 12, 20] {
            let j = mate(&a, &b, i, moved);
            let ab = agreement(a.view(), b.view(), &seed(i, j));
            let ba = agreement(b.view(), a.view(), &seed(j, i));
            assert_eq!(ab, ba, "seed ({i}, {j})");
            best = best.max(ab);
        }
        // k² / (na · nb) with k the shifted minutiae that survived preparation in both.
        assert!(best > 0.3 && best < 0.9, "{best} ({na}, {nb})");
        assert_eq!(agreement(a.view(), b.view(), &[]), 0.0);
    }

    #[test]
    fn common_region_counts_only_minutiae_near_the_other_print() {
        // The probe covers x in [60, 340); the candidate is the same finger placed 150 px to
        // the left, so only the probe's minutiae right of x = 210 have mates on the sensor.
        let a = MatchTemplate::prepare(&spread_template(40, |x, y, a| (x, y, a)));
        let shifted = |x: f32, y: f32, a: f32| (x - 150.0, y, a);
        let b_full = spread_template(40, shifted);
        let mut b_part = b_full.clone();
        b_part.minutiae.retain(|m| m.x >= 60.0);
        let b = MatchTemplate::prepare(&b_part);
        let i = (0..a.view().len())
            .find(|&i| a.view().minutia(i).x > 260.0)
            .expect("a minutia in the common region");
        let j = mate(&a, &b, i, shifted);
        let before = Tuning { overlap_radius_px: 0.0, ..Tuning::default() };
        let all = global_agreement(a.view(), b.view(), &seed(i, j), &before);
        let common = global_agreement(a.view(), b.view(), &seed(i, j), &Tuning::default());
        assert_eq!(all.mates, common.mates);
        assert_eq!((all.counted_probe, all.counted_candidate), (a.view().len(), b.view().len()));
        assert!(common.counted_probe < a.view().len(), "{common:?}");
        assert!(common.counted_candidate <= b.view().len(), "{common:?}");
        assert!(common.value() > 1.5 * all.value(), "{} vs {}", common.value(), all.value());
        // Symmetric: the same counts with the roles swapped.
        let swapped = global_agreement(b.view(), a.view(), &seed(j, i), &Tuning::default());
        assert_eq!(
            (swapped.mates, swapped.counted_probe, swapped.counted_candidate),
            (common.mates, common.counted_candidate, common.counted_probe)
        );
    }

    #[test]
    fn a_tiny_common_region_counts_at_least_the_floor() {
        let tuning = Tuning::default();
        let floor = (OVERLAP_MIN_SHARE * 40.0).ceil() as usize;
        assert!(floor > 3);
        assert_eq!(tuning.counted(3, 40), floor);
        assert_eq!(tuning.counted(35, 40), 35);
        assert_eq!(tuning.counted(0, 2), (OVERLAP_MIN_SHARE * 2.0).ceil() as usize);
        assert!(tuning.counted(50, 40) <= 40);
        let off = Tuning { overlap_radius_px: 0.0, ..tuning };
        assert_eq!(off.counted(3, 40), 40);
        // Three mates among a print's 40 minutiae stay a small agreement however small the
        // overlap: at most (3 / floor)².
        let tiny = Agreement {
            mates: 3,
            counted_probe: tuning.counted(3, 40),
            counted_candidate: tuning.counted(3, 40),
        };
        assert!(tiny.value() <= 0.06, "{}", tiny.value());
    }

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
            motions.compatibilities(t, &mut row, COMPATIBLE_POSITION_ERROR_PER_PX);
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
