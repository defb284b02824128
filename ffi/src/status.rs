//! Status codes returned by every fallible function, and how Rust errors map onto them.

/// Status of a call: [`RL_OK`] (0) or one of the `RL_ERR_*` codes.
pub type rl_status = i32;

/// Success.
pub const RL_OK: rl_status = 0;
/// A null pointer, an invalid or freed handle, or an out-of-range argument.
pub const RL_ERR_INVALID_ARGUMENT: rl_status = 1;
/// The operating system refused a file operation (missing file, permissions, full disk).
pub const RL_ERR_IO: rl_status = 2;
/// Bytes that are not a valid image or template (corrupt, truncated, wrong version).
pub const RL_ERR_FORMAT: rl_status = 3;
/// The requested record does not exist (for example removing an id that is not enrolled).
pub const RL_ERR_NOT_FOUND: rl_status = 4;
/// The operation did not complete in the time given (no finger on the reader).
pub const RL_ERR_TIMEOUT: rl_status = 5;
/// No supported fingerprint reader is attached, or it was unplugged.
pub const RL_ERR_NO_DEVICE: rl_status = 6;
/// The image is too poor to extract a usable template; ask for a re-take.
pub const RL_ERR_LOW_QUALITY: rl_status = 7;
/// A bug in Ridgeline (including a caught panic); please report it with the message.
pub const RL_ERR_INTERNAL: rl_status = 8;
/// The operation was cancelled from another thread (`rl_reader_cancel`).
pub const RL_ERR_CANCELLED: rl_status = 9;
/// The resource is in use: a gallery already opened for writing by another process.
pub const RL_ERR_BUSY: rl_status = 10;
/// Access denied: the reader's device node or a gallery file is not accessible to this user.
pub const RL_ERR_PERMISSION_DENIED: rl_status = 11;
/// The gallery was opened read-only and the call needs write access.
pub const RL_ERR_READ_ONLY: rl_status = 12;
/// One record per person: the prints match another enrolled subject (the message names it),
/// or the id is enrolled and the call does not say it updates it.
pub const RL_ERR_DUPLICATE: rl_status = 15;
/// The gallery is encrypted and the key is missing or wrong, or a key was given for a gallery
/// that is not encrypted (`rl_open_options.key`). Nothing was decrypted with a wrong key.
pub const RL_ERR_KEY: rl_status = 16;

/// The gallery cannot read every committed record (a segment missing, truncated or damaged,
/// or records failing their checksums): the search was refused rather than answered from part
/// of the gallery. Open with `RL_OPEN_ALLOW_PARTIAL` to search what is readable.
pub const RL_ERR_DAMAGED: rl_status = 13;
/// Not an error: the search ran on a gallery opened with `RL_OPEN_ALLOW_PARTIAL` and skipped
/// records it could not read; the outputs are filled, and `rl_last_error_message` says how
/// many records were skipped. Treat a "no match" as unreliable.
pub const RL_PARTIAL: rl_status = 14;

/// An error on its way to C: a status code and the message kept for `rl_last_error_message`.
#[derive(Debug)]
pub(crate) struct FfiError {
    pub(crate) status: rl_status,
    pub(crate) message: String,
}

impl FfiError {
    pub(crate) fn new(status: rl_status, message: impl Into<String>) -> Self {
        FfiError { status, message: message.into() }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(RL_ERR_INVALID_ARGUMENT, message)
    }
}

impl FfiError {
    /// The status a core-library error maps to.
    pub(crate) fn from_core_status(error: &ridgeline::Error) -> rl_status {
        use ridgeline::Error as E;
        match error {
            E::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                RL_ERR_PERMISSION_DENIED
            }
            E::Io { .. } => RL_ERR_IO,
            E::InvalidArgument(_)
            | E::ImageSize { .. }
            | E::Resolution { .. }
            | E::BufferLength { .. } => RL_ERR_INVALID_ARGUMENT,
            E::EmptyInput
            | E::UnsupportedImageFormat(_)
            | E::CorruptImage(_)
            | E::TemplateMagic { .. }
            | E::TemplateVersion { .. }
            | E::TemplateChecksum { .. }
            | E::CorruptTemplate(_)
            | E::Format { .. } => RL_ERR_FORMAT,
            E::TooFewMinutiae { .. } => RL_ERR_LOW_QUALITY,
            E::GalleryDamaged { .. } => RL_ERR_DAMAGED,
            _ => RL_ERR_INTERNAL,
        }
    }
}

impl From<ridgeline::Error> for FfiError {
    fn from(error: ridgeline::Error) -> Self {
        FfiError::new(FfiError::from_core_status(&error), error.to_string())
    }
}
