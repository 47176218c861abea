"""Step: run the pre-annotation hook on new objects: task input, skip, or failure with the reason."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from labelloop.core.lifecycle import JobStatus, ObjectStatus
from labelloop.db.models import DataObject
from labelloop.services.background.base import JobPass, Outcome
from labelloop.services.context import Context
from labelloop.services.events import record_many
from labelloop.services.hooks import HookError, call_for, pre_annotation
from labelloop.services.lifecycle import transition

BATCH = 100


def step(ctx: Context, p: JobPass) -> Outcome:
    if not p.job.pre_hook or p.status != JobStatus.IN_PROGRESS:
        return Outcome()
    total = 0
    while n := preprocess_batch(ctx, p):
        total += n
        p.renew()
    return Outcome(done=total)


def preprocess_batch(ctx: Context, p: JobPass, batch: int = BATCH) -> int:
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(DataObject.id, DataObject.position, DataObject.line)
            .where(DataObject.job_id == p.job.id, DataObject.status == ObjectStatus.PREPROCESSING)
            .order_by(DataObject.position).limit(batch)
        ).all()
    outcomes: list[tuple[Any, ObjectStatus, dict[str, Any]]] = []
    call = call_for(ctx, p.job)
    for r in rows:
        try:
            task_input, required = pre_annotation(p.job.pre_hook, p.job.name, json.loads(r.line), storage=ctx.storage,
                                                  timeout_s=ctx.settings.hook_timeout_s, ctx=ctx, call=call)
            status = ObjectStatus.PENDING if required else ObjectStatus.SKIPPED
            outcomes.append((r, status, {"task_input": json.dumps(task_input)}))
        except HookError as exc:
            outcomes.append((r, ObjectStatus.FAILED, {"failure_reason": str(exc)[:1024]}))

    def unit(conn: Connection) -> None:
        for r, status, values in outcomes:
            transition(conn, DataObject, DataObject.id == r.id, ObjectStatus.PREPROCESSING, status, **values)
        record_many(conn, [{"at": now, "kind": "object.failed" if s == ObjectStatus.FAILED else "object.preprocessed",
                            "actor": "system", "job_id": p.job.id, "dataset_object_id": r.position,
                            "detail": {"reason": v.get("failure_reason"), "status": s}}
                           for r, s, v in outcomes])

    ctx.write(unit)
    return len(rows)
