//! `Gallery`, `Identification`, `Candidate`, and the two phases of a sharded search.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use ridgeline::dedup::{finish_report, population_key, search, Distinct, Resumable, SearchConfig};
use ridgeline::dedup::{GalleryPopulation, DEFAULT_CANDIDATES_PER_RECORD};
use ridgeline::gallery::audit::Event;
use ridgeline::gallery::person::{self, DUPLICATE_CHECK_CANDIDATES};
use ridgeline::gallery::sharding::{self, GlobalShortlist, ShardHit};
use ridgeline::gallery::{
    Enrolment, Gallery, OpenMode, OpenOptions, Operation, Outcome, PersonIdentification,
    PersonSearchOptions, PersonSearchTotals, Print, RecordId, SearchMode, SearchOptions, Snapshot,
};
use ridgeline::matcher::MatchTemplate;
use ridgeline::people::canonical_stored;
use ridgeline::people::lookup_form;
use ridgeline::Template;

use crate::errors::{invalid, named, IntoPy};
use crate::identification::{
    decision, to_wire, PyCandidate, PyFingerEvidence, PyIdentification, WireCandidate,
};
use crate::template::PyTemplate;

/// Highest finger position (ISO/IEC 19794-2: 0 unknown, 1–10).
const MAX_FINGER: u8 = 10;

/// A person's prints: (finger position, template), sorted by position.
type ProbeFingers = Vec<(u8, Arc<Template>)>;
/// A coarse hit of a sharded search: (shard, position in the shard's coarse list).
type Position = (usize, usize);

/// `fingers` as the API takes it — a `Template` (finger 0) or `{position: Template}` — as
/// (position, template) pairs sorted by position.
pub fn parse_fingers(
    py: Python<'_>,
    fingers: &Bound<'_, PyAny>,
) -> PyResult<Vec<(u8, Arc<Template>)>> {
    if let Ok(t) = fingers.cast::<PyTemplate>() {
        return Ok(vec![(0, Arc::clone(&t.get().inner))]);
    }
    let Ok(dict) = fingers.cast::<PyDict>() else {
        return Err(invalid(
            py,
            "fingers must be a Template or a dict {finger position: Template}",
        ));
    };
    let mut out = Vec::with_capacity(dict.len());
    for (k, v) in dict.iter() {
        let position: u8 = k.extract().ok().filter(|&p: &u8| p <= MAX_FINGER).ok_or_else(|| {
            invalid(py, format!("finger position {k} is not an integer 0-{MAX_FINGER}"))
        })?;
        let t = v
            .cast::<PyTemplate>()
            .map_err(|_| invalid(py, format!("finger {position}: expected a Template")))?;
        out.push((position, Arc::clone(&t.get().inner)));
    }
    if out.is_empty() {
        return Err(invalid(py, "no fingers given"));
    }
    out.sort_by_key(|(p, _)| *p);
    Ok(out)
}

fn check_fmr(py: Python<'_>, fmr: f64) -> PyResult<()> {
    if fmr > 0.0 && fmr <= 1.0 {
        Ok(())
    } else {
        Err(invalid(py, format!("fmr_per_search {fmr} is not in (0, 1]")))
    }
}

/// The core's prints of parsed `fingers`.
fn as_prints(fingers: &[(u8, Arc<Template>)]) -> Vec<Print<'_>> {
    fingers.iter().map(|(finger, t)| Print { finger: *finger, template: t }).collect()
}

/// A gallery of enrolled fingerprints on disk, searched 1:N.
///
/// Open it with `Gallery.create(dir)` or `Gallery.open(dir)`; use it as a context manager or
/// call `close()` to release the writer lock. Every method that searches or writes releases the
/// GIL, so Python threads can search in parallel (and the engine uses every core per search).
#[pyclass(module = "ridgeline._native", name = "Gallery", frozen)]
#[derive(Debug)]
pub struct PyGallery {
    inner: RwLock<Option<Arc<Gallery>>>,
    path: PathBuf,
    operator: Option<String>,
}

