//! People in the gallery: enrol a person's fingers in one commit, keep one record per person,
//! and identify with one to ten fingers of one person.
//!
//! # Decisions per search, fused over fingers
//! Each probe finger is searched on its own (the single-finger search of [`super::identify`],
//! restricted to the records of its position and of unknown position 0). Every subject any of
//! those searches ranks high becomes a candidate, and each probe finger is then compared with
//! that subject's records of the same position (or position 0), reusing the scores the searches
//! already computed. A finger's evidence is the best of its comparisons, its false match rate
//! the calibration's for that score, corrected for taking the best of `k` records
//! (`1 − (1 − p)ᵏ`). The per-finger rates are fused by the rule `ridgeline dedup` applies to the
//! fingers of a record pair ([`crate::dedup::fusion::fused_fmr`], Fisher's method), and the
//! best candidate matches when its fused rate is at most the false match rate per search
//! divided by the number of subjects searched. The fused score is on the matcher's calibrated
//! scale (the score a single comparison would need for that rate, extrapolated along the
//! calibration's tail past its last point), so one finger reports its own score.
//!
//! # One record per person
//! An enrolment is searched like a probe first: if its fingers match another subject at the
//! per-search rate, it is refused with [`Error::DuplicatePerson`] naming that subject. An id
//! that is already enrolled is refused with [`Error::SubjectExists`] unless the enrolment says
//! it updates the subject; an update adds fingers and replaces the subject's record of every
//! position it re-captures, in the same commit. People enrolled in one batch are also checked
//! against each other.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;

use super::audit::{self, Operation, Outcome};
use super::identify::{self, default_escalation_score, SearchMode, SearchOptions, ESCALATED_MAX};
use super::segment::{self, NewRecord};
use super::store::{RecordId, Snapshot};
use super::subjects::comparable;
pub(crate) use super::subjects::SubjectIndex;
use super::Gallery;
use crate::dedup::fusion::fused_fmr;
use crate::error::{Error, Result};
use crate::matcher::calibration::{fmr_for_score, fmr_per_comparison, threshold_for_fmr, MIN_FMR};
use crate::matcher::{MatchTemplate, Matcher};
use crate::people::subject_id;
use crate::people::Demographics;
use crate::template::Template;

/// Most prints of one person (ten fingers).
pub(crate) const MAX_PRINTS: usize = 10;
/// Each probe finger's search hands at least this many records on to the fusion, so that a
/// subject whose fingers are each only moderately ranked is still considered.
pub(crate) const PER_FINGER_CANDIDATES: usize = 32;
/// The false match rate per search of a person-level decision unless the caller gives one.
pub(crate) const DEFAULT_FMR_PER_SEARCH: f64 = 1e-4;
/// Candidates the duplicate-person check of an enrolment looks among for another subject that
/// matches (the enrolled subject itself may rank first when it is being updated).
pub const DUPLICATE_CHECK_CANDIDATES: usize = 3;

/// One print of a person: finger position and template.
#[derive(Debug, Clone, Copy)]
pub struct Print<'a> {
    /// ISO/IEC 19794-2 finger position: 1–10, or 0 when unknown.
    pub finger: u8,
    /// The template.
    pub template: &'a Template,
}

/// A person to enrol.
#[derive(Debug, Clone, Copy)]
pub struct NewPerson<'a> {
    /// Subject id, normalised on the way in (`crate::people::subject_id`).
    pub subject_id: &'a str,
    /// One to ten prints; a known position at most once.
    pub prints: &'a [Print<'a>],
    /// Demographic fields to store with the record; `None` keeps a subject's stored fields on
    /// update.
    pub demographics: Option<&'a Demographics>,
}

/// How to enrol people.
#[derive(Debug, Clone, Copy)]
pub struct EnrolOptions {
    /// The enrolment updates an enrolled subject of the same id (new fingers, re-captures);
    /// without it, an enrolled id is refused.
    pub update: bool,
    /// False match rate per search of the duplicate-person check.
    pub fmr_per_search: f64,
    /// How the duplicate-person check searches.
    pub mode: SearchMode,
}

impl Default for EnrolOptions {
    fn default() -> Self {
        EnrolOptions {
            update: false,
            fmr_per_search: DEFAULT_FMR_PER_SEARCH,
            mode: SearchMode::Indexed,
        }
    }
}

/// How to identify a person.
#[derive(Debug, Clone, Copy)]
pub struct PersonSearchOptions {
    /// How many candidate subjects to return.
    pub top_k: usize,
    /// False match rate per search of the decision.
    pub fmr_per_search: f64,
    /// Indexed or exhaustive per-finger searches.
    pub mode: SearchMode,
    /// Search what is readable when committed records cannot be read, and say so in
    /// [`PersonIdentification::skipped_records`]; `false` fails such a search with
    /// `GalleryDamaged`.
    pub allow_partial: bool,
}

impl Default for PersonSearchOptions {
    fn default() -> Self {
        PersonSearchOptions {
            top_k: 10,
            fmr_per_search: DEFAULT_FMR_PER_SEARCH,
            mode: SearchMode::Indexed,
            allow_partial: false,
        }
    }
}

