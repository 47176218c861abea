"""What SageMaker refuses, refused with the codes boto3 knows: bad names, 10 workers, a missing manifest, a
name taken in another case, video and 3D task types, quotas; and requests whose signature is wrong, stale or
made with a key labelloop did not issue (or revoked)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from labelloop.services.keys import revoke_key
from tests.aws.conftest import job_request, lambda_arn

pytestmark = pytest.mark.s3


def _error(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"] | {"status": info.value.response["ResponseMetadata"]["HTTPStatusCode"]}


def test_create_labeling_job_validates_as_ground_truth_does(ctx, sm, bucket_job):
    manifest, labels = bucket_job["manifest"], bucket_job["labels"]
    bad_name = _error(sm.create_labeling_job, **job_request("my_job", manifest, labels=labels))
    assert bad_name["Code"] == "ValidationException" and "labelingJobName" in bad_name["Message"]
    assert "regular expression pattern" in bad_name["Message"] and bad_name["status"] == 400

    ten = _error(sm.create_labeling_job, **job_request("ten", manifest, labels=labels, workers=10))
    assert ten["Code"] == "ValidationException"
    assert ten["Message"] == ("1 validation error detected: Value '10' at 'humanTaskConfig.numberOfHumanWorkersPer"
                              "DataObject' failed to satisfy constraint: Member must have value less than or "
                              "equal to 9")

    missing = _error(sm.create_labeling_job, **job_request("missing", "s3://acme/in/nope.manifest", labels=labels))
    assert missing["Code"] == "ValidationException"
    assert missing["Message"].startswith("InputConfig.DataSource.S3DataSource.ManifestS3Uri: ")
    assert "nope.manifest" in missing["Message"]

    video = _error(sm.create_labeling_job, **job_request("video", manifest, kind="VideoObjectDetection"))
    assert video["Code"] == "ValidationException" and "VideoObjectDetection" in video["Message"]
    cloud = job_request("cloud", manifest)
    cloud["HumanTaskConfig"]["UiConfig"] = {
        "HumanTaskUiArn": "arn:aws:sagemaker:eu-west-1:394669845002:human-task-ui/PointCloudObjectDetection"}
    del cloud["HumanTaskConfig"]["PreHumanTaskLambdaArn"], cloud["HumanTaskConfig"]["AnnotationConsolidationConfig"]
    assert "PointCloudObjectDetection" in _error(sm.create_labeling_job, **cloud)["Message"]

    public = job_request("public", manifest, labels=labels)
    public["HumanTaskConfig"]["WorkteamArn"] = "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default"
    assert "public" in _error(sm.create_labeling_job, **public)["Message"]

    sm.create_labeling_job(**job_request("Reviews", manifest, labels=labels))
    taken = _error(sm.create_labeling_job, **job_request("REVIEWS", manifest, labels=labels))
    assert taken["Code"] == "ResourceInUse" and "already exists" in taken["Message"]
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.create_labeling_job(**job_request("reviews", manifest, labels=labels))
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_labeling_job(LabelingJobName="no-such-job")

    ctx.settings.aws_max_active_labeling_jobs = 1
    over = _error(sm.create_labeling_job, **job_request("second", manifest, labels=labels))
    assert over["Code"] == "ResourceLimitExceeded" and "LABELLOOP_AWS_MAX_ACTIVE_LABELING_JOBS" in over["Message"]
    sm.stop_labeling_job(LabelingJobName="Reviews")
    assert sm.describe_labeling_job(LabelingJobName="Reviews")["LabelingJobStatus"] in ("Stopping", "Stopped")


def test_a_custom_lambda_is_a_registered_hook_and_an_unknown_one_is_refused(sm, bucket_job):
    req = job_request("custom", bucket_job["manifest"])
    req["HumanTaskConfig"]["PreHumanTaskLambdaArn"] = lambda_arn("my-pre-annotation", account="111122223333")
    del req["HumanTaskConfig"]["AnnotationConsolidationConfig"]
    err = _error(sm.create_labeling_job, **req)
    assert err["Code"] == "ValidationException" and "my-pre-annotation" in err["Message"]
    assert err["Message"].startswith("HumanTaskConfig.PreHumanTaskLambdaArn")


def test_wrong_stale_unknown_and_revoked_signatures_get_the_errors_boto3_expects(ctx, people, client_for, key_of,
                                                                                monkeypatch):
    wrong = _error(client_for("req", secret="not-the-secret").list_workteams)
    assert wrong["Code"] == "InvalidSignatureException" and "signature we calculated" in wrong["Message"]

    client = client_for("req")
    assert client.list_workteams()["Workteams"] is not None
    import botocore.auth

    stale_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: stale_at)
    stale = _error(client.list_workteams)
    assert stale["Code"] == "InvalidSignatureException" and stale["Message"].startswith("Signature expired")
    monkeypatch.undo()

    key = key_of("req")
    import boto3

    revoked = boto3.client("sagemaker", endpoint_url=client.meta.endpoint_url, region_name="us-east-1",
                           aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key)
    assert revoked.list_labeling_jobs()["LabelingJobSummaryList"] == []
    revoke_key(ctx, people["req"], key.access_key_id)
    gone = _error(revoked.list_labeling_jobs)
    assert gone["Code"] == "UnrecognizedClientException"
    unknown = boto3.client("sagemaker", endpoint_url=client.meta.endpoint_url, region_name="us-east-1",
                           aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40)
    assert _error(unknown.list_labeling_jobs)["Code"] == "UnrecognizedClientException"


def test_unsigned_requests_and_unknown_operations(endpoint, client_for):
    import httpx

    r = httpx.post(endpoint, content=b"{}", headers={"X-Amz-Target": "SageMaker.ListWorkteams",
                                                     "Content-Type": "application/x-amz-json-1.1"})
    assert r.status_code == 400 and r.json()["__type"] == "MissingAuthenticationTokenException"
    assert r.headers["x-amzn-RequestId"]
    client = client_for("req")
    with pytest.raises(ClientError) as info:
        client.create_training_job(TrainingJobName="t", AlgorithmSpecification={"TrainingInputMode": "File"},
                                   RoleArn="arn:aws:iam::111122223333:role/x",
                                   OutputDataConfig={"S3OutputPath": "s3://a/b"},
                                   ResourceConfig={"InstanceCount": 1, "VolumeSizeInGB": 1},
                                   StoppingCondition={})
    assert info.value.response["Error"]["Code"] == "UnknownOperationException"


def test_a_registered_hooks_lambda_arn_and_the_named_entity_ui_map_to_labelloop(ctx, people, sm, bucket_job,
                                                                                tmp_path):
    from sqlalchemy import select

    from labelloop.db.models import Job
    from labelloop.services.hooks import register_hook

    code = tmp_path / "hook"
    code.mkdir()
    (code / "lambda_function.py").write_text(
        "def lambda_handler(event, context):\n    return {'taskInput': event['dataObject']}\n")
    register_hook(ctx, people["admin"], "my-pre-annotation", code)
    req = job_request("custom-hooked", bucket_job["manifest"])
    req["HumanTaskConfig"]["PreHumanTaskLambdaArn"] = lambda_arn("my-pre-annotation", "eu-west-1", "111122223333")
    del req["HumanTaskConfig"]["AnnotationConsolidationConfig"]
    sm.create_labeling_job(**req)

    ner = job_request("entities", bucket_job["manifest"], labels=bucket_job["labels"])
    ner["HumanTaskConfig"]["UiConfig"] = {
        "HumanTaskUiArn": "arn:aws:sagemaker:ap-south-1:394669845002:human-task-ui/NamedEntityRecognition"}
    ner["HumanTaskConfig"]["PreHumanTaskLambdaArn"] = lambda_arn("PRE-NamedEntityRecognition")
    ner["HumanTaskConfig"]["AnnotationConsolidationConfig"] = {
        "AnnotationConsolidationLambdaArn": lambda_arn("ACS-NamedEntityRecognition")}
    sm.create_labeling_job(**ner)
    with ctx.engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(select(Job.name, Job.task_type, Job.pre_hook, Job.role_arn))}
    assert (rows["custom-hooked"].task_type, rows["custom-hooked"].pre_hook) == ("custom", "lambda:my-pre-annotation")
    assert rows["entities"].task_type == "named-entity-recognition" and rows["entities"].pre_hook is None
    assert rows["entities"].role_arn == "arn:aws:iam::111122223333:role/gt-exec"
    echoed = sm.describe_labeling_job(LabelingJobName="entities")["HumanTaskConfig"]["UiConfig"]
    assert echoed["HumanTaskUiArn"].endswith("human-task-ui/NamedEntityRecognition")
