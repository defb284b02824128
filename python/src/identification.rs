//! `Identification`, `Candidate` and `FingerEvidence`: the core's person-level identification
//! ([`ridgeline::gallery::person`]) as Python sees it, and the form in which a shard hands its
//! candidate subjects' evidence to the driver of a sharded search.
//!
//! The decision itself is the core's ([`ridgeline::gallery::person::decide_person`]), whether
//! the search ran on one gallery or over shards; nothing here decides.

use pyo3::prelude::*;
use ridgeline::gallery::person::calibrated_score;
use ridgeline::gallery::{FingerEvidence, PersonCandidate, PersonIdentification, RecordId};
use ridgeline::people::lookup_form;

/// A candidate subject's evidence as it travels from a shard to the driver:
/// `(subject id, fused score, fused fmr, [(probe finger, finger, score, fmr, segment, index)])`.
pub type WireCandidate = (String, f64, f64, Vec<(u8, u8, f64, f64, u64, u32)>);

/// The candidate's evidence in its wire form.
pub fn to_wire(c: &PersonCandidate) -> WireCandidate {
    let fingers = c
        .fingers
        .iter()
        .map(|f| (f.probe_finger, f.finger, f.score, f.fmr, f.record.segment, f.record.index))
        .collect();
    (c.subject_id.clone(), c.score, c.fmr, fingers)
}

/// The candidate of a wire form.
pub fn from_wire(w: WireCandidate) -> PersonCandidate {
    let (subject_id, score, fmr, fingers) = w;
    let fingers = fingers
        .into_iter()
        .map(|(probe_finger, finger, score, fmr, segment, index)| FingerEvidence {
            probe_finger,
            finger,
            score,
            fmr,
            record: RecordId { segment, index },
        })
        .collect();
    PersonCandidate { subject_id, score, fmr, fingers }
}

/// One probe finger's evidence for a candidate subject: its best-matching record.
#[pyclass(module = "ridgeline._native", name = "FingerEvidence", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct PyFingerEvidence {
    /// The probe's finger position.
    #[pyo3(get)]
    pub probe_finger: u8,
    /// Finger position of the subject's best-matching record.
    #[pyo3(get)]
    pub finger: u8,
    /// Matcher score of that record.
    #[pyo3(get)]
    pub score: f64,
    /// False match rate of this finger's evidence (the best of the subject's comparable records).
    #[pyo3(get)]
    pub fmr: f64,
}

#[pymethods]
impl PyFingerEvidence {
    fn __repr__(&self) -> String {
        format!(
            "FingerEvidence(probe_finger={}, finger={}, score={:.3}, fmr={:.1e})",
            self.probe_finger, self.finger, self.score, self.fmr
        )
    }
}

/// One candidate subject of an identification.
///
/// `id`: subject id; `score`: the fused score on the matcher's calibrated scale (one finger's
/// own score when one comparison is the evidence); `fmr`: the fused false match rate of its
/// evidence; `finger`: the position of its strongest evidence; `fingers`: the evidence per probe
/// finger (`FingerEvidence`).
#[pyclass(module = "ridgeline._native", name = "Candidate", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct PyCandidate {
    /// Subject id.
    #[pyo3(get)]
    pub id: String,
    /// Finger position of the strongest evidence.
    #[pyo3(get)]
    pub finger: u8,
    /// Fused score (higher is more similar).
    #[pyo3(get)]
    pub score: f64,
    /// Fused false match rate.
    #[pyo3(get)]
    pub fmr: f64,
    /// Evidence per probe finger.
    #[pyo3(get)]
    pub fingers: Vec<PyFingerEvidence>,
}

impl From<&PersonCandidate> for PyCandidate {
    fn from(c: &PersonCandidate) -> Self {
        // As `ridgeline identify --json` reports it: the position of the lowest-rate evidence.
        let finger =
            c.fingers.iter().min_by(|a, b| a.fmr.total_cmp(&b.fmr)).map_or(0, |f| f.finger);
        PyCandidate {
            id: c.subject_id.clone(),
            finger,
            score: c.score,
            fmr: c.fmr,
            fingers: c
                .fingers
                .iter()
                .map(|f| PyFingerEvidence {
                    probe_finger: f.probe_finger,
                    finger: f.finger,
                    score: f.score,
                    fmr: f.fmr,
                })
                .collect(),
        }
    }
}

