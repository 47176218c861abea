"""Gold objects and adaptive consensus at job creation: the columns each data object gets (answers wanted,
its known answer) and the checks of a job's quality settings.

A gold object is a data object whose answer is known: a manifest line with ``"labelloop-gold": "<label>"``
(``core.manifest.GOLD_KEY``) in the input manifest or in a separate gold manifest (``gold_manifest_uri``,
every line gold). It is stored labeled with its known answer (so it is never in the ordinary pool:
``wanted`` 0) and handed out by ``services.tasks`` at the job's gold rate, looking like any other task (the
gold key is removed from the line a worker or a template sees). Gold objects of a separate file are kept out
of the output manifest and LabelCounters (``gold_extra``); those of the input are part of the job.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from labelloop.core.errors import ManifestError, ValidationError
from labelloop.core.lifecycle import ObjectStatus
from labelloop.core.manifest import GOLD_KEY, ManifestRecord
from labelloop.core.tasktypes import TaskType, full_metadata

Extras = Callable[[ManifestRecord], dict[str, Any]]


def check_quality_settings(spec: Any, task_type: TaskType) -> None:
    """The job's consensus range, confidence target, qualification and block settings fit together."""
    low = spec.min_workers_per_object
    if low is not None and low > spec.workers_per_object:
        raise ValidationError(f"min_workers_per_object ({low}) is more than workers_per_object "
                              f"({spec.workers_per_object}), the maximum", field="min_workers_per_object")
    if low is not None and low < spec.workers_per_object and spec.confidence_target is None:
        raise ValidationError("a range of workers per object needs a confidence_target (the posterior at which an "
                              "object stops getting workers)", field="confidence_target")
    gold = spec.gold_manifest_uri is not None or spec.qualification_tasks or spec.block_below_accuracy is not None
    if gold and not single_class(task_type):
        raise ValidationError(f"gold objects, qualification and blocking need a single-label task type, not "
                              f"'{task_type.name}'", field="task_type")


def single_class(task_type: TaskType) -> bool:
    """The type's answers are one class each (gold answers can be scored)."""
    return task_type.autolabel is not None and task_type.autolabel.single_label


def quality_extras(spec: Any, task_type: TaskType, labels: list[str], now: datetime, *, extra: bool,
                   inner: Extras | None) -> Extras:
    """The columns of each data object for quality control, after the task type's own (``inner``)."""
    fixed = spec.min_workers_per_object is None or spec.min_workers_per_object == spec.workers_per_object
    wanted = None if fixed else spec.min_workers_per_object
    where = "gold_manifest_uri" if extra else "input_manifest_uri"

    def extras(rec: ManifestRecord) -> dict[str, Any]:
        out = inner(rec) if inner is not None else {}
        if rec.gold is None:
            if extra:
                raise _bad(rec, f"a gold manifest line needs '{GOLD_KEY}'", where)
            return {**out, "wanted": wanted, "gold": None, "is_gold": False, "gold_extra": False, "label": None,
                    "label_metadata": None, "labeled_at": None}
        if not single_class(task_type):
            raise _bad(rec, f"'{GOLD_KEY}' needs a single-label task type, not '{task_type.name}'", where)
        if rec.gold not in labels:
            raise _bad(rec, f"'{GOLD_KEY}': '{rec.gold}' is not a label of this job", where)
        line = json.loads(rec.text)
        del line[GOLD_KEY]
        metadata = full_metadata({"class-name": rec.gold, "confidence": 1.0}, gt_type=task_type.gt_type,
                                 job_name=spec.name, human=True, at=now)
        return {**out, "line": json.dumps(line, ensure_ascii=False), "status": ObjectStatus.LABELED, "wanted": 0,
                "gold": rec.gold, "is_gold": True, "gold_extra": extra, "label": json.dumps(labels.index(rec.gold)),
                "label_metadata": json.dumps(metadata, ensure_ascii=False), "labeled_at": now}

    return extras


def _bad(rec: ManifestRecord, reason: str, field: str) -> ManifestError:
    what = "gold manifest" if field == "gold_manifest_uri" else "input manifest"
    return ManifestError(f"{what} has a bad line; line {rec.line_no}: {reason}", field=field,
                         details=[{"line": rec.line_no, "reason": reason}])
