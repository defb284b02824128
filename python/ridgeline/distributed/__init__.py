"""A gallery sharded over a Ray cluster: :class:`ShardedGallery`; and the de-duplication of a
gallery as Ray tasks, resumable from a job folder: :func:`dedup` / :class:`DistributedDedup`
(module ``ridgeline.distributed._dedup``; see ``docs/PYTHON.md``).

A sharded gallery is a list of shards, each an ordinary Ridgeline gallery directory, served by
one Ray actor that maps it. A subject lives on one shard, chosen by a stable hash of its
normalised id (:func:`shard_of`). Searches give exactly the answer one gallery holding every
record would give (see ``docs/PYTHON.md``):

1. every shard scores all its records with the coarse stage and returns its best coarse
   scores (``Gallery._coarse``);
2. the driver merges them into one global short list by the rule of one gallery of the total
   size, escalation included (``_native.plan_shortlist``);
3. the owning shards re-rank their part of it with the precise matcher, and the driver keeps
   the candidates one gallery's search would keep (``_native.shard_top``);
4. the shard owning each candidate subject evaluates it with every probe finger against all
   its records (``CoarseSearch.evaluate``), and the driver decides over the total subject
   count by the core's rule (``_native.decide_person``).

Each probe finger is searched as one gallery's person search does it: among the records of
its position and, where some shard holds records of unknown position, among those too (each a
"part" of the search).

Enrolments and removals go through one coordinator actor, one at a time, so the
duplicate-person check of an enrolment (a search over every shard) cannot race another
enrolment of the same person on another shard. A shard actor that dies is restarted by Ray and
re-opens its shard from disk; a search that meets a dead or restarted shard starts again once
the shard is back, and fails with :class:`~ridgeline.ShardUnavailableError` if it does not
come back in time. It never answers from the other shards alone.

Requires Ray: ``pip install ridgeline[ray]``.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import unicodedata
import uuid
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Union

try:
    import ray
    import ray.exceptions
except ImportError as error:  # pragma: no cover - exercised only where Ray is missing
    raise ImportError(
        "ridgeline.distributed needs Ray, which is not installed: pip install ridgeline[ray]"
    ) from error

from ridgeline import _native
from ridgeline._errors import (
    DuplicateSubjectError,
    GalleryLockedError,
    RidgelineError,
    ShardError,
    ShardUnavailableError,
    SubjectNotFoundError,
)
from ridgeline._native import Gallery, Identification, Template

from ridgeline.distributed._dedup import DistributedDedup, dedup  # noqa: E402

__all__ = ["ShardedGallery", "DistributedDedup", "dedup", "shard_of", "normalise_id", "DESCRIPTOR_FILE"]

#: Name of the descriptor file inside every shard directory.
DESCRIPTOR_FILE = "ridgeline-shard.json"
#: Descriptor format version.
DESCRIPTOR_VERSION = 1
#: The shard hash, as recorded in descriptors: SHA-256 of the UTF-8 bytes of the NFC-normalised
#: id, first 8 bytes read as a big-endian unsigned integer, modulo the shard count.
HASH_NAME = "sha256-first8-be-mod"

Fingers = Union[Template, Dict[int, Template]]


def normalise_id(subject_id: str) -> str:
    """The form of a subject id that is stored and hashed: Unicode NFC, so that the same
    visible id typed with composed or decomposed accents is one subject on one shard."""
    if not isinstance(subject_id, str):
        raise TypeError(f"subject id must be a str, got {type(subject_id).__name__}")
    return unicodedata.normalize("NFC", subject_id)


def shard_of(subject_id: str, count: int) -> int:
    """The shard of a subject among ``count`` shards (see :data:`HASH_NAME`)."""
    if count < 1:
        raise ValueError("a sharded gallery has at least one shard")
    digest = hashlib.sha256(normalise_id(subject_id).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def _fingers_dict(fingers: Fingers) -> Dict[int, Template]:
    if isinstance(fingers, Template):
        return {0: fingers}
    if isinstance(fingers, dict) and fingers:
        return dict(sorted(fingers.items()))
    raise TypeError("fingers must be a Template or a non-empty dict {finger position: Template}")


def _unwrap(error: BaseException) -> BaseException:
    """The Ridgeline exception an actor raised, without Ray's wrapping."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, RidgelineError):
        return cause
    return error


