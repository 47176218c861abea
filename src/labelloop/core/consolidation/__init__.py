"""Consolidation: turn several workers' answers into one label plus a confidence.

Small estimators in the style of crowd-kit: hyper-parameters in ``__init__``, ``fit()`` returns
``self``, learned state in attributes ending in ``_``. Pure numpy/stdlib.
"""

from .answers import Answers
from .crowd_csv import read_answers, read_truth, write_results
from .dawid_skene import DEFAULT_PRIOR_STRENGTH, DawidSkene, prior_confusion
from .majority_vote import MajorityVote, tie_break_draw
from .multilabel import BINARY_ALGORITHMS, MultiLabel

#: Single-label algorithms by their CLI / API name.
ALGORITHMS = dict(BINARY_ALGORITHMS)

__all__ = [
    "ALGORITHMS",
    "DEFAULT_PRIOR_STRENGTH",
    "Answers",
    "DawidSkene",
    "MajorityVote",
    "MultiLabel",
    "prior_confusion",
    "read_answers",
    "read_truth",
    "tie_break_draw",
    "write_results",
]
