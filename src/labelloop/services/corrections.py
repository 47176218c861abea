"""A requester corrects an object's label by hand (the console's object page).

The object's label is replaced in the type's own shape, and its ``<LAN>-metadata`` says it was a hand
correction: ``human-annotated: "yes"``, ``confidence`` 1.0 (``confidence-map`` for multi-label),
``labelloop-corrected-by`` (the requester), ``labelloop-corrected-from`` (the label it replaced, its class
name(s)) and a new ``creation-date``. The audit trail gets ``label.corrected`` with the old and new label,
and the job's output is written again. Consolidation never relabels a labeled object, so the correction
stays (unless a block re-opens the object: its answers are then consolidated again).

Classification types (single and multi-label) can be corrected; other types' labels (entities, boxes)
are edited in their own adjustment jobs.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select, update

from labelloop.core.errors import Conflict, NotFound, ValidationError
from labelloop.core.lifecycle import ObjectStatus
from labelloop.core.tasktypes import full_metadata, get_task_type
from labelloop.db.models import DataObject, Job
from labelloop.services.console import CORRECTABLE, label_summary, managed_job
from labelloop.services.context import Context, Principal
from labelloop.services.events import record

__all__ = ["correct_label", "corrected_label"]


def corrected_label(task_type: str, labels: list[str], chosen: list[str]) -> tuple[Any, dict[str, Any]]:
    """The label value and the type's metadata keys of a hand-picked class (or classes, multi-label)."""
    unknown = [c for c in chosen if c not in labels]
    if unknown:
        raise ValidationError(f"'{unknown[0]}' is not a label of this job", field="label")
    if task_type.endswith("-multilabel"):
        if not chosen:
            raise ValidationError("choose at least one label", field="label")
        picks = sorted({labels.index(c) for c in chosen})
        return picks, {"class-map": {str(i): labels[i] for i in picks},
                       "confidence-map": {str(i): 1.0 for i in picks}}
    if len(chosen) != 1:
        raise ValidationError("choose exactly one label", field="label")
    index = labels.index(chosen[0])
    return index, {"class-name": labels[index], "confidence": 1.0}


def correct_label(ctx: Context, principal: Principal, name: str, position: int, chosen: list[str]) -> str:
    """Replace the label of data object ``position`` of the job; returns the new label's summary."""
    now = ctx.clock()

    def unit(conn: Connection) -> str:
        job = managed_job(conn, principal, name)
        if job.task_type not in CORRECTABLE:
            raise ValidationError(f"labels of task type '{job.task_type}' are corrected in an adjustment job, "
                                  "not by hand in the console", field="label")
        obj = conn.execute(select(DataObject.id, DataObject.status, DataObject.label, DataObject.label_metadata)
                           .where(DataObject.job_id == job.id, DataObject.position == position)).first()
        if obj is None:
            raise NotFound(f"job '{job.name}' has no data object {position}", field="dataset_object_id")
        if obj.status not in (ObjectStatus.LABELED, ObjectStatus.FAILED):
            raise Conflict(f"data object {position} is {obj.status}: only a labeled or failed object is corrected "
                           "by hand (the others are still with the workers)", field="dataset_object_id")
        labels = [x["label"] for x in json.loads(job.label_config).get("labels", [])]
        value, extra = corrected_label(job.task_type, labels, chosen)
        old_meta = json.loads(obj.label_metadata) if obj.label_metadata and obj.status == ObjectStatus.LABELED else {}
        old_value = json.loads(obj.label) if obj.label is not None and obj.status == ObjectStatus.LABELED else None
        before = label_summary(old_value, old_meta) if old_meta else None
        metadata = full_metadata(extra, gt_type=get_task_type(job.task_type).gt_type, job_name=job.name,
                                 human=True, at=now)
        metadata["labelloop-corrected-by"] = principal.username
        metadata["labelloop-corrected-from"] = before
        values: dict[str, Any] = {"status": ObjectStatus.LABELED, "label": json.dumps(value), "human_annotated": True,
                                  "label_metadata": json.dumps(metadata, ensure_ascii=False), "failure_reason": None}
        if obj.status == ObjectStatus.FAILED:  # newly labeled now (a relabel keeps its time in the progress chart)
            values["labeled_at"] = now
        conn.execute(update(DataObject).where(DataObject.id == obj.id).values(**values))
        conn.execute(update(Job).where(Job.id == job.id).values(output_dirty=True))
        after = label_summary(value, metadata)
        record(conn, "label.corrected", at=now, actor=principal.username, job_id=job.id,
               dataset_object_id=position, before=before, after=after)
        return after

    return ctx.write(unit)
