//! Linking two systems: prepare, block, compare, estimate, score, decide.

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::blocking::{for_each_candidate, BlockingKey, DEFAULT_KEYS, MAX_KEYS};
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
    /// Blocking keys, in priority order.
    pub keys: Vec<BlockingKey>,
    /// Fingerprint likelihood model.
    pub fingerprint: FingerprintModel,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            threshold: 0.5,
            random_pairs: 1_000_000,
            seed: 1,
            max_em_iterations: 200,
            em_tolerance: 1e-7,
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
    /// EM per blocking key.
    pub em: Vec<KeyEstimate>,
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
    run(a, b, config, prints, false)
}

/// Finds the records of one system that are the same person (de-duplication): the linkage of
/// the system with itself over the pairs `a < b` only. A record is not compared with itself,
/// `u` is sampled from pairs of two different records, the exact-agreement rate counts pairs of
/// two records (`Σ_v n(v)·(n(v)−1) / (N·(N−1))`) and the prior is over the `N·(N−1)/2` pairs, so
/// that a record's agreement with itself never passes for evidence. Links and conflicts have
/// `a < b`, both indices into `people`; `prints` compares records of `people` with each other.
pub fn dedup(
    people: &[Person],
    config: &LinkConfig,
    prints: Option<&dyn PrintEvidence>,
) -> Result<Linkage> {
    if people.len() < 2 {
        return Err(Error::Estimation("de-duplication needs at least two records".into()));
    }
    run(people, people, config, prints, true)
}

