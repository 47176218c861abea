"""Ending leases: overdue ones (expiry), or all open ones of a job (stop, end of availability).

Each lease ends by a compare-and-set from ``leased`` (``services.lifecycle.transition``), so a lease that a
submit or release ended first is left alone, and its object's ``active_count`` is given back exactly once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from labelloop.core.lifecycle import TaskStatus
from labelloop.db.models import DataObject, Task
from labelloop.db.prepared import Prepared
from labelloop.services.events import record_many
from labelloop.services.lifecycle import transition

#: a lease that ended gives its object's slot back (``b_object``); run once per ended lease. A gold object has no
#: slots (any number of workers may hold one; its ``active_count`` stays 0)
GIVE_BACK = Prepared(update(DataObject).where(DataObject.id == bindparam("b_object"), DataObject.is_gold.is_(False))
                     .values(active_count=DataObject.active_count - 1))


def expire_leases(conn: Connection, job_id: int, now: datetime, *, status: TaskStatus = TaskStatus.EXPIRED,
                  all_open: bool = False) -> int:
    """End overdue leases (or, with ``all_open``, every open one) of a job; their objects go back to the pool."""
    where = Task.job_id == job_id
    if not all_open:
        where = where & (Task.lease_expires_at <= now)
    ended = transition(conn, Task, where, TaskStatus.LEASED, status, finished_at=now,
                       returning=(Task.id, Task.object_id, Task.worker_id))
    if not ended:
        return 0
    for _t, object_id, _w in ended:
        GIVE_BACK.run(conn, {"b_object": object_id})
    positions = dict(conn.execute(
        select(DataObject.id, DataObject.position).where(DataObject.id.in_([o for _t, o, _w in ended]))).all())
    record_many(conn, [
        {"at": now, "kind": f"task.{status}", "actor": "system", "job_id": job_id, "task_id": t,
         "dataset_object_id": positions[o], "worker_id": w}
        for t, o, w in ended])
    return len(ended)
