//! Accuracy metrics of a verification system: EER, FNMR at a given FMR, DET curves, and the
//! error-versus-reject curve of a quality measure.
//!
//! Conventions (the CLI contract of `ridgeline eval`): a comparison *matches* at threshold `t`
//! when its score is `>= t`. Then
//!
//! * `FMR(t)`  = share of impostor scores `>= t` (falsely accepted),
//! * `FNMR(t)` = share of genuine scores `< t` (falsely rejected).
//!
//! Both are step functions of `t` that only change at observed scores, so every quantity here
//! is evaluated on the *operating points*: one threshold per distinct observed score, plus one
//! above all scores (where nothing matches). On `(s_i, s_{i+1}]` both rates are constant, so
//! these points are all the operating points there are.
//!
//! * The EER is where the FMR and FNMR curves cross: between the last operating point with
//!   `FMR > FNMR` and the next one, the DET segment joining them is intersected with the
//!   diagonal `FMR = FNMR` (linear interpolation).
//! * FNMR at FMR `x` is the FNMR of the smallest threshold whose FMR is `<= x`; it is `None` when
//!   fewer than `1/x` impostor scores were observed, because then the rate `x` is not resolved.

/// One operating point of a verification system.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperatingPoint {
    /// Decision threshold: scores `>= threshold` match. `f64::INFINITY` for "nothing matches".
    pub threshold: f64,
    /// False match rate at this threshold, a fraction.
    pub fmr: f64,
    /// False non-match rate at this threshold, a fraction.
    pub fnmr: f64,
}

/// All operating points, by increasing threshold (so FMR falls and FNMR rises along the list).
///
/// Empty when either score list is empty: no rate is defined then. NaN scores are ignored.
pub(crate) fn operating_points(genuine: &[f64], impostor: &[f64]) -> Vec<OperatingPoint> {
    let genuine = sorted_finite(genuine);
    let impostor = sorted_finite(impostor);
    if genuine.is_empty() || impostor.is_empty() {
        return Vec::new();
    }
    let mut thresholds: Vec<f64> = genuine.iter().chain(impostor.iter()).copied().collect();
    thresholds.sort_by(f64::total_cmp);
    thresholds.dedup();
    thresholds.push(f64::INFINITY);

    let (n_gen, n_imp) = (genuine.len() as f64, impostor.len() as f64);
    // Two cursors walk the sorted lists: `below_gen` genuine and `below_imp` impostor scores
    // lie strictly below the current threshold.
    let (mut below_gen, mut below_imp) = (0usize, 0usize);
    thresholds
        .into_iter()
        .map(|t| {
            while below_gen < genuine.len() && genuine[below_gen] < t {
                below_gen += 1;
            }
            while below_imp < impostor.len() && impostor[below_imp] < t {
                below_imp += 1;
            }
            OperatingPoint {
                threshold: t,
                fmr: (impostor.len() - below_imp) as f64 / n_imp,
                fnmr: below_gen as f64 / n_gen,
            }
        })
        .collect()
}

/// Share of impostor scores `>= threshold`; 0 for an empty list.
pub fn fmr(impostor: &[f64], threshold: f64) -> f64 {
    share(impostor, |s| s >= threshold)
}

/// Share of genuine scores `< threshold`; 0 for an empty list.
pub fn fnmr(genuine: &[f64], threshold: f64) -> f64 {
    share(genuine, |s| s < threshold)
}

/// Equal error rate, interpolated where the FMR and FNMR curves cross (see the module docs).
/// `None` when either list is empty.
pub fn eer(genuine: &[f64], impostor: &[f64]) -> Option<f64> {
    let points = operating_points(genuine, impostor);
    // The first point (lowest threshold) always has FMR 1 and FNMR 0, the last FMR 0 and FNMR 1.
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (da, db) = (a.fmr - a.fnmr, b.fmr - b.fnmr);
        if da > 0.0 && db <= 0.0 {
            // The DET segment from a to b, parametrised by alpha in [0, 1], meets FMR = FNMR
            // where the difference, linear in alpha, vanishes.
            let alpha = da / (da - db);
            return Some(a.fmr + alpha * (b.fmr - a.fmr));
        }
    }
    None
}

/// FNMR at the smallest threshold whose FMR is `<= target_fmr`, with that threshold; `None` when
/// fewer than `1 / target_fmr` impostor scores were observed, or either list is empty.
pub fn fnmr_at_fmr(genuine: &[f64], impostor: &[f64], target_fmr: f64) -> Option<OperatingPoint> {
    if target_fmr.is_nan() || target_fmr <= 0.0 || (impostor.len() as f64) * target_fmr < 1.0 - 1e-9
    {
        return None;
    }
    operating_points(genuine, impostor).into_iter().find(|p| p.fmr <= target_fmr)
}

/// The DET curve: the operating points with both rates strictly between 0 and 1 can be drawn
/// on log axes; this returns all of them, the caller clips for drawing.
pub fn det_curve(genuine: &[f64], impostor: &[f64]) -> Vec<OperatingPoint> {
    operating_points(genuine, impostor)
}

