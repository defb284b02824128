//! A gallery's records as a de-duplication population: the records' fingers read from the
//! gallery's snapshots, compared by the matcher with its calibration, and proposed as
//! candidates by two stages. The candidate index ([`super::candidate_index`]) votes by shared
//! locality-sensitive hash keys and proposes `COARSE_WIDENING` times the candidates kept; the
//! gallery's coarse 1:N score ([`crate::matcher::coarse`]) picks among them. N:N can afford
//! only a short list per record, so the ranking has to be sharp: votes rank a mate behind more
//! impostors as the population grows, the coarse comparison does not depend on the population.

use std::collections::HashMap;
use std::sync::Arc;

use super::candidate_index::{best_scored, entry_keys, key_space, KeyIndex, COARSE_WIDENING};
use super::cylinder_hashes::HashFunctions;
use super::population::{positions_compatible, FingerMatcher};
use super::population_manifest::RecordInfo;
use super::search::Population;
use crate::error::{Error, Result};
use crate::gallery::{Gallery, RecordId, SearchMode, Snapshot};
use crate::matcher::coarse::{scorer, Coarse};
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

/// Where the candidate stages put one record among another's candidates (0 = first), to tell
/// which stage loses a duplicate the search misses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandidateRanks {
    /// Rank by index votes; `None` without a single vote. Proposed when below
    /// `COARSE_WIDENING` × the candidates per record.
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
        let mut keys = Vec::new();
        for &(position, id) in self.fingers(record) {
            keys.push((position, entry_keys(&self.hashes, self.prepared(record, id)?)));
        }
        Ok(index.vote(&keys, record, limit))
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
    /// stage, see [`crate::matcher::coarse`]), best first, summed over the record's fingers,
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
            // A candidate's shard and fingers are cache misses, the fingers two dependent ones
            // (the list, then its items): later candidates' lists are fetched meanwhile, and
            // the items of nearer ones, whose lists have arrived by then.
            if let Some(&far) = proposed.get(k + 2 * PREFETCH_AHEAD) {
                crate::cpu::prefetch(self.fingers.get(far as usize));
                crate::cpu::prefetch(self.shard_of.get(far as usize));
            }
            if let Some(&near) = proposed.get(k + PREFETCH_AHEAD) {
                crate::cpu::prefetch(self.fingers(near).first());
            }
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
        let coarse_score = scorer(crate::cpu::kernel());
        // Each probe finger takes its best compatible finger of the candidate; a candidate's
        // score is the sum over the probe fingers.
        let mut best = vec![0f32; proposed.len() * probes.len().max(1)];
        for (at, &(k, p, words)) in comparisons.iter().enumerate() {
            if let Some(&(_, _, ahead)) = comparisons.get(at + PREFETCH_AHEAD) {
                crate::cpu::prefetch(Some(ahead));
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
