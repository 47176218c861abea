"""The append-only audit trail: one writer (``record``), one reader (``list_events``)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select

from labelloop.db.models import Event, Job, User
from labelloop.db.prepared import Prepared
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
    **detail,
) -> None:
    """Append one event in the caller's transaction, so it exists exactly when the fact does."""
    _INSERT.run(conn, {"b_at": at, "b_kind": kind, "b_actor": actor, "b_job": job_id, "b_object": dataset_object_id,
                       "b_task": task_id, "b_worker": worker_id, "b_detail": json.dumps(detail, default=str)})


def record_many(conn: Connection, rows: list[dict]) -> None:
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
) -> list[dict]:
    """Events, oldest first, filtered; requesters see their jobs' events, workers only their own."""
    from labelloop.services.jobs import job_row_for

    q = select(Event.__table__).where(Event.id > after_id).order_by(Event.id).limit(min(max(limit, 1), 1000))
    with ctx.engine.connect() as conn:
        if job is not None:
            row = job_row_for(conn, job, principal)
            q = q.where(Event.job_id == row.id)
        elif not principal.is_admin and principal.can_request:
            q = q.where(Event.job_id.in_(select(Job.id).where(Job.requester_id == principal.id)))
        if principal.role == "worker":
            q = q.where(Event.worker_id == principal.id)
        if worker is not None:
            wid = conn.execute(select(User.id).where(User.username == worker)).scalar()
            q = q.where(Event.worker_id == (wid if wid is not None else -1))
        if dataset_object_id is not None:
            q = q.where(Event.dataset_object_id == dataset_object_id)
        if kind is not None:
            q = q.where(Event.kind == kind)
        jobs = dict(conn.execute(select(Job.id, Job.name)).all())
        return [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "kind": e.kind,
                "actor": e.actor,
                "job": jobs.get(e.job_id),
                "dataset_object_id": e.dataset_object_id,
                "task_id": e.task_id,
                "worker_id": e.worker_id,
                "detail": json.loads(e.detail),
            }
            for e in conn.execute(q)
        ]
