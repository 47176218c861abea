"""CreateLabelingJob with LabelingJobAlgorithmsConfig turns automated labeling on; one it refuses creates no job."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from labelloop.core.autolabel import MIN_JOB_OBJECTS
from tests.aws.conftest import (  # noqa: F401 (the SageMaker API's fixtures)
    bucket_job,
    client_for,
    endpoint,
    job_request,
    key_of,
    moto_url,
    s3,
    server,
    sm,
)

pytestmark = [pytest.mark.s3, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def test_a_job_too_small_for_automated_labeling_is_refused_whole(sm, bucket_job):  # noqa: F811
    req = job_request("tiny", bucket_job["manifest"], labels=bucket_job["labels"])
    req["LabelingJobAlgorithmsConfig"] = {"LabelingJobAlgorithmSpecificationArn":
                                          "arn:aws:sagemaker:us-east-1:027400017018:labeling-job-algorithm-"
                                          "specification/text-classification"}
    req["StoppingConditions"] = {"MaxHumanLabeledObjectCount": 100}
    with pytest.raises(ClientError) as e:
        sm.create_labeling_job(**req)
    error = e.value.response["Error"]
    assert error["Code"] == "ValidationException" and str(MIN_JOB_OBJECTS) in error["Message"]
    assert "LabelingJobAlgorithmsConfig" in error["Message"]
    with pytest.raises(ClientError) as missing:
        sm.describe_labeling_job(LabelingJobName="tiny")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"

