"""What every background step shares: the pass over one job, and a step's outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labelloop.core.lifecycle import JobStatus


@dataclass
class JobPass:
    """One pass of the runner over one job. ``job`` is the job's row, read once at the start of the pass;
    ``status`` and ``output_dirty`` follow what the pass's own steps change. ``renew`` extends the runner's
    claim on the job: a step that works long calls it between its batches."""

    job: Any
    now: datetime
    status: JobStatus
    output_dirty: bool
    force_output: bool
    renew: Callable[[], None]


@dataclass(frozen=True)
class Outcome:
    """What a step did: how many things it handled (leases, objects, manifests), the job's new status if
    it changed it, and whether the job's output is now stale."""

    done: int = 0
    status: JobStatus | None = None
    output_dirty: bool = False


Step = Callable[[Any, JobPass], Outcome]
