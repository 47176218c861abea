"""A worker's turn on a data object: claim the next task, submit an answer, release it.

Each call is a *unit* (see ``labelloop.db.writer``): run in a transaction of its own, or, from a request
handler, in the writer's next batch. The guarantees (one code path for SQLite and PostgreSQL):
- an object never has more than N leased-or-submitted tasks: ``active_count`` is raised only by a
  compare-and-set ``UPDATE ... WHERE active_count < N`` in the same transaction as the task row;
- no worker gets an object twice: the unique constraint ``uq_tasks_object_worker``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, bindparam, case, exists, func, insert, select, update

from labelloop.core.errors import Conflict, NotFound, ValidationError
from labelloop.core.tasktypes import get_task_type
from labelloop.db.engine import is_postgres
from labelloop.db.models import DataObject, Job, Task
from labelloop.db.prepared import Prepared
from labelloop.db.writer import KeepWrites, Unit, run_batched, run_unit
from labelloop.services.context import Context, Principal
from labelloop.services.events import record
from labelloop.services.jobs import JobInfo, is_member_of, job_info, job_row_for, may_see

CANDIDATES = 8


def expire_leases(conn: Connection, job_id: int, now: datetime, *, status: str = "expired", all_open: bool = False) -> int:
    """End overdue leases (or all open ones) of a job, giving their objects back to the pool."""
    cond = [Task.job_id == job_id, Task.status == "leased"]
    if not all_open:
        cond.append(Task.lease_expires_at <= now)
    ended = conn.execute(
        update(Task).where(*cond).values(status=status, finished_at=now).returning(Task.id, Task.object_id, Task.worker_id)
    ).all()
    for task_id, object_id, worker_id in ended:
        conn.execute(update(DataObject).where(DataObject.id == object_id).values(active_count=DataObject.active_count - 1))
    if ended:
        positions = dict(
            conn.execute(select(DataObject.id, DataObject.position).where(DataObject.id.in_([o for _, o, _ in ended]))).all()
        )
        from labelloop.services.events import record_many

        record_many(
            conn,
            [
                {"at": now, "kind": f"task.{status}", "actor": "system", "job_id": job_id, "task_id": t,
                 "dataset_object_id": positions[o], "worker_id": w}
                for t, o, w in ended
            ],
        )
    return len(ended)


_VIEW = Prepared(select(Task.id, Task.status, Task.leased_at, Task.lease_expires_at, DataObject.position,
                         DataObject.line, DataObject.source_ref)
                  .join(DataObject, DataObject.id == Task.object_id).where(Task.id == bindparam("b_task")))


def _view(job: JobInfo, *, id: int, status: str, position: int, line: str, source_ref: str | None,
          leased_at: datetime, lease_expires_at: datetime) -> dict:
    """What a worker sees of a task."""
    line = json.loads(line)
    data = {"source": line["source"]} if "source" in line else {"source-ref": source_ref}
    return {
        "task_id": id, "job": job.name, "task_type": job.task_type, "dataset_object_id": position,
        "status": status, "data": data,
        "data_url": f"/api/v1/worker/tasks/{id}/data" if source_ref else None,
        "labels": list(job.labels), "keys": list(job.keys),
        "title": job.title, "short_instruction": job.short_instruction,
        "leased_at": leased_at.isoformat() + "Z", "lease_expires_at": lease_expires_at.isoformat() + "Z",
        "task_time_limit_s": job.task_time_limit_s, "price_per_task_usd": job.price_per_task_usd,
    }


def _task_view(conn: Connection, job: JobInfo, task_id: int) -> dict:
    return _view(job, **_VIEW.first(conn, {"b_task": task_id})._asdict())


def _done_by(worker):
    """This worker already had a turn on the object (NOT EXISTS uses the unique (object, worker) index)."""
    return exists().where(Task.object_id == DataObject.id, Task.worker_id == worker)


# The hot path's statements are built once and run through Prepared (labelloop.db.prepared).
_HELD_AND_OPEN = Prepared(select(
    # a lease this worker still holds on the job, and how many leases the job has open
    select(Task.id).where(Task.worker_id == bindparam("b_worker"), Task.job_id == bindparam("b_job"),
                          Task.status == "leased", Task.lease_expires_at > bindparam("b_now"))
    .limit(1).scalar_subquery(),
    select(func.count()).select_from(Task).where(Task.job_id == bindparam("b_job"), Task.status == "leased")
    .scalar_subquery(),
))
_CANDIDATES = (
    select(DataObject.id, DataObject.position)
    .where(DataObject.job_id == bindparam("b_job"), DataObject.status == "pending",
           DataObject.active_count < bindparam("b_n"),
           ~_done_by(bindparam("b_worker")))
    .order_by(DataObject.position)
    .limit(CANDIDATES)
)
_CANDIDATES_SKIP_LOCKED = Prepared(_CANDIDATES.with_for_update(skip_locked=True))
_CANDIDATES = Prepared(_CANDIDATES)
_WIN = Prepared(update(DataObject)
                .where(DataObject.id == bindparam("b_object"), DataObject.status == "pending",
                       DataObject.active_count < bindparam("b_n"))
                .values(active_count=DataObject.active_count + 1)
                .returning(DataObject.line, DataObject.source_ref))
_INSERT_TASK = Prepared(insert(Task).values(
    job_id=bindparam("b_job"), object_id=bindparam("b_object"), worker_id=bindparam("b_worker"), status="leased",
    leased_at=bindparam("b_now"), lease_expires_at=bindparam("b_expires")).returning(Task.id))


def _claim(conn: Connection, job: JobInfo, job_status: str, worker: Principal, now: datetime) -> dict | None:
    """Lease the next object of the job to this worker (or give back the lease they hold): the task's view."""
    if job_status != "InProgress" or now >= job.ends_at:
        return None
    ids = {"b_worker": worker.id, "b_job": job.id, "b_now": now, "b_n": job.workers_per_object}
    held, open_leases = _HELD_AND_OPEN.first(conn, ids)
    if held is not None:
        return _task_view(conn, job, held)
    if open_leases >= job.max_concurrent_tasks:
        if not expire_leases(conn, job.id, now):
            return None
    skip_locked = is_postgres(conn)
    expired_checked = False
    while True:
        # PostgreSQL: skip rows other claims hold; if that leaves nothing, look again without skipping
        # (a plain read) so "no task" is only said when there is none. The CAS below keeps it correct.
        candidates = (_CANDIDATES_SKIP_LOCKED if skip_locked else _CANDIDATES).rows(conn, ids)
        if not candidates and skip_locked:
            candidates = _CANDIDATES.rows(conn, ids)
        if not candidates:
            # overdue leases are ended by the background worker; end them here too before saying "none"
            if expired_checked or not expire_leases(conn, job.id, now):
                return None
            expired_checked = True
            continue
        for object_id, position in candidates:
            task = _lease_object(conn, job, worker, object_id, position, now)
            if task is not None:
                return task


