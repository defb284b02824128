//! People in a gallery on disk: enrolment of several fingers in one commit, one record per
//! person (duplicate refusal, update by re-capture), multi-finger identification with fused
//! per-finger evidence, demographics stored with the record, and normalised subject ids.
//! Synthetic templates, fixed seeds.

use ridgeline::gallery::{
    EnrolOptions, Gallery, NewPerson, OpenMode, PersonSearchOptions, Print, SearchMode,
};
use ridgeline::people::Demographics;
use ridgeline::{Error, Template};
use ridgeline_synth::fixture::FixturePopulation;

/// Person `p`'s fingers 1 and 6 are synthetic fingers `2p` and `2p + 1`.
fn prints_of(pop: &FixturePopulation, p: u64, impression: u32) -> [(u8, Template); 2] {
    [(1, pop.impression(2 * p, impression)), (6, pop.impression(2 * p + 1, impression))]
}

fn as_prints(t: &[(u8, Template)]) -> Vec<Print<'_>> {
    t.iter().map(|(finger, template)| Print { finger: *finger, template }).collect()
}

fn id(p: u64) -> String {
    format!("P{p:03}")
}

const PEOPLE: u64 = 40;

fn enrol_population(gallery: &Gallery, pop: &FixturePopulation) {
    let templates: Vec<[(u8, Template); 2]> = (0..PEOPLE).map(|p| prints_of(pop, p, 0)).collect();
    let prints: Vec<Vec<Print<'_>>> = templates.iter().map(|t| as_prints(t)).collect();
    let ids: Vec<String> = (0..PEOPLE).map(id).collect();
    let people: Vec<NewPerson<'_>> = ids
        .iter()
        .zip(&prints)
        .map(|(id, prints)| NewPerson { subject_id: id, prints, demographics: None })
        .collect();
    let outcome = gallery.enroll_people(&people, &EnrolOptions::default()).expect("enrol");
    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
    assert_eq!(outcome.enrolled.len(), PEOPLE as usize);
    assert!(outcome.enrolled.iter().all(|e| e.records.len() == 2 && !e.updated));
}

#[test]
fn two_fingers_identify_a_person_with_fused_evidence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(24);
    let gallery = Gallery::create(dir.path()).expect("create");
    enrol_population(&gallery, &pop);
    assert_eq!(gallery.len(), 2 * PEOPLE as usize);
    assert_eq!(gallery.subject_count().expect("count"), PEOPLE as usize);

    let probe = prints_of(&pop, 7, 1);
    let options = PersonSearchOptions::default();
    let two = gallery.identify_person(&as_prints(&probe), &options).expect("identify");
    assert_eq!(two.searched, PEOPLE as usize, "searched counts subjects");
    assert!((two.threshold_fmr - 1e-4 / PEOPLE as f64).abs() < 1e-18);
    let best = two.matched().expect("a returning person matches");
    assert_eq!(best.subject_id, "P007");
    assert_eq!(best.fingers.len(), 2);
    let fingers: Vec<(u8, u8)> = best.fingers.iter().map(|f| (f.probe_finger, f.finger)).collect();
    assert_eq!(fingers, vec![(1, 1), (6, 6)]);
    // Two fingers are stronger evidence than either alone.
    assert!(best.fingers.iter().all(|f| best.fmr < f.fmr), "{best:?}");
    assert!(best.fingers.iter().all(|f| best.score > f.score), "{best:?}");
    assert!(best.score >= two.match_threshold());
    // Candidates are ordered by fused evidence.
    assert!(two.candidates.windows(2).all(|w| w[0].fmr <= w[1].fmr));

    let one = gallery.identify_person(&as_prints(&probe[..1]), &options).expect("identify");
    let one_best = one.candidates.first().expect("candidate");
    assert_eq!(one_best.subject_id, "P007");
    assert_eq!(one_best.fingers.len(), 1);
    assert!(one_best.fmr > best.fmr);

    // Exhaustive search makes the same decision.
    let ex = PersonSearchOptions { mode: SearchMode::Exhaustive, ..options };
    let ex = gallery.identify_person(&as_prints(&probe), &ex).expect("identify");
    assert_eq!(ex.matched().map(|c| c.subject_id.as_str()), Some("P007"));

    // A walk-in (never enrolled) matches nobody.
    let walk_in = prints_of(&pop, 900, 1);
    let v = gallery.identify_person(&as_prints(&walk_in), &options).expect("identify");
    assert!(v.matched().is_none(), "{:?}", v.candidates.first());

    // A probe of unknown position is compared with every finger of a subject.
    let unknown = [(0, pop.impression(2 * 7 + 1, 1))];
    let v = gallery.identify_person(&as_prints(&unknown), &options).expect("identify");
    let c = v.matched().expect("match");
    assert_eq!((c.subject_id.as_str(), c.fingers[0].finger), ("P007", 6));

    // Bad probes are typed errors.
    let twice = [(1, pop.impression(0, 1)), (1, pop.impression(1, 1))];
    assert!(matches!(
        gallery.identify_person(&as_prints(&twice), &options),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(gallery.identify_person(&[], &options), Err(Error::InvalidArgument(_))));
    let bad_rate = PersonSearchOptions { fmr_per_search: 0.0, ..options };
    assert!(gallery.identify_person(&as_prints(&probe), &bad_rate).is_err());
}

