"""A worker's turn on a data object: claim the next task, submit an answer, release it.

Each use case returns a *unit* (see ``labelloop.db.writer``) for the caller to run with ``ctx.write`` (a
transaction of its own) or ``await ctx.write_async`` (the writer's next batch). The guarantees (one code
path for SQLite and PostgreSQL):
- an object never has more than N leased-or-submitted tasks: ``active_count`` is raised only by a
  compare-and-set ``UPDATE ... WHERE active_count < N`` in the same transaction as the task row (N is the
  object's ``wanted``, the answers adaptive consensus wants of it now, never above the job's
  ``workers_per_object``; NULL: the job's fixed N);
- a worker blocked from a job gets none of its tasks; a job with gold objects gives each worker gold ones at
  its gold rate (and only gold ones until they pass its qualification test), looking like any other task;
- no worker gets an object twice: the unique constraint ``uq_tasks_object_worker``;
- a task leaves ``leased`` once: submit, release, expiry and stop are compare-and-sets on ``status =
  'leased'`` (and, for the worker's own actions, on the lease still being open); the loser gets 409.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    update,
)

from labelloop.core.access import may_see_job, may_see_task, may_work_on_job
from labelloop.core.errors import Conflict, NotFound, ValidationError
from labelloop.core.lifecycle import ObjectStatus, TaskStatus, lease_expiry, lease_open
from labelloop.core.tasktypes import get_task_type
from labelloop.db.engine import is_postgres
from labelloop.db.models import DataObject, Event, Job, JobWorker, Task
from labelloop.db.prepared import Prepared
from labelloop.db.writer import KeepWrites, Unit
from labelloop.services.access import is_member_sql, job_row_for, may_work_on_job_sql
from labelloop.services.context import Context, Principal
from labelloop.services.events import record
from labelloop.services.jobs import JobInfo, job_info
from labelloop.services.leases import GIVE_BACK, expire_leases
from labelloop.services.lifecycle import lease_open_sql
from labelloop.services.standing import gold_turn, score_answer
from labelloop.services.views import (
    AvailableJobView,
    HistoryView,
    ReleaseView,
    SubmitView,
    TaskView,
    WorkerJobRecord,
)

CANDIDATES = 8


def _view(job: JobInfo, *, id: int, status: str, position: int, line: str, source_ref: str | None,
          leased_at: datetime, lease_expires_at: datetime) -> TaskView:
    """What a worker sees of a task."""
    parsed = json.loads(line)
    data = {"source": parsed["source"]} if "source" in parsed else {"source-ref": source_ref}
    return TaskView(
        task_id=id, job=job.name, task_type=job.task_type, dataset_object_id=position, status=status, data=data,
        has_data_file=source_ref is not None, labels=list(job.labels), keys=list(job.keys), title=job.title,
        short_instruction=job.short_instruction, leased_at=leased_at, lease_expires_at=lease_expires_at,
        task_time_limit_s=job.task_time_limit_s, price_per_task_usd=job.price_per_task_usd)


_VIEW = Prepared(select(Task.id, Task.status, Task.leased_at, Task.lease_expires_at, DataObject.position,
                         DataObject.line, DataObject.source_ref)
                  .join(DataObject, DataObject.id == Task.object_id).where(Task.id == bindparam("b_task")))


def _task_view(conn: Connection, job: JobInfo, task_id: int) -> TaskView:
    return _view(job, **_VIEW.first(conn, {"b_task": task_id})._asdict())


def _done_by(worker: Any) -> Any:
    """This worker already had a turn on the object (NOT EXISTS uses the unique (object, worker) index)."""
    return exists().where(Task.object_id == DataObject.id, Task.worker_id == worker)


# The hot path's statements are built once and run through Prepared (labelloop.db.prepared).
_HELD_AND_OPEN = Prepared(select(
    # a lease this worker still holds on the job, and how many leases the job has open
    select(Task.id).where(Task.worker_id == bindparam("b_worker"), Task.job_id == bindparam("b_job"),
                          lease_open_sql(bindparam("b_now")))
    .limit(1).scalar_subquery(),
    select(func.count()).select_from(Task).where(Task.job_id == bindparam("b_job"), Task.status == TaskStatus.LEASED)
    .scalar_subquery(),
    # blocked from the job (quality control): a primary-key lookup, NULL for almost everyone
    select(JobWorker.blocked).where(JobWorker.job_id == bindparam("b_job"), JobWorker.worker_id == bindparam("b_worker"))
    .scalar_subquery(),
))
#: the answers an object may have now: its own ``wanted`` (adaptive consensus, gold) or the job's N
_WANTED = func.coalesce(DataObject.wanted, bindparam("b_n"))
_CANDIDATE_QUERY = (
    select(DataObject.id, DataObject.position)
    .where(DataObject.job_id == bindparam("b_job"), DataObject.status == ObjectStatus.PENDING,
           DataObject.active_count < _WANTED,
           ~_done_by(bindparam("b_worker")))
    .order_by(DataObject.position)
    .limit(CANDIDATES)
)
_CANDIDATES = Prepared(_CANDIDATE_QUERY)
_WIN = Prepared(update(DataObject)
                .where(DataObject.id == bindparam("b_object"), DataObject.status == ObjectStatus.PENDING,
                       DataObject.active_count < _WANTED)
                .values(active_count=DataObject.active_count + 1)
                .returning(DataObject.line, DataObject.source_ref))
_GOLD_CANDIDATES = Prepared(
    select(DataObject.id, DataObject.position)
    .where(DataObject.job_id == bindparam("b_job"), DataObject.is_gold.is_(True), ~_done_by(bindparam("b_worker")))
    .order_by(DataObject.position).limit(CANDIDATES))
# a gold object has no slots to win (its active_count stays 0): reading it takes no row lock, so workers taking
# the same gold object at once never wait on each other; the unique (object, worker) still holds
_WIN_GOLD = Prepared(select(DataObject.line, DataObject.source_ref)
                     .where(DataObject.id == bindparam("b_object"), DataObject.is_gold.is_(True)))
_INSERT_TASK = Prepared(insert(Task).values(
    job_id=bindparam("b_job"), object_id=bindparam("b_object"), worker_id=bindparam("b_worker"),
    status=TaskStatus.LEASED, leased_at=bindparam("b_now"), lease_expires_at=bindparam("b_expires")).returning(Task.id))


def _event_row(kind: str, position: Any, task_id: Any) -> Any:
    """The columns of ``services.events.record``'s row as a SELECT list (PostgreSQL's statements below)."""
    return select(bindparam("b_now", type_=DateTime()), literal(kind, String()), bindparam("b_actor", type_=String()),
                  bindparam("b_job", type_=Integer()), position, task_id, bindparam("b_worker", type_=Integer()),
                  literal("{}", Text()))


_EVENT_COLUMNS = ["at", "kind", "actor", "job_id", "dataset_object_id", "task_id", "worker_id", "detail"]


def _claim_statement(*, guarded: bool = False, after: Any = None) -> Any:
    """PostgreSQL: a whole claim in one statement. The first candidate no concurrent claim holds (``FOR
    UPDATE SKIP LOCKED``, so concurrent claims spread over objects instead of queueing on one) gets the
    compare-and-set on ``active_count``, its task row and its ``task.leased`` event; no row when there is
    none (the caller then reads without skipping, see ``_claim``). ``guarded`` adds what ``_HELD_AND_OPEN``
    checks (the worker holds no open lease on the job, is not blocked from it, and the job has fewer than
    ``b_max`` open leases), so that a submit-and-next needs no other statement to lease; when any of them
    fails it leases nothing and the caller takes the long way.

    ``after``: the CTE of a submit of task ``b_task`` in the same statement (``_submit_and_claim``). The
    claim then leases only if that submit won, and it does not count ``b_task`` as held or open: the
    statement's snapshot still sees it leased (its CTEs all read the snapshot taken before any of them ran).
    Returns ``(won, task, event)`` CTEs."""
    first = _CANDIDATE_QUERY.with_only_columns(DataObject.id).limit(1).with_for_update(skip_locked=True)
    guards: list[Any] = []
    if guarded:
        others: list[Any] = [] if after is None else [Task.id != bindparam("b_task", type_=Integer())]
        held = exists().where(Task.worker_id == bindparam("b_worker"), Task.job_id == bindparam("b_job"),
                              lease_open_sql(bindparam("b_now", type_=DateTime())), *others)
        blocked = (select(JobWorker.blocked).where(JobWorker.job_id == bindparam("b_job"),
                                                   JobWorker.worker_id == bindparam("b_worker"))
                   .scalar_subquery())
        open_leases = (select(func.count()).select_from(Task)
                       .where(Task.job_id == bindparam("b_job"), Task.status == TaskStatus.LEASED, *others)
                       .scalar_subquery())
        guards = [~held, ~func.coalesce(blocked, False), open_leases < bindparam("b_max", type_=Integer())]
        if after is not None:
            guards.append(exists(select(after.c.id)))
    won = (update(DataObject)
           .where(DataObject.id == first.scalar_subquery(), DataObject.status == ObjectStatus.PENDING,
                  DataObject.active_count < _WANTED, *guards)
           .values(active_count=DataObject.active_count + 1)
           .returning(DataObject.id, DataObject.position, DataObject.line, DataObject.source_ref).cte("won"))
    task = (insert(Task).from_select(
        ["job_id", "object_id", "worker_id", "status", "leased_at", "lease_expires_at"],
        select(bindparam("b_job", type_=Integer()), won.c.id, bindparam("b_worker", type_=Integer()),
               literal(TaskStatus.LEASED.value, String()), bindparam("b_now", type_=DateTime()),
               bindparam("b_expires", type_=DateTime())))
        .returning(Task.id, Task.object_id).cte("task"))
    event = insert(Event).from_select(
        _EVENT_COLUMNS, _event_row("task.leased", won.c.position, task.c.id).select_from(
            task.join(won, won.c.id == task.c.object_id))).cte("event")
    return won, task, event


def _claim_one_statement(*, guarded: bool = False) -> Any:
    won, task, event = _claim_statement(guarded=guarded)
    return (select(task.c.id, won.c.position, won.c.line, won.c.source_ref)
            .select_from(task.join(won, won.c.id == task.c.object_id)).add_cte(event))


_CLAIM_ONE: dict[bool, Prepared] = {}  # built on first use: other modules may still extend _CANDIDATE_QUERY


_WORKER_CLAIM_LOCK = text("SELECT pg_advisory_xact_lock(CAST(:j AS integer), CAST(:w AS integer))")


def _claim(conn: Connection, job: JobInfo, worker: Principal, now: datetime) -> TaskView | None:
    """Lease the next object of the job to this worker (or give back the lease they hold): the task's view."""
    postgres = is_postgres(conn)
    if postgres:
        # one claim at a time per worker and job: two requests of one worker at once would each see no lease
        # held (neither sees the other's uncommitted one) and lease two objects; the second now waits for the
        # first to commit, then finds its lease and gives it back. SQLite's single writer serializes them already.
        conn.execute(_WORKER_CLAIM_LOCK, {"j": job.id, "w": worker.id})
    if postgres and not job.gold_count:  # the common case in one statement; anything else the long way
        task = _claim_one(conn, job, worker, now, guarded=True)
        if task is not None:
            return task
    ids = {"b_worker": worker.id, "b_job": job.id, "b_now": now, "b_n": job.workers_per_object}
    held, open_leases, blocked = _HELD_AND_OPEN.first(conn, ids)
    if held is not None:
        return _task_view(conn, job, held)
    if blocked or (open_leases >= job.max_concurrent_tasks and not expire_leases(conn, job.id, now)):
        return None
    if job.gold_count:
        gold_first, gold_only = gold_turn(conn, job, worker.id)
        if gold_first:
            task = _lease_gold(conn, job, worker, now)
            if task is not None or gold_only:
                return task
    if postgres:
        # one statement skipping the rows other claims hold; if that finds nothing, the plain read below
        # looks again without skipping, so "no task" is only said when there is none (the CAS keeps it right)
        task = _claim_one(conn, job, worker, now)
        if task is not None:
            return task
    expired_checked = False
    while True:
        candidates = _CANDIDATES.rows(conn, ids)
        if not candidates:
            # overdue leases are ended by the background runner; end them here too before saying "none"
            if expired_checked or not expire_leases(conn, job.id, now):
                return None
            expired_checked = True
            continue
        for object_id, position in candidates:
            task = _lease_object(conn, job, worker, object_id, position, now)
            if task is not None:
                return task


