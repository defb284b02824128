//! Candidate selection by locality-sensitive hashing of MCC bit cylinders (after Cappelli,
//! Ferrara, Maltoni, "Fingerprint Indexing Based on Minutia Cylinder-Code", TPAMI 2011).
//!
//! Bit sampling is an LSH family for the Hamming distance: a hash function takes `h` fixed bit
//! positions of a cylinder, so two cylinders collide with probability `s^h`, `s` being the
//! share of bits they agree on. With `T` such functions (one table each), a gallery template
//! gets one vote per (probe cylinder, table) collision with any of its cylinders; genuine mates
//! share many similar cylinders and collect far more votes than impostors. The precise matcher
//! then re-ranks only the best-voted short list.
//!
//! Two adaptations to bit cylinders that are sparse and masked by validity:
//! * positions are drawn only from spatial cells near the centre of the cylinder, which are
//!   inside the print (valid) for nearly every minutia, so a key rarely mixes in "unknown";
//! * keys with fewer than [`MIN_KEY_ONES`] set bits are not indexed: near-empty keys are
//!   shared by most cylinders and would only add noise and huge buckets.
//!
//! The index of a segment is built from its mapped descriptors the first time a search needs
//! it and then cached with the segment (segments never change, so neither does their index).
//! Its cost is linear in the gallery but paid once; the per-search cost is the buckets touched.

use crate::matcher::PreparedRef;

/// Hash tables (independent hash functions).
pub const TABLES: usize = 12;
/// Bits per key.
pub const KEY_BITS: usize = 18;
/// Keys with fewer set bits are not indexed nor looked up.
pub const MIN_KEY_ONES: u32 = 3;
/// Positions are drawn from spatial cells whose centre lies within this share of the radius.
const CENTRAL_RADIUS_SHARE: f32 = 0.75;
/// Seed of the (fixed, versioned with the code) choice of bit positions.
const POSITIONS_SEED: u64 = 0x4d43_435f_4c53_4821;

/// Spatial cells per side and angular sections of the matcher's cylinders.
const SPATIAL_CELLS: usize = 16;
const ANGULAR_CELLS: usize = 6;
const LAYER_BITS: usize = SPATIAL_CELLS * SPATIAL_CELLS;

/// The bit positions of every hash function.
#[derive(Debug, Clone)]
pub struct HashFunctions {
    /// `positions[t][b]` = bit index (layer · 256 + cell) of bit `b` of table `t`'s key.
    positions: Vec<[u16; KEY_BITS]>,
}

impl Default for HashFunctions {
    fn default() -> Self {
        HashFunctions::new()
    }
}

impl HashFunctions {
    /// The fixed hash functions of this index version.
    pub fn new() -> HashFunctions {
        let half = SPATIAL_CELLS as f32 / 2.0;
        let central: Vec<usize> = (0..LAYER_BITS)
            .filter(|&cell| {
                let (i, j) = ((cell / SPATIAL_CELLS) as f32, (cell % SPATIAL_CELLS) as f32);
                let (u, v) = (i + 0.5 - half, j + 0.5 - half);
                (u * u + v * v).sqrt() <= CENTRAL_RADIUS_SHARE * half
            })
            .collect();
        let mut state = POSITIONS_SEED;
        let mut next = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let positions = (0..TABLES)
            .map(|_| {
                let mut chosen = [0u16; KEY_BITS];
                let mut b = 0;
                while b < KEY_BITS {
                    let cell = central[(next() % central.len() as u64) as usize];
                    let layer = (next() % ANGULAR_CELLS as u64) as usize;
                    let bit = (layer * LAYER_BITS + cell) as u16;
                    if !chosen[..b].contains(&bit) {
                        chosen[b] = bit;
                        b += 1;
                    }
                }
                chosen
            })
            .collect();
        HashFunctions { positions }
    }

    /// Key of table `t` for a cylinder's bit words, or `None` if too sparse to index.
    #[inline]
    pub fn key(&self, t: usize, bits: &[u64]) -> Option<u32> {
        let mut key = 0u32;
        for (b, &pos) in self.positions[t].iter().enumerate() {
            let pos = pos as usize;
            let bit = bits.get(pos / 64).map_or(0, |w| (w >> (pos % 64)) & 1);
            key |= (bit as u32) << b;
        }
        (key.count_ones() >= MIN_KEY_ONES).then_some(key)
    }

    /// All (table, key) pairs of a prepared template's cylinders.
    pub fn keys(&self, prepared: PreparedRef<'_>) -> Vec<[Option<u32>; TABLES]> {
        (0..prepared.len())
            .map(|i| {
                let bits = prepared.cylinder_bits(i);
                std::array::from_fn(|t| self.key(t, bits))
            })
            .collect()
    }
}

/// One segment's hash tables: for each table, (key, record index) pairs sorted by key.
#[derive(Debug, Clone, Default)]
pub struct SegmentIndex {
    tables: Vec<(Vec<u32>, Vec<u32>)>,
}

impl SegmentIndex {
    /// Builds the tables from a segment's descriptors (`descriptor(i)` for `i < count`);
    /// records whose descriptor does not parse are left out (verify reports them).
    pub fn build<'a>(
        hashes: &HashFunctions,
        count: u32,
        descriptor: impl Fn(u32) -> Option<PreparedRef<'a>>,
    ) -> SegmentIndex {
        let mut pairs: Vec<Vec<(u32, u32)>> = vec![Vec::new(); TABLES];
        for r in 0..count {
            let Some(prepared) = descriptor(r) else { continue };
            for i in 0..prepared.len() {
                let bits = prepared.cylinder_bits(i);
                for (t, table) in pairs.iter_mut().enumerate() {
                    if let Some(key) = hashes.key(t, bits) {
                        table.push((key, r));
                    }
                }
            }
        }
        let tables = pairs
            .into_iter()
            .map(|mut p| {
                p.sort_unstable();
                p.dedup(); // one vote per (key, record), however many of its cylinders share it
                p.into_iter().unzip()
            })
            .collect();
        SegmentIndex { tables }
    }

    /// Adds one vote per (probe key, record) collision into `votes` (indexed by record).
    pub fn vote(&self, probe_keys: &[[Option<u32>; TABLES]], votes: &mut [u16]) {
        for keys in probe_keys {
            for (t, key) in keys.iter().enumerate() {
                let (Some(key), Some((ks, rs))) = (key, self.tables.get(t)) else { continue };
                let start = ks.partition_point(|k| k < key);
                let end = start + ks[start..].partition_point(|k| k <= key);
                for &r in &rs[start..end] {
                    if let Some(v) = votes.get_mut(r as usize) {
                        *v = v.saturating_add(1);
                    }
                }
            }
        }
    }

    /// Bytes of memory the tables take.
    pub fn memory_bytes(&self) -> usize {
        self.tables.iter().map(|(k, r)| (k.len() + r.len()) * 4).sum()
    }
}
