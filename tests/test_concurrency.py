"""Many workers at once: an object never gets more than N answers and no worker answers it twice."""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from labelloop import sim
from labelloop.db.models import DataObject, Task
from labelloop.services import jobs, tasks, users
from labelloop.services.context import utc_now
from tests.conftest import write_labels, write_manifest
from tests.servers import free_ports, labelloop_serve
from tests.waiting import wait_until

WORKERS = 32
N = 3


def _setup(ctx, tmp_path, people, n_objects: int, n_workers: int, password: str = "worker-password"):
    names = [f"cw{i}" for i in range(n_workers)]
    for name in names:
        users.create_user(ctx, name, password, "worker")
    users.add_members(ctx, people["admin"], "crew", names)
    manifest = write_manifest(tmp_path / "c.manifest", [{"source": f"text {i}"} for i in range(n_objects)])
    labels = write_labels(tmp_path / "c.json", ["a", "b"])
    jobs.create_job(ctx, people["req"], jobs.JobSpec(
        name="busy", task_type="text-classification", label_attribute_name="ab", input_manifest_uri=str(manifest),
        label_config_uri=str(labels), output_uri=str(tmp_path / "out"), team="crew", workers_per_object=N))
    return names


def _check_invariants(ctx, n_objects: int) -> None:
    with ctx.engine.connect() as conn:
        per_object = conn.execute(
            select(Task.object_id, func.count()).where(Task.status == "submitted").group_by(Task.object_id)).all()
        pairs = conn.execute(select(Task.object_id, Task.worker_id)).all()
        active = conn.execute(select(func.max(DataObject.active_count))).scalar()
    assert len(per_object) == n_objects
    assert Counter(n for _, n in per_object) == {N: n_objects}
    assert len(pairs) == len(set(pairs))
    assert active <= N


def test_32_concurrent_workers_through_the_services(ctx, tmp_path, people):
    n_objects = 60
    names = _setup(ctx, tmp_path, people, n_objects, WORKERS)
    principals = [users.check_password(ctx, n, "worker-password") for n in names]
    errors: list[BaseException] = []
    start = threading.Barrier(WORKERS)

    def worker(p):
        try:
            start.wait()
            while (task := ctx.write(tasks.claim_next_task(ctx, p, "busy"))) is not None:
                ctx.write(tasks.submit_annotation(ctx, p, task.task_id, {"label": "a"}))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(p,)) for p in principals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    _check_invariants(ctx, n_objects)


