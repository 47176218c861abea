"""Deleting a job and its data: rows, answers, leases and output go; the audit event stays; confirmation."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from sqlalchemy import func, select

from labelloop.core.errors import NotFound, ValidationError
from labelloop.db.models import DataObject, Job, JobWorker, Task
from labelloop.services import job_delete
from labelloop.services.background import run_background_once
from labelloop.services.data_setup import make_manifest
from labelloop.services.events import list_events


def _count(ctx, model, job_id):
    with ctx.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model).where(model.job_id == job_id)).scalar()


def _work(api, job, answers):
    client = api("w1")
    for _ in range(answers):
        task = client.post(f"/api/v1/worker/jobs/{job}/next-task").json()
        r = client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit",
                        json={"answer": {"crowd-classifier": {"label": "positive"}}})
        assert r.status_code == 200, r.text
    return api("w2").post(f"/api/v1/worker/jobs/{job}/next-task").json()  # an open lease


def test_deleting_a_job_removes_its_rows_and_output_and_keeps_an_audit_event(api, ctx, people, text_job_spec,
                                                                              monkeypatch):
    monkeypatch.setattr(job_delete, "CHUNK", 2)  # several chunks
    created = api("req").post("/api/v1/jobs", json=text_job_spec(n=5, workers_per_object=1)).json()
    lease = _work(api, "reviews", 3)
    run_background_once(ctx, force_output=True)
    out = Path(created["output_uri"])
    assert (out / "manifests/output/output.manifest").exists()
    with ctx.engine.connect() as conn:
        job_id = conn.execute(select(Job.id)).scalar()
    assert _count(ctx, Task, job_id) == 4 and _count(ctx, JobWorker, job_id) >= 0

    gone = job_delete.delete_job(ctx, people["req"], "reviews", confirm="reviews")
    assert (gone.objects, gone.tasks, gone.files_error) == (5, 4, None) and gone.files_removed > 0
    assert not out.exists() and out.parent.exists()  # only the job's own prefix
    for model in (DataObject, Task, JobWorker):
        assert _count(ctx, model, job_id) == 0
    assert api("req").get("/api/v1/jobs/reviews").status_code == 404
    r = api("w2").post(f"/api/v1/worker/tasks/{lease['task_id']}/submit",
                       json={"answer": {"crowd-classifier": {"label": "positive"}}})
    assert r.status_code == 404
    for who in ("req", "admin"):
        deleted = [e for e in list_events(ctx, people[who], kind="job.deleted")]
        assert [(e.actor, e.detail["job"], e.detail["objects"]) for e in deleted] == [("req", "reviews", 5)]
    assert api("req").post("/api/v1/jobs", json=text_job_spec(n=2)).status_code == 201  # the name is free again
    with ctx.engine.connect() as conn:
        new_id = conn.execute(select(Job.id).where(Job.name == "reviews")).scalar()
    assert new_id > job_id, "a new job never gets a deleted job's id (other processes cache jobs by id)"


def test_nothing_is_deleted_without_the_name_typed_or_by_another_requester(api, ctx, people, text_job_spec):
    from labelloop.services.users import create_user

    api("req").post("/api/v1/jobs", json=text_job_spec(n=2))
    with pytest.raises(ValidationError) as err:
        job_delete.delete_job(ctx, people["req"], "reviews", confirm="review")
    assert err.value.field == "confirm"
    other = create_user(ctx, "req2", "req2-password", "requester")
    with pytest.raises(NotFound):
        job_delete.delete_job(ctx, other, "reviews", confirm="reviews")
    assert api("req").get("/api/v1/jobs/reviews").status_code == 200


@pytest.mark.s3
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the storage side; the rows: both engines above
def test_output_on_s3_is_removed_and_a_bucket_prefix_makes_a_manifest(api, ctx, people, text_job_spec,
                                                                      allow_storage, monkeypatch, tmp_path):
    import fsspec

    from tests.servers import moto_s3

    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    with moto_s3() as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        client.create_bucket(Bucket="acme")
        allow_storage("s3://acme")
        fsspec.config.conf.pop("s3", None)
        ctx.storage.s3_endpoint_url = endpoint
        for i in range(3):
            client.put_object(Bucket="acme", Key=f"raw/img{i}.png", Body=b"\x89PNG")
        client.put_object(Bucket="acme", Key="raw/notes.md", Body=b"not an image")
        client.put_object(Bucket="acme", Key="out/keep.txt", Body=b"someone else's")
        made = make_manifest(ctx, people["req"], "s3://acme/raw/", "image-classification")
        assert made.count == 3 and made.first_refs[0] == "s3://acme/raw/img0.png"
        spec = text_job_spec(n=1, workers_per_object=1, output_uri="s3://acme/out", name="pics",
                             task_type="image-classification", label_attribute_name="class",
                             input_manifest_uri=made.manifest_uri)
        r = api("req").post("/api/v1/jobs", json=spec)
        assert r.status_code == 201, r.text
        run_background_once(ctx, force_output=True)
        assert client.list_objects_v2(Bucket="acme", Prefix="out/pics/").get("KeyCount", 0) > 0
        gone = job_delete.delete_job(ctx, people["req"], "pics", confirm="pics")
        assert gone.files_error is None and gone.files_removed > 0
        assert client.list_objects_v2(Bucket="acme", Prefix="out/pics/").get("KeyCount", 0) == 0
        assert client.get_object(Bucket="acme", Key="out/keep.txt")["Body"].read() == b"someone else's"
