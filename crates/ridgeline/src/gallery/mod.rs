//! The gallery: a memory-mapped store of enrolled templates and 1:N identification over it.
//!
//! A key design decision: **files are written once and never modified**. A gallery is a folder
//! holding immutable segment files and a small manifest that names the live ones (plus a
//! deletion list); every change writes new files and then atomically replaces the manifest.
//! That gives three things at once:
//! * crash safety: the manifest on disk always names complete, fsync'd files;
//! * lock-free readers: a reader maps the segments of one manifest and keeps that snapshot for
//!   as long as it likes, while one writer (holding the `LOCK` file) carries on;
//! * no SIGBUS from our own writes: a mapped segment is never truncated or rewritten, only
//!   unlinked after compaction, which leaves existing maps valid.
//!
//! Opening maps the segments and checks their headers and bounds, without reading the records,
//! so it costs the same for ten records or a million. [`store::Snapshot::verify`] reads
//! everything and checks every checksum. The byte layout is in `docs/FORMATS.md`.
//!
//! Layers: [`segment`] (one file), `manifest` (the commit point), `lock` (one writer),
//! `store` (records as opaque descriptor bytes + templates, snapshots), [`audit`] (who did
//! what, hash-chained), [`seal`] (the key and the encryption of files at rest).

pub mod audit;
pub mod coarse_file;
mod damage;
pub mod identify;
mod lock;
pub(crate) mod manifest;
pub mod person;
pub mod seal;
#[cfg(test)]
mod seal_tests;
pub mod segment;
pub mod sharding;
mod store;
mod subjects;

use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::matcher::{MatchTemplate, Matcher, PreparedRef, PREPARED_FORMAT_VERSION, PREPARED_LEN};
use crate::template::Template;

pub use audit::{AuditReport, AuditTrail, Operation, Outcome};
pub use identify::{Candidate, Identification, SearchMode, SearchOptions};
pub use manifest::{Manifest, SegmentEntry, MANIFEST_FILE};
pub use person::{
    EnrolOptions, EnrolledPerson, FingerEvidence, NewPerson, PeopleOutcome, PersonCandidate,
    PersonIdentification, PersonRecord, PersonSearchOptions, PersonSearchTotals, Print,
};
pub use seal::GalleryKey;
pub(crate) use segment::MAX_SUBJECT_ID_LEN;
pub use segment::{DescriptorLayout, NewRecord, Problem, MAX_FINGER};
pub use store::{
    CompactOptions, CompactReport, DroppedRecord, OpenMode, OpenOptions, RecordId, Snapshot, Store,
    StoreStats, StoredRecord, VerifyReport,
};

/// The least minutiae a template needs to be enrolled: the same floor extraction applies
/// before it hands out a template (`RL_MIN_USABLE_MINUTIAE` in the C API).
pub const MIN_ENROL_MINUTIAE: usize = 6;

/// Refuses a template too sparse to enrol ([`MIN_ENROL_MINUTIAE`]).
pub fn check_enrollable(template: &Template) -> Result<()> {
    if template.minutiae.len() < MIN_ENROL_MINUTIAE {
        return Err(Error::TooFewMinutiae {
            found: template.minutiae.len(),
            min: MIN_ENROL_MINUTIAE,
        });
    }
    Ok(())
}

/// The descriptor layout this build's matcher produces.
pub fn matcher_layout() -> DescriptorLayout {
    DescriptorLayout { len: PREPARED_LEN as u32, version: PREPARED_FORMAT_VERSION }
}

/// The store's `SidecarWriter` for a gallery: the coarse descriptors of a segment just
/// written, built from its prepared descriptors, sealed under `key` when given, fsync'd.
fn write_coarse_sidecar(
    segment: &segment::Segment,
    path: &Path,
    key: Option<&GalleryKey>,
) -> Result<()> {
    let coarse = coarse_file::CoarseFile::build(segment.len(), |i| {
        segment.descriptor(i).and_then(|d| PreparedRef::from_bytes(d).ok())
    });
    coarse.write_with(path, key)
}

/// Re-prepares a gallery written for an earlier matcher (an older prepared descriptor layout)
/// from its stored templates, in one audited commit, so that this build can search it. Opening
/// does it once; it takes the writer lock for the time (about 0.25 ms of CPU per record, spread
/// over the threads), and fails with [`Error::GalleryLocked`] while another writer holds it.
fn upgrade(dir: &Path, options: &OpenOptions) -> Result<()> {
    let mut store = Store::open_with(dir, OpenMode::Writable, None, options)?;
    if store.snapshot().layout() == matcher_layout() {
        // Another opener upgraded it between our look and the lock.
        return Ok(());
    }
    store.set_sidecar_writer(Some(write_coarse_sidecar));
    store.relayout(matcher_layout(), &|template| {
        let template = Template::from_native_bytes(template)?;
        Ok(MatchTemplate::prepare(&template).as_bytes().to_vec())
    })?;
    Ok(())
}

/// One template to enrol.
#[derive(Debug, Clone, Copy)]
pub struct Enrolment<'a> {
    /// Subject id: 1–64 bytes of printable text.
    pub subject_id: &'a str,
    /// Finger position 0–10 (ISO/IEC 19794-2; 0 = unknown).
    pub finger: u8,
    /// The template.
    pub template: &'a Template,
}

