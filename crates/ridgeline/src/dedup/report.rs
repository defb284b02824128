//! The de-duplication report: clusters, identity flags and statistics, as JSON (the CSV form
//! and the clerk's HTML page are `ridgeline-report`'s).
//!
//! JSON: one object `{"clusters": [...], "flags": [...], "stats": {...}}`. A cluster is
//! `{"records": [{"record_id", "person_id", "name", "finger"}], "pairs": [{"a", "b", "score",
//! "fmr"}], "weakest_link_fmr"}`, where `finger` lists the record's finger positions, `a` and
//! `b` are record ids, `score` is `−log10(fmr)` and `fmr` the fused false match rate of the pair.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use serde::Serialize;

use super::clusters::{build_clusters, Cluster, LinkedPair};
use super::fusion::{fused_fmr, same_id_pair_fmr_threshold, score_for_fmr};
use super::identity::validate_id_number;
use super::population_manifest::RecordInfo;
use super::search::{job_key, Population, SearchOutcome};
use crate::error::Result;
use crate::gallery::SearchMode;

/// One record as listed in a cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordEntry {
    /// Record identifier.
    pub record_id: String,
    /// Resident identity number, empty where unknown.
    pub person_id: String,
    /// Registered name.
    pub name: String,
    /// Finger positions the record holds.
    pub finger: Vec<u8>,
}

/// One linked pair as listed in a cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairEntry {
    /// First record id.
    pub a: String,
    /// Second record id.
    pub b: String,
    /// `−log10(fmr)`.
    pub score: f64,
    /// Fused false match rate.
    pub fmr: f64,
}

/// A cluster of records that appear to be one person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterEntry {
    /// The records, in population order.
    pub records: Vec<RecordEntry>,
    /// Linked pairs, strongest first.
    pub pairs: Vec<PairEntry>,
    /// False match rate of the weakest link holding the cluster together.
    pub weakest_link_fmr: f64,
}

/// What an identity flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// Matching fingerprints under different identity numbers: likely duplicate registration.
    SameFingerprintsDifferentId,
    /// One identity number with fingerprints that do not match: data-entry error or impostor.
    SameIdDifferentFingerprints,
    /// An identity number that fails the GB 11643-1999 checks.
    InvalidIdNumber,
}

/// An identity-consistency finding for a clerk to look at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    /// What kind of finding.
    pub kind: FlagKind,
    /// Record ids concerned.
    pub records: Vec<String>,
    /// Identity numbers concerned.
    pub person_ids: Vec<String>,
    /// Plain-language explanation.
    pub message: String,
    /// Fused false match rate between the records, where they were compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fmr: Option<f64>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Duplicate clusters, strongest first.
    pub clusters: Vec<ClusterEntry>,
    /// Identity flags.
    pub flags: Vec<Flag>,
    /// Counters and timings (a free-form object so that runs can add what they measured).
    pub stats: BTreeMap<String, serde_json::Value>,
}

/// Same-identity-number pairs that were not linked, with their fused rates, as compared by the
/// caller (`None` where a record could not be compared).
pub(crate) type UnlinkedSameId = Vec<(u32, u32, Option<f64>)>;

/// Two records that hold the same identity number, and how many records hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SameIdPair {
    /// First record (`a < b`).
    pub a: u32,
    /// Second record.
    pub b: u32,
    /// Records holding the number (at least 2).
    pub(crate) holders: usize,
}

/// Record pairs sharing a valid identity number (GB 11643-1999 checksum and birth date), sorted
/// by `(a, b)`. Invalid numbers are left out: they are typing errors (flagged on their own), and
/// a placeholder number shared by many records would otherwise make every pair of them a
/// comparison.
pub(crate) fn same_id_pairs(records: &[RecordInfo]) -> Vec<SameIdPair> {
    let mut by_id: HashMap<&str, Vec<u32>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if !r.person_id.is_empty() && validate_id_number(&r.person_id).is_ok() {
            by_id.entry(r.person_id.as_str()).or_default().push(i as u32);
        }
    }
    let mut pairs: Vec<SameIdPair> = by_id
        .values()
        .flat_map(|group| {
            group.iter().enumerate().flat_map(move |(k, &a)| {
                group[k + 1..].iter().map(move |&b| SameIdPair { a, b, holders: group.len() })
            })
        })
        .collect();
    pairs.sort_unstable_by_key(|p| (p.a, p.b));
    pairs
}

/// The fused-FMR threshold each record pair of a population is linked at: the blind search's
/// ([`super::fusion::pair_fmr_threshold`]), or the verification's where the two records share
/// an identity number (`same_id_pair_fmr_threshold`).
#[derive(Debug, Clone)]
pub struct LinkThresholds {
    blind: f64,
    same_id: HashMap<(u32, u32), f64>,
}

