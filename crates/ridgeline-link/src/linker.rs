//! Linking two systems: prepare, block, compare, estimate, score, decide.

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::blocking::{for_each_candidate, BlockingKey, DEFAULT_KEYS};
use crate::compare::{compare, decode, encode, Pattern, FIELDS, LEVELS, PATTERNS};
use crate::error::{Error, Result};
use crate::fusion::FingerprintModel;
use crate::model::{em, level_frequencies, posterior, EmOutcome, Model, Observation};
use crate::record::Person;
use crate::rng::SplitMix;

/// Settings of a linkage run.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// Pairs with a posterior at or above this are links.
    pub threshold: f64,
    /// Random pairs sampled to seed `u`.
    pub random_pairs: usize,
    /// Seed of the random-pair sample.
    pub seed: u64,
    /// EM iteration limit.
    pub max_em_iterations: usize,
    /// EM stops when no parameter moves more than this.
    pub em_tolerance: f64,
    /// Re-estimate `u` in EM. Keeping `u` at the random-pair frequencies misfits: blocked
    /// candidates are not random pairs (they agree on a key by construction), and EM then
    /// drives `λ` towards 1. Kept for comparison.
    pub estimate_u: bool,
    /// Blocking keys, in priority order.
    pub keys: Vec<BlockingKey>,
    /// Fingerprint likelihood model.
    pub fingerprint: FingerprintModel,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            threshold: 0.5,
            random_pairs: 200_000,
            seed: 1,
            max_em_iterations: 200,
            em_tolerance: 1e-7,
            estimate_u: true,
            keys: DEFAULT_KEYS.to_vec(),
            fingerprint: FingerprintModel::default(),
        }
    }
}

/// Fingerprint comparisons between the records of the two systems, supplied by the caller
/// (the library does not load images).
pub trait PrintEvidence: Sync {
    /// Fused calibrated FMR of the prints the two records have in common; `None` when they
    /// share no finger position.
    fn pair_fmr(&self, a: u32, b: u32) -> Option<f64>;
    /// Pairs whose prints match, found by a fingerprint search independent of demographics
    /// (so that a record with wrong demographics still meets its mate).
    fn matching_pairs(&self) -> Vec<(u32, u32)>;
}

/// Which evidence decided a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// Demographics alone pass the threshold (and the prints, if any, do not on their own).
    Demographic,
    /// The prints alone pass the threshold, demographics do not.
    Fingerprint,
    /// Both pass on their own, or neither does but together they do.
    Both,
}

impl Evidence {
    /// Name in `LINKS.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Evidence::Demographic => "demographic",
            Evidence::Fingerprint => "fingerprint",
            Evidence::Both => "both",
        }
    }
}

/// A scored pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPair {
    /// Index in the first system.
    pub a: u32,
    /// Index in the second system.
    pub b: u32,
    /// Comparison vector.
    pub pattern: Pattern,
    /// Match weight in bits (prior, demographic and fingerprint evidence).
    pub weight: f64,
    /// Posterior probability of a match.
    pub posterior: f64,
    /// Demographic weight alone (prior included).
    pub demographic_weight: f64,
    /// Fused FMR of the prints, where both records have prints of a common finger.
    pub print_fmr: Option<f64>,
    /// What decided it.
    pub evidence: Evidence,
}

/// Kinds of conflict between the evidence of a pair, for a clerk to resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// The prints match but both identity numbers are valid and differ.
    SameFingersDifferentIdNumbers,
    /// The identity numbers are the same but the prints do not match.
    SameIdNumberDifferentFingers,
}

/// A conflict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conflict {
    /// Index in the first system.
    pub a: u32,
    /// Index in the second system.
    pub b: u32,
    /// Kind.
    pub kind: ConflictKind,
    /// Fused FMR of the prints.
    pub print_fmr: f64,
}

/// Stage times in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Blocking and comparing the candidates.
    pub compare_s: f64,
    /// Random pairs and EM.
    pub estimate_s: f64,
    /// Scoring, prints and decisions.
    pub score_s: f64,
}