/// The evidence of one probe finger for a candidate subject.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerEvidence {
    /// The probe's finger position.
    pub probe_finger: u8,
    /// Finger position of the subject's best-matching record.
    pub finger: u8,
    /// Matcher score of that record.
    pub score: f64,
    /// Estimated false match rate of this finger's evidence (best of the subject's records
    /// compared with this probe finger).
    pub fmr: f64,
    /// The record.
    pub record: RecordId,
}

/// A candidate subject of a person-level identification.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonCandidate {
    /// Subject id (canonical form).
    pub subject_id: String,
    /// Fused score on the matcher's calibrated scale (higher is more similar).
    pub score: f64,
    /// Fused false match rate of the fingers' evidence.
    pub fmr: f64,
    /// Per-finger evidence, in probe order (probe fingers the subject has no record for give
    /// none).
    pub fingers: Vec<FingerEvidence>,
}

/// The outcome of a person-level identification.
#[derive(Debug, Clone)]
pub struct PersonIdentification {
    /// Best candidates first (lowest fused false match rate).
    pub candidates: Vec<PersonCandidate>,
    /// Subjects searched: those holding a record some probe finger is compared with.
    pub searched: usize,
    /// Records eligible over all the per-finger searches.
    pub records_searched: usize,
    /// Precise comparisons made.
    pub compared: usize,
    /// Whether a per-finger search re-ranked beyond its short list.
    pub escalated: bool,
    /// The false match rate per search the decision is made at.
    pub fmr_per_search: f64,
    /// The fused false match rate a candidate needs to match: `fmr_per_search / searched`.
    pub threshold_fmr: f64,
    /// Committed records the search could not read (only with
    /// [`PersonSearchOptions::allow_partial`]; otherwise such a search fails).
    pub skipped_records: usize,
}

impl PersonIdentification {
    /// Whether records were skipped, so that "no match" does not mean "not enrolled".
    pub fn partial(&self) -> bool {
        self.skipped_records > 0
    }

    /// The best candidate if it matches ("already registered").
    pub fn matched(&self) -> Option<&PersonCandidate> {
        self.candidates.first().filter(|c| c.fmr <= self.threshold_fmr)
    }

    /// The fused score a candidate needs to match (the calibrated score of `threshold_fmr`).
    pub fn match_threshold(&self) -> f64 {
        calibrated_score(self.threshold_fmr)
    }

    /// The best candidate other than `subject_id` (canonical form) that matches: the subject an
    /// enrolment of `subject_id` with these prints would register a second time.
    pub fn duplicate_of(&self, subject_id: &str) -> Option<&PersonCandidate> {
        self.candidates.iter().find(|c| c.fmr <= self.threshold_fmr && c.subject_id != subject_id)
    }
}

/// What a person-level search covered, besides the per-subject evidence: the totals the
/// decision is taken over. A search split over shards adds up its shards' totals (subjects are
/// disjoint between shards).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PersonSearchTotals {
    /// Subjects holding a record some probe finger is compared with.
    pub searched: usize,
    /// Records eligible over all the per-finger searches.
    pub records_searched: usize,
    /// Precise comparisons made (per-finger searches and candidate evaluation).
    pub compared: usize,
    /// Whether a per-finger search re-ranked beyond its short list.
    pub escalated: bool,
    /// Committed records the search could not read.
    pub skipped_records: usize,
}

/// The decision of a person-level identification from the evidence of its candidate subjects
/// (each evaluated over all its records, see [`Gallery::evaluate_subjects`]) and the totals of
/// the search: the candidates best first (lowest fused false match rate), cut to `top_k`, and
/// the rate a match needs, `fmr_per_search` over the subjects searched. The one rule both a
/// gallery's search and a search over shards decide by.
pub fn decide_person(
    mut candidates: Vec<PersonCandidate>,
    totals: &PersonSearchTotals,
    top_k: usize,
    fmr_per_search: f64,
) -> PersonIdentification {
    candidates.sort_by(best_first);
    candidates.truncate(top_k.max(1));
    PersonIdentification {
        candidates,
        searched: totals.searched,
        records_searched: totals.records_searched,
        compared: totals.compared,
        escalated: totals.escalated,
        fmr_per_search,
        threshold_fmr: fmr_per_comparison(fmr_per_search, totals.searched),
        skipped_records: totals.skipped_records,
    }
}

/// The finger filters of the single-finger searches of probe finger `probe`: every record for
/// an unknown position (0), else the records of its position, and those of unknown position
/// when the gallery holds any (`unknown_position`).
pub fn finger_filters(probe: u8, unknown_position: bool) -> Vec<Option<u8>> {
    match probe {
        0 => vec![None],
        f if unknown_position => vec![Some(f), Some(0)],
        f => vec![Some(f)],
    }
}

