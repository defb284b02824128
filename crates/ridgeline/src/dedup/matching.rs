//! The real comparisons behind a population: the matcher with its calibration, over the
//! records of a gallery.
//!
//! Candidates come from locality-sensitive hashing of the stored MCC bit cylinders
//! ([`crate::gallery::index`], 32 tables of 18-bit keys), ranked as in text retrieval: each
//! record is a vector of its keys weighted by inverse document frequency, and a candidate's
//! rank is the cosine of the two vectors. A collision in a rare bucket is worth far more than
//! one in a bucket a large share of the population shares, and dividing by the candidate's
//! length keeps records with many keys from collecting chance collisions from every probe.
//! N:N can afford only a short list per record, so this ranking has to be sharp. The votes
//! propose `COARSE_WIDENING` times the candidates kept, and the gallery's coarse 1:N score
//! ([`crate::gallery::filter`]) picks among them: votes rank a mate behind more impostors as the
//! population grows, the coarse comparison does not depend on the population.

use std::collections::HashMap;
use std::sync::Arc;

use super::manifest::RecordInfo;
use super::population::{positions_compatible, FingerMatcher};
use super::search::Population;
use crate::error::{Error, Result};
use crate::gallery::filter::{coarse_score, Coarse};
use crate::gallery::index::{HashFunctions, NO_KEY};
use crate::gallery::{Gallery, RecordId, SearchMode, Snapshot};
use crate::matcher::{MatchTemplate, Matcher, PreparedRef};
use crate::template::Template;

/// Candidate records kept per record, by weighted index votes summed over its fingers.
/// Duplicates are rare (a handful per record at most) but the votes rank a mate behind a few
/// impostors often enough that 16 candidates missed 5 of 90 planted duplicates in the demo and
/// 64 miss 2 (256 miss 1); each candidate costs a full comparison of every common finger.
pub const DEFAULT_CANDIDATES_PER_RECORD: usize = 64;

/// The matcher's calibrated false match rate of a score.
fn finger_fmr(score: f64) -> f64 {
    crate::matcher::calibration::fmr_for_score(score)
}

/// Every live record of a snapshot, in segment order.
fn live_records(snapshot: &Snapshot) -> impl Iterator<Item = RecordId> + '_ {
    snapshot.segments().iter().flat_map(|live| {
        let segment = live.segment().id();
        (0..live.segment().len())
            .filter(move |&index| !live.is_deleted(index))
            .map(move |index| RecordId { segment, index })
    })
}

impl FingerMatcher for Matcher {
    type Prepared = MatchTemplate;

    fn prepare(&self, template: &Template) -> MatchTemplate {
        MatchTemplate::prepare(template)
    }

    fn fmr(&self, a: &MatchTemplate, b: &MatchTemplate) -> f64 {
        finger_fmr(self.compare(a.view(), b.view()))
    }
}

/// The records of a gallery (its subjects, each with its fingers), searched through the
/// gallery's index.
#[derive(Debug)]
pub struct GalleryPopulation<'g> {
    gallery: &'g Gallery,
    snapshot: Arc<Snapshot>,
    /// Record infos, in order of first enrolment.
    infos: Vec<RecordInfo>,
    /// Stored fingers of each record: (position, where it lives).
    fingers: Vec<Vec<(u8, RecordId)>>,
    /// The candidate index (indexed mode only).
    keys: Option<KeyIndex>,
    hashes: HashFunctions,
    candidates_per_record: usize,
}

impl<'g> GalleryPopulation<'g> {
    /// Reads the subjects of the gallery's current snapshot. `metadata` supplies identity
    /// numbers and names by record id, where known.
    pub fn new(
        gallery: &'g Gallery,
        mode: SearchMode,
        metadata: &HashMap<String, RecordInfo>,
    ) -> Result<Self> {
        let snapshot = gallery.snapshot();
        let mut infos: Vec<RecordInfo> = Vec::new();
        let mut fingers: Vec<Vec<(u8, RecordId)>> = Vec::new();
        let mut index_of: HashMap<String, u32> = HashMap::new();
        for id in live_records(&snapshot) {
            let (subject, finger) = snapshot.subject(id)?;
            let k = match index_of.get(subject) {
                Some(&k) => k,
                None => {
                    let k = infos.len() as u32;
                    index_of.insert(subject.to_string(), k);
                    let mut info = metadata.get(subject).cloned().unwrap_or_else(|| RecordInfo {
                        record_id: subject.to_string(),
                        person_id: String::new(),
                        name: String::new(),
                        fingers: Vec::new(),
                    });
                    info.fingers.clear();
                    infos.push(info);
                    fingers.push(Vec::new());
                    k
                }
            };
            infos[k as usize].fingers.push(finger);
            fingers[k as usize].push((finger, id));
        }
        let hashes = HashFunctions::default();
        let keys = match mode {
            SearchMode::Exhaustive => None,
            SearchMode::Indexed => Some(KeyIndex::build(&fingers, key_space(&hashes), |id| {
                let bytes = snapshot.descriptor(id).ok_or_else(|| {
                    Error::InvalidArgument(format!("record {id:?} has no descriptor"))
                })?;
                Ok(entry_keys(&hashes, PreparedRef::from_bytes(bytes)?))
            })?),
        };
        Ok(GalleryPopulation {
            gallery,
            snapshot,
            infos,
            fingers,
            keys,
            hashes,
            candidates_per_record: DEFAULT_CANDIDATES_PER_RECORD,
        })
    }

