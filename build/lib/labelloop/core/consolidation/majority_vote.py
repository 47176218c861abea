"""Majority vote with seeded, reproducible random tie-breaking (the baseline of spec §3.1)."""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Self

import numpy as np

from .answers import Answers
from .base import Estimator

__all__ = ["MajorityVote", "tie_break_draw"]


def tie_break_draw(seed: int, item_key: Hashable) -> int:
    """A stable 64-bit pseudo-random number for ``(seed, str(item_key))``.

    It depends on nothing else (not on row order, worker names or the Python process), so
    consolidating the same answers again gives the same labels.
    """
    digest = hashlib.blake2b(f"{seed}\x1f{item_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class MajorityVote(Estimator):
    """The most frequent answer per item; ties broken at random, reproducibly.

    Attributes after ``fit``: ``posteriors_`` (n_items×K vote shares; all zero for an item
    without answers), ``labels_`` (winning class index), ``confidence_`` (winner's share
    rounded to 2 decimals).

    Among tied classes (in index order) the winner is ``tied[draw % len(tied)]`` with
    ``draw = tie_break_draw(seed, item_key)``: random-looking, yet the same whatever the
    row order or the worker names.

    Each item's label depends on its own answers only, so a warm start is not needed: ``fit``
    ignores ``warm_start``, and ``state_()`` is a small dict that never asks for a full refit.

    >>> a, items, _, classes = Answers.from_triples([("q1", "ann", "cat"), ("q1", "bob", "cat"),
    ...                                              ("q1", "cy", "dog")])
    >>> mv = MajorityVote().fit(a, items)
    >>> [classes[k] for k in mv.labels_], mv.confidence_.tolist()
    (['cat'], [0.67])
    """

    posteriors_: np.ndarray
    labels_: np.ndarray
    confidence_: np.ndarray

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(
        self, answers: Answers, item_keys: Sequence[Hashable] | None = None, *, warm_start: Mapping[str, Any] | None = None
    ) -> Self:
        """Count votes; ``item_keys[i]`` names item ``i`` for tie-breaking (default: ``i``).

        Pass the item keys (as returned by ``Answers.from_triples``) to make ties independent
        of the order in which items were first seen. ``warm_start`` is ignored.
        """
        n_items, k = answers.n_items, answers.n_classes
        if item_keys is not None and len(item_keys) != n_items:
            raise ValueError(f"item_keys has {len(item_keys)} keys for {n_items} items")
        votes = np.bincount(answers.items * k + answers.labels, minlength=n_items * k)
        votes = votes.reshape(n_items, k).astype(np.float64)
        totals = votes.sum(axis=1, keepdims=True)
        shares = votes / np.where(totals > 0, totals, 1.0)
        tied = votes == votes.max(axis=1, keepdims=True)
        n_tied = tied.sum(axis=1)
        labels = votes.argmax(axis=1)
        ties = np.flatnonzero(n_tied > 1)
        if ties.size:
            keys = ties if item_keys is None else [item_keys[int(i)] for i in ties]
            draws = np.array([tie_break_draw(self.seed, key) % int(n) for key, n in zip(keys, n_tied[ties])])
            rank = np.cumsum(tied[ties], axis=1)  # r-th tied class is the first where rank > r
            labels[ties] = np.argmax(rank > draws[:, None], axis=1)
        self.posteriors_ = shares
        self.labels_ = labels
        self.confidence_ = np.round(shares.max(axis=1, initial=0.0), 2)
        return self

    def state_(self) -> dict[str, Any]:
        """``{"algorithm": "majority-vote", "version": 1, "refit_at": None}``: nothing to resume."""
        return {"algorithm": "majority-vote", "version": 1, "refit_at": None}
