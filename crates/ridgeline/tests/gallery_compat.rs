//! A gallery written by format version 1 (descriptors of prepared layout 1: 16 × 16 × 6
//! cylinders, 64 minutia slots), checked in under `tests/data/gallery-v1/`, must open in every
//! later release: its storage reads as it is, and opening it for searching re-prepares its
//! records for the current matcher once.

use std::path::{Path, PathBuf};

use ridgeline::gallery::{
    matcher_layout, Gallery, GalleryKey, OpenMode, OpenOptions, Operation, SearchOptions, Snapshot,
    Store,
};
use ridgeline_synth::fixture::FixturePopulation;

const SUBJECTS: [(&str, u8); 3] = [("alice", 2), ("bob", 7), ("carol", 0)];

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/gallery-v1")
}

/// alice and bob are stored with their fingers and exactly their enrolled templates.
fn assert_live_records_are_the_enrolled_ones(snap: &Snapshot, pop: &FixturePopulation) {
    for (f, (id, finger)) in SUBJECTS.iter().enumerate().take(2) {
        let rec = &snap.get(id).expect("get")[0];
        assert_eq!(rec.finger, *finger);
        let t = ridgeline::Template::from_native_bytes(&rec.template).expect("template");
        assert_eq!(t, pop.impression(f as u64, 0), "{id}: the template as enrolled");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

#[test]
fn version_1_gallery_still_opens() {
    let dir = data_dir();
    let pop = FixturePopulation::new(2026);
    // The storage format: readable whatever the matcher's descriptor version is now.
    let store = Store::open(&dir, OpenMode::ReadOnly, None).expect("open version-1 gallery");
    let snap = store.snapshot();
    assert_eq!((snap.layout().version, snap.layout().len), (1, 15_376));
    assert_eq!(snap.len(), 2);
    assert_eq!(snap.deleted(), 1);
    assert!(snap.verify().is_ok(), "{:?}", snap.verify().problems);
    assert_live_records_are_the_enrolled_ones(&snap, &pop);
    assert!(snap.get("carol").is_err());
}

#[test]
fn version_1_gallery_is_re_prepared_when_opened_and_then_searches() {
    let work = tempfile::tempdir().expect("tempdir");
    copy_dir(&data_dir(), work.path());
    let pop = FixturePopulation::new(2026);
    // A read-only open is enough: the upgrade takes the writer lock for its one commit.
    let g = Gallery::open(work.path(), OpenMode::ReadOnly).expect("open and upgrade");
    let snap = g.snapshot();
    assert_eq!(snap.layout(), matcher_layout());
    assert_eq!((snap.len(), snap.deleted()), (2, 0), "the removed record is dropped on the way");
    assert!(snap.verify().is_ok(), "{:?}", snap.verify().problems);
    let r = g.identify(&pop.impression(1, 1), &SearchOptions::default()).expect("identify");
    assert_eq!(r.candidates[0].subject_id, "bob");
    assert_live_records_are_the_enrolled_ones(&snap, &pop);
    drop(g);
    let report = ridgeline::gallery::audit::verify(work.path()).expect("verify trail");
    assert!(report.is_ok(), "{:?}", report.problem);
    assert!(
        report.entries.iter().any(|e| e.operation == Operation::Upgrade as u8),
        "the upgrade is audited"
    );
    // Opening again finds the current layout and rewrites nothing.
    let generation =
        Store::open(work.path(), OpenMode::ReadOnly, None).expect("store").snapshot().generation();
    let again = Gallery::open(work.path(), OpenMode::ReadOnly).expect("open again");
    assert_eq!(again.snapshot().generation(), generation);
    // The checked-in copy is untouched.
    let original = Store::open(&data_dir(), OpenMode::ReadOnly, None).expect("original");
    assert_eq!(original.snapshot().layout().version, 1);
}

/// The key of the checked-in encrypted gallery (a test key, public on purpose).
const SEALED_KEY_HEX: &str = "5e41ed0000000000000000000000000000000000000000000000000000c0ffee";

/// An encrypted gallery (segments with protection 1, `.idx` version 2, manifest version 2,
/// sealed audit subject ids), checked in under `tests/data/gallery-sealed-v1/`, must open with
/// its key in every later release. Regenerate only on purpose (`REGENERATE=1`).
#[test]
fn encrypted_gallery_still_opens_with_its_key() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/gallery-sealed-v1");
    let key = GalleryKey::from_file_contents(SEALED_KEY_HEX.as_bytes()).expect("key");
    let pop = FixturePopulation::new(2026);
    if std::env::var_os("REGENERATE").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        let g = Gallery::create_with(&dir, &OpenOptions::new().key(key.clone())).expect("create");
        for (f, (id, finger)) in SUBJECTS.iter().enumerate() {
            g.enroll(id, *finger, &pop.impression(f as u64, 0)).expect("enrol");
        }
        g.remove("carol").expect("remove");
        drop(g);
        let _ = std::fs::remove_file(dir.join("LOCK"));
    }
    let refused =
        Store::open_with(&dir, OpenMode::ReadOnly, None, &OpenOptions::new().audit(false));
    assert!(matches!(refused, Err(ridgeline::Error::GalleryKey { .. })), "{refused:?}");
    let options = OpenOptions::new().audit(false).key(key.clone());
    let store = Store::open_with(&dir, OpenMode::ReadOnly, None, &options).expect("open");
    let snap = store.snapshot();
    assert_eq!(snap.len(), 2);
    assert_eq!(snap.deleted(), 1);
    assert!(snap.verify().is_ok(), "{:?}", snap.verify().problems);
    assert_live_records_are_the_enrolled_ones(&snap, &pop);
    let mut trail = ridgeline::gallery::audit::verify(&dir).expect("audit");
    assert!(trail.is_ok(), "{trail:?}");
    assert_eq!(ridgeline::gallery::audit::unseal_subjects(&mut trail.entries, &key), 0);
    assert!(trail.entries.iter().any(|e| e.subjects == ["carol"]));
    // Searching it re-prepares it (on a copy: the checked-in files stay as they are), and the
    // rewritten files are sealed under the same key.
    let work = tempfile::tempdir().expect("tempdir");
    copy_dir(&dir, work.path());
    let keyed = OpenOptions::new().key(key.clone());
    let g = Gallery::open_with(work.path(), OpenMode::ReadOnly, &keyed).expect("open and upgrade");
    assert_eq!(g.snapshot().layout(), matcher_layout());
    let r = g.identify(&pop.impression(1, 1), &SearchOptions::default()).expect("identify");
    assert_eq!(r.candidates[0].subject_id, "bob");
    drop(g);
    let keyless = Store::open_with(work.path(), OpenMode::ReadOnly, None, &OpenOptions::new());
    assert!(matches!(keyless, Err(ridgeline::Error::GalleryKey { .. })), "{keyless:?}");
}
