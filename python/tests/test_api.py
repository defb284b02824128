"""The single-machine API against the installed package."""

import json
import os
import pickle
import re
import subprocess
import sys
import threading

import numpy as np
import pytest

import ridgeline
from conftest import REPO, SEED, fvc_dir, people


def test_image_from_array_and_back():
    pixels = (np.arange(200 * 150, dtype=np.uint32) % 251).astype(np.uint8).reshape(200, 150)
    image = ridgeline.FingerImage.from_array(pixels, 500)
    assert (image.width, image.height, image.dpi) == (150, 200, 500)
    assert np.array_equal(image.to_array(), pixels)
    # A non-contiguous view is accepted too.
    image = ridgeline.FingerImage.from_array(pixels[:, ::2], 500)
    assert image.width == 75


def test_bad_images_raise_typed_errors(tmp_path):
    with pytest.raises(ridgeline.ImageSizeError, match="outside the accepted"):
        ridgeline.FingerImage.from_array(np.zeros((10, 10), np.uint8), 500)
    with pytest.raises(ridgeline.ResolutionError):
        ridgeline.FingerImage.from_array(np.zeros((100, 100), np.uint8), 50)
    bad = tmp_path / "x.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(ridgeline.RidgelineError):
        ridgeline.FingerImage.open(bad)
    with pytest.raises(ridgeline.IoError) as info:
        ridgeline.FingerImage.open(tmp_path / "missing.png")
    assert isinstance(info.value, OSError)
    assert "missing.png" in str(info.value)


def test_extract_real_print_and_export_round_trips():
    path = fvc_dir()
    image = ridgeline.FingerImage.open(path / "101_1.tif")
    template = ridgeline.extract(image)
    assert 0 <= template.quality <= 100
    m = template.minutiae
    assert m.dtype.names == ("x", "y", "angle", "kind", "quality")
    assert len(m) == len(template) > 10
    assert np.all((m["x"] >= 0) & (m["x"] < image.width))
    assert np.all((m["angle"] >= 0) & (m["angle"] < 2 * np.pi))
    assert set(np.unique(m["kind"])) <= {ridgeline.KIND_ENDING, ridgeline.KIND_BIFURCATION}
    assert ridgeline.Template.from_bytes(template.to_bytes()) == template
    for version in ("2005", "2011"):
        back = ridgeline.Template.from_bytes(template.to_iso(version))
        assert len(back) == len(template)
        assert ridgeline.compare(back, template) > ridgeline.threshold_for_fmr(1e-6)
    for version in ("2004", "2009"):
        back = ridgeline.Template.from_bytes(template.to_ansi(version))
        assert len(back) == len(template)
    with pytest.raises(ridgeline.InvalidArgumentError):
        template.to_iso("1999")
    assert pickle.loads(pickle.dumps(template)) == template


def test_corrupt_template_bytes():
    t = ridgeline.synthetic_template(SEED, 1)
    data = bytearray(t.to_bytes())
    data[-1] ^= 0xFF
    with pytest.raises(ridgeline.TemplateChecksumError, match="checksum"):
        ridgeline.Template.from_bytes(bytes(data))
    with pytest.raises(ridgeline.EmptyInputError):
        ridgeline.Template.from_bytes(b"")
    with pytest.raises(ridgeline.RidgelineError):
        ridgeline.Template.from_bytes(b"garbage bytes that are not a template")


def test_compare_and_calibration():
    a0, a1 = ridgeline.synthetic_template(SEED, 5, 0), ridgeline.synthetic_template(SEED, 5, 1)
    b = ridgeline.synthetic_template(SEED, 6, 0)
    genuine, impostor = ridgeline.compare(a0, a1), ridgeline.compare(a0, b)
    assert genuine > ridgeline.threshold_for_fmr(1e-4) > impostor
    assert ridgeline.threshold_for_fmr(1e-6) > ridgeline.threshold_for_fmr(1e-2)
    assert ridgeline.fmr_for_score(genuine) < ridgeline.fmr_for_score(impostor)
    with pytest.raises(ridgeline.InvalidArgumentError):
        ridgeline.threshold_for_fmr(0.0)


