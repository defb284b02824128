//! 1:1 comparison of prepared templates with calibrated scores.
//!
//! A key design decision: templates are *prepared* once ([`MatchTemplate::prepare`]) into a
//! fixed-size byte layout holding bit-based Minutia Cylinder-Code descriptors (Cappelli,
//! Ferrara, Maltoni, TPAMI 2010), so that a gallery stores and maps them as they are, and a
//! comparison ([`Matcher::compare`]) is popcounts over packed words plus a small consolidation,
//! without allocating. The steps of a comparison:
//!
//! 1. **Local similarities.** For every pair of minutiae whose directions differ by at most
//!    90°, the similarity of their cylinders restricted to the cells valid in both:
//!    `1 − √|a⊕b| / (√|a| + √|b|)` over the masked bits (popcounts).
//! 2. **Pair selection.** The best pairs, one-to-one, by local similarity (at most
//!    [`parameters::MAX_RELAXATION_PAIRS`]).
//! 3. **Relaxation.** Each pair's similarity is reinforced by the pairs geometrically
//!    consistent with it (the rigid motion of one predicts the position and rotation of the
//!    other) and weakened otherwise, over a few iterations; pairs that keep their similarity
//!    (efficiency) are the consolidated matches.
//! 4. **Score.** The mean relaxed similarity of the best `n_p` pairs, `n_p` growing with the
//!    smaller minutiae count. The score lies in `[0, 1]`; [`calibration`] maps it to an
//!    estimated false match rate.

pub mod calibration;
mod calibration_table;
mod consolidation;
pub mod cylinder;
pub mod parameters;
pub mod prepared;

use cylinder::{BIT_WORDS, CYLINDER_BITS, LAYER_WORDS};

const _: () =
    assert!(BIT_WORDS % 8 == 0 && 8 % LAYER_WORDS == 0, "blocks of 8 words must hold whole layers");
use parameters::*;
pub use prepared::{
    MatchTemplate, PreparedMinutia, PreparedRef, PREPARED_FORMAT_VERSION, PREPARED_LEN,
};

use crate::template::Template;

/// Pairs of minutiae whose local similarity was computed, at most this many per comparison.
const MAX_PAIRS: usize = MAX_PREPARED_MINUTIAE * MAX_PREPARED_MINUTIAE;

/// Compares prepared templates. Cheap to create, `Sync`: share one across threads.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// `sqrt_table[n] = √n` for every popcount a cylinder can have.
    sqrt_table: Box<[f32]>,
    /// Fewest cells valid in both cylinders for them to be compared.
    min_common_cells: u32,
    /// The popcount code path this CPU supports (chosen once, at construction).
    popcount: Popcount,
}

impl Default for Matcher {
    fn default() -> Self {
        Matcher::new()
    }
}

/// A comparison with the minutia matches that made its score ([`Matcher::compare_detailed`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DetailedComparison {
    /// The score, as [`Matcher::compare`] gives it.
    pub score: f64,
    /// Consolidated matches: (probe minutia, candidate minutia), indices in prepared order.
    pub matches: Vec<(usize, usize)>,
}

/// A scored pair of minutiae (index in the probe, index in the candidate).
#[derive(Debug, Clone, Copy, Default)]
struct Pair {
    similarity: f32,
    probe: u8,
    candidate: u8,
}

impl Matcher {
    /// A matcher with the published parameters (see [`parameters`]).
    pub fn new() -> Matcher {
        let sqrt_table = (0..=CYLINDER_BITS).map(|n| (n as f32).sqrt()).collect();
        let min_common_cells =
            (MIN_COMMON_CELL_SHARE * cylinder::disk_cells() as f32).ceil() as u32;
        Matcher { sqrt_table, min_common_cells, popcount: detect_popcount() }
    }

    /// Similarity of two prepared templates in `[0, 1]`: higher is more similar, symmetric up
    /// to rounding. Allocation-free.
    pub fn compare(&self, probe: PreparedRef<'_>, candidate: PreparedRef<'_>) -> f64 {
        let mut pairs = [Pair::default(); MAX_PAIRS];
        let count = self.local_similarities(probe, candidate, &mut pairs);
        consolidation::score(probe, candidate, &mut pairs[..count]) as f64
    }

    /// [`Matcher::compare`], also returning the consolidated minutia matches behind the score,
    /// as indices into the prepared minutiae ([`PreparedRef::minutia`]). For drawing a
    /// comparison (the de-duplication report), not for the hot loop.
    pub fn compare_detailed(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
    ) -> DetailedComparison {
        let mut pairs = [Pair::default(); MAX_PAIRS];
        let count = self.local_similarities(probe, candidate, &mut pairs);
        let mut matches = Vec::new();
        let score = consolidation::score_with_matches(
            probe,
            candidate,
            &mut pairs[..count],
            Some(&mut matches),
        ) as f64;
        DetailedComparison { score, matches }
    }