/// The median of a list (mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let v = sorted_finite(values);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

fn sorted_finite(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|s| !s.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// One point of an error-versus-reject curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErcPoint {
    /// Prints rejected: those of quality below [`ErcPoint::quality`], a fraction of all prints.
    pub rejected: f64,
    /// The lowest quality kept.
    pub quality: u8,
    /// FNMR of the genuine comparisons left (both prints kept), at the fixed threshold.
    pub fnmr: f64,
    /// Genuine comparisons left.
    pub genuine: usize,
}

/// The error-versus-reject curve of a quality measure (Grother and Tabassi, 2007): the
/// threshold is fixed once, where all impostor comparisons give `target_fmr`; then, for every
/// quality value `q` present, the prints of quality below `q` are rejected and the FNMR of the
/// genuine comparisons between two kept prints is measured at that threshold. A quality that
/// predicts failure makes the FNMR fall fast as the worst prints go.
///
/// `genuine[i]` is a score and the qualities of its two prints; `prints` holds every print's
/// quality (the denominator of the rejected share). Returns the threshold and the points by
/// increasing rejection, from nothing rejected; `None` when `target_fmr` is not resolved by
/// the impostors or there is no genuine comparison.
pub fn erc(
    genuine: &[(f64, u8, u8)],
    impostor: &[f64],
    prints: &[u8],
    target_fmr: f64,
) -> Option<(f64, Vec<ErcPoint>)> {
    if genuine.is_empty() || prints.is_empty() {
        return None;
    }
    let scores: Vec<f64> = genuine.iter().map(|g| g.0).collect();
    let threshold = fnmr_at_fmr(&scores, impostor, target_fmr)?.threshold;
    let mut levels: Vec<u8> = prints.to_vec();
    levels.push(0);
    levels.sort_unstable();
    levels.dedup();
    let mut points: Vec<ErcPoint> = Vec::with_capacity(levels.len());
    for q in levels {
        let Some(point) = erc_point(genuine, prints, threshold, q) else { break };
        // Levels up to the lowest quality present reject nothing: one point says so.
        if points.last().is_some_and(|p| p.rejected == point.rejected) {
            continue;
        }
        points.push(point);
    }
    Some((threshold, points))
}

/// The error-versus-reject point of one quality threshold: prints of quality below `quality`
/// rejected, FNMR at the score `threshold`. `None` when no genuine comparison is left.
pub fn erc_point(
    genuine: &[(f64, u8, u8)],
    prints: &[u8],
    threshold: f64,
    quality: u8,
) -> Option<ErcPoint> {
    if prints.is_empty() {
        return None;
    }
    let rejected = prints.iter().filter(|&&p| p < quality).count() as f64 / prints.len() as f64;
    let kept: Vec<f64> =
        genuine.iter().filter(|g| g.1 >= quality && g.2 >= quality).map(|g| g.0).collect();
    if kept.is_empty() {
        return None;
    }
    Some(ErcPoint { rejected, quality, fnmr: share(&kept, |s| s < threshold), genuine: kept.len() })
}

