"""Many workers taking the same gold objects at once, as real parallel HTTP requests against a real server
(uvicorn in this process, sharing the test's database; ``tests/test_races.py``'s ``server``), on both engines.

A gold object has no slots (any number of workers may hold it at once), so its leases take no row lock: the
guarantees rest on the unique (object, worker) task and on the standing counts. Every worker sends a
``next-task`` request at the same moment (in the second test, two each), round after round; afterwards: no
worker got a gold object twice,
each got each of them once and in the job's order, no ordinary object had more workers than it wants, the
counters match the tasks, and every gold answer was scored once.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from labelloop.db.models import DataObject, Event, Job, JobWorker, Task, User
from labelloop.services.users import add_members, create_user, issue_token
from tests.conftest import write_manifest
from tests.test_races import server  # noqa: F401 - the fixture
from tests.waiting import GUARD_S

WORKERS = 10
N_OBJECTS, PER_OBJECT = 4, 3
GOLD = ("positive", "negative")
POS = {"crowd-classifier": {"label": "positive"}}


@pytest.fixture
def crowd(ctx, people, server):  # noqa: F811 - the imported fixture
    """``WORKERS`` more workers on team 'crew', each with an HTTP client; the requester's client first."""
    names = [f"g{i}" for i in range(WORKERS)]
    users = {name: create_user(ctx, name, "worker-password", "worker") for name in names}
    add_members(ctx, people["admin"], "crew", names)
    clients = {n: httpx.Client(base_url=server, timeout=GUARD_S,
                               headers={"Authorization": f"Bearer {issue_token(ctx, p)}"})
               for n, p in [("req", people["req"]), *users.items()]}
    yield clients
    for c in clients.values():
        c.close()


def _all_at_once(calls):
    """Run the callables at the same moment (a barrier), each on its own thread; their results in order."""
    barrier = threading.Barrier(len(calls))

    def go(call):
        barrier.wait(GUARD_S)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(go, c) for c in calls]
        return [f.result(GUARD_S) for f in futures]


def _take_at_once(clients, names, job, per_worker=1):
    """Every worker asks for their next task ``per_worker`` times at the same moment: {worker: task or None}."""
    calls = [lambda c=clients[n]: c.post(f"/api/v1/worker/jobs/{job}/next-task") for n in names
             for _ in range(per_worker)]
    results = _all_at_once(calls)
    got: dict[str, dict | None] = {}
    for w, n in enumerate(names):
        mine = results[w * per_worker:(w + 1) * per_worker]
        assert {r.status_code for r in mine} <= {200, 204}, [r.text for r in mine]
        tasks = {r.json()["task_id"]: r.json() for r in mine if r.status_code == 200}
        assert len(tasks) <= 1, f"{n} got two tasks at once: {sorted(tasks)}"  # the held lease, given back
        got[n] = next(iter(tasks.values()), None)
    return got


def _submit_all_at_once(clients, tasks, answer_for):
    calls = [lambda c=clients[n], t=t: c.post(f"/api/v1/worker/tasks/{t['task_id']}/submit",
                                              json={"answer": answer_for(t)}) for n, t in tasks.items()]
    assert all(r.status_code == 200 for r in (_all_at_once(calls) if calls else []))


def _gold_job(crowd, tmp_path, text_job_spec):
    gold = write_manifest(tmp_path / "gold.manifest", [{"source": f"known review {i}", "labelloop-gold": g}
                                                       for i, g in enumerate(GOLD)])
    spec = text_job_spec(n=N_OBJECTS, workers_per_object=PER_OBJECT, gold_manifest_uri=str(gold), gold_rate=0.5,
                         qualification_tasks=1, qualification_min_accuracy=0.0)
    r = crowd["req"].post("/api/v1/jobs", json=spec)
    assert r.status_code == 201, r.text
    return [n for n in crowd if n != "req"], {N_OBJECTS + g for g in range(len(GOLD))}