/// The gallery key given as `key=`: bytes (32 raw, or 64 hexadecimal characters) or str (64
/// hexadecimal characters); `None` for a clear gallery.
fn gallery_key(
    py: Python<'_>,
    key: &Option<Bound<'_, PyAny>>,
) -> PyResult<Option<ridgeline::gallery::GalleryKey>> {
    let Some(k) = key.as_ref().filter(|k| !k.is_none()) else { return Ok(None) };
    let mut bytes: Vec<u8> = if let Ok(text) = k.extract::<String>() {
        text.into_bytes()
    } else if let Ok(bytes) = k.extract::<Vec<u8>>() {
        bytes
    } else {
        return Err(named(py, "InvalidArgumentError", "key must be bytes or str".into()));
    };
    let key = ridgeline::gallery::GalleryKey::from_file_contents(&bytes);
    // The copy of the caller's key does not outlive the call.
    bytes.fill(0);
    std::hint::black_box(&bytes);
    key.map(Some).py(py)
}

impl PyGallery {
    fn wrap(gallery: Gallery, path: PathBuf, operator: Option<String>) -> Self {
        PyGallery { inner: RwLock::new(Some(Arc::new(gallery))), path, operator }
    }

    pub fn gallery(&self, py: Python<'_>) -> PyResult<Arc<Gallery>> {
        let guard = self.inner.read().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().map(Arc::clone).ok_or_else(|| {
            named(py, "GalleryClosedError", format!("gallery {} is closed", self.path.display()))
        })
    }

    /// The person-level identification of the core on the current snapshot, not recorded in
    /// the audit trail.
    fn search(
        py: Python<'_>,
        gallery: &Arc<Gallery>,
        fingers: &[(u8, Arc<Template>)],
        options: &PersonSearchOptions,
    ) -> PyResult<PersonIdentification> {
        let gallery = Arc::clone(gallery);
        py.detach(|| {
            let prints = as_prints(fingers);
            gallery.identify_person_in(&gallery.snapshot(), &prints, options)
        })
        .py(py)
    }

    /// Appends an entry to the gallery's audit trail.
    fn record(
        py: Python<'_>,
        gallery: &Gallery,
        operation: Operation,
        outcome: Outcome,
        generation: Option<u64>,
        subjects: &[&str],
        detail: &str,
    ) -> PyResult<()> {
        let event = Event { operation, outcome, generation, subjects, detail };
        gallery.store().record(&event).py(py)
    }
}

/// Open options carrying the operator recorded in the audit trail and the gallery key.
fn open_options(
    operator: &Option<String>,
    key: Option<ridgeline::gallery::GalleryKey>,
) -> OpenOptions {
    let options = OpenOptions::new().key_opt(key);
    match operator {
        Some(op) => options.operator(op.clone()),
        None => options,
    }
}

#[pymethods]
impl PyGallery {
    /// Creates an empty gallery in `dir` (created if missing; must be empty) and opens it
    /// writable.
    ///
    /// `key`: the gallery key (bytes of 32, or 64 hexadecimal characters): the gallery is
    /// encrypted at rest under it. `operator`: recorded in the gallery's audit trail with
    /// every enrolment, search and removal made through this object.
    #[staticmethod]
    #[pyo3(signature = (dir, key=None, operator=None))]
    fn create(
        py: Python<'_>,
        dir: PathBuf,
        key: Option<Bound<'_, PyAny>>,
        operator: Option<String>,
    ) -> PyResult<Self> {
        let options = open_options(&operator, gallery_key(py, &key)?);
        let gallery = py
            .detach(|| {
                std::fs::create_dir_all(&dir).map_err(|e| ridgeline::Error::io(&dir, e))?;
                Gallery::create_with(&dir, &options)
            })
            .py(py)?;
        Ok(PyGallery::wrap(gallery, dir, operator))
    }

