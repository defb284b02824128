//! Which records could be duplicates of this one: an inverted index of every stored finger's
//! locality-sensitive hash keys ([`super::cylinder_hashes`]), and the vote that ranks the records
//! sharing keys with a probe record, as in text retrieval: each record is a vector of its keys
//! weighted by inverse document frequency, and a candidate's rank is the cosine of the two
//! vectors. A collision in a rare bucket is worth far more than one in a bucket a large share of
//! the population shares, and dividing by the candidate's length keeps records with many keys
//! from collecting chance collisions from every probe.

use super::cylinder_hashes::{HashFunctions, NO_KEY};
use super::population::positions_compatible;
use crate::error::{Error, Result};
use crate::gallery::RecordId;
use crate::matcher::PreparedRef;

/// Inverted index of every stored finger's LSH keys: key → (record, position), as one array of
/// postings grouped by key (compressed sparse rows). Keys are dense (`table · 2^key_bits + key`,
/// 8.4 million at the default 32 tables of 18 bits), so a key's postings are found by two
/// offsets, and a posting packs record and finger position into 32 bits. Buckets too large to
/// vote are not stored. A hash map of growable vectors of `(u32, u8)` needed more than three
/// times as much, enough to push the gallery out of the page cache of a 24 GB machine at a
/// million records (sizes in docs/PERFORMANCE.md).
#[derive(Debug)]
pub(super) struct KeyIndex {
    /// `offsets[k]..offsets[k + 1]` are key `k`'s postings.
    offsets: Vec<u64>,
    /// `record << POSITION_BITS | position`, by key, records ascending within a key.
    postings: Vec<u32>,
    /// Stored fingers indexed.
    entries: usize,
    /// Per record, the length of its key vector in IDF weights, `√Σ idf(k)²` over its stored
    /// keys (all fingers): the cosine normalisation of the votes.
    norms: Vec<f32>,
}

/// Inverse document frequency of a key held by `bucket` of `entries` fingers: rare keys are
/// strong evidence, common ones weak. Smoothed (`ln(1 + N/b)`, not `ln(N/b)`) so that it stays
/// positive when a key is held by every finger: in a small population made only of copies of
/// one finger (the case a de-duplication exists for), every shared key is such a key, and a
/// zero weight would propose no candidate at all. For the rare keys that decide rankings in
/// large populations the two agree closely.
fn idf(entries: usize, bucket: usize) -> f32 {
    (1.0 + entries as f32 / bucket.max(1) as f32).ln()
}

/// Records whose keys are computed at once (in parallel) while the index is built.
const KEYED_BLOCK_RECORDS: usize = 16_384;

/// Calls `each` with every record's index and its fingers' keys (position, keys), in record
/// order, computing the keys a block of records at a time in parallel.
fn for_each_keyed_block(
    fingers: &[Vec<(u8, RecordId)>],
    keys: &(impl Fn(usize, RecordId) -> Result<Vec<u32>> + Sync),
    mut each: impl FnMut(usize, &[(u8, Vec<u32>)]),
) -> Result<()> {
    use rayon::prelude::*;
    for (block, records) in fingers.chunks(KEYED_BLOCK_RECORDS).enumerate() {
        let first = block * KEYED_BLOCK_RECORDS;
        let keyed: Vec<Vec<(u8, Vec<u32>)>> = records
            .par_iter()
            .enumerate()
            .map(|(k, record)| {
                record.iter().map(|&(p, id)| Ok((p, keys(first + k, id)?))).collect::<Result<_>>()
            })
            .collect::<Result<_>>()?;
        for (k, record_fingers) in keyed.iter().enumerate() {
            each(block * KEYED_BLOCK_RECORDS + k, record_fingers);
        }
    }
    Ok(())
}

/// Bits of a posting that hold the finger position (0–10).
const POSITION_BITS: u32 = 4;
/// The finger position of a posting.
const POSITION_MASK: u32 = (1 << POSITION_BITS) - 1;

