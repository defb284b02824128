"""Distributed de-duplication on a local multi-node Ray cluster: the same clusters, pairs,
scores and report as `Gallery.dedup` (and `ridgeline dedup`) on one machine, resumed after a
driver restart without redoing finished tasks, and a killed worker's task retried by Ray."""

import json
import os
import subprocess
from collections import Counter

import numpy as np
import pytest

import ridgeline
from conftest import FVC, SEED

ray = pytest.importorskip("ray")
from ridgeline.distributed import DistributedDedup, dedup  # noqa: E402
from ridgeline.distributed._dedup import JOB_FILE, LOG_FILE  # noqa: E402

#: Report statistics that measure time, not results.
TIMING = {"search_seconds", "pairs_compared_per_second", "ms_per_record", "total_seconds"}
#: Records per task: small, so that the population makes several blocks of both stages.
BLOCK = 37


def population():
    """Synthetic people with fingers 1 and 6, and planted duplicates: other impressions of some
    of them under new ids (a two-finger one, a one-finger one, and a third record of one
    person); with the dev set present, also FVC2002 DB1_B people registered twice."""
    t = ridgeline.synthetic_template
    records = [(f"d{i:03}", {1: t(SEED, i), 6: t(SEED, 1000 + i)}) for i in range(180)]
    records += [
        ("dup007", {1: t(SEED, 7, 1), 6: t(SEED, 1007, 1)}),
        ("dup150", {1: t(SEED, 150, 2)}),
        ("dup042a", {1: t(SEED, 42, 1), 6: t(SEED, 1042, 1)}),
        ("dup042b", {6: t(SEED, 1042, 2)}),
    ]
    planted = [["d007", "dup007"], ["d150", "dup150"], ["d042", "dup042a", "dup042b"]]
    db = FVC / "DB1_B"
    if db.is_dir():
        dev = {f: [ridgeline.Template.load(db / f"{f}_{k}.iso") for k in range(1, 5)] for f in range(101, 109)}
        records += [
            ("fvc101", {1: dev[101][0], 6: dev[102][0]}),
            ("fvc103", {1: dev[103][0]}),
            ("fvc105", {2: dev[105][0], 7: dev[106][0]}),
            ("again101", {1: dev[101][2], 6: dev[102][2]}),
            ("again103", {0: dev[103][1]}),  # unknown position
            ("fvc107", {1: dev[107][0]}),
        ]
        planted += [["again101", "fvc101"], ["again103", "fvc103"]]
    else:
        print(f"SKIPPED: dev-set prints absent ({db}); synthetic planted duplicates only")
    return records, sorted(planted)


def linked(report):
    return sorted(sorted(r["record_id"] for r in c["records"]) for c in report["clusters"])


def results(report):
    """Everything a report says except how long it took."""
    return (report["clusters"], report["flags"], {k: v for k, v in report["stats"].items() if k not in TIMING})


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    records, planted = population()
    path = tmp_path_factory.mktemp("dedup") / "population"
    with ridgeline.Gallery.create(path) as g:
        g.enroll_many(records)
        expected = g.dedup(1e-4)
    # The planted duplicates are what one machine finds: the comparison below is not between
    # two empty reports.
    assert linked(expected) == planted
    return path, expected


