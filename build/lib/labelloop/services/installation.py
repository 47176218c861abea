"""Facts of the installation that every process and machine shares, kept in the ``installation`` table.

The secret key: ``LABELLOOP_SECRET_KEY`` when it is set; otherwise a random key that the first process to
ask makes and stores. Two processes starting at once both try an insert that does nothing when the row is
already there, then both read the row, so they agree on one key whichever insert won.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from labelloop.db.models import Installation
from labelloop.services.context import Context

SECRET_KEY = "secret_key"


def _insert_if_absent(conn: Connection, key: str, value: str) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(pg_insert(Installation).values(key=key, value=value).on_conflict_do_nothing(index_elements=["key"]))
    elif dialect == "sqlite":
        conn.execute(sqlite_insert(Installation).values(key=key, value=value)
                     .on_conflict_do_nothing(index_elements=["key"]))
    else:  # pragma: no cover - only the two engines are supported
        raise RuntimeError(f"unsupported database {dialect}")


def shared_value(ctx: Context, key: str, make: str) -> str:
    """The installation's value for ``key``, storing ``make`` first if there is none yet (race-free)."""
    with ctx.engine.connect() as conn:
        found = conn.execute(select(Installation.value).where(Installation.key == key)).scalar_one_or_none()
    if found is not None:
        return found

    def unit(conn: Connection) -> str:
        _insert_if_absent(conn, key, make)
        return conn.execute(select(Installation.value).where(Installation.key == key)).scalar_one()

    return ctx.write(unit)


def secret_key(ctx: Context) -> str:
    """The key that signs CSRF tokens and data links: the setting, or the installation's stored random key."""
    if ctx.settings.secret_key is not None:
        return ctx.settings.secret_key
    return shared_value(ctx, SECRET_KEY, secrets.token_urlsafe(48))
