"""Heavy work, out of workers' requests: end leases, consolidate, finish jobs, write output.

Several server processes may run this at once: a job is worked on by one of them at a time, claimed
with a compare-and-set on ``jobs.background_until``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, or_, select, update

from labelloop.core.tasktypes import ObjectAnswers, full_metadata, get_task_type
from labelloop.db.engine import transaction
from labelloop.db.models import DataObject, Job, Task, User
from labelloop.services.context import Context
from labelloop.services.events import record_many
from labelloop.services.hooks import HookError, post_annotation, pre_annotation
from labelloop.services.jobs import OPEN_OBJECT_STATES, set_status
from labelloop.services.output import (
    ITERATION,
    ms_stamp,
    write_consolidation_request,
    write_consolidation_response,
    write_manifests,
    write_worker_responses,
)
from labelloop.services.tasks import expire_leases

CLAIM_S = 120


def end_leases(ctx: Context, job_id: int, *, reason: str) -> int:
    with transaction(ctx.engine) as conn:
        return expire_leases(conn, job_id, ctx.clock(), status=reason, all_open=True)


def _claim_job(ctx: Context, job_id: int, now: datetime) -> bool:
    with transaction(ctx.engine) as conn:
        return conn.execute(
            update(Job)
            .where(Job.id == job_id, or_(Job.background_until.is_(None), Job.background_until <= now))
            .values(background_until=now + timedelta(seconds=CLAIM_S))
        ).rowcount == 1


def _release_job(ctx: Context, job_id: int) -> None:
    with transaction(ctx.engine) as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(background_until=None))


def run_background_once(ctx: Context, *, force_output: bool = False) -> dict:
    """One pass over every open job (and finished jobs whose output is stale). Returns what it did."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        ids = conn.execute(
            select(Job.id).where(or_(Job.status.in_(("InProgress", "Stopping")), Job.output_dirty.is_(True)))
        ).scalars().all()
    done = {"jobs": 0, "consolidated": 0, "manifests": 0}
    for job_id in ids:
        if not _claim_job(ctx, job_id, now):
            continue
        try:
            done["consolidated"] += _work_on_job(ctx, job_id, force_output, done)
            done["jobs"] += 1
        finally:
            _release_job(ctx, job_id)
    return done


def _job(conn: Connection, job_id: int):
    return conn.execute(select(Job.__table__).where(Job.id == job_id)).one()


def _work_on_job(ctx: Context, job_id: int, force_output: bool, done: dict) -> int:
    now = ctx.clock()
    with transaction(ctx.engine) as conn:
        job = _job(conn, job_id)
        if job.status == "InProgress":
            expire_leases(conn, job_id, now)
            if now >= job.ends_at:
                _close_availability(conn, job, now)
    if job.pre_hook and job.status == "InProgress":
        while preprocess(ctx, job_id):
            pass
    consolidated = 0
    if _consolidation_due(ctx, job_id, now):
        # one batch a pass while workers are busy (each batch refits on all answers); all of them at the end
        while (n := consolidate_ready(ctx, job_id)) and _finishing(ctx, job_id):
            consolidated += n
        consolidated += n
    with transaction(ctx.engine) as conn:
        job = _job(conn, job_id)
        if job.status == "Stopping":
            set_status(conn, job_id, "Stopped", now)
        elif job.status == "InProgress" and not _has_open_objects(conn, job_id):
            set_status(conn, job_id, "Completed", now)
    with ctx.engine.connect() as conn:
        job = _job(conn, job_id)
    finished = job.status not in ("InProgress", "Stopping")
    due = job.output_written_at is None or (now - job.output_written_at).total_seconds() >= ctx.settings.output_interval_s
    if job.output_dirty and (force_output or finished or due):
        with ctx.engine.connect() as conn:
            write_manifests(ctx, conn, job)
        with transaction(ctx.engine) as conn:
            conn.execute(update(Job).where(Job.id == job_id).values(output_dirty=False, output_written_at=now))
        done["manifests"] += 1
    return consolidated


def _finishing(ctx: Context, job_id: int) -> bool:
    """The job hands out no more tasks: stopping, past its availability, or nothing left to lease."""
    with ctx.engine.connect() as conn:
        job = _job(conn, job_id)
        return job.status != "InProgress" or ctx.clock() >= job.ends_at or not _has_objects(
            conn, job_id, ("preprocessing", "pending"))


def _has_objects(conn: Connection, job_id: int, statuses) -> bool:
    return conn.execute(
        select(DataObject.id).where(DataObject.job_id == job_id, DataObject.status.in_(statuses)).limit(1)
    ).first() is not None