    /// Opens an existing gallery: writable (takes the writer lock: one writer per gallery) or,
    /// with `read_only=True`, for searching only (no lock; any number of readers).
    /// `key` and `operator` as for `create`.
    #[staticmethod]
    #[pyo3(signature = (dir, key=None, operator=None, read_only=false))]
    fn open(
        py: Python<'_>,
        dir: PathBuf,
        key: Option<Bound<'_, PyAny>>,
        operator: Option<String>,
        read_only: bool,
    ) -> PyResult<Self> {
        let mode = if read_only { OpenMode::ReadOnly } else { OpenMode::Writable };
        let options = open_options(&operator, gallery_key(py, &key)?);
        let gallery = py.detach(|| Gallery::open_with(&dir, mode, &options)).py(py)?;
        Ok(PyGallery::wrap(gallery, dir, operator))
    }

    /// The gallery folder.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The operator given at opening, if any.
    #[getter]
    fn operator(&self) -> Option<String> {
        self.operator.clone()
    }

    /// Enrols the fingers of one subject with one commit (all of them or none).
    ///
    /// `fingers`: `{finger position: Template}` (ISO positions 1–10, 0 = unknown) or a bare
    /// `Template` (finger 0). Unless `check_duplicate=False`, the fingers are first searched
    /// like `identify(fingers, fmr_per_search=...)`; if they match a *different* subject the
    /// enrolment is refused with `DuplicateSubjectError` (the same person registered twice).
    /// A subject that already has a finger at one of these positions raises
    /// `AlreadyEnrolledError`. Returns the number of records written.
    #[pyo3(signature = (id, fingers, *, check_duplicate=true, fmr_per_search=1e-4))]
    fn enroll(
        &self,
        py: Python<'_>,
        id: String,
        fingers: &Bound<'_, PyAny>,
        check_duplicate: bool,
        fmr_per_search: f64,
    ) -> PyResult<usize> {
        check_fmr(py, fmr_per_search)?;
        let gallery = self.gallery(py)?;
        let fingers = parse_fingers(py, fingers)?;
        if check_duplicate && !gallery.is_empty() {
            // The duplicate-person check of the core's person enrolment: the best candidates,
            // and any other subject among them that matches at `fmr_per_search`.
            let options = PersonSearchOptions {
                top_k: DUPLICATE_CHECK_CANDIDATES,
                fmr_per_search,
                mode: SearchMode::Indexed,
                allow_partial: false,
            };
            let found = Self::search(py, &gallery, &fingers, &options)?;
            if let Some(other) = found.duplicate_of(&lookup_form(&id)) {
                let other = other.subject_id.clone();
                let subjects = [id.as_str(), other.as_str()];
                Self::record(
                    py,
                    &gallery,
                    Operation::Enrol,
                    Outcome::Refused,
                    None,
                    &subjects,
                    "duplicate_person",
                )?;
                return Err(named(
                    py,
                    "DuplicateSubjectError",
                    format!(
                        "the fingers of {id:?} match enrolled subject {other:?} at fmr_per_search {fmr_per_search}; not enrolled"
                    ),
                ));
            }
        }
        py.detach(|| {
            let batch: Vec<Enrolment<'_>> = fingers
                .iter()
                .map(|(finger, template)| Enrolment { subject_id: &id, finger: *finger, template })
                .collect();
            gallery.enroll_batch(&batch).map(|ids| ids.len())
        })
        .py(py)
    }