def test_gallery_enroll_identify_remove(tmp_path, dev_templates, distractors):
    with ridgeline.Gallery.create(tmp_path / "g", operator="clerk-7") as g:
        assert g.operator == "clerk-7"
        g.enroll_many((f"d{i:03}", {2: t}) for i, t in enumerate(distractors))
        for finger, impressions in dev_templates.items():
            g.enroll(f"fvc{finger}", {2: impressions[0]})
        assert len(g) == len(distractors) + len(dev_templates)
        for finger, impressions in dev_templates.items():
            found = g.identify({2: impressions[1]}, top=3)
            assert found.candidates[0].id == f"fvc{finger}"
            assert found.candidates[0].finger == 2
            assert found.matched == f"fvc{finger}"
            assert found.searched == len(g)
            assert [c.score for c in found.candidates] == sorted((c.score for c in found.candidates), reverse=True)
            # Exhaustive search agrees.
            assert g.identify({2: impressions[1]}, top=1, exhaustive=True).candidates[0] == found.candidates[0]
        # A walk-in matches nobody.
        walk_in = ridgeline.synthetic_template(SEED + 1, 0)
        assert g.identify(walk_in).matched is None
        # Another finger position is not searched.
        assert g.identify({3: dev_templates[101][1]}).searched == 0
        # The same person under another id is refused.
        with pytest.raises(ridgeline.DuplicateSubjectError, match="fvc101"):
            g.enroll("impostor", {2: dev_templates[101][2]})
        with pytest.raises(ridgeline.AlreadyEnrolledError):
            g.enroll("fvc101", {2: dev_templates[101][2]})
        assert list(g.get("fvc101")) == [2]
        assert g.remove("fvc101") == 1
        with pytest.raises(ridgeline.SubjectNotFoundError):
            g.remove("fvc101")
        assert g.identify({2: dev_templates[101][1]}).matched is None
        stats = g.stats()
        assert stats["live_records"] == len(g)
        assert g.verify()["ok"]
        compacted = g.compact()
        assert compacted["records_dropped"] == 1
        assert g.identify({2: dev_templates[102][1]}).matched == "fvc102"
    with pytest.raises(ridgeline.GalleryClosedError):
        len(g)
    with ridgeline.Gallery.open(tmp_path / "g", read_only=True) as again:
        assert len(again) == len(distractors) + len(dev_templates) - 1
        with pytest.raises(ridgeline.GalleryReadOnlyError):
            again.remove("d000")


def test_multi_finger_identification_fuses_fingers(tmp_path):
    with ridgeline.Gallery.create(tmp_path / "g") as g:
        for s in range(100):
            fingers = {1: ridgeline.synthetic_template(SEED, 2 * s), 6: ridgeline.synthetic_template(SEED, 2 * s + 1)}
            assert g.enroll(f"p{s}", fingers, check_duplicate=False) == 2
        probe = {1: ridgeline.synthetic_template(SEED, 20, 1), 6: ridgeline.synthetic_template(SEED, 21, 1)}
        found = g.identify(probe, top=4)
        assert found.matched == "p10"
        assert found.subjects[0][0] == found.candidates[0].id == "p10"
        assert found.searched == 100 and found.records_searched == 200
        one = g.identify({1: probe[1]})
        # Two fingers of the person are far stronger evidence than one.
        assert found.candidates[0].fmr < one.candidates[0].fmr
        assert found.candidates[0].score > one.candidates[0].score
        assert [(f.probe_finger, f.finger) for f in found.candidates[0].fingers] == [(1, 1), (6, 6)]
        assert found.candidates[0].fmr <= found.fmr_threshold == pytest.approx(1e-4 / 100)
        # One candidate per subject.
        assert len({c.id for c in found.candidates}) == len(found.candidates) == 4
        # The bare Template form (unknown position) is compared with every record.
        unknown = g.identify(probe[6])
        assert unknown.searched == 100 and unknown.records_searched == 200
        assert unknown.matched == "p10" and unknown.candidates[0].finger == 6


