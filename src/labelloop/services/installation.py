"""Facts of the installation that every process and machine shares, kept in the ``installation`` table.

The secret key: ``LABELLOOP_SECRET_KEY`` when it is set; otherwise a random key that the first process to
ask makes and stores. Two processes starting at once both try an insert that does nothing when the row is
already there, then both read the row, so they agree on one key whichever insert won.

The job id floor: the highest id of a deleted job, so SQLite never hands a deleted job's id to a new one.
"""

from __future__ import annotations

import secrets

from sqlalchemy import ColumnElement, Connection, Integer, cast, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from labelloop.db.models import Installation, Job
from labelloop.services.context import Context

SECRET_KEY = "secret_key"


def _insert_if_absent(conn: Connection, key: str, value: str) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(pg_insert(Installation).values(key=key, value=value).on_conflict_do_nothing(index_elements=["key"]))
    elif dialect == "sqlite":
        conn.execute(sqlite_insert(Installation).values(key=key, value=value)
                     .on_conflict_do_nothing(index_elements=["key"]))
    else:  # pragma: no cover - only the two engines are supported
        raise RuntimeError(f"unsupported database {dialect}")


def shared_value(ctx: Context, key: str, make: str) -> str:
    """The installation's value for ``key``, storing ``make`` first if there is none yet (race-free)."""
    with ctx.engine.connect() as conn:
        found = conn.execute(select(Installation.value).where(Installation.key == key)).scalar_one_or_none()
    if found is not None:
        return found

    def unit(conn: Connection) -> str:
        _insert_if_absent(conn, key, make)
        return conn.execute(select(Installation.value).where(Installation.key == key)).scalar_one()

    return ctx.write(unit)


def secret_key(ctx: Context) -> str:
    """The key that signs CSRF tokens and data links: the setting, or the installation's stored random key."""
    if ctx.settings.secret_key is not None:
        return ctx.settings.secret_key
    return shared_value(ctx, SECRET_KEY, secrets.token_urlsafe(48))


JOB_ID_FLOOR = "job_id_floor"


def retire_job_id(conn: Connection, job_id: int) -> None:
    """Record that the job ``job_id`` is deleted, so no later job gets its id. SQLite hands out the highest id
    again once its row is gone (the table has no AUTOINCREMENT), and other processes cache a job's immutable
    columns by id; PostgreSQL's sequence never goes back, but the floor is kept there too."""
    _insert_if_absent(conn, JOB_ID_FLOOR, "0")
    current = int(conn.execute(select(Installation.value).where(Installation.key == JOB_ID_FLOOR)).scalar_one())
    if job_id > current:
        conn.execute(update(Installation).where(Installation.key == JOB_ID_FLOOR).values(value=str(job_id)))


def next_job_id_sql() -> ColumnElement[int]:
    """For SQLite's INSERT of a job: one more than both the highest id in use and the highest id ever deleted,
    computed inside the INSERT (SQLite runs it under its one write lock, so two processes never pick the same)."""
    in_use = select(func.coalesce(func.max(Job.id), 0)).scalar_subquery()
    floor = select(func.coalesce(func.max(cast(Installation.value, Integer)), 0)).where(
        Installation.key == JOB_ID_FLOOR).scalar_subquery()
    return func.max(in_use, floor) + 1
