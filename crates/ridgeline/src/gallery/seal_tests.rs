//! Encrypted galleries end to end: round trip, keys refused, nothing personal in clear on disk,
//! tampering and rollback detected, rekeying.

use std::path::Path;

use super::audit::{self, Operation, SEALED_SUBJECT_PREFIX};
use super::coarse_file;
use super::manifest::{self, Manifest, MANIFEST_FILE};
use super::seal::{GalleryKey, KEY_ID_LEN, NONCE_LEN, TAG_LEN};
use super::segment::{self, get_u16, get_u32, get_u64, NewRecord, Segment};
use super::store::{OpenMode, OpenOptions, Store};
use super::{Enrolment, Gallery, SearchOptions};
use crate::error::Error;
use crate::template::Template;
use crate::test_support::fixture::FixturePopulation;

fn key(byte: u8) -> GalleryKey {
    GalleryKey::from_bytes(&[byte; 32]).expect("key")
}

fn with_key(k: &GalleryKey) -> OpenOptions {
    OpenOptions::new().key(k.clone())
}

const SUBJECTS: usize = 12;

fn subject(i: usize) -> String {
    format!("PERSON-{i:04}-XQ")
}

/// A gallery of `SUBJECTS` subjects (two enrolment batches, one removal) under `k`; returns
/// the templates enrolled.
fn enrolled(dir: &Path, k: Option<&GalleryKey>) -> Vec<Template> {
    let pop = FixturePopulation::new(0x5ea1);
    let templates: Vec<Template> = (0..SUBJECTS).map(|i| pop.impression(i as u64, 0)).collect();
    let options = OpenOptions::new().key_opt(k.cloned());
    let g = Gallery::create_with(dir, &options).expect("create");
    let ids: Vec<String> = (0..SUBJECTS).map(subject).collect();
    for half in [0..SUBJECTS / 2, SUBJECTS / 2..SUBJECTS] {
        let batch: Vec<Enrolment<'_>> = half
            .map(|i| Enrolment { subject_id: &ids[i], finger: 1, template: &templates[i] })
            .collect();
        g.enroll_batch(&batch).expect("enrol");
    }
    g.build_coarse();
    templates
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> =
        std::fs::read_dir(dir).expect("read dir").map(|e| e.expect("entry").path()).collect();
    out.sort();
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn an_encrypted_gallery_round_trips_and_searches_like_a_clear_one() {
    let clear_dir = tempfile::tempdir().expect("tempdir");
    let sealed_dir = tempfile::tempdir().expect("tempdir");
    let k = key(1);
    let templates = enrolled(clear_dir.path(), None);
    enrolled(sealed_dir.path(), Some(&k));
    let clear = Gallery::open(clear_dir.path(), OpenMode::ReadOnly).expect("open clear");
    let sealed =
        Gallery::open_with(sealed_dir.path(), OpenMode::ReadOnly, &with_key(&k)).expect("open");
    assert!(sealed.is_encrypted() && !clear.is_encrypted());
    assert_eq!(sealed.len(), SUBJECTS);
    let pop = FixturePopulation::new(0x5ea1);
    for i in [0, 5, 11] {
        let probe = pop.impression(i as u64, 1);
        let a = clear.identify(&probe, &SearchOptions::default()).expect("clear search");
        let b = sealed.identify(&probe, &SearchOptions::default()).expect("sealed search");
        assert_eq!(b.candidates[0].subject_id, subject(i));
        let scores = |r: &super::Identification| {
            r.candidates.iter().map(|c| (c.subject_id.clone(), c.score)).collect::<Vec<_>>()
        };
        assert_eq!(scores(&a), scores(&b), "decryption changes nothing a search sees");
    }
    let got = sealed.get(&subject(3)).expect("get");
    assert_eq!(got[0].template, templates[3]);
    assert!(sealed.verify().is_ok(), "{:?}", sealed.verify());
    // The sidecars were written sealed and are used as such.
    let s = sealed.snapshot();
    assert!(s.segments().iter().all(|s| s.segment().key().is_some()));
}

#[test]
fn a_missing_or_wrong_key_and_a_key_for_a_clear_gallery_are_typed_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clear_dir = tempfile::tempdir().expect("tempdir");
    enrolled(dir.path(), Some(&key(1)));
    enrolled(clear_dir.path(), None);
    for mode in [OpenMode::ReadOnly, OpenMode::Writable] {
        let none = Gallery::open(dir.path(), mode);
        assert!(matches!(none, Err(Error::GalleryKey { .. })), "{none:?}");
        let wrong = Gallery::open_with(dir.path(), mode, &with_key(&key(2)));
        match wrong {
            Err(Error::GalleryKey { message, .. }) => assert!(message.contains("wrong key")),
            other => panic!("{other:?}"),
        }
        let clear = Gallery::open_with(clear_dir.path(), mode, &with_key(&key(1)));
        assert!(matches!(clear, Err(Error::GalleryKey { .. })), "{clear:?}");
    }
}

