"""The registry of consolidation algorithms by their job / CLI / API name: one explicit dict."""

from __future__ import annotations

from labelloop.core.errors import ValidationError

from .base import Consolidator
from .dawid_skene import DawidSkene, GroundTruthDawidSkene
from .majority_vote import MajorityVote
from .shrunk import ShrunkDawidSkene

__all__ = ["CONSOLIDATORS", "DEFAULT", "consolidator", "consolidator_names"]

#: Single-label consolidators by name; multi-label jobs use them as per-class binary estimators.
#: ``shrunk-dawid-skene`` is the classification task types' default (docs/consolidation.md).
CONSOLIDATORS: dict[str, type[Consolidator]] = {
    "shrunk-dawid-skene": ShrunkDawidSkene,
    "dawid-skene": DawidSkene,
    "ground-truth": GroundTruthDawidSkene,
    "majority-vote": MajorityVote,
}
#: The algorithm ``labelloop consolidate`` uses unless told otherwise (the classification types' default).
DEFAULT = "shrunk-dawid-skene"


def consolidator_names() -> list[str]:
    """The registered names, sorted."""
    return sorted(CONSOLIDATORS)


def consolidator(name: str, **params: object) -> Consolidator:
    """A new estimator ``name`` built with hyper-parameters ``params``.

    An unknown name raises ValidationError on the field ``consolidation_algorithm``; bad
    hyper-parameters raise the estimator's TypeError / ValueError.
    """
    try:
        cls = CONSOLIDATORS[name]
    except (KeyError, TypeError):
        raise ValidationError(
            f"unknown consolidation algorithm '{name}'; use one of {', '.join(consolidator_names())}",
            field="consolidation_algorithm",
        ) from None
    return cls(**params)
