//! The N:N search: every record against every other, resumable.
//!
//! # Plan
//! Records are searched in index order, in blocks of [`SearchConfig::block_records`]. Within a
//! block, every record asks the population for its *candidates* (through the gallery's index
//! where there is one, so the cost per record does not grow with the population), in parallel.
//! The candidates become unordered pairs `(a, b)`, `a < b`; a pair already compared — proposed
//! earlier from the other record, or twice within the block — is dropped, so each pair is
//! compared once. The remaining pairs are compared on all their common fingers, again in
//! parallel, and fused ([`super::fusion`]); pairs at or below the per-pair threshold are kept.
//!
//! # Memory
//! Bounded by the block, the pairs found, and the pairs proposed towards records not searched
//! yet (at most the candidates per record times the records), which are forgotten as soon as
//! their later record has been searched. The checkpoint stores those pending pairs too (8 bytes
//! each), so it is largest half-way through a run.
//!
//! # Resume
//! After a block the state is a prefix of searched records plus the pairs found: the
//! [`Checkpoint`]. It is written atomically at most every [`SearchConfig::checkpoint_interval`],
//! when the run is stopped (the `stop` flag, set by the CLI's SIGINT handler) and when it ends.
//! A resumed run starts at the first unsearched record with the pairs found and the pairs
//! already compared towards records not searched yet, so no comparison is made twice; since
//! comparisons are deterministic the final report equals an uninterrupted run's.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

pub(crate) use super::checkpoint::job_key;
use super::checkpoint::Checkpoint;
pub(crate) use super::outcome::{SearchOutcome, SearchStats};
pub(crate) use super::population::Population;
use super::split::{pair_threshold, proposed_pair, score_pairs};
use crate::error::{Error, Result};
use crate::gallery::GalleryKey;

/// Settings of a search.
#[derive(Debug, Clone)]
pub struct SearchConfig {
    /// Acceptable chance that a record's search links it falsely to any other (`--fmr`).
    pub fmr_per_search: f64,
    /// Records per block; a checkpoint always falls between blocks.
    pub block_records: usize,
    /// Least time between two checkpoint writes.
    pub checkpoint_interval: Duration,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            fmr_per_search: 1e-4,
            block_records: DEFAULT_BLOCK_RECORDS,
            checkpoint_interval: Duration::from_secs(DEFAULT_CHECKPOINT_INTERVAL_S),
        }
    }
}

/// Records per block: enough to keep every core busy, few enough that a stop is quick.
pub(crate) const DEFAULT_BLOCK_RECORDS: usize = 512;
/// Seconds between checkpoint writes.
pub const DEFAULT_CHECKPOINT_INTERVAL_S: u64 = 5;

/// Where a checkpoint lives and whether to start from it.
#[derive(Debug, Clone, Copy)]
pub struct Resumable<'a> {
    /// Checkpoint file.
    pub path: &'a Path,
    /// Start from the checkpoint if it exists (else start afresh and overwrite it).
    pub resume: bool,
    /// Seal the checkpoint under this key (the gallery's, or the run's `--key-file`); a
    /// resume needs the same key.
    pub key: Option<&'a GalleryKey>,
}

