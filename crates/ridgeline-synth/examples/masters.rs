//! Writes a few masters and impressions as PNGs for inspection:
//! `cargo run --release -p ridgeline-synth --example masters DIR N`.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).map(String::as_str).unwrap_or("/tmp/masters"));
    let count: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(6);
    std::fs::create_dir_all(&dir)?;
    let config = ridgeline_synth::MasterConfig::default();
    let impressions = ridgeline_synth::ImpressionConfig::default();
    for finger in 1..=count {
        let start = std::time::Instant::now();
        let master = ridgeline_synth::Master::generate(1, finger, &config)?;
        let master_ms = start.elapsed().as_secs_f64() * 1e3;
        master.to_image()?.save_png(dir.join(format!("master_{finger}.png")))?;
        for k in 1..=3 {
            let start = std::time::Instant::now();
            let imp = ridgeline_synth::impression::render(
                &master,
                1,
                finger,
                k,
                config.width,
                config.height,
                &impressions,
            )?;
            println!(
                "finger {finger}: {:?}, {} iterations, {} minutiae, master {master_ms:.0} ms; impression {k}: {} truth, {:.1} ms",
                master.class(),
                master.ridges.iterations,
                master.minutiae.len(),
                imp.minutiae.len(),
                start.elapsed().as_secs_f64() * 1e3
            );
            imp.image.save_png(dir.join(format!("{finger}_{k}.png")))?;
        }
    }
    Ok(())
}
