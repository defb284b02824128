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

/// Whether each record passes every checksum (read in parallel: this touches every byte).
fn intact_records(snapshot: &Snapshot, records: &[RecordId]) -> Vec<bool> {
    use rayon::prelude::*;
    records.par_iter().map(|&id| snapshot.record_intact(id)).collect()
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
/// gallery's index; or the union of the records of several galleries (the shards of a sharded
/// gallery) as one population, with one candidate index over all of them.
///
/// Records are ordered by gallery, then by first enrolment within the gallery: a population of
/// one gallery is that gallery's, and a population of shards has the order of one gallery into
/// which the shards' subjects were enrolled shard after shard. Everything the search computes
/// (candidate weights, ties between candidates, pair scores) depends only on the records and
/// that order, so both give the same pairs and report.
#[derive(Debug)]
pub struct GalleryPopulation<'g> {
    /// The first gallery's matcher: the population reads records only through its own
    /// snapshots, so it needs nothing else of the galleries (see
    /// [`GalleryPopulation::into_owned`]).
    matcher: Matcher,
    gallery: std::marker::PhantomData<&'g Gallery>,
    /// One snapshot per gallery.
    snapshots: Vec<Arc<Snapshot>>,
    /// Per record, the gallery (index into `snapshots`) that holds its fingers.
    shard_of: Vec<u32>,
    /// Record infos, in order of first enrolment.
    infos: Vec<RecordInfo>,
    /// Stored fingers of each record: (position, where it lives in its gallery).
    fingers: Vec<Vec<(u8, RecordId)>>,
    /// The candidate index (indexed mode only).
    keys: Option<KeyIndex>,
    hashes: HashFunctions,
    candidates_per_record: usize,
    /// Committed records left out because they could not be read.
    skipped_records: usize,
}

impl<'g> GalleryPopulation<'g> {
    /// Reads the subjects of the gallery's current snapshot. `metadata` supplies identity
    /// numbers and names by record id, where known.
    /// Fails (`GalleryDamaged`) when committed records cannot be read: a de-duplication that
    /// leaves records out would miss their duplicates without saying so.
    pub fn new(
        gallery: &'g Gallery,
        mode: SearchMode,
        metadata: &HashMap<String, RecordInfo>,
    ) -> Result<Self> {
        Self::open(gallery, mode, metadata, false)
    }

    /// Like [`GalleryPopulation::new`]; with `allow_partial`, records that cannot be read are
    /// left out and counted in [`GalleryPopulation::skipped_records`] instead.
    pub fn open(
        gallery: &'g Gallery,
        mode: SearchMode,
        metadata: &HashMap<String, RecordInfo>,
        allow_partial: bool,
    ) -> Result<Self> {
        Self::open_many(&[gallery], mode, metadata, allow_partial)
    }

