//! `ridgeline bench search` on a small synthetic gallery: the documented keys, and indexed
//! search that finds what exhaustive search finds.

use std::process::Command;

#[test]
fn bench_search_reports_latency_and_agreement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_ridgeline"))
        .args(["bench", "search", "--gallery-size", "600", "--probes", "20"])
        .args(["--exhaustive-probes", "20", "--json", "--dir"])
        .arg(dir.path().join("gallery"))
        .output()
        .expect("run ridgeline");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for run in ["indexed", "exhaustive"] {
        for key in ["ms_first", "ms_mean", "ms_p50", "ms_p90", "ms_p99", "rank1", "compared_mean"] {
            assert!(v[run][key].is_number(), "{run}.{key} in {v}");
        }
        assert_eq!(v[run]["probes"], 20, "{v}");
    }
    assert_eq!(v["exhaustive"]["compared_mean"], 600.0, "{v}");
    // 600 records: the short list (256) re-ranks under half of them, and a search that finds
    // nothing there escalates to all 600 (up to 8,192, at most the gallery).
    let escalated = v["indexed"]["escalated"].as_f64().expect("indexed.escalated");
    let expected = (256.0 * (20.0 - escalated) + 600.0 * escalated) / 20.0;
    assert_eq!(v["indexed"]["compared_mean"].as_f64(), Some(expected), "{v}");
    assert!(escalated <= 2.0, "{v}");
    // Walk-ins (fingers not enrolled) all escalate, and none is matched.
    assert_eq!(v["walk_ins"]["probes"], 20, "{v}");
    assert_eq!(v["walk_ins"]["escalated"], 20, "{v}");
    assert_eq!(v["walk_ins"]["false_matches"], 0, "{v}");
    assert_eq!(v["walk_ins"]["compared_mean"], 600.0, "{v}");
    let share = |key: &str| v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"));
    assert!(share("top1_agreement") >= 0.95, "{v}");
    assert!(v["exhaustive"]["rank1"].as_f64().is_some_and(|r| r >= 0.95), "{v}");
    for key in ["open_ms", "disk_bytes_per_template", "coarse_bytes_per_template"] {
        assert!(v[key].is_number(), "{key} in {v}");
    }
}

/// A reader that goes away (`ridgeline … | head`) stops the command quietly, as SIGPIPE stops
/// any Unix filter, instead of a panic on the failed print.
#[cfg(unix)]
#[test]
fn a_closed_output_pipe_is_no_panic() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ridgeline"))
        .args(["bench", "search", "--gallery-size", "50", "--probes", "2", "--json", "--dir"])
        .arg(dir.path().join("gallery"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ridgeline");
    // Close the reading end before the command (which first builds a gallery) prints.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
        "{:?}: {stderr}",
        out.status
    );
}
