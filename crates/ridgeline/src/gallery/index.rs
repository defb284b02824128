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
//!   (measured first: 18 single bits with at least 3 ones left 280 bytes of postings per
//!   template and a rank-1 agreement of 64 % with exhaustive search);
//! * groups are drawn only from spatial cells near the centre of the cylinder, which are
//!   inside the print (valid) for nearly every minutia, so a key rarely mixes in "unknown";
//! * keys with fewer than [`IndexParams::min_key_ones`] set bits are not indexed: near-empty keys are
//!   shared by most cylinders and would only add noise and huge buckets.
//!
//! The index of a segment is built from its mapped descriptors the first time a search needs
//! it and then cached with the segment (segments never change, so neither does their index).
//! Its cost is linear in the gallery but paid once; the per-search cost is the buckets touched.

use crate::matcher::PreparedRef;

/// Tuning of the index: the defaults are the measured choice (see `docs/PERFORMANCE.md`);
/// `ridgeline bench search` can override them to explore.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexParams {
    /// Hash tables (independent hash functions).
    pub tables: usize,
    /// Bits per key (at most 32).
    pub key_bits: usize,
    /// Cylinder bits OR-ed into one key bit (all from one 64-bit word: one AND per key bit).
    pub group_bits: u32,
    /// Keys with fewer set bits are neither indexed nor looked up.
    pub min_key_ones: u32,
    /// Score a candidate by the sum over probe cylinders of the squared number of tables in
    /// which that cylinder collided with it (rewards strong, repeated agreement), instead of
    /// the plain sum.
    pub squared_votes: bool,
    /// Buckets holding more than this share of a segment's records are skipped at search:
    /// keys that common say nothing about identity (like stop words in text search).
    pub max_bucket_share: f32,
    /// Divide a candidate's votes by the square root of its number of index entries, so
    /// that templates with many minutiae do not win by sheer size.
    pub normalize: bool,
}

impl Default for IndexParams {
    fn default() -> Self {
        IndexParams {
            tables: 12,
            key_bits: 18,
            group_bits: 8,
            min_key_ones: 3,
            squared_votes: true,
            max_bucket_share: 1.0,
            normalize: true,
        }
    }
}

/// Groups are drawn from spatial cells whose centre lies within this share of the radius.
const CENTRAL_RADIUS_SHARE: f32 = 0.8;
/// Seed of the (fixed, versioned with the code) choice of bit groups.
const POSITIONS_SEED: u64 = 0x4d43_435f_4c53_4821;

/// Spatial cells per side and angular sections of the matcher's cylinders.
const SPATIAL_CELLS: usize = 16;
const ANGULAR_CELLS: usize = 6;
const LAYER_BITS: usize = SPATIAL_CELLS * SPATIAL_CELLS;

/// No key: the cylinder is too sparse for this table.
pub const NO_KEY: u32 = u32::MAX;

/// The bit groups of every hash function.
#[derive(Debug, Clone)]
pub struct HashFunctions {
    params: IndexParams,
    /// `groups[t * key_bits + b]` = (word index into the cylinder's bit words, group mask) of
    /// key bit `b` of table `t`.
    groups: Vec<(u16, u64)>,
}

impl Default for HashFunctions {
    fn default() -> Self {
        HashFunctions::new(IndexParams::default())
    }
}

