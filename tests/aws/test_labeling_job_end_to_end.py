"""A Ground Truth boto3 script, unchanged but for its endpoint and keys: CreateLabelingJob from a bucket,
``labelloop simulate`` labels it, DescribeLabelingJob shows it Completed, the output manifest is in the bucket;
the AWS CLI reads the same job."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labelloop.cli.main import app as cli
from labelloop.services.background import run_background_once
from tests.aws.conftest import REGION, ROLE_ARN, TEAM_ARN, job_request

pytestmark = pytest.mark.s3


def test_a_ground_truth_script_runs_a_job_from_s3_to_its_output_manifest(ctx, sm, s3, bucket_job, server, key_of):
    req = job_request("Reviews-POC", bucket_job["manifest"], labels=bucket_job["labels"])
    req["Tags"] = [{"Key": "project", "Value": "poc"}]
    arn = sm.create_labeling_job(**req)["LabelingJobArn"]
    assert arn == f"arn:aws:sagemaker:{REGION}:000000000000:labeling-job/reviews-poc"
    started = sm.describe_labeling_job(LabelingJobName="Reviews-POC")
    assert started["LabelingJobStatus"] == "InProgress" and "LabelingJobOutput" not in started
    assert started["LabelCounters"] == {"TotalLabeled": 0, "HumanLabeled": 0, "MachineLabeled": 0,
                                        "FailedNonRetryableError": 0, "Unlabeled": 3}
    assert started["RoleArn"] == ROLE_ARN and started["HumanTaskConfig"]["WorkteamArn"] == TEAM_ARN
    assert started["Tags"] == [{"Key": "project", "Value": "poc"}]
    assert started["CreationTime"].tzinfo is not None  # boto3 parsed our epoch seconds

    result = CliRunner().invoke(cli, ["simulate", "Reviews-POC", "--url", server, "--workers", "3",
                                      "--database-url", ctx.settings.database_url])
    assert result.exit_code == 0, result.output
    for _ in range(3):
        run_background_once(ctx)

    done = sm.describe_labeling_job(LabelingJobName="reviews-poc")  # names ignore case
    assert done["LabelingJobStatus"] == "Completed"
    assert done["LabelCounters"] == {"TotalLabeled": 3, "HumanLabeled": 3, "MachineLabeled": 0,
                                     "FailedNonRetryableError": 0, "Unlabeled": 0}
    uri = done["LabelingJobOutput"]["OutputDatasetS3Uri"]
    assert uri == "s3://acme/out/Reviews-POC/manifests/output/output.manifest"
    body = s3.get_object(Bucket="acme", Key=uri.removeprefix("s3://acme/"))["Body"].read().decode()
    lines = [json.loads(x) for x in body.splitlines()]
    assert [x["review-id"] for x in lines] == ["r0", "r1", "r2"]
    for line in lines:
        meta = line["sentiment-metadata"]
        assert set(line) == {"source", "review-id", "sentiment", "sentiment-metadata"}
        assert line["sentiment"] in (0, 1) and meta["class-name"] in ("positive", "negative")
        assert meta["type"] == "groundtruth/text-classification" and meta["human-annotated"] == "yes"
        assert meta["job-name"] == "labeling-job/reviews-poc" and 0 <= meta["confidence"] <= 1
        assert len(meta["creation-date"]) == 26 and "T" in meta["creation-date"]

    listed = sm.list_labeling_jobs(StatusEquals="Completed")["LabelingJobSummaryList"]
    assert [(x["LabelingJobName"], x["WorkteamArn"]) for x in listed] == [("Reviews-POC", TEAM_ARN)]
    assert listed[0]["PreHumanTaskLambdaArn"].endswith(":function:PRE-TextMultiClass")
    for_team = sm.list_labeling_jobs_for_workteam(WorkteamArn=TEAM_ARN)["LabelingJobSummaryList"]
    assert for_team[0]["LabelCounters"] == {"HumanLabeled": 3, "PendingHuman": 0, "Total": 3}
    assert for_team[0]["JobReferenceCode"] == done["JobReferenceCode"]

    aws = shutil.which("aws", path=str(Path(sys.executable).parent))
    if aws is None:
        pytest.skip("the AWS CLI (awscli, a dev dependency) is not installed")
    key = key_of("req")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key.access_key_id, "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    env.pop("AWS_ENDPOINT_URL_S3", None)
    out = subprocess.run([aws, "sagemaker", "describe-labeling-job", "--labeling-job-name", "Reviews-POC",
                          "--endpoint-url", server + "/aws/sagemaker", "--output", "json"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    described = json.loads(out.stdout)
    assert described["LabelingJobStatus"] == "Completed" and described["LabelingJobOutput"]["OutputDatasetS3Uri"] == uri
    bad = subprocess.run([aws, "sagemaker", "describe-labeling-job", "--labeling-job-name", "nope",
                          "--endpoint-url", server + "/aws/sagemaker"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode != 0 and "ResourceNotFound" in bad.stderr
