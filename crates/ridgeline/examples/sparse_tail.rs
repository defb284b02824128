//! How the impostor tail depends on how few minutiae a print has: each template of the four
//! FVC2002 B sets (our extractor, and the ISO templates beside the images) is cut down to its
//! `k` minutiae nearest their centroid, a small print of `k` minutiae, and compared with every
//! whole template of the other fingers of its set (impostors) and of its own finger (genuine).
//! For each `k` it prints the share of impostors above the calibrated thresholds at FMR 10⁻⁴,
//! 10⁻⁶ and 10⁻⁸, the highest impostor, and the genuine FNMR at the 10⁻⁴ threshold:
//!
//! `cargo run --release -p ridgeline --example sparse_tail -- ../shared/datasets/fvc2002`
//!
//! The calibration table is fitted on whole prints, and the matcher maps the scores of sparse
//! comparisons onto their scale; a row whose observed share exceeds its nominal FMR says that
//! prints that sparse are not covered. `--raw` measures the scores without that map.

use rayon::prelude::*;
use ridgeline::matcher::{calibration, MatchTemplate, Matcher, Tuning};

#[path = "support/fvc.rs"]
mod fvc;

/// Minutiae kept in the cut-down prints; `usize::MAX` keeps every print whole (the reference).
const COUNTS: [usize; 10] = [6, 7, 8, 9, 10, 12, 14, 16, 20, usize::MAX];
/// Nominal FMRs whose thresholds are checked.
const FMRS: [f64; 3] = [1e-4, 1e-6, 1e-8];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (root, raw) = fvc::root_and_flag("sparse_tail", "--raw")?;
    let sparse_calibration = !raw;
    let matcher = Matcher::new().with_tuning(Tuning { sparse_calibration, ..Tuning::default() });
    let prints = fvc::load_prints(&root)?;
    let whole: Vec<MatchTemplate> =
        prints.iter().map(|p| MatchTemplate::prepare(&p.template)).collect();
    let thresholds: Vec<f64> = FMRS.iter().map(|&f| calibration::threshold_for_fmr(f)).collect();
    println!(
        "thresholds: {}",
        FMRS.iter()
            .zip(&thresholds)
            .map(|(f, t)| format!("FMR {f:e} at {t:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("| minutiae kept | prints | impostors | above 1e-4 | above 1e-6 | above 1e-8 | highest impostor | genuine FNMR at 1e-4 |");
    println!("|---|---|---|---|---|---|---|---|");
    for k in COUNTS {
        let sparse: Vec<Option<MatchTemplate>> = prints
            .iter()
            .map(|p| {
                let keep = k == usize::MAX || p.template.minutiae.len() >= k;
                keep.then(|| MatchTemplate::prepare(&fvc::nearest_centre(&p.template, k)))
            })
            .collect();
        let pairs: Vec<(usize, usize)> = (0..prints.len())
            .filter(|&a| sparse[a].is_some())
            .flat_map(|a| (0..prints.len()).map(move |b| (a, b)))
            .filter(|&(a, b)| a != b && prints[a].source == prints[b].source)
            .collect();
        let scored: Vec<(bool, f64)> = pairs
            .par_iter()
            .filter_map(|&(a, b)| {
                let probe = sparse[a].as_ref()?;
                Some((
                    prints[a].finger == prints[b].finger,
                    matcher.compare(probe.view(), whole[b].view()),
                ))
            })
            .collect();
        let impostors: Vec<f64> = scored.iter().filter(|s| !s.0).map(|s| s.1).collect();
        let genuine: Vec<f64> = scored.iter().filter(|s| s.0).map(|s| s.1).collect();
        let share = |t: f64| impostors.iter().filter(|&&s| s >= t).count();
        let highest = impostors.iter().copied().fold(0.0, f64::max);
        let missed = genuine.iter().filter(|&&s| s < thresholds[0]).count();
        let kept = if k == usize::MAX { "all".to_string() } else { k.to_string() };
        println!(
            "| {kept} | {} | {} | {} | {} | {} | {highest:.4} | {:.1} % |",
            sparse.iter().flatten().count(),
            impostors.len(),
            share(thresholds[0]),
            share(thresholds[1]),
            share(thresholds[2]),
            100.0 * missed as f64 / genuine.len().max(1) as f64
        );
    }
    Ok(())
}
