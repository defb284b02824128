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
