"""Sign-in limits shared by every server process (the counters are rows of ``sign_in_failures``).

``begin(ctx, username, address)`` records the attempt under both of its keys (account and address) before
the password is checked, and refuses it (``LimitExceeded``) when either key already has its limit of
attempts within the window. A lock per key makes the count and the insert one step: on PostgreSQL a
transaction-scoped advisory lock, on SQLite the database's write lock (``BEGIN IMMEDIATE``). So 40 parallel
wrong passwords get at most ``per_account`` checked. ``succeeded`` deletes the account's attempts (a good
password resets its counter) and this attempt's address row; a failure leaves them to count.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, func, insert, select, text

from labelloop.core.errors import LimitExceeded
from labelloop.core.ratelimit import SignInLimits, allowed
from labelloop.db.models import SignInFailure

if TYPE_CHECKING:
    from labelloop.services.context import Context

__all__ = ["begin", "limits_of", "succeeded"]


def limits_of(ctx: Context) -> SignInLimits:
    s = ctx.settings
    return SignInLimits(window_s=s.sign_in_window_s, per_account=s.sign_in_failures_per_account,
                        per_address=s.sign_in_failures_per_address)


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


def begin(ctx: Context, username: str, address: str) -> list[int]:
    """Record one attempt; the ids of its rows, or LimitExceeded (nothing recorded) when over a limit."""
    limits = limits_of(ctx)
    now = ctx.clock()
    since = limits.since(now)
    keys = limits.keys(username, address)

    def unit(conn: Connection) -> list[int]:
        if conn.dialect.name == "postgresql":
            for key, _limit in keys:  # in sorted order: two attempts never wait on each other in a cycle
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_id(key)})
        ids = []
        for key, limit in keys:
            conn.execute(delete(SignInFailure).where(SignInFailure.key == key, SignInFailure.at < since))
            ids.append(conn.execute(insert(SignInFailure).values(key=key, at=now)).inserted_primary_key[0])
            count = conn.execute(select(func.count()).select_from(SignInFailure)
                                 .where(SignInFailure.key == key, SignInFailure.at >= since)).scalar_one()
            if not allowed(count, limit):
                raise LimitExceeded("too many failed sign-ins; wait a few minutes", field="username")
        return ids

    return ctx.write(unit)


def succeeded(ctx: Context, username: str, ids: list[int]) -> None:
    limits = limits_of(ctx)
    account = next(k for k, _ in limits.keys(username, "") if k.startswith("user:"))
    ctx.write(lambda conn: conn.execute(delete(SignInFailure).where(
        (SignInFailure.key == account) | SignInFailure.id.in_(ids))))