    /// Sets how many candidate records the index proposes per record (at least 1).
    pub fn with_candidates_per_record(mut self, candidates: usize) -> Self {
        self.candidates_per_record = candidates.max(1);
        self
    }

    /// Identity of every record, by index.
    pub fn infos(&self) -> &[RecordInfo] {
        &self.infos
    }

    /// The stored template of a record's finger.
    pub fn template(&self, id: RecordId) -> Result<Template> {
        Template::from_native_bytes(&self.snapshot.record(id)?.template)
    }

    /// The stored fingers of a record.
    pub fn fingers(&self, record: u32) -> &[(u8, RecordId)] {
        self.fingers.get(record as usize).map_or(&[], Vec::as_slice)
    }

    fn prepared(&self, id: RecordId) -> Result<PreparedRef<'_>> {
        let bytes = self
            .snapshot
            .descriptor(id)
            .ok_or_else(|| Error::InvalidArgument(format!("record {id:?} has no descriptor")))?;
        PreparedRef::from_bytes(bytes)
    }
}

/// Inverted index of every stored finger's LSH keys: key → (record, position), as one array of
/// postings grouped by key (compressed sparse rows). Keys are dense (`table · 2^key_bits + key`,
/// 8.4 million at the default 32 tables of 18 bits), so a key's postings are found by two
/// offsets, and a posting packs record and finger position into 32 bits. Buckets too large to
/// vote are not stored. A hash map of growable vectors of `(u32, u8)` needed more than three
/// times as much, enough to push the gallery out of the page cache of a 24 GB machine at a
/// million records (sizes in docs/PERFORMANCE.md).
#[derive(Debug)]
struct KeyIndex {
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
/// strong evidence, common ones weak. Positive for every stored bucket (oversized ones are not
/// stored).
fn idf(entries: usize, bucket: usize) -> f32 {
    (entries as f32 / bucket.max(1) as f32).ln()
}

/// Records whose keys are computed at once (in parallel) while the index is built.
const KEYED_BLOCK_RECORDS: usize = 16_384;

/// Calls `each` with every record's index and its fingers' keys (position, keys), in record
/// order, computing the keys a block of records at a time in parallel.
fn for_each_keyed_block(
    fingers: &[Vec<(u8, RecordId)>],
    keys: &(impl Fn(RecordId) -> Result<Vec<u32>> + Sync),
    mut each: impl FnMut(usize, &[(u8, Vec<u32>)]),
) -> Result<()> {
    use rayon::prelude::*;
    for (block, records) in fingers.chunks(KEYED_BLOCK_RECORDS).enumerate() {
        let keyed: Vec<Vec<(u8, Vec<u32>)>> = records
            .par_iter()
            .map(|record| record.iter().map(|&(p, id)| Ok((p, keys(id)?))).collect::<Result<_>>())
            .collect::<Result<_>>()?;
        for (k, record_fingers) in keyed.iter().enumerate() {
            each(block * KEYED_BLOCK_RECORDS + k, record_fingers);
        }
    }
    Ok(())
}

/// Bits of a posting that hold the finger position (0–10).
const POSITION_BITS: u32 = 4;

impl KeyIndex {
    /// Indexes `fingers` (per record: position, where it lives) with `keys` giving a stored
    /// finger's distinct dense keys, each below `key_space`.
    fn build(
        fingers: &[Vec<(u8, RecordId)>],
        key_space: usize,
        keys: impl Fn(RecordId) -> Result<Vec<u32>> + Sync,
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

    /// The postings of a key: (record, finger position).
    fn bucket(&self, key: u32) -> impl ExactSizeIterator<Item = (u32, u8)> + '_ {
        let range = match (self.offsets.get(key as usize), self.offsets.get(key as usize + 1)) {
            (Some(&start), Some(&end)) => start as usize..end as usize,
            _ => 0..0,
        };
        self.postings[range].iter().map(|&posting| {
            (posting >> POSITION_BITS, (posting & ((1 << POSITION_BITS) - 1)) as u8)
        })
    }
}

/// The index proposes this many times the candidates kept; the coarse score of the gallery's
/// 1:N first stage picks among them. Votes alone rank a mate behind impostors more often as the
/// population grows (their buckets fill up); the coarse comparison does not depend on it.
pub const COARSE_WIDENING: usize = 16;

/// Weighted votes per record for one record's candidates: a dense array (one slot per record,
/// reused by each thread) and the records touched, so a vote costs an array update rather than
/// a hash-map insertion and clearing costs only what was touched.
#[derive(Debug, Default)]
struct Votes {
    score: Vec<f32>,
    touched: Vec<u32>,
}

impl Votes {
    fn reset(&mut self, records: usize) {
        for &r in &self.touched {
            self.score[r as usize] = 0.0;
        }
        self.touched.clear();
        if self.score.len() != records {
            self.score = vec![0.0; records];
        }
    }

