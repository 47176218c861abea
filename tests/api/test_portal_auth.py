"""Portal sign-in: session cookie, CSRF on writes, rate-limited login; grant_read_access links."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from labelloop.core.signing import sign
from labelloop.services.templates import data_link


def _login(app, password="worker-password"):
    client = TestClient(app, follow_redirects=False)
    r = client.post("/portal/login", data={"username": "w1", "password": password})
    return client, r


def test_session_cookie_and_csrf(app, people, text_job_spec, api):
    api("req").post("/api/v1/jobs", json=text_job_spec())
    client, r = _login(app)
    assert r.status_code == 303 and r.headers["location"] == "/portal"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = client.get("/portal/jobs/reviews")
    csrf = page.text.split('data-csrf="')[1].split('"')[0]
    assert client.get("/api/v1/me").json()["username"] == "w1"
    forged = client.post("/api/v1/worker/jobs/reviews/next-task")
    assert forged.status_code == 403 and "CSRF" in forged.json()["message"]
    ok = client.post("/api/v1/worker/jobs/reviews/next-task", headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200
    assert client.get(f"/portal/tasks/{ok.json()['task_id']}/render").status_code == 200
    client.post("/portal/logout")
    assert client.get("/api/v1/me").status_code == 401


def test_login_is_rate_limited(app, people):
    for _ in range(5):
        _client, r = _login(app, "wrong")
        assert "Wrong username or password" in r.text
    _client, r = _login(app, "worker-password")
    assert r.status_code == 429
    assert "Too many failed sign-ins" in r.text and "set-cookie" not in r.headers


def test_rendered_task_only_for_its_worker(app, api, people, text_job_spec):
    api("req").post("/api/v1/jobs", json=text_job_spec())
    task = api("w1").post("/api/v1/worker/jobs/reviews/next-task").json()
    client, _ = _login(app)
    assert client.get(f"/portal/tasks/{task['task_id']}/render").status_code == 200
    other = TestClient(app, follow_redirects=False)
    r = other.post("/portal/login", data={"username": "w2", "password": "worker-password"})
    assert r.status_code == 303
    assert other.get(f"/portal/tasks/{task['task_id']}/render").status_code == 404


def test_data_links_open_one_object_and_expire(app, ctx, clock, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    a.write_bytes(b"object a")
    b.write_bytes(b"object b")
    client = TestClient(app)
    link = data_link(ctx, a.as_uri(), task_id=1)
    assert client.get(link).content == b"object a"
    _body, mac = link.removeprefix("/data/").split(".")
    other = sign(ctx.settings.secret_key, {"u": b.as_uri(), "t": 1}, clock() + timedelta(seconds=60)).split(".")[0]
    assert client.get(f"/data/{other}.{mac}").status_code == 404  # a signature opens only its own object
    clock.advance(ctx.settings.data_url_ttl_s + 1)
    assert client.get(link).status_code == 404


def test_workers_see_only_their_own_teams_and_no_member_names(api):
    everyone = api("req").get("/api/v1/teams").json()["teams"]
    assert {t["name"]: t["members"] for t in everyone} == {"crew": ["w1", "w2", "w3", "w4"], "others": ["outsider"]}
    mine = api("w1").get("/api/v1/teams").json()["teams"]
    assert [t["name"] for t in mine] == ["crew"]
    assert "members" not in mine[0]
    assert [t["name"] for t in api("outsider").get("/api/v1/teams").json()["teams"]] == ["others"]
    assert api("w1").post("/api/v1/teams", json={"name": "mine"}).status_code == 403


def test_api_sign_in_is_rate_limited_too(app, people):
    with TestClient(app) as client:
        for _ in range(5):
            r = client.post("/api/v1/auth/token", json={"username": "w1", "password": "wrong"})
            assert r.status_code == 401
        r = client.post("/api/v1/auth/token", json={"username": "w1", "password": "worker-password"})
        assert r.status_code == 429 and r.json()["field"] == "username" and "token" not in r.json()
        # another user is not locked out
        r = client.post("/api/v1/auth/token", json={"username": "w2", "password": "worker-password"})
        assert r.status_code == 200 and r.json()["token"]
