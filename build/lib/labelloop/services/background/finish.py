"""Step: a stopping job becomes Stopped; a job in progress with nothing left to label becomes Completed."""

from __future__ import annotations

from sqlalchemy import Connection

from labelloop.core.lifecycle import UNLABELED, JobStatus
from labelloop.services.background.base import JobPass, Outcome
from labelloop.services.background.queries import has_objects
from labelloop.services.context import Context
from labelloop.services.jobs import set_status


def step(ctx: Context, p: JobPass) -> Outcome:
    def unit(conn: Connection) -> JobStatus | None:
        if p.status == JobStatus.STOPPING:
            target = JobStatus.STOPPED
        elif p.status == JobStatus.IN_PROGRESS and not has_objects(conn, p.job.id, UNLABELED):
            target = JobStatus.COMPLETED
        else:
            return None
        return target if set_status(conn, p.job.id, p.status, target, p.now) else None

    status = ctx.write(unit)
    return Outcome(status=status, output_dirty=status is not None)
