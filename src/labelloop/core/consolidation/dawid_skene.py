"""Modified Dawid–Skene, the EM consolidation Ground Truth uses for classification.

The maths follows AWS's annotation-consolidation notebook (spec §3.2):

1. Item posteriors start uniform ``1/K``; every worker's confusion matrix ``C_j`` (rows: true
   class, columns: answered class) starts as ``prior_confusion(a, K)``: ``a`` on the diagonal and
   ``(1 - a) / (K - 1)`` elsewhere, with global prior accuracy ``a = prior_accuracy``.
2. E-step: class prior ``pi`` = normalised sum of the current item posteriors; for item ``i``,
   ``p_i[k] ∝ pi[k] * prod_j C_j[k, answer_ij]``.
3. M-step: soft counts ``N_j[k, l] = sum_i p_i[k]`` over the items where ``j`` answered ``l``;
   worker accuracy ``acc_j = trace(N_j) / n_j`` (``n_j`` = number of answers of ``j``); smoothing
   ``N_j += prior_confusion(acc_j) * n_j + prior_confusion(a) * n_j / 2``; rows normalised.
4. The global prior accuracy ``a`` for the next epoch is the (unweighted) mean worker accuracy.
5. Stop after ``max_epochs`` epochs, or when the relative change of the log-likelihood is below
   ``tol``.

Two deliberate differences from the notebook's code, both bugs there:

* the notebook computes its log-likelihood from arrays it has already normalised in place (a
  shallow ``dict.copy()``), so the log-likelihood is always 0 and it always runs 20 epochs; we
  compute the true marginal log-likelihood ``sum_i log sum_k pi[k] prod_j C_j[k, answer_ij]``;
* its stopping test ``(ll - ll_prev) / ll_prev < tol`` is negative (hence true) whenever the
  log-likelihood improves; we use ``|ll - ll_prev| <= tol * |ll_prev|``.

As in the notebook, ``posteriors_`` come from the last E-step and ``worker_confusions_`` from
the last M-step.

Warm start (so that a job's consolidation cost does not grow with the job): after a fit,
``state_()`` is a JSON-serialisable dict (see ``state.py``) holding each worker's raw soft counts
``N_j`` and answer count ``n_j`` keyed by ``str(worker key)``, the summed item posteriors (the class
prior) and the global prior accuracy. ``fit(new_answers, item_keys, warm_start=state)`` then runs EM
on the *new* items only, with every sufficient statistic of the M-step and the class prior of the
E-step taken as ``state + new items``: the new items' soft counts are added to the stored ones, the
smoothing and the global prior accuracy are computed over all counted answers, and workers absent
from the batch keep their stored counts. The earlier items' posteriors are not revisited (their
soft counts stay as they were), so a warm step costs ``O(batch * K * epochs + S * K^2)`` for
``S`` known workers, whatever the job's size. A full refit (a fit without ``warm_start`` on all the
consolidated answers) recomputes everything; ``needs_full_refit(state, n_new)`` says when one is due
(when the counted answers reach ``refit_growth`` times those of the last full refit). The new
batch's items must not have been counted in the state before (each object is consolidated once
between two full refits). ``incremental.py`` shows the service how to chain this.

Pure maths: Ground Truth reports confidence 0.00 for an object that only one worker labelled
(spec §2.5); that rule belongs to the caller, not here. With the notebook's strong prior
(``prior_strength=1``) such a lone answer can even be overruled (the class prior may explain a rare
answer as a slip of that worker); with two or more answers per item, unanimous answers always win.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from .answers import Answers
from .base import Estimator
from .state import DawidSkeneState

__all__ = ["DEFAULT_PRIOR_STRENGTH", "DawidSkene", "GroundTruthDawidSkene", "prior_confusion"]

_TINY = np.finfo(np.float64).tiny

#: Scale of the smoothing pseudo-counts that jobs and ``labelloop consolidate`` use (see DawidSkene).
DEFAULT_PRIOR_STRENGTH = 0.01


def prior_confusion(accuracy: float | np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrix with ``accuracy`` on the diagonal and the rest spread evenly.

    ``accuracy`` may be a scalar (returns ``K×K``) or an array of shape ``(W,)`` (returns ``W×K×K``).
    """
    acc = np.asarray(accuracy, dtype=np.float64)
    if n_classes == 1:
        return np.ones((*acc.shape, 1, 1))
    off = (1.0 - acc) / (n_classes - 1)
    out = np.broadcast_to(off[..., None, None], (*acc.shape, n_classes, n_classes)).copy()
    diag = np.arange(n_classes)
    out[..., diag, diag] = acc[..., None]
    return out