impl HashFunctions {
    /// The hash functions for `params` (fixed for given parameters: the seed is a constant).
    pub fn new(params: IndexParams) -> HashFunctions {
        let params = IndexParams {
            tables: params.tables.max(1),
            key_bits: params.key_bits.clamp(1, 31),
            group_bits: params.group_bits.clamp(1, 32),
            ..params
        };
        let half = SPATIAL_CELLS as f32 / 2.0;
        let central = |cell: usize| {
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
        let words_per_layer = LAYER_BITS / 64;
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
    pub fn params(&self) -> IndexParams {
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
    pub fn keys(&self, prepared: PreparedRef<'_>) -> Vec<u32> {
        let mut keys = Vec::with_capacity(prepared.len() * self.params.tables);
        for i in 0..prepared.len() {
            let bits = prepared.cylinder_bits(i);
            keys.extend((0..self.params.tables).map(|t| self.key(t, bits)));
        }
        keys
    }
}

/// One segment's hash tables: for each table, (key, record index) pairs sorted by key.
#[derive(Debug, Clone, Default)]
pub struct SegmentIndex {
    tables: Vec<(Vec<u32>, Vec<u32>)>,
    /// Index entries per record, over all tables.
    entries: Vec<u16>,
}

impl SegmentIndex {
    /// Builds the tables from a segment's descriptors (`descriptor(i)` for `i < count`);
    /// records whose descriptor does not parse are left out (verify reports them).
    pub fn build<'a>(
        hashes: &HashFunctions,
        count: u32,
        descriptor: impl Fn(u32) -> Option<PreparedRef<'a>>,
    ) -> SegmentIndex {
        let tables = hashes.params.tables;
        let mut pairs: Vec<Vec<(u32, u32)>> = vec![Vec::new(); tables];
        for r in 0..count {
            let Some(prepared) = descriptor(r) else { continue };
            for i in 0..prepared.len() {
                let bits = prepared.cylinder_bits(i);
                for (t, table) in pairs.iter_mut().enumerate() {
                    let key = hashes.key(t, bits);
                    if key != NO_KEY {
                        table.push((key, r));
                    }
                }
            }
        }
        let mut entries = vec![0u16; count as usize];
        let tables = pairs
            .into_iter()
            .map(|mut p| {
                p.sort_unstable();
                p.dedup(); // one entry per (key, record), however many of its cylinders share it
                for &(_, r) in &p {
                    entries[r as usize] = entries[r as usize].saturating_add(1);
                }
                p.into_iter().unzip()
            })
            .collect();
        SegmentIndex { tables, entries }
    }

    /// Adds each record's votes into `votes` (indexed by record): per probe cylinder, the
    /// number of tables where it collided with the record (squared if so configured).
    pub fn vote(&self, params: &IndexParams, probe_keys: &[u32], votes: &mut [f32]) {
        let cap = ((params.max_bucket_share * votes.len() as f32).ceil() as usize).max(8);
        let mut per_cylinder = vec![0u8; votes.len()];
        let mut touched: Vec<u32> = Vec::new();
        for keys in probe_keys.chunks(params.tables) {
            for (t, &key) in keys.iter().enumerate() {
                let Some((ks, rs)) = self.tables.get(t) else { continue };
                if key == NO_KEY {
                    continue;
                }
                let start = ks.partition_point(|&k| k < key);
                let end = start + ks[start..].partition_point(|&k| k <= key);
                if end - start > cap {
                    continue;
                }
                for &r in &rs[start..end] {
                    if let Some(c) = per_cylinder.get_mut(r as usize) {
                        if *c == 0 {
                            touched.push(r);
                        }
                        *c = c.saturating_add(1);
                    }
                }
            }
            for &r in &touched {
                let c = std::mem::take(&mut per_cylinder[r as usize]) as f32;
                votes[r as usize] += if params.squared_votes { c * c } else { c };
            }
            touched.clear();
        }
    }

    /// Applies [`IndexParams::normalize`] to accumulated votes.
    pub fn normalize(&self, params: &IndexParams, votes: &mut [f32]) {
        if params.normalize {
            for (v, &n) in votes.iter_mut().zip(&self.entries) {
                *v /= (n.max(1) as f32).sqrt();
            }
        }
    }

    /// Bytes of memory the tables take.
    pub fn memory_bytes(&self) -> usize {
        self.tables.iter().map(|(k, r)| (k.len() + r.len()) * 4).sum::<usize>()
            + self.entries.len() * 2
    }
}
