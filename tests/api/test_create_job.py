"""Creating jobs through the REST API: validation, all-or-nothing import, authorization."""

from __future__ import annotations

import functools
import http.server
import json
import threading

import pytest
from sqlalchemy import func, select

from labelloop.db.models import DataObject, Job
from tests.conftest import write_manifest


def test_create_job_imports_every_line_and_starts(api, text_job_spec):
    r = api("req").post("/api/v1/jobs", json=text_job_spec(n=6))
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["status"] == "InProgress"
    assert job["object_count"] == 6
    assert job["labels"] == ["positive", "negative"]
    assert job["label_counters"] == {"TotalLabeled": 0, "HumanLabeled": 0, "MachineLabeled": 0,
                                     "FailedNonRetryableError": 0, "Unlabeled": 6}
    assert job["output_manifest_uri"].endswith("/reviews/manifests/output/output.manifest")


def test_bad_manifest_line_names_the_line_and_creates_nothing(api, ctx, text_job_spec, tmp_path):
    manifest = write_manifest(tmp_path / "bad.manifest", [{"source": "fine"}, {"source": "fine too"},
                                                          '{"source": "broken"', {"nothing": 1}])
    r = api("req").post("/api/v1/jobs", json=text_job_spec(input_manifest_uri=str(manifest)))
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "ValidationException"
    assert [d["line"] for d in body["details"]] == [3, 4]
    assert "JSON" in body["details"][0]["reason"]
    assert "source" in body["details"][1]["reason"]
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Job)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(DataObject)).scalar() == 0


def test_limits_have_clear_messages(api, text_job_spec):
    client = api("req")
    cases = [
        ({"workers_per_object": 10}, "workers_per_object"),
        ({"task_time_limit_s": 5}, "task_time_limit_s"),
        ({"label_attribute_name": "my_label"}, "label_attribute_name"),
        ({"label_attribute_name": "label-metadata"}, "label_attribute_name"),
        ({"name": "bad name!"}, "name"),
        ({"team": "nobody"}, "team"),
        ({"task_type": "telepathy"}, "task_type"),
        ({"input_manifest_uri": "/does/not/exist.manifest"}, "input_manifest_uri"),
    ]
    for override, field in cases:
        r = client.post("/api/v1/jobs", json=text_job_spec(**override))
        assert r.status_code in (400, 404), (override, r.text)
        assert r.json()["field"] == field, (override, r.json())
        assert r.json()["message"]


def test_job_names_are_unique_ignoring_case(api, text_job_spec):
    client = api("req")
    assert client.post("/api/v1/jobs", json=text_job_spec(name="Reviews")).status_code == 201
    r = client.post("/api/v1/jobs", json=text_job_spec(name="reviews"))
    assert r.status_code == 409
    assert r.json()["error"] == "ResourceInUse"


def test_label_config_needs_two_labels_for_classification(api, text_job_spec):
    r = api("req").post("/api/v1/jobs", json=text_job_spec(
        label_config_uri=None, label_config={"document-version": "2018-11-28", "labels": [{"label": "only"}]}))
    assert r.status_code == 400
    assert "2" in r.json()["message"]


def test_requests_are_authenticated_and_authorized(app, api, text_job_spec):
    from fastapi.testclient import TestClient

    anonymous = TestClient(app)
    assert anonymous.get("/api/v1/jobs").status_code == 401
    bad = TestClient(app, headers={"Authorization": "Bearer nope"})
    assert bad.get("/api/v1/jobs").status_code == 401
    assert api("w1").post("/api/v1/jobs", json=text_job_spec()).status_code == 403
    assert api("req").post("/api/v1/jobs", json=text_job_spec()).status_code == 201
    # a worker of another team cannot see the job; one of the job's team may not read its details (403:
    # manifest, label configuration, output and hooks are the requester's) and lists none of the jobs
    assert api("outsider").get("/api/v1/jobs/reviews").status_code == 404
    assert api("w1").get("/api/v1/jobs/reviews").status_code == 403
    assert api("w1").get("/api/v1/jobs").json() == {"jobs": []}
    assert api("outsider").post("/api/v1/worker/jobs/reviews/next-task").status_code == 404


def test_token_sign_in(app, people):
    from fastapi.testclient import TestClient

    client = TestClient(app)
    r = client.post("/api/v1/auth/token", json={"username": "w1", "password": "worker-password"})
    assert r.status_code == 200
    token = r.json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "w1"
    assert client.post("/api/v1/auth/token", json={"username": "w1", "password": "wrong"}).status_code == 401


def test_chained_objects_with_a_label_are_not_sent_again(api, ctx, text_job_spec, tmp_path):
    lines = [{"source": "new"}, {"source": "old", "sentiment": 0, "sentiment-metadata": {"class-name": "positive"}}]
    manifest = write_manifest(tmp_path / "chain.manifest", lines)
    r = api("req").post("/api/v1/jobs", json=text_job_spec(input_manifest_uri=str(manifest)))
    assert r.status_code == 201
    with ctx.engine.connect() as conn:
        statuses = conn.execute(select(DataObject.status).order_by(DataObject.position)).scalars().all()
    assert statuses == ["pending", "skipped"]
    assert json.loads(r.text)["label_counters"]["Unlabeled"] == 1


@pytest.fixture
def http_folder(tmp_path):
    """A real HTTP server on loopback serving tmp_path/www."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_manifest_and_labels_over_http_and_file_uris(api, text_job_spec, tmp_path, http_folder, allow_storage):
    www, base = http_folder
    allow_storage(base)  # a loopback host: allowed only because the admin lists it
    write_manifest(www / "in.manifest", [{"source": f"line {i}", "keep": i} for i in range(3)])
    (www / "labels.json").write_text(json.dumps({"document-version": "2018-11-28",
                                                 "labels": [{"label": "yes"}, {"label": "no"}]}))
    r = api("req").post("/api/v1/jobs", json=text_job_spec(
        name="over-http", input_manifest_uri=f"{base}/in.manifest", label_config_uri=f"{base}/labels.json"))
    assert r.status_code == 201, r.text
    assert r.json()["object_count"] == 3 and r.json()["labels"] == ["yes", "no"]
    r = api("req").post("/api/v1/jobs", json=text_job_spec(
        name="over-file", input_manifest_uri=(www / "in.manifest").as_uri()))
    assert r.status_code == 201 and r.json()["object_count"] == 3
    missing = api("req").post("/api/v1/jobs", json=text_job_spec(
        name="missing", input_manifest_uri=f"{base}/nope.manifest"))
    assert missing.status_code == 400 and missing.json()["field"] == "input_manifest_uri"
