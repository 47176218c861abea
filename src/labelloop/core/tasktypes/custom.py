"""Custom workflows: any crowd-form answer; labels come from the post-annotation hook (spec §2.4, §3.4)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes.base import Label, TaskType

MAX_ANSWER_CHARS = 1_000_000


class Custom(TaskType):
    name = "custom"
    gt_type = "groundtruth/custom"
    media = "any"
    element = "crowd-form"
    min_labels = 0
    default_workers_per_object = 1

    def validate_answer(self, answer: Any, labels: Sequence[str]) -> dict:
        if not isinstance(answer, dict):
            raise ValidationError("answer must be the JSON object the crowd-form submitted", field="answer")
        if len(json.dumps(answer)) > MAX_ANSWER_CHARS:
            raise ValidationError(f"answer is larger than {MAX_ANSWER_CHARS:,} characters", field="answer")
        return answer

    def consolidate(self, history, targets, labels, *, algorithm, workers_per_object) -> list[Label]:
        """Without a post-annotation hook Ground Truth writes ``{}``; the runner adds worker-response-ref."""
        return [Label(obj.dataset_object_id, {}) for obj in history if obj.dataset_object_id in targets]
