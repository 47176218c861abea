"""The append-only audit trail: one writer (``record``), one reader (``list_events``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, insert, select

from labelloop.db.models import Event, Job, User
from labelloop.db.prepared import Prepared
from labelloop.services.views import EventView

if TYPE_CHECKING:
    from labelloop.services.context import Context, Principal


_INSERT = Prepared(insert(Event).values(
    at=bindparam("b_at"), kind=bindparam("b_kind"), actor=bindparam("b_actor"), job_id=bindparam("b_job"),
    dataset_object_id=bindparam("b_object"), task_id=bindparam("b_task"), worker_id=bindparam("b_worker"),
    detail=bindparam("b_detail")))


def record(
    conn: Connection,
    kind: str,
    *,
    at: datetime,
    actor: str,
    job_id: int | None = None,
    dataset_object_id: int | None = None,
    task_id: int | None = None,
    worker_id: int | None = None,
    **detail: Any,
) -> None:
    """Append one event in the caller's transaction, so it exists exactly when the fact does."""
    _INSERT.run(conn, {"b_at": at, "b_kind": kind, "b_actor": actor, "b_job": job_id, "b_object": dataset_object_id,
                       "b_task": task_id, "b_worker": worker_id, "b_detail": json.dumps(detail, default=str)})


def record_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(Event), [{**r, "detail": json.dumps(r.get("detail", {}), default=str)} for r in rows])


def list_events(
    ctx: Context,
    principal: Principal,
    *,
    job: str | None = None,
    worker: str | None = None,
    dataset_object_id: int | None = None,
    kind: str | None = None,
    after_id: int = 0,
    limit: int = 100,
    newest: bool = False,
) -> list[EventView]:
    """Events, oldest first, filtered, of those this principal may see (``core.access.may_see_event``):
    admins all; a requester their jobs' events; everyone the events about themselves. The first ``limit``
    after ``after_id``, or with ``newest`` the last ``limit`` (still oldest first)."""
    from labelloop.services.access import job_row_for, may_see_event_sql

    q = (select(Event.__table__).where(Event.id > after_id, may_see_event_sql(principal))
         .order_by(Event.id.desc() if newest else Event.id).limit(min(max(limit, 1), 1000)))
    with ctx.engine.connect() as conn:
        if job is not None:
            q = q.where(Event.job_id == job_row_for(conn, job, principal).id)
        if worker is not None:
            wid = conn.execute(select(User.id).where(User.username == worker)).scalar()
            q = q.where(Event.worker_id == (wid if wid is not None else -1))
        if dataset_object_id is not None:
            q = q.where(Event.dataset_object_id == dataset_object_id)
        if kind is not None:
            q = q.where(Event.kind == kind)
        rows = conn.execute(q).all()
        if newest:
            rows.reverse()
        ids = {e.job_id for e in rows if e.job_id is not None}
        jobs = dict(conn.execute(select(Job.id, Job.name).where(Job.id.in_(ids))).all()) if ids else {}
    return [EventView(id=e.id, at=e.at, kind=e.kind, actor=e.actor, job=jobs.get(e.job_id),
                      dataset_object_id=e.dataset_object_id, task_id=e.task_id, worker_id=e.worker_id,
                      detail=json.loads(e.detail)) for e in rows]
