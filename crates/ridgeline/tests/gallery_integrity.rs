//! The gallery never answers from damaged data without saying so: compaction does not copy
//! damage under fresh checksums, a search that cannot read every committed record fails (or,
//! when asked for, says how many it skipped), and a record whose id fails its checksum is
//! never reported nor lets its subject enrol twice. Each test is a regression test of one fault found under attack.

use std::path::{Path, PathBuf};

use ridgeline::gallery::segment::{self, ENTRY_ID_LEN, ENTRY_LEN, HEADER_LEN};
use ridgeline::gallery::{
    sharding, CompactOptions, Enrolment, Gallery, OpenMode, SearchMode, SearchOptions,
};
use ridgeline::{Error, MatchTemplate, Template};
use ridgeline_synth::fixture::FixturePopulation;

const SUBJECTS: u64 = 40;

fn subject(f: u64) -> String {
    format!("person{f}")
}

/// A gallery of `SUBJECTS` subjects (finger 1) enrolled in two batches (two segments); the
/// writer is dropped so that tests can damage the files.
fn build(dir: &Path, pop: &FixturePopulation) {
    let gallery = Gallery::create(dir).expect("create");
    let templates: Vec<(String, Template)> =
        (0..SUBJECTS).map(|f| (subject(f), pop.impression(f, 0))).collect();
    for half in templates.chunks(SUBJECTS as usize / 2) {
        let batch: Vec<Enrolment<'_>> = half
            .iter()
            .map(|(id, t)| Enrolment { subject_id: id, finger: 1, template: t })
            .collect();
        gallery.enroll_batch(&batch).expect("enrol");
    }
}

fn segment_paths(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    paths.sort();
    paths
}

fn field_u64(bytes: &[u8], at: usize) -> usize {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes")) as usize
}

/// Flips one byte of the file at `at`.
fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at] ^= 0x5a;
    std::fs::write(path, bytes).expect("write");
}

fn exhaustive() -> SearchOptions {
    SearchOptions::new(5, None, SearchMode::Exhaustive)
}

#[test]
fn compaction_refuses_to_copy_damage_and_drops_it_only_when_asked_naming_each_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(25);
    build(dir.path(), &pop);
    // One byte inside the first segment's template area (record 0's template).
    let first = segment_paths(dir.path())[0].clone();
    let bytes = std::fs::read(&first).expect("read");
    let templates = field_u64(&bytes, segment::OFFSET_TEMPLATES_OFFSET);
    flip(&first, templates + 3);
    // And one byte of the second segment's descriptor record 2.
    let second = segment_paths(dir.path())[1].clone();
    let bytes = std::fs::read(&second).expect("read");
    let descriptor_len = u32::from_le_bytes(
        bytes[segment::OFFSET_DESCRIPTOR_LEN..segment::OFFSET_DESCRIPTOR_LEN + 4]
            .try_into()
            .expect("4 bytes"),
    ) as usize;
    flip(&second, HEADER_LEN + 2 * descriptor_len + 100);

    let gallery = Gallery::open(dir.path(), OpenMode::Writable).expect("open");
    assert_eq!(gallery.verify().problems.len(), 2);
    match gallery.compact() {
        Err(Error::GalleryDamaged { skipped: 2, .. }) => {}
        other => panic!("compaction must refuse to copy damaged records, got {other:?}"),
    }
    assert_eq!(gallery.verify().problems.len(), 2, "nothing was rewritten");
    assert_eq!(segment_paths(dir.path()), vec![first, second]);

    let report = gallery
        .compact_with(CompactOptions { drop_damaged: true, purge: false })
        .expect("compaction dropping the damage");
    let mut dropped: Vec<(Option<String>, u32)> =
        report.damaged_dropped.iter().map(|d| (d.subject_id.clone(), d.record.index)).collect();
    dropped.sort();
    let expected = [(Some(subject(0)), 0), (Some(subject(SUBJECTS / 2 + 2)), 2)];
    assert_eq!(dropped, expected);
    assert_eq!(report.records_rewritten, SUBJECTS as usize - 2);
    assert!(gallery.verify().is_ok());
    assert_eq!(gallery.len(), SUBJECTS as usize - 2);
    // The dropped subjects can be enrolled again from a new capture; the others are found.
    assert!(matches!(gallery.get(&subject(0)), Err(Error::SubjectNotFound { .. })));
    let found = gallery.identify(&pop.impression(7, 1), &exhaustive()).expect("search");
    assert_eq!(found.candidates[0].subject_id, subject(7));
    gallery.enroll(&subject(0), 1, &pop.impression(0, 1)).expect("re-enrol");
}

