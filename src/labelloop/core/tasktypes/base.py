"""What every task type provides. The engine only talks to this interface, so new types slot in."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ObjectAnswers:
    """Every accepted answer for one data object: ``(worker key, answerContent)`` pairs."""

    dataset_object_id: int
    answers: tuple[tuple[str, dict], ...]


@dataclass(frozen=True, slots=True)
class Label:
    """A consolidated label: the value under the LAN and the type's own metadata keys."""

    dataset_object_id: int
    value: Any
    metadata: dict = field(default_factory=dict)


def creation_date(at: datetime) -> str:
    """Ground Truth's ``creation-date``: ISO-8601 with microseconds and no time zone suffix."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def full_metadata(extra: dict, *, gt_type: str, job_name: str, human: bool, at: datetime) -> dict:
    """``<LAN>-metadata``: the type's keys, then the common ones (spec §2.3)."""
    return {
        **extra,
        "type": gt_type,
        "job-name": f"labeling-job/{job_name}",
        "human-annotated": "yes" if human else "no",
        "creation-date": creation_date(at),
    }


class TaskType(ABC):
    """A kind of labeling work: how an answer is checked, how answers become a label."""

    name: str  # our id, e.g. "image-classification"
    gt_type: str  # "groundtruth/image-classification"
    media: str  # "image" (source-ref) or "text" (source)
    element: str  # the crowd element whose answer the built-in template submits
    min_labels: int = 2
    max_labels: int | None = None
    lan_must_end_with_ref: bool = False
    default_workers_per_object: int = 3

    @abstractmethod
    def validate_answer(self, answer: Any, labels: Sequence[str]) -> dict:
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
