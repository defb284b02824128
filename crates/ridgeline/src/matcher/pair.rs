//! A scored pair of minutiae, packed so that comparing two pairs is comparing two words.

use super::parameters::MAX_PREPARED_MINUTIAE;

/// A scored pair of minutiae (index in the probe, index in the candidate), packed into one
/// word whose order is the order of preference: higher local similarity first, then (on equal
/// similarity) the pair whose smaller index is lower, then the lower probe index, then the lower
/// candidate index. A total order, so any selection algorithm picks the same pairs, and
/// comparing words is cheap.
///
/// Bits 32–63: the similarity's IEEE bits (positive floats order like their bits); bits 16–23:
/// `255 − min(probe, candidate)`; bits 8–15: `255 − probe`; bits 0–7: `255 − candidate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Pair(u64);

const _: () = assert!(MAX_PREPARED_MINUTIAE <= 256, "minutia indices are packed in bytes");

impl Pair {
    /// A pair of positive similarity (`similarity > 0`, finite) and indices below 256.
    #[inline(always)]
    pub(super) fn new(similarity: f32, probe: usize, candidate: usize) -> Pair {
        let (p, c) = (255 - (probe as u64 & 0xff), 255 - (candidate as u64 & 0xff));
        // 255 − min(probe, candidate) is the larger complement.
        Pair((similarity.to_bits() as u64) << 32 | p.max(c) << 16 | p << 8 | c)
    }

    /// A pair before its similarity is known: `counts` packs |a| (bits 0–15), |b| (16–31) and
    /// |a⊕b| (32–47) over the cells valid in both; the indices go to bits 48–55 and 56–63.
    /// Both |a| and |b| must be positive, which is exactly when the similarity is positive (then
    /// √|a⊕b| ≤ √(|a| + |b|) < √|a| + √|b|).
    #[inline(always)]
    pub(super) fn from_counts(counts: u64, probe: usize, candidate: usize) -> Pair {
        Pair(counts & 0xffff_ffff_ffff | (probe as u64 & 0xff) << 48 | (candidate as u64) << 56)
    }

    /// The fields of a pair made by [`Pair::from_counts`].
    #[inline(always)]
    pub(super) fn counts(self) -> (u64, usize, usize) {
        (self.0 & 0xffff_ffff_ffff, ((self.0 >> 48) & 0xff) as usize, (self.0 >> 56) as usize)
    }

    #[inline]
    pub(super) fn similarity(self) -> f32 {
        f32::from_bits((self.0 >> 32) as u32)
    }

    #[inline]
    pub(super) fn probe(self) -> usize {
        255 - ((self.0 >> 8) & 0xff) as usize
    }

    #[inline]
    pub(super) fn candidate(self) -> usize {
        255 - (self.0 & 0xff) as usize
    }
}