def _claim_one(conn: Connection, job: JobInfo, worker: Principal, now: datetime, *,
               guarded: bool = False) -> TaskView | None:
    stmt = _CLAIM_ONE.get(guarded)
    if stmt is None:
        stmt = _CLAIM_ONE[guarded] = Prepared(_claim_one_statement(guarded=guarded))
    expires = lease_expiry(now, job.task_time_limit_s)
    row = stmt.first(conn, {"b_job": job.id, "b_worker": worker.id, "b_now": now, "b_expires": expires,
                            "b_n": job.workers_per_object, "b_actor": worker.username,
                            "b_max": job.max_concurrent_tasks})
    if row is None:
        return None
    return _view(job, id=row.id, status=TaskStatus.LEASED, position=row.position, line=row.line,
                 source_ref=row.source_ref, leased_at=now, lease_expires_at=expires)


def _lease_gold(conn: Connection, job: JobInfo, worker: Principal, now: datetime) -> TaskView | None:
    """Lease a gold object this worker has not had (any number of workers may have one at once)."""
    for object_id, position in _GOLD_CANDIDATES.rows(conn, {"b_job": job.id, "b_worker": worker.id}):
        task = _lease_object(conn, job, worker, object_id, position, now, win=_WIN_GOLD)
        if task is not None:
            return task
    return None