impl LinkThresholds {
    /// The thresholds of a population of `records` at `fmr_per_search`.
    pub fn new(records: &[RecordInfo], fmr_per_search: f64) -> Self {
        LinkThresholds {
            blind: super::fusion::pair_fmr_threshold(fmr_per_search, records.len()),
            same_id: same_id_pairs(records)
                .into_iter()
                .map(|p| ((p.a, p.b), same_id_pair_fmr_threshold(fmr_per_search, p.holders)))
                .collect(),
        }
    }

    /// The threshold of the pair of records `a` and `b` (either order).
    pub fn of(&self, a: u32, b: u32) -> f64 {
        self.same_id.get(&(a.min(b), a.max(b))).copied().unwrap_or(self.blind)
    }
}

/// What checking the same-identity-number pairs found.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct SameIdVerification {
    /// Pairs the search had not linked that pass the verification threshold.
    pub(crate) linked: Vec<LinkedPair>,
    /// Pairs that do not: for the "same number, different fingerprints" flag.
    pub(crate) unlinked: UnlinkedSameId,
}

/// Compares every pair of records sharing an identity number that is not among `linked`, and
/// links it at [`same_id_pair_fmr_threshold`] (a verification of the claimed identity, see
/// there). The number points at these pairs, so the index missing one cannot hide it.
pub(crate) fn verify_same_id_pairs<P: Population + ?Sized>(
    population: &P,
    records: &[RecordInfo],
    linked: &[LinkedPair],
    fmr_per_search: f64,
) -> Result<SameIdVerification> {
    use rayon::prelude::*;
    let already: HashSet<(u32, u32)> = linked.iter().map(|p| (p.a, p.b)).collect();
    let checked: Vec<(SameIdPair, f64)> = same_id_pairs(records)
        .into_par_iter()
        .filter(|p| !already.contains(&(p.a, p.b)))
        .map(|p| Ok((p, fused_fmr(&population.finger_fmrs(p.a, p.b)?))))
        .collect::<Result<_>>()?;
    let mut out = SameIdVerification::default();
    for (p, fmr) in checked {
        if fmr <= same_id_pair_fmr_threshold(fmr_per_search, p.holders) {
            out.linked.push(LinkedPair { a: p.a, b: p.b, score: score_for_fmr(fmr), fmr });
        } else {
            out.unlinked.push((p.a, p.b, Some(fmr)));
        }
    }
    Ok(out)
}

/// Builds the report from the linked pairs.
///
/// `unlinked_same_id` are the same-identity-number pairs that are not among `pairs`, with the
/// rate the caller measured when comparing them (`verify_same_id_pairs`).
pub fn build_report(
    records: &[RecordInfo],
    pairs: &[LinkedPair],
    unlinked_same_id: &UnlinkedSameId,
    stats: BTreeMap<String, serde_json::Value>,
) -> (Report, Vec<Cluster>) {
    let clusters = build_clusters(records.len(), pairs);
    let id_of = |i: u32| records.get(i as usize).map(|r| r.record_id.clone()).unwrap_or_default();
    let mut flags = Vec::new();
    let mut entries = Vec::with_capacity(clusters.len());
    for cluster in &clusters {
        let members: Vec<&RecordInfo> =
            cluster.records.iter().filter_map(|&i| records.get(i as usize)).collect();
        let mut person_ids: Vec<String> = members
            .iter()
            .filter(|r| !r.person_id.is_empty())
            .map(|r| r.person_id.clone())
            .collect();
        person_ids.sort();
        person_ids.dedup();
        if person_ids.len() > 1 {
            flags.push(Flag {
                kind: FlagKind::SameFingerprintsDifferentId,
                records: members.iter().map(|r| r.record_id.clone()).collect(),
                message: format!(
                    "matching fingerprints registered under {} different identity numbers: likely duplicate registration",
                    person_ids.len()
                ),
                person_ids,
                fmr: Some(cluster.weakest_link_fmr),
            });
        }
        entries.push(ClusterEntry {
            records: members
                .iter()
                .map(|r| RecordEntry {
                    record_id: r.record_id.clone(),
                    person_id: r.person_id.clone(),
                    name: r.name.clone(),
                    finger: r.fingers.clone(),
                })
                .collect(),
            pairs: cluster
                .pairs
                .iter()
                .map(|p| PairEntry { a: id_of(p.a), b: id_of(p.b), score: p.score, fmr: p.fmr })
                .collect(),
            weakest_link_fmr: cluster.weakest_link_fmr,
        });
    }
    for &(a, b, fmr) in unlinked_same_id {
        let person_id = records.get(a as usize).map(|r| r.person_id.clone()).unwrap_or_default();
        flags.push(Flag {
            kind: FlagKind::SameIdDifferentFingerprints,
            records: vec![id_of(a), id_of(b)],
            person_ids: vec![person_id],
            message: match fmr {
                Some(_) => "one identity number, fingerprints that do not match: likely data-entry error or impostor".into(),
                None => "one identity number, but the fingerprints could not be compared".into(),
            },
            fmr,
        });
    }
    for r in records {
        if r.person_id.is_empty() {
            continue;
        }
        if let Err(problem) = validate_id_number(&r.person_id) {
            flags.push(Flag {
                kind: FlagKind::InvalidIdNumber,
                records: vec![r.record_id.clone()],
                person_ids: vec![r.person_id.clone()],
                message: format!("invalid identity number: {}", problem.as_str()),
                fmr: None,
            });
        }
    }
    (Report { clusters: entries, flags, stats }, clusters)
}

