//! The storage layer: segments + manifest + writer lock, and snapshots for readers.
//!
//! It stores descriptors as opaque fixed-size byte records (their layout is a parameter), so it
//! knows nothing of matching; [`super::Gallery`] puts the matcher on top. Of the coarse
//! descriptors written beside each segment it knows the file (name, magic, header checks, so
//! that it verifies, deletes and purges them with their segment), not their content: the
//! gallery hands it the function that builds and writes one (`SidecarWriter`).
//!
//! Commit protocol of every change (enrol, remove, compact), one writer at a time:
//! 1. write any new segment file in full and fsync it, then fsync the folder;
//! 2. write the new manifest to `MANIFEST.tmp`, fsync, rename over `MANIFEST`, fsync the folder;
//! 3. only then delete files the new manifest no longer names.
//!
//! A crash before step 2's rename leaves the previous manifest, which names only complete
//! files; files written by the interrupted change are orphans that the next writer deletes.
//! A change is acknowledged (its call returns `Ok`) only after step 2's folder fsync; a crash
//! between the rename and that return leaves the one change in flight committed but
//! unacknowledged (`docs/FORMATS.md`, "Commit protocol").

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use rayon::prelude::*;

use super::audit::{self, AuditTrail, Event, Operation, Outcome};
use super::lock::WriterLock;
use super::manifest::{self, Manifest, SegmentEntry, MANIFEST_FILE, MANIFEST_TMP_FILE};
use super::seal::GalleryKey;
use super::segment::{self, DescriptorLayout, NewRecord, Problem, Segment};
use crate::error::{Error, Result};

/// Writes the sidecar of a segment the store has just written: given the segment as written
/// (mapped, or decrypted into aligned memory), the sidecar's path and the key to seal it under,
/// it creates the file and fsyncs it. The store then fsyncs the folder and commits the
/// manifest; a failure abandons the change like a failed segment write.
pub(crate) type SidecarWriter = fn(&Segment, &Path, Option<&GalleryKey>) -> Result<()>;

/// Records per segment written by compaction: big enough that per-segment overheads vanish,
/// small enough that one segment is built in memory without strain.
pub const COMPACT_SEGMENT_RECORDS: usize = 1 << 16;
/// How often an opening reader retries when a concurrent compaction removed a segment between
/// reading the manifest and mapping the segment.
const OPEN_RETRIES: usize = 20;

/// Where a record lives: segment id and index within it. Stable until compaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId {
    /// Segment id.
    pub segment: u64,
    /// Index within the segment.
    pub index: u32,
}

/// A record read back from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Where it lives.
    pub id: RecordId,
    /// Subject id.
    pub subject_id: String,
    /// Finger position 0–10.
    pub finger: u8,
    /// Native template bytes.
    pub template: Vec<u8>,
}

/// Extensions of the per-segment files (`<segment id in hex>.<ext>`); the writer deletes such
/// files whose segment the manifest no longer names.
pub const SEGMENT_FILE_EXTENSIONS: &[&str] = &["seg", "idx"];

/// A mapped segment with the deletions that apply to it in one snapshot.
#[derive(Debug, Clone)]
pub struct LiveSegment {
    segment: Arc<Segment>,
    /// One bit per record, set when deleted; empty when nothing is deleted.
    deleted: Arc<Vec<u64>>,
    live: usize,
    /// The segment's coarse sidecar once a search has loaded it; shared by every snapshot that
    /// holds the segment, so each segment's is loaded once.
    coarse: Arc<std::sync::OnceLock<super::coarse_file::CoarseFile>>,
}

impl LiveSegment {
    /// The mapped segment.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// The slot of the segment's coarse sidecar, filled by the first search that needs it.
    pub(crate) fn coarse_cache(&self) -> &std::sync::OnceLock<super::coarse_file::CoarseFile> {
        &self.coarse
    }

    /// Whether record `index` is deleted in this snapshot.
    #[inline]
    pub fn is_deleted(&self, index: u32) -> bool {
        self.deleted.get(index as usize / 64).is_some_and(|w| w >> (index % 64) & 1 == 1)
    }

    /// Whether any record of `start..end` is deleted in this snapshot: one test of the bitmap's
    /// words for a run of records, so a pass over a segment without deletions skips the
    /// per-record test.
    pub(crate) fn any_deleted_in(&self, start: u32, end: u32) -> bool {
        if start >= end || self.deleted.is_empty() {
            return false;
        }
        let (first, last) = (start as usize / 64, (end as usize - 1) / 64);
        (first..=last).any(|w| {
            let Some(&word) = self.deleted.get(w) else { return false };
            let low = if w == first { start % 64 } else { 0 };
            let high = if w == last { (end - 1) % 64 } else { 63 };
            let mask = (u64::MAX >> (63 - high)) & (u64::MAX << low);
            word & mask != 0
        })
    }

    /// Whether record `index` takes part in a search: live, and of finger position `finger`
    /// where the search names one.
    #[inline]
    pub fn searchable(&self, index: u32, finger: Option<u8>) -> bool {
        if self.is_deleted(index) {
            return false;
        }
        match finger {
            None => true,
            Some(f) => self.segment.entry_view(index).is_ok_and(|v| v.finger == f),
        }
    }

    /// Live records in the segment.
    pub fn live(&self) -> usize {
        self.live
    }
}

/// An immutable view of the gallery at one commit: searches on it are unaffected by later
/// enrolments, removals or compactions (the mapped files stay valid while the view lives).
#[derive(Debug)]
pub struct Snapshot {
    generation: u64,
    layout: DescriptorLayout,
    segments: Vec<LiveSegment>,
    damaged: Vec<Problem>,
    /// Live records of the damaged segments.
    unreadable: usize,
    deletions: BTreeSet<(u64, u32)>,
}

impl Snapshot {
    /// Commit generation this view shows.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Descriptor layout.
    pub fn layout(&self) -> DescriptorLayout {
        self.layout
    }

    /// Live (not deleted) records in readable segments.
    pub fn len(&self) -> usize {
        self.segments.iter().map(|s| s.live).sum()
    }

    /// Whether no live record is readable.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The readable segments.
    pub fn segments(&self) -> &[LiveSegment] {
        &self.segments
    }

    /// Segments named by the manifest that could not be opened, with why.
    pub fn damaged(&self) -> &[Problem] {
        &self.damaged
    }

    /// Committed live records this snapshot cannot read: those of segments that could not be
    /// opened (missing, truncated, damaged header). Records damaged inside a readable segment
    /// are found when they are used (see [`Segment::record_intact`]) or by [`Snapshot::verify`].
    pub fn unreadable_records(&self) -> usize {
        self.unreadable
    }

    /// Refuses (`GalleryDamaged`) when a check over every record cannot be complete: a segment
    /// cannot be opened, or a live record's subject id fails its checksum. The duplicate check
    /// of an enrolment needs this: a record it cannot read might be the same subject.
    pub fn check_ids_readable(&self) -> Result<()> {
        let damaged_ids: Vec<(u64, u32)> = self
            .segments
            .par_iter()
            .flat_map_iter(|s| {
                let id = s.segment.id();
                s.segment
                    .damaged_ids()
                    .iter()
                    .filter(|&&i| !s.is_deleted(i))
                    .map(move |&i| (id, i))
                    .collect::<Vec<_>>()
            })
            .collect();
        let skipped = self.unreadable + damaged_ids.len();
        if skipped == 0 {
            return Ok(());
        }
        let detail = match (self.damaged.first(), damaged_ids.first()) {
            (Some(p), _) => p.to_string(),
            (None, Some(&(segment, index))) => {
                format!("segment {segment:#x} record {index}: subject id checksum mismatch")
            }
            (None, None) => String::new(),
        };
        Err(Error::GalleryDamaged { skipped, detail })
    }

    /// Number of deletion entries in the manifest.
    pub fn deleted(&self) -> usize {
        self.deletions.len()
    }

    pub(crate) fn live_segment(&self, id: u64) -> Option<&LiveSegment> {
        self.segments.iter().find(|s| s.segment.id() == id)
    }

    /// Subject id and finger of a record.
    pub fn subject(&self, id: RecordId) -> Result<(&str, u8)> {
        let seg = self
            .live_segment(id.segment)
            .ok_or_else(|| Error::InvalidArgument(format!("no segment {:#x}", id.segment)))?;
        seg.segment.subject(id.index)
    }

