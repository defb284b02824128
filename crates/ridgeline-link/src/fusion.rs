//! Fingerprint evidence as a likelihood ratio beside the demographic one.
//!
//! The core matcher reports, for a pair of records, the fused calibrated false match rate `p`
//! of the fingers both hold ([`ridgeline::dedup::fused_fmr`]): the chance that a pair of
//! *different* people scores at least as high. It is turned into a likelihood ratio with a
//! two-region model around the decision rate `t`:
//!
//! * `p ≤ t` (the prints match): the chance of a score this good is at most `p` for different
//!   people and about `1 − FNMR(t)` for the same person, so `LR = (1 − FNMR(t)) / p`;
//! * `p > t` (they do not): `LR = FNMR(t) / (1 − t)`, the chance that the same person's prints
//!   fail to match against the chance that a stranger's do.
//!
//! `FNMR(t)` is a property of the matcher on the capture quality at hand; the default is taken
//! from the FVC2002 figures in `docs/ACCURACY.md` (2–8 % at FMR 10⁻³ across the four sets),
//! rounded up to 10 % at 10⁻⁴. The log-ratio adds to the demographic match weight: the two
//! sources are independent given the truth (clerks do not see the prints).

use serde::Serialize;

/// Parameters of the fingerprint likelihood ratio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FingerprintModel {
    /// Decision false match rate `t` (fused, per pair).
    pub match_fmr: f64,
    /// False non-match rate of mated pairs at `t`.
    pub fnmr_at_match_fmr: f64,
    /// Largest ratio granted (calibration has no data below FMR 10⁻¹²).
    pub max_ratio: f64,
}

impl Default for FingerprintModel {
    fn default() -> Self {
        FingerprintModel { match_fmr: 1e-4, fnmr_at_match_fmr: 0.10, max_ratio: 1e12 }
    }
}

impl FingerprintModel {
    /// Whether a fused FMR counts as the prints matching.
    pub fn prints_match(&self, fmr: f64) -> bool {
        fmr <= self.match_fmr
    }

    /// `log2` of the likelihood ratio of a pair whose fused FMR is `fmr`.
    pub fn log2_ratio(&self, fmr: f64) -> f64 {
        let ratio = if self.prints_match(fmr) {
            ((1.0 - self.fnmr_at_match_fmr) / fmr.max(f64::MIN_POSITIVE)).min(self.max_ratio)
        } else {
            self.fnmr_at_match_fmr / (1.0 - self.match_fmr)
        };
        ratio.log2()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_prints_weigh_for_and_failing_prints_against() {
        let model = FingerprintModel::default();
        assert!((model.log2_ratio(1e-8) - (0.9e8f64).log2()).abs() < 1e-9);
        assert!(model.log2_ratio(1e-4) > 13.0);
        assert!(model.log2_ratio(0.5) < -3.0);
        assert_eq!(model.log2_ratio(0.0), 1e12f64.log2());
        // Monotone: a lower FMR is never weaker evidence.
        let mut last = f64::NEG_INFINITY;
        for e in 0..=12 {
            let w = model.log2_ratio(10f64.powi(-e));
            assert!(w >= last);
            last = w;
        }
    }
}
