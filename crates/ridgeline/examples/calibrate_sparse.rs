//! Fits the map that puts the scores of comparisons of sparse prints on the whole-print scale
//! (`ridgeline::matcher::calibration`, `sparse_table.rs`), and checks it on sets it was not
//! fitted on.
//!
//! Every template of the four FVC2002 B sets (our extractor's and the ISO templates beside the
//! images) is cut down to `k` = 3 to 22 minutiae in two ways: the `k` nearest the centroid (a
//! small print) and the `k` best by quality (a whole print on which few minutiae were found).
//! Each cut is compared, raw (without the map), with every whole template of the other
//! impressions of its set. Impostor scores are pooled by `n`, the smaller prepared minutiae
//! count of the comparison; those with `n` of at least `WHOLE_PRINT_MINUTIAE` are the reference.
//! For each smaller `n`, the map's points pair the score that a share `10^(-j/4)` of `n`'s
//! impostors reach with the score that the same share of the reference reaches, down to the
//! share every sample still resolves (its fifth-highest score). `n`'s impostors are taken per
//! extractor (ours, the vendor's) and the higher of the two scores is used: the two tails
//! differ, and a map fitted on their pool would let the heavier one pass the threshold more
//! often than its FMR says.
//!
//! The table: `cargo run --release -p ridgeline --example calibrate_sparse --
//! ../shared/datasets/fvc2002 > crates/ridgeline/src/matcher/sparse_table.rs`.
//!
//! The check, `… -- ../shared/datasets/fvc2002 --hold-out`: four fits, each on three sets, each
//! applied to the comparisons of the fourth; the rows pool the four held-out sets. For each cut
//! it prints the impostors above the thresholds of FMR 10⁻³ and 10⁻⁴ (with the nominal count),
//! raw and mapped, and the genuine FNMR at 10⁻⁴, raw and mapped.

use rayon::prelude::*;
use ridgeline::matcher::calibration::{self, WHOLE_PRINT_MINUTIAE};
use ridgeline::matcher::{MatchTemplate, Matcher, Tuning};

#[path = "support/fvc.rs"]
mod fvc;
use fvc::SETS;

/// Cut sizes fitted (and checked); the whole prints are added as the reference.
const CUTS: std::ops::RangeInclusive<usize> = 3..=22;
/// A count is fitted when it has at least this many impostor comparisons.
const MIN_IMPOSTORS: usize = 1000;
/// The lowest share a map point stands for has at least this many scores at or above it, in
/// both samples.
const MIN_TAIL_RANK: usize = 5;
/// Shares step down by this factor per point: four points per decade.
const POINTS_PER_DECADE: f64 = 4.0;
/// Cut sizes the check reports.
const CHECKED: [usize; 7] = [6, 8, 10, 12, 14, 16, 20];

/// How a print is cut down.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cut {
    Centre,
    Quality,
    Whole,
}

/// One raw comparison of a cut print with a whole one.
struct Scored {
    set: usize,
    /// Made by the vendor's extractor (the ISO templates), not ours.
    vendor: bool,
    cut: Cut,
    kept: usize,
    minutiae: usize,
    genuine: bool,
    raw: f64,
}

type Maps = Vec<Vec<(f64, f64)>>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (root, hold_out) = fvc::root_and_flag("calibrate_sparse", "--hold-out")?;
    let prints = fvc::load_prints(&root)?;
    let scored = compare_all(&prints);
    if hold_out {
        check(&scored);
        return Ok(());
    }
    let maps = fit(&scored, |_| true).ok_or("too few whole-print impostors to fit on")?;
    print_table(&maps, &scored);
    Ok(())
}

/// Every cut of every print, raw, against the whole prints of the other impressions of its set.
fn compare_all(prints: &[fvc::Print]) -> Vec<Scored> {
    let raw = Matcher::new().with_tuning(Tuning { sparse_calibration: false, ..Tuning::default() });
    let whole: Vec<MatchTemplate> =
        prints.iter().map(|p| MatchTemplate::prepare(&p.template)).collect();
    let mut probes: Vec<(usize, Cut, usize, MatchTemplate)> = Vec::new();
    for (a, p) in prints.iter().enumerate() {
        probes.push((a, Cut::Whole, p.template.minutiae.len(), whole[a].clone()));
        for k in CUTS.filter(|&k| p.template.minutiae.len() >= k) {
            probes.push((
                a,
                Cut::Centre,
                k,
                MatchTemplate::prepare(&fvc::nearest_centre(&p.template, k)),
            ));
            probes.push((
                a,
                Cut::Quality,
                k,
                MatchTemplate::prepare(&fvc::best_quality(&p.template, k)),
            ));
        }
    }
    probes
        .par_iter()
        .flat_map_iter(|(a, cut, kept, probe)| {
            let (whole, raw) = (&whole, &raw);
            let pa = &prints[*a];
            prints.iter().enumerate().filter(move |&(b, pb)| b != *a && pb.source == pa.source).map(
                move |(b, pb)| Scored {
                    set: pa.set(),
                    vendor: pa.source >= SETS.len(),
                    cut: *cut,
                    kept: *kept,
                    minutiae: probe.view().len().min(whole[b].view().len()),
                    genuine: pb.finger == pa.finger,
                    raw: raw.compare(probe.view(), whole[b].view()),
                },
            )
        })
        .collect()
}

