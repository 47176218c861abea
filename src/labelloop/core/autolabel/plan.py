"""Round planning: the size of the validation sample and of each human batch, the human budget left by Ground
Truth's stopping conditions, and the smallest job automated labeling works on."""

from __future__ import annotations

import math
from dataclasses import dataclass

from labelloop.core.autolabel.certify import TOLERATE, min_covered, min_validation_correct

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
    """Sizes for a job of ``objects``.

    - The validation sample starts where the first certified threshold can cover a ``TOLERATE``-error run with
      room to spare (1.6 times ``min_covered``: 501 at 0.98, 199 at 0.95) where that is at most 5% of the job,
      else twice the least that can certify; 2% of the job if more. It is grown when the bound needs it up to 5%
      of the job (small jobs: three times the least that can certify).
    - The first batch is as large; later batches are 0.5% of the job (at least 50, at most ``max_concurrent``):
      on MNIST-20k at 0.98, batches of 0.5% left 9.1-9.7% of the objects to people where 1%
      left 9.7-10.1% (``bench/autolabel.py``): each round's model labels what a larger batch would have spent
      people on."""
    need = min_validation_correct(target)
    cap = max(3 * need, math.floor(VALIDATION_SHARE * objects))
    robust = min(math.ceil(1.6 * min_covered(target, TOLERATE)), math.floor(VALIDATION_SHARE * objects))
    validation = min(cap, max(2 * need, robust, math.ceil(0.02 * objects)))
    batch = max(50, min(max_concurrent, math.ceil(0.005 * objects)))
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
