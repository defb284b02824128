//! The one error type of the core crate.
//!
//! Variants carry the data a caller needs to act on the failure (which limit, which value, which
//! offset). The enum is `#[non_exhaustive]` so that new failure modes are not a breaking change.

use std::path::PathBuf;

/// Result alias used throughout the core crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error, with the file it concerned where known.
    #[error("I/O error on {path}: {source}", path = path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "<stream>".into()))]
    Io {
        /// The file concerned, if any.
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The input holds no bytes at all.
    #[error("the input is empty")]
    EmptyInput,

    /// The bytes are not an image format we decode.
    #[error("unsupported image format: {0}")]
    UnsupportedImageFormat(String),

    /// The image data is damaged or cut short.
    #[error("corrupt or truncated image: {0}")]
    CorruptImage(String),

    /// The image is smaller or larger than we accept; checked before any pixel is decoded.
    #[error(
        "image size {width}x{height} is outside the accepted {min}x{min} to {max}x{max} pixels"
    )]
    ImageSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Smallest accepted side.
        min: u32,
        /// Largest accepted side.
        max: u32,
    },

    /// The resolution is outside what the extractor supports.
    #[error("resolution {dpi} dpi is outside the supported {min}-{max} dpi")]
    Resolution {
        /// The resolution given.
        dpi: u32,
        /// Smallest supported resolution.
        min: u32,
        /// Largest supported resolution.
        max: u32,
    },

    /// A raw pixel buffer whose length does not match its stated dimensions.
    #[error("pixel buffer holds {actual} bytes, but {width}x{height} needs {expected}")]
    BufferLength {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes expected (width × height).
        expected: usize,
        /// Bytes given.
        actual: usize,
    },

    /// A template file that is not a Ridgeline template (wrong magic number).
    #[error("not a Ridgeline template: bad magic number {found:02x?}")]
    TemplateMagic {
        /// The first bytes found.
        found: Vec<u8>,
    },

    /// A template written by a format version this build does not read.
    #[error("template format version {got} is not supported (this build reads version {expected}); convert it with a matching Ridgeline release")]
    TemplateVersion {
        /// Version this build reads.
        expected: u16,
        /// Version found in the file.
        got: u16,
    },

    /// The template's checksum does not match its contents.
    #[error("template checksum mismatch: expected {expected:#010x}, computed {got:#010x}")]
    TemplateChecksum {
        /// Checksum stored in the file.
        expected: u32,
        /// Checksum of the bytes read.
        got: u32,
    },

    /// A template that is cut short or whose fields are out of range.
    #[error("corrupt template: {0}")]
    CorruptTemplate(String),

    /// An interchange record (ISO, ANSI, WSQ, ANSI/NIST) that cannot be read.
    #[error("{format}: {message} (at byte offset {offset})")]
    Format {
        /// The format being parsed.
        format: &'static str,
        /// What is wrong.
        message: String,
        /// Where in the input it went wrong.
        offset: usize,
    },

    /// A caller-supplied argument is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A gallery file that is damaged or not what it claims to be, with where it went wrong.
    #[error("gallery file {path}: {message} (at byte offset {offset})")]
    GalleryCorrupt {
        /// The file concerned.
        path: PathBuf,
        /// Byte offset of the field or record found wrong.
        offset: u64,
        /// What is wrong.
        message: String,
    },

    /// A gallery file written by a format version this build does not read.
    #[error("gallery file {path} has format version {got}; this build reads version {expected}: open it with a matching Ridgeline release and compact it, or re-enrol")]
    GalleryVersion {
        /// The file concerned.
        path: PathBuf,
        /// Version this build reads.
        expected: u16,
        /// Version found in the file.
        got: u16,
    },

    /// The gallery's prepared match descriptors do not fit this build's matcher.
    #[error("gallery descriptors are format {got_version} with {got_len} bytes per record; this build's matcher needs format {expected_version} with {expected_len} bytes: rebuild the gallery from its templates")]
    GalleryDescriptorLayout {
        /// Descriptor format version this build uses.
        expected_version: u16,
        /// Descriptor record length this build uses.
        expected_len: u32,
        /// Descriptor format version in the gallery.
        got_version: u16,
        /// Descriptor record length in the gallery.
        got_len: u32,
    },

    /// Another process (or another handle in this one) holds the gallery's writer lock.
    #[error("gallery {path} is locked by another writer ({holder}); only one writer at a time")]
    GalleryLocked {
        /// The lock file.
        path: PathBuf,
        /// What the lock file says about its holder (process id), as far as known.
        holder: String,
    },

    /// A search, check or rewrite could not read every committed record: a segment is
    /// missing, truncated or damaged, or records fail their checksums. Nothing partial is
    /// answered unless the caller asked for it.
    #[error("gallery damaged: {skipped} committed record(s) cannot be read ({detail}); run `gallery verify`, and `gallery compact --drop-damaged` to keep the rest, or re-enrol them")]
    GalleryDamaged {
        /// Committed records that cannot be read.
        skipped: usize,
        /// The first problem found.
        detail: String,
    },

    /// A template with too few minutiae to be told apart from others: a record made of it
    /// would match strangers or never match its owner.
    #[error("the template holds {found} minutiae, fewer than the {min} a record needs; capture the finger again")]
    TooFewMinutiae {
        /// Minutiae in the template.
        found: usize,
        /// The least a record needs.
        min: usize,
    },

    /// An input file larger than any fingerprint image or template Ridgeline reads (or one
    /// that never ends, like `/dev/zero`); refused before it is read into memory.
    #[error("{path}: larger than the {limit} bytes an input may have")]
    InputTooLarge {
        /// The file.
        path: PathBuf,
        /// The most bytes an input may have.
        limit: u64,
    },

    /// The gallery's audit trail cannot be appended to or is not one: the operation is not
    /// carried out (or, where the message says so, carried out but not recorded).
    #[error("audit trail {path}: {message}")]
    AuditTrail {
        /// The trail's file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },

    /// The gallery's encryption key is missing or wrong, or a key was given for a gallery
    /// that is not encrypted. Nothing is decrypted with a wrong key: no garbage results.
    #[error("gallery file {path}: {message}")]
    GalleryKey {
        /// The file whose key id did not fit.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// The manifest is older than the audit trail shows was committed: an older manifest was
    /// put back in place of the current one (a replay or a restored backup).
    #[error("gallery manifest {path} is generation {manifest}, but the audit trail records generation {audited} as committed: an older manifest was put back (rollback); restore the current manifest, or examine the gallery before trusting it")]
    GalleryRolledBack {
        /// The manifest file.
        path: PathBuf,
        /// Its generation.
        manifest: u64,
        /// The last generation the audit trail records as committed.
        audited: u64,
    },

    /// A write was attempted through a gallery opened read-only.
    #[error("gallery {path} is open read-only")]
    GalleryReadOnly {
        /// The gallery folder.
        path: PathBuf,
    },

    /// No record in the gallery has this subject id.
    #[error("subject {subject_id:?} is not enrolled")]
    SubjectNotFound {
        /// The subject id looked for.
        subject_id: String,
    },

    /// The subject already has a record for this finger position.
    #[error("subject {subject_id:?} already has finger {finger} enrolled")]
    AlreadyEnrolled {
        /// The subject id.
        subject_id: String,
        /// The finger position (ISO/IEC 19794-2, 0–10).
        finger: u8,
    },

    /// A subject id that cannot be used (see `crate::people::subject_id`).
    #[error("subject id {id:?} is refused: {problem}")]
    InvalidSubjectId {
        /// The id as given.
        id: String,
        /// What is wrong with it.
        problem: SubjectIdProblem,
    },

    /// An enrolment under an id that is already enrolled, without saying it updates it.
    #[error("subject {subject_id:?} is already enrolled; enrol it as an update to add fingers or replace a re-captured one")]
    SubjectExists {
        /// The subject id.
        subject_id: String,
    },

    /// An enrolment whose fingers match another enrolled subject at the per-search false match
    /// rate: one person, one record.
    #[error("the person enrolled as {subject_id:?} is already enrolled as {existing:?} (fused false match rate {fmr:.1e}, a match needs {threshold:.1e}); update {existing:?} instead")]
    DuplicatePerson {
        /// The id the enrolment asked for.
        subject_id: String,
        /// The enrolled subject the fingers match.
        existing: String,
        /// The fused false match rate of the match.
        fmr: f64,
        /// The per-comparison rate a match needed (per-search rate / subjects searched).
        threshold: f64,
    },

    /// A de-duplication manifest row that cannot be used.
    #[error("manifest line {line}: {message}")]
    Manifest {
        /// 1-based line number (0 for the file as a whole).
        line: usize,
        /// What is wrong.
        message: String,
    },

    /// A de-duplication checkpoint that cannot be resumed.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong, and how to proceed.
        message: String,
    },
}