#[test]
fn no_file_of_an_encrypted_gallery_holds_an_id_or_template_bytes_in_clear() {
    let dir = tempfile::tempdir().expect("tempdir");
    let k = key(1);
    let templates = enrolled(dir.path(), Some(&k));
    {
        // Searches, an export and a removal put subject ids into the audit trail.
        let g = Gallery::open_with(dir.path(), OpenMode::Writable, &with_key(&k)).expect("open");
        let pop = FixturePopulation::new(0x5ea1);
        g.identify(&pop.impression(2, 1), &SearchOptions::default()).expect("search");
        g.get(&subject(4)).expect("get");
        g.remove(&subject(5)).expect("remove");
    }
    // The same scan finds them in a clear gallery: the check can fail.
    let clear_dir = tempfile::tempdir().expect("tempdir");
    enrolled(clear_dir.path(), None);
    let clear_bytes: Vec<u8> =
        files(clear_dir.path()).iter().flat_map(|p| std::fs::read(p).expect("read")).collect();
    assert!(contains(&clear_bytes, subject(0).as_bytes()));

    let names: Vec<String> = files(dir.path())
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.ends_with(".seg")) && names.iter().any(|n| n.ends_with(".idx")));
    assert!(names.contains(&"AUDIT".to_string()), "{names:?}");
    let prepared: Vec<Vec<u8>> = templates
        .iter()
        .map(|t| crate::matcher::MatchTemplate::prepare(t).as_bytes().to_vec())
        .collect();
    assert!(contains(&clear_bytes, &prepared[0][64..96]));
    for path in files(dir.path()) {
        let bytes = std::fs::read(&path).expect("read");
        for i in 0..SUBJECTS {
            assert!(!contains(&bytes, subject(i).as_bytes()), "{} holds {}", path.display(), i);
            let native = templates[i].to_native_bytes().expect("bytes");
            let middle = &native[native.len() / 2..native.len() / 2 + 16];
            assert!(!contains(&bytes, middle), "{} holds template {i}", path.display());
            assert!(
                !contains(&bytes, &prepared[i][64..96]),
                "{} holds descriptor {i}",
                path.display()
            );
        }
    }
    // With the key, the trail's subject ids read back.
    let mut report = audit::verify(dir.path()).expect("audit");
    assert!(report.is_ok(), "{report:?}");
    let sealed_ids = report.entries.iter().flat_map(|e| &e.subjects).count();
    assert!(sealed_ids > SUBJECTS);
    assert!(report
        .entries
        .iter()
        .flat_map(|e| &e.subjects)
        .all(|s| s.starts_with(SEALED_SUBJECT_PREFIX)));
    assert_eq!(audit::unseal_subjects(&mut report.entries, &k), 0);
    assert!(report.entries.iter().any(|e| e.subjects.contains(&subject(5))));
}

