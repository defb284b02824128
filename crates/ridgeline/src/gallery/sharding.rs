//! The pieces of indexed identification that a gallery split into shards needs, so that a
//! search over every shard gives exactly the answer of one gallery holding all the records.
//!
//! A key design decision: the short list is **global**. Each shard could re-rank its own short
//! list, but the short-list length grows with the gallery (1 % of the records searched, see
//! [`super::identify`]) and escalation depends on the best precise score of the whole list, so
//! per-shard lists would re-rank other records than one gallery does and answer differently.
//! Instead a sharded search runs in two phases:
//!
//! 1. every shard scores every eligible record with the coarse stage and returns its best
//!    [`max_kept`] coarse scores ([`coarse_top`]), with how many records it searched;
//! 2. the driver merges them ([`GlobalShortlist::plan`]) under the rule of one gallery of the
//!    total size (`shortlist_lengths`); the owning shards re-rank their part precisely
//!    ([`rerank`]); when nothing reaches the escalation score ([`needs_escalation`]) they
//!    re-rank their part of the escalation list too; the driver keeps the best ([`top`]).
//!
//! Every step is deterministic. The only difference from one gallery is the order among records
//! with *equal* scores: one gallery breaks ties by record position, which a shard does not
//! share, so a sharded search breaks them by (shard, position in the shard's coarse list).
//! Coarse scores of different records tie rarely, and a tie matters only where it straddles the
//! short list's end.

use std::cmp::Ordering;

use rayon::prelude::*;

pub use super::identify::max_kept;
use super::identify::{
    coarse_best, intact_record_prepared, searched_records, shortlist_lengths, SearchOptions,
};
use super::store::{RecordId, Snapshot};
use crate::matcher::coarse::Coarse;
use crate::matcher::{Matcher, PreparedRef};

/// One record's coarse score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoarseHit {
    /// Coarse score (higher is more similar).
    pub score: f32,
    /// The record, in the snapshot searched.
    pub record: RecordId,
}

/// A shard's answer to phase 1.
#[derive(Debug, Clone, Default)]
pub struct CoarseList {
    /// Records eligible for the search (live, of the finger asked for).
    pub searched: usize,
    /// The best hits, best first (score, then record position).
    pub hits: Vec<CoarseHit>,
}

fn coarse_order(a: &CoarseHit, b: &CoarseHit) -> Ordering {
    b.score.total_cmp(&a.score).then(a.record.cmp(&b.record))
}

/// Phase 1: the `n` best coarse scores of `snapshot` for `probe` among records of `finger` (every
/// record when `None`), best first, and how many records were eligible. The same coarse scores
/// as the indexed search of [`super::identify`] computes.
pub fn coarse_top(
    snapshot: &Snapshot,
    probe: PreparedRef<'_>,
    finger: Option<u8>,
    n: usize,
) -> CoarseList {
    let mut hits: Vec<CoarseHit> = coarse_best(snapshot, finger, &Coarse::of(probe), n)
        .into_iter()
        .map(|(score, record)| CoarseHit { score, record })
        .collect();
    hits.sort_by(coarse_order);
    CoarseList { searched: searched_records(snapshot, finger), hits }
}

/// Phase 2 on a shard: the precise score of each record (`None` where its descriptor cannot be
/// read or fails its checksum: a damaged descriptor would score as someone else). A single
/// gallery's search fails with `GalleryDamaged` on such a record unless asked for a partial
/// answer; a driver should do the same.
pub fn rerank(
    snapshot: &Snapshot,
    matcher: &Matcher,
    probe: PreparedRef<'_>,
    records: &[RecordId],
) -> Vec<Option<f64>> {
    snapshot.read_ahead(records, |&record| record);
    records
        .par_iter()
        .map(|&record| {
            let candidate = intact_record_prepared(snapshot, record)?;
            Some(matcher.compare(probe, candidate))
        })
        .collect()
}

/// Where a hit lives: shard, and position in that shard's [`CoarseList::hits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardHit {
    /// Index of the shard in the sharded gallery's shard list.
    pub shard: usize,
    /// Position in the shard's coarse list.
    pub position: usize,
}

