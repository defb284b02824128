//! Errors of the linkage library.

use std::path::PathBuf;

/// Result of the linkage library.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong reading, preparing or linking identity records.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A CSV line could not be split into fields.
    #[error("{path}, line {line}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A column map (`canonical=column,...`) is malformed or names an unknown field.
    #[error("column map {map:?}: {message}")]
    ColumnMap {
        /// The map as given.
        map: String,
        /// What is wrong.
        message: String,
    },
    /// A column the map (or the default names) requires is not in the file's header.
    #[error("{path}: no column {column:?} for the field {field} (header: {header})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The canonical field.
        field: &'static str,
        /// The column name looked for.
        column: String,
        /// The header as read.
        header: String,
    },
    /// Two rows of one record carry different demographic values.
    #[error("{path}, line {line}: record {record_id:?} repeats with a different {field}")]
    InconsistentRecord {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The record.
        record_id: String,
        /// The field that differs.
        field: &'static str,
    },
    /// A parameter is out of its range.
    #[error("invalid parameter {name}: {message}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The inputs leave nothing to estimate the model from.
    #[error("cannot estimate the linkage model: {0}")]
    Estimation(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}