def _lease_object(conn: Connection, job: JobInfo, worker: Principal, object_id: int, position: int,
                  now: datetime) -> dict | None:
    won = _WIN.first(conn, {"b_object": object_id, "b_n": job.workers_per_object})
    if won is None:
        return None
    expires = now + timedelta(seconds=job.task_time_limit_s)
    task_id = _INSERT_TASK.first(conn, {"b_job": job.id, "b_object": object_id, "b_worker": worker.id, "b_now": now,
                                        "b_expires": expires})[0]
    record(conn, "task.leased", at=now, actor=worker.username, job_id=job.id, dataset_object_id=position,
           task_id=task_id, worker_id=worker.id)
    return _view(job, id=task_id, status="leased", position=position, line=won.line, source_ref=won.source_ref,
                 leased_at=now, lease_expires_at=expires)


def claim_next_task(ctx: Context, worker: Principal, job_name: str) -> dict | None:
    """Lease the next task of a job to this worker (or return the one they hold); None when none is left."""
    return run_unit(ctx.engine, _claim_unit(ctx, worker, job_name))


async def claim_next_task_batched(ctx: Context, worker: Principal, job_name: str) -> dict | None:
    """:func:`claim_next_task` in the writer's next batch (group commit), for request handlers."""
    return await run_batched(ctx.engine, _claim_unit(ctx, worker, job_name))


def _claim_unit(ctx: Context, worker: Principal, job_name: str) -> Unit[dict | None]:
    return lambda conn: _claim_by_name(conn, worker, job_name, ctx.clock())


def _claim_by_name(conn: Connection, worker: Principal, job_name: str, now: datetime) -> dict | None:
    row = job_row_for(conn, job_name, worker)
    return _claim_checked(conn, job_info(conn, row.id), row.status, row.is_member, worker, now)


