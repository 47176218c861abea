"""The console's job pages through HTTP: who may open them (requesters and admins, each requester only their
own jobs), the jobs list and one job's figures, the live JSON, block a worker, stop a job. The browser test
of the same pages is in test_console_results.py."""

from __future__ import annotations

from labelloop.services.users import create_user
from tests.console.helpers import csrf_of, labeled_job, session


def test_requesters_land_on_the_console_workers_on_the_portal(app, people):
    assert session(app, "req", "req-password").landing == "/console"
    assert session(app, "admin", "admin-password").landing == "/console"
    assert session(app, "w1", "worker-password").landing == "/portal"


def test_a_worker_gets_a_403_page_pointing_to_the_portal_and_nobody_signed_in_is_sent_to_sign_in(app, people):
    worker = session(app, "w1", "worker-password")
    for path in ("/console", "/console/jobs/anything", "/console/jobs/anything/results"):
        r = worker.get(path)
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
        assert 'href="/portal"' in r.text and "requesters and admins" in r.text
    r = worker.get("/console/api/jobs/anything/live")
    assert r.status_code == 403 and r.json()["error"] == "AccessDeniedException"
    anonymous = session(app, "req", "req-password")
    anonymous.cookies.clear()
    r = anonymous.get("/console/jobs/reviews?x=1")
    assert r.status_code == 303 and r.headers["location"] == "/portal/login?next=%2Fconsole%2Fjobs%2Freviews%3Fx%3D1"
    # signing in from there comes back to the page asked for; a foreign "next" is ignored
    form = anonymous.get(r.headers["location"]).text
    assert 'name="next" value="/console/jobs/reviews?x=1"' in form
    assert 'name="next"' not in anonymous.get("/portal/login?next=https://evil.example/").text


def test_the_jobs_list_and_one_job_show_progress_cost_and_workers(app, api, ctx, clock, people, text_job_spec):
    labeled_job(api, ctx, clock, text_job_spec, price=0.05)
    api("req").post("/api/v1/jobs", json=text_job_spec(name="later", n=4))
    req = session(app, "req", "req-password")
    listing = req.get("/console").text
    assert listing.index('data-job="later"') < listing.index('data-job="reviews"')  # newest first
    row = listing.split('data-job="reviews"')[1].split("</tr>")[0]
    assert "6 / 6" in row and "$0.90" in row and "Completed" in row  # 18 answers x $0.05
    assert "0 / 4" in listing.split('data-job="later"')[1].split("</tr>")[0]
    assert 'data-job="later"' not in req.get("/console?status=Completed").text
    assert req.get("/console?status=Nonsense").status_code == 400

    page = req.get("/console/jobs/reviews").text
    assert 'id="c-labeled">6' in page and "$0.15/object" in page and "<svg" in page
    assert "positive: 6, negative: 0" in page  # the label distribution's text alternative
    live = req.get("/console/api/jobs/reviews/live").json()
    assert (live["labeled"], live["human_labeled"], live["answers"], live["cost_usd"]) == (6, 6, 18, 0.9)
    assert live["stoppable"] is False and set(live["panels"]) == {"counters", "progress", "distribution", "leases"}
    workers = req.get("/console/jobs/reviews/workers?fragment=1&sort=-agreement").text
    assert workers.index('data-worker="w3"') > workers.index('data-worker="w1"')  # w3 agreed least: last
    assert 'aria-sort="descending"' in workers
    assert req.get("/console/jobs/reviews/workers?sort=nope").status_code == 400


def test_block_a_worker_and_stop_a_job_from_the_console(app, api, ctx, clock, people, text_job_spec):
    labeled_job(api, ctx, clock, text_job_spec)
    api("req").post("/api/v1/jobs", json=text_job_spec(name="running", n=3))
    req = session(app, "req", "req-password")
    token = csrf_of(req)
    assert req.post("/console/jobs/reviews/workers/w3/block", data={"csrf": "wrong"}).status_code == 403
    r = req.post("/console/jobs/reviews/workers/w3/block", data={"csrf": token, "reason": "careless"})
    assert r.status_code == 303
    quality = api("req").get("/api/v1/jobs/reviews/quality").json()
    w3 = next(w for w in quality["workers"] if w["worker"] == "w3")
    assert w3["blocked"] and w3["blocked_reason"] == "careless"
    assert "Unblock" in req.get("/console/jobs/reviews/workers?fragment=1").text
    assert req.post("/console/jobs/reviews/workers/w3/unblock", data={"csrf": token}).status_code == 303
    assert not next(w for w in api("req").get("/api/v1/jobs/reviews/quality").json()["workers"]
                    if w["worker"] == "w3")["blocked"]

    assert 'id="stop-form"' in req.get("/console/jobs/running").text
    assert req.post("/console/jobs/running/stop", data={"csrf": token}).status_code == 303
    assert api("req").get("/api/v1/jobs/running").json()["status"] in ("Stopping", "Stopped")
    again = req.post("/console/jobs/running/stop", data={"csrf": token})
    assert again.status_code == 409 and "only a job in progress can be stopped" in again.text


CONSOLE_GETS = ["/console/jobs/reviews", "/console/api/jobs/reviews/live", "/console/jobs/reviews/workers",
                "/console/jobs/reviews/results", "/console/jobs/reviews/objects/0", "/console/jobs/reviews/downloads",
                "/console/jobs/reviews/downloads/answers.csv", "/console/jobs/reviews/downloads/output.manifest",
                "/console/jobs/reviews/downloads/export?format=jsonl", "/console/jobs/reviews/objects/0/data"]
CONSOLE_POSTS = ["/console/jobs/reviews/stop", "/console/jobs/reviews/workers/w1/block",
                 "/console/jobs/reviews/workers/w1/unblock", "/console/jobs/reviews/objects/0/label"]


def test_another_requester_sees_none_of_the_jobs_on_any_console_url(app, api, ctx, clock, people, text_job_spec):
    labeled_job(api, ctx, clock, text_job_spec)
    create_user(ctx, "req2", "req2-password", "requester")
    other = session(app, "req2", "req2-password")
    assert 'data-job="reviews"' not in other.get("/console").text
    for path in CONSOLE_GETS:
        r = other.get(path)
        assert r.status_code == 404, (path, r.status_code, r.text[:200])
        said = r.text.replace("no labeling job &#39;reviews&#39;", "").replace("no labeling job 'reviews'", "")
        assert "reviews" not in said and "review number" not in said  # nothing of the job shows
    token = csrf_of(other)
    for path in CONSOLE_POSTS:
        r = other.post(path, data={"csrf": token, "label": "negative"})
        assert r.status_code == 404, (path, r.status_code, r.text[:200])
    # the owner and an admin open every page
    for who, password in (("req", "req-password"), ("admin", "admin-password")):
        client = session(app, who, password)
        for path in CONSOLE_GETS[:-2]:  # a text job has no file for .../data, and classification no export
            assert client.get(path).status_code == 200, (who, path)
        assert client.get("/console/jobs/reviews/downloads/export?format=jsonl").status_code == 400
