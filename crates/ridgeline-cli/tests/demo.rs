//! `ridgeline demo`, the README's main command, on a smaller population: it runs end to end,
//! finds the planted duplicates, decides at the window as it should, and writes its reports.

use std::process::Command;

#[test]
fn demo_finds_the_planted_duplicates_and_decides_at_the_window() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_ridgeline"))
        .args(["demo", "--people", "1000", "--json", "--out"])
        .arg(dir.path())
        .output()
        .expect("run ridgeline");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let number = |key: &str| v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"));
    assert!(number("planted_pairs") >= 20.0, "{v}");
    assert!(number("recall") >= 0.95 && number("precision") >= 0.95, "{v}");
    assert_eq!(number("found_pairs"), number("true_pairs") + number("false_pairs"), "{v}");
    // Returning people are found registered; new applicants are not.
    assert_eq!(v["walk_in_rank1"], 5, "{v}");
    assert_eq!(v["walk_in_matched"], 5, "{v}");
    assert_eq!(v["new_applicants_unmatched"], v["new_applicants"], "{v}");
    // The window decides with both fingers, and a returning person registering under a new id
    // is refused as the record they already have.
    assert_eq!(v["window_fingers"], 2, "{v}");
    assert!(v["reregistration_refused_as"].is_string(), "{v}");
    for key in ["report", "html"] {
        let path = v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}"));
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(bytes > 0, "{key} {path} missing or empty");
    }
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(v["report"].as_str().expect("report")).expect("read"),
    )
    .expect("the report is JSON");
    assert!(report["clusters"].as_array().is_some_and(|c| !c.is_empty()), "no clusters");
}