def _claim_checked(conn: Connection, job: JobInfo, job_status: str, is_member: bool, worker: Principal,
                   now: datetime) -> dict | None:
    """Who may take tasks: those who may see the job and are on its team (admins and requesters too)."""
    if not may_see(worker, job.requester_id, is_member):
        raise NotFound(f"no labeling job '{job.name}'", field="name")
    if not is_member:
        raise NotFound(f"no labeling job '{job.name}' for you to work on", field="job")
    return _claim(conn, job, job_status, worker, now)


# a task with its object's position, its job's current status and whether the worker is on the job's team
_TASK = Prepared(select(Task.__table__, DataObject.position, Job.status.label("job_status"),
                         is_member_of(Job.team_id).label("is_member"))
                  .join(DataObject, DataObject.id == Task.object_id).join(Job, Job.id == Task.job_id)
                  .where(Task.id == bindparam("b_task")))
_SUBMIT = Prepared(update(Task).where(Task.id == bindparam("b_task"))
                   .values(status="submitted", answer=bindparam("b_answer"), finished_at=bindparam("b_now"),
                           time_spent_s=bindparam("b_spent")))
_COUNT_ANSWER = Prepared(update(DataObject).where(DataObject.id == bindparam("b_object")).values(
    answer_count=DataObject.answer_count + 1,
    status=case((and_(DataObject.answer_count + 1 >= bindparam("b_n"), DataObject.status == "pending"), "ready"),
                else_=DataObject.status)))


def _own_task(conn: Connection, worker: Principal, task_id: int) -> tuple:
    """The task (with its object's position, ``job_status`` and ``is_member``) and its job, if the task is
    this worker's."""
    row = _TASK.first(conn, {"b_task": task_id, "b_user": worker.id})
    if row is None or row.worker_id != worker.id:
        raise NotFound(f"no task {task_id} of yours", field="task_id")
    return row, job_info(conn, row.job_id)


def _check_open(conn: Connection, task, job: JobInfo, worker: Principal, now: datetime) -> str | None:
    """Why this task can take no more action, or None. An overdue lease is ended here."""
    if task.status != "leased":
        return f"task {task.id} is {task.status}; it can no longer be submitted or released"
    if task.lease_expires_at <= now:
        expire_leases(conn, job.id, now)
        return f"the lease on task {task.id} expired at {task.lease_expires_at.isoformat()}Z"
    return None


def submit_annotation(ctx: Context, worker: Principal, task_id: int, answer, *, lease_next: bool = False) -> dict:
    """Validate and store one worker's answer; the object becomes ready for consolidation at N answers.
    With ``lease_next`` the worker's next task of the job is leased in the same transaction."""
    return run_unit(ctx.engine, _submit_unit(ctx, worker, task_id, answer, lease_next))


async def submit_annotation_batched(ctx: Context, worker: Principal, task_id: int, answer, *,
                                    lease_next: bool = False) -> dict:
    """:func:`submit_annotation` in the writer's next batch (group commit), for request handlers."""
    return await run_batched(ctx.engine, _submit_unit(ctx, worker, task_id, answer, lease_next))


def _submit_unit(ctx: Context, worker: Principal, task_id: int, answer, lease_next: bool) -> Unit[dict]:
    def unit(conn: Connection) -> dict:
        now = ctx.clock()
        task, job = _own_task(conn, worker, task_id)
        problem = _check_open(conn, task, job, worker, now)
        if problem is None:
            try:
                content = get_task_type(job.task_type).validate_answer(answer, job.labels)
            except ValidationError as exc:
                problem = exc
        if problem is not None:
            record(conn, "answer.rejected", at=now, actor=worker.username, job_id=job.id,
                   dataset_object_id=task.position, task_id=task_id, worker_id=worker.id, reason=str(problem))
            raise KeepWrites(problem if isinstance(problem, ValidationError) else Conflict(problem, field="task_id"))
        _SUBMIT.run(conn, {"b_task": task_id, "b_answer": json.dumps(content), "b_now": now,
                           "b_spent": (now - task.leased_at).total_seconds()})
        _COUNT_ANSWER.run(conn, {"b_object": task.object_id, "b_n": job.workers_per_object})
        record(conn, "answer.submitted", at=now, actor=worker.username, job_id=job.id,
               dataset_object_id=task.position, task_id=task_id, worker_id=worker.id)
        result = {"task_id": task_id, "status": "submitted", "dataset_object_id": task.position, "job": job.name}
        if lease_next:
            result["next_task"] = _claim_checked(conn, job, task.job_status, task.is_member, worker, now)
        return result

    return unit


