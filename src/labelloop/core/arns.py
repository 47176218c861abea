"""Amazon Resource Names as the SageMaker API names labelloop's things: pure parsing and formatting.

Formats (``region`` and ``account`` are the installation's settings):
- labeling job ``arn:aws:sagemaker:<region>:<account>:labeling-job/<name, lower case>``;
- work team ``arn:aws:sagemaker:<region>:<account>:workteam/private-crowd/<name, lower case>``;
- human task UI ``arn:aws:sagemaker:<region>:<account>:human-task-ui/<name>`` (names are lower case).

Parsing accepts any partition (``aws``, ``aws-cn``, ``aws-us-gov``) and any region: a script written for
one region runs unchanged. Resource names are matched ignoring case, as the names themselves are.

Ground Truth's built-in identifiers (spec §3.5) are recognised here: the ``PRE-<X>`` / ``ACS-<X>`` Lambdas
(any region, any account), the built-in human task UIs of account 394669845002 and the public crowd work
team. ``BUILTIN_TASKS`` names, for each ``<X>``, the labelloop task types that implement it (the first one
the registry has wins) or, for the kinds labelloop does not have (video, 3D point clouds), None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labelloop.core.errors import ValidationError

__all__ = [
    "AWS_BUILTIN_ACCOUNT",
    "BUILTIN_TASKS",
    "BUILTIN_UIS",
    "Arn",
    "LambdaRef",
    "TaskUiRef",
    "human_task_ui_arn",
    "labeling_job_arn",
    "parse_arn",
    "parse_human_task_ui_arn",
    "parse_labeling_job_arn",
    "parse_lambda_arn",
    "parse_workteam_arn",
    "validate_role_arn",
    "workteam_arn",
]

AWS_BUILTIN_ACCOUNT = "394669845002"  # the built-in human task UIs and the public crowd

_ARN = re.compile(r"arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12})?:(.+)")
_ROLE = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
_FUNCTION = re.compile(r"(?:function:)?([a-zA-Z0-9_-]{1,64})(?::[a-zA-Z0-9$_-]+)?")

# <X> of PRE-<X> / ACS-<X> -> labelloop task types implementing it, in order of preference (None: refused)
BUILTIN_TASKS: dict[str, tuple[str, ...] | None] = {
    "ImageMultiClass": ("image-classification",),
    "ImageMultiClassMultiLabel": ("image-classification-multilabel",),
    "TextMultiClass": ("text-classification",),
    "TextMultiClassMultiLabel": ("text-classification-multilabel",),
    "NamedEntityRecognition": ("named-entity-recognition",),
    "BoundingBox": ("bounding-box", "object-detection"),
    "SemanticSegmentation": ("semantic-segmentation",),
    "VerificationBoundingBox": ("bounding-box-verification", "object-detection-verification"),
    "AdjustmentBoundingBox": ("bounding-box-adjustment", "object-detection-adjustment"),
    "VerificationSemanticSegmentation": ("semantic-segmentation-verification",),
    "AdjustmentSemanticSegmentation": ("semantic-segmentation-adjustment",),
    "PassThrough": ("custom",),
    **{x: None for x in (
        "VideoMultiClass", "VideoClassification", "VideoObjectDetection", "VideoObjectTracking",
        "3DPointCloudObjectDetection", "3DPointCloudObjectTracking", "3DPointCloudSemanticSegmentation",
        "AdjustmentVideoObjectDetection", "AdjustmentVideoObjectTracking", "Adjustment3DPointCloudObjectDetection",
        "Adjustment3DPointCloudObjectTracking", "Adjustment3DPointCloudSemanticSegmentation")},
}

# the built-in HumanTaskUiArn names -> labelloop task types (None: a kind labelloop does not have)
BUILTIN_UIS: dict[str, tuple[str, ...] | None] = {
    "NamedEntityRecognition": ("named-entity-recognition",),
    **{x: None for x in ("PointCloudObjectDetection", "PointCloudObjectTracking", "PointCloudSemanticSegmentation",
                         "VideoObjectDetection", "VideoObjectTracking")},
}


@dataclass(frozen=True, slots=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str


@dataclass(frozen=True, slots=True)
class LambdaRef:
    """A Lambda ARN: its function name and, for Ground Truth's own, the stage and task kind."""

    arn: str
    function: str
    builtin: str | None = None  # <X> of PRE-<X> / ACS-<X>
    stage: str | None = None  # "PRE" or "ACS"


@dataclass(frozen=True, slots=True)
class TaskUiRef:
    """A HumanTaskUiArn: a built-in UI (``builtin`` its name) or one of this installation's (``name``)."""

    arn: str
    name: str
    builtin: bool


