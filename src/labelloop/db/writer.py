"""Group commit: the hot write paths of one process run through one writer thread per database.

A request hands the writer a *unit* (a function of a ``Connection``) and awaits its result. The writer
takes every unit that is waiting, up to ``MAX_BATCH``, and runs them in one transaction, each unit inside
its own savepoint, then commits once and answers them all. Under load this turns N small transactions
(each with its lock handoffs, ``BEGIN IMMEDIATE`` and commit) into one, and the request threads no longer
queue on the database's write lock: only the writer takes it. With one unit waiting it is a plain
transaction, so the latency of a quiet server does not change.

A unit's failure undoes only its own savepoint. A unit that must keep its writes and still fail (a late
answer records ``answer.rejected`` and is refused) raises :class:`KeepWrites`. If the commit itself fails,
every unit of the batch gets that error: nothing was written for any of them.

The guarantees of the units do not depend on the batching: each runs the same statements it would in a
transaction of its own, and on PostgreSQL the compare-and-set and unique constraints still order several
processes.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from labelloop.db.engine import transaction
from labelloop.db.prepared import driver_sql

T = TypeVar("T")
Unit = Callable[[Connection], T]
MAX_BATCH = 64
IDLE_S = 30.0


class KeepWrites(Exception):
    """Raised by a unit to fail with ``error`` while keeping what it wrote (e.g. an audit event)."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


def run_unit(engine: Engine, unit: Unit[T]) -> T:
    """Run one unit in a transaction of its own (the synchronous path: CLI, tests, scripts)."""
    with transaction(engine) as conn:
        ok, value = _in_savepoint(conn, unit, 0)
    if ok:
        return value
    raise value


class BatchWriter:
    """The writer thread of one engine in this process (see the module's docstring). It ends after
    ``IDLE_S`` without work; :func:`submit` starts a new one when needed."""

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH):
        self.engine = engine
        self.max_batch = max_batch
        self.queue: queue.SimpleQueue[tuple[Unit, Future]] = queue.SimpleQueue()
        self.batches = 0  # counters, for tests and the benchmark
        self.units = 0
        self._thread = threading.Thread(target=self._loop, name="labelloop-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            try:
                first = self.queue.get(timeout=IDLE_S)
            except queue.Empty:
                with _writers_lock:  # submit() puts under this lock: nothing can slip in unseen
                    if self.queue.empty():
                        if _writers.get(self.engine) is self:
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
        outcomes: list[tuple[bool, Any]] = []
        try:
            with transaction(self.engine) as conn:
                for n, (unit, _fut) in enumerate(live):
                    outcomes.append(_in_savepoint(conn, unit, n))
        except Exception as exc:  # the commit (or the transaction) failed: nothing was written
            for _unit, fut in live:
                fut.set_exception(exc)
            return
        self.batches += 1
        self.units += len(live)
        for (_unit, fut), (ok, value) in zip(live, outcomes):
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)


_writers: dict[Engine, BatchWriter] = {}
_writers_lock = threading.Lock()


def submit(engine: Engine, unit: Unit[T]) -> Future:
    """Queue a unit on this process's writer of the engine (started on first use); its future."""
    future: Future = Future()
    with _writers_lock:
        w = _writers.get(engine)
        if w is None:
            w = _writers[engine] = BatchWriter(engine)
        w.queue.put((unit, future))
    return future


async def run_batched(engine: Engine, unit: Unit[T]) -> T:
    """Run a unit in the writer's next batch and await its result (the async path: hot requests)."""
    return await asyncio.wrap_future(submit(engine, unit))


def writer_of(engine: Engine) -> BatchWriter | None:
    return _writers.get(engine)


def _in_savepoint(conn: Connection, unit: Unit, n: int, *, retry: bool = True) -> tuple[bool, Any]:
    """(True, result) or (False, error); the unit's writes are undone on error unless it raised KeepWrites.
    A unit that lost a race (a unique constraint refused a row another transaction wrote first) is run
    once more: units are written to be re-run, and the second run sees the other row."""
    name = f"unit_{n}"
    for attempt in range(2 if retry else 1):
        driver_sql(conn, f"SAVEPOINT {name}")
        try:
            result = unit(conn)
        except KeepWrites as exc:
            driver_sql(conn, f"RELEASE SAVEPOINT {name}")
            return False, exc.error
        except Exception as exc:  # noqa: BLE001 - handed to the unit's caller
            driver_sql(conn, f"ROLLBACK TO SAVEPOINT {name}")
            driver_sql(conn, f"RELEASE SAVEPOINT {name}")
            if isinstance(exc, IntegrityError) and retry and not attempt:
                continue
            return False, exc
        driver_sql(conn, f"RELEASE SAVEPOINT {name}")
        return True, result
    raise AssertionError("unreachable")


