"""Every route of the API times every role, with the status each must get, on both engines.

The routes come from the app's OpenAPI description: a route added without a row here fails
``test_every_route_is_in_the_matrix``. Each cell builds its own request (a fresh job to stop, a fresh task
to submit, a fresh token to revoke), so the cells do not depend on each other's order.

The world: ``req`` owns team ``own`` (member ``w1``) and job ``reviews`` on it (object files under
tmp_path); ``outsider`` is on the admin's team ``others``; ``req2`` is another requester.
"""

from __future__ import annotations

import itertools
import json

import pytest
from fastapi.testclient import TestClient

from labelloop.services import jobs, tasks, users
from labelloop.services.jobs import JobSpec

ROLES = ("anonymous", "worker", "other_worker", "owner", "other_requester", "admin")
USER_OF = {"worker": "w1", "other_worker": "outsider", "owner": "req", "other_requester": "req2", "admin": "admin"}
_n = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_n)}"


class World:
    def __init__(self, ctx, people, tmp_path, text_job_spec):
        self.ctx, self.tmp = ctx, tmp_path
        self.people = dict(people)
        self.people["req2"] = users.create_user(ctx, "req2", "req2-password", "requester")
        users.create_team(ctx, people["req"], "own")
        users.add_members(ctx, people["req"], "own", ["w1"])
        self.spec = text_job_spec
        self.job("reviews")
        self.tokens = {u: users.issue_token(ctx, p) for u, p in self.people.items()}

    def job(self, name: str) -> str:
        (self.tmp / "objects").mkdir(exist_ok=True)
        lines = []
        for i in range(12):
            f = self.tmp / "objects" / f"{name}-{i}.txt"
            f.write_text(f"review {i}")
            lines.append(json.dumps({"source-ref": str(f)}))
        manifest = self.tmp / f"{name}-files.manifest"
        manifest.write_text("\n".join(lines) + "\n")
        spec = self.spec(name=name, team="own", workers_per_object=1, input_manifest_uri=str(manifest))
        jobs.create_job(self.ctx, self.people["req"], JobSpec(**spec))
        return name

    def task_of_w1(self) -> int:
        """A fresh task leased to w1 (on a fresh job, so w1 never holds two of one job)."""
        name = self.job(unique("j"))
        task = self.ctx.write(tasks.claim_next_task(self.ctx, self.people["w1"], name))
        return task.task_id

    def token_of_req(self) -> int:
        users.issue_token(self.ctx, self.people["req"], name=unique("t"))
        return users.list_credentials(self.ctx, self.people["req"])[-1].id


A = ROLES[0]
EXPORT = 400  # authorized, then refused: "reviews" is a classification job, which has no export format yet
AUTOLABEL = 400  # authorized, then refused: "reviews" is smaller than automated labeling's minimum job
ANY = {role: 401 if role == A else 200 for role in ROLES}


def expect(anonymous, worker, other_worker, owner, other_requester, admin):
    return dict(zip(ROLES, (anonymous, worker, other_worker, owner, other_requester, admin), strict=True))


