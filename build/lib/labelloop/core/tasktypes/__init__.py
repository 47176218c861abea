"""Task types: one module each, listed in ``registry.py``."""

from labelloop.core.tasktypes.base import AutoLabeling, Label, ObjectAnswers, TaskType, full_metadata
from labelloop.core.tasktypes.registry import TASK_TYPES, get_task_type, task_type_names

__all__ = ["TASK_TYPES", "AutoLabeling", "Label", "ObjectAnswers", "TaskType", "full_metadata", "get_task_type",
           "task_type_names"]
