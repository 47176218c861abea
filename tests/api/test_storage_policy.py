"""The storage and hook access policy, end to end: real HTTP servers on loopback, real files outside the data
folder, both engines. Each refused URI is a 400 naming its field, and nothing is created."""

from __future__ import annotations

import http.server
import json
import os
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import write_manifest

TEMPLATE = '<crowd-form><img src="{{ task.input.taskObject | grant_read_access }}"></crowd-form>'


class _Server:
    """A real HTTP server on loopback; ``routes`` maps a path to (status, headers, body) or a callable."""

    def __init__(self):
        self.routes: dict = {}
        self.posts: list = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if callable(route):
                    route(self)
                    return
                status, headers, body = route
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._answer()

            def do_POST(self):
                server.posts.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                self._answer()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    made: list[_Server] = []

    def make() -> _Server:
        made.append(_Server())
        return made[-1]

    yield make
    for s in made:
        s.close()


def _no_jobs(api):
    assert api("req").get("/api/v1/jobs").json()["jobs"] == []


def _refused(r, field):
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "ValidationException" and body["field"] == field, body
    return body


@pytest.mark.parametrize("ref", ["file:///etc/passwd", "../../etc/passwd", "labelloop.db", "/etc/shadow",
                                 "http://127.0.0.1:{port}/internal", "gs://bucket/x"])
def test_manifest_source_refs_outside_the_policy_are_line_errors(api, text_job_spec, tmp_path, servers, ref):
    ref = ref.format(port=servers().port)
    manifest = write_manifest(tmp_path / "in.manifest", [{"source-ref": str(tmp_path / "ok.png")}, {"source-ref": ref}])
    body = _refused(api("req").post("/api/v1/jobs", json=text_job_spec(input_manifest_uri=str(manifest))),
                    "input_manifest_uri")
    assert body["details"][0]["line"] == 2 and "refused" in body["details"][0]["reason"], body
    _no_jobs(api)


@pytest.mark.parametrize(("field", "value"), [
    ("input_manifest_uri", "file:///etc/passwd"),
    ("input_manifest_uri", "/etc/shadow"),
    ("input_manifest_uri", "labelloop.db"),
    ("input_manifest_uri", "http://127.0.0.1:1/in.manifest"),
    ("label_config_uri", "/etc/passwd"),
    ("output_uri", "{tmp}/out/../../../../etc"),
    ("output_uri", "/etc/labelloop"),
    ("output_uri", "https://example.com/out"),
    ("pre_hook", "http://127.0.0.1:{port}/hook"),
    ("post_hook", "http://169.254.169.254/latest/meta-data"),
])
def test_refused_uris_name_their_field(api, text_job_spec, tmp_path, servers, field, value):
    value = value.format(tmp=tmp_path, port=servers().port)
    body = _refused(api("req").post("/api/v1/jobs", json=text_job_spec(**{field: value})), field)
    assert field in body["message"]
    _no_jobs(api)


def test_the_message_says_what_is_allowed_and_how_to_allow_more(api, text_job_spec, tmp_path):
    body = _refused(api("req").post("/api/v1/jobs", json=text_job_spec(input_manifest_uri="file:///etc/passwd")),
                    "input_manifest_uri")
    assert "file:///etc/passwd is outside the allowed storage (allowed: " in body["message"]
    assert str((tmp_path / "data").resolve()) in body["message"]
    assert "`labelloop storage allow PATH`" in body["message"]


def test_grant_read_access_of_a_server_file_in_a_template_is_refused(api, text_job_spec):
    spec = text_job_spec(task_type="custom", label_config_uri=None,
                         ui_template='<crowd-form><img src="{{ "/etc/passwd" | grant_read_access }}"></crowd-form>')
    body = _refused(api("req").post("/api/v1/jobs", json=spec), "ui_template")
    assert "/etc/passwd" in body["message"]
    _no_jobs(api)


def test_symlink_out_of_an_allowed_folder_is_refused(api, text_job_spec, tmp_path):
    (tmp_path / "link.manifest").symlink_to("/etc/passwd")
    body = _refused(api("req").post("/api/v1/jobs", json=text_job_spec(
        input_manifest_uri=str(tmp_path / "link.manifest"))), "input_manifest_uri")
    assert "resolves to /etc/passwd" in body["message"]
    (tmp_path / "etc").symlink_to("/etc")
    manifest = write_manifest(tmp_path / "in.manifest", [{"source-ref": str(tmp_path / "etc" / "passwd")}])
    body = _refused(api("req").post("/api/v1/jobs", json=text_job_spec(input_manifest_uri=str(manifest))),
                    "input_manifest_uri")
    assert body["details"][0]["line"] == 1