/// The global short list of a sharded search, split by owning shard.
#[derive(Debug, Clone, Default)]
pub struct GlobalShortlist {
    /// Records searched over all shards.
    pub searched: usize,
    /// The records every search re-ranks.
    pub first: Vec<ShardHit>,
    /// The further records an escalated search re-ranks.
    pub further: Vec<ShardHit>,
}

impl GlobalShortlist {
    /// Merges the shards' coarse lists (`scores[s]`: shard `s`'s coarse scores, best first;
    /// `searched[s]`: its eligible records) under the rule of one gallery of the total size.
    pub fn plan(
        scores: &[&[f32]],
        searched: &[usize],
        options: &SearchOptions,
        shortlist: Option<usize>,
    ) -> GlobalShortlist {
        let total: usize = searched.iter().sum();
        let lengths = shortlist_lengths(total, options, shortlist);
        let mut all: Vec<(f32, ShardHit)> = scores
            .iter()
            .enumerate()
            .flat_map(|(shard, list)| {
                list.iter().enumerate().map(move |(position, &s)| (s, ShardHit { shard, position }))
            })
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        all.truncate(lengths.kept);
        let split = lengths.shortlist.min(all.len());
        let further = all.split_off(split);
        GlobalShortlist {
            searched: total,
            first: all.into_iter().map(|(_, h)| h).collect(),
            further: further.into_iter().map(|(_, h)| h).collect(),
        }
    }
}

/// Whether a search whose short list re-ranked to `best` (the best precise score, `None` when
/// nothing was re-ranked) re-ranks its escalation list too: the rule of [`super::identify`].
pub fn needs_escalation(
    best: Option<f64>,
    options: &SearchOptions,
    shortlist: &GlobalShortlist,
) -> bool {
    let best = best.unwrap_or(f64::NEG_INFINITY);
    match options.escalate_below {
        Some(threshold) => best < threshold && !shortlist.further.is_empty(),
        None => false,
    }
}

