"""Ground Truth's Lambdas, unchanged: hooks written as AWS's samples write them, registered by an admin, run as
Lambda runs them (``handler(event, context)``, a subprocess each, a time limit), the post-annotation one reading
``payload.s3Uri`` with boto3 from labelloop's S3 endpoint, on local output and on S3 output."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from labelloop.core.errors import Forbidden, ValidationError
from labelloop.db.models import DataObject
from labelloop.services.background import run_background_once
from labelloop.services.hooks import register_hook
from tests.compat import lambdas
from tests.conftest import write_manifest
from tests.servers import uvicorn_thread

GT_EVENT_KEYS = {"version", "labelingJobArn", "labelAttributeName", "roleArn", "outputConfig",
                 "maxHumanWorkersPerDataObject", "payload"}
TEMPLATE = "<crowd-form><p>{{ task.input.taskObject }}</p><crowd-input name=\"answer\"></crowd-input></crowd-form>"


def _folder(root: Path, name: str, files: dict[str, str]) -> Path:
    folder = root / "hooks" / name
    folder.mkdir(parents=True)
    for file, text in files.items():
        (folder / file).write_text(text, encoding="utf-8")
    return folder


def _register(ctx, people, tmp_path, name: str, files: dict[str, str], **kw) -> None:
    register_hook(ctx, people["admin"], name, _folder(tmp_path, name, files), **kw)


def _job(api, tmp_path, output: str, *, pre: str | None, post: str, name: str = "lambdas") -> dict:
    manifest = write_manifest(tmp_path / f"{name}.manifest", [{"source": "Is the sky blue?", "id": 1},
                                                              {"source": "Is grass red?", "id": 2}])
    spec = {"name": name, "task_type": "custom", "label_attribute_name": "verdict", "input_manifest_uri": str(manifest),
            "output_uri": output, "team": "crew", "workers_per_object": 2, "task_time_limit_s": 300,
            "task_availability_lifetime_s": 3600, "ui_template": TEMPLATE, "pre_hook": pre, "post_hook": post}
    r = api("req").post("/api/v1/jobs", json=spec)
    assert r.status_code == 201, r.text
    return r.json()


def _label(api, ctx, name: str) -> dict:
    run_background_once(ctx, force_output=True)  # the pre-annotation hook runs
    for w in ("w1", "w2"):
        client = api(w)
        while (r := client.post(f"/api/v1/worker/jobs/{name}/next-task")).status_code == 200:
            task = r.json()
            s = client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit",
                            json={"answer": {"answer": f"{w} says {task['dataset_object_id']}"}})
            assert s.status_code == 200, s.text
        assert r.status_code == 204, r.text
    for _ in range(5):
        run_background_once(ctx, force_output=True)
        job = api("req").get(f"/api/v1/jobs/{name}").json()
        if job["status"] == "Completed":
            return job
    pytest.fail(f"the job never completed: {job}")


def _check_labels(lines: list[dict], function_region: str = "us-east-1") -> None:
    assert [x["id"] for x in lines] == [1, 2]
    for line in lines:
        label = line["verdict"]
        assert sorted(a["answer"].split(" says ")[0] for a in label["answers"]) == ["w1", "w2"]
        assert all(w.startswith(f"private.{function_region}.") for w in label["workerIds"])
        assert set(label["eventKeys"]) >= GT_EVENT_KEYS
        assert label["maxHumanWorkersPerDataObject"] == 2
        assert label["roleArn"].startswith("arn:aws:iam::")
        assert label["outputConfig"].endswith("/lambdas/annotations")
        assert 0 < label["remainingMs"] <= 30_000
        assert label["serverEnvironment"] == [], "the server's own environment never reaches a hook"
        assert line["verdict-metadata"]["type"] == "groundtruth/custom"


def _register_pair(ctx, people, tmp_path) -> None:
    _register(ctx, people, tmp_path, "gt-pre", {"lambda_function.py": lambdas.PRE})
    _register(ctx, people, tmp_path, "gt-post", {"lambda_function.py": lambdas.POST, "s3_helper.py": lambdas.S3_HELPER})


def test_lambda_style_hooks_run_unchanged_on_local_output(ctx, app, api, people, tmp_path):
    _register_pair(ctx, people, tmp_path)
    with uvicorn_thread(app) as base:
        ctx.settings.public_url = base  # where hooks reach the S3 endpoint
        _job(api, tmp_path, str(tmp_path / "out"), pre="lambda:gt-pre",
             post="arn:aws:lambda:us-west-2:123456789012:function:gt-post")
        job = _label(api, ctx, "lambdas")
    out = tmp_path / "out" / "lambdas"
    lines = [json.loads(x) for x in (out / "manifests/output/output.manifest").read_text().splitlines()]
    _check_labels(lines)
    [response] = (out / "annotations/consolidated-annotation/consolidation-response/iteration-1").glob("*.json")
    answer = json.loads(response.read_text())
    assert [a["datasetObjectId"] for a in answer] == ["0", "1"], "the response file holds what the Lambda answered"
    assert answer[0]["consolidatedAnnotation"]["content"]["verdict"] == lines[0]["verdict"]
    assert job["label_counters"]["HumanLabeled"] == 2
    events = api("req").get("/api/v1/events", params={"job": "lambdas", "kind": "object.preprocessed"}).json()
    assert len(events["events"]) == 2
    with ctx.engine.connect() as conn:  # the pre-annotation hook's taskInput, made with Lambda's context object
        inputs = [json.loads(t) for (t,) in conn.execute(select(DataObject.task_input).order_by(DataObject.id))]
    assert [i["taskObject"] for i in inputs] == ["Is the sky blue?", "Is grass red?"]
    assert all(i["functionName"] == "gt-pre" and len(i["requestId"]) == 36 for i in inputs)


@pytest.mark.s3
def test_lambda_style_hooks_run_unchanged_on_s3_output(ctx, app, api, people, tmp_path, s3, allow_storage):
    import fsspec

    endpoint, client = s3
    allow_storage("s3://acme")
    fsspec.config.conf.pop("s3", None)
    ctx.storage.s3_endpoint_url = endpoint
    _register_pair(ctx, people, tmp_path)
    with uvicorn_thread(app) as base:
        ctx.settings.public_url = base
        _job(api, tmp_path, "s3://acme/out", pre="lambda:gt-pre", post="lambda:gt-post")
        _label(api, ctx, "lambdas")
    body = client.get_object(Bucket="acme", Key="out/lambdas/manifests/output/output.manifest")["Body"].read()
    _check_labels([json.loads(x) for x in body.decode().splitlines()])


def test_a_hook_reads_only_its_own_payload(ctx, app, people, tmp_path):
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    from labelloop.services.hook_s3 import hook_uri, read_credentials

    mine, other = tmp_path / "out" / "mine.json", tmp_path / "out" / "other.json"
    mine.parent.mkdir(parents=True)
    mine.write_text('{"mine": 1}')
    other.write_text('{"other": 1}')
    with uvicorn_thread(app) as base:
        ctx.settings.public_url = base
        uri = hook_uri(str(mine))
        endpoint, key_id, secret = read_credentials(ctx, uri, ttl_s=60)
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key_id, aws_secret_access_key=secret,
                          region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
        bucket, key = uri[len("s3://"):].split("/", 1)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b'{"mine": 1}'
        with pytest.raises(ClientError) as denied:
            s3.get_object(Bucket=bucket, Key=key.replace("mine", "other"))
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        wrong = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key_id, aws_secret_access_key="x" * 64,
                             region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
        with pytest.raises(ClientError) as bad:
            wrong.get_object(Bucket=bucket, Key=key)
        assert bad.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


@pytest.mark.parametrize(("code", "reason"), [
    (lambdas.FAILING, "ValueError: the consolidation failed on purpose"),
    (lambdas.SLOW, "timed out after 1 s"),
    (lambdas.BAD_ANSWER, "must answer a list"),
], ids=["raises", "times-out", "answers-badly"])
def test_a_failing_hook_fails_its_objects_with_the_reason_and_the_job_goes_on(ctx, api, people, tmp_path, code,
                                                                              reason):
    _register(ctx, people, tmp_path, "gt-bad", {"lambda_function.py": code}, timeout_s=1)
    _job(api, tmp_path, str(tmp_path / "out"), pre=None, post="lambda:gt-bad")
    job = _label(api, ctx, "lambdas")
    assert job["status"] == "Completed"
    events = api("req").get("/api/v1/events", params={"job": "lambdas", "kind": "object.failed"}).json()
    rows = events["events"]
    assert len(rows) == 2 and all(reason in r["detail"]["reason"] for r in rows), rows


def test_only_an_admin_registers_hooks_and_jobs_name_registered_ones(ctx, api, people, tmp_path, text_job_spec):
    folder = _folder(tmp_path, "h", {"lambda_function.py": lambdas.PRE})
    with pytest.raises(Forbidden):
        register_hook(ctx, people["req"], "h", folder)
    r = api("req").post("/api/v1/jobs", json=text_job_spec(pre_hook="lambda:nobody"))
    assert r.status_code == 400 and r.json()["field"] == "pre_hook" and "nobody" in r.json()["message"]
    bad = _folder(tmp_path, "nohandler", {"other.py": "x = 1"})
    with pytest.raises(ValidationError, match=r"lambda_function\.py"):
        register_hook(ctx, people["admin"], "nohandler", bad)
    # the zip uploaded to Lambda, a package inside it
    archive = tmp_path / "function.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("app/__init__.py", "")
        z.writestr("app/main.py", lambdas.PRE)
    view = register_hook(ctx, people["admin"], "zipped", archive, handler="app.main.lambda_handler")
    assert view.code_bytes == archive.stat().st_size
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../outside.py", "x = 1")
        z.writestr("lambda_function.py", lambdas.PRE)
    with pytest.raises(ValidationError, match="outside"):
        register_hook(ctx, people["admin"], "evil", evil)


def test_hooks_cli_registers_lists_and_removes(ctx, people, tmp_path):
    from labelloop.cli.main import app

    folder = _folder(tmp_path, "cli-hook", {"app.py": lambdas.PRE})
    db = ["--database-url", ctx.settings.database_url]
    runner = CliRunner()
    r = runner.invoke(app, ["hooks", "register", "cli-hook", str(folder), "--handler", "app.lambda_handler",
                            "--env", "MODE=test", *db])
    assert r.exit_code == 0 and "registered lambda:cli-hook" in r.output, r.output
    r = runner.invoke(app, ["hooks", "register", "cli-hook", str(folder), "--handler", "app.lambda_handler", *db])
    assert r.exit_code == 2 and "--replace" in r.output
    r = runner.invoke(app, ["hooks", "list", "--json", *db])
    assert json.loads(r.output.splitlines()[0])["ref"] == "lambda:cli-hook"
    r = runner.invoke(app, ["hooks", "register", "x", str(folder), "--as", "req", *db])
    assert r.exit_code == 2 and "only an admin" in r.output
    assert runner.invoke(app, ["hooks", "remove", "cli-hook", *db]).exit_code == 0
    assert runner.invoke(app, ["hooks", "list", "--json", *db]).output.strip() == ""


def test_requesters_list_the_registered_hooks_through_the_api(ctx, api, people, tmp_path):
    _register(ctx, people, tmp_path, "gt-pre", {"lambda_function.py": lambdas.PRE})
    r = api("req").get("/api/v1/hooks")
    assert r.status_code == 200, r.text
    [hook] = r.json()["hooks"]
    assert hook["ref"] == "lambda:gt-pre" and hook["handler"] == "lambda_function.lambda_handler"
    assert api("w1").get("/api/v1/hooks").status_code == 403
