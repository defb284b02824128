//! Deterministic random streams.
//!
//! A key design decision: every finger and every impression draws from its *own* ChaCha stream,
//! whose key is derived from `(seed, finger, impression, purpose)` by a fixed mixing function.
//! Any finger can therefore be produced without producing the ones before it (random access
//! for million-template benchmarks), work can be split across threads in any order, and the
//! output is byte-identical for the same seed whatever the thread count.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a stream is used for; separates streams that share finger and impression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// The master fingerprint: class, singular points, orientation, frequency, ridge seeds.
    Master = 1,
    /// One impression of a master: placement, distortion, contact, noise.
    Impression = 2,
    /// The template-level master (minutiae drawn statistically).
    TemplateMaster = 3,
    /// One template-level impression.
    TemplateImpression = 4,
    /// The acquisition conditions applied to one impression (`crate::condition`).
    Condition = 5,
}

/// SplitMix64 finaliser: a bijective mix with good avalanche.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seeded random stream with the few distributions the generator needs.
#[derive(Debug, Clone)]
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// The stream for `purpose` of `finger` (from 1) and `impression` (from 1, 0 for masters).
    pub fn stream(seed: u64, finger: u64, impression: u32, purpose: Purpose) -> Self {
        let mut key = [0u8; 32];
        let words = [
            mix(seed),
            mix(seed ^ mix(finger)),
            mix(mix(finger) ^ u64::from(impression).rotate_left(32)),
            mix(purpose as u64 ^ mix(seed.rotate_left(17) ^ finger)),
        ];
        for (chunk, word) in key.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        Rng(ChaCha8Rng::from_seed(key))
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        // 53 random bits: every double in [0, 1) with spacing 2^-53.
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[low, high)`.
    #[inline]
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Uniform integer in `[0, n)`; `n` must be positive.
    #[inline]
    pub fn below(&mut self, n: u32) -> u32 {
        ((self.0.next_u32() as u64 * n as u64) >> 32) as u32
    }

    /// True with probability `p`.
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]: keeps ln finite
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Normal with the given mean and standard deviation.
    pub fn gaussian(&mut self, mean: f64, sd: f64) -> f64 {
        mean + sd * self.normal()
    }

    /// Poisson-distributed count (Knuth's method for small means, normal approximation above).
    pub fn poisson(&mut self, mean: f64) -> u32 {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 30.0 {
            return self.gaussian(mean, mean.sqrt()).round().max(0.0) as u32;
        }
        let limit = (-mean).exp();
        let mut product = self.unit();
        let mut count = 0;
        while product > limit {
            product *= self.unit();
            count += 1;
        }
        count
    }

    /// Raw 64 random bits.
    pub fn bits(&mut self) -> u64 {
        self.0.next_u64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_repeat_and_differ() {
        let draw = |s, f, i, p| {
            let mut r = Rng::stream(s, f, i, p);
            (0..4).map(|_| r.bits()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7, 3, 1, Purpose::Master), draw(7, 3, 1, Purpose::Master));
        assert_ne!(draw(7, 3, 1, Purpose::Master), draw(8, 3, 1, Purpose::Master));
        assert_ne!(draw(7, 3, 1, Purpose::Master), draw(7, 4, 1, Purpose::Master));
        assert_ne!(draw(7, 3, 1, Purpose::Impression), draw(7, 3, 2, Purpose::Impression));
        assert_ne!(draw(7, 3, 1, Purpose::Master), draw(7, 3, 1, Purpose::Impression));
    }

    #[test]
    fn distributions_have_expected_moments() {
        let mut r = Rng::stream(1, 1, 0, Purpose::Master);
        let n = 20_000;
        let normals: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = normals.iter().sum::<f64>() / n as f64;
        let var = normals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "{mean} {var}");
        let poisson = (0..n).map(|_| r.poisson(4.0) as f64).sum::<f64>() / n as f64;
        assert!((poisson - 4.0).abs() < 0.1, "{poisson}");
        assert!((0..1000).all(|_| r.below(7) < 7));
    }
}
