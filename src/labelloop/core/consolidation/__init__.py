"""Consolidation: turn several workers' answers into one label plus a confidence.

Small estimators in the style of crowd-kit: hyper-parameters in ``__init__``, ``fit()`` returns
``self``, learned state in attributes ending in ``_``. Pure numpy/stdlib.

Every single-label estimator follows ``Consolidator`` (``base.py``); ``consolidator(name)`` builds
one from the registry ``CONSOLIDATORS`` (``registry.py``). Dawid–Skene can resume from a stored
state so that a job's consolidation cost does not grow with the job: see ``incremental.py``.
"""

from .answers import Answers
from .base import Consolidator
from .crowd_csv import read_answers, read_truth, write_results
from .dawid_skene import DEFAULT_PRIOR_STRENGTH, DawidSkene, GroundTruthDawidSkene, prior_confusion
from .incremental import IncrementalResult, consolidate_incremental
from .majority_vote import MajorityVote, tie_break_draw
from .multilabel import MultiLabel
from .registry import CONSOLIDATORS, consolidator, consolidator_names
from .shrunk import LEVELS, ShrunkDawidSkene
from .state import needs_full_refit

#: The registry under its former name (``labelloop consolidate`` and older callers).
ALGORITHMS = CONSOLIDATORS

__all__ = [
    "ALGORITHMS",
    "CONSOLIDATORS",
    "DEFAULT_PRIOR_STRENGTH",
    "LEVELS",
    "Answers",
    "Consolidator",
    "DawidSkene",
    "GroundTruthDawidSkene",
    "IncrementalResult",
    "MajorityVote",
    "MultiLabel",
    "ShrunkDawidSkene",
    "consolidate_incremental",
    "consolidator",
    "consolidator_names",
    "needs_full_refit",
    "prior_confusion",
    "read_answers",
    "read_truth",
    "tie_break_draw",
    "write_results",
]
