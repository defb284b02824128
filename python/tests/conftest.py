"""Shared fixtures: dev-set prints from ../shared (skipped where absent) and synthetic
distractors (deterministic)."""

import os
from pathlib import Path

import pytest

import ridgeline

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("RIDGELINE_SHARED", REPO.parent / "shared"))
FVC = SHARED / "datasets" / "fvc2002"
#: Seed of the synthetic distractor population.
SEED = 2002


def fvc_dir(db: str = "DB1_B") -> Path:
    path = FVC / db
    if not path.is_dir():
        print(f"SKIPPED: {path} is absent")
        pytest.skip(f"SKIPPED: dev-set prints absent ({path})")
    return path


@pytest.fixture(scope="session")
def dev_templates():
    """{finger: [impression templates]} of eight FVC2002 DB1_B fingers (ISO templates shipped
    with the data set, so no extraction time)."""
    path = fvc_dir()
    out = {}
    for finger in range(101, 109):
        out[finger] = [ridgeline.Template.load(path / f"{finger}_{k}.iso") for k in range(1, 5)]
    return out


@pytest.fixture(scope="session")
def distractors():
    """Synthetic templates of 300 subjects who are nobody in the dev set."""
    return [ridgeline.synthetic_template(SEED, f) for f in range(300)]


def people(dev_templates, distractors):
    """A population of people and probes of it, for comparing searches.

    Records `(id, fingers)`: the distractors as people with fingers 1 and 6 (`dNNN`), then
    dev-set people with their first impressions: three with two fingers (`fvc101`: 101 as
    finger 1 and 102 as finger 6, likewise `fvc103`, `fvc105`), one with finger 1 (`fvc107`)
    and one of unknown position 0 (`fvc108`).
    Probes (`fingers` dicts or bare templates): two-finger probes of the dev people, one-finger
    probes, probes of the unknown-position record, walk-ins, a two-finger distractor (`d017`),
    and a probe whose second finger belongs to nobody."""
    records = [
        (f"d{i:03}", {1: t, 6: ridgeline.synthetic_template(SEED, 1000 + i)})
        for i, t in enumerate(distractors)
    ]
    pairs = [(101, 102), (103, 104), (105, 106)]
    records += [(f"fvc{a}", {1: dev_templates[a][0], 6: dev_templates[b][0]}) for a, b in pairs]
    records += [("fvc107", {1: dev_templates[107][0]}), ("fvc108", {0: dev_templates[108][0]})]
    probes = [{1: dev_templates[a][k], 6: dev_templates[b][k]} for a, b in pairs for k in (1, 2, 3)]
    probes += [{1: dev_templates[a][k]} for a in (101, 103, 105, 107) for k in (1, 2)]
    probes += [{6: dev_templates[102][1]}, {1: dev_templates[108][1]}, dev_templates[108][2]]
    probes += [ridgeline.synthetic_template(SEED + 5, f) for f in range(4)]  # walk-ins, finger 0
    probes += [{1: ridgeline.synthetic_template(SEED, 17, 1), 6: ridgeline.synthetic_template(SEED, 1017, 1)}]
    probes += [{1: dev_templates[103][1], 6: ridgeline.synthetic_template(SEED + 5, 9)}]
    return records, probes


def answer(found):
    """Everything an identification says, for comparing two searches."""
    candidates = [
        (c.id, c.finger, c.score, c.fmr, [(f.probe_finger, f.finger, f.score, f.fmr) for f in c.fingers])
        for c in found.candidates
    ]
    return (candidates, found.matched, found.searched, found.records_searched, found.compared,
            found.escalated, found.fmr_threshold)


#: Object store per node; Ray's floor is 75 MB.
OBJECT_STORE_BYTES = 100 * 1024 * 1024


@pytest.fixture(scope="session")
def cluster():
    """A local Ray cluster of three nodes of one CPU each on this machine, shared by the
    distributed tests (skipped where Ray is not installed)."""
    ray = pytest.importorskip("ray")
    cluster_utils = pytest.importorskip("ray.cluster_utils")
    c = cluster_utils.Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": OBJECT_STORE_BYTES},
    )
    for _ in range(2):
        c.add_node(num_cpus=1, object_store_memory=OBJECT_STORE_BYTES)
    c.wait_for_nodes()
    ray.init(address=c.address, include_dashboard=False, log_to_driver=False)
    yield c
    ray.shutdown()
    c.shutdown()
