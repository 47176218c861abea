"""Group commit (labelloop.db.writer) and prepared statements (labelloop.db.prepared), on both engines."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from labelloop.core.errors import Conflict
from labelloop.db import writer
from labelloop.db.prepared import Prepared
from tests.waiting import GUARD_S, wait_until

meta = MetaData()
things = Table("wt_things", meta, Column("id", Integer, primary_key=True), Column("name", String(20), unique=True),
               Column("at", DateTime), Column("flag", Boolean), Column("score", Float))
_ADD = Prepared(insert(things).values(name=bindparam("b_name"), at=bindparam("b_at"), flag=bindparam("b_flag"),
                                      score=bindparam("b_score")).returning(things.c.id))
_GET = Prepared(select(things.c.name, things.c.at, things.c.flag, things.c.score).where(things.c.name == bindparam("b_name")))


@pytest.fixture
def engine(ctx):
    meta.create_all(ctx.engine)
    yield ctx.engine
    meta.drop_all(ctx.engine)


@pytest.fixture
def w(ctx, engine):
    """The context's writer (its owner starts and stops it)."""
    ctx.start()
    yield ctx.writer
    ctx.close()


def _names(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(things.c.name)).scalars())


def _add(name: str):
    return lambda conn: _ADD.first(conn, {"b_name": name, "b_at": None, "b_flag": None, "b_score": None})[0]


def _held_writer(w):
    """Occupy the writer with a unit that waits, so the next units queue up and run as one batch."""
    entered, go = threading.Event(), threading.Event()

    def hold(conn):
        entered.set()
        go.wait(GUARD_S)
        return "held"

    first = w.submit(hold)
    assert entered.wait(GUARD_S)
    return first, go


def _transaction(unit):
    """The unit, also returning the transaction it ran in (held, so the objects' identities stay distinct)."""
    return lambda conn: (unit(conn), conn.get_transaction())


def test_queued_units_run_in_one_transaction_each_in_its_own_savepoint(engine, w):
    first, go = _held_writer(w)

    def fails(conn):
        _add("undone")(conn)
        raise ValueError("this unit fails after writing")

    def keeps(conn):
        _add("kept")(conn)
        raise writer.KeepWrites(Conflict("refused, but the audit row stays"))

    futures = [w.submit(_transaction(_add("a"))), w.submit(fails), w.submit(keeps), w.submit(_transaction(_add("b")))]
    go.set()
    assert first.result(10) == "held"
    (a_id, a_tx), (b_id, b_tx) = futures[0].result(10), futures[3].result(10)
    assert isinstance(a_id, int) and isinstance(b_id, int)
    with pytest.raises(ValueError, match="fails after writing"):
        futures[1].result(10)
    with pytest.raises(Conflict, match="audit row stays"):
        futures[2].result(10)
    if engine.dialect.name == "sqlite":  # one writer thread: the four queued units ran in one transaction
        assert a_tx is b_tx
    # (PostgreSQL has several writer threads, which may share the queued units out: run_units is tested below)
    assert _names(engine) == ["a", "b", "kept"]


def test_a_batch_is_one_transaction_with_a_savepoint_per_unit(engine):
    """The writer's batch on either engine: one transaction, a failed unit undone alone, KeepWrites kept."""
    def fails(conn):
        _add("undone")(conn)
        raise ValueError("this unit fails after writing")

    def keeps(conn):
        _add("kept")(conn)
        raise writer.KeepWrites(Conflict("refused, but the audit row stays"))

    (ok_a, (a_id, a_tx)), (ok_f, err_f), (ok_k, err_k), (ok_b, (b_id, b_tx)) = writer.run_units(
        engine, [_transaction(_add("a")), fails, keeps, _transaction(_add("b"))])
    assert ok_a and ok_b and a_tx is b_tx and isinstance(a_id, int) and isinstance(b_id, int)
    assert (ok_f, ok_k) == (False, False)
    assert isinstance(err_f, ValueError) and isinstance(err_k, Conflict)
    assert _names(engine) == ["a", "b", "kept"]


