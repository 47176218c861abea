"""Answers: the plain-array input of every consolidation estimator."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Answers:
    """Worker answers as three parallel integer arrays.

    Row ``r`` says: worker ``workers[r]`` gave class ``labels[r]`` to item ``items[r]``.
    Indices are dense: ``0 <= items < n_items``, ``0 <= workers < n_workers``,
    ``0 <= labels < n_classes``. Each row is one answer; a repeated (item, worker) pair
    counts as two answers.

    ``worker_keys`` (optional) names the workers: ``worker_keys[j]`` is the key of worker index
    ``j``. ``from_triples`` fills it in; Dawid–Skene's warm start needs it, because a persisted
    state names workers by key (``str(key)``), not by an index that changes from one fit to the next.
    """

    items: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    n_items: int
    n_workers: int
    n_classes: int
    worker_keys: tuple[Hashable, ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.items)
        if len(self.workers) != n or len(self.labels) != n:
            raise ValueError("items, workers and labels must have the same length")
        for name, bound in (("items", self.n_items), ("workers", self.n_workers),
                            ("labels", self.n_classes)):
            arr = np.asarray(getattr(self, name))
            if arr.ndim != 1 or (n and not np.issubdtype(arr.dtype, np.integer)):
                raise ValueError(f"{name} must be a 1-d integer array")
            if n and (arr.min() < 0 or arr.max() >= bound):
                raise ValueError(f"{name} out of range [0, {bound})")
            object.__setattr__(self, name, arr.astype(np.int64, copy=False))
        if self.n_classes < 1:
            raise ValueError("n_classes must be at least 1")
        if self.worker_keys is not None:
            keys = tuple(self.worker_keys)
            if len(keys) != self.n_workers:
                raise ValueError(f"worker_keys has {len(keys)} keys for {self.n_workers} workers")
            object.__setattr__(self, "worker_keys", keys)

    def __len__(self) -> int:
        return len(self.items)

    def answers_per_item(self) -> np.ndarray:
        """Number of answers each item received (length ``n_items``)."""
        return np.bincount(self.items, minlength=self.n_items)

    @classmethod
    def from_triples(
        cls,
        triples: Iterable[tuple[Hashable, Hashable, Hashable]],
        classes: Sequence[Hashable] | None = None,
    ) -> tuple[Answers, list[Hashable], list[Hashable], list[Hashable]]:
        """Build Answers from ``(item, worker, answer)`` triples of any hashable keys.

        Returns ``(answers, item_keys, worker_keys, class_keys)``: ``item_keys[i]`` is the key of
        item index ``i`` (first-seen order), likewise for workers; ``class_keys`` is ``classes``
        or, by default, the sorted distinct answers. An answer not in ``classes`` raises
        ValueError naming it.
        """
        item_ix: dict[Hashable, int] = {}
        worker_ix: dict[Hashable, int] = {}
        rows_i: list[int] = []
        rows_w: list[int] = []
        raw: list[Any] = []
        for item, worker, answer in triples:
            rows_i.append(item_ix.setdefault(item, len(item_ix)))
            rows_w.append(worker_ix.setdefault(worker, len(worker_ix)))
            raw.append(answer)
        if classes is None and not raw:
            raise ValueError("no answers, and no classes given")
        class_keys = sorted(set(raw)) if classes is None else list(classes)
        if not class_keys:
            raise ValueError("classes is empty")
        class_ix = {c: k for k, c in enumerate(class_keys)}
        if len(class_ix) != len(class_keys):
            raise ValueError("classes contains duplicates")
        try:
            labels = [class_ix[a] for a in raw]
        except KeyError as exc:
            raise ValueError(f"answer {exc.args[0]!r} is not one of the classes {class_keys!r}") from None
        answers = cls(
            items=np.asarray(rows_i, dtype=np.int64),
            workers=np.asarray(rows_w, dtype=np.int64),
            labels=np.asarray(labels, dtype=np.int64),
            n_items=len(item_ix),
            n_workers=len(worker_ix),
            n_classes=len(class_keys),
            worker_keys=tuple(worker_ix),
        )
        return answers, list(item_ix), list(worker_ix), class_keys