    /// Descriptor bytes of a record.
    pub fn descriptor(&self, id: RecordId) -> Option<&[u8]> {
        self.live_segment(id.segment)?.segment.descriptor(id.index)
    }

    /// Asks the kernel to start reading what comparing `records` reads ([`Segment::will_need`]),
    /// unless a sample of them is in memory already: a gallery in the page cache would pay a
    /// system call per record for nothing (a few percent of a search). The page cache itself
    /// says what is read, so records evicted since an earlier search are asked for again.
    pub(crate) fn read_ahead<T: Sync>(&self, items: &[T], record: impl Fn(&T) -> RecordId + Sync) {
        const SAMPLE: usize = 32;
        let step = (items.len() / SAMPLE).max(1);
        let resident = |id: RecordId| {
            self.live_segment(id.segment).map_or(true, |s| s.segment.descriptor_resident(id.index))
        };
        if items.iter().step_by(step).take(SAMPLE).all(|item| resident(record(item))) {
            return;
        }
        items.par_iter().for_each(|item| {
            let id = record(item);
            if let Some(seg) = self.live_segment(id.segment) {
                seg.segment.will_need(id.index);
            }
        });
    }

    /// Descriptor bytes of a record, only if they match their checksum (`None`: no such
    /// record, or damaged).
    pub fn intact_descriptor(&self, id: RecordId) -> Option<&[u8]> {
        let seg = &self.live_segment(id.segment)?.segment;
        if !seg.descriptor_intact(id.index) {
            return None;
        }
        seg.descriptor(id.index)
    }

    /// Whether every part of a record (id, descriptor, template) matches its checksum.
    pub fn record_intact(&self, id: RecordId) -> bool {
        self.live_segment(id.segment).is_some_and(|s| s.segment.record_intact(id.index))
    }

    /// The demographic payload stored with a record, its checksum checked; `None` when the
    /// record has none.
    pub fn demographics(&self, id: RecordId) -> Result<Option<&[u8]>> {
        let seg = self
            .live_segment(id.segment)
            .ok_or_else(|| Error::InvalidArgument(format!("no segment {:#x}", id.segment)))?;
        seg.segment.demographics(id.index)
    }

    /// Every live record of a subject (all fingers), found by a parallel scan of the ids.
    pub fn find(&self, subject_id: &str) -> Vec<RecordId> {
        let mut found: Vec<RecordId> = self
            .segments
            .par_iter()
            .flat_map_iter(|s| {
                (0..s.segment.len())
                    .filter(move |&i| {
                        !s.is_deleted(i)
                            && s.segment
                                .entry_view(i)
                                .is_ok_and(|v| v.subject_id == subject_id.as_bytes())
                    })
                    .map(move |index| RecordId { segment: s.segment.id(), index })
            })
            .collect();
        found.sort();
        found
    }

    /// Reads a record in full.
    pub fn record(&self, id: RecordId) -> Result<StoredRecord> {
        let seg = self
            .live_segment(id.segment)
            .ok_or_else(|| Error::InvalidArgument(format!("no segment {:#x}", id.segment)))?;
        let view = seg.segment.entry_view(id.index)?;
        let (subject_id, finger) = seg.segment.subject(id.index)?;
        if !seg.segment.template_intact(id.index) {
            return Err(Error::GalleryCorrupt {
                path: seg.segment.path().to_path_buf(),
                offset: 0,
                message: format!("record {}: template checksum mismatch", id.index),
            });
        }
        Ok(StoredRecord {
            id,
            subject_id: subject_id.to_string(),
            finger,
            template: view.template.to_vec(),
        })
    }

    /// Every live record of a subject; `SubjectNotFound` when there is none.
    pub fn get(&self, subject_id: &str) -> Result<Vec<StoredRecord>> {
        let ids = self.find(subject_id);
        if ids.is_empty() {
            return Err(Error::SubjectNotFound { subject_id: subject_id.to_string() });
        }
        ids.into_iter().map(|id| self.record(id)).collect()
    }

    /// Checks every checksum of every segment; lists damaged segments too.
    pub fn verify(&self) -> VerifyReport {
        let mut problems: Vec<Problem> = self
            .segments
            .par_iter()
            .flat_map_iter(|s| {
                let sidecar =
                    s.segment.path().with_file_name(super::coarse_file::file_name(s.segment.id()));
                let coarse_problem = super::coarse_file::CoarseFile::verify_file_with(
                    &sidecar,
                    s.segment.len(),
                    s.segment.key().map(|k| &**k),
                );
                s.segment.verify().into_iter().chain(coarse_problem)
            })
            .collect();
        problems.extend(self.damaged.iter().cloned());
        problems.sort_by(|a, b| (&a.path, a.offset).cmp(&(&b.path, b.offset)));
        VerifyReport {
            segments: self.segments.len() + self.damaged.len(),
            records: self.segments.iter().map(|s| s.segment.len() as usize).sum(),
            problems,
        }
    }

    /// Sizes and counts.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            generation: self.generation,
            live_records: self.len(),
            deleted_records: self.deletions.len(),
            segments: self.segments.len(),
            damaged_segments: self.damaged.len(),
            segment_bytes: self.segments.iter().map(|s| s.segment.file_len()).sum(),
            descriptor_len: self.layout.len,
            descriptor_version: self.layout.version,
        }
    }
}

/// What `verify` found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// Segments checked (readable and damaged).
    pub segments: usize,
    /// Records checked.
    pub records: usize,
    /// Every problem, by file and offset; empty when the gallery is intact.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Counts and sizes of one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreStats {
    /// Commit generation.
    pub generation: u64,
    /// Records that searches see.
    pub live_records: usize,
    /// Records deleted but not yet compacted away.
    pub deleted_records: usize,
    /// Readable segments.
    pub segments: usize,
    /// Segments that failed to open.
    pub damaged_segments: usize,
    /// Bytes of segment files.
    pub segment_bytes: u64,
    /// Bytes per descriptor record.
    pub descriptor_len: u32,
    /// Descriptor format version.
    pub descriptor_version: u16,
}

/// What compaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactReport {
    /// Segments before.
    pub segments_before: usize,
    /// Segments after.
    pub segments_after: usize,
    /// Deleted records dropped.
    pub records_dropped: usize,
    /// Live records rewritten into new segments.
    pub records_rewritten: usize,
    /// Live records dropped because they failed their checksums (only with
    /// [`CompactOptions::drop_damaged`]).
    pub damaged_dropped: Vec<DroppedRecord>,
    /// Segments that could not be opened, dropped from the manifest with their live records
    /// (only with [`CompactOptions::drop_damaged`]).
    pub segments_dropped: Vec<Problem>,
    /// Live records of the dropped segments.
    pub records_lost: usize,
    /// Whether the files of rewritten segments were overwritten with zeros before removal.
    pub purged: bool,
}

/// How to compact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompactOptions {
    /// Drop live records that fail their checksums, and segments that cannot be opened,
    /// reporting each, instead of refusing. Without it compaction refuses to rewrite damaged
    /// records, so that damage is never copied under fresh checksums.
    pub drop_damaged: bool,
    /// Overwrite the files of rewritten segments (and their sidecars) with zeros before
    /// removing them, so that removed records' bytes do not outlive the compaction in the
    /// files' blocks. Readers still holding an older snapshot then see those records as
    /// damaged.
    pub purge: bool,
}

/// A live record compaction dropped because it failed its checksums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedRecord {
    /// Where it lived.
    pub record: RecordId,
    /// Its subject id, where the id itself is intact.
    pub subject_id: Option<String>,
    /// Its finger position, where the id is intact.
    pub finger: Option<u8>,
}

/// Open read-only (any number at once) or writable (one at a time, holds the lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// No lock; sees the commit current at open (and at each [`Store::refresh`]).
    ReadOnly,
    /// Takes the writer lock; deletes orphaned files of interrupted writers.
    Writable,
}

/// How to open (or create) a gallery, beyond read-only or writable.
///
/// Built with [`OpenOptions::new`] and its setters, so that fields can join later (an
/// encryption key) without breaking callers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenOptions {
    /// The operator recorded with every audit entry this opener appends (`None`: not named).
    pub operator: Option<String>,
    /// Whether this opener records its operations in the audit trail. On by default; off is
    /// for scratch galleries and benchmarks, whose operations nobody has to account for.
    pub audit: bool,
    /// The gallery key: an encrypted gallery needs it, a clear one refuses it, and a gallery
    /// created with one is encrypted (`docs/SECURITY.md`).
    pub key: Option<GalleryKey>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { operator: None, audit: true, key: None }
    }
}

