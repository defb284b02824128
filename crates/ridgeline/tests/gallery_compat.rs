//! A gallery written by format version 1, checked in under `tests/data/gallery-v1/`, must open
//! in every later release. Regenerate it only on purpose: `REGENERATE=1 cargo test
//! -p ridgeline --test gallery_compat`.

use std::path::PathBuf;

use ridgeline::gallery::synthetic::SyntheticPopulation;
use ridgeline::gallery::{
    matcher_layout, Gallery, GalleryKey, OpenMode, OpenOptions, SearchOptions, Store,
};

const SUBJECTS: [(&str, u8); 3] = [("alice", 2), ("bob", 7), ("carol", 0)];

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/gallery-v1")
}

#[test]
fn version_1_gallery_still_opens() {
    let dir = data_dir();
    let pop = SyntheticPopulation::new(2026);
    if std::env::var_os("REGENERATE").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        let g = Gallery::create(&dir).expect("create");
        for (f, (id, finger)) in SUBJECTS.iter().enumerate() {
            g.enroll(id, *finger, &pop.impression(f as u64, 0)).expect("enrol");
        }
        g.remove("carol").expect("remove");
        drop(g);
        let _ = std::fs::remove_file(dir.join("LOCK"));
    }
    // The storage format: readable whatever the matcher's descriptor version is now.
    let store = Store::open(&dir, OpenMode::ReadOnly, None).expect("open version-1 gallery");
    let snap = store.snapshot();
    assert_eq!(snap.len(), 2);
    assert_eq!(snap.deleted(), 1);
    assert!(snap.verify().is_ok(), "{:?}", snap.verify().problems);
    for (f, (id, finger)) in SUBJECTS.iter().enumerate().take(2) {
        let rec = &snap.get(id).expect("get")[0];
        assert_eq!(rec.finger, *finger);
        let t = ridgeline::Template::from_native_bytes(&rec.template).expect("template");
        assert_eq!(t, pop.impression(f as u64, 0));
    }
    assert!(snap.get("carol").is_err());
    // Searching needs descriptors of the current matcher's layout.
    if snap.layout() == matcher_layout() {
        // Unaudited: a search must not append to the checked-in trail.
        let unaudited = OpenOptions::new().audit(false);
        let g = Gallery::open_with(&dir, OpenMode::ReadOnly, &unaudited).expect("open");
        let r = g.identify(&pop.impression(1, 1), &SearchOptions::default()).expect("identify");
        assert_eq!(r.candidates[0].subject_id, "bob");
    } else {
        eprintln!("descriptor layout changed since version 1: search needs a rebuild; storage ok");
    }
}

/// The key of the checked-in encrypted gallery (a test key, public on purpose).
const SEALED_KEY_HEX: &str = "5e41ed0000000000000000000000000000000000000000000000000000c0ffee";

/// An encrypted gallery (segments with protection 1, `.idx` version 2, manifest version 2,
/// sealed audit subject ids), checked in under `tests/data/gallery-sealed-v1/`, must open with
/// its key in every later release. Regenerate only on purpose, as above.
#[test]
fn encrypted_gallery_still_opens_with_its_key() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/gallery-sealed-v1");
    let key = GalleryKey::from_file_contents(SEALED_KEY_HEX.as_bytes()).expect("key");
    let pop = SyntheticPopulation::new(2026);
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
    for (f, (id, finger)) in SUBJECTS.iter().enumerate().take(2) {
        let rec = &snap.get(id).expect("get")[0];
        assert_eq!(rec.finger, *finger);
        let t = ridgeline::Template::from_native_bytes(&rec.template).expect("template");
        assert_eq!(t, pop.impression(f as u64, 0));
    }
    let mut trail = ridgeline::gallery::audit::verify(&dir).expect("audit");
    assert!(trail.is_ok(), "{trail:?}");
    assert_eq!(ridgeline::gallery::audit::unseal_subjects(&mut trail.entries, &key), 0);
    assert!(trail.entries.iter().any(|e| e.subjects == ["carol"]));
    if snap.layout() == matcher_layout() {
        let g = Gallery::open_with(&dir, OpenMode::ReadOnly, &options).expect("open");
        let r = g.identify(&pop.impression(1, 1), &SearchOptions::default()).expect("identify");
        assert_eq!(r.candidates[0].subject_id, "bob");
    }
}
