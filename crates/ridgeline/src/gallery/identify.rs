//! 1:N identification over a snapshot: exhaustive (every record, the reference) or indexed
//! (a coarse comparison with every record, see [`super::filter`], picks a short list, the precise matcher re-ranks it). Both run on `rayon`.

use std::cmp::Ordering;

use rayon::prelude::*;

use super::filter::{coarse_score, Coarse, SegmentFilter};
use super::store::{LiveSegment, RecordId, Snapshot};
use crate::error::Result;
use crate::matcher::{Matcher, PreparedRef};

/// Short list = the this many records with the best coarse scores at least …
pub const SHORTLIST_MIN: usize = 256;
/// … or this share of the searched records, whichever is larger …
pub const SHORTLIST_SHARE: f64 = 0.01;
/// … but never more than this many (bounds the re-ranking cost at any gallery size).
pub const SHORTLIST_MAX: usize = 8192;
/// Records per rayon task in exhaustive search.
const EXHAUSTIVE_CHUNK_RECORDS: u32 = 256;

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchMode {
    /// Coarse first stage over every record, then precise re-ranking of the short list.
    #[default]
    Indexed,
    /// Compare the probe with every record (the reference).
    Exhaustive,
}

/// Options of one identification.
#[derive(Debug, Clone, Copy)]
pub struct SearchOptions {
    /// How many candidates to return.
    pub top_k: usize,
    /// Only records of this finger position (0–10), if given.
    pub finger: Option<u8>,
    /// Indexed or exhaustive.
    pub mode: SearchMode,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions { top_k: 10, finger: None, mode: SearchMode::Indexed }
    }
}

/// One candidate of an identification.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Subject id.
    pub subject_id: String,
    /// Finger position.
    pub finger: u8,
    /// Matcher score (higher is more similar).
    pub score: f64,
    /// Where the record lives in the snapshot searched.
    pub record: RecordId,
}

/// The outcome of an identification.
#[derive(Debug, Clone)]
pub struct Identification {
    /// Best candidates first.
    pub candidates: Vec<Candidate>,
    /// Live records eligible for the search (after the finger filter).
    pub searched: usize,
    /// Records compared with the precise matcher.
    pub compared: usize,
}

#[derive(Debug, Clone, Copy)]
struct Scored {
    score: f64,
    record: RecordId,
}

fn best_first(a: &Scored, b: &Scored) -> Ordering {
    b.score.partial_cmp(&a.score).unwrap_or(Ordering::Equal).then(a.record.cmp(&b.record))
}

fn keep_top(mut v: Vec<Scored>, k: usize) -> Vec<Scored> {
    if v.len() > k {
        v.select_nth_unstable_by(k, best_first);
        v.truncate(k);
    }
    v.sort_by(best_first);
    v
}

fn eligible(seg: &LiveSegment, i: u32, finger: Option<u8>) -> bool {
    if seg.is_deleted(i) {
        return false;
    }
    match finger {
        None => true,
        Some(f) => seg.segment().entry_view(i).is_ok_and(|v| v.finger == f),
    }
}

fn prepared(seg: &LiveSegment, i: u32) -> Option<PreparedRef<'_>> {
    seg.segment().descriptor(i).and_then(|d| PreparedRef::from_bytes(d).ok())
}