def _label_through(ctx, people, n_objects: int, names: list[str], urls: list[str]) -> None:
    """Workers (spread over the server URLs) label job 'busy' to the end; then check the invariants and
    wait for the job to complete."""
    stats = sim.Stats()
    tokens = [sim.sign_in(urls[0], n, "worker-password") for n in names]
    threads = [threading.Thread(target=sim.work, args=(urls[i % len(urls)], tok, "busy", sim.Oracle(accuracy=1.0)),
                                kwargs={"stats": stats, "seed": i}) for i, tok in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stats.submitted == n_objects * N
    _check_invariants(ctx, n_objects)
    wait_until(lambda: jobs.describe_job(ctx, people["req"], "busy").status == "Completed",
               message="job 'busy' never completed")


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_server_processes_share_one_postgresql(ctx, clock, tmp_path, people, database_url):
    clock.now = utc_now()  # the servers run on the real clock
    n_objects = 40
    names = _setup(ctx, tmp_path, people, n_objects, WORKERS)
    ports = free_ports(2)
    with (labelloop_serve(database_url, tmp_path, background=True, port=ports[0]) as first,
          labelloop_serve(database_url, tmp_path, background=False, port=ports[1]) as second):
        _label_through(ctx, people, n_objects, names, [first.url, second.url])


def _label_through_serve(ctx, people, tmp_path, database_url: str, n_objects: int, n_workers: int,
                         processes: int = 1) -> None:
    """Label job 'busy' to the end through one ``labelloop serve`` (with its background process); then stop
    it, which it does cleanly (exit status 0)."""
    names = _setup(ctx, tmp_path, people, n_objects, n_workers)
    with labelloop_serve(database_url, tmp_path, workers=processes) as server:
        _label_through(ctx, people, n_objects, names, [server.url])
        assert server.stop() == 0


def test_serve_with_several_processes(ctx, clock, tmp_path, people):
    """``serve --workers 3``: processes on one port, one database (SQLite's writers ordered across processes)."""
    clock.now = utc_now()  # the servers run on the real clock
    _label_through_serve(ctx, people, tmp_path, ctx.settings.database_url, n_objects=30, n_workers=12, processes=3)


def test_32_workers_over_http_through_one_server(ctx, clock, tmp_path, people, database_url):
    """The real path: 32 workers at once through ``labelloop serve``, whose writer thread batches their
    submits and leases into shared transactions; the background process consolidates and completes the job."""
    clock.now = utc_now()  # the server runs on the real clock
    _label_through_serve(ctx, people, tmp_path, database_url, n_objects=40, n_workers=WORKERS)


def _children(pid: int) -> list[int]:
    """The server and background processes under a ``serve`` (not multiprocessing's resource tracker, which
    outlives its parent by a moment)."""
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        pids = [int(x) for x in f.read().split()]
    out = []
    for child in pids:
        with open(f"/proc/{child}/cmdline", "rb") as f:
            if b"resource_tracker" not in f.read():
                out.append(child)
    return out


def _gone(pid: int) -> bool:
    """The process has exited (reaped, or a zombie waiting for its parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def _background_pid(server) -> int | None:
    """The background process under ``serve`` (started last, so the last child), once it is running."""
    children = _children(server.proc.pid)
    return children[1] if len(children) == 2 else None


needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads the process tree from /proc")


@needs_proc
def test_serve_stops_everything_when_a_server_process_dies(ctx, tmp_path):
    with labelloop_serve(ctx.settings.database_url, tmp_path) as server:
        children = _children(server.proc.pid)
        assert len(children) == 2  # the server process and the background process
        os.kill(children[0], 9)
        assert server.wait_exit() == 1
        assert "labelloop-server-0 exited with -9; stopped the others" in server.log_text()
        for child in children:
            assert _gone(child)


@needs_proc
def test_serve_restarts_a_killed_background_process_and_work_resumes(ctx, clock, tmp_path, people):
    """SIGKILL the background process: the API keeps answering, the supervisor starts another one, and the
    job's answers are consolidated to the end."""
    clock.now = utc_now()  # the server runs on the real clock
    n_objects = 12
    names = _setup(ctx, tmp_path, people, n_objects, 6)
    with labelloop_serve(ctx.settings.database_url, tmp_path) as server:
        old = wait_until(lambda: _background_pid(server))
        stop, failures, answered = threading.Event(), [], [0]

        def probe() -> None:  # the API answers all along
            with httpx.Client(base_url=server.url, timeout=30) as client:
                while not stop.is_set():
                    r = client.get("/healthz")
                    if r.status_code != 200:
                        failures.append(r.status_code)
                    answered[0] += 1

        prober = threading.Thread(target=probe)
        prober.start()
        try:
            os.kill(old, 9)
            _label_through(ctx, people, n_objects, names, [server.url])  # ends once the job is completed
            new = wait_until(lambda: _background_pid(server))
        finally:
            stop.set()
            prober.join()
        assert new != old and _gone(old)
        assert failures == [] and answered[0] > 0
        assert server.proc.poll() is None
        assert "the background process exited with -9; starting another in 1 s" in server.log_text()
        assert server.stop() == 0


@needs_proc
def test_children_exit_when_the_supervisor_is_killed(ctx, tmp_path):
    with labelloop_serve(ctx.settings.database_url, tmp_path, workers=2) as server:
        children = wait_until(lambda: (c if len(c := _children(server.proc.pid)) == 3 else None))
        os.kill(server.proc.pid, 9)
        server.proc.wait()
        wait_until(lambda: all(_gone(c) for c in children), message="a child of the killed supervisor still runs")