/// The options of one probe finger's single-finger search (`finger`: one of its
/// [`finger_filters`]) in a person-level search.
pub fn finger_search_options(options: &PersonSearchOptions, finger: Option<u8>) -> SearchOptions {
    SearchOptions {
        top_k: options.top_k.max(1).max(PER_FINGER_CANDIDATES),
        finger,
        mode: options.mode,
        escalate_below: Some(default_escalation_score()),
        escalate_to: ESCALATED_MAX,
        allow_partial: options.allow_partial,
    }
}

/// An enrolled person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolledPerson {
    /// Subject id (canonical form).
    pub subject_id: String,
    /// The new records, in print order.
    pub records: Vec<RecordId>,
    /// Records of re-captured fingers the enrolment replaced.
    pub replaced: usize,
    /// Whether the enrolment updated an enrolled subject.
    pub updated: bool,
}

/// What a batch enrolment did: one commit for every accepted person.
#[derive(Debug)]
pub struct PeopleOutcome {
    /// Accepted people, in batch order.
    pub enrolled: Vec<EnrolledPerson>,
    /// Refused people: batch index and why (duplicate person, enrolled id, bad input).
    pub refused: Vec<(usize, Error)>,
}

/// A person's stored record: fingers and demographics.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonRecord {
    /// Subject id (canonical form).
    pub subject_id: String,
    /// Live records: finger position and template.
    pub fingers: Vec<(u8, Template)>,
    /// The demographic fields stored most recently, if any.
    pub demographics: Option<Demographics>,
}

/// The score on the matcher's calibrated scale that has false match rate `fmr`: the inverse of
/// the calibration, continued past its lowest rate along the slope of its last decade, so that
/// fused rates far below any single comparison's keep their order.
pub fn calibrated_score(fmr: f64) -> f64 {
    if fmr >= MIN_FMR {
        return threshold_for_fmr(fmr);
    }
    let at_min = threshold_for_fmr(MIN_FMR);
    let per_decade = at_min - threshold_for_fmr(MIN_FMR * 10.0);
    let decades = MIN_FMR.log10() - fmr.max(f64::MIN_POSITIVE).log10();
    at_min + per_decade * decades
}

/// The false match rate of the best of `k` comparisons that each have rate `p`.
pub(crate) fn best_of_fmr(p: f64, k: usize) -> f64 {
    let p = p.clamp(0.0, 1.0);
    if k <= 1 {
        return p;
    }
    (-(k as f64 * (-p).ln_1p()).exp_m1()).clamp(0.0, 1.0)
}

fn validate_prints(prints: &[Print<'_>]) -> Result<()> {
    if prints.is_empty() || prints.len() > MAX_PRINTS {
        return Err(Error::InvalidArgument(format!(
            "a person has 1-{MAX_PRINTS} prints, got {}",
            prints.len()
        )));
    }
    let mut seen = HashSet::new();
    for p in prints {
        segment::validate_finger(p.finger)?;
        if p.finger != 0 && !seen.insert(p.finger) {
            return Err(Error::InvalidArgument(format!(
                "finger position {} is given twice for one person",
                p.finger
            )));
        }
    }
    Ok(())
}

fn validate_rate(fmr_per_search: f64) -> Result<()> {
    if fmr_per_search > 0.0 && fmr_per_search < 1.0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "the false match rate per search must be between 0 and 1 (exclusive), not \
             {fmr_per_search}"
        )))
    }
}