/// The maps fitted on the impostors of the sets `use_set` accepts, one per count below
/// `WHOLE_PRINT_MINUTIAE`; a count with too few impostors takes the map of the nearest fitted
/// count below it (fewer minutiae: a stronger correction), or above it where none is below.
fn fit(scored: &[Scored], use_set: impl Fn(usize) -> bool) -> Option<Maps> {
    // Per count, the impostor scores of our extractor's probes and of the vendor's.
    let mut by_count: Vec<[Vec<f64>; 2]> = vec![[Vec::new(), Vec::new()]; WHOLE_PRINT_MINUTIAE];
    let mut reference = Vec::new();
    for s in scored.iter().filter(|s| !s.genuine && use_set(s.set)) {
        match by_count.get_mut(s.minutiae) {
            Some(kinds) => kinds[usize::from(s.vendor)].push(s.raw),
            None if s.cut == Cut::Whole => reference.push(s.raw),
            None => {}
        }
    }
    for scores in by_count.iter_mut().flatten().chain([&mut reference]) {
        scores.sort_by(|a, b| b.total_cmp(a));
    }
    if reference.len() < MIN_IMPOSTORS {
        return None;
    }
    let fitted: Vec<Option<Vec<(f64, f64)>>> = by_count
        .iter()
        .map(|kinds| {
            kinds
                .iter()
                .all(|scores| scores.len() >= MIN_IMPOSTORS)
                .then(|| map_points(kinds, &reference))
        })
        .collect();
    let first = fitted.iter().flatten().next()?.clone();
    let mut maps = Vec::with_capacity(fitted.len());
    for map in &fitted {
        let previous = maps.last().cloned().unwrap_or_else(|| first.clone());
        maps.push(map.clone().unwrap_or(previous));
    }
    Some(maps)
}

/// The map's points for one count's impostor scores (one list per extractor) against the
/// reference's, all sorted highest first: rising (the shares fall), raw scores strictly. At each
/// share the raw score is the higher of the extractors', so that neither passes the threshold
/// more often than the reference.
fn map_points(kinds: &[Vec<f64>; 2], reference: &[f64]) -> Vec<(f64, f64)> {
    let mut points = Vec::new();
    for j in 0.. {
        let share = 10f64.powf(-(j as f64) / POINTS_PER_DECADE);
        let rank = |len: usize| (share * len as f64).ceil() as usize;
        let rr = rank(reference.len());
        let ranks = kinds.each_ref().map(|scores| rank(scores.len()));
        if rr < MIN_TAIL_RANK || ranks.iter().any(|&r| r < MIN_TAIL_RANK) {
            break;
        }
        let raw = kinds.iter().zip(ranks).map(|(scores, r)| scores[r - 1]).fold(f64::MIN, f64::max);
        points.push((raw, reference[rr - 1]));
    }
    // Tied raw scores keep their lowest whole-print score: the tie's share is the larger one.
    points.dedup_by(|later, earlier| later.0 <= earlier.0);
    points
}

/// A raw score through the fitted maps.
fn mapped(maps: &Maps, s: &Scored) -> f64 {
    match maps.get(s.minutiae) {
        Some(points) => calibration::map_sparse_score(points, s.raw),
        None => s.raw,
    }
}

