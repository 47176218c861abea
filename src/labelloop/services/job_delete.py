"""Delete a job and its data: its data objects, tasks (answers and leases), workers' standing, every row of
any table that refers to the job, its objects or its tasks, and the output labelloop wrote under the job's
output prefix (``<output_uri>/<name>/``, through the storage layer and its policy).

Guarantees:
- nothing is deleted unless the caller manages the job and types its name to confirm;
- the first transaction takes the job's background claim (the background process then leaves it alone) and
  ends its availability and open leases, so no worker takes or submits a task of it while it goes;
- the rows go in short transactions (``CHUNK`` objects each), so workers' submits on other jobs get the
  write lock in between; a deletion that dies half-way leaves a job nobody works on, which deleting again
  finishes;
- the audit trail stays: the job's earlier events are kept, and ``job.deleted`` (about the user who deleted
  it, so they see it too) names the job and what went.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, or_, select, update

from labelloop.core.access import Principal, may_manage_job
from labelloop.core.errors import Conflict, Forbidden, ValidationError
from labelloop.core.lifecycle import JobStatus, TaskStatus
from labelloop.db.models import Base, DataObject, Job, Task
from labelloop.services.access import job_row_for
from labelloop.services.context import Context
from labelloop.services.events import record
from labelloop.services.installation import retire_job_id
from labelloop.services.leases import expire_leases
from labelloop.services.views import JobDeletedView
from labelloop.storage import Refused

__all__ = ["CHUNK", "delete_job"]

CHUNK = 5000
HOLD_S = 600  # the deletion's hold on the job: long enough for a job of millions of objects


def _referring(target: str) -> list[tuple[Table, Any]]:
    """Every (table, column) with a foreign key to ``target`` (a table name), children before parents."""
    found = []
    for table in reversed(Base.metadata.sorted_tables):
        for column in table.columns:
            if any(fk.column.table.name == target for fk in column.foreign_keys):
                found.append((table, column))
    return found


def _take(ctx: Context, principal: Principal, name: str, confirm: str, owner: str) -> tuple[int, str, str]:
    now = ctx.clock()

    def unit(conn: Connection) -> tuple[int, str, str]:
        row = job_row_for(conn, name, principal)
        if not may_manage_job(principal, row.requester_id):
            raise Forbidden(f"only the owner of job '{row.name}' and admins delete it", field="name")
        if confirm.strip() != row.name:
            raise ValidationError(f"type the job's name, {row.name}, to confirm its deletion", field="confirm")
        if row.status == JobStatus.INITIALIZING:
            raise Conflict(f"job '{row.name}' is still importing its manifest; delete it once it has started",
                           field="name")
        free = or_(Job.background_until.is_(None), Job.background_until <= now,
                   Job.background_owner.like("delete:%"))
        taken = conn.execute(update(Job).where(and_(Job.id == row.id, free)).values(
            background_owner=owner, background_until=now + timedelta(seconds=HOLD_S),
            ends_at=min(row.ends_at, now), updated_at=now)).rowcount
        if taken != 1:
            raise Conflict(f"the background process is working on job '{row.name}'; try again in a few seconds",
                           field="name")
        expire_leases(conn, row.id, now, status=TaskStatus.STOPPED, all_open=True)
        return int(row.id), str(row.name), str(row.output_uri)

    return ctx.write(unit)


def _delete_chunk(job_id: int, after: int) -> Any:
    """A unit deleting the next ``CHUNK`` objects (position order) and what refers to them; returns how many
    objects and tasks went, and the last object id (None when none were left)."""

    def unit(conn: Connection) -> tuple[int, int, int | None]:
        ids = conn.execute(select(DataObject.id).where(DataObject.job_id == job_id, DataObject.id > after)
                           .order_by(DataObject.id).limit(CHUNK)).scalars().all()
        if not ids:
            return 0, 0, None
        tasks = select(Task.id).where(Task.object_id.in_(ids))
        for table, column in _referring("tasks"):
            conn.execute(delete(table).where(column.in_(tasks)))
        n_tasks = 0
        for table, column in _referring("data_objects"):
            gone = conn.execute(delete(table).where(column.in_(ids))).rowcount
            if table.name == "tasks":
                n_tasks = gone
        conn.execute(delete(DataObject).where(DataObject.id.in_(ids)))
        return len(ids), n_tasks, ids[-1]

    return unit


def delete_job(ctx: Context, principal: Principal, name: str, *, confirm: str) -> JobDeletedView:
    """Delete the job ``name`` (``confirm`` must be its name) and its data; see the module's guarantees."""
    owner = f"delete:{uuid.uuid4().hex[:24]}"
    job_id, job_name, output_uri = _take(ctx, principal, name, confirm, owner)
    objects = tasks = 0
    after = 0
    while True:
        n_objects, n_tasks, last = ctx.write(_delete_chunk(job_id, after))
        if last is None:
            break
        objects, tasks, after = objects + n_objects, tasks + n_tasks, last
        ctx.write(lambda conn: conn.execute(update(Job).where(Job.id == job_id, Job.background_owner == owner)
                                            .values(background_until=ctx.clock() + timedelta(seconds=HOLD_S))))
    files, error = _remove_output(ctx, output_uri, job_name)

    def finish(conn: Connection) -> None:
        for table, column in _referring("tasks"):  # tasks of the job not tied to one of its objects (none yet)
            conn.execute(delete(table).where(column.in_(select(Task.id).where(Task.job_id == job_id))))
        for table, column in _referring("jobs"):
            conn.execute(delete(table).where(column == job_id))
        conn.execute(delete(Job).where(Job.id == job_id))
        retire_job_id(conn, job_id)
        record(conn, "job.deleted", at=ctx.clock(), actor=principal.username, worker_id=principal.id,
               job=job_name, deleted_job_id=job_id, objects=objects, tasks=tasks, files_removed=files,
               output_uri=output_uri, files_error=error)

    ctx.write(finish)
    ctx.job_infos.pop(job_id, None)
    return JobDeletedView(name=job_name, objects=objects, tasks=tasks, files_removed=files, files_error=error)


def _remove_output(ctx: Context, output_uri: str, job_name: str) -> tuple[int, str | None]:
    """Remove what labelloop wrote under the job's own output prefix (its last part is the job's name, so
    nothing above it is ever touched). Returns (files removed, the reason nothing was, or None)."""
    if output_uri.rstrip("/").rsplit("/", 1)[-1] != job_name:
        return 0, f"the output prefix {output_uri} does not end with the job's name; left as it is"
    try:
        return ctx.storage.remove_tree(output_uri), None
    except Refused as exc:
        return 0, exc.reason
    except OSError as exc:
        return 0, f"{output_uri}: {exc}"
