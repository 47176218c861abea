"""What every service needs: the engine, storage, settings, a clock (injected, so tests never sleep), and
the one way to write.

A service writes through :meth:`Context.write` (a unit in a transaction of its own: the CLI, scripts,
tests, the background process) or ``await`` :meth:`Context.write_async` (the unit in the writer's next
batch: request handlers; see ``labelloop.db.writer``). A *unit* is a function of a ``Connection``; it
never commits: the writer does.

The context owns the long-lived pieces of a process: the group-commit writer and the per-process caches
(immutable job columns, recently seen tokens). :meth:`start` and :meth:`close` start and stop them, and the
app's lifespan calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine

from labelloop.core.access import Principal
from labelloop.db.writer import BatchWriter, Unit, run_unit
from labelloop.settings import Settings
from labelloop.storage import Storage

if TYPE_CHECKING:
    from labelloop.services.users import TokenCache

T = TypeVar("T")

__all__ = ["Context", "Principal", "build_context", "utc_now"]


def utc_now() -> datetime:
    """Naive UTC now: the database stores naive UTC timestamps."""
    return datetime.now(UTC).replace(tzinfo=None)


class BoundedCache(dict[Any, Any]):
    """A dict that empties itself when full: for per-process caches of immutable rows."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def put(self, key: Any, value: Any) -> None:
        if len(self) >= self.limit:
            self.clear()
        self[key] = value


@dataclass
class Context:
    engine: Engine
    storage: Storage
    settings: Settings
    clock: Callable[[], datetime] = field(default=utc_now)
    writer: BatchWriter = field(init=False)
    job_infos: BoundedCache = field(init=False)  # labelloop.services.jobs.JobInfo by job id
    tokens: TokenCache = field(init=False)
    _secret_key: str | None = field(init=False, default=None)

    @property
    def secret_key(self) -> str:
        """The installation's secret key (``services.installation.secret_key``), read once per process."""
        if self._secret_key is None:
            from labelloop.services.installation import secret_key

            self._secret_key = secret_key(self)
        return self._secret_key

    def __post_init__(self) -> None:
        from labelloop.services.users import TokenCache

        self.writer = BatchWriter(self.engine)
        self.job_infos = BoundedCache(1024)
        self.tokens = TokenCache()

    def write(self, unit: Unit[T]) -> T:
        """Run a unit in a transaction of its own and return its result (or raise its error)."""
        return run_unit(self.engine, unit)

    async def write_async(self, unit: Unit[T]) -> T:
        """Run a unit in the writer's next batch (group commit) and await its result."""
        return await self.writer.run(unit)

    def start(self) -> None:
        self.writer.start()

    def close(self) -> None:
        """Finish queued writes and stop the writer threads; the engine stays open (its owner disposes it)."""
        self.writer.stop()


def build_context(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Context:
    from labelloop.db.engine import make_engine
    from labelloop.services.storage_policy import PolicySource

    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    storage = Storage(s3_endpoint_url=settings.s3_endpoint_url, policy=PolicySource(engine, settings),
                      s3_profile=settings.s3_profile)
    return Context(engine=engine, storage=storage, settings=settings, clock=clock)
