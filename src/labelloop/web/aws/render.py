"""The services' views in Ground Truth's PascalCase response shapes. Timestamps are epoch seconds (floats), as
AWS answers; ARNs come with the views. A job made through the v1 API or the CLI has no stored request: its
InputConfig, OutputConfig and HumanTaskConfig are rendered from the job itself (and it has no RoleArn)."""

from __future__ import annotations

from typing import Any

from labelloop.services.sagemaker import LabelingJobView
from labelloop.services.sagemaker_common import Page, epoch
from labelloop.services.sagemaker_teams import WorkteamView
from labelloop.services.sagemaker_uis import HumanTaskUiView
from labelloop.settings import Settings
from labelloop.web.render import label_counters


def _request(v: LabelingJobView) -> dict[str, Any]:
    if v.request is not None:
        return v.request
    j = v.job
    root = j.output_uri[: -len(j.name) - 1] if j.output_uri.endswith(f"{j.name}/") else j.output_uri
    ht: dict[str, Any] = {
        "WorkteamArn": v.workteam_arn, "UiConfig": {}, "TaskTitle": j.title, "TaskDescription": j.description or j.title,
        "NumberOfHumanWorkersPerDataObject": j.workers_per_object, "TaskTimeLimitInSeconds": j.task_time_limit_s,
        "TaskAvailabilityLifetimeInSeconds": j.task_availability_lifetime_s,
        "MaxConcurrentTaskCount": j.max_concurrent_tasks,
    }
    if j.keywords:
        ht["TaskKeywords"] = j.keywords
    return {"InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": j.input_manifest_uri}}},
            "OutputConfig": {"S3OutputPath": root}, "HumanTaskConfig": ht}


def _output(v: LabelingJobView) -> dict[str, Any]:
    """``LabelingJobOutput`` once the output exists; with automated labeling, its last model as
    ``FinalActiveLearningModelArn`` (a later job's ``InitialActiveLearningModelArn``)."""
    if not v.output_ready:
        return {}
    out = {"OutputDatasetS3Uri": v.job.output_manifest_uri}
    if v.final_model_arn:
        out["FinalActiveLearningModelArn"] = v.final_model_arn
    return {"LabelingJobOutput": out}


def labeling_job(v: LabelingJobView) -> dict[str, Any]:
    """DescribeLabelingJob's response."""
    j, req = v.job, _request(v)
    out: dict[str, Any] = {
        "LabelingJobStatus": j.status, "LabelCounters": label_counters(j.label_counters),
        "CreationTime": epoch(j.created_at), "LastModifiedTime": epoch(j.updated_at),
        "JobReferenceCode": v.reference_code, "LabelingJobName": j.name, "LabelingJobArn": v.arn,
        "LabelAttributeName": j.label_attribute_name, "InputConfig": req["InputConfig"],
        "OutputConfig": req["OutputConfig"], "HumanTaskConfig": req["HumanTaskConfig"],
    }
    if j.failure_reason:
        out["FailureReason"] = j.failure_reason
    if v.role_arn:
        out["RoleArn"] = v.role_arn
    for key in ("LabelCategoryConfigS3Uri", "StoppingConditions", "LabelingJobAlgorithmsConfig"):
        if key in req:
            out[key] = req[key]
    if v.tags:
        out["Tags"] = [{"Key": k, "Value": x} for k, x in v.tags]
    return {**out, **_output(v)}


def labeling_job_summary(v: LabelingJobView) -> dict[str, Any]:
    """A ``LabelingJobSummary`` of ListLabelingJobs."""
    j, req = v.job, _request(v)
    ht = req["HumanTaskConfig"]
    out: dict[str, Any] = {
        "LabelingJobName": j.name, "LabelingJobArn": v.arn, "CreationTime": epoch(j.created_at),
        "LastModifiedTime": epoch(j.updated_at), "LabelingJobStatus": j.status,
        "LabelCounters": label_counters(j.label_counters), "WorkteamArn": v.workteam_arn,
        "InputConfig": req["InputConfig"],
    }
    if ht.get("PreHumanTaskLambdaArn"):
        out["PreHumanTaskLambdaArn"] = ht["PreHumanTaskLambdaArn"]
    acs = (ht.get("AnnotationConsolidationConfig") or {}).get("AnnotationConsolidationLambdaArn")
    if acs:
        out["AnnotationConsolidationLambdaArn"] = acs
    if j.failure_reason:
        out["FailureReason"] = j.failure_reason
    return {**out, **_output(v)}


def labeling_job_for_workteam(v: LabelingJobView, settings: Settings) -> dict[str, Any]:
    """A ``LabelingJobForWorkteamSummary`` of ListLabelingJobsForWorkteam."""
    c = v.job.label_counters
    return {"LabelingJobName": v.job.name, "JobReferenceCode": v.reference_code,
            "WorkRequesterAccountId": settings.aws_account_id, "CreationTime": epoch(v.job.created_at),
            "LabelCounters": {"HumanLabeled": c.human_labeled, "PendingHuman": c.unlabeled,
                              "Total": v.job.object_count},
            "NumberOfHumanWorkersPerDataObject": v.job.workers_per_object}


def _portal_host(settings: Settings) -> str:
    url = getattr(settings, "public_url", None) or f"http://{settings.host}:{settings.port}"
    return str(url).split("://", 1)[-1].rstrip("/")


def workteam(v: WorkteamView, settings: Settings) -> dict[str, Any]:
    out: dict[str, Any] = {
        "WorkteamName": v.team.name, "MemberDefinitions": v.member_definitions, "WorkteamArn": v.arn,
        "WorkforceArn": f"arn:aws:sagemaker:{settings.aws_region}:{settings.aws_account_id}:workforce/default",
        "Description": v.team.description or v.team.name, "SubDomain": _portal_host(settings) + "/portal",
        "CreateDate": epoch(v.created_at), "LastUpdatedDate": epoch(v.updated_at),
    }
    if v.notification_topic_arn:
        out["NotificationConfiguration"] = {"NotificationTopicArn": v.notification_topic_arn}
    return out


def human_task_ui(v: HumanTaskUiView, url: str) -> dict[str, Any]:
    return {"HumanTaskUiArn": v.arn, "HumanTaskUiName": v.name, "HumanTaskUiStatus": "Active",
            "CreationTime": epoch(v.created_at), "UiTemplate": {"Url": url, "ContentSha256": v.content_sha256}}


def human_task_ui_summary(v: HumanTaskUiView) -> dict[str, Any]:
    return {"HumanTaskUiName": v.name, "HumanTaskUiArn": v.arn, "CreationTime": epoch(v.created_at)}


def page(key: str, p: Page[Any], item: Any) -> dict[str, Any]:
    out: dict[str, Any] = {key: [item(x) for x in p.items]}
    if p.next_token:
        out["NextToken"] = p.next_token
    return out
