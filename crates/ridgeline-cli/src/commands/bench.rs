//! `ridgeline bench ...`: throughput figures. Each benchmark is its own subcommand and file.

/// Arguments of `ridgeline bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

/// Which benchmark.
#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// 1:N identification on a synthetic gallery: latency, rank-1 rate, open time, sizes.
    Search(super::bench_search::Args),
    /// N:N de-duplication of a synthetic population with planted duplicates.
    Dedup(super::bench_dedup::Args),
    /// Search time against gallery size, drawn from `bench search --json` reports.
    Curve(super::bench_curve::Args),
    /// CPU time per coarse score and per comparison for every kernel family this CPU supports.
    Kernels(super::bench_kernels::Args),
    /// Person-level decisions on synthetic people: FNIR with one finger against several, FPIR.
    People(super::bench_people::Args),
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.what {
        What::Search(a) => super::bench_search::run(a),
        What::Dedup(a) => super::bench_dedup::run(a),
        What::Curve(a) => super::bench_curve::run(a),
        What::Kernels(a) => super::bench_kernels::run(a),
        What::People(a) => super::bench_people::run(a),
    }
}

/// The CPU a figure came from, for every benchmark report: its model name, the features the
/// kernels look for, the kernel family this run used and every family it supports.
pub fn cpu_report() -> serde_json::Value {
    use ridgeline::cpu;
    let model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, name)| name.trim().to_string())
    });
    serde_json::json!({
        "model": model,
        "features": cpu::features(),
        "kernel": cpu::kernel().name(),
        "supported_kernels": cpu::supported().iter().map(|k| k.name()).collect::<Vec<_>>(),
    })
}

/// Refuses a `RIDGELINE_KERNEL` that names no kernel family or one this CPU cannot run, so that
/// a forced measurement never silently runs another kernel.
pub fn check_kernel_request() -> anyhow::Result<()> {
    use ridgeline::cpu::{self, Request, KERNEL_VARIABLE};
    let supported = || cpu::supported().iter().map(|k| k.name()).collect::<Vec<_>>().join(", ");
    match cpu::requested() {
        Some(Request::Unknown(value)) => anyhow::bail!(
            "{KERNEL_VARIABLE}={value:?} names no kernel; this CPU supports: {}",
            supported()
        ),
        Some(Request::Unsupported(kernel)) => anyhow::bail!(
            "{KERNEL_VARIABLE}={kernel}: this CPU does not support it; it supports: {}",
            supported()
        ),
        Some(Request::Honoured(_)) | None => Ok(()),
    }
}
