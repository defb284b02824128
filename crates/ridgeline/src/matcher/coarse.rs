//! First stage of 1:N identification: a coarse comparison of the probe with every record,
//! cheap enough to run over the whole gallery, that picks the short list the precise matcher
//! re-ranks.
//!
//! Each record keeps, beside its full descriptor, a *coarse* one: for its
//! `COARSE_MINUTIAE` best-quality minutiae, the MCC cylinder pooled down to 8×8 spatial × 2
//! angular cells (a cell is set when any of the cylinder's cells it covers is: the three
//! angular sections of one half, and a square of spatial cells when the cylinder has more than
//! 8 per side), so 192 bits per minutia. The coarse score of a record:
//! every probe minutia finds its most similar record minutia and every record minutia its most
//! similar probe minutia (directions within 90°, both cylinders mostly inside their prints);
//! the best pairs vote, mutual ones double, weighted by their similarity squared, for the
//! rotation between the prints; the score is the heaviest rotation window divided by the
//! record's minutiae that could pair at all. Mates agree on one rotation, impostors' best pairs
//! are rarely mutual and scatter.
//!
//! The similarity of two pooled cylinders is the Dice coefficient of their set cells,
//! `2·|a ∧ b| / (|a| + |b|)`. A cylinder's cells are set only where it is valid, so the shared
//! cells lie within the cells valid in both without a mask, and a pair costs one popcount (of
//! its shared cells). `|a|` and `|b|` belong to one side each: a record slot's are counted once
//! per record, and a probe's, with which probe slots can pair at all, once per search, when
//! [`Coarse::of`] builds the probe. Dice ranks pairs much like the precise matcher's bit-MCC
//! similarity, `1 − √d / (√|a| + √|b|)`, without its three square roots per pair, and agrees
//! with exhaustive search at least as often on the agreement test
//! (`tests/tests/gallery_agreement.rs`; figures in `docs/PERFORMANCE.md`).
//!
//! Which pairs may form: a minutia pairs only if its pooled cylinder has at least 20 valid
//! cells (of 64), a property of each side alone, and only with minutiae whose direction is
//! within 90° of its own.
//!
//! The kernels. The portable code is the reference, written as fixed-length lane loops the
//! compiler vectorises. The AVX2 kernel counts bits by nibble lookup (`vpshufb`, a record's
//! bits split into nibbles once, so a pair's count is ANDs and lookups of nibbles) and sums them
//! per 64-bit lane with `vpsadbw`; records order their slots by direction, so the record slots
//! within 90° of a probe minutia are one circular run, and the kernel computes only the groups
//! of eight slots that hold one (about half); the votes are computed eight probe minutiae per
//! register, a partner's direction and its own best pair read from one 32-entry table by
//! in-register permutes. The AVX-512 kernel (VPOPCNTDQ) computes 16 record slots per register
//! and keeps the pair masks in mask registers. Every kernel gives the portable scores bit for
//! bit (the counts are exact integers, the divisions and products the same IEEE operations, a
//! skipped pair has key zero in the portable code too), tested on every kernel the CPU runs.
//! [`crate::cpu::kernel`] chooses the family once per process (`RIDGELINE_KERNEL` forces one),
//! and `scorer` hands a pass over a gallery the one function it calls for every record.
//!
//! Why this and not locality-sensitive hashing of the cylinders (Cappelli, Ferrara, Maltoni,
//! TPAMI 2011), nor geometric hashing of minutia triplets, both measured:
//! on the synth crate's templates (10,000 fingers, 200 genuine probes) the mate was among the
//! 256 best-voted records for 53 % (cylinder LSH) and 37 % (triplets) of probes, and among the
//! first 256 coarse scores for 97 % (see `docs/PERFORMANCE.md`). Hashes need the quantised
//! features of mates to agree exactly, which skin distortion, missing minutiae and partial
//! contact rarely allow; the coarse comparison degrades gracefully instead. Its cost is linear
//! in the gallery, about a microsecond per record and core with AVX2.
//!
//! This module owns the descriptor and its record layout (the `RECORD_*` offsets); the gallery
//! stores one segment's records in a sidecar file (`gallery::coarse_file`) and calls
//! `scorer`'s function over them.

use std::f32::consts::TAU;

use crate::cpu::Kernel;
use crate::matcher::parameters::SPATIAL_CELLS;
use crate::matcher::PreparedRef;

/// Minutiae per record in the coarse descriptor (the best by quality).
pub(crate) const COARSE_MINUTIAE: usize = 32;
/// Rotation bins per turn for the coarse score's vote, and the window (bins) it sums.
const ROTATION_BINS: usize = 24;
/// Least number of valid pooled cells (of 64) for a minutia to pair at all: fewer, and its
/// cylinder lies mostly outside the print (a minutia at the border, or an unused slot).
const MIN_VALID_POOLED_CELLS: u32 = 20;
/// Largest direction difference of a coarse pair, in 1/65,536 of a turn (90°).
const MAX_DIRECTION_DIFFERENCE: u16 = 16_384;

/// The low nibble of every byte of a word.
#[cfg(target_arch = "x86_64")]
const NIBBLES: u64 = 0x0f0f_0f0f_0f0f_0f0f;

/// Vote weight of a mutual best pair, against 1 for a one-sided best pair.
const MUTUAL_WEIGHT: f32 = 2.0;

/// Record field offsets: pooled validity, one u64 per minutia slot.
pub(crate) const RECORD_VALIDITY: usize = 0;
/// Pooled bits of angular half 0 (sections 0–2), one u64 per slot.
pub(crate) const RECORD_BITS_0: usize = 8 * COARSE_MINUTIAE;
/// Pooled bits of angular half 1 (sections 3–5), one u64 per slot.
pub(crate) const RECORD_BITS_1: usize = 16 * COARSE_MINUTIAE;
/// Minutia directions, u16 in 1/65,536 of a turn, one per slot.
pub(crate) const RECORD_DIRECTIONS: usize = 24 * COARSE_MINUTIAE;
/// Bytes per record; unused slots are zero (no valid cell, so they never pair).
pub(crate) const RECORD_LEN: usize = 26 * COARSE_MINUTIAE;
pub(crate) const RECORD_WORDS: usize = RECORD_LEN / 8;
// The score packs a slot index into the low bits of a similarity (see `best_pairs_generic`).
const _: () = assert!(COARSE_MINUTIAE.is_power_of_two() && COARSE_MINUTIAE <= 32);
/// The low similarity bits that carry a partner's slot index.
const PARTNER_MASK: u32 = COARSE_MINUTIAE as u32 - 1;