    /// Enrols many subjects with one commit (bulk loading): `records` is a list of
    /// `(id, fingers)` as for `enroll`. No duplicate-person check is made (a bulk load is
    /// de-duplicated afterwards with `dedup`); a repeated (id, finger 1–10) refuses the whole
    /// batch with `AlreadyEnrolledError`. Returns the number of records written.
    fn enroll_many(&self, py: Python<'_>, records: &Bound<'_, PyAny>) -> PyResult<usize> {
        let gallery = self.gallery(py)?;
        let mut parsed: Vec<(String, ProbeFingers)> = Vec::new();
        for item in records.try_iter()? {
            let item = item?;
            let (id, fingers): (String, Bound<'_, PyAny>) =
                item.extract().map_err(|_| invalid(py, "records must be (id, fingers) pairs"))?;
            parsed.push((id, parse_fingers(py, &fingers)?));
        }
        py.detach(|| {
            let batch: Vec<Enrolment<'_>> = parsed
                .iter()
                .flat_map(|(id, fingers)| {
                    fingers.iter().map(move |(finger, template)| Enrolment {
                        subject_id: id,
                        finger: *finger,
                        template,
                    })
                })
                .collect();
            gallery.enroll_batch(&batch).map(|ids| ids.len())
        })
        .py(py)
    }

    /// De-registers a subject: deletes all its records with one commit; returns how many.
    /// `SubjectNotFoundError` if it has none.
    fn remove(&self, py: Python<'_>, id: String) -> PyResult<usize> {
        let gallery = self.gallery(py)?;
        py.detach(|| gallery.remove(&id)).py(py)
    }

    /// The enrolled fingers of a subject, `{finger position: Template}`.
    /// `SubjectNotFoundError` if it has none.
    fn get(&self, py: Python<'_>, id: String) -> PyResult<BTreeMap<u8, PyTemplate>> {
        let gallery = self.gallery(py)?;
        let records = py.detach(|| gallery.get(&id)).py(py)?;
        Ok(records.into_iter().map(|r| (r.finger, PyTemplate::new(r.template))).collect())
    }

    /// Identifies a person from one or several fingers, as `ridgeline identify` does.
    ///
    /// `fingers`: a `Template` (finger position unknown: compared with every record) or
    /// `{finger position: Template}` (each print is compared with the records of its position
    /// and of unknown position; the fingers' evidence is fused per subject).
    /// `top`: how many candidate subjects to return. `fmr_per_search`: the acceptable chance
    /// that a person who is not enrolled is matched to someone (false positive identification
    /// rate); it is split over the subjects searched, so it holds at any gallery size.
    /// `exhaustive=True` compares with every record instead of the indexed two-stage search
    /// (slow; the reference).
    ///
    /// Returns an `Identification`: `.candidates` (`Candidate`: `id`, fused `score` and `fmr`,
    /// `finger` of the strongest evidence, per-finger `fingers`; best first), `.matched`
    /// (subject id or `None`), `.searched` (subjects), `.fmr_threshold` (the fused rate a
    /// match needs).
    #[pyo3(signature = (fingers, top=5, fmr_per_search=1e-4, *, exhaustive=false))]
    fn identify(
        &self,
        py: Python<'_>,
        fingers: &Bound<'_, PyAny>,
        top: usize,
        fmr_per_search: f64,
        exhaustive: bool,
    ) -> PyResult<PyIdentification> {
        check_fmr(py, fmr_per_search)?;
        if top == 0 {
            return Err(invalid(py, "top must be at least 1"));
        }
        let gallery = self.gallery(py)?;
        let fingers = parse_fingers(py, fingers)?;
        let mode = if exhaustive { SearchMode::Exhaustive } else { SearchMode::Indexed };
        let options =
            PersonSearchOptions { top_k: top, fmr_per_search, mode, allow_partial: false };
        let gallery = Arc::clone(&gallery);
        // The core's person identification, as `ridgeline identify` runs it (and records it
        // in the audit trail).
        let found = py.detach(|| gallery.identify_person(&as_prints(&fingers), &options)).py(py)?;
        Ok(found.into())
    }

    /// Live records (one per enrolled finger).
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.gallery(py)?.len())
    }

    /// Counts and sizes, as a dict.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let gallery = self.gallery(py)?;
        let s = py.detach(|| gallery.stats());
        let d = PyDict::new(py);
        d.set_item("generation", s.store.generation)?;
        d.set_item("live_records", s.store.live_records)?;
        d.set_item("deleted_records", s.store.deleted_records)?;
        d.set_item("segments", s.store.segments)?;
        d.set_item("damaged_segments", s.store.damaged_segments)?;
        d.set_item("segment_bytes", s.store.segment_bytes)?;
        d.set_item("descriptor_len", s.store.descriptor_len)?;
        d.set_item("descriptor_version", s.store.descriptor_version)?;
        d.set_item("index_bytes", s.coarse_bytes)?;
        Ok(d)
    }

    /// Reads every file and checks every checksum: `{"ok", "segments", "records",
    /// "problems": [{"path", "offset", "message"}]}`.
    fn verify<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let gallery = self.gallery(py)?;
        let report = py.detach(|| gallery.verify());
        let d = PyDict::new(py);
        d.set_item("ok", report.is_ok())?;
        d.set_item("segments", report.segments)?;
        d.set_item("records", report.records)?;
        let problems = PyList::empty(py);
        for p in &report.problems {
            let e = PyDict::new(py);
            e.set_item("path", p.path.clone())?;
            e.set_item("offset", p.offset)?;
            e.set_item("message", p.message.clone())?;
            problems.append(e)?;
        }
        d.set_item("problems", problems)?;
        Ok(d)
    }

    /// Rewrites segments without deleted records: `{"segments_before", "segments_after",
    /// "records_dropped", "records_rewritten"}`.
    fn compact<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let gallery = self.gallery(py)?;
        let r = py.detach(|| gallery.compact()).py(py)?;
        let d = PyDict::new(py);
        d.set_item("segments_before", r.segments_before)?;
        d.set_item("segments_after", r.segments_after)?;
        d.set_item("records_dropped", r.records_dropped)?;
        d.set_item("records_rewritten", r.records_rewritten)?;
        Ok(d)
    }

    /// De-duplicates the gallery: every subject against every other (all fingers fused), as
    /// `ridgeline dedup --gallery DIR` does; returns the same report as its JSON file, as a
    /// dict (`clusters`, `flags`, `stats`).
    ///
    /// `fmr`: acceptable chance that a subject without duplicates is linked falsely (per
    /// search). `exhaustive`: every pair instead of the candidate index. `candidates`:
    /// candidates the index proposes per subject. `checkpoint`: a file the run checkpoints to,
    /// and `resume=True` carries on from it. `html`: also write the clerk's adjudication page
    /// of the report to this file (owner-only), as `ridgeline dedup --html` does.
    #[pyo3(signature = (fmr=1e-4, *, exhaustive=false, candidates=DEFAULT_CANDIDATES_PER_RECORD, checkpoint=None, resume=false, html=None))]
    #[allow(clippy::too_many_arguments)]
    fn dedup<'py>(
        &self,
        py: Python<'py>,
        fmr: f64,
        exhaustive: bool,
        candidates: usize,
        checkpoint: Option<PathBuf>,
        resume: bool,
        html: Option<PathBuf>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let gallery = self.gallery(py)?;
        let json = py
            .detach(|| {
                let run = DedupRun { fmr, exhaustive, candidates, checkpoint, resume, html };
                dedup_report(&gallery, run)
            })
            .py(py)?;
        py.import("json")?.getattr("loads")?.call1((json,))
    }

    /// Releases the gallery (and its writer lock); further calls raise `GalleryClosedError`.
    fn close(&self) {
        let mut guard = self.inner.write().unwrap_or_else(|e| e.into_inner());
        *guard = None;
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        format!("Gallery({:?})", self.path.display().to_string())
    }

    /// Phase 1 of a sharded search (used by `ridgeline.distributed`): for each single-finger
    /// search of the probe fingers (see `CoarseSearch.lists`), the best `n` coarse scores on
    /// this gallery's current snapshot. The returned handle keeps that snapshot for the later
    /// phases.
    #[pyo3(signature = (fingers, n))]
    fn _coarse(
        &self,
        py: Python<'_>,
        fingers: &Bound<'_, PyAny>,
        n: usize,
    ) -> PyResult<PyCoarseSearch> {
        let gallery = self.gallery(py)?;
        let fingers = parse_fingers(py, fingers)?;
        py.detach(|| {
            let snapshot = gallery.snapshot();
            let index = gallery.subject_index(&snapshot)?;
            let probes: Vec<MatchTemplate> =
                fingers.iter().map(|(_, t)| MatchTemplate::prepare(t)).collect();
            // Records of unknown position are searched when any shard holds some: every
            // shard lists them, and the driver drops the lists where no shard does.
            let parts = fingers
                .iter()
                .enumerate()
                .flat_map(|(k, (position, _))| {
                    person::finger_filters(*position, true).into_iter().map(move |f| (k, f))
                })
                .map(|(probe, finger)| {
                    let list = sharding::coarse_top(&snapshot, probes[probe].view(), finger, n);
                    CoarsePart { probe, finger, list }
                })
                .collect();
            let positions: Vec<u8> = fingers.iter().map(|(p, _)| *p).collect();
            Ok(PyCoarseSearch {
                subjects_searched: index.searched_subjects(&positions),
                unknown_position: index.unknown_position(),
                gallery,
                snapshot,
                fingers,
                probes,
                parts,
            })
        })
        .py(py)
    }
}

