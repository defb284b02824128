"""Exceptions of the ridgeline package: one class per error kind of the engine, all under
:class:`RidgelineError`. The message is the engine's typed error message.

Where a Python caller expects a built-in class, the exception derives from it too, so
``except OSError`` catches an I/O failure and ``except ValueError`` a bad argument.
"""


class RidgelineError(Exception):
    """Base class of every error the ridgeline package raises."""


class IoError(RidgelineError, OSError):
    """An operating-system I/O error, with the file it concerned."""


class EmptyInputError(RidgelineError, ValueError):
    """The input holds no bytes at all."""


class UnsupportedImageFormatError(RidgelineError, ValueError):
    """The bytes are not an image format the engine decodes."""


class CorruptImageError(RidgelineError, ValueError):
    """The image data is damaged or cut short."""


class ImageSizeError(RidgelineError, ValueError):
    """The image is smaller or larger than accepted."""


class ResolutionError(RidgelineError, ValueError):
    """The resolution is outside what the extractor supports."""


class BufferLengthError(RidgelineError, ValueError):
    """A pixel buffer whose length does not match its dimensions."""


class TemplateMagicError(RidgelineError, ValueError):
    """Not a Ridgeline template (wrong magic number)."""


class TemplateVersionError(RidgelineError, ValueError):
    """A template format version this build does not read."""


class TemplateChecksumError(RidgelineError, ValueError):
    """The template's checksum does not match its contents."""


class CorruptTemplateError(RidgelineError, ValueError):
    """A template that is cut short or whose fields are out of range."""


class FormatError(RidgelineError, ValueError):
    """An interchange record (ISO, ANSI, WSQ, ANSI/NIST) that cannot be read."""


class InvalidArgumentError(RidgelineError, ValueError):
    """A caller-supplied argument is out of range."""


class GalleryCorruptError(RidgelineError):
    """A gallery file that is damaged or not what it claims to be."""


class GalleryVersionError(RidgelineError):
    """A gallery file written by a format version this build does not read."""


class GalleryDescriptorLayoutError(RidgelineError):
    """The gallery's match descriptors do not fit this build's matcher."""


class GalleryLockedError(RidgelineError):
    """Another writer holds the gallery's writer lock."""


class GalleryReadOnlyError(RidgelineError):
    """A write through a gallery opened read-only."""


class GalleryClosedError(RidgelineError):
    """A call on a gallery after ``close()``."""


class SubjectNotFoundError(RidgelineError, LookupError):
    """No record has this subject id."""


class AlreadyEnrolledError(RidgelineError):
    """The subject already has a record for this finger position."""


class DuplicateSubjectError(RidgelineError):
    """An enrolment whose fingers match another enrolled subject."""


class InvalidSubjectIdError(InvalidArgumentError):
    """A subject id that is empty, too long, or holds control or invisible characters."""


class SubjectExistsError(RidgelineError):
    """The subject id is enrolled already and the call does not say it updates it."""


class GalleryDamagedError(RidgelineError):
    """Committed records could not be read: the search was refused rather than answered from
    part of the gallery (pass ``allow_partial`` where offered to search what is readable)."""


class GalleryKeyError(RidgelineError):
    """The gallery is encrypted and the key is missing or another key, or a key was given for
    a gallery that is not encrypted. Nothing was decrypted."""


class GalleryRolledBackError(RidgelineError):
    """The gallery's manifest is older than its audit trail says was committed: an older copy
    was put back."""


class ManifestError(RidgelineError, ValueError):
    """A de-duplication manifest row that cannot be used."""


class CheckpointError(RidgelineError):
    """A de-duplication checkpoint that cannot be resumed."""


class DedupJobMismatchError(CheckpointError):
    """A distributed de-duplication's job folder (or a worker's view of the gallery) belongs
    to another job: other records, settings or engine version. Nothing was reused."""


class NotSupportedError(RidgelineError, NotImplementedError):
    """A feature this build does not offer (e.g. gallery encryption keys)."""


class ShardError(RidgelineError):
    """A sharded gallery whose shard list or descriptor files do not agree."""


class ShardUnavailableError(RidgelineError):
    """A shard could not answer (its actor died and did not come back in time); the search
    is not answered rather than answered from the other shards only."""


__all__ = [name for name in dir() if name.endswith("Error")]