/// The `top_k` best of the precise scores, best first (ties by shard and position).
pub fn top(mut scored: Vec<(f64, ShardHit)>, top_k: usize) -> Vec<(f64, ShardHit)> {
    let order = |a: &(f64, ShardHit), b: &(f64, ShardHit)| {
        b.0.partial_cmp(&a.0).unwrap_or(Ordering::Equal).then(a.1.cmp(&b.1))
    };
    let k = top_k.max(1);
    if scored.len() > k {
        scored.select_nth_unstable_by(k, order);
        scored.truncate(k);
    }
    scored.sort_by(order);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gallery::identify::{SHORTLIST_MAX, SHORTLIST_MIN};
    use crate::gallery::{Enrolment, Gallery, SearchMode};
    use crate::matcher::MatchTemplate;
    use crate::test_support::fixture::FixturePopulation;

    /// The two-phase search over shards, as a driver runs it, in one process.
    fn sharded_identify(
        shards: &[Gallery],
        probe: &crate::Template,
        options: &SearchOptions,
    ) -> (Vec<(String, u8, f64)>, usize, bool) {
        let prepared = MatchTemplate::prepare(probe);
        let snaps: Vec<_> = shards.iter().map(|g| g.snapshot()).collect();
        let n = max_kept(options, None);
        let lists: Vec<CoarseList> =
            snaps.iter().map(|s| coarse_top(s, prepared.view(), options.finger, n)).collect();
        let scores: Vec<Vec<f32>> =
            lists.iter().map(|l| l.hits.iter().map(|h| h.score).collect()).collect();
        let score_refs: Vec<&[f32]> = scores.iter().map(Vec::as_slice).collect();
        let searched: Vec<usize> = lists.iter().map(|l| l.searched).collect();
        let plan = GlobalShortlist::plan(&score_refs, &searched, options, None);
        let rerank_part = |hits: &[ShardHit]| -> Vec<(f64, ShardHit)> {
            hits.iter()
                .filter_map(|h| {
                    let record = lists[h.shard].hits[h.position].record;
                    let score = rerank(
                        &snaps[h.shard],
                        shards[h.shard].matcher(),
                        prepared.view(),
                        &[record],
                    )[0]?;
                    Some((score, *h))
                })
                .collect()
        };
        let mut scored = rerank_part(&plan.first);
        let best = scored.iter().map(|s| s.0).reduce(f64::max);
        let escalated = needs_escalation(best, options, &plan);
        if escalated {
            scored.extend(rerank_part(&plan.further));
        }
        let out = top(scored, options.top_k)
            .into_iter()
            .map(|(score, h)| {
                let record = lists[h.shard].hits[h.position].record;
                let (id, finger) = snaps[h.shard].subject(record).expect("record exists");
                (id.to_string(), finger, score)
            })
            .collect();
        (out, plan.searched, escalated)
    }

    #[test]
    fn sharded_search_equals_one_gallery() {
        let dir = tempfile::tempdir().expect("temp dir");
        let population = FixturePopulation::new(7);
        let subjects = 600u64;
        let templates: Vec<_> = (0..subjects).map(|f| population.impression(f, 0)).collect();
        let ids: Vec<String> = (0..subjects).map(|f| format!("s{f:04}")).collect();
        let one = Gallery::create(&dir.path().join("one")).expect("gallery");
        let shards: Vec<Gallery> = (0..3)
            .map(|s| Gallery::create(&dir.path().join(format!("shard{s}"))).expect("shard"))
            .collect();
        let all: Vec<Enrolment<'_>> = ids
            .iter()
            .zip(&templates)
            .map(|(id, t)| Enrolment { subject_id: id, finger: 1, template: t })
            .collect();
        one.enroll_batch(&all).expect("enrol");
        for (s, shard) in shards.iter().enumerate() {
            let part: Vec<_> = all.iter().copied().skip(s).step_by(3).collect();
            shard.enroll_batch(&part).expect("enrol shard");
        }
        // Mated probes (other impressions) and walk-ins (fingers never enrolled), with and
        // without escalation, at a short-list length below and above one shard's records.
        for options in [
            SearchOptions::new(5, None, SearchMode::Indexed),
            SearchOptions {
                escalate_below: None,
                ..SearchOptions::new(5, None, SearchMode::Indexed)
            },
            SearchOptions {
                escalate_to: 300,
                ..SearchOptions::new(3, Some(1), SearchMode::Indexed)
            },
        ] {
            for f in [3u64, 250, 599, 10_000, 10_001] {
                let probe = population.impression(f, 1);
                let single = one.identify(&probe, &options).expect("identify");
                let (sharded, searched, escalated) = sharded_identify(&shards, &probe, &options);
                let expected: Vec<_> = single
                    .candidates
                    .iter()
                    .map(|c| (c.subject_id.clone(), c.finger, c.score))
                    .collect();
                assert_eq!(sharded, expected, "probe {f}");
                assert_eq!(searched, single.searched);
                assert_eq!(escalated, single.escalated, "probe {f}");
            }
        }
    }

    #[test]
    fn shortlist_rule_follows_the_gallery_size() {
        let options = SearchOptions::new(5, None, SearchMode::Indexed);
        assert_eq!(shortlist_lengths(1000, &options, None).shortlist, SHORTLIST_MIN);
        assert_eq!(shortlist_lengths(100_000, &options, None).shortlist, 1000);
        assert_eq!(shortlist_lengths(usize::MAX, &options, None).shortlist, SHORTLIST_MAX);
        assert_eq!(max_kept(&options, None), options.escalate_to.max(SHORTLIST_MAX));
        let plain = SearchOptions { escalate_below: None, ..options };
        assert_eq!(shortlist_lengths(100_000, &plain, None).kept, 1000);
        assert_eq!(shortlist_lengths(10, &plain, Some(2)).shortlist, 5);
    }

    #[test]
    fn plan_merges_shards_best_first() {
        let options =
            SearchOptions { escalate_to: 4, ..SearchOptions::new(1, None, SearchMode::Indexed) };
        let a = [0.9f32, 0.5, 0.1];
        let b = [0.8f32, 0.7];
        let plan = GlobalShortlist::plan(&[&a, &b], &[3, 2], &options, Some(2));
        let hit = |shard, position| ShardHit { shard, position };
        assert_eq!(plan.searched, 5);
        assert_eq!(plan.first, vec![hit(0, 0), hit(1, 0)]);
        assert_eq!(plan.further, vec![hit(1, 1), hit(0, 1)]);
        assert!(needs_escalation(Some(0.0), &options, &plan));
        assert!(!needs_escalation(Some(1e9), &options, &plan));
    }
}
