//! Indexed identification (coarse first stage + precise re-ranking) against exhaustive search
//! (issue #6, "correctness"): on the synth crate's templates and on the FVC2002 dev sets.

use ridgeline::gallery::{Enrolment, Gallery, SearchMode, SearchOptions};
use ridgeline::Template;
use ridgeline_synth::templates::{TemplateConfig, TemplateMaster};

fn options(mode: SearchMode) -> SearchOptions {
    SearchOptions::new(1, None, mode)
}

fn enrol(gallery: &Gallery, records: &[(String, Template)]) {
    let batch: Vec<Enrolment<'_>> = records
        .iter()
        .map(|(id, t)| Enrolment { subject_id: id, finger: 0, template: t })
        .collect();
    gallery.enroll_batch(&batch).expect("enrol");
}

/// How often indexed search's top candidate is the exhaustive one.
struct Agreement {
    /// The short list alone (no escalation): the coarse stage's own recall.
    coarse_only: f64,
    /// With the default escalation.
    escalated: f64,
    /// Exhaustive search's rank-1 identification rate.
    rank1: f64,
    /// Probes whose exhaustive top candidate is their mate at or above the escalation score
    /// (the matcher's score at FMR 10⁻⁴): those a registration window would identify.
    identified: usize,
    /// How many of those indexed search (with escalation) identifies the same way.
    identified_agreeing: usize,
}

fn agreement(gallery: &Gallery, probes: &[(String, Template)]) -> Agreement {
    let (mut coarse_only, mut escalated, mut mate_first) = (0, 0, 0);
    let (mut identified, mut identified_agreeing) = (0, 0);
    let threshold = options(SearchMode::Indexed).escalate_below.expect("escalates by default");
    let top =
        |r: &ridgeline::gallery::Identification| r.candidates.first().map(|c| c.subject_id.clone());
    let plain = SearchOptions { escalate_below: None, ..options(SearchMode::Indexed) };
    for (id, probe) in probes {
        let ex = gallery.identify(probe, &options(SearchMode::Exhaustive)).expect("exhaustive");
        let ix = gallery.identify(probe, &plain).expect("indexed");
        let ix_escalated = gallery.identify(probe, &options(SearchMode::Indexed)).expect("indexed");
        coarse_only += usize::from(top(&ix) == top(&ex));
        escalated += usize::from(top(&ix_escalated) == top(&ex));
        mate_first += usize::from(top(&ex).as_deref() == Some(id.as_str()));
        let mate_identified =
            ex.candidates.first().is_some_and(|c| &c.subject_id == id && c.score >= threshold);
        if mate_identified {
            identified += 1;
            identified_agreeing += usize::from(top(&ix_escalated) == top(&ex));
        }
    }
    let n = probes.len().max(1) as f64;
    Agreement {
        coarse_only: coarse_only as f64 / n,
        escalated: escalated as f64 / n,
        rank1: mate_first as f64 / n,
        identified,
        identified_agreeing,
    }
}