/// One single-finger search of a sharded person search: probe finger `probe` (its index in
/// the probe) among the records of `finger`.
struct CoarsePart {
    probe: usize,
    finger: Option<u8>,
    list: sharding::CoarseList,
}

/// A shard's phase-1 answer, holding the snapshot it was computed on so that the later phases
/// read the same records.
#[pyclass(module = "ridgeline._native", name = "CoarseSearch", frozen)]
pub struct PyCoarseSearch {
    gallery: Arc<Gallery>,
    snapshot: Arc<Snapshot>,
    fingers: ProbeFingers,
    probes: Vec<MatchTemplate>,
    parts: Vec<CoarsePart>,
    subjects_searched: usize,
    unknown_position: usize,
}

impl std::fmt::Debug for PyCoarseSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoarseSearch").field("parts", &self.parts.len()).finish()
    }
}

impl PyCoarseSearch {
    fn part(&self, py: Python<'_>, part: usize) -> PyResult<&CoarsePart> {
        self.parts.get(part).ok_or_else(|| invalid(py, format!("no part {part} in this search")))
    }

    fn record(&self, py: Python<'_>, part: &CoarsePart, position: usize) -> PyResult<RecordId> {
        part.list
            .hits
            .get(position)
            .map(|h| h.record)
            .ok_or_else(|| invalid(py, format!("no coarse hit {position} in this search")))
    }
}

