"""Worker task pages: the job's Liquid template (custom, or the built-in one of its task type) rendered with
``task.input`` and short-lived ``grant_read_access`` links."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from labelloop.core.access import may_see_task
from labelloop.core.errors import NotFound, ValidationError
from labelloop.core.labels import LabelConfig
from labelloop.core.lifecycle import lease_open
from labelloop.core.signing import sign
from labelloop.core.tasktypes import TaskType, get_task_type
from labelloop.db.models import DataObject, Job, Task
from labelloop.render.builtin import builtin_template
from labelloop.render.liquid import check_template, render_task_template
from labelloop.services.context import Context, Principal

# Ground Truth templates load AWS's element script; the portal page already loads ours
GT_LOADER = re.compile(r"<script[^>]*assets\.crowd\.aws/crowd-html-elements\.js[^>]*>\s*</script>", re.I)


def check_job_template(ctx: Context, spec: Any, task_type: TaskType, labels: LabelConfig) -> None:
    """Render a new job's template against its first manifest line; errors go to the requester."""
    with ctx.storage.open_read(spec.input_manifest_uri) as f:
        first = next((raw for raw in f if raw.strip()), b"{}")
    try:
        line = json.loads(first)
    except ValueError:
        line = {}
    task_input = task_type.task_input(line, labels.raw, spec.short_instruction, spec.full_instruction)
    try:
        check_template(spec.ui_template, task_input=task_input)
    except ValidationError as exc:
        raise ValidationError(exc.message, field="ui_template") from None


def data_link(ctx: Context, uri: str, task_id: int) -> str:
    """A ``grant_read_access`` URL: opens this one object, for ``data_url_ttl_s`` seconds."""
    expires = ctx.clock() + timedelta(seconds=ctx.settings.data_url_ttl_s)
    return "/data/" + sign(ctx.settings.secret_key, {"u": uri, "t": task_id}, expires)


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
    return render_task_template(source, task_input=task_input, grant=lambda uri: data_link(ctx, uri, task_id))
