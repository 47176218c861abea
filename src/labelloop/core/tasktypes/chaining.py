"""Chained jobs that audit an earlier job's labels (spec §1.1, §1.2, §2.4), for any auditable task type.

A chained job's label configuration names ``auditLabelAttributeName``: the label attribute name (LAN) of
the earlier job, which every input line (a line of that job's output manifest) must carry. The chained job
writes under its own, different LAN.

* **Adjustment** (``<type>-adjustment``): the base type's element, its ``initial-value`` the earlier label
  (``base.initial_value(prior)``); output as the base type's (same ``type``) plus ``adjustment-status``:
  ``adjusted`` when a worker changed anything (the element's ``initialValueModified``), else ``unadjusted``.
* **Verification** (``<type>-verification``): the earlier label shown on the data (``base.preview``) and a
  verdict chosen from the job's labels (e.g. ``correct`` / ``needs work``) with ``crowd-classifier``;
  consolidated as single-label classification, output ``type`` ``groundtruth/label-verification``.

A task type takes part by setting ``auditable`` and providing ``initial_value`` and ``preview``; nothing in
services or web knows which types those are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes.base import Label, ObjectAnswers, TaskType
from labelloop.core.tasktypes.classification import SingleLabel

__all__ = ["AUDIT_KEY", "Adjustment", "Verification", "audit_lan"]

AUDIT_KEY = "auditLabelAttributeName"


def audit_lan(label_config: dict[str, Any], lan: str) -> str:
    """The earlier job's LAN named by a chained job's label configuration (checked)."""
    audit = label_config.get(AUDIT_KEY)
    if not isinstance(audit, str) or not audit:
        raise ValidationError(f"a chained job's label configuration needs '{AUDIT_KEY}': the LAN of the job it "
                              "audits", field="label_config")
    if audit == lan:
        raise ValidationError(f"the label attribute name must differ from {AUDIT_KEY} '{audit}'",
                              field="label_attribute_name")
    return audit


def _chained_checker(audit: str, base: Callable[[dict[str, Any]], str | None] | None
                     ) -> Callable[[dict[str, Any]], str | None]:
    def check(line: dict[str, Any]) -> str | None:
        if audit not in line:
            return f"has no earlier label '{audit}' to audit (the {AUDIT_KEY} of this job)"
        return base(line) if base is not None else None

    return check


class Adjustment(TaskType):
    """Workers correct an earlier job's labels of ``base``'s type."""

    def __init__(self, base: TaskType):
        self.base = base
        self.name, self.gt_type, self.media, self.element = (f"{base.name}-adjustment", base.gt_type, base.media,
                                                              base.element)
        self.template, self.algorithms, self.min_labels, self.max_labels = (base.template, base.algorithms,
                                                                            base.min_labels, base.max_labels)
        self.reads_text_ref, self.export_formats = base.reads_text_ref, base.export_formats
        self.lan_must_end_with_ref = base.lan_must_end_with_ref

    def line_checker(self, label_config: dict[str, Any], lan: str) -> Callable[[dict[str, Any]], str | None]:
        return _chained_checker(audit_lan(label_config, lan), None)

    def task_input(self, line: dict[str, Any], label_config: dict[str, Any], short: str, full: str) -> dict[str, Any]:
        out = self.base.task_input(line, label_config, short, full)
        audit = str(label_config.get(AUDIT_KEY, ""))
        labels = [x["label"] for x in label_config.get("labels", [])]
        out["initialValue"] = self.base.initial_value_of(line, audit, labels) if audit in line else []
        return out

    def validate_answer(self, answer: Any, labels: Sequence[str]) -> dict[str, Any]:
        return self.base.validate_answer(answer, labels)

    def export_record(self, dataset_object_id: int, line: dict[str, Any], task_input: dict[str, Any] | None,
                      value: Any, metadata: dict[str, Any]) -> Any:
        return self.base.export_record(dataset_object_id, line, task_input, value, metadata)

    def consolidate(self, history: Sequence[ObjectAnswers], targets: set[int], labels: Sequence[str], *,
                    algorithm: str, workers_per_object: int) -> list[Label]:
        made = self.base.consolidate(history, targets, labels, algorithm=algorithm,
                                     workers_per_object=workers_per_object)
        changed = {obj.dataset_object_id: any(
            isinstance(body, dict) and body.get("initialValueModified") is True
            for _, content in obj.answers for body in content.values()) for obj in history}
        return [Label(x.dataset_object_id, x.value, {**x.metadata, "adjustment-status":
                                                     "adjusted" if changed.get(x.dataset_object_id) else "unadjusted"})
                for x in made]


class Verification(SingleLabel):
    """Workers judge an earlier job's labels of ``base``'s type; the verdict labels are the job's own."""

    def __init__(self, base: TaskType):
        super().__init__(f"{base.name}-verification", base.media, "crowd-classifier")
        self.base = base
        self.gt_type = "groundtruth/label-verification"
        self.template = f"{base.template}-verification"
        self.autolabel = None
        self.reads_text_ref = base.reads_text_ref

    def line_checker(self, label_config: dict[str, Any], lan: str) -> Callable[[dict[str, Any]], str | None]:
        return _chained_checker(audit_lan(label_config, lan), None)

    def task_input(self, line: dict[str, Any], label_config: dict[str, Any], short: str, full: str) -> dict[str, Any]:
        out = super().task_input(line, label_config, short, full)
        audit = str(label_config.get(AUDIT_KEY, ""))
        data = line.get("source", line.get("source-ref"))
        out["preview"] = self.base.preview(str(data or ""), line.get(audit))
        return out
