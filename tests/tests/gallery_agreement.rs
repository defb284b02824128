//! Indexed identification (coarse first stage + precise re-ranking) against exhaustive search
//! on the synth crate's templates and on the FVC2002 dev sets.
//!
//! Two kinds of test:
//! - **at the default settings**, on a gallery large enough for them to select (12,000
//!   synthetic fingers, with the dev sets' 40 real fingers among them): the search an office
//!   runs, which must give the same top candidate as exhaustive search on 99.5 % of genuine
//!   probes;
//! - **with short lists shortened on purpose** (2 % of 1,500 synthetic fingers, 10 % of the 40
//!   dev-set fingers alone) and an escalation of 4 × that: the coarse stage's own ranking, with
//!   little room to spare, as regression guards.

use ridgeline::gallery::{Enrolment, Gallery, SearchMode, SearchOptions};
use ridgeline::Template;
use ridgeline_synth::templates::{TemplateConfig, TemplateMaster};

/// Enrolled fingers of the default-settings test: beyond the short list's minimum (256) and
/// the escalation budget (8,192), so both select.
const DEFAULT_SETTINGS_FINGERS: u64 = 12_000;

/// Subject ids and templates.
type Records = Vec<(String, Template)>;

fn options(mode: SearchMode) -> SearchOptions {
    SearchOptions::new(1, None, mode)
}

fn enrol(gallery: &Gallery, records: &[(String, Template)]) {
    for chunk in records.chunks(4096) {
        let batch: Vec<Enrolment<'_>> = chunk
            .iter()
            .map(|(id, t)| Enrolment { subject_id: id, finger: 0, template: t })
            .collect();
        gallery.enroll_batch(&batch).expect("enrol");
    }
}

/// How often indexed search's top candidate is the exhaustive one, for one set of options.
#[derive(Debug)]
struct Agreement {
    probes: usize,
    /// Probes whose indexed top candidate is the exhaustive one.
    agreeing: usize,
    /// Probes whose exhaustive top candidate is their mate.
    mate_first: usize,
    /// How many of those indexed search ranks first too, whatever the mate's score.
    mate_first_agreeing: usize,
    /// Probes whose exhaustive top candidate is their mate at or above the escalation score
    /// (the matcher's score at FMR 10⁻⁴): those a registration window would identify.
    identified: usize,
    /// How many of those indexed search identifies the same way.
    identified_agreeing: usize,
    /// Indexed searches that escalated, and the records they compared in all.
    escalated: usize,
    compared: usize,
}

impl Agreement {
    fn share(&self) -> f64 {
        self.agreeing as f64 / self.probes.max(1) as f64
    }

    fn rank1(&self) -> f64 {
        self.mate_first as f64 / self.probes.max(1) as f64
    }
}

/// Agreement of indexed search under each of `variants` with exhaustive search (searched once
/// per probe).
fn agreement<const N: usize>(
    gallery: &Gallery,
    probes: &[(String, Template)],
    variants: &[SearchOptions; N],
) -> [Agreement; N] {
    let threshold = options(SearchMode::Indexed).escalate_below.expect("escalates by default");
    let top =
        |r: &ridgeline::gallery::Identification| r.candidates.first().map(|c| c.subject_id.clone());
    let mut tallies: [Agreement; N] = std::array::from_fn(|_| Agreement {
        probes: probes.len(),
        agreeing: 0,
        mate_first: 0,
        mate_first_agreeing: 0,
        identified: 0,
        identified_agreeing: 0,
        escalated: 0,
        compared: 0,
    });
    for (id, probe) in probes {
        let ex = gallery.identify(probe, &options(SearchMode::Exhaustive)).expect("exhaustive");
        let mate_first = top(&ex).as_deref() == Some(id.as_str());
        let identified = mate_first && ex.candidates[0].score >= threshold;
        for (variant, tally) in variants.iter().zip(&mut tallies) {
            let ix = gallery.identify(probe, variant).expect("indexed");
            let agrees = top(&ix) == top(&ex);
            tally.agreeing += usize::from(agrees);
            tally.mate_first += usize::from(mate_first);
            tally.mate_first_agreeing += usize::from(mate_first && agrees);
            tally.identified += usize::from(identified);
            tally.identified_agreeing += usize::from(identified && agrees);
            tally.escalated += usize::from(ix.escalated);
            tally.compared += ix.compared;
        }
    }
    tallies
}