impl OpenOptions {
    /// The defaults: audited, no operator named.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Names the operator recorded in the audit trail (checked at open: 1–256 bytes of text
    /// without control characters).
    pub fn operator(mut self, operator: impl Into<String>) -> OpenOptions {
        self.operator = Some(operator.into());
        self
    }

    /// Turns the audit trail on or off for this opener.
    pub fn audit(mut self, enabled: bool) -> OpenOptions {
        self.audit = enabled;
        self
    }

    /// Sets the gallery key (an encrypted gallery; see [`OpenOptions::key`]).
    pub fn key(mut self, key: GalleryKey) -> OpenOptions {
        self.key = Some(key);
        self
    }

    /// Sets or clears the gallery key.
    pub fn key_opt(mut self, key: Option<GalleryKey>) -> OpenOptions {
        self.key = key;
        self
    }

    fn trail(&self, dir: &Path) -> Result<Option<AuditTrail>> {
        if let Some(op) = &self.operator {
            audit::validate_operator(op)?;
        }
        if !self.audit {
            return Ok(None);
        }
        AuditTrail::new(dir, self.operator.as_deref()).map(Some)
    }
}

/// A short name of an error's kind for the audit trail: never the message, which may carry
/// personal data.
pub fn error_kind(error: &Error) -> &'static str {
    match error {
        Error::Io { .. } => "io",
        Error::InvalidArgument(_) => "invalid_argument",
        Error::GalleryCorrupt { .. } => "gallery_corrupt",
        Error::GalleryVersion { .. } => "gallery_version",
        Error::GalleryDescriptorLayout { .. } => "descriptor_layout",
        Error::GalleryLocked { .. } => "gallery_locked",
        Error::GalleryDamaged { .. } => "gallery_damaged",
        Error::GalleryReadOnly { .. } => "gallery_read_only",
        Error::TooFewMinutiae { .. } => "too_few_minutiae",
        Error::SubjectNotFound { .. } => "subject_not_found",
        Error::AlreadyEnrolled { .. } => "already_enrolled",
        Error::InvalidSubjectId { .. } => "invalid_subject_id",
        Error::SubjectExists { .. } => "subject_exists",
        Error::DuplicatePerson { .. } => "duplicate_person",
        Error::AuditTrail { .. } => "audit_trail",
        Error::GalleryKey { .. } => "gallery_key",
        Error::GalleryRolledBack { .. } => "gallery_rolled_back",
        _ => "error",
    }
}

/// The audit outcome of an operation that ended in `error`: a failure of the medium, or a
/// refusal of the request.
pub fn error_outcome(error: &Error) -> Outcome {
    match error {
        Error::Io { .. } | Error::AuditTrail { .. } => Outcome::Failed,
        _ => Outcome::Refused,
    }
}

#[derive(Debug)]
struct WriterState {
    _lock: WriterLock,
    manifest: Manifest,
}

/// A gallery folder's storage.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    writer: Option<Mutex<WriterState>>,
    current: RwLock<Arc<Snapshot>>,
    /// What writes the sidecar of each new segment (`None`: no sidecars, for stores whose
    /// descriptors are not the matcher's).
    sidecar: Option<SidecarWriter>,
    /// Where this opener records what it does (`None`: not audited).
    audit: Option<AuditTrail>,
    /// The gallery key (`None`: a clear gallery); replaced only by [`Store::rekey`].
    key: RwLock<Option<Arc<GalleryKey>>>,
}

impl Store {
    /// Creates a new, empty gallery in `dir` (created if needed) and opens it writable.
    pub fn create(dir: &Path, layout: DescriptorLayout) -> Result<Store> {
        Store::create_with(dir, layout, &OpenOptions::default())
    }

    /// [`Store::create`] with open options; records the creation in the audit trail.
    pub fn create_with(
        dir: &Path,
        layout: DescriptorLayout,
        options: &OpenOptions,
    ) -> Result<Store> {
        if layout.len == 0 || layout.len % 8 != 0 {
            return Err(Error::InvalidArgument(format!(
                "descriptor length {} is not a positive multiple of 8",
                layout.len
            )));
        }
        if dir.join(MANIFEST_FILE).exists() {
            return Err(Error::InvalidArgument(format!(
                "{} already holds a gallery",
                dir.display()
            )));
        }
        refuse_non_empty(dir)?;
        let trail = options.trail(dir)?;
        crate::private_files::create_dir(dir).map_err(|e| Error::io(dir, e))?;
        let lock = WriterLock::acquire(dir)?;
        let manifest = Manifest::empty(layout);
        let key = options.key.clone().map(Arc::new);
        if let Some(trail) = &trail {
            trail.set_key(key.clone());
        }
        manifest.commit_with(dir, key.as_deref())?;
        let snapshot = Arc::new(build_snapshot(dir, &manifest, None, key.as_ref())?);
        let detail = match &key {
            Some(k) => format!("encrypted, key id {}", k.id_hex()),
            None => String::new(),
        };
        let store = Store {
            dir: dir.to_path_buf(),
            writer: Some(Mutex::new(WriterState { _lock: lock, manifest })),
            current: RwLock::new(snapshot),
            sidecar: None,
            audit: trail,
            key: RwLock::new(key),
        };
        store.record(&Event {
            operation: Operation::Create,
            outcome: Outcome::Committed,
            generation: Some(0),
            subjects: &[],
            detail: &detail,
        })?;
        Ok(store)
    }

    /// Opens an existing gallery. `layout` is the descriptor layout the caller needs (`None`
    /// accepts any, for tools that only inspect). Damaged segments don't fail the open: they
    /// are left out of searches and listed by `verify` and `stats`.
    pub fn open(dir: &Path, mode: OpenMode, layout: Option<DescriptorLayout>) -> Result<Store> {
        Store::open_with(dir, mode, layout, &OpenOptions::default())
    }

    /// [`Store::open`] with open options. A writable open records, in the audit trail, any
    /// commit a stopped writer made without recording it.
    pub fn open_with(
        dir: &Path,
        mode: OpenMode,
        layout: Option<DescriptorLayout>,
        options: &OpenOptions,
    ) -> Result<Store> {
        let trail = options.trail(dir)?;
        let lock = match mode {
            OpenMode::Writable => Some(WriterLock::acquire(dir)?),
            OpenMode::ReadOnly => None,
        };
        let key = options.key.clone().map(Arc::new);
        if let Some(trail) = &trail {
            trail.set_key(key.clone());
        }
        // An older manifest put back (authentic under the key, or merely consistent in a clear
        // gallery) is caught by the trail, which knows the newest generation committed. A clear
        // gallery has no MAC: one who rewrites the manifest and the trail's end together is not
        // caught (docs/SECURITY.md). The trail is read first: a writer commits its manifest
        // before its entry, so a commit between the two reads cannot look like a rollback.
        let audited = audit::last_committed_generation_from_end(dir);
        let (manifest, snapshot) = open_consistent(dir, key.as_ref())?;
        if let Some(audited) = audited {
            if audited > manifest.generation {
                return Err(Error::GalleryRolledBack {
                    path: dir.join(MANIFEST_FILE),
                    manifest: manifest.generation,
                    audited,
                });
            }
        }
        if let Some(expected) = layout {
            if manifest.layout != expected {
                return Err(Error::GalleryDescriptorLayout {
                    expected_version: expected.version,
                    expected_len: expected.len,
                    got_version: manifest.layout.version,
                    got_len: manifest.layout.len,
                });
            }
        }
        if lock.is_some() {
            remove_orphans(dir, &manifest)?;
        }
        let generation = manifest.generation;
        let store = Store {
            dir: dir.to_path_buf(),
            writer: lock.map(|l| Mutex::new(WriterState { _lock: l, manifest })),
            current: RwLock::new(Arc::new(snapshot)),
            sidecar: None,
            audit: trail,
            key: RwLock::new(key),
        };
        if store.writer.is_some() && store.audit.is_some() {
            if let Some(audited) = audit::last_committed_generation_from_end(dir) {
                if generation > audited {
                    let detail = format!(
                        "generations {} to {generation} were committed without their entries \
                         (a writer stopped between its commit and its entry)",
                        audited + 1
                    );
                    store.record(&Event {
                        operation: Operation::Recovery,
                        outcome: Outcome::Committed,
                        generation: Some(generation),
                        subjects: &[],
                        detail: &detail,
                    })?;
                }
            }
        }
        Ok(store)
    }

