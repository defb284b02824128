//! Acquisition conditions: deterministic with a seed, and ground truth that stays consistent
//! with the clean impression of the same touch.

use ridgeline::Minutia;
use ridgeline_synth::condition::{self, Condition, ConditionKind, Stress, CREASE_TRUTH_MARGIN_PX};
use ridgeline_synth::dataset::{self, DatasetSpec};
use ridgeline_synth::rng::{Purpose, Rng};
use ridgeline_synth::{impression, ImpressionConfig, Master, MasterConfig};

const SEED: u64 = 41;
const FINGERS: u64 = 2;

fn master(finger: u64) -> Master {
    Master::generate(SEED, finger, &MasterConfig::default()).expect("master")
}

fn render(m: &Master, finger: u64, k: u32, conditions: &[Condition]) -> impression::Impression {
    impression::render_with(m, SEED, finger, k, 288, 384, &ImpressionConfig::default(), conditions)
        .expect("render")
}

fn same(a: &Minutia, b: &Minutia) -> bool {
    a.x == b.x && a.y == b.y && a.angle == b.angle && a.kind == b.kind
}

#[test]
fn every_condition_is_deterministic_and_changes_the_print() {
    for finger in 1..=FINGERS {
        let m = master(finger);
        let clean = render(&m, finger, 1, &[]);
        // No conditions: the same bytes as the ordinary renderer.
        let plain = impression::render(&m, SEED, finger, 1, 288, 384, &ImpressionConfig::default())
            .expect("render");
        assert_eq!(clean.image.pixels(), plain.image.pixels());
        for kind in ConditionKind::ALL {
            let list = condition::parse_list(kind.as_str()).expect("condition");
            let a = render(&m, finger, 1, &list);
            let b = render(&m, finger, 1, &list);
            assert_eq!(a.image.pixels(), b.image.pixels(), "{kind:?}: same seed, same bytes");
            assert_eq!(a.minutiae.len(), b.minutiae.len());
            assert!(a.minutiae.iter().zip(&b.minutiae).all(|(x, y)| same(x, y)));
            assert_ne!(a.image.pixels(), clean.image.pixels(), "{kind:?} changes nothing");
        }
    }
}

#[test]
fn written_sets_are_byte_identical_for_a_seed() {
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().expect("tempdir")).collect();
    let conditions = condition::parse_list("dry:1..3,creases").expect("list");
    for dir in &dirs {
        let spec =
            DatasetSpec { fingers: 2, impressions: 2, seed: 5, width: 288, height: 384, dpi: 500 };
        dataset::write_images_with(
            dir.path(),
            &spec,
            &MasterConfig::default(),
            &ImpressionConfig::default(),
            &conditions,
            &|_| {},
        )
        .expect("write");
    }
    for name in ["1_1.png", "2_2.png", "truth/1_2.json", "synth.json"] {
        let a = std::fs::read(dirs[0].path().join(name)).expect("read");
        let b = std::fs::read(dirs[1].path().join(name)).expect("read");
        assert_eq!(a, b, "{name}");
    }
    let manifest = std::fs::read_to_string(dirs[0].path().join("synth.json")).expect("manifest");
    assert!(manifest.contains("dry:1..3") && manifest.contains("creases:2"), "{manifest}");
}

/// Conditions that do not move the finger keep the clean truth (breaks, merges, blotches and
/// wear are not minutiae); creases remove exactly the minutiae under them.
#[test]
fn truth_is_the_clean_truth_minus_what_creases_hide() {
    for finger in 1..=FINGERS {
        let m = master(finger);
        for k in 1..=2 {
            let clean = render(&m, finger, k, &[]);
            for name in ["dry:3", "wet:3", "worn:3", "optical:3", "pressure-high", "pressure-low:1"]
            {
                let list = condition::parse_list(name).expect("list");
                let stressed = render(&m, finger, k, &list);
                if name.starts_with("pressure-low") {
                    // A light touch shrinks the contact area: truth is a subset.
                    assert!(stressed
                        .minutiae
                        .iter()
                        .all(|s| clean.minutiae.iter().any(|c| same(c, s))));
                    continue;
                }
                // Pressure-high widens contact to 0.9–1.0 of the outline, so it may gain truth
                // at the edge; every other condition keeps the touch's contact range.
                if name == "pressure-high" {
                    continue;
                }
                assert_eq!(stressed.minutiae.len(), clean.minutiae.len(), "{name}");
                assert!(stressed.minutiae.iter().zip(&clean.minutiae).all(|(a, b)| same(a, b)));
            }
            let list = condition::parse_list("creases:3").expect("list");
            let creased = render(&m, finger, k, &list);
            // The creases the renderer drew: the condition stream's first draws.
            let mut config = ImpressionConfig::default();
            let mut rng = Rng::stream(SEED, finger, k, Purpose::Condition);
            let stress = Stress::draw(&list, k, 288, 384, &mut config, &mut rng);
            assert!(stress.creases.len() >= 8, "severity 3 draws at least 8 creases");
            let hidden = |t: &Minutia| {
                stress.creases.iter().any(|c| {
                    c.distance(t.x as f64, t.y as f64) <= c.width_px / 2.0 + CREASE_TRUTH_MARGIN_PX
                })
            };
            let expected: Vec<&Minutia> = clean.minutiae.iter().filter(|t| !hidden(t)).collect();
            assert_eq!(creased.minutiae.len(), expected.len());
            assert!(creased.minutiae.iter().zip(expected).all(|(a, b)| same(a, b)));
            assert!(creased.minutiae.len() < clean.minutiae.len(), "eight creases hide nothing");
            // The creases are white: the print is lighter along them.
            let mean = |img: &ridgeline::FingerImage| {
                img.pixels().iter().map(|&p| p as f64).sum::<f64>() / img.pixels().len() as f64
            };
            assert!(mean(&creased.image) > mean(&clean.image));
        }
    }
}

#[test]
fn geometric_conditions_keep_truth_inside_the_image() {
    for finger in 1..=FINGERS {
        let m = master(finger);
        for name in ["placement:3", "rotation:3", "distortion:3", "partial:3"] {
            let list = condition::parse_list(name).expect("list");
            for k in 1..=2 {
                let imp = render(&m, finger, k, &list);
                for t in &imp.minutiae {
                    assert!(
                        t.x >= 10.0 && t.y >= 10.0 && t.x <= 277.0 && t.y <= 373.0,
                        "{name}: {t:?}"
                    );
                }
            }
        }
        // Partial contact leaves fewer true minutiae than a full touch, on average.
        let count = |name: &str| -> usize {
            let list = condition::parse_list(name).expect("list");
            (1..=4).map(|k| render(&m, finger, k, &list).minutiae.len()).sum()
        };
        assert!(count("partial:3") < count("pressure-high"));
    }
}

#[test]
fn pressure_and_wetness_darken_dryness_and_wear_lighten() {
    let m = master(1);
    let mean = |name: &str| -> f64 {
        let list = condition::parse_list(name).expect("list");
        let img = render(&m, 1, 1, &list).image;
        img.pixels().iter().map(|&p| p as f64).sum::<f64>() / img.pixels().len() as f64
    };
    let (high, low, wet, dry) =
        (mean("pressure-high"), mean("pressure-low"), mean("wet"), mean("dry:3"));
    assert!(high < low, "hard press {high} vs light touch {low}");
    assert!(wet < dry, "wet {wet} vs dry {dry}");
}
