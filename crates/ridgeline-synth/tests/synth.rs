//! End-to-end checks of the generator: determinism, ground truth, class proportions, and the
//! template-level model against rendered-and-extracted prints.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use ridgeline::extract::{Extractor, ExtractorConfig};
use ridgeline_synth::dataset::{self, DatasetSpec, TemplateOutput};
use ridgeline_synth::stats::MinutiaeStats;
use ridgeline_synth::{
    impression, ImpressionConfig, Master, MasterConfig, PatternClass, TemplateConfig,
    TemplateMaster, NATURAL_CLASS_FREQUENCIES,
};

fn spec(seed: u64, fingers: u64, impressions: u32) -> DatasetSpec {
    DatasetSpec { fingers, impressions, seed, width: 288, height: 384, dpi: 500 }
}

fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for sub in ["", "truth"] {
        for entry in std::fs::read_dir(dir.join(sub)).expect("list") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                let name = path.strip_prefix(dir).expect("prefix").display().to_string();
                files.insert(name, std::fs::read(&path).expect("read"));
            }
        }
    }
    files
}

#[test]
fn same_seed_gives_identical_files_and_other_seeds_other_fingers() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().expect("tempdir")).collect();
    let seeds = [21, 21, 22];
    for (dir, seed) in dirs.iter().zip(seeds) {
        dataset::write_images(
            dir.path(),
            &spec(seed, 2, 2),
            &MasterConfig::default(),
            &ImpressionConfig::default(),
            &|_| {},
        )
        .expect("write");
    }
    let (a, b, c) =
        (read_tree(dirs[0].path()), read_tree(dirs[1].path()), read_tree(dirs[2].path()));
    assert_eq!(a.len(), 2 * 2 * 2 + 1, "4 images, 4 truth files, synth.json: {:?}", a.keys());
    assert!(a.contains_key("1_1.png") && a.contains_key("truth/2_2.json"));
    assert_eq!(a, b, "same seed, same bytes");
    for name in ["1_1.png", "2_2.png", "truth/1_1.json"] {
        assert_ne!(a[name], c[name], "{name} should differ between seeds");
    }
    // Different fingers of one seed differ too.
    assert_ne!(a["1_1.png"], a["2_1.png"]);
}

#[test]
fn template_packs_are_deterministic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, seed: u64| {
        let path = dir.path().join(name);
        dataset::write_templates(
            &TemplateOutput::Pack(path.clone()),
            &spec(seed, 50, 3),
            &TemplateConfig::default(),
            &|_| {},
        )
        .expect("write");
        std::fs::read(path).expect("read")
    };
    let (a, b, c) = (write("a.rlp", 8), write("b.rlp", 8), write("c.rlp", 9));
    assert_eq!(a, b);
    assert_ne!(a, c);
    let pack = ridgeline_synth::pack::Pack::open(dir.path().join("a.rlp")).expect("open");
    // Random access through the library gives the pack's content.
    let direct = ridgeline_synth::templates::generate(8, 17, 2, &TemplateConfig::default())
        .expect("generate");
    assert_eq!(pack.get(17, 2).expect("get"), direct);
}

#[test]
fn truth_minutiae_lie_on_ridges_and_inside_the_visible_print() {
    let config = MasterConfig::default();
    for finger in 1..=3 {
        let master = Master::generate(31, finger, &config).expect("master");
        assert!(master.minutiae.len() >= 15, "finger {finger}: {} minutiae", master.minutiae.len());
        for m in &master.minutiae {
            let near_ridge = (-1..=1).any(|dy| {
                (-1..=1).any(|dx| master.is_ridge(m.x as f64 + dx as f64, m.y as f64 + dy as f64))
            });
            assert!(near_ridge, "master minutia off the ridges: {m:?}");
        }
        for k in 1..=2 {
            let imp =
                impression::render(&master, 31, finger, k, 288, 384, &ImpressionConfig::default())
                    .expect("render");
            let (w, h) = (imp.image.width() as i64, imp.image.height() as i64);
            assert!(!imp.minutiae.is_empty());
            let mut sorted = imp.image.pixels().to_vec();
            sorted.sort_unstable();
            let background = sorted[sorted.len() * 9 / 10];
            for m in &imp.minutiae {
                assert!(m.x >= 0.0 && m.y >= 0.0 && (m.x as i64) < w && (m.y as i64) < h, "{m:?}");
                // Inside the print: dark ridge pixels around it.
                let darkest = (-4..=4)
                    .flat_map(|dy| (-4..=4).map(move |dx| (dx, dy)))
                    .map(|(dx, dy)| {
                        imp.image.get((m.x as i64 + dx) as u32, (m.y as i64 + dy) as u32)
                    })
                    .min()
                    .unwrap_or(255);
                assert!(
                    darkest + 35 < background,
                    "truth minutia outside the print: {m:?} (darkest {darkest}, background {background})"
                );
            }
        }
    }
}

