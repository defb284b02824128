//! A clerk's decisions file: what the adjudication page exports and `ridgeline decide` applies.
//!
//! ```text
//! # ridgeline-decisions report=0123456789abcdef
//! cluster_id,decision
//! R1~R7,same
//! "A 3~B,9",different
//! ```
//!
//! The first line names the report the decisions were made on by its hash
//! ([`report_hash`]), so that decisions are never applied to another run's clusters; the
//! header follows; then one row per decided cluster, `decision` one of `same`, `different`,
//! `unsure`. Blank lines and further `#` lines are ignored. Each cluster is decided at most once.

use std::collections::{HashMap, HashSet};

use crate::record::split_csv_line;

/// The marker that opens the first line of a decisions file.
pub const HASH_LINE_PREFIX: &str = "# ridgeline-decisions report=";

/// The header row of a decisions file.
pub const HEADER: &str = "cluster_id,decision";

/// What a clerk decided about a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The records are one person.
    Same,
    /// The records are different people.
    Different,
    /// The clerk could not tell; the cluster stays open.
    Unsure,
}

impl Decision {
    /// The word of the decisions file.
    pub fn word(self) -> &'static str {
        match self {
            Decision::Same => "same",
            Decision::Different => "different",
            Decision::Unsure => "unsure",
        }
    }

    fn parse(word: &str) -> Option<Decision> {
        match word {
            "same" => Some(Decision::Same),
            "different" => Some(Decision::Different),
            "unsure" => Some(Decision::Unsure),
            _ => None,
        }
    }
}

/// Why a decisions file cannot be applied to a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecisionsError {
    /// The file does not start with the report-hash line.
    #[error(
        "the decisions file does not name its report (its first line must be `{HASH_LINE_PREFIX}…`, as the adjudication page writes it)"
    )]
    MissingReportHash,
    /// The file was exported from the page of another report.
    #[error(
        "the decisions were made on another report (hash {found}; this report is {expected}): export them again from this report's page"
    )]
    ReportMismatch {
        /// The hash the file carries.
        found: String,
        /// The hash of the report given.
        expected: String,
    },
    /// The header row is not `cluster_id,decision`.
    #[error("line {line}: the header must be `{HEADER}`, found {found:?}")]
    BadHeader {
        /// 1-based line number.
        line: usize,
        /// What was there.
        found: String,
    },
    /// A row that is not two CSV fields.
    #[error("line {line}: {message}")]
    BadRow {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A decision word other than `same`, `different`, `unsure`.
    #[error("line {line}: decision {word:?} is not one of same, different, unsure")]
    BadDecision {
        /// 1-based line number.
        line: usize,
        /// The word found.
        word: String,
    },
    /// A cluster id the report does not have.
    #[error("line {line}: the report has no cluster {cluster_id:?}")]
    UnknownCluster {
        /// 1-based line number.
        line: usize,
        /// The id found.
        cluster_id: String,
    },
    /// A cluster decided twice.
    #[error("line {line}: cluster {cluster_id:?} is decided twice (first on line {first_line})")]
    Duplicate {
        /// 1-based line number of the second decision.
        line: usize,
        /// The cluster.
        cluster_id: String,
        /// Line of the first decision.
        first_line: usize,
    },
}

/// One decision, with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRow {
    /// The cluster decided.
    pub cluster_id: String,
    /// What was decided.
    pub decision: Decision,
    /// 1-based line number in the file.
    pub line: usize,
}

/// The hash that names a report: FNV-1a (64 bits, hex) over its JSON in canonical form (parsed
/// and written compactly), so that a pretty-printed copy of the same report has the same hash.
/// It guards against mixing up files, not against forgery.
pub fn report_hash(report: &serde_json::Value) -> String {
    bytes_hash(report.to_string().as_bytes())
}

/// FNV-1a (64 bits, hex) of bytes: names a file that goes with a report (the links file).
pub fn bytes_hash(bytes: &[u8]) -> String {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET_BASIS;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    format!("{hash:016x}")
}

/// The first two lines of a decisions file for the report of hash `hash`.
pub fn file_preamble(hash: &str) -> String {
    format!("{HASH_LINE_PREFIX}{hash}\n{HEADER}\n")
}