/// The coarse descriptor of one template, in the record layout (as u64 words), with what a
/// probe needs of it counted once: a search compares one probe with every record, so the
/// probe side's per-slot counts are not recounted per record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coarse {
    words: [u64; RECORD_WORDS],
    /// Set cells of each slot, both angular halves.
    cells: [u32; COARSE_MINUTIAE],
    /// Bit `i` set: slot `i` has enough valid cells to pair as a probe minutia.
    rows: u32,
}

/// The pooled cell (of 8 × 8) that holds cylinder cell `(i, j)`: squares of cells when the
/// cylinder has a multiple of 8 per side, the nearest covering cell otherwise.
fn pooled_cell(i: usize, j: usize) -> usize {
    (i * 8 / SPATIAL_CELLS) * 8 + j * 8 / SPATIAL_CELLS
}

fn pooled(prepared: PreparedRef<'_>, i: usize) -> (u64, u64, u64) {
    let validity = prepared.cylinder_validity(i);
    let bits = prepared.cylinder_bits(i);
    let layer_words = validity.len();
    let bit = |words: &[u64], cell: usize| {
        words.get(cell / 64).is_some_and(|w| w >> (cell % 64) & 1 == 1)
    };
    let sections = bits.len() / layer_words.max(1);
    let (mut valid, mut half0, mut half1) = (0u64, 0u64, 0u64);
    for ci in 0..SPATIAL_CELLS {
        for cj in 0..SPATIAL_CELLS {
            let cell = ci * SPATIAL_CELLS + cj;
            let pooled = 1u64 << pooled_cell(ci, cj);
            if bit(validity, cell) {
                valid |= pooled;
            }
            for k in 0..sections {
                let layer = &bits[k * layer_words..(k + 1) * layer_words];
                if bit(layer, cell) {
                    if k < sections.div_ceil(2) {
                        half0 |= pooled;
                    } else {
                        half1 |= pooled;
                    }
                }
            }
        }
    }
    (valid, half0, half1)
}

impl Coarse {
    /// The coarse descriptor of a prepared template.
    pub fn of(prepared: PreparedRef<'_>) -> Coarse {
        let mut order: Vec<usize> = (0..prepared.len()).collect();
        // Stable: equal qualities keep the prepared order, so the choice is deterministic.
        order.sort_by_key(|&i| std::cmp::Reverse(prepared.minutia(i).quality));
        order.truncate(COARSE_MINUTIAE);
        // The chosen slots in order of direction, so that the minutiae within 90° of any
        // direction are one run of slots (circularly) that a vector kernel can stay within.
        let turn =
            |i: usize| ((prepared.angle(i).rem_euclid(TAU) / TAU * 65_536.0) as u32) & 0xffff;
        order.sort_by_key(|&i| turn(i));
        let mut words = [0u64; RECORD_WORDS];
        let mut directions = [0u16; COARSE_MINUTIAE];
        for (slot, &i) in order.iter().enumerate() {
            let (valid, half0, half1) = pooled(prepared, i);
            words[RECORD_VALIDITY / 8 + slot] = valid;
            words[RECORD_BITS_0 / 8 + slot] = half0;
            words[RECORD_BITS_1 / 8 + slot] = half1;
            directions[slot] = turn(i) as u16;
        }
        for (w, chunk) in directions.chunks_exact(4).enumerate() {
            words[RECORD_DIRECTIONS / 8 + w] =
                chunk.iter().enumerate().fold(0u64, |acc, (k, &d)| acc | u64::from(d) << (16 * k));
        }
        Coarse::from_words(words)
    }

    /// A descriptor of record words.
    fn from_words(words: [u64; RECORD_WORDS]) -> Coarse {
        let cells = std::array::from_fn(|i| {
            words[RECORD_BITS_0 / 8 + i].count_ones() + words[RECORD_BITS_1 / 8 + i].count_ones()
        });
        let rows =
            pairable_slots(&words[RECORD_VALIDITY / 8..RECORD_VALIDITY / 8 + COARSE_MINUTIAE]);
        Coarse { words, cells, rows }
    }

    /// The record as words, the form [`coarse_score`] takes a gallery record in.
    pub fn words(&self) -> &[u64] {
        &self.words
    }
}

fn direction(record: &[u64], slot: usize) -> u16 {
    (record[RECORD_DIRECTIONS / 8 + slot / 4] >> (16 * (slot % 4))) as u16
}

/// The coarse score of a record (its words) for a probe: see the module docs. Runs the kernel
/// family [`crate::cpu::kernel`] chose for this process.
#[inline]
pub fn coarse_score(probe: &Coarse, record: &[u64]) -> f32 {
    coarse_score_with(crate::cpu::kernel(), probe, record)
}

/// [`coarse_score`] by a given kernel family; one the CPU does not support runs the portable
/// code instead (never an instruction the CPU lacks).
#[inline]
pub fn coarse_score_with(kernel: Kernel, probe: &Coarse, record: &[u64]) -> f32 {
    scorer(kernel)(probe, record)
}

/// The coarse score function of a kernel family, chosen once for a whole pass over a gallery
/// instead of once per record; a family the CPU does not support gives the portable code.
pub(crate) fn scorer(kernel: Kernel) -> fn(&Coarse, &[u64]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    match kernel {
        Kernel::Avx512 if kernel.is_supported() => return avx512_checked,
        Kernel::Avx2 if kernel.is_supported() => return avx2_checked,
        _ => {}
    }
    let _ = kernel;
    coarse_score_generic
}

/// [`coarse_score_avx512`] behind the check [`scorer`] made before handing it out.
#[cfg(target_arch = "x86_64")]
fn avx512_checked(probe: &Coarse, record: &[u64]) -> f32 {
    // SAFETY: only `scorer` names this function, after detecting the CPU features at run time.
    unsafe { coarse_score_avx512(probe, record) }
}

/// [`coarse_score_avx2`] behind the check [`scorer`] made before handing it out.
#[cfg(target_arch = "x86_64")]
fn avx2_checked(probe: &Coarse, record: &[u64]) -> f32 {
    // SAFETY: only `scorer` names this function, after detecting the CPU features at run time.
    unsafe { coarse_score_avx2(probe, record) }
}

/// Without the AVX-512 intrinsics (a compiler older than Rust 1.89, see `build.rs`), the
/// portable code compiled for AVX-512.
#[cfg(all(target_arch = "x86_64", not(ridgeline_avx512_intrinsics)))]
#[target_feature(enable = "popcnt,avx2,avx512f,avx512bw,avx512vl,avx512vpopcntdq")]
unsafe fn coarse_score_avx512(probe: &Coarse, record: &[u64]) -> f32 {
    coarse_score_generic(probe, record)
}