impl KeyIndex {
    /// Indexes `fingers` (per record: position, where it lives) with `keys` giving a stored
    /// finger's distinct dense keys, each below `key_space`.
    pub(super) fn build(
        fingers: &[Vec<(u8, RecordId)>],
        key_space: usize,
        keys: impl Fn(usize, RecordId) -> Result<Vec<u32>> + Sync,
    ) -> Result<Self> {
        // Offsets are 8 bytes per key: the default hash functions have 8.4 million keys.
        if key_space > 1 << 26 {
            return Err(Error::InvalidArgument(format!(
                "{key_space} hash keys is more than the candidate index holds"
            )));
        }
        if fingers.len() > (u32::MAX >> POSITION_BITS) as usize {
            return Err(Error::InvalidArgument(format!(
                "{} records is more than the candidate index holds ({})",
                fingers.len(),
                u32::MAX >> POSITION_BITS
            )));
        }
        // Count, then place: two passes over the records, each computing their keys again a
        // block at a time. Holding every record's keys between the passes would double the
        // index's peak memory (4 GB at a million fingers and 32 tables), and the gallery needs
        // that memory as page cache.
        let mut offsets = vec![0u64; key_space + 1];
        let mut entries = 0;
        for_each_keyed_block(fingers, &keys, |_, record_fingers| {
            for (_, record_keys) in record_fingers {
                entries += 1;
                for &key in record_keys {
                    if let Some(count) = offsets.get_mut(key as usize + 1) {
                        *count += 1;
                    }
                }
            }
        })?;
        // Buckets the votes skip are not stored: with many tables they hold a good share of
        // all postings, memory the gallery's page cache needs at a million records.
        let max_bucket = ((entries as f64 * MAX_BUCKET_SHARE).ceil() as usize)
            .clamp(MIN_MAX_BUCKET, MAX_MAX_BUCKET);
        for count in offsets.iter_mut() {
            if *count > max_bucket as u64 {
                *count = 0;
            }
        }
        for k in 1..offsets.len() {
            offsets[k] += offsets[k - 1];
        }
        let mut next: Vec<u64> = offsets[..key_space].to_vec();
        let mut postings = vec![0u32; offsets[key_space] as usize];
        for_each_keyed_block(fingers, &keys, |record, record_fingers| {
            for (position, record_keys) in record_fingers {
                let posting = (record as u32) << POSITION_BITS | u32::from(position & 0xf);
                for &key in record_keys {
                    let end = offsets.get(key as usize + 1).copied().unwrap_or(0);
                    if let Some(at) = next.get_mut(key as usize).filter(|at| **at < end) {
                        postings[*at as usize] = posting;
                        *at += 1;
                    }
                }
            }
        })?;
        let mut norms = vec![0f32; fingers.len()];
        for key in 0..key_space {
            let bucket = &postings[offsets[key] as usize..offsets[key + 1] as usize];
            let weight = idf(entries, bucket.len());
            for &posting in bucket {
                if let Some(norm) = norms.get_mut((posting >> POSITION_BITS) as usize) {
                    *norm += weight * weight;
                }
            }
        }
        for norm in &mut norms {
            *norm = norm.sqrt();
        }
        Ok(KeyIndex { offsets, postings, entries, norms })
    }