    /// The gallery key (`None`: a clear gallery).
    pub fn key(&self) -> Option<Arc<GalleryKey>> {
        self.key.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the gallery is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.key().is_some()
    }

    /// The audit trail this opener records to (`None`: opened without auditing).
    pub fn audit_trail(&self) -> Option<&AuditTrail> {
        self.audit.as_ref()
    }

    /// Appends an entry to the audit trail (nothing when opened without auditing).
    pub fn record(&self, event: &Event<'_>) -> Result<()> {
        match &self.audit {
            Some(trail) => trail.record(event).map(|_| ()),
            None => Ok(()),
        }
    }

    /// Records an operation that ended in `error` before committing anything, best effort:
    /// the caller reports the error itself, and a trail that cannot take the entry (a full
    /// disk) must not replace it.
    pub fn record_error(&self, operation: Operation, subjects: &[&str], error: &Error) {
        let _ = self.record(&Event {
            operation,
            outcome: error_outcome(error),
            generation: None,
            subjects,
            detail: error_kind(error),
        });
    }

    /// Records a committed change; a trail that cannot take the entry fails the call with a
    /// message saying that the change itself is committed (the next writable open records it).
    fn record_commit(
        &self,
        operation: Operation,
        generation: u64,
        subjects: &[&str],
        detail: &str,
    ) -> Result<()> {
        let event = Event {
            operation,
            outcome: Outcome::Committed,
            generation: Some(generation),
            subjects,
            detail,
        };
        self.record(&event).map_err(|e| Error::AuditTrail {
            path: self.dir.join(audit::AUDIT_FILE),
            message: format!(
                "generation {generation} is committed, but its entry could not be appended \
                 ({}); the next writable open records it",
                error_kind(&e)
            ),
        })
    }

    /// Writes a sidecar (`<id>.idx`) with `writer` beside every segment this store writes from
    /// now on (`None`: none).
    pub(crate) fn set_sidecar_writer(&mut self, writer: Option<SidecarWriter>) {
        self.sidecar = writer;
    }

    /// Writes segment `id` and, if configured, its sidecar; both fsync'd (the caller syncs the
    /// folder and commits the manifest afterwards).
    fn write_segment(
        &self,
        id: u64,
        layout: DescriptorLayout,
        records: &[NewRecord],
        key: Option<&Arc<GalleryKey>>,
    ) -> Result<()> {
        let bytes = segment::encode_with(id, layout, records, key.map(|k| &**k))?;
        let path = self.dir.join(segment::file_name(id));
        segment::write(&path, &bytes)?;
        drop(bytes);
        if let Some(write_sidecar) = self.sidecar {
            // Built from the file just written (mapped, or decrypted into aligned memory):
            // descriptors there are 8-byte aligned.
            let written = Segment::open_with(&path, id, records.len() as u32, key)?;
            let sidecar = self.dir.join(super::coarse_file::file_name(id));
            write_sidecar(&written, &sidecar, key.map(|k| &**k))?;
        }
        Ok(())
    }

    /// The gallery folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this handle may write.
    pub fn is_writable(&self) -> bool {
        self.writer.is_some()
    }

