"""Round planning: the size of the validation sample and of each human batch, the human budget left by Ground
Truth's stopping conditions, and the smallest job automated labeling works on."""

from __future__ import annotations

import math
from dataclasses import dataclass

from labelloop.core.autolabel.certify import min_validation_correct

__all__ = ["MIN_JOB_OBJECTS", "Plan", "human_budget", "plan"]

#: The smallest job automated labeling accepts. Measured with ``bench/autolabel.py min-size`` on scikit-learn's
#: digits (pixels, the linear model, one worker answering the truth, 3 seeds): at 200 objects the certification
#: at 0.95 labeled nothing in any seed, at 300 in 2 of 3, from 400 on in every seed (people still labeling 64-68%
#: at 400-600); 500 leaves a margin for data harder than digits (docs/automated-labeling.md). Ground Truth's
#: minimum is 1,250.
MIN_JOB_OBJECTS = 500

#: The validation sample aims at this share of the job, never more (Ground Truth: 10-20 %).
VALIDATION_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class Plan:
    validation: int  # first validation sample
    first_batch: int  # first (random) training batch
    batch: int  # each later (active) batch
    max_validation: int


def plan(objects: int, target: float, *, max_concurrent: int = 1000) -> Plan:
    """Sizes for a job of ``objects``: a validation sample of twice the least that can certify ``target`` (or
    2 % of the job if more), grown when the bound needs it up to 5 % of the job (small jobs: three times the
    least); a first batch as large; later batches of 2 % of the job (at least 50, at most ``max_concurrent``)."""
    need = min_validation_correct(target)
    cap = max(3 * need, math.floor(VALIDATION_SHARE * objects))
    validation = min(cap, max(2 * need, math.ceil(0.02 * objects)))
    batch = max(50, min(max_concurrent, math.ceil(0.02 * objects)))
    first = max(batch, validation)
    return Plan(validation=validation, first_batch=first, batch=batch, max_validation=cap)


def human_budget(objects: int, human_so_far: int, max_human: int | None, max_percentage: int | None) -> int | None:
    """Objects people may still label under ``MaxHumanLabeledObjectCount`` and
    ``MaxPercentageOfInputDatasetLabeled`` (None: no limit)."""
    limits = []
    if max_human is not None:
        limits.append(max_human)
    if max_percentage is not None:
        limits.append(math.floor(objects * max_percentage / 100))
    if not limits:
        return None
    return max(0, min(limits) - human_so_far)
