"""The registry of consolidation algorithms by their job / CLI / API name: one explicit dict."""

from __future__ import annotations

from labelloop.core.errors import ValidationError

from .base import Consolidator
from .dawid_skene import DawidSkene
from .majority_vote import MajorityVote

__all__ = ["CONSOLIDATORS", "consolidator", "consolidator_names"]

#: Single-label consolidators by name; multi-label jobs use them as per-class binary estimators.
CONSOLIDATORS: dict[str, type[Consolidator]] = {
    "dawid-skene": DawidSkene,
    "majority-vote": MajorityVote,
}


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
