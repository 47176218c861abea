"""One round's decisions, on the model's probabilities: the certified threshold, which pool objects the model
labels, and which go to people next (more validation when the bound needs it, then the most informative).

The background step and the benchmark both call ``decide_round``, so the rounds they run are the same."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from labelloop.core.autolabel.certify import TOLERATE, Certificate, certify_threshold, clopper_pearson, min_covered
from labelloop.core.autolabel.select import random_sample, select_batch

__all__ = ["Decision", "decide_round"]


@dataclass(frozen=True, slots=True)
class Decision:
    certificate: Certificate
    model: int  # which candidate model was chosen (index into the probabilities given)
    validation_accuracy: float
    validation_ci: tuple[float, float]
    machine: np.ndarray  # indices into the pool the model labels
    machine_class: np.ndarray  # their classes
    machine_confidence: np.ndarray
    next_validation: np.ndarray  # pool indices sent to people as more validation (random)
    next_train: np.ndarray  # pool indices sent to people to train on (uncertain and diverse)
    done: bool  # the pool is empty once the model's labels are written
    stopped: bool  # objects are left but the human budget is spent
    notes: list[str] = field(default_factory=list)


def decide_round(
    val_probas: list[np.ndarray],
    val_labels: np.ndarray,
    pool_probas: list[np.ndarray],
    pool_features: np.ndarray,
    *,
    target: float,
    batch: int,
    validation_size: int,
    max_validation: int,
    budget: int | None,
    label_error: np.ndarray | None = None,
    alpha: float = 0.05,
    rng: np.random.Generator | None = None,
) -> Decision:
    """``val_probas``/``pool_probas``: one (rows, classes) array per candidate model (the model trained this
    round, and the job's initial model if it has one); each is certified at ``alpha / candidates``
    (Bonferroni) and the one that labels most of the pool is kept. ``budget``: objects people may still label
    (None: no limit)."""
    rng = rng or np.random.default_rng(0)
    val_labels = np.asarray(val_labels, dtype=int)
    level = alpha / max(1, len(val_probas))
    best: tuple[int, Certificate, int] | None = None
    for m, (vp, pp) in enumerate(zip(val_probas, pool_probas, strict=True)):
        cert = certify_threshold(vp.max(axis=1) if len(vp) else np.zeros(0), vp.argmax(axis=1) == val_labels
                                 if len(vp) else np.zeros(0, dtype=bool), target, label_error=label_error,
                                 alpha=level)
        covered = 0 if cert.threshold is None or not len(pp) else int((pp.max(axis=1) >= cert.threshold).sum())
        if best is None or covered > best[2]:
            best = (m, cert, covered)
    assert best is not None
    m, cert, _ = best
    vp, pp = val_probas[m], pool_probas[m]
    agreed = int((vp.argmax(axis=1) == val_labels).sum()) if len(vp) else 0
    accuracy = agreed / len(vp) if len(vp) else 0.0
    conf = pp.max(axis=1) if len(pp) else np.zeros(0)
    machine = np.nonzero(conf >= cert.threshold)[0] if cert.threshold is not None else np.zeros(0, dtype=int)
    rest = np.setdiff1d(np.arange(len(pp)), machine)
    notes = [cert.reason] if cert.reason else []
    left = len(rest)
    room = left if budget is None else min(left, budget)
    grow = 0
    if validation_size < max_validation and room:
        # grow only when the bound certifies nothing though the point estimate would label ten times the objects
        # growing costs (a failed round late in a job, on a small pool, does not repay it), or the sample is too
        # small to certify anything at all
        point_covered = 0 if cert.point_threshold is None else int((conf >= cert.point_threshold).sum())
        size = min(max_validation - validation_size, math.ceil(validation_size / 2), room)
        too_small = validation_size < min_covered(target, TOLERATE, alpha)
        if cert.threshold is None and (too_small or point_covered > 10 * size):
            grow = size
            notes.append(f"validation grown by {grow}: the bound, not the model, limits what is labeled")
    pick_val = rest[random_sample(len(rest), grow, rng)] if grow else np.zeros(0, dtype=int)
    rest2 = np.setdiff1d(rest, pick_val)
    size = min(batch, room - grow)
    pick = rest2[select_batch(pp[rest2], pool_features[rest2], size, rng=rng)] if size > 0 else np.zeros(0, dtype=int)
    done = left == 0
    stopped = not done and room == 0
    if stopped:
        notes.append("the human budget (MaxHumanLabeledObjectCount / MaxPercentageOfInputDatasetLabeled) is spent")
    return Decision(cert, m, accuracy, clopper_pearson(agreed, len(vp)), machine, pp.argmax(axis=1)[machine]
                    if len(pp) else np.zeros(0, dtype=int), conf[machine], pick_val, pick, done, stopped, notes)