fn report(what: &str, a: &Agreement) {
    eprintln!(
        "{what}: agreement {:.3} ({} of {}), exhaustive rank-1 {:.3}; identified by exhaustive \
         search at FMR 1e-4: {}, the same by indexed: {}; {} escalated, {:.0} records compared \
         per search",
        a.share(),
        a.agreeing,
        a.probes,
        a.rank1(),
        a.identified,
        a.identified_agreeing,
        a.escalated,
        a.compared as f64 / a.probes.max(1) as f64
    );
}

/// Synthetic fingers 1..=`fingers` of `seed` (impression 1) and `probes` genuine probes
/// (impression 2 of fingers spread over them).
fn synthetic(seed: u64, fingers: u64, probes: u64) -> (Records, Records) {
    let config = TemplateConfig::default();
    let master = |f: u64| TemplateMaster::generate(seed, f, &config);
    let enrolled = (1..=fingers)
        .map(|f| (format!("f{f}"), master(f).impression(seed, f, 1, &config)))
        .collect();
    let probes = (0..probes)
        .map(|j| {
            let f = 1 + (j * 97 + 5) % fingers;
            (format!("f{f}"), master(f).impression(seed, f, 2, &config))
        })
        .collect();
    (enrolled, probes)
}

/// The FVC2002 dev sets (B): impression 1 of each finger enrolled, impressions 2–8 as probes;
/// `None` (with a message) where `../shared` is absent.
fn dev_sets() -> Option<(Records, Records)> {
    let root = ridgeline_tests::shared_path("datasets/fvc2002")?;
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
    Some((enrolled, probes))
}

