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
