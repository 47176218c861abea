"""The worker API: next task, submit, release, leases, N distinct workers, foreign and late answers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from labelloop.db.models import DataObject, Event, Task
from labelloop.services.background import run_background_once
from labelloop.web.app import create_app

POS = {"crowd-classifier": {"label": "positive"}}


@pytest.fixture(params=["hot-path", "routes"])
def app(ctx, request):
    """The worker API runs twice: with the hot path (``web.hot``) and with the FastAPI routes alone."""
    return create_app(ctx=ctx, hot_paths=request.param == "hot-path")


def _job(api, text_job_spec, **kw):
    r = api("req").post("/api/v1/jobs", json=text_job_spec(**kw))
    assert r.status_code == 201, r.text
    return r.json()


def test_next_task_shows_the_data_and_labels(api, text_job_spec):
    _job(api, text_job_spec)
    r = api("w1").post("/api/v1/worker/jobs/reviews/next-task")
    assert r.status_code == 200
    task = r.json()
    assert task["dataset_object_id"] == 0
    assert task["data"] == {"source": "review number 0"}
    assert task["labels"] == ["positive", "negative"]
    assert task["lease_expires_at"] > task["leased_at"]
    # asking again returns the task already held, not a second one
    assert api("w1").post("/api/v1/worker/jobs/reviews/next-task").json()["task_id"] == task["task_id"]


def test_each_object_goes_to_n_distinct_workers_and_never_more(api, ctx, text_job_spec):
    _job(api, text_job_spec, n=2, workers_per_object=3)
    seen = {}
    for w in ["w1", "w2", "w3", "w4"]:
        client = api(w)
        first = client.post("/api/v1/worker/jobs/reviews/next-task")
        task = first.json() if first.status_code == 200 else None
        while task:
            seen.setdefault(task["dataset_object_id"], []).append(w)
            r = client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": POS, "next": True})
            assert r.status_code == 200, r.text
            task = r.json()["next_task"]
    assert {k: len(v) for k, v in seen.items()} == {0: 3, 1: 3}
    assert all(len(set(v)) == 3 for v in seen.values())
    assert api("w4").post("/api/v1/worker/jobs/reviews/next-task").status_code == 204
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.max(DataObject.answer_count))).scalar() == 3


def test_expired_lease_returns_the_task_to_the_pool(api, ctx, clock, text_job_spec):
    _job(api, text_job_spec, n=1, workers_per_object=1, task_time_limit_s=60)
    task = api("w1").post("/api/v1/worker/jobs/reviews/next-task").json()
    assert api("w2").post("/api/v1/worker/jobs/reviews/next-task").status_code == 204
    clock.advance(61)
    other = api("w2").post("/api/v1/worker/jobs/reviews/next-task")
    assert other.status_code == 200 and other.json()["dataset_object_id"] == 0
    late = api("w1").post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": POS})
    assert late.status_code == 409
    assert "expired" in late.json()["message"]
    with ctx.engine.connect() as conn:
        kinds = conn.execute(select(Event.kind).where(Event.task_id == task["task_id"]).order_by(Event.id)).scalars().all()
    assert kinds == ["task.leased", "task.expired", "answer.rejected"]


def test_release_gives_the_task_to_someone_else(api, text_job_spec):
    _job(api, text_job_spec, n=1, workers_per_object=1)
    task = api("w1").post("/api/v1/worker/jobs/reviews/next-task").json()
    assert api("w1").post(f"/api/v1/worker/tasks/{task['task_id']}/release").json()["status"] == "released"
    assert api("w2").post("/api/v1/worker/jobs/reviews/next-task").json()["dataset_object_id"] == 0
    # the worker who released it does not get it back, and cannot release twice
    assert api("w1").post("/api/v1/worker/jobs/reviews/next-task").status_code == 204
    assert api("w1").post(f"/api/v1/worker/tasks/{task['task_id']}/release").status_code == 409


def test_answers_are_validated_and_rejections_audited(api, ctx, text_job_spec):
    _job(api, text_job_spec, n=1)
    client = api("w1")
    task = client.post("/api/v1/worker/jobs/reviews/next-task").json()
    cases = [
        ({"crowd-classifier": {"label": "neutral"}}, "not a label"),
        ({"crowd-classifier": {"labels": ["positive"]}}, "label"),
        ("positive", "JSON object"),
        ({"a": {"label": "positive"}, "b": {"label": "negative"}}, "exactly one"),
    ]
    for answer, words in cases:
        r = client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": answer})
        assert r.status_code == 400, answer
        assert words in r.json()["message"], r.json()
    assert client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": POS}).status_code == 200
    again = client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": POS})
    assert again.status_code == 409
    with ctx.engine.connect() as conn:
        rejected = conn.execute(select(func.count()).where(Event.kind == "answer.rejected")).scalar()
        answer = conn.execute(select(Task.answer).where(Task.id == task["task_id"])).scalar()
    assert rejected == 5
    assert answer == '{"crowd-classifier": {"label": "positive"}}'


def test_a_worker_cannot_touch_another_workers_task(api, text_job_spec, tmp_path):
    _job(api, text_job_spec, n=2)
    task = api("w1").post("/api/v1/worker/jobs/reviews/next-task").json()
    for path in ["", "/data"]:
        assert api("w2").get(f"/api/v1/worker/tasks/{task['task_id']}{path}").status_code == 404
    assert api("w2").post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": POS}).status_code == 404
    assert api("w2").post(f"/api/v1/worker/tasks/{task['task_id']}/release").status_code == 404
    assert api("w1").get(f"/api/v1/worker/tasks/{task['task_id']}").status_code == 200


def test_image_data_is_served_only_to_the_leaseholder(api, ctx, clock, tmp_path, text_job_spec):
    from tests.conftest import write_labels, write_manifest

    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n fake but served as is")
    manifest = write_manifest(tmp_path / "img.manifest", [{"source-ref": image.as_uri()}])
    spec = text_job_spec(task_type="image-classification", input_manifest_uri=str(manifest),
                         label_config_uri=str(write_labels(tmp_path / "l.json", ["cat", "dog"])))
    assert api("req").post("/api/v1/jobs", json=spec).status_code == 201
    task = api("w1").post("/api/v1/worker/jobs/reviews/next-task").json()
    assert task["data"] == {"source-ref": image.as_uri()}
    r = api("w1").get(task["data_url"])
    assert r.status_code == 200 and r.content == image.read_bytes()
    assert r.headers["content-type"] == "image/png"
    clock.advance(3600)
    assert api("w1").get(task["data_url"]).status_code == 404


def test_max_concurrent_tasks_caps_open_leases(api, text_job_spec):
    _job(api, text_job_spec, n=5, max_concurrent_tasks=2)
    assert api("w1").post("/api/v1/worker/jobs/reviews/next-task").status_code == 200
    assert api("w2").post("/api/v1/worker/jobs/reviews/next-task").status_code == 200
    assert api("w3").post("/api/v1/worker/jobs/reviews/next-task").status_code == 204


def test_worker_sees_jobs_and_history(api, ctx, text_job_spec):
    _job(api, text_job_spec, n=2, price_per_task_usd=0.036)
    jobs = api("w1").get("/api/v1/worker/jobs").json()["jobs"]
    assert [(j["name"], j["available_tasks"]) for j in jobs] == [("reviews", 2)]
    assert api("outsider").get("/api/v1/worker/jobs").json()["jobs"] == []
    client = api("w1")
    task = client.post("/api/v1/worker/jobs/reviews/next-task").json()
    client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": POS})
    history = client.get("/api/v1/worker/history").json()
    assert history["tasks"] == 1 and history["earnings_usd"] == 0.036
    run_background_once(ctx)
    assert api("w1").get("/api/v1/worker/jobs").json()["jobs"][0]["available_tasks"] == 1


def test_a_requester_on_the_team_works_on_the_job_like_a_worker(app, api, ctx, people, text_job_spec):
    """The bug of issue 8: a requester on a job's team saw it listed and could not claim its tasks."""
    from fastapi.testclient import TestClient

    from labelloop.services.users import add_members, create_user, issue_token

    req2 = create_user(ctx, "req2", "req2-password", "requester")
    add_members(ctx, people["admin"], "crew", ["req", "req2", "admin"])
    assert api("req").post("/api/v1/jobs", json=text_job_spec()).status_code == 201
    other = TestClient(app, headers={"Authorization": f"Bearer {issue_token(ctx, req2)}"})
    for name, client in (("req", api("req")), ("req2", other), ("admin", api("admin"))):
        listed = [j["name"] for j in client.get("/api/v1/worker/jobs").json()["jobs"]]
        assert listed == ["reviews"], name
        r = client.post("/api/v1/worker/jobs/reviews/next-task")
        assert r.status_code == 200, (name, r.text)
        assert client.post(f"/api/v1/worker/tasks/{r.json()['task_id']}/submit", json={"answer": POS}).status_code == 200
    # a member who is not the owner works on the job but neither reads its details nor manages it
    assert other.get("/api/v1/jobs/reviews").status_code == 403
    assert other.post("/api/v1/jobs/reviews/stop").status_code == 403
    assert api("req").post("/api/v1/jobs/reviews/stop").status_code == 200