/// The segment and sidecar files of a gallery, in order.
fn with_ext(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    files(dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == ext)).collect()
}

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at] ^= 0x04;
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn a_flipped_byte_in_a_sealed_area_is_damage_never_garbage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let k = key(1);
    enrolled(dir.path(), Some(&k));
    let seg = with_ext(dir.path(), "seg")[0].clone();
    let len = std::fs::metadata(&seg).expect("meta").len() as usize;
    flip(&seg, segment::HEADER_LEN + (len - segment::HEADER_LEN) / 2);
    let g = Gallery::open_with(dir.path(), OpenMode::ReadOnly, &with_key(&k)).expect("opens");
    let pop = FixturePopulation::new(0x5ea1);
    let search = g.identify(&pop.impression(9, 1), &SearchOptions::default());
    assert!(matches!(search, Err(Error::GalleryDamaged { .. })), "{search:?}");
    let report = g.verify();
    assert!(report.problems.iter().any(|p| p.path == seg && p.message.contains("authentication")));
    assert_eq!(g.stats().store.damaged_segments, 1);

    // The header is authenticated too: an edit with a recomputed header checksum still fails.
    let dir = tempfile::tempdir().expect("tempdir");
    enrolled(dir.path(), Some(&k));
    let seg = with_ext(dir.path(), "seg")[1].clone();
    let mut bytes = std::fs::read(&seg).expect("read");
    bytes[segment::OFFSET_RESERVED_C] ^= 1;
    bytes[segment::OFFSET_HEADER_CRC..segment::OFFSET_HEADER_CRC + 4].fill(0);
    let crc = crc32fast::hash(&bytes[..segment::HEADER_LEN]);
    bytes[segment::OFFSET_HEADER_CRC..segment::OFFSET_HEADER_CRC + 4]
        .copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&seg, &bytes).expect("write");
    let g = Gallery::open_with(dir.path(), OpenMode::ReadOnly, &with_key(&k)).expect("opens");
    assert_eq!(g.stats().store.damaged_segments, 1);

    // A damaged sealed sidecar: verify names it, searches rebuild the coarse descriptors in memory.
    let dir = tempfile::tempdir().expect("tempdir");
    enrolled(dir.path(), Some(&k));
    let idx = with_ext(dir.path(), "idx")[0].clone();
    flip(&idx, coarse_file::SEALED_HEADER_LEN + 5);
    let g = Gallery::open_with(dir.path(), OpenMode::ReadOnly, &with_key(&k)).expect("opens");
    let found = g.identify(&pop.impression(1, 1), &SearchOptions::default()).expect("search");
    assert_eq!(found.candidates[0].subject_id, subject(1));
    assert!(g.verify().problems.iter().any(|p| p.path == idx));
}

#[test]
fn an_edited_or_rolled_back_manifest_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let k = key(1);
    enrolled(dir.path(), Some(&k));
    let path = dir.path().join(MANIFEST_FILE);
    let good = std::fs::read(&path).expect("read");
    // An edit with a recomputed CRC (a deletion dropped, a count changed) fails the MAC.
    let mut edited = good.clone();
    let body_len = edited.len() - manifest::TRAILER_LEN;
    edited[manifest::OFFSET_GENERATION] ^= 1;
    let crc = crc32fast::hash(&edited[manifest::OFFSET_GENERATION..body_len]);
    edited[manifest::OFFSET_CRC..manifest::OFFSET_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&path, &edited).expect("write");
    let open = Gallery::open_with(dir.path(), OpenMode::ReadOnly, &with_key(&k));
    match open {
        Err(Error::GalleryCorrupt { message, .. }) => assert!(message.contains("authentication")),
        other => panic!("{other:?}"),
    }
    std::fs::write(&path, &good).expect("write");

    // An older, authentic manifest put back after more commits: the audit trail knows.
    let old = good;
    {
        let g = Gallery::open_with(dir.path(), OpenMode::Writable, &with_key(&k)).expect("open");
        g.remove(&subject(0)).expect("remove");
    }
    std::fs::write(&path, &old).expect("roll back");
    let open = Gallery::open_with(dir.path(), OpenMode::ReadOnly, &with_key(&k));
    assert!(
        matches!(open, Err(Error::GalleryRolledBack { manifest: 2, audited: 3, .. })),
        "{open:?}"
    );
}