/// The evidence of each probe finger against `records`, scoring with `score` where a score
/// is not known yet; returns the fused candidate (None when no probe finger is comparable) and
/// the comparisons made.
fn evaluate(
    subject_id: &str,
    prints: &[Print<'_>],
    records: &[(RecordId, u8)],
    mut score: impl FnMut(usize, RecordId) -> Option<(f64, bool)>,
) -> (Option<PersonCandidate>, usize) {
    let mut fingers = Vec::new();
    let mut compared = 0;
    let mut single = true;
    for (k, print) in prints.iter().enumerate() {
        let mut eligible = 0;
        let mut best: Option<(f64, RecordId, u8)> = None;
        for &(record, finger) in records.iter().filter(|(_, f)| comparable(print.finger, *f)) {
            let Some((s, fresh)) = score(k, record) else { continue };
            eligible += 1;
            compared += usize::from(fresh);
            if best.map_or(true, |b| s > b.0) {
                best = Some((s, record, finger));
            }
        }
        let Some((s, record, finger)) = best else { continue };
        single &= eligible == 1;
        let fmr = best_of_fmr(fmr_for_score(s), eligible);
        fingers.push(FingerEvidence { probe_finger: print.finger, finger, score: s, fmr, record });
    }
    if fingers.is_empty() {
        return (None, compared);
    }
    let fmrs: Vec<f64> = fingers.iter().map(|f| f.fmr).collect();
    let fmr = fused_fmr(&fmrs);
    // One comparison's evidence reports its own score, exactly as a single-finger search does.
    let score = match fingers.as_slice() {
        [only] if single => only.score,
        _ => calibrated_score(fmr),
    };
    (Some(PersonCandidate { subject_id: subject_id.to_string(), score, fmr, fingers }), compared)
}

fn best_first(a: &PersonCandidate, b: &PersonCandidate) -> std::cmp::Ordering {
    a.fmr
        .total_cmp(&b.fmr)
        .then(b.score.total_cmp(&a.score))
        .then_with(|| a.subject_id.cmp(&b.subject_id))
}

impl Gallery {
    /// The subject index of `snapshot` (built on first use, then cached until the next commit).
    pub fn subject_index(&self, snapshot: &Snapshot) -> Result<Arc<SubjectIndex>> {
        let mut cached = self.people.index.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = cached.as_ref().filter(|i| i.generation == snapshot.generation()) {
            return Ok(index.clone());
        }
        let index = Arc::new(SubjectIndex::build(snapshot)?);
        *cached = Some(index.clone());
        Ok(index)
    }

    /// Number of enrolled subjects (people).
    pub fn subject_count(&self) -> Result<usize> {
        Ok(self.subject_index(&self.snapshot())?.len())
    }

    /// Identifies a person from one to ten prints (see the module docs).
    pub fn identify_person(
        &self,
        prints: &[Print<'_>],
        options: &PersonSearchOptions,
    ) -> Result<PersonIdentification> {
        let snapshot = self.snapshot();
        let found = self.identify_person_in(&snapshot, prints, options);
        match &found {
            Ok(found) => {
                let matched = found.matched().map(|c| c.subject_id.as_str());
                let detail = format!(
                    "{} candidates, {} subjects searched, {} records skipped",
                    found.candidates.len(),
                    found.searched,
                    found.skipped_records
                );
                self.store.record(&audit::Event {
                    operation: Operation::IdentifyPerson,
                    outcome: if matched.is_some() { Outcome::Matched } else { Outcome::NoMatch },
                    generation: Some(snapshot.generation()),
                    subjects: matched.as_slice(),
                    detail: &detail,
                })?;
            }
            Err(e) => self.store.record_error(Operation::IdentifyPerson, &[], e),
        }
        found
    }

    /// Like [`Gallery::identify_person`], on a snapshot the caller holds. Not recorded in the
    /// audit trail (see [`Gallery::identify_in`]).
    pub fn identify_person_in(
        &self,
        snapshot: &Snapshot,
        prints: &[Print<'_>],
        options: &PersonSearchOptions,
    ) -> Result<PersonIdentification> {
        validate_prints(prints)?;
        validate_rate(options.fmr_per_search)?;
        let index = self.subject_index(snapshot)?;
        let prepared: Vec<MatchTemplate> =
            prints.par_iter().map(|p| MatchTemplate::prepare(p.template)).collect();
        self.search_prepared(snapshot, &index, prints, &prepared, options)
    }

    fn search_prepared(
        &self,
        snapshot: &Snapshot,
        index: &SubjectIndex,
        prints: &[Print<'_>],
        prepared: &[MatchTemplate],
        options: &PersonSearchOptions,
    ) -> Result<PersonIdentification> {
        let mut known: HashMap<(usize, RecordId), f64> = HashMap::new();
        let mut candidates: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut totals = PersonSearchTotals::default();
        for (k, (print, probe)) in prints.iter().zip(prepared).enumerate() {
            for finger in finger_filters(print.finger, index.unknown_position() > 0) {
                let found = identify::identify(
                    snapshot,
                    &self.matcher,
                    self.shortlist,
                    probe.view(),
                    &finger_search_options(options, finger),
                )?;
                totals.records_searched += found.searched;
                totals.compared += found.compared;
                totals.escalated |= found.escalated;
                // Every per-finger search reads the same snapshot.
                totals.skipped_records = totals.skipped_records.max(found.skipped_records);
                for c in found.candidates {
                    known.insert((k, c.record), c.score);
                    if seen.insert(c.subject_id.clone()) {
                        candidates.push(c.subject_id);
                    }
                }
            }
        }
        let (evaluated, compared) =
            self.evaluate_in(snapshot, index, prints, prepared, &candidates, &known);
        totals.compared += compared;
        let positions: Vec<u8> = prints.iter().map(|p| p.finger).collect();
        totals.searched = index.searched_subjects(&positions);
        Ok(decide_person(evaluated, &totals, options.top_k, options.fmr_per_search))
    }

    /// The evidence of each of `subjects` (ids as the gallery stores them) for the probe
    /// `prints` (`prepared`: the same prints prepared for matching): every probe finger
    /// compared with every record of the subject it is comparable with, reusing the scores in
    /// `known` (by probe finger index and record) and computing the rest. Returns the
    /// candidates (subjects with no comparable record give none) and the fresh comparisons.
    /// A search split over shards runs this on the shard owning the subjects, with the scores
    /// of its global short lists, and decides with [`decide_person`].
    pub fn evaluate_subjects(
        &self,
        snapshot: &Snapshot,
        prints: &[Print<'_>],
        prepared: &[MatchTemplate],
        subjects: &[String],
        known: &HashMap<(usize, RecordId), f64>,
    ) -> Result<(Vec<PersonCandidate>, usize)> {
        if prints.len() != prepared.len() {
            return Err(Error::InvalidArgument(format!(
                "{} prints but {} prepared probes",
                prints.len(),
                prepared.len()
            )));
        }
        let index = self.subject_index(snapshot)?;
        Ok(self.evaluate_in(snapshot, &index, prints, prepared, subjects, known))
    }

    fn evaluate_in(
        &self,
        snapshot: &Snapshot,
        index: &SubjectIndex,
        prints: &[Print<'_>],
        prepared: &[MatchTemplate],
        subjects: &[String],
        known: &HashMap<(usize, RecordId), f64>,
    ) -> (Vec<PersonCandidate>, usize) {
        let matcher: &Matcher = &self.matcher;
        let evaluated: Vec<(Option<PersonCandidate>, usize)> = subjects
            .par_iter()
            .map(|id| {
                evaluate(id, prints, index.records(id), |k, record| match known.get(&(k, record)) {
                    Some(&s) => Some((s, false)),
                    None => {
                        // A damaged descriptor is never scored (the search counted it).
                        let candidate = identify::intact_record_prepared(snapshot, record)?;
                        Some((matcher.compare(prepared[k].view(), candidate), true))
                    }
                })
            })
            .collect();
        let compared = evaluated.iter().map(|(_, n)| n).sum::<usize>();
        (evaluated.into_iter().filter_map(|(c, _)| c).collect(), compared)
    }

    /// Enrols one person with one commit; refuses a second record of an enrolled person (see
    /// the module docs).
    pub fn enroll_person(
        &self,
        person: &NewPerson<'_>,
        options: &EnrolOptions,
    ) -> Result<EnrolledPerson> {
        let mut outcome = self.enroll_people(std::slice::from_ref(person), options)?;
        if let Some((_, error)) = outcome.refused.pop() {
            return Err(error);
        }
        outcome.enrolled.pop().ok_or_else(|| Error::InvalidArgument("nothing enrolled".into()))
    }

    /// Enrols people with one commit for all that are accepted. Each is checked against the
    /// gallery and against the people before it in the batch; refused people are listed with
    /// the reason, the rest enrolled. Errors of the gallery itself (read-only, I/O) fail the
    /// whole call and enrol nobody.
    pub fn enroll_people(
        &self,
        people: &[NewPerson<'_>],
        options: &EnrolOptions,
    ) -> Result<PeopleOutcome> {
        let operation = if options.update { Operation::Update } else { Operation::EnrolPerson };
        let outcome = self.enroll_people_unrecorded(people, options, operation);
        match &outcome {
            Ok(outcome) if !outcome.refused.is_empty() => {
                let refused: Vec<&str> =
                    outcome.refused.iter().map(|(i, _)| people[*i].subject_id).collect();
                let mut kinds: Vec<&str> =
                    outcome.refused.iter().map(|(_, e)| super::store::error_kind(e)).collect();
                kinds.sort_unstable();
                kinds.dedup();
                let detail = format!("{} refused: {}", refused.len(), kinds.join(", "));
                self.store.record(&audit::Event {
                    operation,
                    outcome: Outcome::Refused,
                    generation: None,
                    subjects: &refused,
                    detail: &detail,
                })?;
            }
            // Errors are recorded where they arise (here before the commit, by the store at it).
            Ok(_) | Err(_) => {}
        }
        outcome
    }

    fn enroll_people_unrecorded(
        &self,
        people: &[NewPerson<'_>],
        options: &EnrolOptions,
        operation: Operation,
    ) -> Result<PeopleOutcome> {
        let refuse = |e: Error| {
            let subjects: Vec<&str> = people.iter().map(|p| p.subject_id).collect();
            self.store.record_error(operation, &subjects, &e);
            e
        };
        validate_rate(options.fmr_per_search).map_err(refuse)?;
        if !self.store.is_writable() {
            return Err(refuse(Error::GalleryReadOnly { path: self.store.dir().to_path_buf() }));
        }
        let _serial = self.people.enrol.lock().unwrap_or_else(|p| p.into_inner());
        let snapshot = self.snapshot();
        let index = self.subject_index(&snapshot).map_err(refuse)?;
        // The duplicate check never runs on part of the gallery.
        let search = PersonSearchOptions {
            top_k: DUPLICATE_CHECK_CANDIDATES,
            fmr_per_search: options.fmr_per_search,
            mode: options.mode,
            allow_partial: false,
        };
        // Every person checked against the gallery, in parallel.
        let checked: Vec<Result<Checked>> = people
            .par_iter()
            .map(|p| self.check_person(&snapshot, &index, p, options, &search))
            .collect();
        // Then against the accepted people before it in the batch.
        let batch_threshold =
            fmr_per_comparison(options.fmr_per_search, index.len() + people.len());
        let mut accepted: Vec<(usize, Checked)> = Vec::new();
        let mut refused = Vec::new();
        let mut ids: HashSet<String> = HashSet::new();
        for (i, result) in checked.into_iter().enumerate() {
            let person = match result {
                Ok(person) => person,
                Err(e) => {
                    refused.push((i, e));
                    continue;
                }
            };
            if !ids.insert(person.subject_id.clone()) {
                refused.push((
                    i,
                    Error::InvalidArgument(format!(
                        "subject {:?} appears twice in one batch",
                        person.subject_id
                    )),
                ));
                continue;
            }
            let clash = accepted.par_iter().find_map_first(|(_, earlier)| {
                let fmr = self.batch_pair_fmr(&person, earlier);
                (fmr <= batch_threshold).then(|| (earlier.subject_id.clone(), fmr))
            });
            match clash {
                Some((existing, fmr)) => refused.push((
                    i,
                    Error::DuplicatePerson {
                        subject_id: person.subject_id.clone(),
                        existing,
                        fmr,
                        threshold: batch_threshold,
                    },
                )),
                None => accepted.push((i, person)),
            }
        }
        let mut records = Vec::new();
        let mut replaced = Vec::new();
        let mut spans = Vec::new();
        for (_, person) in &mut accepted {
            let start = records.len();
            records.append(&mut person.records);
            replaced.extend_from_slice(&person.replaced);
            spans.push(start..records.len());
        }
        let detail = format!("{} people, {} refused", accepted.len(), refused.len());
        let ids = self.store.append_replacing_as(records, &replaced, operation, &detail)?;
        let enrolled = accepted
            .into_iter()
            .zip(spans)
            .map(|((_, person), span)| EnrolledPerson {
                subject_id: person.subject_id,
                records: ids[span].to_vec(),
                replaced: person.replaced.len(),
                updated: person.updated,
            })
            .collect();
        Ok(PeopleOutcome { enrolled, refused })
    }

    /// Fused false match rate of two people of one batch (their comparable fingers).
    fn batch_pair_fmr(&self, a: &Checked, b: &Checked) -> f64 {
        let mut fmrs = Vec::new();
        for (fa, pa) in &a.prepared {
            let scores: Vec<f64> = b
                .prepared
                .iter()
                .filter(|(fb, _)| comparable(*fa, *fb))
                .map(|(_, pb)| self.matcher.compare(pa.view(), pb.view()))
                .collect();
            if let Some(best) = scores.iter().copied().reduce(f64::max) {
                fmrs.push(best_of_fmr(fmr_for_score(best), scores.len()));
            }
        }
        fused_fmr(&fmrs)
    }

    fn check_person(
        &self,
        snapshot: &Snapshot,
        index: &SubjectIndex,
        person: &NewPerson<'_>,
        options: &EnrolOptions,
        search: &PersonSearchOptions,
    ) -> Result<Checked> {
        let subject_id = subject_id::normalize_subject_id(person.subject_id)?;
        validate_prints(person.prints)?;
        // The same floor as a record enrolled on its own: too few minutiae to match reliably.
        for p in person.prints {
            super::check_enrollable(p.template)?;
        }
        let existing = index.records(&subject_id);
        match (existing.is_empty(), options.update) {
            (false, false) => return Err(Error::SubjectExists { subject_id }),
            (true, true) => return Err(Error::SubjectNotFound { subject_id }),
            _ => {}
        }
        let demographics = match person.demographics {
            Some(d) => d.encode()?,
            // An update without fields keeps the stored ones: they move to the new record,
            // since the one holding them may be a re-captured finger it replaces.
            None => latest_demographics(snapshot, existing)?.unwrap_or_default(),
        };
        let prepared: Vec<(u8, MatchTemplate)> =
            person.prints.iter().map(|p| (p.finger, MatchTemplate::prepare(p.template))).collect();
        let probes: Vec<MatchTemplate> = prepared.iter().map(|(_, m)| m.clone()).collect();
        let found = self.search_prepared(snapshot, index, person.prints, &probes, search)?;
        let threshold = found.threshold_fmr;
        if let Some(other) = found.duplicate_of(&subject_id) {
            return Err(Error::DuplicatePerson {
                subject_id,
                existing: other.subject_id.clone(),
                fmr: other.fmr,
                threshold,
            });
        }
        let replaced: Vec<RecordId> = existing
            .iter()
            .filter(|(_, f)| *f != 0 && person.prints.iter().any(|p| p.finger == *f))
            .map(|(r, _)| *r)
            .collect();
        let records = person
            .prints
            .iter()
            .zip(&prepared)
            .enumerate()
            .map(|(i, (p, (_, m)))| {
                Ok(NewRecord {
                    subject_id: subject_id.clone(),
                    finger: p.finger,
                    template: p.template.to_native_bytes()?,
                    descriptor: m.as_bytes().to_vec(),
                    // The person's fields are stored once, with the first print.
                    demographics: if i == 0 { demographics.clone() } else { Vec::new() },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Checked { subject_id, prepared, records, replaced, updated: !existing.is_empty() })
    }

    /// A person's stored record; `SubjectNotFound` if the id has no live record. Recorded in
    /// the audit trail as an export.
    pub fn person(&self, subject_id: &str) -> Result<PersonRecord> {
        let got = self.person_unrecorded(subject_id);
        self.record_export(subject_id, got.as_ref().map(|p| p.fingers.len()))?;
        got
    }

    fn person_unrecorded(&self, subject_id: &str) -> Result<PersonRecord> {
        let subject_id = subject_id::lookup_form(subject_id);
        let snapshot = self.snapshot();
        let index = self.subject_index(&snapshot)?;
        let records = index.records(&subject_id);
        if records.is_empty() {
            return Err(Error::SubjectNotFound { subject_id });
        }
        let fingers = records
            .iter()
            .map(|&(r, finger)| {
                let stored = snapshot.record(r)?;
                Ok((finger, Template::from_native_bytes(&stored.template)?))
            })
            .collect::<Result<Vec<_>>>()?;
        let demographics = latest_demographics(&snapshot, records)?
            .map(|bytes| Demographics::decode(&bytes))
            .transpose()?;
        Ok(PersonRecord { subject_id, fingers, demographics })
    }

    /// The demographic fields stored with a subject most recently, if any.
    pub fn demographics(&self, subject_id: &str) -> Result<Option<Demographics>> {
        Ok(self.person(subject_id)?.demographics)
    }

    /// De-registers a subject by id in canonical form (so an id stored in another Unicode form
    /// is found too): deletes all its records with one commit; `SubjectNotFound` if it has none.
    pub(crate) fn remove_subject(&self, subject_id: &str) -> Result<usize> {
        let subject_id = subject_id::lookup_form(subject_id);
        let _serial = self.people.enrol.lock().unwrap_or_else(|p| p.into_inner());
        let snapshot = self.snapshot();
        let index = self.subject_index(&snapshot)?;
        let records: Vec<RecordId> = index.records(&subject_id).iter().map(|(r, _)| *r).collect();
        if records.is_empty() {
            let e = Error::SubjectNotFound { subject_id: subject_id.clone() };
            self.store.record_error(Operation::Remove, &[&subject_id], &e);
            return Err(e);
        }
        self.store.append_replacing_as(Vec::new(), &records, Operation::Remove, "")?;
        Ok(records.len())
    }
}

/// A person checked against the gallery, ready to commit.
#[derive(Debug)]
struct Checked {
    subject_id: String,
    prepared: Vec<(u8, MatchTemplate)>,
    records: Vec<NewRecord>,
    replaced: Vec<RecordId>,
    updated: bool,
}

/// The demographic payload of the most recent of `records` that holds one.
fn latest_demographics(snapshot: &Snapshot, records: &[(RecordId, u8)]) -> Result<Option<Vec<u8>>> {
    let mut sorted: Vec<RecordId> = records.iter().map(|(r, _)| *r).collect();
    sorted.sort();
    for r in sorted.into_iter().rev() {
        if let Some(payload) = snapshot.demographics(r)? {
            return Ok(Some(payload.to_vec()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibrated_score_is_the_inverse_of_the_calibration_and_extends_it() {
        for fmr in [1e-2, 1e-4, 1e-8] {
            let s = calibrated_score(fmr);
            assert!((fmr_for_score(s).log10() - fmr.log10()).abs() < 1e-6, "{fmr}");
        }
        // Past the calibration's lowest rate the scale keeps rising.
        let mut last = calibrated_score(MIN_FMR);
        for exp in 13..30 {
            let s = calibrated_score(10f64.powi(-exp));
            assert!(s > last, "1e-{exp}: {s} <= {last}");
            last = s;
        }
    }

    #[test]
    fn best_of_k_records_costs_k_chances() {
        assert_eq!(best_of_fmr(1e-4, 1), 1e-4);
        let two = best_of_fmr(1e-4, 2);
        assert!((two - (1.0 - (1.0 - 1e-4f64).powi(2))).abs() < 1e-15, "{two}");
        assert!((best_of_fmr(1e-9, 3) - 3e-9).abs() < 3e-9 * 1e-6);
        assert_eq!(best_of_fmr(1.0, 4), 1.0);
        assert_eq!(best_of_fmr(0.0, 4), 0.0);
    }

    fn empty_template() -> Template {
        Template {
            width: 100,
            height: 100,
            dpi: 500,
            quality: 0,
            minutiae: Vec::new(),
            singular_points: Vec::new(),
        }
    }

    fn rid(i: u32) -> RecordId {
        RecordId { segment: 1, index: i }
    }

    #[test]
    fn fusion_of_literal_finger_scores() {
        // A subject with fingers 1 and 6 (records 0 and 1) and one of unknown position (2).
        let records = [(rid(0), 1), (rid(1), 6), (rid(2), 0)];
        let t = empty_template();
        let prints = [Print { finger: 1, template: &t }, Print { finger: 6, template: &t }];
        let s1 = threshold_for_fmr(1e-5);
        let s6 = threshold_for_fmr(1e-3);
        let low = threshold_for_fmr(0.5);
        let scores = HashMap::from([
            ((0, rid(0)), s1),
            ((0, rid(2)), low),
            ((1, rid(1)), s6),
            ((1, rid(2)), low),
        ]);
        let (c, compared) =
            evaluate("P1", &prints, &records, |k, r| scores.get(&(k, r)).map(|&s| (s, false)));
        let c = c.expect("comparable fingers");
        assert_eq!(compared, 0);
        assert_eq!(c.fingers.len(), 2);
        // Each probe finger: its own position and the unknown one, best of two.
        assert_eq!(c.fingers[0].finger, 1);
        assert_eq!(c.fingers[1].finger, 6);
        let p1 = best_of_fmr(fmr_for_score(s1), 2);
        let p6 = best_of_fmr(fmr_for_score(s6), 2);
        assert!((c.fingers[0].fmr - p1).abs() < 1e-18, "{:?}", c.fingers[0]);
        assert!((p1 - 2e-5).abs() < 1e-9, "{p1}");
        assert!((c.fingers[1].fmr - p6).abs() < 1e-15, "{:?}", c.fingers[1]);
        assert!((p6 - 2e-3).abs() < 2e-6, "{p6}");
        let t = p1 * p6;
        let fisher = t * (1.0 - t.ln());
        assert!((c.fmr - fisher).abs() < fisher * 1e-9, "{} vs {fisher}", c.fmr);
        // Two fingers are stronger evidence than the better one alone.
        assert!(c.fmr < p1);
        assert!((c.score - calibrated_score(fisher)).abs() < 1e-9);
        assert!(c.score > s1);

        // One probe finger against one record reports its own score and rate.
        let (c, _) = evaluate("P1", &prints[..1], &records[..2], |k, r| {
            scores.get(&(k, r)).map(|&s| (s, false))
        });
        let c = c.expect("finger 1");
        assert_eq!(c.score, s1);
        assert!((c.fmr - fmr_for_score(s1)).abs() < 1e-18);

        // No comparable finger: no candidate.
        let (c, _) = evaluate("P1", &prints[1..], &records[..1], |_, _| Some((1.0, true)));
        assert!(c.is_none());
        // Fresh comparisons are counted.
        let (_, compared) = evaluate("P1", &prints, &records, |_, _| Some((low, true)));
        assert_eq!(compared, 4);
    }

    #[test]
    fn the_decision_ranks_by_fused_rate_and_splits_the_rate_over_subjects() {
        let candidate = |id: &str, fmr: f64| PersonCandidate {
            subject_id: id.to_string(),
            score: calibrated_score(fmr),
            fmr,
            fingers: Vec::new(),
        };
        let evidence = vec![candidate("b", 1e-3), candidate("a", 1e-9), candidate("c", 1e-9)];
        let totals = PersonSearchTotals { searched: 1000, ..Default::default() };
        let found = decide_person(evidence.clone(), &totals, 2, 1e-4);
        let ids: Vec<&str> = found.candidates.iter().map(|c| c.subject_id.as_str()).collect();
        // Equal rates and scores: by id.
        assert_eq!(ids, ["a", "c"]);
        assert!((found.threshold_fmr - 1e-7).abs() < 1e-18);
        assert_eq!(found.matched().map(|c| c.subject_id.as_str()), Some("a"));
        assert_eq!(found.duplicate_of("a").map(|c| c.subject_id.as_str()), Some("c"));
        assert_eq!(found.duplicate_of("x").map(|c| c.subject_id.as_str()), Some("a"));
        // Over more subjects the same evidence no longer matches.
        let many = PersonSearchTotals { searched: 1_000_000_000, ..Default::default() };
        let found = decide_person(evidence, &many, 5, 1e-4);
        assert!(found.matched().is_none());
        assert!(found.duplicate_of("x").is_none());
        assert_eq!(found.candidates.len(), 3);
    }

    #[test]
    fn each_probe_finger_searches_its_position_and_the_unknown_one() {
        assert_eq!(finger_filters(0, true), [None]);
        assert_eq!(finger_filters(3, false), [Some(3)]);
        assert_eq!(finger_filters(3, true), [Some(3), Some(0)]);
        let options = PersonSearchOptions { top_k: 50, ..Default::default() };
        assert_eq!(finger_search_options(&options, Some(2)).top_k, 50);
        assert_eq!(
            finger_search_options(&PersonSearchOptions::default(), None).top_k,
            PER_FINGER_CANDIDATES
        );
    }

    #[test]
    fn a_non_matching_finger_weakens_but_does_not_veto() {
        let records = [(rid(0), 1), (rid(1), 6)];
        let t = empty_template();
        let prints = [Print { finger: 1, template: &t }, Print { finger: 6, template: &t }];
        let strong = threshold_for_fmr(1e-9);
        let (c, _) = evaluate("P1", &prints, &records, |k, _| {
            Some((if k == 0 { strong } else { threshold_for_fmr(1.0) }, false))
        });
        let c = c.expect("candidate");
        assert!(c.fmr > 1e-9 && c.fmr < 1e-7, "{}", c.fmr);
    }
}
