"""Which unlabeled objects go to people next: the most informative, and not all alike.

Uncertainty is the margin between the model's two most probable classes (small: the model hesitates).
Diversity: of the ``pool_factor * size`` most uncertain objects, a greedy k-center pass (farthest first, in
the featurizer's space) picks ``size`` that cover them, so a batch is not forty copies of one hard case.
"""

from __future__ import annotations

import numpy as np

__all__ = ["margin", "random_sample", "select_batch"]


def margin(proba: np.ndarray) -> np.ndarray:
    """Top-1 minus top-2 probability of each row (1 for a single class)."""
    p = np.asarray(proba, dtype=float)
    if p.ndim != 2 or p.shape[0] == 0:
        return np.zeros(p.shape[0] if p.ndim else 0)
    if p.shape[1] < 2:
        return np.ones(p.shape[0])
    top = np.partition(p, p.shape[1] - 2, axis=1)[:, -2:]
    return np.asarray(top[:, 1] - top[:, 0])


def random_sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` distinct indices of ``range(n)`` at random (all of them when ``size >= n``), sorted."""
    if size >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def select_batch(proba: np.ndarray, features: np.ndarray, size: int, *, pool_factor: int = 4,
                 rng: np.random.Generator | None = None) -> np.ndarray:
    """Indices (rows of ``proba``/``features``) of ``size`` objects to send to people: uncertain and diverse.
    Ties in uncertainty are broken at random (``rng``) so equal scores do not favour the manifest's order."""
    n = len(proba)
    if size >= n:
        return np.arange(n)
    if size <= 0:
        return np.zeros(0, dtype=int)
    rng = rng or np.random.default_rng(0)
    m = margin(proba) + rng.uniform(0, 1e-9, n)
    candidates = np.argsort(m, kind="stable")[: min(n, pool_factor * size)]
    x = np.asarray(features, dtype=np.float32)[candidates]
    chosen = [0]  # the most uncertain first
    dist = np.sum((x - x[0]) ** 2, axis=1)
    # weight distance by uncertainty so, among far-apart objects, the more uncertain ones win
    weight = 1.0 - m[candidates] / 2
    for _ in range(1, size):
        i = int(np.argmax(dist * weight))
        chosen.append(i)
        dist = np.minimum(dist, np.sum((x - x[i]) ** 2, axis=1))
    return np.sort(candidates[np.asarray(chosen)])