def test_encrypted_gallery(tmp_path):
    key, other = bytes(range(32)), "ab" * 32
    t = ridgeline.synthetic_template(SEED, 1)
    with ridgeline.Gallery.create(tmp_path / "k", key=key) as g:
        g.enroll("sealed-person", {1: t})
    with pytest.raises(ridgeline.GalleryKeyError):
        ridgeline.Gallery.open(tmp_path / "k", read_only=True)
    with pytest.raises(ridgeline.GalleryKeyError, match="wrong key"):
        ridgeline.Gallery.open(tmp_path / "k", key=other, read_only=True)
    with pytest.raises(ridgeline.InvalidArgumentError):
        ridgeline.Gallery.open(tmp_path / "k", key=b"short", read_only=True)
    with ridgeline.Gallery.open(tmp_path / "k", key=key, read_only=True) as g:
        assert g.identify({1: ridgeline.synthetic_template(SEED, 1, 1)}).matched == "sealed-person"
    for f in (tmp_path / "k").iterdir():
        assert b"sealed-person" not in f.read_bytes(), f
    ridgeline.Gallery.create(tmp_path / "clear").close()
    with pytest.raises(ridgeline.GalleryKeyError, match="not encrypted"):
        ridgeline.Gallery.open(tmp_path / "clear", key=key)


def test_gallery_errors(tmp_path):
    with pytest.raises(ridgeline.RidgelineError):
        ridgeline.Gallery.open(tmp_path / "nowhere")
    with ridgeline.Gallery.create(tmp_path / "g") as g:
        t = ridgeline.synthetic_template(SEED, 1)
        with pytest.raises(ridgeline.GalleryLockedError, match="locked"):
            ridgeline.Gallery.open(tmp_path / "g")
        with pytest.raises(ridgeline.InvalidArgumentError, match="subject id"):
            g.enroll("", t)
        with pytest.raises(ridgeline.InvalidArgumentError, match="finger position"):
            g.enroll("x", {11: t})
        with pytest.raises(ridgeline.InvalidArgumentError):
            g.enroll("x", {})
        with pytest.raises(ridgeline.InvalidArgumentError):
            g.enroll("x", {1: "not a template"})
        with pytest.raises(ridgeline.InvalidArgumentError, match="fmr_per_search"):
            g.identify(t, fmr_per_search=2.0)
        with pytest.raises(ValueError):
            g.identify(t, top=0)


def test_identify_releases_the_gil(tmp_path):
    """Another Python thread runs while identify runs.

    With a switch interval far longer than the test, the interpreter never takes the GIL from
    a thread by force; the counting thread can run during the search only if identify lets go
    of the GIL itself."""
    with ridgeline.Gallery.create(tmp_path / "g") as g:
        assert g.enroll_many((f"s{f}", ridgeline.synthetic_template(SEED, f)) for f in range(2000)) == 2000
        probe = ridgeline.synthetic_template(SEED + 9, 0)
        in_call = threading.Event()
        counted = []

        def count():
            in_call.wait()
            n = 0
            while in_call.is_set() and n < 10_000:
                n += 1
            counted.append(n)

        def search():
            in_call.set()
            g.identify(probe, exhaustive=True)
            in_call.clear()

        old = sys.getswitchinterval()
        sys.setswitchinterval(100.0)
        try:
            counter = threading.Thread(target=count)
            counter.start()
            searcher = threading.Thread(target=search)
            searcher.start()
            searcher.join()
            counter.join()
        finally:
            sys.setswitchinterval(old)
        assert counted == [10_000]


def cli_binary():
    """The `ridgeline` command of this checkout (RIDGELINE_BIN, else a cargo target dir)."""
    named = os.environ.get("RIDGELINE_BIN")
    if named:
        return named
    targets = [os.environ.get("CARGO_TARGET_DIR"), str(REPO / "target")]
    for target in filter(None, targets):
        for profile in ("debug", "release"):
            path = os.path.join(target, profile, "ridgeline")
            if os.access(path, os.X_OK):
                return path
    print("SKIPPED: no ridgeline binary (build it with cargo build -p ridgeline-cli, or set RIDGELINE_BIN)")
    pytest.skip("SKIPPED: no ridgeline binary")


