"""Automated labeling through the SageMaker API with boto3's own client: a digits job created with
LabelingJobAlgorithmsConfig runs to the end, DescribeLabelingJob names its last model as
``LabelingJobOutput.FinalActiveLearningModelArn``, and a later job given it as ``InitialActiveLearningModelArn``
starts from it."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from labelloop.services.autolabel import describe_autolabel
from labelloop.services.background import run_background_once
from labelloop.services.tasks import claim_next_task, submit_annotation
from tests.autolabel.helpers import digits_job
from tests.aws.conftest import (  # noqa: F401 (the SageMaker API's fixtures)
    TEMPLATE,
    client_for,
    endpoint,
    job_request,
    key_of,
    moto_url,
    s3,
    server,
    sm,
)
from tests.waiting import wait_until

pytest.importorskip("sklearn")
pytest.importorskip("PIL")

pytestmark = [pytest.mark.s3, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

N = 500  # the smallest job automated labeling takes
ALGORITHM = "arn:aws:sagemaker:us-east-1:027400017018:labeling-job-algorithm-specification/image-classification"


def _request(name: str, manifest: str, initial: str | None = None) -> dict:
    req = job_request(name, manifest, labels="s3://acme/in/labels.json", workers=1, kind="ImageMultiClass")
    req["LabelAttributeName"] = "digit"
    req["LabelingJobAlgorithmsConfig"] = {"LabelingJobAlgorithmSpecificationArn": ALGORITHM}
    if initial is not None:
        req["LabelingJobAlgorithmsConfig"]["InitialActiveLearningModelArn"] = initial
    return req


@pytest.fixture
def digits_in_bucket(s3, allow_storage, tmp_path):  # noqa: F811
    """500 digit PNGs on local disk (allowed), their label categories and a template in the bucket."""
    manifest, _, truth = digits_job(tmp_path, N)
    allow_storage("s3://acme")
    allow_storage(str(tmp_path))
    s3.put_object(Bucket="acme", Key="in/labels.json", Body=json.dumps(
        {"document-version": "2018-11-28", "labels": [{"label": str(d)} for d in range(10)]}).encode())
    s3.put_object(Bucket="acme", Key="in/template.liquid.html", Body=TEMPLATE.encode())
    return str(manifest), truth


def _answer_all(ctx, worker, truth, job):
    while (task := ctx.write(claim_next_task(ctx, worker, job))) is not None:
        label = truth[task.data["source-ref"].rsplit("/", 1)[1]]
        ctx.write(submit_annotation(ctx, worker, task.task_id, {"crowd-image-classifier": {"label": label}}))


def test_describe_names_the_final_model_and_a_later_job_starts_from_it(ctx, people, sm, digits_in_bucket):  # noqa: F811
    manifest, truth = digits_in_bucket
    sm.create_labeling_job(**_request("digits", manifest))
    running = sm.describe_labeling_job(LabelingJobName="digits")
    assert running["LabelingJobAlgorithmsConfig"]["LabelingJobAlgorithmSpecificationArn"] == ALGORITHM
    assert "LabelingJobOutput" not in running  # no output yet, so no model to name

    def finished():
        _answer_all(ctx, people["w1"], truth, "digits")
        run_background_once(ctx)
        job = sm.describe_labeling_job(LabelingJobName="digits")
        return job if job["LabelingJobStatus"] == "Completed" else None

    job = wait_until(finished, timeout_s=120, interval_s=0.1, message="the digits job never completed")
    auto = describe_autolabel(ctx, people["req"], "digits")
    assert auto is not None and auto.state == "done" and auto.rounds
    final = job["LabelingJobOutput"]["FinalActiveLearningModelArn"]
    assert final == auto.final_model_arn == auto.rounds[-1].model_arn
    assert final.startswith("arn:aws:sagemaker:") and job["LabelingJobOutput"]["OutputDatasetS3Uri"]
    assert job["LabelCounters"]["MachineLabeled"] > 0

    sm.create_labeling_job(**_request("digits-two", manifest, initial=final))
    later = describe_autolabel(ctx, people["req"], "digits-two")
    assert later is not None and later.initial_model_arn == final and later.state == "labeling"
    echoed = sm.describe_labeling_job(LabelingJobName="digits-two")["LabelingJobAlgorithmsConfig"]
    assert echoed["InitialActiveLearningModelArn"] == final

    with pytest.raises(ClientError) as e:  # a model no job kept: refused whole, naming the member
        sm.create_labeling_job(**_request("digits-three", manifest, initial=final + "-nothing"))
    error = e.value.response["Error"]
    assert error["Code"] == "ValidationException" and "LabelingJobAlgorithmsConfig" in error["Message"]
    with pytest.raises(ClientError) as missing:
        sm.describe_labeling_job(LabelingJobName="digits-three")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