#[pymethods]
impl PyCoarseSearch {
    /// `(subjects searched, records of unknown position, parts)`: the subjects of this shard
    /// the person search covers, and per single-finger search (a part) `(probe finger index,
    /// finger filter (None: every record), records searched, coarse scores best first as a
    /// float32 array)`.
    #[allow(clippy::type_complexity)]
    fn lists<'py>(
        &self,
        py: Python<'py>,
    ) -> (usize, usize, Vec<(usize, Option<u8>, usize, Bound<'py, PyArray1<f32>>)>) {
        let parts = self
            .parts
            .iter()
            .map(|p| {
                let scores: Vec<f32> = p.list.hits.iter().map(|h| h.score).collect();
                (p.probe, p.finger, p.list.searched, PyArray1::from_vec(py, scores))
            })
            .collect();
        (self.subjects_searched, self.unknown_position, parts)
    }

    /// Phase 2: precise scores of the records at `positions` of part `part`'s coarse list:
    /// `(position, score, subject id, finger)` for each record. A record whose descriptor fails
    /// its checksum fails the call with `GalleryDamagedError`, as a single gallery's search
    /// does: a damaged descriptor would score as someone else, and skipping it could miss the
    /// person searched for.
    fn rerank(
        &self,
        py: Python<'_>,
        part: usize,
        positions: Vec<usize>,
    ) -> PyResult<Vec<(usize, f64, String, u8)>> {
        let p = self.part(py, part)?;
        let records =
            positions.iter().map(|&pos| self.record(py, p, pos)).collect::<PyResult<Vec<_>>>()?;
        let scores = py.detach(|| {
            sharding::rerank(
                &self.snapshot,
                self.gallery.matcher(),
                self.probes[p.probe].view(),
                &records,
            )
        });
        let mut out = Vec::with_capacity(records.len());
        for ((pos, record), score) in positions.into_iter().zip(records).zip(scores) {
            let Some(score) = score else {
                let damaged = ridgeline::Error::GalleryDamaged {
                    skipped: 1,
                    detail: format!(
                        "record {} of segment {:#x} fails its descriptor checksum",
                        record.index, record.segment
                    ),
                };
                return Err::<Vec<_>, _>(damaged).py(py);
            };
            let (id, finger) = self.snapshot.subject(record).py(py)?;
            // Canonical, as a gallery's own search reports it and its subject index keys it.
            out.push((pos, score, canonical_stored(id).into_owned(), finger));
        }
        Ok(out)
    }

    /// Phase 3: the evidence of this shard's candidate `subjects` (ids as `rerank` gave them),
    /// every probe finger compared with each subject's records, reusing the precise scores of
    /// the global short lists held here (`known`: `(part, position, score)`). Returns the
    /// candidates in wire form and the fresh comparisons made.
    fn evaluate(
        &self,
        py: Python<'_>,
        known: Vec<(usize, usize, f64)>,
        subjects: Vec<String>,
    ) -> PyResult<(Vec<WireCandidate>, usize)> {
        let mut scores: HashMap<(usize, RecordId), f64> = HashMap::with_capacity(known.len());
        for (part, position, score) in known {
            let p = self.part(py, part)?;
            scores.insert((p.probe, self.record(py, p, position)?), score);
        }
        let (candidates, compared) = py
            .detach(|| {
                let prints = as_prints(&self.fingers);
                self.gallery.evaluate_subjects(
                    &self.snapshot,
                    &prints,
                    &self.probes,
                    &subjects,
                    &scores,
                )
            })
            .py(py)?;
        Ok((candidates.iter().map(to_wire).collect(), compared))
    }
}