def test_only_regular_files_are_read(api, text_job_spec, tmp_path, allow_storage):
    fifo = tmp_path / "fifo.manifest"
    os.mkfifo(fifo)
    (tmp_path / "folder.manifest").mkdir()
    allow_storage("/dev/urandom")
    cases = [(fifo, "a FIFO"), (tmp_path / "folder.manifest", "a folder"), (Path("/dev/urandom"), "a device")]
    for path, kind in cases:
        body = _refused(api("req").post("/api/v1/jobs", json=text_job_spec(input_manifest_uri=str(path))),
                        "input_manifest_uri")
        assert kind in body["message"], body
    # a custom job too: a 400 naming the manifest, never a 500
    for uri in [str(tmp_path / "folder.manifest"), str(tmp_path / "missing.manifest")]:
        _refused(api("req").post("/api/v1/jobs", json=text_job_spec(
            input_manifest_uri=uri, task_type="custom", label_config_uri=None, ui_template=TEMPLATE)),
            "input_manifest_uri")
    _no_jobs(api)


def test_dev_urandom_is_outside_the_policy_by_default(api, text_job_spec):
    body = _refused(api("req").post("/api/v1/jobs", json=text_job_spec(input_manifest_uri="/dev/urandom")),
                    "input_manifest_uri")
    assert "outside the allowed storage" in body["message"]


def test_manifest_size_limit(api, ctx, text_job_spec, tmp_path):
    ctx.settings.manifest_max_mb = 0.001
    manifest = write_manifest(tmp_path / "big.manifest", [{"source": "x" * 100}] * 20)
    body = _refused(api("req").post("/api/v1/jobs", json=text_job_spec(input_manifest_uri=str(manifest))),
                    "input_manifest_uri")
    assert "larger than the limit" in body["message"]


def test_redirects_are_checked_at_every_hop(api, text_job_spec, servers, allow_storage):
    allowed, internal = servers(), servers()
    internal.routes["/secret.manifest"] = (200, {}, b'{"source": "internal secret"}\n')
    allowed.routes["/in.manifest"] = (302, {"Location": f"{internal.url}/secret.manifest"}, b"")
    allowed.routes["/local.manifest"] = (302, {"Location": "file:///etc/passwd"}, b"")
    allowed.routes["/loop.manifest"] = (302, {"Location": "/loop.manifest"}, b"")
    allowed.routes["/ok.manifest"] = (302, {"Location": "/real.manifest"}, b"")
    allowed.routes["/real.manifest"] = (200, {}, b'{"source": "fine"}\n')
    allow_storage(allowed.url)
    for path, words in [("in", "not an allowed host"), ("local", "not http"), ("loop", "redirects")]:
        body = _refused(api("req").post("/api/v1/jobs", json=text_job_spec(
            input_manifest_uri=f"{allowed.url}/{path}.manifest")), "input_manifest_uri")
        assert words in body["message"], body
    _no_jobs(api)
    r = api("req").post("/api/v1/jobs", json=text_job_spec(input_manifest_uri=f"{allowed.url}/ok.manifest"))
    assert r.status_code == 201 and r.json()["object_count"] == 1


def test_a_listed_name_that_resolves_to_loopback_is_refused(api, text_job_spec, servers, allow_storage):
    server = servers()
    server.routes["/in.manifest"] = (200, {}, b'{"source": "x"}\n')
    allow_storage(f"http://localhost:{server.port}")  # the name is listed, its address (loopback) is not
    body = _refused(api("req").post("/api/v1/jobs", json=text_job_spec(
        input_manifest_uri=f"http://localhost:{server.port}/in.manifest")), "input_manifest_uri")
    assert "loopback address" in body["message"] and "storage allow 127.0.0.1/32" in body["message"]
    allow_storage("127.0.0.0/8")
    r = api("req").post("/api/v1/jobs", json=text_job_spec(
        input_manifest_uri=f"http://localhost:{server.port}/in.manifest"))
    assert r.status_code == 201, r.text


def test_a_slow_manifest_does_not_hold_the_write_lock(api, ctx, text_job_spec, servers, allow_storage):
    """While a manifest is still being served, another worker's submit goes through."""
    worker = api("w1")
    assert api("req").post("/api/v1/jobs", json=text_job_spec(name="running")).status_code == 201
    task = worker.post("/api/v1/worker/jobs/running/next-task").json()
    started, finish = threading.Event(), threading.Event()

    def slow(handler):
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(b'{"source": "first"}\n')
        handler.wfile.flush()
        started.set()
        finish.wait(30)
        handler.wfile.write(b'{"source": "last"}\n')

    server = servers()
    server.routes["/slow.manifest"] = slow
    allow_storage(server.url)
    result: dict = {}

    def create():
        result["r"] = api("req").post("/api/v1/jobs", json=text_job_spec(
            name="slow", input_manifest_uri=f"{server.url}/slow.manifest"))

    creator = threading.Thread(target=create)
    creator.start()
    try:
        assert started.wait(30)
        r = worker.post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": {"label": "positive"}})
        assert r.status_code == 200, r.text
        assert not finish.is_set() and creator.is_alive()  # the manifest is still being served
    finally:
        finish.set()
        creator.join(30)
    assert result["r"].status_code == 201 and result["r"].json()["object_count"] == 2


