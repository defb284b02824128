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
//!    `parameters::MAX_RELAXATION_PAIRS`).
//! 3. **Relaxation.** Each pair's similarity is reinforced by the pairs geometrically
//!    consistent with it (the rigid motion of one predicts the position and rotation of the
//!    other) and weakened otherwise, over a few iterations; pairs that keep their similarity
//!    (efficiency) are the consolidated matches.
//! 4. **Global agreement.** Under the rigid motion of the best relaxed pair, the minutiae of the
//!    two templates that are each other's nearest within a ridge period or so are counted
//!    (`k`), giving `k² / (n_probe · n_candidate)`: how much of both prints one alignment
//!    explains, including minutiae whose cylinders were too spoiled to be selected. The counts
//!    `n` are of the minutiae in the common region (near a minutia of the other print under
//!    that motion), at least a share of each print's minutiae, so that impressions placed far
//!    apart are judged on the area both show.
//! 5. **Score.** The mean relaxed similarity of the best `n_p` pairs, `n_p` growing with the
//!    smaller minutiae count, fused with the global agreement at a small weight
//!    (`parameters::AGREEMENT_WEIGHT`). The score lies in `[0, 1]`.
//! 6. **One scale.** When the smaller print has fewer than
//!    [`calibration::WHOLE_PRINT_MINUTIAE`] minutiae, chance reaches a given score far more
//!    often, so the score is lowered to the whole-print score with the same impostor share
//!    (`calibration::sparse_to_whole`). [`calibration`] then maps any score to an estimated
//!    false match rate.

pub mod calibration;
mod calibration_table;
pub mod coarse;
mod consolidation;
pub(crate) mod cylinder;
mod pair;
pub mod parameters;
pub(crate) mod prepared;
mod sparse_table;

use cylinder::{BIT_WORDS, CYLINDER_BITS, LAYER_WORDS};

/// Whether the cylinder layout suits the blocked kernels (blocks of 8 words holding whole layers).
// Written for any geometry: at one word per layer the modulos are trivially zero.
#[allow(clippy::modulo_one)]
const BLOCKED: bool = BIT_WORDS % 8 == 0 && 8 % LAYER_WORDS == 0;
/// Whether the cylinder layout is the one the AVX-512 kernel holds in registers (16 × 16 × 6).
const AVX512_LAYOUT: bool = cylinder::CYLINDER_WORDS == 28 && LAYER_WORDS == 4;
const _: () = assert!(CYLINDER_BITS < 1 << 16, "popcounts are packed in 16-bit fields");
pub use consolidation::Tuning;
pub use cylinder::CYLINDER_WORDS;
use pair::Pair;
use parameters::*;
pub use prepared::{
    MatchTemplate, PreparedMinutia, PreparedRef, MINUTIA_RECORD_LEN, PREPARED_FORMAT_VERSION,
    PREPARED_LEN,
};

use crate::cpu::Kernel;
use crate::template::Template;

/// Pairs of minutiae whose local similarity was computed, at most this many per comparison.
const MAX_PAIRS: usize = MAX_PREPARED_MINUTIAE * MAX_PREPARED_MINUTIAE;
const _: () = assert!(MAX_PREPARED_MINUTIAE <= 64, "compatible candidates are a u64 bit set");

/// Compares prepared templates. Cheap to create, `Sync`: share one across threads.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Fewest cells valid in both cylinders for them to be compared.
    min_common_cells: u32,
    /// The kernel family this matcher runs (the process's, see [`crate::cpu::kernel`]).
    kernel: Kernel,
    /// The consolidation's parameters ([`parameters`] unless measuring variants).
    tuning: Tuning,
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

/// Room for the pairs of one comparison, left uninitialised (zeroing 32 KiB per comparison
/// would cost more than a few percent of it); only the pushed prefix is ever read.
struct PairBuffer {
    items: [std::mem::MaybeUninit<Pair>; MAX_PAIRS],
    len: usize,
}

impl PairBuffer {
    #[inline(always)]
    fn new() -> PairBuffer {
        PairBuffer { items: [const { std::mem::MaybeUninit::uninit() }; MAX_PAIRS], len: 0 }
    }

    /// Appends a pair (at most `MAX_PAIRS`: one per probe–candidate minutia pair).
    #[inline(always)]
    fn push(&mut self, pair: Pair) {
        self.items[self.len].write(pair);
        self.len += 1;
    }

    /// The pairs pushed so far.
    #[inline(always)]
    fn as_mut_slice(&mut self) -> &mut [Pair] {
        // SAFETY: `push` initialised every item below `len`; `MaybeUninit<Pair>` has the layout
        // of `Pair`, and the slice borrows `self` mutably.
        unsafe { std::slice::from_raw_parts_mut(self.items.as_mut_ptr().cast::<Pair>(), self.len) }
    }
}

impl Matcher {
    /// A matcher with the published parameters (see [`parameters`]).
    pub fn new() -> Matcher {
        let min_common_cells =
            (MIN_COMMON_CELL_SHARE * cylinder::disk_cells() as f32).ceil() as u32;
        Matcher { min_common_cells, kernel: crate::cpu::kernel(), tuning: Tuning::default() }
    }

