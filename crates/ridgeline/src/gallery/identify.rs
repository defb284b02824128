//! 1:N identification over a snapshot: exhaustive (every record, the reference) or indexed
//! (a coarse comparison with every record, see [`crate::matcher::coarse`], picks a short list, the
//! precise matcher re-ranks it). Both run on `rayon`.
//!
//! Indexed search searches harder before it answers "not enrolled". When no short-listed record
//! reaches the escalation score (by default the matcher's threshold at a false match rate of
//! 10⁻⁴), the precise matcher also re-ranks the next records of the coarse ranking, up to
//! [`ESCALATED_MAX`] records in all. At a registration window that answer creates a new
//! record, and a mate the coarse stage ranked beyond the short list would become a duplicate
//! registration; a probe whose mate is in the short list (most genuine probes) pays nothing.
//! The cost falls on walk-ins and is a fixed budget of precise comparisons, not a share of the
//! gallery: about 50 ms on two cores at any gallery size up to a few hundred thousand records,
//! and nothing at a million, where the short list is already that long and the coarse pass
//! takes the rest of the half second (see `docs/PERFORMANCE.md`).

use std::cmp::Ordering;

use rayon::prelude::*;

use super::coarse_file::{self, CoarseFile};
use super::store::{LiveSegment, RecordId, Snapshot};
use crate::error::Result;
use crate::matcher::coarse::{Coarse, RECORD_WORDS};
use crate::matcher::{calibration, Matcher, PreparedRef};

/// Short list = the this many records with the best coarse scores at least …
pub(crate) const SHORTLIST_MIN: usize = 256;
/// … or this share of the searched records, whichever is larger …
pub(crate) const SHORTLIST_SHARE: f64 = 0.01;
/// … but never more than this many (bounds the re-ranking cost at any gallery size).
pub(crate) const SHORTLIST_MAX: usize = 8192;
/// By default, when nothing in the short list reaches the escalation score, the coarse ranking
/// is re-ranked down to this many records in all (never fewer than the short list). A fixed
/// budget, because what bounds it is time, and a precise comparison costs the same at any
/// gallery size: 8,192 of them take about 50 ms on two cores. Escalating to 4 × the short
/// list (1,024 re-ranked at 10,000 records) loses mates the coarse stage ranks further down
/// (`docs/PERFORMANCE.md`, "The escalation budget"). At a million the short
/// list is already this long and the coarse pass leaves no time for more (walk-ins escalated to
/// 16,384 took 479 ms mean, 544 ms p90), so a million does not escalate.
pub const ESCALATED_MAX: usize = SHORTLIST_MAX;
/// The default escalation score is the matcher's threshold at this false match rate per
/// comparison (the operating point of `ridgeline bench search`'s "identified").
pub(crate) const ESCALATION_FMR: f64 = 1e-4;
/// Records per rayon task in exhaustive search.
const EXHAUSTIVE_CHUNK_RECORDS: u32 = 256;

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchMode {
    /// The coarse pass ([`crate::matcher::coarse`]) over every record, then the precise
    /// matcher's re-ranking of its short list (the CLI's `--mode indexed`).
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
    /// Indexed search: when no short-listed record scores at least this, re-rank further down
    /// the coarse ranking (see the module docs); `None` never escalates.
    pub escalate_below: Option<f64>,
    /// How many records an escalated search re-ranks in all (at least the short list);
    /// [`ESCALATED_MAX`] by default.
    pub escalate_to: usize,
    /// Search what is readable when committed records cannot be read, and say so in
    /// [`Identification::skipped_records`]; `false` (the default) fails such a search with
    /// `GalleryDamaged`.
    pub allow_partial: bool,
}

impl SearchOptions {
    /// Options with the default escalation.
    pub fn new(top_k: usize, finger: Option<u8>, mode: SearchMode) -> Self {
        SearchOptions {
            top_k,
            finger,
            mode,
            escalate_below: Some(default_escalation_score()),
            escalate_to: ESCALATED_MAX,
            allow_partial: false,
        }
    }
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions::new(10, None, SearchMode::Indexed)
    }
}

/// The matcher's score at `ESCALATION_FMR`.
pub fn default_escalation_score() -> f64 {
    calibration::threshold_for_fmr(ESCALATION_FMR)
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
    /// Whether indexed search re-ranked beyond its short list (nothing in it reached the
    /// escalation score).
    pub escalated: bool,
    /// Committed records the search could not read (unopenable segments, records failing their
    /// checksums); non-zero only when [`SearchOptions::allow_partial`] asked for a partial
    /// answer.
    pub skipped_records: usize,
}