#[cfg(all(target_arch = "x86_64", ridgeline_avx512_intrinsics))]
#[target_feature(enable = "popcnt,avx2,avx512f,avx512bw,avx512vl,avx512vpopcntdq")]
unsafe fn coarse_score_avx512(probe: &Coarse, record: &[u64]) -> f32 {
    match record.get(..RECORD_WORDS) {
        Some(record) => heaviest_rotation(&rotation_votes_avx512(probe, record)),
        None => 0.0,
    }
}

/// [`best_pairs_generic`] and [`rotation_votes`] written out in AVX-512, for the same votes bit
/// for bit: the division is IEEE-exact in both, so the scores are identical (tested). What
/// the compiler's vectorisation of the generic loops left on the table: narrowing the 64-bit
/// popcounts to 32-bit lanes took two `vpmovqd` (two micro-operations each) and an insert per
/// 16 lanes, one two-input permute does it here; the pair masks stay in mask registers instead of being widened to lanes
/// and compared back; the row maxima are reduced 16 rows at a time ([`row_maxima`]).
#[cfg(all(target_arch = "x86_64", ridgeline_avx512_intrinsics))]
#[allow(clippy::incompatible_msrv)] // compiled only by Rust >= 1.89 (see build.rs)
#[target_feature(enable = "popcnt,avx2,avx512f,avx512bw,avx512vl,avx512vpopcntdq")]
fn rotation_votes_avx512(probe: &Coarse, record: &[u64]) -> RotationVotes {
    use std::arch::x86_64::*;
    const N: usize = COARSE_MINUTIAE;
    const BLOCKS: usize = N / 8;
    // SAFETY (every load and store below): each slice is exactly 8 u64 or 16 u32, 64 bytes,
    // and the unaligned forms accept any address.
    let words = |at: usize| -> __m512i {
        let lanes = &record[at..at + 8];
        unsafe { _mm512_loadu_si512(lanes.as_ptr().cast()) }
    };
    let valid: [__m512i; BLOCKS] = std::array::from_fn(|b| words(RECORD_VALIDITY / 8 + 8 * b));
    let half0: [__m512i; BLOCKS] = std::array::from_fn(|b| words(RECORD_BITS_0 / 8 + 8 * b));
    let half1: [__m512i; BLOCKS] = std::array::from_fn(|b| words(RECORD_BITS_1 / 8 + 8 * b));
    // 32 u16 directions fill one register.
    let record_directions = words(RECORD_DIRECTIONS / 8);
    let lane_index = [
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_setr_epi32(16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31),
    ];
    // The low 32 bits of each 64-bit lane of two registers, in order.
    let low_halves = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let narrow = |q: [__m512i; BLOCKS]| {
        [
            _mm512_permutex2var_epi32(q[0], low_halves, q[1]),
            _mm512_permutex2var_epi32(q[2], low_halves, q[3]),
        ]
    };
    let min_valid = _mm512_set1_epi64(i64::from(MIN_VALID_POOLED_CELLS));
    let pairable = (0..BLOCKS).fold(0u32, |mask, b| {
        let enough = _mm512_cmpge_epu64_mask(_mm512_popcnt_epi64(valid[b]), min_valid);
        mask | u32::from(enough) << (8 * b)
    });
    let max_turn = _mm512_set1_epi16(MAX_DIRECTION_DIFFERENCE as i16);
    let key_bits = _mm512_set1_epi32(!PARTNER_MASK as i32);
    let one = _mm512_set1_epi32(1);
    // Set cells of each record slot (both halves), as u32 lanes in slot order.
    let record_cells = narrow(std::array::from_fn(|b| {
        _mm512_add_epi64(_mm512_popcnt_epi64(half0[b]), _mm512_popcnt_epi64(half1[b]))
    }));

    let p = &probe.words;
    // Each row's 16 candidate keys, reduced to one maximum per row 16 rows at a time below.
    let mut rows = [_mm512_setzero_si512(); N];
    let mut column_best = [_mm512_setzero_si512(); 2];
    let mut probe_rows = probe.rows;
    while probe_rows != 0 {
        let i = probe_rows.trailing_zeros() as usize;
        probe_rows &= probe_rows - 1;
        let (p0, p1) = (p[RECORD_BITS_0 / 8 + i], p[RECORD_BITS_1 / 8 + i]);
        let probe_half0 = _mm512_set1_epi64(p0 as i64);
        let probe_half1 = _mm512_set1_epi64(p1 as i64);
        let probe_cells = _mm512_set1_epi32(probe.cells[i] as i32);
        let shared = narrow(std::array::from_fn(|b| {
            _mm512_add_epi64(
                _mm512_popcnt_epi64(_mm512_and_si512(probe_half0, half0[b])),
                _mm512_popcnt_epi64(_mm512_and_si512(probe_half1, half1[b])),
            )
        }));
        let turn = _mm512_sub_epi16(record_directions, _mm512_set1_epi16(direction(p, i) as i16));
        let turn = _mm512_min_epu16(turn, _mm512_sub_epi16(_mm512_setzero_si512(), turn));
        let candidates = _mm512_cmple_epu16_mask(turn, max_turn) & pairable;
        let row_index = _mm512_set1_epi32(i as i32);
        let mut row = _mm512_setzero_si512();
        for h in 0..2 {
            let both = _mm512_add_epi32(shared[h], shared[h]);
            let cells = _mm512_max_epu32(_mm512_add_epi32(probe_cells, record_cells[h]), one);
            let similarity = _mm512_div_ps(_mm512_cvtepi32_ps(both), _mm512_cvtepi32_ps(cells));
            let pair = (candidates >> (16 * h)) as __mmask16;
            let key = _mm512_maskz_and_epi32(pair, _mm512_castps_si512(similarity), key_bits);
            row = _mm512_max_epu32(row, _mm512_or_si512(key, lane_index[h]));
            column_best[h] = _mm512_max_epu32(column_best[h], _mm512_or_si512(key, row_index));
        }
        rows[i] = row;
    }
    let best_of_probe = [row_maxima(&rows[..16]), row_maxima(&rows[16..])];

    // The votes of the best pairs, as in `rotation_votes`: partners' keys and directions are
    // looked up by one two-register permute each.
    let partner = _mm512_set1_epi32(PARTNER_MASK as i32);
    let widen = |directions: __m512i| {
        [
            _mm512_cvtepu16_epi32(_mm512_castsi512_si256(directions)),
            _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64::<1>(directions)),
        ]
    };
    let record_turns = widen(record_directions);
    let probe_directions = &p[RECORD_DIRECTIONS / 8..RECORD_DIRECTIONS / 8 + 8];
    let probe_turns = widen(unsafe { _mm512_loadu_si512(probe_directions.as_ptr().cast()) });
    let mut votes = RotationVotes { bins: [0; N], weights: [0.0; N], pairable };
    for h in 0..2 {
        let key = best_of_probe[h];
        let j = _mm512_and_si512(key, partner);
        let similarity = _mm512_castsi512_ps(_mm512_andnot_si512(partner, key));
        let back = _mm512_permutex2var_epi32(column_best[0], j, column_best[1]);
        let mutual = _mm512_cmpeq_epi32_mask(_mm512_and_si512(back, partner), lane_index[h]);
        let weight =
            _mm512_mask_blend_ps(mutual, _mm512_set1_ps(1.0), _mm512_set1_ps(MUTUAL_WEIGHT));
        let weight = _mm512_mul_ps(_mm512_mul_ps(weight, similarity), similarity);
        let partner_turn = _mm512_permutex2var_epi32(record_turns[0], j, record_turns[1]);
        let turn = _mm512_and_si512(
            _mm512_sub_epi32(partner_turn, probe_turns[h]),
            _mm512_set1_epi32(0xffff),
        );
        let bin = _mm512_srli_epi32::<16>(_mm512_mullo_epi32(
            turn,
            _mm512_set1_epi32(ROTATION_BINS as i32),
        ));
        let bins = &mut votes.bins[16 * h..16 * h + 16];
        unsafe { _mm512_storeu_si512(bins.as_mut_ptr().cast(), bin) };
        let weights = &mut votes.weights[16 * h..16 * h + 16];
        unsafe { _mm512_storeu_ps(weights.as_mut_ptr(), weight) };
    }
    votes
}

