"""Issue 9: team owners, job details for managers only, one credentials model, password and body limits,
documented 400s for NUL bytes and oversized integers, and sign-in limits shared through the database."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from labelloop.core.errors import Unauthorized, ValidationError
from labelloop.services import jobs, users
from labelloop.services.context import build_context
from labelloop.web.app import create_app


@pytest.fixture
def req2(ctx, people, app):
    p = users.create_user(ctx, "req2", "req2-password", "requester")
    client = TestClient(app, headers={"Authorization": f"Bearer {users.issue_token(ctx, p)}"})
    yield client
    client.close()


def test_a_requesters_team_is_theirs(api, req2, text_job_spec):
    req = api("req")
    made = req.post("/api/v1/teams", json={"name": "mine"})
    assert made.status_code == 201 and made.json()["owner"] == "req"
    assert req.post("/api/v1/teams/mine/members", json={"usernames": ["w1"]}).status_code == 200
    # another requester neither sees, changes nor uses it
    assert "mine" not in [t["name"] for t in req2.get("/api/v1/teams").json()["teams"]]
    r = req2.post("/api/v1/teams/mine/members", json={"usernames": ["w2"]})
    assert r.status_code == 404 and r.json()["field"] == "name"
    assert req2.delete("/api/v1/teams/mine/members/w1").status_code == 404
    r = req2.post("/api/v1/jobs", json=text_job_spec(name="theirs", team="mine"))
    assert r.status_code == 403 and r.json()["field"] == "team"
    # a member sees the team without the other members; the owner and admins change it
    seen = {t["name"]: t for t in api("w1").get("/api/v1/teams").json()["teams"]}
    assert seen["mine"] == {"id": made.json()["id"], "name": "mine", "description": ""}
    assert api("w1").post("/api/v1/teams/mine/members", json={"usernames": ["w2"]}).status_code == 403
    assert api("admin").post("/api/v1/teams/mine/members", json={"usernames": ["w2"]}).json()["members"] == ["w1", "w2"]
    assert req.delete("/api/v1/teams/mine/members/w2").json()["members"] == ["w1"]
    assert req.delete("/api/v1/teams/mine/members/w2").status_code == 404
    assert req.post("/api/v1/jobs", json=text_job_spec(name="ours", team="mine")).status_code == 201
    assert req.post("/api/v1/jobs", json=text_job_spec(name="nowhere", team="nope")).json()["field"] == "team"


def test_an_admins_team_is_shared(api, req2, text_job_spec):
    crew = next(t for t in req2.get("/api/v1/teams").json()["teams"] if t["name"] == "crew")
    assert crew["owner"] is None and crew["members"] == ["w1", "w2", "w3", "w4"]
    assert req2.post("/api/v1/jobs", json=text_job_spec(name="shared")).status_code == 201
    assert req2.post("/api/v1/teams/crew/members", json={"usernames": ["req2"]}).status_code == 403
    made = api("admin").post("/api/v1/teams", json={"name": "for-req", "owner": "req"}).json()
    assert made["owner"] == "req"
    assert api("req").post("/api/v1/teams", json={"name": "x", "owner": "req2"}).status_code == 403


def test_workers_do_not_read_job_details(ctx, api, people, text_job_spec):
    assert api("req").post("/api/v1/jobs", json=text_job_spec()).status_code == 201
    w1 = api("w1")
    assert w1.get("/api/v1/jobs").json() == {"jobs": []}
    r = w1.get("/api/v1/jobs/reviews")
    assert r.status_code == 403 and "input_manifest_uri" not in r.text
    assert [j["name"] for j in w1.get("/api/v1/worker/jobs").json()["jobs"]] == ["reviews"]
    brief = jobs.job_brief(ctx, people["w1"], "reviews")  # what the portal's labeling page shows
    assert brief.title == "reviews" and not hasattr(brief, "input_manifest_uri")


def test_credentials_are_listed_and_revoked(ctx, app, api, people, req2):
    req = api("req")
    made = req.post("/api/v1/tokens", json={"name": "laptop"})
    assert made.status_code == 201 and made.json()["name"] == "laptop" and made.json()["kind"] == "api"
    mine = req.get("/api/v1/tokens").json()["credentials"]
    assert [c["name"] for c in mine] == [None, "laptop"] and all("token" not in c for c in mine)
    assert req2.get("/api/v1/tokens?user=req").status_code == 403
    assert [c["id"] for c in api("admin").get("/api/v1/tokens?user=req").json()["credentials"]] == [
        c["id"] for c in mine]
    laptop = TestClient(app, headers={"Authorization": f"Bearer {made.json()['token']}"})
    assert laptop.get("/api/v1/me").status_code == 200  # now in this process's token cache
    assert req2.delete(f"/api/v1/tokens/{made.json()['id']}").status_code == 404  # not theirs: 404
    assert req.delete(f"/api/v1/tokens/{made.json()['id']}").status_code == 204
    assert laptop.get("/api/v1/me").status_code == 401  # at once, though it was cached
    assert req.delete(f"/api/v1/tokens/{made.json()['id']}").status_code == 404
    # admins revoke anyone's; sessions are credentials too
    session = users.issue_token(ctx, people["w1"], kind="session", ttl_s=60)
    listed = api("admin").get("/api/v1/tokens?user=w1").json()["credentials"]
    assert [c["kind"] for c in listed] == ["session"]
    assert api("admin").delete(f"/api/v1/tokens/{listed[0]['id']}").status_code == 204
    with pytest.raises(Unauthorized):
        users.principal_for_token(ctx, session)


def test_cli_lists_and_revokes_tokens(ctx, people, monkeypatch):
    from typer.testing import CliRunner

    from labelloop.cli.main import app as cli

    url = ctx.settings.database_url
    runner = CliRunner()
    token = runner.invoke(cli, ["users", "token", "w1", "--name", "ci", "--database-url", url])
    assert token.exit_code == 0, token.output
    listed = runner.invoke(cli, ["tokens", "list", "--user", "w1", "--database-url", url])
    assert listed.exit_code == 0 and "ci" in listed.output
    cid = users.list_credentials(ctx, people["admin"], user="w1")[0].id
    assert runner.invoke(cli, ["tokens", "revoke", str(cid), "--database-url", url]).exit_code == 0
    assert users.list_credentials(ctx, people["admin"], user="w1") == []


class CountingHasher:
    def __init__(self, inner):
        self.inner, self.verified, self.hashed = inner, 0, 0

    def verify(self, *a):
        self.verified += 1
        return self.inner.verify(*a)

    def hash(self, *a):
        self.hashed += 1
        return self.inner.hash(*a)


@pytest.fixture
def hasher(monkeypatch):
    counting = CountingHasher(users._hasher)
    monkeypatch.setattr(users, "_hasher", counting)
    return counting


def test_passwords_have_a_maximum_length(app, api, people, hasher):
    long = "x" * 1025
    r = api("admin").post("/api/v1/users", json={"username": "big", "password": long, "role": "worker"})
    assert r.status_code == 400 and r.json()["field"] == "password"
    with TestClient(app) as client:
        r = client.post("/api/v1/auth/token", json={"username": "w1", "password": "y" * 100_000})
        assert r.status_code == 400 and r.json()["field"] == "password"
    assert hasher.hashed == 0 and hasher.verified == 0
    with pytest.raises(ValidationError, match="at most 1024"):
        users.create_user(app.state.ctx, "big", long, "worker")


async def _asgi_post(app, path, chunks, headers=()):
    """POST ``chunks`` to the app; returns (status, how many chunks the app pulled)."""
    pulled = 0
    sent = iter(chunks)
    status = []

    async def receive():
        nonlocal pulled
        chunk = next(sent, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"content-type", b"application/json"), *headers], "client": ("127.0.0.1", 1),
             "server": ("testserver", 80), "scheme": "http", "http_version": "1.1", "root_path": ""}
    await app(scope, receive, send)
    return status[0], pulled


def test_a_300_mb_sign_in_body_is_refused_unread(app):
    mib = b"x" * (1 << 20)
    declared = asyncio.run(_asgi_post(app, "/api/v1/auth/token", (mib for _ in range(300)),
                                      [(b"content-length", str(300 << 20).encode())]))
    assert declared == (413, 0)  # refused on the header: nothing read
    streamed = asyncio.run(_asgi_post(app, "/api/v1/auth/token", (mib for _ in range(300))))
    assert streamed[0] == 413 and streamed[1] <= 5  # refused once past 4 MiB


NUL_AND_INT_REQUESTS = [
    ("get", "/api/v1/worker/tasks/99999999999999999999999", None, "task_id"),
    ("post", "/api/v1/worker/tasks/99999999999999999999999/submit", {"answer": {}}, "task_id"),
    ("post", "/api/v1/worker/tasks/99999999999999999999999/release", None, "task_id"),
    ("get", "/api/v1/worker/tasks/-1", None, "task_id"),
    ("get", "/api/v1/events?after_id=99999999999999999999999", None, "after_id"),
    ("get", "/api/v1/events?object=99999999999999999999999", None, "object"),
    ("get", "/api/v1/events?limit=0", None, "limit"),
    ("delete", "/api/v1/tokens/99999999999999999999999", None, "credential_id"),
    ("get", "/api/v1/jobs/a%00b", None, "name"),
    ("post", "/api/v1/jobs/a%00b/stop", None, "name"),
    ("post", "/api/v1/worker/jobs/a%00b/next-task", None, "name"),
    ("get", "/api/v1/events?kind=a%00", None, "kind"),
    ("get", "/api/v1/events?worker=a%00", None, "worker"),
    ("get", "/api/v1/jobs?status=%00", None, "status"),
    ("post", "/api/v1/teams", {"name": "a\x00b"}, "name"),
    ("post", "/api/v1/teams", {"name": "ok", "description": "a\x00"}, "description"),
    ("post", "/api/v1/teams/crew/members", {"usernames": ["w\x001"]}, "usernames[0]"),
    ("post", "/api/v1/users", {"username": "a\x00", "password": "long-enough"}, "username"),
    ("post", "/api/v1/tokens", {"name": "a\x00"}, "name"),
    ("post", "/api/v1/jobs", {"name": "a\x00", "task_type": "x"}, "name"),
]


@pytest.mark.parametrize("method,url,body,field", NUL_AND_INT_REQUESTS)
def test_nul_bytes_and_huge_integers_are_a_400_naming_the_field(api, method, url, body, field):
    r = getattr(api("admin"), method)(url, **({"json": body} if body is not None else {}))
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and r.json()["error"] == "ValidationException"


def test_nul_at_sign_in_is_a_400_unauthenticated(app, people, hasher):
    with TestClient(app) as client:
        r = client.post("/api/v1/auth/token", json={"username": "w\x001", "password": "worker-password"})
        assert r.status_code == 400 and r.json()["field"] == "username"
        r = client.post("/api/v1/auth/token", json={"username": "w1", "password": "a\x00b"})
        assert r.status_code == 400 and r.json()["field"] == "password"
    assert hasher.verified == 0


def _wrong(app, username="w1", headers=None):
    with TestClient(app, headers=headers or {}) as client:
        return client.post("/api/v1/auth/token", json={"username": username, "password": "wrong-password"}).status_code


def test_parallel_wrong_passwords_get_at_most_the_limit_checked(app, people, hasher):
    clients = [TestClient(app) for _ in range(40)]

    def attempt(client):
        return client.post("/api/v1/auth/token", json={"username": "w1", "password": "wrong-password"}).status_code

    with ThreadPoolExecutor(40) as pool:
        codes = list(pool.map(attempt, clients))
    assert codes.count(401) <= 5 and codes.count(401) + codes.count(429) == 40, codes
    assert hasher.verified <= 5
    for c in clients:
        c.close()


def test_sign_in_counters_survive_a_restart(ctx, app, people, clock):
    for _ in range(5):
        assert _wrong(app) == 401
    fresh = build_context(ctx.settings, clock=clock)  # another process, or this one restarted
    try:
        again = create_app(ctx=fresh)
        with TestClient(again) as client:
            r = client.post("/api/v1/auth/token", json={"username": "w1", "password": "worker-password"})
            assert r.status_code == 429 and r.json()["field"] == "username"
        clock.advance(ctx.settings.sign_in_window_s + 1)
        with TestClient(again) as client:
            assert client.post("/api/v1/auth/token",
                               json={"username": "w1", "password": "worker-password"}).status_code == 200
    finally:
        fresh.close()
        fresh.engine.dispose()


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(ctx, app, people):
    ctx.settings.sign_in_failures_per_address = 3
    for i in range(3):  # rotating X-Forwarded-For from an untrusted peer: one address all the same
        assert _wrong(app, f"nobody{i}", {"X-Forwarded-For": f"203.0.113.{i}"}) == 401
    assert _wrong(app, "nobody9", {"X-Forwarded-For": "203.0.113.99"}) == 429
    # behind a configured proxy, each forwarded client has its own counter
    ctx.settings.trusted_proxies = ["10.0.0.0/8"]

    def via_proxy(username, forwarded):
        with TestClient(app, client=("10.1.2.3", 4000), headers={"X-Forwarded-For": forwarded}) as client:
            return client.post("/api/v1/auth/token", json={"username": username, "password": "nope-nope"}).status_code

    assert [via_proxy(f"a{i}", "198.51.100.7") for i in range(4)] == [401, 401, 401, 429]
    assert via_proxy("b", "spoofed, 198.51.100.8") == 401  # the right-most untrusted hop counts
