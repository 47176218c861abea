"""Worker task pages: the job's Liquid template (custom, or the built-in one of its task type) rendered with
``task.input`` and short-lived ``grant_read_access`` links."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from liquid.exceptions import LiquidError
from sqlalchemy import select

from labelloop.core.access import may_see_task
from labelloop.core.elements import element_problem, unbuilt_elements
from labelloop.core.errors import NotFound, ValidationError
from labelloop.core.labels import LabelConfig
from labelloop.core.lifecycle import lease_open
from labelloop.core.signing import sign, verify
from labelloop.core.tasktypes import TaskType, get_task_type
from labelloop.db.models import DataObject, Job, Task
from labelloop.render.builtin import builtin_template
from labelloop.render.liquid import check_template, render_error, render_task_template, safe_urls
from labelloop.services.context import Context, Principal

# Ground Truth templates load AWS's element script (crowd-html-elements.js, its -v2, any query string); the
# task frame already loads ours
GT_LOADER = re.compile(
    r"<script[^>]*assets\.crowd\.aws/crowd-html-elements(?:-v\d+)?\.js[^>]*>\s*</script>", re.I)


def frame_sources(ctx: Context) -> tuple[str, ...]:
    """The plain-http hosts of the storage and host policy: the task frame may load scripts, styles and
    images from them (a template's jQuery from a local server) as it may from any https: host."""
    return tuple(str(h) for h in ctx.storage.policy.hosts if h.scheme == "http")


def check_elements(template: str) -> None:
    """Refuse a template with a ``crowd-*`` element labelloop does not build, naming it (``core.elements``)."""
    missing = unbuilt_elements(GT_LOADER.sub("", template))
    if missing:
        raise ValidationError(f"ui_template: {element_problem(missing[0])}"
                              + (f" (nor {', '.join(missing[1:])})" if missing[1:] else ""), field="ui_template")


def check_job_template(ctx: Context, spec: Any, task_type: TaskType, labels: LabelConfig, *,
                       first_line: bytes | None = None) -> None:
    """Render a new job's template against its first manifest line (``first_line``, read already by job
    creation); errors go to the requester, and so does a ``grant_read_access`` of a URI the storage access
    policy refuses (a literal ``/etc/passwd``)."""
    first = first_line
    if first is None:
        with ctx.storage.open_read(spec.input_manifest_uri) as f:
            first = next((raw for raw in f if raw.strip()), b"{}")
    try:
        line = json.loads(first)
    except ValueError:
        line = {}
    task_input = task_type.task_input(line, labels.raw, spec.short_instruction, spec.full_instruction)
    refused: list[str] = []
    check_ref = ctx.storage.ref_checker()

    def grant(uri: str) -> str:
        reason = check_ref(uri)
        if reason is not None:
            refused.append(reason)
        return uri

    try:
        check_template(spec.ui_template, task_input=task_input, grant=grant)
    except ValidationError as exc:
        raise ValidationError(exc.message, field="ui_template") from None
    if refused:
        raise ValidationError(f"ui_template: grant_read_access of a refused URI: {refused[0]}", field="ui_template")
    check_elements(spec.ui_template)


# A data link names what it grants, never the URI: {"k": "w", "t": task, "w": worker, "h": digest of one of
# the task's URIs}. The server looks the URI up from the task and serves it only while that worker's lease on
# the task is open. A requester's view in the console will add {"k": "r", "j": job, "o": object, "h": digest},
# granted while the requester may manage the job; both kinds go through resolve_data_link.
WORKER_LINK = "w"
MAX_GRANTABLE = 4096  # characters; longer strings of a manifest line are not URIs


def uri_digest(uri: str) -> str:
    return hashlib.sha256(uri.encode()).hexdigest()[:32]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if 0 < len(value) <= MAX_GRANTABLE:
            yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def grantable_uris(line: Any, task_input: Any) -> dict[str, str]:
    """The URIs a task's template may grant, by digest: every string of the object's manifest line
    (``source-ref`` among them) and of its task input (what a pre-annotation hook returned)."""
    return {uri_digest(u): u for u in [*_strings(line), *_strings(task_input)]}


def data_link(ctx: Context, task_id: int, worker_id: int, uri: str) -> str:
    """A ``grant_read_access`` URL for one of this task's URIs: valid for ``data_url_ttl_s`` seconds and
    while the worker's lease on the task is open."""
    expires = ctx.clock() + timedelta(seconds=ctx.settings.data_url_ttl_s)
    claim = {"k": WORKER_LINK, "t": task_id, "w": worker_id, "h": uri_digest(uri)}
    return "/data/" + sign(ctx.secret_key, claim, expires)


def resolve_data_link(ctx: Context, token: str) -> str:
    """The URI a data link grants, looked up from its task; NotFound for a bad, expired or no longer open
    link (the same answer for each, so a link tells nothing about other tasks)."""
    gone = NotFound("this data link is invalid or has expired")
    claim = verify(ctx.secret_key, token, ctx.clock())
    task_id, worker_id, digest = claim.get("t"), claim.get("w"), claim.get("h")
    if claim.get("k") != WORKER_LINK or type(task_id) is not int or type(worker_id) is not int \
            or not isinstance(digest, str) or not 0 < task_id < 2**63:
        raise gone
    with ctx.engine.connect() as conn:
        row = conn.execute(
            select(Task.worker_id, Task.status, Task.lease_expires_at, DataObject.line, DataObject.task_input)
            .join(DataObject, DataObject.id == Task.object_id).where(Task.id == task_id)
        ).first()
    if row is None or row.worker_id != worker_id or not lease_open(row.status, row.lease_expires_at, ctx.clock()):
        raise gone
    task_input = json.loads(row.task_input) if row.task_input is not None else None
    uri = grantable_uris(json.loads(row.line), task_input).get(digest)
    if uri is None:
        raise gone
    return uri


def render_task(ctx: Context, worker: Principal, task_id: int) -> str:
    """The HTML of one of this worker's open tasks."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        row = conn.execute(
            select(Task.worker_id, Task.status, Task.lease_expires_at, DataObject.line, DataObject.task_input,
                   Job.task_type, Job.ui_template, Job.label_config, Job.short_instruction, Job.full_instruction)
            .join(DataObject, DataObject.id == Task.object_id).join(Job, Job.id == Task.job_id)
            .where(Task.id == task_id)
        ).first()
    if row is None or not may_see_task(worker, row.worker_id) or not lease_open(row.status, row.lease_expires_at, now):
        raise NotFound(f"no open task {task_id} of yours", field="task_id")
    task_type = get_task_type(row.task_type)
    if row.task_input is not None:
        task_input = json.loads(row.task_input)
    else:
        task_input = task_type.task_input(json.loads(row.line), json.loads(row.label_config), row.short_instruction,
                                          row.full_instruction)
    if row.ui_template:
        source = GT_LOADER.sub("", row.ui_template)
    elif task_type.template is not None:
        source = builtin_template(task_type.template)
    else:
        raise NotFound(f"task {task_id}'s job has no template", field="task_id")
    allowed = grantable_uris(json.loads(row.line), json.loads(row.task_input) if row.task_input is not None else None)

    def grant(uri: str) -> str:  # only the task's own URIs; anything else (a literal path...) gives ""
        return data_link(ctx, task_id, row.worker_id, uri) if uri_digest(uri) in allowed else ""

    try:
        return safe_urls(render_task_template(source, task_input=task_input, grant=grant))
    except LiquidError as err:  # a resource limit at render time (the first line rendered at job creation)
        raise render_error(err) from err