/// The maximum of each of 16 registers, lane `k` holding register `k`'s: a tree of 15 steps,
/// each folding two registers into one by the maximum of adjacent lanes, instead of 16
/// separate horizontal reductions (four dependent shuffles each, on the port the popcounts
/// need too).
#[cfg(all(target_arch = "x86_64", ridgeline_avx512_intrinsics))]
#[allow(clippy::incompatible_msrv)] // compiled only by Rust >= 1.89 (see build.rs)
#[target_feature(enable = "avx512f")]
fn row_maxima(rows: &[std::arch::x86_64::__m512i]) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    // Lanes of one register hold partial maxima of consecutive rows, each row's in adjacent
    // lanes; folding a pair halves the lanes per row and keeps the order.
    let fold = |a: __m512i, b: __m512i| {
        _mm512_max_epu32(
            _mm512_permutex2var_epi32(a, even, b),
            _mm512_permutex2var_epi32(a, odd, b),
        )
    };
    let mut level: [__m512i; 16] =
        std::array::from_fn(|k| rows.get(k).copied().unwrap_or(_mm512_setzero_si512()));
    let mut width = 16;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            level[k] = fold(level[2 * k], level[2 * k + 1]);
        }
    }
    level[0]
}

/// The AVX2 kernel: [`best_pairs_generic`] with 64-bit popcounts done by nibble lookup
/// (`vpshufb`, after Muła, Kurz and Lemire) and summed per lane by `vpsadbw`. The two popcounts
/// that add up (both angular halves) are added as byte counts before the one horizontal sum;
/// each record slot's set cells are counted, and its bits split into nibbles, once, before the
/// rows. Record slots go eight at a time: the popcounts of two registers of four 64-bit lanes,
/// whose sums interleave into one register of eight 32-bit lanes for the division and the
/// maxima; the lanes stay in that interleaved order (the slot mask, slot numbers and cell
/// counts are laid out to match), and only the column maxima are put back in slot order, once
/// per record. Only the groups of eight that hold a slot within 90° of the probe minutia's direction are
/// computed: records order their slots by direction (see [`Coarse::of`]), so about half are
/// skipped. Gives the generic votes bit for bit:
/// the counts are exact integers, the division is IEEE in both (of the same real quotient:
/// `s / (a/2 + b/2)` here, `2s / (a + b)` there, every operand exact), and a skipped pair has key
/// zero in the generic code too, which never wins a row or column against a pair that can vote
/// (a vote of similarity zero weighs zero whichever partner it names).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt,avx2,bmi2")]
unsafe fn coarse_score_avx2(probe: &Coarse, record: &[u64]) -> f32 {
    match record.get(..RECORD_WORDS) {
        Some(record) => {
            let best = best_pairs_avx2(probe, record);
            heaviest_rotation(&rotation_votes_avx2(probe, record, &best))
        }
        None => 0.0,
    }
}

