"""Custom workflows: any crowd-form answer; labels come from the post-annotation hook (spec §2.4, §3.4)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes.base import Label, ObjectAnswers, TaskType

MAX_ANSWER_CHARS = 1_000_000


class Custom(TaskType):
    name = "custom"
    gt_type = "groundtruth/custom"
    media = "any"
    element = "crowd-form"
    template = None  # a custom job brings its own
    algorithms = ("none",)  # the post-annotation hook consolidates, or Ground Truth's {} is written
    writes_worker_response_ref = True
    min_labels = 0
    default_workers_per_object = 1

    def task_input(self, line: dict[str, Any], label_config: dict[str, Any], short: str, full: str) -> dict[str, Any]:
        """Without a pre-annotation hook a custom template sees the manifest line itself (spec §3.3)."""
        return line

    def validate_answer(self, answer: Any, labels: Sequence[str]) -> dict[str, Any]:
        if not isinstance(answer, dict):
            raise ValidationError("answer must be the JSON object the crowd-form submitted", field="answer")
        if len(json.dumps(answer)) > MAX_ANSWER_CHARS:
            raise ValidationError(f"answer is larger than {MAX_ANSWER_CHARS:,} characters", field="answer")
        return answer

    def consolidate(self, history: Sequence[ObjectAnswers], targets: set[int], labels: Sequence[str], *,
                    algorithm: str, workers_per_object: int) -> list[Label]:
        """Without a post-annotation hook Ground Truth writes ``{}`` (with ``worker-response-ref``)."""
        return [Label(obj.dataset_object_id, {}) for obj in history if obj.dataset_object_id in targets]
