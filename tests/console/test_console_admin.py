"""Administration pages through HTTP: users and roles, credentials (list, revoke), the storage policy; and
deleting a job from the console (its name typed to confirm). Admins only, except deleting one's own job."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from labelloop.services.users import issue_token
from tests.console.helpers import csrf_of, session

# pages over HTTP: nothing here races, so one engine (the services beneath run on both in their own tests)
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _error(html: str, key: str) -> str | None:
    m = re.search(rf'<p class="field-error" id="{re.escape(key)}-error">([^<]*)</p>', html)
    return m.group(1) if m else None


def test_only_admins_get_the_administration_page(app, people):
    assert session(app, "req", "req-password").get("/console/admin").status_code == 403
    assert "Admin" not in session(app, "req", "req-password").get("/console").text.split("</nav>")[0].split(
        'aria-label="Console"')[1]
    assert session(app, "admin", "admin-password").get("/console/admin").status_code == 200


def test_users_and_roles(app, ctx, people):
    admin = session(app, "admin", "admin-password")
    csrf = csrf_of(admin, "/console/admin")
    r = admin.post("/console/admin/users", data={"csrf": csrf, "username": "newbie", "password": "short", "role": "worker"})
    assert r.status_code == 400 and "at least 8" in _error(r.text, "user-password")
    assert 'value="newbie"' in r.text  # kept
    r = admin.post("/console/admin/users", data={"csrf": csrf, "username": "newbie", "password": "long-enough",
                                                 "role": "requester"})
    assert r.status_code == 303
    page = admin.get("/console/admin?role=requester").text
    assert 'data-user="newbie"' in page and 'data-user="w1"' not in page
    assert admin.post("/console/admin/users/newbie/role", data={"csrf": csrf, "role": "worker"}).status_code == 303
    assert 'data-user="newbie"' in admin.get("/console/admin?role=worker&q=new").text
    r = admin.post("/console/admin/users/admin/role", data={"csrf": csrf, "role": "worker"})
    assert r.status_code == 400 and "only admin" in r.text


def test_credentials_are_listed_and_revoked(app, ctx, people):
    token = issue_token(ctx, people["req"], name="ci script")
    bearer = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert bearer.get("/api/v1/jobs").status_code == 200
    admin = session(app, "admin", "admin-password")
    csrf = csrf_of(admin, "/console/admin")
    page = admin.get("/console/admin?cred_user=req&cred_kind=api").text
    cid = re.search(r'data-credential="(\d+)"><td class="num">\d+</td><td>req</td><td>api</td><td>ci script', page).group(1)
    assert admin.post(f"/console/admin/credentials/{cid}/revoke", data={"csrf": csrf}).status_code == 303
    assert bearer.get("/api/v1/jobs").status_code == 401
    r = admin.post(f"/console/admin/credentials/{cid}/revoke", data={"csrf": csrf})
    assert r.status_code == 400 and _error(r.text, "credentials-id")


def test_the_storage_policy_is_viewed_and_edited(app, ctx, people, tmp_path):
    admin = session(app, "admin", "admin-password")
    csrf = csrf_of(admin, "/console/admin")
    r = admin.post("/console/admin/storage/allow", data={"csrf": csrf, "entry": "ftp://nope"})
    assert r.status_code == 400 and _error(r.text, "storage-entry")
    assert admin.post("/console/admin/storage/allow", data={"csrf": csrf, "entry": "s3://acme/raw/"}).status_code == 303
    page = admin.get("/console/admin").text
    assert 'data-entry="s3://acme/raw"' in page and "LABELLOOP_STORAGE_ALLOW" in page  # tmp_path from the settings
    assert ctx.storage.ref_checker()("s3://acme/raw/a.png") is None
    r = admin.post("/console/admin/storage/disallow", data={"csrf": csrf, "entry": "s3://acme/raw/"})
    assert r.status_code == 303 and 'data-entry="s3://acme/raw"' not in admin.get("/console/admin").text


def test_deleting_a_job_from_the_console_asks_for_its_name(app, api, people, text_job_spec):
    api("req").post("/api/v1/jobs", json=text_job_spec(n=3))
    req = session(app, "req", "req-password")
    csrf = csrf_of(req, "/console/jobs/reviews/delete")
    r = req.post("/console/jobs/reviews/delete", data={"csrf": csrf, "confirm": "nope"})
    assert r.status_code == 400 and "to confirm its deletion" in _error(r.text, "confirm")
    assert api("req").get("/api/v1/jobs/reviews").status_code == 200
    r = req.post("/console/jobs/reviews/delete", data={"csrf": csrf, "confirm": "reviews"})
    assert r.status_code == 303 and r.headers["location"] == "/console/audit?kind=job.deleted"
    assert 'data-event' in req.get(r.headers["location"]).text
    assert api("req").get("/api/v1/jobs/reviews").status_code == 404