class DawidSkene(Estimator):
    """Modified Dawid–Skene EM estimator (Ground Truth's classification consolidation).

    Attributes after ``fit``: ``posteriors_`` (n_items×K), ``labels_`` (argmax per item;
    posteriors within 1e-9 of the maximum tie and the lowest class index wins, like the
    notebook's ``np.argmax`` but immune to float noise from row order),
    ``confidence_`` (``round(max posterior, 2)``), ``worker_confusions_`` (n_workers×K×K),
    ``worker_accuracy_`` (n_workers; NaN for a worker without answers in this fit),
    ``n_epochs_``, ``log_likelihood_`` (of the last E-step), ``warm_started_`` (bool).
    ``state_()`` gives the warm-start state of the fit (it needs ``answers.worker_keys``).

    ``prior_strength`` scales the smoothing pseudo-counts of step 3. 1.0 is the notebook's
    algorithm literally: it adds ``1.5 * n_j`` pseudo-counts to *every row* of a worker's matrix,
    several times the worker's own data, which pulls each matrix towards "accuracy on the diagonal,
    errors spread evenly" and loses what is learnt about workers whose errors are asymmetric or
    structured (two similar breeds, "no match" said too often). On real crowd data that costs
    accuracy (s4_Dog_data 0.829, d_jn-product 0.904, against 0.843 and 0.940 for classic
    Dawid–Skene). The default, ``DEFAULT_PRIOR_STRENGTH = 0.01``, keeps the prior's shape and its
    regularising effect for workers with few answers and scores 0.843 and 0.939; see
    ``bench/consolidation.py`` and ``docs/decisions/0004-dawid-skene-prior-strength.md``.

    Warm start: ``fit(answers, item_keys, warm_start=state)`` with ``state`` an earlier fit's
    ``state_()`` (or its ``json.loads(json.dumps(...))``) resumes EM from the stored worker soft
    counts, class prior and global prior accuracy, on the new items of ``answers`` only (see the
    module docstring). ``refit_growth`` sets when ``needs_full_refit`` asks for a full refit: once
    the counted answers reach ``refit_growth`` times those of the last fit from scratch.

    >>> import json
    >>> a, items, workers, classes = Answers.from_triples(
    ...     [("q1", "ann", "cat"), ("q1", "bob", "cat"), ("q1", "cy", "dog"),
    ...      ("q2", "ann", "dog"), ("q2", "bob", "dog"), ("q2", "cy", "dog")])
    >>> ds = DawidSkene().fit(a, items)
    >>> [classes[k] for k in ds.labels_], ds.confidence_.tolist()
    (['cat', 'dog'], [1.0, 1.0])
    >>> state = json.loads(json.dumps(ds.state_()))
    >>> b, new_items, _, _ = Answers.from_triples(
    ...     [("q3", "cy", "cat"), ("q3", "ann", "cat"), ("q3", "dan", "dog")], classes=classes)
    >>> [classes[k] for k in DawidSkene().fit_predict(b, new_items, warm_start=state)]
    ['cat']
    """

    #: The ``algorithm`` written in (and required of) a warm-start state.
    state_name = "dawid-skene"

    def __init__(
        self,
        prior_accuracy: float = 0.7,
        max_epochs: int = 20,
        tol: float = 1e-8,
        prior_strength: float = DEFAULT_PRIOR_STRENGTH,
        refit_growth: float = 2.0,
    ) -> None:
        if not 0.0 <= prior_accuracy <= 1.0:
            raise ValueError("prior_accuracy must be in [0, 1]")
        if max_epochs < 1:
            raise ValueError("max_epochs must be at least 1")
        if prior_strength < 0:
            raise ValueError("prior_strength must be >= 0")
        if not refit_growth > 1.0:
            raise ValueError("refit_growth must be > 1")
        self.prior_accuracy = prior_accuracy
        self.max_epochs = max_epochs
        self.tol = tol
        self.prior_strength = prior_strength
        self.refit_growth = refit_growth

    # After fit: the pieces state_() builds the state from (a full fit), or the state itself.
    _state: tuple[tuple[Hashable, ...] | None, _EM, int, int] | DawidSkeneState

    def fit(
        self,
        answers: Answers,
        item_keys: Sequence[Hashable] | None = None,
        *,
        warm_start: Mapping[str, Any] | None = None,
        initial_worker_confusions: np.ndarray | None = None,
    ) -> Self:
        """Run EM on ``answers`` (``item_keys`` is accepted for the common signature and unused).

        ``warm_start``: a state from ``state_()``; EM resumes from it on these (new) items.
        ``initial_worker_confusions`` (low level, by worker index): starting matrices for a fit
        from scratch; a worker without answers in ``answers`` keeps its initial matrix.
        """
        if warm_start is not None:
            if initial_worker_confusions is not None:
                raise ValueError("pass warm_start or initial_worker_confusions, not both")
            return self._fit_warm(answers, DawidSkeneState.from_dict(warm_start, answers.n_classes, self.state_name))
        conf = self._initial_confusions(answers, initial_worker_confusions)
        em = self._em(answers, conf, float(self.prior_accuracy), None)
        self._set_results(em, warm=False)
        self._state = (answers.worker_keys, em, answers.n_items, len(answers))  # built by state_()
        return self

    def state_(self) -> dict[str, Any]:
        """The warm-start state after this fit, as JSON-serialisable plain data (see ``state.py``)."""
        if not hasattr(self, "_state"):
            raise AttributeError("state_() is available after fit()")
        if isinstance(self._state, tuple):
            worker_keys, em, n_items, n_answers = self._state
            if worker_keys is None:
                raise ValueError("state_() needs answers.worker_keys (build Answers with from_triples)")
            self._state = DawidSkeneState.after_full_fit(
                [str(key) for key in worker_keys], em.counts, em.n_answers, em.posteriors.sum(axis=0),
                em.next_global_acc, n_items, n_answers, self.refit_growth, self.state_name)
        return self._state.to_dict()

    def _fit_warm(self, answers: Answers, state: DawidSkeneState) -> Self:
        if answers.worker_keys is None:
            raise ValueError("warm_start needs answers.worker_keys (build Answers with from_triples)")
        keys = [str(key) for key in answers.worker_keys]
        if len(set(keys)) != len(keys):
            raise ValueError("two workers have the same str(worker key)")
        base = _Base.of(state, keys)
        k = answers.n_classes
        conf = prior_confusion(np.full(answers.n_workers, float(self.prior_accuracy)), k)
        known = base.n_answers > 0
        conf[known] = _smooth(base.counts[known], base.n_answers[known], state.global_accuracy,
                              self.prior_strength)
        em = self._em(answers, conf, state.global_accuracy, base)
        self._set_results(em, warm=True)
        self._state = state.merged(keys, em.counts, em.n_answers, state.class_counts + em.posteriors.sum(axis=0),
                                   em.next_global_acc, answers.n_items, len(answers))
        return self

    def _em(self, answers: Answers, conf: np.ndarray, global_acc: float, base: _Base | None) -> _EM:
        posteriors = np.full((answers.n_items, answers.n_classes), 1.0 / answers.n_classes)
        accuracy = np.full(answers.n_workers, np.nan)
        counts, n_answers = np.zeros(conf.shape), np.zeros(answers.n_workers)
        log_lik = None
        epochs = 0
        for epochs in range(1, self.max_epochs + 1):  # noqa: B007 - read after the loop
            posteriors, new_log_lik = _e_step(answers, posteriors, conf, None if base is None else base.class_counts)
            conf, accuracy, counts, n_answers = _m_step(answers, posteriors, conf, global_acc, self.prior_strength, base)
            converged = log_lik is not None and abs(new_log_lik - log_lik) <= self.tol * abs(log_lik)
            log_lik = new_log_lik
            if converged:
                break
            global_acc = _global_accuracy(accuracy, base, global_acc)
        next_global = _global_accuracy(accuracy, base, global_acc)
        return _EM(posteriors, conf, accuracy, counts, n_answers, next_global, epochs,
                   0.0 if log_lik is None else float(log_lik))

    def _set_results(self, em: _EM, warm: bool) -> None:
        self.posteriors_ = em.posteriors
        self.labels_ = _argmax_lowest_on_tie(em.posteriors)
        self.confidence_ = np.round(em.posteriors.max(axis=1, initial=0.0), 2)
        self.worker_confusions_ = em.conf
        self.worker_accuracy_ = em.accuracy
        self.n_epochs_ = em.epochs
        self.log_likelihood_ = em.log_lik
        self.warm_started_ = warm

    def _initial_confusions(self, answers: Answers, initial: np.ndarray | None) -> np.ndarray:
        shape = (answers.n_workers, answers.n_classes, answers.n_classes)
        if initial is None:
            return prior_confusion(np.full(shape[0], float(self.prior_accuracy)), shape[1])
        conf = np.array(initial, dtype=np.float64)
        if conf.shape != shape:
            raise ValueError(f"initial_worker_confusions must have shape {shape}, got {conf.shape}")
        if np.any(conf < 0) or not np.all(np.isfinite(conf)):
            raise ValueError("initial_worker_confusions must be finite and non-negative")
        return conf


