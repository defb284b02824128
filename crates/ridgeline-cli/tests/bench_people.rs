//! `ridgeline bench people` on a tiny synthetic population: the documented keys, counts that
//! add up, and two fingers deciding better than one on a fixed seed.

mod common;

use serde_json::Value;

const SUBJECTS: u64 = 300;
const PROBES: u64 = 60;
const WALK_INS: u64 = 20;

fn rate(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// The mode's error count, rate and interval agree with each other.
fn check_mode(m: &Value, rate_key: &str, searches: u64) {
    assert_eq!(m["searches"], searches, "{m}");
    let errors = m["errors"].as_u64().expect("errors");
    let r = rate(m, rate_key);
    assert!((r - errors as f64 / searches as f64).abs() < 1e-12, "{m}");
    let interval = &m[format!("{rate_key}_95")];
    let (lo, hi) = (interval[0].as_f64().expect("low"), interval[1].as_f64().expect("high"));
    assert!(0.0 <= lo && lo <= r && r <= hi && hi <= 1.0 && hi > lo, "{m}");
    for key in ["ms_mean", "ms_p50", "ms_p90", "ms_p99"] {
        assert!(rate(m, key) > 0.0, "{key} in {m}");
    }
}

#[test]
fn bench_people_reports_fnir_one_finger_against_two_and_fpir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gallery = dir.path().join("gallery");
    let run = |extra: &[&str]| -> Value {
        let out = common::ridgeline()
            .args(["bench", "people", "--subjects", &SUBJECTS.to_string()])
            .args(["--probes", &PROBES.to_string(), "--walk-ins", &WALK_INS.to_string()])
            .args(["--seed", "3", "--json", "--dir"])
            .arg(&gallery)
            .args(extra)
            .output()
            .expect("run ridgeline");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("one JSON object")
    };
    let v = run(&["--no-real"]);
    assert_eq!(v["subjects"], SUBJECTS, "{v}");
    assert_eq!(v["gallery_subjects"], SUBJECTS, "{v}");
    assert_eq!(v["records"], 2 * SUBJECTS, "{v}");
    assert_eq!(v["not_enrolled"], 0, "{v}");
    assert_eq!(v["fingers"], serde_json::json!([2, 7]), "{v}");
    assert_eq!(v["fmr_per_search"], 1e-4, "{v}");
    assert_eq!(v["real"]["skipped"], "--no-real", "{v}");
    for key in ["model", "kernel", "features", "supported_kernels"] {
        assert!(v["cpu"].get(key).is_some(), "cpu.{key} in {v}");
    }
    assert!(rate(&v, "build_s") > 0.0, "{v}");

    let genuine = &v["genuine"];
    assert_eq!(genuine["probes"], PROBES, "{v}");
    check_mode(&genuine["one_finger"], "fnir", 2 * PROBES);
    check_mode(&genuine["all_fingers"], "fnir", PROBES);
    assert_eq!(genuine["all_fingers"]["fingers"], 2, "{v}");
    let by_finger = genuine["one_finger"]["by_finger"].as_array().expect("by_finger");
    assert_eq!(by_finger.len(), 2, "{v}");
    let mut errors = 0;
    for (m, finger) in by_finger.iter().zip([2, 7]) {
        assert_eq!(m["finger"], finger, "{m}");
        check_mode(m, "fnir", PROBES);
        errors += m["errors"].as_u64().expect("errors");
    }
    assert_eq!(genuine["one_finger"]["errors"], errors, "{v}");
    // Every subject holds both positions: each decision splits the rate over all of them.
    for mode in ["one_finger", "all_fingers"] {
        let threshold = rate(&genuine[mode], "threshold_fmr");
        assert!((threshold * SUBJECTS as f64 / 1e-4 - 1.0).abs() < 1e-12, "{mode}: {threshold}");
        assert!(rate(&genuine[mode], "threshold_score") > 0.0, "{mode}");
    }
    // On this seed one finger alone misses returning people and both fingers miss fewer.
    let one = rate(&genuine["one_finger"], "fnir");
    let both = rate(&genuine["all_fingers"], "fnir");
    assert!(one > 0.0, "{v}");
    assert!(both < one, "two fingers {both} against one {one}: {v}");

    let walk_ins = &v["walk_ins"];
    assert_eq!(walk_ins["probes"], WALK_INS, "{v}");
    check_mode(&walk_ins["one_finger"], "fpir", 2 * WALK_INS);
    check_mode(&walk_ins["all_fingers"], "fpir", WALK_INS);

    // The same population is reused, not rebuilt, and decides the same; an absent real-print
    // folder is skipped with a message.
    let absent = dir.path().join("no-such-folder");
    let out = common::ridgeline()
        .args(["bench", "people", "--subjects", &SUBJECTS.to_string()])
        .args(["--probes", &PROBES.to_string(), "--walk-ins", &WALK_INS.to_string()])
        .args(["--seed", "3", "--json", "--dir"])
        .arg(&gallery)
        .arg("--real")
        .arg(&absent)
        .output()
        .expect("run ridgeline");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SKIPPED: real-print check"));
    let again: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(again["build_s"], 0.0, "{again}");
    assert!(again["real"]["skipped"].as_str().is_some_and(|s| s.contains("no-such-folder")));
    for mode in ["one_finger", "all_fingers"] {
        assert_eq!(again["genuine"][mode]["errors"], v["genuine"][mode]["errors"], "{mode}");
        assert_eq!(again["walk_ins"][mode]["errors"], v["walk_ins"][mode]["errors"], "{mode}");
    }

    // A gallery whose templates are not the ones this build makes (another generator or
    // extractor built it) is built afresh, never searched as if it were this population.
    let marker = gallery.join("bench-population.txt");
    let text = std::fs::read_to_string(&marker).expect("population marker");
    let line = text.lines().find(|l| l.starts_with("templates ")).expect("templates line");
    std::fs::write(&marker, text.replace(line, "templates 0123456789abcdef")).expect("marker");
    let rebuilt = run(&["--no-real"]);
    assert!(rate(&rebuilt, "build_s") > 0.0, "{rebuilt}");
}