#[test]
fn a_rolled_back_manifest_of_a_clear_gallery_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    enrolled(dir.path(), None);
    let path = dir.path().join(MANIFEST_FILE);
    let old = std::fs::read(&path).expect("read");
    {
        let g =
            Gallery::open_with(dir.path(), OpenMode::Writable, &OpenOptions::new()).expect("open");
        g.remove(&subject(0)).expect("remove");
    }
    let newest = std::fs::read(&path).expect("read");
    // The removed subject comes back with the older manifest, unless the trail catches it.
    std::fs::write(&path, &old).expect("roll back");
    for mode in [OpenMode::ReadOnly, OpenMode::Writable] {
        let open = Gallery::open_with(dir.path(), mode, &OpenOptions::new());
        assert!(
            matches!(open, Err(Error::GalleryRolledBack { manifest: 2, audited: 3, .. })),
            "{mode:?}: {open:?}"
        );
    }
    // `gallery audit --verify` says so too.
    let report = audit::verify(dir.path()).expect("audit");
    let problem = report.problem.expect("a problem");
    assert!(problem.message.contains("rolled back"), "{problem}");
    // Put back the newest manifest: all is well again.
    std::fs::write(&path, &newest).expect("restore");
    Gallery::open_with(dir.path(), OpenMode::ReadOnly, &OpenOptions::new()).expect("opens");
    assert!(audit::verify(dir.path()).expect("audit").is_ok());
}

#[test]
fn rekey_rewrites_everything_under_the_new_key_and_encrypts_a_clear_gallery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let templates = enrolled(dir.path(), None);
    let (k1, k2) = (key(1), key(2));
    let old_files = files(dir.path());
    {
        let g = Gallery::open(dir.path(), OpenMode::Writable).expect("open");
        g.remove(&subject(7)).expect("remove");
        let report = g.rekey(k1.clone(), false).expect("encrypt");
        assert_eq!(report.records_rewritten, SUBJECTS - 1);
        assert_eq!(report.records_dropped, 1);
        assert!(g.is_encrypted());
        // The same handle goes on under the new key.
        let pop = FixturePopulation::new(0x5ea1);
        let found = g.identify(&pop.impression(3, 1), &SearchOptions::default()).expect("search");
        assert_eq!(found.candidates[0].subject_id, subject(3));
    }
    for old in old_files.iter().filter(|p| p.extension().is_some_and(|e| e == "seg" || e == "idx"))
    {
        assert!(!old.exists(), "{} outlives the rekey", old.display());
    }
    assert!(matches!(Gallery::open(dir.path(), OpenMode::ReadOnly), Err(Error::GalleryKey { .. })));
    {
        let g = Gallery::open_with(dir.path(), OpenMode::Writable, &with_key(&k1)).expect("open");
        g.rekey(k2.clone(), false).expect("rotate");
    }
    let refused = Gallery::open_with(dir.path(), OpenMode::ReadOnly, &with_key(&k1));
    assert!(matches!(refused, Err(Error::GalleryKey { .. })), "{refused:?}");
    let g = Gallery::open_with(dir.path(), OpenMode::ReadOnly, &with_key(&k2)).expect("open");
    assert_eq!(g.len(), SUBJECTS - 1);
    assert_eq!(g.get(&subject(4)).expect("get")[0].template, templates[4]);
    assert!(g.verify().is_ok());
    let report = audit::verify(dir.path()).expect("audit");
    assert!(report.is_ok(), "{report:?}");
    let keys: Vec<_> =
        report.entries.iter().filter(|e| e.operation == Operation::Key as u8).collect();
    assert_eq!(keys.len(), 2);
    assert!(keys[1].detail.contains(&k1.id_hex()) && keys[1].detail.contains(&k2.id_hex()));
    assert!(!keys[1].detail.contains("0101"), "no key bytes in the trail");
}

#[test]
fn an_interrupted_rekey_leaves_the_old_key_valid() {
    // The new files of a rekey that stopped before its manifest commit are orphans: the old
    // manifest, under the old key, still names the old files.
    let dir = tempfile::tempdir().expect("tempdir");
    let k1 = key(1);
    enrolled(dir.path(), Some(&k1));
    let m = Manifest::read_with(dir.path(), Some(&k1)).expect("manifest");
    let records = vec![NewRecord {
        subject_id: "ORPHAN-1".into(),
        finger: 2,
        template: vec![1; 40],
        descriptor: vec![0; m.layout.len as usize],
        demographics: Vec::new(),
    }];
    let orphan =
        segment::encode_sealed(m.next_segment_id, m.layout, &records, &key(2)).expect("encode");
    let orphan_path = dir.path().join(segment::file_name(m.next_segment_id));
    segment::write(&orphan_path, &orphan).expect("write");
    let g = Gallery::open_with(dir.path(), OpenMode::Writable, &with_key(&k1)).expect("open");
    assert_eq!(g.len(), SUBJECTS);
    assert!(!orphan_path.exists(), "the writer removes the orphan");
}