#[test]
fn indexed_search_agrees_with_exhaustive_at_the_default_settings() {
    // A population the search's constants were not chosen on (the stress test below uses
    // seed 3, the bench seed 1).
    let (mut enrolled, synthetic_probes) = synthetic(4, DEFAULT_SETTINGS_FINGERS, 300);
    let dev = dev_sets();
    if let Some((dev_enrolled, _)) = &dev {
        enrolled.extend(dev_enrolled.iter().cloned());
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let gallery = Gallery::create(dir.path()).expect("create");
    enrol(&gallery, &enrolled);
    let defaults = [options(SearchMode::Indexed)];

    let [a] = agreement(&gallery, &synthetic_probes, &defaults);
    report("default settings, synthetic probes", &a);
    assert!(a.rank1() >= 0.97, "exhaustive rank-1 {}", a.rank1());
    assert!(a.identified >= 270, "exhaustive search identifies {} probes", a.identified);
    // Measured: 300 of 300, identified 297 of 297 (5 escalated; 388 records compared per search).
    assert!(a.share() >= 0.995, "indexed agrees on {}", a.share());
    assert_eq!(a.identified_agreeing, a.identified, "identified probes lost by the index");
    assert_eq!(a.mate_first_agreeing, a.mate_first, "mates lost by the index");

    // Real probes, each mate among 12,000 synthetic fingers and 39 other real ones.
    let Some((_, dev_probes)) = dev else { return };
    let [a] = agreement(&gallery, &dev_probes, &defaults);
    report("default settings, dev-set probes", &a);
    assert!(a.identified >= 240, "exhaustive search identifies {} probes", a.identified);
    // Measured: 278 of 280, identified 258 of 258 (20 escalated; 823 records compared per
    // search). The two others are DB3 probes whose exhaustive top candidate is a synthetic
    // impostor: once at 0.076, above the escalation score, where indexed search returns the
    // mate at 0.070, and once at 0.039 with another impostor at 0.039 from indexed search. The
    // bound is the speed issue's (0.99); what indexed search must never lose, a mate that
    // exhaustive search ranks first (identified or not), is checked exactly below.
    assert!(a.share() >= 0.99, "indexed agrees on {}", a.share());
    assert_eq!(a.identified_agreeing, a.identified, "identified probes lost by the index");
    assert_eq!(a.mate_first_agreeing, a.mate_first, "mates lost by the index");
}

/// The stress variants: the short list alone, and escalation to 4 × the short list.
fn shortened(shortlist: usize) -> [SearchOptions; 2] {
    let escalating = SearchOptions { escalate_to: 4 * shortlist, ..options(SearchMode::Indexed) };
    [SearchOptions { escalate_below: None, ..escalating }, escalating]
}

#[test]
fn the_coarse_stage_ranks_synthetic_mates_high() {
    let (enrolled, probe_set) = synthetic(3, 1500, 150);
    let dir = tempfile::tempdir().expect("tempdir");
    // A short list of 30 is 2 % of the gallery: the coarse stage must do the selecting.
    let gallery = Gallery::create(dir.path()).expect("create").with_shortlist(Some(30));
    enrol(&gallery, &enrolled);
    let [plain, escalated] = agreement(&gallery, &probe_set, &shortened(30));
    report("synthetic, 2 % short list alone", &plain);
    report("synthetic, 2 % short list, escalating to 8 %", &escalated);
    assert!(plain.rank1() >= 0.97, "exhaustive rank-1 {}", plain.rank1());
    // The short list alone: measured 0.953. Dividing the coarse score by the record's minutiae
    // costs one probe here (0.960 without) and helps on the bench population, see
    // docs/PERFORMANCE.md.
    assert!(plain.share() >= 0.94, "the short list alone agrees on {}", plain.share());
    // Escalating to 8 %: measured 0.980. Two of the three disagreements are probes exhaustive
    // search does not identify either (it ranks the mate first, but below the score at FMR
    // 1e-4); the third is a distorted mate the precise matcher identifies at 0.091 but the
    // coarse stage ranks beyond 8 %.
    assert!(escalated.share() >= 0.97, "indexed agrees on {}", escalated.share());
    // Of the probes exhaustive search identifies: measured 143 of 145. The count floor keeps
    // a gain from hiding behind the share.
    assert!(escalated.identified >= 135, "exhaustive identifies {}", escalated.identified);
    assert!(escalated.identified_agreeing >= 142, "indexed identifies {escalated:?}");
}

#[test]
fn the_coarse_stage_ranks_dev_set_mates_high() {
    let Some((enrolled, probes)) = dev_sets() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    // 4 of 40 fingers (10 %) re-ranked.
    let gallery = Gallery::create(dir.path()).expect("create").with_shortlist(Some(4));
    enrol(&gallery, &enrolled);
    let [plain, escalated] = agreement(&gallery, &probes, &shortened(4));
    report("dev sets, 10 % short list alone", &plain);
    report("dev sets, 10 % short list, escalating to 40 %", &escalated);
    // The short list alone: measured 0.975 (273 of 280; real prints differ widely in how many
    // minutiae the descriptor holds, which dividing the coarse score by them absorbs).
    assert!(plain.share() >= 0.97, "the short list alone agrees on {}", plain.share());
    // Escalating to 40 %: measured 0.989 (277 of 280); the three disagreements are probes
    // exhaustive search does not identify at FMR 1e-4 either (checked by the last assertion).
    assert!(escalated.share() >= 0.985, "indexed agrees on {}", escalated.share());
    // Of the probes exhaustive search identifies: measured 261 of 261.
    assert!(escalated.identified >= 240, "exhaustive identifies {}", escalated.identified);
    assert_eq!(escalated.identified_agreeing, escalated.identified, "{escalated:?}");
}
