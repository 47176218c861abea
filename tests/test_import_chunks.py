"""Section 3 of issue 10: the import writes in short transactions, its job hidden until complete, and a failed
or killed import leaves no job and no objects."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from labelloop.core.lifecycle import JobStatus
from labelloop.db.models import DataObject, Job
from labelloop.services import jobs, tasks
from labelloop.services.background.runner import run_background_once
from tests.conftest import write_labels, write_manifest
from tests.waiting import GUARD_S


def _spec(tmp_path, name: str, n: int) -> jobs.JobSpec:
    manifest = write_manifest(tmp_path / f"{name}.manifest", [{"source": f"text {i}"} for i in range(n)])
    labels = write_labels(tmp_path / f"{name}.json", ["a", "b"])
    return jobs.JobSpec(name=name, task_type="text-classification", label_attribute_name="ab",
                        input_manifest_uri=str(manifest), label_config_uri=str(labels),
                        output_uri=str(tmp_path / "out"), team="crew", workers_per_object=1)


def _counts(ctx) -> tuple[int, int]:
    with ctx.engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(Job)).scalar_one(),
                conn.execute(select(func.count()).select_from(DataObject)).scalar_one())


def test_a_failed_import_leaves_no_job_and_no_objects(ctx, tmp_path, people, monkeypatch):
    real = jobs._import_chunk
    calls = []

    def failing(ctx_, job_id, owner, chunk):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("killed mid-import")
        return real(ctx_, job_id, owner, chunk)

    monkeypatch.setattr(jobs, "_import_chunk", failing)
    with pytest.raises(RuntimeError, match="killed mid-import"):
        jobs.create_job(ctx, people["req"], _spec(tmp_path, "big", 4 * jobs.IMPORT_CHUNK))
    assert _counts(ctx) == (0, 0)


def test_a_killed_import_is_swept_once_its_hold_runs_out(ctx, clock, tmp_path, people, monkeypatch):
    """A process killed mid-import deletes nothing itself: its Initializing job hands out no task, and once
    its hold runs out the background runner deletes it with its objects."""
    real = jobs._import_chunk
    calls = []

    def dies(ctx_, job_id, owner, chunk):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit  # stands in for the process dying: no cleanup runs
        return real(ctx_, job_id, owner, chunk)

    monkeypatch.setattr(jobs, "_import_chunk", dies)
    monkeypatch.setattr(jobs, "_delete_initializing", lambda conn, where: 0)  # a dead process deletes nothing
    with pytest.raises(SystemExit):
        jobs.create_job(ctx, people["req"], _spec(tmp_path, "big", 3 * jobs.IMPORT_CHUNK))
    monkeypatch.undo()
    assert _counts(ctx) == (1, jobs.IMPORT_CHUNK)
    assert jobs.describe_job(ctx, people["req"], "big").status == JobStatus.INITIALIZING
    assert all(j.name != "big" for j in tasks.available_jobs(ctx, people["w1"]))
    assert ctx.write(tasks.claim_next_task(ctx, people["w1"], "big")) is None  # hands out no task
    run_background_once(ctx)
    assert _counts(ctx) == (1, jobs.IMPORT_CHUNK)  # its hold is still live: kept
    clock.advance(jobs.IMPORT_CLAIM_S + 1)
    run_background_once(ctx)
    assert _counts(ctx) == (0, 0)
    jobs.create_job(ctx, people["req"], _spec(tmp_path, "big", 10))  # the name is free again


def test_a_submit_on_another_job_completes_while_a_big_import_runs(ctx, tmp_path, people, monkeypatch):
    jobs.create_job(ctx, people["req"], _spec(tmp_path, "small", 2))
    task = ctx.write(tasks.claim_next_task(ctx, people["w1"], "small"))
    assert task is not None
    real = jobs._import_chunk
    in_import, submitted = threading.Event(), threading.Event()
    calls = []

    def chunk(ctx_, job_id, owner, rows):
        calls.append(1)
        if len(calls) == 2:  # between chunks: let the submit through, then go on
            in_import.set()
            assert submitted.wait(GUARD_S), "the submit never got the write lock during the import"
        return real(ctx_, job_id, owner, rows)

    monkeypatch.setattr(jobs, "_import_chunk", chunk)
    errors: list[BaseException] = []

    def importer() -> None:
        try:
            jobs.create_job(ctx, people["req"], _spec(tmp_path, "big", 50_000))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=importer)
    thread.start()
    assert in_import.wait(GUARD_S)
    ctx.write(tasks.submit_annotation(ctx, people["w1"], task.task_id, {"label": "a"}))
    assert jobs.describe_job(ctx, people["req"], "big").status == JobStatus.INITIALIZING  # import not done
    submitted.set()
    thread.join(GUARD_S)
    assert errors == []
    assert jobs.describe_job(ctx, people["req"], "big").status == JobStatus.IN_PROGRESS
    assert _counts(ctx) == (2, 50_002)