def _lease_object(conn: Connection, job: JobInfo, worker: Principal, object_id: int, position: int,
                  now: datetime, *, win: Prepared | None = None) -> TaskView | None:
    won = (win or _WIN).first(conn, {"b_object": object_id, "b_n": job.workers_per_object})
    if won is None:
        return None
    expires = lease_expiry(now, job.task_time_limit_s)
    task_id = _INSERT_TASK.first(conn, {"b_job": job.id, "b_object": object_id, "b_worker": worker.id, "b_now": now,
                                        "b_expires": expires})[0]
    record(conn, "task.leased", at=now, actor=worker.username, job_id=job.id, dataset_object_id=position,
           task_id=task_id, worker_id=worker.id)
    return _view(job, id=task_id, status=TaskStatus.LEASED, position=position, line=won.line,
                 source_ref=won.source_ref, leased_at=now, lease_expires_at=expires)


def claim_next_task(ctx: Context, worker: Principal, job_name: str) -> Unit[TaskView | None]:
    """Lease the next task of a job to this worker (or return the one they hold); None when none is left."""

    def unit(conn: Connection) -> TaskView | None:
        row = job_row_for(conn, job_name, worker)
        return _claim_checked(conn, job_info(ctx, conn, row.id), row.status, row.is_member, worker, ctx.clock())

    return unit