/// The leave-one-set-out check.
fn check(scored: &[Scored]) {
    let mut after = vec![f64::NAN; scored.len()];
    for (held, (name, _)) in SETS.iter().enumerate() {
        let Some(maps) = fit(scored, |set| set != held) else {
            eprintln!("fold without {name}: too few impostors to fit on");
            return;
        };
        for (s, a) in scored.iter().zip(&mut after).filter(|(s, _)| s.set == held) {
            *a = mapped(&maps, s);
        }
    }
    let t3 = calibration::threshold_for_fmr(1e-3);
    let t4 = calibration::threshold_for_fmr(1e-4);
    println!("| cut | minutiae kept | impostors | above 10⁻³ raw / mapped (nominal) | above 10⁻⁴ raw / mapped (nominal) | genuine FNMR at 10⁻⁴ raw / mapped |");
    println!("|---|---|---|---|---|---|");
    let rows = [Cut::Centre, Cut::Quality]
        .iter()
        .flat_map(|&cut| CHECKED.iter().map(move |&k| (cut, Some(k), 0..usize::MAX)))
        .chain([
            (Cut::Whole, None, 0..12),
            (Cut::Whole, None, 12..WHOLE_PRINT_MINUTIAE),
            (Cut::Whole, None, WHOLE_PRINT_MINUTIAE..usize::MAX),
            (Cut::Whole, None, 0..usize::MAX),
        ]);
    for (cut, kept, minutiae) in rows {
        let rows: Vec<(&Scored, f64)> = scored
            .iter()
            .zip(after.iter().copied())
            .filter(|(s, _)| {
                s.cut == cut && kept.map_or(true, |k| s.kept == k) && minutiae.contains(&s.minutiae)
            })
            .collect();
        let impostors: Vec<(f64, f64)> =
            rows.iter().filter(|r| !r.0.genuine).map(|r| (r.0.raw, r.1)).collect();
        let genuine: Vec<(f64, f64)> =
            rows.iter().filter(|r| r.0.genuine).map(|r| (r.0.raw, r.1)).collect();
        let above = |t: f64| {
            let raw = impostors.iter().filter(|s| s.0 >= t).count();
            let mapped = impostors.iter().filter(|s| s.1 >= t).count();
            (raw, mapped)
        };
        let fnmr = |pick: fn(&(f64, f64)) -> f64| {
            let missed = genuine.iter().filter(|s| pick(s) < t4).count();
            100.0 * missed as f64 / genuine.len().max(1) as f64
        };
        let (a3, m3) = above(t3);
        let (a4, m4) = above(t4);
        let n = impostors.len() as f64;
        println!(
            "| {} | {} | {} | {a3} / {m3} ({:.0}) | {a4} / {m4} ({:.1}) | {:.1} / {:.1} % |",
            match cut {
                Cut::Centre => "nearest the centre",
                Cut::Quality => "best by quality",
                Cut::Whole => "whole",
            },
            match (kept, minutiae.start, minutiae.end) {
                (Some(k), _, _) => k.to_string(),
                (None, 0, usize::MAX) => "all".to_string(),
                (None, low, usize::MAX) => format!("all; {low} or more in the comparison"),
                (None, low, high) => format!("all; {low} to {} in the comparison", high - 1),
            },
            impostors.len(),
            n * 1e-3,
            n * 1e-4,
            fnmr(|s| s.0),
            fnmr(|s| s.1),
        );
    }
}

/// The generated `sparse_table.rs`.
fn print_table(maps: &Maps, scored: &[Scored]) {
    let mut counts = [0usize; WHOLE_PRINT_MINUTIAE + 1];
    for s in scored.iter().filter(|s| !s.genuine) {
        if s.minutiae < WHOLE_PRINT_MINUTIAE || s.cut == Cut::Whole {
            counts[s.minutiae.min(WHOLE_PRINT_MINUTIAE)] += 1;
        }
    }
    println!("//! Generated by `cargo run --release -p ridgeline --example calibrate_sparse -- ../shared/datasets/fvc2002`;");
    println!(
        "//! do not edit. Matcher prepared format version {}.",
        ridgeline::matcher::PREPARED_FORMAT_VERSION
    );
    println!("//!");
    println!(
        "//! Impostor comparisons of cut-down and whole prints with whole ones (FVC2002 B sets, our \
         extractor and ISO templates), by the smaller prepared count: {} of whole prints with \
         {WHOLE_PRINT_MINUTIAE} or more (the reference); below it, by count: {}. Each count's map \
         follows the heavier tail of the two extractors'.",
        counts[WHOLE_PRINT_MINUTIAE],
        counts[..WHOLE_PRINT_MINUTIAE].iter().enumerate().map(|(n, c)| format!("{n}: {c}")).collect::<Vec<_>>().join(", ")
    );
    println!();
    println!("/// For each count of prepared minutiae below `WHOLE_PRINT_MINUTIAE` (the index), the map's");
    println!("/// `(raw score, whole-print score)` points.");
    println!("pub(super) const SPARSE_MAPS: &[&[(f64, f64)]] = &[");
    for (n, points) in maps.iter().enumerate() {
        println!("    // {n} minutiae");
        // Laid out as rustfmt lays it out, so that the checked-in file is the output as it is.
        if let [(raw, whole)] = points.as_slice() {
            println!("    &[({raw:.9}, {whole:.9})],");
            continue;
        }
        println!("    &[");
        for (raw, whole) in points {
            println!("        ({raw:.9}, {whole:.9}),");
        }
        println!("    ],");
    }
    println!("];");
}
