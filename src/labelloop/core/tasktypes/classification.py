"""Image and text classification, single label and multi-label (spec §2.4, §3.1, §3.2)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from labelloop.core.consolidation import Answers, MultiLabel, consolidate_incremental, consolidator
from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes.base import AutoLabeling, Label, ObjectAnswers, TaskType

#: The first is the default (docs/consolidation.md): Dawid-Skene whose worker models shrink toward a shared one
#: as far as the data asks; classic Dawid-Skene, Ground Truth's literal algorithm and majority vote on request.
ALGORITHMS = ("shrunk-dawid-skene", "dawid-skene", "ground-truth", "majority-vote")

#: Decimal places of the raw posterior kept in a label's metadata ("confidence", "confidence-map"). The output
#: manifest writes Ground Truth's rounded and capped figure from it (core/output_confidence.py).
CONFIDENCE_DIGITS = 4


def _answer_body(answer: Any, element: str) -> tuple[str, dict[str, Any]]:
    """Accept GT's ``{"<element name>": {...}}`` or the bare ``{...}``; return (name, body)."""
    if not isinstance(answer, dict) or not answer:
        raise ValidationError(f"answer must be a JSON object such as {{\"{element}\": {{...}}}}", field="answer")
    if "label" in answer or "labels" in answer:
        return element, answer
    if len(answer) != 1:
        raise ValidationError("answer must hold exactly one element's result", field="answer")
    ((name, body),) = answer.items()
    if not isinstance(body, dict):
        raise ValidationError(f"answer.{name} must be an object", field=f"answer.{name}")
    return name, body


def _only_body(content: dict[str, Any]) -> dict[str, Any]:
    (body,) = content.values()
    return body  # type: ignore[no-any-return]


class _Classification(TaskType):
    algorithms = ALGORITHMS

    def __init__(self, name: str, media: str, element: str):
        self.name, self.gt_type, self.media, self.element = name, f"groundtruth/{name}", media, element
        self.template = name


class SingleLabel(_Classification):
    def __init__(self, name: str, media: str, element: str):
        super().__init__(name, media, element)
        self.autolabel = AutoLabeling(media=media)

    def validate_answer(self, answer: Any, labels: Sequence[str]) -> dict[str, Any]:
        name, body = _answer_body(answer, self.element)
        label = body.get("label")
        if not isinstance(label, str):
            raise ValidationError(f"answer.{name}.label must be one of the job's labels", field=f"answer.{name}.label")
        if label not in labels:
            raise ValidationError(f"'{label}' is not a label of this job", field=f"answer.{name}.label")
        return {name: {"label": label}}

    def consolidate(self, history: Sequence[ObjectAnswers], targets: set[int], labels: Sequence[str], *,
                    algorithm: str, workers_per_object: int) -> list[Label]:
        answers, items = _answers(history, labels)
        model = consolidator(algorithm).fit(answers, item_keys=items)
        return _labels(model, items, targets, labels, workers_per_object)

    def consolidate_batch(self, new: Sequence[ObjectAnswers], history: Callable[[], Sequence[ObjectAnswers]],
                          labels: Sequence[str], *, algorithm: str, workers_per_object: int, state: str | None,
                          final: bool) -> tuple[list[Label], str | None]:
        """Warm start (``core.consolidation.incremental``): EM resumed from the job's stored fit on the new
        objects alone; a full refit on the whole history when the job has doubled since the last one, and
        for the job's last batch (so its last labels are those of a fit on every answer)."""
        new_answers, new_items = _answers(new, labels)
        result = consolidate_incremental(new_answers, new_items, state, history=lambda: _answers(history(), labels),
                                         algorithm=algorithm, final=final)
        targets = {obj.dataset_object_id for obj in new}
        return _labels(result.model, result.item_keys, targets, labels, workers_per_object), result.state_json


def _answers(objects: Sequence[ObjectAnswers], labels: Sequence[str]) -> tuple[Answers, list[Any]]:
    triples = [(obj.dataset_object_id, worker, _only_body(content)["label"])
               for obj in objects for worker, content in obj.answers]
    answers, items, _workers, _classes = Answers.from_triples(triples, classes=list(labels))
    return answers, list(items)


def _labels(model: Any, items: Sequence[Any], targets: set[int], labels: Sequence[str],
            workers_per_object: int) -> list[Label]:
    """One Label per target; "confidence" is the raw posterior of the label (4 places), whatever the job's
    workers per object: Ground Truth's 0.00-for-one-worker and 0.95 ceiling are the output manifest's."""
    out = []
    for i, key in enumerate(items):
        if key not in targets:
            continue
        index = int(model.labels_[i])
        confidence = round(float(model.posteriors_[i, index]), CONFIDENCE_DIGITS)
        out.append(Label(key, index, {"class-name": labels[index], "confidence": confidence}))
    return out


class MultiLabelType(_Classification):
    max_labels = 50

    def validate_answer(self, answer: Any, labels: Sequence[str]) -> dict[str, Any]:
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

    def consolidate(self, history: Sequence[ObjectAnswers], targets: set[int], labels: Sequence[str], *,
                    algorithm: str, workers_per_object: int) -> list[Label]:
        index = {label: i for i, label in enumerate(labels)}
        items = [obj.dataset_object_id for obj in history]
        workers = sorted({w for obj in history for w, _ in obj.answers})
        worker_index = {w: i for i, w in enumerate(workers)}
        rows = [
            (i, worker_index[worker], [index[x] for x in _only_body(content)["labels"]])
            for i, obj in enumerate(history)
            for worker, content in obj.answers
        ]
        model = MultiLabel(algorithm=algorithm).fit(rows, len(items), len(workers), len(labels), item_keys=items)
        out = []
        for i, key in enumerate(items):
            if key not in targets:
                continue
            chosen = list(model.labels_[i])
            conf = {str(c): round(float(model.chosen_posteriors_[i, c]), CONFIDENCE_DIGITS) for c in chosen}
            out.append(Label(key, chosen, {"class-map": {str(c): labels[c] for c in chosen}, "confidence-map": conf}))
        return out


IMAGE_CLASSIFICATION = SingleLabel("image-classification", "image", "crowd-image-classifier")
TEXT_CLASSIFICATION = SingleLabel("text-classification", "text", "crowd-classifier")
IMAGE_CLASSIFICATION_MULTILABEL = MultiLabelType(
    "image-classification-multilabel", "image", "crowd-image-classifier-multi-select")
TEXT_CLASSIFICATION_MULTILABEL = MultiLabelType(
    "text-classification-multilabel", "text", "crowd-classifier-multi-select")