/// Runs (or resumes) the N:N search.
///
/// `job_key` identifies the population and settings (see [`job_key`]); a checkpoint of another
/// job is refused. `progress` is called after each block with `(records searched, records)`.
/// When `stop` becomes true the run finishes the pairs already compared in the current block's
/// records that completed, writes a checkpoint and returns with `complete == false`.
pub fn search<P: Population + ?Sized>(
    population: &P,
    config: &SearchConfig,
    job: u64,
    checkpoint: Option<Resumable<'_>>,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<SearchOutcome> {
    let n = population.len();
    let threshold = pair_threshold(config.fmr_per_search, n)?;
    if n > u32::MAX as usize {
        return Err(Error::InvalidArgument(format!("{n} records is more than this build handles")));
    }
    let mut state = Checkpoint {
        job_key: job,
        records: n as u64,
        next_record: 0,
        pairs_compared: 0,
        elapsed_ms: 0,
        pairs: Vec::new(),
        compared_ahead: Vec::new(),
    };
    let mut resumed_from = None;
    if let Some(Resumable { path, resume: true, key }) = checkpoint {
        if path.exists() {
            let saved = Checkpoint::read_with(path, key)?;
            if saved.job_key != job || saved.records != n as u64 || saved.next_record > n as u64 {
                return Err(Error::Checkpoint {
                    path: path.into(),
                    message: "belongs to another population or threshold; run without --resume to start afresh".into(),
                });
            }
            resumed_from = Some(saved.next_record);
            state = saved;
        }
    }
    let started = Instant::now();
    let elapsed_before = state.elapsed_ms;
    let mut last_write = Instant::now();
    let mut found: HashSet<(u32, u32)> = state.pairs.iter().map(|p| (p.a, p.b)).collect();
    // Pairs proposed towards records not searched yet, keyed by their later record.
    let mut pending: HashMap<u32, Vec<u32>> = HashMap::new();
    for (a, b) in std::mem::take(&mut state.compared_ahead) {
        pending.entry(b).or_default().push(a);
    }
    let block = config.block_records.max(1);
    progress(state.next_record, n as u64);
    while (state.next_record as usize) < n && !stop.load(Ordering::Relaxed) {
        let start = state.next_record as u32;
        let end = (state.next_record as usize + block).min(n) as u32;
        let proposals: Vec<Vec<u32>> = (start..end)
            .into_par_iter()
            .map(|i| population.candidates(i))
            .collect::<Result<_>>()?;
        let mut to_compare: Vec<(u32, u32)> = Vec::new();
        for (i, candidates) in (start..end).zip(proposals) {
            for (a, b) in candidates.into_iter().filter_map(|j| proposed_pair(i, j, n)) {
                let seen =
                    pending.get(&b).is_some_and(|v| v.contains(&a)) || found.contains(&(a, b));
                if !seen {
                    pending.entry(b).or_default().push(a);
                    to_compare.push((a, b));
                }
            }
        }
        for pair in score_pairs(population, &to_compare, threshold)? {
            found.insert((pair.a, pair.b));
            state.pairs.push(pair);
        }
        for searched in start..end {
            pending.remove(&searched);
        }
        state.pairs_compared += to_compare.len() as u64;
        state.next_record = u64::from(end);
        state.elapsed_ms = elapsed_before + started.elapsed().as_millis() as u64;
        progress(state.next_record, n as u64);
        if let Some(c) = checkpoint {
            if last_write.elapsed() >= config.checkpoint_interval {
                state.compared_ahead = compared_ahead(&pending);
                state.write_atomic_with(c.path, c.key)?;
                last_write = Instant::now();
            }
        }
    }
    state.elapsed_ms = elapsed_before + started.elapsed().as_millis() as u64;
    if let Some(c) = checkpoint {
        state.compared_ahead = compared_ahead(&pending);
        state.write_atomic_with(c.path, c.key)?;
    }
    let complete = state.next_record as usize >= n;
    state.pairs.sort_by_key(|p| (p.a, p.b));
    Ok(SearchOutcome {
        complete,
        stats: SearchStats {
            records: n as u64,
            records_searched: state.next_record,
            pairs_compared: state.pairs_compared,
            pair_fmr_threshold: threshold,
            search_seconds: state.elapsed_ms as f64 / 1000.0,
            resumed_from,
        },
        pairs: state.pairs,
    })
}

/// The pending comparisons as checkpoint pairs `(a, b)`. Unsorted: at a million records there
/// can be millions of them, and their order does not matter to a resumed run.
fn compared_ahead(pending: &HashMap<u32, Vec<u32>>) -> Vec<(u32, u32)> {
    pending.iter().flat_map(|(&b, earlier)| earlier.iter().map(move |&a| (a, b))).collect()
}