    /// The current snapshot: cheap (an `Arc` clone); hold it for as long as a search runs.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        // A poisoned lock only means a panic elsewhere while swapping an Arc; the Arc is intact.
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn publish(&self, snapshot: Snapshot) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snapshot);
    }

    /// Re-reads the manifest to see commits made by another process (readers).
    pub fn refresh(&self) -> Result<()> {
        if self.writer.is_some() {
            return Ok(()); // the writer's view is always current
        }
        let (_, snapshot) = open_consistent(&self.dir, self.key().as_ref())?;
        self.publish(snapshot);
        Ok(())
    }

    fn writer(&self) -> Result<MutexGuard<'_, WriterState>> {
        let writer = self
            .writer
            .as_ref()
            .ok_or_else(|| Error::GalleryReadOnly { path: self.dir.clone() })?;
        // A panic mid-commit leaves the manifest on disk authoritative; the in-memory copy is
        // only replaced after a successful commit, so it is still consistent.
        Ok(writer.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Appends a batch as one new segment with one commit; returns where the records landed.
    /// Refuses the whole batch if any (subject, finger 1–10) is already enrolled or repeated.
    pub fn append(&self, records: Vec<NewRecord>) -> Result<Vec<RecordId>> {
        self.append_replacing(records, &[])
    }

    /// Like [`Store::append`], and deletes the live records `replaced` in the same commit: a
    /// re-capture replaces a subject's old record of a finger, all or nothing. The replaced
    /// records do not count as already enrolled.
    pub fn append_replacing(
        &self,
        records: Vec<NewRecord>,
        replaced: &[RecordId],
    ) -> Result<Vec<RecordId>> {
        let operation = match (records.is_empty(), replaced.is_empty()) {
            (true, _) => Operation::Remove,
            (false, true) => Operation::Enrol,
            (false, false) => Operation::Update,
        };
        self.append_replacing_as(records, replaced, operation, "")
    }

    /// [`Store::append_replacing`], recorded in the audit trail as `operation` with `detail`
    /// (the subjects are those of the new and the replaced records).
    pub fn append_replacing_as(
        &self,
        records: Vec<NewRecord>,
        replaced: &[RecordId],
        operation: Operation,
        detail: &str,
    ) -> Result<Vec<RecordId>> {
        if records.is_empty() && replaced.is_empty() {
            return Ok(Vec::new());
        }
        let current = self.snapshot();
        let mut subjects: Vec<String> = records.iter().map(|r| r.subject_id.clone()).collect();
        subjects.extend(
            replaced.iter().filter_map(|&r| current.subject(r).ok()).map(|(id, _)| id.to_string()),
        );
        let subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
        match self.append_unrecorded(records, replaced) {
            Ok((generation, ids)) => {
                self.record_commit(operation, generation, &subjects, detail)?;
                Ok(ids)
            }
            Err(e) => {
                self.after_failure(&e);
                self.record_error(operation, &subjects, &e);
                Err(e)
            }
        }
    }

    /// Puts the writer back in order after a change failed on the medium (a full disk): files
    /// the change wrote but never committed are removed, so that the next change can write
    /// its segment under the same id; where the manifest on disk shows the change committed
    /// after all (its rename happened, a later sync failed), the writer adopts that state and
    /// records it. The writer lock is held throughout, so no other change has files in flight.
    fn after_failure(&self, error: &Error) {
        if !matches!(error, Error::Io { .. }) {
            return;
        }
        let Ok(mut w) = self.writer() else { return };
        let key = self.key();
        match Manifest::read_with(&self.dir, key.as_deref()) {
            Ok(disk) if disk.generation > w.manifest.generation => {
                let current = self.snapshot();
                if let Ok(snapshot) = build_snapshot(&self.dir, &disk, Some(&current), key.as_ref())
                {
                    let generation = disk.generation;
                    w.manifest = disk;
                    self.publish(snapshot);
                    let _ = self.record(&Event {
                        operation: Operation::Recovery,
                        outcome: Outcome::Committed,
                        generation: Some(generation),
                        subjects: &[],
                        detail: "committed although the call failed after the manifest rename",
                    });
                }
            }
            Ok(_) => {
                let _ = remove_orphans(&self.dir, &w.manifest);
            }
            Err(_) => {}
        }
    }

    fn append_unrecorded(
        &self,
        records: Vec<NewRecord>,
        replaced: &[RecordId],
    ) -> Result<(u64, Vec<RecordId>)> {
        let mut w = self.writer()?;
        for r in &records {
            segment::validate_subject_id(&r.subject_id)?;
            segment::validate_finger(r.finger)?;
            if r.descriptor.len() != w.manifest.layout.len as usize {
                return Err(Error::InvalidArgument(format!(
                    "descriptor of {} bytes, the gallery stores {}",
                    r.descriptor.len(),
                    w.manifest.layout.len
                )));
            }
        }
        let current = self.snapshot();
        let replaced: HashSet<(u64, u32)> = replaced.iter().map(|r| (r.segment, r.index)).collect();
        for &(segment, index) in &replaced {
            let live = current
                .live_segment(segment)
                .is_some_and(|s| index < s.segment.len() && !s.is_deleted(index));
            if !live {
                return Err(Error::InvalidArgument(format!(
                    "record {index} of segment {segment:#x} is not live"
                )));
            }
        }
        current.check_ids_readable()?;
        check_duplicates(&current, &records, &replaced)?;

        let key = self.key();
        let mut next = w.manifest.clone();
        let id = next.next_segment_id;
        next.generation += 1;
        if !records.is_empty() {
            next.next_segment_id += 1;
            self.write_segment(id, next.layout, &records, key.as_ref())?;
            manifest::sync_dir(&self.dir)?;
            next.segments.push(SegmentEntry { id, count: records.len() as u32 });
        }
        next.deletions.extend(replaced.iter().copied());
        next.commit_with(&self.dir, key.as_deref())?;

        let snapshot = build_snapshot(&self.dir, &next, Some(&current), key.as_ref())?;
        let generation = next.generation;
        w.manifest = next;
        self.publish(snapshot);
        Ok((
            generation,
            (0..records.len() as u32).map(|index| RecordId { segment: id, index }).collect(),
        ))
    }

    /// Deletes every record of a subject (de-registration) with one commit; returns how many.
    pub fn remove(&self, subject_id: &str) -> Result<usize> {
        match self.remove_unrecorded(subject_id) {
            Ok((generation, n)) => {
                self.record_commit(Operation::Remove, generation, &[subject_id], "")?;
                Ok(n)
            }
            Err(e) => {
                self.after_failure(&e);
                self.record_error(Operation::Remove, &[subject_id], &e);
                Err(e)
            }
        }
    }

    fn remove_unrecorded(&self, subject_id: &str) -> Result<(u64, usize)> {
        let mut w = self.writer()?;
        let current = self.snapshot();
        let found = current.find(subject_id);
        if found.is_empty() {
            return Err(Error::SubjectNotFound { subject_id: subject_id.to_string() });
        }
        let key = self.key();
        let mut next = w.manifest.clone();
        next.generation += 1;
        next.deletions.extend(found.iter().map(|r| (r.segment, r.index)));
        next.commit_with(&self.dir, key.as_deref())?;
        let snapshot = build_snapshot(&self.dir, &next, Some(&current), key.as_ref())?;
        let generation = next.generation;
        w.manifest = next;
        self.publish(snapshot);
        Ok((generation, found.len()))
    }

    /// Rewrites segments that hold deletions, and merges small segments, into new segments of
    /// up to `COMPACT_SEGMENT_RECORDS`; full segments without deletions are kept as they are.
    /// Refuses (`GalleryDamaged`) to rewrite a record that fails its checksums.
    pub fn compact(&self) -> Result<CompactReport> {
        self.compact_with(CompactOptions::default())
    }

    /// [`Store::compact`] with options: drop damaged records (reporting each) and purge.
    pub fn compact_with(&self, options: CompactOptions) -> Result<CompactReport> {
        let operation = if options.purge { Operation::Purge } else { Operation::Compact };
        match self.compact_unrecorded(options, None) {
            Ok((report, generation, erased)) => {
                if let Some(generation) = generation {
                    let mut subjects: Vec<&str> = erased.iter().map(String::as_str).collect();
                    subjects.extend(
                        report.damaged_dropped.iter().filter_map(|d| d.subject_id.as_deref()),
                    );
                    let detail = format!(
                        "{} deleted records dropped, {} rewritten, {} damaged dropped, {} lost",
                        report.records_dropped,
                        report.records_rewritten,
                        report.damaged_dropped.len(),
                        report.records_lost
                    );
                    self.record_commit(operation, generation, &subjects, &detail)?;
                }
                Ok(report)
            }
            Err(e) => {
                self.after_failure(&e);
                self.record_error(operation, &[], &e);
                Err(e)
            }
        }
    }

    /// Rewrites every live record under `new_key` through compaction, and with it the
    /// manifest and the sidecars; encrypts a clear gallery. Crash-safe like compaction: the
    /// old files, under the old key, stay valid and named until the new manifest's rename
    /// commits the new key; the old files are then overwritten with zeros and removed.
    /// Refuses (`GalleryDamaged`) when a record fails its checksums or a segment cannot be
    /// read, unless `drop_damaged`. Recorded in the audit trail as a key operation.
    pub fn rekey(&self, new_key: GalleryKey, drop_damaged: bool) -> Result<CompactReport> {
        let old = self.key().map(|k| k.id_hex());
        let new_key = Arc::new(new_key);
        let options = CompactOptions { drop_damaged, purge: true };
        match self.compact_unrecorded(options, Some(&new_key)) {
            Ok((report, generation, erased)) => {
                let detail = match old {
                    Some(old) => format!("key id {old} replaced by {}", new_key.id_hex()),
                    None => format!("encrypted under key id {}", new_key.id_hex()),
                };
                let detail = format!(
                    "{detail}; {} records rewritten, {} deleted records dropped",
                    report.records_rewritten, report.records_dropped
                );
                let mut subjects: Vec<&str> = erased.iter().map(String::as_str).collect();
                subjects
                    .extend(report.damaged_dropped.iter().filter_map(|d| d.subject_id.as_deref()));
                if let Some(generation) = generation {
                    self.record_commit(Operation::Key, generation, &subjects, &detail)?;
                }
                Ok(report)
            }
            Err(e) => {
                self.after_failure(&e);
                self.record_error(Operation::Key, &[], &e);
                Err(e)
            }
        }
    }

    /// Compaction; returns the report, the generation committed (`None`: nothing to do) and
    /// the subject ids of the deleted records whose bytes it dropped. With `new_key`, every
    /// segment is rewritten under it and the manifest committed under it.
    fn compact_unrecorded(
        &self,
        options: CompactOptions,
        new_key: Option<&Arc<GalleryKey>>,
    ) -> Result<(CompactReport, Option<u64>, Vec<String>)> {
        let mut w = self.writer()?;
        let current = self.snapshot();
        let rekey = new_key.is_some();
        let key = match new_key {
            Some(k) => Some(k.clone()),
            None => self.key(),
        };
        let before = w.manifest.segments.len();
        let mut keep = Vec::new();
        let mut rewrite = Vec::new();
        let mut lost_segments = Vec::new();
        for entry in &w.manifest.segments {
            let seg = current.live_segment(entry.id);
            let has_deletions = seg.is_some_and(|s| s.live < entry.count as usize);
            let small = (entry.count as usize) < COMPACT_SEGMENT_RECORDS;
            match seg {
                Some(s) if has_deletions || small || rekey => rewrite.push(s.clone()),
                // A full segment is rewritten only to drop damaged records from it.
                Some(s) if options.drop_damaged && !damaged_records(s).is_empty() => {
                    rewrite.push(s.clone())
                }
                Some(_) => keep.push(*entry),
                None if options.drop_damaged => lost_segments.push(*entry),
                // Rekeying leaves no file under the old key behind.
                None if rekey => {
                    return Err(Error::GalleryDamaged {
                        skipped: current.unreadable,
                        detail: format!(
                            "segment {:#x} cannot be read, so it cannot be rewritten under the \
                             new key",
                            entry.id
                        ),
                    })
                }
                // Damaged segments stay named, so that verify keeps reporting them.
                None => keep.push(*entry),
            }
        }
        let damaged: Vec<RecordId> = rewrite
            .par_iter()
            .flat_map_iter(|s| {
                let segment = s.segment.id();
                damaged_records(s).into_iter().map(move |index| RecordId { segment, index })
            })
            .collect();
        if !damaged.is_empty() && !options.drop_damaged {
            let listed: Vec<String> = damaged
                .iter()
                .take(5)
                .map(|r| format!("segment {:#x} record {}", r.segment, r.index))
                .collect();
            return Err(Error::GalleryDamaged {
                skipped: damaged.len(),
                detail: format!(
                    "{} fail their checksums; compaction does not copy damage",
                    listed.join(", ")
                ),
            });
        }
        let damaged_set: HashSet<RecordId> = damaged.iter().copied().collect();
        let damaged_dropped: Vec<DroppedRecord> = damaged
            .iter()
            .map(|&record| {
                let subject = current
                    .live_segment(record.segment)
                    .and_then(|s| s.segment.subject(record.index).ok());
                DroppedRecord {
                    record,
                    subject_id: subject.map(|(id, _)| id.to_string()),
                    finger: subject.map(|(_, f)| f),
                }
            })
            .collect();
        let lost_ids: HashSet<u64> = lost_segments.iter().map(|e| e.id).collect();
        let segments_dropped: Vec<Problem> = current
            .damaged
            .iter()
            .filter(|p| lost_ids.iter().any(|&id| p.path == self.dir.join(segment::file_name(id))))
            .cloned()
            .collect();
        let records_lost = if lost_segments.is_empty() { 0 } else { current.unreadable };
        let dropped: usize = rewrite.iter().map(|s| s.segment.len() as usize - s.live).sum();
        let small_only = rewrite.len() <= 1 && dropped == 0 && damaged.is_empty();
        if !rekey && lost_segments.is_empty() && (rewrite.is_empty() || small_only) {
            let nothing = CompactReport {
                segments_before: before,
                segments_after: before,
                records_dropped: 0,
                records_rewritten: 0,
                damaged_dropped: Vec::new(),
                segments_dropped: Vec::new(),
                records_lost: 0,
                purged: false,
            };
            return Ok((nothing, None, Vec::new()));
        }
        // Whose removed records this compaction drops (erases, with `purge`).
        let mut erased: Vec<String> = rewrite
            .iter()
            .flat_map(|s| {
                (0..s.segment.len())
                    .filter(|&i| s.is_deleted(i))
                    .filter_map(|i| s.segment.subject(i).ok().map(|(id, _)| id.to_string()))
            })
            .collect();
        erased.sort();
        erased.dedup();

        let mut next = w.manifest.clone();
        next.generation += 1;
        let mut writer = SegmentBatches::new(self, next.layout, key.as_ref());
        for s in &rewrite {
            for i in 0..s.segment.len() {
                let here = RecordId { segment: s.segment.id(), index: i };
                if s.is_deleted(i) || damaged_set.contains(&here) {
                    continue;
                }
                let view = s.segment.entry_view(i)?;
                let (subject_id, finger) = s.segment.subject(i)?;
                let descriptor = s.segment.descriptor(i).unwrap_or_default().to_vec();
                let demographics = s.segment.demographics(i)?.unwrap_or_default().to_vec();
                let record = NewRecord {
                    subject_id: subject_id.to_string(),
                    finger,
                    template: view.template.to_vec(),
                    descriptor,
                    demographics,
                };
                writer.push(record, &mut next)?;
            }
        }
        let (new_segments, rewritten) = writer.finish(&mut next)?;
        let mut removed: HashSet<u64> = rewrite.iter().map(|s| s.segment.id()).collect();
        removed.extend(&lost_ids);
        next.segments = keep;
        next.segments.extend(new_segments);
        next.deletions.retain(|(seg, _)| !removed.contains(seg));
        next.commit_with(&self.dir, key.as_deref())?;
        if rekey {
            *self.key.write().unwrap_or_else(|p| p.into_inner()) = key.clone();
            if let Some(trail) = &self.audit {
                trail.set_key(key.clone());
            }
        }
        let snapshot = build_snapshot(&self.dir, &next, Some(&current), key.as_ref())?;
        let after = next.segments.len();
        let generation = next.generation;
        w.manifest = next;
        self.publish(snapshot);
        self.remove_segment_files(removed, options.purge)?;
        let report = CompactReport {
            segments_before: before,
            segments_after: after,
            records_dropped: dropped,
            records_rewritten: rewritten,
            damaged_dropped,
            segments_dropped,
            records_lost,
            purged: options.purge,
        };
        Ok((report, Some(generation), erased))
    }

    /// Removes the files of segments no longer named by the manifest (zeroed first with
    /// `purge`). Readers holding an old mapping keep it: unlink leaves the inode until unmapped.
    fn remove_segment_files(&self, ids: impl IntoIterator<Item = u64>, purge: bool) -> Result<()> {
        for id in ids {
            let path = self.dir.join(segment::file_name(id));
            let sidecar = self.dir.join(super::coarse_file::file_name(id));
            for file in [&path, &sidecar] {
                if purge {
                    overwrite_with_zeros(file)?;
                }
                match std::fs::remove_file(file) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(Error::io(file, e))
                    }
                    _ => {}
                }
            }
        }
        manifest::sync_dir(&self.dir)
    }

    /// Rewrites every live record with a descriptor of `layout` made by `describe` from its
    /// stored template, in one commit (audited as an upgrade): how a gallery written for an
    /// earlier matcher becomes searchable by this one. Deleted records are dropped on the way.
    /// Refuses a gallery with damage, which would otherwise be copied or lost: compact it with
    /// [`CompactOptions::drop_damaged`] first. Returns the records rewritten.
    pub fn relayout(
        &self,
        layout: DescriptorLayout,
        describe: &(dyn Fn(&[u8]) -> Result<Vec<u8>> + Sync),
    ) -> Result<usize> {
        match self.relayout_unrecorded(layout, describe) {
            Ok((rewritten, generation, from)) => {
                let detail = format!(
                    "{rewritten} records re-prepared from descriptor layout version {} ({} bytes) \
                     to version {} ({} bytes)",
                    from.version, from.len, layout.version, layout.len
                );
                self.record_commit(Operation::Upgrade, generation, &[], &detail)?;
                Ok(rewritten)
            }
            Err(e) => {
                self.after_failure(&e);
                self.record_error(Operation::Upgrade, &[], &e);
                Err(e)
            }
        }
    }

    fn relayout_unrecorded(
        &self,
        layout: DescriptorLayout,
        describe: &(dyn Fn(&[u8]) -> Result<Vec<u8>> + Sync),
    ) -> Result<(usize, u64, DescriptorLayout)> {
        let mut w = self.writer()?;
        let current = self.snapshot();
        let key = self.key();
        let from = w.manifest.layout;
        let damaged: usize = current.segments.iter().map(|s| damaged_records(s).len()).sum();
        if !current.damaged.is_empty() || damaged > 0 {
            return Err(Error::GalleryDamaged {
                skipped: damaged + current.unreadable,
                detail: "re-preparing the gallery for this matcher would copy or lose damaged \
                         records; run `gallery verify`, then `gallery compact --drop-damaged`"
                    .into(),
            });
        }
        let mut next = w.manifest.clone();
        next.generation += 1;
        next.layout = layout;
        let mut writer = SegmentBatches::new(self, layout, key.as_ref());
        for s in current.segments.iter() {
            let live: Vec<u32> = (0..s.segment.len()).filter(|&i| !s.is_deleted(i)).collect();
            let records: Vec<NewRecord> = live
                .par_iter()
                .map(|&i| {
                    let view = s.segment.entry_view(i)?;
                    let (subject_id, finger) = s.segment.subject(i)?;
                    let descriptor = describe(view.template)?;
                    if descriptor.len() != layout.len as usize {
                        return Err(Error::InvalidArgument(format!(
                            "a re-prepared descriptor holds {} bytes, the layout {}",
                            descriptor.len(),
                            layout.len
                        )));
                    }
                    Ok(NewRecord {
                        subject_id: subject_id.to_string(),
                        finger,
                        template: view.template.to_vec(),
                        descriptor,
                        demographics: s.segment.demographics(i)?.unwrap_or_default().to_vec(),
                    })
                })
                .collect::<Result<_>>()?;
            for record in records {
                writer.push(record, &mut next)?;
            }
        }
        let (written, rewritten) = writer.finish(&mut next)?;
        let old: Vec<u64> = w.manifest.segments.iter().map(|e| e.id).collect();
        next.segments = written;
        next.deletions.clear();
        next.commit_with(&self.dir, key.as_deref())?;
        let snapshot = build_snapshot(&self.dir, &next, None, key.as_ref())?;
        let generation = next.generation;
        w.manifest = next;
        self.publish(snapshot);
        self.remove_segment_files(old, false)?;
        Ok((rewritten, generation, from))
    }
}

