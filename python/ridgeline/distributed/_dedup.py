"""De-duplication of a gallery, or of a sharded gallery's shards as one population, as Ray
tasks, resumable from a job folder.

The job is the core's split of ``ridgeline dedup`` (``ridgeline::dedup::split``, exposed as
``ridgeline._native.DedupJob``):

1. *candidates*: one task per block of records lists the pairs its records propose;
2. *scores*: the union of those pairs, cut by the block of each pair's lower record, one task
   per block scores its pairs and keeps the linked ones;
3. *report*: one task builds the report from every linked pair, with the same code as
   ``Gallery.dedup`` and ``ridgeline dedup --gallery``.

Every finished task's result is written to the job folder (atomically) before it counts as
done, so a driver that stops or dies and is started again with the same folder and settings
runs only the tasks not done yet. The folder names its job by a key over the gallery's records,
the settings and the engine version; another job's folder is refused with
:class:`~ridgeline.DedupJobMismatchError`.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import ray

from ridgeline._errors import DedupJobMismatchError, InvalidArgumentError, RidgelineError
from ridgeline._native import DedupJob

__all__ = ["DistributedDedup", "dedup", "JOB_FILE", "LOG_FILE", "DEFAULT_BLOCK_RECORDS"]

#: The job's identity and settings, in the job folder.
JOB_FILE = "job.json"
#: One JSON line per task result written: ``{"stage", "block", "run", "pairs", "seconds"}``.
LOG_FILE = "done.jsonl"
#: The finished report, as ``ridgeline dedup --out REPORT.json`` writes it.
REPORT_FILE = "report.json"
#: Job folder format.
JOB_FORMAT = "ridgeline-distributed-dedup"
JOB_VERSION = 1
#: Records per task: enough work per task (about a second of candidates and scoring at the
#: default 64 candidates per record) that Ray's per-task overhead stays small.
DEFAULT_BLOCK_RECORDS = 512

_CANDIDATES = "candidates"
_SCORES = "scores"

#: Jobs open in this worker process, by their settings: a worker that runs several blocks of a
#: job opens the gallery and builds its candidate index once.
_OPEN_JOBS: Dict[Tuple, DedupJob] = {}
_OPEN_JOBS_MAX = 2


def _job(spec: Dict[str, Any], proposes: bool, fresh: bool = False) -> DedupJob:
    """The job of ``spec`` in this process, checked against the key the driver planned with.
    A job kept from earlier whose key differs (the gallery changed since) is opened again
    once; ``fresh`` always opens it again."""
    gallery = spec["gallery"]
    dirs = tuple(gallery) if isinstance(gallery, (list, tuple)) else gallery
    settings = (dirs, spec["fmr"], spec["exhaustive"], spec["candidates"], spec.get("key_file"),
                proposes)
    job = None if fresh else _OPEN_JOBS.get(settings)
    if job is None and not proposes and not fresh:
        # A job that proposes also scores and reports: no need to open the gallery again.
        job = _OPEN_JOBS.get(settings[:-1] + (True,))
        if job is not None and job.key == spec.get("key"):
            return job
        job = None
    if job is not None and spec.get("key") is not None and job.key != spec["key"]:
        job = None
    if job is None:
        _OPEN_JOBS.pop(settings, None)
        # The key of a sealed gallery is read here, on the worker, from the key file (or
        # RIDGELINE_KEY_FILE); only the file's path travels in the task's arguments.
        job = DedupJob(list(dirs) if isinstance(dirs, tuple) else dirs, spec["fmr"],
                       exhaustive=spec["exhaustive"], candidates=spec["candidates"],
                       proposes=proposes, key_file=spec.get("key_file"))
        while len(_OPEN_JOBS) >= _OPEN_JOBS_MAX:
            _OPEN_JOBS.pop(next(iter(_OPEN_JOBS)))
        _OPEN_JOBS[settings] = job
    if spec.get("key") is not None and job.key != spec["key"]:
        raise DedupJobMismatchError(
            f"the gallery {spec['gallery']} as this worker sees it is job {job.key}, not {spec['key']}: "
            "it changed since the job started (or differs between nodes); start a new job folder"
        )
    return job


def _describe(spec: Dict[str, Any], block_records: int):
    # The gallery as it is now, not as a job kept by this worker saw it.
    job = _job(spec, proposes=False, fresh=True)
    return job.key, job.records, job.blocks(block_records)


def _candidates(spec: Dict[str, Any], start: int, end: int, crash_marker: Optional[str]):
    if crash_marker is not None and not os.path.exists(crash_marker):
        # Fault injection for the tests: the first attempt kills its worker process, as a
        # lost node would; Ray retries the task elsewhere.
        with open(crash_marker, "w", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
        os._exit(1)
    began = time.monotonic()
    packed = _job(spec, proposes=True).candidate_pairs(start, end)
    return packed, time.monotonic() - began


def _scores(spec: Dict[str, Any], packed: bytes):
    began = time.monotonic()
    linked = _job(spec, proposes=False).score_pairs(packed)
    return linked, time.monotonic() - began


def _report(spec: Dict[str, Any], linked, pairs_compared: int, search_seconds: float, total_seconds: float):
    return _job(spec, proposes=False).report(linked, pairs_compared, search_seconds, total_seconds)


def _write_atomic(path: str, data: bytes) -> None:
    temp = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(temp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
    fd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pairs_array(packed: bytes) -> np.ndarray:
    return np.frombuffer(packed, dtype="<u4").reshape(-1, 2)


class DistributedDedup:
    """The de-duplication of the gallery in ``gallery_dir`` on the Ray cluster the caller has
    ``ray.init``-ed, with its state in ``job_dir``.

    ``gallery_dir`` is one gallery folder, or the list of a sharded gallery's shard folders in
    its order (:attr:`ShardedGallery.dirs`): the shards' records are then one population, and
    the report equals that of one gallery holding them. Every task reads every shard: the
    folders must be readable at the same paths on every node that runs tasks (shared storage,
    or copies at the same paths); the job folder is the driver's. Settings as for
    :meth:`ridgeline.Gallery.dedup`; ``block_records`` records per task; ``task_cpus`` CPUs Ray
    reserves per task; ``max_retries`` how often Ray re-runs a task whose worker died;
    ``task_options`` extra ``.options()`` for the tasks (e.g. a scheduling strategy).
    ``key_file``: for sealed galleries, the path of the key file *on the workers* (each task
    reads the key from it; the key itself is never a task argument); without it, workers use
    the file their ``RIDGELINE_KEY_FILE`` environment names, e.g. set through
    ``ray.init(runtime_env={"env_vars": {"RIDGELINE_KEY_FILE": path}})``."""

    def __init__(self, gallery_dir, job_dir, fmr: float = 1e-4, *, exhaustive: bool = False,
                 candidates: int = 64, block_records: int = DEFAULT_BLOCK_RECORDS,
                 task_cpus: float = 1.0, max_retries: int = 3,
                 task_options: Optional[Dict[str, Any]] = None, timeout_s: Optional[float] = None,
                 key_file=None):
        if not ray.is_initialized():
            raise RuntimeError("DistributedDedup needs a running Ray: call ray.init() first")
        if block_records < 1:
            raise InvalidArgumentError("block_records must be at least 1")
        if isinstance(gallery_dir, (list, tuple)):
            if not gallery_dir:
                raise InvalidArgumentError("a job needs at least one gallery folder")
            self.gallery_dir: Any = [os.path.abspath(os.fspath(d)) for d in gallery_dir]
            if len(set(self.gallery_dir)) != len(self.gallery_dir):
                raise InvalidArgumentError("a shard folder is listed twice")
        else:
            self.gallery_dir = os.path.abspath(os.fspath(gallery_dir))
        self.job_dir = os.path.abspath(os.fspath(job_dir))
        self.block_records = int(block_records)
        self.timeout_s = timeout_s
        self.run_id = uuid.uuid4().hex
        options = dict(task_options or {})
        options.setdefault("num_cpus", task_cpus)
        # A task whose worker dies (a lost node, an out-of-memory kill) is re-run; an error
        # the task raises is deterministic and is not.
        options.setdefault("max_retries", max_retries)
        options["retry_exceptions"] = False
        self._options = options
        self.spec: Dict[str, Any] = {
            "gallery": self.gallery_dir,
            "fmr": float(fmr),
            "exhaustive": bool(exhaustive),
            "candidates": int(candidates),
            "key_file": None if key_file is None else os.path.abspath(os.fspath(key_file)),
            "key": None,
        }
        key, self.records, blocks = self._get(self._task(_describe).remote(self.spec, self.block_records))
        self.spec["key"] = key
        self.blocks: List[Tuple[int, int]] = [tuple(b) for b in blocks]
        self._open_folder()

    # -- the job folder ------------------------------------------------------------------

    def _identity(self) -> Dict[str, Any]:
        return {
            "format": JOB_FORMAT,
            "version": JOB_VERSION,
            "key": self.spec["key"],
            "gallery": self.gallery_dir,
            "fmr": self.spec["fmr"],
            "exhaustive": self.spec["exhaustive"],
            "candidates": self.spec["candidates"],
            # Where the workers read the key (never the key): informative, like the folders.
            "key_file": self.spec["key_file"],
            "block_records": self.block_records,
            "records": self.records,
            "blocks": len(self.blocks),
        }

    def _open_folder(self) -> None:
        os.makedirs(self.job_dir, exist_ok=True)
        path = os.path.join(self.job_dir, JOB_FILE)
        identity = self._identity()
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                try:
                    saved = json.load(f)
                except ValueError as error:
                    raise DedupJobMismatchError(f"{path} is not a job file: {error}") from None
            differs = sorted(k for k in identity
                             if k not in ("gallery", "key_file") and saved.get(k) != identity[k])
            if differs:
                raise DedupJobMismatchError(
                    f"{self.job_dir} holds another job ({', '.join(differs)} differ: "
                    f"{ {k: saved.get(k) for k in differs} } there, { {k: identity[k] for k in differs} } now); "
                    "give a new job folder to start this one"
                )
        else:
            if os.listdir(self.job_dir):
                raise DedupJobMismatchError(f"{self.job_dir} is not empty and holds no {JOB_FILE}")
            for stage in (_CANDIDATES, _SCORES):
                os.makedirs(os.path.join(self.job_dir, stage), exist_ok=True)
            _write_atomic(path, (json.dumps(identity, indent=2, sort_keys=True) + "\n").encode())

    def _result_path(self, stage: str, block: int) -> str:
        suffix = ".npy" if stage == _CANDIDATES else ".json"
        return os.path.join(self.job_dir, stage, f"{block:06}{suffix}")

    def _done(self, stage: str) -> List[int]:
        return [b for b in range(len(self.blocks)) if os.path.exists(self._result_path(stage, b))]

    def _log(self, stage: str, block: int, pairs: int, seconds: float) -> None:
        line = json.dumps({"stage": stage, "block": block, "run": self.run_id, "pairs": pairs,
                           "seconds": round(seconds, 3)})
        with open(os.path.join(self.job_dir, LOG_FILE), "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def _save_candidates(self, block: int, packed: bytes, seconds: float) -> None:
        path = self._result_path(_CANDIDATES, block)
        temp = f"{path}.{uuid.uuid4().hex}.tmp.npy"
        np.save(temp, _pairs_array(packed))
        with open(temp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(temp, path)
        self._log(_CANDIDATES, block, len(packed) // 8, seconds)

    def _save_scores(self, block: int, pairs_compared: int, linked, seconds: float) -> None:
        record = {"block": block, "pairs_compared": pairs_compared, "seconds": seconds,
                  "run": self.run_id, "linked": [list(p) for p in linked]}
        _write_atomic(self._result_path(_SCORES, block), json.dumps(record).encode())
        self._log(_SCORES, block, pairs_compared, seconds)

    # -- running -------------------------------------------------------------------------

    def _task(self, function):
        return ray.remote(function).options(**self._options)

    def _get(self, refs):
        try:
            return ray.get(refs, timeout=self.timeout_s)
        except ray.exceptions.RayTaskError as error:
            cause = getattr(error, "cause", None)
            if isinstance(cause, RidgelineError):
                raise cause from None
            raise

    def _run_stage(self, todo: List[int], submit, save, budget: Optional[int]) -> int:
        """Runs the tasks of ``todo`` (block indices), at most ``budget`` of them, saving each
        result as it arrives; returns how many ran."""
        if budget is not None:
            todo = todo[:max(0, budget)]
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1) / max(self._options["num_cpus"], 1e-3)))
        in_flight: Dict[Any, int] = {}
        queue = list(todo)
        while queue or in_flight:
            while queue and len(in_flight) < 2 * cpus:
                block = queue.pop(0)
                in_flight[submit(block)] = block
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=self.timeout_s)
            if not ready:
                raise TimeoutError(f"no task finished within {self.timeout_s} s")
            for ref in ready:
                block = in_flight.pop(ref)
                save(block, self._get(ref))
        return len(todo)

    def _candidate_pairs(self) -> np.ndarray:
        """Every pair proposed by any block, sorted by (a, b), each once."""
        parts = [np.load(self._result_path(_CANDIDATES, b)) for b in range(len(self.blocks))]
        if not parts:
            return np.zeros((0, 2), dtype="<u4")
        joined = np.concatenate(parts).astype(np.uint64)
        keys = np.unique((joined[:, 0] << np.uint64(32)) | joined[:, 1])
        return np.stack([keys >> np.uint64(32), keys & np.uint64(0xFFFFFFFF)], axis=1).astype("<u4")

    def status(self) -> Dict[str, int]:
        """Blocks done per stage, and blocks in all."""
        return {"blocks": len(self.blocks), _CANDIDATES: len(self._done(_CANDIDATES)),
                _SCORES: len(self._done(_SCORES)),
                "report": int(os.path.exists(os.path.join(self.job_dir, REPORT_FILE)))}

    def run(self, *, max_tasks: Optional[int] = None, _crash_block: Optional[int] = None) -> Optional[Dict[str, Any]]:
        """Runs the tasks not done yet and returns the report (a dict, as ``Gallery.dedup``
        returns it), also written to ``job_dir/report.json``. With ``max_tasks``, stops after
        that many tasks and returns ``None`` if the job is not finished (a later ``run``, by
        this or another driver, carries on)."""
        report_path = os.path.join(self.job_dir, REPORT_FILE)
        if os.path.exists(report_path):
            with open(report_path, encoding="utf-8") as f:
                return json.load(f)
        began = time.monotonic()
        budget = max_tasks
        candidates = self._task(_candidates)
        marker = os.path.join(self.job_dir, "crashed-once") if _crash_block is not None else None

        def submit_candidates(block):
            start, end = self.blocks[block]
            return candidates.remote(self.spec, start, end, marker if block == _crash_block else None)

        done = set(self._done(_CANDIDATES))
        todo = [b for b in range(len(self.blocks)) if b not in done]
        ran = self._run_stage(todo, submit_candidates,
                              lambda b, r: self._save_candidates(b, r[0], r[1]), budget)
        self._add_seconds(time.monotonic() - began)
        if ran < len(todo):
            return None
        budget = None if budget is None else budget - ran
        began = time.monotonic()
        pairs = self._candidate_pairs()
        first = pairs[:, 0]
        scores = self._task(_scores)
        spans = {b: (int(np.searchsorted(first, s, "left")), int(np.searchsorted(first, e, "left")))
                 for b, (s, e) in enumerate(self.blocks)}

        def submit_scores(block):
            lo, hi = spans[block]
            return scores.remote(self.spec, pairs[lo:hi].tobytes())

        def save_scores(block, result):
            lo, hi = spans[block]
            self._save_scores(block, hi - lo, result[0], result[1])

        done = set(self._done(_SCORES))
        todo = [b for b in range(len(self.blocks)) if b not in done]
        ran = self._run_stage(todo, submit_scores, save_scores, budget)
        self._add_seconds(time.monotonic() - began)
        if ran < len(todo):
            return None
        linked, compared = [], 0
        for b in range(len(self.blocks)):
            with open(self._result_path(_SCORES, b), encoding="utf-8") as f:
                record = json.load(f)
            linked.extend(tuple(p) for p in record["linked"])
            compared += record["pairs_compared"]
        seconds = self._seconds()
        text = self._get(self._task(_report).remote(self.spec, linked, compared, seconds, seconds))
        _write_atomic(report_path, text.encode())
        return json.loads(text)

    def _seconds(self) -> float:
        try:
            with open(os.path.join(self.job_dir, "seconds"), encoding="utf-8") as f:
                return float(f.read())
        except (OSError, ValueError):
            return 0.0

    def _add_seconds(self, seconds: float) -> None:
        """Search seconds (the stages' wall time) summed over every driver run of the job."""
        total = self._seconds() + seconds
        _write_atomic(os.path.join(self.job_dir, "seconds"), f"{total!r}\n".encode())


def dedup(gallery_dir, job_dir, fmr: float = 1e-4, **options) -> Dict[str, Any]:
    """De-duplicates the gallery in ``gallery_dir`` (a folder, a list of shard folders, or a
    :class:`ShardedGallery`) on the Ray cluster, with its state in ``job_dir`` (created if missing; an interrupted job's folder resumes it). Returns the
    report ``Gallery.dedup`` returns for the same gallery and settings. Options as for
    :class:`DistributedDedup`."""
    dirs = getattr(gallery_dir, "dirs", None)
    report = DistributedDedup(gallery_dir if dirs is None else list(dirs), job_dir, fmr, **options).run()
    if report is None:  # pragma: no cover - run() without max_tasks finishes or raises
        raise RidgelineError(f"the job in {job_dir} did not finish")
    return report
