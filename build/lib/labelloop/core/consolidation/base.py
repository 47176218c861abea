"""The one protocol every single-label consolidation estimator follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np

from .answers import Answers

__all__ = ["Consolidator", "Estimator"]


@runtime_checkable
class Consolidator(Protocol):
    """A single-label estimator: hyper-parameters in ``__init__``, then ``fit`` and learned attributes.

    * ``fit(answers, item_keys=None, *, warm_start=None)`` returns ``self``. ``item_keys[i]`` names
      item ``i`` (majority vote breaks ties with it; Dawid–Skene ignores it). ``warm_start`` is an
      earlier fit's ``state_()`` (Dawid–Skene resumes EM from it; majority vote ignores it).
    * ``fit_predict(...)`` is ``fit(...).labels_``.
    * After a fit: ``posteriors_`` (n_items×K), ``labels_`` (n_items class indices) and
      ``confidence_`` (``round(max posterior, 2)`` per item).
    * ``state_()``: JSON-serialisable plain data to pass as the next fit's ``warm_start``
      (see ``needs_full_refit``).
    """

    posteriors_: np.ndarray
    labels_: np.ndarray
    confidence_: np.ndarray

    def fit(
        self, answers: Answers, item_keys: Sequence[Hashable] | None = None, *, warm_start: Mapping[str, Any] | None = None
    ) -> Self: ...

    def fit_predict(
        self, answers: Answers, item_keys: Sequence[Hashable] | None = None, *, warm_start: Mapping[str, Any] | None = None
    ) -> np.ndarray: ...

    def state_(self) -> dict[str, Any]: ...


class Estimator(ABC):
    """What the single-label estimators share: ``fit_predict`` is ``fit(...).labels_``."""

    labels_: np.ndarray

    @abstractmethod
    def fit(
        self, answers: Answers, item_keys: Sequence[Hashable] | None = None, *, warm_start: Mapping[str, Any] | None = None
    ) -> Self: ...

    def fit_predict(
        self, answers: Answers, item_keys: Sequence[Hashable] | None = None, *, warm_start: Mapping[str, Any] | None = None
    ) -> np.ndarray:
        """``fit(...)`` and return ``labels_``."""
        return self.fit(answers, item_keys, warm_start=warm_start).labels_