/// The options of each single-finger search of a person search keeping `top` candidates.
fn part_options(top: usize) -> SearchOptions {
    let options = PersonSearchOptions { top_k: top, ..PersonSearchOptions::default() };
    person::finger_search_options(&options, None)
}

/// How many coarse scores each shard returns per single-finger search of a person search
/// keeping `top` candidates.
#[pyfunction]
pub fn shard_coarse_len(top: usize) -> usize {
    sharding::max_kept(&part_options(top), None)
}

/// The global short list of one single-finger search from each shard's (searched, coarse
/// scores): `(searched, first, further)` with `first`/`further` lists of (shard, position).
#[pyfunction]
pub fn plan_shortlist(
    py: Python<'_>,
    top: usize,
    searched: Vec<usize>,
    scores: Vec<PyReadonlyArray1<'_, f32>>,
) -> PyResult<(usize, Vec<Position>, Vec<Position>)> {
    if searched.len() != scores.len() {
        return Err(invalid(py, "one searched count and one score array per shard"));
    }
    let owned: Vec<Vec<f32>> =
        scores.iter().map(|a| a.as_array().iter().copied().collect()).collect();
    let refs: Vec<&[f32]> = owned.iter().map(Vec::as_slice).collect();
    let plan = GlobalShortlist::plan(&refs, &searched, &part_options(top), None);
    let pairs = |v: &[ShardHit]| v.iter().map(|h| (h.shard, h.position)).collect();
    Ok((plan.searched, pairs(&plan.first), pairs(&plan.further)))
}

/// Whether a single-finger search whose short list's best precise score is `best` (None:
/// nothing re-ranked) re-ranks its escalation list too (`has_further`: the list is not empty).
#[pyfunction]
#[pyo3(signature = (top, best, has_further))]
pub fn needs_escalation(top: usize, best: Option<f64>, has_further: bool) -> bool {
    let plan = GlobalShortlist {
        further: if has_further { vec![ShardHit { shard: 0, position: 0 }] } else { Vec::new() },
        ..GlobalShortlist::default()
    };
    sharding::needs_escalation(best, &part_options(top), &plan)
}

/// The candidates of one single-finger search from its precise scores `(score, shard,
/// position)` over every shard: the best, as many as one gallery's search keeps, best first.
#[pyfunction]
pub fn shard_top(top: usize, scored: Vec<(f64, usize, usize)>) -> Vec<(f64, usize, usize)> {
    let scored = scored.into_iter().map(|(s, shard, position)| (s, ShardHit { shard, position }));
    sharding::top(scored.collect(), part_options(top).top_k)
        .into_iter()
        .map(|(s, h)| (s, h.shard, h.position))
        .collect()
}