# (method, OpenAPI path) -> (builder(world) -> (url, json body or None), {role: status})
MATRIX = {
    ("post", "/api/v1/auth/token"): (
        lambda w: ("/api/v1/auth/token", {"username": "w3", "password": "worker-password"}),
        expect(200, 200, 200, 200, 200, 200)),
    ("get", "/api/v1/me"): (lambda w: ("/api/v1/me", None), ANY),
    ("get", "/api/v1/tokens"): (lambda w: ("/api/v1/tokens", None), ANY),
    ("post", "/api/v1/tokens"): (lambda w: ("/api/v1/tokens", {"name": "x"}), expect(401, 201, 201, 201, 201, 201)),
    ("delete", "/api/v1/tokens/{credential_id}"): (
        lambda w: (f"/api/v1/tokens/{w.token_of_req()}", None), expect(401, 404, 404, 204, 404, 204)),
    ("post", "/api/v1/users"): (
        lambda w: ("/api/v1/users", {"username": unique("u"), "password": "long-password", "role": "worker"}),
        expect(401, 403, 403, 403, 403, 201)),
    ("post", "/api/v1/teams"): (
        lambda w: ("/api/v1/teams", {"name": unique("team")}), expect(401, 403, 403, 201, 201, 201)),
    ("get", "/api/v1/teams"): (lambda w: ("/api/v1/teams", None), ANY),
    ("post", "/api/v1/teams/{name}/members"): (
        lambda w: ("/api/v1/teams/own/members", {"usernames": ["w2"]}), expect(401, 403, 403, 200, 404, 200)),
    ("delete", "/api/v1/teams/{name}/members/{username}"): (
        lambda w: (users.add_members(w.ctx, w.people["admin"], "own", ["w4"]) and "/api/v1/teams/own/members/w4",
                   None), expect(401, 403, 403, 200, 404, 200)),  # a worker never manages a team: 403
    ("post", "/api/v1/jobs"): (
        lambda w: ("/api/v1/jobs", w.spec(name=unique("new"), team="own")), expect(401, 403, 403, 201, 403, 201)),
    ("get", "/api/v1/jobs"): (lambda w: ("/api/v1/jobs", None), ANY),
    ("get", "/api/v1/jobs/{name}"): (lambda w: ("/api/v1/jobs/reviews", None), expect(401, 403, 404, 200, 404, 200)),
    ("post", "/api/v1/jobs/{name}/stop"): (
        lambda w: (f"/api/v1/jobs/{w.job(unique('stop'))}/stop", None), expect(401, 403, 404, 200, 404, 200)),
    ("get", "/api/v1/jobs/{name}/quality"): (
        lambda w: ("/api/v1/jobs/reviews/quality", None), expect(401, 403, 404, 200, 404, 200)),
    ("post", "/api/v1/jobs/{name}/workers/{username}/block"): (
        lambda w: ("/api/v1/jobs/reviews/workers/w3/block", None), expect(401, 403, 404, 200, 404, 200)),
    ("post", "/api/v1/jobs/{name}/workers/{username}/unblock"): (
        lambda w: ("/api/v1/jobs/reviews/workers/w3/unblock", None), expect(401, 403, 404, 200, 404, 200)),
    ("get", "/api/v1/jobs/{name}/export"): (
        lambda w: ("/api/v1/jobs/reviews/export?format=jsonl", None), expect(401, 403, 404, EXPORT, 404, EXPORT)),
    ("post", "/api/v1/jobs/{name}/autolabel"): (  # authorized, then refused: 6 objects are under the minimum
        lambda w: ("/api/v1/jobs/reviews/autolabel", {"target_accuracy": 0.95}),
        expect(401, 403, 404, AUTOLABEL, 404, AUTOLABEL)),
    ("get", "/api/v1/jobs/{name}/autolabel"): (  # authorized, then 404: automated labeling is not on for the job
        lambda w: ("/api/v1/jobs/reviews/autolabel", None), expect(401, 403, 404, 404, 404, 404)),
    ("get", "/api/v1/hooks"): (lambda w: ("/api/v1/hooks", None), expect(401, 403, 403, 200, 200, 200)),
    ("get", "/api/v1/events"): (lambda w: ("/api/v1/events?job=reviews", None), expect(401, 200, 404, 200, 404, 200)),
    ("get", "/api/v1/worker/jobs"): (lambda w: ("/api/v1/worker/jobs", None), ANY),
    ("post", "/api/v1/worker/jobs/{name}/next-task"): (
        lambda w: (f"/api/v1/worker/jobs/{w.job(unique('next'))}/next-task", None),
        expect(401, 200, 404, 404, 404, 404)),  # only members work; the owner and admins are not on 'own'
    ("get", "/api/v1/worker/tasks/{task_id}"): (
        lambda w: (f"/api/v1/worker/tasks/{w.task_of_w1()}", None), expect(401, 200, 404, 404, 404, 404)),
    ("post", "/api/v1/worker/tasks/{task_id}/submit"): (
        lambda w: (f"/api/v1/worker/tasks/{w.task_of_w1()}/submit",
                   {"answer": {"crowd-classifier": {"label": "positive"}}}), expect(401, 200, 404, 404, 404, 404)),
    ("post", "/api/v1/worker/tasks/{task_id}/release"): (
        lambda w: (f"/api/v1/worker/tasks/{w.task_of_w1()}/release", None), expect(401, 200, 404, 404, 404, 404)),
    ("get", "/api/v1/worker/tasks/{task_id}/data"): (
        lambda w: (f"/api/v1/worker/tasks/{w.task_of_w1()}/data", None), expect(401, 200, 404, 404, 404, 404)),
    ("get", "/api/v1/worker/history"): (lambda w: ("/api/v1/worker/history", None), ANY),
}


def test_every_route_is_in_the_matrix(app):
    declared = {(m, p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert declared == set(MATRIX), {"missing from the matrix": declared - set(MATRIX),
                                     "no longer routes": set(MATRIX) - declared}
    for _build, statuses in MATRIX.values():
        assert set(statuses) == set(ROLES)


@pytest.fixture
def world(ctx, people, tmp_path, text_job_spec):
    return World(ctx, people, tmp_path, text_job_spec)


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0].upper()} {r[1]}")
def test_authorization_matrix(app, world, route):
    method, _path = route
    build, statuses = MATRIX[route]
    got = {}
    for role in ROLES:
        url, body = build(world)
        headers = {} if role == A else {"Authorization": f"Bearer {world.tokens[USER_OF[role]]}"}
        with TestClient(app, headers=headers) as client:
            r = client.request(method.upper(), url, **({"json": body} if body is not None else {}))
        got[role] = r.status_code
        if r.status_code >= 400:
            assert set(r.json()) <= {"error", "message", "field", "details"}, r.text
    assert got == statuses