#: Errors that mean "this shard's actor died or restarted", after which a search starts over.
_ACTOR_GONE = (ray.exceptions.RayActorError,)


class _SearchLost(RidgelineError):
    """A shard no longer holds phase 1 of a search (it restarted in between)."""


class _Shard:
    """The actor serving one shard (a Ray actor class; see :meth:`ShardedGallery.create`)."""

    #: Phase-1 searches kept at most (older ones are dropped: their driver has gone).
    MAX_PENDING = 256
    #: How long a restarting actor waits for the previous process's writer lock.
    LOCK_WAIT_S = 30.0

    def __init__(self, path: str, index: int, count: int, set_id: str, create: bool):
        self.path = path
        descriptor_path = os.path.join(path, DESCRIPTOR_FILE)
        if os.path.exists(descriptor_path):
            _check_descriptor(_read_descriptor(path), path, index, count, set_id)
            self.gallery = self._open_writable(path)
        elif create:
            if os.path.isdir(path) and os.listdir(path):
                raise ShardError(f"shard directory {path} is not empty and holds no {DESCRIPTOR_FILE}")
            self.gallery = Gallery.create(path)
            _write_descriptor(path, {
                "format": "ridgeline-shard",
                "version": DESCRIPTOR_VERSION,
                "set": set_id,
                "index": index,
                "count": count,
                "hash": HASH_NAME,
            })
        else:
            raise ShardError(f"{path} is not a shard of a sharded gallery (no {DESCRIPTOR_FILE})")
        self.descriptor = _read_descriptor(path)
        self.incarnation = uuid.uuid4().hex
        self.pending: "OrderedDict[str, Any]" = OrderedDict()
        self.lock = threading.Lock()

    def _open_writable(self, path: str) -> Gallery:
        # After a crash Ray may start the new actor before the kernel has released the old
        # process's lock: wait for it rather than fail.
        deadline = time.monotonic() + self.LOCK_WAIT_S
        while True:
            try:
                return Gallery.open(path)
            except GalleryLockedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def describe(self) -> Dict[str, Any]:
        return dict(self.descriptor, incarnation=self.incarnation)

    def coarse(self, token: str, fingers: Dict[int, Template], n: int):
        search = self.gallery._coarse(fingers, n)
        with self.lock:
            self.pending[token] = search
            while len(self.pending) > self.MAX_PENDING:
                self.pending.popitem(last=False)
        return search.lists()

    def _pending(self, token: str):
        with self.lock:
            search = self.pending.get(token)
        if search is None:
            raise _SearchLost(f"shard {self.path} restarted during the search")
        return search

    def rerank(self, token: str, requests: List[tuple]):
        search = self._pending(token)
        return [search.rerank(part, positions) for part, positions in requests]

    def evaluate(self, token: str, known: List[tuple], subjects: List[str]):
        return self._pending(token).evaluate(known, subjects)

    def release(self, token: str) -> None:
        with self.lock:
            self.pending.pop(token, None)

    def enroll(self, subject_id: str, fingers: Dict[int, Template]) -> int:
        return self.gallery.enroll(subject_id, fingers, check_duplicate=False)

    def enroll_many(self, records: List[tuple]) -> int:
        return self.gallery.enroll_many(records)

    def get(self, subject_id: str) -> Dict[int, Template]:
        return self.gallery.get(subject_id)

    def remove(self, subject_id: str) -> int:
        return self.gallery.remove(subject_id)

    def len(self) -> int:
        return len(self.gallery)

    def stats(self) -> Dict[str, Any]:
        return self.gallery.stats()

    def verify(self) -> Dict[str, Any]:
        return self.gallery.verify()

    def pid(self) -> int:
        return os.getpid()


