//! Extraction on the real FVC2002 images in `../shared` (skipped where absent): every image
//! extracts, golden traces of a few images hold still, and rotating a print rotates its
//! minutiae.

use std::path::{Path, PathBuf};

use ridgeline::extract::{trace::keys, CollectTrace, Extractor, ExtractorConfig};
use ridgeline::{FingerImage, Template};

/// The FVC2002 folder beside the repository, or `None` (with a message) when absent.
fn fvc2002() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/fvc2002");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} is absent; this test needs the shared data", dir.display());
        None
    }
}

/// Resolution of each set (DB2 is 569 dpi; the TIFF tags are meaningless).
const SETS: [(&str, u32); 4] = [("DB1_B", 500), ("DB2_B", 569), ("DB3_B", 500), ("DB4_B", 500)];

#[test]
fn every_fvc2002_image_extracts() {
    let Some(root) = fvc2002() else { return };
    let extractor = Extractor::new(ExtractorConfig::default());
    let mut count = 0;
    for (set, dpi) in SETS {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(set))
            .expect("readable set folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "tif"))
            .collect();
        paths.sort();
        assert_eq!(paths.len(), 80, "{set}");
        for path in paths {
            let image = FingerImage::open(&path, Some(dpi)).expect("decodes");
            let t = extractor.extract(&image).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            t.validate().expect("valid template");
            assert_eq!((t.width, t.height, t.dpi), (image.width(), image.height(), dpi));
            assert!(
                t.minutiae.len() >= 5,
                "{}: only {} minutiae",
                path.display(),
                t.minutiae.len()
            );
            assert!(
                t.minutiae.iter().all(|m| m.x >= 0.0
                    && m.y >= 0.0
                    && m.x < t.width as f32
                    && m.y < t.height as f32),
                "{}: minutia outside the image",
                path.display()
            );
            count += 1;
        }
    }
    assert_eq!(count, 320);
}

/// Golden traces, as grey PNGs under `tests/golden/`: every stage of a hard DB3 print, and the
/// binary ridge map (which every later stage follows from) of a DB1 and a DB2 print.
/// Regenerate on purpose with `REGENERATE=1 cargo test -p ridgeline --test extract_real`.
#[test]
fn traced_stages_match_golden_files() {
    let Some(root) = fvc2002() else { return };
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let regenerate = std::env::var_os("REGENERATE").is_some();
    let extractor = Extractor::new(ExtractorConfig::default());
    let cases = [
        ("DB3_B", "105_2", 500, &keys::ALL[..]),
        ("DB1_B", "101_1", 500, &[keys::BINARY][..]),
        ("DB2_B", "103_1", 569, &[keys::BINARY][..]),
    ];
    for (set, name, dpi, kept) in cases {
        let image = FingerImage::open(root.join(set).join(format!("{name}.tif")), Some(dpi))
            .expect("decodes");
        let mut trace = CollectTrace::default();
        extractor.extract_traced(&image, &mut trace).expect("extracts");
        assert_eq!(
            trace.stages.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            keys::ALL.to_vec(),
            "every stage is traced once, in order"
        );
        for (key, picture) in trace.stages.iter().filter(|(k, _)| kept.contains(k)) {
            let gray: Vec<u8> = picture
                .rgb
                .chunks_exact(3)
                .map(|p| ((p[0] as u32 * 3 + p[1] as u32 * 5 + p[2] as u32 * 2) / 10) as u8)
                .collect();
            let path = golden.join(format!("{set}_{name}_{key}.png"));
            if regenerate {
                image::GrayImage::from_raw(picture.width, picture.height, gray)
                    .expect("sized")
                    .save(&path)
                    .expect("writes golden");
                continue;
            }
            let expected = image::open(&path)
                .unwrap_or_else(|e| {
                    panic!("{}: {e} (regenerate with REGENERATE=1)", path.display())
                })
                .into_luma8();
            assert_eq!(
                (expected.width(), expected.height()),
                (picture.width, picture.height),
                "{key}"
            );
            // Allow a sliver of pixels to differ (float rounding across CPUs), no more.
            let differing =
                expected.as_raw().iter().zip(&gray).filter(|(a, b)| a.abs_diff(**b) > 2).count();
            assert!(
                differing * 1000 <= gray.len(),
                "{set} {name} stage {key}: {differing} of {} pixels differ from {}",
                gray.len(),
                path.display()
            );
        }
    }
}

/// Rotates an image by 90° clockwise as viewed, `turns` times.
fn rotate(image: &FingerImage, turns: u32) -> FingerImage {
    let mut current = image.clone();
    for _ in 0..turns {
        let (w, h) = (current.width(), current.height());
        let mut pixels = vec![0u8; (w * h) as usize];
        for y in 0..h {
            for x in 0..w {
                // (x, y) goes to (h - 1 - y, x) in a w' = h, h' = w image.
                pixels[(x * h + (h - 1 - y)) as usize] = current.get(x, y);
            }
        }
        current = FingerImage::from_raw(h, w, current.dpi(), pixels).expect("same size");
    }
    current
}

/// The template of `image` with its minutiae moved as by [`rotate`].
fn rotate_template(t: &Template, turns: u32) -> Vec<(f32, f32, f32)> {
    t.minutiae
        .iter()
        .map(|m| {
            let (mut x, mut y, mut a) = (m.x, m.y, m.angle);
            let (mut w, mut h) = (t.width as f32, t.height as f32);
            for _ in 0..turns {
                (x, y) = (h - 1.0 - y, x);
                (w, h) = (h, w);
                // Clockwise as viewed is minus a quarter turn in the counter-clockwise convention.
                a -= std::f32::consts::FRAC_PI_2;
            }
            let _ = (w, h);
            (x, y, a)
        })
        .collect()
}

#[test]
fn rotating_the_print_rotates_the_minutiae() {
    let Some(root) = fvc2002() else { return };
    let extractor = Extractor::new(ExtractorConfig::default());
    for (set, name) in [("DB1_B", "102_3"), ("DB4_B", "107_1")] {
        let image = FingerImage::open(root.join(set).join(format!("{name}.tif")), Some(500))
            .expect("decodes");
        let base = extractor.extract(&image).expect("extracts");
        for turns in 1..=3 {
            let rotated = extractor.extract(&rotate(&image, turns)).expect("extracts");
            let expected = rotate_template(&base, turns);
            let found = expected
                .iter()
                .filter(|(x, y, a)| {
                    rotated.minutiae.iter().any(|m| {
                        let d = ((m.x - x).powi(2) + (m.y - y).powi(2)).sqrt();
                        let da = (m.angle - a).rem_euclid(std::f32::consts::TAU);
                        d <= 8.0 && da.min(std::f32::consts::TAU - da) <= 0.5
                    })
                })
                .count();
            let share = found as f32 / expected.len().max(1) as f32;
            assert!(
                share >= 0.6,
                "{set}/{name} rotated {turns}×90°: only {found} of {} minutiae reappear",
                expected.len()
            );
        }
    }
}
