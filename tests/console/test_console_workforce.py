"""Workforce and audit pages through HTTP: teams, add and remove members, a sign-up link from the console to a
signed-in worker, revoke a link, a worker's history; the audit log filtered, newest first, paged."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from labelloop.services import audit_log
from labelloop.services.users import create_user
from tests.console.helpers import answer_all, csrf_of, session

POS = {"crowd-classifier": {"label": "positive"}}

# pages over HTTP: nothing here races, so one engine (the services beneath run on both in their own tests)
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_a_requester_makes_a_team_invites_a_worker_who_signs_up_and_is_removed(app, api, people):
    req = session(app, "req", "req-password")
    csrf = csrf_of(req, "/console/workforce")
    r = req.post("/console/workforce/teams", data={"csrf": csrf, "name": "bad name!"})
    assert r.status_code == 400 and 'id="team-name-error"' in r.text
    assert req.post("/console/workforce/teams", data={"csrf": csrf, "name": "labelers"}).status_code == 303
    page = req.get("/console/workforce").text
    assert 'data-team="labelers"' in page and 'data-team="crew"' in page  # crew: shared, shown, not changeable
    assert "/console/workforce/teams/crew/invites" not in page
    r = req.post("/console/workforce/teams/labelers/invites", data={"csrf": csrf, "note": "ana", "ttl_s": "86400"})
    assert r.status_code == 201
    link = re.search(r'value="http://testserver(/invite/[^"]+)"', r.text).group(1)
    # the invited person: a new browser, no account
    guest = TestClient(app, follow_redirects=False)
    form = guest.get(link)
    assert form.status_code == 200 and "labelers" in form.text
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    r = guest.post(link, data={"csrf": token, "username": "ana", "password": "ana-secret", "password2": "nope"})
    assert r.status_code == 400 and 'id="password2-error"' in r.text
    r = guest.post(link, data={"csrf": token, "username": "ana", "password": "ana-secret", "password2": "ana-secret"})
    assert r.status_code == 303 and r.headers["location"] == "/portal"
    assert guest.get("/portal").status_code == 200  # signed in as ana
    assert guest.post(link, data={"csrf": token, "username": "bo", "password": "bo-secret1",
                                  "password2": "bo-secret1"}).status_code == 404  # used once
    def members(html: str) -> str:
        return html.split('aria-label="Members of labelers"')[1].split("</ul>")[0] if "Members of labelers" in html else ""

    page = req.get("/console/workforce").text
    assert 'href="/console/workforce/workers/ana"' in members(page)
    assert 'used by <a href="/console/workforce/workers/ana">' in page
    # remove ana; a second link is revoked
    r = req.post("/console/workforce/teams/labelers/members/ana/remove", data={"csrf": csrf})
    assert r.status_code == 303
    assert "ana" not in members(req.get("/console/workforce").text)
    r = req.post("/console/workforce/teams/labelers/invites", data={"csrf": csrf, "ttl_s": "86400"})
    second = re.search(r'value="http://testserver(/invite/[^"]+)"', r.text).group(1)
    invite_id = re.findall(r'/console/workforce/invites/(\d+)/revoke', r.text)[0]
    assert req.post(f"/console/workforce/invites/{invite_id}/revoke", data={"csrf": csrf}).status_code == 303
    assert TestClient(app).get(second).status_code == 404
    # writes need the console's CSRF token
    assert req.post("/console/workforce/teams", data={"name": "x"}).status_code == 403


def test_a_workers_history_shows_their_work_on_my_jobs_only(app, api, ctx, people, text_job_spec):
    api("req").post("/api/v1/jobs", json=text_job_spec(n=3, workers_per_object=1))
    answer_all(api("w1"), lambda t: POS)
    req = session(app, "req", "req-password")
    page = req.get("/console/workforce/workers/w1").text
    row = page.split('data-job="reviews"')[1].split("</tr>")[0]
    assert ">3<" in row
    assert "answer.submitted" in page
    create_user(ctx, "req2", "req2-password", "requester")
    other = session(app, "req2", "req2-password")
    assert other.get("/console/workforce/workers/w1").text.count('data-job="reviews"') == 0
    create_user(ctx, "loner", "loner-password", "worker")
    assert req.get("/console/workforce/workers/loner").status_code == 404


def test_the_audit_log_filters_newest_first_and_pages(app, api, ctx, people, text_job_spec, monkeypatch):
    monkeypatch.setattr(audit_log, "PAGE", 2)
    api("req").post("/api/v1/jobs", json=text_job_spec(n=3, workers_per_object=1))
    answer_all(api("w1"), lambda t: POS)
    req = session(app, "req", "req-password")
    page = req.get("/console/audit?job=reviews&kind=answer.submitted").text
    ids = [int(x) for x in re.findall(r'data-event="(\d+)"', page)]
    assert len(ids) == 2 and ids == sorted(ids, reverse=True)
    older = re.search(r'href="(/console/audit\?[^"]+)" rel="next"', page).group(1).replace("&amp;", "&")
    rest = [int(x) for x in re.findall(r'data-event="(\d+)"', req.get(older).text)]
    assert len(rest) == 1 and rest[0] < ids[-1]
    objects = req.get("/console/audit?job=reviews&object=1").text
    assert 'data-event' in objects and all(">1<" in r for r in objects.split('data-event="')[1:] if "answer" in r)
    assert req.get("/console/audit?worker=w1").text.count("data-event") == 2
    r = req.get("/console/audit?since=yesterday")
    assert r.status_code == 400 and 'id="since-error"' in r.text
    assert req.get("/console/audit?since=2000-01-01T00:00&until=1999-01-01T00:00").status_code == 400
    assert req.get("/console/audit?until=2000-01-01T00:00").text.count("data-event") == 0
    r = req.get("/console/audit?job=nope")
    assert r.status_code == 400 and 'id="job-error"' in r.text
    # a worker sees no console page; another requester sees none of req's job events
    assert session(app, "w1", "worker-password").get("/console/audit").status_code == 403
