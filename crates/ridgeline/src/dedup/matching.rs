//! The real comparisons behind a population: the matcher with its calibration, and the
//! gallery's candidate index.

use std::collections::HashMap;
use std::sync::Arc;

use super::manifest::RecordInfo;
use super::population::{positions_compatible, FingerMatcher};
use super::search::Population;
use crate::error::{Error, Result};
use crate::gallery::identify::segment_index;
use crate::gallery::index::HashFunctions;
use crate::gallery::{Gallery, RecordId, SearchMode, Snapshot};
use crate::matcher::{MatchTemplate, Matcher, PreparedRef};
use crate::template::Template;

/// Candidate records kept per record, by index votes summed over its fingers. Duplicates are
/// rare (a handful per record at most) and each candidate costs a full comparison of every
/// common finger, so the list is short; mates collect far more votes than impostors.
pub const DEFAULT_CANDIDATES_PER_RECORD: usize = 16;
/// Fewest index votes for a record to be a candidate at all.
pub const MIN_CANDIDATE_VOTES: u32 = 2;

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
    mode: SearchMode,
    /// Record infos, in order of first enrolment.
    infos: Vec<RecordInfo>,
    /// Stored fingers of each record: (position, where it lives).
    fingers: Vec<Vec<(u8, RecordId)>>,
    /// Per segment (in snapshot order): record index and finger position of each entry
    /// (`u32::MAX` where deleted).
    entries: Vec<Vec<(u32, u8)>>,
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
        let entries = snapshot
            .segments()
            .iter()
            .map(|live| {
                (0..live.segment().len())
                    .map(|index| {
                        let id = RecordId { segment: live.segment().id(), index };
                        match live.is_deleted(index) {
                            true => (u32::MAX, 0),
                            false => snapshot
                                .subject(id)
                                .ok()
                                .and_then(|(subject, finger)| {
                                    Some((*index_of.get(subject)?, finger))
                                })
                                .unwrap_or((u32::MAX, 0)),
                        }
                    })
                    .collect()
            })
            .collect();
        Ok(GalleryPopulation {
            gallery,
            snapshot,
            mode,
            infos,
            fingers,
            entries,
            hashes: HashFunctions::new(),
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

thread_local! {
    /// Per-thread vote counters, reused across searches.
    static VOTES: std::cell::RefCell<Vec<u16>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Population for GalleryPopulation<'_> {
    fn len(&self) -> usize {
        self.infos.len()
    }

    /// Indexed: the records with the most LSH votes summed over the fingers (each finger
    /// voting for entries of a compatible position). Exhaustive: every later record.
    fn candidates(&self, record: u32) -> Result<Vec<u32>> {
        if self.mode == SearchMode::Exhaustive {
            return Ok((record.saturating_add(1)..self.infos.len() as u32).collect());
        }
        let mut totals: HashMap<u32, u32> = HashMap::new();
        VOTES.with(|cell| -> Result<()> {
            let mut votes = cell.borrow_mut();
            for &(position, id) in self.fingers(record) {
                let keys = self.hashes.keys(self.prepared(id)?);
                for (live, entries) in self.snapshot.segments().iter().zip(&self.entries) {
                    votes.clear();
                    votes.resize(entries.len(), 0);
                    segment_index(live, &self.hashes).vote(&keys, &mut votes);
                    for (&count, &(other, p)) in votes.iter().zip(entries) {
                        if count > 0
                            && other != record
                            && other != u32::MAX
                            && positions_compatible(position, p)
                        {
                            *totals.entry(other).or_default() += u32::from(count);
                        }
                    }
                }
            }
            Ok(())
        })?;
        let mut ranked: Vec<(u32, u32)> =
            totals.into_iter().filter(|&(_, v)| v >= MIN_CANDIDATE_VOTES).collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(ranked.into_iter().take(self.candidates_per_record).map(|(r, _)| r).collect())
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
