"""The worker's submit and next-task, served before FastAPI's routing (labelloop.web.hot): the same
authentication, body checks and error bodies as every other endpoint."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from labelloop.web import hot, limits
from labelloop.web.app import create_app


@pytest.fixture(params=["hot-path", "routes"])
def app(ctx, request):
    """Every test here runs twice: with the hot path, and with the FastAPI routes alone; the answers agree."""
    return create_app(ctx=ctx, hot_paths=request.param == "hot-path")

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
    task = _task(api, text_job_spec)  # before the small limits: the job's own body names a long tmp path
    monkeypatch.setattr(limits, "LIMITS", (("/api/v1/worker/tasks/", "/submit", 1000), ("", "", 500)))
    r = api("w1").post(f"/api/v1/worker/tasks/{task['task_id']}/submit",
                       json={"answer": {"crowd-classifier": {"label": "x" * 2000}}})
    assert r.status_code == 413 and r.json()["field"] == "body"
    assert "1000 bytes" in r.json()["message"]
    # the same table limits every other route
    r = api("req").post("/api/v1/teams", json={"name": "big", "description": "x" * 600})
    assert r.status_code == 413 and "500 bytes" in r.json()["message"]


def test_each_hot_pattern_matches_its_declared_route(app):
    declared = {path: {m.upper() for m in ops} for path, ops in app.openapi()["paths"].items()}
    pairs = [(hot.SUBMIT, "/api/v1/worker/tasks/{task_id}/submit", "tasks/123/submit"),
             (hot.NEXT, "/api/v1/worker/jobs/{name}/next-task", "jobs/my-job/next-task")]
    for pattern, route, example in pairs:
        assert declared[route] == {"POST"}, route
        assert hot.PREFIX + example == route.replace("{task_id}", "123").replace("{name}", "my-job")
        assert pattern.fullmatch(example)
    # nothing else the API declares is taken by the hot path
    for route, methods in declared.items():
        if route in (p[1] for p in pairs) or not route.startswith(hot.PREFIX) or "POST" not in methods:
            continue
        concrete = route.replace("{task_id}", "123").replace("{name}", "my-job")[len(hot.PREFIX):]
        assert not hot.SUBMIT.fullmatch(concrete) and not hot.NEXT.fullmatch(concrete), route


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