class GroundTruthDawidSkene(DawidSkene):
    """The literal algorithm of AWS's notebook (spec §3.2): ``DawidSkene(prior_strength=1.0)``.

    Registered as ``"ground-truth"`` for requesters who want Ground Truth's own numbers; its
    warm-start state is tagged ``"ground-truth"``.
    """

    state_name = "ground-truth"

    def __init__(self, prior_accuracy: float = 0.7, max_epochs: int = 20, tol: float = 1e-8,
                 prior_strength: float = 1.0, refit_growth: float = 2.0) -> None:
        super().__init__(prior_accuracy, max_epochs, tol, prior_strength, refit_growth)


@dataclass
class _EM:
    posteriors: np.ndarray
    conf: np.ndarray
    accuracy: np.ndarray
    counts: np.ndarray  # raw soft counts of the last M-step (state + new items when warm)
    n_answers: np.ndarray
    next_global_acc: float
    epochs: int
    log_lik: float


@dataclass
class _Base:
    """A warm start's stored statistics, aligned with the workers of the new ``Answers``."""

    counts: np.ndarray  # (W, K, K) stored soft counts of this fit's workers (0 for new workers)
    n_answers: np.ndarray  # (W,)
    class_counts: np.ndarray  # (K,)
    other_acc_sum: float  # sum of the accuracies of stored workers absent from this fit
    other_n: int  # how many such workers

    @classmethod
    def of(cls, state: DawidSkeneState, keys: list[str]) -> _Base:
        k = state.n_classes
        counts, n = np.zeros((len(keys), k, k)), np.zeros(len(keys))
        index = state.index
        pairs = [(j, index[key]) for j, key in enumerate(keys) if key in index]
        present = np.zeros(len(state.worker_keys), dtype=bool)
        if pairs:
            mine, rows = (np.array(col, dtype=np.int64) for col in zip(*pairs))
            counts[mine], n[mine] = state.soft_counts[rows], state.worker_answers[rows]
            present[rows] = True
        other = ~present & (state.worker_answers > 0)
        acc = np.trace(state.soft_counts[other], axis1=1, axis2=2) / state.worker_answers[other]
        return cls(counts, n, state.class_counts, float(acc.sum()), int(other.sum()))


