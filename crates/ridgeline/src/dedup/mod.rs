//! Batch de-duplication of a population database: every record against every other,
//! duplicate clusters, identity-number checks, and the reports a clerk adjudicates from.
//!
//! ```text
//! manifest / gallery ─> Population ─> search (N:N, resumable) ─> pairs ─> clusters ─> Report ─> JSON / CSV / HTML
//!                                          └─ fusion of fingers per record pair
//! ```
//!
//! A key design decision: the search only needs a [`Population`] — candidates for a record and
//! per-finger false match rates for a pair — so the same resumable, parallel search runs over a
//! gallery's candidate index, or exhaustively over templates in memory. Pair scores are the
//! fused false match rates of [`fused_fmr`]; `--fmr` is a per-search rate ([`pair_fmr_threshold`]);
//! records sharing an identity number are verified against each other at the rate of a search
//! among the number's holders (`same_id_pair_fmr_threshold`).

mod candidate_index;
pub mod checkpoint;
pub(crate) mod clusters;
mod cylinder_hashes;
pub(crate) mod fusion;
mod gallery_population;
pub(crate) mod identity;
mod outcome;
pub(crate) mod population;
pub(crate) mod population_manifest;
pub(crate) mod report;
pub(crate) mod search;
pub mod split;

pub use checkpoint::{job_key, Checkpoint};
pub use clusters::{Cluster, LinkedPair};
pub use fusion::{fused_fmr, pair_fmr_threshold};
pub use gallery_population::{CandidateRanks, GalleryPopulation, DEFAULT_CANDIDATES_PER_RECORD};
pub use identity::{make_id_number, validate_id_number, IdProblem};
pub use outcome::{SearchOutcome, SearchStats};
pub use population::{positions_compatible, ExhaustivePopulation, FingerMatcher, Population};
pub use population_manifest::{csv_field, read_manifest, ManifestRecord, RecordInfo};
pub use report::{
    build_report, finish_report, population_key, ClusterEntry, Distinct, Flag, FlagKind,
    LinkThresholds, PairEntry, RecordEntry, Report,
};
pub use search::{search, Resumable, SearchConfig, DEFAULT_CHECKPOINT_INTERVAL_S};
