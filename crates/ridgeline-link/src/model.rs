//! The Fellegi–Sunter model and its estimation by expectation–maximisation.
//!
//! For a pair of records and each field `f` at level `l`, `m[f][l]` is the probability of that
//! level among pairs that are the same person and `u[f][l]` among pairs that are not. Taking
//! the fields as conditionally independent, the match weight of a pair is
//! `log2(λ / (1 − λ)) + Σ_f log2(m[f][l_f] / u[f][l_f])` over the fields present, where `λ` is
//! the share of matches among the candidate pairs, and the posterior probability of a match is
//! `1 / (1 + 2^−weight)`. Nothing here is set by hand: `u` starts from the level frequencies of
//! random record pairs (almost all non-matches), and EM then estimates `m`, `u` and `λ` from
//! the candidate pairs themselves, working on the counts of each distinct comparison vector.

use serde::Serialize;

/// Probabilities are kept inside `[FLOOR, 1 − FLOOR]` so that no level gets an infinite weight
/// from a sample that happened not to contain it.
const FLOOR: f64 = 1e-6;

/// A fitted (or initial) Fellegi–Sunter model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    /// Share of matches among the candidate pairs.
    pub lambda: f64,
    /// `m[field][level]`.
    pub m: Vec<Vec<f64>>,
    /// `u[field][level]`.
    pub u: Vec<Vec<f64>>,
}

/// How EM ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EmOutcome {
    /// Iterations run.
    pub iterations: usize,
    /// Whether the largest parameter change fell below the tolerance.
    pub converged: bool,
    /// Largest parameter change in the last iteration.
    pub last_change: f64,
}

/// Observed comparison vectors with their counts: `levels[f]` is the level of field `f`, `None`
/// where it is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Level per field.
    pub levels: Vec<Option<u8>>,
    /// How many pairs show this vector.
    pub count: f64,
}

impl Model {
    /// A starting model: `u` as given, `m` falling geometrically from the best level (a match
    /// mostly agrees), `λ` as given.
    pub fn initial(u: Vec<Vec<f64>>, lambda: f64) -> Model {
        let m = u
            .iter()
            .map(|levels| {
                let n = levels.len();
                let raw: Vec<f64> = (0..n).map(|l| 0.1f64.powi(l as i32)).collect();
                let total: f64 = raw.iter().sum();
                raw.into_iter().map(|x| x / total).collect()
            })
            .collect();
        Model { lambda, m, u }
    }

    /// `log2(m/u)` of one field at one level (0 for a missing field).
    pub fn field_weight(&self, field: usize, level: Option<u8>) -> f64 {
        match level {
            Some(l) => (self.m[field][l as usize] / self.u[field][l as usize]).log2(),
            None => 0.0,
        }
    }

    /// Sum of the field weights: the evidence of the comparison vector, without the prior.
    pub fn bayes_factor_log2(&self, levels: &[Option<u8>]) -> f64 {
        levels.iter().enumerate().map(|(f, &l)| self.field_weight(f, l)).sum()
    }

    /// `log2` of the prior odds of a match among candidate pairs.
    pub fn prior_log2(&self) -> f64 {
        (self.lambda / (1.0 - self.lambda)).log2()
    }

    /// Match weight: prior log-odds plus the evidence, in bits.
    pub fn weight(&self, levels: &[Option<u8>]) -> f64 {
        self.prior_log2() + self.bayes_factor_log2(levels)
    }
}