#[pymethods]
impl PyCandidate {
    fn __repr__(&self) -> String {
        format!(
            "Candidate(id={:?}, finger={}, score={:.3}, fmr={:.1e})",
            self.id, self.finger, self.score, self.fmr
        )
    }
}

/// The outcome of an identification of a person from one or several fingers.
///
/// * `candidates`: candidate subjects, best first (`Candidate`: id, fused score and false match
///   rate, per-finger evidence);
/// * `matched`: the best candidate's id when its fused false match rate is at most
///   `fmr_threshold` (= `fmr_per_search / searched`), else `None` ("not enrolled");
/// * `searched`: subjects searched (those holding a record some probe finger is compared
///   with); `records_searched`: records of the per-finger searches;
/// * `compared`, `escalated`: how much precise matching the search did.
#[pyclass(module = "ridgeline._native", name = "Identification", frozen)]
#[derive(Debug)]
pub struct PyIdentification {
    inner: PersonIdentification,
}

impl From<PersonIdentification> for PyIdentification {
    fn from(inner: PersonIdentification) -> Self {
        PyIdentification { inner }
    }
}

#[pymethods]
impl PyIdentification {
    /// Candidate subjects, best first.
    #[getter]
    fn candidates(&self) -> Vec<PyCandidate> {
        self.inner.candidates.iter().map(PyCandidate::from).collect()
    }

    /// The subject matched, or `None`.
    #[getter]
    fn matched(&self) -> Option<String> {
        self.inner.matched().map(|c| c.subject_id.clone())
    }

    /// Subjects searched.
    #[getter]
    fn searched(&self) -> usize {
        self.inner.searched
    }

    /// Records eligible over all the per-finger searches.
    #[getter]
    fn records_searched(&self) -> usize {
        self.inner.records_searched
    }

    /// Precise comparisons made.
    #[getter]
    fn compared(&self) -> usize {
        self.inner.compared
    }

    /// Whether a per-finger search re-ranked beyond its short list.
    #[getter]
    fn escalated(&self) -> bool {
        self.inner.escalated
    }

    /// `(subject id, fused false match rate)` per candidate, best first.
    #[getter]
    fn subjects(&self) -> Vec<(String, f64)> {
        self.inner.candidates.iter().map(|c| (c.subject_id.clone(), c.fmr)).collect()
    }

    /// The false match rate per search the decision was made at.
    #[getter]
    fn fmr_per_search(&self) -> f64 {
        self.inner.fmr_per_search
    }

    /// The fused false match rate a candidate needs to match: `fmr_per_search / searched`.
    #[getter]
    fn fmr_threshold(&self) -> f64 {
        self.inner.threshold_fmr
    }

    /// The fused score a candidate needs to match (the calibrated score of `fmr_threshold`).
    #[getter]
    fn match_threshold(&self) -> f64 {
        calibrated_score(self.inner.threshold_fmr)
    }

    /// Committed records the search could not read.
    #[getter]
    fn skipped_records(&self) -> usize {
        self.inner.skipped_records
    }

    /// The best candidate other than `id` that matches: the subject these prints would
    /// register a second time if enrolled as `id`; `None` if there is none.
    fn duplicate_of(&self, id: &str) -> Option<String> {
        self.inner.duplicate_of(&lookup_form(id)).map(|c| c.subject_id.clone())
    }

    fn __repr__(&self) -> String {
        format!(
            "Identification(matched={:?}, searched={}, candidates={:?})",
            self.matched(),
            self.inner.searched,
            self.candidates()
        )
    }
}

/// The identification decided from candidate evidence `wire` and the search totals.
pub fn decision(
    wire: Vec<WireCandidate>,
    totals: &ridgeline::gallery::PersonSearchTotals,
    top: usize,
    fmr_per_search: f64,
) -> PyIdentification {
    let candidates = wire.into_iter().map(from_wire).collect();
    ridgeline::gallery::person::decide_person(candidates, totals, top, fmr_per_search).into()
}
