//! `DedupJob`: the de-duplication of one gallery, or of the shards of a sharded gallery as one
//! population, split into tasks that may run in other processes or on other machines
//! (`ridgeline.distributed.dedup` runs them as Ray tasks).
//!
//! A job opens the galleries read-only and holds their population (with the candidate index
//! where it proposes candidates). A sealed gallery's key is read from a key file named by the
//! job (or by `RIDGELINE_KEY_FILE` in the worker's environment), so that the key itself never
//! travels in task arguments. Its steps are the core's ([`ridgeline::dedup::split`]): the blocks
//! of records, the candidate pairs of a block, the scores of a list of pairs, and the report
//! from every linked pair; the report is built by the same code as `ridgeline dedup`'s.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use ridgeline::dedup::split::{
    candidate_pairs, galleries_content_key, merge_outcome, pair_threshold, plan_blocks, score_pairs,
};
use ridgeline::dedup::{finish_report, job_key, population_key, Distinct, LinkedPair, Report};
use ridgeline::dedup::{GalleryPopulation, DEFAULT_CANDIDATES_PER_RECORD};
use ridgeline::gallery::{Gallery, GalleryKey, OpenMode, OpenOptions, SearchMode};

use crate::errors::{invalid, IntoPy};

/// Bytes of one pair in the packed form `candidate_pairs` returns and `score_pairs` takes: two
/// little-endian u32 record indices, lower first.
const PAIR_BYTES: usize = 8;
/// Offset of the lower record index `a` in a packed pair.
const PAIR_A: usize = 0;
/// Offset of the higher record index `b` in a packed pair.
const PAIR_B: usize = 4;

/// A scored pair as Python sees it: (a, b, score, fmr).
type PyPair = (u32, u32, f64, f64);

/// The environment variable naming a gallery key file, as for the `ridgeline` command.
const KEY_FILE_ENV: &str = "RIDGELINE_KEY_FILE";

/// One gallery's (or one sharded gallery's) de-duplication job, split into tasks.
#[derive(Debug)]
#[pyclass(name = "DedupJob", module = "ridgeline._native", frozen)]
pub struct PyDedupJob {
    /// Held so that the galleries stay open (read-only) as long as the job.
    _galleries: Vec<Arc<Gallery>>,
    population: GalleryPopulation<'static>,
    paths: Vec<PathBuf>,
    fmr: f64,
    mode: SearchMode,
    candidates: usize,
    /// Whether the population proposes candidates (else it only scores and reports).
    proposes: bool,
    key: u64,
}

fn packed_pairs(pairs: &[(u32, u32)]) -> Vec<u8> {
    let mut out = vec![0u8; pairs.len() * PAIR_BYTES];
    for (slot, &(a, b)) in out.chunks_exact_mut(PAIR_BYTES).zip(pairs) {
        slot[PAIR_A..PAIR_A + 4].copy_from_slice(&a.to_le_bytes());
        slot[PAIR_B..PAIR_B + 4].copy_from_slice(&b.to_le_bytes());
    }
    out
}

fn unpacked_pairs(bytes: &[u8]) -> Option<Vec<(u32, u32)>> {
    if bytes.len() % PAIR_BYTES != 0 {
        return None;
    }
    let word = |p: &[u8], at: usize| {
        p.get(at..at + 4).and_then(|w| w.try_into().ok()).map(u32::from_le_bytes)
    };
    bytes.chunks_exact(PAIR_BYTES).map(|p| Some((word(p, PAIR_A)?, word(p, PAIR_B)?))).collect()
}

