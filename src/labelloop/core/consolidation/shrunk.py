"""Shrunk Dawid–Skene: worker models that shrink toward a shared one, as far as the data asks.

labelloop's default classification consolidation (``"shrunk-dawid-skene"``). Classic Dawid–Skene
gives every worker a free ``K×K`` confusion matrix; on a small job (20 objects, 3 answers each) those
matrices are fitted to a handful of answers, EM finds a "worker 2 is always wrong" story that explains
the answers a little better than the plain one, and clear majorities get overruled with near-certain
confidence. Majority vote learns nothing, and loses to Dawid–Skene on large jobs with uneven workers.

This estimator fits a ladder of nested models, each an EM (Dawid–Skene's E-step, a shrunk M-step):

=================  ==========================================================================
``one-coin``       every worker answers right with one shared accuracy ``a``, errors spread evenly,
                   uniform class prior: exactly majority vote's ranking, with a posterior
``one-coin+prior`` the same with a fitted class prior (30 pseudo-objects per class)
``worker-coin``    one accuracy ``a_j`` per worker, shrunk toward ``a`` with 8 pseudo-answers
``confusion-s``    per-worker matrices ``C_j[k] ∝ N_j[k] + s P(a_j)[k]`` for ``s`` = 8, 4, 2, 1 pseudo-answers
                   per row: a Dirichlet prior centred on the worker's one-coin matrix
=================  ==========================================================================

(``pooled``, ``workers-8`` and ``workers-2``, a shared full matrix and worker matrices shrunk toward it,
can be asked for with ``levels``; they cost accuracy on small jobs.) Each level is scored by how well it
predicts *held-out answers*: for each answer ``(i, j, l)``, the probability of ``l`` from the item's other
answers and worker ``j``'s model with that answer's own soft count taken out (a leave-one-out predictive
likelihood, ``O(answers × K)`` per level, no refits), minus ``penalty`` nats per effective parameter. The
simplest level within ``selection_margin`` nats of the best is kept, so with nothing to learn the choice
is ``one-coin`` (majority vote) and on a large job with uneven workers it is a per-worker confusion model
close to classic Dawid–Skene.

Calibration (fitted without any truth): the posterior is ``softmax(T × log score)``; the temperature
``T`` is chosen with the model, by the same held-out likelihood, from a grid of 0.2 to 1 (never sharper
than the model; the grid is walked down from 1 while the score improves). Then, if the answers that
disagree with the labels are overdispersed across objects (errors shared within an object: a hard image
fools several workers), each object's ``T`` is divided by its own design effect ``1 + (m_i - 1) rho``
(``m_i`` its answers; ``rho`` by the method of moments, see ``_error_correlation``), since ``m_i`` correlated
answers carry the evidence of fewer independent ones (an object with one answer keeps ``T``). ``T < 1``
undoes the overconfidence of a product of point-estimated likelihoods (a three-way split does not get
1.0); ``bench/quality.py`` checks the result against the truth (expected calibration error, Brier).

EM is accelerated with SQUAREM (``_em``): the same fixed point in fewer epochs.

Warm start: as Dawid–Skene's (``state.py``), with the chosen model, the held-out temperature and ``rho``
stored in the state's ``params``; a warm step runs EM on the new items only, with every worker, pooled and
class statistic taken as stored + new, and keeps the stored model, temperature and ``rho`` (a full refit
chooses again).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from .answers import Answers
from .base import Estimator
from .dawid_skene import prior_confusion
from .majority_vote import tie_break_draw
from .state import DawidSkeneState

__all__ = ["LEVELS", "TEMPERATURES", "ShrunkDawidSkene"]

_TINY = np.finfo(np.float64).tiny
_INF = math.inf


@dataclass(frozen=True)
class Level:
    """One rung of the model ladder (see the module docstring)."""

    name: str
    kind: str  # "shared": every worker uses P; "coin": one accuracy per worker; "full": C_j
    worker_strength: float  # pseudo-answers toward the shared model (per row for "full")
    pool_strength: float  # pseudo-answers per row of P toward the one-coin matrix; inf: P is one-coin
    fit_prior: bool  # False: uniform class prior
    coin_strength: float = 8.0  # pseudo-answers of a worker's accuracy toward the shared one ("coin", "coin-full")


#: The ladder, simplest first.
LEVELS: tuple[Level, ...] = (
    Level("one-coin", "shared", _INF, _INF, False),
    Level("one-coin+prior", "shared", _INF, _INF, True),
    Level("worker-coin", "coin", _INF, _INF, True),
    Level("confusion-8", "coin-full", 8.0, _INF, True),
    Level("confusion-4", "coin-full", 4.0, _INF, True),
    Level("confusion-2", "coin-full", 2.0, _INF, True),
    Level("confusion-1", "coin-full", 1.0, _INF, True),
    # not on the default ladder (they cost accuracy on small jobs): a shared full matrix, and worker
    # matrices shrunk toward it
    Level("pooled", "shared", _INF, 2.0, True),
    Level("workers-8", "full", 8.0, 2.0, True),
    Level("workers-2", "full", 2.0, 2.0, True),
)
_BY_NAME = {level.name: level for level in LEVELS}
#: The ladder a default ShrunkDawidSkene climbs.
DEFAULT_LEVELS: tuple[str, ...] = ("one-coin", "one-coin+prior", "worker-coin", "confusion-8", "confusion-4",
                                   "confusion-2", "confusion-1")

#: Posterior temperatures tried (``T`` multiplies the log scores).
TEMPERATURES: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)

#: Dirichlet pseudo-count per class of the class prior.
_PRIOR_PSEUDO = 30.0


class ShrunkDawidSkene(Estimator):
    """Dawid–Skene with worker models shrunk toward a shared one, chosen by held-out likelihood.

    Attributes after ``fit``: ``posteriors_`` (n_items×K, calibrated: the probability that each class
    is the item's true one), ``labels_`` (argmax; a tie within 1e-9 is broken like majority vote's,
    by ``tie_break_draw(seed, item key)``, or the lowest index without item keys),
    ``confidence_`` (``round(max posterior, 2)``), ``level_`` (the chosen model's name),
    ``heldout_temperature_`` (chosen by held-out likelihood), ``temperature_`` (that divided by the design
    effect at the mean answers per object: the temperature of a typical object), ``heldout_`` (``{level
    name: best held-out log-likelihood}``, full fits only), ``error_correlation_`` (rho of the calibration
    step; a warm step keeps the stored one),
    ``worker_confusions_`` (n_workers×K×K), ``worker_accuracy_`` (n_workers: expected accuracy
    ``sum_k pi_k C_j[k, k]``; NaN for a worker without answers in this fit), ``class_prior_``,
    ``n_epochs_`` and ``warm_started_``.

    ``levels`` restricts the ladder (names from ``LEVELS``); ``temperatures`` the temperature grid
    (``(1.0,)`` turns calibration off).

    >>> a, items, _, classes = Answers.from_triples(
    ...     [("q1", "ann", "neg"), ("q1", "bob", "neg"), ("q1", "cy", "pos"),
    ...      ("q2", "ann", "pos"), ("q2", "bob", "pos"), ("q2", "cy", "pos")])
    >>> model = ShrunkDawidSkene().fit(a, items)
    >>> [classes[k] for k in model.labels_], model.level_
    (['neg', 'pos'], 'one-coin')
    """

    state_name = "shrunk-dawid-skene"

    def __init__(
        self,
        levels: Sequence[str] | None = None,
        temperatures: Sequence[float] = TEMPERATURES,
        selection_margin: float = 1.0,
        max_epochs: int = 50,
        tol: float = 1e-5,
        seed: int = 0,
        refit_growth: float = 2.0,
        penalty: float = 1.0,
    ) -> None:
        names = list(DEFAULT_LEVELS) if levels is None else list(levels)
        unknown = [name for name in names if name not in _BY_NAME]
        if unknown or not names:
            raise ValueError(f"levels must be names from {[level.name for level in LEVELS]}")
        if not temperatures or any(not t > 0 for t in temperatures):
            raise ValueError("temperatures must be positive")
        if selection_margin < 0:
            raise ValueError("selection_margin must be >= 0")
        if max_epochs < 1:
            raise ValueError("max_epochs must be at least 1")
        if not refit_growth > 1.0:
            raise ValueError("refit_growth must be > 1")
        self.levels = tuple(names)
        self.temperatures = tuple(float(t) for t in temperatures)
        self.selection_margin = selection_margin
        self.max_epochs = max_epochs
        self.tol = tol
        self.seed = seed
        self.refit_growth = refit_growth
        self.penalty = penalty

    _state: DawidSkeneState | tuple[tuple[Hashable, ...] | None, _Fit, int, int]

    def fit(
        self, answers: Answers, item_keys: Sequence[Hashable] | None = None, *, warm_start: Mapping[str, Any] | None = None
    ) -> Self:
        """Fit the ladder and keep the best model (or resume the stored one from ``warm_start``)."""
        if item_keys is not None and len(item_keys) != answers.n_items:
            raise ValueError(f"item_keys has {len(item_keys)} keys for {answers.n_items} items")
        if warm_start is not None:
            return self._fit_warm(answers, item_keys, DawidSkeneState.from_dict(warm_start, answers.n_classes,
                                                                                self.state_name))
        base = _Stats.empty(answers.n_workers, answers.n_classes)
        start = _vote_shares(answers)
        heldout: dict[str, float] = {}
        fits: list[tuple[float, int, float, _Fit]] = []
        per_item = len(answers) / max(int(np.count_nonzero(answers.answers_per_item())), 1)
        penalty = self.penalty * min(1.0, 3.0 / max(per_item, 1.0))
        for rank, name in enumerate(self.levels):
            fit = _em(answers, _BY_NAME[name], base, start, self.max_epochs, self.tol)
            score, temperature = _best_temperature(_HeldOut.of(answers, fit), self.temperatures)
            score -= penalty * _effective_parameters(fit)
            heldout[name] = score
            falling = rank >= 3 and score < fits[-1][0]
            fits.append((score, rank, temperature, fit))
            if falling:  # past the first per-worker matrices the ladder is climbed while it improves
                break
            start = fit.posteriors  # the next, more flexible level starts where this one ended
        top = max(score for score, _, _, _ in fits)
        best = next(f for f in fits if f[0] >= top - self.selection_margin)  # simplest within the margin
        _, _, temperature, fit = best
        self.heldout_ = heldout
        self.heldout_temperature_ = temperature
        self._set_results(fit, temperature, temperature, item_keys, warm=False)
        rho, per_item = _error_correlation(answers, self.labels_, self.worker_confusions_)
        self.error_correlation_ = rho
        if rho > 0:  # the design effect of errors shared within an object (see the module docstring)
            self._set_results(fit, _item_temperatures(answers, temperature, rho),
                              temperature / (1.0 + (per_item - 1.0) * rho), item_keys, warm=False)
        self._state = (answers.worker_keys, fit, answers.n_items, len(answers))
        return self

    def state_(self) -> dict[str, Any]:
        """The warm-start state after this fit (Dawid–Skene's format, ``algorithm`` "shrunk-dawid-skene")."""
        if not hasattr(self, "_state"):
            raise AttributeError("state_() is available after fit()")
        if isinstance(self._state, tuple):
            worker_keys, fit, n_items, n_answers = self._state
            if worker_keys is None:
                raise ValueError("state_() needs answers.worker_keys (build Answers with from_triples)")
            self._state = DawidSkeneState.after_full_fit(
                [str(key) for key in worker_keys], fit.counts, fit.n_answers, fit.class_counts,
                fit.accuracy, n_items, n_answers, self.refit_growth, self.state_name, self._params())
        return self._state.to_dict()

    def _params(self) -> dict[str, Any]:
        return {"level": self.level_, "temperature": self.temperature_,
                "heldout_temperature": self.heldout_temperature_, "error_correlation": self.error_correlation_}

    def _fit_warm(self, answers: Answers, item_keys: Sequence[Hashable] | None, state: DawidSkeneState) -> Self:
        if answers.worker_keys is None:
            raise ValueError("warm_start needs answers.worker_keys (build Answers with from_triples)")
        keys = [str(key) for key in answers.worker_keys]
        if len(set(keys)) != len(keys):
            raise ValueError("two workers have the same str(worker key)")
        level = _BY_NAME.get(str(state.params.get("level")), LEVELS[0])
        temperature = float(state.params.get("temperature", 1.0))
        # states written before the per-object design effect hold only the final temperature: rho 0
        heldout_t = float(state.params.get("heldout_temperature", temperature))
        rho = float(state.params.get("error_correlation", 0.0))
        base = _Stats.of(state, keys)
        fit = _em(answers, level, base, _vote_shares(answers), self.max_epochs, self.tol)
        self.heldout_ = {}
        self.heldout_temperature_ = heldout_t
        self.error_correlation_ = rho
        item_t = _item_temperatures(answers, heldout_t, rho) if "heldout_temperature" in state.params else temperature
        self._set_results(fit, item_t, temperature, item_keys, warm=True)
        new_counts = fit.counts  # stored + new for this batch's workers
        self._state = state.merged(keys, new_counts, fit.n_answers, fit.class_counts, fit.accuracy,
                                   answers.n_items, len(answers))
        return self

    def _set_results(self, fit: _Fit, item_temperature: float | np.ndarray, temperature: float,
                     item_keys: Sequence[Hashable] | None, warm: bool) -> None:
        """Posteriors at ``item_temperature`` (one for all items, or one per item), labels and attributes."""
        t = np.asarray(item_temperature, dtype=np.float64)
        posteriors = _softmax(fit.scores * (t[:, None] if t.ndim else t))
        self.posteriors_ = posteriors
        self.labels_ = _argmax_ties(posteriors, item_keys, self.seed)
        self.confidence_ = np.round(posteriors.max(axis=1, initial=0.0), 2)
        self.level_ = fit.level.name
        self.temperature_ = temperature
        conf = fit.worker_confusions()
        self.worker_confusions_ = conf
        diag = np.diagonal(conf, axis1=1, axis2=2)
        accuracy = diag @ fit.prior
        own = np.bincount(fit.workers, minlength=len(conf)) > 0
        self.worker_accuracy_ = np.where(own, accuracy, np.nan)
        self.class_prior_ = fit.prior
        self.n_epochs_ = fit.epochs
        self.warm_started_ = warm


@dataclass
class _Stats:
    """Statistics counted before this fit (a warm start), aligned with this fit's workers; zero otherwise."""

    counts: np.ndarray  # (W, K, K) stored raw soft counts of this fit's workers
    n_answers: np.ndarray  # (W,)
    total: np.ndarray  # (K, K) stored soft counts summed over every stored worker
    class_counts: np.ndarray  # (K,)

    @classmethod
    def empty(cls, n_workers: int, k: int) -> _Stats:
        return cls(np.zeros((n_workers, k, k)), np.zeros(n_workers), np.zeros((k, k)), np.zeros(k))

    @classmethod
    def of(cls, state: DawidSkeneState, keys: list[str]) -> _Stats:
        k = state.n_classes
        counts, n = np.zeros((len(keys), k, k)), np.zeros(len(keys))
        index = state.index
        for j, key in enumerate(keys):
            s = index.get(key)
            if s is not None:
                counts[j], n[j] = state.soft_counts[s], state.worker_answers[s]
        total = state.soft_counts.sum(axis=0) if len(state.worker_keys) else np.zeros((k, k))
        return cls(counts, n, total, state.class_counts.copy())


@dataclass
class _Fit:
    """One level's EM result (statistics include the warm start's stored ones)."""

    level: Level
    workers: np.ndarray  # answers.workers (for the worker attributes)
    scores: np.ndarray  # (n, K) log scores: log prior + sum of log likelihoods
    posteriors: np.ndarray  # (n, K) at temperature 1
    counts: np.ndarray  # (W, K, K) raw soft counts (stored + this fit)
    n_answers: np.ndarray  # (W,)
    total: np.ndarray  # (K, K) soft counts of every counted worker
    class_counts: np.ndarray  # (K,)
    prior: np.ndarray  # (K,) class prior used in the last E-step
    accuracy: float  # shared one-coin accuracy
    pooled: np.ndarray  # (K, K) the shared matrix P
    conf: np.ndarray | None  # (W, K, K) per-worker matrices, None for a "shared" level
    epochs: int

    def worker_confusions(self) -> np.ndarray:
        if self.conf is not None:
            return self.conf
        return np.broadcast_to(self.pooled, (len(self.counts), *self.pooled.shape)).copy()


def _vote_shares(answers: Answers) -> np.ndarray:
    k = answers.n_classes
    counts = np.bincount(answers.items * k + answers.labels, minlength=answers.n_items * k)
    votes = counts.reshape(answers.n_items, k).astype(np.float64) + 1e-3
    shares: np.ndarray = votes / votes.sum(axis=1, keepdims=True)
    return shares


@dataclass(frozen=True)
class _Cells:
    """Flat indices of the ``R×K`` (answer, true class) cells, so that each E- and M-step is one ``bincount``.

    ``worker[r, k] = j K² + k K + l`` indexes worker ``j``'s confusion cell (true ``k``, answered ``l``),
    ``shared[r, k] = k K + l`` the shared matrix's, ``item[r, k] = i K + k`` the item's score; all raveled.
    """

    worker: np.ndarray
    shared: np.ndarray
    item: np.ndarray
    n_items: int
    n_workers: int
    k: int

    @classmethod
    def of(cls, answers: Answers) -> _Cells:
        k = answers.n_classes
        ks = np.arange(k, dtype=np.intp)[None, :]
        shared = (ks * k + answers.labels.astype(np.intp)[:, None]).ravel()
        worker = (answers.workers.astype(np.intp)[:, None] * (k * k) + shared.reshape(-1, k)).ravel()
        item = (answers.items.astype(np.intp)[:, None] * k + ks).ravel()
        return cls(worker, shared, item, answers.n_items, answers.n_workers, k)

    def soft_counts(self, rows: np.ndarray) -> np.ndarray:
        """``N_j[k, l]`` from per-answer rows (R×K)."""
        k = self.k
        counts = np.bincount(self.worker, weights=rows.ravel(), minlength=self.n_workers * k * k)
        return counts.reshape(self.n_workers, k, k)

    def item_soft_counts(self, posteriors: np.ndarray) -> np.ndarray:
        """``N_j[k, l]`` with every answer weighted by its item's posterior (n×K)."""
        k = self.k
        weights = posteriors.ravel()[self.item] if len(self.item) else np.zeros(0)
        counts = np.bincount(self.worker, weights=weights, minlength=self.n_workers * k * k)
        return counts.reshape(self.n_workers, k, k)

    def log_scores(self, prior: np.ndarray, pooled: np.ndarray, conf: np.ndarray | None) -> np.ndarray:
        """n×K log scores: log prior plus the sum of each answer's log-likelihood under each class."""
        if conf is None:
            per_answer = np.log(np.maximum(pooled, _TINY)).ravel()[self.shared]
        else:
            per_answer = np.log(np.maximum(conf, _TINY)).ravel()[self.worker]
        scores = np.bincount(self.item, weights=per_answer, minlength=self.n_items * self.k)
        out: np.ndarray = scores.reshape(self.n_items, self.k) + np.log(np.maximum(prior, _TINY))
        return out


def _rownorm(m: np.ndarray) -> np.ndarray:
    rows = m.sum(axis=-1, keepdims=True)
    return m / np.where(rows > 0, rows, 1.0)


#: The shared accuracy's Beta prior: ``_ACCURACY_PSEUDO`` pseudo-answers, ``_ACCURACY_PRIOR`` of them right.
_ACCURACY_PRIOR, _ACCURACY_PSEUDO = 0.7, 4.0


def _one_coin_accuracy(total: np.ndarray) -> float:
    right = np.trace(total) + _ACCURACY_PRIOR * _ACCURACY_PSEUDO
    return float(right / (total.sum() + _ACCURACY_PSEUDO))


def _models(level: Level, counts: np.ndarray, n_answers: np.ndarray, total: np.ndarray
            ) -> tuple[float, np.ndarray, np.ndarray | None]:
    """(one-coin accuracy, shared matrix P, per-worker matrices or None) from raw soft counts."""
    k = total.shape[0]
    acc = _one_coin_accuracy(total)
    coin = prior_confusion(acc, k)
    pooled = coin if math.isinf(level.pool_strength) else _rownorm(total + level.pool_strength * coin)
    if level.kind == "shared":
        return acc, pooled, None
    if level.kind in ("coin", "coin-full"):
        s = level.coin_strength
        worker_acc = (np.trace(counts, axis1=1, axis2=2) + s * acc) / (n_answers + s)
        worker_coin = prior_confusion(worker_acc, k)
        if level.kind == "coin":
            return acc, pooled, worker_coin
        return acc, pooled, _rownorm(counts + level.worker_strength * worker_coin)
    return acc, pooled, _rownorm(counts + level.worker_strength * pooled[None])


def _em(answers: Answers, level: Level, base: _Stats, start: np.ndarray, max_epochs: int, tol: float) -> _Fit:
    """EM for one level from the posteriors ``start``, until no posterior moves by more than ``tol``.

    Each epoch is one EM step ``F`` (M-step from the posteriors, then E-step). EM converges linearly and
    slowly on large jobs with per-worker matrices, so the steps are accelerated with SQUAREM (Varadhan &
    Roland 2008, scheme S3): from ``p``, two steps give ``r = F(p) - p`` and ``v = F(F(p)) - 2F(p) + p``;
    the extrapolated point ``p - 2αr + α²v`` (``α = -|r|/|v|``, at most -1), projected onto the simplex,
    is kept only when one more step from it moves less than the plain steps did (otherwise ``F(F(p))`` is).
    The fixed point is EM's; only fewer epochs are spent reaching it (every step counts as an epoch).
    """
    k = answers.n_classes
    n_own = np.bincount(answers.workers, minlength=answers.n_workers).astype(np.float64)
    n_answers = base.n_answers + n_own
    cells = _Cells.of(answers)
    uniform = np.full(k, 1.0 / k)

    def step(posteriors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        new = cells.item_soft_counts(posteriors)
        class_counts = base.class_counts + posteriors.sum(axis=0)
        if level.fit_prior:
            prior = (class_counts + _PRIOR_PSEUDO) / (class_counts.sum() + k * _PRIOR_PSEUDO)
        else:
            prior = uniform
        _, pooled, conf = _models(level, base.counts + new, n_answers, base.total + new.sum(axis=0))
        scores = cells.log_scores(prior, pooled, conf)
        return scores, prior, _softmax(scores)

    def moved(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a - b).max(initial=0.0))

    posteriors = start
    scores, prior, epochs = np.zeros_like(start), uniform, 0
    while epochs < max_epochs:
        scores, prior, p1 = step(posteriors)
        epochs += 1
        first = moved(p1, posteriors)
        if first <= tol or epochs >= max_epochs:
            posteriors = p1
            break
        scores, prior, p2 = step(p1)
        epochs += 1
        second = moved(p2, p1)
        if second <= tol or epochs >= max_epochs:
            posteriors = p2
            break
        r = p1 - posteriors
        v = p2 - 2.0 * p1 + posteriors
        norm_v = float(np.sqrt((v * v).sum()))
        if norm_v <= 0.0:
            posteriors = p2
            continue
        alpha = min(-1.0, -float(np.sqrt((r * r).sum())) / norm_v)
        jump = np.clip(posteriors - 2.0 * alpha * r + alpha * alpha * v, 0.0, 1.0)
        sums = jump.sum(axis=1, keepdims=True)
        jump = np.where(sums > 0, jump / np.where(sums > 0, sums, 1.0), p2)
        j_scores, j_prior, p3 = step(jump)
        epochs += 1
        third = moved(p3, jump)
        if third < second:
            scores, prior, posteriors = j_scores, j_prior, p3
            if third <= tol:
                break
        else:
            posteriors = p2
    new = cells.item_soft_counts(posteriors)
    counts = base.counts + new
    total = base.total + new.sum(axis=0)
    class_counts = base.class_counts + posteriors.sum(axis=0)
    acc, pooled, conf = _models(level, counts, n_answers, total)
    return _Fit(level, answers.workers, scores, posteriors, counts, n_answers, total, class_counts, prior,
                acc, pooled, conf, epochs)


def _softmax(scores: np.ndarray) -> np.ndarray:
    if scores.size == 0:
        return scores.copy()
    top = scores.max(axis=1, keepdims=True)
    weights = np.exp(scores - top)
    out: np.ndarray = weights / weights.sum(axis=1, keepdims=True)
    return out


def _item_temperatures(answers: Answers, temperature: float, rho: float) -> np.ndarray:
    """Each item's temperature: ``temperature`` over its design effect ``1 + (m_i - 1) rho`` (``m_i`` answers)."""
    m = np.bincount(answers.items, minlength=answers.n_items).astype(np.float64)
    out: np.ndarray = temperature / (1.0 + (np.maximum(m, 1.0) - 1.0) * rho)
    return out


def _error_correlation(answers: Answers, labels: np.ndarray, conf: np.ndarray) -> tuple[float, float]:
    """(intra-object correlation of disagreements with the label, mean answers per object), objects with 2+.

    Method of moments: if the label is right and errors are independent, the number of an object's
    answers that disagree with it has mean ``sum_r (1 - c_r)`` and variance ``sum_r c_r (1 - c_r)``, with
    ``c_r = C_j[label, label]``; errors shared within objects inflate the variance by ``1 + (m - 1) rho``.
    """
    if len(answers) == 0:
        return 0.0, 1.0
    n = answers.n_items
    own = labels[answers.items]
    agree_p = conf[answers.workers, own, own]
    disagree = (answers.labels != own).astype(np.float64)
    count = np.bincount(answers.items, minlength=n)
    observed = np.bincount(answers.items, weights=disagree, minlength=n)
    expected = np.bincount(answers.items, weights=1.0 - agree_p, minlength=n)
    variance = np.bincount(answers.items, weights=agree_p * (1.0 - agree_p), minlength=n)
    several = count >= 2
    if not several.any() or variance[several].sum() <= 0:
        return 0.0, 1.0
    ratio = float(((observed - expected) ** 2)[several].sum() / variance[several].sum())
    per_item = float(count[several].mean())
    if per_item <= 1.0:
        return 0.0, per_item
    return float(np.clip((ratio - 1.0) / (per_item - 1.0), 0.0, 1.0)), per_item


def _effective_parameters(fit: _Fit) -> float:
    """Free parameters a level fitted, each weighted by how far its data outweigh its shrinkage."""
    level, k = fit.level, fit.total.shape[0]
    p = 1.0 + (k - 1.0 if level.fit_prior else 0.0)
    if not math.isinf(level.pool_strength):
        rows = fit.total.sum(axis=1)
        p += float(((k - 1) * rows / (rows + level.pool_strength)).sum())
    if level.kind in ("coin", "coin-full"):
        p += float((fit.n_answers / (fit.n_answers + level.coin_strength)).sum())
    if level.kind in ("full", "coin-full"):
        rows = fit.counts.sum(axis=2)
        p += float(((k - 1) * rows / (rows + level.worker_strength)).sum())
    return p


def _heldout(answers: Answers, fit: _Fit, temperature: float) -> float:
    """Leave-one-out log-likelihood of every answer (its own soft count removed; no refit)."""
    return _HeldOut.of(answers, fit).score(temperature)


def _best_temperature(heldout: _HeldOut, temperatures: Sequence[float]) -> tuple[float, float]:
    """(best held-out score, its temperature) over the grid, walked from the highest temperature down.

    The held-out log-likelihood is unimodal in ``T`` (sharper posteriors help until they overrule the
    answers), so the walk stops at the first temperature that scores lower than the one before: on most
    jobs after two or three evaluations instead of the whole grid. Ties keep the higher temperature.
    """
    best = (-_INF, 1.0)
    for t in sorted(temperatures, reverse=True):
        score = heldout.score(t)
        if score <= best[0]:
            break
        best = (score, t)
    return best


@dataclass
class _HeldOut:
    """The temperature-free parts of the leave-one-out likelihood (``_heldout``), computed once per level.

    For answer ``(i, j, l)``: ``col[r, k]``, worker ``j``'s probability of ``l`` given class ``k`` with the
    answer's own soft count taken out, and ``others[r, k]``, item ``i``'s log score without this answer
    (shifted so that each row's maximum is 0; a temperature multiplies it).
    """

    others: np.ndarray  # (R, K)
    col: np.ndarray  # (R, K)

    @classmethod
    def of(cls, answers: Answers, fit: _Fit) -> _HeldOut:
        k = answers.n_classes
        if len(answers) == 0:
            return cls(np.zeros((0, k)), np.zeros((0, k)))
        level = fit.level
        items, workers, labels = answers.items, answers.workers, answers.labels
        q = fit.posteriors[items]  # (R, K)
        acc = fit.accuracy
        coin = prior_confusion(acc, k)
        coin_col = coin[:, labels].T  # (R, K)
        if math.isinf(level.pool_strength):
            pool_col = coin_col
            fitted_pool_col = coin_col
        else:
            a0 = level.pool_strength
            total_col = fit.total[:, labels].T
            total_rows = fit.total.sum(axis=1)[None, :]
            pool_col = (total_col - q + a0 * coin_col) / np.maximum(total_rows - q + a0, _TINY)
            fitted_pool_col = fit.pooled[:, labels].T
        if level.kind == "shared":
            col, fitted_col = pool_col, fitted_pool_col
        elif level.kind in ("coin", "coin-full"):
            s0 = level.coin_strength
            trace = np.trace(fit.counts, axis1=1, axis2=2)[workers]
            own = q[np.arange(len(labels)), labels]
            a_minus = (trace - own + s0 * acc) / np.maximum(fit.n_answers[workers] - 1.0 + s0, _TINY)
            coin_col = np.where(np.arange(k)[None, :] == labels[:, None], a_minus[:, None],
                                (1.0 - a_minus[:, None]) / max(k - 1, 1))
            if level.kind == "coin":
                col = coin_col
            else:
                s = level.worker_strength
                worker_col = fit.counts[workers, :, labels]
                worker_rows = fit.counts.sum(axis=2)[workers]
                col = (worker_col - q + s * coin_col) / np.maximum(worker_rows - q + s, _TINY)
            assert fit.conf is not None
            fitted_col = fit.conf[workers, :, labels]
        else:
            s = level.worker_strength
            worker_col = fit.counts[workers, :, labels]
            worker_rows = fit.counts.sum(axis=2)[workers]
            col = (worker_col - q + s * pool_col) / np.maximum(worker_rows - q + s, _TINY)
            assert fit.conf is not None
            fitted_col = fit.conf[workers, :, labels]
        others = fit.scores[items] - np.log(np.maximum(fitted_col, _TINY))
        others -= others.max(axis=1, keepdims=True)
        return cls(others, np.clip(col, _TINY, 1.0))

    def score(self, temperature: float) -> float:
        """The held-out log-likelihood with the other answers' posterior at ``temperature``."""
        if not len(self.col):
            return 0.0
        weights = np.exp(self.others * temperature)
        predicted = (weights * self.col).sum(axis=1) / weights.sum(axis=1)
        return float(np.log(np.maximum(predicted, _TINY)).sum())


def _argmax_ties(posteriors: np.ndarray, item_keys: Sequence[Hashable] | None, seed: int,
                 atol: float = 1e-9) -> np.ndarray:
    top = posteriors.max(axis=1, keepdims=True, initial=0.0)
    tied = posteriors >= top - atol
    labels: np.ndarray = np.argmax(tied, axis=1)
    if item_keys is None:
        return labels
    n_tied = tied.sum(axis=1)
    for i in np.flatnonzero(n_tied > 1):
        choice = tie_break_draw(seed, item_keys[int(i)]) % int(n_tied[i])
        labels[i] = int(np.flatnonzero(tied[i])[choice])
    return labels
