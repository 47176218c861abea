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


def run_units(engine: Engine, units: list[Unit[Any]]) -> list[tuple[bool, Any]]:
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
    """The writer threads of one engine (see the module's docstring). The service context owns it: its
    threads start on the first unit (or :meth:`start`) and end at :meth:`stop`, which the app's lifespan
    and ``Context.close`` call. A sentinel on the queue ends each thread once the units before it are done."""

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH):
        self.engine = engine
        # SQLite: one writer thread, batches of up to max_batch (the database has one writer anyway).
        # PostgreSQL runs transactions side by side and groups their commits' flushes itself, and batches
        # holding many row locks would deadlock one another (across writer threads and server processes):
        # there, PG_WRITERS threads each run one unit per transaction.
        sqlite = engine.dialect.name == "sqlite"
        self.max_batch = max_batch if sqlite else 1
        self.n_threads = 1 if sqlite else PG_WRITERS
        self.queue: queue.SimpleQueue[tuple[Unit[Any], Future[Any]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            while len(self._threads) < self.n_threads:
                t = threading.Thread(target=self._loop, name="labelloop-writer", daemon=True)
                self._threads.append(t)
                t.start()

    def stop(self) -> None:
        """Finish the queued units, then end the threads."""
        with self._lock:
            threads, self._threads = self._threads, []
            for _ in threads:
                self.queue.put(None)
        for t in threads:
            t.join()

    def submit(self, unit: Unit[T]) -> Future[T]:
        """Queue a unit for the next batch; its future."""
        if len(self._threads) < self.n_threads:
            self.start()
        future: Future[T] = Future()
        self.queue.put((unit, future))
        return future

    async def run(self, unit: Unit[T]) -> T:
        """Run a unit in the next batch and await its result."""
        return await asyncio.wrap_future(self.submit(unit))

    def _loop(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._run_batch(batch)
            if stop:
                return

    def _run_batch(self, batch: list[tuple[Unit[Any], Future[Any]]]) -> None:
        live = [(unit, fut) for unit, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            outcomes = run_units(self.engine, [unit for unit, _fut in live])
        except Exception as exc:  # the commit (or the transaction) failed: nothing was written
            for _unit, fut in live:
                fut.set_exception(exc)
            return
        for (_unit, fut), (ok, value) in zip(live, outcomes):
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)


def _deadlocked(exc: BaseException) -> bool:
    """PostgreSQL's deadlock_detected or serialization_failure: the transaction must start again."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


def _in_savepoint(conn: Connection, unit: Unit[Any], n: int) -> tuple[bool, Any]:
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
