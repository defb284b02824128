//! What an N:N search produced: the linked pairs and the counters, the same whether the search
//! ran in one process or in tasks.

use super::clusters::LinkedPair;

/// What a search produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOutcome {
    /// Pairs at or below the per-pair threshold, sorted by `(a, b)`.
    pub pairs: Vec<LinkedPair>,
    /// False if the run was stopped before every record was searched.
    pub complete: bool,
    /// Counters.
    pub stats: SearchStats,
}

/// Counters of a search.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchStats {
    /// Records in the population.
    pub records: u64,
    /// Records searched (including those of a resumed checkpoint).
    pub records_searched: u64,
    /// Record pairs compared (each once).
    pub pairs_compared: u64,
    /// Per-pair false match rate threshold used.
    pub pair_fmr_threshold: f64,
    /// Search time in seconds, including the time before a resume.
    pub search_seconds: f64,
    /// Record the run resumed from, if it did.
    pub resumed_from: Option<u64>,
}