#[test]
fn sealed_formats_hold_their_documented_fields() {
    let k = key(9);
    let layout = segment::DescriptorLayout { len: 16, version: 3 };
    let records: Vec<NewRecord> = (0..3)
        .map(|i| NewRecord {
            subject_id: format!("subject-{i}"),
            finger: i as u8,
            template: vec![i as u8 + 1; 10 + i],
            descriptor: vec![7; 16],
            demographics: if i == 1 { b"\x01\x03\x00Ann".to_vec() } else { Vec::new() },
        })
        .collect();
    let clear = segment::encode(42, layout, &records).expect("encode");
    let b = segment::encode_sealed(42, layout, &records, &k).expect("encode");
    assert_eq!(b.len(), clear.len() + TAG_LEN);
    assert_eq!(get_u16(&b, segment::OFFSET_PROTECTION), Some(segment::PROTECTION_SEALED));
    assert_eq!(&b[segment::OFFSET_KEY_ID..segment::OFFSET_KEY_ID + KEY_ID_LEN], &k.id());
    assert_eq!(segment::OFFSET_NONCE + NONCE_LEN, segment::OFFSET_RESERVED_C);
    assert_eq!(get_u32(&b, segment::OFFSET_RESERVED_C), Some(0));
    assert_eq!(get_u64(&b, segment::OFFSET_FILE_LEN), Some(b.len() as u64));
    // Every region offset is the clear file's; the bytes there are not.
    for at in [
        segment::OFFSET_ENTRIES_OFFSET,
        segment::OFFSET_IDS_OFFSET,
        segment::OFFSET_TEMPLATES_OFFSET,
    ] {
        assert_eq!(get_u64(&b, at), get_u64(&clear, at));
    }
    assert!(!contains(&b, b"subject-") && !contains(&b, b"Ann"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(segment::file_name(42));
    segment::write(&path, &b).expect("write");
    let arc = std::sync::Arc::new(k.clone());
    let seg = Segment::open_with(&path, 42, 3, Some(&arc)).expect("open");
    assert_eq!(seg.subject(2).expect("subject"), ("subject-2", 2));
    assert_eq!(seg.demographics(1).expect("checked"), Some(&b"\x01\x03\x00Ann"[..]));
    assert_eq!(seg.descriptor(0), Some(&[7u8; 16][..]));
    assert!(seg.verify().is_empty());
    drop(seg);
    assert!(matches!(Segment::open(&path, 42, 3), Err(Error::GalleryKey { .. })));
    let other = std::sync::Arc::new(key(10));
    assert!(matches!(
        Segment::open_with(&path, 42, 3, Some(&other)),
        Err(Error::GalleryKey { .. })
    ));
    // A cut tag is a length mismatch; a flipped tag byte fails authentication.
    let mut cut = b.clone();
    let last = cut.len() - 1;
    cut[last] ^= 1;
    let path2 = dir.path().join(segment::file_name(43));
    std::fs::write(&path2, &cut).expect("write");
    let reopened = Segment::open_with(&path2, 42, 3, Some(&arc));
    assert!(
        matches!(reopened, Err(Error::GalleryCorrupt { offset, .. }) if offset == segment::HEADER_LEN as u64)
    );

    // Manifest version 2: version 1's bytes, the version changed, then the trailer.
    let mut m = Manifest::empty(layout);
    m.generation = 5;
    m.segments = vec![manifest::SegmentEntry { id: 42, count: 3 }];
    m.deletions.insert((42, 1));
    let plain = m.encode();
    let sealed = m.encode_with(Some(&k)).expect("encode");
    assert_eq!(sealed.len(), plain.len() + manifest::TRAILER_LEN);
    assert_eq!(get_u16(&sealed, manifest::OFFSET_VERSION), Some(manifest::MANIFEST_VERSION_SEALED));
    assert_eq!(&sealed[manifest::OFFSET_CRC..plain.len()], &plain[manifest::OFFSET_CRC..]);
    let t = plain.len();
    assert_eq!(&sealed[t + manifest::TRAILER_KEY_ID..t + manifest::TRAILER_NONCE], &k.id());
    assert_eq!(manifest::TRAILER_TAG + TAG_LEN, manifest::TRAILER_LEN);
    let p = Path::new("MANIFEST");
    assert_eq!(Manifest::decode_with(p, &sealed, Some(&k)).expect("decode"), m);
    assert!(matches!(Manifest::decode(p, &sealed), Err(Error::GalleryKey { .. })));
    assert!(matches!(Manifest::decode_with(p, &plain, Some(&k)), Err(Error::GalleryKey { .. })));
    for at in 0..sealed.len() {
        let mut edited = sealed.clone();
        edited[at] ^= 0x20;
        assert!(Manifest::decode_with(p, &edited, Some(&k)).is_err(), "flip at {at} undetected");
    }

    // Sidecar version 2.
    let coarse = coarse_file::CoarseFile::build(0, |_| None);
    let sealed = coarse.to_sealed_bytes(&k).expect("seal");
    assert_eq!(
        get_u16(&sealed, coarse_file::OFFSET_VERSION),
        Some(coarse_file::COARSE_VERSION_SEALED)
    );
    assert_eq!(
        &sealed[coarse_file::SEAL_OFFSET_KEY_ID..coarse_file::SEAL_OFFSET_KEY_ID + KEY_ID_LEN],
        &k.id()
    );
    assert_eq!(coarse_file::SEAL_OFFSET_NONCE + NONCE_LEN, coarse_file::SEAL_OFFSET_RESERVED);
    assert_eq!(sealed.len(), coarse_file::SEALED_HEADER_LEN + TAG_LEN);
}

#[test]
fn a_store_with_demographics_keeps_them_sealed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let k = key(3);
    let layout = segment::DescriptorLayout { len: 24, version: 1 };
    let store = Store::create_with(dir.path(), layout, &with_key(&k)).expect("create");
    store
        .append(vec![NewRecord {
            subject_id: "ALICE-77".into(),
            finger: 3,
            template: vec![9; 30],
            descriptor: vec![5; 24],
            demographics: b"\x01\x05\x00Alice".to_vec(),
        }])
        .expect("append");
    drop(store);
    for path in files(dir.path()) {
        let bytes = std::fs::read(&path).expect("read");
        assert!(
            !contains(&bytes, b"Alice") && !contains(&bytes, b"ALICE-77"),
            "{}",
            path.display()
        );
    }
    let store = Store::open_with(dir.path(), OpenMode::ReadOnly, Some(layout), &with_key(&k))
        .expect("open");
    let snap = store.snapshot();
    let id = snap.find("ALICE-77")[0];
    assert_eq!(snap.demographics(id).expect("read"), Some(&b"\x01\x05\x00Alice"[..]));
}

#[test]
fn sealed_audit_subject_ids_hold_their_documented_fields() {
    let k = key(4);
    let event = audit::Event {
        operation: Operation::Remove,
        outcome: audit::Outcome::Committed,
        generation: Some(7),
        subjects: &["ZOE-9"],
        detail: "",
    };
    let e = audit::encode_entry_with(0, 1, &[0; 32], &event, None, Some(&k)).expect("encode");
    assert_eq!(get_u32(&e, audit::OFFSET_SUBJECT_COUNT), Some(1 | audit::SUBJECTS_SEALED));
    let at = audit::ENTRY_FIXED_LEN;
    assert_eq!(e[at] as usize, KEY_ID_LEN + NONCE_LEN + 5 + TAG_LEN);
    assert_eq!(&e[at + 1..at + 1 + KEY_ID_LEN], &k.id());
    assert!(!contains(&e, b"ZOE-9"));
    let decoded = audit::decode_entry(&e, 0).expect("decode");
    assert!(decoded.subjects[0].starts_with(SEALED_SUBJECT_PREFIX));
    let mut entries = vec![decoded.clone()];
    assert_eq!(audit::unseal_subjects(&mut entries, &key(5)), 1, "another key leaves it sealed");
    assert_eq!(audit::unseal_subjects(&mut entries, &k), 0);
    assert_eq!(entries[0].subjects, ["ZOE-9"]);
    // Without a key the entry is byte for byte a clear one.
    let clear = audit::encode_entry(0, 1, &[0; 32], &event, None).expect("encode");
    assert_eq!(get_u32(&clear, audit::OFFSET_SUBJECT_COUNT), Some(1));
    assert!(contains(&clear, b"ZOE-9"));
}
