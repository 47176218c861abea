"""Step: consolidate the objects that have their answers, with the task type's algorithm (worker models
fitted on the job's answers) or the job's post-annotation hook; write Ground Truth's annotation files.

While workers are busy a job is consolidated at most every ``consolidation_interval_s``, one batch a pass;
once no task is left to hand out (or the job is ending), every ready object at once.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from labelloop.core.lifecycle import ObjectStatus, TaskStatus, accepts_work
from labelloop.core.tasktypes import ObjectAnswers, TaskType, full_metadata, get_task_type
from labelloop.db.models import DataObject, Job, Task, User
from labelloop.services.background.base import JobPass, Outcome
from labelloop.services.background.queries import has_objects
from labelloop.services.context import Context
from labelloop.services.events import record_many
from labelloop.services.hooks import HookError, post_annotation
from labelloop.services.output import (
    ms_stamp,
    write_consolidation_request,
    write_consolidation_response,
    write_worker_responses,
)

WRITE_CHUNK = 500
_LABELED = (update(DataObject).where(DataObject.id == bindparam("b_id"), DataObject.status == ObjectStatus.READY)
            .values(status=ObjectStatus.LABELED, label=bindparam("b_label"), label_metadata=bindparam("b_metadata"),
                    human_annotated=True, labeled_at=bindparam("b_now")))
_FAILED = (update(DataObject).where(DataObject.id == bindparam("b_id"), DataObject.status == ObjectStatus.READY)
           .values(status=ObjectStatus.FAILED, failure_reason=bindparam("b_reason")))


def step(ctx: Context, p: JobPass) -> Outcome:
    if not p.status.is_open:
        return Outcome()
    finishing = _finishing(ctx, p)
    if not finishing and (p.now - p.job.updated_at).total_seconds() < ctx.settings.consolidation_interval_s:
        return Outcome()
    total = 0
    state = p.job.consolidation_state
    while True:
        n, state = consolidate_batch(ctx, p, state, finishing)
        total += n
        if not n or not finishing:
            break
        p.renew()
    return Outcome(done=total, output_dirty=total > 0)


def _finishing(ctx: Context, p: JobPass) -> bool:
    """The job hands out no more tasks: stopping, past its availability, or nothing left to lease."""
    if not accepts_work(p.status, p.job.ends_at, ctx.clock()):
        return True
    with ctx.engine.connect() as conn:
        return not has_objects(conn, p.job.id, (ObjectStatus.PREPROCESSING, ObjectStatus.PENDING))


def consolidate_batch(ctx: Context, p: JobPass, state: str | None, finishing: bool) -> tuple[int, str | None]:
    """Consolidate one batch of ready objects: how many, and the job's warm-start state after it."""
    job = p.job
    now = ctx.clock()
    limit = ctx.settings.consolidation_batch_size
    with ctx.engine.connect() as conn:
        ready = conn.execute(
            select(DataObject.id, DataObject.position, DataObject.line)
            .where(DataObject.job_id == job.id, DataObject.status == ObjectStatus.READY)
            .order_by(DataObject.position).limit(limit)
        ).all()
        if not ready:
            return 0, state
        new = _history(conn, job.id, [r.id for r in ready])
        responses = _worker_responses(conn, job.id, [r.id for r in ready])
    targets = {r.position for r in ready}
    task_type = get_task_type(job.task_type)
    labels = [x["label"] for x in json.loads(job.label_config)["labels"]]
    response_uris = write_worker_responses(ctx, job, [(pos, responses[pos]) for pos in sorted(targets)
                                                      if pos in responses], now)
    request_uri = write_consolidation_request(ctx, job, _consolidation_request(ready, new), now)
    if job.post_hook:
        results, state = _from_hook(ctx, job, task_type, targets, labels, request_uri, now), state
    else:
        def history() -> list[ObjectAnswers]:
            with ctx.engine.connect() as conn:
                return _history(conn, job.id)

        made, state = task_type.consolidate_batch(
            new, history, labels, algorithm=job.consolidation_algorithm, workers_per_object=job.workers_per_object,
            state=state, final=finishing and len(ready) < limit)
        results = _results(job, task_type, made, response_uris, now)
    response = _store(ctx, job, ready, results, now, state)
    write_consolidation_response(ctx, job, response, now)
    return len(ready), state