def _claim_checked(conn: Connection, job: JobInfo, job_status: str, is_member: bool, worker: Principal,
                   now: datetime) -> TaskView | None:
    """``core.access``: a job's tasks go to the members of its team (whatever their role) while it accepts work."""
    if not may_see_job(worker, job.requester_id, is_member):
        raise NotFound(f"no labeling job '{job.name}'", field="name")
    if not is_member:
        raise NotFound(f"no labeling job '{job.name}' for you to work on", field="job")
    if not may_work_on_job(worker, is_member, job_status, job.ends_at, now):
        return None
    return _claim(conn, job, worker, now)


# a task with its object's position, its job's current status and whether the worker is on the job's team
_TASK = Prepared(select(Task.__table__, DataObject.position, DataObject.gold, Job.status.label("job_status"),
                         is_member_sql(Job.team_id).label("is_member"))
                  .join(DataObject, DataObject.id == Task.object_id).join(Job, Job.id == Task.job_id)
                  .where(Task.id == bindparam("b_task")))
# the compare-and-sets that end a lease by the worker's own action: only from an open lease
_SUBMIT = Prepared(update(Task).where(Task.id == bindparam("b_task"), lease_open_sql(bindparam("b_now")))
                   .values(status=TaskStatus.SUBMITTED, answer=bindparam("b_answer"), finished_at=bindparam("b_now"),
                           time_spent_s=bindparam("b_spent")))
