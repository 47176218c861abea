"""Step: end overdue leases; at the end of the availability lifetime, end them all and settle the objects."""

from __future__ import annotations

from sqlalchemy import Connection

from labelloop.core.lifecycle import JobStatus, ObjectStatus, accepts_work
from labelloop.db.models import DataObject
from labelloop.services.background.base import JobPass, Outcome
from labelloop.services.context import Context
from labelloop.services.events import record_many
from labelloop.services.leases import expire_leases
from labelloop.services.lifecycle import transition


def step(ctx: Context, p: JobPass) -> Outcome:
    if p.status != JobStatus.IN_PROGRESS:
        return Outcome()

    def unit(conn: Connection) -> int:
        if accepts_work(p.status, p.job.ends_at, p.now):
            return expire_leases(conn, p.job.id, p.now)
        return _close_availability(conn, p)

    return Outcome(done=ctx.write(unit))


def _close_availability(conn: Connection, p: JobPass) -> int:
    """The availability lifetime ran out: answered objects get consolidated, unanswered ones fail."""
    job_id, now = p.job.id, p.now
    ended = expire_leases(conn, job_id, now, all_open=True)
    waiting = (DataObject.job_id == job_id)
    transition(conn, DataObject, waiting & (DataObject.answer_count > 0), ObjectStatus.PENDING, ObjectStatus.READY)
    failed = transition(conn, DataObject, waiting & (DataObject.answer_count == 0), ObjectStatus.PENDING,
                        ObjectStatus.FAILED, returning=(DataObject.position,),
                        failure_reason="no worker answered within the task availability lifetime")
    record_many(conn, [{"at": now, "kind": "object.failed", "actor": "system", "job_id": job_id,
                        "dataset_object_id": position, "detail": {"reason": "task availability lifetime ended"}}
                       for (position,) in failed])
    return ended
