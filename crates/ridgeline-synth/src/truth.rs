//! Scoring an extractor against ground truth: which detected minutiae match true ones.
//!
//! A detected minutia matches a true one when it lies within a distance and an angle tolerance
//! (by default 10 px and 30°). Pairs are assigned one-to-one, closest first, so that one true
//! minutia never counts twice.

use std::path::Path;

use ridgeline::{Minutia, MinutiaKind};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::minutiae::angular_distance;

/// Tolerances of a match.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Largest distance, pixels.
    pub distance_px: f64,
    /// Largest direction difference, degrees.
    pub angle_deg: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { distance_px: 10.0, angle_deg: 30.0 }
    }
}

/// Counts from comparing detected minutiae with the truth, additive over prints.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MatchCounts {
    /// True minutiae.
    pub truth: u64,
    /// Detected minutiae.
    pub detected: u64,
    /// One-to-one matches.
    pub matched: u64,
    /// Matches whose kind agrees too.
    pub same_kind: u64,
    /// Sum of position errors of the matches, pixels.
    pub distance_sum: f64,
    /// Sum of direction errors of the matches, radians.
    pub angle_sum: f64,
}

impl MatchCounts {
    /// Matched fraction of the true minutiae.
    pub fn recall(&self) -> f64 {
        ratio(self.matched, self.truth)
    }

    /// Matched fraction of the detected minutiae.
    pub fn precision(&self) -> f64 {
        ratio(self.matched, self.detected)
    }

    /// Adds another print's counts.
    pub fn add(&mut self, other: &MatchCounts) {
        self.truth += other.truth;
        self.detected += other.detected;
        self.matched += other.matched;
        self.same_kind += other.same_kind;
        self.distance_sum += other.distance_sum;
        self.angle_sum += other.angle_sum;
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Matches `detected` against `truth` one-to-one within `tolerance`.
pub fn compare(truth: &[Minutia], detected: &[Minutia], tolerance: Tolerance) -> MatchCounts {
    let mut counts = MatchCounts {
        truth: truth.len() as u64,
        detected: detected.len() as u64,
        ..Default::default()
    };
    for m in assign(truth, detected, tolerance) {
        counts.matched += 1;
        counts.same_kind += (truth[m.truth].kind == detected[m.detected].kind) as u64;
        counts.distance_sum += m.distance_px;
        counts.angle_sum += m.angle_rad;
    }
    counts
}

/// One detected minutia assigned to a true one ([`assign`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assignment {
    /// Index in the true minutiae.
    pub truth: usize,
    /// Index in the detected minutiae.
    pub detected: usize,
    /// Their distance, pixels.
    pub distance_px: f64,
    /// Their direction difference, radians.
    pub angle_rad: f64,
}

/// The one-to-one assignment behind [`compare`]: pairs within `tolerance`, closest first
/// (ties by angle), each true and each detected minutia in at most one pair.
pub fn assign(truth: &[Minutia], detected: &[Minutia], tolerance: Tolerance) -> Vec<Assignment> {
    let max_angle = tolerance.angle_deg.to_radians();
    let mut pairs = Vec::new();
    for (i, t) in truth.iter().enumerate() {
        for (j, d) in detected.iter().enumerate() {
            let distance = (((t.x - d.x).powi(2) + (t.y - d.y).powi(2)) as f64).sqrt();
            let angle = angular_distance(t.angle as f64, d.angle as f64);
            if distance <= tolerance.distance_px && angle <= max_angle {
                pairs.push(Assignment {
                    truth: i,
                    detected: j,
                    distance_px: distance,
                    angle_rad: angle,
                });
            }
        }
    }
    pairs.sort_by(|a, b| {
        a.distance_px.total_cmp(&b.distance_px).then(a.angle_rad.total_cmp(&b.angle_rad))
    });
    let mut used_truth = vec![false; truth.len()];
    let mut used_detected = vec![false; detected.len()];
    pairs.retain(|p| {
        let free = !used_truth[p.truth] && !used_detected[p.detected];
        if free {
            used_truth[p.truth] = true;
            used_detected[p.detected] = true;
        }
        free
    });
    pairs
}

#[derive(Debug, Deserialize)]
struct TruthRecord {
    x: f32,
    y: f32,
    angle: f32,
    kind: String,
}

/// Reads a `truth/*.json` file written by [`crate::dataset::write_images`].
pub fn load(path: &Path) -> Result<Vec<Minutia>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let records: Vec<TruthRecord> = serde_json::from_slice(&bytes)
        .map_err(|e| Error::InvalidConfig(format!("{}: not a truth file: {e}", path.display())))?;
    records
        .into_iter()
        .map(|r| {
            let kind = match r.kind.as_str() {
                "ending" => MinutiaKind::Ending,
                "bifurcation" => MinutiaKind::Bifurcation,
                other => {
                    return Err(Error::InvalidConfig(format!(
                        "{}: unknown kind {other:?}",
                        path.display()
                    )))
                }
            };
            if !(r.x.is_finite() && r.y.is_finite() && r.angle.is_finite()) {
                return Err(Error::InvalidConfig(format!("{}: non-finite value", path.display())));
            }
            Ok(Minutia { x: r.x, y: r.y, angle: r.angle, kind, quality: 100 })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(x: f32, y: f32, angle: f32) -> Minutia {
        Minutia { x, y, angle, kind: MinutiaKind::Ending, quality: 100 }
    }

    #[test]
    fn one_to_one_within_tolerance() {
        let truth = [m(10.0, 10.0, 0.0), m(50.0, 50.0, 1.0), m(90.0, 90.0, 2.0)];
        let detected = [
            m(12.0, 10.0, 0.1), // matches the first
            m(11.0, 11.0, 0.0), // also near the first, but it is taken
            m(50.0, 58.0, 1.7), // near the second but 40° off
            m(200.0, 200.0, 2.0),
        ];
        let c = compare(&truth, &detected, Tolerance::default());
        assert_eq!((c.truth, c.detected, c.matched), (3, 4, 1));
        assert!((c.recall() - 1.0 / 3.0).abs() < 1e-12);
        assert!((c.precision() - 0.25).abs() < 1e-12);
        // The assignment behind it: the closest pair wins, each minutia at most once.
        let a = assign(&truth, &detected, Tolerance::default());
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].truth, a[0].detected), (0, 1));
        assert!((a[0].distance_px - 2f64.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn angles_wrap_around() {
        let c = compare(&[m(0.0, 0.0, 6.2)], &[m(1.0, 0.0, 0.1)], Tolerance::default());
        assert_eq!(c.matched, 1);
    }

    #[test]
    fn loads_what_the_writer_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.json");
        std::fs::write(&path, r#"[{"x":1.5,"y":2,"angle":3,"kind":"bifurcation"}]"#)
            .expect("write");
        let loaded = load(&path).expect("load");
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].kind, MinutiaKind::Bifurcation);
        std::fs::write(&path, r#"[{"x":1,"y":2,"angle":3,"kind":"loop"}]"#).expect("write");
        assert!(load(&path).is_err());
        std::fs::write(&path, "not json").expect("write");
        assert!(load(&path).is_err());
    }
}
