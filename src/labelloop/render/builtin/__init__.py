"""Built-in worker task templates (Liquid + crowd elements), one per built-in task type.

Each template reads ``task.input``'s ``taskObject``, ``labels`` and ``keys`` (``taskObject`` text is escaped).
They leave out ``shortInstruction``/``fullInstruction``: the portal shows the job's instructions beside the
task frame, once. The page that shows a rendered template loads ``/static/crowd/index.js``.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from labelloop.core.errors import ValidationError


@cache
def builtin_template(name: str) -> str:
    """Return the Liquid source of the built-in template ``name`` (a task type's ``template``)."""
    path = files(__name__).joinpath(f"{name}.liquid.html")
    if not path.is_file():
        raise ValidationError(f"no built-in template {name!r}", field="task_type")
    return path.read_text(encoding="utf-8")
