//! The audit trail of a gallery on disk: every operation appends its entry with the operator,
//! the subjects and the outcome; searches append beside a writer that holds the writer lock;
//! a commit made without its entry is found and recorded. Synthetic templates, fixed seeds.

use std::sync::Arc;

use ridgeline::gallery::audit::{self, Entry};
use ridgeline::gallery::{
    CompactOptions, EnrolOptions, Gallery, NewPerson, OpenMode, OpenOptions, PersonSearchOptions,
    Print, SearchOptions,
};
use ridgeline::{Error, Template};
use ridgeline_synth::fixture::FixturePopulation;

fn kinds(entries: &[Entry]) -> Vec<String> {
    entries.iter().map(|e| format!("{}:{}", e.operation_name(), e.outcome_name())).collect()
}

fn trail(dir: &std::path::Path) -> Vec<Entry> {
    let report = audit::verify(dir).expect("verify");
    assert!(report.is_ok(), "{:?}", report.problem);
    report.entries
}

#[test]
fn every_operation_appends_its_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let g = dir.path().join("g");
    let pop = FixturePopulation::new(25);
    let t: Vec<Template> = (0..6).map(|f| pop.impression(f, 0)).collect();
    let clerk = OpenOptions::new().operator("clerk 1");
    let gallery = Gallery::create_with(&g, &clerk).expect("create");
    gallery.enroll("rec-a", 1, &t[0]).expect("enrol");
    assert!(gallery.enroll("rec-a", 1, &t[1]).is_err(), "second finger 1 of rec-a");
    let person = [Print { finger: 2, template: &t[2] }, Print { finger: 3, template: &t[3] }];
    let new = NewPerson { subject_id: "PER-1", prints: &person, demographics: None };
    gallery.enroll_person(&new, &EnrolOptions::default()).expect("person");
    let more = [Print { finger: 4, template: &t[4] }];
    let update = NewPerson { subject_id: "PER-1", prints: &more, demographics: None };
    let options = EnrolOptions { update: true, ..EnrolOptions::default() };
    gallery.enroll_person(&update, &options).expect("update");
    let found = gallery.identify(&pop.impression(0, 1), &SearchOptions::default()).expect("id");
    assert_eq!(found.candidates[0].subject_id, "rec-a");
    let probe = [Print { finger: 2, template: &pop.impression(2, 1) }];
    let who = gallery.identify_person(&probe, &PersonSearchOptions::default()).expect("idp");
    assert_eq!(who.matched().map(|c| c.subject_id.as_str()), Some("PER-1"));
    let stranger = [Print { finger: 5, template: &t[5] }];
    let none = gallery.identify_person(&stranger, &PersonSearchOptions::default()).expect("idp");
    assert!(none.matched().is_none());
    assert_eq!(gallery.get("rec-a").expect("get").len(), 1);
    assert_eq!(gallery.person("PER-1").expect("person").fingers.len(), 3);
    gallery.remove("rec-a").expect("remove");
    gallery.compact().expect("compact");
    gallery.remove("PER-1").expect("remove");
    gallery.compact_with(CompactOptions { purge: true, ..Default::default() }).expect("purge");
    drop(gallery);

    let entries = trail(&g);
    assert_eq!(
        kinds(&entries),
        [
            "create:committed",
            "enrol:committed",
            "enrol:refused",
            "enrol_person:committed",
            "update:committed",
            "identify:listed",
            "identify_person:matched",
            "identify_person:no_match",
            "export:listed",
            "export:listed",
            "remove:committed",
            "compact:committed",
            "remove:committed",
            "purge:committed",
        ]
    );
    assert!(entries.iter().all(|e| e.operator.as_deref() == Some("clerk 1")));
    assert_eq!(entries[1].subjects, ["rec-a"]);
    assert_eq!(entries[2].detail, "already_enrolled");
    assert_eq!(entries[6].subjects, ["PER-1"]);
    assert!(entries[7].subjects.is_empty());
    assert_eq!(entries[8].subjects, ["rec-a"]);
    assert_eq!(entries[9].detail, "3 records read out");
    assert_eq!(entries[13].subjects, ["PER-1"], "purge names whose bytes it erased");
    let generations: Vec<Option<u64>> = entries.iter().map(|e| e.generation).collect();
    let expected = [0, 1, u64::MAX, 2, 3, 3, 3, 3, 3, 3, 4, 5, 6, 7];
    let expected: Vec<Option<u64>> =
        expected.iter().map(|&g| (g != u64::MAX).then_some(g)).collect();
    assert_eq!(generations, expected);
    // Owner-only, like every file of the gallery.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(g.join(audit::AUDIT_FILE)).expect("stat").permissions();
        assert_eq!(mode.mode() & 0o777, 0o600);
    }
}

