"""The task-type registry. A new type registers itself here; the engine looks types up by name."""

from __future__ import annotations

from labelloop.core.errors import ValidationError
from labelloop.core.tasktypes.base import Label, ObjectAnswers, TaskType, full_metadata

_REGISTRY: dict[str, TaskType] = {}


def register(task_type: TaskType) -> TaskType:
    _REGISTRY[task_type.name] = task_type
    return task_type


def get_task_type(name: str) -> TaskType:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValidationError(f"unknown task type '{name}'; known: {known}", field="TaskType") from None


def task_type_names() -> list[str]:
    return sorted(_REGISTRY)


from labelloop.core.tasktypes import classification as _classification  # noqa: E402,F401  (registers)
from labelloop.core.tasktypes.custom import Custom  # noqa: E402

register(Custom())

__all__ = ["Label", "ObjectAnswers", "TaskType", "full_metadata", "get_task_type", "register", "task_type_names"]