def _read_descriptor(path: str) -> Dict[str, Any]:
    with open(os.path.join(path, DESCRIPTOR_FILE), encoding="utf-8") as f:
        descriptor = json.load(f)
    if descriptor.get("format") != "ridgeline-shard" or descriptor.get("version") != DESCRIPTOR_VERSION:
        raise ShardError(f"{path}/{DESCRIPTOR_FILE} is not a version-{DESCRIPTOR_VERSION} shard descriptor")
    if descriptor.get("hash") != HASH_NAME:
        raise ShardError(f"{path} assigns subjects by {descriptor.get('hash')!r}; this build uses {HASH_NAME!r}")
    return descriptor


def _write_descriptor(path: str, descriptor: Dict[str, Any]) -> None:
    final = os.path.join(path, DESCRIPTOR_FILE)
    temp = final + ".tmp"
    with open(temp, "w", encoding="utf-8") as f:
        json.dump(descriptor, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, final)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_descriptor(d: Dict[str, Any], path: str, index: int, count: int, set_id: Optional[str]) -> None:
    if d.get("count") != count:
        raise ShardError(f"{path} belongs to a gallery of {d.get('count')} shards, opened with {count}")
    if d.get("index") != index:
        raise ShardError(
            f"{path} is shard {d.get('index')} of its gallery but was listed at position {index}: "
            "give the shards in the order they were created (subjects are assigned by position)"
        )
    if set_id is not None and d.get("set") != set_id:
        raise ShardError(f"{path} belongs to another sharded gallery (set {d.get('set')}, expected {set_id})")


def _search(shards: Sequence[Any], fingers: Dict[int, Template], top: int, fmr_per_search: float,
            timeout_s: float) -> Identification:
    """One two-phase search over every shard; starts over if a shard restarts meanwhile, until
    ``timeout_s`` has passed."""
    if top < 1:
        raise ValueError("top must be at least 1")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return _search_once(shards, fingers, top, fmr_per_search, max(1.0, deadline - time.monotonic()))
        except (_SearchLost, ray.exceptions.GetTimeoutError, *_ACTOR_GONE) as error:
            if time.monotonic() > deadline:
                raise ShardUnavailableError(
                    f"a shard did not answer within {timeout_s:.0f} s ({type(error).__name__}); "
                    "no partial answer is given"
                ) from error
            time.sleep(0.2)


def _get(refs, timeout_s: float):
    try:
        return ray.get(refs, timeout=timeout_s)
    except ray.exceptions.RayTaskError as error:
        cause = _unwrap(error)
        if cause is not error:
            raise cause from None
        raise


def _search_once(shards, fingers, top, fmr_per_search, timeout_s) -> Identification:
    token = uuid.uuid4().hex
    n = _native.shard_coarse_len(top)
    try:
        lists = _get([s.coarse.remote(token, fingers, n) for s in shards], timeout_s)
        searched_subjects = sum(subjects for subjects, _, _ in lists)
        any_unknown = any(unknown for _, unknown, _ in lists)
        positions = list(fingers)
        # Every shard lists the same single-finger searches (parts) in the same order; those
        # among records of unknown position run only where some shard holds such records, as
        # in one gallery.
        parts = [
            p for p, (k, finger, _, _) in enumerate(lists[0][2])
            if any_unknown or not (finger == 0 and positions[k] != 0)
        ]
        plans = {}
        for p in parts:
            searched = [lists[s][2][p][2] for s in range(len(shards))]
            scores = [lists[s][2][p][3] for s in range(len(shards))]
            plans[p] = _native.plan_shortlist(top, searched, scores)
        scored = _rerank(shards, token, {p: plans[p][1] for p in parts}, timeout_s)
        escalate = {
            p: _native.needs_escalation(top, max((h[2] for h in scored[p]), default=None), bool(plans[p][2]))
            for p in parts
        }
        further = {p: plans[p][2] for p in parts if escalate[p]}
        if further:
            for p, hits in _rerank(shards, token, further, timeout_s).items():
                scored[p].extend(hits)
        # Per part, the candidates one gallery's search keeps; their subjects are the
        # candidate subjects, each evaluated on its own shard with every probe finger.
        known: Dict[int, List[tuple]] = {}
        subjects: Dict[int, set] = {}
        for p in parts:
            ids = {(h[0], h[1]): h[3] for h in scored[p]}
            for score, shard, position in _native.shard_top(top, [(h[2], h[0], h[1]) for h in scored[p]]):
                known.setdefault(shard, []).append((p, position, score))
                subjects.setdefault(shard, set()).add(ids[(shard, position)])
        order = sorted(subjects)
        replies = _get([shards[s].evaluate.remote(token, known[s], sorted(subjects[s])) for s in order],
                       timeout_s)
        candidates = [c for evidence, _ in replies for c in evidence]
        compared = sum(len(scored[p]) for p in parts) + sum(fresh for _, fresh in replies)
        records_searched = sum(plans[p][0] for p in parts)
        return _native.decide_person(candidates, searched_subjects, records_searched, compared,
                                     any(escalate.values()), top, fmr_per_search)
    finally:
        for s in shards:
            s.release.remote(token)