    /// The union of the subjects of `galleries` (in that order) as one population. A subject
    /// is held by one gallery: a subject id found in two of them is refused
    /// (`InvalidArgument`), since one gallery holding both would merge them into one record.
    /// The galleries compare with the first one's matcher (the shards of one sharded gallery
    /// share their settings).
    pub fn open_many(
        galleries: &[&'g Gallery],
        mode: SearchMode,
        metadata: &HashMap<String, RecordInfo>,
        allow_partial: bool,
    ) -> Result<Self> {
        let Some(first) = galleries.first() else {
            return Err(Error::InvalidArgument("a population needs at least one gallery".into()));
        };
        if galleries.len() > u32::MAX as usize {
            return Err(Error::InvalidArgument(format!("{} galleries", galleries.len())));
        }
        let snapshots: Vec<Arc<Snapshot>> = galleries.iter().map(|g| g.snapshot()).collect();
        let mut infos: Vec<RecordInfo> = Vec::new();
        let mut fingers: Vec<Vec<(u8, RecordId)>> = Vec::new();
        let mut shard_of: Vec<u32> = Vec::new();
        let mut index_of: HashMap<String, u32> = HashMap::new();
        let mut skipped_records = 0;
        let mut damage: Option<String> = None;
        for (shard, snapshot) in snapshots.iter().enumerate() {
            let live: Vec<RecordId> = live_records(snapshot).collect();
            let intact = intact_records(snapshot, &live);
            let skipped = snapshot.unreadable_records() + intact.iter().filter(|&&ok| !ok).count();
            if skipped > 0 && damage.is_none() {
                damage = Some(match snapshot.damaged().first() {
                    Some(p) => p.to_string(),
                    None => "records fail their checksums".to_string(),
                });
            }
            skipped_records += skipped;
            for (&id, _) in live.iter().zip(&intact).filter(|(_, &ok)| ok) {
                let (subject, finger) = snapshot.subject(id)?;
                let k = match index_of.get(subject) {
                    Some(&k) if shard_of[k as usize] as usize == shard => k,
                    Some(&k) => {
                        return Err(Error::InvalidArgument(format!(
                            "subject {subject:?} is held by galleries {} and {shard}: the \
                             galleries are not shards of one population",
                            shard_of[k as usize]
                        )))
                    }
                    None => {
                        let k = infos.len() as u32;
                        index_of.insert(subject.to_string(), k);
                        let mut info =
                            metadata.get(subject).cloned().unwrap_or_else(|| RecordInfo {
                                record_id: subject.to_string(),
                                person_id: String::new(),
                                name: String::new(),
                                fingers: Vec::new(),
                            });
                        info.fingers.clear();
                        infos.push(info);
                        fingers.push(Vec::new());
                        shard_of.push(shard as u32);
                        k
                    }
                };
                infos[k as usize].fingers.push(finger);
                fingers[k as usize].push((finger, id));
            }
        }
        if skipped_records > 0 && !allow_partial {
            let detail = damage.unwrap_or_default();
            return Err(Error::GalleryDamaged { skipped: skipped_records, detail });
        }
        let hashes = HashFunctions::default();
        let keys = match mode {
            SearchMode::Exhaustive => None,
            SearchMode::Indexed => {
                Some(KeyIndex::build(&fingers, key_space(&hashes), |record, id| {
                    let snapshot = &snapshots[shard_of[record] as usize];
                    let bytes = snapshot.descriptor(id).ok_or_else(|| {
                        Error::InvalidArgument(format!("record {id:?} has no descriptor"))
                    })?;
                    Ok(entry_keys(&hashes, PreparedRef::from_bytes(bytes)?))
                })?)
            }
        };
        Ok(GalleryPopulation {
            matcher: first.matcher().clone(),
            gallery: std::marker::PhantomData,
            snapshots,
            shard_of,
            infos,
            fingers,
            keys,
            hashes,
            candidates_per_record: DEFAULT_CANDIDATES_PER_RECORD,
            skipped_records,
        })
    }

    /// The same population, no longer tied to the borrow of its gallery: it holds the
    /// snapshot it reads (which keeps its segments mapped) and a copy of the matcher, so it
    /// can live in a long-lived object such as a worker's cache.
    pub fn into_owned(self) -> GalleryPopulation<'static> {
        GalleryPopulation {
            matcher: self.matcher,
            gallery: std::marker::PhantomData,
            snapshots: self.snapshots,
            shard_of: self.shard_of,
            infos: self.infos,
            fingers: self.fingers,
            keys: self.keys,
            hashes: self.hashes,
            candidates_per_record: self.candidates_per_record,
            skipped_records: self.skipped_records,
        }
    }

