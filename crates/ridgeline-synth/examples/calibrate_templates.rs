//! Compares template-level minutiae with the ground truth of rendered prints, to calibrate
//! `params::TEMPLATE_*`: `cargo run --release -p ridgeline-synth --example calibrate_templates [FINGERS]`.
use ridgeline_synth::stats::MinutiaeStats;
use ridgeline_synth::{
    impression, ImpressionConfig, Master, MasterConfig, TemplateConfig, TemplateMaster,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fingers: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(40);
    let seed = 4242;
    let master_config = MasterConfig::default();
    let impression_config = ImpressionConfig::default();
    let against_extractor = std::env::args().nth(2).is_some_and(|a| a == "extract");
    let template_config =
        if against_extractor { TemplateConfig::default() } else { TemplateConfig::truth_like() };
    let extractor =
        ridgeline::extract::Extractor::new(ridgeline::extract::ExtractorConfig::default());
    let mut rendered_masters = Vec::new();
    let mut rendered_impressions = Vec::new();
    let mut density = Vec::new();
    let mut rendered_shapes = Vec::new();
    let mut template_shapes = Vec::new();
    for finger in 1..=fingers {
        let master = Master::generate(seed, finger, &master_config)?;
        let s = master.model.silhouette;
        let shrink = 1.0 - 12.0 / s.half_width.min(s.half_height_top);
        density.push(master.minutiae.len() as f64 / (s.area() * shrink * shrink) * 1e4);
        for k in 1..=2 {
            let imp = impression::render(
                &master,
                seed,
                finger,
                k,
                master_config.width,
                master_config.height,
                &impression_config,
            )?;
            if against_extractor {
                rendered_impressions.push(extractor.extract(&imp.image)?.minutiae);
            } else {
                rendered_impressions.push(imp.minutiae);
            }
        }
        rendered_masters.push(master.minutiae);
        rendered_shapes.push(master.model.silhouette);
    }
    let hist = |v: &[f64], max: f64| {
        let mut h = [0usize; 6];
        for x in v {
            h[((x / max * 6.0) as usize).min(5)] += 1;
        }
        let n = v.len().max(1) as f64;
        h.iter().map(|c| format!("{:.2}", *c as f64 / n)).collect::<Vec<_>>().join(" ")
    };
    let radius = |masters: &[Vec<ridgeline::Minutia>],
                  models: &[ridgeline_synth::model::Silhouette]| {
        let mut r = Vec::new();
        for (m, s) in masters.iter().zip(models) {
            r.extend(m.iter().map(|p| s.radius(p.x as f64, p.y as f64)));
        }
        r
    };
    let mut template_masters = Vec::new();
    let mut template_impressions = Vec::new();
    for finger in 1..=fingers * 5 {
        let master = TemplateMaster::generate(seed, finger, &template_config);
        for k in 1..=2 {
            template_impressions
                .push(master.impression(seed, finger, k, &template_config).minutiae);
        }
        template_masters.push(master.minutiae);
        template_shapes.push(master.model.silhouette);
    }
    let show = |name: &str, s: &MinutiaeStats| {
        println!(
            "{name:>22}: count {:.1}, nn median {:.1} px (q10 {:.1}, q90 {:.1}), bif {:.2}, angle diff median {:.2}, bearing median {:.2}",
            s.mean_count(),
            s.median_nearest_distance(),
            ridgeline_synth::stats::quantile(&s.nearest_distance, 0.1),
            ridgeline_synth::stats::quantile(&s.nearest_distance, 0.9),
            s.bifurcation_fraction,
            ridgeline_synth::stats::quantile(&s.nearest_angle_difference, 0.5),
            ridgeline_synth::stats::quantile(&s.nearest_bearing, 0.5),
        )
    };
    let rm = MinutiaeStats::collect(rendered_masters.iter().map(Vec::as_slice));
    let ri = MinutiaeStats::collect(rendered_impressions.iter().map(Vec::as_slice));
    let tm = MinutiaeStats::collect(template_masters.iter().map(Vec::as_slice));
    let ti = MinutiaeStats::collect(template_impressions.iter().map(Vec::as_slice));
    println!("rendered density per 10k px2: {:.2}", ridgeline_synth::stats::mean(&density));
    show("rendered masters", &rm);
    show("template masters", &tm);
    show("rendered impressions", &ri);
    show("template impressions", &ti);
    println!("radius hist rendered {}", hist(&radius(&rendered_masters, &rendered_shapes), 1.0));
    println!("radius hist template {}", hist(&radius(&template_masters, &template_shapes), 1.0));
    println!(
        "angle diff hist rendered {}",
        hist(&rm.nearest_angle_difference, std::f64::consts::PI)
    );
    println!(
        "angle diff hist template {}",
        hist(&tm.nearest_angle_difference, std::f64::consts::PI)
    );
    println!("bearing hist rendered {}", hist(&rm.nearest_bearing, std::f64::consts::PI));
    println!("bearing hist template {}", hist(&tm.nearest_bearing, std::f64::consts::PI));
    println!("KS masters {:?}", tm.max_ks_distance(&rm));
    println!("KS impressions {:?}", ti.max_ks_distance(&ri));
    for (name, a, b) in [
        ("nearest_distance", &ri.nearest_distance, &ti.nearest_distance),
        ("angle_diff", &ri.nearest_angle_difference, &ti.nearest_angle_difference),
        ("bearing", &ri.nearest_bearing, &ti.nearest_bearing),
        ("orientation", &ri.orientation, &ti.orientation),
        ("count", &ri.counts, &ti.counts),
    ] {
        println!("  {name}: KS {:.3}", ridgeline_synth::stats::ks_distance(a, b));
    }
    Ok(())
}
