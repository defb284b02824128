//! `ridgeline eval --scores` and `ridgeline eval-diff`: the score file holds every comparison
//! the JSON counts, eval-diff reproduces eval's rates from it, sees a finger made worse, and
//! refuses files that do not pair.

mod common;

use common::{ok, ok_json, path_str, synth_templates, user_error};

/// Twelve synthetic fingers of six impressions as templates, scored by `eval --protocol all`
/// (2,376 impostor comparisons, 36 per pair of fingers, so that a resample with repeated
/// fingers still resolves FMR 10⁻³); returns the folder, eval's JSON and the score file.
fn scored_set() -> (tempfile::TempDir, serde_json::Value, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = dir.path().join("set");
    std::fs::create_dir(&set).expect("mkdir");
    for impression in 1..=6 {
        synth_templates(&set, 5, 0..12, impression);
    }
    let scores = dir.path().join("base.csv");
    let v = ok_json(&[
        "eval",
        path_str(&set),
        "--protocol",
        "all",
        "--ext",
        "rlt",
        "--json",
        "--scores",
        path_str(&scores),
    ]);
    (dir, v, scores)
}

/// The score file with every genuine score of finger `finger` replaced by 0.
fn with_finger_failed(scores: &str, finger: &str) -> String {
    scores
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            if f[1] == finger && f[3] == finger {
                format!("{},{},{},{},0", f[0], f[1], f[2], f[3])
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_score_file_holds_every_comparison_and_reproduces_the_rates() {
    let (_dir, v, scores) = scored_set();
    let text = std::fs::read_to_string(&scores).expect("score file");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("probe,probe_finger,reference,reference_finger,score"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let genuine = rows.iter().filter(|r| r[1] == r[3]).count();
    assert_eq!(genuine as u64, v["genuine"].as_u64().expect("genuine"));
    assert_eq!((rows.len() - genuine) as u64, v["impostor"].as_u64().expect("impostor"));
    for r in &rows {
        assert_eq!(r.len(), 5, "{r:?}");
        assert!(r[0].starts_with(&format!("{}_", r[1])) && r[0].ends_with(".rlt"), "{r:?}");
        assert!(r[2].starts_with(&format!("{}_", r[3])), "{r:?}");
        assert_ne!(r[0], r[2], "a print is never compared with itself");
        let score: f64 = r[4].parse().expect("a number");
        assert!((0.0..=1.0).contains(&score), "{r:?}");
    }

    // The baseline against itself: eval's own rates, no difference in any round.
    let s = path_str(&scores);
    let same = ok_json(&["eval-diff", s, s, "--rounds", "200", "--json"]);
    let set = &same["sets"][0];
    assert_eq!(set["set"], "base", "named by the baseline file's stem");
    assert_eq!(set["fingers"], 12);
    assert_eq!(set["genuine"], v["genuine"]);
    assert_eq!(set["impostor"], v["impostor"]);
    assert_eq!(set["eer"]["baseline"], v["eer"]);
    assert_eq!(set["fnmr_at_fmr_1e-3"]["baseline"], v["fnmr_at_fmr_1e-3"]);
    for key in ["eer", "fnmr_at_fmr_1e-3"] {
        assert_eq!(set[key]["delta"], 0.0, "{key}");
        assert_eq!(set[key]["worse_share"], 0.0, "{key}");
        assert_eq!(set[key]["better_share"], 0.0, "{key}");
    }
    assert!(same["mean"].is_null(), "one set has no mean row");
}

#[test]
fn a_failed_finger_shows_as_worse_only_when_it_is_drawn() {
    let (dir, _v, scores) = scored_set();
    let text = std::fs::read_to_string(&scores).expect("score file");
    let worse = dir.path().join("worse.csv");
    std::fs::write(&worse, with_finger_failed(&text, "f3")).expect("write");
    let (s, w) = (path_str(&scores), path_str(&worse));
    let plot = dir.path().join("diff.svg");
    let args = ["eval-diff", s, w, s, w, "--rounds", "500", "--seed", "7", "--json"];
    let mut with_plot = args.to_vec();
    with_plot.extend(["--plot", path_str(&plot)]);
    let v = ok_json(&with_plot);
    for row in [&v["sets"][0], &v["sets"][1], &v["mean"]] {
        let fnmr = &row["fnmr_at_fmr_1e-3"];
        let delta = fnmr["delta"].as_f64().expect("delta");
        // Fifteen genuine comparisons of 180 now fail at any threshold above 0.
        assert!(delta >= 15.0 / 180.0 - 1e-12, "{row}");
        assert_eq!(fnmr["better_share"], 0.0, "the variant only loses: {row}");
        let [lo, hi] =
            [&fnmr["interval"][0], &fnmr["interval"][1]].map(|x| x.as_f64().expect("bound"));
        assert!(lo >= 0.0 && hi > delta, "{row}");
    }
    // Finger f3 is among 12 draws with probability 1 − (11/12)¹² ≈ 0.65; rounds without it tie.
    let worse_share = v["sets"][0]["fnmr_at_fmr_1e-3"]["worse_share"].as_f64().expect("share");
    assert!((0.55..0.75).contains(&worse_share), "{worse_share}");
    assert!(std::fs::read_to_string(&plot).expect("plot written").contains("<svg"));
    // The same seed gives the same figures; the text report names both rates.
    assert_eq!(ok_json(&args), v);
    let text_report = ok(&["eval-diff", s, w, "--rounds", "50"]);
    assert!(
        text_report.contains("EER") && text_report.contains("FNMR at FMR 1e-3"),
        "{text_report}"
    );
}

#[test]
fn files_that_do_not_pair_are_refused() {
    let (dir, _v, scores) = scored_set();
    let text = std::fs::read_to_string(&scores).expect("score file");
    let s = path_str(&scores);
    let write = |name: &str, content: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).expect("write");
        path
    };
    // The same comparisons in another order.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(1, 2);
    let swapped = write("swapped.csv", lines.join("\n"));
    assert!(user_error(&["eval-diff", s, path_str(&swapped)]).contains("same comparisons"));
    // One comparison fewer.
    let short = write("short.csv", text.lines().take(10).collect::<Vec<_>>().join("\n"));
    assert!(user_error(&["eval-diff", s, path_str(&short)]).contains("comparisons"));
    // Not a score file, a score that is not a number, a line with a missing field.
    let header = write("header.csv", text.replacen("probe,", "sample,", 1));
    assert!(user_error(&["eval-diff", path_str(&header), s]).contains("not a score file"));
    let nan = write("nan.csv", with_finger_failed(&text, "f1").replace(",0\n", ",NaN\n"));
    assert!(user_error(&["eval-diff", s, path_str(&nan)]).contains("not a finite number"));
    let cut = write("cut.csv", text.replacen(",f0_2.rlt,", ",", 1));
    assert!(user_error(&["eval-diff", s, path_str(&cut)]).contains("expected 5"));
    // An odd number of files, no rounds.
    assert!(user_error(&["eval-diff", s, s, s]).contains("pairs"));
    assert!(user_error(&["eval-diff", s, s, "--rounds", "0"]).contains("--rounds"));
}
