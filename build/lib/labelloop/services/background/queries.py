"""Reads the background steps share."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from labelloop.core.lifecycle import ObjectStatus
from labelloop.db.models import DataObject


def has_objects(conn: Connection, job_id: int, statuses: Iterable[ObjectStatus]) -> bool:
    return conn.execute(
        select(DataObject.id).where(DataObject.job_id == job_id, DataObject.status.in_(list(statuses))).limit(1)
    ).first() is not None
