"""A job from start to end: consolidation, Ground Truth's output layout, stopping, expiry, the audit trail."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from labelloop.services.background import run_background_once
from tests.conftest import write_labels

DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


def _answer_all(api, job, pick):
    """Each of w1..w3 answers every task they get; pick(worker, task) -> answer."""
    for w in ["w1", "w2", "w3"]:
        client = api(w)
        r = client.post(f"/api/v1/worker/jobs/{job}/next-task")
        task = r.json() if r.status_code == 200 else None
        while task:
            r = client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit",
                            json={"answer": pick(w, task), "next": True})
            assert r.status_code == 200, r.text
            task = r.json()["next_task"]


def _manifest(path: str) -> list[dict]:
    return [json.loads(x) for x in Path(path).read_text().splitlines()]


def test_single_label_job_writes_ground_truth_output(api, ctx, text_job_spec):
    job = api("req").post("/api/v1/jobs", json=text_job_spec(n=4, consolidation_algorithm="majority-vote")).json()
    # object 3: two say negative, one positive; the others unanimous positive
    _answer_all(api, "reviews", lambda w, t: {"crowd-classifier": {
        "label": "negative" if t["dataset_object_id"] == 3 and w != "w1" else "positive"}})
    run_background_once(ctx)
    done = api("req").get("/api/v1/jobs/reviews").json()
    assert done["status"] == "Completed"
    assert done["label_counters"] == {"TotalLabeled": 4, "HumanLabeled": 4, "MachineLabeled": 0,
                                      "FailedNonRetryableError": 0, "Unlabeled": 0}
    lines = _manifest(job["output_manifest_uri"])
    assert len(lines) == 4
    for i, line in enumerate(lines):
        assert list(line) == ["source", "review-id", "sentiment", "sentiment-metadata"]
        assert line["source"] == f"review number {i}" and line["review-id"] == f"r{i}"
        meta = line["sentiment-metadata"]
        assert list(meta) == ["confidence", "job-name", "class-name", "human-annotated", "creation-date", "type"]
        assert meta["type"] == "groundtruth/text-classification"
        assert meta["job-name"] == "labeling-job/reviews"
        assert meta["human-annotated"] == "yes"
        assert DATE.match(meta["creation-date"])
        assert 0 <= meta["confidence"] <= 1
    assert [x["sentiment"] for x in lines] == [0, 0, 0, 1]
    assert [x["sentiment-metadata"]["class-name"] for x in lines] == ["positive"] * 3 + ["negative"]
    assert [x["sentiment-metadata"]["confidence"] for x in lines] == [0.95, 0.95, 0.95, 0.67]  # Ground Truth writes at most 0.95
    # annotations/worker-response/iteration-1/<id>/<timestamp>.json with GT's answer entries
    root = Path(job["output_uri"])
    responses = sorted((root / "annotations/worker-response/iteration-1/3").glob("*.json"))
    assert len(responses) == 1 and re.match(r"\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.json", responses[0].name)
    answers = json.loads(responses[0].read_text())["answers"]
    assert len(answers) == 3
    assert set(answers[0]) == {"acceptanceTime", "submissionTime", "timeSpentInSeconds", "workerId",
                               "workerMetadata", "answerContent"}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", answers[0]["submissionTime"])
    request = json.loads(next((root / "annotations/consolidated-annotation/consolidation-request/iteration-1")
                              .glob("*.json")).read_text())
    assert request[0]["dataObject"] == {"content": "review number 0"}
    assert json.loads(request[0]["annotations"][0]["annotationData"]["content"]) == {
        "crowd-classifier": {"label": "positive"}}
    response = json.loads(next((root / "annotations/consolidated-annotation/consolidation-response/iteration-1")
                               .glob("*.json")).read_text())
    assert response[3]["consolidatedAnnotation"]["content"]["sentiment"] == 1
    assert (root / "manifests/intermediate/1/output.manifest").read_text() == Path(job["output_manifest_uri"]).read_text()


def test_multilabel_job_writes_class_and_confidence_maps(api, ctx, tmp_path, text_job_spec):
    labels = write_labels(tmp_path / "tags.json", ["person", "car", "bicycle"])
    spec = text_job_spec(name="tags", n=2, task_type="text-classification-multilabel", label_attribute_name="tags",
                         label_config_uri=str(labels))
    job = api("req").post("/api/v1/jobs", json=spec).json()
    _answer_all(api, "tags", lambda w, t: {"crowd-classifier-multi-select": {
        "labels": ["person", "bicycle"] if w == "w1" else ["person"]}})
    run_background_once(ctx)
    line = _manifest(job["output_manifest_uri"])[0]
    assert line["tags"] == [0, 2]
    meta = line["tags-metadata"]
    assert meta["class-map"] == {"0": "person", "2": "bicycle"}
    assert set(meta["confidence-map"]) == {"0", "2"}
    assert meta["confidence-map"]["0"] > meta["confidence-map"]["2"]
    assert meta["type"] == "groundtruth/text-classification-multilabel"


def test_one_worker_per_object_gives_zero_confidence(api, ctx, text_job_spec):
    job = api("req").post("/api/v1/jobs", json=text_job_spec(n=1, workers_per_object=1)).json()
    _answer_all(api, "reviews", lambda w, t: {"crowd-classifier": {"label": "negative"}})
    run_background_once(ctx)
    meta = _manifest(job["output_manifest_uri"])[0]["sentiment-metadata"]
    assert meta["confidence"] == 0.0 and meta["class-name"] == "negative"


def test_output_is_readable_while_the_job_runs(api, ctx, text_job_spec):
    job = api("req").post("/api/v1/jobs", json=text_job_spec(n=3, workers_per_object=1)).json()
    client = api("w1")
    task = client.post("/api/v1/worker/jobs/reviews/next-task").json()
    client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": {"label": "positive"}})
    run_background_once(ctx)
    assert api("req").get("/api/v1/jobs/reviews").json()["status"] == "InProgress"
    lines = _manifest(job["output_manifest_uri"])
    assert "sentiment" in lines[0] and "sentiment" not in lines[1] and "sentiment" not in lines[2]
    assert lines[1] == {"source": "review number 1", "review-id": "r1"}


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_output_files_honour_the_umask(api, ctx, text_job_spec, monkeypatch, umask, mode):
    from labelloop import storage

    old = os.umask(umask)
    monkeypatch.setattr(storage, "_UMASK", None)  # read again, as a process started with this umask would
    try:
        job = api("req").post("/api/v1/jobs", json=text_job_spec(n=1, workers_per_object=1)).json()
        _answer_all(api, "reviews", lambda w, t: {"label": "positive"})
        run_background_once(ctx)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(job["output_manifest_uri"]).st_mode) == mode
    root = Path(job["output_manifest_uri"]).parents[2]
    written = [p for p in root.rglob("*") if p.is_file()]
    assert written and all(stat.S_IMODE(p.stat().st_mode) == mode for p in written)


def test_stopping_ends_leases_and_keeps_labels(api, ctx, text_job_spec):
    job = api("req").post("/api/v1/jobs", json=text_job_spec(n=3, workers_per_object=1)).json()
    client = api("w1")
    first = client.post("/api/v1/worker/jobs/reviews/next-task").json()
    second = client.post(f"/api/v1/worker/tasks/{first['task_id']}/submit",
                         json={"answer": {"label": "negative"}, "next": True}).json()["next_task"]
    r = api("req").post("/api/v1/jobs/reviews/stop")
    assert r.json()["status"] == "Stopping"
    late = client.post(f"/api/v1/worker/tasks/{second['task_id']}/submit", json={"answer": {"label": "positive"}})
    assert late.status_code == 409 and "stopped" in late.json()["message"]
    assert api("w2").post("/api/v1/worker/jobs/reviews/next-task").status_code == 204
    run_background_once(ctx)
    done = api("req").get("/api/v1/jobs/reviews").json()
    assert done["status"] == "Stopped"
    assert done["label_counters"]["TotalLabeled"] == 1 and done["label_counters"]["Unlabeled"] == 2
    lines = _manifest(job["output_manifest_uri"])
    assert lines[0]["sentiment-metadata"]["class-name"] == "negative"
    assert api("req").post("/api/v1/jobs/reviews/stop").status_code == 409


def test_availability_lifetime_consolidates_partial_and_fails_unanswered(api, ctx, clock, text_job_spec):
    api("req").post("/api/v1/jobs", json=text_job_spec(n=2, task_availability_lifetime_s=600))
    client = api("w1")
    task = client.post("/api/v1/worker/jobs/reviews/next-task").json()
    client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": {"label": "positive"}})
    clock.advance(601)
    assert api("w2").post("/api/v1/worker/jobs/reviews/next-task").status_code == 204
    run_background_once(ctx)
    job = api("req").get("/api/v1/jobs/reviews").json()
    assert job["status"] == "Completed"
    assert job["label_counters"]["TotalLabeled"] == 1
    assert job["label_counters"]["FailedNonRetryableError"] == 1
    failed = api("req").get("/api/v1/events", params={"job": "reviews", "kind": "object.failed"}).json()["events"]
    assert [e["dataset_object_id"] for e in failed] == [1]


def test_audit_trail_filters_by_job_worker_and_object(api, ctx, text_job_spec):
    api("req").post("/api/v1/jobs", json=text_job_spec(n=2, workers_per_object=1))
    _answer_all(api, "reviews", lambda w, t: {"label": "positive"})
    run_background_once(ctx)
    events = api("req").get("/api/v1/events", params={"job": "reviews"}).json()["events"]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "job.created" and kinds[-1] == "job.completed"
    assert kinds.count("task.leased") == 2 and kinds.count("answer.submitted") == 2
    assert kinds.count("object.consolidated") == 2
    assert all(e["at"] and e["actor"] and e["job"] == "reviews" for e in events)
    obj = api("req").get("/api/v1/events", params={"job": "reviews", "object": 1}).json()["events"]
    assert {e["dataset_object_id"] for e in obj} == {1}
    by_worker = api("req").get("/api/v1/events", params={"worker": "w1"}).json()["events"]
    assert by_worker and all(e["actor"] in ("w1",) for e in by_worker)
    # a worker sees only their own events
    assert all(e["worker_id"] == api("w2").get("/api/v1/me").json()["id"]
               for e in api("w2").get("/api/v1/events").json()["events"])


def test_describe_lists_open_leases_with_who_holds_them_until_when(api, ctx, clock, text_job_spec):
    api("req").post("/api/v1/jobs", json=text_job_spec(n=3, workers_per_object=1, task_time_limit_s=60))
    t1 = api("w1").post("/api/v1/worker/jobs/reviews/next-task").json()
    clock.advance(5)
    t2 = api("w2").post("/api/v1/worker/jobs/reviews/next-task").json()
    done = api("w3").post("/api/v1/worker/jobs/reviews/next-task").json()
    api("w3").post(f"/api/v1/worker/tasks/{done['task_id']}/submit", json={"answer": {"label": "positive"}})
    leases = api("req").get("/api/v1/jobs/reviews").json()["open_leases"]
    assert leases == [
        {"task_id": t1["task_id"], "dataset_object_id": t1["dataset_object_id"], "worker": "w1",
         "leased_at": "2026-01-05T09:00:00Z", "lease_expires_at": "2026-01-05T09:01:00Z"},
        {"task_id": t2["task_id"], "dataset_object_id": t2["dataset_object_id"], "worker": "w2",
         "leased_at": "2026-01-05T09:00:05Z", "lease_expires_at": "2026-01-05T09:01:05Z"},
    ]
    assert api("req").get("/api/v1/jobs").json()["jobs"][0]["open_leases"] is None
    api("w1").post(f"/api/v1/worker/tasks/{t1['task_id']}/release")
    assert [x["worker"] for x in api("admin").get("/api/v1/jobs/reviews").json()["open_leases"]] == ["w2"]
    assert api("w1").get("/api/v1/jobs/reviews").status_code == 403  # a team member does not see who holds what