_RELEASE = Prepared(update(Task).where(Task.id == bindparam("b_task"), lease_open_sql(bindparam("b_now")))
                    .values(status=TaskStatus.RELEASED, finished_at=bindparam("b_now")))
_COUNT_ANSWER = Prepared(update(DataObject).where(DataObject.id == bindparam("b_object")).values(
    answer_count=DataObject.answer_count + 1,
    status=case((and_(DataObject.answer_count + 1 >= _WANTED, DataObject.status == ObjectStatus.PENDING),
                 ObjectStatus.READY), else_=DataObject.status)))




def _submit_ctes() -> tuple[Any, Any]:
    """PostgreSQL: ``_SUBMIT``, ``_COUNT_ANSWER`` and the ``answer.submitted`` event as CTEs: ``counted``
    has a row when the compare-and-set on the open lease won, none when another action ended it first."""
    submitted = (update(Task).where(Task.id == bindparam("b_task", type_=Integer()),
                                    lease_open_sql(bindparam("b_now", type_=DateTime())))
                 .values(status=TaskStatus.SUBMITTED, answer=bindparam("b_answer", type_=Text()),
                         finished_at=bindparam("b_now", type_=DateTime()),
                         time_spent_s=bindparam("b_spent", type_=Float()))
                 .returning(Task.object_id).cte("submitted"))
    counted = (update(DataObject).where(DataObject.id == submitted.c.object_id).values(
        answer_count=DataObject.answer_count + 1,
        status=case((and_(DataObject.answer_count + 1 >= _WANTED, DataObject.status == ObjectStatus.PENDING),
                     ObjectStatus.READY), else_=DataObject.status))
        .returning(DataObject.id, DataObject.position).cte("counted"))
    event = insert(Event).from_select(
        _EVENT_COLUMNS, _event_row("answer.submitted", counted.c.position, bindparam("b_task", type_=Integer()))
        .select_from(counted)).cte("submitted_event")
    return counted, event


def _submit_statement() -> Any:
    """PostgreSQL: the submit, its count and its event in one statement (see ``_submit_ctes``)."""
    counted, event = _submit_ctes()
    return select(counted.c.id).add_cte(event)


def _submit_and_claim_statement() -> Any:
    """PostgreSQL: a submit-and-next in one statement: the submit's CTEs, then the guarded claim, which
    leases only if the submit won. One row when the submit won, with the new task's columns (NULL when the
    claim leased nothing: the caller takes the long way); no row when it lost."""
    counted, submitted_event = _submit_ctes()
    won, task, event = _claim_statement(guarded=True, after=counted)
    leased = (select(task.c.id, won.c.position, won.c.line, won.c.source_ref)
              .select_from(task.join(won, won.c.id == task.c.object_id)).subquery("leased"))
    return (select(counted.c.id.label("object_id"), leased.c.id, leased.c.position, leased.c.line,
                   leased.c.source_ref)
            .select_from(counted.outerjoin(leased, literal(True)))
            .add_cte(submitted_event).add_cte(event))


_SUBMIT_ONE = Prepared(_submit_statement())
_SUBMIT_AND_CLAIM: list[Prepared] = []  # built on first use, like _CLAIM_ONE


def _submit_and_claim() -> Prepared:
    if not _SUBMIT_AND_CLAIM:
        _SUBMIT_AND_CLAIM.append(Prepared(_submit_and_claim_statement()))
    return _SUBMIT_AND_CLAIM[0]


def _own_task(ctx: Context, conn: Connection, worker: Principal, task_id: int) -> tuple[Any, JobInfo]:
    """The task (with its object's position, ``job_status`` and ``is_member``) and its job, if the task is
    this worker's."""
    row = _TASK.first(conn, {"b_task": task_id, "b_user": worker.id})
    if row is None or not may_see_task(worker, row.worker_id):
        raise NotFound(f"no task {task_id} of yours", field="task_id")
    return row, job_info(ctx, conn, row.job_id)


