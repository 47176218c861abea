"""Quality figures from plain arrays: worker accuracy with an interval, agreement, Krippendorff's alpha,
calibration (ECE, Brier, reliability bins). Pure numpy / scipy; no job, no database.

Answers are the parallel integer arrays of ``labelloop.core.consolidation.Answers`` (``items``,
``workers``, ``labels``); a class index ``< 0`` in a reference means "unknown" and is skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta as beta_dist
from scipy.stats import norm

__all__ = [
    "Interval",
    "WorkerAccuracy",
    "agreement_with_labels",
    "beta_interval",
    "brier_score",
    "expected_calibration_error",
    "krippendorff_alpha_nominal",
    "label_agreement",
    "reliability_bins",
    "wilson_interval",
    "worker_accuracy",
]


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided interval at ``level``; all NaN when there is no data."""

    estimate: float
    low: float
    high: float
    level: float = 0.95


@dataclass(frozen=True)
class WorkerAccuracy:
    """One worker's accuracy against a reference: ``correct`` of ``scored`` answers, with an interval."""

    worker: int
    scored: int
    correct: int
    accuracy: Interval


def wilson_interval(correct: int, n: int, level: float = 0.95) -> Interval:
    """Wilson score interval for a proportion ``correct / n`` (NaN when ``n == 0``)."""
    if n < 0 or not 0 <= correct <= max(n, 0):
        raise ValueError("need 0 <= correct <= n")
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, level)
    z = float(norm.ppf(0.5 + level / 2))
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), level)


def beta_interval(correct: float, n: float, level: float = 0.95, prior: tuple[float, float] = (1.0, 1.0)) -> Interval:
    """Posterior mean and equal-tailed interval of a Beta(prior) × binomial; ``correct`` may be a soft count."""
    if n < 0 or correct < 0 or correct > n + 1e-9:
        raise ValueError("need 0 <= correct <= n")
    a, b = prior[0] + correct, prior[1] + max(n - correct, 0.0)
    tail = (1 - level) / 2
    return Interval(a / (a + b), float(beta_dist.ppf(tail, a, b)), float(beta_dist.ppf(1 - tail, a, b)), level)


def worker_accuracy(workers: np.ndarray, items: np.ndarray, labels: np.ndarray, reference: np.ndarray,
                    n_workers: int | None = None, level: float = 0.95) -> list[WorkerAccuracy]:
    """Per worker, accuracy of their answers against ``reference[item]`` (gold or the consolidated label).

    Answers whose reference is negative (unknown) are not scored. Wilson interval at ``level``.
    """
    workers, items, labels = (np.asarray(x, dtype=np.int64) for x in (workers, items, labels))
    reference = np.asarray(reference, dtype=np.int64)
    n_workers = int(workers.max(initial=-1)) + 1 if n_workers is None else n_workers
    ref = reference[items] if len(items) else np.zeros(0, dtype=np.int64)
    scored = ref >= 0
    n = np.bincount(workers[scored], minlength=n_workers)
    right = np.bincount(workers[scored], weights=(labels[scored] == ref[scored]).astype(float), minlength=n_workers)
    return [WorkerAccuracy(j, int(n[j]), int(right[j]), wilson_interval(int(right[j]), int(n[j]), level))
            for j in range(n_workers)]


def agreement_with_labels(workers: np.ndarray, items: np.ndarray, labels: np.ndarray, consolidated: np.ndarray,
                          n_workers: int | None = None) -> np.ndarray:
    """Per worker, the share of their answers equal to the consolidated label (NaN without answers)."""
    rows = worker_accuracy(workers, items, labels, consolidated, n_workers)
    return np.array([r.accuracy.estimate for r in rows], dtype=np.float64)


def label_agreement(items: np.ndarray, labels: np.ndarray, consolidated: np.ndarray, n_classes: int) -> np.ndarray:
    """Per class ``c``: of the answers on items consolidated as ``c``, the share that said ``c`` (NaN if none)."""
    items, labels = np.asarray(items, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    ref = np.asarray(consolidated, dtype=np.int64)[items] if len(items) else np.zeros(0, dtype=np.int64)
    keep = ref >= 0
    total = np.bincount(ref[keep], minlength=n_classes).astype(np.float64)
    same = np.bincount(ref[keep], weights=(labels[keep] == ref[keep]).astype(float), minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.where(total > 0, same / np.where(total > 0, total, 1.0), np.nan)
    return out


def krippendorff_alpha_nominal(items: np.ndarray, labels: np.ndarray, n_classes: int) -> float:
    """Krippendorff's alpha for nominal data: ``1 - D_o / D_e`` over the pairable values.

    Items with fewer than two answers are not pairable and are ignored. NaN when fewer than two
    pairable values exist; 1.0 when every pairable value is the same class (no expected disagreement).
    """
    items, labels = np.asarray(items, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    if len(items) == 0:
        return math.nan
    n_items = int(items.max()) + 1
    counts = np.bincount(items * n_classes + labels, minlength=n_items * n_classes).reshape(n_items, n_classes)
    m = counts.sum(axis=1).astype(np.float64)
    pairable = m >= 2
    counts, m = counts[pairable].astype(np.float64), m[pairable]
    n = m.sum()
    if n < 2:
        return math.nan
    # coincidence matrix o[c, k] = sum_u n_uc (n_uk - [c == k]) / (m_u - 1)
    weighted = counts / (m - 1)[:, None]
    o = weighted.T @ counts
    o[np.diag_indices(n_classes)] -= weighted.sum(axis=0)
    n_c = o.sum(axis=1)
    observed = o.sum() - np.trace(o)
    expected = (n * n - (n_c * n_c).sum()) / (n - 1)
    if expected <= 0:
        return 1.0
    return float(1.0 - observed / expected)


def reliability_bins(posteriors: np.ndarray, truth: np.ndarray, n_bins: int = 10) -> list[tuple[float, float, int]]:
    """Per equal-width bin of the max posterior: (mean confidence, accuracy, count); NaNs for an empty bin."""
    p = np.asarray(posteriors, dtype=np.float64)
    y = np.asarray(truth, dtype=np.int64)
    conf = p.max(axis=1) if len(p) else np.zeros(0)
    right = (p.argmax(axis=1) == y) if len(p) else np.zeros(0, dtype=bool)
    which = np.minimum((conf * n_bins).astype(np.int64), n_bins - 1)
    out = []
    for b in range(n_bins):
        sel = which == b
        count = int(sel.sum())
        out.append((float(conf[sel].mean()) if count else math.nan, float(right[sel].mean()) if count else math.nan,
                    count))
    return out


def expected_calibration_error(posteriors: np.ndarray, truth: np.ndarray, n_bins: int = 10) -> float:
    """ECE: the count-weighted mean |confidence - accuracy| over ``n_bins`` equal-width bins of the max posterior.

    The predicted label is the argmax (lowest index on a tie); NaN for no items.
    """
    bins = reliability_bins(posteriors, truth, n_bins)
    total = sum(count for _, _, count in bins)
    if total == 0:
        return math.nan
    return float(sum(abs(conf - acc) * count for conf, acc, count in bins if count) / total)


def brier_score(posteriors: np.ndarray, truth: np.ndarray) -> float:
    """Multi-class Brier score: mean over items of ``sum_k (p_k - [k == truth])^2`` (NaN for no items)."""
    p = np.asarray(posteriors, dtype=np.float64)
    if len(p) == 0:
        return math.nan
    onehot = np.zeros_like(p)
    onehot[np.arange(len(p)), np.asarray(truth, dtype=np.int64)] = 1.0
    return float(((p - onehot) ** 2).sum(axis=1).mean())
