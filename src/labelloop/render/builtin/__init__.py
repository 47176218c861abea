"""Built-in worker task templates (Liquid + crowd elements), one per built-in task type.

Each template expects ``task.input`` = ``{"taskObject", "labels", "keys", "shortInstruction",
"fullInstruction"}``. Instructions are the requester's HTML and are emitted raw (as in Ground Truth);
``taskObject`` text is escaped. The page that shows a rendered template loads ``/static/crowd/index.js``.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from labelloop.core.errors import ValidationError

TASK_TYPES = (
    "image-classification",
    "image-classification-multilabel",
    "text-classification",
    "text-classification-multilabel",
)


@cache
def builtin_template(task_type: str) -> str:
    """Return the Liquid source of the built-in template for ``task_type``."""
    if task_type not in TASK_TYPES:
        raise ValidationError(f"no built-in template for task type {task_type!r}", field="TaskType")
    return files(__name__).joinpath(f"{task_type}.liquid.html").read_text(encoding="utf-8")