/// [`rotation_votes`] in AVX2, eight probe minutiae per register, for the same sums bit for
/// bit: the same two IEEE products per weight, and a probe minutia without a pair votes with
/// weight +0 (into whichever bin), which adds nothing to any bin as in the generic code. A
/// partner's direction and its best pair's probe slot are packed into one 32-entry table
/// looked up by four in-register permutes and three blends, where the scalar loop spends
/// about a fifth of the kernel's time on dependent loads.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt,avx2,bmi2")]
fn rotation_votes_avx2(probe: &Coarse, record: &[u64], best: &BestPairs) -> RotationVotes {
    use std::arch::x86_64::*;
    const REGS: usize = COARSE_MINUTIAE / 8;
    // SAFETY (the loads and stores below): each slice is exactly eight u32 (32 bytes) or eight
    // u16 (16 bytes), and the unaligned forms accept any address.
    let lanes = |v: &[u32], at: usize| -> __m256i {
        let v = &v[at..at + 8];
        unsafe { _mm256_loadu_si256(v.as_ptr().cast()) }
    };
    // The directions of eight slots, widened to u32 lanes.
    let directions = |words: &[u64], r: usize| -> __m256i {
        let at = RECORD_DIRECTIONS / 8 + 2 * r;
        let w = &words[at..at + 2];
        unsafe { _mm256_cvtepu16_epi32(_mm_loadu_si128(w.as_ptr().cast())) }
    };
    let partner = _mm256_set1_epi32(PARTNER_MASK as i32);
    // Entry j: record slot j's direction (high half) and the probe slot of its best pair.
    let table: [__m256i; REGS] = std::array::from_fn(|r| {
        _mm256_or_si256(
            _mm256_slli_epi32::<16>(directions(record, r)),
            _mm256_and_si256(lanes(&best.of_record, 8 * r), partner),
        )
    });
    // Entry j of lane j (0–31): permutes use j's low three bits, bits 3 and 4 (moved to the
    // sign bit) pick the register.
    let lookup = |j: __m256i| -> __m256i {
        let bit3 = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(j));
        let bit4 = _mm256_castsi256_ps(_mm256_slli_epi32::<27>(j));
        let pick = |a: __m256i, b: __m256i| {
            _mm256_blendv_ps(
                _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(a, j)),
                _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(b, j)),
                bit3,
            )
        };
        _mm256_castps_si256(_mm256_blendv_ps(
            pick(table[0], table[1]),
            pick(table[2], table[3]),
            bit4,
        ))
    };
    let mut votes = RotationVotes {
        bins: [0; COARSE_MINUTIAE],
        weights: [0.0; COARSE_MINUTIAE],
        pairable: best.pairable,
    };
    let first_lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let low_half = _mm256_set1_epi32(0xffff);
    for r in 0..REGS {
        let key = lanes(&best.of_probe, 8 * r);
        let j = _mm256_and_si256(key, partner);
        let similarity = _mm256_castsi256_ps(_mm256_andnot_si256(partner, key));
        let entry = lookup(j);
        let slot = _mm256_add_epi32(first_lanes, _mm256_set1_epi32(8 * r as i32));
        let mutual =
            _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(entry, partner), slot));
        let weight = _mm256_blendv_ps(_mm256_set1_ps(1.0), _mm256_set1_ps(MUTUAL_WEIGHT), mutual);
        let weight = _mm256_mul_ps(_mm256_mul_ps(weight, similarity), similarity);
        let turn = _mm256_and_si256(
            _mm256_sub_epi32(_mm256_srli_epi32::<16>(entry), directions(&probe.words, r)),
            low_half,
        );
        let bin = _mm256_srli_epi32::<16>(_mm256_mullo_epi32(
            turn,
            _mm256_set1_epi32(ROTATION_BINS as i32),
        ));
        let bins = &mut votes.bins[8 * r..8 * r + 8];
        unsafe { _mm256_storeu_si256(bins.as_mut_ptr().cast(), bin) };
        let weights = &mut votes.weights[8 * r..8 * r + 8];
        unsafe { _mm256_storeu_ps(weights.as_mut_ptr(), weight) };
    }
    votes
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt,avx2,bmi2")]
fn best_pairs_avx2(probe: &Coarse, record: &[u64]) -> BestPairs {
    use std::arch::x86_64::*;
    const N: usize = COARSE_MINUTIAE;
    const GROUPS: usize = N / 8;
    // SAFETY (every load below): the slice is exactly four u64, 32 bytes, and the unaligned
    // form accepts any address.
    let load = |at: usize| -> __m256i {
        let lanes = &record[at..at + 4];
        unsafe { _mm256_loadu_si256(lanes.as_ptr().cast()) }
    };
    #[rustfmt::skip]
    let nibble_counts = _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
    );
    let low_nibbles = _mm256_set1_epi8(0x0f);
    // Bit counts of each byte.
    let byte_counts = |x: __m256i| {
        let lo = _mm256_and_si256(x, low_nibbles);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(x), low_nibbles);
        _mm256_add_epi8(
            _mm256_shuffle_epi8(nibble_counts, lo),
            _mm256_shuffle_epi8(nibble_counts, hi),
        )
    };
    let zero = _mm256_setzero_si256();
    // The byte counts of eight u64 lanes (slots `8g..8g + 4` in `low`, the next four in
    // `high`) summed per lane, as eight u32 lanes: `vpsadbw` leaves each sum in the low half of
    // its u64 lane, and the high register's sums, shifted into the upper halves, interleave
    // with the low one's. So lane `k` of a group holds slot `8g + SLOT_OF_LANE[k]`; every
    // per-lane operand of the rows follows that order, and the columns are put back in slot
    // order once per record.
    let eight_sums = |low: __m256i, high: __m256i| {
        let (a, b) = (_mm256_sad_epu8(low, zero), _mm256_sad_epu8(high, zero));
        _mm256_or_si256(a, _mm256_slli_epi64::<32>(b))
    };
    // Lane `k` of the interleaved order holds slot `SLOT_OF_LANE[k]` of its group.
    const SLOT_OF_LANE: [i32; 8] = [0, 4, 1, 5, 2, 6, 3, 7];
    // The same permutation of each group's eight bytes of the slot mask (`vpshufb` indexes
    // within 16-byte halves, two groups each), and its inverse on u32 lanes.
    const LANE_ORDER_BYTES: [i8; 32] = {
        let mut bytes = [0i8; 32];
        let mut b = 0;
        while b < 32 {
            bytes[b] = (b % 16 / 8 * 8) as i8 + SLOT_OF_LANE[b % 8] as i8;
            b += 1;
        }
        bytes
    };
    const SLOT_ORDER: [i32; 8] = {
        let mut lanes = [0i32; 8];
        let mut k = 0;
        while k < 8 {
            lanes[SLOT_OF_LANE[k] as usize] = k as i32;
            k += 1;
        }
        lanes
    };
    // SAFETY (both loads): each array is 32 bytes.
    let bytes_in_lane_order = unsafe { _mm256_loadu_si256(LANE_ORDER_BYTES.as_ptr().cast()) };
    let slot_order = unsafe { _mm256_loadu_si256(SLOT_ORDER.as_ptr().cast()) };

    let pairable = pairable_slots(&record[RECORD_VALIDITY / 8..RECORD_VALIDITY / 8 + N]);
    let pairable_bytes: [i8; N] = std::array::from_fn(|slot| -((pairable >> slot & 1) as i8));
    // SAFETY: the array is 32 bytes.
    let pairable_bytes = unsafe { _mm256_loadu_si256(pairable_bytes.as_ptr().cast()) };
    // SAFETY: the array is 32 bytes.
    let first_slots = unsafe { _mm256_loadu_si256(SLOT_OF_LANE.as_ptr().cast()) };
    // The slot numbers of each group's eight lanes.
    let group_slots: [__m256i; GROUPS] =
        std::array::from_fn(|g| _mm256_add_epi32(first_slots, _mm256_set1_epi32(8 * g as i32)));
    // The 32 u16 directions fill two registers, in slot order.
    let record_directions = [load(RECORD_DIRECTIONS / 8), load(RECORD_DIRECTIONS / 8 + 4)];
    let max_turn = _mm256_set1_epi16(MAX_DIRECTION_DIFFERENCE as i16);
    let key_bits = _mm256_set1_epi32(!PARTNER_MASK as i32);
    let half = _mm256_set1_ps(0.5);
    // Half the set cells of each record slot (both halves), eight slots per group, as floats.
    // A pair's similarity `2s / (a + b)` is computed as `s / (a/2 + b/2)`: the same real
    // quotient of exactly represented operands (halves of small integers), so the same IEEE
    // result, without doubling `s` or converting the sum for every pair.
    let record_half_cells: [__m256; GROUPS] = std::array::from_fn(|g| {
        let at = 8 * g;
        let cells = |at: usize| {
            _mm256_add_epi8(
                byte_counts(load(RECORD_BITS_0 / 8 + at)),
                byte_counts(load(RECORD_BITS_1 / 8 + at)),
            )
        };
        _mm256_mul_ps(_mm256_cvtepi32_ps(eight_sums(cells(at), cells(at + 4))), half)
    });

    // The record's pooled bits split into low and high nibbles (as bytes 0–15) once per record
    // instead of once per probe row: [half][low, high][register of four slots].
    let record_nibbles: [[[__m256i; 2 * GROUPS]; 2]; 2] =
        [RECORD_BITS_0, RECORD_BITS_1].map(|bits| {
            let words: [__m256i; 2 * GROUPS] = std::array::from_fn(|r| load(bits / 8 + 4 * r));
            [
                words.map(|x| _mm256_and_si256(x, low_nibbles)),
                words.map(|x| _mm256_and_si256(_mm256_srli_epi16::<4>(x), low_nibbles)),
            ]
        });

    let p = &probe.words;
    let mut best_of_probe = [0u32; N];
    let mut column_best = [zero; GROUPS];
    let mut rows = probe.rows;
    while rows != 0 {
        let i = rows.trailing_zeros() as usize;
        rows &= rows - 1;
        // The record slots this probe minutia may pair with: within 90° and pairable.
        let probe_direction = _mm256_set1_epi16(direction(p, i) as i16);
        let aligned = record_directions.map(|d| {
            let turn = _mm256_sub_epi16(d, probe_direction);
            let turn = _mm256_min_epu16(turn, _mm256_sub_epi16(zero, turn));
            _mm256_cmpeq_epi16(_mm256_min_epu16(turn, max_turn), turn)
        });
        // One byte per slot, all ones where the pair may form; a group is needed where its
        // eight bits are not all zero.
        let bytes = _mm256_and_si256(
            _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packs_epi16(aligned[0], aligned[1])),
            pairable_bytes,
        );
        let compatible = _mm256_movemask_epi8(bytes) as u32;
        if compatible == 0 {
            continue;
        }
        // The slot mask in lane order, widened to a group's eight u32 lanes by one load below.
        let mut pair_bytes = [0i8; N];
        // SAFETY: the array is 32 bytes.
        unsafe {
            _mm256_storeu_si256(
                pair_bytes.as_mut_ptr().cast(),
                _mm256_shuffle_epi8(bytes, bytes_in_lane_order),
            )
        };

        let (p0, p1) = (p[RECORD_BITS_0 / 8 + i], p[RECORD_BITS_1 / 8 + i]);
        // The probe minutia's nibbles, split once per row (see `record_nibbles`).
        let nibbles =
            |x: u64| [NIBBLES & x, NIBBLES & x >> 4].map(|n| _mm256_set1_epi64x(n as i64));
        let probe_nibbles = [nibbles(p0), nibbles(p1)];
        let probe_half_cells = _mm256_set1_ps(probe.cells[i] as f32 * 0.5);
        let row_index = _mm256_set1_epi32(i as i32);
        // Byte counts of the shared cells of four slots (register `r`), both halves: the
        // nibbles of `a ∧ b` are the nibbles of `a` and of `b` ANDed, each counted by lookup.
        let shared_bytes = |r: usize| {
            let count = |h: usize, k: usize| {
                _mm256_shuffle_epi8(
                    nibble_counts,
                    _mm256_and_si256(probe_nibbles[h][k], record_nibbles[h][k][r]),
                )
            };
            _mm256_add_epi8(
                _mm256_add_epi8(count(0, 0), count(0, 1)),
                _mm256_add_epi8(count(1, 0), count(1, 1)),
            )
        };
        let mut row = zero;
        let mut remaining = compatible;
        while remaining != 0 {
            let g = remaining.trailing_zeros() as usize / 8;
            remaining &= !(0xff << (8 * g));
            let at = 8 * g;
            let shared = eight_sums(shared_bytes(2 * g), shared_bytes(2 * g + 1));
            // Where neither side has a set cell, `s` is 0 and so is the similarity, as with the
            // generic code's divisor of at least 1.
            let cells = _mm256_max_ps(_mm256_add_ps(probe_half_cells, record_half_cells[g]), half);
            let similarity = _mm256_div_ps(_mm256_cvtepi32_ps(shared), cells);
            let group_bytes = &pair_bytes[at..at + 8];
            // SAFETY: the slice is eight bytes, what the load reads.
            let pair =
                _mm256_cvtepi8_epi32(unsafe { _mm_loadl_epi64(group_bytes.as_ptr().cast()) });
            let key =
                _mm256_and_si256(_mm256_and_si256(_mm256_castps_si256(similarity), key_bits), pair);
            row = _mm256_max_epu32(row, _mm256_or_si256(key, group_slots[g]));
            column_best[g] = _mm256_max_epu32(column_best[g], _mm256_or_si256(key, row_index));
        }
        // The row's maximum over its eight lanes.
        let row = _mm_max_epu32(_mm256_castsi256_si128(row), _mm256_extracti128_si256::<1>(row));
        let row = _mm_max_epu32(row, _mm_shuffle_epi32::<0b0100_1110>(row));
        let row = _mm_max_epu32(row, _mm_shuffle_epi32::<0b1011_0001>(row));
        best_of_probe[i] = _mm_cvtsi128_si32(row) as u32;
    }
    let mut best_of_record = [0u32; N];
    for (g, column) in column_best.iter().enumerate() {
        let column = _mm256_permutevar8x32_epi32(*column, slot_order);
        // SAFETY: the destination is eight u32, 32 bytes.
        unsafe {
            _mm256_storeu_si256(best_of_record[8 * g..8 * g + 8].as_mut_ptr().cast(), column)
        };
    }
    BestPairs { of_probe: best_of_probe, of_record: best_of_record, pairable }
}