/// Records rewritten into new segments of [`COMPACT_SEGMENT_RECORDS`] each (compaction, rekey,
/// re-preparing): ids come from the next manifest, and every file is synced before it is named.
struct SegmentBatches<'a> {
    store: &'a Store,
    layout: DescriptorLayout,
    key: Option<&'a Arc<GalleryKey>>,
    batch: Vec<NewRecord>,
    written: Vec<SegmentEntry>,
    records: usize,
}

impl<'a> SegmentBatches<'a> {
    fn new(store: &'a Store, layout: DescriptorLayout, key: Option<&'a Arc<GalleryKey>>) -> Self {
        SegmentBatches { store, layout, key, batch: Vec::new(), written: Vec::new(), records: 0 }
    }

    fn push(&mut self, record: NewRecord, next: &mut Manifest) -> Result<()> {
        self.batch.push(record);
        self.records += 1;
        if self.batch.len() == COMPACT_SEGMENT_RECORDS {
            self.flush(next)?;
        }
        Ok(())
    }

    fn flush(&mut self, next: &mut Manifest) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let id = next.next_segment_id;
        next.next_segment_id += 1;
        self.store.write_segment(id, self.layout, &self.batch, self.key)?;
        self.written.push(SegmentEntry { id, count: self.batch.len() as u32 });
        self.batch.clear();
        Ok(())
    }

    /// Writes the last batch and syncs the folder; returns the new segments and the records.
    fn finish(mut self, next: &mut Manifest) -> Result<(Vec<SegmentEntry>, usize)> {
        self.flush(next)?;
        manifest::sync_dir(&self.store.dir)?;
        Ok((self.written, self.records))
    }
}