impl Error {
    /// Wraps an I/O error together with the file it concerned.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: Some(path.into()), source }
    }
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io { path: None, source }
    }
}

/// Why a subject id is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubjectIdProblem {
    /// Nothing left after trimming.
    Empty,
    /// Longer than the gallery's limit after normalisation.
    TooLong {
        /// Bytes of UTF-8 after normalisation.
        bytes: usize,
        /// The most bytes an id may have (`MAX_SUBJECT_ID_LEN`).
        max: usize,
    },
    /// A control character (C0, DEL or C1).
    Control {
        /// The code point.
        code_point: u32,
    },
    /// An invisible or format character (zero-width, bidirectional control, BOM inside, …).
    Invisible {
        /// The code point.
        code_point: u32,
    },
    /// White space other than U+0020 inside the id, or a line or paragraph separator.
    Space {
        /// The code point.
        code_point: u32,
    },
    /// A private-use code point or a non-character.
    NotText {
        /// The code point.
        code_point: u32,
    },
}

impl std::fmt::Display for SubjectIdProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            SubjectIdProblem::Empty => write!(f, "it is empty"),
            SubjectIdProblem::TooLong { bytes, max } => {
                write!(f, "it is {bytes} bytes long, at most {max}")
            }
            SubjectIdProblem::Control { code_point } => {
                write!(f, "it holds the control character U+{code_point:04X}")
            }
            SubjectIdProblem::Invisible { code_point } => {
                write!(f, "it holds the invisible character U+{code_point:04X}")
            }
            SubjectIdProblem::Space { code_point } => {
                write!(
                    f,
                    "it holds the space character U+{code_point:04X} (only U+0020 is allowed)"
                )
            }
            SubjectIdProblem::NotText { code_point } => {
                write!(f, "it holds U+{code_point:04X}, a private-use code point or non-character")
            }
        }
    }
}
