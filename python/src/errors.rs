//! Core errors as Python exceptions: one class per [`ridgeline::Error`] kind, all under
//! `ridgeline.RidgelineError`, with the typed error's message.
//!
//! The classes are defined in Python (`ridgeline/_errors.py`), where an exception can also
//! derive from the built-in class a Python caller expects (`OSError` for I/O, `ValueError` for
//! bad input, `LookupError` for an unknown subject). This module only picks the class by name.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use ridgeline::Error;

/// The Python class name of an error kind.
pub fn class_name(error: &Error) -> &'static str {
    match error {
        Error::Io { .. } => "IoError",
        Error::EmptyInput => "EmptyInputError",
        Error::UnsupportedImageFormat(_) => "UnsupportedImageFormatError",
        Error::CorruptImage(_) => "CorruptImageError",
        Error::ImageSize { .. } => "ImageSizeError",
        Error::Resolution { .. } => "ResolutionError",
        Error::BufferLength { .. } => "BufferLengthError",
        Error::TemplateMagic { .. } => "TemplateMagicError",
        Error::TemplateVersion { .. } => "TemplateVersionError",
        Error::TemplateChecksum { .. } => "TemplateChecksumError",
        Error::CorruptTemplate(_) => "CorruptTemplateError",
        Error::Format { .. } => "FormatError",
        Error::InvalidArgument(_) => "InvalidArgumentError",
        Error::GalleryCorrupt { .. } => "GalleryCorruptError",
        Error::GalleryVersion { .. } => "GalleryVersionError",
        Error::GalleryDescriptorLayout { .. } => "GalleryDescriptorLayoutError",
        Error::GalleryLocked { .. } => "GalleryLockedError",
        Error::GalleryReadOnly { .. } => "GalleryReadOnlyError",
        Error::SubjectNotFound { .. } => "SubjectNotFoundError",
        Error::AlreadyEnrolled { .. } => "AlreadyEnrolledError",
        Error::Manifest { .. } => "ManifestError",
        Error::Checkpoint { .. } => "CheckpointError",
        Error::InvalidSubjectId { .. } => "InvalidSubjectIdError",
        Error::SubjectExists { .. } => "SubjectExistsError",
        Error::DuplicatePerson { .. } => "DuplicateSubjectError",
        Error::GalleryDamaged { .. } => "GalleryDamagedError",
        Error::GalleryKey { .. } => "GalleryKeyError",
        Error::GalleryRolledBack { .. } => "GalleryRolledBackError",
        // A kind added to the core later than these bindings: the common base class.
        _ => "RidgelineError",
    }
}

/// The Python exception `name` from `ridgeline._errors` with `message`.
pub fn named(py: Python<'_>, name: &str, message: String) -> PyErr {
    let made = py
        .import("ridgeline._errors")
        .and_then(|m| m.getattr(name))
        .and_then(|class| class.call1((message.clone(),)));
    match made {
        Ok(instance) => PyErr::from_value(instance),
        // The package's Python half is missing (the extension imported on its own): still a
        // Python exception with the message, never a panic.
        Err(_) => PyRuntimeError::new_err(message),
    }
}

/// Converts a core error.
pub fn to_py(py: Python<'_>, error: Error) -> PyErr {
    named(py, class_name(&error), error.to_string())
}

/// `InvalidArgumentError` with `message`.
pub fn invalid(py: Python<'_>, message: impl Into<String>) -> PyErr {
    to_py(py, Error::InvalidArgument(message.into()))
}

/// The core error a report error is raised as: `IoError` for a file that cannot be written,
/// `InvalidArgumentError` for a report the page cannot show (e.g. record ids that make two
/// groups' ids equal).
pub fn from_report(error: ridgeline_report::ReportError) -> Error {
    match error {
        ridgeline_report::ReportError::Write { path, source } => {
            Error::Io { path: Some(path), source }
        }
        other => Error::InvalidArgument(other.to_string()),
    }
}

/// `.py(py)?` on a core result.
pub trait IntoPy<T> {
    /// Converts the error to its Python exception.
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for ridgeline::Result<T> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