def _consolidation_due(ctx: Context, job_id: int, now: datetime) -> bool:
    """Consolidate at most every ``consolidation_interval_s`` while workers are busy; at once when the job
    is ending or no task is left to hand out (each pass refits the worker models on all answers)."""
    with ctx.engine.connect() as conn:
        job = _job(conn, job_id)
        if (now - job.updated_at).total_seconds() >= ctx.settings.consolidation_interval_s:
            return True
    return _finishing(ctx, job_id)


def _has_open_objects(conn: Connection, job_id: int) -> bool:
    return _has_objects(conn, job_id, OPEN_OBJECT_STATES)


def _close_availability(conn: Connection, job, now: datetime) -> None:
    """The availability lifetime ran out: answered objects get consolidated, unanswered ones fail."""
    expire_leases(conn, job.id, now, all_open=True)
    base = [DataObject.job_id == job.id, DataObject.status == "pending"]
    conn.execute(update(DataObject).where(*base, DataObject.answer_count > 0).values(status="ready"))
    failed = conn.execute(
        update(DataObject).where(*base, DataObject.answer_count == 0)
        .values(status="failed", failure_reason="no worker answered within the task availability lifetime")
        .returning(DataObject.position)
    ).scalars().all()
    record_many(conn, [{"at": now, "kind": "object.failed", "actor": "system", "job_id": job.id,
                        "dataset_object_id": p, "detail": {"reason": "task availability lifetime ended"}} for p in failed])


def _history(conn: Connection, job_id: int) -> list[ObjectAnswers]:
    """Every submitted answer of the job, grouped by object (what the worker models are fitted on)."""
    rows = conn.execute(
        select(DataObject.position, Task.worker_id, Task.answer)
        .join(DataObject, DataObject.id == Task.object_id)
        .where(Task.job_id == job_id, Task.status == "submitted")
        .order_by(DataObject.position, Task.id)
    ).all()
    grouped: dict[int, list] = {}
    for position, worker_id, answer in rows:
        grouped.setdefault(position, []).append((str(worker_id), json.loads(answer)))
    return [ObjectAnswers(p, tuple(answers)) for p, answers in grouped.items()]


def _worker_responses(conn: Connection, job_id: int, object_ids: list[int]) -> dict[int, list[dict]]:
    """Ground Truth's worker-response entries of the given objects."""
    rows = conn.execute(
        select(DataObject.position, Task.worker_id, User.username, Task.answer, Task.leased_at, Task.finished_at,
               Task.time_spent_s)
        .join(DataObject, DataObject.id == Task.object_id)
        .join(User, User.id == Task.worker_id)
        .where(Task.job_id == job_id, Task.status == "submitted", Task.object_id.in_(object_ids))
        .order_by(DataObject.position, Task.id)
    ).all()
    out: dict[int, list[dict]] = {}
    for r in rows:
        out.setdefault(r.position, []).append({
            "acceptanceTime": ms_stamp(r.leased_at), "submissionTime": ms_stamp(r.finished_at),
            "timeSpentInSeconds": round(r.time_spent_s or 0.0, 3), "workerId": f"{r.worker_id:016x}",
            "workerMetadata": {"identityData": {"identityProviderType": "labelloop", "issuer": "labelloop",
                                                "sub": r.username}},
            "answerContent": json.loads(r.answer)})
    return out


