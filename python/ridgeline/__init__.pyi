"""Type stubs of the ridgeline package (the compiled part lives in ridgeline._native)."""

from os import PathLike
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from ridgeline._errors import (
    AlreadyEnrolledError as AlreadyEnrolledError,
    BufferLengthError as BufferLengthError,
    CheckpointError as CheckpointError,
    CorruptImageError as CorruptImageError,
    CorruptTemplateError as CorruptTemplateError,
    DedupJobMismatchError as DedupJobMismatchError,
    DuplicateSubjectError as DuplicateSubjectError,
    EmptyInputError as EmptyInputError,
    FormatError as FormatError,
    GalleryClosedError as GalleryClosedError,
    GalleryCorruptError as GalleryCorruptError,
    GalleryDamagedError as GalleryDamagedError,
    GalleryDescriptorLayoutError as GalleryDescriptorLayoutError,
    GalleryKeyError as GalleryKeyError,
    GalleryLockedError as GalleryLockedError,
    GalleryReadOnlyError as GalleryReadOnlyError,
    GalleryRolledBackError as GalleryRolledBackError,
    GalleryVersionError as GalleryVersionError,
    ImageSizeError as ImageSizeError,
    InvalidArgumentError as InvalidArgumentError,
    InvalidSubjectIdError as InvalidSubjectIdError,
    IoError as IoError,
    ManifestError as ManifestError,
    NotSupportedError as NotSupportedError,
    ResolutionError as ResolutionError,
    RidgelineError as RidgelineError,
    ShardError as ShardError,
    ShardUnavailableError as ShardUnavailableError,
    SubjectExistsError as SubjectExistsError,
    SubjectNotFoundError as SubjectNotFoundError,
    TemplateChecksumError as TemplateChecksumError,
    TemplateMagicError as TemplateMagicError,
    TemplateVersionError as TemplateVersionError,
    UnsupportedImageFormatError as UnsupportedImageFormatError,
)

__version__: str

#: ``Template.minutiae["kind"]`` of a ridge ending.
KIND_ENDING: int
#: ``Template.minutiae["kind"]`` of a bifurcation.
KIND_BIFURCATION: int

StrPath = Union[str, PathLike[str]]

class FingerImage:
    """An 8-bit grayscale fingerprint image with its resolution."""

    @staticmethod
    def open(path: StrPath, dpi: Optional[int] = None) -> FingerImage:
        """Reads and decodes an image file (PNG, TIFF, BMP, JPEG, PNM, WSQ); ``dpi`` for files
        that carry no resolution."""
    @staticmethod
    def from_array(pixels: npt.NDArray[np.uint8], dpi: int) -> FingerImage:
        """An image from a 2-D uint8 array (rows × columns) at ``dpi`` dots per inch."""
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def dpi(self) -> int: ...
    def to_array(self) -> npt.NDArray[np.uint8]:
        """The pixels as a new (height, width) uint8 array."""

class Template:
    """A minutiae template of one finger impression (picklable)."""

    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def dpi(self) -> int: ...
    @property
    def quality(self) -> int:
        """Overall image quality 0–100."""
    @property
    def minutiae(self) -> np.ndarray:
        """Structured array: x, y (float32, pixels, y down), angle (float32, radians,
        counter-clockwise from +x), kind (uint8: KIND_ENDING, KIND_BIFURCATION), quality
        (uint8, 0–100)."""
    def to_iso(self, version: str = "2005") -> bytes:
        """ISO/IEC 19794-2 record, version "2005" or "2011"."""
    def to_ansi(self, version: str = "2004") -> bytes:
        """ANSI INCITS 378 record, version "2004" or "2009"."""
    def to_bytes(self) -> bytes:
        """Ridgeline's native template bytes (lossless)."""
    @staticmethod
    def from_bytes(data: bytes) -> Template:
        """Reads native, ISO/IEC 19794-2 or ANSI INCITS 378 bytes (format detected)."""
    @staticmethod
    def load(path: StrPath) -> Template:
        """Reads a template file of any format ``from_bytes`` reads."""
    def __len__(self) -> int: ...

Fingers = Union[Template, Mapping[int, Template]]

class FingerEvidence:
    """One probe finger's evidence for a candidate subject: its best-matching record."""

    @property
    def probe_finger(self) -> int:
        """The probe's finger position."""
    @property
    def finger(self) -> int:
        """Finger position of the subject's best-matching record."""
    @property
    def score(self) -> float:
        """Matcher score of that record."""
    @property
    def fmr(self) -> float:
        """False match rate of this evidence (best of the subject's comparable records)."""

