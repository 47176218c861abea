"""State transitions as compare-and-set, and the lease rule as SQL, built from ``labelloop.core.lifecycle``.

``transition`` is the only way a status changes: ``UPDATE … SET status = :to WHERE id = :id AND status IN
(:from…) RETURNING …``. At READ COMMITTED (PostgreSQL) a second transaction waiting on the row lock
re-checks the ``WHERE`` after the first commits, so of two racing actions exactly one gets a row back;
the loser gets None (and the caller answers 409). On SQLite writers are serialised and the same statement
gives the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, update

from labelloop.core.lifecycle import TaskStatus, allowed
from labelloop.db.models import Task


def transition(conn: Connection, model: Any, where: ColumnElement[bool], source: StrEnum | Iterable[StrEnum],
               target: StrEnum, returning: Iterable[Any] = (), **values: Any) -> list[Any]:
    """Move the rows matching ``where`` from one of ``source`` to ``target`` (compare-and-set); the rows that
    moved (their ``returning`` columns). A transition the lifecycle does not allow is a programming error."""
    sources = [source] if isinstance(source, StrEnum) else list(source)
    for s in sources:
        if not allowed(s, target):
            raise ValueError(f"{type(s).__name__}: {s} -> {target} is not a transition of the lifecycle")
    cond = model.status == sources[0] if len(sources) == 1 else model.status.in_(sources)
    stmt = update(model).where(where, cond).values(status=target, **values)
    cols = list(returning)
    if cols:
        return list(conn.execute(stmt.returning(*cols)).all())
    return [None] * conn.execute(stmt).rowcount


def lease_open_sql(now: Any) -> ColumnElement[bool]:
    """``core.lifecycle.lease_open`` as SQL: the task is leased and its lease has not reached its expiry."""
    return and_(Task.status == TaskStatus.LEASED, Task.lease_expires_at > now)


def lease_overdue_sql(now: datetime) -> ColumnElement[bool]:
    """A leased task whose lease has run out (the complement of ``lease_open`` among leased tasks)."""
    return and_(Task.status == TaskStatus.LEASED, Task.lease_expires_at <= now)
