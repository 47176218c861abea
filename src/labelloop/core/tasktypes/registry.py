"""The explicit list of task types. Adding a type is one line here (and its module)."""

from __future__ import annotations

from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes.base import TaskType
from labelloop.core.tasktypes.boxes import BOX_TYPES
from labelloop.core.tasktypes.classification import (
    IMAGE_CLASSIFICATION,
    IMAGE_CLASSIFICATION_MULTILABEL,
    TEXT_CLASSIFICATION,
    TEXT_CLASSIFICATION_MULTILABEL,
)
from labelloop.core.tasktypes.custom import Custom
from labelloop.core.tasktypes.entities import NER_TYPES
from labelloop.core.tasktypes.instances import INSTANCE_TYPES
from labelloop.core.tasktypes.keypoints import KEYPOINT_TYPES
from labelloop.core.tasktypes.polygons import POLYGON_TYPES
from labelloop.core.tasktypes.segmentation import SEGMENTATION_TYPES

TASK_TYPES: dict[str, TaskType] = {
    t.name: t
    for t in (
        IMAGE_CLASSIFICATION,
        TEXT_CLASSIFICATION,
        IMAGE_CLASSIFICATION_MULTILABEL,
        TEXT_CLASSIFICATION_MULTILABEL,
        Custom(),
        *NER_TYPES,
        *BOX_TYPES, *SEGMENTATION_TYPES, *POLYGON_TYPES, *KEYPOINT_TYPES, *INSTANCE_TYPES,
    )
}


def get_task_type(name: str) -> TaskType:
    try:
        return TASK_TYPES[name]
    except KeyError:
        known = ", ".join(sorted(TASK_TYPES))
        raise ValidationError(f"unknown task type '{name}'; known: {known}", field="task_type") from None


def task_type_names() -> list[str]:
    return sorted(TASK_TYPES)
