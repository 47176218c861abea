"""The states of jobs, data objects and tasks, the transitions between them, and lease arithmetic.

Every state a row can be in is a member of one of the enums below (they are ``str`` enums, so the
database keeps the same strings as before). Every transition a service makes is one of the pairs listed
in the ``*_TRANSITIONS`` tables and is made with a compare-and-set on the state it leaves
(``labelloop.services.lifecycle.transition``): of two actions racing on one row exactly one wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

__all__ = [
    "JOB_TRANSITIONS",
    "OBJECT_TRANSITIONS",
    "TASK_TRANSITIONS",
    "JobStatus",
    "ObjectStatus",
    "TaskStatus",
    "accepts_work",
    "allowed",
    "lease_expiry",
    "lease_open",
]


class JobStatus(StrEnum):
    """Ground Truth's ``LabelingJobStatus``."""

    INITIALIZING = "Initializing"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"

    @property
    def is_open(self) -> bool:
        """The background runner still works on the job (leases, consolidation)."""
        return self in (JobStatus.IN_PROGRESS, JobStatus.STOPPING)

    @property
    def can_stop(self) -> bool:
        return self in JOB_TRANSITIONS and JobStatus.STOPPING in JOB_TRANSITIONS[self]


class ObjectStatus(StrEnum):
    """A data object's progress from the manifest to its consolidated label."""

    PREPROCESSING = "preprocessing"  # waits for the pre-annotation hook
    PENDING = "pending"  # can be leased while fewer than N tasks are leased or submitted for it
    READY = "ready"  # has its answers, waits for consolidation
    LABELED = "labeled"
    FAILED = "failed"
    SKIPPED = "skipped"  # labeled before the job (a prior label) or the hook said no human is needed

    @property
    def is_unlabeled(self) -> bool:
        """Counted as ``Unlabeled`` in LabelCounters: work is still to be done on it."""
        return self in UNLABELED


class TaskStatus(StrEnum):
    """One worker's turn on one data object."""

    LEASED = "leased"
    SUBMITTED = "submitted"
    RELEASED = "released"  # the worker gave it back
    EXPIRED = "expired"  # the lease ran out (or the job's availability did)
    STOPPED = "stopped"  # the job was stopped


UNLABELED = frozenset({ObjectStatus.PREPROCESSING, ObjectStatus.PENDING, ObjectStatus.READY})

JOB_TRANSITIONS: Mapping[JobStatus, frozenset[JobStatus]] = {
    JobStatus.INITIALIZING: frozenset({JobStatus.IN_PROGRESS, JobStatus.FAILED, JobStatus.STOPPING}),
    JobStatus.IN_PROGRESS: frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.STOPPING}),
    JobStatus.STOPPING: frozenset({JobStatus.STOPPED, JobStatus.FAILED}),
}
OBJECT_TRANSITIONS: Mapping[ObjectStatus, frozenset[ObjectStatus]] = {
    ObjectStatus.PREPROCESSING: frozenset({ObjectStatus.PENDING, ObjectStatus.SKIPPED, ObjectStatus.FAILED}),
    # PENDING -> LABELED: automated data labeling labels an object no person was asked for (``wanted`` 0, no
    # lease, no answer: services/background/autolabel.py)
    ObjectStatus.PENDING: frozenset({ObjectStatus.READY, ObjectStatus.FAILED, ObjectStatus.LABELED}),
    # READY -> PENDING: adaptive consensus wants another answer (posterior below the job's target), or a
    # blocked worker's answers were discarded and the object is short of answers again.
    ObjectStatus.READY: frozenset({ObjectStatus.LABELED, ObjectStatus.FAILED, ObjectStatus.PENDING}),
    # A blocked worker's answers are discarded: the object is consolidated again (READY) or, short of
    # answers, handed to other workers (PENDING). Only while the job runs (services/standing.py).
    ObjectStatus.LABELED: frozenset({ObjectStatus.READY, ObjectStatus.PENDING}),
}
TASK_TRANSITIONS: Mapping[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.LEASED: frozenset({TaskStatus.SUBMITTED, TaskStatus.RELEASED, TaskStatus.EXPIRED, TaskStatus.STOPPED}),
}

_TABLES: dict[type, Mapping[Any, frozenset[Any]]] = {JobStatus: JOB_TRANSITIONS, ObjectStatus: OBJECT_TRANSITIONS,
                                TaskStatus: TASK_TRANSITIONS}


def allowed(source: StrEnum, target: StrEnum) -> bool:
    """``source -> target`` is a transition of the lifecycle (both members of the same enum)."""
    if type(source) is not type(target):
        return False
    return target in _TABLES[type(source)].get(source, frozenset())


def lease_expiry(leased_at: datetime, task_time_limit_s: int) -> datetime:
    """When a lease taken at ``leased_at`` ends: ``TaskTimeLimitInSeconds`` later."""
    return leased_at + timedelta(seconds=task_time_limit_s)


def lease_open(status: str, lease_expires_at: datetime, now: datetime) -> bool:
    """A task's lease is open: leased, and ``now`` is before its expiry (the expiry instant itself is closed)."""
    return status == TaskStatus.LEASED and now < lease_expires_at


def accepts_work(status: str, ends_at: datetime, now: datetime) -> bool:
    """A job hands out tasks: in progress and before the end of its availability lifetime."""
    return status == JobStatus.IN_PROGRESS and now < ends_at