#[test]
fn indexed_search_agrees_with_exhaustive_on_synthetic_fingers() {
    let (fingers, probes, seed) = (1500u64, 150u64, 3);
    let config = TemplateConfig::default();
    let master = |f: u64| TemplateMaster::generate(seed, f, &config);
    let enrolled: Vec<(String, Template)> = (1..=fingers)
        .map(|f| (format!("f{f}"), master(f).impression(seed, f, 1, &config)))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    // A short list of 30 is 2 % of the gallery: the coarse stage must do the selecting.
    let gallery = Gallery::create(dir.path()).expect("create").with_shortlist(Some(30));
    enrol(&gallery, &enrolled);
    let probe_set: Vec<(String, Template)> = (0..probes)
        .map(|j| {
            let f = 1 + (j * 97 + 5) % fingers;
            (format!("f{f}"), master(f).impression(seed, f, 2, &config))
        })
        .collect();
    let a = agreement(&gallery, &probe_set);
    eprintln!(
        "synthetic: agreement {:.3} (short list alone {:.3}), exhaustive rank-1 {:.3}; \
         identified by exhaustive search at FMR 1e-4: {}, the same by indexed: {}",
        a.escalated, a.coarse_only, a.rank1, a.identified, a.identified_agreeing
    );
    assert!(a.rank1 >= 0.97, "exhaustive rank-1 {}", a.rank1);
    // The short list alone: measured 0.953 with this 2 % short list (0.960 before the coarse
    // score was divided by the record's minutiae, one probe; on the bench population that
    // division helped, see docs/PERFORMANCE.md); a regression guard of the coarse stage.
    assert!(a.coarse_only >= 0.94, "the short list alone agrees on {}", a.coarse_only);
    // With escalation (8 % re-ranked when the 2 % find nothing): measured 0.980. Two of the
    // three disagreements are probes exhaustive search does not identify either (it ranks the
    // mate first, but below the score at FMR 1e-4), where which candidate tops the list
    // decides nothing.
    assert!(a.escalated >= 0.97, "indexed agrees on {}", a.escalated);
    // Of the probes exhaustive search identifies: measured 143 of 145. Before the ninth
    // session's agreement change it was 142 of 143: the precise matcher now identifies two more
    // distorted mates, and indexed search finds one of them; the mates it misses are not among
    // the 8 % best coarse scores (the coarse stage did not change). The count floor keeps the
    // indexed gain from hiding behind the share.
    assert!(a.identified >= 135, "exhaustive search identifies {} probes", a.identified);
    assert!(a.identified_agreeing >= 142, "indexed identifies {}", a.identified_agreeing);
    let share = a.identified_agreeing as f64 / a.identified as f64;
    assert!(share >= 0.985, "indexed identifies {share} of them the same way");
}

#[test]
fn indexed_search_agrees_with_exhaustive_on_the_dev_sets() {
    let Some(root) = ridgeline_tests::shared_path("datasets/fvc2002") else {
        eprintln!("SKIPPED: ../shared/datasets/fvc2002 not found");
        return;
    };
    let extractor = ridgeline::extract::Extractor::new(Default::default());
    let mut enrolled = Vec::new();
    let mut probes = Vec::new();
    for (set, dpi) in [("DB1_B", 500), ("DB2_B", 569), ("DB3_B", 500), ("DB4_B", 500)] {
        for finger in 101..=110 {
            for impression in 1..=8 {
                let path = root.join(set).join(format!("{finger}_{impression}.tif"));
                let Ok(image) = ridgeline::FingerImage::open(&path, Some(dpi)) else {
                    continue;
                };
                let Ok(template) = extractor.extract(&image) else { continue };
                let id = format!("{set}-{finger}");
                if impression == 1 {
                    enrolled.push((id, template));
                } else {
                    probes.push((id, template));
                }
            }
        }
    }
    assert!(enrolled.len() >= 38 && probes.len() >= 270, "dev sets incomplete");
    let dir = tempfile::tempdir().expect("tempdir");
    // 4 of 40 fingers (10 %) re-ranked.
    let gallery = Gallery::create(dir.path()).expect("create").with_shortlist(Some(4));
    enrol(&gallery, &enrolled);
    let a = agreement(&gallery, &probes);
    eprintln!(
        "dev sets: agreement {:.3} (short list alone {:.3}), exhaustive rank-1 {:.3}; \
         identified by exhaustive search at FMR 1e-4: {}, the same by indexed: {}",
        a.escalated, a.coarse_only, a.rank1, a.identified, a.identified_agreeing
    );
    // The short list alone: measured 0.975 (0.979 before the ninth session's agreement change;
    // 0.954 before the coarse score was divided by the
    // record's minutiae: real prints differ widely in how many minutiae the descriptor holds);
    // a regression guard of the coarse stage.
    assert!(a.coarse_only >= 0.97, "the short list alone agrees on {}", a.coarse_only);
    // With escalation (16 of 40 fingers re-ranked when 4 find nothing): measured 0.993; both
    // disagreements are probes exhaustive search does not identify at FMR 1e-4 either (mate
    // ranked 9th; mate first at 0.030).
    assert!(a.escalated >= 0.99, "indexed agrees on {}", a.escalated);
    // Of the probes exhaustive search identifies: measured 258 of 258 (255 of 255 before the
    // ninth session's agreement change).
    assert!(a.identified >= 240, "exhaustive search identifies {} probes", a.identified);
    let share = a.identified_agreeing as f64 / a.identified as f64;
    assert!(share >= 0.995, "indexed identifies {share} of them the same way");
}