#[test]
fn class_proportions_follow_the_natural_distribution() {
    let config = TemplateConfig::default();
    let fingers = 6000;
    let mut counts = [0usize; 5];
    for finger in 1..=fingers {
        let class = TemplateMaster::generate(77, finger, &config).model.class;
        counts[PatternClass::ALL.iter().position(|c| *c == class).expect("known class")] += 1;
    }
    for (i, expected) in NATURAL_CLASS_FREQUENCIES.iter().enumerate() {
        let got = counts[i] as f64 / fingers as f64;
        // Binomial standard deviation at n = 6000 is at most 0.65 %; allow about 3.5 sigma.
        assert!(
            (got - expected).abs() < 0.022,
            "{:?}: {got:.3} vs {expected:.3}",
            PatternClass::ALL[i]
        );
    }
    // Rendered masters draw their class the same way.
    let classes: Vec<PatternClass> = (1..=6)
        .map(|f| Master::generate(5, f, &MasterConfig::default()).expect("m").class())
        .collect();
    assert!(classes.iter().any(|c| *c != classes[0]), "six masters all of one class: {classes:?}");
}

/// Template-level minutiae must look like what the extractor finds on rendered prints.
#[test]
fn template_statistics_match_extracted_rendered_prints() {
    let seed = 2024;
    let fingers = 100u64;
    let master_config = MasterConfig::default();
    let impression_config = ImpressionConfig::default();
    let extractor = Extractor::new(ExtractorConfig::default());
    let extracted: Vec<Vec<ridgeline::Minutia>> = (1..=fingers)
        .into_par_iter()
        .flat_map_iter(|finger| {
            let master = Master::generate(seed, finger, &master_config).expect("master");
            (1..=2u32)
                .map(|k| {
                    let imp =
                        impression::render(&master, seed, finger, k, 288, 384, &impression_config)
                            .expect("render");
                    extractor.extract(&imp.image).expect("extract").minutiae
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let template_config = TemplateConfig::default();
    let templates: Vec<Vec<ridgeline::Minutia>> = (1..=fingers * 4)
        .flat_map(|finger| {
            let master = TemplateMaster::generate(seed, finger, &template_config);
            (1..=2u32)
                .map(|k| master.impression(seed, finger, k, &template_config).minutiae)
                .collect::<Vec<_>>()
        })
        .collect();
    let real = MinutiaeStats::collect(extracted.iter().map(Vec::as_slice));
    let synthetic = MinutiaeStats::collect(templates.iter().map(Vec::as_slice));
    let count_ratio = synthetic.mean_count() / real.mean_count();
    assert!(
        (0.85..1.15).contains(&count_ratio),
        "mean count {} vs {}",
        synthetic.mean_count(),
        real.mean_count()
    );
    let spacing_ratio = synthetic.median_nearest_distance() / real.median_nearest_distance();
    assert!((0.85..1.15).contains(&spacing_ratio), "nn spacing {spacing_ratio}");
    use ridgeline_synth::stats::ks_distance;
    for (name, a, b) in [
        ("count", &synthetic.counts, &real.counts),
        ("nearest_distance", &synthetic.nearest_distance, &real.nearest_distance),
        ("nearest_bearing", &synthetic.nearest_bearing, &real.nearest_bearing),
        ("orientation", &synthetic.orientation, &real.orientation),
    ] {
        let ks = ks_distance(a, b);
        assert!(ks < 0.2, "distributions differ: KS {ks:.3} on {name}");
    }
    // Known gap: the extractor merged at 12:00 reports nearest neighbours that mostly run in the
    // same direction (median difference 0.3 rad) where the model has as many opposite ones
    // (KS about 0.35). Bounded here so that it cannot get worse unnoticed; see docs/SYNTH.md.
    let ks = ks_distance(&synthetic.nearest_angle_difference, &real.nearest_angle_difference);
    assert!(ks < 0.45, "neighbour angle differences: KS {ks:.3}");
    assert!((synthetic.bifurcation_fraction - real.bifurcation_fraction).abs() < 0.15);
}