/// The score the best candidate of a search over `searched` records needs to match when the
/// whole search may yield a false match with probability `fmr_per_search` (the false positive
/// identification rate): the matcher's threshold at that rate split over the records searched
/// ([`calibration::fmr_per_comparison`], the rule `ridgeline dedup` applies per record too). A
/// per-comparison threshold would not do at scale: at FMR 10⁻⁴ per comparison a walk-in
/// searched against a million records would match about a hundred of them.
pub fn match_threshold(fmr_per_search: f64, searched: usize) -> f64 {
    calibration::threshold_for_fmr(calibration::fmr_per_comparison(fmr_per_search, searched))
}

impl Identification {
    /// Whether the search skipped records it could not read.
    pub fn partial(&self) -> bool {
        self.skipped_records > 0
    }

    /// The score a candidate of this search needs to match at `fmr_per_search` (see
    /// [`match_threshold`]).
    pub fn match_threshold(&self, fmr_per_search: f64) -> f64 {
        match_threshold(fmr_per_search, self.searched)
    }

    /// The best candidate, if it matches at `fmr_per_search` (see
    /// [`Identification::match_threshold`]): "already registered" at the window.
    pub fn matched(&self, fmr_per_search: f64) -> Option<&Candidate> {
        let threshold = self.match_threshold(fmr_per_search);
        self.candidates.first().filter(|c| c.score >= threshold)
    }
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

fn prepared(seg: &LiveSegment, i: u32) -> Option<PreparedRef<'_>> {
    seg.segment().descriptor(i).and_then(|d| PreparedRef::from_bytes(d).ok())
}

/// A record's descriptor for the precise matcher, only if it matches its checksum: a damaged
/// descriptor would score as someone else.
fn intact_prepared(seg: &LiveSegment, i: u32) -> Option<PreparedRef<'_>> {
    seg.segment().descriptor_intact(i).then(|| prepared(seg, i)).flatten()
}

/// Fails a search that skipped records unless the caller allowed a partial answer.
fn check_partial(snapshot: &Snapshot, skipped: usize, options: &SearchOptions) -> Result<()> {
    if skipped == 0 || options.allow_partial {
        return Ok(());
    }
    let detail = match snapshot.damaged().first() {
        Some(p) => p.to_string(),
        None => "records fail their checksums".to_string(),
    };
    Err(crate::error::Error::GalleryDamaged { skipped, detail })
}

/// Identifies `probe` in `snapshot`.
pub(crate) fn identify(
    snapshot: &Snapshot,
    matcher: &Matcher,
    shortlist: Option<usize>,
    probe: PreparedRef<'_>,
    options: &SearchOptions,
) -> Result<Identification> {
    let top_k = options.top_k.max(1);
    let searched = searched_records(snapshot, options.finger);
    let (scored, compared, escalated, damaged) = match options.mode {
        SearchMode::Exhaustive => {
            let (scored, compared, damaged) =
                exhaustive(snapshot, matcher, probe, options.finger, top_k);
            (scored, compared, false, damaged)
        }
        SearchMode::Indexed => indexed(snapshot, matcher, shortlist, probe, options, searched),
    };
    let mut skipped = snapshot.unreadable_records() + damaged;
    check_partial(snapshot, skipped, options)?;
    // A candidate whose id fails its checksum is never reported (it could name anyone).
    let mut candidates = Vec::with_capacity(scored.len());
    for s in scored {
        match snapshot.subject(s.record) {
            Ok((subject_id, finger)) => candidates.push(Candidate {
                // Reported in canonical form, like every id that leaves the gallery.
                subject_id: crate::people::canonical_stored(subject_id).into_owned(),
                finger,
                score: s.score,
                record: s.record,
            }),
            Err(_) => skipped += 1,
        }
    }
    check_partial(snapshot, skipped, options)?;
    Ok(Identification { candidates, searched, compared, escalated, skipped_records: skipped })
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
) -> (Vec<Scored>, usize, usize) {
    let tasks = chunks(snapshot, EXHAUSTIVE_CHUNK_RECORDS);
    let (best, compared, damaged) = tasks
        .par_iter()
        .map(|&(seg, start, end)| {
            let mut local = Vec::new();
            let (mut compared, mut damaged) = (0, 0);
            for i in start..end {
                if !seg.searchable(i, finger) {
                    continue;
                }
                let Some(candidate) = intact_prepared(seg, i) else {
                    damaged += 1;
                    continue;
                };
                compared += 1;
                local.push(Scored {
                    score: matcher.compare(probe, candidate),
                    record: RecordId { segment: seg.segment().id(), index: i },
                });
            }
            (keep_top(local, top_k), compared, damaged)
        })
        .reduce(
            || (Vec::new(), 0, 0),
            |(mut a, n, d), (b, m, e)| {
                a.extend(b);
                (keep_top(a, top_k), n + m, d + e)
            },
        );
    (best, compared, damaged)
}