def _closed_reason(conn: Connection, task: Any, job: JobInfo, now: datetime) -> str | None:
    """Why this task can take no more action, or None. An overdue lease is ended here."""
    if lease_open(task.status, task.lease_expires_at, now):
        return None
    if task.status != TaskStatus.LEASED:
        return f"task {task.id} is {task.status}; it can no longer be submitted or released"
    expire_leases(conn, job.id, now)
    return f"the lease on task {task.id} expired at {task.lease_expires_at.isoformat()}Z"


def _lost_race(conn: Connection, task_id: int) -> str:
    status = conn.execute(select(Task.status).where(Task.id == task_id)).scalar()
    return f"task {task_id} is {status}; it can no longer be submitted or released"


def submit_annotation(ctx: Context, worker: Principal, task_id: int, answer: Any, *,
                      lease_next: bool = False) -> Unit[SubmitView]:
    """Validate and store one worker's answer; the object becomes ready for consolidation at N answers.
    With ``lease_next`` the worker's next task of the job is leased in the same transaction."""

    def unit(conn: Connection) -> SubmitView:
        now = ctx.clock()
        task, job = _own_task(ctx, conn, worker, task_id)
        problem: str | ValidationError | None = _closed_reason(conn, task, job, now)
        content: dict[str, Any] = {}
        if problem is None:
            try:
                content = get_task_type(job.task_type).validate_answer(answer, job.labels)
            except ValidationError as exc:
                problem = exc
        one_statement = is_postgres(conn)  # PostgreSQL: submit, count and event in one statement
        # PostgreSQL, the common submit-and-next: the submit and the claim of the next task in one statement
        fused = (one_statement and lease_next and not job.scores_workers and not job.gold_count
                 and may_see_job(worker, job.requester_id, task.is_member)
                 and may_work_on_job(worker, task.is_member, task.job_status, job.ends_at, now))
        leased: Any = None
        if problem is None:
            params = {"b_task": task_id, "b_answer": json.dumps(content), "b_now": now,
                      "b_spent": (now - task.leased_at).total_seconds(), "b_n": job.workers_per_object,
                      "b_job": job.id, "b_actor": worker.username, "b_worker": worker.id}
            if fused:
                params.update(b_expires=lease_expiry(now, job.task_time_limit_s), b_max=job.max_concurrent_tasks)
                won = _submit_and_claim().rows(conn, params)
                leased = won[0] if won else None
            else:
                won = _SUBMIT_ONE.rows(conn, params) if one_statement else _SUBMIT.run(conn, params)
            if not won:
                problem = _lost_race(conn, task_id)  # another action ended the lease since it was read
        if problem is not None:
            record(conn, "answer.rejected", at=now, actor=worker.username, job_id=job.id,
                   dataset_object_id=task.position, task_id=task_id, worker_id=worker.id, reason=str(problem))
            raise KeepWrites(problem if isinstance(problem, ValidationError) else Conflict(problem, field="task_id"))
        if not one_statement:
            _COUNT_ANSWER.run(conn, {"b_object": task.object_id, "b_n": job.workers_per_object})
            record(conn, "answer.submitted", at=now, actor=worker.username, job_id=job.id,
                   dataset_object_id=task.position, task_id=task_id, worker_id=worker.id)
        if fused:
            # no advisory lock (see _claim) is needed for this claim: until this transaction commits, every
            # other transaction sees the worker's lease on this task open, so none of them leases them another
            next_task = (_claim(conn, job, worker, now) if leased.id is None else _view(
                job, id=leased.id, status=TaskStatus.LEASED, position=leased.position, line=leased.line,
                source_ref=leased.source_ref, leased_at=now, lease_expires_at=params["b_expires"]))
            return SubmitView(task_id=task_id, status=TaskStatus.SUBMITTED, dataset_object_id=task.position,
                              job=job.name, next_task=next_task, leased_next=True)
        blocked = job.scores_workers and score_answer(conn, job, worker, task.gold, content, now)
        next_task = (_claim_checked(conn, job, task.job_status, task.is_member, worker, now)
                     if lease_next and not blocked else None)
        return SubmitView(task_id=task_id, status=TaskStatus.SUBMITTED, dataset_object_id=task.position, job=job.name,
                          next_task=next_task, leased_next=lease_next)

    return unit


