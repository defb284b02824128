"""Ridgeline: fingerprint identification.

Extraction, 1:1 comparison with calibrated scores, 1:N identification in an on-disk gallery,
and de-duplication, from Python; the engine is Rust and releases the GIL while it works.

>>> import ridgeline
>>> gallery = ridgeline.Gallery.create("people")
>>> gallery.enroll("alice", ridgeline.extract(ridgeline.FingerImage.open("alice.png")))
>>> gallery.identify(ridgeline.extract(ridgeline.FingerImage.open("probe.png"))).matched

``ridgeline.distributed`` shards a gallery over a Ray cluster (``pip install ridgeline[ray]``).
"""

from ridgeline._errors import *  # noqa: F401,F403
from ridgeline._errors import __all__ as _error_names
from ridgeline._native import (
    KIND_BIFURCATION,
    KIND_ENDING,
    Candidate,
    FingerEvidence,
    FingerImage,
    Gallery,
    Identification,
    Template,
    __version__,
    compare,
    extract,
    fmr_for_score,
    synthetic_template,
    threshold_for_fmr,
)


def dedup(gallery, fmr=1e-4, **options):
    """De-duplicates a gallery (a :class:`Gallery` or its folder): every subject against every
    other, all fingers fused. Returns the report ``ridgeline dedup --gallery DIR --out R.json``
    writes, as a dict (``clusters``, ``flags``, ``stats``). Options as for
    :meth:`Gallery.dedup`."""
    if isinstance(gallery, Gallery):
        return gallery.dedup(fmr, **options)
    with Gallery.open(gallery, read_only=True) as g:
        return g.dedup(fmr, **options)


__all__ = [
    "KIND_BIFURCATION",
    "KIND_ENDING",
    "Candidate",
    "FingerEvidence",
    "FingerImage",
    "Gallery",
    "Identification",
    "Template",
    "__version__",
    "compare",
    "dedup",
    "extract",
    "fmr_for_score",
    "synthetic_template",
    "threshold_for_fmr",
    *_error_names,
]
