"""The certified confidence threshold: the lowest confidence at which the model's labels at or above it meet a
target accuracy with 95% confidence on held-out human labels.

For each candidate threshold ``t`` (the validation objects' own confidences, highest first) the null
hypothesis is "the accuracy of labels with confidence >= t is below the target". It is rejected when the
one-sided Clopper-Pearson lower bound of the observed accuracy, less an upper bound of the validation labels'
own error (``label_error``), is at or above the target. The thresholds are tested in a fixed sequence, from
high to low confidence, stopping at the first that fails: fixed-sequence testing keeps the chance of
certifying any wrong threshold at most ``alpha`` without a Bonferroni correction, because a threshold is only
tested once every higher one was accepted.

The validation labels are consolidated human answers, so they have errors of their own. The model agrees with
a validation label either when both are right or when both are wrong the same way: an agreement counts as a
success only as far as its label is right. Each agreement is weighted by its label's posterior (1 -
``label_error``), so the successes are ``k = sum(agree_i * (1 - label_error_i))``, and the Clopper-Pearson bound
is taken at this (fractional) ``k``: a label the consolidation doubts cannot vouch for the model. A
disagreement counts as a failure whatever its label's error (pessimistic). With one worker per object
Ground Truth's posteriors say nothing; the caller passes no ``label_error`` and the labels are taken as truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta

__all__ = ["Certificate", "certify_threshold", "clopper_pearson", "min_covered", "min_validation_correct"]

#: The first threshold tested covers enough validation labels to survive this many disagreements: with fewer,
#: one early disagreement among the model's most confident objects would end the sequence at once.
TOLERATE = 2


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """The two-sided ``1 - alpha`` Clopper-Pearson interval of ``k`` successes in ``n`` trials."""
    if n <= 0:
        return 0.0, 1.0
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def lower_bound(k: float, n: int, alpha: float = 0.05) -> float:
    """The one-sided ``1 - alpha`` Clopper-Pearson lower bound of ``k`` successes in ``n`` trials."""
    if n <= 0 or k <= 0:
        return 0.0
    return float(beta.ppf(alpha, k, n - k + 1))


def min_validation_correct(target: float, alpha: float = 0.05) -> int:
    """The fewest validation labels, all agreeing with the model, whose lower bound reaches ``target``:
    ``alpha ** (1/n) >= target`` (59 at 0.95, 149 at 0.98). No certificate exists with fewer above the threshold."""
    return math.ceil(math.log(alpha) / math.log(target))


def min_covered(target: float, errors: int, alpha: float = 0.05) -> int:
    """The fewest validation labels above a threshold whose lower bound still reaches ``target`` with ``errors``
    of them disagreeing (``min_validation_correct`` at 0 errors; 236 at 0.98 with 1, 313 with 2)."""
    n = min_validation_correct(target, alpha)
    while lower_bound(float(n - errors), n, alpha) < target:
        n += max(1, n // 100)
    while n > errors + 1 and lower_bound(float(n - 1 - errors), n - 1, alpha) >= target:
        n -= 1
    return n


@dataclass(frozen=True, slots=True)
class Certificate:
    """The outcome of certification: the threshold (None: nothing can be certified), the lower bound of the
    accuracy at or above it, how many validation objects are at or above it and how many agree, the
    thresholds tried, and the point estimate Ground Truth would use (lowest threshold whose observed
    accuracy meets the target) for comparison."""

    threshold: float | None
    lower_bound: float | None
    covered: int
    agreed: int
    tried: int
    point_threshold: float | None
    reason: str = ""


def certify_threshold(
    confidence: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    target: float,
    *,
    label_error: Sequence[float] | np.ndarray | None = None,
    alpha: float = 0.05,
    max_thresholds: int = 50,
) -> Certificate:
    """Certify a threshold on validation objects: the model's ``confidence`` in its label for each, whether it
    ``correct``-ly agrees with the human label, and optionally each human label's probability of being wrong
    (1 - its consolidation posterior). The candidates are at most ``max_thresholds`` distinct confidences
    (evenly spaced in rank, highest first) such that each leaves at least ``min_covered(target, e)`` objects
    above it, for the largest ``e`` up to ``TOLERATE`` that leaves 30% of the sample below (at least
    ``min_validation_correct``), and a quarter of the validation sample. The start depends on the
    sample's size only, never on its labels, so the fixed sequence keeps its guarantee."""
    if not 0 < target < 1:
        raise ValueError("target must be between 0 and 1")
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    err = np.zeros(len(conf)) if label_error is None else np.clip(np.asarray(label_error, dtype=float), 0, 1)
    if len(conf) != len(ok) or len(conf) != len(err):
        raise ValueError("confidence, correct and label_error must have the same length")
    point = _point_threshold(conf, ok, target)
    need = min_validation_correct(target, alpha)
    if len(conf) < need:
        return Certificate(None, None, 0, 0, 0, point,
                           f"{len(conf)} validation labels; at least {need} are needed to certify {target}")
    order = np.argsort(-conf, kind="stable")
    conf_s, ok_s, err_s = conf[order], ok[order], err[order]
    # candidate cut points: the last index of each distinct confidence, from `start` objects on: the first test
    # of the sequence has enough labels that TOLERATE early disagreements do not end it
    last = np.r_[np.nonzero(np.diff(conf_s))[0], len(conf_s) - 1]
    # the most disagreements (up to TOLERATE) that the first test can survive while leaving 30% of the sample
    # below it to try
    runs = [min_covered(target, e, alpha) for e in range(TOLERATE + 1)]
    start = max([need, math.ceil(len(conf_s) / 4)] + [r for r in runs if r <= 0.7 * len(conf_s)])
    last = last[last + 1 >= min(start, len(conf_s))]
    if len(last) > max_thresholds:
        last = last[np.unique(np.linspace(0, len(last) - 1, max_thresholds).round().astype(int))]
    agreed = np.cumsum(ok_s)
    weighted = np.cumsum(ok_s * (1.0 - err_s))
    best: tuple[float, float, int, int] | None = None
    tried = 0
    for i in last:
        tried += 1
        n = int(i + 1)
        k = int(agreed[i])
        bound = lower_bound(float(weighted[i]), n, alpha)
        if bound < target:
            break
        best = (float(conf_s[i]), bound, n, k)
    if best is None:
        return Certificate(None, None, 0, 0, tried, point, f"no threshold meets {target} with 95% confidence")
    return Certificate(best[0], best[1], best[2], best[3], tried, point)


def _point_threshold(conf: np.ndarray, ok: np.ndarray, target: float) -> float | None:
    """Ground Truth's point estimate: the lowest confidence whose labels at or above it have an observed
    accuracy of at least ``target`` on the validation set."""
    if not len(conf):
        return None
    order = np.argsort(-conf, kind="stable")
    acc = np.cumsum(ok[order]) / np.arange(1, len(conf) + 1)
    conf_s = conf[order]
    last = np.r_[np.nonzero(np.diff(conf_s))[0], len(conf_s) - 1]
    good = last[acc[last] >= target]
    return float(conf_s[good[-1]]) if len(good) else None
