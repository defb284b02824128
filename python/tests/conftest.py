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
