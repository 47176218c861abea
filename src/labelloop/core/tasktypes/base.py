"""What every task type provides. The engine talks only to this interface: a new type is one module in
this package, its built-in template and crowd elements, and one line in ``registry.py``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from labelloop.core.errors import ValidationError


@dataclass(frozen=True, slots=True)
class ObjectAnswers:
    """Every accepted answer for one data object: ``(worker key, answerContent)`` pairs."""

    dataset_object_id: int
    answers: tuple[tuple[str, dict[str, Any]], ...]


@dataclass(frozen=True, slots=True)
class Label:
    """A consolidated label: the value under the LAN and the type's own metadata keys."""

    dataset_object_id: int
    value: Any
    metadata: dict[str, Any] = field(default_factory=dict)
    # files the label refers to, ``(name, bytes)``: the consolidation step writes each under the job's output
    # ``annotations/consolidated-annotation/output/`` and replaces a ``value`` equal to ``name`` by its URI
    # (semantic segmentation's PNG label map)
    files: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class AutoLabeling:
    """What automated data labeling needs from a task type: the kind of data a model reads
    (``"image"`` from ``source-ref``, ``"text"`` from ``source``) and that each object has one class."""

    media: str
    single_label: bool = True


def creation_date(at: datetime) -> str:
    """Ground Truth's ``creation-date``: ISO-8601 with microseconds and no time zone suffix."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")


# The key order of real Ground Truth output where public manifests show it (docs/ground-truth.md); other
# types: the type's own keys, then the common ones
_SINGLE = ("confidence", "job-name", "class-name", "human-annotated", "creation-date", "type")
_MULTI = ("job-name", "class-map", "human-annotated", "creation-date", "confidence-map", "type")
_BOXES = ("objects", "class-map", "type", "human-annotated", "creation-date", "job-name")
GT_KEY_ORDER: dict[str, tuple[str, ...]] = {
    "groundtruth/image-classification": _SINGLE, "groundtruth/text-classification": _SINGLE,
    "groundtruth/image-classification-multilabel": _MULTI, "groundtruth/text-classification-multilabel": _MULTI,
    # spec §2.4's examples of the image types
    "groundtruth/object-detection": _BOXES, "labelloop/polygon": _BOXES, "labelloop/keypoint": _BOXES,
    "groundtruth/semantic-segmentation": ("internal-color-map", "type", "human-annotated", "creation-date", "job-name"),
}


def full_metadata(extra: dict[str, Any], *, gt_type: str, job_name: str, human: bool, at: datetime) -> dict[str, Any]:
    """``<LAN>-metadata``: the type's keys and the common ones (spec §2.3), in Ground Truth's order where it is
    known (``GT_KEY_ORDER``; keys it does not list follow). Ground Truth writes the job's name in lower case
    (``EntityRecognizerPOC-1`` -> ``labeling-job/entityrecognizerpoc-1``)."""
    out = {
        **extra,
        "type": gt_type,
        "job-name": f"labeling-job/{job_name.lower()}",
        "human-annotated": "yes" if human else "no",
        "creation-date": creation_date(at),
    }
    order = GT_KEY_ORDER.get(gt_type)
    if order is None:
        return out
    return {**{k: out[k] for k in order if k in out}, **{k: v for k, v in out.items() if k not in order}}


class TaskType(ABC):
    """A kind of labeling work: its task input, its template, how an answer is checked, how answers become
    a label, and what its output and automated labeling need."""

    name: str  # our id, e.g. "image-classification"
    gt_type: str  # the output metadata ``type``, e.g. "groundtruth/image-classification"
    media: str  # "image" (source-ref), "text" (source) or "any"
    element: str  # the crowd element whose answer the built-in template submits
    template: str | None = None  # the built-in template's name (``render/builtin/<template>.liquid.html``)
    algorithms: tuple[str, ...] = ()  # consolidation algorithms a job of this type may choose; the first is the default
    writes_worker_response_ref: bool = False  # the label's metadata points at the worker-response file
    autolabel: AutoLabeling | None = None  # None: automated labeling does not apply to this type
    min_labels: int = 2
    max_labels: int | None = None
    lan_must_end_with_ref: bool = False
    default_workers_per_object: int = 3
    reads_text_ref: bool = False  # a ``source-ref`` names a UTF-8 text file, read at job creation into ``taskObject``
    export_formats: tuple[str, ...] = ()  # ``labelloop export`` formats (``core/exports``); ``jsonl`` is every type's
    auditable: bool = False  # chained adjustment / verification jobs of this type exist (``initial_value``, ``preview``)

    @property
    def default_algorithm(self) -> str:
        return self.algorithms[0]

    def check_algorithm(self, algorithm: str | None) -> str:
        """The job's consolidation algorithm: the given one if this type allows it, else the type's default."""
        if algorithm is None:
            return self.default_algorithm
        if algorithm not in self.algorithms:
            raise ValidationError(
                f"task type '{self.name}' consolidates with {', '.join(self.algorithms)}; not '{algorithm}'",
                field="consolidation_algorithm")
        return algorithm

    def task_input(self, line: dict[str, Any], label_config: dict[str, Any], short: str, full: str) -> dict[str, Any]:
        """What a template sees as ``task.input`` when no pre-annotation hook made one: Ground Truth's
        ``taskObject``/``labels`` for built-in types (spec §3.3)."""
        labels = label_config.get("labels", [])
        return {
            "taskObject": line.get("source", line.get("source-ref")),
            "labels": [x["label"] for x in labels],
            "keys": [x.get("key") for x in labels],
            "shortInstruction": short,
            "fullInstruction": full,
            "manifestLine": line,
        }

    def line_checker(self, label_config: dict[str, Any], lan: str) -> Callable[[dict[str, Any]], str | None] | None:
        """Called once at job creation (a bad configuration raises ValidationError): a check of each parsed
        manifest line returning the reason it is bad, or None when the type checks nothing more."""
        return None

    def export_record(self, dataset_object_id: int, line: dict[str, Any], task_input: dict[str, Any] | None,
                      value: Any, metadata: dict[str, Any]) -> Any:
        """One labeled object as the record its ``export_formats`` writers read (``core/exports``)."""
        raise NotImplementedError(self.name)

    def initial_value(self, prior: Any) -> Any:
        """An earlier job's label of this type as its element's ``initial-value`` (chained adjustment)."""
        raise NotImplementedError(self.name)

    def initial_value_of(self, line: dict[str, Any], audit: str, labels: Sequence[str]) -> Any:
        """The ``initial-value`` of a chained adjustment from the audited line: ``initial_value`` of the earlier
        label by default; a type whose label holds class ids (boxes) also reads ``<audit>-metadata`` or the
        job's ``labels``."""
        return self.initial_value(line.get(audit))

    def preview(self, data: str, prior: Any) -> str:
        """Escaped HTML showing an earlier job's label of this type on its data (chained verification)."""
        raise NotImplementedError(self.name)

    @abstractmethod
    def validate_answer(self, answer: Any, labels: Sequence[str]) -> dict[str, Any]:
        """Return the canonical answerContent, or raise ValidationError naming the problem."""

    @abstractmethod
    def consolidate(
        self,
        history: Sequence[ObjectAnswers],
        targets: set[int],
        labels: Sequence[str],
        *,
        algorithm: str,
        workers_per_object: int,
    ) -> list[Label]:
        """Label the objects in ``targets``; ``history`` is every answered object of the job (for worker models)."""

    def consolidate_batch(
        self,
        new: Sequence[ObjectAnswers],
        history: Callable[[], Sequence[ObjectAnswers]],
        labels: Sequence[str],
        *,
        algorithm: str,
        workers_per_object: int,
        state: str | None,
        final: bool,
    ) -> tuple[list[Label], str | None]:
        """Label the ``new`` objects of a job; the job's stored warm-start ``state`` in, the next one out.

        ``history()`` loads every answered object of the job (the new ones too), only when it is needed;
        ``final`` marks the job's last batch. This default refits on the whole history each time and keeps
        no state; a type whose consolidator can resume from a stored fit overrides it, so that keeping
        labels fresh costs the same per batch however large the job grows."""
        targets = {obj.dataset_object_id for obj in new}
        return self.consolidate(history(), targets, labels, algorithm=algorithm,
                                workers_per_object=workers_per_object), None
