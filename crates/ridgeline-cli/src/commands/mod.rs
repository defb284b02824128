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
pub mod demo;
pub mod enroll;
pub mod eval;
pub mod eval_diff;
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

/// The gallery key of `--key-file` or `RIDGELINE_KEY_FILE`.
static KEY: std::sync::OnceLock<Option<ridgeline::gallery::GalleryKey>> =
    std::sync::OnceLock::new();

/// Reads the gallery key file, if one is named (once, at start-up).
pub fn load_key(file: Option<&std::path::Path>) -> anyhow::Result<()> {
    use anyhow::Context;
    let key = match file {
        Some(f) => Some(
            ridgeline::gallery::GalleryKey::read_file(f)
                .with_context(|| format!("cannot read the key file {}", f.display()))?,
        ),
        None => None,
    };
    let _ = KEY.set(key);
    Ok(())
}

/// The gallery key named on the command line or in the environment.
pub fn key() -> Option<ridgeline::gallery::GalleryKey> {
    KEY.get().cloned().flatten()
}

/// Open options of every gallery a command opens: the operator for the audit trail and the
/// gallery key.
pub fn open_options() -> ridgeline::gallery::OpenOptions {
    let options = ridgeline::gallery::OpenOptions::new().key_opt(key());
    match OPERATOR.get().cloned().flatten() {
        Some(operator) => options.operator(operator),
        None => options,
    }
}
