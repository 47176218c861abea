"""ARNs of the SageMaker API: formats with the installation's region and account; Ground Truth's built-in
Lambdas (any region) and UIs recognised; what labelloop has not got refused by name."""

from __future__ import annotations

import pytest

from labelloop.core import arns
from labelloop.core.errors import ValidationError


def test_formats_lower_case_names():
    assert arns.labeling_job_arn("eu-west-1", "111122223333", "EntityRecognizerPOC-1") == \
        "arn:aws:sagemaker:eu-west-1:111122223333:labeling-job/entityrecognizerpoc-1"
    assert arns.workteam_arn("us-east-1", "000000000000", "Crew") == \
        "arn:aws:sagemaker:us-east-1:000000000000:workteam/private-crowd/crew"
    assert arns.human_task_ui_arn("us-east-1", "000000000000", "ui") == \
        "arn:aws:sagemaker:us-east-1:000000000000:human-task-ui/ui"


@pytest.mark.parametrize(("arn", "function", "builtin", "stage"), [
    ("arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox", "PRE-BoundingBox", "BoundingBox", "PRE"),
    ("arn:aws:lambda:ap-south-1:565803892007:function:ACS-TextMultiClass", "ACS-TextMultiClass", "TextMultiClass",
     "ACS"),
    ("arn:aws-cn:lambda:cn-north-1:123456789012:function:PRE-VideoClassification:3", "PRE-VideoClassification",
     "VideoClassification", "PRE"),
    ("arn:aws:lambda:us-east-1:111122223333:function:my-consolidation", "my-consolidation", None, None),
    ("arn:aws:lambda:us-east-1:111122223333:function:PRE-NotAKind", "PRE-NotAKind", None, None),
])
def test_lambda_arns(arn, function, builtin, stage):
    ref = arns.parse_lambda_arn(arn, "F")
    assert (ref.function, ref.builtin, ref.stage) == (function, builtin, stage)


@pytest.mark.parametrize(("arn", "words"), [
    ("arn:aws:s3:::bucket", "service 'lambda'"),
    ("arn:aws:lambda:us-east-1:111122223333:layer:x", "function ARN"),
    ("not-an-arn", "Member must be an ARN"),
    (12, "ARN string"),
])
def test_bad_lambda_arns_name_the_field(arn, words):
    with pytest.raises(ValidationError) as info:
        arns.parse_lambda_arn(arn, "HumanTaskConfig.PreHumanTaskLambdaArn")
    assert info.value.field == "HumanTaskConfig.PreHumanTaskLambdaArn" and words in info.value.message


def test_workteams_and_the_public_crowd():
    assert arns.parse_workteam_arn("arn:aws:sagemaker:eu-west-1:111122223333:workteam/private-crowd/Yard", "W") == "Yard"
    with pytest.raises(ValidationError, match="public or vendor"):
        arns.parse_workteam_arn("arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default", "W")
    with pytest.raises(ValidationError, match="work team ARN"):
        arns.parse_workteam_arn("arn:aws:sagemaker:us-east-1:111122223333:labeling-job/x", "W")


def test_human_task_ui_arns():
    builtin = arns.parse_human_task_ui_arn(
        "arn:aws:sagemaker:us-west-2:394669845002:human-task-ui/NamedEntityRecognition", "U")
    assert builtin.builtin and builtin.name == "NamedEntityRecognition"
    own = arns.parse_human_task_ui_arn("arn:aws:sagemaker:us-east-1:111122223333:human-task-ui/My-UI", "U")
    assert not own.builtin and own.name == "my-ui"
    with pytest.raises(ValidationError, match="not a built-in human task UI"):
        arns.parse_human_task_ui_arn("arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/Nope", "U")


def test_every_builtin_kind_maps_to_task_types_or_is_refused_by_name():
    video_or_3d = {k for k, v in arns.BUILTIN_TASKS.items() if v is None}
    assert all("Video" in k or "3D" in k for k in video_or_3d) and "VideoObjectTracking" in video_or_3d
    assert arns.BUILTIN_TASKS["TextMultiClass"] == ("text-classification",)
    assert arns.BUILTIN_UIS["NamedEntityRecognition"] == ("named-entity-recognition",)


@pytest.mark.parametrize(("arn", "ok"), [
    ("arn:aws:iam::111122223333:role/gt-exec", True),
    ("arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole-2024", True),
    ("arn:aws:iam::1111:role/x", False),
    ("arn:aws:s3:::bucket/role/x", False),
])
def test_role_arns(arn, ok):
    if ok:
        assert arns.validate_role_arn(arn) == arn
    else:
        with pytest.raises(ValidationError) as info:
            arns.validate_role_arn(arn)
        assert info.value.field == "RoleArn"
