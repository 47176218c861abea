"""What the CLI prints: tables never cut when piped, the newest events and --follow, what `db upgrade` did, the
password asked twice, the demo's absolute manifest paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labelloop.cli import main
from labelloop.cli.main import app
from labelloop.services.jobs import JobSpec, create_job
from labelloop.services.users import create_user
from tests.conftest import write_labels, write_manifest

runner = CliRunner()


def _db(ctx) -> list[str]:
    return ["--database-url", ctx.settings.database_url]


def test_a_long_job_name_is_printed_whole(ctx, people, tmp_path):
    name = "a-long-job-name-that-goes-on-and-on-past-the-columns-of-a-tty"  # 62 of the 63 allowed
    manifest = write_manifest(tmp_path / "m.manifest", [{"source": "x"}])
    create_job(ctx, people["req"], JobSpec(
        name=name, task_type="text-classification", label_attribute_name="l", input_manifest_uri=str(manifest),
        label_config_uri=str(write_labels(tmp_path / "l.json", ["a", "b"])), output_uri=str(tmp_path / "o"),
        team="crew"))
    result = runner.invoke(app, ["jobs", "list", *_db(ctx)])
    assert result.exit_code == 0, result.output
    assert name in result.output
    assert "0 labeled (0 human, 0 machine), 0 failed, 1 unlabeled" in result.output


def _make_events(ctx, n: int) -> None:
    for i in range(n):
        create_user(ctx, f"u{i:03d}", "worker-password", "worker")


def _event_users(output: str) -> list[str]:
    return [json.loads(x)["detail"].get("username") or json.loads(x)["actor"] for x in output.splitlines()]


def test_events_shows_the_newest_oldest_first(ctx, people):
    _make_events(ctx, 30)
    result = runner.invoke(app, ["events", "--kind", "user.created", "--limit", "5", "--json", *_db(ctx)])
    assert result.exit_code == 0, result.output
    ids = [json.loads(x)["id"] for x in result.output.splitlines()]
    assert len(ids) == 5 and ids == sorted(ids)
    everything = runner.invoke(app, ["events", "--kind", "user.created", "--limit", "1000", "--json", *_db(ctx)])
    assert ids == [json.loads(x)["id"] for x in everything.output.splitlines()][-5:]


def test_events_follow_prints_new_events_as_they_come(ctx, people, monkeypatch):
    import time

    _make_events(ctx, 3)
    polls: list[float] = []

    def sleep(s: float) -> None:  # each poll: a new event appears meanwhile
        polls.append(s)
        create_user(ctx, f"late{len(polls)}", "worker-password", "worker")

    monkeypatch.setattr(time, "sleep", sleep)
    result = runner.invoke(app, ["events", "--kind", "user.created", "--limit", "2", "--json", "--follow",
                                 "--max-events", "4", "--interval-s", "0.5", *_db(ctx)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in result.output.splitlines()]
    assert len(rows) == 4 and [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert polls == [0.5, 0.5]
    assert [r["detail"].get("username") for r in rows][-2:] == ["late1", "late2"]


def test_db_upgrade_says_what_it_did(tmp_path):
    db = ["--database-url", f"sqlite:///{tmp_path / 'new.db'}"]
    first = runner.invoke(app, ["db", "upgrade", *db])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("created the database schema (revision ")
    revision = first.output.split("revision ")[1].split(")")[0]
    again = runner.invoke(app, ["db", "upgrade", *db])
    assert again.output.strip() == f"the database schema is already up to date (revision {revision})"


def test_db_upgrade_from_an_older_revision_names_both(tmp_path):
    from alembic.script import ScriptDirectory

    from labelloop.db.migrate import alembic_config, upgrade
    from labelloop.services.context import build_context
    from labelloop.settings import Settings

    revisions = [r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()]
    if len(revisions) < 2:
        pytest.skip("only one revision")
    url = f"sqlite:///{tmp_path / 'old.db'}"
    ctx = build_context(Settings(database_url=url))
    upgrade(ctx.engine, revisions[1])
    ctx.engine.dispose()
    result = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.output.strip() == f"upgraded the database schema from revision {revisions[1]} to {revisions[0]}"


def test_the_password_prompt_asks_twice(ctx, monkeypatch):
    monkeypatch.delenv("LABELLOOP_PASSWORD", raising=False)
    mismatch = runner.invoke(app, ["users", "create", "boss", "--role", "admin", *_db(ctx)],
                             input="one-password\nanother-one\n")
    assert mismatch.exit_code != 0 and "do not match" in mismatch.output.lower()
    ok = runner.invoke(app, ["users", "create", "boss", "--role", "admin", *_db(ctx)],
                       input="one-password\nanother-one\none-password\none-password\n")
    assert ok.exit_code == 0, ok.output
    assert "created admin 'boss'" in ok.output


def test_the_demo_stores_absolute_manifest_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo", "--no-serve", "--data-dir", "relative-demo"])
    assert result.exit_code == 0, result.output
    db = ["--database-url", f"sqlite:///{tmp_path / 'relative-demo' / 'labelloop.db'}"]
    for job in ("digits", "reviews"):
        described = json.loads(runner.invoke(app, ["jobs", "describe", job, *db]).output)
        assert Path(described["input_manifest_uri"]).is_absolute(), described["input_manifest_uri"]
        assert Path(described["output_uri"]).is_absolute()


def test_the_console_is_wide_when_not_a_terminal():
    assert main.out.width >= 200