/// The coarse descriptors of a segment: its `.idx` sidecar mapped, or (missing or damaged)
/// built in memory from the segment's descriptors; either way once per segment.
pub(crate) fn coarse_file(seg: &LiveSegment) -> &CoarseFile {
    let segment = seg.segment();
    seg.coarse_cache().get_or_init(|| {
        let sidecar = segment.path().with_file_name(coarse_file::file_name(segment.id()));
        CoarseFile::open_with(&sidecar, segment.len(), segment.key().map(|k| &**k))
            .unwrap_or_else(|_| CoarseFile::build(segment.len(), |i| prepared(seg, i)))
    })
}

/// The prepared descriptor of a record as the precise matcher reads it, only if it matches
/// its checksum (`None`: no such record, damaged, or not the matcher's layout).
pub(crate) fn intact_record_prepared(snapshot: &Snapshot, id: RecordId) -> Option<PreparedRef<'_>> {
    PreparedRef::from_bytes(snapshot.intact_descriptor(id)?).ok()
}

/// How many records an indexed search re-ranks: the short list, and the records kept from the
/// coarse ranking for an escalation (at least the short list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShortlistLengths {
    /// Records re-ranked by every search.
    pub shortlist: usize,
    /// Records re-ranked in all when the search escalates.
    pub kept: usize,
}

/// The short-list rule of a search over `searched` records (`shortlist`: a fixed length that
/// overrides the rule, as [`super::Gallery::with_shortlist`] sets).
pub(crate) fn shortlist_lengths(
    searched: usize,
    options: &SearchOptions,
    shortlist: Option<usize>,
) -> ShortlistLengths {
    let top_k = options.top_k.max(1);
    let default_len =
        ((searched as f64 * SHORTLIST_SHARE).ceil() as usize).clamp(SHORTLIST_MIN, SHORTLIST_MAX);
    let shortlist_len = shortlist.unwrap_or(default_len).max(top_k);
    let kept = match options.escalate_below {
        Some(_) => options.escalate_to,
        None => shortlist_len,
    }
    .max(shortlist_len);
    ShortlistLengths { shortlist: shortlist_len, kept }
}

/// The most coarse scores a shard must return so that the global short list is right whatever
/// the total gallery size: the kept length of the largest gallery.
pub fn max_kept(options: &SearchOptions, shortlist: Option<usize>) -> usize {
    shortlist_lengths(usize::MAX, options, shortlist).kept
}

/// Coarse descriptor words of a record of `snapshot` (see [`crate::matcher::coarse`]): the segment's
/// sidecar mapped, or built in memory, once per segment.
pub(crate) fn coarse_record(snapshot: &Snapshot, id: RecordId) -> Option<&[u64]> {
    coarse_file(snapshot.live_segment(id.segment)?).record(id.index)
}

/// Records per rayon task in the coarse stage.
const COARSE_CHUNK_RECORDS: u32 = 4096;

/// The best coarse score of a record first, ties by record, so which records are kept does
/// not depend on how rayon split the work.
fn coarse_first(a: &(f32, RecordId), b: &(f32, RecordId)) -> Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// The `keep` best of `scored` under [`coarse_first`], in no particular order.
fn keep_best_coarse(mut scored: Vec<(f32, RecordId)>, keep: usize) -> Vec<(f32, RecordId)> {
    if scored.len() > keep {
        scored.select_nth_unstable_by(keep, coarse_first);
        scored.truncate(keep);
    }
    scored
}

/// Records a search of `snapshot` takes part in: live, and of `finger` where one is named.
pub(crate) fn searched_records(snapshot: &Snapshot, finger: Option<u8>) -> usize {
    match finger {
        None => snapshot.len(),
        Some(f) => snapshot
            .segments()
            .par_iter()
            .map(|s| (0..s.segment().len()).filter(|&i| s.searchable(i, Some(f))).count())
            .sum(),
    }
}

