//! The gallery commands end to end, as registration software would drive them:
//! `gallery create`, `enroll` (one subject, and a manifest), `identify` with its decision,
//! `remove` (de-registration), `gallery stats|verify|compact`, and the user errors, on
//! synthetic fingerprint images the CLI itself writes (fixed seed).

mod common;

use std::path::{Path, PathBuf};

use common::{ok, setup, user_error, Setup};

fn identify(gallery: &str, probe: &Path, extra: &[&str]) -> serde_json::Value {
    let probe = probe.to_str().expect("utf-8 path");
    let mut args = vec!["identify", "--gallery", gallery, probe, "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&args)).expect("one JSON object")
}

fn image(dir: &Path, finger: u32, impression: u32) -> PathBuf {
    dir.join(format!("{finger}_{impression}.png"))
}

#[test]
fn enrol_identify_remove_and_maintain_a_gallery() {
    let Setup { dir, prints, gallery } = setup(6, 2, 3);
    let g = gallery.as_str();
    assert!(user_error(&["gallery", "create", g]).contains(g), "creating twice");

    // Fingers 1–5 enrolled (finger 6 stays a walk-in): one by id, four by manifest.
    let first = image(&prints, 1, 1);
    let first = first.to_str().expect("utf-8");
    let out = ok(&["enroll", "--gallery", g, "--id", "P001", "--finger", "2", first]);
    assert!(out.contains("holds 1"), "{out}");
    let mut manifest = String::from("id,finger,path\n");
    for f in 2..=5u32 {
        let finger = if f % 2 == 0 { 2 } else { 7 };
        manifest += &format!("P{f:03},{finger},{}\n", image(&prints, f, 1).display());
    }
    let manifest_path = dir.path().join("enrol.csv");
    std::fs::write(&manifest_path, manifest).expect("write manifest");
    let out = ok(&["enroll", "--gallery", g, "--manifest", manifest_path.to_str().expect("utf-8")]);
    assert!(out.contains("holds 5"), "{out}");

    // A registered person's second impression: found, and the decision says so.
    let v = identify(g, &image(&prints, 3, 2), &[]);
    assert_eq!(v["searched"], 5, "{v}");
    assert!(v["search_ms"].is_number(), "{v}");
    assert_eq!(v["candidates"][0]["id"], "P003", "{v}");
    assert_eq!(v["candidates"][0]["finger"], 7, "{v}");
    assert_eq!(v["candidates"][0]["match"], true, "{v}");
    assert_eq!(v["candidates"][1]["match"], false, "{v}");
    assert_eq!(v["matched"], "P003", "{v}");
    let score = |c: &serde_json::Value| c["score"].as_f64().expect("score");
    let threshold = v["match_threshold"].as_f64().expect("match_threshold");
    assert!(score(&v["candidates"][0]) >= threshold, "{v}");
    let candidates = v["candidates"].as_array().expect("candidates");
    assert_eq!(candidates.len(), 5, "{v}");
    assert!(candidates.windows(2).all(|w| score(&w[0]) >= score(&w[1])), "{v}");
    // Each candidate's FMR is the calibration's for its score: lower for higher scores.
    let fmr = |c: &serde_json::Value| c["fmr"].as_f64().expect("fmr");
    assert!(candidates.windows(2).all(|w| fmr(&w[0]) <= fmr(&w[1])), "{v}");

    // A walk-in: the per-comparison rate of its best candidate may be small, but not small
    // enough for a search over every record.
    let v = identify(g, &image(&prints, 6, 2), &[]);
    assert_eq!(v["matched"], serde_json::Value::Null, "{v}");
    assert!(score(&v["candidates"][0]) < v["match_threshold"].as_f64().expect("threshold"));
    // A stricter rate per search needs a higher score.
    let strict = identify(g, &image(&prints, 6, 2), &["--fmr", "1e-6"]);
    assert!(strict["match_threshold"].as_f64() > v["match_threshold"].as_f64(), "{strict}");

    // Only one finger position searched; exhaustive search agrees here.
    let v = identify(g, &image(&prints, 3, 2), &["--finger", "7", "--top", "3"]);
    assert_eq!(v["searched"], 2, "{v}");
    assert!(v["candidates"].as_array().expect("candidates").iter().all(|c| c["finger"] == 7));
    let ex = identify(g, &image(&prints, 3, 2), &["--exhaustive"]);
    assert_eq!(ex["mode"], "exhaustive", "{ex}");
    assert_eq!(ex["compared"], 5, "{ex}");
    assert_eq!(ex["matched"], "P003", "{ex}");

    // De-registration: gone from searches, and a second removal is a user error.
    let out = ok(&["remove", "--gallery", g, "--id", "P003"]);
    assert!(out.contains("P003"), "{out}");
    let v = identify(g, &image(&prints, 3, 2), &[]);
    assert_eq!(v["searched"], 4, "{v}");
    assert_eq!(v["matched"], serde_json::Value::Null, "{v}");
    assert!(user_error(&["remove", "--gallery", g, "--id", "P003"]).contains("P003"));

    // Maintenance: the removal is pending until compaction drops it; verify reads every byte.
    let stats = ok(&["gallery", "stats", g]);
    assert!(stats.contains("records            4"), "{stats}");
    assert!(stats.contains("deleted (pending)  1"), "{stats}");
    assert!(ok(&["gallery", "verify", g]).contains(": ok"));
    let out = ok(&["gallery", "compact", g]);
    assert!(out.contains("1 deleted records dropped"), "{out}");
    let stats = ok(&["gallery", "stats", g]);
    assert!(stats.contains("deleted (pending)  0"), "{stats}");
    assert_eq!(identify(g, &image(&prints, 2, 2), &[])["matched"], "P002");
}

#[test]
fn bad_ids_probes_and_galleries_are_user_errors_that_change_nothing() {
    let Setup { dir, prints, gallery } = setup(1, 2, 5);
    let g = gallery.as_str();
    let print = image(&prints, 1, 1);
    let print = print.to_str().expect("utf-8");

    let too_long = "x".repeat(65);
    for id in [too_long.as_str(), "", "tab\tinside"] {
        user_error(&["enroll", "--gallery", g, "--id", id, print]);
    }
    user_error(&["enroll", "--gallery", g, "--id", "P1", "--finger", "11", print]);
    let garbage = dir.path().join("garbage.png");
    std::fs::write(&garbage, b"\x89PNG\r\n\x1a\n not really").expect("write");
    let garbage = garbage.to_str().expect("utf-8");
    user_error(&["enroll", "--gallery", g, "--id", "P1", garbage]);
    // None of that enrolled anything.
    assert!(ok(&["gallery", "stats", g]).contains("records            0"));

    ok(&["enroll", "--gallery", g, "--id", "P1", print]);
    user_error(&["identify", "--gallery", g, garbage]);
    user_error(&["identify", "--gallery", g, print, "--fmr", "0"]);
    user_error(&["identify", "--gallery", g, print, "--finger", "12"]);
    // A missing gallery: the cause is said once, not repeated after the file name.
    let missing = dir.path().join("nowhere");
    let stderr = user_error(&["identify", "--gallery", missing.to_str().expect("utf-8"), print]);
    let line = stderr.lines().find(|l| l.starts_with("error: ")).expect("error line");
    let cause = line.rsplit(": ").next().expect("cause");
    assert_eq!(line.matches(cause).count(), 1, "{line}");
    assert!(ok(&["gallery", "verify", g]).contains(": ok"));
}
