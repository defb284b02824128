//! What `verify` reports of a damaged gallery file: shared by every file kind the gallery
//! writes (segments, coarse sidecars, the manifest).

use std::path::PathBuf;

/// One integrity problem found by `verify`: which file, where, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The damaged file.
    pub path: PathBuf,
    /// Byte offset of the damaged field or record.
    pub offset: u64,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}: {}", self.path.display(), self.offset, self.message)
    }
}
