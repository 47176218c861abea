"""A worker's standing on a job (quality control), in the caller's transaction: whose turn is a gold object,
scoring an answer (gold, qualification, automatic blocking), agreement with consolidated labels, and the
block itself.

Blocking a worker (by hand, or when ``core.quality.policy.is_blocked`` says so) in one transaction: their
open leases on the job are released, their answers on its ordinary objects are discarded (``tasks.discarded``;
the object's ``answer_count``/``active_count`` given back), and each affected object goes back to be
consolidated without them (``ready``) or, short of answers, to the pool (``pending``) for other workers; the
unique (object, worker) constraint keeps the blocked worker off it. All of it is in the audit trail
(``worker.blocked``, ``task.released``, ``object.reopened``). Unblocking lets the worker take tasks again;
discarded answers stay discarded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, insert, select, update

from labelloop.core.lifecycle import JobStatus, ObjectStatus, TaskStatus
from labelloop.core.quality.policy import BlockRule, Evidence, gold_due, is_blocked, passes_qualification
from labelloop.db.models import DataObject, Job, JobWorker, Task
from labelloop.db.prepared import Prepared, run_unless_duplicate
from labelloop.services.events import record, record_many
from labelloop.services.leases import GIVE_BACK
from labelloop.services.lifecycle import transition

_STANDING = Prepared(select(JobWorker.answers, JobWorker.gold_answers)
                     .where(JobWorker.job_id == bindparam("b_job"), JobWorker.worker_id == bindparam("b_worker")))
_ENSURE = Prepared(insert(JobWorker).values(job_id=bindparam("b_job"), worker_id=bindparam("b_worker"), answers=0,
                                            gold_answers=0, gold_correct=0, agreed=0, compared=0, blocked=False))
_SCORE = Prepared(update(JobWorker)
                  .where(JobWorker.job_id == bindparam("b_job"), JobWorker.worker_id == bindparam("b_worker"))
                  .values(answers=JobWorker.answers + 1, gold_answers=JobWorker.gold_answers + bindparam("b_gold"),
                          gold_correct=JobWorker.gold_correct + bindparam("b_correct"))
                  .returning(JobWorker.gold_answers, JobWorker.gold_correct, JobWorker.agreed, JobWorker.compared,
                             JobWorker.blocked))


def answer_class(content: dict[str, Any]) -> str | None:
    """The class of a single-label answerContent (``{"crowd-classifier": {"label": "cat"}}``)."""
    for body in content.values():
        if isinstance(body, dict) and isinstance(body.get("label"), str):
            return str(body["label"])
    return None


def gold_turn(conn: Connection, job: Any, worker_id: int) -> tuple[bool, bool]:
    """(the worker's next task should be a gold object, only a gold object will do: the qualification test)."""
    row = _STANDING.first(conn, {"b_job": job.id, "b_worker": worker_id})
    answers, gold = (row.answers, row.gold_answers) if row is not None else (0, 0)
    only = gold < job.qualification_tasks
    return only or gold_due(gold, answers, job.gold_rate), only


def _ensure(conn: Connection, job_id: int, worker_id: int) -> None:
    if not conn.execute(select(JobWorker.blocked).where(JobWorker.job_id == job_id,
                                                        JobWorker.worker_id == worker_id)).first():
        run_unless_duplicate(conn, _ENSURE, {"b_job": job_id, "b_worker": worker_id})


def rule_of(job: Any) -> BlockRule | None:
    """The job's automatic block rule (None: no automatic blocks)."""
    return None if job.block_below_accuracy is None else BlockRule(threshold=job.block_below_accuracy)


def score_answer(conn: Connection, job: Any, worker: Any, gold: str | None, content: dict[str, Any],
                 now: datetime) -> bool:
    """Count a submitted answer in the worker's standing (a gold one scored against its known class), then
    apply the qualification test and the job's block rule: True when this answer got the worker blocked."""
    correct = gold is not None and answer_class(content) == gold
    params = {"b_job": job.id, "b_worker": worker.id, "b_gold": int(gold is not None), "b_correct": int(correct)}
    row = _SCORE.first(conn, params)
    if row is None:
        _ensure(conn, job.id, worker.id)
        row = _SCORE.first(conn, params)
    # no event says an answer was gold: a worker reads their own events, and gold looks like any other task
    if row.blocked or gold is None:  # ordinary answers change the evidence only once consolidated
        return False
    reason = verdict(job, Evidence(row.gold_correct, row.gold_answers, row.agreed, row.compared),
                     qualification_just_done=gold is not None and row.gold_answers == job.qualification_tasks)
    if reason is None:
        return False
    block_in(conn, job.id, worker.id, actor="system", reason=reason, now=now, reopen=True)
    return True


def verdict(job: Any, e: Evidence, *, qualification_just_done: bool = False) -> str | None:
    """Why the worker is to be blocked now (the qualification test failed, or the block rule), or None."""
    if qualification_just_done and job.qualification_tasks:
        passed = passes_qualification(e.gold_correct, e.gold_answers, required=job.qualification_tasks,
                                      min_accuracy=job.qualification_min_accuracy)
        if passed is False:
            return (f"failed the qualification test: {e.gold_correct} of {e.gold_answers} gold objects right "
                    f"(needs {job.qualification_min_accuracy:.0%})")
    rule = rule_of(job)
    if rule is not None and is_blocked(e, rule):
        return (f"estimated accuracy below {rule.threshold:.0%} ({e.gold_correct}/{e.gold_answers} gold right, "
                f"{e.agreed}/{e.compared} answers agree with the consolidated labels)")
    return None


def add_agreement(conn: Connection, job: Any, counts: dict[int, tuple[int, int]], now: datetime) -> list[int]:
    """Add (agreed, compared) per worker id after a consolidation, then apply the job's block rule to them:
    the ids of the workers it blocked."""
    blocked = []
    for worker_id, (agreed, compared) in counts.items():
        values = {"agreed": JobWorker.agreed + agreed, "compared": JobWorker.compared + compared}
        where = (JobWorker.job_id == job.id) & (JobWorker.worker_id == worker_id)
        if not conn.execute(update(JobWorker).where(where).values(**values)).rowcount:
            _ensure(conn, job.id, worker_id)
            conn.execute(update(JobWorker).where(where).values(**values))
        if job.block_below_accuracy is None:
            continue
        row = conn.execute(select(JobWorker).where(where)).one()
        reason = None if row.blocked else verdict(job, Evidence(row.gold_correct, row.gold_answers, row.agreed,
                                                                row.compared))
        if reason is not None:
            block_in(conn, job.id, worker_id, actor="system", reason=reason, now=now, reopen=True)
            blocked.append(worker_id)
    return blocked


def block_in(conn: Connection, job_id: int, worker_id: int, *, actor: str, reason: str | None, now: datetime,
             reopen: bool) -> tuple[int, int, int]:
    """Block the worker from the job (see the module's docstring): (leases released, answers discarded, objects
    re-opened). Already blocked: nothing changes, (0, 0, 0)."""
    _ensure(conn, job_id, worker_id)
    moved = conn.execute(update(JobWorker).where(JobWorker.job_id == job_id, JobWorker.worker_id == worker_id,
                                                 JobWorker.blocked.is_(False))
                         .values(blocked=True, blocked_at=now, blocked_reason=(reason or "")[:1024])).rowcount
    if not moved:
        return 0, 0, 0
    released = transition(conn, Task, (Task.job_id == job_id) & (Task.worker_id == worker_id), TaskStatus.LEASED,
                          TaskStatus.RELEASED, finished_at=now, returning=(Task.id, Task.object_id))
    for _task, object_id in released:
        GIVE_BACK.run(conn, {"b_object": object_id})
    reopened = _discard(conn, job_id, worker_id) if reopen else []
    positions = dict(conn.execute(select(DataObject.id, DataObject.position).where(
        DataObject.id.in_([o for _t, o in released] + [o for o, _s in reopened]))).all())
    events = [{"at": now, "kind": "task.released", "actor": "system", "job_id": job_id, "task_id": t,
               "dataset_object_id": positions[o], "worker_id": worker_id, "detail": {"reason": "worker blocked"}}
              for t, o in released]
    events += [{"at": now, "kind": "object.reopened", "actor": "system", "job_id": job_id, "task_id": None,
                "dataset_object_id": positions[o], "worker_id": None, "detail": {"reason": "an answer of a blocked worker was discarded",
                                                              "status": status}} for o, status in reopened]
    record(conn, "worker.blocked", at=now, actor=actor, job_id=job_id, worker_id=worker_id, reason=reason,
           released_tasks=len(released), discarded_answers=len(reopened), reopened_objects=len(reopened))
    record_many(conn, events)
    if reopened:
        conn.execute(update(Job).where(Job.id == job_id).values(output_dirty=True))
    return len(released), len(reopened), len(reopened)


def _discard(conn: Connection, job_id: int, worker_id: int) -> list[tuple[int, str]]:
    """Discard the worker's answers on the job's ordinary objects; each object back to ``ready`` (consolidated
    again without them) or ``pending`` (short of answers): [(object id, new status)]. Only while the job runs."""
    status, n = conn.execute(select(Job.status, Job.workers_per_object).where(Job.id == job_id)).one()
    if status != JobStatus.IN_PROGRESS:
        return []
    ordinary = select(DataObject.id).where(DataObject.job_id == job_id, DataObject.is_gold.is_(False))
    objects = conn.execute(update(Task).where(
        Task.job_id == job_id, Task.worker_id == worker_id, Task.status == TaskStatus.SUBMITTED,
        Task.discarded.is_(False), Task.object_id.in_(ordinary)).values(discarded=True)
        .returning(Task.object_id)).scalars().all()
    if not objects:
        return []
    enough = DataObject.answer_count - 1 >= func.coalesce(DataObject.wanted, n)
    done = DataObject.status.in_([ObjectStatus.READY, ObjectStatus.LABELED])
    rows = conn.execute(update(DataObject).where(DataObject.id.in_(objects)).values(
        answer_count=DataObject.answer_count - 1, active_count=DataObject.active_count - 1,
        status=case((done & enough, ObjectStatus.READY), (done, ObjectStatus.PENDING), else_=DataObject.status))
        .returning(DataObject.id, DataObject.status)).all()
    return [(o, s) for o, s in rows]


def unblock_in(conn: Connection, job_id: int, worker_id: int, *, actor: str, now: datetime) -> bool:
    """Let a blocked worker take the job's tasks again (their discarded answers stay discarded)."""
    moved = conn.execute(update(JobWorker).where(JobWorker.job_id == job_id, JobWorker.worker_id == worker_id,
                                                 JobWorker.blocked.is_(True))
                         .values(blocked=False, blocked_reason=None)).rowcount
    if moved:
        record(conn, "worker.unblocked", at=now, actor=actor, job_id=job_id, worker_id=worker_id)
    return bool(moved)