#[test]
fn bench_people_refuses_bad_arguments() {
    for (args, message) in [
        (&["--subjects", "10", "--fingers", "1"][..], "--fingers"),
        (&["--subjects", "10", "--fingers", "11"][..], "--fingers"),
        (&["--subjects", "10", "--probes", "11"][..], "--probes"),
        (&["--subjects", "0"][..], "--subjects"),
        (&["--subjects", "10", "--fmr", "0"][..], "--fmr"),
    ] {
        let out = common::ridgeline()
            .args(["bench", "people", "--no-real"])
            .args(args)
            .output()
            .expect("run ridgeline");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// Real genuine pairs: FVC2002 fingers paired as two fingers of one person, among synthetic
/// distractors.
#[test]
fn bench_people_real_prints_decide_better_with_two_fingers() {
    let Some(real) = ridgeline_tests::shared_path("datasets/fvc2002") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = common::ridgeline()
        .args(["bench", "people", "--subjects", "100", "--probes", "0", "--walk-ins", "0"])
        .args(["--json", "--dir"])
        .arg(dir.path().join("gallery"))
        .arg("--real")
        .arg(&real)
        .output()
        .expect("run ridgeline");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let r = &v["real"];
    assert_eq!(r["sets"], serde_json::json!(["DB1_B", "DB2_B", "DB3_B", "DB4_B"]), "{r}");
    // Ten fingers a set make five people; seven probe impressions each.
    let people = r["people"].as_u64().expect("people");
    assert_eq!(people + r["not_enrolled"].as_u64().expect("not_enrolled"), 20, "{r}");
    let probes = r["probes"].as_u64().expect("probes");
    assert_eq!(probes + r["probes_skipped"].as_u64().expect("skipped"), 7 * people, "{r}");
    assert_eq!(v["records"], 200 + 2 * people, "{v}");
    assert_eq!(v["gallery_subjects"], 100 + people, "{v}");
    check_mode(&r["one_finger"], "fnir", 2 * probes);
    check_mode(&r["all_fingers"], "fnir", probes);
    assert!(rate(&r["all_fingers"], "fnir") < rate(&r["one_finger"], "fnir"), "{r}");
}