def release_task(ctx: Context, worker: Principal, task_id: int) -> Unit[ReleaseView]:
    """Give a task back: the object returns to the pool for other workers (not for this one)."""

    def unit(conn: Connection) -> ReleaseView:
        now = ctx.clock()
        task, job = _own_task(ctx, conn, worker, task_id)
        problem = _closed_reason(conn, task, job, now)
        if problem is None and not _RELEASE.run(conn, {"b_task": task_id, "b_now": now}):
            problem = _lost_race(conn, task_id)
        if problem is not None:
            raise KeepWrites(Conflict(problem, field="task_id"))
        GIVE_BACK.run(conn, {"b_object": task.object_id})
        record(conn, "task.released", at=now, actor=worker.username, job_id=job.id, dataset_object_id=task.position,
               task_id=task_id, worker_id=worker.id)
        return ReleaseView(task_id=task_id, status=TaskStatus.RELEASED)

    return unit


def get_task(ctx: Context, worker: Principal, task_id: int) -> TaskView:
    with ctx.engine.connect() as conn:
        _task, job = _own_task(ctx, conn, worker, task_id)
        return _task_view(conn, job, task_id)


def task_data_uri(ctx: Context, worker: Principal, task_id: int) -> str:
    """The ``source-ref`` of a task's object, only for its worker and only while the lease is open."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        task, _job = _own_task(ctx, conn, worker, task_id)
        if not lease_open(task.status, task.lease_expires_at, now):
            raise NotFound(f"no open task {task_id} of yours", field="task_id")
        uri = conn.execute(select(DataObject.source_ref).where(DataObject.id == task.object_id)).scalar()
    if uri is None:
        raise NotFound(f"task {task_id} has inline data, no file", field="task_id")
    return str(uri)


def worker_history(ctx: Context, worker: Principal) -> HistoryView:
    """A worker's own record: tasks done, time spent, earnings at each job's price."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(Job.name, func.count(), func.coalesce(func.sum(Task.time_spent_s), 0.0), Job.price_per_task_usd)
            .join(Job, Job.id == Task.job_id)
            .where(Task.worker_id == worker.id, Task.status == TaskStatus.SUBMITTED)
            .group_by(Job.name, Job.price_per_task_usd)
        ).all()
    jobs = [WorkerJobRecord(job=n, tasks=c, time_spent_s=round(float(t), 1), earnings_usd=round(c * float(p), 4))
            for n, c, t, p in rows]
    return HistoryView(jobs=jobs, tasks=sum(j.tasks for j in jobs),
                       time_spent_s=round(sum(j.time_spent_s for j in jobs), 1),
                       earnings_usd=round(sum(j.earnings_usd for j in jobs), 4))


def available_jobs(ctx: Context, worker: Principal) -> list[AvailableJobView]:
    """The jobs this user may work on (``core.access.may_work_on_job``), with how many tasks they could still take."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(Job.__table__).where(may_work_on_job_sql(worker, now))
                            .order_by(Job.created_at)).all()
        out = []
        for job in rows:
            available = conn.execute(
                select(func.count()).select_from(DataObject).where(
                    DataObject.job_id == job.id, DataObject.status == ObjectStatus.PENDING,
                    DataObject.active_count < func.coalesce(DataObject.wanted, job.workers_per_object),
                    ~_done_by(worker.id))
            ).scalar()
            if conn.execute(select(JobWorker.blocked).where(JobWorker.job_id == job.id,
                                                            JobWorker.worker_id == worker.id)).scalar():
                available = 0  # blocked from the job (quality control)
            out.append(AvailableJobView(
                name=job.name, title=job.title, description=job.description, keywords=json.loads(job.keywords),
                task_type=job.task_type, price_per_task_usd=float(job.price_per_task_usd),
                task_time_limit_s=job.task_time_limit_s, available_tasks=int(available or 0)))
    return out


__all__ = ["available_jobs", "claim_next_task", "get_task", "release_task", "submit_annotation",
           "task_data_uri", "worker_history"]
