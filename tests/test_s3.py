"""Manifests, data and output in S3: a moto S3 server on loopback, read and written through fsspec/s3fs."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.s3

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")


@pytest.fixture
def s3(monkeypatch):
    from tests.servers import moto_s3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto_s3() as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        client.create_bucket(Bucket="acme")
        yield endpoint, client


def test_job_reads_manifest_and_data_from_s3_and_writes_output_there(ctx, api, s3, text_job_spec, allow_storage):
    import fsspec

    endpoint, client = s3
    # the endpoint is on loopback, but it is the admin's setting, not a requester's URL: only the bucket is listed
    allow_storage("s3://acme")
    fsspec.config.conf.pop("s3", None)
    ctx.storage.s3_endpoint_url = endpoint
    client.put_object(Bucket="acme", Key="img/0.png", Body=b"\x89PNG fake image bytes")
    lines = [{"source-ref": "s3://acme/img/0.png", "camera": "front"}]
    client.put_object(Bucket="acme", Key="in/job.manifest", Body="".join(json.dumps(x) + "\n" for x in lines))
    labels = {"document-version": "2018-11-28", "labels": [{"label": "cat"}, {"label": "dog"}]}
    client.put_object(Bucket="acme", Key="in/labels.json", Body=json.dumps(labels))
    spec = text_job_spec(name="s3job", task_type="image-classification", label_attribute_name="animal",
                         input_manifest_uri="s3://acme/in/job.manifest", label_config_uri="s3://acme/in/labels.json",
                         output_uri="s3://acme/out", workers_per_object=1)
    r = api("req").post("/api/v1/jobs", json=spec)
    assert r.status_code == 201, r.text
    worker = api("w1")
    task = worker.post("/api/v1/worker/jobs/s3job/next-task").json()
    data = worker.get(task["data_url"])
    assert data.status_code == 200 and data.content == b"\x89PNG fake image bytes"
    worker.post(f"/api/v1/worker/tasks/{task['task_id']}/submit", json={"answer": {"label": "dog"}})
    from labelloop.services.background import run_background_once

    run_background_once(ctx)
    body = client.get_object(Bucket="acme", Key="out/s3job/manifests/output/output.manifest")["Body"].read()
    line = json.loads(body.decode().splitlines()[0])
    assert line["source-ref"] == "s3://acme/img/0.png" and line["camera"] == "front"
    assert line["animal"] == 1 and line["animal-metadata"]["class-name"] == "dog"
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="acme", Prefix="out/s3job/annotations/")["Contents"]]
    assert any(k.startswith("out/s3job/annotations/worker-response/iteration-1/0/") for k in keys)


def test_missing_s3_manifest_is_a_clear_error(ctx, api, s3, text_job_spec, allow_storage):
    ctx.storage.s3_endpoint_url = s3[0]
    allow_storage("s3://acme")
    r = api("req").post("/api/v1/jobs", json=text_job_spec(input_manifest_uri="s3://acme/nope.manifest"))
    assert r.status_code == 400
    assert r.json()["field"] == "input_manifest_uri" and "nope.manifest" in r.json()["message"]


def test_s3_outside_the_listed_buckets_is_refused(ctx, api, s3, text_job_spec, allow_storage):
    endpoint, client = s3
    ctx.storage.s3_endpoint_url = endpoint
    allow_storage("s3://acme/in")
    client.put_object(Bucket="acme", Key="secret/job.manifest", Body=b'{"source": "x"}\n')
    client.put_object(Bucket="acme", Key="in/job.manifest", Body=b'{"source-ref": "s3://acme/secret/a.png"}\n')
    for field, value in [("input_manifest_uri", "s3://acme/secret/job.manifest"),
                         ("input_manifest_uri", "s3://other/job.manifest"),
                         ("output_uri", "s3://acme/out")]:
        r = api("req").post("/api/v1/jobs", json=text_job_spec(**{field: value}))
        assert r.status_code == 400 and r.json()["field"] == field, r.text
        assert "labelloop storage allow s3://bucket/prefix" in r.json()["message"]
    r = api("req").post("/api/v1/jobs", json=text_job_spec(input_manifest_uri="s3://acme/in/job.manifest"))
    assert r.status_code == 400 and r.json()["details"][0]["line"] == 1
