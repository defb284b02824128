//! Calibration: score → estimated false match rate (FMR), and back.
//!
//! The table in `calibration_table.rs` is generated, not hand-written: it lists, for impostor
//! comparisons measured on real data, the share of impostor scores at or above each score (see
//! the header of that file for the set and the count, and regenerate it with
//! `cargo run --release -p ridgeline --example calibrate -- ../shared/datasets/fvc2002 >
//! crates/ridgeline/src/matcher/calibration_table.rs`).
//!
//! Between table points, `log10(FMR)` is interpolated linearly in the score. Above the highest
//! impostor score the table cannot resolve the FMR; there the log-linear slope of the table's
//! upper tail is extrapolated, which is an estimate, stated as such in the docs. Both directions
//! are strictly monotone: a higher score never has a higher FMR.
//!
//! The table holds for whole prints. A comparison in which one print has few minutiae scores
//! high by chance far more often (a handful of chance pairs make up most of what it shows), so
//! before any decision its raw score is lowered to the whole-print score with the same share of
//! impostors at or above it (`sparse_to_whole`, [`map_sparse_score`]): one scale and one table,
//! whatever the count. The map is generated too, into `sparse_table.rs`, by `cargo run
//! --release -p ridgeline --example calibrate_sparse -- ../shared/datasets/fvc2002`.

use super::calibration_table::{FMR_TABLE, TAIL_LOG10_SLOPE};
use super::sparse_table::SPARSE_MAPS;

/// Prepared minutiae from which a comparison counts as one of whole prints: its score is what
/// the calibration table describes as it is. The smaller print's count decides.
pub const WHOLE_PRINT_MINUTIAE: usize = crate::template::WHOLE_PRINT_MINUTIAE;

/// Lowest FMR the functions report or accept (extrapolation stops here).
pub(crate) const MIN_FMR: f64 = 1e-12;

/// The false match rate each of `comparisons` comparisons may have so that the whole search
/// yields a false match with probability about `fmr_per_search` (the false positive
/// identification rate): every comparison is a chance for an impostor to score high.
pub fn fmr_per_comparison(fmr_per_search: f64, comparisons: usize) -> f64 {
    fmr_per_search / comparisons.max(1) as f64
}

/// Estimated FMR of a comparison with this score: the share of impostor comparisons expected to
/// score at least as high.
pub fn fmr_for_score(score: f64) -> f64 {
    let table = FMR_TABLE;
    let (Some(&(first_score, first_fmr)), Some(&(last_score, last_fmr))) =
        (table.first(), table.last())
    else {
        return 1.0;
    };
    if score.is_nan() || score <= first_score {
        return first_fmr.min(1.0);
    }
    if score >= last_score {
        let log = last_fmr.log10() + TAIL_LOG10_SLOPE * (score - last_score);
        return 10f64.powf(log).max(MIN_FMR);
    }
    // First table point with a score above `score`; exists because score < last_score.
    let hi = table.partition_point(|&(s, _)| s <= score);
    let (s0, f0) = table[hi - 1];
    let (s1, f1) = table[hi];
    let t = (score - s0) / (s1 - s0);
    10f64.powf(f0.log10() + t * (f1.log10() - f0.log10()))
}

/// The lowest score whose estimated FMR is at most `fmr` (clamped to `[MIN_FMR, 1]`): the
/// decision threshold for a target false match rate.
pub fn threshold_for_fmr(fmr: f64) -> f64 {
    let table = FMR_TABLE;
    let (Some(&(first_score, first_fmr)), Some(&(last_score, last_fmr))) =
        (table.first(), table.last())
    else {
        return 0.0;
    };
    let fmr = if fmr.is_nan() { 1.0 } else { fmr.clamp(MIN_FMR, 1.0) };
    if fmr >= first_fmr {
        return first_score;
    }
    if fmr <= last_fmr {
        return last_score + (fmr.log10() - last_fmr.log10()) / TAIL_LOG10_SLOPE;
    }
    // First table point whose FMR is at most `fmr`; exists because fmr > last_fmr.
    let hi = table.partition_point(|&(_, f)| f > fmr);
    let (s0, f0) = table[hi - 1];
    let (s1, f1) = table[hi];
    let t = (fmr.log10() - f0.log10()) / (f1.log10() - f0.log10());
    s0 + t * (s1 - s0)
}

