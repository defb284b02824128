//! CPU time of each extraction stage on one image (this thread's time on the CPU, so that a
//! busy machine does not inflate it), for profiling:
//! `cargo run --release -p ridgeline --example stage_times IMAGE [DPI]`

use ridgeline::extract::grid::{BlockGrid, PaddedImage, Plane};
use ridgeline::extract::*;
use ridgeline::FingerImage;

fn main() -> ridgeline::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: stage_times IMAGE [DPI]");
        return Ok(());
    };
    let dpi = args.get(2).and_then(|d| d.parse().ok());
    let image = FingerImage::open(path, dpi)?;
    let mut t = [0f64; 10];
    let rounds = 20;
    for _ in 0..rounds {
        let mut clock = cpu_ms();
        let mut lap = |i: usize| {
            let now = cpu_ms();
            t[i] += (now - clock) / rounds as f64;
            clock = now;
        };
        let working = image.resampled_to(500);
        let (w, h) = (working.width() as usize, working.height() as usize);
        let gray = Plane { width: w, height: h, data: working.into_pixels() };
        let grid = BlockGrid::new(w, h, parameters::BLOCK_SIZE_PX);
        let g = gradients::compute(&gray, grid);
        lap(0);
        let mask = segmentation::compute(&g);
        lap(1);
        let o = orientation::compute(&g, &mask);
        lap(2);
        let values =
            Plane { width: w, height: h, data: gray.data.iter().map(|&v| v as f32).collect() };
        let padded =
            PaddedImage::new(&values, enhancement::padding_px().max(frequency::reach_px()));
        let f = frequency::compute(&padded, &o, &mask);
        lap(3);
        let e = enhancement::compute(&padded, &o, &f, &mask);
        lap(4);
        let b = binarization::compute(&e, &mask);
        lap(5);
        let s = skeleton::compute(&b);
        lap(6);
        let c = minutiae::detect(&s, &o);
        lap(7);
        let _r = filtering::apply(&c, &mask);
        lap(8);
        let coarse = orientation::compute_smoothed(&g, &mask, 2.0);
        let _sp = singular_points::detect(grid, &coarse.angle, &mask.blocks);
        lap(9);
    }
    let names = [
        "gradients",
        "segmentation",
        "orientation",
        "frequency",
        "enhancement",
        "binarization",
        "skeleton",
        "minutiae",
        "filtering",
        "singular",
    ];
    for (n, v) in names.iter().zip(t) {
        println!("{n:14} {v:7.2} ms");
    }
    println!("{:14} {:7.2} ms", "total", t.iter().sum::<f64>());
    Ok(())
}

/// CPU time of this thread in milliseconds (Linux `/proc/thread-self/schedstat`), 0 elsewhere.
fn cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()))
        .map_or(0.0, |ns| ns / 1e6)
}
