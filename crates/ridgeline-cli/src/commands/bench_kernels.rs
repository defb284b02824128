//! `ridgeline bench kernels [--fingers N] [--seed S] [--seconds T] [--json]`
//!
//! Times every SIMD kernel family this CPU supports on the two hot loops: the coarse score of
//! 1:N search (probe against every record) and the precise comparison of prepared templates
//! (the matcher's cost per candidate, what de-duplication and exhaustive search spend their
//! time on). Each figure is thread CPU time on one core, so a busy machine slows it less than
//! wall time would; each kernel's scores are checked equal to the portable kernel's.

use anyhow::Context;
use ridgeline::cpu::{self, Kernel};
use ridgeline::matcher::coarse::{coarse_score_with, Coarse};
use ridgeline::matcher::{MatchTemplate, Matcher};
use ridgeline_synth::templates::{TemplateConfig, TemplateMaster};

/// Arguments of `ridgeline bench kernels`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Synthetic fingers: two impressions each are prepared, so every probe has a mate.
    #[arg(long, default_value_t = 200)]
    pub fingers: u64,
    /// Seed of the synthetic population.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// CPU seconds each timing runs for at least.
    #[arg(long, default_value_t = 0.5)]
    pub seconds: f64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// CPU time of the calling thread, in seconds.
fn thread_cpu_seconds() -> anyhow::Result<f64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux defines.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    anyhow::ensure!(rc == 0, "cannot read the thread's CPU time");
    Ok(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

/// Runs `work` until it has used at least `min_seconds` of CPU; returns seconds per call.
fn time_per_call(min_seconds: f64, mut work: impl FnMut() -> f64) -> anyhow::Result<(f64, f64)> {
    let start = thread_cpu_seconds()?;
    let (mut calls, mut checksum) = (0u64, 0.0);
    loop {
        checksum += std::hint::black_box(work());
        calls += 1;
        let used = thread_cpu_seconds()? - start;
        if used >= min_seconds {
            return Ok((used / calls as f64, checksum / calls as f64));
        }
    }
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.fingers >= 2, "--fingers must be at least 2");
    anyhow::ensure!(
        args.seconds.is_finite() && args.seconds > 0.0,
        "--seconds must be a positive number"
    );
    let config = TemplateConfig::default();
    let prepared: Vec<MatchTemplate> = (1..=args.fingers)
        .flat_map(|f| {
            let master = TemplateMaster::generate(args.seed, f, &config);
            [1, 2].map(|k| MatchTemplate::prepare(&master.impression(args.seed, f, k, &config)))
        })
        .collect();
    let coarse: Vec<Coarse> = prepared.iter().map(|p| Coarse::of(p.view())).collect();
    let words: Vec<&[u64]> = coarse.iter().map(Coarse::words).collect();
    // Probes: impression 2 of the first fingers; candidates: every prepared template.
    let probes: Vec<usize> =
        (0..prepared.len().min(40)).map(|k| 2 * (k % args.fingers as usize) + 1).collect();

    let scores_of = |kernel: Kernel| -> (Vec<u32>, Vec<u64>) {
        let matcher = Matcher::with_kernel(kernel);
        let coarse_bits = probes
            .iter()
            .flat_map(|&p| words.iter().map(move |w| (p, w)))
            .map(|(p, w)| coarse_score_with(kernel, &coarse[p], w).to_bits())
            .collect();
        let precise_bits = probes
            .iter()
            .take(4)
            .flat_map(|&p| prepared.iter().map(move |c| (p, c)))
            .map(|(p, c)| matcher.compare(prepared[p].view(), c.view()).to_bits())
            .collect();
        (coarse_bits, precise_bits)
    };
    let reference = scores_of(Kernel::Portable);

    let mut rows = Vec::new();
    for kernel in cpu::supported() {
        let identical = scores_of(kernel) == reference;
        let matcher = Matcher::with_kernel(kernel);
        let (coarse_s, _) = time_per_call(args.seconds, || {
            probes
                .iter()
                .map(|&p| {
                    words
                        .iter()
                        .map(|w| f64::from(coarse_score_with(kernel, &coarse[p], w)))
                        .sum::<f64>()
                })
                .sum()
        })
        .context("timing the coarse score")?;
        let coarse_ns = 1e9 * coarse_s / (probes.len() * words.len()) as f64;
        let (compare_s, _) = time_per_call(args.seconds, || {
            probes
                .iter()
                .take(4)
                .map(|&p| {
                    prepared
                        .iter()
                        .map(|c| matcher.compare(prepared[p].view(), c.view()))
                        .sum::<f64>()
                })
                .sum()
        })
        .context("timing the precise comparison")?;
        let compare_us = 1e6 * compare_s / (4 * prepared.len()) as f64;
        rows.push(serde_json::json!({
            "kernel": kernel.name(),
            "identical_to_portable": identical,
            "coarse_ns_per_record": coarse_ns,
            "coarse_records_per_s_per_core": 1e9 / coarse_ns,
            "compare_us": compare_us,
            "comparisons_per_s_per_core": 1e6 / compare_us,
        }));
        anyhow::ensure!(
            identical,
            "the {kernel} kernel's scores differ from the portable kernel's"
        );
    }
    let report = serde_json::json!({
        "cpu": crate::cpu_report::cpu_report(),
        "templates": prepared.len(),
        "probes": probes.len(),
        "kernels": rows,
    });
    if args.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
