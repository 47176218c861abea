"""Helpers of the console tests: a signed-in browser-like client, a labeled job."""

from __future__ import annotations

from fastapi.testclient import TestClient

from labelloop.services.background.runner import run_background_once

POS = {"crowd-classifier": {"label": "positive"}}
NEG = {"crowd-classifier": {"label": "negative"}}


def session(app, username: str, password: str) -> TestClient:
    """A client signed in through the portal's form (session cookie), as a browser is."""
    client = TestClient(app, follow_redirects=False)
    form = client.get("/portal/login").text
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    r = client.post("/portal/login", data={"username": username, "password": password, "csrf": csrf})
    assert r.status_code == 303, r.text
    client.landing = r.headers["location"]  # type: ignore[attr-defined]
    return client


def csrf_of(client: TestClient, path: str = "/console") -> str:
    page = client.get(path).text
    return page.split('name="csrf" value="')[1].split('"')[0]


def answer_all(client: TestClient, answer_for, job: str = "reviews") -> list[int]:
    seen = []
    r = client.post(f"/api/v1/worker/jobs/{job}/next-task")
    task = r.json() if r.status_code == 200 else None
    while task:
        seen.append(task["dataset_object_id"])
        r = client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit",
                        json={"answer": answer_for(task), "next": True})
        assert r.status_code == 200, r.text
        task = r.json()["next_task"]
    return seen


def labeled_job(api, ctx, clock, text_job_spec, *, name: str = "reviews", n: int = 6, price: float = 0.05) -> dict:
    """A text job of ``n`` objects, 3 workers each: w1 and w2 say positive, w3 says negative on object 0 and
    positive elsewhere (object 0 is the one disagreement); consolidated and its output written."""
    r = api("req").post("/api/v1/jobs", json=text_job_spec(name=name, n=n, price_per_task_usd=price))
    assert r.status_code == 201, r.text
    run_background_once(ctx, force_output=True)
    for worker in ("w1", "w2", "w3"):
        clock.advance(5)
        answer_all(api(worker), lambda t, w=worker: NEG if (w == "w3" and t["dataset_object_id"] == 0) else POS,
                   job=name)
    for _ in range(5):
        run_background_once(ctx, force_output=True)
        clock.advance(1)
    return api("req").get(f"/api/v1/jobs/{name}").json()