impl Report {
    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        // Serialising plain structs, string keys and finite-or-null numbers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// Record pairs (`a < b`, population indices) a clerk decided are different people.
pub type Distinct = HashSet<(u32, u32)>;

/// The job key of a population and its settings (records, fingers, rate, mode): a checkpoint
/// resumes only the job it was written for, whichever front end wrote it.
pub fn population_key(infos: &[RecordInfo], fmr: f64, mode: SearchMode) -> u64 {
    let fmr_bytes = fmr.to_le_bytes();
    let mode_bytes = [u8::from(mode == SearchMode::Exhaustive)];
    job_key(
        infos
            .iter()
            .flat_map(|r| [r.record_id.as_bytes(), r.fingers.as_slice()])
            .chain([fmr_bytes.as_slice(), mode_bytes.as_slice()]),
    )
}

/// The report of a finished search: checks the same-identity-number pairs the search did not
/// link, leaves out the links between records a clerk decided are different people (`distinct`:
/// they are neither linked nor re-linked by the identity-number check), clusters, flags and the
/// run's statistics. `started` is when the job began (for `total_seconds`).
pub fn finish_report<P: Population + ?Sized>(
    population: &P,
    infos: &[RecordInfo],
    outcome: &SearchOutcome,
    fmr: f64,
    mode: SearchMode,
    started: Instant,
    distinct: &Distinct,
) -> Result<Report> {
    let is_distinct = |p: &LinkedPair| distinct.contains(&(p.a.min(p.b), p.a.max(p.b)));
    let mut pairs: Vec<LinkedPair> = outcome.pairs.clone();
    pairs.retain(|p| !is_distinct(p));
    let same_id = verify_same_id_pairs(population, infos, &pairs, fmr)?;
    let recovered = same_id.linked.iter().filter(|p| !is_distinct(p)).count() as u64;
    pairs.extend(same_id.linked.into_iter().filter(|p| !is_distinct(p)));
    let held_apart = outcome.pairs.iter().filter(|p| is_distinct(p)).count();
    let unlinked = same_id.unlinked;
    let s = &outcome.stats;
    let fingers: usize = infos.iter().map(|r| r.fingers.len()).sum();
    let mut stats: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut put = |k: &str, v: serde_json::Value| {
        stats.insert(k.to_string(), v);
    };
    put("records", s.records.into());
    put("fingers", fingers.into());
    put("fmr_per_search", fmr.into());
    put("pair_fmr_threshold", s.pair_fmr_threshold.into());
    put("mode", if mode == SearchMode::Exhaustive { "exhaustive" } else { "indexed" }.into());
    put("pairs_compared", s.pairs_compared.into());
    put("search_seconds", s.search_seconds.into());
    put(
        "pairs_compared_per_second",
        (s.pairs_compared as f64 / s.search_seconds.max(1e-9)).round().into(),
    );
    put("ms_per_record", (1000.0 * s.search_seconds / s.records.max(1) as f64).into());
    put("resumed_from_record", s.resumed_from.map_or(serde_json::Value::Null, Into::into));
    put("same_id_pairs_recovered", recovered.into());
    put("pairs_adjudicated_distinct", held_apart.into());
    put("total_seconds", started.elapsed().as_secs_f64().into());
    let (mut report, clusters) = build_report(infos, &pairs, &unlinked, stats);
    let in_clusters: usize = clusters.iter().map(|c| c.records.len()).sum();
    report.stats.insert("duplicate_pairs".into(), pairs.len().into());
    report.stats.insert("clusters".into(), clusters.len().into());
    report.stats.insert("records_in_clusters".into(), in_clusters.into());
    report.stats.insert("flags".into(), report.flags.len().into());
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, person: &str) -> RecordInfo {
        RecordInfo {
            record_id: id.into(),
            person_id: person.into(),
            name: format!("N {id}"),
            fingers: vec![1, 6],
        }
    }

