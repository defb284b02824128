//! Shared helpers for the core crate's unit tests.

use std::path::PathBuf;

/// A path below `../shared/` beside the repository, or `None` with a SKIPPED message where the
/// shared data is absent. (Integration tests use `ridgeline_tests::shared_path`, which the core
/// crate cannot depend on.)
pub(crate) fn shared_path(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared").join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("SKIPPED: ../shared/{relative} is absent");
        None
    }
}
