//! Populations the N:N search runs over: templates held in memory, compared exhaustively.
//!
//! Fingers are paired by position: a finger of one record is compared with the fingers of the
//! other record at the same position (position 0, unknown, pairs with any), and the best of
//! those is that finger's evidence. The record with fewer fingers leads, so every common
//! finger counts once (see [`super::fusion`] for how they are combined).

use crate::error::Result;
use crate::template::Template;

/// What the N:N search needs from a population of records.
pub trait Population: Sync {
    /// Number of records; records are `0..len`.
    fn len(&self) -> usize;

    /// Whether there are no records.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records that may be duplicates of `record` (any order, may include `record` itself and
    /// repeats). An exhaustive population returns every other record.
    fn candidates(&self, record: u32) -> Result<Vec<u32>>;

    /// The calibrated false match rate of each finger the two records have in common.
    fn finger_fmrs(&self, a: u32, b: u32) -> Result<Vec<f64>>;
}

/// A 1:1 comparison with a calibrated false match rate, on a prepared form of templates.
pub trait FingerMatcher: Sync {
    /// The prepared form of a template (computed once per template).
    type Prepared: Send + Sync;

    /// Prepares a template for comparisons.
    fn prepare(&self, template: &Template) -> Self::Prepared;

    /// The estimated false match rate of the comparison of two prepared templates.
    fn fmr(&self, a: &Self::Prepared, b: &Self::Prepared) -> f64;
}

/// Whether two finger positions may be the same finger.
pub fn positions_compatible(a: u8, b: u8) -> bool {
    a == b || a == 0 || b == 0
}

/// The per-finger false match rates of two records, by the pairing rule of this module.
pub(crate) fn record_finger_fmrs<M: FingerMatcher>(
    matcher: &M,
    a: &[(u8, M::Prepared)],
    b: &[(u8, M::Prepared)],
) -> Vec<f64> {
    let (lead, other) = if b.len() < a.len() { (b, a) } else { (a, b) };
    lead.iter()
        .filter_map(|(position, prepared)| {
            other
                .iter()
                .filter(|(p, _)| positions_compatible(*position, *p))
                .map(|(_, o)| matcher.fmr(prepared, o))
                .min_by(f64::total_cmp)
        })
        .collect()
}

/// Records whose prepared fingers are held in memory; every pair is a candidate.
///
/// For populations that fit in memory (tests, the demo's cross-check, small offices); large
/// ones go through a gallery and its index.
#[derive(Debug)]
pub struct ExhaustivePopulation<'m, M: FingerMatcher> {
    matcher: &'m M,
    records: Vec<Vec<(u8, M::Prepared)>>,
}

impl<'m, M: FingerMatcher> ExhaustivePopulation<'m, M> {
    /// Prepares every finger of every record (in parallel).
    pub fn new(matcher: &'m M, records: &[Vec<(u8, Template)>]) -> Self {
        use rayon::prelude::*;
        let records = records
            .par_iter()
            .map(|fingers| fingers.iter().map(|(p, t)| (*p, matcher.prepare(t))).collect())
            .collect();
        ExhaustivePopulation { matcher, records }
    }
}

impl<M: FingerMatcher> Population for ExhaustivePopulation<'_, M> {
    fn len(&self) -> usize {
        self.records.len()
    }

    /// Every later record: each pair is then proposed once, from its lower record.
    fn candidates(&self, record: u32) -> Result<Vec<u32>> {
        Ok((record.saturating_add(1)..self.records.len() as u32).collect())
    }

    fn finger_fmrs(&self, a: u32, b: u32) -> Result<Vec<f64>> {
        match (self.records.get(a as usize), self.records.get(b as usize)) {
            (Some(ra), Some(rb)) => Ok(record_finger_fmrs(self.matcher, ra, rb)),
            _ => {
                Err(crate::error::Error::InvalidArgument(format!("record {a} or {b} out of range")))
            }
        }
    }
}
