"""The v1 JSON of the services' typed views. URLs are made here, at the edge; every timestamp of the v1
API is ISO-8601 UTC with a ``Z`` (``v1_time``). Ground Truth's own formats stay in the files it defines."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from labelloop.services.views import (
    AvailableJobView,
    BlockView,
    CredentialView,
    EventView,
    HistoryView,
    JobView,
    LabelCounters,
    LeaseView,
    QualitySettings,
    QualityView,
    ReleaseView,
    SubmitView,
    TaskView,
    TeamView,
)


def v1_time(at: datetime) -> str:
    """The one timestamp format of the v1 API: ``2026-01-05T09:00:00.123456Z`` (naive UTC in, ``Z`` out)."""
    return at.isoformat() + "Z"


def task_data_url(task_id: int) -> str:
    return f"/api/v1/worker/tasks/{task_id}/data"


def label_counters(c: LabelCounters) -> dict[str, int]:
    return {"TotalLabeled": c.total_labeled, "HumanLabeled": c.human_labeled, "MachineLabeled": c.machine_labeled,
            "FailedNonRetryableError": c.failed_non_retryable_error, "Unlabeled": c.unlabeled}


def job(v: JobView) -> dict[str, Any]:
    return {
        "name": v.name, "status": v.status, "failure_reason": v.failure_reason, "task_type": v.task_type,
        "label_attribute_name": v.label_attribute_name, "labels": v.labels, "label_config": v.label_config,
        "team": v.team, "workers_per_object": v.workers_per_object, "task_time_limit_s": v.task_time_limit_s,
        "task_availability_lifetime_s": v.task_availability_lifetime_s,
        "max_concurrent_tasks": v.max_concurrent_tasks, "price_per_task_usd": v.price_per_task_usd,
        "title": v.title, "description": v.description, "keywords": v.keywords,
        "short_instruction": v.short_instruction, "full_instruction": v.full_instruction,
        "input_manifest_uri": v.input_manifest_uri, "output_uri": v.output_uri,
        "output_manifest_uri": v.output_manifest_uri, "consolidation_algorithm": v.consolidation_algorithm,
        "object_count": v.object_count, "created_at": v1_time(v.created_at), "updated_at": v1_time(v.updated_at),
        "ends_at": v1_time(v.ends_at), "label_counters": label_counters(v.label_counters),
        "has_custom_template": v.has_custom_template,
        "open_leases": None if v.open_leases is None else [lease(x) for x in v.open_leases],
        "quality": None if v.quality is None else quality_settings(v.quality),
    }


def lease(v: LeaseView) -> dict[str, Any]:
    return {"task_id": v.task_id, "dataset_object_id": v.dataset_object_id, "worker": v.worker,
            "leased_at": v1_time(v.leased_at), "lease_expires_at": v1_time(v.lease_expires_at)}


def task(v: TaskView) -> dict[str, Any]:
    return {
        "task_id": v.task_id, "job": v.job, "task_type": v.task_type, "dataset_object_id": v.dataset_object_id,
        "status": v.status, "data": v.data, "data_url": task_data_url(v.task_id) if v.has_data_file else None,
        "labels": v.labels, "keys": v.keys, "title": v.title, "short_instruction": v.short_instruction,
        "leased_at": v1_time(v.leased_at), "lease_expires_at": v1_time(v.lease_expires_at),
        "task_time_limit_s": v.task_time_limit_s, "price_per_task_usd": v.price_per_task_usd,
    }


def submitted(v: SubmitView) -> dict[str, Any]:
    out: dict[str, Any] = {"task_id": v.task_id, "status": v.status, "dataset_object_id": v.dataset_object_id,
                           "job": v.job}
    if v.leased_next:
        out["next_task"] = None if v.next_task is None else task(v.next_task)
    return out


def released(v: ReleaseView) -> dict[str, Any]:
    return {"task_id": v.task_id, "status": v.status}


def available_job(v: AvailableJobView) -> dict[str, Any]:
    return {"name": v.name, "title": v.title, "description": v.description, "keywords": v.keywords,
            "task_type": v.task_type, "price_per_task_usd": v.price_per_task_usd,
            "task_time_limit_s": v.task_time_limit_s, "available_tasks": v.available_tasks}


def history(v: HistoryView) -> dict[str, Any]:
    return {"jobs": [{"job": j.job, "tasks": j.tasks, "time_spent_s": j.time_spent_s, "earnings_usd": j.earnings_usd}
                     for j in v.jobs],
            "tasks": v.tasks, "time_spent_s": v.time_spent_s, "earnings_usd": v.earnings_usd}


def event(v: EventView) -> dict[str, Any]:
    return {"id": v.id, "at": v1_time(v.at), "kind": v.kind, "actor": v.actor, "job": v.job,
            "dataset_object_id": v.dataset_object_id, "task_id": v.task_id, "worker_id": v.worker_id,
            "detail": v.detail}


def team(v: TeamView) -> dict[str, Any]:
    out: dict[str, Any] = {"id": v.id, "name": v.name, "description": v.description}
    if v.members is not None:
        out["members"] = v.members
        out["owner"] = v.owner
    return out


def credential(v: CredentialView) -> dict[str, Any]:
    return {"id": v.id, "kind": v.kind, "name": v.name, "username": v.username, "created_at": v1_time(v.created_at),
            "expires_at": None if v.expires_at is None else v1_time(v.expires_at)}


def quality_settings(v: QualitySettings) -> dict[str, Any]:
    return asdict(v)


def quality(v: QualityView) -> dict[str, Any]:
    """A job's quality figures: the view's fields as they are (no URLs or timestamps in it)."""
    return asdict(v)


def block(v: BlockView) -> dict[str, Any]:
    return asdict(v)