    /// Prepares both templates and compares them.
    pub fn compare_templates(&self, a: &Template, b: &Template) -> f64 {
        let (a, b) = (MatchTemplate::prepare(a), MatchTemplate::prepare(b));
        self.compare(a.view(), b.view())
    }

    fn local_similarities(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
        out: &mut [Pair; MAX_PAIRS],
    ) -> usize {
        #[cfg(target_arch = "x86_64")]
        match self.popcount {
            // SAFETY: each feature set was detected on this CPU when the matcher was built.
            Popcount::Avx512 => {
                return unsafe { self.local_similarities_avx512(probe, candidate, out) }
            }
            Popcount::Avx2 => {
                return unsafe { self.local_similarities_avx2(probe, candidate, out) }
            }
            Popcount::Scalar => {}
        }
        self.local_similarities_generic(probe, candidate, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt,avx2,avx512f,avx512bw,avx512vl,avx512vpopcntdq")]
    unsafe fn local_similarities_avx512(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
        out: &mut [Pair; MAX_PAIRS],
    ) -> usize {
        self.local_similarities_generic(probe, candidate, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt,avx2")]
    unsafe fn local_similarities_avx2(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
        out: &mut [Pair; MAX_PAIRS],
    ) -> usize {
        self.local_similarities_generic(probe, candidate, out)
    }

    /// The local similarity of every pair of compatible directions, written to `out`; returns
    /// how many were written. Written so that the compiler can vectorise the popcounts for
    /// whichever instruction set the caller enabled.
    #[inline(always)]
    fn local_similarities_generic(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
        out: &mut [Pair; MAX_PAIRS],
    ) -> usize {
        let (na, nb) = (probe.len(), candidate.len());
        let mut angles_b = [0f32; MAX_PREPARED_MINUTIAE];
        for (j, a) in angles_b.iter_mut().enumerate().take(nb) {
            *a = candidate.angle(j);
        }
        let mut count = 0;
        for i in 0..na {
            let angle_a = probe.angle(i);
            let ca = probe.cylinder(i);
            for (j, &angle_b) in angles_b.iter().enumerate().take(nb) {
                if cylinder::direction_difference(angle_b, angle_a) > MAX_DIRECTION_DIFFERENCE_RAD {
                    continue;
                }
                let cb = candidate.cylinder(j);
                let mut mask = [0u64; LAYER_WORDS];
                let mut common = 0;
                for w in 0..LAYER_WORDS {
                    mask[w] = ca[w] & cb[w];
                    common += mask[w].count_ones();
                }
                if common < self.min_common_cells {
                    continue;
                }
                // Each cylinder's bits are already masked by its own validity, so one AND with
                // the common mask restricts both to the cells valid in both. Lane-wise sums over
                // blocks of 8 words vectorise cleanly (one 512-bit register per block).
                let mut wide = [0u64; 8];
                for (w, m) in wide.iter_mut().enumerate() {
                    *m = mask[w % LAYER_WORDS];
                }
                let (mut sa, mut sb, mut sx) = ([0u64; 8], [0u64; 8], [0u64; 8]);
                for block in 0..BIT_WORDS / 8 {
                    let base = LAYER_WORDS + block * 8;
                    for w in 0..8 {
                        let a = ca[base + w] & wide[w];
                        let b = cb[base + w] & wide[w];
                        sa[w] += a.count_ones() as u64;
                        sb[w] += b.count_ones() as u64;
                        sx[w] += (a ^ b).count_ones() as u64;
                    }
                }
                let pa: u64 = sa.iter().sum();
                let pb: u64 = sb.iter().sum();
                let px: u64 = sx.iter().sum();
                let norm = self.sqrt_table[pa as usize] + self.sqrt_table[pb as usize];
                if norm == 0.0 {
                    continue;
                }
                let similarity = 1.0 - self.sqrt_table[px as usize] / norm;
                if similarity > 0.0 {
                    out[count] = Pair { similarity, probe: i as u8, candidate: j as u8 };
                    count += 1;
                }
            }
        }
        count
    }
}

/// Which popcount code path the CPU supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Popcount {
    /// Portable code.
    Scalar,
    /// `popcnt` and AVX2.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
    /// AVX-512 with vector popcount (`vpopcntq`).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx512,
}

#[cfg(target_arch = "x86_64")]
fn detect_popcount() -> Popcount {
    use std::arch::is_x86_feature_detected as has;
    if has!("avx512f")
        && has!("avx512bw")
        && has!("avx512vl")
        && has!("avx512vpopcntdq")
        && has!("popcnt")
        && has!("avx2")
    {
        Popcount::Avx512
    } else if has!("popcnt") && has!("avx2") {
        Popcount::Avx2
    } else {
        Popcount::Scalar
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect_popcount() -> Popcount {
    Popcount::Scalar
}

/// Compares two templates with a default matcher (prepares both; for one comparison only).
pub fn compare_templates(a: &Template, b: &Template) -> f64 {
    Matcher::new().compare_templates(a, b)
}
