//! Indexed identification (coarse first stage + precise re-ranking) against exhaustive search
//! (issue #6, "correctness"): on the synth crate's templates and on the FVC2002 dev sets.

use ridgeline::gallery::{Enrolment, Gallery, SearchMode, SearchOptions};
use ridgeline::Template;
use ridgeline_synth::templates::{TemplateConfig, TemplateMaster};

fn options(mode: SearchMode) -> SearchOptions {
    SearchOptions { top_k: 1, finger: None, mode }
}

fn enrol(gallery: &Gallery, records: &[(String, Template)]) {
    let batch: Vec<Enrolment<'_>> = records
        .iter()
        .map(|(id, t)| Enrolment { subject_id: id, finger: 0, template: t })
        .collect();
    gallery.enroll_batch(&batch).expect("enrol");
}

/// Share of probes whose indexed top candidate is the exhaustive one, and the exhaustive
/// rank-1 identification rate.
fn agreement(gallery: &Gallery, probes: &[(String, Template)]) -> (f64, f64) {
    let (mut agree, mut mate_first) = (0, 0);
    for (id, probe) in probes {
        let ex = gallery.identify(probe, &options(SearchMode::Exhaustive)).expect("exhaustive");
        let ix = gallery.identify(probe, &options(SearchMode::Indexed)).expect("indexed");
        let top = |r: &ridgeline::gallery::Identification| {
            r.candidates.first().map(|c| c.subject_id.clone())
        };
        agree += usize::from(top(&ix) == top(&ex));
        mate_first += usize::from(top(&ex).as_deref() == Some(id.as_str()));
    }
    let n = probes.len().max(1) as f64;
    (agree as f64 / n, mate_first as f64 / n)
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
    let (agree, rank1) = agreement(&gallery, &probe_set);
    eprintln!("synthetic: agreement {agree:.3}, exhaustive rank-1 {rank1:.3}");
    assert!(rank1 >= 0.97, "exhaustive rank-1 {rank1}");
    // Measured 0.953 with this 2 % short list (0.960 before the coarse score was divided by the
    // record's minutiae, one probe; on the bench population that division helped, see
    // docs/PERFORMANCE.md); a regression guard, the 0.995 is not reached on this test.
    assert!(agree >= 0.94, "indexed agrees with exhaustive on {agree}");
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
    let (agree, rank1) = agreement(&gallery, &probes);
    eprintln!("dev sets: agreement {agree:.3}, exhaustive rank-1 {rank1:.3}");
    // Measured 0.979 (0.954 before the coarse score was divided by the record's minutiae: real
    // prints differ widely in how many minutiae the descriptor holds); a regression guard, the
    // issue's 0.995 is not reached on this test.
    assert!(agree >= 0.97, "indexed agrees with exhaustive on {agree}");
}