def _global_accuracy(accuracy: np.ndarray, base: _Base | None, current: float) -> float:
    """Unweighted mean worker accuracy (over every counted worker when warm); ``current`` if none."""
    if base is None:
        return current if np.all(np.isnan(accuracy)) else float(np.nanmean(accuracy))
    has = ~np.isnan(accuracy)
    n = base.other_n + int(has.sum())
    return current if n == 0 else float((base.other_acc_sum + accuracy[has].sum()) / n)


def _smooth(counts: np.ndarray, n_answers: np.ndarray, global_acc: float, strength: float) -> np.ndarray:
    """Row-normalised confusions from raw soft counts (step 3's smoothing), for workers with answers."""
    k = counts.shape[-1]
    accuracy = np.trace(counts, axis1=1, axis2=2) / n_answers
    scale = strength * n_answers[:, None, None]
    smoothed = counts + prior_confusion(accuracy, k) * scale
    smoothed += prior_confusion(global_acc, k) * (scale / 2)
    rows = smoothed.sum(axis=2, keepdims=True)
    return smoothed / np.where(rows > 0, rows, 1.0)


def _argmax_lowest_on_tie(posteriors: np.ndarray, atol: float = 1e-9) -> np.ndarray:
    """argmax per row, where classes within ``atol`` of the maximum tie and the lowest index wins.

    Summing the same log-likelihood terms in another row order changes the last bits, which
    would otherwise let the row order decide an exact tie.
    """
    top = posteriors.max(axis=1, keepdims=True, initial=0.0)
    labels: np.ndarray = np.argmax(posteriors >= top - atol, axis=1)
    return labels


