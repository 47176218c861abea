"""Custom templates are checked at job creation; hooks can be Python callables registered by entry point."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from labelloop.services.background import run_background_once
from labelloop.services.templates import render_task


def pre_hook(event: dict) -> dict:
    """A pre-annotation hook as Ground Truth's Lambda would be: upper-cases the text, skips empty ones."""
    text = event["dataObject"]["source"]
    return {"taskInput": {"shout": text.upper()}, "isHumanAnnotationRequired": bool(text.strip())}


def test_a_broken_template_is_reported_to_the_requester(api, text_job_spec):
    r = api("req").post("/api/v1/jobs", json=text_job_spec(
        task_type="custom", label_config_uri=None, ui_template="<crowd-form>{% if task.input.source %}</crowd-form>"))
    assert r.status_code == 400
    assert r.json()["field"] == "ui_template" and "if" in r.json()["message"]
    assert api("req").get("/api/v1/jobs/reviews").status_code == 404


def test_unknown_hook_references_are_rejected(api, text_job_spec):
    for ref in ["ftp://x", "python:not-registered"]:
        r = api("req").post("/api/v1/jobs", json=text_job_spec(pre_hook=ref))
        assert r.status_code == 400 and r.json()["field"] == "pre_hook", ref


def test_entry_point_pre_hook_feeds_the_template(api, ctx, people, tmp_path, monkeypatch, text_job_spec):
    dist = tmp_path / "site" / "labelloop_test_hooks-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: labelloop-test-hooks\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[labelloop.hooks]\nshout = tests.api.test_hooks_and_templates:pre_hook\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    from tests.conftest import write_manifest

    manifest = write_manifest(tmp_path / "m.manifest", [{"source": "quiet words"}, {"source": "   "}])
    spec = text_job_spec(input_manifest_uri=str(manifest), task_type="custom", label_config_uri=None,
                         workers_per_object=1, pre_hook="python:shout",
                         ui_template="<crowd-form><p class=t>{{ task.input.shout }}</p>"
                                     "<crowd-input name=note></crowd-input></crowd-form>")
    assert api("req").post("/api/v1/jobs", json=spec).status_code == 201, sys.path[:2]
    assert api("w1").post("/api/v1/worker/jobs/reviews/next-task").status_code == 204  # not preprocessed yet
    run_background_once(ctx)
    task = api("w1").post("/api/v1/worker/jobs/reviews/next-task").json()
    assert "<p class=t>QUIET WORDS</p>" in render_task(ctx, people["w1"], task["task_id"])
    r = api("w1").post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": {"note": "ok"}})
    assert r.status_code == 200
    run_background_once(ctx)
    job = api("req").get("/api/v1/jobs/reviews").json()
    assert job["status"] == "Completed"
    assert job["label_counters"]["HumanLabeled"] == 1
    line = json.loads(Path(job["output_manifest_uri"]).read_text().splitlines()[0])
    # no post-annotation hook: Ground Truth writes {} and points at the worker responses
    assert line["sentiment"] == {}
    assert line["sentiment-metadata"]["type"] == "groundtruth/custom"
    assert "/annotations/worker-response/iteration-1/0/" in line["sentiment-metadata"]["worker-response-ref"]
