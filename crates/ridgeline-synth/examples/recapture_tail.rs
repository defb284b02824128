//! How many synthetic re-captured people the de-duplication's blind threshold cannot link: the
//! matcher's bound on `ridgeline bench dedup`'s recall.
//!
//! `cargo run --release -p ridgeline-synth --example recapture_tail -- [SEED] [PEOPLE] [RECORDS]`
//!
//! Each person has two fingers (the demo population's), each captured twice (impressions 1 and
//! 2 of the template generator, as a planted re-capture is). Both fingers are compared, their
//! calibrated rates fused as `ridgeline dedup` fuses them, and the person counts as beyond reach
//! when the fused rate is above the blind per-pair threshold of a database of `RECORDS` records
//! at `--fmr 1e-4` (default 100,998: the 100,000 × 2 benchmark). For the people beyond reach the
//! example lists each finger's score, rate, minutiae counts, the matches the matcher
//! consolidated, and how many minutiae truly correspond (carried through the finger's master by
//! the generator's own placement), which says whether a better matcher could reach them.

use rayon::prelude::*;
use ridgeline::dedup::{fused_fmr, pair_fmr_threshold};
use ridgeline::matcher::calibration::fmr_for_score;
use ridgeline::matcher::{MatchTemplate, Matcher};
use ridgeline::Template;
use ridgeline_synth::rng::{Purpose, Rng};
use ridgeline_synth::templates::{generate, TemplateConfig, TemplateMaster};
use ridgeline_synth::warp::Warp;

/// A minutia of impression 1 and one of impression 2 correspond when the master carries the
/// first within this distance of the second (a few times the generator's position jitter).
const TRUE_MATE_PX: f64 = 8.0;

/// One finger of one person: the comparison of its two impressions.
#[derive(Debug, Clone, Copy)]
struct FingerResult {
    score: f64,
    minutiae: (usize, usize),
    consolidated: usize,
    true_mates: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = |k: usize, default: u64| -> Result<u64, Box<dyn std::error::Error>> {
        Ok(std::env::args().nth(k).map(|s| s.parse()).transpose()?.unwrap_or(default))
    };
    let seed = arg(1, 8)?;
    let people = arg(2, 5000)?;
    let records = arg(3, 100_998)?;
    let config = TemplateConfig::default();
    let matcher = Matcher::new();
    let results: Vec<[FingerResult; 2]> = (0..people)
        .into_par_iter()
        .map(|person| {
            let finger = |k: u64| compare_impressions(seed, person * 2 + k + 1, &config, &matcher);
            Ok([finger(0)?, finger(1)?])
        })
        .collect::<Result<_, ridgeline_synth::Error>>()?;
    let threshold = pair_fmr_threshold(1e-4, records as usize);
    let mut finger_rates: Vec<f64> =
        results.iter().flatten().map(|f| fmr_for_score(f.score)).collect();
    finger_rates.sort_by(f64::total_cmp);
    let beyond: Vec<(usize, f64, &[FingerResult; 2])> = results
        .iter()
        .enumerate()
        .map(|(person, r)| (person, fused_fmr(&r.map(|f| fmr_for_score(f.score))), r))
        .filter(|&(_, fused, _)| fused > threshold)
        .collect();
    println!("seed {seed}, {people} people × 2 fingers, blind threshold {threshold:.2e}");
    for t in [1e-4, 1e-6, 1e-8] {
        let share = finger_rates.iter().filter(|&&p| p > t).count() as f64
            / finger_rates.len().max(1) as f64;
        println!("fingers whose re-capture scores above FMR {t:.0e}: {:.2} %", 100.0 * share);
    }
    println!(
        "people beyond the blind threshold: {} ({:.2} %)",
        beyond.len(),
        100.0 * beyond.len() as f64 / people.max(1) as f64
    );
    for (person, fused, fingers) in beyond {
        let describe = |f: &FingerResult| {
            format!(
                "score {:.3} (FMR {:.1e}), minutiae {}/{}, consolidated {}, truly corresponding {}",
                f.score,
                fmr_for_score(f.score),
                f.minutiae.0,
                f.minutiae.1,
                f.consolidated,
                f.true_mates
            )
        };
        println!("  person {person}: fused {fused:.1e}");
        for f in fingers {
            println!("    {}", describe(f));
        }
    }
    Ok(())
}

/// Compares impressions 1 and 2 of `finger` and counts their truly corresponding minutiae.
fn compare_impressions(
    seed: u64,
    finger: u64,
    config: &TemplateConfig,
    matcher: &Matcher,
) -> Result<FingerResult, ridgeline_synth::Error> {
    let first = generate(seed, finger, 1, config)?;
    let second = generate(seed, finger, 2, config)?;
    let detailed = matcher.compare_detailed(
        MatchTemplate::prepare(&first).view(),
        MatchTemplate::prepare(&second).view(),
    );
    Ok(FingerResult {
        score: detailed.score,
        minutiae: (first.minutiae.len(), second.minutiae.len()),
        consolidated: detailed.matches.len(),
        true_mates: true_mates(seed, finger, config, &first, &second),
    })
}

/// Minutiae of `first` that the master carries onto a minutia of `second`. The placements are
/// redrawn from the impressions' own random streams (the placement is their first draw).
fn true_mates(
    seed: u64,
    finger: u64,
    config: &TemplateConfig,
    first: &Template,
    second: &Template,
) -> usize {
    let master = TemplateMaster::generate(seed, finger, config);
    let silhouette = master.model.silhouette;
    let placement = |impression: u32| {
        let mut rng = Rng::stream(seed, finger, impression, Purpose::TemplateImpression);
        Warp::sample(
            &config.placement,
            config.master.width,
            config.master.height,
            (master.model.width as f64 / 2.0, master.model.height as f64 / 2.0),
            (silhouette.cx, silhouette.cy),
            &mut rng,
        )
    };
    let (to_first, to_second) = (placement(1), placement(2));
    first
        .minutiae
        .iter()
        .filter(|m| {
            let (mx, my) = to_first.to_master(m.x as f64, m.y as f64);
            let (x, y) = to_second.to_impression(mx, my);
            second.minutiae.iter().any(|n| (n.x as f64 - x).hypot(n.y as f64 - y) <= TRUE_MATE_PX)
        })
        .count()
}
