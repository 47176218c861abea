"""The background runner: for each job that needs it, claim it, run the steps in order, release it.

Several processes may run this at once, on one machine or several: a job is worked on by one of them at a
time. The claim is a compare-and-set on ``jobs.background_until`` naming its owner; it lasts ``CLAIM_S``
seconds. The runner asks to renew it before every step and steps ask between their batches; a renewal is
written only once a third of the claim has passed (a pass that takes less writes none: on SQLite every
write waits for the one write lock that workers' submits need). A process that dies leaves its jobs to
the others within ``CLAIM_S``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from labelloop.core.lifecycle import JobStatus, allowed
from labelloop.core.storage_policy import Refused
from labelloop.db.models import Job
from labelloop.services.background import autolabel, consolidate, expire, finish, output, preannotate
from labelloop.services.background.base import JobPass, Step
from labelloop.services.context import Context
from labelloop.services.events import record
from labelloop.services.jobs import set_status
from labelloop.services.metrics import STEPS as STEP_SECONDS

CLAIM_S = 15

#: The steps of a pass, in order: (name, step).
STEPS: tuple[tuple[str, Step], ...] = (
    ("expired", expire.step),
    ("preprocessed", preannotate.step),
    ("consolidated", consolidate.step),
    ("autolabeled", autolabel.step),
    ("finished", finish.step),
    ("manifests", output.step),
)


class Claim:
    """This process's hold on one job's background work."""

    def __init__(self, ctx: Context, job_id: int, owner: str):
        self.ctx, self.job_id, self.owner = ctx, job_id, owner
        self.taken_at = ctx.clock()  # when the claim was last written

    def take(self) -> bool:
        now = self.taken_at = self.ctx.clock()
        free = or_(Job.background_until.is_(None), Job.background_until <= now, Job.background_owner == self.owner)
        return self._set(and_(Job.id == self.job_id, free), now + timedelta(seconds=CLAIM_S), self.owner)

    def renew(self) -> None:
        """Extend the claim to ``CLAIM_S`` from now, once a third of it has passed."""
        now = self.ctx.clock()
        if (now - self.taken_at).total_seconds() < CLAIM_S / 3:
            return
        self.taken_at = now
        self._set(and_(Job.id == self.job_id, Job.background_owner == self.owner),
                  now + timedelta(seconds=CLAIM_S), self.owner)

    def release(self) -> None:
        self._set(and_(Job.id == self.job_id, Job.background_owner == self.owner), None, None)

    def _set(self, where: Any, until: Any, owner: str | None) -> bool:
        def unit(conn: Connection) -> bool:
            stmt = update(Job).where(where).values(background_until=until, background_owner=owner)
            return bool(conn.execute(stmt).rowcount == 1)

        return self.ctx.write(unit)


def run_background_once(ctx: Context, *, force_output: bool = False, owner: str | None = None) -> dict[str, int]:
    """One pass over every open job (and finished jobs whose output is stale). Returns what it did, by step."""
    owner = owner or uuid.uuid4().hex
    from labelloop.services.jobs import sweep_abandoned_imports

    sweep_abandoned_imports(ctx)  # jobs a killed import left Initializing
    with ctx.engine.connect() as conn:
        ids = conn.execute(
            select(Job.id).where(or_(Job.status.in_([s for s in JobStatus if s.is_open]), Job.output_dirty.is_(True)))
        ).scalars().all()
    done = {"jobs": 0, **{name: 0 for name, _ in STEPS}}
    for job_id in ids:
        claim = Claim(ctx, job_id, owner)
        if not claim.take():
            continue
        try:
            _run_steps(ctx, job_id, force_output, claim.renew, done)
            done["jobs"] += 1
        finally:
            claim.release()
    return done


def _output_refused(ctx: Context, p: JobPass, exc: Refused) -> None:
    """A job whose output location the admin no longer allows: a job still open fails with the reason; a
    finished one records it. Either way its output is no longer retried (it would be refused every pass)."""
    reason = f"the storage policy refuses the job's output: {exc.reason}"[:1024]

    def unit(conn: Connection) -> None:
        if not (allowed(p.status, JobStatus.FAILED) and set_status(conn, p.job.id, p.status, JobStatus.FAILED,
                                                                    p.now, reason)):
            record(conn, "job.output_refused", at=p.now, actor="system", job_id=p.job.id, reason=reason)
        conn.execute(update(Job).where(Job.id == p.job.id).values(output_dirty=False))

    ctx.write(unit)


def _run_steps(ctx: Context, job_id: int, force_output: bool, renew: Callable[[], None], done: dict[str, int]) -> None:
    with ctx.engine.connect() as conn:
        job = conn.execute(select(Job.__table__).where(Job.id == job_id)).one()
    p = JobPass(job=job, now=ctx.clock(), status=JobStatus(job.status), output_dirty=bool(job.output_dirty),
                force_output=force_output, renew=renew)
    for name, step in STEPS:
        renew()
        start = time.perf_counter()
        try:
            outcome = step(ctx, p)
        except Refused as exc:  # the storage policy no longer allows where the job writes: say so, once
            _output_refused(ctx, p, exc)
            return
        finally:
            STEP_SECONDS.labels(name).observe(time.perf_counter() - start)
        done[name] += outcome.done
        if outcome.status is not None:
            p.status = outcome.status
        p.output_dirty = p.output_dirty or outcome.output_dirty