/// The decision of a sharded person search (used by `ridgeline.distributed`): the core's rule
/// over the candidates every shard evaluated (`candidates`, in wire form) and the totals over
/// all shards.
#[pyfunction]
#[pyo3(signature = (candidates, searched, records_searched, compared, escalated, top, fmr_per_search))]
#[allow(clippy::too_many_arguments)]
pub fn decide_person(
    py: Python<'_>,
    candidates: Vec<WireCandidate>,
    searched: usize,
    records_searched: usize,
    compared: usize,
    escalated: bool,
    top: usize,
    fmr_per_search: f64,
) -> PyResult<PyIdentification> {
    check_fmr(py, fmr_per_search)?;
    let totals =
        PersonSearchTotals { searched, records_searched, compared, escalated, skipped_records: 0 };
    Ok(decision(candidates, &totals, top, fmr_per_search))
}

/// The settings of a `Gallery.dedup` call.
struct DedupRun {
    fmr: f64,
    exhaustive: bool,
    candidates: usize,
    checkpoint: Option<PathBuf>,
    resume: bool,
    html: Option<PathBuf>,
}

/// The `ridgeline dedup --gallery` report as JSON, and its adjudication page where asked.
fn dedup_report(gallery: &Gallery, run: DedupRun) -> ridgeline::Result<String> {
    let DedupRun { fmr, exhaustive, candidates, checkpoint, resume, html } = run;
    let started = Instant::now();
    let mode = if exhaustive { SearchMode::Exhaustive } else { SearchMode::Indexed };
    let population = GalleryPopulation::new(gallery, mode, &HashMap::new())?
        .with_candidates_per_record(candidates);
    let infos = population.infos();
    // The CLI's job key, so that a checkpoint written by either can be resumed by the other.
    let key = population_key(infos, fmr, mode);
    let config = SearchConfig { fmr_per_search: fmr, ..SearchConfig::default() };
    let stop = std::sync::atomic::AtomicBool::new(false);
    // An encrypted gallery's checkpoint is sealed with its key.
    let sealing = gallery.key();
    let outcome = search(
        &population,
        &config,
        key,
        checkpoint.as_deref().map(|path| Resumable { path, resume, key: sealing.as_deref() }),
        &stop,
        &mut |_, _| {},
    )?;
    let mut report =
        finish_report(&population, infos, &outcome, fmr, mode, started, &Distinct::default())?;
    crate::dedup::mark_complete(&mut report);
    if let Some(path) = &html {
        // Before the checkpoint goes: a page that cannot be written leaves the run resumable.
        // No image files here: the prints are drawn from their templates.
        let views =
            ridgeline_report::dedup::pair_views(&population, &report, gallery, &HashMap::new());
        ridgeline_report::dedup::write_page(
            &report,
            &views,
            infos,
            &Default::default(),
            &Default::default(),
            path,
        )
        .map_err(crate::errors::from_report)?;
    }
    if let Some(path) = &checkpoint {
        // The report holds everything the checkpoint did.
        let _ = std::fs::remove_file(path);
    }
    Ok(report.to_json())
}

/// Registers the classes and functions of this module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyGallery>()?;
    m.add_class::<PyCandidate>()?;
    m.add_class::<PyIdentification>()?;
    m.add_class::<PyFingerEvidence>()?;
    m.add_class::<PyCoarseSearch>()?;
    m.add("DUPLICATE_CHECK_CANDIDATES", person::DUPLICATE_CHECK_CANDIDATES)?;
    m.add_function(wrap_pyfunction!(shard_coarse_len, m)?)?;
    m.add_function(wrap_pyfunction!(plan_shortlist, m)?)?;
    m.add_function(wrap_pyfunction!(needs_escalation, m)?)?;
    m.add_function(wrap_pyfunction!(shard_top, m)?)?;
    m.add_function(wrap_pyfunction!(decide_person, m)?)?;
    Ok(())
}