#[test]
fn one_record_per_person_and_updates_by_recapture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(25);
    let gallery = Gallery::create(dir.path()).expect("create");
    enrol_population(&gallery, &pop);
    let records = gallery.len();

    // The same person under a new id: refused, naming the enrolled subject; nothing written.
    let again = prints_of(&pop, 12, 1);
    let prints = as_prints(&again);
    let new_id = NewPerson { subject_id: "NEW-1", prints: &prints, demographics: None };
    match gallery.enroll_person(&new_id, &EnrolOptions::default()) {
        Err(Error::DuplicatePerson { subject_id, existing, fmr, threshold }) => {
            assert_eq!(subject_id, "NEW-1");
            assert_eq!(existing, "P012");
            assert!(fmr <= threshold, "{fmr} > {threshold}");
        }
        other => panic!("expected a duplicate-person refusal, got {other:?}"),
    }
    // One finger of the person is enough to be refused.
    let one = [(6, pop.impression(2 * 12 + 1, 2))];
    let prints_one = as_prints(&one);
    let one_finger = NewPerson { subject_id: "NEW-2", prints: &prints_one, demographics: None };
    assert!(matches!(
        gallery.enroll_person(&one_finger, &EnrolOptions::default()),
        Err(Error::DuplicatePerson { existing, .. }) if existing == "P012"
    ));
    assert_eq!(gallery.len(), records);

    // The enrolled id without saying it is an update: refused.
    let same_id = NewPerson { subject_id: "P012", prints: &prints, demographics: None };
    assert!(matches!(
        gallery.enroll_person(&same_id, &EnrolOptions::default()),
        Err(Error::SubjectExists { subject_id }) if subject_id == "P012"
    ));
    // An update of an id that is not enrolled: refused.
    let update = EnrolOptions { update: true, ..EnrolOptions::default() };
    let walk_in = prints_of(&pop, 900, 0);
    let walk_in_prints = as_prints(&walk_in);
    let missing = NewPerson { subject_id: "P999", prints: &walk_in_prints, demographics: None };
    assert!(matches!(gallery.enroll_person(&missing, &update), Err(Error::SubjectNotFound { .. })));
    // A re-capture of the same person as an update of its own id: accepted, the re-captured
    // fingers replace the old records in the same commit, with demographics.
    let person = Demographics {
        name: Some("Wang Fang".into()),
        id_number: Some("11010519491231002X".into()),
        sex: Some("F".into()),
        birth_date: Some("1949-12-31".into()),
        address: Some("Beijing".into()),
        source: Some("window-3".into()),
    };
    let recapture = NewPerson { subject_id: "P012", prints: &prints, demographics: Some(&person) };
    let done = gallery.enroll_person(&recapture, &update).expect("update");
    assert!(done.updated);
    assert_eq!(done.replaced, 2);
    assert_eq!(done.records.len(), 2);
    assert_eq!(gallery.len(), records);
    assert_eq!(gallery.get("P012").expect("enrolled").len(), 2);
    assert_eq!(gallery.demographics("P012").expect("read"), Some(person.clone()));

    // An update adding a finger without demographic fields keeps the stored ones.
    let thumb = [(2, pop.impression(5000, 0))];
    let thumb_prints = as_prints(&thumb);
    let add = NewPerson { subject_id: "P012", prints: &thumb_prints, demographics: None };
    let done = gallery.enroll_person(&add, &update).expect("update");
    assert_eq!(done.replaced, 0);
    assert_eq!(gallery.get("P012").expect("enrolled").len(), 3);
    assert_eq!(gallery.demographics("P012").expect("read"), Some(person.clone()));

    // Compaction carries the demographic block; the gallery verifies; a reader sees it.
    gallery.compact().expect("compact");
    assert!(gallery.verify().is_ok());
    drop(gallery);
    let reader = Gallery::open(dir.path(), OpenMode::ReadOnly).expect("open");
    assert_eq!(reader.demographics("P012").expect("read"), Some(person));
    assert_eq!(reader.person("P012").expect("person").fingers.len(), 3);
    assert_eq!(reader.demographics("P000").expect("read"), None);
}