/// The `keep` best coarse scores of the searchable records of `snapshot` for `probe`, in no
/// particular order: the coarse stage of an indexed search, one gallery's or one shard's.
pub(crate) fn coarse_best(
    snapshot: &Snapshot,
    finger: Option<u8>,
    probe: &Coarse,
    keep: usize,
) -> Vec<(f32, RecordId)> {
    let tasks = chunks(snapshot, COARSE_CHUNK_RECORDS);
    let score = crate::matcher::coarse::scorer(crate::cpu::kernel());
    // Each rayon job keeps its best records as it goes, pruned back to `keep` whenever it has
    // twice that many, so the merge sees a few short lists, not every record. After a pruning
    // the job's `keep`-th best score is a floor: a record below it can never be among the
    // job's best, so it is not kept at all (records at the floor are, for the tie-break).
    let best = tasks
        .par_iter()
        .fold(
            || (Vec::new(), f32::NEG_INFINITY),
            |(mut best, mut floor), &(seg, start, end)| {
                let segment = seg.segment().id();
                // A chunk's records are one slice of the sidecar, taken once; the per-record
                // searchable test is needed only where a finger is named or a record deleted.
                let Some(words) = coarse_file(seg).records(start, end) else {
                    return (best, floor);
                };
                let every = finger.is_none() && !seg.any_deleted_in(start, end);
                for (i, record) in (start..end).zip(words.chunks_exact(RECORD_WORDS)) {
                    if !every && !seg.searchable(i, finger) {
                        continue;
                    }
                    let s = score(probe, record);
                    if s >= floor {
                        best.push((s, RecordId { segment, index: i }));
                    }
                }
                if best.len() >= 2 * keep {
                    best = keep_best_coarse(best, keep);
                    floor = best.iter().map(|b| b.0).fold(f32::INFINITY, f32::min);
                }
                (best, floor)
            },
        )
        .map(|(best, _)| best)
        .reduce(Vec::new, |mut a, b| {
            a.extend(b);
            keep_best_coarse(a, keep)
        });
    keep_best_coarse(best, keep)
}

fn indexed(
    snapshot: &Snapshot,
    matcher: &Matcher,
    shortlist: Option<usize>,
    probe: PreparedRef<'_>,
    options: &SearchOptions,
    searched: usize,
) -> (Vec<Scored>, usize, bool, usize) {
    let (finger, top_k) = (options.finger, options.top_k.max(1));
    let coarse_probe = Coarse::of(probe);
    // The coarse stage keeps enough records for an escalation too: keeping them costs a
    // larger selection, not another pass over the gallery. (One rule, shared with sharded
    // search, so a sharded gallery re-ranks what one gallery of its size would.)
    let lengths = shortlist_lengths(searched, options, shortlist);
    let (shortlist_len, kept_len) = (lengths.shortlist, lengths.kept);
    let mut voted = coarse_best(snapshot, finger, &coarse_probe, kept_len);
    // Only which records fall before the short list's end matters, not their order: each part
    // is re-ranked whole and `keep_top` orders the result. (Since escalation keeps 8,192
    // records at any size, a full sort here would order up to 8,192 for every search.)
    let split = shortlist_len.min(voted.len());
    if split < voted.len() {
        voted.select_nth_unstable_by(split, coarse_first);
    }
    let rerank = |records: &[(f32, RecordId)]| -> Vec<Scored> {
        // Every read asked for at once first: a gallery not in the page cache is read in one
        // burst, not a page fault at a time (see `Segment::will_need`).
        snapshot.read_ahead(records, |&(_, record)| record);
        records
            .par_iter()
            .filter_map(|&(_, record)| {
                let candidate = intact_record_prepared(snapshot, record)?;
                Some(Scored { score: matcher.compare(probe, candidate), record })
            })
            .collect()
    };
    let (first, further) = voted.split_at(split);
    let mut scored = rerank(first);
    // Every short-listed record yields a score unless its descriptor is damaged.
    let mut damaged = first.len() - scored.len();
    let best = scored.iter().map(|s| s.score).fold(f64::NEG_INFINITY, f64::max);
    let escalated = match options.escalate_below {
        Some(threshold) => best < threshold && !further.is_empty(),
        None => false,
    };
    if escalated {
        let further_scored = rerank(further);
        damaged += further.len() - further_scored.len();
        scored.extend(further_scored);
    }
    let compared = scored.len();
    (keep_top(scored, top_k), compared, escalated, damaged)
}
