"""The installation's storage access policy: ``LABELLOOP_STORAGE_ALLOW`` and the data folder (settings), merged
with the admin's entries kept in the database (``labelloop storage allow``), so every process of the
installation applies the same list. Each process re-reads the table at most every ``CACHE_S`` seconds."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from labelloop.core.errors import Forbidden, NotFound, ValidationError
from labelloop.core.storage_policy import Entry, LocalRoot, Policy, build_policy, parse_entry
from labelloop.db.models import StorageAllow
from labelloop.settings import Settings

if TYPE_CHECKING:
    from labelloop.services.context import Context, Principal

CACHE_S = 5.0


@dataclass(frozen=True)
class StorageEntryView:
    entry: str
    source: str  # "data_dir", "settings" or "database"


def _resolved(entry: Entry) -> Entry:
    """Local roots resolved (symlinks followed) as the paths checked against them are."""
    return LocalRoot(os.path.realpath(entry.path)) if isinstance(entry, LocalRoot) else entry


def _settings_entries(settings: Settings) -> list[tuple[Entry, str]]:
    data_dir = os.path.realpath(os.path.abspath(settings.data_dir))
    return [(LocalRoot(data_dir), "data_dir"), *((parse_entry(x), "settings") for x in settings.storage_allow)]


class PolicySource:
    """The current policy of one process: settings plus the database table, cached for ``CACHE_S``."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine = engine
        self.settings = settings
        self._lock = threading.Lock()
        self._policy: Policy | None = None
        self._until = 0.0

    def invalidate(self) -> None:
        self._until = 0.0

    def __call__(self) -> Policy:
        now = time.monotonic()
        if self._policy is not None and now < self._until:
            return self._policy
        with self._lock:
            entries = [e for e, _ in _settings_entries(self.settings)]
            with self.engine.connect() as conn:
                for (text,) in conn.execute(select(StorageAllow.entry).order_by(StorageAllow.id)):
                    try:
                        entries.append(parse_entry(text))
                    except ValueError:
                        continue  # an entry a newer version wrote; never widens the policy
            self._policy = build_policy(_resolved(e) for e in entries)
            self._until = now + CACHE_S
            return self._policy


def _invalidate(ctx: Context) -> None:
    source = getattr(ctx.storage, "_policy", None)
    if isinstance(source, PolicySource):
        source.invalidate()


def _admin_only(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only admins change the storage access policy")


def _normal(text: str) -> str:
    try:
        return str(parse_entry(text))
    except ValueError as exc:
        raise ValidationError(str(exc), field="entry") from None


def allow(ctx: Context, principal: Principal, text: str) -> str:
    """Add an entry (kept in the database); returns it normalised. Allowing it twice is not an error."""
    _admin_only(principal)
    entry = _normal(text)
    now = ctx.clock()

    def unit(conn: Connection) -> None:
        if conn.execute(select(StorageAllow.id).where(StorageAllow.entry == entry)).first() is None:
            conn.execute(insert(StorageAllow).values(entry=entry, created_at=now, created_by=principal.username))

    with contextlib.suppress(IntegrityError):  # allowed at the same moment by another process
        ctx.write(unit)
    _invalidate(ctx)
    return entry


def disallow(ctx: Context, principal: Principal, text: str) -> str:
    """Remove a database entry; settings entries and the data folder stay (change the settings for those)."""
    _admin_only(principal)
    entry = _normal(text)
    def unit(conn: Connection) -> int:
        return int(conn.execute(delete(StorageAllow).where(StorageAllow.entry == entry)).rowcount)

    removed = ctx.write(unit)
    _invalidate(ctx)
    if not removed:
        if any(str(e) == entry for e, _ in _settings_entries(ctx.settings)):
            raise ValidationError(f"{entry} comes from the settings (LABELLOOP_STORAGE_ALLOW or the data folder); "
                                  "change them to remove it", field="entry")
        raise NotFound(f"{entry} is not in the storage access policy", field="entry")
    return entry


def list_entries(ctx: Context) -> list[StorageEntryView]:
    """Every entry of the policy and where it comes from, data folder first."""
    views = [StorageEntryView(str(e), source) for e, source in _settings_entries(ctx.settings)]
    with ctx.engine.connect() as conn:
        views += [StorageEntryView(text, "database")
                  for (text,) in conn.execute(select(StorageAllow.entry).order_by(StorageAllow.id))]
    return views