    /// A matcher whose consolidation uses `tuning` instead of the constants of [`parameters`].
    /// For measuring variants on templates extracted once; scores of any other tuning are not
    /// what the calibration table maps to false match rates.
    pub fn with_tuning(self, tuning: Tuning) -> Matcher {
        Matcher { tuning, ..self }
    }

    /// The consolidation's parameters this matcher uses.
    pub fn tuning(&self) -> &Tuning {
        &self.tuning
    }

    /// A matcher that runs a given kernel family, or the portable code where this CPU does not
    /// support it (for measuring and testing each kernel).
    pub fn with_kernel(kernel: Kernel) -> Matcher {
        let kernel = if kernel.is_supported() { kernel } else { Kernel::Portable };
        Matcher { kernel, ..Matcher::new() }
    }

    /// The kernel family this matcher runs.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Similarity of two prepared templates in `[0, 1]`: higher is more similar, symmetric up
    /// to rounding. Allocation-free.
    pub fn compare(&self, probe: PreparedRef<'_>, candidate: PreparedRef<'_>) -> f64 {
        self.compare_with_matches(probe, candidate, None)
    }

    /// [`Matcher::compare`], also returning the consolidated minutia matches behind the score,
    /// as indices into the prepared minutiae ([`PreparedRef::minutia`]). For drawing a
    /// comparison (the de-duplication report), not for the hot loop.
    pub fn compare_detailed(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
    ) -> DetailedComparison {
        let mut matches = Vec::new();
        let score = self.compare_with_matches(probe, candidate, Some(&mut matches));
        DetailedComparison { score, matches }
    }

    /// The calibrated score of two prepared templates: the 1:1 decision's entry point
    /// ([`Score::fmr`], [`Score::matches_at`]). [`Matcher::compare`] is the same number, bare,
    /// for loops that compare many and decide once.
    pub fn score(&self, probe: PreparedRef<'_>, candidate: PreparedRef<'_>) -> Score {
        Score::new(self.compare(probe, candidate))
    }

    /// Prepares both templates and scores them (for one comparison; prepare once with
    /// [`MatchTemplate::prepare`] to compare a template with many).
    pub fn score_templates(&self, a: &Template, b: &Template) -> Score {
        let (a, b) = (MatchTemplate::prepare(a), MatchTemplate::prepare(b));
        self.score(a.view(), b.view())
    }

    /// A whole comparison, compiled for the instruction set this CPU supports (the
    /// consolidation's fixed-size loops vectorise too).
    fn compare_with_matches(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
        matches: Option<&mut Vec<(usize, usize)>>,
    ) -> f64 {
        #[cfg(target_arch = "x86_64")]
        match self.kernel {
            // SAFETY: `with_kernel` and `cpu::kernel` only give kernels this CPU supports.
            Kernel::Avx512 if AVX512_LAYOUT => {
                return unsafe { self.compare_avx512(probe, candidate, matches) };
            }
            // A layout the AVX-512 kernel does not hold in registers runs the AVX2 code.
            Kernel::Avx512 | Kernel::Avx2 => {
                return unsafe { self.compare_avx2(probe, candidate, matches) }
            }
            Kernel::Portable | Kernel::Neon => {}
        }
        let mut pairs = PairBuffer::new();
        self.local_similarities_generic::<false>(probe, candidate, &mut pairs);
        self.consolidate(probe, candidate, &mut pairs, matches)
    }

