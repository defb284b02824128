"""ShardedGallery on a local multi-node Ray cluster: the same answers as one gallery, and no
loss when a shard actor dies."""

import json
import os
import threading
import time

import pytest

import ridgeline
from conftest import SEED, answer, people

ray = pytest.importorskip("ray")
import ray.exceptions  # noqa: E402
from ridgeline.distributed import ShardedGallery, shard_of  # noqa: E402


def test_shard_assignment_is_stable():
    # SHA-256("alice") begins 2bd806c97f0e00af: big-endian 0x2bd806c97f0e00af mod 3 = 0.
    assert shard_of("alice", 3) == int("2bd806c97f0e00af", 16) % 3
    # NFC: a composed and a decomposed "é" are one subject on one shard.
    assert shard_of("jos\u00e9", 7) == shard_of("jose\u0301", 7)


def _pid_once_restarted(actor, old_pid, timeout_s=60.0):
    """The actor's process id once Ray has restarted it in a new process. `ray.kill` is
    asynchronous: until the old process is gone it may still answer with its own pid, so the
    wait ends on a different pid (or an error at the deadline)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            pid = ray.get(actor.pid.remote(), timeout=10)
            if pid != old_pid:
                return pid
        except (ray.exceptions.ActorUnavailableError, ray.exceptions.GetTimeoutError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the killed shard actor did not restart within {timeout_s} s")
        time.sleep(0.2)


def test_sharded_equals_one_gallery_and_survives_a_dead_shard(cluster, tmp_path, dev_templates, distractors):
    records, probes = people(dev_templates, distractors)
    one = ridgeline.Gallery.create(tmp_path / "one")
    dirs = [str(tmp_path / f"shard{k}") for k in range(3)]
    sharded = ShardedGallery.create(dirs, timeout_s=60)
    try:
        # Distractors in bulk, the dev set one by one with the duplicate check, on both.
        bulk = [r for r in records if not r[0].startswith("fvc")]
        assert sharded.enroll_many(bulk) == one.enroll_many(bulk) == 2 * len(bulk)
        for sid, fingers in records[len(bulk):]:
            assert sharded.enroll(sid, fingers) == one.enroll(sid, fingers) == len(fingers)
        assert len(sharded) == len(one)
        assert sorted(sharded.shard_lens()) != [0, 0, len(one)]  # really spread
        for k, d in enumerate(dirs):
            with open(os.path.join(d, "ridgeline-shard.json"), encoding="utf-8") as f:
                descriptor = json.load(f)
            assert descriptor == {
                "format": "ridgeline-shard",
                "version": 1,
                "set": sharded.set_id,
                "index": k,
                "count": 3,
                "hash": "sha256-first8-be-mod",
            }
        # Every subject is on the shard its id hashes to.
        for sid, _ in records[:20] + records[-8:]:
            assert ray.get(sharded.shard_actors[shard_of(sid, 3)].get.remote(sid))
        # The same person under another id is refused by both, across shards.
        for again in ({6: dev_templates[104][1]}, {1: dev_templates[101][1], 6: dev_templates[102][1]}):
            with pytest.raises(ridgeline.DuplicateSubjectError, match="fvc10"):
                one.enroll("again", again)
            with pytest.raises(ridgeline.DuplicateSubjectError, match="fvc10"):
                sharded.enroll("again", again)

        expected = [answer(one.identify(p, top=5)) for p in probes]
        got = [answer(sharded.identify(p, top=5)) for p in probes]
        assert got == expected
        matched = [e[1] for e in expected]
        # Every two-finger probe of a dev person finds that person.
        assert matched[:9] == [f"fvc{a}" for a in (101, 103, 105) for _ in range(3)]
        assert matched[-7] == "fvc108"  # a bare template against the unknown-position record
        assert matched[-6:-2] == [None] * 4  # walk-ins
        assert matched[-2] == "d017"
        assert matched[-1] == "fvc103"

        # Kill a shard actor while searches run: every answer is complete and right, or a
        # clear ShardUnavailableError; then everything committed is still there.
        victim = sharded.shard_actors[shard_of("fvc101", 3)]
        pid_before = ray.get(victim.pid.remote())
        answers, errors = [], []

        def search_loop():
            for i in range(12):
                p = probes[i % len(probes)]
                try:
                    answers.append((i % len(probes), answer(sharded.identify(p, top=5))))
                except ridgeline.ShardUnavailableError as e:
                    errors.append(e)

        t = threading.Thread(target=search_loop)
        t.start()
        time.sleep(0.3)
        ray.kill(victim, no_restart=False)
        t.join()
        assert not errors
        for k, a in answers:
            assert a == expected[k]
        assert _pid_once_restarted(victim, pid_before) != pid_before
        assert len(sharded) == len(one)
        assert [answer(sharded.identify(p, top=5)) for p in probes] == expected

        # Enrol and remove after the restart, through the coordinator.
        extra = {1: ridgeline.synthetic_template(SEED + 7, 1)}
        assert sharded.enroll("late", extra) == one.enroll("late", extra) == 1
        assert sharded.remove("fvc105") == one.remove("fvc105") == 2
        gone = {1: dev_templates[105][1], 6: dev_templates[106][1]}
        assert answer(sharded.identify(gone)) == answer(one.identify(gone))
        assert all(v["ok"] for v in sharded.verify())
    finally:
        sharded.close()
        one.close()

    # Re-opening: in the order of creation it works and holds everything; in another order,
    # it is refused.
    with pytest.raises(ridgeline.ShardError, match="order"):
        ShardedGallery.open([dirs[1], dirs[0], dirs[2]], timeout_s=60)
    with pytest.raises(ridgeline.ShardError, match="2 shards|3 shards"):
        ShardedGallery.open(dirs[:2], timeout_s=60)
    with pytest.raises(ridgeline.ShardError, match="not a shard"):
        ShardedGallery.open([*dirs, str(tmp_path / "one")], timeout_s=60)
    with pytest.raises(ridgeline.ShardError, match="not empty"):
        ShardedGallery.create([str(tmp_path / "fresh"), dirs[0]], timeout_s=60)
    again = ShardedGallery.open(dirs, timeout_s=60)
    try:
        with ridgeline.Gallery.open(tmp_path / "one", read_only=True) as reference:
            assert len(again) == len(reference)
            for p in probes[:3] + probes[-4:]:
                assert answer(again.identify(p)) == answer(reference.identify(p))
    finally:
        again.close()