    /// Where a key's postings are in `postings` (empty for a key outside the space).
    /// The records best voted for by `record`'s keys (per finger: its position and its keys),
    /// best first, at most `limit`: the cosine of IDF-weighted key vectors, where a shared
    /// key adds its weight in both, idf², and the sum is divided by the candidate's length.
    pub(super) fn vote(&self, keys: &[(u8, Vec<u32>)], record: u32, limit: usize) -> Vec<u32> {
        let mut cursors: Vec<KeyCursor> = Vec::new();
        for (position, finger_keys) in keys {
            let compatible = compatible_positions(*position);
            for (k, &key) in finger_keys.iter().enumerate() {
                // A key's offsets are a cache miss in a table of tens of megabytes: fetching
                // those of a later key meanwhile overlaps the misses.
                if let Some(&ahead) = finger_keys.get(k + PREFETCH_AHEAD) {
                    crate::cpu::prefetch(self.offsets.get(ahead as usize));
                }
                let postings = self.range(key);
                if !postings.is_empty() {
                    let weight = idf(self.entries, postings.len()).powi(2);
                    cursors.push(KeyCursor {
                        next: postings.start,
                        end: postings.end,
                        weight,
                        compatible,
                    });
                }
            }
        }
        VOTES.with(|votes| {
            votes.borrow_mut().tally(self, &mut cursors, record, limit, TALLY_RANGE_RECORDS)
        })
    }

    fn range(&self, key: u32) -> std::ops::Range<usize> {
        match (self.offsets.get(key as usize), self.offsets.get(key as usize + 1)) {
            (Some(&start), Some(&end)) => start as usize..end as usize,
            _ => 0..0,
        }
    }

    /// The postings of a key: (record, finger position).
    #[cfg(test)]
    fn bucket(&self, key: u32) -> impl ExactSizeIterator<Item = (u32, u8)> + '_ {
        self.postings[self.range(key)].iter().map(|&posting| {
            (posting >> POSITION_BITS, (posting & ((1 << POSITION_BITS) - 1)) as u8)
        })
    }
}

/// The index proposes this many times the candidates kept; the coarse score of the gallery's
/// 1:N first stage picks among them. Votes alone rank a mate behind impostors more often as the
/// population grows (their buckets fill up); the coarse comparison does not depend on it.
pub(super) const COARSE_WIDENING: usize = 16;

/// Records whose votes are tallied at once: a 1 MB slice of scores, which stays in the core's
/// cache while every key's postings are added. Measured, the size matters little (65,536 to
/// 1,048,576 records were within the noise); what made a million-record population's votes four
/// times faster is that the scores are divided, selected and cleared in sequential passes
/// instead of through a list of the records touched (docs/PERFORMANCE.md, de-duplication).
const TALLY_RANGE_RECORDS: usize = 1 << 18;

/// One of a record's keys while its votes are tallied: the postings not yet added and the
/// weight each adds.
#[derive(Debug, Clone, Copy)]
struct KeyCursor {
    next: usize,
    end: usize,
    weight: f32,
    /// Bit `p` set: a posting of finger position `p` may be the same finger as the record's
    /// finger that holds the key ([`compatible_positions`]).
    compatible: u16,
}

/// The finger positions (as bits, one per value a posting's position field can hold) that
/// [`positions_compatible`] pairs with `position`: one mask per cursor, so the tally selects a
/// posting's weight by a shift instead of a branch that mispredicts whenever the fingers of a
/// bucket's records alternate.
fn compatible_positions(position: u8) -> u16 {
    (0..1u8 << POSITION_BITS)
        .filter(|&p| positions_compatible(position, p))
        .fold(0, |mask, p| mask | 1 << p)
}

/// Keys (or postings) fetched ahead of the one being read: enough to cover a memory access's
/// latency with the work on the keys in between.
const PREFETCH_AHEAD: usize = 8;

/// Scratch space for one record's votes, reused by each thread.
#[derive(Debug, Default)]
struct Votes {
    /// Scores of the records of the range being tallied.
    score: Vec<f32>,
}