    #[inline]
    fn add(&mut self, record: u32, weight: f32) {
        let Some(score) = self.score.get_mut(record as usize) else { return };
        if *score == 0.0 {
            self.touched.push(record);
        }
        *score += weight;
    }

    /// Divides each record's votes by its length (`norms`, by record), making them cosines:
    /// without it a record with many keys collects chance votes from every probe.
    fn normalise(&mut self, norms: &[f32]) {
        for &r in &self.touched {
            let norm = norms.get(r as usize).copied().unwrap_or(1.0);
            self.score[r as usize] /= norm.max(f32::MIN_POSITIVE);
        }
    }

    /// The `k` records with the most votes, most first.
    fn best(&self, k: usize) -> Vec<u32> {
        best_scored(self.touched.iter().map(|&r| (r, self.score[r as usize])).collect(), k)
    }
}

/// The `k` records with the highest scores, highest first (ties: lower record first).
fn best_scored(mut scored: Vec<(u32, f32)>, k: usize) -> Vec<u32> {
    let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if scored.len() > k {
        scored.select_nth_unstable_by(k, order);
        scored.truncate(k);
    }
    scored.sort_unstable_by(order);
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
fn key_space(hashes: &HashFunctions) -> usize {
    let params = hashes.params();
    params.tables.max(1) << params.key_bits
}

/// The distinct keys of a prepared template, dense: `table · 2^key_bits + key`.
fn entry_keys(hashes: &HashFunctions, prepared: PreparedRef<'_>) -> Vec<u32> {
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

/// Where the candidate stages put one record among another's candidates (0 = first), to tell
/// which stage loses a duplicate the search misses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandidateRanks {
    /// Rank by index votes; `None` without a single vote. Proposed when below
    /// [`COARSE_WIDENING`] × the candidates per record.
    pub vote: Option<usize>,
    /// Rank by coarse score among the proposed; `None` when not proposed. Kept when below the
    /// candidates per record.
    pub coarse: Option<usize>,
}

impl GalleryPopulation<'_> {
    /// Indexed: records by index votes for `record`, best first, at most `limit`. Exhaustive:
    /// every later record.
    fn voted(&self, record: u32, limit: usize) -> Result<Vec<u32>> {
        let Some(index) = &self.keys else {
            return Ok((record.saturating_add(1)..self.infos.len() as u32).collect());
        };
        VOTES.with(|votes| {
            let mut votes = votes.borrow_mut();
            votes.reset(self.infos.len());
            for &(position, id) in self.fingers(record) {
                for key in entry_keys(&self.hashes, self.prepared(id)?) {
                    let entries = index.bucket(key);
                    if entries.len() == 0 {
                        continue;
                    }
                    // Cosine similarity of IDF-weighted key vectors: a shared key adds its
                    // weight in both, idf², and the sum is divided by the candidate's length.
                    let weight = idf(index.entries, entries.len()).powi(2);
                    for (other, p) in entries {
                        if other != record && positions_compatible(position, p) {
                            votes.add(other, weight);
                        }
                    }
                }
            }
            votes.normalise(&index.norms);
            Ok(votes.best(limit))
        })
    }

    /// Where `other` ranks among the candidates of `record`, stage by stage (indexed mode).
    pub fn candidate_ranks(&self, record: u32, other: u32) -> Result<CandidateRanks> {
        let mut voted = self.voted(record, usize::MAX)?;
        let vote = voted.iter().position(|&r| r == other);
        voted.truncate(self.candidates_per_record * COARSE_WIDENING);
        let coarse = match vote {
            Some(_) => {
                self.coarse_ranked(record, voted, usize::MAX)?.iter().position(|&r| r == other)
            }
            None => None,
        };
        Ok(CandidateRanks { vote, coarse })
    }

    /// The `keep` records of `proposed` with the best coarse scores (the gallery's 1:N first
    /// stage, see [`crate::gallery::filter`]), best first, summed over the record's fingers,
    /// each taking its best compatible finger of the candidate.
    fn coarse_ranked(&self, record: u32, proposed: Vec<u32>, keep: usize) -> Result<Vec<u32>> {
        let probes: Vec<(u8, Coarse)> = self
            .fingers(record)
            .iter()
            .map(|&(position, id)| Ok((position, Coarse::of(self.prepared(id)?))))
            .collect::<Result<_>>()?;
        let scored: Vec<(u32, f32)> = proposed
            .into_iter()
            .map(|other| {
                let score = probes
                    .iter()
                    .map(|(position, probe)| {
                        self.fingers(other)
                            .iter()
                            .filter(|&&(p, _)| positions_compatible(*position, p))
                            .filter_map(|&(_, id)| self.snapshot.coarse(id))
                            .map(|words| coarse_score(probe, words))
                            .fold(0f32, f32::max)
                    })
                    .sum::<f32>();
                (other, score)
            })
            .collect();
        Ok(best_scored(scored, keep))
    }
}

impl Population for GalleryPopulation<'_> {
    fn len(&self) -> usize {
        self.infos.len()
    }

