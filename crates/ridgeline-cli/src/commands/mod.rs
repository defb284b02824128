pub mod adjudication;
pub mod bench;
pub mod bench_curve;
pub mod bench_dedup;
pub mod bench_kernels;
pub mod bench_people;
pub mod bench_search;
pub mod capture;
pub mod compare;
pub mod convert;
pub mod decide;
pub mod dedup;
pub mod dedup_demographics;
pub mod dedup_page;
pub mod demo;
pub mod enroll;
pub mod eval;
pub mod eval_extract;
pub mod eval_interop;
pub mod eval_stress;
pub mod extract;
pub mod gallery;
pub mod identify;
pub mod link;
pub mod link_eval;
pub mod link_report;
pub mod probe_input;
pub mod readers;
pub mod remove;
pub mod synth;
pub mod synth_people;

/// The operator named on the command line or in `RIDGELINE_OPERATOR`.
static OPERATOR: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Sets the operator recorded in audit trails (once, at start-up).
pub fn set_operator(operator: Option<String>) {
    let _ = OPERATOR.set(operator);
}

/// Open options of every gallery a command opens: the operator for the audit trail.
pub fn open_options() -> ridgeline::gallery::OpenOptions {
    let options = ridgeline::gallery::OpenOptions::new();
    match OPERATOR.get().cloned().flatten() {
        Some(operator) => options.operator(operator),
        None => options,
    }
}