def preprocess(ctx: Context, job_id: int, batch: int = 100) -> int:
    """Run the pre-annotation hook on a batch of new objects: task input, skip, or failure with the reason."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        job = _job(conn, job_id)
        rows = conn.execute(
            select(DataObject.id, DataObject.position, DataObject.line)
            .where(DataObject.job_id == job_id, DataObject.status == "preprocessing")
            .order_by(DataObject.position).limit(batch)
        ).all()
    outcomes = []
    for r in rows:
        try:
            task_input, required = pre_annotation(job.pre_hook, job.name, json.loads(r.line))
            outcomes.append((r, {"task_input": json.dumps(task_input), "status": "pending" if required else "skipped"}))
        except HookError as exc:
            outcomes.append((r, {"status": "failed", "failure_reason": str(exc)[:1024]}))
    with transaction(ctx.engine) as conn:
        for r, values in outcomes:
            conn.execute(update(DataObject).where(DataObject.id == r.id, DataObject.status == "preprocessing")
                         .values(**values))
        record_many(conn, [{"at": now, "kind": "object.failed" if v["status"] == "failed" else "object.preprocessed",
                            "actor": "system", "job_id": job_id, "dataset_object_id": r.position,
                            "detail": {"reason": v.get("failure_reason"), "status": v["status"]}}
                           for r, v in outcomes])
    return len(rows)


WRITE_CHUNK = 500
_LABELED = (update(DataObject).where(DataObject.id == bindparam("b_id"), DataObject.status == "ready")
            .values(status="labeled", label=bindparam("b_label"), label_metadata=bindparam("b_metadata"),
                    human_annotated=True, labeled_at=bindparam("b_now")))
_FAILED = (update(DataObject).where(DataObject.id == bindparam("b_id"))
           .values(status="failed", failure_reason=bindparam("b_reason")))


def consolidate_ready(ctx: Context, job_id: int) -> int:
    """Consolidate one batch of ready objects: the built-in algorithm (worker models fitted on all of the
    job's answers) or the job's post-annotation hook."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        job = _job(conn, job_id)
        ready = conn.execute(
            select(DataObject.id, DataObject.position, DataObject.line)
            .where(DataObject.job_id == job_id, DataObject.status == "ready")
            .order_by(DataObject.position).limit(ctx.settings.consolidation_batch_size)
        ).all()
        if not ready:
            return 0
        history = _history(conn, job_id)
        responses = _worker_responses(conn, job_id, [r.id for r in ready])
    targets = {r.position for r in ready}
    task_type = get_task_type(job.task_type)
    labels = [x["label"] for x in json.loads(job.label_config)["labels"]]
    response_uris = write_worker_responses(ctx, job, [(p, responses[p]) for p in sorted(targets) if p in responses], now)
    request = _consolidation_request(job, ready, history)
    request_uri = write_consolidation_request(ctx, job, request, now)
    results = _consolidate(job, task_type, history, targets, labels, request_uri, response_uris, now)
    response = []
    for start in range(0, len(ready), WRITE_CHUNK):  # short write transactions: workers' writes wait less
        labeled, failed, events = [], [], []
        for r in ready[start:start + WRITE_CHUNK]:
            result = results.get(r.position, "no answers to consolidate")
            if isinstance(result, str):
                failed.append({"b_id": r.id, "b_reason": result[:1024]})
                events.append({"at": now, "kind": "object.failed", "actor": "system", "job_id": job_id,
                               "dataset_object_id": r.position, "detail": {"reason": result}})
                continue
            value, metadata = result
            response.append({"datasetObjectId": str(r.position), "consolidatedAnnotation": {"content": {
                job.label_attribute_name: value, f"{job.label_attribute_name}-metadata": metadata}}})
            labeled.append({"b_id": r.id, "b_label": json.dumps(value, ensure_ascii=False),
                            "b_metadata": json.dumps(metadata, ensure_ascii=False), "b_now": now})
            events.append({"at": now, "kind": "object.consolidated", "actor": "system", "job_id": job_id,
                           "dataset_object_id": r.position, "detail": {"label": value}})
        with transaction(ctx.engine) as conn:
            if labeled:
                conn.execute(_LABELED, labeled)
            if failed:
                conn.execute(_FAILED, failed)
            record_many(conn, events)
            conn.execute(update(Job).where(Job.id == job_id).values(output_dirty=True, updated_at=now))
    write_consolidation_response(ctx, job, response, now)
    return len(ready)


def _consolidate(job, task_type, history, targets, labels, request_uri, response_uris, now) -> dict:
    """{position: (value, metadata) or failure reason}."""
    common = {"gt_type": task_type.gt_type, "job_name": job.name, "human": True, "at": now}
    lan = job.label_attribute_name
    if job.post_hook:
        try:
            contents = post_annotation(job.post_hook, job.name, labels, lan, request_uri)
        except HookError as exc:
            return {p: str(exc) for p in targets}
        return {p: (contents[str(p)][lan], contents[str(p)].get(f"{lan}-metadata") or full_metadata({}, **common))
                if str(p) in contents else "the post-annotation hook returned no label for this object"
                for p in targets}
    made = task_type.consolidate(history, targets, labels, algorithm=job.consolidation_algorithm,
                                 workers_per_object=job.workers_per_object)
    out = {}
    for label in made:
        extra = dict(label.metadata)
        if task_type.name == "custom":
            extra["worker-response-ref"] = response_uris.get(label.dataset_object_id)
        out[label.dataset_object_id] = (label.value, full_metadata(extra, **common))
    return out


def _consolidation_request(job, ready, history) -> list[dict]:
    answers = {h.dataset_object_id: h.answers for h in history}
    out = []
    for r in ready:
        line = json.loads(r.line)
        data = {"content": line["source"]} if "source" in line else {"s3Uri": line.get("source-ref")}
        out.append({"datasetObjectId": str(r.position), "dataObject": data, "annotations": [
            {"workerId": f"private.labelloop.{int(w):016x}", "annotationData": {"content": json.dumps(c)}}
            for w, c in answers.get(r.position, ())]})
    return out


__all__ = ["ITERATION", "consolidate_ready", "end_leases", "run_background_once"]
