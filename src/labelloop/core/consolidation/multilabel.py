"""Multi-label consolidation: one binary "chosen / not chosen" estimator per class (spec §3.1)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Self

import numpy as np

from .answers import Answers
from .registry import CONSOLIDATORS, consolidator, consolidator_names

__all__ = ["MultiLabel"]


class MultiLabel:
    """Ground Truth's multi-label consolidation.

    Every answer is the set of class indices one worker chose for one item (possibly empty).
    For each class ``c`` a binary estimator (``algorithm``, built with ``**params``) sees, from
    every worker who answered an item, "chose c" (1) or "did not choose c" (0).

    Attributes after ``fit``:

    * ``labels_``: per item, the sorted class indices chosen by at least one worker;
    * ``confidence_``: per item, ``{class index: round(P(chosen), 2)}`` for those classes
      (Ground Truth's ``confidence-map``);
    * ``chosen_posteriors_``: n_items×K array of P(chosen) for every class;
    * ``estimators_``: the K fitted binary estimators.

    As for single labels, Ground Truth's "one worker → confidence 0.00" rule is the caller's.
    """

    def __init__(self, algorithm: str = "shrunk-dawid-skene", **params: object) -> None:
        if algorithm not in CONSOLIDATORS:
            raise ValueError(f"unknown algorithm {algorithm!r}; choose from {consolidator_names()}")
        consolidator(algorithm, **params)  # fail early on bad hyper-parameters
        self.algorithm = algorithm
        self.params = params

    def fit(
        self,
        answers: Iterable[tuple[int, int, Iterable[int]]],
        n_items: int,
        n_workers: int,
        n_classes: int,
        item_keys: Sequence[Hashable] | None = None,
    ) -> Self:
        """Fit on ``(item index, worker index, chosen class indices)`` triples.

        ``item_keys`` is passed to every binary estimator (majority vote breaks ties with it).
        """
        items, workers, chosen = _to_arrays(answers, n_classes)
        posteriors = np.zeros((n_items, n_classes))
        self.estimators_ = []
        for c in range(n_classes):
            binary = Answers(items, workers, chosen[:, c].astype(np.int64), n_items, n_workers, 2)
            estimator = consolidator(self.algorithm, **self.params).fit(binary, item_keys)
            posteriors[:, c] = estimator.posteriors_[:, 1]
            self.estimators_.append(estimator)
        any_chosen = np.zeros((n_items, n_classes), dtype=bool)
        np.logical_or.at(any_chosen, items, chosen)
        rounded = np.round(posteriors, 2)
        self.chosen_posteriors_ = posteriors
        self.labels_ = [np.flatnonzero(row).tolist() for row in any_chosen]
        self.confidence_ = [
            {c: float(rounded[i, c]) for c in classes} for i, classes in enumerate(self.labels_)
        ]
        return self


def _to_arrays(
    answers: Iterable[tuple[int, int, Iterable[int]]], n_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    items: list[int] = []
    workers: list[int] = []
    rows: list[np.ndarray] = []
    for item, worker, classes in answers:
        row = np.zeros(n_classes, dtype=bool)
        for c in classes:
            if not 0 <= c < n_classes:
                raise ValueError(f"class index {c!r} out of range [0, {n_classes}) for item {item!r}")
            row[c] = True
        items.append(item)
        workers.append(worker)
        rows.append(row)
    chosen = np.array(rows, dtype=bool).reshape(len(rows), n_classes)
    return np.asarray(items, dtype=np.int64), np.asarray(workers, dtype=np.int64), chosen