/// Parses a decisions file and checks it against the report: its hash, and that every cluster
/// id is one of `clusters` and decided once.
pub fn parse(
    text: &str,
    expected_hash: &str,
    clusters: &HashSet<&str>,
) -> Result<Vec<DecisionRow>, DecisionsError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    let found = match lines.next() {
        Some((_, first)) => match first.strip_prefix(HASH_LINE_PREFIX) {
            Some(hash) => hash.trim().to_string(),
            None => return Err(DecisionsError::MissingReportHash),
        },
        None => return Err(DecisionsError::MissingReportHash),
    };
    if found != expected_hash {
        return Err(DecisionsError::ReportMismatch { found, expected: expected_hash.to_string() });
    }
    let mut lines = lines.filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    match lines.next() {
        Some((_, l)) if l.replace(' ', "") == HEADER => {}
        Some((line, l)) => return Err(DecisionsError::BadHeader { line, found: l.to_string() }),
        None => return Err(DecisionsError::BadHeader { line: 2, found: String::new() }),
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut rows = Vec::new();
    for (line, l) in lines {
        let fields =
            split_csv_line(l).map_err(|message| DecisionsError::BadRow { line, message })?;
        let [cluster_id, word] =
            <[String; 2]>::try_from(fields).map_err(|f| DecisionsError::BadRow {
                line,
                message: format!("expected 2 fields (cluster_id,decision), found {}", f.len()),
            })?;
        let word = word.trim();
        let decision = Decision::parse(word)
            .ok_or_else(|| DecisionsError::BadDecision { line, word: word.to_string() })?;
        if !clusters.contains(cluster_id.as_str()) {
            return Err(DecisionsError::UnknownCluster { line, cluster_id });
        }
        if let Some(&first_line) = seen.get(&cluster_id) {
            return Err(DecisionsError::Duplicate { line, cluster_id, first_line });
        }
        seen.insert(cluster_id.clone(), line);
        rows.push(DecisionRow { cluster_id, decision, line });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> HashSet<&'static str> {
        ["R1~R2", "A,3~B\"9", "R5~R6~R7"].into_iter().collect()
    }

    #[test]
    fn parses_quoted_ids_and_every_decision_word() {
        let text = format!(
            "{}R1~R2,same\r\n\n\"A,3~B\"\"9\",different\n# note\nR5~R6~R7,unsure\n",
            file_preamble("00ff")
        );
        let rows = parse(&text, "00ff", &known()).expect("valid");
        let got: Vec<(&str, Decision, usize)> =
            rows.iter().map(|r| (r.cluster_id.as_str(), r.decision, r.line)).collect();
        assert_eq!(
            got,
            vec![
                ("R1~R2", Decision::Same, 3),
                ("A,3~B\"9", Decision::Different, 5),
                ("R5~R6~R7", Decision::Unsure, 7)
            ]
        );
    }

    #[test]
    fn every_kind_of_bad_file_is_its_own_error() {
        let k = known();
        let with = |body: &str| format!("{}{body}", file_preamble("aa"));
        assert_eq!(
            parse("cluster_id,decision\n", "aa", &k),
            Err(DecisionsError::MissingReportHash)
        );
        assert_eq!(parse("", "aa", &k), Err(DecisionsError::MissingReportHash));
        assert!(matches!(
            parse(&with(""), "bb", &k),
            Err(DecisionsError::ReportMismatch { found, expected }) if found == "aa" && expected == "bb"
        ));
        assert!(matches!(
            parse("# ridgeline-decisions report=aa\nid,what\n", "aa", &k),
            Err(DecisionsError::BadHeader { line: 2, .. })
        ));
        assert_eq!(
            parse(&with("R1~R2,maybe\n"), "aa", &k),
            Err(DecisionsError::BadDecision { line: 3, word: "maybe".into() })
        );
        assert_eq!(
            parse(&with("R1~R3,same\n"), "aa", &k),
            Err(DecisionsError::UnknownCluster { line: 3, cluster_id: "R1~R3".into() })
        );
        assert_eq!(
            parse(&with("R1~R2,same\nR1~R2,different\n"), "aa", &k),
            Err(DecisionsError::Duplicate { line: 4, cluster_id: "R1~R2".into(), first_line: 3 })
        );
        assert!(matches!(
            parse(&with("R1~R2,same,extra\n"), "aa", &k),
            Err(DecisionsError::BadRow { line: 3, .. })
        ));
        assert!(matches!(
            parse(&with("\"R1~R2,same\n"), "aa", &k),
            Err(DecisionsError::BadRow { line: 3, .. })
        ));
    }

    #[test]
    fn the_hash_ignores_layout_but_not_content() {
        let compact: serde_json::Value =
            serde_json::from_str(r#"{"a":1,"b":[1.5,"x"]}"#).expect("json");
        let pretty: serde_json::Value =
            serde_json::from_str("{\n  \"a\": 1,\n  \"b\": [1.5, \"x\"]\n}").expect("json");
        let other: serde_json::Value =
            serde_json::from_str(r#"{"a":2,"b":[1.5,"x"]}"#).expect("json");
        assert_eq!(report_hash(&compact), report_hash(&pretty));
        assert_ne!(report_hash(&compact), report_hash(&other));
        assert_eq!(report_hash(&compact).len(), 16);
        // Floats read back exactly (serde_json's float_roundtrip), so a report written and read
        // again hashes the same.
        let floats =
            serde_json::json!([0.1 + 0.2, 1e-9 / 3.0, 25.328478964401295, 3.2e-8, f64::MAX]);
        let reread: serde_json::Value = serde_json::from_str(&floats.to_string()).expect("json");
        assert_eq!(report_hash(&floats), report_hash(&reread));
    }
}