/// Posterior probability of a match for a weight in bits.
pub fn posterior(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

/// Level frequencies per field, smoothed by one pseudo-count per level: the `u` of random pairs.
pub fn level_frequencies(levels: &[usize], observations: &[Observation]) -> Vec<Vec<f64>> {
    let mut counts: Vec<Vec<f64>> = levels.iter().map(|&n| vec![1.0; n]).collect();
    for o in observations {
        for (f, l) in o.levels.iter().enumerate() {
            if let Some(l) = l {
                counts[f][*l as usize] += o.count;
            }
        }
    }
    counts.into_iter().map(normalise).collect()
}

fn normalise(mut v: Vec<f64>) -> Vec<f64> {
    let total: f64 = v.iter().sum();
    for x in &mut v {
        *x = (*x / total).clamp(FLOOR, 1.0 - FLOOR);
    }
    v
}

/// Fits the model by EM. With `fix_u` only `m` and `λ` are re-estimated (as Splink does when
/// `u` comes from random sampling); otherwise `u` is re-estimated too.
pub fn em(
    observations: &[Observation],
    mut model: Model,
    fix_u: bool,
    max_iterations: usize,
    tolerance: f64,
) -> (Model, EmOutcome) {
    let mut outcome = EmOutcome { iterations: 0, converged: false, last_change: f64::INFINITY };
    let total: f64 = observations.iter().map(|o| o.count).sum();
    if total <= 0.0 {
        return (model, outcome);
    }
    for iteration in 1..=max_iterations {
        let mut m_counts: Vec<Vec<f64>> = model.m.iter().map(|l| vec![0.0; l.len()]).collect();
        let mut u_counts = m_counts.clone();
        let mut matched = 0.0;
        for o in observations {
            let g = posterior(model.weight(&o.levels));
            matched += g * o.count;
            for (f, l) in o.levels.iter().enumerate() {
                if let Some(l) = l {
                    m_counts[f][*l as usize] += g * o.count;
                    u_counts[f][*l as usize] += (1.0 - g) * o.count;
                }
            }
        }
        let lambda = (matched / total).clamp(FLOOR, 1.0 - FLOOR);
        let m: Vec<Vec<f64>> = m_counts.into_iter().map(safe_normalise).collect();
        let u: Vec<Vec<f64>> = if fix_u {
            model.u.clone()
        } else {
            u_counts.into_iter().map(safe_normalise).collect()
        };
        let mut change = (lambda - model.lambda).abs();
        for (new, old) in m.iter().flatten().zip(model.m.iter().flatten()) {
            change = change.max((new - old).abs());
        }
        for (new, old) in u.iter().flatten().zip(model.u.iter().flatten()) {
            change = change.max((new - old).abs());
        }
        model = Model { lambda, m, u };
        outcome =
            EmOutcome { iterations: iteration, converged: change < tolerance, last_change: change };
        if outcome.converged {
            break;
        }
    }
    (model, outcome)
}

/// Normalises counts to probabilities; a field never observed keeps a uniform distribution.
fn safe_normalise(v: Vec<f64>) -> Vec<f64> {
    let total: f64 = v.iter().sum();
    if total <= 0.0 {
        let n = v.len() as f64;
        return vec![1.0 / n; v.len()];
    }
    normalise(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix;

    fn draw(rng: &mut SplitMix, probabilities: &[f64]) -> u8 {
        let x = rng.unit();
        let mut acc = 0.0;
        for (i, p) in probabilities.iter().enumerate() {
            acc += p;
            if x < acc {
                return i as u8;
            }
        }
        (probabilities.len() - 1) as u8
    }

    /// Pairs drawn from a known model (with some fields missing at random), aggregated.
    fn sample(truth: &Model, pairs: usize, seed: u64) -> Vec<Observation> {
        let mut rng = SplitMix::new(seed);
        let mut counts = std::collections::HashMap::<Vec<Option<u8>>, f64>::new();
        for _ in 0..pairs {
            let is_match = rng.unit() < truth.lambda;
            let dist = if is_match { &truth.m } else { &truth.u };
            let levels: Vec<Option<u8>> = dist
                .iter()
                .map(|p| if rng.unit() < 0.05 { None } else { Some(draw(&mut rng, p)) })
                .collect();
            *counts.entry(levels).or_default() += 1.0;
        }
        counts.into_iter().map(|(levels, count)| Observation { levels, count }).collect()
    }

    #[test]
    fn em_recovers_known_m_and_u() {
        let truth = Model {
            lambda: 0.08,
            m: vec![
                vec![0.85, 0.08, 0.04, 0.03],
                vec![0.90, 0.06, 0.04],
                vec![0.92, 0.05, 0.02, 0.01],
                vec![0.98, 0.02],
            ],
            u: vec![
                vec![0.01, 0.03, 0.10, 0.86],
                vec![0.001, 0.01, 0.989],
                vec![0.20, 0.05, 0.15, 0.60],
                vec![0.5, 0.5],
            ],
        };
        let observations = sample(&truth, 400_000, 7);
        // Start from a deliberately wrong u (uniform) and the default m.
        let start = Model::initial(
            truth.u.iter().map(|l| vec![1.0 / l.len() as f64; l.len()]).collect(),
            0.3,
        );
        let (fitted, outcome) = em(&observations, start, false, 500, 1e-9);
        assert!(outcome.iterations > 1);
        assert!((fitted.lambda - truth.lambda).abs() < 0.005, "lambda {}", fitted.lambda);
        for (f, (fm, tm)) in fitted.m.iter().zip(&truth.m).enumerate() {
            for (l, (a, b)) in fm.iter().zip(tm).enumerate() {
                assert!((a - b).abs() < 0.02, "m[{f}][{l}] {a} vs {b}");
            }
        }
        for (f, (fu, tu)) in fitted.u.iter().zip(&truth.u).enumerate() {
            for (l, (a, b)) in fu.iter().zip(tu).enumerate() {
                assert!((a - b).abs() < 0.01, "u[{f}][{l}] {a} vs {b}");
            }
        }
    }

    #[test]
    fn weights_and_posteriors() {
        let model = Model { lambda: 0.5, m: vec![vec![0.9, 0.1]], u: vec![vec![0.1, 0.9]] };
        assert!((model.weight(&[Some(0)]) - 9f64.log2()).abs() < 1e-12);
        assert!((posterior(model.weight(&[Some(0)])) - 0.9).abs() < 1e-12);
        assert_eq!(model.weight(&[None]), 0.0);
        assert!((posterior(0.0) - 0.5).abs() < 1e-15);
    }
}
