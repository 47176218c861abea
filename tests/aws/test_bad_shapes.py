"""Whatever shape a request's members have, every operation answers with a domain error naming what is wrong
(a 4xx of the one error shape), never an internal error."""

from __future__ import annotations

import itertools

from labelloop.core.errors import LabelloopError
from labelloop.web.aws.operations import OPERATIONS

MEMBERS = ["LabelingJobName", "WorkteamName", "HumanTaskUiName", "ResourceArn", "Tags", "TagKeys", "MaxResults",
           "NextToken", "SortBy", "SortOrder", "NameContains", "StatusEquals", "CreationTimeAfter",
           "LastModifiedTimeBefore", "WorkteamArn", "MemberDefinitions", "Description", "UiTemplate", "InputConfig",
           "OutputConfig", "HumanTaskConfig", "RoleArn", "LabelAttributeName", "LabelCategoryConfigS3Uri",
           "JobReferenceCodeContains", "NotificationConfiguration", "StoppingConditions"]
VALUES = [1, -1, 2.5, True, [], [1, "a"], {}, {"Key": 1}, "", "x" * 3000, "\x00", "\ud800", "arn:aws:sagemaker:::"]


def test_every_operation_refuses_bad_shapes_with_a_domain_error(ctx, people):
    for (operation, run), value in itertools.product(sorted(OPERATIONS.items()), VALUES):
        for request in ({name: value for name in MEMBERS}, {"HumanTaskConfig": {"UiConfig": value}, "Tags": [value]}):
            try:
                answer = run(ctx, people["req"], request, "http://127.0.0.1/aws/sagemaker")
            except LabelloopError as exc:
                assert exc.message and exc.code, (operation, value)
            else:
                assert isinstance(answer, dict), (operation, value)
