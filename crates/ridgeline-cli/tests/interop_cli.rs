//! `ridgeline eval-interop`: the four cases (vendor ISO templates and ours, pure and mixed) on a
//! small subset of FVC2002 DB1_B copied into a temporary folder.

mod common;

use std::path::Path;

use common::{ok, ok_json, path_str, user_error};
use ridgeline_tests::shared_path;

/// Fingers and impressions of the subset.
const FINGERS: [u32; 4] = [101, 102, 103, 104];
const IMPRESSIONS: [u32; 3] = [1, 2, 3];
/// Every pair of impressions of one finger.
const GENUINE: usize = 4 * 3;
/// Every cross-finger pair of the 12 samples.
const IMPOSTOR: usize = 12 * 11 / 2 - GENUINE;

/// Copies the subset's images and ISO templates from `db` into `dir`.
fn copy_subset(db: &Path, dir: &Path) {
    for f in FINGERS {
        for i in IMPRESSIONS {
            for ext in ["tif", "iso"] {
                let name = format!("{f}_{i}.{ext}");
                std::fs::copy(db.join(&name), dir.join(&name)).expect("copy a sample");
            }
        }
    }
}

#[test]
fn four_cases_with_protocol_counts_and_pure_cases_equal_plain_eval() {
    let Some(db) = shared_path("datasets/fvc2002/DB1_B") else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_subset(&db, tmp.path());
    let dir = path_str(tmp.path());
    let svg = tmp.path().join("interop.svg");

    let v = ok_json(&["eval-interop", dir, "--dpi", "500", "--json", "--svg", path_str(&svg)]);
    let mut keys: Vec<&str> = v.as_object().expect("object").keys().map(|k| k.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "cases",
            "cpu",
            "dataset",
            "extract_ms_median",
            "failed_to_extract",
            "images",
            "iso_fitted_to_image",
            "mixed_eer_factor",
            "pass",
            "protocol",
            "worse_pure_eer",
        ]
    );
    assert_eq!(v["images"], 12);
    assert_eq!(v["protocol"], "all");
    assert_eq!(v["failed_to_extract"]["iso"], 0);
    assert_eq!(v["failed_to_extract"]["own"], 0);
    assert_eq!(v["iso_fitted_to_image"], 0, "templates are compared as stated by default");
    assert!(v["cpu"]["kernel"].is_string());
    let cases = v["cases"].as_object().expect("cases");
    let mut names: Vec<&str> = cases.keys().map(|k| k.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["iso_iso", "iso_own", "own_iso", "own_own"]);
    for (name, case) in cases {
        assert_eq!(case["genuine"], GENUINE, "{name}");
        assert_eq!(case["impostor"], IMPOSTOR, "{name}");
        let (probe, gallery) = name.split_once('_').expect("probe_gallery");
        assert_eq!(case["probe"], probe);
        assert_eq!(case["gallery"], gallery);
        assert_eq!(case["mixed"], probe != gallery);
        let eer = case["eer"].as_f64().expect("eer");
        // Even across extractors, mates score above strangers far more often than not.
        assert!((0.0..0.35).contains(&eer), "{name}: EER {eer}");
        for key in ["fnmr_at_fmr_1e-2", "fnmr_at_fmr_1e-3", "ratio_to_worse_pure", "pass"] {
            assert!(case.get(key).is_some(), "{name} lacks {key}");
        }
        // 54 impostor comparisons do not resolve FMR 1 %.
        assert!(case["fnmr_at_fmr_1e-2"].is_null(), "{name}");
    }

    // The pure cases are plain `eval` on the ISO templates and on the images.
    let iso =
        ok_json(&["eval", dir, "--protocol", "all", "--dpi", "500", "--ext", "iso", "--json"]);
    let own = ok_json(&["eval", dir, "--protocol", "all", "--dpi", "500", "--json"]);
    for (case, plain) in [(&cases["iso_iso"], &iso), (&cases["own_own"], &own)] {
        assert_eq!(case["genuine"], plain["genuine"]);
        assert_eq!(case["impostor"], plain["impostor"]);
        assert_eq!(case["eer"], plain["eer"]);
        assert_eq!(case["fnmr_at_fmr_1e-3"], plain["fnmr_at_fmr_1e-3"]);
    }
    assert_eq!(v["extract_ms_median"].is_number(), own["extract_ms_median"].is_number());

    // The verdict follows from the EERs.
    let eer = |k: &str| cases[k]["eer"].as_f64().expect("eer");
    let worse = eer("iso_iso").max(eer("own_own"));
    assert_eq!(v["worse_pure_eer"].as_f64(), Some(worse));
    let mut all_pass = true;
    for k in ["iso_own", "own_iso"] {
        let pass = eer(k) <= 1.25 * worse * (1.0 + 1e-6);
        assert_eq!(cases[k]["pass"].as_bool(), Some(pass), "{k}");
        all_pass &= pass;
        if worse > 0.0 {
            let ratio = cases[k]["ratio_to_worse_pure"].as_f64().expect("ratio");
            assert!((ratio - eer(k) / worse).abs() < 1e-12);
        }
    }
    assert_eq!(v["pass"].as_bool(), Some(all_pass));
    for k in ["iso_iso", "own_own"] {
        assert!(cases[k]["pass"].is_null() && cases[k]["ratio_to_worse_pure"].is_null());
    }

    let drawn = std::fs::read_to_string(&svg).expect("SVG written");
    assert!(drawn.contains("<svg") && drawn.contains("Interoperability"));

    // Stretched to their images (388 × 374 px; the templates state 300 × 400), the ISO
    // templates are rescored in every case that holds them; ours are untouched.
    let fit = ok_json(&["eval-interop", dir, "--dpi", "500", "--fit-iso-to-image", "--json"]);
    assert_eq!(fit["iso_fitted_to_image"], 12);
    assert_eq!(fit["cases"]["own_own"], v["cases"]["own_own"]);
    for k in ["iso_iso", "iso_own", "own_iso"] {
        assert_eq!(fit["cases"][k]["genuine"], GENUINE, "{k}");
        assert_eq!(fit["cases"][k]["impostor"], IMPOSTOR, "{k}");
    }

    // The text report is the cross table.
    let text = ok(&["eval-interop", dir, "--dpi", "500"]);
    assert!(text.contains(&format!("{GENUINE} genuine, {IMPOSTOR} impostor")), "{text}");
    assert!(text.contains("ISO (vendor)") && text.contains("own (Ridgeline)"), "{text}");
    assert!(text.contains("interoperability: "), "{text}");
}

#[test]
fn an_image_without_its_iso_template_is_a_user_error() {
    let Some(db) = shared_path("datasets/fvc2002/DB1_B") else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_subset(&db, tmp.path());
    std::fs::remove_file(tmp.path().join("103_2.iso")).expect("remove one template");
    let err = user_error(&["eval-interop", path_str(tmp.path()), "--dpi", "500", "--json"]);
    assert!(err.contains("103_2 has an image but no ISO template"), "{err}");

    let err = user_error(&["eval-interop", path_str(tmp.path()), "--ext", "iso"]);
    assert!(err.contains("--ext names the images"), "{err}");

    let empty = tempfile::tempdir().expect("temp dir");
    let err = user_error(&["eval-interop", path_str(empty.path())]);
    assert!(err.contains("no files named") || err.contains("no images"), "{err}");
}