#[pymethods]
impl PyDedupJob {
    /// Opens the job of de-duplicating the gallery in `dir` (read-only), or the population of
    /// the shards of a sharded gallery when `dir` is a list of shard folders (in the sharded
    /// gallery's order; their records as one population, equal to one gallery holding them),
    /// with the settings of `Gallery.dedup`: `fmr` per search, `exhaustive` (every pair
    /// instead of the candidate index), `candidates` per record. `proposes=False` skips
    /// building the candidate index: such a job scores pairs and builds the report but cannot
    /// list candidates. `key_file`: a file holding the key of sealed galleries (as for
    /// `ridgeline --key-file`); without it, the file named by `RIDGELINE_KEY_FILE`, if set.
    #[new]
    #[pyo3(signature = (dir, fmr=1e-4, *, exhaustive=false, candidates=DEFAULT_CANDIDATES_PER_RECORD, proposes=true, key_file=None))]
    fn new(
        py: Python<'_>,
        dir: &Bound<'_, PyAny>,
        fmr: f64,
        exhaustive: bool,
        candidates: usize,
        proposes: bool,
        key_file: Option<PathBuf>,
    ) -> PyResult<Self> {
        let dirs: Vec<PathBuf> = match dir.extract::<PathBuf>() {
            Ok(path) => vec![path],
            Err(_) => dir
                .extract::<Vec<PathBuf>>()
                .map_err(|_| invalid(py, "dir is a gallery folder or a list of shard folders"))?,
        };
        if dirs.is_empty() {
            return Err(invalid(py, "a job needs at least one gallery folder"));
        }
        let key_file = key_file.or_else(|| {
            std::env::var_os(KEY_FILE_ENV).filter(|v| !v.is_empty()).map(PathBuf::from)
        });
        let mode = if exhaustive { SearchMode::Exhaustive } else { SearchMode::Indexed };
        let build = || -> ridgeline::Result<PyDedupJob> {
            // Many tasks open the same gallery: none of them writes to its audit trail.
            let mut options = OpenOptions::new().audit(false);
            if let Some(path) = &key_file {
                options = options.key(GalleryKey::read_file(path)?);
            }
            let galleries: Vec<Arc<Gallery>> = dirs
                .iter()
                .map(|d| Gallery::open_with(d, OpenMode::ReadOnly, &options).map(Arc::new))
                .collect::<ridgeline::Result<_>>()?;
            let refs: Vec<&Gallery> = galleries.iter().map(|g| &**g).collect();
            // Without candidates to propose, the exhaustive population needs no index.
            let built = if proposes { mode } else { SearchMode::Exhaustive };
            let population = GalleryPopulation::open_many(
                &refs,
                built,
                &std::collections::HashMap::new(),
                false,
            )?
            .with_candidates_per_record(candidates)
            .into_owned();
            pair_threshold(fmr, population.infos().len())?;
            let population_part = population_key(population.infos(), fmr, mode).to_le_bytes();
            let content = galleries_content_key(&refs).to_le_bytes();
            let per_record = (candidates.max(1) as u64).to_le_bytes();
            let key = job_key([
                b"ridgeline distributed dedup".as_slice(),
                env!("CARGO_PKG_VERSION").as_bytes(),
                population_part.as_slice(),
                content.as_slice(),
                per_record.as_slice(),
            ]);
            Ok(PyDedupJob {
                _galleries: galleries,
                population,
                paths: dirs.clone(),
                fmr,
                mode,
                candidates: candidates.max(1),
                proposes,
                key,
            })
        };
        py.detach(build).py(py)
    }

    /// Identity of the job: the gallery's records (ids, fingers, checksums), the settings and
    /// the engine version, as 16 hexadecimal digits. Equal keys mean the same pairs and report.
    #[getter]
    fn key(&self) -> String {
        format!("{:016x}", self.key)
    }

    /// Subjects (records of the de-duplication) in the population.
    #[getter]
    fn records(&self) -> usize {
        self.population.infos().len()
    }

    /// The gallery folder (the first shard's, for a sharded gallery).
    #[getter]
    fn path(&self) -> PathBuf {
        self.paths[0].clone()
    }

    /// The gallery folders: one, or the shards in their order.
    #[getter]
    fn paths(&self) -> Vec<PathBuf> {
        self.paths.clone()
    }

    /// The settings: `fmr`, `exhaustive`, `candidates`.
    #[getter]
    fn settings(&self) -> (f64, bool, usize) {
        (self.fmr, self.mode == SearchMode::Exhaustive, self.candidates)
    }

