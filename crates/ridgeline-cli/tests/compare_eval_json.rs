//! The JSON contract of `ridgeline compare` and `ridgeline eval` (keys as DESIGN.md lists them),
//! run on the built binary over the shared FVC2002 ISO templates.

use std::path::PathBuf;
use std::process::Command;

fn dataset(set: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/fvc2002")
        .join(set);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: ../shared/datasets/fvc2002/{set} is absent");
        None
    }
}

fn run_json(args: &[&str]) -> serde_json::Value {
    let out =
        Command::new(env!("CARGO_BIN_EXE_ridgeline")).args(args).output().expect("binary runs");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("UTF-8 stdout");
    assert_eq!(text.trim().lines().count(), 1, "exactly one JSON object: {text}");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn compare_json_has_the_contract_keys_and_decides_by_threshold() {
    let Some(dir) = dataset("DB1_B") else { return };
    let a = dir.join("101_1.iso");
    let same = dir.join("101_2.iso");
    let other = dir.join("102_1.iso");
    for (b, expect_match) in [(&same, true), (&other, false)] {
        let v = run_json(&[
            "compare",
            a.to_str().expect("utf-8"),
            b.to_str().expect("utf-8"),
            "--fmr",
            "1e-3",
            "--json",
        ]);
        let obj = v.as_object().expect("object");
        let mut keys: Vec<&str> = obj.keys().map(|k| k.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["compare_us", "match", "score", "threshold"]);
        let score = v["score"].as_f64().expect("score");
        let threshold = v["threshold"].as_f64().expect("threshold");
        assert_eq!(v["match"].as_bool(), Some(score >= threshold));
        assert_eq!(score >= threshold, expect_match, "score {score} threshold {threshold}");
    }
}

#[test]
fn eval_json_has_the_contract_keys_and_counts() {
    let Some(dir) = dataset("DB4_B") else { return };
    let det = tempfile::tempdir().expect("temp dir");
    let det_path = det.path().join("det.svg");
    let v = run_json(&[
        "eval",
        dir.to_str().expect("utf-8"),
        "--protocol",
        "all",
        "--ext",
        "iso",
        "--json",
        "--det",
        det_path.to_str().expect("utf-8"),
    ]);
    let mut keys: Vec<&str> = v.as_object().expect("object").keys().map(|k| k.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "compare_us_median",
            "cpu",
            "eer",
            "erc",
            "extract_ms_median",
            "failed_to_extract",
            "fnmr_at_fmr_1e-2",
            "fnmr_at_fmr_1e-3",
            "fnmr_at_fmr_1e-4",
            "genuine",
            "images",
            "impostor",
        ]
    );
    assert_eq!(v["images"], 80);
    assert_eq!(v["genuine"], 280);
    assert_eq!(v["impostor"], 2880);
    assert!(v["fnmr_at_fmr_1e-4"].is_null(), "2880 impostors cannot resolve 1e-4");
    assert!(v["extract_ms_median"].is_null(), "templates are not extracted");
    // 2,880 impostors resolve the error-versus-reject curve's FMR of 10⁻³.
    assert_eq!(v["erc"]["fmr"], 1e-3);
    assert_eq!(v["erc"]["points"][0]["genuine"], 280);
    let eer = v["eer"].as_f64().expect("eer");
    assert!((0.0..0.1).contains(&eer), "eer {eer}");
    let svg = std::fs::read_to_string(&det_path).expect("DET written");
    assert!(svg.contains("<svg") && svg.contains("EER"));

    let fvc = run_json(&["eval", dir.to_str().expect("utf-8"), "--ext", "iso", "--json"]);
    assert_eq!(fvc["impostor"], 45);
    assert!(fvc["fnmr_at_fmr_1e-2"].is_null(), "45 impostors cannot resolve 1e-2");
}