/// Identifies `probe` in `snapshot`.
pub fn identify(
    snapshot: &Snapshot,
    matcher: &Matcher,
    shortlist: Option<usize>,
    probe: PreparedRef<'_>,
    options: &SearchOptions,
) -> Result<Identification> {
    let top_k = options.top_k.max(1);
    let searched: usize = match options.finger {
        None => snapshot.len(),
        Some(f) => snapshot
            .segments()
            .par_iter()
            .map(|s| (0..s.segment().len()).filter(|&i| eligible(s, i, Some(f))).count())
            .sum(),
    };
    let (scored, compared) = match options.mode {
        SearchMode::Exhaustive => exhaustive(snapshot, matcher, probe, options.finger, top_k),
        SearchMode::Indexed => indexed(snapshot, matcher, shortlist, probe, options, searched),
    };
    let candidates = scored
        .into_iter()
        .map(|s| {
            let (subject_id, finger) = snapshot.subject(s.record)?;
            Ok(Candidate {
                subject_id: subject_id.to_string(),
                finger,
                score: s.score,
                record: s.record,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Identification { candidates, searched, compared })
}

/// The records of a snapshot as rayon tasks: (segment, first record, end) of at most `size`.
fn chunks(snapshot: &Snapshot, size: u32) -> Vec<(&LiveSegment, u32, u32)> {
    let size = size.max(1);
    snapshot
        .segments()
        .iter()
        .flat_map(|s| {
            let n = s.segment().len();
            (0..n)
                .step_by(size as usize)
                .map(move |start| (s, start, start.saturating_add(size).min(n)))
        })
        .collect()
}

fn exhaustive(
    snapshot: &Snapshot,
    matcher: &Matcher,
    probe: PreparedRef<'_>,
    finger: Option<u8>,
    top_k: usize,
) -> (Vec<Scored>, usize) {
    let tasks = chunks(snapshot, EXHAUSTIVE_CHUNK_RECORDS);
    let (best, compared) = tasks
        .par_iter()
        .map(|&(seg, start, end)| {
            let mut local = Vec::new();
            let mut compared = 0;
            for i in start..end {
                if !eligible(seg, i, finger) {
                    continue;
                }
                let Some(candidate) = prepared(seg, i) else { continue };
                compared += 1;
                local.push(Scored {
                    score: matcher.compare(probe, candidate),
                    record: RecordId { segment: seg.segment().id(), index: i },
                });
            }
            (keep_top(local, top_k), compared)
        })
        .reduce(
            || (Vec::new(), 0),
            |(mut a, n), (b, m)| {
                a.extend(b);
                (keep_top(a, top_k), n + m)
            },
        );
    (best, compared)
}

/// The coarse descriptors of a segment: its `.idx` sidecar mapped, or (missing or damaged)
/// built in memory from the segment's descriptors; either way once per segment.
pub fn segment_filter(seg: &LiveSegment) -> &SegmentFilter {
    let segment = seg.segment();
    segment.index_cache().get_or_init(|| {
        let sidecar = segment.path().with_file_name(super::filter::file_name(segment.id()));
        SegmentFilter::open(&sidecar, segment.len())
            .unwrap_or_else(|_| SegmentFilter::build(segment.len(), |i| prepared(seg, i)))
    })
}

/// Records per rayon task in the coarse stage.
const COARSE_CHUNK_RECORDS: u32 = 4096;

fn indexed(
    snapshot: &Snapshot,
    matcher: &Matcher,
    shortlist: Option<usize>,
    probe: PreparedRef<'_>,
    options: &SearchOptions,
    searched: usize,
) -> (Vec<Scored>, usize) {
    let (finger, top_k) = (options.finger, options.top_k.max(1));
    let coarse_probe = Coarse::of(probe);
    let default_len =
        ((searched as f64 * SHORTLIST_SHARE).ceil() as usize).clamp(SHORTLIST_MIN, SHORTLIST_MAX);
    let shortlist_len = shortlist.unwrap_or(default_len).max(top_k);
    let tasks = chunks(snapshot, COARSE_CHUNK_RECORDS);
    // The best coarse scores under one total order (score, then record), so which records
    // make the short list does not depend on how rayon split the work.
    let best_first =
        |a: &(f32, RecordId), b: &(f32, RecordId)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    let keep_best = |mut v: Vec<(f32, RecordId)>| {
        if v.len() > shortlist_len {
            v.select_nth_unstable_by(shortlist_len, best_first);
            v.truncate(shortlist_len);
        }
        v
    };
    // Each rayon job keeps its best records as it goes, pruned back to the short list's length
    // whenever it has twice that many, so the merge sees a few short lists, not every record.
    let voted = tasks
        .par_iter()
        .fold(Vec::new, |mut best, &(seg, start, end)| {
            let filter = segment_filter(seg);
            for i in start..end {
                if !eligible(seg, i, finger) {
                    continue;
                }
                if let Some(words) = filter.record(i) {
                    let record = RecordId { segment: seg.segment().id(), index: i };
                    best.push((coarse_score(&coarse_probe, words), record));
                }
            }
            if best.len() >= 2 * shortlist_len {
                best = keep_best(best);
            }
            best
        })
        .reduce(Vec::new, |mut a, b| {
            a.extend(b);
            keep_best(a)
        });
    let voted = keep_best(voted);
    let scored: Vec<Scored> = voted
        .par_iter()
        .filter_map(|&(_, record)| {
            let candidate =
                snapshot.descriptor(record).and_then(|d| PreparedRef::from_bytes(d).ok())?;
            Some(Scored { score: matcher.compare(probe, candidate), record })
        })
        .collect();
    let compared = scored.len();
    (keep_top(scored, top_k), compared)
}