    /// Committed records left out because they could not be read (0 unless opened with
    /// `allow_partial`).
    pub fn skipped_records(&self) -> usize {
        self.skipped_records
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

    /// The stored template of `record`'s finger `id` (one of [`GalleryPopulation::fingers`]).
    pub fn finger_template(&self, record: u32, id: RecordId) -> Result<Template> {
        Template::from_native_bytes(&self.snapshot_of(record)?.record(id)?.template)
    }

    /// Galleries the population spans.
    pub fn galleries(&self) -> usize {
        self.snapshots.len()
    }

    /// The gallery (by its place in the list the population was opened with) holding `record`.
    pub fn gallery_of(&self, record: u32) -> Option<usize> {
        self.shard_of.get(record as usize).map(|&s| s as usize)
    }

    fn snapshot_of(&self, record: u32) -> Result<&Snapshot> {
        self.shard_of
            .get(record as usize)
            .and_then(|&s| self.snapshots.get(s as usize))
            .map(|s| &**s)
            .ok_or_else(|| Error::InvalidArgument(format!("record {record} is out of range")))
    }

    /// The stored fingers of a record.
    pub fn fingers(&self, record: u32) -> &[(u8, RecordId)] {
        self.fingers.get(record as usize).map_or(&[], Vec::as_slice)
    }

    fn prepared(&self, record: u32, id: RecordId) -> Result<PreparedRef<'_>> {
        let bytes = self
            .snapshot_of(record)?
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

impl KeyIndex {
    /// Indexes `fingers` (per record: position, where it lives) with `keys` giving a stored
    /// finger's distinct dense keys, each below `key_space`.
    fn build(
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
pub const COARSE_WIDENING: usize = 16;

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
    /// Finger position of the record's finger that holds the key.
    position: u8,
}

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
    fn tally(
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
            for key in keys.iter_mut() {
                while key.next < key.end {
                    let Some(&posting) = index.postings.get(key.next) else { break };
                    let other = (posting >> POSITION_BITS) as usize;
                    if other >= range_end {
                        break;
                    }
                    key.next += 1;
                    let position = (posting & ((1 << POSITION_BITS) - 1)) as u8;
                    if other != record as usize && positions_compatible(key.position, position) {
                        if let Some(score) = scores.get_mut(other.wrapping_sub(range_start)) {
                            *score += key.weight;
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
fn best_scored(mut scored: Vec<(u32, f32)>, k: usize) -> Vec<u32> {
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
        // Cosine similarity of IDF-weighted key vectors: a shared key adds its weight in
        // both, idf², and the sum is divided by the candidate's length.
        let mut keys: Vec<KeyCursor> = Vec::new();
        for &(position, id) in self.fingers(record) {
            for key in entry_keys(&self.hashes, self.prepared(record, id)?) {
                let postings = index.range(key);
                if !postings.is_empty() {
                    let weight = idf(index.entries, postings.len()).powi(2);
                    keys.push(KeyCursor {
                        next: postings.start,
                        end: postings.end,
                        weight,
                        position,
                    });
                }
            }
        }
        Ok(VOTES.with(|votes| {
            votes.borrow_mut().tally(index, &mut keys, record, limit, TALLY_RANGE_RECORDS)
        }))
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
            .map(|&(position, id)| Ok((position, Coarse::of(self.prepared(record, id)?))))
            .collect::<Result<_>>()?;
        // Every comparison to make (candidate, probe finger, the candidate finger's coarse
        // record), listed first so that a record can be fetched from memory while an earlier
        // one is scored: the candidates are scattered over the gallery, and a record read at
        // random costs 2.6 µs against 0.6 µs streamed in 1:N. The prefetch's measured gain is
        // within the noise of a million-record run (docs/PERFORMANCE.md).
        let mut comparisons: Vec<(usize, usize, &[u64])> = Vec::new();
        for (k, &other) in proposed.iter().enumerate() {
            let snapshot = self.snapshot_of(other)?;
            for (p, (position, _)) in probes.iter().enumerate() {
                for &(_, id) in
                    self.fingers(other).iter().filter(|&&(q, _)| positions_compatible(*position, q))
                {
                    if let Some(words) = crate::gallery::identify::coarse_record(snapshot, id) {
                        comparisons.push((k, p, words));
                    }
                }
            }
        }
        // Each probe finger takes its best compatible finger of the candidate; a candidate's
        // score is the sum over the probe fingers.
        let mut best = vec![0f32; proposed.len() * probes.len().max(1)];
        for (at, &(k, p, words)) in comparisons.iter().enumerate() {
            if let Some(&(_, _, ahead)) = comparisons.get(at + PREFETCH_AHEAD) {
                prefetch(ahead);
            }
            let score = coarse_score(&probes[p].1, words);
            let slot = &mut best[k * probes.len() + p];
            *slot = slot.max(score);
        }
        let scored: Vec<(u32, f32)> = proposed
            .iter()
            .zip(best.chunks(probes.len().max(1)))
            .map(|(&other, scores)| (other, scores.iter().sum::<f32>()))
            .collect();
        Ok(best_scored(scored, keep))
    }
}

/// Coarse records fetched ahead of the one being scored: enough to cover a memory access's
/// latency with the scoring of the records in between (about half a microsecond each).
const PREFETCH_AHEAD: usize = 4;

/// Asks the processor to bring `words` into its caches (a hint: no effect on results).
#[inline]
fn prefetch(words: &[u64]) {
    #[cfg(target_arch = "x86_64")]
    for line in words.chunks(8) {
        // SAFETY: prefetching is a hint that never faults, and the address is a live slice's.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr().cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = words;
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
        let matcher = &self.matcher;
        let (fa, fb) = (self.fingers(a), self.fingers(b));
        let (lead, other, a_lead, b_other) =
            if fb.len() < fa.len() { (fb, fa, b, a) } else { (fa, fb, a, b) };
        let mut out = Vec::with_capacity(lead.len());
        for &(position, id) in lead {
            let probe = self.prepared(a_lead, id)?;
            let mut best: Option<f64> = None;
            for &(p, other_id) in other {
                if positions_compatible(position, p) {
                    let fmr = finger_fmr(matcher.compare(probe, self.prepared(b_other, other_id)?));
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
                    KeyCursor { next: postings.start, end: postings.end, weight, position }
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
