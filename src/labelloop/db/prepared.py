"""Statements of the hot path, compiled once per dialect and run straight on the driver's cursor.

SQLAlchemy Core spends 20-30 microseconds of Python on each ``Connection.execute`` (cache lookup, execution
context, events, result set-up), more than SQLite needs to run a small indexed statement. A worker's
submit-and-next runs about ten of them, so for those few statements :class:`Prepared` does the work once:
the SQL is compiled from the same SQLAlchemy expression for the connection's dialect, the bind and result
type conversions are taken from the column types (SQLite's text timestamps, booleans), and each call only
converts values and runs the driver. The SQL stays written once, as a SQLAlchemy expression, for both
engines. Driver errors are raised as SQLAlchemy's (``IntegrityError`` and the rest), like ``execute`` does.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql import ClauseElement


class _Compiled:
    __slots__ = ("binds", "columns", "defaults", "dialect", "order", "results", "row", "sql")

    def __init__(self, stmt: ClauseElement, dialect):
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        self.order = tuple(compiled.positiontup) if compiled.positiontup is not None else None
        self.defaults = compiled.construct_params(_check=False)  # literal values written into the expression
        self.binds: dict[str, Callable | None] = {
            name: b.type.dialect_impl(dialect).bind_processor(dialect) for name, b in compiled.binds.items()}
        self.dialect = dialect
        self.columns = list(stmt.exported_columns)  # a SELECT's columns, or what an INSERT/UPDATE returns
        self.results: tuple | None = None  # from the first result's column type codes, as SQLAlchemy does
        self.row = namedtuple("Row", [c.key for c in self.columns], rename=True) if self.columns else None

    def result_processors(self, description) -> tuple:
        if self.results is None:
            d = self.dialect
            self.results = tuple(c.type.dialect_impl(d).result_processor(d, desc[1])
                                 for c, desc in zip(self.columns, description))
        return self.results

    def params(self, given: Mapping[str, Any]):
        values = {**self.defaults, **given}
        for name, proc in self.binds.items():
            if proc is not None and values.get(name) is not None:
                values[name] = proc(values[name])
        return values if self.order is None else tuple(values[n] for n in self.order)


class Prepared:
    """One statement, ready for any dialect. ``rows``/``first`` for statements that return rows (SELECT,
    ``RETURNING``), ``run`` for the others (it returns the row count)."""

    def __init__(self, stmt: ClauseElement):
        self.stmt = stmt
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, conn: Connection) -> _Compiled:
        c = self._by_dialect.get(conn.dialect.name)
        if c is None:
            c = self._by_dialect[conn.dialect.name] = _Compiled(self.stmt, conn.dialect)
        return c

    def _execute(self, conn: Connection, params: Mapping[str, Any]):
        c = self._compiled(conn)
        return c, _cursor_execute(conn, c.sql, c.params(params))

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list:
        c, cursor = self._execute(conn, params)
        try:
            raw = cursor.fetchall()
            procs, row = c.result_processors(cursor.description), c.row
        finally:
            cursor.close()
        if not any(procs):
            return [row._make(r) for r in raw]
        return [row._make([v if p is None or v is None else p(v) for p, v in zip(procs, r)]) for r in raw]

    def first(self, conn: Connection, params: Mapping[str, Any]):
        rows = self.rows(conn, params)
        return rows[0] if rows else None

    def run(self, conn: Connection, params: Mapping[str, Any]) -> int:
        _c, cursor = self._execute(conn, params)
        n = cursor.rowcount
        cursor.close()
        return n


def driver_sql(conn: Connection, *sql: str) -> None:
    """Run statements without parameters or results (``SAVEPOINT x``) on the driver's cursor: on PostgreSQL
    in one round trip (the simple query protocol, never prepared), on SQLite one after the other."""
    if conn.dialect.name == "postgresql":
        _cursor_execute(conn, "; ".join(sql), None, prepare=False).close()
        return
    for one in sql:
        _cursor_execute(conn, one, None).close()


def _cursor_execute(conn: Connection, sql: str, args, *, prepare: bool | None = None):
    """A driver cursor that has run ``sql``; a driver error is raised as SQLAlchemy's, the cursor closed.
    ``prepare=False``: psycopg must not prepare it (several statements in one string)."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        if prepare is not None:
            cursor.execute(sql, prepare=prepare)
        elif args is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, args)
    except conn.dialect.loaded_dbapi.Error as exc:
        cursor.close()
        raise DBAPIError.instance(sql, args, exc, conn.dialect.loaded_dbapi.Error) from exc
    return cursor


def run_unless_duplicate(conn: Connection, stmt: Prepared, params: Mapping[str, Any]) -> bool:
    """Run an INSERT in a savepoint of its own: False (and nothing changed) when it breaks a unique or primary
    key constraint (a concurrent transaction inserted the row first), True when it inserted. The same code
    path on SQLite and PostgreSQL, inside a writer batch's savepoint or a plain transaction."""
    driver_sql(conn, "SAVEPOINT labelloop_insert")
    try:
        stmt.run(conn, params)
    except IntegrityError:
        driver_sql(conn, "ROLLBACK TO SAVEPOINT labelloop_insert")
        driver_sql(conn, "RELEASE SAVEPOINT labelloop_insert")
        return False
    driver_sql(conn, "RELEASE SAVEPOINT labelloop_insert")
    return True