def test_data_served_to_workers_goes_through_the_policy(api, ctx, text_job_spec, tmp_path, servers, allow_storage):
    images = tmp_path / "images"
    images.mkdir()
    for i in range(3):
        (images / f"{i}.png").write_bytes(b"png %d" % i)
    down = servers()
    allow_storage(down.url)
    refs = [str(images / "0.png"), str(images / "1.png"), str(images / "2.png"), f"{down.url}/gone.png"]
    manifest = write_manifest(tmp_path / "img.manifest", [{"source-ref": r} for r in refs])
    spec = text_job_spec(name="imgs", task_type="image-classification", label_attribute_name="pet",
                         input_manifest_uri=str(manifest), workers_per_object=1)
    assert api("req").post("/api/v1/jobs", json=spec).status_code == 201
    (images / "1.png").unlink()
    (images / "1.png").symlink_to("/etc/passwd")  # swapped after the job was created
    (images / "2.png").unlink()
    down.close()  # the host is listed but unreachable now
    seen = {}
    for worker in ["w1", "w2", "w3", "w4"]:
        client = api(worker)
        task = client.post("/api/v1/worker/jobs/imgs/next-task").json()
        r = client.get(f"/api/v1/worker/tasks/{task['task_id']}/data")
        seen[r.status_code] = r
        assert "root:" not in r.text
    assert seen[200].content == b"png 0"
    assert seen[403].json()["error"] == "AccessDeniedException"
    assert seen[404].json()["error"] == "ResourceNotFound"
    assert seen[502].json()["error"] == "ServiceUnavailable"


def test_http_hooks_go_through_the_policy_at_every_call(api, ctx, people, text_job_spec, servers, allow_storage):
    from labelloop.services.background import run_background_once
    from labelloop.services.storage_policy import disallow

    hook = servers()
    hook.routes["/pre"] = (200, {"Content-Type": "application/json"},
                           json.dumps({"taskInput": {"x": 1}, "isHumanAnnotationRequired": True}).encode())
    allow_storage(hook.url)
    r = api("req").post("/api/v1/jobs", json=text_job_spec(name="hooked", pre_hook=f"{hook.url}/pre"))
    assert r.status_code == 201, r.text
    disallow(ctx, people["admin"], hook.url)  # taken back before the background process calls it
    run_background_once(ctx)
    assert hook.posts == []
    events = api("admin").get("/api/v1/events", params={"job": "hooked"}).json()
    assert "refused" in json.dumps(events)


def test_cli_storage_allow_list_disallow(tmp_path, monkeypatch):
    from labelloop.cli.main import app

    monkeypatch.setenv("LABELLOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("LABELLOOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for entry in ["images", "s3://acme/raw", "https://img.example.com", "10.0.0.0/8"]:
        r = runner.invoke(app, ["storage", "allow", entry])
        assert r.exit_code == 0, r.output
    listed = runner.invoke(app, ["storage", "list"]).output
    for text in [str((tmp_path / "data").resolve()), str(tmp_path / "images"), "s3://acme/raw",
                 "https://img.example.com", "10.0.0.0/8", "database", "data_dir"]:
        assert text in listed, listed
    assert runner.invoke(app, ["storage", "disallow", "s3://acme/raw"]).exit_code == 0
    assert "s3://acme/raw" not in runner.invoke(app, ["storage", "list"]).output
    bad = runner.invoke(app, ["storage", "allow", "gs://nope"])
    assert bad.exit_code == 2 and "an entry is" in bad.output


def test_a_job_whose_output_is_no_longer_allowed_fails_with_the_reason(api, ctx, people, tmp_path, text_job_spec,
                                                                         allow_storage):
    """The admin takes back the job's output location while it runs: the background runner fails the job
    once, says why, and does not retry the refused write every pass."""
    from sqlalchemy import select

    from labelloop.db.models import Event, Job
    from labelloop.services.background import run_background_once
    from labelloop.services.storage_policy import disallow

    elsewhere = tmp_path.parent / f"{tmp_path.name}-out"
    allow_storage(str(elsewhere))
    r = api("req").post("/api/v1/jobs", json=text_job_spec(output_uri=str(elsewhere), n=1, workers_per_object=1))
    assert r.status_code == 201, r.text
    disallow(ctx, people["admin"], str(elsewhere))
    run_background_once(ctx, force_output=True)
    run_background_once(ctx, force_output=True)  # nothing more to do: no error, no second event
    with ctx.engine.connect() as conn:
        job = conn.execute(select(Job.status, Job.failure_reason, Job.output_dirty)).one()
        kinds = conn.execute(select(Event.kind).where(Event.kind.like("job.%"))).scalars().all()
    assert job.status == "Failed" and "storage policy" in job.failure_reason and not job.output_dirty
    assert kinds.count("job.failed") == 1
    assert not (elsewhere / "reviews").exists()