    /// The consolidation of the local similarities in `pairs` into the score (inlined into each
    /// kernel's compiled comparison).
    #[inline(always)]
    fn consolidate(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
        pairs: &mut PairBuffer,
        matches: Option<&mut Vec<(usize, usize)>>,
    ) -> f64 {
        let score = consolidation::score_with_matches(
            probe,
            candidate,
            pairs.as_mut_slice(),
            matches,
            &self.tuning,
        ) as f64;
        if self.tuning.sparse_calibration {
            calibration::sparse_to_whole(probe.len().min(candidate.len()), score)
        } else {
            score
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt,avx2,avx512f,avx512bw,avx512vl,avx512vpopcntdq")]
    unsafe fn compare_avx512(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
        matches: Option<&mut Vec<(usize, usize)>>,
    ) -> f64 {
        let mut pairs = PairBuffer::new();
        // SAFETY: this function runs only where these features were detected (as it does).
        unsafe { self.local_similarities_avx512(probe, candidate, &mut pairs) };
        self.consolidate(probe, candidate, &mut pairs, matches)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt,avx2")]
    unsafe fn compare_avx2(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
        matches: Option<&mut Vec<(usize, usize)>>,
    ) -> f64 {
        let mut pairs = PairBuffer::new();
        // SAFETY: this function runs only where these features were detected (as it does).
        unsafe { self.local_similarities_avx2(probe, candidate, &mut pairs) };
        self.consolidate(probe, candidate, &mut pairs, matches)
    }

    /// The local similarities by the kernel [`Matcher::compare`] uses on this CPU.
    #[cfg(test)]
    fn local_similarities(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
        out: &mut PairBuffer,
    ) {
        #[cfg(target_arch = "x86_64")]
        match self.kernel {
            // SAFETY: `with_kernel` and `cpu::kernel` only give kernels this CPU supports.
            Kernel::Avx512 if AVX512_LAYOUT => {
                return unsafe { self.local_similarities_avx512(probe, candidate, out) };
            }
            Kernel::Avx512 | Kernel::Avx2 => {
                return unsafe { self.local_similarities_avx2(probe, candidate, out) };
            }
            Kernel::Portable | Kernel::Neon => {}
        }
        self.local_similarities_generic::<false>(probe, candidate, out)
    }

    /// Without the AVX-512 intrinsics (a compiler older than Rust 1.89), the portable code
    /// compiled for AVX-512.
    #[cfg(all(target_arch = "x86_64", not(ridgeline_avx512_intrinsics)))]
    #[target_feature(enable = "popcnt,avx2,avx512f,avx512bw,avx512vl,avx512vpopcntdq")]
    unsafe fn local_similarities_avx512(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
        out: &mut PairBuffer,
    ) {
        self.local_similarities_generic::<true>(probe, candidate, out)
    }

    /// The AVX-512 kernel: a probe cylinder stays in registers (validity in one 256-bit
    /// register, bits in three 512-bit ones, two layers each) while the compatible candidate
    /// cylinders stream past; the three popcounts of a pair and its common cells are summed
    /// lane-wise, packed into 16-bit fields of one vector and reduced once. Gives exactly the
    /// pairs of the portable code.
    #[cfg(all(target_arch = "x86_64", ridgeline_avx512_intrinsics))]
    #[allow(clippy::incompatible_msrv)] // compiled only by Rust >= 1.89 (see build.rs)
    #[target_feature(enable = "popcnt,avx2,avx512f,avx512bw,avx512vl,avx512vpopcntdq")]
    unsafe fn local_similarities_avx512(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
        out: &mut PairBuffer,
    ) {
        use std::arch::x86_64::*;
        let (na, nb) = (probe.len(), candidate.len());
        let mut angles_b = [0f32; MAX_PREPARED_MINUTIAE];
        for (j, a) in angles_b.iter_mut().enumerate().take(nb) {
            *a = candidate.angle(j);
        }
        for i in 0..na {
            // The candidate minutiae whose direction is close enough, listed first so that the
            // popcount loop runs without unpredictable branches.
            let angle_a = probe.angle(i);
            let mut compatible = [0u8; MAX_PREPARED_MINUTIAE];
            let mut n = 0;
            for (j, &angle_b) in angles_b.iter().enumerate().take(nb) {
                compatible[n] = j as u8;
                n += usize::from(
                    cylinder::direction_difference(angle_b, angle_a)
                        <= MAX_DIRECTION_DIFFERENCE_RAD,
                );
            }
            let (va, a0, a1, a2) = load_cylinder(probe.cylinder(i));
            for &j in &compatible[..n] {
                let (vb, b0, b1, b2) = load_cylinder(candidate.cylinder(j as usize));
                let wide = _mm512_broadcast_i64x4(_mm256_and_si256(va, vb));
                let sum_a = _mm512_add_epi64(
                    _mm512_add_epi64(
                        _mm512_popcnt_epi64(_mm512_and_si512(a0, wide)),
                        _mm512_popcnt_epi64(_mm512_and_si512(a1, wide)),
                    ),
                    _mm512_popcnt_epi64(_mm512_and_si512(a2, wide)),
                );
                let sum_b = _mm512_add_epi64(
                    _mm512_add_epi64(
                        _mm512_popcnt_epi64(_mm512_and_si512(b0, wide)),
                        _mm512_popcnt_epi64(_mm512_and_si512(b1, wide)),
                    ),
                    _mm512_popcnt_epi64(_mm512_and_si512(b2, wide)),
                );
                // (a ^ b) & mask in one ternary-logic instruction (truth table 0x28).
                let sum_x = _mm512_add_epi64(
                    _mm512_add_epi64(
                        _mm512_popcnt_epi64(_mm512_ternarylogic_epi64::<0x28>(a0, b0, wide)),
                        _mm512_popcnt_epi64(_mm512_ternarylogic_epi64::<0x28>(a1, b1, wide)),
                    ),
                    _mm512_popcnt_epi64(_mm512_ternarylogic_epi64::<0x28>(a2, b2, wide)),
                );
                let packed = _mm512_add_epi64(
                    _mm512_add_epi64(sum_a, _mm512_slli_epi64::<16>(sum_b)),
                    _mm512_add_epi64(
                        _mm512_slli_epi64::<32>(sum_x),
                        _mm512_slli_epi64::<48>(_mm512_popcnt_epi64(wide)),
                    ),
                );
                let counts = _mm512_reduce_add_epi64(packed) as u64;
                if (counts >> 48) as u32 / 2 >= self.min_common_cells
                    && counts & 0xffff != 0
                    && counts & 0xffff_0000 != 0
                {
                    out.push(Pair::from_counts(counts, i, j as usize));
                }
            }
        }
        finish_similarities(out.as_mut_slice());
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt,avx2")]
    unsafe fn local_similarities_avx2(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
        out: &mut PairBuffer,
    ) {
        self.local_similarities_generic::<true>(probe, candidate, out)
    }

    /// The local similarity of every pair of compatible directions, written to `out`; returns
    /// how many were written. Written so that the compiler can vectorise the popcounts for
    /// whichever instruction set the caller enabled. `SECTION_COUNTS` counts `|a|` and `|b|`
    /// from per-cell counts ([`section_counts`]): fewer popcounts, which pays where popcount
    /// is one instruction, and costs about a fifth more in the portable build (emulated
    /// popcounts, measured); the counts are the same integers either way.
    #[inline(always)]
    // Written for any geometry: at one word per layer the modulos are trivially zero, and the
    // blocked loop (taken only where `BLOCKED`) is empty.
    #[allow(clippy::modulo_one, clippy::reversed_empty_ranges)]
    fn local_similarities_generic<const SECTION_COUNTS: bool>(
        &self,
        probe: PreparedRef<'_>,
        candidate: PreparedRef<'_>,
        out: &mut PairBuffer,
    ) {
        let (na, nb) = (probe.len(), candidate.len());
        let mut angles_b = [0f32; MAX_PREPARED_MINUTIAE];
        for (j, a) in angles_b.iter_mut().enumerate().take(nb) {
            *a = candidate.angle(j);
        }
        // Each candidate cylinder's cell counts over its angular sections, once per comparison.
        let mut planes_b = [[[0u64; COUNT_PLANES]; LAYER_WORDS]; MAX_PREPARED_MINUTIAE];
        if SECTION_COUNTS && !BLOCKED {
            for (j, planes) in planes_b.iter_mut().enumerate().take(nb) {
                *planes = section_counts(candidate.cylinder(j));
            }
        }
        for i in 0..na {
            let angle_a = probe.angle(i);
            let ca = probe.cylinder(i);
            let planes_a =
                if SECTION_COUNTS && !BLOCKED { section_counts(ca) } else { Default::default() };
            // The candidate minutiae whose direction is close enough, as a bit set computed
            // without branches: whether a pair passes is data the branch predictor follows
            // poorly, while walking the set's bits costs one predictable branch per pair.
            let mut compatible = 0u64;
            for (j, &angle_b) in angles_b.iter().enumerate().take(nb) {
                let close = cylinder::direction_difference(angle_b, angle_a)
                    <= MAX_DIRECTION_DIFFERENCE_RAD;
                compatible |= u64::from(close) << j;
            }
            while compatible != 0 {
                let j = compatible.trailing_zeros() as usize;
                compatible &= compatible - 1;
                let cb = candidate.cylinder(j);
                if !BLOCKED {
                    // Word loops for layouts the blocked loop below does not take.
                    let (sa, sb, sx, common) = if SECTION_COUNTS {
                        // With `a`, `b` each cylinder's bits restricted to the cells valid in
                        // both, `|a|` and `|b|` come from the per-cell counts (a few popcounts
                        // each instead of one per section), and `|a ⊕ b| = |a| + |b| −
                        // 2·|a ∧ b|`: the same integers.
                        let (mut sa, mut sb, mut shared, mut common) = (0u64, 0u64, 0u64, 0u64);
                        for l in 0..LAYER_WORDS {
                            let m = ca[l] & cb[l];
                            common += m.count_ones() as u64;
                            for p in 0..COUNT_PLANES {
                                sa += ((planes_a[l][p] & m).count_ones() as u64) << p;
                                sb += ((planes_b[j][l][p] & m).count_ones() as u64) << p;
                            }
                        }
                        for w in 0..BIT_WORDS {
                            let m = ca[w % LAYER_WORDS] & cb[w % LAYER_WORDS];
                            shared +=
                                (ca[LAYER_WORDS + w] & cb[LAYER_WORDS + w] & m).count_ones() as u64;
                        }
                        (sa, sb, sa + sb - 2 * shared, common)
                    } else {
                        // One popcount per section and count.
                        let (mut sa, mut sb, mut sx, mut common) = (0u64, 0u64, 0u64, 0u64);
                        for l in 0..LAYER_WORDS {
                            common += (ca[l] & cb[l]).count_ones() as u64;
                        }
                        for w in 0..BIT_WORDS {
                            let m = ca[w % LAYER_WORDS] & cb[w % LAYER_WORDS];
                            let a = ca[LAYER_WORDS + w] & m;
                            let b = cb[LAYER_WORDS + w] & m;
                            sa += a.count_ones() as u64;
                            sb += b.count_ones() as u64;
                            sx += (a ^ b).count_ones() as u64;
                        }
                        (sa, sb, sx, common)
                    };
                    let counts = sa + (sb << 16) + (sx << 32);
                    if common as u32 >= self.min_common_cells && sa != 0 && sb != 0 {
                        out.push(Pair::from_counts(counts, i, j));
                    }
                    continue;
                }
                // Each cylinder's bits are already masked by its own validity, so one AND with
                // the common validity restricts both to the cells valid in both. Lane-wise sums
                // over blocks of 8 words vectorise cleanly (one 512-bit register per block, two
                // layers).
                let mut wide = [0u64; 8];
                for (w, m) in wide.iter_mut().enumerate() {
                    *m = ca[w % LAYER_WORDS] & cb[w % LAYER_WORDS];
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
                // The three popcounts and the common cells (counted once per layer of a block)
                // packed into 16-bit fields of each lane (every count is below 2^16), so
                // that one horizontal sum gives them all.
                let mut lanes = [0u64; 8];
                for w in 0..8 {
                    lanes[w] = sa[w]
                        + (sb[w] << 16)
                        + (sx[w] << 32)
                        + ((wide[w].count_ones() as u64) << 48);
                }
                let counts: u64 = lanes.iter().sum();
                let common = (counts >> 48) as u32 / (8 / LAYER_WORDS) as u32;
                if common >= self.min_common_cells
                    && counts & 0xffff != 0
                    && counts & 0xffff_0000 != 0
                {
                    out.push(Pair::from_counts(counts, i, j));
                }
            }
        }
        finish_similarities(out.as_mut_slice());
    }
}

/// Bit planes of a per-cell count: enough for a count of every angular section.
const COUNT_PLANES: usize = (usize::BITS - ANGULAR_CELLS.leading_zeros()) as usize;

/// How many angular sections of a cylinder have each cell set, as bit planes per layer word
/// (plane `p` holds bit `p` of every cell's count): `|c ∧ m|` over all sections is then
/// `Σ 2^p · |plane_p ∧ m|` for any mask `m` of cells. Counted by ripple-carry additions of the
/// sections.
#[inline(always)]
#[allow(clippy::modulo_one)] // one word per layer in the current geometry
fn section_counts(cylinder: &[u64]) -> [[u64; COUNT_PLANES]; LAYER_WORDS] {
    let mut planes = [[0u64; COUNT_PLANES]; LAYER_WORDS];
    for w in 0..BIT_WORDS {
        let mut carry = cylinder[LAYER_WORDS + w];
        for plane in planes[w % LAYER_WORDS].iter_mut() {
            let sum = *plane ^ carry;
            carry &= *plane;
            *plane = sum;
        }
    }
    planes
}

/// Turns every pair's popcounts into its local similarity, `1 − √|a⊕b| / (√|a| + √|b|)`, in
/// place. A separate pass so that the square roots and divisions vectorise and stay off the
/// popcount loop's critical path.
#[inline(always)]
fn finish_similarities(pairs: &mut [Pair]) {
    for p in pairs {
        let (counts, probe, candidate) = p.counts();
        let pa = (counts & 0xffff) as f32;
        let pb = ((counts >> 16) & 0xffff) as f32;
        let px = ((counts >> 32) & 0xffff) as f32;
        let similarity = 1.0 - px.sqrt() / (pa.sqrt() + pb.sqrt());
        *p = Pair::new(similarity, probe, candidate);
    }
}

/// A cylinder in registers: the validity layer, then the bits two layers per register.
#[cfg(all(target_arch = "x86_64", ridgeline_avx512_intrinsics))]
#[allow(clippy::incompatible_msrv)] // compiled only by Rust >= 1.89 (see build.rs)
#[target_feature(enable = "avx2,avx512f")]
#[inline]
fn load_cylinder(
    c: &[u64],
) -> (
    std::arch::x86_64::__m256i,
    std::arch::x86_64::__m512i,
    std::arch::x86_64::__m512i,
    std::arch::x86_64::__m512i,
) {
    use std::arch::x86_64::*;
    // Callers run this kernel only for the 16 × 16 × 6 layout ([`AVX512_LAYOUT`]); the check
    // folds away there and keeps the loads in bounds for any other.
    assert!(c.len() == 28 && LAYER_WORDS == 4, "the AVX-512 kernel holds 28-word cylinders");
    let p = c.as_ptr();
    // SAFETY: a cylinder is 28 words; the loads read words 0..4, 4..12, 12..20 and 20..28 of it
    // (unaligned loads, so the 8-byte alignment of the prepared layout suffices).
    unsafe {
        (
            _mm256_loadu_si256(p.cast()),
            _mm512_loadu_si512(p.add(4).cast()),
            _mm512_loadu_si512(p.add(12).cast()),
            _mm512_loadu_si512(p.add(20).cast()),
        )
    }
}

/// A comparison score in `[0, 1]` (higher is more similar) on the scale the calibration table
/// maps to false match rates, so a decision is taken at a rate, not at a number.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Score {
    value: f64,
}

impl Score {
    /// Wraps a score as [`Matcher::compare`] gives it.
    pub fn new(value: f64) -> Score {
        Score { value }
    }

    /// The score itself.
    pub fn value(self) -> f64 {
        self.value
    }

    /// The estimated false match rate of a comparison scoring this high: the share of impostor
    /// comparisons expected to score at least as high ([`calibration::fmr_for_score`]).
    pub fn fmr(self) -> f64 {
        calibration::fmr_for_score(self.value)
    }

    /// Whether the two prints match at a false match rate of `fmr` per comparison (for a 1:N
    /// search, divide the per-search rate by the comparisons, as identification does).
    pub fn matches_at(self, fmr: f64) -> bool {
        self.value >= calibration::threshold_for_fmr(fmr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_score_decides_at_the_calibrated_threshold() {
        for fmr in [1e-2, 1e-3, 1e-4] {
            let threshold = calibration::threshold_for_fmr(fmr);
            assert!(Score::new(threshold).matches_at(fmr));
            assert!(!Score::new(threshold - 1e-6).matches_at(fmr));
            assert!(Score::new(threshold).fmr() <= fmr * 1.000_001, "{fmr}");
        }
        assert!(Score::new(0.02).fmr() >= Score::new(0.08).fmr());
        let t = Template {
            width: 300,
            height: 300,
            dpi: 500,
            quality: 0,
            minutiae: vec![],
            singular_points: vec![],
        };
        let m = Matcher::new();
        let (a, b) = (MatchTemplate::prepare(&t), MatchTemplate::prepare(&t));
        assert_eq!(m.score_templates(&t, &t).value(), m.compare(a.view(), b.view()));
    }
    use crate::template::{Minutia, MinutiaKind};

    /// A small deterministic generator (xorshift64*), so tests need no extra dependency.
    struct Rng(u64);

    impl Rng {
        fn next_f32(&mut self) -> f32 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32
        }
    }

    /// A random template of `n` minutiae spread over a 300 × 380 px fingerprint, at least 12 px
    /// apart (as real minutiae are).
    fn random_template(rng: &mut Rng, n: usize) -> Template {
        let mut minutiae: Vec<Minutia> = Vec::new();
        while minutiae.len() < n {
            let (x, y) = (40.0 + 300.0 * rng.next_f32(), 30.0 + 380.0 * rng.next_f32());
            if minutiae.iter().any(|m| (m.x - x).powi(2) + (m.y - y).powi(2) < 144.0) {
                continue;
            }
            minutiae.push(Minutia {
                x,
                y,
                angle: std::f32::consts::TAU * rng.next_f32(),
                kind: if rng.next_f32() < 0.5 {
                    MinutiaKind::Ending
                } else {
                    MinutiaKind::Bifurcation
                },
                quality: 40 + (60.0 * rng.next_f32()) as u8,
            });
        }
        Template {
            width: 380,
            height: 440,
            dpi: 500,
            quality: 60,
            minutiae,
            singular_points: vec![],
        }
    }

    /// Another impression of the same finger: rotated and shifted, positions and directions
    /// jittered, some minutiae lost and some spurious ones added.
    fn perturb(rng: &mut Rng, t: &Template) -> Template {
        let rotation = 0.5 * (rng.next_f32() - 0.5); // ±14°
        let (dx, dy) = (40.0 * (rng.next_f32() - 0.5), 40.0 * (rng.next_f32() - 0.5));
        let (sin, cos) = rotation.sin_cos();
        let (cx, cy) = (190.0, 220.0);
        let mut minutiae: Vec<Minutia> = Vec::new();
        for m in &t.minutiae {
            if rng.next_f32() < 0.15 {
                continue;
            }
            let (x, y) = (m.x - cx, m.y - cy);
            minutiae.push(Minutia {
                x: cx + x * cos + y * sin + dx + 4.0 * (rng.next_f32() - 0.5),
                y: cy - x * sin + y * cos + dy + 4.0 * (rng.next_f32() - 0.5),
                angle: crate::template::normalize_angle(
                    m.angle + rotation + 0.2 * (rng.next_f32() - 0.5),
                ),
                ..*m
            });
        }
        let spurious = random_template(rng, 5);
        minutiae.extend(spurious.minutiae);
        Template { minutiae, ..t.clone() }
    }

    #[test]
    fn self_match_scores_above_any_threshold() {
        let matcher = Matcher::new();
        let mut rng = Rng(7);
        let strictest = calibration::threshold_for_fmr(calibration::MIN_FMR);
        for _ in 0..10 {
            let t = random_template(&mut rng, 40);
            let p = MatchTemplate::prepare(&t);
            let s = matcher.compare(p.view(), p.view());
            assert!(s > strictest, "self-match {s} <= strictest threshold {strictest}");
        }
    }

    #[test]
    fn perturbed_impressions_beat_other_fingers_by_a_wide_margin() {
        let matcher = Matcher::new();
        let mut rng = Rng(42);
        let fingers: Vec<Template> = (0..12).map(|_| random_template(&mut rng, 40)).collect();
        let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
        for (i, f) in fingers.iter().enumerate() {
            let a = MatchTemplate::prepare(&perturb(&mut rng, f));
            let b = MatchTemplate::prepare(&perturb(&mut rng, f));
            genuine.push(matcher.compare(a.view(), b.view()));
            let other = MatchTemplate::prepare(&perturb(&mut rng, &fingers[(i + 1) % 12]));
            impostor.push(matcher.compare(a.view(), other.view()));
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!(mean(&genuine) > 3.0 * mean(&impostor), "{genuine:?} vs {impostor:?}");
        let worst_genuine = genuine.iter().copied().fold(f64::INFINITY, f64::min);
        let best_impostor = impostor.iter().copied().fold(0.0, f64::max);
        assert!(worst_genuine > best_impostor, "{genuine:?} vs {impostor:?}");
    }

    #[test]
    fn scores_are_symmetric_and_in_range() {
        let matcher = Matcher::new();
        let mut rng = Rng(3);
        for _ in 0..20 {
            let a = random_template(&mut rng, 30);
            let b = perturb(&mut rng, &a);
            let c = random_template(&mut rng, 50);
            for (x, y) in [(&a, &b), (&a, &c), (&b, &c)] {
                let (px, py) = (MatchTemplate::prepare(x), MatchTemplate::prepare(y));
                let (s1, s2) =
                    (matcher.compare(px.view(), py.view()), matcher.compare(py.view(), px.view()));
                assert!((0.0..=1.0).contains(&s1));
                assert!((s1 - s2).abs() < 0.02, "{s1} vs {s2}");
            }
        }
    }

    #[test]
    fn direction_differences_wrap_over_the_full_circle() {
        // Every direction difference the matcher takes (the pairing bound, pair compatibility,
        // relaxation, global agreement) must wrap: a copy turned by up to ±85°, which carries
        // many directions across 0 / 2π, scores like the copy itself. Beyond ±90° the pairing
        // bound (`MAX_DIRECTION_DIFFERENCE_RAD`, as in MCC) refuses every pair by design: a
        // finger is not placed upside down, and the bound keeps impostor pairs out.
        let matcher = Matcher::new();
        let mut rng = Rng(23);
        let t = random_template(&mut rng, 35);
        let p = MatchTemplate::prepare(&t);
        let own = matcher.compare(p.view(), p.view());
        let turned = |turn: f32| {
            let (sin, cos) = turn.sin_cos();
            let mut turned = t.clone();
            for m in &mut turned.minutiae {
                let (x, y) = (m.x - 190.0, m.y - 220.0);
                // Counter-clockwise as viewed (y down), the template's angle convention.
                (m.x, m.y) = (300.0 + x * cos + y * sin, 300.0 - x * sin + y * cos);
                m.angle = crate::template::normalize_angle(m.angle + turn);
            }
            (turned.width, turned.height) = (600, 600);
            MatchTemplate::prepare(&turned)
        };
        for degrees in (-85..=85).step_by(5) {
            let turn = (degrees as f32 + 0.7).to_radians();
            let q = turned(turn);
            let s = matcher.compare(p.view(), q.view());
            assert!((s - own).abs() < 0.01, "turn {degrees}°: {s} vs own {own}");
            let back = matcher.compare(q.view(), p.view());
            assert!((back - own).abs() < 0.01, "turn {degrees}° back: {back} vs own {own}");
        }
        let upside_down = turned(std::f32::consts::PI);
        assert!(matcher.compare(p.view(), upside_down.view()) < 0.1 * own);
    }

    #[test]
    fn every_kernel_gives_the_portable_kernels_pairs_and_scores() {
        let portable = Matcher::with_kernel(Kernel::Portable);
        let mut rng = Rng(17);
        for _ in 0..10 {
            let a = random_template(&mut rng, 64);
            let b = perturb(&mut rng, &a);
            let (pa, pb) = (MatchTemplate::prepare(&a), MatchTemplate::prepare(&b));
            let mut expected = PairBuffer::new();
            portable.local_similarities_generic::<false>(pa.view(), pb.view(), &mut expected);
            let n = expected.len;
            assert!(n > 100, "too few pairs to check: {n}");
            let expected_score = portable.compare(pa.view(), pb.view());
            for kernel in crate::cpu::supported() {
                let matcher = Matcher::with_kernel(kernel);
                let mut got = PairBuffer::new();
                matcher.local_similarities(pa.view(), pb.view(), &mut got);
                assert_eq!(got.as_mut_slice(), expected.as_mut_slice(), "{kernel}");
                let score = matcher.compare(pa.view(), pb.view());
                assert_eq!(score.to_bits(), expected_score.to_bits(), "{kernel}");
            }
        }
    }

    #[test]
    fn pairs_order_by_similarity_then_indices() {
        let p = Pair::new(0.5, 3, 7);
        assert_eq!((p.similarity(), p.probe(), p.candidate()), (0.5, 3, 7));
        assert!(Pair::new(0.6, 60, 60) > p);
        assert!(Pair::new(0.5, 7, 2) > p, "smaller index 2 < 3");
        assert!(Pair::new(0.5, 7, 3) < p, "same smaller index, probe 7 > 3");
        assert!(Pair::new(0.5, 3, 8) < p);
        assert!(Pair::new(0.25, 0, 0) < p);
    }

    #[test]
    fn empty_and_degenerate_templates_score_zero_without_panicking() {
        let matcher = Matcher::new();
        let empty = Template {
            width: 10,
            height: 10,
            dpi: 0,
            quality: 0,
            minutiae: vec![],
            singular_points: vec![],
        };
        let mut rng = Rng(5);
        let full = random_template(&mut rng, 30);
        let mut nan = full.clone();
        nan.minutiae[0].x = f32::NAN;
        let (e, f, n) = (
            MatchTemplate::prepare(&empty),
            MatchTemplate::prepare(&full),
            MatchTemplate::prepare(&nan),
        );
        assert_eq!(matcher.compare(e.view(), f.view()), 0.0);
        assert_eq!(matcher.compare(e.view(), e.view()), 0.0);
        assert!(matcher.compare(n.view(), f.view()) > 0.0);
    }

    #[test]
    fn genuine_pairs_of_the_dev_sets_score_far_above_impostors() {
        use crate::test_support::{dev_set_iso, shared_path, DEV_SETS};
        let Some(root) = shared_path("datasets/fvc2002") else { return };
        let matcher = Matcher::new();
        for (set, dpi) in DEV_SETS {
            let mut prepared = Vec::new();
            for finger in 101..=104 {
                for impression in 1..=4 {
                    let t = dev_set_iso(&root, (set, dpi), finger, impression);
                    prepared.push((finger, MatchTemplate::prepare(&t)));
                }
            }
            let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
            for (i, (fa, a)) in prepared.iter().enumerate() {
                for (fb, b) in &prepared[i + 1..] {
                    let s = matcher.compare(a.view(), b.view());
                    if fa == fb {
                        genuine.push(s)
                    } else {
                        impostor.push(s)
                    }
                }
            }
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            assert!(
                mean(&genuine) > 4.0 * mean(&impostor),
                "{set}: {} vs {}",
                mean(&genuine),
                mean(&impostor)
            );
        }
    }

    #[test]
    #[allow(clippy::modulo_one)] // any geometry; one word per layer today
    fn prepared_layout_matches_documented_offsets() {
        use prepared::*;
        let mut rng = Rng(11);
        let t = random_template(&mut rng, 70); // above the cap: the best 40 by quality stay
        let p = MatchTemplate::prepare(&t);
        let bytes = p.as_bytes();
        assert_eq!(bytes.len(), PREPARED_LEN);
        // The sizes docs/FORMATS.md states.
        assert_eq!((PREPARED_LEN, OFFSET_CYLINDERS, CYLINDER_RECORD_LEN), (2_576, 336, 56));
        assert_eq!(&bytes[OFFSET_MAGIC..OFFSET_MAGIC + 4], b"RLMC");
        assert_eq!(
            u16::from_le_bytes([bytes[OFFSET_VERSION], bytes[OFFSET_VERSION + 1]]),
            PREPARED_FORMAT_VERSION
        );
        let count = u16::from_le_bytes([bytes[OFFSET_COUNT], bytes[OFFSET_COUNT + 1]]) as usize;
        let view = p.view();
        assert_eq!(count, view.len());
        assert!(count > 0 && count <= MAX_PREPARED_MINUTIAE);
        assert_eq!(
            u16::from_le_bytes([bytes[OFFSET_SOURCE_COUNT], bytes[OFFSET_SOURCE_COUNT + 1]]),
            70
        );
        assert_eq!(bytes[OFFSET_QUALITY], 60);
        assert_eq!(bytes[11..HEADER_LEN], [0; 5]);
        // Minutia 0's record and cylinder at their documented places.
        let m = view.minutia(0);
        let rec = OFFSET_MINUTIAE;
        let field = |at: usize| u16::from_le_bytes([bytes[rec + at], bytes[rec + at + 1]]) as f32;
        assert_eq!(field(0) / POSITION_STEPS_PER_PX, m.x);
        assert_eq!(field(2) / POSITION_STEPS_PER_PX, m.y);
        assert_eq!(field(4) * (std::f32::consts::TAU / 65_536.0), m.angle);
        assert_eq!(bytes[rec + 6], m.quality);
        assert_eq!(bytes[rec + 7], matches!(m.kind, MinutiaKind::Bifurcation) as u8);
        let cyl = OFFSET_CYLINDERS + (count - 1) * CYLINDER_RECORD_LEN;
        let word = u64::from_le_bytes(bytes[cyl..cyl + 8].try_into().expect("8"));
        assert_eq!(word, view.cylinder_validity(count - 1)[0]);
        assert_eq!(view.cylinder_bits(0).len(), cylinder::BIT_WORDS);
        // Unused records are zero.
        assert!(bytes[OFFSET_CYLINDERS + count * CYLINDER_RECORD_LEN..].iter().all(|&b| b == 0));
        // Bits lie within validity.
        for i in 0..count {
            let v = view.cylinder_validity(i);
            for (k, w) in view.cylinder_bits(i).iter().enumerate() {
                assert_eq!(w & !v[k % LAYER_WORDS], 0);
            }
        }
    }

    #[test]
    fn prepared_bytes_round_trip_and_bad_bytes_are_refused() {
        let mut rng = Rng(13);
        let p = MatchTemplate::prepare(&random_template(&mut rng, 30));
        let copy = MatchTemplate::from_bytes(p.as_bytes()).expect("own bytes");
        assert_eq!(copy.as_bytes(), p.as_bytes());
        let view = PreparedRef::from_bytes(p.as_bytes()).expect("aligned own bytes");
        assert_eq!(
            Matcher::new().compare(view, p.view()),
            Matcher::new().compare(p.view(), p.view())
        );

        assert!(PreparedRef::from_bytes(&p.as_bytes()[..PREPARED_LEN - 8]).is_err());
        // Misaligned: the same bytes one byte into a buffer.
        let mut shifted = vec![0u8; PREPARED_LEN + 1];
        shifted[1..].copy_from_slice(p.as_bytes());
        let start = if shifted.as_ptr() as usize % 8 == 0 { 1 } else { 0 };
        let bad_align = &shifted[start..start + PREPARED_LEN];
        if bad_align.as_ptr() as usize % 8 != 0 {
            assert!(PreparedRef::from_bytes(bad_align).is_err());
        }
        let mut bad = p.as_bytes().to_vec();
        bad[0] = b'X';
        assert!(matches!(MatchTemplate::from_bytes(&bad), Err(crate::Error::TemplateMagic { .. })));
        let mut bad = p.as_bytes().to_vec();
        bad[prepared::OFFSET_VERSION] = 99;
        assert!(matches!(
            MatchTemplate::from_bytes(&bad),
            Err(crate::Error::TemplateVersion { .. })
        ));
        let mut bad = p.as_bytes().to_vec();
        bad[prepared::OFFSET_COUNT] = 200;
        assert!(MatchTemplate::from_bytes(&bad).is_err());
    }
}
