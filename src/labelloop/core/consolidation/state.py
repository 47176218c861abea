"""Dawid–Skene's warm-start state: what a job keeps between two consolidation batches.

``DawidSkene.state_()`` returns it as a plain dict of str / int / float / lists (``json.dumps``
round-trips it exactly) and ``DawidSkene.fit(..., warm_start=state)`` takes that dict back. Workers
are named by ``str(worker key)``, never by an index: the next fit's ``Answers`` numbers its workers
differently. Format (``version`` 1)::

    {"algorithm": "dawid-skene", "version": 1, "n_classes": K,
     "n_items": int, "n_answers": int,          # items and answers counted in the statistics
     "n_answers_at_refit": int, "refit_at": int, # last full refit; the next one is due at refit_at
     "global_accuracy": float,                   # the global prior accuracy for the next epoch
     "class_counts": [K floats],                 # sum of the counted items' posteriors
     "workers": {"<worker key>": {"answers": n_j, "soft_counts": [[K floats] * K]}}}

``soft_counts`` are a worker's raw (unsmoothed) soft counts ``N_j[k, l]`` summed over every counted
item; smoothing is applied when they are used, so the statistics simply add up batch after batch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["STATE_VERSION", "DawidSkeneState", "needs_full_refit"]

STATE_VERSION = 1


def needs_full_refit(state: Mapping[str, Any] | None, n_new_answers: int) -> bool:
    """Whether the next batch must be a full refit on all consolidated answers, not a warm step.

    True when there is no state yet, or when counting ``n_new_answers`` more answers reaches the
    state's ``refit_at`` (set by the estimator: by default twice the answers of the last full
    refit, so full refits happen at geometrically spaced sizes and cost amortised linear time).
    A state without a ``refit_at`` (majority vote) never needs one.
    """
    if state is None:
        return True
    refit_at = state.get("refit_at")
    return refit_at is not None and int(state["n_answers"]) + int(n_new_answers) >= int(refit_at)


@dataclass
class DawidSkeneState:
    """The warm-start state as arrays (``from_dict`` / ``to_dict`` convert from / to the JSON form)."""

    n_classes: int
    worker_keys: list[str]
    soft_counts: np.ndarray  # (S, K, K)
    worker_answers: np.ndarray  # (S,)
    class_counts: np.ndarray  # (K,)
    global_accuracy: float
    n_items: int
    n_answers: int
    n_answers_at_refit: int
    refit_at: int
    _index: dict[str, int] | None = field(default=None, repr=False, compare=False)
    #: Which estimator wrote the state ("dawid-skene", "ground-truth", "shrunk-dawid-skene").
    algorithm: str = "dawid-skene"
    #: Hyper-parameters the estimator chose at its last full refit (plain JSON values; may be empty).
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def index(self) -> dict[str, int]:
        """``{worker key: row}`` of ``soft_counts``."""
        if self._index is None:
            self._index = {key: s for s, key in enumerate(self.worker_keys)}
        return self._index

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], n_classes: int, algorithm: str = "dawid-skene") -> DawidSkeneState:
        """Validate a JSON-form state of ``algorithm`` for a fit with ``n_classes`` classes; ValueError if unusable."""
        if not isinstance(data, Mapping) or data.get("algorithm") != algorithm:
            raise ValueError(f"warm_start is not a Dawid-Skene state of {algorithm!r} (see its state_())")
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"warm_start has version {data.get('version')!r}; expected {STATE_VERSION}")
        if data["n_classes"] != n_classes:
            raise ValueError(f"warm_start has {data['n_classes']} classes; the answers have {n_classes}")
        workers = data["workers"]
        keys = list(workers)
        counts = np.array([w["soft_counts"] for w in workers.values()], dtype=np.float64)
        counts = counts.reshape(len(keys), n_classes, n_classes)
        n = np.array([w["answers"] for w in workers.values()], dtype=np.float64)
        class_counts = np.array(data["class_counts"], dtype=np.float64)
        if class_counts.shape != (n_classes,):
            raise ValueError(f"warm_start class_counts must have {n_classes} values")
        if not (np.all(np.isfinite(counts)) and np.all(counts >= 0) and np.all(n >= 0)):
            raise ValueError("warm_start soft counts must be finite and non-negative")
        return cls(n_classes, keys, counts, n, class_counts, float(data["global_accuracy"]),
                   int(data["n_items"]), int(data["n_answers"]), int(data["n_answers_at_refit"]),
                   int(data["refit_at"]), None, algorithm, dict(data.get("params") or {}))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (plain Python types only)."""
        counts = self.soft_counts.tolist()
        n = self.worker_answers.tolist()
        out: dict[str, Any] = {
            "algorithm": self.algorithm,
            "version": STATE_VERSION,
            "n_classes": self.n_classes,
            "n_items": self.n_items,
            "n_answers": self.n_answers,
            "n_answers_at_refit": self.n_answers_at_refit,
            "refit_at": self.refit_at,
            "global_accuracy": self.global_accuracy,
            "class_counts": self.class_counts.tolist(),
            "workers": {key: {"answers": int(n[s]), "soft_counts": counts[s]}
                        for s, key in enumerate(self.worker_keys)},
        }
        if self.params:
            out["params"] = dict(self.params)
        return out

    def merged(self, keys: list[str], counts: np.ndarray, n: np.ndarray, class_counts: np.ndarray,
               global_accuracy: float, n_items: int, n_answers: int) -> DawidSkeneState:
        """A new state where workers ``keys`` have the (total) statistics ``counts`` / ``n``."""
        index = dict(self.index)
        all_keys = list(self.worker_keys)
        rows = np.empty(len(keys), dtype=np.int64)
        for j, key in enumerate(keys):
            s = index.get(key)
            if s is None:
                s = index[key] = len(all_keys)
                all_keys.append(key)
            rows[j] = s
        k = self.n_classes
        new_counts = np.zeros((len(all_keys), k, k))
        new_counts[: len(self.worker_keys)] = self.soft_counts
        new_n = np.zeros(len(all_keys))
        new_n[: len(self.worker_keys)] = self.worker_answers
        new_counts[rows] = counts
        new_n[rows] = n
        return DawidSkeneState(k, all_keys, new_counts, new_n, class_counts, global_accuracy,
                               self.n_items + n_items, self.n_answers + n_answers,
                               self.n_answers_at_refit, self.refit_at, index, self.algorithm, dict(self.params))

    @classmethod
    def after_full_fit(cls, keys: list[str], counts: np.ndarray, n: np.ndarray, class_counts: np.ndarray,
                       global_accuracy: float, n_items: int, n_answers: int, growth: float,
                       algorithm: str = "dawid-skene", params: Mapping[str, Any] | None = None) -> DawidSkeneState:
        """The state of a fit from scratch on ``n_answers`` answers; the next refit is due at ``growth`` times."""
        if len(set(keys)) != len(keys):
            raise ValueError("two workers have the same str(worker key)")
        k = counts.shape[-1]
        return cls(k, keys, counts, n, class_counts, global_accuracy, n_items, n_answers, n_answers,
                   max(n_answers + 1, math.ceil(growth * n_answers)), None, algorithm, dict(params or {}))
