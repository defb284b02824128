//! The one error type of the synthesis crate.

use std::path::PathBuf;

/// Result alias used throughout the synthesis crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while synthesizing fingerprints or reading a template pack.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of its accepted range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// An operating-system I/O error, with the file it concerned.
    #[error("I/O error on {path}: {source}", path = path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// An error of the core crate (image or template encoding).
    #[error(transparent)]
    Core(#[from] ridgeline::Error),

    /// A PNG that could not be encoded.
    #[error("cannot encode PNG: {0}")]
    Png(String),

    /// A file that is not a template pack (wrong magic number).
    #[error("not a Ridgeline template pack: bad magic number {found:02x?}")]
    PackMagic {
        /// The first bytes found.
        found: Vec<u8>,
    },

    /// A template pack written by a format version this build does not read.
    #[error("template pack version {got} is not supported (this build reads version {expected}); regenerate it with `ridgeline synth --templates-only`")]
    PackVersion {
        /// Version this build reads.
        expected: u16,
        /// Version found in the file.
        got: u16,
    },

    /// The pack's index checksum does not match its contents.
    #[error(
        "template pack index checksum mismatch: expected {expected:#010x}, computed {got:#010x}"
    )]
    PackChecksum {
        /// Checksum stored in the header.
        expected: u32,
        /// Checksum of the index read.
        got: u32,
    },

    /// A template pack that is cut short or whose fields are inconsistent.
    #[error("corrupt template pack: {0}")]
    CorruptPack(String),

    /// A finger or impression number outside the pack or data set.
    #[error(
        "finger {finger} impression {impression} is outside 1..={fingers} x 1..={impressions}"
    )]
    OutOfRange {
        /// Finger asked for (from 1).
        finger: u64,
        /// Impression asked for (from 1).
        impression: u32,
        /// Fingers available.
        fingers: u64,
        /// Impressions per finger available.
        impressions: u32,
    },
}

impl Error {
    /// Wraps an I/O error together with the file it concerned.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}