/// The coarse score without instruction-set specific code.
pub(crate) fn coarse_score_generic(probe: &Coarse, record: &[u64]) -> f32 {
    match record.get(..RECORD_WORDS) {
        Some(record) => {
            heaviest_rotation(&rotation_votes(probe, record, &best_pairs_generic(probe, record)))
        }
        None => 0.0,
    }
}

/// The best pair of each probe minutia (row) and of each record minutia (column), as keys.
///
/// Written as fixed-length lane loops so the compiler vectorises the popcounts, the division
/// and maxima for whichever instruction set the caller enabled.
///
/// Pair similarities are non-negative floats, which order like their bit patterns; their five
/// lowest mantissa bits (a relative change below 2⁻¹⁸) are replaced by the index of the other
/// minutia of the pair, so one integer maximum finds both the best similarity and its partner,
/// for every probe minutia (across a row) and every record minutia (down a column) at once.
#[inline(always)]
fn best_pairs_generic(probe: &Coarse, record: &[u64]) -> BestPairs {
    const N: usize = COARSE_MINUTIAE;
    const PARTNER: u32 = PARTNER_MASK;
    let p = &probe.words;
    let (valid, half0, half1) = (
        &record[RECORD_VALIDITY / 8..RECORD_VALIDITY / 8 + N],
        &record[RECORD_BITS_0 / 8..RECORD_BITS_0 / 8 + N],
        &record[RECORD_BITS_1 / 8..RECORD_BITS_1 / 8 + N],
    );
    let mut record_directions = [0u16; N];
    for (slot, d) in record_directions.iter_mut().enumerate() {
        *d = direction(record, slot);
    }
    let pairable = pairable_slots(valid);
    let record_cells: [u32; N] =
        std::array::from_fn(|j| half0[j].count_ones() + half1[j].count_ones());
    // Best pair of each probe minutia (row) and of each record minutia (column), as keys.
    let mut best_of_probe = [0u32; N];
    let mut best_of_record = [0u32; N];
    for (i, best_of_row) in best_of_probe.iter_mut().enumerate() {
        // A probe minutia that cannot pair (or is not in this pass): skip its whole row.
        if probe.rows >> i & 1 == 0 {
            continue;
        }
        let (p0, p1) = (p[RECORD_BITS_0 / 8 + i], p[RECORD_BITS_1 / 8 + i]);
        let probe_cells = probe.cells[i];
        let pd = direction(p, i);
        // Integer lanes first (popcounts), then float lanes (similarities): two simple loops
        // vectorise where one mixed loop does not.
        let (mut shared, mut ok) = ([0u32; N], [0u32; N]);
        for j in 0..N {
            shared[j] = (p0 & half0[j]).count_ones() + (p1 & half1[j]).count_ones();
            let turn = record_directions[j].wrapping_sub(pd);
            let aligned = turn.min(turn.wrapping_neg()) <= MAX_DIRECTION_DIFFERENCE;
            ok[j] = u32::from(aligned && pairable >> j & 1 == 1);
        }
        let mut keys = [0u32; N];
        for j in 0..N {
            let both = 2 * shared[j];
            let sim = both as f32 / (probe_cells + record_cells[j]).max(1) as f32;
            keys[j] = if ok[j] == 1 { sim.to_bits() & !PARTNER } else { 0 };
        }
        let mut row = 0u32;
        for j in 0..N {
            row = row.max(keys[j] | j as u32);
            best_of_record[j] = best_of_record[j].max(keys[j] | i as u32);
        }
        *best_of_row = row;
    }
    BestPairs { of_probe: best_of_probe, of_record: best_of_record, pairable }
}