def _store(ctx: Context, job: Any, ready: list[Any], results: dict[int, Any], now: datetime,
           state: str | None) -> list[dict[str, Any]]:
    """Write labels and failures in short transactions (workers' writes wait less); the consolidation response."""
    response = []
    for start in range(0, len(ready), WRITE_CHUNK):
        labeled, failed, events = [], [], []
        for r in ready[start:start + WRITE_CHUNK]:
            result = results.get(r.position, "no answers to consolidate")
            if isinstance(result, str):
                failed.append({"b_id": r.id, "b_reason": result[:1024]})
                events.append({"at": now, "kind": "object.failed", "actor": "system", "job_id": job.id,
                               "dataset_object_id": r.position, "detail": {"reason": result}})
                continue
            value, metadata = result
            response.append({"datasetObjectId": str(r.position), "consolidatedAnnotation": {"content": {
                job.label_attribute_name: value, f"{job.label_attribute_name}-metadata": metadata}}})
            labeled.append({"b_id": r.id, "b_label": json.dumps(value, ensure_ascii=False),
                            "b_metadata": json.dumps(metadata, ensure_ascii=False), "b_now": now})
            events.append({"at": now, "kind": "object.consolidated", "actor": "system", "job_id": job.id,
                           "dataset_object_id": r.position, "detail": {"label": value}})

        def unit(conn: Connection, labeled: list[Any] = labeled, failed: list[Any] = failed,
                 events: list[Any] = events) -> None:
            if labeled:
                conn.execute(_LABELED, labeled)
            if failed:
                conn.execute(_FAILED, failed)
            record_many(conn, events)
            conn.execute(update(Job).where(Job.id == job.id).values(output_dirty=True, updated_at=now,
                                                                    consolidation_state=state))

        ctx.write(unit)
    return response


def _history(conn: Connection, job_id: int, object_ids: list[int] | None = None) -> list[ObjectAnswers]:
    """Every submitted answer of the job (or of the given objects), grouped by object."""
    q = (select(DataObject.position, Task.worker_id, Task.answer)
         .join(DataObject, DataObject.id == Task.object_id)
         .where(Task.job_id == job_id, Task.status == TaskStatus.SUBMITTED)
         .order_by(DataObject.position, Task.id))
    if object_ids is not None:
        q = q.where(Task.object_id.in_(object_ids))
    rows = conn.execute(q).all()
    grouped: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for position, worker_id, answer in rows:
        grouped.setdefault(position, []).append((str(worker_id), json.loads(answer)))
    return [ObjectAnswers(pos, tuple(answers)) for pos, answers in grouped.items()]


def _worker_responses(conn: Connection, job_id: int, object_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Ground Truth's worker-response entries of the given objects."""
    rows = conn.execute(
        select(DataObject.position, Task.worker_id, User.username, Task.answer, Task.leased_at, Task.finished_at,
               Task.time_spent_s)
        .join(DataObject, DataObject.id == Task.object_id)
        .join(User, User.id == Task.worker_id)
        .where(Task.job_id == job_id, Task.status == TaskStatus.SUBMITTED, Task.object_id.in_(object_ids))
        .order_by(DataObject.position, Task.id)
    ).all()
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r.position, []).append({
            "acceptanceTime": ms_stamp(r.leased_at), "submissionTime": ms_stamp(r.finished_at),
            "timeSpentInSeconds": round(r.time_spent_s or 0.0, 3), "workerId": f"{r.worker_id:016x}",
            "workerMetadata": {"identityData": {"identityProviderType": "labelloop", "issuer": "labelloop",
                                                "sub": r.username}},
            "answerContent": json.loads(r.answer)})
    return out


def _from_hook(ctx: Context, job: Any, task_type: TaskType, targets: set[int], labels: list[str], request_uri: str,
               now: datetime) -> dict[int, Any]:
    """{position: (value, metadata) or failure reason} from the job's post-annotation hook."""
    lan = job.label_attribute_name
    try:
        contents = post_annotation(job.post_hook, job.name, labels, lan, request_uri, storage=ctx.storage,
                                   timeout_s=ctx.settings.hook_timeout_s)
    except HookError as exc:
        return {pos: str(exc) for pos in targets}
    fallback = full_metadata({}, gt_type=task_type.gt_type, job_name=job.name, human=True, at=now)
    return {pos: (contents[str(pos)][lan], contents[str(pos)].get(f"{lan}-metadata") or fallback)
            if str(pos) in contents else "the post-annotation hook returned no label for this object"
            for pos in targets}


def _results(job: Any, task_type: TaskType, made: list[Any], response_uris: dict[int, str],
             now: datetime) -> dict[int, Any]:
    """{position: (value, metadata)} of the task type's labels, with Ground Truth's common metadata."""
    out: dict[int, Any] = {}
    for label in made:
        extra = dict(label.metadata)
        if task_type.writes_worker_response_ref:
            extra["worker-response-ref"] = response_uris.get(label.dataset_object_id)
        out[label.dataset_object_id] = (label.value, full_metadata(extra, gt_type=task_type.gt_type, job_name=job.name,
                                                                   human=True, at=now))
    return out


def _consolidation_request(ready: list[Any], history: list[ObjectAnswers]) -> list[dict[str, Any]]:
    answers = {h.dataset_object_id: h.answers for h in history}
    out = []
    for r in ready:
        line = json.loads(r.line)
        data = {"content": line["source"]} if "source" in line else {"s3Uri": line.get("source-ref")}
        out.append({"datasetObjectId": str(r.position), "dataObject": data, "annotations": [
            {"workerId": f"private.labelloop.{int(w):016x}", "annotationData": {"content": json.dumps(c)}}
            for w, c in answers.get(r.position, ())]})
    return out