impl Votes {
    /// The `limit` records with the highest cosine (votes divided by `norms`), best first, ties
    /// to the lower record. The keys' postings are added one range of `range_records` records
    /// ([`TALLY_RANGE_RECORDS`]) at a time: they are in record order within a key, so each
    /// key's cursor only moves forward. Each range's scores are then normalised, offered to the
    /// selection and cleared in sequential passes.
    pub(super) fn tally(
        &mut self,
        index: &KeyIndex,
        keys: &mut [KeyCursor],
        record: u32,
        limit: usize,
        range_records: usize,
    ) -> Vec<u32> {
        let records = index.norms.len();
        if limit == 0 {
            return Vec::new();
        }
        let range_records = range_records.max(1);
        let mut best = BestScores::new(limit);
        self.score.resize(range_records.min(records), 0.0);
        for range_start in (0..records).step_by(range_records) {
            let range_end = (range_start + range_records).min(records);
            let scores = &mut self.score[..range_end - range_start];
            for k in 0..keys.len() {
                // A key's first postings are a cache miss: start a later key's meanwhile.
                if let Some(ahead) = keys.get(k + PREFETCH_AHEAD) {
                    crate::cpu::prefetch(index.postings.get(ahead.next));
                }
                let Some(key) = keys.get_mut(k) else { break };
                let Some(postings) = index.postings.get(key.next..key.end) else {
                    key.next = key.end;
                    continue;
                };
                // Postings are in record order, so this range's are a prefix: all of them in
                // the last range (without reading the last posting, often another cache line)
                // or when the last is within the range.
                let record_of = |posting: u32| (posting >> POSITION_BITS) as usize;
                let in_range = match postings.last() {
                    _ if range_end >= records => postings.len(),
                    Some(&last) if record_of(last) < range_end => postings.len(),
                    _ => postings.partition_point(|&p| record_of(p) < range_end),
                };
                key.next += in_range;
                // An incompatible posting adds +0.0, which leaves every score (all ≥ +0.0)
                // bit for bit as it is: the same sums as skipping it, without the branch.
                let weights = [0.0, key.weight];
                let compatible = u32::from(key.compatible);
                for &posting in &postings[..in_range] {
                    let other = record_of(posting);
                    let weight = weights[(compatible >> (posting & POSITION_MASK) & 1) as usize];
                    if other != record as usize {
                        if let Some(score) = scores.get_mut(other.wrapping_sub(range_start)) {
                            *score += weight;
                        }
                    }
                }
            }
            // Cosine: without the division a record with many keys collects chance votes
            // from every probe. Records without votes stay at 0 and are never offered.
            for (score, norm) in scores.iter_mut().zip(&index.norms[range_start..range_end]) {
                *score /= norm.max(f32::MIN_POSITIVE);
            }
            best.offer_range(range_start as u32, scores);
            scores.fill(0.0);
        }
        best.into_sorted()
    }
}

/// The best scores offered, in the order of [`best_scored`], without keeping every record: a
/// record is kept only above the worst of the best `limit` seen so far. Records are offered in
/// ascending order, so one that only ties that worst score would lose the tie anyway.
struct BestScores {
    limit: usize,
    kept: Vec<(u32, f32)>,
    /// Scores must exceed this to be kept (0: records without votes never are).
    bar: f32,
}

impl BestScores {
    fn new(limit: usize) -> Self {
        BestScores { limit, kept: Vec::new(), bar: 0.0 }
    }

    /// Offers the records `first..` with `scores`.
    fn offer_range(&mut self, first: u32, scores: &[f32]) {
        // Most blocks of 16 have no score above the bar once it has risen; testing a block
        // at once (vectorised) skips them without a branch per record.
        for (block, chunk) in scores.chunks(16).enumerate() {
            let bar = self.bar;
            if !chunk.iter().fold(false, |any, &score| any | (score > bar)) {
                continue;
            }
            for (k, &score) in chunk.iter().enumerate() {
                if score > self.bar {
                    self.kept.push((first + (16 * block + k) as u32, score));
                    if self.kept.len() >= self.limit.saturating_mul(2) {
                        self.shrink();
                    }
                }
            }
        }
    }

