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
the last M-step (the parameters a service persists for the next batch of the same job).

Pure maths: Ground Truth reports confidence 0.00 for an object that only one worker labelled
(spec §2.5); that rule belongs to the caller, not here. With the notebook's strong prior
(``prior_strength=1``) such a lone answer can even be overruled (the class prior may explain a rare
answer as a slip of that worker); with two or more answers per item, unanimous answers always win.
"""

from __future__ import annotations

import numpy as np

from .answers import Answers

_TINY = np.finfo(np.float64).tiny

#: Scale of the smoothing pseudo-counts that jobs and ``labelloop consolidate`` use (see DawidSkene).
DEFAULT_PRIOR_STRENGTH = 0.01


def prior_confusion(accuracy: float | np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrix with ``accuracy`` on the diagonal and the rest spread evenly.

    ``accuracy`` may be a scalar (returns ``K×K``) or an array of shape ``(W,)`` (returns ``W×K×K``).
    """
    acc = np.asarray(accuracy, dtype=np.float64)
    if n_classes == 1:
        return np.ones(acc.shape + (1, 1))
    off = (1.0 - acc) / (n_classes - 1)
    out = np.broadcast_to(off[..., None, None], acc.shape + (n_classes, n_classes)).copy()
    diag = np.arange(n_classes)
    out[..., diag, diag] = acc[..., None]
    return out


class DawidSkene:
    """Modified Dawid–Skene EM estimator (Ground Truth's classification consolidation).

    Attributes after ``fit``: ``posteriors_`` (n_items×K), ``labels_`` (argmax per item;
    posteriors within 1e-9 of the maximum tie and the lowest class index wins, like the
    notebook's ``np.argmax`` but immune to float noise from row order),
    ``confidence_`` (``round(max posterior, 2)``), ``worker_confusions_`` (n_workers×K×K),
    ``worker_accuracy_`` (n_workers; NaN for a worker without answers in this fit),
    ``n_epochs_``, ``log_likelihood_`` (of the last E-step).

    ``prior_strength`` scales the smoothing pseudo-counts of step 3. 1.0 is the notebook's
    algorithm literally: it adds ``1.5 * n_j`` pseudo-counts to *every row* of a worker's matrix,
    several times the worker's own data, which pulls each matrix towards "accuracy on the diagonal,
    errors spread evenly" and loses what is learnt about workers whose errors are asymmetric or
    structured (two similar breeds, "no match" said too often). On real crowd data that costs
    accuracy (s4_Dog_data 0.829, d_jn-product 0.904, against 0.843 and 0.940 for classic
    Dawid–Skene). The default, ``DEFAULT_PRIOR_STRENGTH = 0.01``, keeps the prior's shape and its
    regularising effect for workers with few answers and scores 0.843 and 0.939; see
    ``bench/consolidation.py`` and ``docs/decisions/0004-dawid-skene-prior-strength.md``.
    """

    def __init__(
        self,
        prior_accuracy: float = 0.7,
        max_epochs: int = 20,
        tol: float = 1e-8,
        prior_strength: float = DEFAULT_PRIOR_STRENGTH,
    ) -> None:
        if not 0.0 <= prior_accuracy <= 1.0:
            raise ValueError("prior_accuracy must be in [0, 1]")
        if max_epochs < 1:
            raise ValueError("max_epochs must be at least 1")
        if prior_strength < 0:
            raise ValueError("prior_strength must be >= 0")
        self.prior_accuracy = prior_accuracy
        self.max_epochs = max_epochs
        self.tol = tol
        self.prior_strength = prior_strength

    def fit(self, answers: Answers, initial_worker_confusions: np.ndarray | None = None) -> DawidSkene:
        """Run EM on ``answers``; optionally start from persisted worker confusion matrices.

        A worker without answers in ``answers`` keeps its initial confusion matrix.
        """
        n_items, n_workers, k = answers.n_items, answers.n_workers, answers.n_classes
        conf = self._initial_confusions(answers, initial_worker_confusions)
        posteriors = np.full((n_items, k), 1.0 / k)
        global_acc = float(self.prior_accuracy)
        accuracy = np.full(n_workers, np.nan)
        log_lik = None
        epochs = 0
        for epochs in range(1, self.max_epochs + 1):
            posteriors, new_log_lik = _e_step(answers, posteriors, conf)
            conf, accuracy = _m_step(answers, posteriors, conf, global_acc, self.prior_strength)
            converged = log_lik is not None and abs(new_log_lik - log_lik) <= self.tol * abs(log_lik)
            log_lik = new_log_lik
            if converged:
                break
            if not np.all(np.isnan(accuracy)):
                global_acc = float(np.nanmean(accuracy))
        self.posteriors_ = posteriors
        self.labels_ = _argmax_lowest_on_tie(posteriors)
        self.confidence_ = np.round(posteriors.max(axis=1, initial=0.0), 2)
        self.worker_confusions_ = conf
        self.worker_accuracy_ = accuracy
        self.n_epochs_ = epochs
        self.log_likelihood_ = 0.0 if log_lik is None else float(log_lik)
        return self

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


def _argmax_lowest_on_tie(posteriors: np.ndarray, atol: float = 1e-9) -> np.ndarray:
    """argmax per row, where classes within ``atol`` of the maximum tie and the lowest index wins.

    Summing the same log-likelihood terms in another row order changes the last bits, which
    would otherwise let the row order decide an exact tie.
    """
    top = posteriors.max(axis=1, keepdims=True, initial=0.0)
    return np.argmax(posteriors >= top - atol, axis=1)


def _e_step(answers: Answers, posteriors: np.ndarray, conf: np.ndarray) -> tuple[np.ndarray, float]:
    """New item posteriors and the marginal log-likelihood, computed in log space."""
    n_items, k = posteriors.shape
    class_prior = posteriors.sum(axis=0)
    class_prior = class_prior / class_prior.sum() if n_items else np.full(k, 1.0 / k)
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
    answers: Answers, posteriors: np.ndarray, conf: np.ndarray, global_acc: float, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed confusion matrices and raw per-worker accuracies (NaN if no answers)."""
    n_workers, k = answers.n_workers, answers.n_classes
    base = answers.workers * (k * k) + answers.labels
    item_post = posteriors[answers.items]  # (n_answers, K)
    counts = np.zeros(n_workers * k * k)
    for c in range(k):  # cell (j, c, l) sits at j*K*K + c*K + l
        counts += np.bincount(base + c * k, weights=item_post[:, c], minlength=n_workers * k * k)
    counts = counts.reshape(n_workers, k, k)
    n_answers = np.bincount(answers.workers, minlength=n_workers).astype(np.float64)
    has = n_answers > 0
    accuracy = np.full(n_workers, np.nan)
    accuracy[has] = np.trace(counts[has], axis1=1, axis2=2) / n_answers[has]
    scale = strength * n_answers[has, None, None]
    counts[has] += prior_confusion(accuracy[has], k) * scale
    counts[has] += prior_confusion(global_acc, k) * (scale / 2)
    rows = counts[has].sum(axis=2, keepdims=True)
    new_conf = conf.copy()
    new_conf[has] = counts[has] / np.where(rows > 0, rows, 1.0)
    return new_conf, accuracy
