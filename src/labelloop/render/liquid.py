"""Ground Truth's Liquid dialect: autoescape on, plus its extra filters.

`escape` and `escape_once` are python-liquid's built-ins (autoescape aware). Ground Truth adds:

- `skip_autoescape`: emit the value as raw HTML.
- `to_json`: JSON-encode. The result is an ordinary string, so autoescape still applies and
  `categories='{{ task.input.labels | to_json }}'` (or `| to_json | escape`) is a valid attribute,
  escaped exactly once. `<`, `>` and `&` are written as `\\u003c`, `\\u003e`, `\\u0026`, so
  `{{ x | to_json | skip_autoescape }}` is also safe inside a `<script>`.
- `grant_read_access`: an `s3://` URI to a short-lived HTTPS URL, through the injected `grant`.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from liquid import Environment
from liquid.exceptions import LiquidError
from liquid.undefined import Undefined
from markupsafe import Markup

from labelloop.core.errors import ValidationError

Grant = Callable[[str], str]


def _skip_autoescape(value: object) -> Markup:
    if value is None or isinstance(value, Undefined):
        return Markup("")
    return Markup(str(value))


def _to_json(value: object) -> str:
    if isinstance(value, Undefined):
        value = None
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _environment(grant: Grant) -> Environment:
    def grant_read_access(value: object) -> str:
        if value is None or isinstance(value, Undefined) or value == "":
            return ""
        return grant(str(value))

    env = Environment(autoescape=True)
    env.filters["skip_autoescape"] = _skip_autoescape
    env.filters["to_json"] = _to_json
    env.filters["grant_read_access"] = grant_read_access
    return env


def render_task_template(source: str, *, task_input: dict, grant: Grant) -> str:
    """Render a worker task template; the template sees ``task_input`` as ``task.input``."""
    template = _environment(grant).from_string(source)
    return template.render(task={"input": task_input})


def check_template(source: str, *, task_input: dict) -> None:
    """Parse and render ``source`` against one task input; raise ``ValidationError`` on failure."""
    try:
        render_task_template(source, task_input=task_input, grant=lambda uri: uri)
    except LiquidError as err:
        where = err.context()
        line = f" (line {where[0]})" if where else ""
        raise ValidationError(f"UiTemplate: {err.message}{line}", field="UiTemplate") from err