def _e_step(
    answers: Answers, posteriors: np.ndarray, conf: np.ndarray, base_class_counts: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """New item posteriors and the marginal log-likelihood, computed in log space.

    ``base_class_counts`` (warm start): the stored items' summed posteriors, added to the class prior.
    """
    n_items, k = posteriors.shape
    class_prior = posteriors.sum(axis=0)
    if base_class_counts is not None:
        class_prior = class_prior + base_class_counts
    total_prior = class_prior.sum()
    class_prior = class_prior / total_prior if total_prior > 0 else np.full(k, 1.0 / k)
    log_conf = np.log(np.maximum(conf, _TINY))
    per_answer = log_conf[answers.workers, :, answers.labels]  # (n_answers, K)
    scores = np.empty((n_items, k))
    for c in range(k):
        scores[:, c] = np.bincount(answers.items, weights=per_answer[:, c], minlength=n_items)
    scores += np.log(np.maximum(class_prior, _TINY))
    top = scores.max(axis=1, keepdims=True)
    weights = np.exp(scores - top)
    total = weights.sum(axis=1, keepdims=True)
    log_lik = float((top + np.log(total)).sum())
    return weights / total, log_lik


def _m_step(
    answers: Answers, posteriors: np.ndarray, conf: np.ndarray, global_acc: float, strength: float,
    stored: _Base | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Smoothed confusions, raw per-worker accuracies (NaN if no answers), raw soft counts, answer counts.

    With ``stored`` (warm start) the stored counts are added to this fit's before anything else.
    """
    n_workers, k = answers.n_workers, answers.n_classes
    base = answers.workers * (k * k) + answers.labels
    item_post = posteriors[answers.items]  # (n_answers, K)
    counts: np.ndarray = np.zeros(n_workers * k * k)
    for c in range(k):  # cell (j, c, l) sits at j*K*K + c*K + l
        counts += np.bincount(base + c * k, weights=item_post[:, c], minlength=n_workers * k * k)
    counts = counts.reshape(n_workers, k, k)
    n_answers = np.bincount(answers.workers, minlength=n_workers).astype(np.float64)
    if stored is not None:
        counts += stored.counts
        n_answers += stored.n_answers
    raw = counts.copy()
    has = n_answers > 0
    accuracy = np.full(n_workers, np.nan)
    accuracy[has] = np.trace(counts[has], axis1=1, axis2=2) / n_answers[has]
    scale = strength * n_answers[has, None, None]
    counts[has] += prior_confusion(accuracy[has], k) * scale
    counts[has] += prior_confusion(global_acc, k) * (scale / 2)
    rows = counts[has].sum(axis=2, keepdims=True)
    new_conf = conf.copy()
    new_conf[has] = counts[has] / np.where(rows > 0, rows, 1.0)
    return new_conf, accuracy, raw, n_answers
