//! Candidate selection by locality-sensitive hashing of MCC bit cylinders (after Cappelli,
//! Ferrara, Maltoni, "Fingerprint Indexing Based on Minutia Cylinder-Code", TPAMI 2011).
//!
//! Bit sampling is an LSH family for the Hamming distance: a hash function reads `h` fixed key
//! bits of a cylinder, so two cylinders collide with probability `s^h`, `s` being the share of
//! key bits they agree on. With `T` such functions (one table each), a gallery template
//! gets one vote per (probe cylinder, table) collision with any of its cylinders; genuine mates
//! share many similar cylinders and collect far more votes than impostors. The precise matcher
//! then re-ranks only the best-voted short list.
//!
//! Adaptations to bit cylinders that are sparse and masked by validity:
//! * a key bit is the OR of a small group of cylinder bits ([`IndexParams::group_bits`], all in
//!   one word) rather than a single bit: single bits of sparse cylinders are nearly always 0, so sampled
//!   keys would be mostly empty and uninformative, while OR-groups are set about half the time
//!   (measured: 18 single bits with at least 3 ones leave 280 bytes of postings per
//!   template and a rank-1 agreement of 64 % with exhaustive search);
//! * groups are drawn only from spatial cells near the centre of the cylinder, which are
//!   inside the print (valid) for nearly every minutia, so a key rarely mixes in "unknown";
//! * keys with fewer than [`IndexParams::min_key_ones`] set bits are not indexed: near-empty keys are
//!   shared by most cylinders and would only add noise and huge buckets.
//!
//! The de-duplication's candidate index ([`super::candidate_index`]) is built on these keys; 1:N
//! identification uses the coarse first stage of [`crate::matcher::coarse`] instead, which keeps mates in its short
//! list far more often (see `docs/PERFORMANCE.md`).

use crate::matcher::PreparedRef;

/// Tuning of the hashes; the defaults are the measured choice (see `docs/PERFORMANCE.md`): at
/// 100,000 two-finger records, with the de-duplication's cosine ranking, 12 tables left 16 of
/// the linkable re-captures under a new identity number outside its proposals, 24 left 2 and
/// 32 none. More tables give a
/// mate more chances to collide at the cost of more postings per vote; the keys are computed
/// when the index is built, so this is not part of any file format.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct IndexParams {
    /// Hash tables (independent hash functions).
    pub(crate) tables: usize,
    /// Bits per key (at most 32).
    pub(crate) key_bits: usize,
    /// Cylinder bits OR-ed into one key bit (all from one 64-bit word: one AND per key bit).
    pub(crate) group_bits: u32,
    /// Keys with fewer set bits are neither indexed nor looked up.
    pub(crate) min_key_ones: u32,
}

impl Default for IndexParams {
    fn default() -> Self {
        IndexParams { tables: 32, key_bits: 18, group_bits: GROUP_BITS, min_key_ones: 3 }
    }
}

/// Groups are drawn from spatial cells whose centre lies within this share of the radius.
const CENTRAL_RADIUS_SHARE: f32 = 0.8;
/// Seed of the (fixed, versioned with the code) choice of bit groups.
const POSITIONS_SEED: u64 = 0x4d43_435f_4c53_4821;

use crate::matcher::parameters::{ANGULAR_CELLS, SPATIAL_CELLS};
const LAYER_BITS: usize = SPATIAL_CELLS * SPATIAL_CELLS;
/// Cylinder cells OR-ed into one key bit. Three of the 64 cells of an 8 × 8 layer: with two,
/// 83 % of keys fall under `min_key_ones` and mates shared too few keys (`bench dedup --records
/// 1000 --fingers 2`: recall 0.56); with three, every reachable planted pair of `bench dedup
/// --records 10000 --seed 8` was proposed (76 of 76), with four one was not.
const GROUP_BITS: u32 = 3;

/// No key: the cylinder is too sparse for this table.
pub(crate) const NO_KEY: u32 = u32::MAX;

/// The bit groups of every hash function.
#[derive(Debug, Clone)]
pub(crate) struct HashFunctions {
    params: IndexParams,
    /// `groups[t * key_bits + b]` = (word index into the cylinder's bit words, group mask) of
    /// key bit `b` of table `t`.
    groups: Vec<(u16, u64)>,
}

impl Default for HashFunctions {
    fn default() -> Self {
        HashFunctions::with_params(IndexParams::default())
    }
}

impl HashFunctions {
    /// The hash functions for `params` (fixed for given parameters: the seed is a constant).
    pub(crate) fn with_params(params: IndexParams) -> HashFunctions {
        let params = IndexParams {
            tables: params.tables.max(1),
            key_bits: params.key_bits.clamp(1, 31),
            group_bits: params.group_bits.clamp(1, 32),
            ..params
        };
        let half = SPATIAL_CELLS as f32 / 2.0;
        let central = |cell: usize| {
            if cell >= LAYER_BITS {
                return false;
            }
            let (i, j) = ((cell / SPATIAL_CELLS) as f32, (cell % SPATIAL_CELLS) as f32);
            let (u, v) = (i + 0.5 - half, j + 0.5 - half);
            (u * u + v * v).sqrt() <= CENTRAL_RADIUS_SHARE * half
        };
        let mut state = POSITIONS_SEED;
        let mut next = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let words_per_layer = LAYER_BITS.div_ceil(64);
        let groups = (0..params.tables * params.key_bits)
            .map(|_| loop {
                let layer = (next() % ANGULAR_CELLS as u64) as usize;
                let word_in_layer = (next() % words_per_layer as u64) as usize;
                let mut mask = 0u64;
                let mut tries = 0;
                while mask.count_ones() < params.group_bits && tries < 1000 {
                    tries += 1;
                    let bit = (next() % 64) as usize;
                    if central(word_in_layer * 64 + bit) {
                        mask |= 1 << bit;
                    }
                }
                if mask.count_ones() == params.group_bits {
                    break ((layer * words_per_layer + word_in_layer) as u16, mask);
                }
            })
            .collect();
        HashFunctions { params, groups }
    }

    /// The parameters.
    pub(crate) fn params(&self) -> IndexParams {
        self.params
    }

    /// Key of table `t` for a cylinder's bit words, or [`NO_KEY`] if too sparse to index.
    #[inline]
    pub fn key(&self, t: usize, bits: &[u64]) -> u32 {
        let kb = self.params.key_bits;
        let mut key = 0u32;
        for (b, &(word, mask)) in self.groups[t * kb..(t + 1) * kb].iter().enumerate() {
            let hit = bits.get(word as usize).is_some_and(|w| w & mask != 0);
            key |= (hit as u32) << b;
        }
        if key.count_ones() >= self.params.min_key_ones {
            key
        } else {
            NO_KEY
        }
    }

    /// Keys of a prepared template: `tables` per cylinder, cylinder after cylinder.
    pub(crate) fn flat_keys(&self, prepared: PreparedRef<'_>) -> Vec<u32> {
        let mut keys = Vec::with_capacity(prepared.len() * self.params.tables);
        for i in 0..prepared.len() {
            let bits = prepared.cylinder_bits(i);
            keys.extend((0..self.params.tables).map(|t| self.key(t, bits)));
        }
        keys
    }
}
