"""Group commit: the hot write paths of a process run on writer threads, not on request threads.

A request hands the writer a *unit* (a function of a ``Connection``) and awaits its result. A writer thread
takes every unit that is waiting, up to ``MAX_BATCH``, and runs them in one transaction, each unit inside
its own savepoint, then commits once and answers them all. Under load this turns N small transactions
(each with its lock handoffs and its commit's disk flush) into one. With one unit waiting it is a plain
transaction, so the latency of a quiet server does not change.

SQLite has one writer thread (the database has one writer anyway). PostgreSQL has ``PG_WRITERS`` threads
per process, whose batches run side by side with each other and with other processes' batches. Two
batches there could each hold a row the other wants (one leased object X and submits on Y, the other
leased Y and submits on X) and deadlock. So a batch never waits long for a row lock while it holds
others: it runs with ``lock_timeout = BATCH_LOCK_WAIT_MS``; a unit whose statement waits longer is undone
(its savepoint) and run again *alone*, in a transaction of its own after the batch commits, where it may
wait as long as it must. A batch therefore never takes part in a deadlock for more than that, and a
unit alone holds at most its own rows. See ``docs/decisions/0007-postgresql-group-commit.md``.

A unit's failure undoes only its own savepoint. A unit that must keep its writes and still fail (a late
answer records ``answer.rejected`` and is refused) raises :class:`KeepWrites`. If the commit itself fails,
every unit of that transaction gets the error: nothing was written for any of them. A deadlock or
serialization failure undoes the transaction; a batch's units are then run again one by one, a single
unit's transaction is run again (up to ``DEADLOCK_RETRIES`` times).

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
PG_WRITERS = 2
#: PostgreSQL: a unit that writes gets a subtransaction id, and a transaction with more than 64 of them
#: slows every snapshot on the server (its subtransaction cache overflows): batches stay below that
PG_MAX_BATCH = 32
#: PostgreSQL: how long a statement of a batch may wait for a row lock before its unit is run alone
BATCH_LOCK_WAIT_MS = 50


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
    On PostgreSQL a batch (more than one unit) waits at most ``BATCH_LOCK_WAIT_MS`` for a row lock: a unit
    that would wait longer is undone and, once the batch has committed, run alone. A deadlock or
    serialization failure undoes the transaction, which releases every lock it held: a batch's units are
    then run one by one, a single unit runs again, up to ``DEADLOCK_RETRIES`` times. A failed commit raises."""
    if len(units) > 1 and engine.dialect.name == "postgresql":
        try:
            with transaction(engine) as conn:
                outcomes = _in_savepoints(conn, units, batch=True,
                                          first_sql=(f"SET LOCAL lock_timeout = {BATCH_LOCK_WAIT_MS}",))
        except _Deadlock:
            return [run_units(engine, [unit])[0] for unit in units]
        return [run_units(engine, [unit])[0] if outcome is _ALONE else outcome
                for unit, outcome in zip(units, outcomes)]
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            with transaction(engine) as conn:
                return _in_savepoints(conn, units)
        except _Deadlock as exc:
            if attempt == DEADLOCK_RETRIES:
                raise exc.error from None
            time.sleep(random.uniform(0.001, 0.01) * (attempt + 1))  # let the other transaction finish
    raise AssertionError("unreachable")


class _Deadlock(Exception):
    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


#: a batch's outcome for a unit that waited too long for a row lock: it is run alone after the batch
_ALONE: Any = (False, None)


class BatchWriter:
    """The writer threads of one engine (see the module's docstring). The service context owns it: its
    threads start on the first unit (or :meth:`start`) and end at :meth:`stop`, which the app's lifespan
    and ``Context.close`` call. A sentinel on the queue ends each thread once the units before it are done."""

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH):
        self.engine = engine
        # SQLite: one writer thread (the database has one writer anyway). PostgreSQL: PG_WRITERS threads,
        # so that one batch runs while another waits for its commit's flush (see run_units for locks).
        sqlite = engine.dialect.name == "sqlite"
        self.max_batch = max_batch if sqlite else min(max_batch, PG_MAX_BATCH)
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


def _sqlstate(exc: BaseException) -> str | None:
    return getattr(exc.orig, "sqlstate", None) if isinstance(exc, DBAPIError) else None


def _deadlocked(exc: BaseException) -> bool:
    """PostgreSQL's deadlock_detected or serialization_failure: the transaction must start again."""
    return _sqlstate(exc) in ("40P01", "40001")


_SAVEPOINT = "SAVEPOINT labelloop_unit"
_NEXT_SAVEPOINT = ("RELEASE SAVEPOINT labelloop_unit", "SAVEPOINT labelloop_unit")
_UNDO = "ROLLBACK TO SAVEPOINT labelloop_unit"


def _in_savepoints(conn: Connection, units: list[Unit[Any]], *, batch: bool = False,
                   first_sql: tuple[str, ...] = ()) -> list[tuple[bool, Any]]:
    """Run the units one after the other, each in a savepoint of its own (see :func:`_in_savepoint`).
    Every unit's savepoint has the same name: the previous one is released as the next one is made, in one
    round trip on PostgreSQL (with ``first_sql`` before the first), and the last is released by the commit."""
    out = []
    for n, unit in enumerate(units):
        driver_sql(conn, *((*first_sql, _SAVEPOINT) if n == 0 else _NEXT_SAVEPOINT))
        out.append(_in_savepoint(conn, unit, batch=batch))
    return out


def _in_savepoint(conn: Connection, unit: Unit[Any], *, batch: bool = False) -> tuple[bool, Any]:
    """(True, result) or (False, error), in the savepoint the caller has just made; the unit's writes are
    undone on error unless it raised KeepWrites. A unit that lost a race on a unique constraint (another
    transaction wrote the row first) is run once more: units are written to be re-run, and the second run
    sees that row. A deadlock is raised as ``_Deadlock`` for :func:`run_units` to start the transaction
    again. In a PostgreSQL batch, a unit that waited too long for a row lock (lock_not_available) is
    undone and ``_ALONE`` returned."""
    for attempt in range(2):
        try:
            return True, unit(conn)
        except KeepWrites as exc:
            return False, exc.error
        except Exception as exc:  # noqa: BLE001 - handed to the unit's caller
            if _deadlocked(exc):
                raise _Deadlock(exc) from exc
            driver_sql(conn, _UNDO)  # the savepoint stays, for a second run or the next unit
            if batch and _sqlstate(exc) == "55P03":
                return _ALONE
            if not attempt and isinstance(exc, IntegrityError):
                continue
            return False, exc
    raise AssertionError("unreachable")