#[test]
fn a_search_that_cannot_read_every_record_fails_unless_a_partial_answer_is_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(26);
    build(dir.path(), &pop);
    std::fs::remove_file(&segment_paths(dir.path())[1]).expect("lose the second segment");
    let gallery = Gallery::open(dir.path(), OpenMode::ReadOnly).expect("opens");
    let probe = pop.impression(SUBJECTS - 1, 1); // enrolled in the lost segment
    for mode in [SearchMode::Indexed, SearchMode::Exhaustive] {
        let options = SearchOptions::new(5, None, mode);
        match gallery.identify(&probe, &options) {
            Err(Error::GalleryDamaged { skipped, .. }) => {
                assert_eq!(skipped, SUBJECTS as usize / 2)
            }
            other => panic!("{mode:?}: a partial search must fail, got {other:?}"),
        }
        let partial = SearchOptions { allow_partial: true, ..options };
        let found = gallery.identify(&probe, &partial).expect("partial search");
        assert!(found.partial());
        assert_eq!(found.skipped_records, SUBJECTS as usize / 2);
        assert_eq!(found.searched, SUBJECTS as usize / 2);
    }
}

/// The gallery of `build` with one byte of subject 5's descriptor flipped (its segment's
/// record 5), opened read-only; the folder lives as long as the first value.
fn gallery_with_a_damaged_descriptor() -> (tempfile::TempDir, FixturePopulation, Gallery) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(27);
    build(dir.path(), &pop);
    let first = segment_paths(dir.path())[0].clone();
    let bytes = std::fs::read(&first).expect("read");
    let descriptor_len =
        (field_u64(&bytes, segment::OFFSET_ENTRIES_OFFSET) - HEADER_LEN) / (SUBJECTS as usize / 2);
    flip(&first, HEADER_LEN + 5 * descriptor_len + 40);
    let gallery = Gallery::open(dir.path(), OpenMode::ReadOnly).expect("opens");
    (dir, pop, gallery)
}

#[test]
fn a_search_over_a_damaged_descriptor_fails_instead_of_missing_its_subject() {
    let (_dir, pop, gallery) = gallery_with_a_damaged_descriptor();
    let probe = pop.impression(5, 1);
    for mode in [SearchMode::Indexed, SearchMode::Exhaustive] {
        let options = SearchOptions::new(5, None, mode);
        assert!(
            matches!(gallery.identify(&probe, &options), Err(Error::GalleryDamaged { .. })),
            "{mode:?}"
        );
        let partial = SearchOptions { allow_partial: true, ..options };
        let found = gallery.identify(&probe, &partial).expect("partial");
        assert_eq!(found.skipped_records, 1, "{mode:?}");
    }
}

#[test]
fn a_shard_never_scores_a_damaged_descriptor() {
    let (_dir, pop, gallery) = gallery_with_a_damaged_descriptor();
    let snapshot = gallery.snapshot();
    let probe = MatchTemplate::prepare(&pop.impression(5, 1));
    let list = sharding::coarse_top(&snapshot, probe.view(), None, SUBJECTS as usize);
    let records: Vec<_> = list.hits.iter().map(|h| h.record).collect();
    let scores = sharding::rerank(&snapshot, gallery.matcher(), probe.view(), &records);
    let unscored: Vec<_> =
        records.iter().zip(&scores).filter(|(_, s)| s.is_none()).map(|(r, _)| *r).collect();
    assert_eq!(unscored.len(), 1, "{unscored:?}");
    let (id, _) = snapshot.subject(unscored[0]).expect("the id is intact");
    assert_eq!(id, subject(5));
}