fn run(
    a: &[Person],
    b: &[Person],
    config: &LinkConfig,
    prints: Option<&dyn PrintEvidence>,
    one_system: bool,
) -> Result<Linkage> {
    if !(config.threshold > 0.0 && config.threshold < 1.0) {
        return Err(Error::InvalidParameter {
            name: "threshold",
            message: format!("must lie strictly between 0 and 1, got {}", config.threshold),
        });
    }
    if config.keys.is_empty() || config.keys.len() > MAX_KEYS {
        return Err(Error::InvalidParameter {
            name: "keys",
            message: format!("{} blocking keys, not 1 to {MAX_KEYS}", config.keys.len()),
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
    let mut pairs: Vec<(u32, u32, Pattern, u8, u8)> = for_each_candidate(a, b, &config.keys, |c| {
        if one_system && c.a >= c.b {
            return None;
        }
        Some((c.a, c.b, encode(&compare(&a[c.a as usize], &b[c.b as usize])), c.key, c.shared))
    });
    pairs.par_sort_unstable_by_key(|&(x, y, _, _, _)| (x, y));
    let candidates = pairs.len();
    let mut per_key = vec![0usize; nk];
    for &(_, _, _, k, _) in &pairs {
        per_key[k as usize] += 1;
    }
    let compare_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    if candidates == 0 {
        return Err(Error::Estimation(
            "no candidate pairs: the two systems share no blocking key (check the column maps)"
                .into(),
        ));
    }
    let (model, estimates) = estimate(a, b, config, &pairs, one_system);
    let estimate_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut print_candidates = 0;
    if let Some(prints) = prints {
        let extra: Vec<(u32, u32)> = prints
            .matching_pairs()
            .into_iter()
            .filter(|&(x, y)| (x as usize) < a.len() && (y as usize) < b.len())
            .filter(|&(x, y)| !one_system || x < y)
            .filter(|&(x, y)| {
                pairs.binary_search_by_key(&(x, y), |&(p, q, _, _, _)| (p, q)).is_err()
            })
            .collect();
        print_candidates = extra.len();
        for (x, y) in extra {
            pairs.push((x, y, encode(&compare(&a[x as usize], &b[y as usize])), u8::MAX, 0));
        }
        pairs.par_sort_unstable_by_key(|&(x, y, _, _, _)| (x, y));
    }
    let pattern_weight: Vec<f64> =
        (0..PATTERNS).map(|p| model.weight(&decode(p as Pattern))).collect();
    let threshold = config.threshold;
    let fp = config.fingerprint;
    let prior = model.prior_log2();
    let scored: Vec<(Option<ScoredPair>, Option<Conflict>)> = pairs
        .par_iter()
        .map(|&(x, y, pattern, _, _)| {
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
        em: estimates,
        candidates,
        candidates_per_key: config.keys.iter().map(|k| k.name()).zip(per_key).collect(),
        print_candidates,
        conflicts,
        timings: Timings { compare_s, estimate_s, score_s },
    })
}

/// What EM found among the candidates of one blocking key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyEstimate {
    /// The key.
    pub key: &'static str,
    /// Candidates it proposed.
    pub candidates: usize,
    /// Share of matches among them.
    pub lambda: f64,
    /// Fields left out of its EM because the key conditions on them.
    pub fields_left_out: Vec<&'static str>,
    /// How EM ended.
    pub outcome: EmOutcome,
}

/// Estimates the model.
///
/// `u` comes from random pairs, which are practically all non-matches: the levels below
/// "exact" from a sample, the exact level from the value frequencies of both systems
/// (`Σ_v n_A(v)·n_B(v) / (N_A·N_B)`, exact where a sample of a million pairs would see a rare
/// agreement only a few times). `m` comes from EM run separately over the candidates of each
/// blocking key with `u` held, leaving out the fields the key conditions on (every candidate of
/// the surname+birth-date key agrees on the birth date, whether it is a match or not, so those
/// pairs say nothing about the birth date); each field's `m` is the average over the keys that
/// estimated it, weighted by their expected matches. The prior is the expected number of
/// matches over all `N_A·N_B` pairs, so that the posterior is that of the pair among all pairs,
/// as Fellegi–Sunter defines it, and blocking only saves the work of scoring hopeless pairs.
fn estimate(
    a: &[Person],
    b: &[Person],
    config: &LinkConfig,
    pairs: &[(u32, u32, Pattern, u8, u8)],
    one_system: bool,
) -> (Model, Vec<KeyEstimate>) {
    let random = random_pairs(a, b, config.random_pairs, config.seed, one_system);
    let mut u = level_frequencies(&LEVELS, &random);
    let exact = exact_agreement(a, b, one_system);
    for (f, rate) in exact.into_iter().enumerate() {
        if let Some(rate) = rate {
            let rest: f64 = u[f][1..].iter().sum();
            let rate = rate.clamp(1e-12, 0.5);
            u[f][0] = rate;
            for x in &mut u[f][1..] {
                *x *= (1.0 - rate) / rest;
            }
        }
    }
    let nk = config.keys.len();
    let mut m_sum: Vec<Vec<f64>> = LEVELS.iter().map(|&n| vec![0.0; n]).collect();
    let mut m_weight = vec![0.0; FIELDS.len()];
    let mut expected_matches = 0.0;
    let mut estimates = Vec::with_capacity(nk);
    for (k, key) in config.keys.iter().enumerate().filter(|(_, key)| key.estimates_m()) {
        let left_out = key.fields();
        let mut counts = vec![0f64; PATTERNS];
        // Every pair sharing the key, not only those it proposed first: the pairs it proposed
        // first are those that disagree on the earlier keys, a biased sample of the matches.
        for &(_, _, p, _, shared) in pairs {
            if shared & 1 << k != 0 {
                let mut v = decode(p);
                for &f in left_out {
                    v[f] = None;
                }
                counts[encode(&v) as usize] += 1.0;
            }
        }
        let n: f64 = counts.iter().sum();
        let observations: Vec<Observation> = counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0.0)
            .map(|(p, &count)| Observation { levels: decode(p as Pattern).to_vec(), count })
            .collect();
        let lambda0 = (a.len().min(b.len()) as f64 / n.max(1.0) * 0.5).clamp(1e-3, 0.5);
        let (fitted, outcome) = em(
            &observations,
            Model::initial(u.clone(), lambda0),
            true,
            config.max_em_iterations,
            config.em_tolerance,
        );
        let matches = if n > 0.0 { fitted.lambda * n } else { 0.0 };
        expected_matches += matches;
        for f in (0..FIELDS.len()).filter(|f| !left_out.contains(f)) {
            for (acc, x) in m_sum[f].iter_mut().zip(&fitted.m[f]) {
                *acc += matches * x;
            }
            m_weight[f] += matches;
        }
        estimates.push(KeyEstimate {
            key: key.name(),
            candidates: n as usize,
            lambda: fitted.lambda,
            fields_left_out: left_out.iter().map(|&f| FIELDS[f]).collect(),
            outcome,
        });
    }
    let default_m = Model::initial(u.clone(), 0.5).m;
    let m = m_sum
        .into_iter()
        .zip(m_weight)
        .zip(default_m)
        .map(
            |((sum, w), fallback)| {
                if w > 0.0 {
                    sum.iter().map(|x| x / w).collect()
                } else {
                    fallback
                }
            },
        )
        .collect();
    // The prior over all pairs: the expected number of matches among the candidates (each
    // once), with every pair outside the candidates a non-match, by EM on λ alone.
    let all_pairs = if one_system {
        a.len() as f64 * (a.len() as f64 - 1.0) / 2.0
    } else {
        a.len() as f64 * b.len() as f64
    };
    let mut counts = vec![0f64; PATTERNS];
    for &(_, _, p, _, _) in pairs {
        counts[p as usize] += 1.0;
    }
    let mut model =
        Model { lambda: (expected_matches.max(1.0) / all_pairs).clamp(1e-15, 0.5), m, u };
    for _ in 0..50 {
        let bf: Vec<f64> =
            (0..PATTERNS).map(|p| model.bayes_factor_log2(&decode(p as Pattern))).collect();
        let matches: f64 = counts
            .iter()
            .zip(&bf)
            .filter(|(c, _)| **c > 0.0)
            .map(|(c, w)| c * posterior(model.prior_log2() + w))
            .sum();
        let lambda = (matches.max(1.0) / all_pairs).clamp(1e-15, 0.5);
        let done = (lambda / model.lambda - 1.0).abs() < 1e-6;
        model.lambda = lambda;
        if done {
            break;
        }
    }
    (model, estimates)
}

/// Exact-agreement rate of each field among pairs where both records have it, from the value
/// counts of the two systems (`None` for fields without a value key: sex is sampled); within
/// one system (`one_system`, `a` = `b`) among pairs of two different records.
fn exact_agreement(a: &[Person], b: &[Person], one_system: bool) -> [Option<f64>; 5] {
    fn rate<K: std::hash::Hash + Eq>(
        a: impl Iterator<Item = K>,
        b: impl Iterator<Item = K>,
        one_system: bool,
    ) -> Option<f64> {
        let mut counts: HashMap<K, (u64, u64)> = HashMap::new();
        let (mut na, mut nb) = (0u64, 0u64);
        for k in a {
            counts.entry(k).or_default().0 += 1;
            na += 1;
        }
        for k in b {
            if let Some(c) = counts.get_mut(&k) {
                c.1 += 1;
            }
            nb += 1;
        }
        if na == 0 || nb == 0 {
            return None;
        }
        if one_system {
            // Ordered pairs of two different records: n(v)·(n(v)−1) of them agree on v.
            let agree: f64 = counts.values().map(|&(x, _)| x as f64 * (x as f64 - 1.0)).sum();
            return (na > 1).then(|| agree / (na as f64 * (na as f64 - 1.0)));
        }
        let agree: f64 = counts.values().map(|&(x, y)| x as f64 * y as f64).sum();
        Some(agree / (na as f64 * nb as f64))
    }
    [
        rate(
            a.iter().filter_map(|p| p.name.as_ref().map(|n| &*n.chars)),
            b.iter().filter_map(|p| p.name.as_ref().map(|n| &*n.chars)),
            one_system,
        ),
        rate(
            a.iter().filter_map(|p| p.id_number.as_ref().map(|i| &*i.body)),
            b.iter().filter_map(|p| p.id_number.as_ref().map(|i| &*i.body)),
            one_system,
        ),
        rate(
            a.iter().filter_map(|p| p.birth_date),
            b.iter().filter_map(|p| p.birth_date),
            one_system,
        ),
        None,
        rate(
            a.iter().filter_map(|p| p.address.as_ref().map(|x| &*x.text)),
            b.iter().filter_map(|p| p.address.as_ref().map(|x| &*x.text)),
            one_system,
        ),
    ]
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
fn random_pairs(
    a: &[Person],
    b: &[Person],
    n: usize,
    seed: u64,
    one_system: bool,
) -> Vec<Observation> {
    let chunks = 64usize;
    let per_chunk = n.div_ceil(chunks);
    let counts = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let mut rng = SplitMix::new(seed.wrapping_mul(1_000_003).wrapping_add(c as u64));
            let mut counts: HashMap<Pattern, f64> = HashMap::new();
            for _ in 0..per_chunk {
                let (i, j) = (rng.below(a.len()), rng.below(b.len()));
                if one_system && i == j {
                    // A record against itself is no pair of the population.
                    continue;
                }
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
