"""Backup and restore (docs/deployment.md): SQLite's online backup of a database a server is writing to, and
pg_dump / pg_restore; the restored copy describes a consistent job."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from labelloop import sim
from labelloop.db.models import DataObject, Job, Task
from labelloop.services.context import utc_now
from tests.conftest import PG_URL, _pg_schema_url, skip_unless_required
from tests.servers import labelloop_serve
from tests.test_concurrency import N, _setup
from tests.waiting import GUARD_S, wait_until

N_OBJECTS = 60


def _cli(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LABELLOOP_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "labelloop.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=GUARD_S)


def _check_consistent(url: str) -> dict:
    """``jobs describe`` on the copy, and the invariants: counters add up to the objects, every object's
    answer_count is its submitted tasks and never more than N, no worker answered an object twice."""
    described = _cli("jobs", "describe", "busy", database_url=url)
    assert described.returncode == 0, described.stderr
    job = json.loads(described.stdout)
    c = job["label_counters"]
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            objects = conn.execute(select(DataObject.id, DataObject.status, DataObject.answer_count)
                                   .join(Job, Job.id == DataObject.job_id).where(Job.name == "busy")).all()
            submitted = dict(conn.execute(select(Task.object_id, func.count()).where(Task.status == "submitted")
                                          .group_by(Task.object_id)).all())
            pairs = conn.execute(select(Task.object_id, Task.worker_id)).all()
    finally:
        engine.dispose()
    assert job["object_count"] == len(objects) == N_OBJECTS
    states = Counter(status for _, status, _ in objects)
    assert c["TotalLabeled"] + c["FailedNonRetryableError"] + c["Unlabeled"] == len(objects)
    assert c["TotalLabeled"] == states.get("labeled", 0) + states.get("skipped", 0)
    assert c["HumanLabeled"] + c["MachineLabeled"] == states.get("labeled", 0)
    for object_id, _, answers in objects:
        assert answers == submitted.get(object_id, 0) <= N
    assert len(pairs) == len(set(pairs))
    return job


def _label_and(ctx, people, tmp_path, database_url, during) -> None:
    """Workers label job 'busy' through a server; ``during()`` runs once some answers are in, with submits
    still in flight."""
    names = _setup(ctx, tmp_path, people, N_OBJECTS, 8)
    stats = sim.Stats()
    with labelloop_serve(database_url, tmp_path) as server:
        tokens = [sim.sign_in(server.url, n, "worker-password") for n in names]
        workers = threading.Thread(target=sim.run_workers, args=(server.url, "busy", [], sim.Oracle()),
                                   kwargs={"tokens": tokens, "stats": stats}, daemon=True)
        workers.start()
        wait_until(lambda: stats.submitted >= 20 or not workers.is_alive(), message="no answers came in")
        during()
        workers.join(GUARD_S)
    assert stats.submitted == N_OBJECTS * N


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_online_backup_while_a_server_writes(ctx, clock, tmp_path, people, database_url):
    clock.now = utc_now()
    backup = tmp_path / "backup.db"

    def take_backup() -> None:
        done = _cli("db", "backup", str(backup), database_url=database_url)
        assert done.returncode == 0, done.stderr
        assert "backed up" in done.stdout

    _label_and(ctx, people, tmp_path, database_url, take_backup)
    # restore: the backup is a whole database; copy it into place (a new file here) and use it
    restored = tmp_path / "restored.db"
    shutil.copyfile(backup, restored)
    job = _check_consistent(f"sqlite:///{restored}")
    assert job["status"] in ("InProgress", "Completed")
    # a second backup to an existing file is refused, not overwritten
    again = _cli("db", "backup", str(backup), database_url=database_url)
    assert again.returncode == 2 and "exists" in again.stderr


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_pg_dump_and_restore_into_a_new_database(ctx, clock, tmp_path, people, database_url):
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        skip_unless_required("pg_dump and pg_restore are not installed (postgresql-client)")
    assert PG_URL is not None
    clock.now = utc_now()
    schema = ctx.engine.url.query["options"].split("=", 1)[1]  # the test's throwaway schema
    dump = tmp_path / "labelloop.dump"

    def take_dump() -> None:
        done = subprocess.run(["pg_dump", "-Fc", "--schema", schema, "--file", str(dump), "--dbname", PG_URL],
                              capture_output=True, text=True, timeout=GUARD_S)
        assert done.returncode == 0, done.stderr

    _label_and(ctx, people, tmp_path, database_url, take_dump)
    name = f"restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        target = PG_URL.rsplit("/", 1)[0] + f"/{name}"
        done = subprocess.run(["pg_restore", "--no-owner", "--dbname", target, str(dump)],
                              capture_output=True, text=True, timeout=GUARD_S)
        assert done.returncode == 0, done.stderr
        _check_consistent(_pg_schema_url(target, schema).replace("postgresql+psycopg://", "postgresql://", 1))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_db_backup_refuses_what_it_cannot_copy(tmp_path):
    done = _cli("db", "backup", str(tmp_path / "x.db"), database_url=f"sqlite:///{tmp_path / 'missing.db'}")
    assert done.returncode == 2 and "no database" in done.stderr
    assert not Path(tmp_path / "x.db").exists()