#[test]
fn a_forged_id_is_never_reported_and_does_not_let_its_subject_enrol_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(28);
    build(dir.path(), &pop);
    // One bit of record 1's id-length byte: "person1" would read as "person1p"-like garbage
    // borrowed from the next id.
    let first = segment_paths(dir.path())[0].clone();
    let bytes = std::fs::read(&first).expect("read");
    let entries = field_u64(&bytes, segment::OFFSET_ENTRIES_OFFSET);
    let at = entries + ENTRY_LEN + ENTRY_ID_LEN;
    let mut damaged = bytes.clone();
    damaged[at] ^= 0x01;
    std::fs::write(&first, &damaged).expect("write");

    let gallery = Gallery::open(dir.path(), OpenMode::Writable).expect("opens");
    let probe = pop.impression(1, 1);
    let partial = SearchOptions { allow_partial: true, ..exhaustive() };
    let found = gallery.identify(&probe, &partial).expect("partial search");
    assert!(found
        .candidates
        .iter()
        .all(|c| c.subject_id.starts_with("person")
            && (0..SUBJECTS).any(|f| c.subject_id == subject(f))));
    assert!(found.candidates.iter().all(|c| c.subject_id != subject(1)));
    assert_eq!(found.skipped_records, 1);
    assert!(matches!(gallery.identify(&probe, &exhaustive()), Err(Error::GalleryDamaged { .. })));
    // The duplicate check cannot read record 1's id, so it cannot say person1 is new.
    assert!(matches!(
        gallery.enroll(&subject(1), 1, &pop.impression(1, 2)),
        Err(Error::GalleryDamaged { .. })
    ));
}

#[test]
fn templates_too_sparse_to_match_are_refused_at_enrolment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gallery = Gallery::create(dir.path()).expect("create");
    let pop = FixturePopulation::new(29);
    let mut sparse = pop.impression(0, 0);
    sparse.minutiae.truncate(ridgeline::gallery::MIN_ENROL_MINUTIAE - 1);
    assert!(matches!(gallery.enroll("few", 1, &sparse), Err(Error::TooFewMinutiae { .. })));
    sparse.minutiae.clear();
    assert!(matches!(gallery.enroll("none", 1, &sparse), Err(Error::TooFewMinutiae { .. })));
    assert_eq!(gallery.len(), 0);
}

#[test]
fn a_gallery_is_created_only_in_a_new_or_empty_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("notes.txt"), b"mine").expect("write");
    assert!(matches!(Gallery::create(dir.path()), Err(Error::InvalidArgument(_))));
    assert_eq!(std::fs::read(dir.path().join("notes.txt")).expect("kept"), b"mine");
    Gallery::create(&dir.path().join("new")).expect("a new folder");
}

#[cfg(unix)]
#[test]
fn gallery_files_are_owner_only_under_a_permissive_umask() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: umask only changes this process's file-creation mask; other tests in this
    // binary create files too, and only ever get narrower modes from our explicit ones.
    let old = unsafe { libc::umask(0) };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("g");
    let pop = FixturePopulation::new(30);
    build(&root, &pop);
    unsafe { libc::umask(old) };
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&root), 0o700);
    for entry in std::fs::read_dir(&root).expect("ls") {
        let path = entry.expect("entry").path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

#[test]
fn purging_compaction_leaves_no_removed_record_in_any_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(31);
    build(dir.path(), &pop);
    let gallery = Gallery::open(dir.path(), OpenMode::Writable).expect("open");
    let gone = subject(SUBJECTS - 1); // no other id contains it
    let removed_template = gallery.get(&gone).expect("enrolled")[0].template.to_native_bytes();
    let removed_template = removed_template.expect("bytes");
    gallery.remove(&gone).expect("remove");
    let old_files = segment_paths(dir.path());
    let report =
        gallery.compact_with(CompactOptions { drop_damaged: false, purge: true }).expect("compact");
    assert!(report.purged);
    assert_eq!(report.records_dropped, 1);
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    for entry in std::fs::read_dir(dir.path()).expect("ls") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        if path.file_name().is_some_and(|n| n == ridgeline::gallery::audit::AUDIT_FILE) {
            // The audit trail keeps who was removed and erased (docs/SECURITY.md), never the
            // template.
            assert!(contains(&bytes, gone.as_bytes()), "the removal is in the audit trail");
            assert!(!contains(&bytes, &removed_template[8..]), "a template in the audit trail");
            continue;
        }
        assert!(!contains(&bytes, gone.as_bytes()), "the removed id is still on disk");
        assert!(!contains(&bytes, &removed_template[8..]), "the removed template is still on disk");
    }
    assert!(old_files.iter().all(|p| !p.exists()));
    assert_eq!(gallery.len(), SUBJECTS as usize - 1);
}
