//! Minutiae statistics of a set of prints, to compare generated templates with rendered and
//! extracted prints: count per print, spacing, directions and how neighbours are arranged.

use ridgeline::Minutia;

use crate::minutiae::angular_distance;

/// Pooled statistics over many prints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MinutiaeStats {
    /// Minutiae per print.
    pub counts: Vec<f64>,
    /// Distance from each minutia to its nearest neighbour, pixels.
    pub nearest_distance: Vec<f64>,
    /// Difference of direction between each minutia and its nearest neighbour, `[0, π]`.
    pub nearest_angle_difference: Vec<f64>,
    /// Where the nearest neighbour lies as seen from the minutia, relative to its direction,
    /// `[0, π]` (0 = straight ahead along the ridge).
    pub nearest_bearing: Vec<f64>,
    /// Minutia directions modulo π (the ridge orientation), `[0, π)`.
    pub orientation: Vec<f64>,
    /// Fraction of bifurcations.
    pub bifurcation_fraction: f64,
}

impl MinutiaeStats {
    /// Statistics of the given prints.
    pub fn collect<'a>(prints: impl IntoIterator<Item = &'a [Minutia]>) -> Self {
        let mut stats = MinutiaeStats::default();
        let (mut bifurcations, mut total) = (0usize, 0usize);
        for print in prints {
            stats.counts.push(print.len() as f64);
            for (i, m) in print.iter().enumerate() {
                total += 1;
                bifurcations += (m.kind == ridgeline::MinutiaKind::Bifurcation) as usize;
                stats.orientation.push((m.angle as f64).rem_euclid(std::f64::consts::PI));
                let nearest = print
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, n)| (((n.x - m.x).powi(2) + (n.y - m.y).powi(2)).sqrt() as f64, n))
                    .min_by(|a, b| a.0.total_cmp(&b.0));
                if let Some((distance, n)) = nearest {
                    stats.nearest_distance.push(distance);
                    stats
                        .nearest_angle_difference
                        .push(angular_distance(m.angle as f64, n.angle as f64));
                    let bearing = (-((n.y - m.y) as f64)).atan2((n.x - m.x) as f64);
                    stats.nearest_bearing.push(angular_distance(bearing, m.angle as f64));
                }
            }
        }
        stats.bifurcation_fraction =
            if total == 0 { 0.0 } else { bifurcations as f64 / total as f64 };
        stats
    }

    /// Mean minutiae per print.
    pub fn mean_count(&self) -> f64 {
        mean(&self.counts)
    }

    /// Median nearest-neighbour distance.
    pub fn median_nearest_distance(&self) -> f64 {
        quantile(&self.nearest_distance, 0.5)
    }

    /// The largest Kolmogorov–Smirnov distance between the two sets' distributions of count,
    /// spacing, neighbour angle, neighbour bearing and orientation, with the name of the worst.
    pub fn max_ks_distance(&self, other: &MinutiaeStats) -> (f64, &'static str) {
        let pairs: [(&str, &[f64], &[f64]); 5] = [
            ("count", &self.counts, &other.counts),
            ("nearest_distance", &self.nearest_distance, &other.nearest_distance),
            (
                "nearest_angle_difference",
                &self.nearest_angle_difference,
                &other.nearest_angle_difference,
            ),
            ("nearest_bearing", &self.nearest_bearing, &other.nearest_bearing),
            ("orientation", &self.orientation, &other.orientation),
        ];
        pairs
            .iter()
            .map(|(name, a, b)| (ks_distance(a, b), *name))
            .fold((0.0, "none"), |worst, next| if next.0 > worst.0 { next } else { worst })
    }
}

/// Arithmetic mean (0 for an empty slice).
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// The `q` quantile (nearest rank; 0 for an empty slice).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64).round()) as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Two-sample Kolmogorov–Smirnov distance: the largest gap between the empirical distribution
/// functions (1 when either sample is empty).
pub fn ks_distance(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 1.0;
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut worst) = (0usize, 0usize, 0.0f64);
    while i < a.len() && j < b.len() {
        let value = a[i].min(b[j]);
        while i < a.len() && a[i] <= value {
            i += 1;
        }
        while j < b.len() && b[j] <= value {
            j += 1;
        }
        worst = worst.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_distance_of_identical_and_disjoint_samples() {
        let a: Vec<f64> = (0..100).map(f64::from).collect();
        let b: Vec<f64> = (200..300).map(f64::from).collect();
        assert_eq!(ks_distance(&a, &a), 0.0);
        assert_eq!(ks_distance(&a, &b), 1.0);
        let shifted: Vec<f64> = (10..110).map(f64::from).collect();
        assert!((ks_distance(&a, &shifted) - 0.1).abs() < 1e-9);
    }

    #[test]
    fn nearest_neighbour_statistics() {
        let m = |x: f32, y: f32, angle: f32| Minutia {
            x,
            y,
            angle,
            kind: ridgeline::MinutiaKind::Ending,
            quality: 100,
        };
        let print = [m(0.0, 0.0, 0.0), m(10.0, 0.0, std::f32::consts::PI), m(100.0, 100.0, 0.0)];
        let stats = MinutiaeStats::collect([&print[..]]);
        assert_eq!(stats.counts, vec![3.0]);
        assert_eq!(stats.nearest_distance[0], 10.0);
        assert!((stats.nearest_angle_difference[0] - std::f64::consts::PI).abs() < 1e-6);
        assert!(stats.nearest_bearing[0].abs() < 1e-6, "neighbour straight ahead");
    }
}
