"""The lifecycle's tables: which transitions exist, and the lease and availability rules at their edges."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from labelloop.core.lifecycle import (
    UNLABELED,
    JobStatus,
    ObjectStatus,
    TaskStatus,
    accepts_work,
    allowed,
    lease_expiry,
    lease_open,
)

T0 = datetime(2026, 1, 5, 9, 0, 0)
J, O, K = JobStatus, ObjectStatus, TaskStatus  # noqa: E741 - O for ObjectStatus, like J and K


@pytest.mark.parametrize("source,target,ok", [
    (J.INITIALIZING, J.IN_PROGRESS, True),
    (J.IN_PROGRESS, J.COMPLETED, True),
    (J.IN_PROGRESS, J.STOPPING, True),
    (J.INITIALIZING, J.STOPPING, True),
    (J.STOPPING, J.STOPPED, True),
    (J.STOPPING, J.COMPLETED, False),
    (J.COMPLETED, J.STOPPING, False),
    (J.STOPPED, J.IN_PROGRESS, False),
    (J.COMPLETED, J.IN_PROGRESS, False),
    (O.PREPROCESSING, O.PENDING, True),
    (O.PREPROCESSING, O.SKIPPED, True),
    (O.PENDING, O.READY, True),
    (O.PENDING, O.FAILED, True),
    (O.READY, O.LABELED, True),
    (O.READY, O.PENDING, True),  # adaptive consensus wants another answer
    (O.LABELED, O.READY, True),  # a blocked worker's answers discarded: consolidated again
    (O.LABELED, O.PENDING, True),  # ... or short of answers again
    (O.LABELED, O.FAILED, False),
    (O.FAILED, O.PENDING, False),
    (O.SKIPPED, O.PENDING, False),
    (K.LEASED, K.SUBMITTED, True),
    (K.LEASED, K.RELEASED, True),
    (K.LEASED, K.EXPIRED, True),
    (K.LEASED, K.STOPPED, True),
    (K.SUBMITTED, K.RELEASED, False),
    (K.RELEASED, K.SUBMITTED, False),
    (K.EXPIRED, K.SUBMITTED, False),
    (K.SUBMITTED, K.SUBMITTED, False),
    (J.IN_PROGRESS, K.SUBMITTED, False),  # different kinds never mix
])
def test_transitions(source, target, ok):
    assert allowed(source, target) is ok


def test_a_task_leaves_leased_once_and_every_other_state_is_final():
    for status in TaskStatus:
        assert any(allowed(status, t) for t in TaskStatus) is (status == K.LEASED)


def test_stop_is_allowed_exactly_from_the_states_that_hand_out_work():
    assert {s for s in JobStatus if s.can_stop} == {J.INITIALIZING, J.IN_PROGRESS}
    assert {s for s in JobStatus if s.is_open} == {J.IN_PROGRESS, J.STOPPING}


def test_unlabeled_objects_are_those_still_to_be_worked_on():
    assert {O.PREPROCESSING, O.PENDING, O.READY} == UNLABELED
    assert all(s.is_unlabeled == (s in UNLABELED) for s in ObjectStatus)


@pytest.mark.parametrize("status,expires,now,is_open", [
    ("leased", T0 + timedelta(seconds=60), T0, True),
    ("leased", T0 + timedelta(seconds=60), T0 + timedelta(seconds=59.999), True),
    ("leased", T0 + timedelta(seconds=60), T0 + timedelta(seconds=60), False),  # the expiry instant is closed
    ("leased", T0 + timedelta(seconds=60), T0 + timedelta(seconds=61), False),
    ("submitted", T0 + timedelta(seconds=60), T0, False),
    ("released", T0 + timedelta(seconds=60), T0, False),
    ("expired", T0 + timedelta(seconds=60), T0, False),
    ("stopped", T0 + timedelta(seconds=60), T0, False),
])
def test_lease_open(status, expires, now, is_open):
    assert lease_open(status, expires, now) is is_open


def test_lease_expiry_is_the_time_limit_later():
    assert lease_expiry(T0, 300) == T0 + timedelta(seconds=300)
    assert lease_open("leased", lease_expiry(T0, 30), T0 + timedelta(seconds=29))


@pytest.mark.parametrize("status,now,ok", [
    ("InProgress", T0, True),
    ("InProgress", T0 + timedelta(hours=1), False),  # ends_at itself: availability is over
    ("Stopping", T0, False),
    ("Initializing", T0, False),
    ("Completed", T0, False),
])
def test_accepts_work(status, now, ok):
    assert accepts_work(status, T0 + timedelta(hours=1), now) is ok
