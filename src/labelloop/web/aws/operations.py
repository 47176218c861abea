"""The operations of the SageMaker API labelloop answers: ``X-Amz-Target`` ``SageMaker.<name>`` -> a function
of (context, principal, request members, base URL) that calls one service and renders its view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labelloop.services import sagemaker as jobs
from labelloop.services import sagemaker_tags as tags
from labelloop.services import sagemaker_teams as teams
from labelloop.services import sagemaker_uis as uis
from labelloop.services.context import Context, Principal
from labelloop.web.aws import render

Operation = Callable[[Context, Principal, dict[str, Any], str], dict[str, Any]]


def _create_labeling_job(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    return {"LabelingJobArn": jobs.create_labeling_job(ctx, p, req)}


def _describe_labeling_job(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    return render.labeling_job(jobs.describe_labeling_job(ctx, p, req))


def _list_labeling_jobs(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    return render.page("LabelingJobSummaryList", jobs.list_labeling_jobs(ctx, p, req), render.labeling_job_summary)


def _stop_labeling_job(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    jobs.stop_labeling_job(ctx, p, req)
    return {}


def _list_for_workteam(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    found = jobs.list_labeling_jobs_for_workteam(ctx, p, req)
    return render.page("LabelingJobSummaryList", found, lambda v: render.labeling_job_for_workteam(v, ctx.settings))


def _create_workteam(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    return {"WorkteamArn": teams.create_workteam(ctx, p, req)}


def _describe_workteam(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    return {"Workteam": render.workteam(teams.describe_workteam(ctx, p, req), ctx.settings)}


def _list_workteams(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    return render.page("Workteams", teams.list_workteams(ctx, p, req), lambda v: render.workteam(v, ctx.settings))


def _update_workteam(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    return {"Workteam": render.workteam(teams.update_workteam(ctx, p, req), ctx.settings)}


def _delete_workteam(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    teams.delete_workteam(ctx, p, req)
    return {"Success": True}


def _create_human_task_ui(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    return {"HumanTaskUiArn": uis.create_human_task_ui(ctx, p, req)}


def _describe_human_task_ui(ctx: Context, p: Principal, req: dict[str, Any], base: str) -> dict[str, Any]:
    view = uis.describe_human_task_ui(ctx, p, req)
    return render.human_task_ui(view, f"{base}/human-task-ui-templates/{uis.template_link(ctx, view.name)}")


def _list_human_task_uis(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    return render.page("HumanTaskUiSummaries", uis.list_human_task_uis(ctx, p, req), render.human_task_ui_summary)


def _delete_human_task_ui(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    uis.delete_human_task_ui(ctx, p, req)
    return {}


def _add_tags(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.add_tags(ctx, p, req)]}


def _list_tags(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    return render.page("Tags", tags.list_tags(ctx, p, req), lambda kv: {"Key": kv[0], "Value": kv[1]})


def _delete_tags(ctx: Context, p: Principal, req: dict[str, Any], _base: str) -> dict[str, Any]:
    tags.delete_tags(ctx, p, req)
    return {}


OPERATIONS: dict[str, Operation] = {
    "CreateLabelingJob": _create_labeling_job,
    "DescribeLabelingJob": _describe_labeling_job,
    "ListLabelingJobs": _list_labeling_jobs,
    "StopLabelingJob": _stop_labeling_job,
    "ListLabelingJobsForWorkteam": _list_for_workteam,
    "CreateWorkteam": _create_workteam,
    "DescribeWorkteam": _describe_workteam,
    "ListWorkteams": _list_workteams,
    "UpdateWorkteam": _update_workteam,
    "DeleteWorkteam": _delete_workteam,
    "CreateHumanTaskUi": _create_human_task_ui,
    "DescribeHumanTaskUi": _describe_human_task_ui,
    "ListHumanTaskUis": _list_human_task_uis,
    "DeleteHumanTaskUi": _delete_human_task_ui,
    "AddTags": _add_tags,
    "ListTags": _list_tags,
    "DeleteTags": _delete_tags,
}
