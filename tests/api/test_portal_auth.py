"""Portal sign-in: session cookie, CSRF on sign-in, writes and sign-out, rate-limited login; grant_read_access
links that name a task, never a URI; how data objects and pages are served (headers)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from labelloop.core.signing import sign
from labelloop.services.templates import uri_digest
from tests.conftest import write_labels, write_manifest


def _form_csrf(client) -> str:
    page = client.get("/portal/login")
    return page.text.split('name="csrf" value="')[1].split('"')[0]


def _login(app, password="worker-password", username="w1"):
    client = TestClient(app, follow_redirects=False)
    r = client.post("/portal/login", data={"username": username, "password": password, "csrf": _form_csrf(client)})
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
    assert client.post("/portal/logout").status_code == 403, "sign-out needs the CSRF token"
    assert client.get("/api/v1/me").status_code == 200
    assert client.post("/portal/logout", data={"csrf": csrf}).status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_sign_in_form_needs_its_csrf_token(app, people):
    client = TestClient(app, follow_redirects=False)
    r = client.post("/portal/login", data={"username": "w1", "password": "worker-password"})
    assert r.status_code == 403 and "labelloop_session" not in r.headers.get("set-cookie", "")
    assert "form expired" in r.text
    token = _form_csrf(client)
    # a token from another browser's form (another pre-session cookie) does not do either
    other = TestClient(app, follow_redirects=False)
    _form_csrf(other)
    r = other.post("/portal/login", data={"username": "w1", "password": "worker-password", "csrf": token})
    assert r.status_code == 403
    r = client.post("/portal/login", data={"username": "w1", "password": "worker-password", "csrf": token})
    assert r.status_code == 303 and "labelloop_session" in r.headers["set-cookie"]


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
    other, r = _login(app, username="w2")
    assert r.status_code == 303
    assert other.get(f"/portal/tasks/{task['task_id']}/render").status_code == 404


@pytest.fixture
def image_job(api, ctx, people, tmp_path):
    """An image job whose objects are real files; returns the files by name."""
    files = {}
    for name, body in [("a.png", b"\x89PNG object a"), ("b.png", b"\x89PNG object b"),
                       ("evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
                       ("evil.html", b"<script>alert(1)</script>"), ("notes.txt", b"<b>plain</b>")]:
        (tmp_path / name).write_bytes(body)
        files[name] = tmp_path / name
    manifest = write_manifest(tmp_path / "img.manifest", [{"source-ref": p.as_uri()} for p in files.values()])
    labels = write_labels(tmp_path / "img-labels.json", ["cat", "dog"])
    r = api("req").post("/api/v1/jobs", json={
        "name": "pics", "task_type": "image-classification", "label_attribute_name": "animal",
        "input_manifest_uri": str(manifest), "label_config_uri": str(labels), "output_uri": str(tmp_path / "out"),
        "team": "crew", "workers_per_object": 1, "task_time_limit_s": 60})
    assert r.status_code == 201, r.text
    return files


def _lease_and_link(app, username="w1"):
    """Sign in through the portal, lease a task and read its data link from the rendered frame."""
    client, _ = _login(app, username=username)
    csrf = client.get("/portal/jobs/pics").text.split('data-csrf="')[1].split('"')[0]
    task = client.post("/api/v1/worker/jobs/pics/next-task", headers={"X-CSRF-Token": csrf}).json()
    frame = client.get(f"/portal/tasks/{task['task_id']}/render").text
    return client, task, re.search(r'src="(/data/[^"]+)"', frame).group(1)


def _claim(link: str) -> dict:
    import base64

    body = link.removeprefix("/data/").split(".")[0]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_data_links_name_a_task_and_open_only_its_object(app, ctx, clock, image_job):
    _client, task, link = _lease_and_link(app)
    claim = _claim(link)
    assert set(claim) == {"k", "t", "w", "h", "exp"} and claim["t"] == task["task_id"]
    assert "/" not in json.dumps(claim), "the link carries no URI"
    anonymous = TestClient(app)
    served = anonymous.get(link)
    assert served.status_code == 200 and served.content == image_job["a.png"].read_bytes()
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
    assert served.headers["content-disposition"] == "inline"
    # a signature covers its own claim only
    _body, mac = link.removeprefix("/data/").split(".")
    other = sign(ctx.secret_key, {**claim, "h": uri_digest(image_job["b.png"].as_uri())}, clock() + timedelta(60))
    assert anonymous.get(f"/data/{other.split('.')[0]}.{mac}").status_code == 404
    # the link expires after data_url_ttl_s
    clock.advance(ctx.settings.data_url_ttl_s + 1)
    assert anonymous.get(link).status_code == 404


@pytest.mark.parametrize("claim", [{"u": "/etc/passwd"}, {"u": "/etc/passwd", "t": 1},
                                   {"k": "w", "t": 1, "w": 3, "u": "file:///etc/passwd"}])
def test_a_forged_link_with_a_uri_opens_nothing(app, ctx, clock, image_job, claim):
    _lease_and_link(app)
    expires = clock() + timedelta(seconds=60)
    for key in (ctx.secret_key, "dev-insecure-secret"):  # the real key, or the old well-known default
        r = TestClient(app).get("/data/" + sign(key, claim, expires))
        assert r.status_code == 404 and b"root:" not in r.content


def test_a_link_is_good_only_for_its_worker_while_the_lease_is_open(app, ctx, clock, people, image_job):
    _client, _task, link = _lease_and_link(app, "w1")
    claim = _claim(link)
    expires = clock() + timedelta(seconds=60)
    # the task of another worker: w2's lease, a link naming w1's task as w2 (or the other way) opens nothing
    _c2, task2, link2 = _lease_and_link(app, "w2")
    assert TestClient(app).get(link2).status_code == 200
    swapped = sign(ctx.secret_key, {**_claim(link2), "w": people["w1"].id, "exp": None} | {"t": task2["task_id"]},
                   expires)
    assert TestClient(app).get("/data/" + swapped).status_code == 404
    # a URI of another object of the job, named by its digest in a link for this task
    stranger = sign(ctx.secret_key, {**claim, "h": uri_digest(image_job["evil.html"].as_uri())}, expires)
    assert TestClient(app).get("/data/" + stranger).status_code == 404
    # the lease runs out (task time limit 60 s): the link stops working though it has not expired
    clock.advance(61)
    assert TestClient(app).get(link).status_code == 404


def test_active_data_is_served_as_an_attachment(app, image_job):
    client, _ = _login(app)
    csrf = {"X-CSRF-Token": client.get("/portal/jobs/pics").text.split('data-csrf="')[1].split('"')[0]}
    served = {}
    task = client.post("/api/v1/worker/jobs/pics/next-task", headers=csrf).json()
    while task:
        link = re.search(r'src="(/data/[^"]+)"', client.get(f"/portal/tasks/{task['task_id']}/render").text).group(1)
        r = TestClient(app).get(link)
        served[r.content] = r.headers
        done = client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit", headers=csrf,
                           json={"answer": {"crowd-image-classifier": {"label": "cat"}}, "next": True})
        task = done.json()["next_task"]
    by_name = {name: served[path.read_bytes()] for name, path in image_job.items()}
    for name in ("evil.svg", "evil.html"):
        assert by_name[name]["content-disposition"] == "attachment", name
        assert by_name[name]["x-content-type-options"] == "nosniff"
        assert by_name[name]["content-security-policy"] == "default-src 'none'; sandbox"
    assert by_name["a.png"]["content-disposition"] == "inline"
    assert by_name["notes.txt"]["content-disposition"] == "inline"
    assert by_name["notes.txt"]["content-type"].startswith("text/plain")


def test_security_headers_on_pages_api_and_frame(app, api, people, image_job):
    client, task, _link = _lease_and_link(app)
    login = TestClient(app).get("/portal/login")
    assert login.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
    assert login.headers["referrer-policy"] == "same-origin" and login.headers["x-content-type-options"] == "nosniff"
    me = api("w1").get("/api/v1/me")
    assert me.headers["x-frame-options"] == "DENY" and me.headers["content-security-policy"].startswith("default-src")
    hot = api("w2").post("/api/v1/worker/jobs/pics/next-task")  # the hot path, before FastAPI's routing
    assert hot.headers["x-frame-options"] == "DENY" and hot.headers["x-content-type-options"] == "nosniff"
    frame = client.get(f"/portal/tasks/{task['task_id']}/render")
    csp = frame.headers["content-security-policy"]
    assert csp.startswith("sandbox allow-scripts allow-forms;") and "allow-same-origin" not in csp
    assert "connect-src 'none'" in csp and "frame-ancestors 'self' http://testserver" in csp
    assert frame.headers["x-frame-options"] == "SAMEORIGIN"
    assert TestClient(app).get("/static/crowd/index.js").headers["access-control-allow-origin"] == "*"


def test_docs_are_served_from_local_files(app):
    client = TestClient(app)
    page = client.get("/docs")
    assert page.status_code == 200 and "cdn" not in page.text.lower()
    for url in re.findall(r'(?:href|src)="(/static/swagger/[^"]+)"', page.text):
        assert client.get(url).status_code == 200, url
    assert "/static/swagger/swagger-ui-bundle.js" in page.text
    assert "'sha256-" in page.headers["content-security-policy"]


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
