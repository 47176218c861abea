"""Shared fixtures: a fresh database per test (SQLite always, PostgreSQL when LABELLOOP_TEST_DATABASE_URL is set),
an injectable clock, an in-process API client and helpers to build jobs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from labelloop.db.engine import make_engine
from labelloop.db.migrate import current_revision, upgrade
from labelloop.services.context import build_context
from labelloop.services.users import add_members, check_password, create_team, create_user, issue_token
from labelloop.settings import Settings
from labelloop.web.app import create_app

PG_URL = os.environ.get("LABELLOOP_TEST_DATABASE_URL")
REQUIRE_ALL = os.environ.get("LABELLOOP_REQUIRE_ALL_PARTS") == "1"


def skip_unless_required(reason: str) -> None:
    """Skip on a user's machine; fail in CI, where every real part must be there."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (LABELLOOP_REQUIRE_ALL_PARTS=1)")
    pytest.skip(reason)
ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class Clock:
    """A clock tests move by hand: no sleeps."""

    def __init__(self, start: datetime = datetime(2026, 1, 5, 9, 0, 0)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _pg_schema_url(base: str, schema: str) -> str:
    base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated once per session by the real migrations: each test gets a copy (running the
    migrations for every test cost a quarter of a second each)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_schema_ddl() -> tuple[str, str]:
    """The schema the real migrations make on PostgreSQL, migrated once per session into a template schema
    and dumped by ``pg_dump --schema-only``: (DDL with the template's name, the revision). Each test's
    schema is made from it with the name replaced."""
    assert PG_URL
    template = f"tmpl_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{template}"'))
    try:
        engine = make_engine(_pg_schema_url(PG_URL, template))
        upgrade(engine)
        revision = current_revision(engine)
        engine.dispose()
        ddl = subprocess.run(["pg_dump", "--schema-only", "--no-owner", "--no-privileges", "-n", template, PG_URL],
                             check=True, capture_output=True, text=True).stdout
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{template}" CASCADE'))
        admin.dispose()
    ddl = "\n".join(x for x in ddl.splitlines() if not x.startswith("\\"))  # psql meta-commands (\restrict)
    assert revision
    return ddl.replace(template, "{schema}"), revision


@pytest.fixture(params=ENGINES)
def database_url(request, tmp_path):
    """A URL of an empty, migrated database of each engine; PostgreSQL gets a throwaway schema."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    if not PG_URL:
        skip_unless_required("set LABELLOOP_TEST_DATABASE_URL to run PostgreSQL tests")
    ddl, revision = request.getfixturevalue("_pg_schema_ddl")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(ddl.replace("{schema}", schema))
        conn.exec_driver_sql(f'INSERT INTO "{schema}".alembic_version (version_num) VALUES (\'{revision}\')')
    try:
        yield _pg_schema_url(PG_URL, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch):
    """Real argon2, with small cost parameters so the suite stays fast."""
    from argon2 import PasswordHasher

    from labelloop.services import users

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(users, "_DUMMY_HASH", users._hasher.hash("not-a-password"))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def ctx(database_url, tmp_path, clock):
    # The tests write manifests, labels and output under tmp_path, beside the data folder: the storage access
    # policy allows tmp_path as an admin's LABELLOOP_STORAGE_ALLOW would (tests of the policy build their own).
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data", run_background=False,
                        output_interval_s=0, consolidation_interval_s=0, storage_allow=[str(tmp_path)])
    context = build_context(settings, clock=clock)  # database_url is migrated already
    yield context
    context.close()
    context.engine.dispose()


@pytest.fixture
def app(ctx):
    return create_app(ctx=ctx)


@pytest.fixture
def people(ctx):
    """An admin, a requester, four workers on team 'crew' and an outsider on team 'others'."""
    create_user(ctx, "admin", "admin-password", "admin")
    create_user(ctx, "req", "req-password", "requester")
    admin = check_password(ctx, "admin", "admin-password")
    create_team(ctx, admin, "crew")
    create_team(ctx, admin, "others")
    for name in ["w1", "w2", "w3", "w4"]:
        create_user(ctx, name, "worker-password", "worker")
    create_user(ctx, "outsider", "worker-password", "worker")
    add_members(ctx, admin, "crew", ["w1", "w2", "w3", "w4"])
    add_members(ctx, admin, "others", ["outsider"])
    return {n: check_password(ctx, n, p) for n, p in [
        ("admin", "admin-password"), ("req", "req-password"), ("w1", "worker-password"), ("w2", "worker-password"),
        ("w3", "worker-password"), ("w4", "worker-password"), ("outsider", "worker-password")]}


@pytest.fixture
def api(app, ctx, people):
    """``api(username)`` is a TestClient signed in as that user with a bearer token."""
    clients = []

    def make(username: str) -> TestClient:
        client = TestClient(app, headers={"Authorization": f"Bearer {issue_token(ctx, people[username])}"})
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


def write_manifest(path: Path, lines: list[dict | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def write_labels(path: Path, labels: list[str]) -> Path:
    path.write_text(json.dumps({"document-version": "2018-11-28", "labels": [{"label": x} for x in labels]}))
    return path


@pytest.fixture
def text_job_spec(tmp_path):
    """A JobSpec payload for a 6-object text classification job with 3 workers per object."""

    def make(name: str = "reviews", n: int = 6, **overrides) -> dict:
        manifest = write_manifest(tmp_path / f"{name}.manifest",
                                  [{"source": f"review number {i}", "review-id": f"r{i}"} for i in range(n)])
        labels = write_labels(tmp_path / f"{name}-labels.json", ["positive", "negative"])
        spec = {"name": name, "task_type": "text-classification", "label_attribute_name": "sentiment",
                "input_manifest_uri": str(manifest), "label_config_uri": str(labels),
                "output_uri": str(tmp_path / "out"), "team": "crew", "workers_per_object": 3,
                "task_time_limit_s": 60, "task_availability_lifetime_s": 3600}
        spec.update(overrides)
        return spec

    return make


@pytest.fixture
def allow_storage(ctx, people):
    """``allow_storage(entry)``: the admin allows a path, s3:// prefix, http(s) host or network, as
    ``labelloop storage allow`` does (kept in the database)."""
    from labelloop.services.storage_policy import allow

    return lambda entry: allow(ctx, people["admin"], entry)
