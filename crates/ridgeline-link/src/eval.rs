//! Scoring links against ground truth.

use std::collections::HashSet;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::record::split_csv_line;

/// Precision and recall of a set of links.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// Links predicted.
    pub predicted: usize,
    /// True pairs in the truth.
    pub truth: usize,
    /// Predicted links that are true.
    pub true_positives: usize,
    /// `true_positives / predicted` (1 when nothing is predicted).
    pub precision: f64,
    /// `true_positives / truth` (1 when the truth is empty).
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
}

/// Reads the `(a_record_id, b_record_id)` pairs of a CSV with those two columns (extra columns
/// are ignored).
pub fn read_pairs(path: &Path) -> Result<HashSet<(String, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut lines = text.lines().enumerate();
    let csv = |line: usize, message: String| Error::Csv { path: path.into(), line, message };
    let header = match lines.next() {
        Some((_, h)) => split_csv_line(h.trim_start_matches('\u{feff}')).map_err(|m| csv(1, m))?,
        None => return Err(csv(1, "empty file: no header".into())),
    };
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| csv(1, format!("no column {name} (header: {})", header.join(","))))
    };
    let (ca, cb) = (col("a_record_id")?, col("b_record_id")?);
    let mut pairs = HashSet::new();
    for (i, line) in lines {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv_line(line).map_err(|m| csv(i + 1, m))?;
        let (Some(a), Some(b)) = (fields.get(ca), fields.get(cb)) else {
            return Err(csv(i + 1, "too few fields".into()));
        };
        pairs.insert((a.trim().to_string(), b.trim().to_string()));
    }
    Ok(pairs)
}

/// Scores predicted pairs against true pairs.
pub fn score(predicted: &HashSet<(String, String)>, truth: &HashSet<(String, String)>) -> Scores {
    let tp = predicted.intersection(truth).count();
    let precision = if predicted.is_empty() { 1.0 } else { tp as f64 / predicted.len() as f64 };
    let recall = if truth.is_empty() { 1.0 } else { tp as f64 / truth.len() as f64 };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Scores {
        predicted: predicted.len(),
        truth: truth.len(),
        true_positives: tp,
        precision,
        recall,
        f1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_and_recall() {
        let p =
            |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let s = score(
            &p(&[("1", "a"), ("2", "b"), ("3", "x")]),
            &p(&[("1", "a"), ("2", "b"), ("4", "d"), ("5", "e")]),
        );
        assert_eq!(s.true_positives, 2);
        assert!((s.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.recall - 0.5).abs() < 1e-12);
    }
}
