//! The decision of an identification with one or several fingers of one person.
//!
//! Each probe finger is searched on its own (a probe at position 1–10 among the records of that
//! position, a probe at position 0 — unknown — among all records), and [`decide`] turns the
//! per-finger answers into one: the candidates, and the subject matched if any. This is the one
//! place that fuses fingers for the Python API; a person-level search in the core can replace
//! it without touching its callers (`Gallery.identify`, `ShardedGallery.identify`).
//!
//! * One finger: the core's rule ([`ridgeline::gallery::identify::match_threshold`]): the best
//!   candidate matches when its score reaches the threshold at `fmr_per_search` split over the
//!   records searched.
//! * Several fingers: per subject, each probe finger contributes the calibrated false match
//!   rate of that subject's best record in the finger's candidates (1 — no evidence — where
//!   the subject is not among them), fused as `ridgeline dedup` fuses fingers
//!   ([`ridgeline::dedup::fused_fmr`]). The best subject matches when its fused rate is at most
//!   `fmr_per_search` split over the subjects searched, counted as the most records any one
//!   finger's search covered (a subject holds one record per position).

use std::collections::BTreeMap;

use ridgeline::dedup::fused_fmr;
use ridgeline::gallery::identify::match_threshold;
use ridgeline::matcher::calibration;

/// One candidate record.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Subject id.
    pub id: String,
    /// Finger position of the record.
    pub finger: u8,
    /// Matcher score.
    pub score: f64,
}

/// The answer of one probe finger's search.
#[derive(Debug, Clone)]
pub struct FingerSearch {
    /// Best candidates first.
    pub candidates: Vec<Hit>,
    /// Records searched.
    pub searched: usize,
    /// Records compared with the precise matcher.
    pub compared: usize,
    /// Whether the search re-ranked beyond its short list.
    pub escalated: bool,
}

/// The fused answer.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Candidate records of every finger's search, best score first, at most `top`.
    pub candidates: Vec<Hit>,
    /// The subject matched, if any.
    pub matched: Option<String>,
    /// Records (one finger) or subjects (several fingers) the decision was taken over.
    pub searched: usize,
    /// Records compared precisely, over all fingers.
    pub compared: usize,
    /// Whether any finger's search escalated.
    pub escalated: bool,
    /// Per candidate subject, the false match rate of its evidence (fused over fingers), best
    /// first, at most `top`.
    pub subjects: Vec<(String, f64)>,
    /// The false match rate the best subject needed to be matched.
    pub fmr_threshold: f64,
}

/// Fuses per-finger searches into one decision at `fmr_per_search`, keeping `top` candidates.
pub fn decide(searches: &[FingerSearch], top: usize, fmr_per_search: f64) -> Decision {
    let top = top.max(1);
    let searched = searches.iter().map(|s| s.searched).max().unwrap_or(0);
    let compared = searches.iter().map(|s| s.compared).sum();
    let escalated = searches.iter().any(|s| s.escalated);
    let mut candidates: Vec<Hit> =
        searches.iter().flat_map(|s| s.candidates.iter().cloned()).collect();
    candidates.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| (&a.id, a.finger).cmp(&(&b.id, b.finger)))
    });
    candidates.dedup_by(|a, b| a.id == b.id && a.finger == b.finger);
    candidates.truncate(top);

    // Per subject, its best score in each finger's search.
    let mut best: BTreeMap<&str, Vec<Option<f64>>> = BTreeMap::new();
    for (k, search) in searches.iter().enumerate() {
        for hit in &search.candidates {
            let slot =
                &mut best.entry(hit.id.as_str()).or_insert_with(|| vec![None; searches.len()])[k];
            *slot = Some(slot.map_or(hit.score, |s: f64| s.max(hit.score)));
        }
    }
    let mut subjects: Vec<(String, f64)> = best
        .into_iter()
        .map(|(id, scores)| {
            let rates: Vec<f64> =
                scores.iter().map(|s| s.map_or(1.0, calibration::fmr_for_score)).collect();
            (id.to_string(), fused_fmr(&rates))
        })
        .collect();
    subjects.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    subjects.truncate(top);

    let fmr_threshold = calibration::fmr_per_comparison(fmr_per_search, searched);
    let matched = match searches {
        [one] => {
            let threshold = match_threshold(fmr_per_search, one.searched);
            candidates.first().filter(|c| c.score >= threshold).map(|c| c.id.clone())
        }
        _ => subjects.first().filter(|s| s.1 <= fmr_threshold).map(|s| s.0.clone()),
    };
    Decision { candidates, matched, searched, compared, escalated, subjects, fmr_threshold }
}
