//! The errors of report building and writing.

use std::path::PathBuf;

/// Why a report could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The JSON report lacks a part the page needs (the message says which).
    #[error("{0}")]
    MalformedReport(String),
    /// Two groups of a page share an id: the decisions file names groups by id, so a
    /// decision would be ambiguous.
    #[error("two clusters share the id {0:?}")]
    DuplicateClusterId(String),
    /// The report file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// The result of report building.
pub type Result<T, E = ReportError> = std::result::Result<T, E>;