/// The best pair of every probe minutia and every record minutia, as keys (similarity bits
/// with the partner's slot in the low bits), and which record slots could pair at all.
struct BestPairs {
    of_probe: [u32; COARSE_MINUTIAE],
    of_record: [u32; COARSE_MINUTIAE],
    /// Bit `j` set: record slot `j` has enough valid cells to pair.
    pairable: u32,
}

/// The slots of a coarse descriptor with enough valid pooled cells to pair (its validity words),
/// as a bit mask.
fn pairable_slots(validity: &[u64]) -> u32 {
    validity.iter().take(COARSE_MINUTIAE).enumerate().fold(0, |mask, (slot, v)| {
        mask | u32::from(v.count_ones() >= MIN_VALID_POOLED_CELLS) << slot
    })
}

/// The votes of the best pairs: each probe minutia's best pair votes for the rotation between
/// the prints, by its similarity squared; a mutual best pair (the record minutia finds the
/// probe minutia most similar too) votes double. Impostors' best pairs are rarely mutual;
/// mates' often are.
fn rotation_votes(probe: &Coarse, record: &[u64], best: &BestPairs) -> RotationVotes {
    const PARTNER: u32 = PARTNER_MASK;
    let mut votes = RotationVotes {
        bins: [0; COARSE_MINUTIAE],
        weights: [0.0; COARSE_MINUTIAE],
        pairable: best.pairable,
    };
    for (i, &key) in best.of_probe.iter().enumerate() {
        // No pair: a vote of weight zero, which adds nothing to any bin
        // (every sum starts at +0 and adds non-negative weights).
        if key == 0 {
            continue;
        }
        let j = (key & PARTNER) as usize;
        let similarity = f32::from_bits(key & !PARTNER);
        let weight = if best.of_record[j] & PARTNER == i as u32 { MUTUAL_WEIGHT } else { 1.0 };
        let turn = direction(record, j).wrapping_sub(direction(&probe.words, i));
        votes.bins[i] = (u32::from(turn) * ROTATION_BINS as u32) >> 16;
        votes.weights[i] = weight * similarity * similarity;
    }
    votes
}

/// The coarse score from the votes: the heaviest window of three rotation bins, per record
/// minutia that could pair at all.
///
/// Why per record minutia: every probe minutia finds *some* best pair in any record, and the
/// more minutiae a record has, the better the best of them is by chance, so unnormalised
/// sums ranked impostors with full 32-minutia descriptors above mates with a dozen minutiae
/// (small or dry prints). Divided by the record's pairable minutiae, the score is the weighted
/// share of the record that agrees on one rotation. On the bench population (10,000 fingers,
/// 200 genuine probes) it leaves 2 mates outside the 256 best coarse scores against 6; dividing by
/// the square root, or by the smaller of the two counts, gained less (`docs/PERFORMANCE.md`).
#[inline(always)]
fn heaviest_rotation(votes: &RotationVotes) -> f32 {
    // Four partial histograms, so consecutive votes for one bin do not wait on each other's
    // stores; summed in a fixed order, the same in every kernel.
    let mut partial = [[0f32; ROTATION_BINS]; 4];
    for (i, (&bin, &weight)) in votes.bins.iter().zip(&votes.weights).enumerate() {
        partial[i % 4][(bin as usize).min(ROTATION_BINS - 1)] += weight;
    }
    let mut bins = [0f32; ROTATION_BINS];
    for (b, total) in bins.iter_mut().enumerate() {
        *total = (partial[0][b] + partial[1][b]) + (partial[2][b] + partial[3][b]);
    }
    let heaviest = (0..ROTATION_BINS)
        .map(|b| {
            bins[(b + ROTATION_BINS - 1) % ROTATION_BINS] + bins[b] + bins[(b + 1) % ROTATION_BINS]
        })
        .fold(0f32, f32::max);
    heaviest / votes.pairable.count_ones().max(1) as f32
}

