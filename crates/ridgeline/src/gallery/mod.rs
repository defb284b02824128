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
//! Layers: [`segment`] (one file), [`manifest`] (the commit point), [`lock`] (one writer),
//! [`store`] (records as opaque descriptor bytes + templates, snapshots).

pub mod lock;
pub mod manifest;
pub mod segment;
pub mod store;

pub use segment::{DescriptorLayout, NewRecord, Problem, MAX_FINGER, MAX_SUBJECT_ID_LEN};
pub use store::{
    CompactReport, OpenMode, RecordId, Snapshot, Store, StoreStats, StoredRecord, VerifyReport,
};

/// Extensions of the per-segment files (`<segment id in hex>.<ext>`); the writer deletes such
/// files whose segment the manifest no longer names.
pub const SEGMENT_FILE_EXTENSIONS: &[&str] = &["seg", "idx"];
