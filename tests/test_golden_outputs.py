"""Golden files of Ground Truth's output formats (spec §2), one folder per task type under tests/golden/: a change
of format shows as a diff of these files.

Each test creates a small job through the REST API, has the workers of the ``people`` fixture claim and submit
fixed answers through the worker API on a fixed clock, runs background passes until the job is Completed, and
compares with tests/golden/<task-type>/:

- ``worker-response.json``: the worker-response file of one object (``annotations/worker-response/...``),
- ``consolidation-request.json``: the consolidation request file(s) (``.../consolidation-request/iteration-1/``),
- ``output.manifest``: the output manifest (``manifests/output/output.manifest``).

Only the temporary directory in URIs is replaced (by ``<tmp>``); everything else is as written. The files come
out identical on SQLite and PostgreSQL (worker ids are the users' ids, which both number from 1 in a fresh
database), so the test runs on both engines against the same files.

To accept a deliberate format change, rewrite the files and review the diff::

    LABELLOOP_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden_outputs.py

Only the public HTTP API and ``run_background_once`` are used, so that this checks what users see and survives
refactors of the internals.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from labelloop.services.background import run_background_once
from tests.conftest import write_labels, write_manifest

GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("LABELLOOP_UPDATE_GOLDEN") == "1"
SUB = re.compile(r'"sub": "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"')
WORKERS = ["w1", "w2", "w3"]
LABELS = ["cat", "dog", "bird"]
TEXTS = ["The cat sat on the mat.", "A dog barked at the postman.", "Birds sing at dawn.", "Nobody knows."]
IMAGES = [f"s3://acme-raw/pets/p{i}.jpg" for i in range(4)]

# (object index, worker) -> the answer's label(s): unanimous, 2 of 3, split three ways, unanimous
SINGLE = {0: ["cat", "cat", "cat"], 1: ["dog", "dog", "cat"], 2: ["bird", "dog", "cat"], 3: ["dog", "dog", "dog"]}
MULTI = {0: [["cat"], ["cat", "dog"], ["cat"]], 1: [["dog", "bird"], ["dog"], ["bird", "dog"]],
         2: [[], ["bird"], ["cat", "bird"]], 3: [["cat", "dog", "bird"], ["dog"], ["dog"]]}
# named entities: unanimous, a boundary 2 of 3, a span only one worker tags, nothing
SPANS = {0: [[(4, 7, "cat")]] * 3, 1: [[(2, 5, "dog")], [(2, 5, "dog")], [(0, 5, "dog")]],
         2: [[(0, 5, "bird")], [], []], 3: [[], [], []]}
# boxes: unanimous, one worker a few pixels off, a box only one worker drew, two labels overlapping and a worker
# who drew nothing
BOXES = {0: [[("cat", 10, 20, 100, 80)]] * 3,
         1: [[("dog", 50, 60, 120, 90)], [("dog", 54, 60, 120, 94)], [("dog", 50, 62, 118, 90)]],
         2: [[("bird", 300, 200, 40, 40)], [], []],
         3: [[("cat", 10, 10, 200, 150), ("dog", 20, 20, 180, 140)], [("cat", 10, 10, 200, 150), ("dog", 20, 20, 180, 140)],
             []]}
SHAPE = [(10, 10), (110, 10), (60, 90)]
BOXES_AS_POLYGONS = {0: [[("cat", 0)]] * 3, 1: [[("dog", 0)], [("dog", 3)], [("dog", -2)]], 2: [[("bird", 0)], [], []],
                     3: [[], [], []]}
POINTS = {0: [("cat", 100, 100), ("dog", 120, 100)], 1: [("bird", 50, 50)], 2: [], 3: [("cat", 10, 10), ("cat", 400, 300)]}
TEMPLATE = ("<crowd-form><p>{{ task.input.source }}</p><crowd-input name=\"summary\"></crowd-input>"
            "<crowd-checkbox name=\"flags\" value=\"unclear\"></crowd-checkbox></crowd-form>")

CASES = {
    # task type: (crowd element, media, workers per object, answer for (object index, worker index))
    "image-classification": ("crowd-image-classifier", "image", 3,
                             lambda i, w: {"crowd-image-classifier": {"label": SINGLE[i][w]}}),
    "text-classification": ("crowd-classifier", "text", 3, lambda i, w: {"crowd-classifier": {"label": SINGLE[i][w]}}),
    "image-classification-multilabel": ("crowd-image-classifier-multi-select", "image", 3,
                                        lambda i, w: {"crowd-image-classifier-multi-select": {"labels": MULTI[i][w]}}),
    "text-classification-multilabel": ("crowd-classifier-multi-select", "text", 3,
                                       lambda i, w: {"crowd-classifier-multi-select": {"labels": MULTI[i][w]}}),
    "custom": (None, "text", 1, lambda i, w: {"summary": f"about {TEXTS[i].split()[1]}", "flags": {"unclear": i == 3}}),
    "named-entity-recognition": ("crowd-entity-annotation", "text", 3,
                                 lambda i, w: {"crowd-entity-annotation": {"entities": [
                                     {"label": lb, "startOffset": s, "endOffset": e} for s, e, lb in SPANS[i][w]]}}),
    "bounding-box": ("crowd-bounding-box", "image", 3, lambda i, w: {"boundingBox": {
        "boundingBoxes": [dict(zip(("label", "left", "top", "width", "height"), b)) for b in BOXES[i][w]],
        "inputImageProperties": {"width": 640, "height": 480}}}),
    "polygon": ("crowd-polygon", "image", 3, lambda i, w: {"crowd-polygon": {
        "polygons": [{"label": lb, "vertices": [{"x": x + dx, "y": y} for x, y in SHAPE]} for lb, dx in BOXES_AS_POLYGONS[i][w]],
        "inputImageProperties": {"width": 640, "height": 480}}}),
    "keypoint": ("crowd-keypoint", "image", 3, lambda i, w: {"crowd-keypoint": {
        "keypoints": [{"label": lb, "x": x + w, "y": y} for lb, x, y in POINTS[i]],
        "inputImageProperties": {"width": 640, "height": 480}}}),
}


def _create_job(api, tmp_path: Path, task_type: str) -> dict:
    _element, media, per_object, _answer = CASES[task_type]
    rows = ([{"source-ref": u, "pet-id": f"p{i}"} for i, u in enumerate(IMAGES)] if media == "image"
            else [{"source": t, "line": i} for i, t in enumerate(TEXTS)])
    spec = {"name": "golden", "task_type": task_type, "label_attribute_name": "animal",
            "input_manifest_uri": str(write_manifest(tmp_path / "in.manifest", rows)),
            "output_uri": str(tmp_path / "out"), "team": "crew", "workers_per_object": per_object,
            "task_time_limit_s": 300, "task_availability_lifetime_s": 3600}
    if task_type == "custom":
        spec["ui_template"] = TEMPLATE
    else:
        spec["label_config_uri"] = str(write_labels(tmp_path / "labels.json", LABELS))
    r = api("req").post("/api/v1/jobs", json=spec)
    assert r.status_code == 201, r.text
    return r.json()


def _label(api, ctx, clock, task_type: str) -> None:
    """Each worker in turn takes tasks until there are none left for them, answering after 7 s on the clock."""
    answer = CASES[task_type][3]
    run_background_once(ctx, force_output=True)  # past Initializing, if the job starts there
    for w, name in enumerate(WORKERS):
        client = api(name)
        while (r := client.post("/api/v1/worker/jobs/golden/next-task")).status_code == 200:
            task = r.json()
            clock.advance(7)
            body = {"answer": answer(task["dataset_object_id"], w)}
            s = client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json=body)
            assert s.status_code == 200, s.text
            clock.advance(1)
        assert r.status_code == 204, r.text


def _run_until_completed(api, ctx, clock) -> dict:
    for _ in range(20):  # each pass does all it can; a few are plenty
        run_background_once(ctx, force_output=True)
        job = api("req").get("/api/v1/jobs/golden").json()
        if job["status"] == "Completed":
            return job
        clock.advance(1)
    pytest.fail(f"job never completed: {job}")


def _normalise(text: str, tmp_path: Path) -> str:
    """Only the temporary directory (in URIs, also as JSON-escaped in strings) and the workers' random opaque
    identity ids (``sub``) vary between runs."""
    return SUB.sub('"sub": "<uuid>"', text.replace(str(tmp_path), "<tmp>"))


def _compare(task_type: str, name: str, actual: str) -> None:
    golden = GOLDEN / task_type / name
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
        return
    assert golden.exists(), f"{golden} is missing: run with LABELLOOP_UPDATE_GOLDEN=1 to write it"
    assert actual == golden.read_text(encoding="utf-8"), (
        f"{name} of {task_type} differs from {golden}; if the change is meant, rewrite the golden files with "
        "LABELLOOP_UPDATE_GOLDEN=1 and review their diff")


@pytest.mark.parametrize("task_type", list(CASES))
def test_output_files_match_the_golden_files(api, ctx, clock, tmp_path, task_type, allow_storage):
    allow_storage("s3://acme-raw")  # the images the manifest names (never read: the workers' answers are given)
    _create_job(api, tmp_path, task_type)
    _label(api, ctx, clock, task_type)
    job = _run_until_completed(api, ctx, clock)
    out = tmp_path / "out" / "golden"
    assert Path(job["output_manifest_uri"]) == out / "manifests/output/output.manifest"

    responses = sorted((out / "annotations/worker-response/iteration-1").glob("*/*.json"))
    assert responses, "no worker-response files"
    one = [p for p in responses if p.parent.name == "1"]
    assert len(one) == 1, [str(p.relative_to(out)) for p in responses]
    _compare(task_type, "worker-response.json", _normalise(
        json.dumps({"path": str(one[0].relative_to(out)), "content": json.loads(one[0].read_text())}, indent=2) + "\n",
        tmp_path))

    requests = sorted((out / "annotations/consolidated-annotation/consolidation-request/iteration-1").glob("*.json"))
    assert requests, "no consolidation-request file"
    _compare(task_type, "consolidation-request.json", _normalise(json.dumps(
        [{"path": str(p.relative_to(out)), "content": json.loads(p.read_text())} for p in requests], indent=2) + "\n",
        tmp_path))

    _compare(task_type, "output.manifest", _normalise(job_manifest(out), tmp_path))


def job_manifest(out: Path) -> str:
    """The output manifest as written (one JSON line per object, in input order)."""
    return (out / "manifests/output/output.manifest").read_text(encoding="utf-8")