    #[test]
    fn flags_duplicates_mismatches_and_invalid_numbers() {
        let records = vec![
            record("r0", "11010519491231002X"),
            record("r1", "440524188001010014"),
            record("r2", "440524188001010014"),
            record("r3", "110105199902300021"),
            record("r4", ""),
        ];
        let pairs = [LinkedPair { a: 0, b: 1, score: 9.0, fmr: 1e-9 }];
        assert_eq!(same_id_pairs(&records), vec![SameIdPair { a: 1, b: 2, holders: 2 }]);
        let (report, clusters) =
            build_report(&records, &pairs, &vec![(1, 2, Some(0.3))], BTreeMap::new());
        assert_eq!(clusters.len(), 1);
        assert_eq!(report.clusters[0].records.len(), 2);
        assert_eq!(report.clusters[0].pairs[0].a, "r0");
        let kinds: Vec<FlagKind> = report.flags.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            vec![
                FlagKind::SameFingerprintsDifferentId,
                FlagKind::SameIdDifferentFingerprints,
                FlagKind::InvalidIdNumber
            ]
        );
        assert_eq!(report.flags[2].records, vec!["r3"]);
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("valid JSON");
        assert_eq!(json["clusters"][0]["records"][0]["finger"], serde_json::json!([1, 6]));
        assert_eq!(json["clusters"][0]["pairs"][0]["fmr"], serde_json::json!(1e-9));
        assert_eq!(json["flags"][0]["kind"], "same_fingerprints_different_id");
    }

    /// Per-pair finger rates from a table; pairs not in it do not match at all.
    struct Table(Vec<((u32, u32), Vec<f64>)>, usize);

    impl Population for Table {
        fn len(&self) -> usize {
            self.1
        }
        fn candidates(&self, _record: u32) -> Result<Vec<u32>> {
            Ok(Vec::new())
        }
        fn finger_fmrs(&self, a: u32, b: u32) -> Result<Vec<f64>> {
            let key = (a.min(b), a.max(b));
            Ok(self.0.iter().find(|(k, _)| *k == key).map_or(vec![0.5], |(_, f)| f.clone()))
        }
    }

    /// Holders of one number are verified against each other at the per-search rate divided by
    /// the other holders, not by the population; invalid numbers are not grouped.
    #[test]
    fn same_number_pairs_are_verified_at_the_rate_of_a_search_among_its_holders() {
        let records = vec![
            record("r0", "11010519491231002X"),
            record("r1", "11010519491231002X"),
            record("r2", "440524188001010014"),
            record("r3", "440524188001010014"),
            record("r4", "440524188001010014"),
            record("r5", "110105199902300021"), // 30 February: invalid, not grouped
            record("r6", "110105199902300021"),
            record("r7", ""),
            record("r8", ""),
        ];
        let thresholds = LinkThresholds::new(&records, 1e-4);
        assert_eq!(thresholds.of(1, 0), 1e-4);
        assert_eq!(thresholds.of(2, 4), 5e-5);
        assert_eq!(thresholds.of(5, 6), 1.25e-5);
        let pairs = same_id_pairs(&records);
        let keys: Vec<(u32, u32, usize)> = pairs.iter().map(|p| (p.a, p.b, p.holders)).collect();
        assert_eq!(keys, vec![(0, 1, 2), (2, 3, 3), (2, 4, 3), (3, 4, 3)]);
        // At 1e-4 per search over 9 records the blind threshold is 1.25e-5: none passes it.
        let population = Table(
            vec![
                ((0, 1), vec![9e-5]), // two holders: 1e-4 → linked
                ((2, 3), vec![4e-5]), // three holders: 5e-5 → linked
                ((2, 4), vec![6e-5]), // above 5e-5 → flagged
                ((5, 6), vec![1e-9]), // invalid number: not checked here
            ],
            records.len(),
        );
        let already = [LinkedPair { a: 3, b: 4, score: 9.0, fmr: 1e-9 }];
        let checked =
            verify_same_id_pairs(&population, &records, &already, 1e-4).expect("verification");
        let linked: Vec<(u32, u32)> = checked.linked.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(linked, vec![(0, 1), (2, 3)]);
        assert!((checked.linked[0].fmr - 9e-5).abs() < 1e-15);
        let unlinked: Vec<(u32, u32)> = checked.unlinked.iter().map(|u| (u.0, u.1)).collect();
        assert_eq!(unlinked, vec![(2, 4)]);
    }
}
