//! The N:N search split into independent tasks, for running on many machines (the Python
//! package runs them as Ray tasks).
//!
//! [`search`](super::search::search) compares every unordered pair `(a, b)` that either record
//! proposes as a candidate, once, and keeps those at or below the per-pair threshold. That set
//! does not depend on the order the records are searched in, so it splits into:
//!
//! 1. [`plan_blocks`]: the records `0..n` cut into consecutive blocks;
//! 2. [`candidate_pairs`]: per block, the pairs its records propose (a task each);
//! 3. the union of all blocks' pairs, cut into the pairs whose lower
//!    record is in a block, each scored by [`score_pairs`] (a task each);
//! 4. [`merge_outcome`]: every task's linked pairs as one [`SearchOutcome`], from which
//!    [`finish_report`](super::report::finish_report) builds the report.
//!
//! Steps 2 and 3 call the same candidate rule and the same scoring as the one-machine search,
//! so the union of pairs compared, the pairs linked and their scores are the one-machine
//! search's, whatever the block size or the order in which tasks finish.

use std::ops::Range;

use super::clusters::LinkedPair;
use super::fusion::{fused_fmr, pair_fmr_threshold, score_for_fmr};
use super::outcome::{SearchOutcome, SearchStats};
use super::population::Population;
use crate::error::{Error, Result};
use crate::gallery::Gallery;

/// The unordered pair `(min, max)` that record `i` proposes by naming `j`, or `None` when `j`
/// is `i` itself or not a record of a population of `n`.
pub(crate) fn proposed_pair(i: u32, j: u32, n: usize) -> Option<(u32, u32)> {
    (j != i && (j as usize) < n).then(|| (i.min(j), i.max(j)))
}

/// The records `0..records` as consecutive blocks of `block_records` (the last may be
/// shorter); deterministic, so that a restarted driver plans the same tasks.
pub fn plan_blocks(records: usize, block_records: usize) -> Result<Vec<Range<u32>>> {
    if block_records == 0 {
        return Err(Error::InvalidArgument("a block holds at least one record".into()));
    }
    if records > u32::MAX as usize {
        return Err(Error::InvalidArgument(format!(
            "{records} records is more than this build handles"
        )));
    }
    Ok((0..records)
        .step_by(block_records)
        .map(|start| start as u32..(start + block_records).min(records) as u32)
        .collect())
}

/// The pairs the records of `block` propose (through the population's candidates), sorted and
/// without repeats.
pub fn candidate_pairs<P: Population + ?Sized>(
    population: &P,
    block: Range<u32>,
) -> Result<Vec<(u32, u32)>> {
    use rayon::prelude::*;
    let n = population.len();
    if block.end as usize > n || block.start > block.end {
        return Err(Error::InvalidArgument(format!(
            "block {}..{} is outside the {n} records",
            block.start, block.end
        )));
    }
    let proposals: Vec<Vec<(u32, u32)>> = block
        .into_par_iter()
        .map(|i| {
            Ok(population
                .candidates(i)?
                .into_iter()
                .filter_map(|j| proposed_pair(i, j, n))
                .collect())
        })
        .collect::<Result<_>>()?;
    let mut pairs: Vec<(u32, u32)> = proposals.into_iter().flatten().collect();
    pairs.sort_unstable();
    pairs.dedup();
    Ok(pairs)
}

/// The pairs of `pairs` (sorted by `(a, b)`) whose lower record is in `block`.
#[cfg(test)]
fn pairs_of_block(pairs: &[(u32, u32)], block: Range<u32>) -> &[(u32, u32)] {
    let from = pairs.partition_point(|&(a, _)| a < block.start);
    let to = pairs.partition_point(|&(a, _)| a < block.end);
    &pairs[from..to]
}

/// Compares each pair on all its common fingers, fuses them, and keeps the pairs at or below
/// `threshold` (a per-pair false match rate), in the order given.
pub fn score_pairs<P: Population + ?Sized>(
    population: &P,
    pairs: &[(u32, u32)],
    threshold: f64,
) -> Result<Vec<LinkedPair>> {
    use rayon::prelude::*;
    let linked: Vec<Option<LinkedPair>> = pairs
        .par_iter()
        .map(|&(a, b)| {
            let fmr = fused_fmr(&population.finger_fmrs(a, b)?);
            Ok((fmr <= threshold).then(|| LinkedPair { a, b, score: score_for_fmr(fmr), fmr }))
        })
        .collect::<Result<_>>()?;
    Ok(linked.into_iter().flatten().collect())
}

