"""The rules of quality control, pure and table-tested: when an object needs another worker (adaptive
consensus), when a worker gets a gold object, whether a worker passed the qualification test and whether a
worker is blocked from a job.

The services apply them (``services/tasks.py`` when leasing and scoring gold answers,
``services/background/consolidate.py`` when an object is consolidated, ``services/quality.py`` for the
figures); ``bench/quality_policies.py`` replays real answers through the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import beta

__all__ = [
    "BlockRule",
    "Evidence",
    "accuracy_interval",
    "gold_due",
    "is_blocked",
    "needs_another_answer",
    "passes_qualification",
    "wanted_after",
]


def needs_another_answer(answers: int, posterior: float | None, *, min_answers: int, max_answers: int,
                         target: float | None) -> bool:
    """An object gets another worker while it has fewer than ``min_answers``, or while its posterior (the
    probability that its consolidated label is right) is below ``target`` and it has fewer than
    ``max_answers``. With no target (or ``min_answers == max_answers``: the fixed-N job) it stops at the
    minimum. ``posterior`` None (not consolidated yet) counts as below any target."""
    if answers < min_answers:
        return True
    if answers >= max_answers or target is None:
        return False
    return posterior is None or posterior < target


def wanted_after(answers: int, posterior: float | None, *, min_answers: int, max_answers: int,
                 target: float | None) -> int:
    """How many answers the object should have once consolidated with ``answers``: one more while it needs
    another (``needs_another_answer``), never above ``max_answers``."""
    more = needs_another_answer(answers, posterior, min_answers=min_answers, max_answers=max_answers, target=target)
    return min(max_answers, max(min_answers, answers + 1 if more else answers))


def gold_due(gold_answers: int, all_answers: int, rate: float) -> bool:
    """A worker's next task is a gold object when fewer than ``rate`` of their turns so far were gold
    (counting the next one): ``gold_answers < rate * (all_answers + 1)``. Deterministic, so a worker sees
    gold at the set rate from the first task on, spread evenly; ``rate`` 0 never."""
    return rate > 0 and gold_answers < rate * (all_answers + 1)


def passes_qualification(correct: int, answered: int, *, required: int, min_accuracy: float) -> bool | None:
    """The qualification test's verdict: None while fewer than ``required`` gold objects are answered;
    then True when the share right is at least ``min_accuracy``."""
    if answered < required:
        return None
    return answered > 0 and correct / answered >= min_accuracy - 1e-12


def accuracy_interval(correct: float, total: float, level: float = 0.95) -> tuple[float, float]:
    """The equal-tailed ``level`` credible interval of an accuracy with ``correct`` right of ``total``
    (Jeffreys prior Beta(1/2, 1/2)); (0, 1) with no evidence."""
    if total <= 0:
        return 0.0, 1.0
    a, b = correct + 0.5, total - correct + 0.5
    tail = (1 - level) / 2
    return float(beta.ppf(tail, a, b)), float(beta.ppf(1 - tail, a, b))


@dataclass(frozen=True, slots=True)
class Evidence:
    """What is known of one worker's accuracy on a job: their gold answers (and how many were right), and
    their answers on ordinary objects that agree with the consolidated label."""

    gold_correct: int = 0
    gold_answers: int = 0
    agreed: int = 0
    compared: int = 0


@dataclass(frozen=True, slots=True)
class BlockRule:
    """Block a worker whose accuracy is, with ``confidence``, below ``threshold``.

    The accuracy's posterior is Beta(1/2 + right, 1/2 + wrong) with the gold answers counted in full and
    agreement with the consolidated label counted at ``agreement_weight`` per answer (it is weaker evidence:
    the label may be wrong, and the worker's own answer helped make it). No verdict before ``min_gold`` gold
    answers (and, with no gold at all, before ``min_compared`` compared answers)."""

    threshold: float = 0.6
    confidence: float = 0.95
    min_gold: int = 3
    min_compared: int = 20
    agreement_weight: float = 0.25


def is_blocked(e: Evidence, rule: BlockRule) -> bool:
    """``rule`` says this worker is blocked: enough evidence, and the upper ``rule.confidence`` bound of their
    accuracy lies below ``rule.threshold``."""
    if e.gold_answers < rule.min_gold and not (e.gold_answers == 0 and e.compared >= rule.min_compared):
        return False
    w = rule.agreement_weight
    right = e.gold_correct + w * e.agreed
    wrong = (e.gold_answers - e.gold_correct) + w * (e.compared - e.agreed)
    upper = float(beta.ppf(rule.confidence, right + 0.5, wrong + 0.5))
    return upper < rule.threshold