/// The score of a comparison whose smaller print has `minutiae` prepared minutiae, on the scale
/// of whole prints: unchanged from [`WHOLE_PRINT_MINUTIAE`] up, otherwise mapped by the fitted
/// map of that count ([`map_sparse_score`]).
pub(crate) fn sparse_to_whole(minutiae: usize, score: f64) -> f64 {
    if minutiae >= WHOLE_PRINT_MINUTIAE {
        return score;
    }
    match SPARSE_MAPS.get(minutiae) {
        Some(points) => map_sparse_score(points, score),
        None => score,
    }
}

/// Applies one count's map. `points` are `(raw score, whole-print score)` pairs with the same
/// impostor share, both rising. Between points the map is linear; below the first it scales
/// through zero; above the last it continues with the slope of the last three intervals, never
/// steeper than one, since the tail beyond the fitted points is not measured. A score is never
/// raised: the map corrects chance agreement, it does not lend sparse prints evidence. An empty
/// map leaves the score as it is.
pub fn map_sparse_score(points: &[(f64, f64)], score: f64) -> f64 {
    let (Some(&(first_raw, first_whole)), Some(&(last_raw, last_whole))) =
        (points.first(), points.last())
    else {
        return score;
    };
    if score.is_nan() {
        return score;
    }
    let mapped = if score <= first_raw {
        if first_raw > 0.0 {
            score * first_whole / first_raw
        } else {
            first_whole
        }
    } else if score >= last_raw {
        let (back_raw, back_whole) = points[points.len().saturating_sub(4)];
        let slope = if last_raw > back_raw {
            ((last_whole - back_whole) / (last_raw - back_raw)).clamp(0.0, 1.0)
        } else {
            1.0
        };
        last_whole + slope * (score - last_raw)
    } else {
        // First point above `score`; exists because score < last_raw.
        let hi = points.partition_point(|&(raw, _)| raw <= score);
        let (r0, w0) = points[hi - 1];
        let (r1, w1) = points[hi];
        w0 + (score - r0) / (r1 - r0) * (w1 - w0)
    };
    mapped.min(score)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_strictly_monotone_and_tail_falls() {
        assert!(FMR_TABLE.len() >= 10);
        for w in FMR_TABLE.windows(2) {
            assert!(w[0].0 < w[1].0, "scores rise: {:?}", w);
            assert!(w[0].1 > w[1].1, "FMRs fall: {:?}", w);
        }
        assert!(FMR_TABLE.iter().all(|&(_, f)| f > 0.0 && f <= 1.0));
        // The table is generated, so the check runs on whatever file is checked in.
        assert!(std::hint::black_box(TAIL_LOG10_SLOPE) < 0.0);
    }

    #[test]
    fn sparse_maps_cover_every_count_and_rise() {
        assert_eq!(SPARSE_MAPS.len(), WHOLE_PRINT_MINUTIAE);
        for (n, points) in SPARSE_MAPS.iter().enumerate() {
            assert!(!points.is_empty(), "{n} minutiae: no map");
            for w in points.windows(2) {
                assert!(w[0].0 < w[1].0, "{n} minutiae: raw scores rise: {w:?}");
                assert!(w[0].1 <= w[1].1, "{n} minutiae: whole-print scores rise: {w:?}");
            }
            assert!(points
                .iter()
                .all(|&(r, w)| (0.0..=1.0).contains(&r) && (0.0..=1.0).contains(&w)));
        }
    }

    #[test]
    fn sparse_scores_map_monotonically_and_never_rise() {
        for n in 0..=WHOLE_PRINT_MINUTIAE + 5 {
            let mut last = f64::NEG_INFINITY;
            for i in 0..=1000 {
                let s = i as f64 / 1000.0;
                let m = sparse_to_whole(n, s);
                assert!(m >= last, "{n} minutiae, score {s}: {m} < {last}");
                assert!(m <= s && m >= 0.0, "{n} minutiae, score {s}: mapped to {m}");
                last = m;
            }
            if n >= WHOLE_PRINT_MINUTIAE {
                assert_eq!(sparse_to_whole(n, 0.3), 0.3, "whole prints keep their score");
            }
        }
        assert!(sparse_to_whole(3, f64::NAN).is_nan());
        // The map's shape on a small map: linear between points, scaled below, tail slope capped.
        let points = [(0.1, 0.05), (0.2, 0.08), (0.3, 0.1), (0.4, 0.15)];
        assert!((map_sparse_score(&points, 0.05) - 0.025).abs() < 1e-12);
        assert!((map_sparse_score(&points, 0.25) - 0.09).abs() < 1e-12);
        // Beyond the last point: slope (0.15 − 0.05) / (0.4 − 0.1) = 1/3.
        assert!((map_sparse_score(&points, 0.7) - (0.15 + 0.1)).abs() < 1e-12);
        assert_eq!(map_sparse_score(&[], 0.4), 0.4);
    }

    /// The property the map exists for, on real prints: the ISO templates of the four dev sets,
    /// each cut to its 8 minutiae nearest their centroid, against the whole templates of the
    /// other fingers of its set. Raw, far more impostors pass the threshold of FMR 10⁻³ than
    /// 10⁻³ of them; mapped, about that share. Fails when the matcher's raw scores change and
    /// the map is not regenerated. (Measured: 646 raw and 19 mapped of 23,040, nominal 23.)
    #[test]
    fn sparse_prints_pass_the_threshold_at_about_the_nominal_rate() {
        use crate::matcher::{MatchTemplate, Matcher, Tuning};
        use crate::test_support::{dev_set_iso, shared_path, DEV_SETS};
        let Some(root) = shared_path("datasets/fvc2002") else { return };
        let mut prints = Vec::new();
        for set in DEV_SETS {
            for finger in 101..=110 {
                for impression in 1..=8 {
                    prints.push((set.0, finger, dev_set_iso(&root, set, finger, impression)));
                }
            }
        }
        let whole: Vec<MatchTemplate> =
            prints.iter().map(|p| MatchTemplate::prepare(&p.2)).collect();
        let sparse: Vec<MatchTemplate> = prints
            .iter()
            .map(|(_, _, t)| {
                let n = t.minutiae.len().max(1) as f32;
                let cx = t.minutiae.iter().map(|m| m.x).sum::<f32>() / n;
                let cy = t.minutiae.iter().map(|m| m.y).sum::<f32>() / n;
                let mut cut = t.clone();
                let off = |m: &crate::Minutia| (m.x - cx).hypot(m.y - cy);
                cut.minutiae.sort_by(|a, b| off(a).total_cmp(&off(b)));
                cut.minutiae.truncate(8);
                MatchTemplate::prepare(&cut)
            })
            .collect();
        let mapped = Matcher::new();
        let raw =
            Matcher::new().with_tuning(Tuning { sparse_calibration: false, ..Tuning::default() });
        let threshold = threshold_for_fmr(1e-3);
        let (mut impostors, mut above_raw, mut above_mapped) = (0, 0, 0);
        for (a, (set_a, finger_a, _)) in prints.iter().enumerate() {
            for (b, (set_b, finger_b, _)) in prints.iter().enumerate() {
                if set_a != set_b || finger_a == finger_b {
                    continue;
                }
                impostors += 1;
                let (probe, candidate) = (sparse[a].view(), whole[b].view());
                above_raw += usize::from(raw.compare(probe, candidate) >= threshold);
                above_mapped += usize::from(mapped.compare(probe, candidate) >= threshold);
            }
        }
        let nominal = impostors as f64 * 1e-3;
        assert!(above_raw as f64 > 5.0 * nominal, "raw {above_raw} of {impostors}");
        assert!(above_mapped as f64 <= 2.0 * nominal, "mapped {above_mapped} of {impostors}");
    }

    #[test]
    fn fmr_for_score_is_monotone_and_inverse_of_threshold() {
        let mut last = f64::INFINITY;
        for i in 0..=1000 {
            let s = i as f64 / 1000.0;
            let f = fmr_for_score(s);
            assert!(f <= last + 1e-15, "score {s}: {f} > {last}");
            assert!((MIN_FMR..=1.0).contains(&f));
            last = f;
        }
        let mut last_t = f64::NEG_INFINITY;
        for exp in [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0] {
            let fmr = 10f64.powf(exp);
            let t = threshold_for_fmr(fmr);
            assert!(t > last_t, "thresholds rise as the FMR falls");
            last_t = t;
            let back = fmr_for_score(t);
            assert!((back.log10() - exp).abs() < 1e-6, "fmr {fmr}: threshold {t} gives {back}");
        }
    }
}
