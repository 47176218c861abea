"""Incremental consolidation of a job: each batch costs the same, however large the job has grown.

For the service. Keep one JSON string per job (the consolidation state, NULL at first). For each
batch of newly ready objects (each object consolidated once), call::

    result = consolidate_incremental(
        new_answers, new_item_keys,             # Answers.from_triples(answers of the new objects only)
        job.consolidation_state,                # the stored JSON string / dict, or None
        history=load_all,                       # () -> (Answers, item_keys) of every consolidated object
        algorithm=job.consolidation_algorithm,  #    so far *and* the new ones (only called when due)
        final=not job_has_open_objects,         # the job's last batch: one last full refit
    )
    job.consolidation_state = result.state_json # store it in the same transaction as the labels
    # result.model.labels_[i] / .confidence_[i] label result.item_keys[i]

Most batches are a *warm step*: Dawid–Skene resumes EM from the stored per-worker soft counts on
the new objects only (``O(batch)``). When the answers counted since the last full refit have grown
by ``refit_growth`` (2 by default), ``needs_full_refit`` is true and ``history()`` is loaded for a
*full refit*, exactly ``DawidSkene().fit`` on all consolidated answers; refits at doubling sizes
keep the total cost amortised linear, and their labels cover every consolidated object
(``result.full_refit``: the service relabels the objects whose label changed).

Labels are as good as a fit on all the answers known *at the time*, but Dawid–Skene's labels move
as a job grows: with 3 answers per object, a fit on 90% of a job's objects disagrees with the fit
on all of them on about 2% (10,000 objects) or 0.8% (100,000) of those objects. No scheme that
leaves earlier labels alone can match the final fit on 99.8% of objects, so the job's last batch
passes ``final=True``: one more full refit (at most as costly as all earlier refits together), after
which every label equals ``DawidSkene().fit`` on all the job's answers
(``bench/consolidation.py --scale`` prints the agreement before and after it).

Rules for the caller: the new answers are complete answers of objects not consolidated before
(answers of an object already counted would count twice: re-consolidate through a full refit);
worker keys must be the same across batches (they are matched by ``str(key)``); classes are the
job's labels in a fixed order. Majority vote needs no state: every batch is exact by itself.
The same loop without this helper: ``needs_full_refit(state, len(new_answers))``, then
``consolidator(name).fit(answers, item_keys, warm_start=state)`` and ``model.state_()``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from .answers import Answers
from .base import Consolidator
from .registry import consolidator
from .state import needs_full_refit

__all__ = ["IncrementalResult", "consolidate_incremental"]


@dataclass(frozen=True)
class IncrementalResult:
    """One batch's outcome: ``model.labels_[i]`` is the label of ``item_keys[i]``."""

    model: Consolidator
    item_keys: list[Hashable]
    state: dict[str, Any]
    full_refit: bool

    @property
    def state_json(self) -> str:
        """``state`` as the compact JSON string to store for the job."""
        return json.dumps(self.state, separators=(",", ":"))


def consolidate_incremental(
    new_answers: Answers,
    new_item_keys: Sequence[Hashable],
    state: str | Mapping[str, Any] | None,
    *,
    history: Callable[[], tuple[Answers, Sequence[Hashable]]] | None = None,
    algorithm: str = "dawid-skene",
    final: bool = False,
    **params: object,
) -> IncrementalResult:
    """Consolidate a batch of new objects from the job's stored ``state`` (see the module docstring).

    ``state`` is the previous result's ``state`` / ``state_json`` or None (no object consolidated
    yet, or the state was lost). A full refit runs ``history()`` (all consolidated objects'
    answers, the new ones included) when one is due; without ``history`` the batch is fitted
    alone (right for the first batch; later, a warm step stands in for the refit). ``final``
    (the job's last batch) asks for a full refit whatever the schedule. A state written by another
    algorithm is ignored (as if None).
    """
    if isinstance(state, str):
        state = cast("Mapping[str, Any] | None", json.loads(state))
    if state is not None and state.get("algorithm") != algorithm:
        state = None
    model = consolidator(algorithm, **params)
    due = final or needs_full_refit(state, len(new_answers))
    if due and (history is not None or state is None):
        answers, keys = history() if history is not None else (new_answers, new_item_keys)
        model.fit(answers, keys)
        return IncrementalResult(model, list(keys), model.state_(), True)
    model.fit(new_answers, new_item_keys, warm_start=state)
    return IncrementalResult(model, list(new_item_keys), model.state_(), False)