#[test]
fn people_of_one_batch_are_checked_against_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(26);
    let gallery = Gallery::create(dir.path()).expect("create");
    let a = prints_of(&pop, 1, 0);
    let a_again = prints_of(&pop, 1, 1);
    let b = prints_of(&pop, 2, 0);
    let (pa, pa2, pb) = (as_prints(&a), as_prints(&a_again), as_prints(&b));
    let people = [
        NewPerson { subject_id: "A", prints: &pa, demographics: None },
        NewPerson { subject_id: "A-again", prints: &pa2, demographics: None },
        NewPerson { subject_id: "B", prints: &pb, demographics: None },
        NewPerson { subject_id: "tab\there", prints: &pb, demographics: None },
    ];
    let outcome = gallery.enroll_people(&people, &EnrolOptions::default()).expect("enrol");
    let enrolled: Vec<&str> = outcome.enrolled.iter().map(|e| e.subject_id.as_str()).collect();
    assert_eq!(enrolled, vec!["A", "B"]);
    assert_eq!(outcome.refused.len(), 2);
    assert!(matches!(
        &outcome.refused[0],
        (1, Error::DuplicatePerson { existing, .. }) if existing == "A"
    ));
    assert!(matches!(&outcome.refused[1], (3, Error::InvalidSubjectId { .. })));
    assert_eq!(gallery.subject_count().expect("count"), 2);
}

#[test]
fn ids_in_other_unicode_forms_are_one_subject() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(27);
    let gallery = Gallery::create(dir.path()).expect("create");
    let t = prints_of(&pop, 3, 0);
    let prints = as_prints(&t);
    let nfd = "\u{FEFF}Jose\u{301} ";
    let person = NewPerson { subject_id: nfd, prints: &prints, demographics: None };
    let done = gallery.enroll_person(&person, &EnrolOptions::default()).expect("enrol");
    assert_eq!(done.subject_id, "Jos\u{e9}");
    // The composed spelling is the same, enrolled subject.
    let again = NewPerson { subject_id: "Jos\u{e9}", prints: &prints, demographics: None };
    assert!(matches!(
        gallery.enroll_person(&again, &EnrolOptions::default()),
        Err(Error::SubjectExists { .. })
    ));
    let probe = prints_of(&pop, 3, 1);
    let v = gallery
        .identify_person(&as_prints(&probe), &PersonSearchOptions::default())
        .expect("identify");
    assert_eq!(v.matched().map(|c| c.subject_id.as_str()), Some("Jos\u{e9}"));
    // Invisible characters are refused, not silently enrolled as another person.
    let zw = NewPerson { subject_id: "Jos\u{e9}\u{200B}", prints: &prints, demographics: None };
    assert!(matches!(
        gallery.enroll_person(&zw, &EnrolOptions::default()),
        Err(Error::InvalidSubjectId { .. })
    ));
    assert_eq!(gallery.remove("Jose\u{301}").expect("removed"), 2);
    assert!(gallery.is_empty());
}
