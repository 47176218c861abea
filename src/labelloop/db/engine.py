"""Engine creation and the one transaction helper. Engine differences live here and only here."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from sqlalchemy import Connection, Engine, create_engine, event

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's busy timeout alone orders the processes
    fcntl = None  # type: ignore[assignment]  # checked before use: `fcntl is None`

_IMMEDIATE = "labelloop_immediate"


def make_engine(url: str, *, busy_timeout_ms: int = 30000) -> Engine:
    """Build an engine; SQLite gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` writes."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            pool_size=8, max_overflow=56,
        )
        # SQLite has one writer: writers queue on a lock instead of polling the busy handler
        engine.labelloop_write_lock = WriteLock(engine.url.database)  # type: ignore[attr-defined]

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # pragma: no cover - trivial
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_IMMEDIATE) else "BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    # psycopg 3 prepares a statement on the server from its second run on a connection (prepare_threshold),
    # so the hot path's few statements are parsed and planned once per connection; prepared_max keeps the
    # ones the rest of the application runs too.
    engine = create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True,
                           connect_args={"prepare_threshold": PG_PREPARE_THRESHOLD} if _psycopg(url) else {})
    if _psycopg(url):
        @event.listens_for(engine, "connect")
        def _prepared_max(dbapi_conn, _record):  # pragma: no cover - trivial
            dbapi_conn.prepared_max = PG_PREPARED_MAX

    return engine


PG_PREPARE_THRESHOLD = 1
PG_PREPARED_MAX = 256


def _psycopg(url: str) -> bool:
    return url.startswith("postgresql+psycopg://") or url.startswith("postgresql+psycopg:")


class WriteLock:
    """The write lock of one SQLite database. Threads of this process queue on a thread lock; processes
    sharing the file (``serve --workers N``, ``labelloop background``, the CLI) then queue on an exclusive
    ``flock`` of ``<database>-writer.lock``, which wakes the next writer as soon as the lock is free, where
    SQLite's own busy handler sleeps and polls (up to 100 ms a try). SQLite's locking still guards the data;
    this only orders the writers. An in-memory database has no file and needs only the thread lock."""

    def __init__(self, database: str | None):
        self._threads = threading.Lock()
        memory = not database or database == ":memory:" or database.startswith("file::memory:")
        self._path = None if memory or fcntl is None else os.path.abspath(cast(str, database)) + "-writer.lock"
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child needs its own open file
            assert self._path is not None  # only called when there is a lock file
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def __enter__(self) -> None:
        self._threads.acquire()
        if self._path is not None:
            try:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise

    def __exit__(self, *exc) -> None:
        try:
            if self._path is not None:
                assert self._fd is not None  # opened by __enter__
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


def is_postgres(conn_or_engine: Connection | Engine) -> bool:
    return conn_or_engine.dialect.name == "postgresql"


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction: BEGIN IMMEDIATE on SQLite, READ COMMITTED on PostgreSQL; commits or rolls back."""
    lock = getattr(engine, "labelloop_write_lock", None)
    if lock is None:
        with engine.begin() as conn:
            yield conn
        return
    with lock, engine.connect() as conn:
        conn = conn.execution_options(**{_IMMEDIATE: True})
        with conn.begin():
            yield conn
