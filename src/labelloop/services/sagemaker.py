"""The SageMaker API's labeling jobs (CreateLabelingJob, DescribeLabelingJob, ListLabelingJobs,
StopLabelingJob, ListLabelingJobsForWorkteam), mapped onto ``services.jobs``.

What a request names is resolved the labelloop way:
- ``s3://`` URIs (manifest, label categories, template, output) through the storage access policy;
- ``WorkteamArn`` is a labelloop work team (``workteam/private-crowd/<team>``);
- Ground Truth's built-in ``PRE-<X>`` / ``ACS-<X>`` Lambda ARNs (any region) choose the built-in task type
  (``core.arns.BUILTIN_TASKS``), the built-in ``HumanTaskUiArn`` of named entity recognition its type;
  video and 3D ones are refused naming them; with neither, the job is a custom one;
- any other Lambda ARN is a registered hook: its function name is the hook's name (``lambda:<name>``,
  registered by an admin with ``labelloop hooks register``);
- ``HumanTaskUiArn`` of CreateHumanTaskUi names a stored template; ``UiTemplateS3Uri`` is read as the job's;
- ``RoleArn`` is kept (``jobs.role_arn``) and passed to the hooks.

Errors of ``services.jobs`` are renamed to the request's members (``input_manifest_uri`` becomes
``InputConfig.DataSource.S3DataSource.ManifestS3Uri``). The request is stored and echoed by Describe.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticError
from sqlalchemy import Connection, func, insert, select

from labelloop.core import arns
from labelloop.core.errors import Forbidden, LabelloopError, LimitExceeded, NotFound, ValidationError
from labelloop.core.lifecycle import JobStatus
from labelloop.core.names import validate_job_name
from labelloop.core.tasktypes.registry import TASK_TYPES
from labelloop.db.models import AutoLabelJob, AwsJob, Job
from labelloop.services import jobs
from labelloop.services.context import Context, Principal
from labelloop.services.sagemaker_common import (
    NAME,
    Page,
    choice,
    integer,
    invalid,
    job_arn,
    listing,
    paginate,
    reference_code,
    sort_items,
    string,
    structure,
    team_arn,
    within,
)
from labelloop.services.sagemaker_tags import job_tags, put_tags, validate_tags
from labelloop.services.views import JobView

TEMPLATE_MAX_CHARS = 128_000
ACTIVE = (JobStatus.INITIALIZING, JobStatus.IN_PROGRESS, JobStatus.STOPPING)
FIELDS = {  # services.jobs' field -> the request's member
    "name": "LabelingJobName", "label_attribute_name": "LabelAttributeName",
    "input_manifest_uri": "InputConfig.DataSource.S3DataSource.ManifestS3Uri",
    "label_config_uri": "LabelCategoryConfigS3Uri", "output_uri": "OutputConfig.S3OutputPath",
    "team": "HumanTaskConfig.WorkteamArn", "keywords": "HumanTaskConfig.TaskKeywords",
    "ui_template": "HumanTaskConfig.UiConfig", "pre_hook": "HumanTaskConfig.PreHumanTaskLambdaArn",
    "post_hook": "HumanTaskConfig.AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn",
    "task_type": "HumanTaskConfig.PreHumanTaskLambdaArn", "workers_per_object":
        "HumanTaskConfig.NumberOfHumanWorkersPerDataObject",
}
HT = "HumanTaskConfig"


@dataclass(frozen=True, slots=True)
class LabelingJobView:
    """A labeling job as the SageMaker API describes it: the job, and what its request said besides."""

    job: JobView
    arn: str
    reference_code: str
    workteam_arn: str
    role_arn: str | None  # None: made through the v1 API or the CLI
    request: dict[str, Any] | None  # the CreateLabelingJob request (without Tags), as it was given
    tags: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    final_model_arn: str | None = None  # automated labeling's last model (FinalActiveLearningModelArn)

    @property
    def output_ready(self) -> bool:
        return self.job.status in (JobStatus.COMPLETED, JobStatus.STOPPED)


# --- CreateLabelingJob --------------------------------------------------------------------------------


@dataclass
class _Plan:
    task_type: str
    pre_hook: str | None = None
    post_hook: str | None = None
    ui_template: str | None = None


def _hook(ref: arns.LambdaRef) -> str:
    """A Lambda that is not Ground Truth's own is the hook an admin registered under its function name
    (``services.hooks.lambda_ref``: ``lambda:<name>``)."""
    from labelloop.services.hooks import lambda_ref

    return lambda_ref(ref.arn) or f"lambda:{ref.function}"


def _builtin_type(kind: str, arn: str, field: str) -> str:
    candidates = arns.BUILTIN_TASKS.get(kind) if kind in arns.BUILTIN_TASKS else arns.BUILTIN_UIS.get(kind)
    if candidates is None:
        raise ValidationError(f"{field}: {arn} is a {kind} task; labelloop has no video or 3D point cloud task "
                              "types (yet): image and text classification, named entity recognition and custom "
                              "templates", field=field)
    for name in candidates:
        if name in TASK_TYPES:
            return name
    raise ValidationError(f"{field}: {arn} is a {kind} task, which labelloop does not have yet (no task type "
                          f"{' or '.join(candidates)})", field=field)


def _plan(ctx: Context, principal: Principal, ht: dict[str, Any]) -> _Plan:
    """Task type, hooks and template from the Lambda ARNs and the UiConfig."""
    pre_field, post_field = f"{HT}.PreHumanTaskLambdaArn", FIELDS["post_hook"]
    pre_arn = string(ht, "PreHumanTaskLambdaArn", pre_field, max_len=2048)
    acs = structure(ht, "AnnotationConsolidationConfig", f"{HT}.AnnotationConsolidationConfig") or {}
    post_arn = string(acs, "AnnotationConsolidationLambdaArn", post_field, max_len=2048,
                      required="AnnotationConsolidationConfig" in ht)
    pre = arns.parse_lambda_arn(pre_arn, pre_field) if pre_arn else None
    post = arns.parse_lambda_arn(post_arn, post_field) if post_arn else None
    ui = structure(ht, "UiConfig", f"{HT}.UiConfig", required=True) or {}
    uri = string(ui, "UiTemplateS3Uri", f"{HT}.UiConfig.UiTemplateS3Uri", max_len=1024)
    ui_arn = string(ui, "HumanTaskUiArn", f"{HT}.UiConfig.HumanTaskUiArn", max_len=1024)
    if (uri is None) == (ui_arn is None):
        raise ValidationError("HumanTaskConfig.UiConfig: give exactly one of UiTemplateS3Uri and HumanTaskUiArn",
                              field=f"{HT}.UiConfig")
    types = {(_builtin_type(r.builtin, r.arn, f) if r.builtin else None)
             for r, f in ((pre, pre_field), (post, post_field)) if r is not None} - {None}
    plan = _Plan(task_type="custom")
    if ui_arn is not None:
        ref = arns.parse_human_task_ui_arn(ui_arn, f"{HT}.UiConfig.HumanTaskUiArn")
        if ref.builtin:
            types.add(_builtin_type(ref.name, ui_arn, f"{HT}.UiConfig.HumanTaskUiArn"))
        else:
            from labelloop.services.sagemaker_uis import template_for_job

            plan.ui_template = template_for_job(ctx, principal, ref.name)
    if len(types) > 1:
        raise ValidationError(f"{pre_field}: the Lambda ARNs and HumanTaskUiArn name different task types "
                              f"({', '.join(sorted(str(t) for t in types))})", field=pre_field)
    if types:
        plan.task_type = str(types.pop())
    if pre is not None and pre.builtin is None:
        plan.pre_hook = _hook(pre)
    if post is not None and post.builtin is None:
        plan.post_hook = _hook(post)
    if uri is not None:
        plan.ui_template = _read_template(ctx, uri)
    return plan


def _read_template(ctx: Context, uri: str) -> str:
    field = f"{HT}.UiConfig.UiTemplateS3Uri"
    with jobs._read(ctx, uri, field, "task template", max_bytes=TEMPLATE_MAX_CHARS * 4) as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(f"{field}: the template {uri} is not UTF-8 text", field=field) from None
    if len(text) > TEMPLATE_MAX_CHARS:
        raise invalid(field, uri, f"the template must be at most {TEMPLATE_MAX_CHARS} characters")
    return text


def _price(ht: dict[str, Any]) -> float:
    price = structure(ht, "PublicWorkforceTaskPrice", f"{HT}.PublicWorkforceTaskPrice") or {}
    usd = structure(price, "AmountInUsd", f"{HT}.PublicWorkforceTaskPrice.AmountInUsd") or {}
    base = f"{HT}.PublicWorkforceTaskPrice.AmountInUsd"
    dollars = integer(usd, "Dollars", f"{base}.Dollars", lo=0, hi=2) or 0
    cents = integer(usd, "Cents", f"{base}.Cents", lo=0, hi=99) or 0
    tenths = integer(usd, "TenthFractionsOfACent", f"{base}.TenthFractionsOfACent", lo=0, hi=9) or 0
    return round(dollars + cents / 100 + tenths / 1000, 5)


def _spec(ctx: Context, principal: Principal, req: dict[str, Any]) -> jobs.JobSpec:
    """The JobSpec of a CreateLabelingJob request, every member checked as the API model checks it."""
    name = string(req, "LabelingJobName", "LabelingJobName", required=True, min_len=1, max_len=63, pattern=NAME)
    validate_job_name(name or "")
    lan = string(req, "LabelAttributeName", "LabelAttributeName", required=True, min_len=1, max_len=127)
    source = structure(structure(req, "InputConfig", "InputConfig", required=True) or {}, "DataSource",
                       "InputConfig.DataSource", required=True) or {}
    if "SnsDataSource" in source and "S3DataSource" not in source:
        raise ValidationError("InputConfig.DataSource.SnsDataSource: streaming labeling jobs are not available in "
                              "labelloop; give S3DataSource.ManifestS3Uri", field="InputConfig.DataSource")
    s3 = structure(source, "S3DataSource", "InputConfig.DataSource.S3DataSource", required=True) or {}
    manifest = string(s3, "ManifestS3Uri", FIELDS["input_manifest_uri"], required=True, max_len=1024)
    output = structure(req, "OutputConfig", "OutputConfig", required=True) or {}
    output_path = string(output, "S3OutputPath", "OutputConfig.S3OutputPath", required=True, max_len=1024)
    arns.validate_role_arn(string(req, "RoleArn", "RoleArn", required=True))
    labels_uri = string(req, "LabelCategoryConfigS3Uri", "LabelCategoryConfigS3Uri", max_len=1024)
    algorithms = structure(req, "LabelingJobAlgorithmsConfig", "LabelingJobAlgorithmsConfig")
    if algorithms is not None:  # automated data labeling (services/autolabel.py), turned on once the job exists
        string(algorithms, "LabelingJobAlgorithmSpecificationArn",
               "LabelingJobAlgorithmsConfig.LabelingJobAlgorithmSpecificationArn", required=True, max_len=2048)
        string(algorithms, "InitialActiveLearningModelArn", "LabelingJobAlgorithmsConfig.InitialActiveLearningModelArn",
               max_len=256)
    stopping = structure(req, "StoppingConditions", "StoppingConditions") or {}
    integer(stopping, "MaxHumanLabeledObjectCount", "StoppingConditions.MaxHumanLabeledObjectCount", lo=1)
    integer(stopping, "MaxPercentageOfInputDatasetLabeled", "StoppingConditions.MaxPercentageOfInputDatasetLabeled",
            lo=1, hi=100)
    ht = structure(req, "HumanTaskConfig", HT, required=True) or {}
    team = arns.parse_workteam_arn(string(ht, "WorkteamArn", f"{HT}.WorkteamArn", required=True),
                                   f"{HT}.WorkteamArn")
    keywords = listing(ht, "TaskKeywords", f"{HT}.TaskKeywords", min_len=1, max_len=5) or []
    for i, word in enumerate(keywords):
        if not isinstance(word, str) or not 1 <= len(word) <= 30:
            raise invalid(f"{HT}.TaskKeywords.{i + 1}", word, "Member must be a keyword of 1 to 30 characters")
    plan = _plan(ctx, principal, ht)
    return jobs.JobSpec(
        name=name, task_type=plan.task_type, label_attribute_name=lan, input_manifest_uri=manifest,
        label_config_uri=labels_uri, output_uri=output_path.rstrip("/"), team=team,
        workers_per_object=integer(ht, "NumberOfHumanWorkersPerDataObject",
                                   f"{HT}.NumberOfHumanWorkersPerDataObject", required=True, lo=1, hi=9),
        task_time_limit_s=integer(ht, "TaskTimeLimitInSeconds", f"{HT}.TaskTimeLimitInSeconds", required=True,
                                  lo=30, hi=28800),
        task_availability_lifetime_s=integer(ht, "TaskAvailabilityLifetimeInSeconds",
                                             f"{HT}.TaskAvailabilityLifetimeInSeconds", lo=60, hi=2592000) or 864000,
        max_concurrent_tasks=integer(ht, "MaxConcurrentTaskCount", f"{HT}.MaxConcurrentTaskCount", lo=1,
                                     hi=5000) or 1000,
        price_per_task_usd=_price(ht),
        title=string(ht, "TaskTitle", f"{HT}.TaskTitle", required=True, min_len=1, max_len=128),
        description=string(ht, "TaskDescription", f"{HT}.TaskDescription", required=True, min_len=1, max_len=255),
        keywords=keywords, ui_template=plan.ui_template, pre_hook=plan.pre_hook, post_hook=plan.post_hook)


def _renamed(exc: LabelloopError) -> LabelloopError:
    """An error of services.jobs with its field (and the message's leading ``field:``) as the request names it."""
    if exc.field not in FIELDS:
        return exc
    member = FIELDS[exc.field]
    message = exc.message
    if message.startswith(f"{exc.field}:"):
        message = member + message[len(exc.field):]
    elif not message.startswith(member):
        message = f"{member}: {message}"
    new = type(exc)(message, field=member, details=exc.details)
    return new


def _check_quota(ctx: Context, principal: Principal) -> None:
    limit = ctx.settings.aws_max_active_labeling_jobs
    with ctx.engine.connect() as conn:
        active = conn.execute(select(func.count()).select_from(Job).where(
            Job.requester_id == principal.id, Job.status.in_(ACTIVE))).scalar_one()
    if active >= limit:
        raise LimitExceeded(f"you have {active} labeling jobs in progress; the limit is {limit} "
                            "(setting LABELLOOP_AWS_MAX_ACTIVE_LABELING_JOBS)")


def create_labeling_job(ctx: Context, principal: Principal, req: dict[str, Any]) -> str:
    """CreateLabelingJob: the job's ARN."""
    tags = validate_tags(req.get("Tags"), "Tags")
    try:
        try:
            spec = _spec(ctx, principal, req)
        except PydanticError as exc:  # a member the checks above let through but JobSpec refuses
            first = exc.errors()[0]
            field = FIELDS.get(str(first["loc"][0]), str(first["loc"][0])) if first["loc"] else "body"
            raise ValidationError(f"{field}: {first['msg']}", field=field) from None
        _check_quota(ctx, principal)
        jobs.create_job(ctx, principal, spec, role_arn=req["RoleArn"])
    except LabelloopError as exc:
        raise _renamed(exc) from None
    if req.get("LabelingJobAlgorithmsConfig") is not None:
        _start_autolabel(ctx, principal, spec.name, req)
    arn = job_arn(ctx, spec.name)
    kept = {k: v for k, v in req.items() if k != "Tags"}

    def unit(conn: Connection) -> None:
        job_id = conn.execute(select(Job.id).where(Job.name_key == spec.name.lower())).scalar_one()
        conn.execute(insert(AwsJob).values(job_id=job_id, request=json.dumps(kept)))
        put_tags(conn, arn, tags)

    ctx.write(unit)
    return arn


def _start_autolabel(ctx: Context, principal: Principal, name: str, req: dict[str, Any]) -> None:
    """LabelingJobAlgorithmsConfig with StoppingConditions: automated labeling at Ground Truth's 0.95. A job it
    refuses (too small, a task type it does not apply to, ``labelloop[ml]`` missing) is deleted again, so the
    request fails as a whole."""
    from labelloop.services.autolabel import enable_autolabel
    from labelloop.services.job_delete import delete_job

    stopping = req.get("StoppingConditions") or {}
    try:
        enable_autolabel(ctx, principal, name, max_human=stopping.get("MaxHumanLabeledObjectCount"),
                         max_percentage=stopping.get("MaxPercentageOfInputDatasetLabeled"),
                         initial_model_arn=req["LabelingJobAlgorithmsConfig"].get("InitialActiveLearningModelArn"))
    except LabelloopError as exc:
        delete_job(ctx, principal, name, confirm=name)
        raise ValidationError(f"LabelingJobAlgorithmsConfig: {exc.message}",
                              field="LabelingJobAlgorithmsConfig") from None


# --- Describe, List, Stop -----------------------------------------------------------------------------


def _extras(ctx: Context, names: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    if not names:
        return {}
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(Job.name_key, Job.role_arn, AwsJob.request).join(AwsJob, AwsJob.job_id == Job.id)
                            .where(Job.name_key.in_([n.lower() for n in names]))).all()
    return {r.name_key: (r.role_arn, json.loads(r.request)) for r in rows}


def _view(ctx: Context, job: JobView, extras: dict[str, tuple[str, dict[str, Any]]],
          tags: list[tuple[str, str]] | None = None) -> LabelingJobView:
    role, request = extras.get(job.name.lower(), (None, None))
    return LabelingJobView(job=job, arn=job_arn(ctx, job.name), reference_code=reference_code(job.name),
                           workteam_arn=team_arn(ctx, job.team), role_arn=role, request=request, tags=tags or [])


def _job_name(req: dict[str, Any]) -> str:
    return string(req, "LabelingJobName", "LabelingJobName", required=True, min_len=1, max_len=63,
                  pattern=NAME) or ""


def _not_found(exc: LabelloopError, name: str) -> LabelloopError:
    """A job this principal may not manage is not found, as another account's job is on AWS."""
    if isinstance(exc, NotFound | Forbidden):
        return NotFound(f"Could not find labeling job '{name}'", field="LabelingJobName")
    return _renamed(exc)


def describe_labeling_job(ctx: Context, principal: Principal, req: dict[str, Any]) -> LabelingJobView:
    name = _job_name(req)
    try:
        job = jobs.describe_job(ctx, principal, name)
    except LabelloopError as exc:
        raise _not_found(exc, name) from None
    with ctx.engine.connect() as conn:
        tags = job_tags(conn, job_arn(ctx, job.name))
        final = conn.execute(select(AutoLabelJob.final_model_arn).join(Job, Job.id == AutoLabelJob.job_id)
                             .where(Job.name_key == job.name.lower())).scalar()
    return dataclasses.replace(_view(ctx, job, _extras(ctx, [job.name]), tags), final_model_arn=final)


def stop_labeling_job(ctx: Context, principal: Principal, req: dict[str, Any]) -> None:
    name = _job_name(req)
    try:
        jobs.stop_job(ctx, principal, name)
    except LabelloopError as exc:
        raise _not_found(exc, name) from None


JOB_SORT = {"Name": lambda j: j.name.lower(), "CreationTime": lambda j: j.created_at,
            "Status": lambda j: j.status}


def _page(ctx: Context, req: dict[str, Any], found: list[JobView]) -> Page[LabelingJobView]:
    page = paginate(req, found)
    extras = _extras(ctx, [j.name for j in page.items])
    return Page([_view(ctx, j, extras) for j in page.items], page.next_token)


def list_labeling_jobs(ctx: Context, principal: Principal, req: dict[str, Any]) -> Page[LabelingJobView]:
    """ListLabelingJobs: the jobs this principal may manage, filtered, sorted and paged as the API does."""
    contains = string(req, "NameContains", "NameContains", max_len=63, pattern=r"^[a-zA-Z0-9\-]+$")
    status = choice(req, "StatusEquals", "StatusEquals", [str(s) for s in JobStatus], "")
    found = [j for j in jobs.list_jobs(ctx, principal)
             if (not contains or contains.lower() in j.name.lower()) and (not status or j.status == status)
             and within(j.created_at, req, "CreationTime") and within(j.updated_at, req, "LastModifiedTime")]
    return _page(ctx, req, sort_items(found, req, JOB_SORT, "CreationTime"))


def list_labeling_jobs_for_workteam(ctx: Context, principal: Principal, req: dict[str, Any]) -> Page[LabelingJobView]:
    """ListLabelingJobsForWorkteam: the team's jobs this principal may manage (ResourceNotFound for a team
    they may not see)."""
    from labelloop.services.sagemaker_teams import visible_team

    team = arns.parse_workteam_arn(string(req, "WorkteamArn", "WorkteamArn", required=True), "WorkteamArn")
    team_name = visible_team(ctx, principal, team).name
    code = string(req, "JobReferenceCodeContains", "JobReferenceCodeContains", min_len=1, max_len=255)
    found = [j for j in jobs.list_jobs(ctx, principal)
             if j.team.lower() == team_name.lower() and within(j.created_at, req, "CreationTime")
             and (not code or code.lower() in reference_code(j.name))]
    return _page(ctx, req, sort_items(found, req, {"CreationTime": JOB_SORT["CreationTime"]}, "CreationTime"))