/// Live records of a segment that fail any of their checksums.
fn damaged_records(s: &LiveSegment) -> Vec<u32> {
    (0..s.segment.len()).filter(|&i| !s.is_deleted(i) && !s.segment.record_intact(i)).collect()
}

/// Overwrites a file's bytes with zeros in place and syncs it (a missing file is nothing to
/// erase). Best effort against the medium: copy-on-write file systems and flash translation
/// layers may keep the old blocks (`docs/SECURITY.md`).
fn overwrite_with_zeros(path: &Path) -> Result<()> {
    use std::io::Write;
    let mut file = match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let zeros = vec![0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n]).map_err(|e| Error::io(path, e))?;
        left -= n as u64;
    }
    file.sync_all().map_err(|e| Error::io(path, e))
}

fn check_duplicates(
    current: &Snapshot,
    records: &[NewRecord],
    replaced: &HashSet<(u64, u32)>,
) -> Result<()> {
    let mut batch: HashSet<(&[u8], u8)> = HashSet::new();
    for r in records.iter().filter(|r| r.finger != 0) {
        if !batch.insert((r.subject_id.as_bytes(), r.finger)) {
            return Err(Error::AlreadyEnrolled {
                subject_id: r.subject_id.clone(),
                finger: r.finger,
            });
        }
    }
    if batch.is_empty() {
        return Ok(());
    }
    let clash = current.segments.par_iter().find_map_any(|s| {
        (0..s.segment.len()).find_map(|i| {
            let v = s.segment.entry_view(i).ok()?;
            (!s.is_deleted(i)
                && !replaced.contains(&(s.segment.id(), i))
                && batch.contains(&(v.subject_id, v.finger)))
            .then(|| (String::from_utf8_lossy(v.subject_id).into_owned(), v.finger))
        })
    });
    match clash {
        Some((subject_id, finger)) => Err(Error::AlreadyEnrolled { subject_id, finger }),
        None => Ok(()),
    }
}

/// Reads the manifest and maps its segments, retrying if a concurrent compaction deleted a
/// segment between the two steps.
fn open_consistent(dir: &Path, key: Option<&Arc<GalleryKey>>) -> Result<(Manifest, Snapshot)> {
    let mut attempt = 0;
    loop {
        let manifest = Manifest::read_with(dir, key.map(|k| &**k))?;
        let snapshot = build_snapshot(dir, &manifest, None, key)?;
        let raced = !snapshot.damaged.is_empty()
            && attempt < OPEN_RETRIES
            && Manifest::read_with(dir, key.map(|k| &**k))
                .is_ok_and(|m| m.generation != manifest.generation);
        if !raced {
            return Ok((manifest, snapshot));
        }
        attempt += 1;
    }
}

/// Maps the manifest's segments, reusing maps of a previous snapshot.
fn build_snapshot(
    dir: &Path,
    manifest: &Manifest,
    previous: Option<&Snapshot>,
    key: Option<&Arc<GalleryKey>>,
) -> Result<Snapshot> {
    let reuse: HashMap<u64, &LiveSegment> = previous
        .map(|p| p.segments.iter().map(|s| (s.segment.id(), s)).collect())
        .unwrap_or_default();
    let mut deleted_by_segment: HashMap<u64, Vec<u32>> = HashMap::new();
    for &(seg, index) in &manifest.deletions {
        deleted_by_segment.entry(seg).or_default().push(index);
    }
    let mut segments = Vec::with_capacity(manifest.segments.len());
    let mut damaged = Vec::new();
    let mut unreadable = 0usize;
    for entry in &manifest.segments {
        // Live records of this segment, counted as unreadable if it cannot be opened.
        let live_here = entry.count as usize
            - deleted_by_segment
                .get(&entry.id)
                .map_or(0, |v| v.iter().filter(|&&i| i < entry.count).count());
        let path = dir.join(segment::file_name(entry.id));
        let (segment, coarse) = match reuse.get(&entry.id) {
            Some(s) => (s.segment.clone(), s.coarse.clone()),
            None => match Segment::open_with(&path, entry.id, entry.count, key) {
                Ok(s) => (Arc::new(s), Arc::default()),
                // The manifest authenticated under the gallery key (or is clear): a segment
                // under another key, or clear in an encrypted gallery, does not belong here.
                Err(Error::GalleryKey { path, message }) => {
                    damaged.push(Problem {
                        path,
                        offset: segment::OFFSET_PROTECTION as u64,
                        message,
                    });
                    unreadable += live_here;
                    continue;
                }
                Err(Error::GalleryCorrupt { path, offset, message }) => {
                    damaged.push(Problem { path, offset, message });
                    unreadable += live_here;
                    continue;
                }
                Err(Error::GalleryVersion { path, expected, got }) => {
                    damaged.push(Problem {
                        path,
                        offset: segment::OFFSET_VERSION as u64,
                        message: format!("format version {got}, this build reads {expected}"),
                    });
                    unreadable += live_here;
                    continue;
                }
                Err(Error::Io { source, .. }) => {
                    damaged.push(Problem {
                        path,
                        offset: 0,
                        message: format!("cannot open: {source}"),
                    });
                    unreadable += live_here;
                    continue;
                }
                Err(other) => return Err(other),
            },
        };
        if segment.layout() != manifest.layout {
            damaged.push(Problem {
                path,
                offset: segment::OFFSET_DESCRIPTOR_LEN as u64,
                message: "descriptor layout differs from the manifest's".into(),
            });
            unreadable += live_here;
            continue;
        }
        let deleted_idx = deleted_by_segment.get(&entry.id);
        let mut bits = Vec::new();
        let mut deleted = 0usize;
        if let Some(indices) = deleted_idx {
            bits = vec![0u64; (entry.count as usize).div_ceil(64)];
            for &i in indices.iter().filter(|&&i| i < entry.count) {
                bits[i as usize / 64] |= 1 << (i % 64);
                deleted += 1;
            }
        }
        segments.push(LiveSegment {
            segment,
            deleted: Arc::new(bits),
            live: entry.count as usize - deleted,
            coarse,
        });
    }
    Ok(Snapshot {
        generation: manifest.generation,
        layout: manifest.layout,
        segments,
        damaged,
        unreadable,
        deletions: manifest.deletions.clone(),
    })
}

/// Refuses to create a gallery in a folder that holds anything: the writer deletes files named
/// like its own that the manifest does not name, and a gallery shares its folder with nobody.
fn refuse_non_empty(dir: &Path) -> Result<()> {
    let mut entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    if let Some(entry) = entries.next() {
        let name = entry.map_err(|e| Error::io(dir, e))?.file_name();
        return Err(Error::InvalidArgument(format!(
            "{} is not empty (it holds {name:?}); a gallery is created in a new or empty folder",
            dir.display()
        )));
    }
    Ok(())
}

/// Whether a file left beside the manifest is one a writer of ours wrote: empty or all zeros
/// at the start (cut off by a crash before its first bytes reached the disk), or starting with
/// the magic of a segment, a coarse sidecar or a manifest. Anything else is left alone.
fn written_by_us(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    let Ok(file) = std::fs::File::open(path) else { return false };
    let mut read = 0;
    let mut reader = file.take(8);
    while let Ok(n) = reader.read(&mut head[read..]) {
        if n == 0 {
            break;
        }
        read += n;
    }
    let head = &head[..read];
    head.iter().all(|&b| b == 0)
        || head.starts_with(&segment::SEGMENT_MAGIC)
        || head.starts_with(&manifest::MANIFEST_MAGIC)
        || head.starts_with(&super::coarse_file::COARSE_MAGIC)
}