def test_a_failed_commit_fails_the_units_of_its_transaction_and_writes_nothing(engine, w):
    with engine.begin() as conn:  # a constraint checked only at COMMIT
        conn.execute(text("CREATE TABLE wt_parent (id INTEGER PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE wt_child (id INTEGER PRIMARY KEY, parent_id INTEGER "
                          "REFERENCES wt_parent (id) DEFERRABLE INITIALLY DEFERRED)"))
    try:
        if engine.dialect.name == "sqlite":  # one writer thread: the two queued units share one batch
            first, go = _held_writer(w)
            ok = w.submit(_add("innocent"))
            bad = w.submit(lambda conn: conn.execute(text("INSERT INTO wt_child VALUES (1, 42)")).rowcount)
            go.set()
            first.result(10)
            for future in (bad, ok):  # the two units shared the transaction whose commit failed
                with pytest.raises(IntegrityError):
                    future.result(10)
        else:  # several writer threads: the batch is made here
            with pytest.raises(IntegrityError):
                writer.run_units(engine, [_add("innocent"), lambda conn: conn.execute(
                    text("INSERT INTO wt_child VALUES (1, 42)")).rowcount])
        assert _names(engine) == []
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE wt_child"))
            conn.execute(text("DROP TABLE wt_parent"))


def test_a_unit_that_loses_a_race_on_a_unique_constraint_runs_once_more(engine, w):
    writer.run_unit(engine, _add("taken"))
    calls = []

    def unit(conn):
        calls.append(1)
        name = "taken" if len(calls) == 1 else "free"  # the second run sees the row the first collided with
        return _add(name)(conn)

    assert isinstance(w.submit(unit).result(10), int)
    assert len(calls) == 2
    assert _names(engine) == ["free", "taken"]
    with pytest.raises(IntegrityError):  # a unit that keeps colliding fails with the driver's error, as SQLAlchemy's
        writer.run_unit(engine, _add("taken"))


def test_write_async_awaits_the_result(ctx, engine):
    with ThreadPoolExecutor(1) as pool:  # a loop of its own: the browser tests' sync API keeps one running here
        assert isinstance(pool.submit(asyncio.run, ctx.write_async(_add("async"))).result(10), int)
    assert _names(engine) == ["async"]
    ctx.close()


def test_the_context_stops_its_writer_after_the_queued_units(ctx, engine):
    ctx.start()
    futures = [ctx.writer.submit(_add(f"u{i}")) for i in range(20)]
    ctx.close()  # finishes what was queued, then the threads end
    assert all(f.done() and isinstance(f.result(0), int) for f in futures)
    assert ctx.writer._threads == []
    assert isinstance(ctx.writer.submit(_add("after")).result(10), int)  # a later unit starts it again
    ctx.close()


def test_prepared_statements_convert_types_like_sqlalchemy(engine):
    at = datetime(2026, 3, 4, 5, 6, 7, 890123)
    writer.run_unit(engine, lambda conn: _ADD.first(conn, {"b_name": "x", "b_at": at, "b_flag": True,
                                                           "b_score": 0.25}))
    with engine.connect() as conn:
        row = _GET.first(conn, {"b_name": "x"})
        expected = conn.execute(select(things.c.name, things.c.at, things.c.flag, things.c.score)
                                .where(things.c.name == "x")).one()
        assert _GET.first(conn, {"b_name": "nobody"}) is None
    assert tuple(row) == tuple(expected) == ("x", at, True, 0.25)
    assert row.at == at and row.flag is True


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_deadlocked_transaction_is_run_again(engine):
    """Two transactions take two rows in opposite orders; PostgreSQL ends one of them with a deadlock error,
    which undoes it (releasing its lock) and runs it again, so both complete."""
    writer.run_unit(engine, _add("r1"))
    writer.run_unit(engine, _add("r2"))
    both_hold_one = threading.Barrier(2)
    runs = []

    def crossing(first: str, second: str):
        def unit(conn):
            runs.append(first)
            conn.execute(text("UPDATE wt_things SET score = 1 WHERE name = :n"), {"n": first})
            if len(runs) <= 2:  # the first run of each: wait until the other holds its row too
                both_hold_one.wait(GUARD_S)
            conn.execute(text("UPDATE wt_things SET score = 2 WHERE name = :n"), {"n": second})
            return first

        return unit

    with ThreadPoolExecutor(2) as pool:
        results = [pool.submit(writer.run_unit, engine, crossing(a, b)) for a, b in (("r1", "r2"), ("r2", "r1"))]
        assert sorted(f.result(GUARD_S) for f in results) == ["r1", "r2"]
    assert len(runs) == 3  # one of the two ran again


