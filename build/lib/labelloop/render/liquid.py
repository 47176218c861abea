"""Ground Truth's Liquid dialect: autoescape on, plus its extra filters.

`escape` and `escape_once` are python-liquid's built-ins (autoescape aware). Ground Truth adds:

- `skip_autoescape`: emit the value as raw HTML.
- `to_json`: JSON-encode. The result is an ordinary string, so autoescape still applies and
  `categories='{{ task.input.labels | to_json }}'` (or `| to_json | escape`) is a valid attribute,
  escaped exactly once. `<`, `>` and `&` are written as `\\u003c`, `\\u003e`, `\\u0026`, so
  `{{ x | to_json | skip_autoescape }}` is also safe inside a `<script>`.
- `grant_read_access`: an `s3://` URI to a short-lived HTTPS URL, through the injected `grant`.

Rendering has limits (`LOOP_ITERATION_LIMIT`, `OUTPUT_LIMIT`, `LOCAL_NAMESPACE_LIMIT`): a template that loops
or writes without end fails with a `ValidationError` naming the limit instead of hanging the server.
`safe_urls` neutralises `javascript:` (and `vbscript:`, `data:text/html`) URLs in URL attributes of the
rendered HTML, whether the template or the data put them there.
"""

from __future__ import annotations

import html
import json
import re
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


LOOP_ITERATION_LIMIT = 100_000  # iterations of all loops of one render together
OUTPUT_LIMIT = 5_000_000  # bytes of rendered HTML
LOCAL_NAMESPACE_LIMIT = 1_000_000  # bytes assigned or captured by the template


class _Limited(Environment):
    loop_iteration_limit = LOOP_ITERATION_LIMIT
    output_stream_limit = OUTPUT_LIMIT
    local_namespace_limit = LOCAL_NAMESPACE_LIMIT


def _environment(grant: Grant) -> Environment:
    def grant_read_access(value: object) -> str:
        if value is None or isinstance(value, Undefined) or value == "":
            return ""
        return grant(str(value))

    env = _Limited(autoescape=True)
    env.filters["skip_autoescape"] = _skip_autoescape
    env.filters["to_json"] = _to_json
    env.filters["grant_read_access"] = grant_read_access
    return env


def render_task_template(source: str, *, task_input: dict, grant: Grant) -> str:
    """Render a worker task template; the template sees ``task_input`` as ``task.input``. A Liquid error
    (syntax, unknown filter, a resource limit) is raised as python-liquid's ``LiquidError``."""
    template = _environment(grant).from_string(source)
    return template.render(task={"input": task_input})


def render_error(err: LiquidError) -> ValidationError:
    """A Liquid error as the ``ValidationError`` a requester or worker reads."""
    where = err.context()
    line = f" (line {where[0]})" if where else ""
    return ValidationError(f"UiTemplate: {err.message}{line}", field="UiTemplate")


_TAG = re.compile(r"<[a-zA-Z][^\s/>]*(?:\s+(?:[^\s\"'>/=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)|\s*/)*\s*>")
_URL_ATTR = re.compile(
    r"(\s(?:href|src|action|formaction|xlink:href|poster|data|background|cite|srcset|ping)\s*=\s*)"
    r"(\"[^\"]*\"|'[^']*'|[^\s\"'>]+)", re.I)
_ACTIVE_SCHEME = re.compile(r"^(?:javascript|vbscript|data:\s*text/html|data:\s*image/svg)", re.I)
_IGNORED = re.compile(r"[\x00-\x20]")  # browsers drop tabs and newlines inside a URL and spaces around it


def _active(value: str) -> bool:
    if value[:1] in "\"'":
        value = value[1:-1]
    return bool(_ACTIVE_SCHEME.match(_IGNORED.sub("", html.unescape(value))))


def _clean_tag(m: re.Match[str]) -> str:
    return _URL_ATTR.sub(lambda a: a.group(1) + '"about:blank#blocked"' if _active(a.group(2)) else a.group(0),
                         m.group(0))


def safe_urls(rendered: str) -> str:
    """``rendered`` with every ``javascript:``-like URL attribute replaced by ``about:blank#blocked``."""
    return _TAG.sub(_clean_tag, rendered)


def check_template(source: str, *, task_input: dict, grant: Grant = lambda uri: uri) -> None:
    """Parse and render ``source`` against one task input; raise ``ValidationError`` on failure."""
    try:
        render_task_template(source, task_input=task_input, grant=grant)
    except LiquidError as err:
        raise render_error(err) from err