#[test]
fn a_search_appends_while_a_writer_holds_the_gallery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(26);
    let writer = Gallery::create(dir.path()).expect("create");
    writer.enroll("s1", 1, &pop.impression(1, 0)).expect("enrol");
    assert!(matches!(
        Gallery::open(dir.path(), OpenMode::Writable),
        Err(Error::GalleryLocked { .. })
    ));
    let reader =
        Gallery::open_with(dir.path(), OpenMode::ReadOnly, &OpenOptions::new().operator("desk 2"))
            .expect("reader");
    reader.identify(&pop.impression(1, 1), &SearchOptions::default()).expect("search");
    let entries = trail(dir.path());
    let last = entries.last().expect("entry");
    assert_eq!(last.operation_name(), "identify");
    assert_eq!(last.operator.as_deref(), Some("desk 2"));
    assert_eq!(last.subjects, ["s1"]);
    // The writer goes on, chaining after the reader's entry.
    writer.enroll("s2", 1, &pop.impression(2, 0)).expect("enrol");
    assert_eq!(kinds(&trail(dir.path())).last().map(String::as_str), Some("enrol:committed"));
}

#[test]
fn searches_and_enrolments_in_parallel_keep_one_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(27);
    let writer = Gallery::create(dir.path()).expect("create");
    writer.enroll("s0", 1, &pop.impression(0, 0)).expect("enrol");
    let reader = Arc::new(Gallery::open(dir.path(), OpenMode::ReadOnly).expect("reader"));
    let probes: Vec<Template> = (0..12).map(|f| pop.impression(f % 3, 1)).collect();
    std::thread::scope(|s| {
        let searching = s.spawn(|| {
            for p in &probes {
                reader.identify(p, &SearchOptions::default()).expect("search");
            }
        });
        for f in 1..9u64 {
            writer.enroll(&format!("s{f}"), 1, &pop.impression(f, 0)).expect("enrol");
        }
        searching.join().expect("search thread");
    });
    let entries = trail(dir.path());
    let count = |name: &str| entries.iter().filter(|e| e.operation_name() == name).count();
    assert_eq!(count("identify"), probes.len());
    assert_eq!(count("enrol"), 9);
}

#[test]
fn a_commit_without_its_entry_is_found_and_recorded_by_the_next_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(28);
    Gallery::create(dir.path()).expect("create");
    {
        // An opener that does not audit stands for a writer stopped between its commit and
        // its entry.
        let quiet = OpenOptions::new().audit(false);
        let g = Gallery::open_with(dir.path(), OpenMode::Writable, &quiet).expect("open");
        g.enroll("s1", 1, &pop.impression(1, 0)).expect("enrol");
    }
    let report = audit::verify(dir.path()).expect("verify");
    let problem = report.problem.expect("missing entry found");
    assert_eq!(problem.index, 1);
    drop(Gallery::open(dir.path(), OpenMode::Writable).expect("writer"));
    let entries = trail(dir.path());
    assert_eq!(kinds(&entries), ["create:committed", "recovery:committed"]);
    assert_eq!(entries[1].generation, Some(1));
}

#[test]
fn a_bad_operator_is_refused_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    Gallery::create(dir.path()).expect("create");
    let bad = OpenOptions::new().operator("two\nlines");
    assert!(matches!(
        Gallery::open_with(dir.path(), OpenMode::ReadOnly, &bad),
        Err(Error::InvalidArgument(_))
    ));
}