/// Deletes files an interrupted writer left behind: segments (and their sidecar files) the
/// manifest does not name, and a half-written manifest; only files that look like our own
/// ([`written_by_us`]).
fn remove_orphans(dir: &Path, manifest: &Manifest) -> Result<()> {
    let named: HashSet<u64> = manifest.segments.iter().map(|s| s.id).collect();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut removed = false;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let orphan = match name.split_once('.') {
            Some((stem, ext)) if SEGMENT_FILE_EXTENSIONS.contains(&ext) => {
                u64::from_str_radix(stem, 16).is_ok_and(|id| !named.contains(&id))
            }
            _ => name == MANIFEST_TMP_FILE,
        };
        if orphan && written_by_us(&entry.path()) {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            removed = true;
        }
    }
    if removed {
        manifest::sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUT: DescriptorLayout = DescriptorLayout { len: 24, version: 1 };

    fn rec(id: &str, finger: u8, seed: u8) -> NewRecord {
        NewRecord {
            subject_id: id.to_string(),
            finger,
            template: vec![seed; 5 + seed as usize],
            descriptor: vec![seed; 24],
            demographics: Vec::new(),
        }
    }

    /// The run test of the deletion bitmap agrees with the per-record one on every run,
    /// across word boundaries, with and without deletions.
    #[test]
    fn any_deleted_in_agrees_with_is_deleted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::create(dir.path(), LAYOUT).expect("create");
        let records = 140u32;
        store
            .append((0..records).map(|i| rec(&format!("s{i}"), 1, (i % 7) as u8)).collect())
            .expect("append");
        let check = |snap: &Snapshot| {
            let seg = &snap.segments()[0];
            for start in 0..=records {
                for end in start..=records + 2 {
                    let expected = (start..end.min(records)).any(|i| seg.is_deleted(i));
                    assert_eq!(seg.any_deleted_in(start, end), expected, "{start}..{end}");
                }
            }
        };
        check(&store.snapshot());
        assert!(!store.snapshot().segments()[0].any_deleted_in(0, records));
        for gone in ["s0", "s63", "s64", "s100", "s139"] {
            store.remove(gone).expect("remove");
        }
        let snap = store.snapshot();
        assert!(snap.segments()[0].any_deleted_in(0, records));
        assert!(!snap.segments()[0].any_deleted_in(65, 100));
        check(&snap);
    }

    #[test]
    fn enrol_get_remove_compact_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::create(dir.path(), LAYOUT).expect("create");
        store.append(vec![rec("alice", 1, 1), rec("alice", 2, 2), rec("bob", 1, 3)]).expect("a");
        store.append(vec![rec("carol", 0, 4)]).expect("b");
        let snap = store.snapshot();
        assert_eq!(snap.len(), 4);
        let alice = snap.get("alice").expect("alice");
        assert_eq!(alice.len(), 2);
        assert_eq!(alice[1].template, vec![2; 7]);
        assert!(matches!(snap.get("dave"), Err(Error::SubjectNotFound { .. })));
        assert!(matches!(
            store.append(vec![rec("bob", 1, 9)]),
            Err(Error::AlreadyEnrolled { finger: 1, .. })
        ));
        // Unknown finger (0) may be enrolled more than once.
        store.append(vec![rec("carol", 0, 5)]).expect("finger 0 twice");

        assert_eq!(store.remove("alice").expect("remove"), 2);
        assert!(matches!(store.remove("alice"), Err(Error::SubjectNotFound { .. })));
        assert_eq!(snap.len(), 4, "an old snapshot does not change");
        assert_eq!(store.snapshot().len(), 3);
        drop(store);

        let store = Store::open(dir.path(), OpenMode::Writable, Some(LAYOUT)).expect("reopen");
        assert_eq!(store.snapshot().len(), 3);
        assert_eq!(store.snapshot().deleted(), 2);
        let report = store.compact().expect("compact");
        assert_eq!(report.records_dropped, 2);
        assert_eq!(report.segments_after, 1);
        let snap = store.snapshot();
        assert_eq!(snap.len(), 3);
        assert_eq!(snap.deleted(), 0);
        assert_eq!(snap.get("bob").expect("bob")[0].template, vec![3; 8]);
        assert!(snap.verify().is_ok());
        // Old segment files are gone, only the compacted one remains.
        let segs = std::fs::read_dir(dir.path())
            .expect("ls")
            .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "seg")))
            .count();
        assert_eq!(segs, 1);
    }

    #[test]
    fn refuses_wrong_layout_second_writer_and_writes_when_read_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::create(dir.path(), LAYOUT).expect("create");
        assert!(matches!(
            Store::open(dir.path(), OpenMode::Writable, None),
            Err(Error::GalleryLocked { .. })
        ));
        assert!(Store::create(dir.path(), LAYOUT).is_err());
        let reader = Store::open(dir.path(), OpenMode::ReadOnly, Some(LAYOUT)).expect("reader");
        assert!(matches!(reader.append(vec![rec("x", 1, 1)]), Err(Error::GalleryReadOnly { .. })));
        store.append(vec![rec("x", 1, 1)]).expect("append");
        assert_eq!(reader.snapshot().len(), 0);
        reader.refresh().expect("refresh");
        assert_eq!(reader.snapshot().len(), 1);
        let other = DescriptorLayout { len: 32, version: 1 };
        assert!(matches!(
            Store::open(dir.path(), OpenMode::ReadOnly, Some(other)),
            Err(Error::GalleryDescriptorLayout { expected_len: 32, got_len: 24, .. })
        ));
        assert!(store.append(vec![rec("bad\0id", 1, 1)]).is_err());
        assert!(store.append(vec![rec("y", 11, 1)]).is_err());
    }

    #[test]
    fn orphans_of_an_interrupted_writer_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::create(dir.path(), LAYOUT).expect("create");
        store.append(vec![rec("x", 1, 1)]).expect("append");
        drop(store);
        let orphan = dir.path().join(segment::file_name(77));
        let half = segment::encode(77, LAYOUT, &[rec("y", 1, 2)]).expect("encode");
        std::fs::write(&orphan, &half[..half.len() / 2]).expect("write");
        let mut manifest_start = manifest::MANIFEST_MAGIC.to_vec();
        manifest_start.extend([1, 0]);
        std::fs::write(dir.path().join(MANIFEST_TMP_FILE), manifest_start).expect("write");
        let empty = dir.path().join(segment::file_name(78));
        std::fs::write(&empty, b"").expect("write");
        // Named like ours but not ours: a writer never deletes what it did not write.
        let foreign = dir.path().join(segment::file_name(79));
        std::fs::write(&foreign, b"someone else's notes").expect("write");
        let reader = Store::open(dir.path(), OpenMode::ReadOnly, None).expect("reader");
        assert!(orphan.exists(), "readers never delete");
        assert!(reader.snapshot().verify().is_ok());
        let _writer = Store::open(dir.path(), OpenMode::Writable, None).expect("writer");
        assert!(!orphan.exists());
        assert!(!empty.exists());
        assert!(!dir.path().join(MANIFEST_TMP_FILE).exists());
        assert_eq!(std::fs::read(&foreign).expect("kept"), b"someone else's notes");
    }

    #[test]
    fn damaged_segment_is_reported_and_the_rest_stays_readable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::create(dir.path(), LAYOUT).expect("create");
        store.append(vec![rec("a", 1, 1), rec("b", 1, 2)]).expect("first");
        store.append(vec![rec("c", 1, 3)]).expect("second");
        store.append(vec![rec("d", 1, 4)]).expect("third");
        drop(store);
        let first = dir.path().join(segment::file_name(1));
        let second = dir.path().join(segment::file_name(2));
        // Flip one bit in the first segment's second descriptor record.
        let mut bytes = std::fs::read(&first).expect("read");
        let at = segment::HEADER_LEN + 24 + 5;
        bytes[at] ^= 0x20;
        std::fs::write(&first, &bytes).expect("write");
        // Truncate the second segment.
        let bytes = std::fs::read(&second).expect("read");
        std::fs::write(&second, &bytes[..bytes.len() - 3]).expect("write");

        let store = Store::open(dir.path(), OpenMode::ReadOnly, Some(LAYOUT)).expect("opens");
        let snap = store.snapshot();
        assert_eq!(snap.len(), 3, "segments 1 and 3 stay readable");
        assert_eq!(snap.get("d").expect("d")[0].template, vec![4; 9]);
        let report = snap.verify();
        assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
        assert_eq!(report.problems[0].path, first);
        assert_eq!(report.problems[0].offset, (segment::HEADER_LEN + 24) as u64);
        assert_eq!(report.problems[1].path, second);
        assert!(report.problems[1].message.contains("header says"));
    }
}
