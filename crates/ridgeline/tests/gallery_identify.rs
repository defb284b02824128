//! 1:N identification over a real gallery on disk with the real matcher, on
//! synthetic templates (fixed seeds).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ridgeline::gallery::{Enrolment, Gallery, OpenMode, SearchMode, SearchOptions};
use ridgeline::{Error, Template};
use ridgeline_synth::fixture::FixturePopulation;

fn subject(f: u64) -> String {
    format!("s{f:05}")
}

fn finger_of(f: u64) -> u8 {
    1 + (f % 10) as u8
}

fn build(dir: &std::path::Path, n: u64, pop: &FixturePopulation) -> Gallery {
    let gallery = Gallery::create(dir).expect("create");
    let templates: Vec<(String, Template)> =
        (0..n).map(|f| (subject(f), pop.impression(f, 0))).collect();
    let batch: Vec<Enrolment<'_>> = templates
        .iter()
        .zip(0..)
        .map(|((id, t), f)| Enrolment { subject_id: id, finger: finger_of(f), template: t })
        .collect();
    gallery.enroll_batch(&batch).expect("enrol");
    gallery
}

fn options(mode: SearchMode) -> SearchOptions {
    SearchOptions::new(5, None, mode)
}

#[test]
fn exhaustive_finds_the_mate_and_indexed_agrees_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(11);
    let n = 300;
    let gallery = build(dir.path(), n, &pop);
    let probes = 30;
    let (mut mate_first, mut agree) = (0, 0);
    for j in 0..probes {
        let f = (j * 37 + 5) % n;
        let probe = pop.impression(f, 1);
        let ex = gallery.identify(&probe, &options(SearchMode::Exhaustive)).expect("exhaustive");
        assert_eq!(ex.compared, n as usize);
        assert_eq!(ex.searched, n as usize);
        let ix = gallery.identify(&probe, &options(SearchMode::Indexed)).expect("indexed");
        assert!(ex.candidates.windows(2).all(|w| w[0].score >= w[1].score));
        mate_first += usize::from(ex.candidates[0].subject_id == subject(f));
        agree += usize::from(
            ix.candidates.first().map(|c| &c.subject_id) == Some(&ex.candidates[0].subject_id),
        );
    }
    assert!(mate_first >= probes as usize - 1, "exhaustive rank-1 {mate_first}/{probes}");
    // The default short list (256) covers most of this small gallery; the recall of the coarse
    // stage at scale is measured by `ridgeline bench search` and a test in `tests/`.
    assert_eq!(agree, probes as usize, "indexed agrees on {agree}/{probes}");
}

#[test]
fn a_shortlist_covering_the_gallery_reproduces_exhaustive_search_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(12);
    let gallery = build(dir.path(), 120, &pop).with_shortlist(Some(10_000));
    for f in [3u64, 50, 119] {
        let probe = pop.impression(f, 2);
        let ex = gallery.identify(&probe, &options(SearchMode::Exhaustive)).expect("exhaustive");
        let ix = gallery.identify(&probe, &options(SearchMode::Indexed)).expect("indexed");
        // Every record is in the short list, so the precise stage sees what exhaustive sees.
        assert_eq!(ix.candidates, ex.candidates);
    }
}

#[test]
fn escalation_re_ranks_further_only_when_nothing_in_the_short_list_matches() {
    use ridgeline::gallery::identify::{default_escalation_score, ESCALATED_MAX};
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(14);
    let n = 200u64;
    let (short, wide) = (8, 32);
    let gallery = build(dir.path(), n, &pop).with_shortlist(Some(short));
    let widened =
        Gallery::open(dir.path(), OpenMode::ReadOnly).expect("open").with_shortlist(Some(wide));
    // The default budget re-ranks up to ESCALATED_MAX records; this gallery is smaller, so the
    // test sets a budget of its own to see where an escalation stops.
    assert_eq!(options(SearchMode::Indexed).escalate_to, ESCALATED_MAX);
    let default_with_budget = SearchOptions { escalate_to: wide, ..options(SearchMode::Indexed) };
    let with = |escalate_below| SearchOptions { escalate_below, ..default_with_budget };
    let mut escalations = 0;
    for f in [0u64, 17, 44, 101, 163, 199] {
        // A genuine probe and a walk-in (a finger not enrolled).
        for probe in [pop.impression(f, 1), pop.impression(n + f, 0)] {
            let plain = gallery.identify(&probe, &with(None)).expect("plain");
            assert!(!plain.escalated);
            assert_eq!(plain.compared, short);
            // Escalating always re-ranks the widened list: the same answer as a search whose
            // short list is that wide, compared for compared.
            let always = gallery.identify(&probe, &with(Some(f64::INFINITY))).expect("always");
            let wide_plain = widened.identify(&probe, &with(None)).expect("wide");
            assert!(always.escalated);
            assert_eq!(always.compared, wide);
            assert_eq!(always.candidates, wide_plain.candidates);
            // The default escalates exactly when the short list's best is below the threshold.
            let default = gallery.identify(&probe, &default_with_budget).expect("default");
            let below = plain.candidates[0].score < default_escalation_score();
            assert_eq!(default.escalated, below, "probe of finger {f}");
            let expected = if below { &always } else { &plain };
            assert_eq!(default.candidates, expected.candidates);
            assert_eq!(default.compared, expected.compared);
            escalations += usize::from(below);
        }
    }
    // Walk-ins escalate; genuine probes whose mate is short-listed do not.
    assert!((6..12).contains(&escalations), "{escalations} escalations");
}

