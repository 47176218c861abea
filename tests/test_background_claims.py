"""Background claims on a job: one owner at a time, renewed while it works, free again when it stops renewing."""

from __future__ import annotations

from sqlalchemy import select

from labelloop.db.models import Job
from labelloop.services.background.runner import CLAIM_S, Claim


def _until(ctx, job_id):
    with ctx.engine.connect() as conn:
        return conn.execute(select(Job.background_until).where(Job.id == job_id)).scalar()


def test_one_owner_at_a_time_and_a_dead_owner_is_replaced(ctx, clock, api, text_job_spec):
    assert api("req").post("/api/v1/jobs", json=text_job_spec()).status_code == 201
    with ctx.engine.connect() as conn:
        job_id = conn.execute(select(Job.id)).scalar()
    a, b = Claim(ctx, job_id, "a"), Claim(ctx, job_id, "b")
    assert a.take() and not b.take()
    first = _until(ctx, job_id)
    clock.advance(CLAIM_S / 3 - 1)
    a.renew()  # too soon: nothing written
    assert _until(ctx, job_id) == first
    clock.advance(2)
    a.renew()  # a third of the claim has passed: extended
    assert _until(ctx, job_id) > first
    clock.advance(CLAIM_S - 1)
    assert not b.take()  # still held thanks to the renewal
    clock.advance(2)
    assert b.take()  # a stopped renewing (it died): b takes over
    a.release()  # a's release does not free b's claim
    assert not a.take()
    b.release()
    assert a.take()


def _ready_and_labeled(ctx, job_id):
    from labelloop.db.models import DataObject

    with ctx.engine.connect() as conn:
        statuses = conn.execute(select(DataObject.status).where(DataObject.job_id == job_id)).scalars().all()
    return statuses.count("ready"), statuses.count("labeled")


def test_a_job_left_by_a_killed_background_process_is_taken_over_within_the_claim(ctx, clock, api, people,
                                                                                 text_job_spec):
    """A background process killed mid-work never releases its claim: another process works on the job as soon
    as the claim has run out (``CLAIM_S``), not before."""
    from labelloop.services import tasks
    from labelloop.services.background import run_background_once

    assert api("req").post("/api/v1/jobs", json=text_job_spec(n=3, workers_per_object=1)).status_code == 201
    with ctx.engine.connect() as conn:
        job_id = conn.execute(select(Job.id)).scalar()
    run_background_once(ctx, owner="dead")  # starts the job
    while (task := ctx.write(tasks.claim_next_task(ctx, people["w1"], "reviews"))) is not None:
        ctx.write(tasks.submit_annotation(ctx, people["w1"], task.task_id, {"label": "positive"}))
    assert _ready_and_labeled(ctx, job_id) == (3, 0)
    assert Claim(ctx, job_id, "dead").take()  # ... and the process that holds it is killed
    clock.advance(CLAIM_S - 1)
    run_background_once(ctx, owner="other")
    assert _ready_and_labeled(ctx, job_id) == (3, 0)  # still claimed: left alone
    clock.advance(2)
    run_background_once(ctx, owner="other")
    assert _ready_and_labeled(ctx, job_id) == (0, 3)  # the claim ran out: consolidated by the other process
