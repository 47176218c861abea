"""Group commit: the hot write paths of a process run on writer threads, not on request threads.

A request hands the writer a *unit* (a function of a ``Connection``) and awaits its result.

On SQLite one writer thread takes every unit that is waiting, up to ``MAX_BATCH``, and runs them in one
transaction, each unit inside its own savepoint, then commits once and answers them all. Under load this
turns N small transactions (each with its lock handoffs, ``BEGIN IMMEDIATE`` and commit) into one, and no
request thread queues on the database's single write lock. With one unit waiting it is a plain
transaction, so the latency of a quiet server does not change.

On PostgreSQL, ``PG_WRITERS`` threads each run one unit per transaction. The server already runs
transactions side by side and groups the flushes of concurrent commits. Batches that hold many row locks
would deadlock one another, within one process and across several.

A unit's failure undoes only its own savepoint. A unit that must keep its writes and still fail (a late
answer records ``answer.rejected`` and is refused) raises :class:`KeepWrites`. If the commit itself fails,
every unit of that transaction gets the error: nothing was written for any of them. A deadlock (between
server processes on PostgreSQL) undoes the transaction and runs it again.

The guarantees of the units do not depend on the batching: each runs the same statements it would in a
transaction of its own, and on PostgreSQL the compare-and-set and unique constraints still order several
processes.
"""

from __future__ import annotations

import asyncio
import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from labelloop.db.engine import transaction
from labelloop.db.prepared import driver_sql

T = TypeVar("T")
Unit = Callable[[Connection], T]
MAX_BATCH = 64
IDLE_S = 30.0
DEADLOCK_RETRIES = 5
PG_WRITERS = 8


class KeepWrites(Exception):
    """Raised by a unit to fail with ``error`` while keeping what it wrote (e.g. an audit event)."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


def run_unit(engine: Engine, unit: Unit[T]) -> T:
    """Run one unit in a transaction of its own (the synchronous path: CLI, tests, scripts)."""
    ok, value = run_units(engine, [unit])[0]
    if ok:
        return value
    raise value


def run_units(engine: Engine, units: list[Unit]) -> list[tuple[bool, Any]]:
    """Run units in one transaction, each in a savepoint: ``(True, result)`` or ``(False, error)`` per unit.
    A deadlock with another transaction (PostgreSQL: two processes' batches waiting on each other's rows)
    undoes the whole transaction, which releases every lock it held, and runs it again, up to
    ``DEADLOCK_RETRIES`` times. A failed commit raises."""
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            with transaction(engine) as conn:
                return [_in_savepoint(conn, unit, n) for n, unit in enumerate(units)]
        except _Deadlock as exc:
            if attempt == DEADLOCK_RETRIES:
                raise exc.error from None
            time.sleep(random.uniform(0.001, 0.01) * (attempt + 1))  # let the other transaction finish
    raise AssertionError("unreachable")


class _Deadlock(Exception):
    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


class BatchWriter:
    """The writer threads of one engine in this process (see the module's docstring). A thread ends after
    ``IDLE_S`` without work; :func:`submit` starts them again when needed."""

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH):
        self.engine = engine
        # SQLite: one writer thread, batches of up to max_batch (the database has one writer anyway).
        # PostgreSQL runs transactions side by side and groups their commits' flushes itself, and batches
        # holding many row locks would deadlock one another (across writer threads and server processes):
        # there, PG_WRITERS threads each run one unit per transaction.
        sqlite = engine.dialect.name == "sqlite"
        self.max_batch = max_batch if sqlite else 1
        self.threads = 1 if sqlite else PG_WRITERS
        self.alive = 0
        self.queue: queue.SimpleQueue[tuple[Unit, Future]] = queue.SimpleQueue()
        self.batches = 0  # transactions committed (tests read it)
        self._count_lock = threading.Lock()  # several writer threads on PostgreSQL

    def ensure_running(self) -> None:
        """Start writer threads up to ``threads`` (called under ``_writers_lock``)."""
        while self.alive < self.threads:
            self.alive += 1
            threading.Thread(target=self._loop, name="labelloop-writer", daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                first = self.queue.get(timeout=IDLE_S)
            except queue.Empty:
                with _writers_lock:  # submit() puts under this lock: nothing can slip in unseen
                    if self.queue.empty():
                        self.alive -= 1
                        if not self.alive and _writers.get(self.engine) is self:
                            del _writers[self.engine]
                        return
                continue
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            self._run_batch(batch)

    def _run_batch(self, batch: list[tuple[Unit, Future]]) -> None:
        live = [(unit, fut) for unit, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            outcomes = run_units(self.engine, [unit for unit, _fut in live])
        except Exception as exc:  # the commit (or the transaction) failed: nothing was written
            for _unit, fut in live:
                fut.set_exception(exc)
            return
        with self._count_lock:
            self.batches += 1
        for (_unit, fut), (ok, value) in zip(live, outcomes):
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)


def _deadlocked(exc: BaseException) -> bool:
    """PostgreSQL's deadlock_detected or serialization_failure: the transaction must start again."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


_writers: dict[Engine, BatchWriter] = {}
_writers_lock = threading.Lock()


def submit(engine: Engine, unit: Unit[T]) -> Future:
    """Queue a unit on this process's writer of the engine (started on first use); its future."""
    future: Future = Future()
    with _writers_lock:
        w = _writers.get(engine)
        if w is None:
            w = _writers[engine] = BatchWriter(engine)
        w.ensure_running()
        w.queue.put((unit, future))
    return future


async def run_batched(engine: Engine, unit: Unit[T]) -> T:
    """Run a unit in the writer's next batch and await its result (the async path: hot requests)."""
    return await asyncio.wrap_future(submit(engine, unit))


def writer_of(engine: Engine) -> BatchWriter | None:
    return _writers.get(engine)


def _in_savepoint(conn: Connection, unit: Unit, n: int) -> tuple[bool, Any]:
    """(True, result) or (False, error); the unit's writes are undone on error unless it raised KeepWrites.
    A unit that lost a race on a unique constraint (another transaction wrote the row first) is run once
    more: units are written to be re-run, and the second run sees that row. A deadlock is raised as
    ``_Deadlock`` for :func:`run_units` to start the transaction again."""
    name = f"unit_{n}"
    for attempt in range(2):
        driver_sql(conn, f"SAVEPOINT {name}")
        try:
            result = unit(conn)
        except KeepWrites as exc:
            driver_sql(conn, f"RELEASE SAVEPOINT {name}")
            return False, exc.error
        except Exception as exc:  # noqa: BLE001 - handed to the unit's caller
            if _deadlocked(exc):
                raise _Deadlock(exc) from exc
            driver_sql(conn, f"ROLLBACK TO SAVEPOINT {name}")
            driver_sql(conn, f"RELEASE SAVEPOINT {name}")
            if not attempt and isinstance(exc, IntegrityError):
                continue
            return False, exc
        driver_sql(conn, f"RELEASE SAVEPOINT {name}")
        return True, result
    raise AssertionError("unreachable")