def _set_score(name: str, score: float, runs: list[str] | None = None):
    def unit(conn):
        if runs is not None:
            runs.append(name)
        conn.execute(text("UPDATE wt_things SET score = :s WHERE name = :n"), {"s": score, "n": name})
        return name

    return unit


def _scores(engine) -> dict[str, float]:
    with engine.connect() as conn:
        return dict(conn.execute(select(things.c.name, things.c.score)).all())


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_batch_unit_that_waits_for_a_row_lock_runs_alone_after_the_batch(engine):
    """A batch does not wait while holding its rows: the unit whose row another transaction holds is undone,
    the rest of the batch commits, and that unit then runs alone, waiting as long as it must."""
    for name in ("free", "held"):
        writer.run_unit(engine, _add(name))
    runs: list[str] = []
    with engine.connect() as other:
        other.execute(text("UPDATE wt_things SET score = -1 WHERE name = 'held'"))  # holds the row, uncommitted
        with ThreadPoolExecutor(1) as pool:
            batch = pool.submit(writer.run_units, engine, [_set_score("free", 1, runs), _set_score("held", 2, runs)])
            # the batch committed its first unit while the second is still waiting for the row
            wait_until(lambda: _scores(engine)["free"] == 1)
            assert not batch.done()
            other.commit()
            assert batch.result(GUARD_S) == [(True, "free"), (True, "held")]
    assert _scores(engine) == {"free": 1, "held": 2}
    assert runs == ["free", "held", "held"]  # the second unit was run again, alone


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_batches_taking_rows_in_opposite_orders_do_not_deadlock(engine):
    """Batch one leases r1 then wants r2; batch two holds r2 then wants r1 (two server processes' batches).
    Neither waits on the other for long: the waiting unit runs alone after its batch commits; every unit
    succeeds and PostgreSQL never has to break a deadlock."""
    for name in ("r1", "r2"):
        writer.run_unit(engine, _add(name))
    both_hold_one = threading.Barrier(2)
    holds: list[str] = []

    def hold_then(name: str):
        def unit(conn):
            holds.append(name)
            _set_score(name, 1)(conn)
            if holds.count(name) == 1:  # the first run: wait until the other batch holds its row too
                both_hold_one.wait(GUARD_S)
            return name

        return unit

    runs: list[str] = []
    with ThreadPoolExecutor(2) as pool:
        one = pool.submit(writer.run_units, engine, [hold_then("r1"), _set_score("r2", 2, runs)])
        two = pool.submit(writer.run_units, engine, [hold_then("r2"), _set_score("r1", 3, runs)])
        outcomes = one.result(GUARD_S) + two.result(GUARD_S)
    assert outcomes == [(True, "r1"), (True, "r2"), (True, "r2"), (True, "r1")]
    assert sorted(holds) == ["r1", "r2"]  # no batch was undone whole (as a deadlock would)
    assert len(runs) >= 3  # at least one of the crossing units was undone and run alone
    assert _scores(engine) == {"r1": 3, "r2": 2}  # each batch's later unit ran after the other's hold