def test_identify_equals_the_cli(tmp_path, dev_templates, distractors):
    """Gallery.identify and `ridgeline identify --json` decide alike on one gallery: the same
    candidates, scores, rates, evidence and decision."""
    binary = cli_binary()
    records, probes = people(dev_templates, distractors)
    with ridgeline.Gallery.create(tmp_path / "g") as g:
        g.enroll_many(records[:-5])
        for sid, fingers in records[-5:]:
            g.enroll(sid, fingers)
    decisions = []
    with ridgeline.Gallery.open(tmp_path / "g", read_only=True) as g:
        for n, probe in enumerate(probes):
            fingers = probe if isinstance(probe, dict) else {0: probe}
            args = []
            for position, template in fingers.items():
                path = tmp_path / f"probe{n}-{position}.rdt"
                path.write_bytes(template.to_bytes())
                args += ["--print", f"{position}={path}"]
            cli = json.loads(subprocess.run(
                [binary, "identify", "--gallery", str(tmp_path / "g"), *args, "--top", "5", "--json"],
                capture_output=True, text=True, check=True).stdout)
            # The probes as the CLI read them.
            loaded = {p: ridgeline.Template.load(tmp_path / f"probe{n}-{p}.rdt") for p in fingers}
            found = g.identify(loaded, top=5)
            assert [
                (c.id, c.finger, c.score, c.fmr, [(f.finger, f.probe_finger, f.score, f.fmr) for f in c.fingers])
                for c in found.candidates
            ] == [
                (c["id"], c["finger"], c["score"], c["fmr"],
                 [(f["finger"], f["probe_finger"], f["score"], f["fmr"]) for f in c["fingers"]])
                for c in cli["candidates"]
            ], f"probe {n}"
            assert found.matched == cli["matched"], f"probe {n}"
            decisions.append(found.matched)
            assert (found.searched, found.records_searched, found.compared, found.escalated) == (
                cli["searched"], cli["records_searched"], cli["compared"], cli["escalated"])
            assert (found.fmr_threshold, found.match_threshold) == (cli["threshold_fmr"], cli["match_threshold"])
    # Both kinds of decision were compared: matches (two-finger people among them) and none.
    assert decisions[:3] == ["fvc101"] * 3
    assert None in decisions


def test_dedup_report_matches_cli_shape(tmp_path):
    with ridgeline.Gallery.create(tmp_path / "g") as g:
        for s in range(60):
            g.enroll(f"r{s:02}", {1: ridgeline.synthetic_template(SEED, s)}, check_duplicate=False)
        # Two planted duplicates: another impression of subjects 3 and 40 under new ids.
        g.enroll("dup3", {1: ridgeline.synthetic_template(SEED, 3, 2)}, check_duplicate=False)
        g.enroll("dup40", {1: ridgeline.synthetic_template(SEED, 40, 1)}, check_duplicate=False)
        report = g.dedup(1e-4)
    assert set(report) >= {"clusters", "flags", "stats"}
    linked = sorted(sorted(r["record_id"] if isinstance(r, dict) else r for r in c["records"]) for c in report["clusters"])
    assert linked == [["dup3", "r03"], ["dup40", "r40"]]
    assert report["stats"]["records"] == 62
    assert report["stats"]["clusters"] == 2
    again = ridgeline.dedup(tmp_path / "g", 1e-4, exhaustive=True)
    assert again["clusters"] == report["clusters"] or [c["records"] for c in again["clusters"]] == [c["records"] for c in report["clusters"]]


