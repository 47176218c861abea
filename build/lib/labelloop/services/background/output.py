"""Step: rewrite the job's manifests when its output is stale: at once when the job has finished or when
asked (``force_output``), otherwise at most every ``output_interval_s``."""

from __future__ import annotations

from sqlalchemy import Connection, update

from labelloop.db.models import Job
from labelloop.services.background.base import JobPass, Outcome
from labelloop.services.context import Context
from labelloop.services.output import write_manifests


def step(ctx: Context, p: JobPass) -> Outcome:
    if not p.output_dirty:
        return Outcome()
    written = p.job.output_written_at
    due = written is None or (p.now - written).total_seconds() >= ctx.settings.output_interval_s
    if not (p.force_output or not p.status.is_open or due):
        return Outcome()
    with ctx.engine.connect() as conn:
        write_manifests(ctx, conn, p.job)

    def unit(conn: Connection) -> None:
        conn.execute(update(Job).where(Job.id == p.job.id).values(output_dirty=False, output_written_at=p.now))

    ctx.write(unit)
    return Outcome(done=1)