def _rerank(shards, token, hits_per_part, timeout_s):
    """Precise scores of the listed (shard, position) hits of each part, asked of the owning
    shards at once: per part a list of (shard, position, score, id, finger)."""
    requests: Dict[int, List[tuple]] = {}
    for p, hits in hits_per_part.items():
        by_shard: Dict[int, List[int]] = {}
        for shard, position in hits:
            by_shard.setdefault(shard, []).append(position)
        for shard, pos in by_shard.items():
            requests.setdefault(shard, []).append((p, pos))
    order = sorted(requests)
    replies = _get([shards[s].rerank.remote(token, requests[s]) for s in order], timeout_s)
    out: Dict[int, List[tuple]] = {p: [] for p in hits_per_part}
    for s, reply in zip(order, replies):
        for (p, _), part in zip(requests[s], reply):
            out[p].extend((s, pos, score, sid, finger) for pos, score, sid, finger in part)
    return out


class _Coordinator:
    """The one actor through which enrolments and removals pass, one at a time."""

    def __init__(self, shards: List[Any], timeout_s: float):
        self.shards = shards
        self.timeout_s = timeout_s

    def enroll(self, subject_id: str, fingers: Dict[int, Template], check_duplicate: bool,
               fmr_per_search: float) -> int:
        if check_duplicate:
            found = _search(self.shards, fingers, _native.DUPLICATE_CHECK_CANDIDATES, fmr_per_search,
                            self.timeout_s)
            other = found.duplicate_of(subject_id)
            if other is not None:
                raise DuplicateSubjectError(
                    f"the fingers of {subject_id!r} match enrolled subject {other!r} at "
                    f"fmr_per_search {fmr_per_search}; not enrolled"
                )
        shard = self.shards[shard_of(subject_id, len(self.shards))]
        try:
            return _get(shard.enroll.remote(subject_id, fingers), self.timeout_s)
        except _ACTOR_GONE:
            # The shard died during the commit: it either happened whole or not at all. Look.
            return self._settle(shard, subject_id, fingers)

    def _settle(self, shard, subject_id, fingers) -> int:
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                try:
                    held = _get(shard.get.remote(subject_id), self.timeout_s)
                except SubjectNotFoundError:
                    held = {}
                if all(held.get(p) == t for p, t in fingers.items()):
                    return len(fingers)
                return _get(shard.enroll.remote(subject_id, fingers), self.timeout_s)
            except _ACTOR_GONE as error:
                if time.monotonic() > deadline:
                    raise ShardUnavailableError(
                        f"the shard of {subject_id!r} did not come back within {self.timeout_s:.0f} s; "
                        "the enrolment may or may not have been committed"
                    ) from error
                time.sleep(0.2)

    def enroll_many(self, records: List[tuple]) -> int:
        by_shard: Dict[int, List[tuple]] = {}
        for subject_id, fingers in records:
            by_shard.setdefault(shard_of(subject_id, len(self.shards)), []).append((subject_id, fingers))
        order = sorted(by_shard)
        return sum(_get([self.shards[k].enroll_many.remote(by_shard[k]) for k in order], self.timeout_s))

    def remove(self, subject_id: str) -> int:
        shard = self.shards[shard_of(subject_id, len(self.shards))]
        return _get(shard.remove.remote(subject_id), self.timeout_s)


