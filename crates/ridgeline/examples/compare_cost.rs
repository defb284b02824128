//! The CPU cost of one precise comparison on each dev set, for A/B runs of two builds on a
//! shared machine: every ordered pair of a set's prepared ISO templates is compared `ROUNDS`
//! times on one thread, timed by the thread's CPU clock (a busy machine slows it less than it
//! slows wall time), and the fastest and the median round are reported per set. The last field
//! is a hash of every score, so two builds can be checked to score bit for bit alike.
//!
//! ```text
//! cargo run --release -p ridgeline --example compare_cost -- ../shared/datasets/fvc2002 [ROUNDS]
//! ```

use ridgeline::matcher::{MatchTemplate, Matcher};

#[path = "support/thread_time.rs"]
mod thread_time;
use thread_time::thread_cpu_seconds;

#[path = "support/fvc.rs"]
mod fvc;
use fvc::SETS;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root =
        std::env::args().nth(1).ok_or("usage: compare_cost DATASETS_DIR/fvc2002 [ROUNDS]")?;
    let rounds: usize = std::env::args().nth(2).map(|s| s.parse()).transpose()?.unwrap_or(7);
    if rounds == 0 {
        return Err("ROUNDS must be at least 1".into());
    }
    let matcher = Matcher::new();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut line = format!("kernel {}", matcher.kernel().name());
    let mut medians = Vec::new();
    for (set, dpi) in SETS {
        let mut prepared = Vec::new();
        for finger in 101..=110 {
            for impression in 1..=8 {
                let template = fvc::iso(&format!("{root}/{set}/{finger}_{impression}.iso"), dpi)?;
                prepared.push(MatchTemplate::prepare(&template));
            }
        }
        let comparisons = (prepared.len() * prepared.len()) as f64;
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let start = thread_cpu_seconds();
            for a in &prepared {
                for b in &prepared {
                    let score = matcher.compare(std::hint::black_box(a.view()), b.view());
                    hash = (hash ^ score.to_bits()).wrapping_mul(0x0100_0000_01b3);
                }
            }
            times.push((thread_cpu_seconds() - start) * 1e6 / comparisons);
        }
        times.sort_by(f64::total_cmp);
        medians.push(times[rounds / 2]);
        line += &format!(" | {set} min {:.2} median {:.2} µs", times[0], times[rounds / 2]);
    }
    medians.sort_by(f64::total_cmp);
    let median = (medians[1] + medians[2]) / 2.0;
    println!(
        "{line} | median of the sets {median:.2} µs ({:.0} per second) | scores {hash:016x}",
        1e6 / median
    );
    Ok(())
}