/// An enrolled record read back.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrolledRecord {
    /// Subject id.
    pub subject_id: String,
    /// Finger position.
    pub finger: u8,
    /// The template as enrolled.
    pub template: Template,
}

/// Counts and sizes of a gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GalleryStats {
    /// The store's figures.
    pub store: StoreStats,
    /// Bytes of coarse descriptors mapped or built so far (0 until a search needs them).
    pub coarse_bytes: usize,
}

/// A gallery: the store plus the matcher.
///
/// `Sync`: share it (e.g. in an `Arc`) between threads that search while one enrols; every
/// search runs on the snapshot current when it started.
#[derive(Debug)]
pub struct Gallery {
    store: Store,
    matcher: Matcher,
    /// Short-list length of indexed searches (`None`: the default rule).
    shortlist: Option<usize>,
    /// Subject index cache and the enrolment lock of person-level operations.
    people: subjects::PersonState,
}

impl Gallery {
    /// Creates an empty gallery in `dir` and opens it writable.
    pub fn create(dir: &Path) -> Result<Gallery> {
        Gallery::create_with(dir, &OpenOptions::default())
    }

    /// [`Gallery::create`] with open options (the operator of the audit trail).
    pub fn create_with(dir: &Path, options: &OpenOptions) -> Result<Gallery> {
        Ok(Gallery::with_store(Store::create_with(dir, matcher_layout(), options)?))
    }

    /// Opens a gallery read-only (no lock) or writable (takes the writer lock).
    pub fn open(dir: &Path, mode: OpenMode) -> Result<Gallery> {
        Gallery::open_with(dir, mode, &OpenOptions::default())
    }

    /// [`Gallery::open`] with open options: the operator recorded in the audit trail with
    /// everything this opener does (searches too), or no auditing.
    pub fn open_with(dir: &Path, mode: OpenMode, options: &OpenOptions) -> Result<Gallery> {
        let store = match Store::open_with(dir, mode, Some(matcher_layout()), options) {
            Err(Error::GalleryDescriptorLayout { got_version, .. })
                if (1..PREPARED_FORMAT_VERSION).contains(&got_version) =>
            {
                upgrade(dir, options)?;
                Store::open_with(dir, mode, Some(matcher_layout()), options)?
            }
            opened => opened?,
        };
        Ok(Gallery::with_store(store))
    }

    fn with_store(mut store: Store) -> Gallery {
        store.set_sidecar_writer(Some(write_coarse_sidecar));
        Gallery { store, matcher: Matcher::new(), shortlist: None, people: Default::default() }
    }

    /// Sets how many records the first search stage hands to the precise matcher (`None`:
    /// the default rule, see `identify::SHORTLIST_MIN`); for experiments.
    pub fn with_shortlist(mut self, shortlist: Option<usize>) -> Gallery {
        self.shortlist = shortlist;
        self
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The matcher used for identification.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// The current snapshot (cheap): hold it to see one consistent state.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.store.snapshot()
    }

    /// Live records.
    pub fn len(&self) -> usize {
        self.snapshot().len()
    }

    /// Whether no record is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Enrols one template (one commit).
    pub fn enroll(&self, subject_id: &str, finger: u8, template: &Template) -> Result<RecordId> {
        let ids = self.enroll_batch(&[Enrolment { subject_id, finger, template }])?;
        ids.into_iter().next().ok_or_else(|| Error::InvalidArgument("nothing enrolled".into()))
    }