    /// The records cut into consecutive blocks of `block_records`: `[(start, end)]`.
    fn blocks(&self, py: Python<'_>, block_records: usize) -> PyResult<Vec<(u32, u32)>> {
        let blocks = plan_blocks(self.records(), block_records).py(py)?;
        Ok(blocks.into_iter().map(|b| (b.start, b.end)).collect())
    }

    /// The pairs the records `start..end` propose, sorted and without repeats, packed as
    /// little-endian u32 pairs `(a, b)`, `a < b` (8 bytes each).
    fn candidate_pairs<'py>(
        &self,
        py: Python<'py>,
        start: u32,
        end: u32,
    ) -> PyResult<Bound<'py, PyBytes>> {
        if !self.proposes {
            return Err(invalid(py, "this job was opened with proposes=False"));
        }
        let pairs = py.detach(|| candidate_pairs(&self.population, start..end)).py(py)?;
        Ok(PyBytes::new(py, &packed_pairs(&pairs)))
    }

    /// Scores packed pairs (as `candidate_pairs` returns them): the pairs at or below the
    /// job's per-pair threshold, as `(a, b, score, fmr)`, in the order given.
    fn score_pairs(&self, py: Python<'_>, pairs: &[u8]) -> PyResult<Vec<PyPair>> {
        let Some(pairs) = unpacked_pairs(pairs) else {
            return Err(invalid(py, format!("{} bytes are not packed pairs", pairs.len())));
        };
        let n = self.records();
        if let Some(&(a, b)) = pairs.iter().find(|&&(a, b)| a >= b || b as usize >= n) {
            return Err(invalid(py, format!("({a}, {b}) is not a pair of the {n} records")));
        }
        let linked = py
            .detach(|| {
                let threshold = pair_threshold(self.fmr, n)?;
                score_pairs(&self.population, &pairs, threshold)
            })
            .py(py)?;
        Ok(linked.into_iter().map(|p| (p.a, p.b, p.score, p.fmr)).collect())
    }

    /// The report of the finished job, as `Gallery.dedup` and `ridgeline dedup --gallery`
    /// write it (JSON text): from every linked pair `(a, b, score, fmr)` of the scoring
    /// tasks, the number of distinct pairs compared, and the seconds the search and the whole
    /// job took.
    fn report(
        &self,
        py: Python<'_>,
        linked: Vec<PyPair>,
        pairs_compared: u64,
        search_seconds: f64,
        total_seconds: f64,
    ) -> PyResult<String> {
        let build = || -> ridgeline::Result<String> {
            let seconds = |s: f64| {
                Duration::try_from_secs_f64(s).map_err(|_| {
                    ridgeline::Error::InvalidArgument(format!("{s} is not a duration in seconds"))
                })
            };
            let total = seconds(total_seconds)?;
            let linked =
                linked.into_iter().map(|(a, b, score, fmr)| LinkedPair { a, b, score, fmr });
            let outcome = merge_outcome(
                self.records(),
                self.fmr,
                linked.collect(),
                pairs_compared,
                seconds(search_seconds)?.as_secs_f64(),
            )?;
            let started = Instant::now().checked_sub(total).unwrap_or_else(Instant::now);
            let mut report = finish_report(
                &self.population,
                self.population.infos(),
                &outcome,
                self.fmr,
                self.mode,
                started,
                &Distinct::default(),
            )?;
            mark_complete(&mut report);
            Ok(report.to_json())
        };
        py.detach(build).py(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "DedupJob({:?}, records={}, key={:016x})",
            self.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            self.records(),
            self.key
        )
    }
}

/// The statistics `ridgeline dedup` adds about unreadable records: none here, since the
/// population refuses a gallery with unreadable records (`GalleryDamagedError`).
pub fn mark_complete(report: &mut Report) {
    report.stats.insert("partial".into(), false.into());
    report.stats.insert("skipped_records".into(), 0.into());
}

/// Registers the class.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDedupJob>()?;
    Ok(())
}
