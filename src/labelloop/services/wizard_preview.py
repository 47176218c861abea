"""The create-job wizard's live preview: the worker's task page for a job that does not exist yet, rendered
from one real data object (the manifest's first line) with the template the job would use (its task
type's built-in one, or the custom template), exactly as ``services.templates.render_task`` renders a
worker's task. The console shows it in an ``<iframe>`` with the worker frame's sandbox and policy.

Data links of a preview (``grant_read_access``) are signed claims ``{"k": "p", "r": requester, "u": uri}``
valid ``data_url_ttl_s``: they grant only a string of the previewed line, checked against the storage
policy when made and again when read, so a preview reads nothing a job of the same requester could not.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from liquid.exceptions import LiquidError

from labelloop.core.access import Principal, may_create_jobs
from labelloop.core.errors import Forbidden, NotFound, ValidationError
from labelloop.core.labels import parse_label_config
from labelloop.core.signing import sign, verify
from labelloop.core.tasktypes import get_task_type
from labelloop.render.builtin import builtin_template
from labelloop.render.liquid import render_error, render_task_template, safe_urls
from labelloop.services.context import Context
from labelloop.services.templates import GT_LOADER, grantable_uris, uri_digest
from labelloop.storage import Refused

__all__ = ["PREVIEW_LINK", "first_line", "render_preview", "resolve_preview_link"]

PREVIEW_LINK = "p"
FIRST_LINE_MAX = 1 << 20


def first_line(ctx: Context, uri: str, field: str) -> dict[str, Any]:
    """The first non-empty line of a manifest, parsed; a ValidationError naming ``field`` otherwise."""
    try:
        with ctx.storage.open_read(uri, timeout_s=ctx.settings.manifest_read_timeout_s) as f:
            for raw in f:
                if len(raw) > FIRST_LINE_MAX:
                    raise ValidationError(f"{field}: the first line is longer than 1 MB", field=field)
                if raw.strip():
                    return parse_line(raw, field)
    except Refused as exc:
        raise ValidationError(f"{field}: {exc.reason}", field=field) from None
    except FileNotFoundError:
        raise ValidationError(f"{field}: manifest not found: {uri}", field=field) from None
    except OSError as exc:
        raise ValidationError(f"{field}: cannot read {uri}: {exc}", field=field) from None
    raise ValidationError(f"{field}: the manifest is empty", field=field)


def parse_line(raw: bytes | str, field: str) -> dict[str, Any]:
    try:
        line = json.loads(raw)
    except ValueError:
        raise ValidationError(f"{field}: line 1 is not JSON", field=field) from None
    if not isinstance(line, dict):
        raise ValidationError(f"{field}: line 1 is not a JSON object", field=field)
    return line


def render_preview(ctx: Context, principal: Principal, *, task_type: str, labels: list[dict[str, Any]],
                   short_instruction: str, full_instruction: str, ui_template: str | None,
                   line: dict[str, Any]) -> str:
    """The task frame's HTML for ``line`` as a worker of such a job would get it."""
    if not may_create_jobs(principal):
        raise Forbidden("only requesters and admins create labeling jobs")
    t = get_task_type(task_type)
    config = {"document-version": "2018-11-28", "labels": labels}
    if labels or t.min_labels:
        config = parse_label_config(config, min_labels=t.min_labels, max_labels=t.max_labels, task=t.name).raw
    if t.reads_text_ref and isinstance(line.get("source-ref"), str) and "source" not in line:
        line = {**line, "source": _text_of(ctx, line["source-ref"])}
    task_input = t.task_input(line, config, short_instruction, full_instruction)
    if ui_template:
        source = GT_LOADER.sub("", ui_template)
    elif t.template is not None:
        source = builtin_template(t.template)
    else:
        raise ValidationError(f"task type '{t.name}' needs a custom template", field="ui_template")
    allowed = grantable_uris(line, None)
    check = ctx.storage.ref_checker()
    expires = ctx.clock() + timedelta(seconds=ctx.settings.data_url_ttl_s)

    def grant(uri: str) -> str:
        if uri_digest(uri) not in allowed or check(uri) is not None:
            return ""
        return "/console/create/data/" + sign(ctx.secret_key, {"k": PREVIEW_LINK, "r": principal.id, "u": uri},
                                              expires)

    try:
        return safe_urls(render_task_template(source, task_input=task_input, grant=grant))
    except LiquidError as err:
        exc = render_error(err)
        raise ValidationError(exc.message, field="ui_template") from None


def _text_of(ctx: Context, uri: str) -> str:
    try:
        with ctx.storage.open_read(uri) as f:
            return f.read(400_000).decode("utf-8", "replace")
    except (Refused, OSError):
        return ""


def resolve_preview_link(ctx: Context, token: str) -> str:
    """The URI a preview link grants, checked against the storage policy again; NotFound otherwise."""
    claim = verify(ctx.secret_key, token, ctx.clock())
    uri = claim.get("u")
    if claim.get("k") != PREVIEW_LINK or not isinstance(uri, str) or ctx.storage.ref_checker()(uri) is not None:
        raise NotFound("this data link is invalid or has expired")
    return uri