    /// Enrols a batch of records with one commit: all of it or, on error or crash, none of it.
    /// Subject ids are normalised (`crate::people::subject_id`). A record-level operation: it
    /// does not check that the prints belong to no other enrolled person; enrol people with
    /// [`Gallery::enroll_person`] for that.
    pub fn enroll_batch(&self, batch: &[Enrolment<'_>]) -> Result<Vec<RecordId>> {
        use rayon::prelude::*;
        let checked = batch
            .par_iter()
            .map(|e| {
                let subject_id = crate::people::normalize_subject_id(e.subject_id)?;
                segment::validate_finger(e.finger)?;
                check_enrollable(e.template)?;
                Ok(NewRecord {
                    subject_id,
                    finger: e.finger,
                    template: e.template.to_native_bytes()?,
                    descriptor: MatchTemplate::prepare(e.template).as_bytes().to_vec(),
                    demographics: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>>>();
        match checked {
            Ok(records) => self.store.append_replacing_as(records, &[], Operation::Enrol, ""),
            Err(e) => {
                let subjects: Vec<&str> = batch.iter().map(|e| e.subject_id).collect();
                self.store.record_error(Operation::Enrol, &subjects, &e);
                Err(e)
            }
        }
    }

    /// De-registers a subject: deletes all its records (every finger) with one commit.
    /// `SubjectNotFound` if it has none. The id is normalised (see `Gallery::remove_subject`).
    pub fn remove(&self, subject_id: &str) -> Result<usize> {
        self.remove_subject(subject_id)
    }

    /// Every live record of a subject (id normalised); `SubjectNotFound` if none. Recorded in
    /// the audit trail as an export: the templates leave the gallery.
    pub fn get(&self, subject_id: &str) -> Result<Vec<EnrolledRecord>> {
        let got = self.get_unrecorded(subject_id);
        self.record_export(subject_id, got.as_ref().map(Vec::len))?;
        got
    }

    /// Records that a subject's records were read out (or why not).
    pub(crate) fn record_export(
        &self,
        subject_id: &str,
        read: std::result::Result<usize, &Error>,
    ) -> Result<()> {
        match read {
            Ok(n) => self.store.record(&audit::Event {
                operation: Operation::Export,
                outcome: Outcome::Listed,
                generation: Some(self.snapshot().generation()),
                subjects: &[subject_id],
                detail: &format!("{n} records read out"),
            }),
            Err(e) => {
                self.store.record_error(Operation::Export, &[subject_id], e);
                Ok(())
            }
        }
    }

    fn get_unrecorded(&self, subject_id: &str) -> Result<Vec<EnrolledRecord>> {
        let subject_id = crate::people::subject_id::lookup_form(subject_id);
        let snapshot = self.snapshot();
        let index = self.subject_index(&snapshot)?;
        let records = index.records(&subject_id);
        if records.is_empty() {
            return Err(Error::SubjectNotFound { subject_id });
        }
        records
            .iter()
            .map(|&(id, _)| {
                let r = snapshot.record(id)?;
                Ok(EnrolledRecord {
                    subject_id: subject_id.clone(),
                    finger: r.finger,
                    template: Template::from_native_bytes(&r.template)?,
                })
            })
            .collect()
    }

    /// Counts and sizes.
    pub fn stats(&self) -> GalleryStats {
        let snap = self.snapshot();
        let coarse_bytes = snap
            .segments()
            .iter()
            .filter_map(|s| s.coarse_cache().get().map(|c| c.memory_bytes()))
            .sum();
        GalleryStats { store: snap.stats(), coarse_bytes }
    }

    /// Rewrites segments without deleted records.
    pub fn compact(&self) -> Result<CompactReport> {
        self.store.compact()
    }

    /// Compaction with options: drop damaged records (reporting each), purge removed bytes.
    pub fn compact_with(&self, options: CompactOptions) -> Result<CompactReport> {
        self.store.compact_with(options)
    }

    /// Rewrites the whole gallery under `new_key` (encrypting a clear one), crash-safely and
    /// audited as a key operation ([`Store::rekey`]).
    pub fn rekey(&self, new_key: GalleryKey, drop_damaged: bool) -> Result<CompactReport> {
        self.store.rekey(new_key, drop_damaged)
    }

    /// Whether the gallery is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.store.is_encrypted()
    }

    /// The gallery's key (`None`: a clear gallery); what it writes beside the gallery, such as
    /// a de-duplication checkpoint, is sealed with it.
    pub fn key(&self) -> Option<std::sync::Arc<GalleryKey>> {
        self.store.key()
    }

    /// Checks every checksum of every file.
    pub fn verify(&self) -> VerifyReport {
        self.snapshot().verify()
    }

    /// Maps (or, where a segment has no usable `.idx` sidecar, builds) the coarse descriptors of
    /// every segment now instead of at the first search.
    pub fn build_coarse(&self) {
        use rayon::prelude::*;
        let snap = self.snapshot();
        snap.segments().par_iter().for_each(|s| {
            identify::coarse_file(s);
        });
    }

    /// Finds the enrolled records most similar to `probe`, and records the search in the audit
    /// trail: the candidates returned (a record-level search makes no decision). No result is
    /// handed out that the trail did not take.
    pub fn identify(&self, probe: &Template, options: &SearchOptions) -> Result<Identification> {
        let snapshot = self.snapshot();
        let found = self.identify_in(&snapshot, probe, options);
        match &found {
            Ok(found) => {
                let subjects: Vec<&str> =
                    found.candidates.iter().map(|c| c.subject_id.as_str()).collect();
                let detail = format!(
                    "{} candidates, {} records searched, {} skipped",
                    found.candidates.len(),
                    found.searched,
                    found.skipped_records
                );
                self.store.record(&audit::Event {
                    operation: Operation::Identify,
                    outcome: Outcome::Listed,
                    generation: Some(snapshot.generation()),
                    subjects: &subjects,
                    detail: &detail,
                })?;
            }
            Err(e) => self.store.record_error(Operation::Identify, &[], e),
        }
        found
    }

    /// Like [`Gallery::identify`], on a snapshot the caller holds. Not recorded in the audit
    /// trail: a batch that searches many probes on one snapshot records the batch itself
    /// ([`Store::record`]).
    pub fn identify_in(
        &self,
        snapshot: &Snapshot,
        probe: &Template,
        options: &SearchOptions,
    ) -> Result<Identification> {
        if let Some(f) = options.finger {
            segment::validate_finger(f)?;
        }
        let prepared = MatchTemplate::prepare(probe);
        identify::identify(snapshot, &self.matcher, self.shortlist, prepared.view(), options)
    }
}