def release_task(ctx: Context, worker: Principal, task_id: int) -> dict:
    """Give a task back: the object returns to the pool for other workers (not for this one)."""
    return run_unit(ctx.engine, _release_unit(ctx, worker, task_id))


async def release_task_batched(ctx: Context, worker: Principal, task_id: int) -> dict:
    return await run_batched(ctx.engine, _release_unit(ctx, worker, task_id))


def _release_unit(ctx: Context, worker: Principal, task_id: int) -> Unit[dict]:
    def unit(conn: Connection) -> dict:
        now = ctx.clock()
        task, job = _own_task(conn, worker, task_id)
        problem = _check_open(conn, task, job, worker, now)
        if problem is not None:
            raise KeepWrites(Conflict(problem, field="task_id"))
        conn.execute(update(Task).where(Task.id == task_id).values(status="released", finished_at=now))
        conn.execute(update(DataObject).where(DataObject.id == task.object_id)
                     .values(active_count=DataObject.active_count - 1))
        record(conn, "task.released", at=now, actor=worker.username, job_id=job.id, dataset_object_id=task.position,
               task_id=task_id, worker_id=worker.id)
        return {"task_id": task_id, "status": "released"}

    return unit


def get_task(ctx: Context, worker: Principal, task_id: int) -> dict:
    with ctx.engine.connect() as conn:
        _task, job = _own_task(conn, worker, task_id)
        return _task_view(conn, job, task_id)


def task_data_uri(ctx: Context, worker: Principal, task_id: int) -> str:
    """The ``source-ref`` of a task's object, only for its worker and only while the lease is open."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        task, _job = _own_task(conn, worker, task_id)
        if task.status != "leased" or task.lease_expires_at <= now:
            raise NotFound(f"no open task {task_id} of yours", field="task_id")
        uri = conn.execute(select(DataObject.source_ref).where(DataObject.id == task.object_id)).scalar()
    if uri is None:
        raise NotFound(f"task {task_id} has inline data, no file", field="task_id")
    return uri


def worker_history(ctx: Context, worker: Principal) -> dict:
    """A worker's own record: tasks done, time spent, earnings at each job's price."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(Job.name, func.count(), func.coalesce(func.sum(Task.time_spent_s), 0.0), Job.price_per_task_usd)
            .join(Job, Job.id == Task.job_id)
            .where(Task.worker_id == worker.id, Task.status == "submitted")
            .group_by(Job.name, Job.price_per_task_usd)
        ).all()
    jobs = [{"job": n, "tasks": c, "time_spent_s": round(float(t), 1), "earnings_usd": round(c * float(p), 4)}
            for n, c, t, p in rows]
    return {"jobs": jobs, "tasks": sum(j["tasks"] for j in jobs),
            "time_spent_s": round(sum(j["time_spent_s"] for j in jobs), 1),
            "earnings_usd": round(sum(j["earnings_usd"] for j in jobs), 4)}


def available_jobs(ctx: Context, worker: Principal) -> list[dict]:
    """Jobs in progress on this worker's teams, with how many tasks this worker could still take."""
    from labelloop.db.models import TeamMember

    now = ctx.clock()
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(Job.__table__).where(
                Job.status == "InProgress", Job.ends_at > now,
                Job.team_id.in_(select(TeamMember.team_id).where(TeamMember.user_id == worker.id)))
            .order_by(Job.created_at)
        ).all()
        out = []
        for job in rows:
            available = conn.execute(
                select(func.count()).select_from(DataObject).where(
                    DataObject.job_id == job.id, DataObject.status == "pending",
                    DataObject.active_count < job.workers_per_object, ~_done_by(worker.id))
            ).scalar()
            out.append({
                "name": job.name, "title": job.title, "description": job.description,
                "keywords": json.loads(job.keywords), "task_type": job.task_type,
                "price_per_task_usd": float(job.price_per_task_usd), "task_time_limit_s": job.task_time_limit_s,
                "available_tasks": available,
            })
    return out
