"""The worker's submit and next-task, served before FastAPI's routing (labelloop.web.hot): the same
authentication, body checks and error bodies as every other endpoint."""

from __future__ import annotations

from fastapi.testclient import TestClient

from labelloop.web import hot

POS = {"crowd-classifier": {"label": "positive"}}


def _task(api, text_job_spec):
    assert api("req").post("/api/v1/jobs", json=text_job_spec()).status_code == 201
    r = api("w1").post("/api/v1/worker/jobs/reviews/next-task")
    assert r.status_code == 200
    return r.json()


def test_without_a_token_both_calls_are_refused(app, api, text_job_spec):
    task = _task(api, text_job_spec)
    anonymous = TestClient(app)
    for path in ("/api/v1/worker/jobs/reviews/next-task", f"/api/v1/worker/tasks/{task['task_id']}/submit"):
        r = anonymous.post(path, json={"answer": POS})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"] == "UnauthorizedException"
    bad = TestClient(app, headers={"Authorization": "Bearer not-a-token"})
    assert bad.post("/api/v1/worker/jobs/reviews/next-task").status_code == 401


def test_a_body_that_does_not_parse_names_the_field(api, text_job_spec):
    task = _task(api, text_job_spec)
    url = f"/api/v1/worker/tasks/{task['task_id']}/submit"
    w1 = api("w1")
    r = w1.post(url, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "ValidationException"
    assert r.json()["message"].startswith("body: ")
    r = w1.post(url, json={"answer": POS, "nxt": True})
    assert r.status_code == 400 and r.json()["field"] == "nxt"
    r = w1.post(url, json={"next": True})
    assert r.status_code == 400 and r.json()["field"] == "answer"
    r = w1.post(url, json={"answer": POS, "next": "maybe"})
    assert r.status_code == 400 and r.json()["field"] == "next"
    # nothing was stored; the task is still open and takes a good answer
    assert w1.post(url, json={"answer": POS}).status_code == 200


def test_an_oversized_body_is_refused_without_reading_it_all(api, text_job_spec, monkeypatch):
    monkeypatch.setattr(hot, "MAX_BODY", 1000)
    task = _task(api, text_job_spec)
    r = api("w1").post(f"/api/v1/worker/tasks/{task['task_id']}/submit",
                       json={"answer": {"crowd-classifier": {"label": "x" * 2000}}})
    assert r.status_code == 413 and r.json()["field"] == "body"


def test_domain_errors_keep_their_status_and_body(api, text_job_spec):
    task = _task(api, text_job_spec)
    r = api("w2").post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": POS})
    assert r.status_code == 404 and r.json()["field"] == "task_id"  # not w2's task
    r = api("w1").post("/api/v1/worker/jobs/no-such-job/next-task")
    assert r.status_code == 404 and r.json()["field"] == "name"
    r = api("outsider").post("/api/v1/worker/jobs/reviews/next-task")
    assert r.status_code == 404
    r = api("w1").post(f"/api/v1/worker/tasks/{task['task_id']}/submit",
                       json={"answer": {"crowd-classifier": {"label": "purple"}}})
    assert r.status_code == 400 and "purple" in r.json()["message"]


def test_other_methods_and_paths_reach_the_routes(api, text_job_spec):
    task = _task(api, text_job_spec)
    w1 = api("w1")
    assert w1.get(f"/api/v1/worker/tasks/{task['task_id']}/submit").status_code == 405
    assert w1.get(f"/api/v1/worker/tasks/{task['task_id']}").json()["task_id"] == task["task_id"]
    assert w1.post(f"/api/v1/worker/tasks/{task['task_id']}/release").json()["status"] == "released"
    r = w1.post("/api/v1/worker/tasks/12x/submit", json={"answer": POS})  # the route checks the path's type
    assert r.status_code == 400 and r.json()["field"] == "task_id"