/// The outcome of linking two systems.
#[derive(Debug, Clone)]
pub struct Linkage {
    /// Pairs at or above the threshold, ordered by `a` then `b`.
    pub links: Vec<ScoredPair>,
    /// Fitted model.
    pub model: Model,
    /// How EM ended.
    pub em: EmOutcome,
    /// Candidate pairs compared (demographic blocking).
    pub candidates: usize,
    /// Candidates proposed by each blocking key.
    pub candidates_per_key: Vec<(&'static str, usize)>,
    /// Pairs added by the fingerprint search.
    pub print_candidates: usize,
    /// Conflicts among the compared pairs.
    pub conflicts: Vec<Conflict>,
    /// Stage times.
    pub timings: Timings,
}

/// Links the records of two systems.
pub fn link(
    a: &[Person],
    b: &[Person],
    config: &LinkConfig,
    prints: Option<&dyn PrintEvidence>,
) -> Result<Linkage> {
    if !(config.threshold > 0.0 && config.threshold < 1.0) {
        return Err(Error::InvalidParameter {
            name: "threshold",
            message: format!("must lie strictly between 0 and 1, got {}", config.threshold),
        });
    }
    if a.len() > u32::MAX as usize || b.len() > u32::MAX as usize {
        return Err(Error::InvalidParameter {
            name: "records",
            message: "over 2³² records".into(),
        });
    }
    if a.is_empty() || b.is_empty() {
        return Err(Error::Estimation("one of the systems has no records".into()));
    }
    let start = Instant::now();
    let nk = config.keys.len();
    let mut pairs: Vec<(u32, u32, Pattern, u8)> = for_each_candidate(a, b, &config.keys, |c| {
        Some((c.a, c.b, encode(&compare(&a[c.a as usize], &b[c.b as usize])), c.key))
    });
    pairs.par_sort_unstable_by_key(|&(x, y, _, _)| (x, y));
    let candidates = pairs.len();
    let mut per_key = vec![0usize; nk];
    let mut counts = vec![0f64; PATTERNS];
    for &(_, _, p, k) in &pairs {
        per_key[k as usize] += 1;
        counts[p as usize] += 1.0;
    }
    let compare_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let observations: Vec<Observation> = counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0.0)
        .map(|(p, &count)| Observation { levels: decode(p as Pattern).to_vec(), count })
        .collect();
    if observations.is_empty() {
        return Err(Error::Estimation(
            "no candidate pairs: the two systems share no blocking key (check the column maps)"
                .into(),
        ));
    }
    let random = random_pairs(a, b, config.random_pairs, config.seed);
    let u = level_frequencies(&LEVELS, &random);
    // The share of matches among candidates can be at most the smaller system over the
    // candidates; start at half of that.
    let lambda0 = (a.len().min(b.len()) as f64 / candidates.max(1) as f64 * 0.5).clamp(1e-4, 0.5);
    let (model, outcome) = em(
        &observations,
        Model::initial(u, lambda0),
        !config.estimate_u,
        config.max_em_iterations,
        config.em_tolerance,
    );
    let estimate_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut print_candidates = 0;
    if let Some(prints) = prints {
        let extra: Vec<(u32, u32)> = prints
            .matching_pairs()
            .into_iter()
            .filter(|&(x, y)| (x as usize) < a.len() && (y as usize) < b.len())
            .filter(|&(x, y)| pairs.binary_search_by_key(&(x, y), |&(p, q, _, _)| (p, q)).is_err())
            .collect();
        print_candidates = extra.len();
        for (x, y) in extra {
            pairs.push((x, y, encode(&compare(&a[x as usize], &b[y as usize])), u8::MAX));
        }
        pairs.par_sort_unstable_by_key(|&(x, y, _, _)| (x, y));
    }
    let pattern_weight: Vec<f64> =
        (0..PATTERNS).map(|p| model.weight(&decode(p as Pattern))).collect();
    let threshold = config.threshold;
    let fp = config.fingerprint;
    let prior = model.prior_log2();
    let scored: Vec<(Option<ScoredPair>, Option<Conflict>)> = pairs
        .par_iter()
        .map(|&(x, y, pattern, _)| {
            let demographic_weight = pattern_weight[pattern as usize];
            let print_fmr = prints.and_then(|p| p.pair_fmr(x, y));
            let print_weight = print_fmr.map(|f| fp.log2_ratio(f));
            let weight = demographic_weight + print_weight.unwrap_or(0.0);
            let post = posterior(weight);
            let conflict =
                print_fmr.and_then(|f| conflict_of(&a[x as usize], &b[y as usize], f, &fp));
            let conflict = conflict.map(|kind| Conflict {
                a: x,
                b: y,
                kind,
                print_fmr: print_fmr.unwrap_or(1.0),
            });
            if post < threshold {
                return (None, conflict);
            }
            // A source decides on its own when its evidence favours a match and, with the
            // prior, reaches the threshold; a high prior alone decides nothing.
            let by_demographics =
                demographic_weight > prior && posterior(demographic_weight) >= threshold;
            let by_prints =
                print_weight.is_some_and(|w| w > 0.0 && posterior(prior + w) >= threshold);
            let evidence = match (by_demographics, by_prints) {
                (true, false) => Evidence::Demographic,
                (false, true) => Evidence::Fingerprint,
                _ => Evidence::Both,
            };
            let pair = ScoredPair {
                a: x,
                b: y,
                pattern,
                weight,
                posterior: post,
                demographic_weight,
                print_fmr,
                evidence,
            };
            (Some(pair), conflict)
        })
        .collect();
    let mut links = Vec::new();
    let mut conflicts = Vec::new();
    for (pair, conflict) in scored {
        links.extend(pair);
        conflicts.extend(conflict);
    }
    let score_s = start.elapsed().as_secs_f64();
    Ok(Linkage {
        links,
        model,
        em: outcome,
        candidates,
        candidates_per_key: config.keys.iter().map(|k| k.name()).zip(per_key).collect(),
        print_candidates,
        conflicts,
        timings: Timings { compare_s, estimate_s, score_s },
    })
}

