//! CPU time of each extraction stage on one image (this thread's time on the CPU, so that a
//! busy machine does not inflate it), for profiling:
//! `cargo run --release -p ridgeline --example stage_times IMAGE [DPI]`
//!
//! The clock is a [`Trace`] sink that draws nothing and reads the time as each stage finishes.

use ridgeline::extract::trace::STAGES;
use ridgeline::extract::{Extractor, Trace, TraceImage};
use ridgeline::FingerImage;

/// Adds this thread's CPU time since the previous stage to the stage just finished.
struct StageClock {
    last_ms: f64,
    total_ms: [f64; STAGES.len()],
}

impl Trace for StageClock {
    fn is_enabled(&self) -> bool {
        false
    }
    fn record(&mut self, _key: &'static str, _image: TraceImage) {}
    fn stage_finished(&mut self, stage: &'static str) {
        let now = cpu_ms();
        if let Some(i) = STAGES.iter().position(|&s| s == stage) {
            self.total_ms[i] += now - self.last_ms;
        }
        self.last_ms = now;
    }
}

fn main() -> ridgeline::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: stage_times IMAGE [DPI]");
        return Ok(());
    };
    let dpi = args.get(2).and_then(|d| d.parse().ok());
    let image = FingerImage::open(path, dpi)?;
    let extractor = Extractor::default();
    let rounds = 20;
    let mut clock = StageClock { last_ms: 0.0, total_ms: [0.0; STAGES.len()] };
    for _ in 0..rounds {
        // Resampling to 500 dpi happens before the first stage and counts towards it.
        clock.last_ms = cpu_ms();
        extractor.extract_traced(&image, &mut clock)?;
    }
    for (name, total) in STAGES.iter().zip(clock.total_ms) {
        println!("{name:16} {:7.2} ms", total / rounds as f64);
    }
    println!("{:16} {:7.2} ms", "total", clock.total_ms.iter().sum::<f64>() / rounds as f64);
    Ok(())
}

/// CPU time of this thread in milliseconds (Linux `/proc/thread-self/schedstat`), 0 elsewhere.
fn cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()))
        .map_or(0.0, |ns| ns / 1e6)
}