fn share(values: &[f64], pred: impl Fn(f64) -> bool) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().filter(|&&s| pred(s)).count() as f64 / values.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-12;

    #[test]
    fn rates_follow_the_documented_inequalities() {
        let impostor = [0.1, 0.2, 0.3, 0.3];
        let genuine = [0.3, 0.5, 0.9];
        assert!((fmr(&impostor, 0.3) - 0.5).abs() < EPS); // 0.3 and 0.3 are >= 0.3
        assert!((fmr(&impostor, 0.31) - 0.0).abs() < EPS);
        assert!((fnmr(&genuine, 0.3) - 0.0).abs() < EPS); // 0.3 is not < 0.3
        assert!((fnmr(&genuine, 0.6) - 2.0 / 3.0).abs() < EPS); // 0.3 and 0.5
    }

    #[test]
    fn separable_scores_have_zero_eer() {
        let genuine = [0.8, 0.9, 1.0];
        let impostor = [0.1, 0.2, 0.3];
        assert_eq!(eer(&genuine, &impostor), Some(0.0));
        // FMR <= 0.5 first at t = 0.3 (FMR 1/3), where no genuine score is below.
        let p = fnmr_at_fmr(&genuine, &impostor, 0.5).expect("3 impostors resolve 0.5");
        assert!((p.threshold - 0.3).abs() < EPS);
        assert!((p.fmr - 1.0 / 3.0).abs() < EPS && p.fnmr == 0.0);
    }

    #[test]
    fn eer_hand_computed_with_interpolation() {
        // Genuine 0.2 0.6 0.7 0.9; impostor 0.1 0.3 0.5 0.65.
        // t=0.5: FMR 2/4 = 0.5, FNMR 1/4 = 0.25 (FMR > FNMR)
        // t=0.6: FMR 1/4 = 0.25, FNMR 1/4 = 0.25 -> they meet exactly here.
        let genuine = [0.2, 0.6, 0.7, 0.9];
        let impostor = [0.1, 0.3, 0.5, 0.65];
        let e = eer(&genuine, &impostor).expect("defined");
        assert!((e - 0.25).abs() < EPS, "{e}");

        // Genuine 0.4 0.8; impostor 0.2 0.6.
        // t=0.6: FMR 1/2, FNMR 1/2 → EER 0.5.
        let e = eer(&[0.4, 0.8], &[0.2, 0.6]).expect("defined");
        assert!((e - 0.5).abs() < EPS, "{e}");

        // A true crossing between two points: genuine 0.3 0.9 0.95, impostor 0.1 0.5.
        // t=0.3: FMR 1/2, FNMR 0; t=0.5: FMR 1/2, FNMR 1/3; t=0.9: FMR 0, FNMR 1/3.
        // From (0.5, 1/3) to (0, 1/3): diff goes 1/6 -> -1/3, alpha = (1/6)/(1/2) = 1/3,
        // EER = 0.5 + 1/3 * (0 - 0.5) = 1/3.
        let e = eer(&[0.3, 0.9, 0.95], &[0.1, 0.5]).expect("defined");
        assert!((e - 1.0 / 3.0).abs() < EPS, "{e}");
    }

    #[test]
    fn eer_of_identical_distributions_is_one_half_or_more() {
        let s = [0.1, 0.2, 0.3, 0.4];
        let e = eer(&s, &s).expect("defined");
        assert!((0.25..=0.75).contains(&e), "{e}");
    }

    #[test]
    fn fnmr_at_fmr_hand_computed_and_resolution() {
        // 10 impostors 0.0..0.9, genuine 0.55 0.85 0.95 0.99.
        let impostor: Vec<f64> = (0..10).map(|i| i as f64 / 10.0).collect();
        let genuine = [0.55, 0.85, 0.95, 0.99];
        // FMR <= 0.1 holds for every t in (0.8, 0.9]; the smallest observed one is the genuine
        // score 0.85, where FNMR = share < 0.85 = {0.55} = 1/4.
        let p = fnmr_at_fmr(&genuine, &impostor, 0.1).expect("10 impostors resolve 0.1");
        assert!((p.threshold - 0.85).abs() < EPS);
        assert!((p.fmr - 0.1).abs() < EPS);
        assert!((p.fnmr - 0.25).abs() < EPS);
        // FMR <= 0.2: t = 0.8, FNMR = 1/4.
        let p = fnmr_at_fmr(&genuine, &impostor, 0.2).expect("resolved");
        assert!((p.fnmr - 0.25).abs() < EPS);
        // 10 impostors cannot resolve 0.05.
        assert!(fnmr_at_fmr(&genuine, &impostor, 0.05).is_none());
        assert!(fnmr_at_fmr(&genuine, &[], 0.5).is_none());
    }

    #[test]
    fn erc_rejects_the_worst_prints_at_a_fixed_threshold() {
        // Impostors 0.0..0.9: the smallest threshold with FMR <= 0.1 is 0.9. Genuine: the two
        // failures involve the print of quality 10.
        let impostor: Vec<f64> = (0..10).map(|i| i as f64 / 10.0).collect();
        let genuine = [(0.2, 10, 80), (0.3, 10, 60), (0.95, 60, 80), (0.99, 80, 90)];
        let prints = [10, 60, 80, 90];
        let (threshold, points) = erc(&genuine, &impostor, &prints, 0.1).expect("resolved");
        assert!((threshold - 0.9).abs() < EPS, "{threshold}");
        assert_eq!(points[0].quality, 0);
        assert!((points[0].fnmr - 0.5).abs() < EPS && points[0].rejected == 0.0);
        // Rejecting quality < 60 removes one print of four and both failures.
        let p = points.iter().find(|p| p.quality == 60).expect("level 60");
        assert!((p.rejected - 0.25).abs() < EPS);
        assert_eq!((p.genuine, p.fnmr), (2, 0.0));
        // Levels with no genuine comparison left are not points, and every point rejects more.
        assert!(points.iter().all(|p| p.genuine > 0));
        assert!(points.windows(2).all(|w| w[0].rejected < w[1].rejected));
        assert_eq!(points.len(), 3, "{points:?}");
        // A threshold between two levels rejects what the next level up rejects.
        let p = erc_point(&genuine, &prints, threshold, 45).expect("point");
        assert_eq!((p.rejected, p.genuine, p.fnmr), (0.25, 2, 0.0));
        assert!(erc(&genuine, &impostor, &prints, 0.01).is_none());
    }

    #[test]
    fn det_curve_is_monotone_and_spans_the_range() {
        let genuine = [0.5, 0.7, 0.2, 0.9];
        let impostor = [0.1, 0.3, 0.6];
        let det = det_curve(&genuine, &impostor);
        assert_eq!(det.first().map(|p| (p.fmr, p.fnmr)), Some((1.0, 0.0)));
        assert_eq!(det.last().map(|p| (p.fmr, p.fnmr)), Some((0.0, 1.0)));
        for w in det.windows(2) {
            assert!(w[0].threshold < w[1].threshold);
            assert!(w[0].fmr >= w[1].fmr && w[0].fnmr <= w[1].fnmr);
        }
    }

    #[test]
    fn median_hand_computed() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
