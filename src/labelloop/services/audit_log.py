"""The console's audit page: the event log newest first, filtered (job, worker, data object, kind, time) and
paged by id (``before_id``: a page never counts or skips rows), of the events the viewer may see
(``core.access.may_see_event``: admins all; a requester their jobs' events and those about themselves)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from labelloop.core.access import Principal
from labelloop.core.errors import ValidationError
from labelloop.db.models import Event, Job, User
from labelloop.services.access import job_row_for, may_see_event_sql
from labelloop.services.context import Context
from labelloop.services.views import EventPage, EventView

__all__ = ["KNOWN_KINDS", "PAGE", "audit_page"]

PAGE = 50
KNOWN_KINDS = (
    "job.created", "job.stop_requested", "job.stopping", "job.stopped", "job.completed", "job.failed",
    "job.deleted", "job.output_refused", "task.leased", "task.released", "answer.submitted", "answer.rejected",
    "object.consolidated", "object.failed", "object.reopened", "label.corrected", "worker.blocked",
    "worker.unblocked", "user.created", "user.role_changed", "team.created", "team.updated", "team.deleted",
    "team.member_added", "team.member_removed", "invite.created", "invite.revoked", "invite.accepted",
    "credential.revoked", "access_key.created", "hook.registered", "hook.removed",
)


def audit_page(ctx: Context, principal: Principal, *, job: str | None = None, worker: str | None = None,
               dataset_object_id: int | None = None, kind: str | None = None, since: datetime | None = None,
               until: datetime | None = None, before_id: int | None = None, limit: int = PAGE) -> EventPage:
    """One page of events, newest first, and the ``before_id`` of the next page (None on the last)."""
    if since is not None and until is not None and since > until:
        raise ValidationError("the start of the time range is after its end", field="since")
    if kind is not None and (len(kind) > 32 or "\x00" in kind):
        raise ValidationError("kind is at most 32 characters", field="kind")
    limit = min(max(limit, 1), 200)
    q = (select(Event.__table__, Job.name.label("job_name")).outerjoin(Job, Job.id == Event.job_id)
         .where(may_see_event_sql(principal)).order_by(Event.id.desc()).limit(limit + 1))
    if before_id is not None:
        q = q.where(Event.id < before_id)
    if since is not None:
        q = q.where(Event.at >= since)
    if until is not None:
        q = q.where(Event.at <= until)
    if kind:
        q = q.where(Event.kind == kind)
    if dataset_object_id is not None:
        q = q.where(Event.dataset_object_id == dataset_object_id)
    with ctx.engine.connect() as conn:
        if job:
            q = q.where(Event.job_id == job_row_for(conn, job, principal).id)
        if worker:
            wid = conn.execute(select(User.id).where(User.username == worker)).scalar()
            q = q.where(Event.worker_id == (wid if wid is not None else -1))
        rows = conn.execute(q).all()
    more = len(rows) > limit
    rows = rows[:limit]
    events = [EventView(id=e.id, at=e.at, kind=e.kind, actor=e.actor, job=e.job_name,
                        dataset_object_id=e.dataset_object_id, task_id=e.task_id, worker_id=e.worker_id,
                        detail=json.loads(e.detail)) for e in rows]
    return EventPage(events=events, next_before_id=events[-1].id if more and events else None)