    /// Indexed: among the records with the highest cosine of IDF-weighted LSH keys, over the
    /// fingers (each finger voting for fingers of a compatible position), those with the best
    /// coarse scores. Exhaustive: every later record.
    fn candidates(&self, record: u32) -> Result<Vec<u32>> {
        if self.keys.is_none() {
            return self.voted(record, usize::MAX);
        }
        let proposed = self.voted(record, self.candidates_per_record * COARSE_WIDENING)?;
        if proposed.len() <= self.candidates_per_record {
            return Ok(proposed);
        }
        self.coarse_ranked(record, proposed, self.candidates_per_record)
    }

    fn finger_fmrs(&self, a: u32, b: u32) -> Result<Vec<f64>> {
        let matcher = self.gallery.matcher();
        let (fa, fb) = (self.fingers(a), self.fingers(b));
        let (lead, other) = if fb.len() < fa.len() { (fb, fa) } else { (fa, fb) };
        let mut out = Vec::with_capacity(lead.len());
        for &(position, id) in lead {
            let probe = self.prepared(id)?;
            let mut best: Option<f64> = None;
            for &(p, other_id) in other {
                if positions_compatible(position, p) {
                    let fmr = finger_fmr(matcher.compare(probe, self.prepared(other_id)?));
                    best = Some(best.map_or(fmr, |b| b.min(fmr)));
                }
            }
            out.extend(best);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let index = KeyIndex::build(&fingers, 16, keys).expect("small index");
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
        // Cosine lengths, per record over every posting of its fingers: idf = ln(4 / bucket).
        let (rare, shared) = (4f32.ln(), (4f32 / 3.0).ln());
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
        assert!(KeyIndex::build(&[], 1 << 27, |_| Ok(Vec::new())).is_err());
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
        let index = KeyIndex::build(&fingers, 8, keys).expect("small index");
        assert_eq!(index.bucket(3).len(), 0);
        assert_eq!(index.bucket(4).len(), (records as usize).div_ceil(2));
        assert_eq!(index.bucket(5).len(), records as usize / 2);
        assert!(index.bucket(5).all(|(record, position)| record % 2 == 1 && position == 1));
        assert_eq!(index.postings.len(), records as usize);
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
        let index = KeyIndex::build(&fingers, 2, keys).expect("index");
        let bucket = |k: u32| index.bucket(k).map(|(r, _)| r).collect::<Vec<_>>();
        assert_eq!(bucket(0), (0..records).step_by(1000).collect::<Vec<_>>());
        assert_eq!(bucket(1), (0..records).step_by(4099).collect::<Vec<_>>());
        assert_eq!(index.entries, records as usize);
    }
}