class ShardedGallery:
    """A gallery split over shard directories, one Ray actor per shard.

    Create with :meth:`create` or open with :meth:`open` inside a Ray cluster that the caller
    has ``ray.init``-ed. ``enroll``, ``remove``, ``identify`` take and return what
    :class:`ridgeline.Gallery`'s do; the answers of ``identify`` equal those of one gallery
    holding all the records.
    """

    def __init__(self, dirs: Sequence[str], create: bool, shard_cpus: float,
                 actor_options: Optional[Union[Dict[str, Any], Sequence[Dict[str, Any]]]],
                 timeout_s: float):
        if not ray.is_initialized():
            raise RuntimeError("ShardedGallery needs a running Ray: call ray.init() first")
        if not dirs:
            raise ShardError("a sharded gallery needs at least one shard directory")
        self.dirs = [os.path.abspath(os.fspath(d)) for d in dirs]
        if len(set(self.dirs)) != len(self.dirs):
            raise ShardError("a shard directory is listed twice")
        self.timeout_s = timeout_s
        count = len(self.dirs)
        if isinstance(actor_options, dict) or actor_options is None:
            per_shard = [dict(actor_options or {}) for _ in self.dirs]
        else:
            per_shard = [dict(o) for o in actor_options]
            if len(per_shard) != count:
                raise ShardError("actor_options: one dict per shard")
        shard_class = ray.remote(_Shard)
        set_id = self._check_dirs(create)
        self._shards = []
        for index, (path, options) in enumerate(zip(self.dirs, per_shard)):
            options.setdefault("num_cpus", shard_cpus)
            # Restarted without limit: a shard is state on disk, an actor only serves it.
            options.setdefault("max_restarts", -1)
            options.setdefault("max_concurrency", 4)
            self._shards.append(shard_class.options(**options).remote(path, index, count, set_id, create))
        try:
            descriptors = _get([s.describe.remote() for s in self._shards], timeout_s)
        except BaseException:
            self._kill()
            raise
        self.set_id = descriptors[0]["set"]
        coordinator = ray.remote(_Coordinator).options(num_cpus=0, max_restarts=-1)
        self._coordinator = coordinator.remote(self._shards, timeout_s)

    def _check_dirs(self, create: bool) -> str:
        """Checks the shard directories before any actor starts, and returns the gallery's set
        id. The files are read by short tasks on the cluster, so that the driver need not see
        the directories itself."""

        @ray.remote(num_cpus=0)
        def look(path):
            if os.path.exists(os.path.join(path, DESCRIPTOR_FILE)):
                return _read_descriptor(path)
            return "empty" if not os.path.isdir(path) or not os.listdir(path) else "foreign"

        found = _get([look.remote(d) for d in self.dirs], self.timeout_s)
        if create:
            for path, f in zip(self.dirs, found):
                if f != "empty":
                    raise ShardError(f"cannot create a shard in {path}: it is not empty")
            return uuid.uuid4().hex
        for path, f in zip(self.dirs, found):
            if not isinstance(f, dict):
                raise ShardError(f"{path} is not a shard of a sharded gallery (no {DESCRIPTOR_FILE})")
        for index, (path, f) in enumerate(zip(self.dirs, found)):
            _check_descriptor(f, path, index, len(self.dirs), found[0]["set"])
        return found[0]["set"]

    @classmethod
    def create(cls, dirs: Sequence[str], *, shard_cpus: float = 1.0,
               actor_options=None, timeout_s: float = 120.0) -> "ShardedGallery":
        """Creates a sharded gallery over ``dirs`` (each missing or empty), one shard each.

        ``shard_cpus``: CPUs Ray reserves for each shard actor (1 spreads the shards over
        nodes with one CPU each). ``actor_options``: extra ``.options()`` for the shard actors
        (one dict for all, or one per shard), e.g. a ``scheduling_strategy`` that pins a shard
        to the node whose disk holds it. ``timeout_s``: how long a call waits for a restarting
        shard before it fails with ``ShardUnavailableError``."""
        return cls(dirs, True, shard_cpus, actor_options, timeout_s)

    @classmethod
    def open(cls, dirs: Sequence[str], *, shard_cpus: float = 1.0,
             actor_options=None, timeout_s: float = 120.0) -> "ShardedGallery":
        """Opens a sharded gallery; ``dirs`` in the order of :meth:`create` (another order, a
        shard of another gallery or a different count is refused with ``ShardError``)."""
        return cls(dirs, False, shard_cpus, actor_options, timeout_s)

    def enroll(self, id: str, fingers: Fingers, *, check_duplicate: bool = True,
               fmr_per_search: float = 1e-4) -> int:
        """Enrols one subject's fingers on its shard, with one commit; as
        :meth:`ridgeline.Gallery.enroll`, the duplicate check searching every shard."""
        subject_id = normalise_id(id)
        return _get(self._coordinator.enroll.remote(subject_id, _fingers_dict(fingers), check_duplicate,
                                                    fmr_per_search), None)

    def enroll_many(self, records) -> int:
        """Bulk load: ``(id, fingers)`` pairs, one commit per shard, no duplicate-person check
        (as :meth:`ridgeline.Gallery.enroll_many`). A shard's part is all or nothing; if one
        shard refuses its part, the others' parts may be committed."""
        batch = [(normalise_id(sid), _fingers_dict(fingers)) for sid, fingers in records]
        return _get(self._coordinator.enroll_many.remote(batch), None)

    def remove(self, id: str) -> int:
        """De-registers a subject (all its records, on its shard); returns how many."""
        return _get(self._coordinator.remove.remote(normalise_id(id)), None)

    def identify(self, fingers: Fingers, top: int = 5, fmr_per_search: float = 1e-4) -> Identification:
        """Identifies a person from one or several fingers over every shard; the same answer as
        :meth:`ridgeline.Gallery.identify` on one gallery holding every record."""
        return _search(self._shards, _fingers_dict(fingers), top, fmr_per_search, self.timeout_s)

    def get(self, id: str) -> Dict[int, Template]:
        """The enrolled fingers of a subject."""
        subject_id = normalise_id(id)
        return _get(self._shards[shard_of(subject_id, len(self._shards))].get.remote(subject_id), self.timeout_s)

    def __len__(self) -> int:
        return sum(_get([s.len.remote() for s in self._shards], self.timeout_s))

    def len(self) -> int:
        """Live records over all shards."""
        return len(self)

    def shard_lens(self) -> List[int]:
        """Live records per shard."""
        return _get([s.len.remote() for s in self._shards], self.timeout_s)

    def stats(self) -> List[Dict[str, Any]]:
        """Each shard's ``Gallery.stats()``."""
        return _get([s.stats.remote() for s in self._shards], self.timeout_s)

    def verify(self) -> List[Dict[str, Any]]:
        """Each shard's ``Gallery.verify()``."""
        return _get([s.verify.remote() for s in self._shards], self.timeout_s)

    def dedup(self, job_dir, fmr: float = 1e-4, **options) -> Dict[str, Any]:
        """De-duplicates every shard's records as one population, as Ray tasks with their
        state in ``job_dir`` (resumable): the report equals ``Gallery.dedup`` on one gallery
        holding the same records, enrolled shard after shard. The tasks read the shard folders
        themselves (read-only, beside the shard actors): they must be reachable at the same
        paths from every node. Options as for :class:`DistributedDedup`; an enrolment or
        removal during the job makes its remaining tasks fail with ``DedupJobMismatchError``."""
        return dedup(list(self.dirs), job_dir, fmr, **options)

    @property
    def shard_actors(self) -> List[Any]:
        """The shard actors, by shard index (e.g. for monitoring)."""
        return list(self._shards)

    def _kill(self) -> None:
        for actor in getattr(self, "_shards", []):
            ray.kill(actor, no_restart=True)

    def close(self) -> None:
        """Stops the actors (each shard's writer lock goes with its process)."""
        coordinator = getattr(self, "_coordinator", None)
        if coordinator is not None:
            ray.kill(coordinator, no_restart=True)
            self._coordinator = None
        self._kill()
        self._shards = []

    def __enter__(self) -> "ShardedGallery":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