fn conflict_of(a: &Person, b: &Person, fmr: f64, fp: &FingerprintModel) -> Option<ConflictKind> {
    let (ia, ib) = (a.id_number.as_ref()?, b.id_number.as_ref()?);
    let same_id = ia.is_valid() && ib.is_valid() && ia.body == ib.body;
    let both_valid_differ = ia.is_valid() && ib.is_valid() && ia.body != ib.body;
    if fp.prints_match(fmr) && both_valid_differ {
        Some(ConflictKind::SameFingersDifferentIdNumbers)
    } else if !fp.prints_match(fmr) && same_id {
        Some(ConflictKind::SameIdNumberDifferentFingers)
    } else {
        None
    }
}

/// Comparison vectors of `n` random pairs, aggregated: almost all are non-matches, so their
/// level frequencies estimate `u`.
fn random_pairs(a: &[Person], b: &[Person], n: usize, seed: u64) -> Vec<Observation> {
    let chunks = 64usize;
    let per_chunk = n.div_ceil(chunks);
    let counts = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let mut rng = SplitMix::new(seed.wrapping_mul(1_000_003).wrapping_add(c as u64));
            let mut counts: HashMap<Pattern, f64> = HashMap::new();
            for _ in 0..per_chunk {
                let (i, j) = (rng.below(a.len()), rng.below(b.len()));
                *counts.entry(encode(&compare(&a[i], &b[j]))).or_default() += 1.0;
            }
            counts
        })
        .reduce(HashMap::new, |mut x, y| {
            for (k, v) in y {
                *x.entry(k).or_default() += v;
            }
            x
        });
    counts.into_iter().map(|(p, count)| Observation { levels: decode(p).to_vec(), count }).collect()
}

/// Names of the compared fields (for reports).
pub fn field_names() -> &'static [&'static str] {
    &FIELDS
}