def _bad(field: str, value: object, what: str) -> ValidationError:
    return ValidationError(f"Value '{value}' at '{field}' failed to satisfy constraint: {what}", field=field)


def parse_arn(arn: object, field: str, service: str | None = None) -> Arn:
    """Split an ARN; a ValidationError naming ``field`` when it is not one (or not of ``service``)."""
    if not isinstance(arn, str) or len(arn) > 2048:
        raise _bad(field, arn, "Member must be an ARN string of at most 2048 characters")
    m = _ARN.fullmatch(arn)
    if m is None:
        raise _bad(field, arn, "Member must be an ARN (arn:aws:<service>:<region>:<account>:<resource>)")
    found = Arn(m.group(1), m.group(2), m.group(3), m.group(4) or "", m.group(5))
    if service is not None and found.service != service:
        raise _bad(field, arn, f"Member must be an ARN of service '{service}'")
    return found


def labeling_job_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:labeling-job/{name.lower()}"


def workteam_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:workteam/private-crowd/{name.lower()}"


def human_task_ui_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:human-task-ui/{name.lower()}"


def parse_labeling_job_arn(arn: object, field: str) -> str:
    """The job name of a labeling job ARN."""
    a = parse_arn(arn, field, "sagemaker")
    kind, _, name = a.resource.partition("/")
    if kind != "labeling-job" or not name:
        raise _bad(field, arn, "Member must be a labeling job ARN (...:labeling-job/<name>)")
    return name


def parse_workteam_arn(arn: object, field: str) -> str:
    """The labelloop work team a WorkteamArn names (``workteam/private-crowd/<name>``). The public crowd and
    vendor teams (Mechanical Turk, AWS Marketplace) are refused: labelloop has only private teams."""
    a = parse_arn(arn, field, "sagemaker")
    parts = a.resource.split("/")
    if parts[0] != "workteam" or len(parts) < 2 or not parts[-1]:
        raise _bad(field, arn, "Member must be a work team ARN (...:workteam/private-crowd/<name>)")
    if a.account == AWS_BUILTIN_ACCOUNT or parts[1] in ("public-crowd", "vendor-crowd"):
        raise ValidationError(f"{field}: {arn} is a public or vendor workforce; labelloop has private work teams "
                              "only (make a team with 'labelloop teams create' and use its ARN)", field=field)
    return parts[-1]


def parse_lambda_arn(arn: object, field: str) -> LambdaRef:
    """A Lambda ARN (``arn:aws:lambda:<region>:<account>:function:<name>[:<alias or version>]``): its function
    name, and whether it is one of Ground Truth's built-in ``PRE-<X>`` / ``ACS-<X>`` (any region)."""
    a = parse_arn(arn, field, "lambda")
    m = _FUNCTION.fullmatch(a.resource)
    if m is None or not a.resource.startswith("function:"):
        raise _bad(field, arn, "Member must be a Lambda function ARN (...:function:<name>)")
    function = m.group(1)
    stage, _, kind = function.partition("-")
    if stage in ("PRE", "ACS") and kind in BUILTIN_TASKS:
        return LambdaRef(str(arn), function, kind, stage)
    return LambdaRef(str(arn), function)


def parse_human_task_ui_arn(arn: object, field: str) -> TaskUiRef:
    """A HumanTaskUiArn: one of Ground Truth's built-in UIs (account 394669845002) or a human task UI made
    with CreateHumanTaskUi."""
    a = parse_arn(arn, field, "sagemaker")
    kind, _, name = a.resource.partition("/")
    if kind != "human-task-ui" or not name:
        raise _bad(field, arn, "Member must be a human task UI ARN (...:human-task-ui/<name>)")
    if a.account == AWS_BUILTIN_ACCOUNT:
        if name not in BUILTIN_UIS:
            raise ValidationError(f"{field}: {arn} is not a built-in human task UI labelloop knows "
                                  f"({', '.join(BUILTIN_UIS)})", field=field)
        return TaskUiRef(str(arn), name, True)
    return TaskUiRef(str(arn), name.lower(), False)


def validate_role_arn(arn: object, field: str = "RoleArn") -> str:
    """An IAM role ARN as the API model constrains it (20-2048 characters, ``arn:aws:iam::<12 digits>:role/…``)."""
    if not isinstance(arn, str) or not 20 <= len(arn) <= 2048 or _ROLE.fullmatch(arn) is None:
        raise _bad(field, arn, r"Member must satisfy regular expression pattern: "
                               r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
    return arn
