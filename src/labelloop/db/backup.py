"""Backups (docs/deployment.md): SQLite's online backup, safe while servers write; PostgreSQL through ``pg_dump``."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    pass


def backup(database_url: str, target: Path) -> str:
    """Write a consistent copy of the database to ``target``; returns what was done, for the CLI."""
    if database_url.startswith("sqlite"):
        return sqlite_backup(database_url, target)
    if database_url.startswith("postgresql"):
        return postgres_dump(database_url, target)
    raise BackupError(f"no backup for this kind of database: {make_url(database_url).drivername}")


def sqlite_backup(database_url: str, target: Path) -> str:
    """SQLite's online backup API, in one step: it copies one read snapshot, so it is consistent while other
    processes write (in WAL mode, readers never block the writer nor wait for it). The copy is written beside
    ``target`` and renamed into place, so a crash never leaves half a backup under that name."""
    source = make_url(database_url).database
    if not source or source == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    if not Path(source).exists():
        raise BackupError(f"no database at {source}")
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} exists: choose a new file")
    partial = target.with_name(target.name + ".partial")
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # pages=-1: all of it from one snapshot
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(partial, target)
    return f"backed up {source} to {target}"


def libpq_url(database_url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq (psql, pg_dump) takes it."""
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_dump(database_url: str, target: Path) -> str:
    """``pg_dump -Fc`` (custom format, restored with ``pg_restore``), from a consistent snapshot of a live database."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("labelloop db backup copies SQLite databases itself; for PostgreSQL it runs pg_dump, "
                          "which is not installed: run `pg_dump -Fc --file BACKUP DATABASE` (docs/deployment.md)")
    done = subprocess.run([pg_dump, "-Fc", "--file", str(target), "--dbname", libpq_url(database_url)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    return f"pg_dump -Fc wrote {target} (restore with pg_restore, docs/deployment.md)"