    /// Keeps the best `limit` and raises the bar to the worst of them.
    fn shrink(&mut self) {
        let keep = self.limit;
        self.kept.select_nth_unstable_by(keep - 1, score_order);
        self.kept.truncate(keep);
        self.bar = self.kept[keep - 1].1;
    }

    fn into_sorted(self) -> Vec<u32> {
        best_scored(self.kept, self.limit)
    }
}

/// Higher score first, then lower record.
fn score_order(a: &(u32, f32), b: &(u32, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// The `k` records with the highest scores, highest first (ties: lower record first).
pub(super) fn best_scored(mut scored: Vec<(u32, f32)>, k: usize) -> Vec<u32> {
    if scored.len() > k {
        scored.select_nth_unstable_by(k, score_order);
        scored.truncate(k);
    }
    scored.sort_unstable_by(score_order);
    scored.into_iter().map(|(r, _)| r).collect()
}

thread_local! {
    static VOTES: std::cell::RefCell<Votes> = std::cell::RefCell::new(Votes::default());
}

/// Buckets holding more than this share of all fingers are skipped …
const MAX_BUCKET_SHARE: f64 = 0.02;
/// … unless they hold at most this many …
const MIN_MAX_BUCKET: usize = 64;
/// … and so are buckets holding more than this many, whatever the population: a record's
/// votes then cost at most its keys times this, so the N:N search grows linearly with the
/// population instead of quadratically. (It first binds at 204,800 fingers; measured at
/// 300,000 in docs/PERFORMANCE.md.)
const MAX_MAX_BUCKET: usize = 4096;

/// Size of the dense key space: every table's keys.
pub(super) fn key_space(hashes: &HashFunctions) -> usize {
    let params = hashes.params();
    params.tables.max(1) << params.key_bits
}

/// The distinct keys of a prepared template, dense: `table · 2^key_bits + key`.
pub(super) fn entry_keys(hashes: &HashFunctions, prepared: PreparedRef<'_>) -> Vec<u32> {
    // `flat_keys` lists every cylinder's key of every table, table by table within a cylinder.
    let params = hashes.params();
    let tables = params.tables.max(1);
    let mut keys: Vec<u32> = hashes
        .flat_keys(prepared)
        .iter()
        .enumerate()
        .filter(|&(_, &key)| key != NO_KEY)
        .map(|(k, &key)| ((k % tables) << params.key_bits) as u32 | key)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::MatchTemplate;

    #[test]
    fn the_key_index_lists_each_key_s_fingers_in_record_order() {
        let id = |index: u32| RecordId { segment: 1, index };
        // Record 0: fingers 2 and 7; record 1: finger 2; record 2: finger 10.
        let fingers = vec![vec![(2, id(0)), (7, id(1))], vec![(2, id(2))], vec![(10, id(3))]];
        let keys = |r: RecordId| -> Result<Vec<u32>> {
            Ok(match r.index {
                0 => vec![0, 5, 9],
                1 => vec![5],
                2 => vec![5, 9],
                _ => vec![9, 15],
            })
        };
        let index = KeyIndex::build(&fingers, 16, |_, r| keys(r)).expect("small index");
        assert_eq!(index.entries, 4);
        let bucket = |k: u32| index.bucket(k).collect::<Vec<_>>();
        assert_eq!(bucket(0), vec![(0, 2)]);
        assert_eq!(bucket(5), vec![(0, 2), (0, 7), (1, 2)]);
        assert_eq!(bucket(9), vec![(0, 2), (1, 2), (2, 10)]);
        assert_eq!(bucket(15), vec![(2, 10)]);
        assert!(bucket(1).is_empty());
        // Keys outside the space have no postings rather than panicking.
        assert!(bucket(16).is_empty() && bucket(u32::MAX).is_empty());
        assert_eq!(index.postings.len(), 8);
        // Cosine lengths, per record over every posting of its fingers: idf = ln(1 + 4 / bucket).
        let (rare, shared) = (5f32.ln(), (1.0 + 4f32 / 3.0).ln());
        let expected = [
            (rare * rare + 3.0 * shared * shared).sqrt(), // keys 0, 5 (two fingers), 9
            (2.0 * shared * shared).sqrt(),               // keys 5, 9
            (shared * shared + rare * rare).sqrt(),       // keys 9, 15
        ];
        for (norm, want) in index.norms.iter().zip(expected) {
            assert!((norm - want).abs() < 1e-5, "norm {norm}, expected {want}");
        }
    }

    /// Dense keys are inside the key space and map back to exactly the template's distinct
    /// `(table, key)` pairs: equal keys of different tables stay apart.
    #[test]
    fn dense_keys_keep_tables_apart() {
        let template = crate::test_support::scattered_template(36, 0, 0.0, 0.0);
        let prepared = MatchTemplate::prepare(&template);
        let hashes = HashFunctions::default();
        let params = hashes.params();
        let dense = entry_keys(&hashes, prepared.view());
        assert!(dense.len() > params.tables, "{} keys", dense.len());
        assert!(dense.iter().all(|&k| (k as usize) < key_space(&hashes)));
        let mut expected: Vec<(usize, u32)> = hashes
            .flat_keys(prepared.view())
            .iter()
            .enumerate()
            .filter(|&(_, &key)| key != NO_KEY)
            .map(|(k, &key)| (k % params.tables, key))
            .collect();
        expected.sort_unstable();
        expected.dedup();
        let mask = (1u32 << params.key_bits) - 1;
        let back: Vec<(usize, u32)> =
            dense.iter().map(|&k| ((k >> params.key_bits) as usize, k & mask)).collect();
        assert_eq!(back, expected);
        assert!(KeyIndex::build(&[], 1 << 27, |_, _| Ok(Vec::new())).is_err());
    }

    /// A key shared by more fingers than the votes would read is not stored at all; the others
    /// keep every posting.
    #[test]
    fn oversized_buckets_are_not_stored() {
        let id = |index: u32| RecordId { segment: 1, index };
        let records = MIN_MAX_BUCKET as u32 + 1;
        let fingers: Vec<Vec<(u8, RecordId)>> = (0..records).map(|r| vec![(1, id(r))]).collect();
        // Every finger has key 3; finger r also has key 4 + r % 2.
        let keys = |r: RecordId| -> Result<Vec<u32>> { Ok(vec![3, 4 + r.index % 2]) };
        let index = KeyIndex::build(&fingers, 8, |_, r| keys(r)).expect("small index");
        assert_eq!(index.bucket(3).len(), 0);
        assert_eq!(index.bucket(4).len(), (records as usize).div_ceil(2));
        assert_eq!(index.bucket(5).len(), records as usize / 2);
        assert!(index.bucket(5).all(|(record, position)| record % 2 == 1 && position == 1));
        assert_eq!(index.postings.len(), records as usize);
    }

    /// Tallying a range of records at a time, with the bar rising as it goes, ranks exactly as
    /// adding every vote into one array and sorting all records would: same sums (each record's
    /// votes are added in the same key order), same ties (lower record first).
    #[test]
    fn range_tallies_rank_like_one_dense_tally() {
        let id = |index: u32| RecordId { segment: 1, index };
        let records = 300u32;
        // Positions 0 (unknown), 2 and 7; record r's keys follow a fixed pattern, so many
        // buckets have equal sizes, hence equal weights and tied scores.
        let fingers: Vec<Vec<(u8, RecordId)>> =
            (0..records).map(|r| vec![([0, 2, 7][r as usize % 3], id(r))]).collect();
        let keys = |r: RecordId| -> Result<Vec<u32>> {
            Ok((0..40u32).filter(|k| (r.index * 7 + k * 13) % (3 + k % 5) == 0).collect())
        };
        let index = KeyIndex::build(&fingers, 40, |_, r| keys(r)).expect("index");
        for record in [0u32, 1, 2, 150, 299] {
            let (position, finger) = fingers[record as usize][0];
            let cursors: Vec<KeyCursor> = keys(finger)
                .expect("keys")
                .into_iter()
                .map(|key| {
                    let postings = index.range(key);
                    let weight = idf(index.entries, postings.len()).powi(2);
                    let compatible = compatible_positions(position);
                    KeyCursor { next: postings.start, end: postings.end, weight, compatible }
                })
                .filter(|cursor| cursor.next < cursor.end)
                .collect();
            let mut dense = vec![0f32; records as usize];
            for cursor in &cursors {
                for &posting in &index.postings[cursor.next..cursor.end] {
                    let other = posting >> POSITION_BITS;
                    let p = (posting & 0xf) as u8;
                    if other != record && positions_compatible(position, p) {
                        dense[other as usize] += cursor.weight;
                    }
                }
            }
            let scored: Vec<(u32, f32)> = dense
                .iter()
                .zip(&index.norms)
                .enumerate()
                .filter(|&(_, (&score, _))| score > 0.0)
                .map(|(r, (&score, norm))| (r as u32, score / norm.max(f32::MIN_POSITIVE)))
                .collect();
            let voters = scored.len();
            assert!(voters > 30, "record {record}: {voters} records with votes");
            let distinct: std::collections::HashSet<u32> =
                scored.iter().map(|&(_, score)| score.to_bits()).collect();
            assert!(distinct.len() < voters, "record {record}: no tied scores to order");
            for limit in [1, 3, 10, 64, usize::MAX] {
                let expected = best_scored(scored.clone(), limit);
                for range in [1, 7, 64, 299, 300, 1000] {
                    let mut votes = Votes::default();
                    let got = votes.tally(&index, &mut cursors.clone(), record, limit, range);
                    assert_eq!(got, expected, "record {record}, limit {limit}, range {range}");
                }
            }
        }
        let mut votes = Votes::default();
        assert!(votes.tally(&index, &mut [], 0, 5, 7).is_empty());
        assert!(votes.tally(&index, &mut [], 0, 0, 7).is_empty());
    }

    /// The per-cursor mask pairs exactly the positions `positions_compatible` pairs.
    #[test]
    fn compatible_positions_mask_matches_the_rule() {
        for a in 0..=10u8 {
            let mask = compatible_positions(a);
            for b in 0..16u8 {
                assert_eq!(mask >> b & 1 == 1, positions_compatible(a, b), "{a} and {b}");
            }
        }
        assert_eq!(compatible_positions(0), u16::MAX);
    }

    /// Keys are computed a block of records at a time; postings still come out complete and in
    /// record order across block boundaries.
    #[test]
    fn the_key_index_spans_blocks_in_record_order() {
        let id = |index: u32| RecordId { segment: 1, index };
        let records = 2 * KEYED_BLOCK_RECORDS as u32 + 5;
        let fingers: Vec<Vec<(u8, RecordId)>> = (0..records).map(|r| vec![(2, id(r))]).collect();
        // Key 0 for every 1000th record, key 1 for every 4099th: both under the bucket cap.
        let keys = |r: RecordId| -> Result<Vec<u32>> {
            Ok([(0, 1000), (1, 4099)]
                .iter()
                .filter(|&&(_, every)| r.index % every == 0)
                .map(|&(key, _)| key)
                .collect())
        };
        let index = KeyIndex::build(&fingers, 2, |_, r| keys(r)).expect("index");
        let bucket = |k: u32| index.bucket(k).map(|(r, _)| r).collect::<Vec<_>>();
        assert_eq!(bucket(0), (0..records).step_by(1000).collect::<Vec<_>>());
        assert_eq!(bucket(1), (0..records).step_by(4099).collect::<Vec<_>>());
        assert_eq!(index.entries, records as usize);
    }
}