def test_dedup_writes_the_clerks_html_page_as_the_cli_does(tmp_path):
    with ridgeline.Gallery.create(tmp_path / "g") as g:
        for s in range(30):
            g.enroll(f"r{s:02}", {1: ridgeline.synthetic_template(SEED, s)}, check_duplicate=False)
        g.enroll("dup7", {1: ridgeline.synthetic_template(SEED, 7, 1)}, check_duplicate=False)
        page = tmp_path / "page.html"
        report = g.dedup(1e-4, html=page)
    clusters = [[r["record_id"] for r in c["records"]] for c in report["clusters"]]
    assert sorted(sorted(c) for c in clusters) == [["dup7", "r07"]]
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.endswith("</html>\n")
    for records in clusters:
        assert f'data-cluster="{"~".join(records)}"' in text
        assert all(f"<th>{r}</th>" in text for r in records)
    assert "<svg" in text  # the pair's prints, drawn from their templates
    assert page.stat().st_mode & 0o777 == 0o600  # it names people: owner-only
    # The module function takes it too; a page that cannot be written is an IoError (OSError).
    with pytest.raises(ridgeline.IoError):
        ridgeline.dedup(tmp_path / "g", 1e-4, html=tmp_path / "missing" / "page.html")
    # The CLI's page of the same gallery is the same page; only the report hash differs, since
    # the report it names holds the run's timings.
    binary = cli_binary()
    cli_page = tmp_path / "cli.html"
    subprocess.run([binary, "dedup", "--gallery", str(tmp_path / "g"), "--out", str(tmp_path / "r.json"),
                    "--html", str(cli_page)], check=True, capture_output=True)
    unhashed = lambda t: re.sub(r'data-report="[0-9a-f]+"', 'data-report=""', t)
    assert unhashed(cli_page.read_text(encoding="utf-8")) == unhashed(text)


def test_help_is_useful():
    doc = ridgeline.Gallery.identify.__doc__
    assert "fmr_per_search" in doc and "Identification" in doc and "fingers" in doc
    assert "RidgelineError" in [c.__name__ for c in ridgeline.InvalidArgumentError.__mro__]


def test_distributed_without_ray_says_how_to_install():
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "try:\n"
        "    import ridgeline.distributed\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install ridgeline[ray]" in out
    # The rest of the package works.
    subprocess.run([sys.executable, "-c", "import sys; sys.modules['ray'] = None; import ridgeline; ridgeline.synthetic_template(1, 1)"], check=True)


def test_operator_is_recorded_in_the_audit_trail(tmp_path, distractors):
    with ridgeline.Gallery.create(tmp_path / "g", operator="clerk-py") as g:
        g.enroll("d000", {2: distractors[0]})
    with ridgeline.Gallery.open(tmp_path / "g", operator="desk-py", read_only=True) as g:
        found = g.identify({2: distractors[0]})
        assert found.matched == "d000"
        g.identify({2: distractors[1]})
    trail = (tmp_path / "g" / "AUDIT").read_bytes()
    assert trail.count(b"clerk-py") == 2  # creation and enrolment
    assert trail.count(b"desk-py") == 2  # two searches and their decisions
    with pytest.raises(ridgeline.InvalidArgumentError):
        ridgeline.Gallery.open(tmp_path / "g", operator="two\nlines", read_only=True)


def test_a_shard_refuses_to_score_a_damaged_descriptor(tmp_path, distractors):
    """Phase 2 of a sharded search fails on a descriptor that fails its checksum, as a single
    gallery's search does, instead of scoring it as someone else or skipping it."""
    with ridgeline.Gallery.create(tmp_path / "g") as g:
        g.enroll_many((f"d{i:03}", {1: t}) for i, t in enumerate(distractors[:20]))
    segment = sorted((tmp_path / "g").glob("*.seg"))[0]
    data = bytearray(segment.read_bytes())
    data[128 + 40] ^= 0x5A  # inside record 0's descriptor (the records start after the header)
    segment.write_bytes(bytes(data))
    with ridgeline.Gallery.open(tmp_path / "g") as g:
        search = g._coarse({1: distractors[0]}, 64)
        _, _, parts = search.lists()
        # The probe's finger 1, and the records of unknown position (none here).
        assert [(finger, searched, len(scores)) for _, finger, searched, scores in parts] == [(1, 20, 20), (0, 0, 0)]
        with pytest.raises(ridgeline.GalleryDamagedError, match="descriptor checksum"):
            search.rerank(0, list(range(20)))
        # One position by one: exactly the damaged record fails, the others score.
        failed = 0
        for position in range(20):
            try:
                [(at, score, _, finger)] = search.rerank(0, [position])
                assert (at, finger) == (position, 1) and 0.0 <= score <= 1.0
            except ridgeline.GalleryDamagedError:
                failed += 1
        assert failed == 1
