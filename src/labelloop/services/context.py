"""What every service needs: the engine, storage, settings and a clock (injected, so tests never sleep)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from labelloop.settings import Settings
from labelloop.storage import Storage


def utc_now() -> datetime:
    """Naive UTC now: the database stores naive UTC timestamps."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Context:
    engine: Engine
    storage: Storage
    settings: Settings
    clock: Callable[[], datetime] = field(default=utc_now)


@dataclass(frozen=True)
class Principal:
    """The signed-in user of a request."""

    id: int
    username: str
    role: str  # admin | requester | worker

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_request(self) -> bool:
        return self.role in ("admin", "requester")


def build_context(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Context:
    from labelloop.db.engine import make_engine

    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    return Context(engine=engine, storage=Storage(s3_endpoint_url=settings.s3_endpoint_url), settings=settings, clock=clock)