/// The per-pair threshold of a search of `records` at `fmr_per_search`, checked as
/// [`search`](super::search::search) checks it.
pub fn pair_threshold(fmr_per_search: f64, records: usize) -> Result<f64> {
    if !(fmr_per_search > 0.0 && fmr_per_search <= 1.0) {
        return Err(Error::InvalidArgument(format!("--fmr {fmr_per_search} is not in (0, 1]")));
    }
    Ok(pair_fmr_threshold(fmr_per_search, records))
}

/// The outcome of a complete split search: the linked pairs of every scoring task (any order;
/// a pair listed twice is kept once), `pairs_compared` distinct pairs compared in all, over
/// `search_seconds`.
pub fn merge_outcome(
    records: usize,
    fmr_per_search: f64,
    linked: Vec<LinkedPair>,
    pairs_compared: u64,
    search_seconds: f64,
) -> Result<SearchOutcome> {
    let threshold = pair_threshold(fmr_per_search, records)?;
    let mut pairs = linked;
    if let Some(p) = pairs.iter().find(|p| p.a >= p.b || p.b as usize >= records) {
        return Err(Error::InvalidArgument(format!(
            "pair ({}, {}) is not a pair of the {records} records",
            p.a, p.b
        )));
    }
    pairs.sort_by_key(|p| (p.a, p.b));
    pairs.dedup_by_key(|p| (p.a, p.b));
    Ok(SearchOutcome {
        pairs,
        complete: true,
        stats: SearchStats {
            records: records as u64,
            records_searched: records as u64,
            pairs_compared,
            pair_fmr_threshold: threshold,
            search_seconds,
            resumed_from: None,
        },
    })
}

/// Appends what identifies each live record of `gallery` to a job key's parts: its id, its
/// finger and its stored checksums, in store order (another gallery, or this one after a
/// change, gives other parts).
pub fn push_record_parts(gallery: &Gallery, parts: &mut Vec<Vec<u8>>) {
    let snapshot = gallery.snapshot();
    for live in snapshot.segments() {
        let segment = live.segment();
        for i in (0..segment.len()).filter(|&i| !live.is_deleted(i)) {
            if let Ok(view) = segment.entry_view(i) {
                parts.push(view.subject_id.to_vec());
                parts.push(vec![view.finger]);
            }
            let sums = segment.record_checksums(i).unwrap_or_default();
            parts.push(sums.iter().flat_map(|c| c.to_le_bytes()).collect());
        }
    }
}

