//! End-to-end tests across crates, and helpers to find the shared data.
//!
//! Tests read real data through `../shared/` beside the repository and skip, saying so, where
//! it is absent.

use std::path::PathBuf;

/// The `shared/` folder beside the repository root, if present.
pub fn shared_dir() -> Option<PathBuf> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = repo.join("../shared");
    shared.is_dir().then(|| shared.canonicalize().unwrap_or(shared))
}

/// A path below `shared/`, or `None` with a message on stderr saying the test is skipped.
pub fn shared_path(relative: &str) -> Option<PathBuf> {
    match shared_dir().map(|d| d.join(relative)) {
        Some(p) if p.exists() => Some(p),
        _ => {
            eprintln!("SKIPPED: ../shared/{relative} is absent; this test needs the shared data beside the repository");
            None
        }
    }
}