def log_entries(job_dir):
    with open(os.path.join(job_dir, LOG_FILE), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_distributed_dedup_equals_one_machine_and_resumes(cluster, gallery, tmp_path):
    path, expected = gallery
    job_dir = tmp_path / "job"
    first = DistributedDedup(path, job_dir, 1e-4, block_records=BLOCK, timeout_s=600)
    blocks = len(first.blocks)
    assert blocks == -(-expected["stats"]["records"] // BLOCK) and blocks >= 5
    # The driver stops after some tasks, and is dropped (a restart).
    half = blocks // 2 + 1
    assert first.run(max_tasks=half) is None
    assert first.status() == {"blocks": blocks, "candidates": half, "scores": 0, "report": 0}
    before = {name: os.stat(job_dir / "candidates" / name).st_mtime_ns for name in os.listdir(job_dir / "candidates")}
    assert len(before) == half
    first_run = first.run_id
    del first

    again = DistributedDedup(path, job_dir, 1e-4, block_records=BLOCK, timeout_s=600)
    report = again.run()
    assert results(report) == results(expected)
    assert report["stats"]["resumed_from_record"] is None
    assert json.loads((job_dir / "report.json").read_text()) == report
    # Finished tasks were not run again: each task's result was written once, the first
    # half's by the first driver, and their files are untouched.
    entries = log_entries(job_dir)
    assert Counter((e["stage"], e["block"]) for e in entries) == Counter(
        [("candidates", b) for b in range(blocks)] + [("scores", b) for b in range(blocks)])
    assert sorted(e["block"] for e in entries if e["run"] == first_run) == list(range(half))
    assert {e["run"] for e in entries} == {first_run, again.run_id}
    for name, mtime in before.items():
        assert os.stat(job_dir / "candidates" / name).st_mtime_ns == mtime
    # A finished job answers from its folder.
    assert DistributedDedup(path, job_dir, 1e-4, block_records=BLOCK, timeout_s=600).run() == report

    # Another job's settings in the same folder are refused, with a typed error.
    with pytest.raises(ridgeline.DedupJobMismatchError, match="fmr"):
        DistributedDedup(path, job_dir, 1e-3, block_records=BLOCK, timeout_s=600)
    with pytest.raises(ridgeline.DedupJobMismatchError, match="block_records"):
        DistributedDedup(path, job_dir, 1e-4, block_records=BLOCK + 1, timeout_s=600)
    assert issubclass(ridgeline.DedupJobMismatchError, ridgeline.CheckpointError)


def test_distributed_dedup_equals_the_cli(cluster, gallery, tmp_path):
    """`ridgeline dedup --gallery DIR --out R.json` writes the report the distributed job
    returns (timings aside), and so does the exhaustive reference."""
    from test_api import cli_binary

    binary = cli_binary()
    path, expected = gallery
    out = tmp_path / "cli.json"
    subprocess.run([binary, "dedup", "--gallery", str(path), "--fmr", "1e-4", "--out", str(out)],
                   capture_output=True, text=True, check=True)
    cli = json.loads(out.read_text())
    report = dedup(path, tmp_path / "job", 1e-4, block_records=BLOCK, timeout_s=600)
    assert results(report) == results(cli) == results(expected)
    with ridgeline.Gallery.open(path, read_only=True) as g:
        exhaustive = g.dedup(1e-4, exhaustive=True)
    assert results(dedup(path, tmp_path / "exhaustive", 1e-4, exhaustive=True, block_records=BLOCK * 2,
                         timeout_s=600)) == results(exhaustive)


def test_a_killed_worker_s_task_is_retried(cluster, gallery, tmp_path):
    path, expected = gallery
    job_dir = tmp_path / "job"
    job = DistributedDedup(path, job_dir, 1e-4, block_records=BLOCK, timeout_s=600)
    # The first attempt of block 1's candidates task kills its worker process.
    report = job.run(_crash_block=1)
    assert (job_dir / "crashed-once").exists()
    assert results(report) == results(expected)
    assert sum(1 for e in log_entries(job_dir) if (e["stage"], e["block"]) == ("candidates", 1)) == 1


def test_a_changed_gallery_refuses_the_old_job(cluster, tmp_path):
    path = tmp_path / "g"
    t = ridgeline.synthetic_template
    with ridgeline.Gallery.create(path) as g:
        g.enroll_many([(f"p{i}", {1: t(SEED + 1, i)}) for i in range(30)])
    job_dir = tmp_path / "job"
    assert DistributedDedup(path, job_dir, 1e-4, block_records=8, timeout_s=600).run(max_tasks=1) is None
    with ridgeline.Gallery.open(path) as g:
        g.enroll("late", {1: t(SEED + 1, 99)}, check_duplicate=False)
    with pytest.raises(ridgeline.DedupJobMismatchError, match="key"):
        DistributedDedup(path, job_dir, 1e-4, block_records=8, timeout_s=600)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not a job")
    with pytest.raises(ridgeline.DedupJobMismatchError, match="not empty"):
        DistributedDedup(path, tmp_path / "other", 1e-4, timeout_s=600)
    assert json.loads((job_dir / JOB_FILE).read_text())["records"] == 30


def test_the_job_s_steps_and_their_errors(gallery):
    """The core's split as the tasks call it, without Ray: packed pairs as docs/FORMATS.md
    gives them, and bad input refused with typed errors."""
    from ridgeline._native import DedupJob

    path, expected = gallery
    job = DedupJob(str(path), 1e-4)
    assert job.records == expected["stats"]["records"]
    assert len(job.key) == 16 and job.key == DedupJob(str(path), 1e-4, proposes=False).key
    assert job.key != DedupJob(str(path), 1e-4, candidates=32).key
    blocks = job.blocks(50)
    assert blocks[0] == (0, 50) and blocks[-1][1] == job.records
    packed = job.candidate_pairs(0, 50)
    pairs = np.frombuffer(packed, dtype="<u4").reshape(-1, 2)
    assert len(pairs) > 50 and (pairs[:, 0] < pairs[:, 1]).all() and (pairs[:, 0] < 50).any()
    keys = [tuple(p) for p in pairs.tolist()]
    assert keys == sorted(set(keys))
    linked = job.score_pairs(packed)
    assert all(a < b and score > 0 and 0 < fmr <= 1 for a, b, score, fmr in linked)
    with pytest.raises(ridgeline.InvalidArgumentError, match="packed pairs"):
        job.score_pairs(packed[:7])
    with pytest.raises(ridgeline.InvalidArgumentError, match="not a pair"):
        job.score_pairs(np.array([[3, 2]], dtype="<u4").tobytes())
    with pytest.raises(ridgeline.InvalidArgumentError, match="outside"):
        job.candidate_pairs(0, job.records + 1)
    with pytest.raises(ridgeline.InvalidArgumentError, match="proposes=False"):
        DedupJob(str(path), 1e-4, proposes=False).candidate_pairs(0, 1)
    with pytest.raises(ridgeline.InvalidArgumentError):
        DedupJob(str(path), 0.0)
    with pytest.raises(ridgeline.InvalidArgumentError, match="at least one"):
        job.blocks(0)
    with pytest.raises(ridgeline.InvalidArgumentError, match="not a pair"):
        job.report([(5, 5, 9.0, 1e-9)], 1, 0.0, 0.0)


def test_a_sharded_gallery_dedups_as_one_gallery(cluster, tmp_path):
    """A gallery sharded 3 ways, de-duplicated as Ray tasks over its shards, gives the report
    of one gallery holding the same records (enrolled shard after shard), which is also what
    `ridgeline dedup --gallery` writes for that gallery."""
    from ridgeline.distributed import ShardedGallery, shard_of
    from test_api import cli_binary

    records, planted = population()
    dirs = [tmp_path / f"shard{k}" for k in range(3)]
    one = tmp_path / "one"
    with ridgeline.Gallery.create(one) as g:
        g.enroll_many([r for k in range(3) for r in records if shard_of(r[0], 3) == k])
        expected = g.dedup(1e-4)
    assert linked(expected) == planted
    # Every shard holds records, and some planted duplicates span two shards.
    assert len({shard_of(r[0], 3) for r in records}) == 3
    assert any(len({shard_of(i, 3) for i in group}) > 1 for group in planted)
    # The shard actors leave CPU for the tasks: on 3 nodes of 1 CPU, actors of 1 CPU each
    # would leave none and the tasks would never be scheduled.
    sharded = ShardedGallery.create([str(d) for d in dirs], shard_cpus=0.5)
    try:
        sharded.enroll_many(records)
        assert len(sharded) == sum(len(fingers) for _, fingers in records)
        report = sharded.dedup(tmp_path / "job", 1e-4, block_records=BLOCK, task_cpus=0.5, timeout_s=600)
        assert results(report) == results(expected)
        # The module function takes the sharded gallery or its folders, with the same answer.
        again = dedup([str(d) for d in dirs], tmp_path / "job", 1e-4, block_records=BLOCK, task_cpus=0.5,
                      timeout_s=600)
        assert again == report
    finally:
        sharded.close()
    out = tmp_path / "cli.json"
    subprocess.run([cli_binary(), "dedup", "--gallery", str(one), "--fmr", "1e-4", "--out", str(out)],
                   capture_output=True, text=True, check=True)
    assert results(json.loads(out.read_text())) == results(report)
    # The shards in another order are another job (and another record order).
    with pytest.raises(ridgeline.DedupJobMismatchError, match="key"):
        DistributedDedup([str(d) for d in reversed(dirs)], tmp_path / "job", 1e-4, block_records=BLOCK,
                         task_cpus=0.5, timeout_s=600)
    with pytest.raises(ridgeline.InvalidArgumentError, match="twice"):
        DistributedDedup([str(dirs[0]), str(dirs[0])], tmp_path / "job2", 1e-4)


def test_a_sealed_gallery_dedups_with_a_key_file(cluster, tmp_path, monkeypatch):
    """A sealed gallery is de-duplicated by workers that read its key from a key file: only
    the file's path is in the tasks' arguments and the job folder."""
    from ridgeline._native import DedupJob

    t = ridgeline.synthetic_template
    key = bytes(range(7, 39)).hex()
    path = tmp_path / "sealed"
    records = [(f"s{i:02}", {1: t(SEED + 2, i), 6: t(SEED + 2, 500 + i)}) for i in range(60)]
    records += [("s07again", {1: t(SEED + 2, 7, 1), 6: t(SEED + 2, 507, 1)})]
    with ridgeline.Gallery.create(path, key=key) as g:
        g.enroll_many(records)
        expected = g.dedup(1e-4)
    assert linked(expected) == [["s07", "s07again"]]
    key_file = tmp_path / "gallery.key"
    key_file.write_text(key + "\n")
    # Without the key the gallery cannot be read: a typed error, not an empty report.
    monkeypatch.delenv("RIDGELINE_KEY_FILE", raising=False)
    with pytest.raises(ridgeline.RidgelineError, match="key"):
        DedupJob(str(path), 1e-4)
    job_dir = tmp_path / "job"
    report = dedup(path, job_dir, 1e-4, key_file=key_file, block_records=16, timeout_s=600)
    assert results(report) == results(expected)
    for name in os.listdir(job_dir):
        if os.path.isfile(job_dir / name):
            assert key not in (job_dir / name).read_text(errors="replace")
    assert json.loads((job_dir / JOB_FILE).read_text())["key_file"] == str(key_file)
    # The environment variable names the key file as for the `ridgeline` command.
    monkeypatch.setenv("RIDGELINE_KEY_FILE", str(key_file))
    assert DedupJob(str(path), 1e-4).records == len(records)
    with pytest.raises(ridgeline.RidgelineError):
        DedupJob(str(path), 1e-4, key_file=str(tmp_path / "missing.key"))