/// A key of what a list of galleries holds (the shards of a population, in their order): each
/// gallery's live records (subject, finger and checksums, in order), gallery after gallery.
pub fn galleries_content_key(galleries: &[&Gallery]) -> u64 {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for (shard, gallery) in galleries.iter().enumerate() {
        // Marks where a gallery starts, so that a record moved across a boundary changes the key.
        parts.push((shard as u64).to_le_bytes().to_vec());
        push_record_parts(gallery, &mut parts);
    }
    super::search::job_key(parts.iter().map(Vec::as_slice))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::search::{search, SearchConfig};
    use std::sync::atomic::AtomicBool;

    /// Records whose candidates are a fixed, lopsided pattern (some pairs proposed from both
    /// sides, some from one, some out of range or the record itself) and whose fused rate
    /// depends on the pair.
    struct Pattern(usize);

    impl Population for Pattern {
        fn len(&self) -> usize {
            self.0
        }

        fn candidates(&self, record: u32) -> Result<Vec<u32>> {
            let n = self.0 as u32;
            Ok(vec![record, (record * 7 + 3) % n, (record + 1) % n, n + 5, (record * 3) % n])
        }

        fn finger_fmrs(&self, a: u32, b: u32) -> Result<Vec<f64>> {
            // Pairs whose records are 1 apart or sum to a multiple of 5 link; others do not.
            let close = b - a == 1 || (a + b) % 5 == 0;
            Ok(vec![if close { 1e-9 } else { 0.3 }, 1e-3 * f64::from(a % 7 + 1)])
        }
    }

    #[test]
    fn the_split_search_equals_the_one_machine_search() {
        let population = Pattern(103);
        let fmr = 1e-3;
        let stop = AtomicBool::new(false);
        let config = SearchConfig { fmr_per_search: fmr, block_records: 10, ..Default::default() };
        let one = search(&population, &config, 1, None, &stop, &mut |_, _| {}).expect("search");
        assert!(one.pairs.len() > 20, "{} linked", one.pairs.len());
        for block_records in [1, 7, 64, 500] {
            let blocks = plan_blocks(population.len(), block_records).expect("plan");
            assert_eq!(blocks.first().map(|b| b.start), Some(0));
            assert_eq!(blocks.last().map(|b| b.end), Some(103));
            let mut all: Vec<(u32, u32)> = blocks
                .iter()
                .flat_map(|b| candidate_pairs(&population, b.clone()).expect("candidates"))
                .collect();
            all.sort_unstable();
            all.dedup();
            let threshold = pair_threshold(fmr, population.len()).expect("threshold");
            // Scored in reverse block order: the order tasks finish in does not matter.
            let linked: Vec<LinkedPair> = blocks
                .iter()
                .rev()
                .flat_map(|b| {
                    score_pairs(&population, pairs_of_block(&all, b.clone()), threshold)
                        .expect("score")
                })
                .collect();
            let merged = merge_outcome(103, fmr, linked, all.len() as u64, 0.0).expect("merge");
            assert_eq!(merged.pairs, one.pairs, "block {block_records}");
            assert_eq!(merged.stats.pairs_compared, one.stats.pairs_compared);
            assert_eq!(merged.stats.pair_fmr_threshold, one.stats.pair_fmr_threshold);
        }
    }

    #[test]
    fn bad_splits_are_refused() {
        assert!(plan_blocks(10, 0).is_err());
        assert!(plan_blocks(0, 5).expect("empty").is_empty());
        assert!(candidate_pairs(&Pattern(10), 5..11).is_err());
        assert!(pair_threshold(0.0, 10).is_err());
        let backwards = LinkedPair { a: 3, b: 2, score: 1.0, fmr: 1e-9 };
        assert!(merge_outcome(10, 1e-3, vec![backwards], 1, 0.0).is_err());
        let outside = LinkedPair { a: 3, b: 10, score: 1.0, fmr: 1e-9 };
        assert!(merge_outcome(10, 1e-3, vec![outside], 1, 0.0).is_err());
    }

    /// Subjects `0..n` with two fingers each; every 7th subject (after the first) is a second
    /// enrolment of the subject 5 before it (turned and shifted prints of the same fingers).
    fn planted(n: u32) -> Vec<(String, Vec<(u8, crate::template::Template)>)> {
        use crate::test_support::scattered_template;
        (0..n)
            .map(|s| {
                let (seed, turn, shift) =
                    if s % 7 == 6 { (s - 5, 0.08, 6.0) } else { (s, 0.0, 0.0) };
                let fingers = [2u8, 7]
                    .iter()
                    .map(|&f| (f, scattered_template(34, seed * 16 + u32::from(f), turn, shift)))
                    .collect();
                (format!("subject-{s:03}"), fingers)
            })
            .collect()
    }

    /// A population spread over three galleries searches and reports exactly as one gallery
    /// holding the same subjects (enrolled shard after shard), and its content key tells the
    /// shards' order apart.
    #[test]
    fn a_population_of_shards_equals_one_gallery() {
        use crate::dedup::report::finish_report;
        use crate::dedup::Distinct;
        use crate::dedup::GalleryPopulation;
        use crate::gallery::SearchMode;
        use std::collections::HashMap;

        let dir = tempfile::tempdir().expect("temp dir");
        let subjects = planted(60);
        let shard_of = |s: usize| (s * 5 + s / 3) % 3;
        let shards: Vec<Gallery> = (0..3)
            .map(|k| Gallery::create(&dir.path().join(format!("shard{k}"))).expect("create shard"))
            .collect();
        let one = Gallery::create(&dir.path().join("one")).expect("create gallery");
        for (s, (id, fingers)) in subjects.iter().enumerate() {
            for (finger, template) in fingers {
                shards[shard_of(s)].enroll(id, *finger, template).expect("enrol shard");
            }
        }
        for k in 0..3 {
            for (s, (id, fingers)) in subjects.iter().enumerate() {
                if shard_of(s) == k {
                    for (finger, template) in fingers {
                        one.enroll(id, *finger, template).expect("enrol");
                    }
                }
            }
        }
        let refs: Vec<&Gallery> = shards.iter().collect();
        let fmr = 1e-3;
        let config = SearchConfig { fmr_per_search: fmr, ..Default::default() };
        let stop = AtomicBool::new(false);
        for mode in [SearchMode::Indexed, SearchMode::Exhaustive] {
            let sharded = GalleryPopulation::open_many(&refs, mode, &HashMap::new(), false)
                .expect("sharded population")
                .with_candidates_per_record(4);
            let single = GalleryPopulation::new(&one, mode, &HashMap::new())
                .expect("population")
                .with_candidates_per_record(4);
            assert_eq!(sharded.galleries(), 3);
            assert_eq!(sharded.infos(), single.infos());
            let ids = |p: &GalleryPopulation<'_>| -> Vec<(u8, crate::template::Template)> {
                (0..p.infos().len() as u32)
                    .flat_map(|r| {
                        p.fingers(r)
                            .iter()
                            .map(|&(f, id)| (f, p.finger_template(r, id).expect("template")))
                            .collect::<Vec<_>>()
                    })
                    .collect()
            };
            assert_eq!(ids(&sharded), ids(&single));
            let a = search(&sharded, &config, 1, None, &stop, &mut |_, _| {}).expect("search");
            let b = search(&single, &config, 1, None, &stop, &mut |_, _| {}).expect("search");
            assert!(a.pairs.len() >= 8, "{mode:?}: {} linked", a.pairs.len());
            assert_eq!(a.pairs, b.pairs, "{mode:?}");
            assert_eq!(a.stats.pairs_compared, b.stats.pairs_compared, "{mode:?}");
            let started = std::time::Instant::now();
            let report = |p: &GalleryPopulation<'_>, o: &SearchOutcome| {
                let r = finish_report(p, p.infos(), o, fmr, mode, started, &Distinct::default())
                    .expect("report");
                (serde_json::to_value(&r.clusters).ok(), serde_json::to_value(&r.flags).ok())
            };
            assert_eq!(report(&sharded, &a), report(&single, &b), "{mode:?}");
        }
        // The shards in another order are another population.
        let swapped = [refs[1], refs[0], refs[2]];
        assert_ne!(galleries_content_key(&refs), galleries_content_key(&swapped));
        // A template is named by its record, which says which gallery holds it.
        let sharded =
            GalleryPopulation::open_many(&refs, SearchMode::Exhaustive, &HashMap::new(), false)
                .expect("population");
        let (_, id) = sharded.fingers(0)[0];
        assert!(sharded.finger_template(0, id).is_ok());
        assert!(sharded.finger_template(sharded.infos().len() as u32, id).is_err());
        // A subject held by two galleries is refused rather than merged or counted twice.
        let (id, fingers) = &subjects[0];
        let other = (shard_of(0) + 1) % 3;
        shards[other].enroll(id, fingers[0].0, &fingers[0].1).expect("enrol twice");
        let twice =
            GalleryPopulation::open_many(&refs, SearchMode::Exhaustive, &HashMap::new(), false);
        assert!(matches!(twice, Err(Error::InvalidArgument(_))), "{twice:?}");
        assert!(GalleryPopulation::open_many(&[], SearchMode::Exhaustive, &HashMap::new(), false)
            .is_err());
    }

    #[test]
    fn pairs_of_a_block_are_those_of_its_lower_records() {
        let pairs = [(0, 4), (1, 2), (1, 9), (3, 4), (5, 6), (8, 9)];
        assert_eq!(pairs_of_block(&pairs, 1..4), &[(1, 2), (1, 9), (3, 4)]);
        assert_eq!(pairs_of_block(&pairs, 6..8), &[] as &[(u32, u32)]);
        assert_eq!(pairs_of_block(&pairs, 8..10), &[(8, 9)]);
    }
}