def _play(ctx, crowd, names, gold_positions, per_worker):
    # gold at half of each worker's turns from the first (the qualification test): gold, ordinary, gold, then
    # the ordinary slots left (12 - 10), then nothing: (gold?, tasks handed out) per round
    for expect_gold, handed_out in ((True, WORKERS), (False, WORKERS), (True, WORKERS),
                                    (False, N_OBJECTS * PER_OBJECT - WORKERS), (False, 0)):
        got = _take_at_once(crowd, names, "reviews", per_worker)
        tasks = {n: t for n, t in got.items() if t}
        assert len(tasks) == handed_out  # gold: every worker gets one at once, it has no slots to run out of
        assert all((t["dataset_object_id"] in gold_positions) == expect_gold for t in tasks.values())
        _submit_all_at_once(crowd, tasks, lambda t: POS)
    _check_gold_invariants(ctx, names, gold_positions)


def test_workers_taking_the_same_gold_objects_at_once_get_each_once(ctx, crowd, tmp_path, text_job_spec):
    names, gold_positions = _gold_job(crowd, tmp_path, text_job_spec)
    _play(ctx, crowd, names, gold_positions, per_worker=1)


def test_a_worker_asking_twice_at_once_holds_one_task(ctx, crowd, tmp_path, text_job_spec):
    """Each worker sends two ``next-task`` requests at the same moment: both must give back the one lease.

    On PostgreSQL two concurrent claims by one worker could both find no held lease (READ COMMITTED) and lease
    two different objects (seen: 'g0 got two tasks at once: [15, 22]'); a claim now takes a lock per worker and
    job first (``services/tasks.py``, ``_claim``)."""
    names, gold_positions = _gold_job(crowd, tmp_path, text_job_spec)
    _play(ctx, crowd, names, gold_positions, per_worker=2)


def _check_gold_invariants(ctx, names, gold_positions):
    with ctx.engine.connect() as conn:
        (job_id,) = conn.execute(select(Job.id).where(Job.name == "reviews")).one()
        ids = dict(conn.execute(select(User.username, User.id).where(User.username.in_(names))).all())
        objects = {o.id: o for o in conn.execute(select(DataObject.__table__).where(DataObject.job_id == job_id))}
        tasks = conn.execute(select(Task.__table__).where(Task.job_id == job_id)).all()
        pairs = Counter((t.object_id, t.worker_id) for t in tasks)
        assert max(pairs.values()) == 1  # no worker had any object twice, gold or not
        gold = {o.id for o in objects.values() if o.is_gold}
        assert {objects[i].position for i in gold} == gold_positions
        for name in names:  # each worker: every gold object once, in the job's order (the first one first)
            theirs = sorted((t.id, objects[t.object_id].position) for t in tasks
                            if t.worker_id == ids[name] and t.object_id in gold)
            assert [p for _, p in theirs] == sorted(gold_positions), name
        for obj in objects.values():
            by = Counter(t.status for t in tasks if t.object_id == obj.id)
            assert obj.answer_count == by["submitted"], obj.position
            if obj.is_gold:  # no slots: the counter stays 0 however many workers hold it
                assert obj.active_count == 0 and by["submitted"] == len(names)
            else:  # never more workers than it wants
                assert obj.active_count == by["leased"] + by["submitted"] <= PER_OBJECT, obj.position
        assert sum(not objects[t.object_id].is_gold for t in tasks) == N_OBJECTS * PER_OBJECT  # every slot filled
        standing = dict(conn.execute(select(JobWorker.worker_id, JobWorker.gold_answers)
                                     .where(JobWorker.job_id == job_id)).all())
        assert all(standing[ids[n]] == len(gold_positions) for n in names)  # each gold answer scored once
        submitted = conn.execute(select(func.count()).select_from(Event).where(
            Event.job_id == job_id, Event.kind == "answer.submitted")).scalar()
        assert submitted == sum(t.status == "submitted" for t in tasks)
