"""Two actions on one task at the same moment, as real parallel HTTP requests against a real server (uvicorn
in this process, sharing the test's database): exactly one of them wins, the other gets 409, and nothing
acknowledged is lost. Each race runs many times on both engines; the invariants are checked after them.

On PostgreSQL the writer runs units side by side on several connections, so the two requests are two
concurrent transactions at READ COMMITTED: the race the compare-and-set transitions exist for.
"""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from labelloop.core.lifecycle import TaskStatus
from labelloop.db.models import DataObject, Event, Job, Task
from labelloop.services.leases import expire_leases
from labelloop.services.users import issue_token
from labelloop.web.app import create_app
from tests.waiting import GUARD_S, wait_until

POS = {"crowd-classifier": {"label": "positive"}}
TRIALS = 25


@pytest.fixture
def server(ctx):
    """The app under uvicorn on a loopback port, in a thread of this process; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(ctx=ctx), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, message="the test server never started")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(GUARD_S)
        sock.close()


@pytest.fixture
def race(ctx, people, server, text_job_spec):
    """``race(first, second)``: w1 leases a task of a fresh job, then both actions start at once (a barrier);
    returns the task id and both results. Actions are callables ``(client, task_id) -> status code``."""
    clients = {n: httpx.Client(base_url=server, headers={"Authorization": f"Bearer {issue_token(ctx, people[n])}"},
                               timeout=GUARD_S) for n in ("req", "w1")}
    job = {"n": 0}

    def run(first, second):
        job["n"] += 1
        name = f"race-{job['n']}"
        assert clients["req"].post("/api/v1/jobs", json=text_job_spec(name=name, n=1, workers_per_object=1)).status_code == 201
        r = clients["w1"].post(f"/api/v1/worker/jobs/{name}/next-task")
        assert r.status_code == 200, r.text
        task_id = r.json()["task_id"]
        barrier = threading.Barrier(2)

        def go(action):
            barrier.wait(GUARD_S)
            return action(clients, task_id, name)

        with ThreadPoolExecutor(2) as pool:
            a, b = pool.submit(go, first), pool.submit(go, second)
            return task_id, a.result(GUARD_S), b.result(GUARD_S)

    yield run
    for c in clients.values():
        c.close()


def submit(clients, task_id, _job):
    return clients["w1"].post(f"/api/v1/worker/tasks/{task_id}/submit", json={"answer": POS}).status_code


def release(clients, task_id, _job):
    return clients["w1"].post(f"/api/v1/worker/tasks/{task_id}/release").status_code


def stop(clients, _task_id, job):
    return clients["req"].post(f"/api/v1/jobs/{job}/stop").status_code


def _task(ctx, task_id):
    with ctx.engine.connect() as conn:
        task = conn.execute(select(Task.__table__).where(Task.id == task_id)).one()
        obj = conn.execute(select(DataObject.__table__).where(DataObject.id == task.object_id)).one()
        submitted = conn.execute(select(func.count()).select_from(Event).where(
            Event.task_id == task_id, Event.kind == "answer.submitted")).scalar()
    return task, obj, submitted


def _check_invariants(ctx):
    """Over every object: answers counted == answers stored; active == leased + submitted; one event per answer."""
    with ctx.engine.connect() as conn:
        for obj in conn.execute(select(DataObject.__table__)).all():
            by = dict(conn.execute(select(Task.status, func.count()).where(Task.object_id == obj.id)
                                   .group_by(Task.status)).all())
            assert obj.answer_count == by.get("submitted", 0), obj.id
            assert obj.active_count == by.get("leased", 0) + by.get("submitted", 0), obj.id
        events = conn.execute(select(func.count()).select_from(Event).where(Event.kind == "answer.submitted")).scalar()
        stored = conn.execute(select(func.count()).select_from(Task).where(Task.status == "submitted")).scalar()
        assert events == stored


def test_two_submits_of_one_task_one_wins(ctx, race):
    for _ in range(TRIALS):
        task_id, a, b = race(submit, submit)
        assert sorted((a, b)) == [200, 409]
        task, obj, submitted = _task(ctx, task_id)
        assert task.status == TaskStatus.SUBMITTED and obj.answer_count == 1 and submitted == 1
    _check_invariants(ctx)


def test_submit_and_release_at_once_one_wins(ctx, race):
    outcomes = set()
    for _ in range(TRIALS):
        task_id, a, b = race(submit, release)
        assert sorted((a, b)) == [200, 409], (a, b)
        task, obj, submitted = _task(ctx, task_id)
        if a == 200:  # the answer was acknowledged: it is stored and counted
            assert task.status == TaskStatus.SUBMITTED and task.answer and obj.answer_count == 1 and submitted == 1
        else:
            assert task.status == TaskStatus.RELEASED and obj.answer_count == 0 and obj.active_count == 0
        outcomes.add(a)
    _check_invariants(ctx)


def test_stop_racing_a_submit_loses_nothing_acknowledged(ctx, race):
    for _ in range(TRIALS):
        task_id, a, b = race(submit, stop)
        assert b == 200 and a in (200, 409), (a, b)
        task, obj, submitted = _task(ctx, task_id)
        if a == 200:
            assert task.status == TaskStatus.SUBMITTED and obj.answer_count == 1 and submitted == 1
        else:
            assert task.status == TaskStatus.STOPPED and obj.answer_count == 0
    _check_invariants(ctx)


def test_expiry_racing_a_submit_loses_nothing_acknowledged(ctx, race):
    def expire(_clients, task_id, _job):
        with ctx.engine.connect() as conn:
            job_id = conn.execute(select(Task.job_id).where(Task.id == task_id)).scalar()
        ended = ctx.write(lambda conn: expire_leases(conn, job_id, ctx.clock(), all_open=True))
        return 200 if ended else 409

    for _ in range(TRIALS):
        task_id, a, b = race(submit, expire)
        assert sorted((a, b)) == [200, 409], (a, b)
        task, obj, submitted = _task(ctx, task_id)
        if a == 200:
            assert task.status == TaskStatus.SUBMITTED and obj.answer_count == 1 and submitted == 1
        else:
            assert task.status == TaskStatus.EXPIRED and obj.answer_count == 0 and obj.active_count == 0
    _check_invariants(ctx)


def test_one_worker_asking_twice_at_once_holds_one_task(ctx, people, server, text_job_spec):
    """Two ``next-task`` requests of one worker at the same moment give back one lease, the same task."""
    clients = {n: httpx.Client(base_url=server, headers={"Authorization": f"Bearer {issue_token(ctx, people[n])}"},
                               timeout=GUARD_S) for n in ("req", "w1")}
    try:
        for trial in range(TRIALS):
            name = f"twice-{trial}"
            assert clients["req"].post("/api/v1/jobs", json=text_job_spec(name=name, n=2, workers_per_object=1)
                                       ).status_code == 201
            barrier = threading.Barrier(2)

            def ask(name=name, barrier=barrier):
                barrier.wait(GUARD_S)
                return clients["w1"].post(f"/api/v1/worker/jobs/{name}/next-task")

            with ThreadPoolExecutor(2) as pool:
                a, b = (f.result(GUARD_S) for f in [pool.submit(ask), pool.submit(ask)])
            assert (a.status_code, b.status_code) == (200, 200), (a.text, b.text)
            assert a.json()["task_id"] == b.json()["task_id"], "one worker holds one task of a job at a time"
            with ctx.engine.connect() as conn:
                leased = conn.execute(select(func.count()).select_from(Task).join(Job, Job.id == Task.job_id)
                                      .where(Job.name == name, Task.status == "leased")).scalar()
            assert leased == 1
    finally:
        for c in clients.values():
            c.close()
    _check_invariants(ctx)


def test_submit_and_next_racing_a_next_task_of_one_worker_holds_one_task(ctx, people, server, text_job_spec):
    """A submit with ``next`` (one statement on PostgreSQL, without the claim's advisory lock) and a
    ``next-task`` of the same worker at once: the answer is stored and the worker holds one lease."""
    clients = {n: httpx.Client(base_url=server, headers={"Authorization": f"Bearer {issue_token(ctx, people[n])}"},
                               timeout=GUARD_S) for n in ("req", "w1")}
    try:
        for trial in range(TRIALS):
            name = f"next-race-{trial}"
            assert clients["req"].post("/api/v1/jobs", json=text_job_spec(name=name, n=4, workers_per_object=1)
                                       ).status_code == 201
            r = clients["w1"].post(f"/api/v1/worker/jobs/{name}/next-task")
            assert r.status_code == 200, r.text
            task_id = r.json()["task_id"]
            barrier = threading.Barrier(2)

            def go(action, barrier=barrier):
                barrier.wait(GUARD_S)
                return action()

            def submit_next(task_id=task_id):
                return clients["w1"].post(f"/api/v1/worker/tasks/{task_id}/submit", json={"answer": POS, "next": True})

            def ask(name=name):
                return clients["w1"].post(f"/api/v1/worker/jobs/{name}/next-task")

            with ThreadPoolExecutor(2) as pool:
                s, n = (f.result(GUARD_S) for f in [pool.submit(go, submit_next), pool.submit(go, ask)])
            assert (s.status_code, n.status_code) == (200, 200), (s.text, n.text)
            assert s.json()["next_task"] is not None
            with ctx.engine.connect() as conn:
                leased = conn.execute(select(Task.id).join(Job, Job.id == Task.job_id)
                                      .where(Job.name == name, Task.status == "leased")).scalars().all()
            assert leased == [s.json()["next_task"]["task_id"]], "one worker holds one task of a job at a time"
            assert n.json()["task_id"] in (task_id, *leased)
    finally:
        for c in clients.values():
            c.close()
    _check_invariants(ctx)
