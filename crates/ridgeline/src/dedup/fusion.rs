//! Fusing the fingers of two records into one decision.
//!
//! # The rule
//! Each finger the two records have in common is compared on its own, and the matcher's
//! calibration turns its score into `pᵢ`, the estimated false match rate: the chance that an
//! impostor comparison scores at least as high. Under the assumption that impostor fingers of
//! different positions are independent, the `pᵢ` of an impostor record pair behave like
//! independent uniform variables, so the product `t = Π pᵢ` is the natural combined evidence
//! (the sum of per-finger log-likelihood ratios when the genuine density is flat in `log p`),
//! and its false match rate is exact:
//!
//! ```text
//! P(Π Uᵢ ≤ t) = t · Σ_{j=0}^{k-1} (−ln t)ʲ / j!        (k fingers)
//! ```
//!
//! This is Fisher's method for combining p-values. With one finger it is `p` itself; two
//! fingers at 1e-5 each give about 2.4e-9. A finger that does not match (a bad re-capture) costs
//! at most a factor of about `1 − ln t`, so a strong match on the other finger still stands.
//! The pair's `score` is `−log10` of the fused rate, so it is monotone in the evidence and
//! comparable across pairs with different numbers of fingers.

/// Smallest per-finger false match rate the fusion trusts; below it the calibration has no data.
pub(crate) const MIN_FINGER_FMR: f64 = 1e-15;

/// Fuses per-finger false match rates (one per finger both records hold) into the false match
/// rate of the record pair. Returns 1 when there is no common finger.
pub fn fused_fmr(finger_fmrs: &[f64]) -> f64 {
    if finger_fmrs.is_empty() {
        return 1.0;
    }
    let log_t: f64 = finger_fmrs.iter().map(|&p| p.clamp(MIN_FINGER_FMR, 1.0).ln()).sum::<f64>();
    let minus_log_t = -log_t;
    let mut term = 1.0;
    let mut series = 1.0;
    for j in 1..finger_fmrs.len() {
        term *= minus_log_t / j as f64;
        series += term;
    }
    (log_t.exp() * series).clamp(0.0, 1.0)
}

/// The score reported for a pair: `−log10` of its fused false match rate.
pub(crate) fn score_for_fmr(fmr: f64) -> f64 {
    -fmr.clamp(f64::MIN_POSITIVE, 1.0).log10()
}

/// The per-pair false-match-rate threshold that gives each record searched against `records − 1`
/// others a chance of about `fmr_per_search` of a false link.
///
/// `--fmr` in `ridgeline dedup` is this per-search rate (the false positive identification rate
/// of one record's search), not a per-comparison rate: at 1e-4 per comparison a database of
/// 100,000 records would yield half a million false pairs.
pub fn pair_fmr_threshold(fmr_per_search: f64, records: usize) -> f64 {
    crate::matcher::calibration::fmr_per_comparison(fmr_per_search, records.saturating_sub(1))
}

/// The per-pair threshold for two records that hold the same identity number, `holders`
/// records in all.
///
/// Such a pair is a verification, not a blind search: the number names the candidates, so each
/// record's "search" is among the other holders of its number, a handful, not the population,
/// and the per-search rate is divided by their count. It is the threshold a 1:1 check of a
/// claimed identity applies. A bad re-capture that the blind threshold cannot link is then
/// linked on the strength a verification needs, instead of being flagged as "fingerprints that
/// do not match" while they match at, say, a false match rate of 10⁻⁷.
pub(crate) fn same_id_pair_fmr_threshold(fmr_per_search: f64, holders: usize) -> f64 {
    pair_fmr_threshold(fmr_per_search, holders)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_finger_is_its_own_rate() {
        for p in [1.0, 0.5, 1e-4, 1e-9] {
            assert!((fused_fmr(&[p]) - p).abs() <= p * 1e-12, "{p}");
        }
        assert_eq!(fused_fmr(&[]), 1.0);
    }

    #[test]
    fn two_fingers_follow_fishers_formula() {
        let t: f64 = 1e-5 * 1e-5;
        let expected = t * (1.0 - t.ln());
        assert!((fused_fmr(&[1e-5, 1e-5]) - expected).abs() < expected * 1e-9);
        // A non-matching second finger (p = 1) weakens but does not veto the first.
        let weak = fused_fmr(&[1e-8, 1.0]);
        assert!(weak > 1e-8 && weak < 1e-6, "{weak}");
        // Order does not matter.
        assert_eq!(fused_fmr(&[1e-3, 1e-6]), fused_fmr(&[1e-6, 1e-3]));
    }

    #[test]
    fn fused_rate_is_calibrated_for_independent_uniform_impostors() {
        // Under the null the fused rate is itself uniform: P(fused ≤ a) = a. Check with a
        // deterministic low-discrepancy grid over the unit square.
        let n = 400;
        let mut below = 0;
        for i in 0..n {
            for j in 0..n {
                let p1 = (i as f64 + 0.5) / n as f64;
                let p2 = (j as f64 + 0.5) / n as f64;
                if fused_fmr(&[p1, p2]) <= 0.05 {
                    below += 1;
                }
            }
        }
        let rate = below as f64 / (n * n) as f64;
        assert!((rate - 0.05).abs() < 0.003, "{rate}");
    }

    #[test]
    fn more_evidence_means_lower_rate_and_higher_score() {
        assert!(fused_fmr(&[1e-4, 1e-4]) < fused_fmr(&[1e-4]));
        assert!(score_for_fmr(1e-9) > score_for_fmr(1e-4));
        assert!((score_for_fmr(1e-4) - 4.0).abs() < 1e-12);
        assert_eq!(score_for_fmr(0.0), -f64::MIN_POSITIVE.log10());
    }

    #[test]
    fn threshold_scales_with_database_size() {
        assert_eq!(pair_fmr_threshold(1e-4, 1), 1e-4);
        assert!((pair_fmr_threshold(1e-4, 10_001) - 1e-8).abs() < 1e-20);
        // Two holders of one number: one verification; three: two.
        assert_eq!(same_id_pair_fmr_threshold(1e-4, 2), 1e-4);
        assert_eq!(same_id_pair_fmr_threshold(1e-4, 3), 5e-5);
    }
}
