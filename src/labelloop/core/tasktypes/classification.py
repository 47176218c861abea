"""Image and text classification, single label and multi-label (spec §2.4, §3.1, §3.2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labelloop.core.consolidation import Answers, DawidSkene, MajorityVote, MultiLabel
from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes.base import Label, ObjectAnswers, TaskType

ALGORITHMS = ("dawid-skene", "majority-vote")


def _answer_body(answer: Any, element: str) -> tuple[str, dict]:
    """Accept GT's ``{"<element name>": {...}}`` or the bare ``{...}``; return (name, body)."""
    if not isinstance(answer, dict) or not answer:
        raise ValidationError("answer must be a JSON object such as {\"%s\": {...}}" % element, field="answer")
    if "label" in answer or "labels" in answer:
        return element, answer
    if len(answer) != 1:
        raise ValidationError("answer must hold exactly one element's result", field="answer")
    (name, body), = answer.items()
    if not isinstance(body, dict):
        raise ValidationError(f"answer.{name} must be an object", field=f"answer.{name}")
    return name, body


def _model(algorithm: str):
    if algorithm == "dawid-skene":
        return DawidSkene()
    if algorithm == "majority-vote":
        return MajorityVote()
    raise ValidationError(f"unknown consolidation algorithm '{algorithm}'; use one of {ALGORITHMS}", field="algorithm")


class SingleLabel(TaskType):
    def __init__(self, name: str, gt_type: str, media: str, element: str):
        self.name, self.gt_type, self.media, self.element = name, gt_type, media, element

    def validate_answer(self, answer: Any, labels: Sequence[str]) -> dict:
        name, body = _answer_body(answer, self.element)
        label = body.get("label")
        if not isinstance(label, str):
            raise ValidationError(f"answer.{name}.label must be one of the job's labels", field=f"answer.{name}.label")
        if label not in labels:
            raise ValidationError(f"'{label}' is not a label of this job", field=f"answer.{name}.label")
        return {name: {"label": label}}

    def consolidate(self, history, targets, labels, *, algorithm, workers_per_object) -> list[Label]:
        triples = [
            (obj.dataset_object_id, worker, _only_body(content)["label"])
            for obj in history
            for worker, content in obj.answers
        ]
        answers, items, _workers, _classes = Answers.from_triples(triples, classes=list(labels))
        model = _model(algorithm)
        model.fit(answers, item_keys=items) if algorithm == "majority-vote" else model.fit(answers)
        out = []
        for i, key in enumerate(items):
            if key not in targets:
                continue
            index = int(model.labels_[i])
            confidence = 0.0 if workers_per_object == 1 else float(model.confidence_[i])
            out.append(Label(key, index, {"class-name": labels[index], "confidence": confidence}))
        return out


class MultiLabelType(TaskType):
    max_labels = 50

    def __init__(self, name: str, gt_type: str, media: str, element: str):
        self.name, self.gt_type, self.media, self.element = name, gt_type, media, element

    def validate_answer(self, answer: Any, labels: Sequence[str]) -> dict:
        name, body = _answer_body(answer, self.element)
        chosen = body.get("labels")
        field = f"answer.{name}.labels"
        if not isinstance(chosen, list) or not all(isinstance(x, str) for x in chosen):
            raise ValidationError(f"{field} must be a list of the job's labels", field=field)
        unknown = [x for x in chosen if x not in labels]
        if unknown:
            raise ValidationError(f"'{unknown[0]}' is not a label of this job", field=field)
        if len(set(chosen)) != len(chosen):
            raise ValidationError(f"{field} names a label twice", field=field)
        return {name: {"labels": chosen}}

    def consolidate(self, history, targets, labels, *, algorithm, workers_per_object) -> list[Label]:
        index = {label: i for i, label in enumerate(labels)}
        items = [obj.dataset_object_id for obj in history]
        workers = sorted({w for obj in history for w, _ in obj.answers})
        worker_index = {w: i for i, w in enumerate(workers)}
        rows = [
            (i, worker_index[worker], [index[x] for x in _only_body(content)["labels"]])
            for i, obj in enumerate(history)
            for worker, content in obj.answers
        ]
        _model(algorithm)  # names a bad algorithm the same way as single-label
        model = MultiLabel(algorithm=algorithm).fit(rows, len(items), len(workers), len(labels), item_keys=items)
        out = []
        for i, key in enumerate(items):
            if key not in targets:
                continue
            chosen = list(model.labels_[i])
            conf = {str(c): (0.0 if workers_per_object == 1 else float(model.confidence_[i][c])) for c in chosen}
            out.append(Label(key, chosen, {"class-map": {str(c): labels[c] for c in chosen}, "confidence-map": conf}))
        return out


def _only_body(content: dict) -> dict:
    (body,) = content.values()
    return body


from labelloop.core.tasktypes import register  # noqa: E402

register(SingleLabel("image-classification", "groundtruth/image-classification", "image", "crowd-image-classifier"))
register(SingleLabel("text-classification", "groundtruth/text-classification", "text", "crowd-classifier"))
register(
    MultiLabelType(
        "image-classification-multilabel",
        "groundtruth/image-classification-multilabel",
        "image",
        "crowd-image-classifier-multi-select",
    )
)
register(
    MultiLabelType(
        "text-classification-multilabel",
        "groundtruth/text-classification-multilabel",
        "text",
        "crowd-classifier-multi-select",
    )
)