/// The vote of every probe minutia's best pair: its rotation bin and its weight (similarity
/// squared, doubled for a mutual pair; zero without a pair), and which record slots could pair.
struct RotationVotes {
    bins: [u32; COARSE_MINUTIAE],
    weights: [f32; COARSE_MINUTIAE],
    /// Bit `j` set: record slot `j` has enough valid cells to pair.
    pairable: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::MatchTemplate;
    use crate::template::Template;
    use crate::test_support::scattered_template;

    fn template(seed: u32, turn: f32, shift: f32) -> Template {
        scattered_template(40, seed, turn, shift)
    }

    /// Every instruction-set specific kernel this CPU supports must give the generic scores bit
    /// for bit, on real descriptors (mates and non-mates) and on random words (every slot used,
    /// ties, directions on both sides of the 90° limit, valid-cell counts on both sides of the
    /// pairing minimum).
    #[test]
    fn every_vector_kernel_scores_exactly_as_the_generic_one() {
        let kernels: Vec<Kernel> =
            crate::cpu::supported().into_iter().filter(|&k| k != Kernel::Portable).collect();
        if kernels.is_empty() {
            eprintln!("SKIPPED: this CPU runs only the portable kernel");
            return;
        }
        let records: Vec<Coarse> = (0..24)
            .map(|k| Coarse::of(MatchTemplate::prepare(&template(k, 0.0, 0.0)).view()))
            .collect();
        let probes: Vec<Coarse> = (0..24)
            .map(|k| {
                let turn = 0.05 * (k % 7) as f32 - 0.15;
                Coarse::of(MatchTemplate::prepare(&template(k / 2, turn, (k % 5) as f32)).view())
            })
            .collect();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let random: Vec<Coarse> = (0..48)
            .map(|k| {
                let mut words = [0u64; RECORD_WORDS];
                for w in &mut words {
                    // Dense validity (most pairs pass the minimum), sparse or dense bits.
                    *w = match k % 3 {
                        0 => next() | next(),
                        1 => next(),
                        _ => next() & next(),
                    };
                }
                Coarse::from_words(words)
            })
            .collect();
        let (mut compared, mut positive) = (0, 0);
        for probe in probes.iter().chain(&random) {
            for record in records.iter().chain(&random) {
                let expected = coarse_score_generic(probe, &record.words);
                for &kernel in &kernels {
                    let score = coarse_score_with(kernel, probe, &record.words);
                    assert_eq!(score.to_bits(), expected.to_bits(), "{kernel}");
                    let by_scorer = scorer(kernel)(probe, &record.words);
                    assert_eq!(by_scorer.to_bits(), expected.to_bits(), "{kernel} scorer");
                }
                compared += 1;
                positive += usize::from(expected > 0.0);
            }
        }
        assert_eq!(compared, 72 * 72);
        assert!(positive > compared / 2, "only {positive} of {compared} scores are positive");
    }

    /// The AVX2 votes equal the generic ones vote by vote: the same bin and weight bits for
    /// every probe minutia with a pair, weight +0 for one without.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_votes_equal_the_generic_votes() {
        if !Kernel::Avx2.is_supported() {
            eprintln!("SKIPPED: this CPU has no AVX2");
            return;
        }
        let coarse: Vec<Coarse> = (0..16)
            .map(|k| {
                let turn = 0.07 * (k % 5) as f32;
                Coarse::of(MatchTemplate::prepare(&template(k / 2, turn, (k % 3) as f32)).view())
            })
            .collect();
        let (mut voted, mut mutual, mut registers) = (0, 0, 0u32);
        for probe in &coarse {
            for record in &coarse {
                let best = best_pairs_generic(probe, &record.words);
                let generic = rotation_votes(probe, &record.words, &best);
                // SAFETY: AVX2 support was checked above.
                let avx2 = unsafe { rotation_votes_avx2(probe, &record.words, &best) };
                assert_eq!(avx2.pairable, generic.pairable);
                for (i, &key) in best.of_probe.iter().enumerate() {
                    if key == 0 {
                        assert_eq!(avx2.weights[i].to_bits(), 0, "slot {i}");
                        continue;
                    }
                    assert_eq!(avx2.bins[i], generic.bins[i], "slot {i}");
                    assert_eq!(avx2.weights[i].to_bits(), generic.weights[i].to_bits(), "slot {i}");
                    voted += 1;
                    let j = (key & PARTNER_MASK) as usize;
                    mutual += usize::from(best.of_record[j] & PARTNER_MASK == i as u32);
                    registers |= 1 << (j / 8);
                }
            }
        }
        // Partners in all four registers of the table, mutual pairs and one-sided ones.
        assert_eq!(registers, 0b1111);
        assert!(voted > 1000 && mutual > 100 && mutual < voted, "{voted} votes, {mutual} mutual");
    }

    /// The similarity counts each side's set cells over its whole cylinder, which equals
    /// counting them within its valid cells only because no cell outside them is set.
    #[test]
    fn pooled_cells_are_set_only_where_valid() {
        let (mut set, mut slots) = (0u32, 0);
        for k in 0..12 {
            let coarse = Coarse::of(MatchTemplate::prepare(&template(k, 0.0, 0.0)).view());
            let w = coarse.words();
            for slot in 0..COARSE_MINUTIAE {
                let valid = w[RECORD_VALIDITY / 8 + slot];
                let bits = [w[RECORD_BITS_0 / 8 + slot], w[RECORD_BITS_1 / 8 + slot]];
                for b in bits {
                    assert_eq!(b & !valid, 0, "template {k} slot {slot}");
                    set += b.count_ones();
                }
                slots += usize::from(valid != 0);
            }
        }
        assert!(slots > 12 * 20 && set > 1000, "{slots} slots, {set} set cells");
    }
}
