"""/healthz, /readyz and /metrics: outside the OpenAPI schema, so tested here rather than in the matrix."""

from __future__ import annotations

import dataclasses
import re

import httpx
from fastapi.testclient import TestClient

from labelloop.services import health
from labelloop.web.app import create_app
from tests.servers import uvicorn_thread


def test_healthz_and_readyz(app, monkeypatch):
    client = TestClient(app)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    monkeypatch.setattr(health, "head_revision", lambda: "f00")  # code newer than the database
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["error"] == "ServiceUnavailable"
    assert "not f00" in r.json()["message"] and "labelloop db upgrade" in r.json()["message"]
    paths = set(client.get("/openapi.json").json()["paths"])
    assert not paths & {"/healthz", "/readyz", "/metrics"}


def test_readyz_when_the_database_is_unreachable(ctx, tmp_path):
    from labelloop.services.context import build_context

    settings = ctx.settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}/missing/dir/x.db"})
    gone = create_app(ctx=build_context(settings))
    r = TestClient(gone).get("/readyz")
    assert r.status_code == 503 and r.json()["message"].startswith("the database is unreachable")


def _value(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_routes_answers_leases_and_consolidation_lag(app, ctx, api, people, text_job_spec):
    from labelloop.services.background import run_background_once

    with uvicorn_thread(app) as base:  # a real loopback peer: /metrics answers it without a token
        before = httpx.get(base + "/metrics").text
        req = api("req")
        assert req.post("/api/v1/jobs", json=text_job_spec(n=2, workers_per_object=1)).status_code == 201
        run_background_once(ctx)  # starts the job
        w1 = api("w1")
        task = w1.post("/api/v1/worker/jobs/reviews/next-task").json()
        done = w1.post(f"/api/v1/worker/tasks/{task['task_id']}/submit",
                       json={"answer": {"label": "positive"}, "next": True}).json()
        w1.post(f"/api/v1/worker/tasks/{done['next_task']['task_id']}/submit", json={"answer": {"label": "negative"}})
        req.get("/api/v1/jobs/reviews")
        text = httpx.get(base + "/metrics").text
    count = "labelloop_http_request_duration_seconds_count"
    submit = {"method": "POST", "route": "/api/v1/worker/tasks/{task_id}/submit", "status": "200"}
    assert _value(text, count, **submit) - _value(before, count, **submit) == 2  # by template, not raw path
    nxt = {"method": "POST", "route": "/api/v1/worker/jobs/{name}/next-task", "status": "200"}
    assert _value(text, count, **nxt) - _value(before, count, **nxt) == 1
    assert _value(text, count, method="GET", route="/api/v1/jobs/{name}", status="200") >= 1
    assert not re.search(r'route="/api/v1/worker/tasks/\d', text)
    assert _value(text, "labelloop_answers_submitted_total") - _value(before, "labelloop_answers_submitted_total") == 2
    assert _value(text, "labelloop_leases_granted_total") - _value(before, "labelloop_leases_granted_total") == 2
    assert _value(text, "labelloop_consolidation_lag_objects", job="reviews") == 2  # both answered, none consolidated
    assert _value(text, "labelloop_background_step_duration_seconds_count", step="consolidated") >= 1
    run_background_once(ctx)  # consolidates: no lag
    assert _value(TestClient(app, client=("127.0.0.1", 5000)).get("/metrics").text,
                  "labelloop_consolidation_lag_objects", job="reviews") == 0


def test_metrics_need_loopback_or_the_token(ctx):
    anonymous = TestClient(create_app(ctx=ctx), client=("203.0.113.9", 5000))
    r = anonymous.get("/metrics")
    assert r.status_code == 403 and r.json()["error"] == "AccessDeniedException"
    with_token = dataclasses.replace(ctx, settings=ctx.settings.model_copy(update={"metrics_token": "s3cret-token"}))
    app = create_app(ctx=with_token)
    local = TestClient(app, client=("127.0.0.1", 5000))
    assert local.get("/metrics").status_code == 401  # with a token set, loopback needs it too
    assert local.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    remote = TestClient(app, client=("203.0.113.9", 5000))
    r = remote.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert r.status_code == 200 and "labelloop_http_request_duration_seconds" in r.text
