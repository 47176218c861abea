"""What ``/readyz`` and ``/metrics`` read from the database."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from labelloop.core.lifecycle import JobStatus, ObjectStatus
from labelloop.db.models import DataObject, Job

if TYPE_CHECKING:
    from labelloop.services.context import Context


@functools.cache
def head_revision() -> str | None:
    """The newest migration this code knows (read once per process)."""
    from alembic.script import ScriptDirectory

    from labelloop.db.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def not_ready(ctx: Context) -> str | None:
    """Why this process should not get traffic (the database unreachable, its schema not at this code's
    migration head), or None when it is ready."""
    from labelloop.db.migrate import current_revision

    try:
        current = current_revision(ctx.engine)
    except Exception as exc:  # any failure to reach or read the database is "not ready", with its kind
        return f"the database is unreachable: {type(exc).__name__}"
    head = head_revision()
    if current != head:
        return f"the database schema is at revision {current or 'none'}, not {head}: run `labelloop db upgrade`"
    return None


def consolidation_lag(ctx: Context) -> dict[str, int]:
    """Per open job, the data objects that have their answers (ready) and wait for consolidation."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(Job.name, func.count(DataObject.id))
            .join(DataObject, (DataObject.job_id == Job.id) & (DataObject.status == ObjectStatus.READY.value),
                  isouter=True)
            .where(Job.status.in_([s.value for s in JobStatus if s.is_open]))
            .group_by(Job.name)).all()
    return {name: int(n) for name, n in rows}
