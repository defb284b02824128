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
//! fused false match rates of [`fusion`]; `--fmr` is a per-search rate ([`fusion::pair_fmr_threshold`]);
//! records sharing an identity number are verified against each other at the rate of a search
//! among the number's holders ([`fusion::same_id_pair_fmr_threshold`]).

mod candidate_index;
pub mod checkpoint;
pub mod clusters;
mod cylinder_hashes;
pub mod fusion;
mod gallery_population;
pub mod identity;
pub mod manifest;
mod outcome;
pub mod population;
pub mod report;
pub mod search;
pub mod split;

pub use checkpoint::Checkpoint;
pub use clusters::{build_clusters, Cluster, LinkedPair, UnionFind};
pub use fusion::{fused_fmr, pair_fmr_threshold, same_id_pair_fmr_threshold, score_for_fmr};
pub use gallery_population::{CandidateRanks, GalleryPopulation, DEFAULT_CANDIDATES_PER_RECORD};
pub use identity::{validate_id_number, IdProblem};
pub use manifest::{read_manifest, ManifestRecord, RecordInfo};
pub use population::{ExhaustivePopulation, FingerMatcher};
pub use report::{
    build_report, finish_report, population_key, same_id_pairs, verify_same_id_pairs, Distinct,
    Flag, FlagKind, LinkThresholds, Report, SameIdPair, SameIdVerification,
};
pub use search::{
    job_key, search, Population, Resumable, SearchConfig, SearchOutcome, SearchStats,
};