class Candidate:
    """One candidate subject of an identification."""

    @property
    def id(self) -> str: ...
    @property
    def finger(self) -> int:
        """Finger position of the strongest evidence."""
    @property
    def score(self) -> float:
        """Fused score on the matcher's calibrated scale (one comparison's own score when one
        comparison is the evidence)."""
    @property
    def fmr(self) -> float:
        """Fused false match rate of the evidence."""
    @property
    def fingers(self) -> List[FingerEvidence]:
        """Evidence per probe finger the subject has a comparable record for."""

class Identification:
    """The outcome of identifying a person (the core's person-level search and decision)."""

    @property
    def candidates(self) -> List[Candidate]:
        """Candidate subjects, best first (lowest fused false match rate)."""
    @property
    def matched(self) -> Optional[str]:
        """The best candidate if its fused rate is at most fmr_threshold, or None."""
    @property
    def searched(self) -> int:
        """Subjects searched (holding a record some probe finger is compared with)."""
    @property
    def records_searched(self) -> int:
        """Records eligible over all the per-finger searches."""
    @property
    def compared(self) -> int: ...
    @property
    def escalated(self) -> bool: ...
    @property
    def subjects(self) -> List[Tuple[str, float]]:
        """(subject id, fused false match rate) per candidate, best first."""
    @property
    def fmr_per_search(self) -> float: ...
    @property
    def fmr_threshold(self) -> float:
        """The fused rate a match needs: fmr_per_search / searched."""
    @property
    def match_threshold(self) -> float:
        """The fused score a match needs."""
    @property
    def skipped_records(self) -> int: ...
    def duplicate_of(self, id: str) -> Optional[str]:
        """The best matching candidate other than ``id``: whom an enrolment as ``id`` would
        register a second time."""

class Gallery:
    """An on-disk gallery of enrolled fingerprints, searched 1:N."""

    @staticmethod
    def create(dir: StrPath, key: Optional[bytes] = None, operator: Optional[str] = None) -> Gallery:
        """Creates an empty gallery and opens it writable; with ``key`` (32 raw bytes, or 64
        hexadecimal characters) the gallery is encrypted at rest; ``operator`` is recorded in
        the gallery's audit trail with every enrolment, search and removal made through this
        object."""
    @staticmethod
    def open(
        dir: StrPath,
        key: Optional[bytes] = None,
        operator: Optional[str] = None,
        read_only: bool = False,
    ) -> Gallery:
        """Opens a gallery writable (one writer) or read-only; an encrypted gallery needs its
        ``key`` (GalleryKeyError without it, with another key, or with a key for a clear
        gallery)."""
    @property
    def path(self) -> str: ...
    @property
    def operator(self) -> Optional[str]: ...
    def enroll(
        self, id: str, fingers: Fingers, *, check_duplicate: bool = True, fmr_per_search: float = 1e-4
    ) -> int:
        """Enrols one subject's fingers with one commit; refuses a duplicate person."""
    def enroll_many(self, records: Iterable[Tuple[str, Fingers]]) -> int:
        """Enrols many subjects with one commit (no duplicate-person check)."""
    def remove(self, id: str) -> int:
        """Deletes every record of a subject; returns how many."""
    def get(self, id: str) -> Dict[int, Template]:
        """The enrolled fingers of a subject."""
    def identify(
        self, fingers: Fingers, top: int = 5, fmr_per_search: float = 1e-4, *, exhaustive: bool = False
    ) -> Identification:
        """Identifies a person from one or several fingers."""
    def stats(self) -> Dict[str, int]: ...
    def verify(self) -> Dict[str, Any]: ...
    def compact(self) -> Dict[str, Any]: ...
    def dedup(
        self,
        fmr: float = 1e-4,
        *,
        exhaustive: bool = False,
        candidates: int = 64,
        checkpoint: Optional[StrPath] = None,
        resume: bool = False,
        html: Optional[StrPath] = None,
    ) -> Dict[str, Any]:
        """The ``ridgeline dedup`` report of this gallery, as a dict; ``html``: also write the
        clerk's adjudication page there."""
    def close(self) -> None: ...
    def __len__(self) -> int: ...
    def __enter__(self) -> Gallery: ...
    def __exit__(self, *args: object) -> bool: ...

def extract(image: FingerImage) -> Template:
    """Extracts the minutiae template of an image."""

def compare(a: Template, b: Template) -> float:
    """Similarity score of two templates (higher is more similar)."""

def threshold_for_fmr(fmr: float) -> float:
    """Score threshold at a false match rate per comparison."""

def fmr_for_score(score: float) -> float:
    """Estimated false match rate of a score."""

def synthetic_template(seed: int, finger: int, impression: int = 0) -> Template:
    """A deterministic synthetic template (tests, benchmarks)."""

def dedup(gallery: Union[Gallery, StrPath], fmr: float = 1e-4, **options: Any) -> Dict[str, Any]:
    """The ``ridgeline dedup`` report of a gallery, as a dict."""