#[test]
fn a_match_needs_the_per_search_rate_divided_by_the_records_searched() {
    use ridgeline::gallery::identify::match_threshold;
    use ridgeline::matcher::calibration::{fmr_for_score, threshold_for_fmr};
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(16);
    let n = 100u64;
    let gallery = build(dir.path(), n, &pop);
    let genuine = gallery.identify(&pop.impression(42, 1), &options(SearchMode::Indexed));
    let genuine = genuine.expect("identify");
    assert_eq!(genuine.match_threshold(1e-4), threshold_for_fmr(1e-6));
    // Stricter rates, and more records searched, need higher scores.
    assert!(genuine.match_threshold(1e-6) > genuine.match_threshold(1e-4));
    assert!(match_threshold(1e-4, 10 * n as usize) > match_threshold(1e-4, n as usize));
    let mate = genuine.matched(1e-4).expect("the mate matches");
    assert_eq!(mate.subject_id, subject(42));
    // Walk-ins (fingers not enrolled) match nobody at the default rate.
    for f in n..n + 10 {
        let walk_in = gallery.identify(&pop.impression(f, 0), &options(SearchMode::Indexed));
        let walk_in = walk_in.expect("identify");
        assert!(walk_in.matched(1e-4).is_none(), "walk-in {f}: {:?}", walk_in.candidates[0]);
    }
    // The per-search rate at which a score just matches is its per-comparison rate times the
    // records searched: at twice that rate the score is enough, at half it is not.
    let searched = n as usize;
    for score in [0.05, 0.07, 0.09, 0.11] {
        let edge = fmr_for_score(score) * searched as f64;
        assert!(match_threshold(2.0 * edge, searched) <= score, "{score} at {}", 2.0 * edge);
        assert!(match_threshold(edge / 2.0, searched) > score, "{score} at {}", edge / 2.0);
    }
}

#[test]
fn finger_filter_removal_and_get() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(13);
    let gallery = build(dir.path(), 60, &pop);
    let probe = pop.impression(7, 1);
    let only = SearchOptions { finger: Some(finger_of(7)), ..options(SearchMode::Exhaustive) };
    let r = gallery.identify(&probe, &only).expect("identify");
    assert_eq!(r.searched, 6);
    assert!(r.candidates.iter().all(|c| c.finger == finger_of(7)));
    assert_eq!(r.candidates[0].subject_id, subject(7));
    assert!(gallery.identify(&probe, &SearchOptions { finger: Some(11), ..only }).is_err());

    let got = gallery.get(&subject(7)).expect("get");
    assert_eq!(got[0].template, pop.impression(7, 0));
    assert_eq!(gallery.remove(&subject(7)).expect("remove"), 1);
    assert!(matches!(gallery.remove(&subject(7)), Err(Error::SubjectNotFound { .. })));
    let r = gallery.identify(&probe, &only).expect("identify");
    assert!(r.candidates.iter().all(|c| c.subject_id != subject(7)));
    gallery.compact().expect("compact");
    assert_eq!(gallery.len(), 59);
    assert!(gallery.verify().is_ok());
}

#[test]
fn searches_run_on_consistent_snapshots_while_enrolment_and_compaction_go_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pop = FixturePopulation::new(14);
    let gallery = Arc::new(build(dir.path(), 40, &pop));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|k| {
            let (gallery, done) = (gallery.clone(), done.clone());
            std::thread::spawn(move || {
                let mut searches = 0;
                while !done.load(Ordering::Relaxed) || searches == 0 {
                    let snap = gallery.snapshot();
                    let f = (searches * 7 + k) % 40;
                    let probe = pop.impression(f, 1);
                    let r = gallery
                        .identify_in(&snap, &probe, &options(SearchMode::Indexed))
                        .expect("identify");
                    assert_eq!(r.searched, snap.len());
                    for c in &r.candidates {
                        // Every candidate is a live record of the snapshot searched.
                        assert_eq!(snap.subject(c.record).expect("record").0, c.subject_id);
                    }
                    searches += 1;
                }
                searches
            })
        })
        .collect();
    for f in 40..70u64 {
        gallery.enroll(&subject(f), finger_of(f), &pop.impression(f, 0)).expect("enrol");
        if f % 10 == 0 {
            gallery.remove(&subject(f - 35)).expect("remove");
            gallery.compact().expect("compact");
        }
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().expect("reader") > 0);
    }
    let probe = pop.impression(66, 1);
    let r = gallery.identify(&probe, &options(SearchMode::Exhaustive)).expect("identify");
    assert_eq!(r.candidates[0].subject_id, subject(66));
    assert!(Gallery::open(dir.path(), OpenMode::ReadOnly).expect("reader").verify().is_ok());
}
