"""Step: consolidate the objects that have their answers, with the task type's algorithm (worker models
fitted on the job's answers) or the job's post-annotation hook; write Ground Truth's annotation files.

While workers are busy a job is consolidated at most every ``consolidation_interval_s``, one batch a pass;
once no task is left to hand out (or the job is ending), every ready object at once.

Adaptive consensus (a job with ``min_workers_per_object`` below ``workers_per_object``): an object whose
posterior (its label's raw ``confidence``) is below the job's ``confidence_target`` goes back to the pool
wanting one more answer (``core.quality.policy.wanted_after``) instead of being labeled, until it reaches the
maximum. Answers of workers blocked from the job are left out (``tasks.discarded``); after each batch the
workers' agreement with the new labels is added to their standing, and the job's block rule applied.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from labelloop.core.lifecycle import ObjectStatus, TaskStatus, accepts_work
from labelloop.core.quality.policy import needs_another_answer, wanted_after
from labelloop.core.tasktypes import ObjectAnswers, TaskType, full_metadata, get_task_type
from labelloop.core.tasktypes.base import Label, creation_date
from labelloop.db.models import DataObject, Event, Job, Task, User
from labelloop.services.background.base import JobPass, Outcome
from labelloop.services.background.queries import has_objects
from labelloop.services.context import Context
from labelloop.services.events import record_many
from labelloop.services.hook_s3 import hook_uri, public_url
from labelloop.services.hooks import HookError, call_for, lambda_ref, post_annotation, post_annotation_event
from labelloop.services.output import (
    consolidation_name,
    ms_stamp,
    write_consolidation_request,
    write_consolidation_response,
    write_worker_responses,
)
from labelloop.services.standing import add_agreement, answer_class
from labelloop.storage import join

WRITE_CHUNK = 500
_COMPACT = (",", ":")
_LABELED = (update(DataObject).where(DataObject.id == bindparam("b_id"), DataObject.status == ObjectStatus.READY)
            .values(status=ObjectStatus.LABELED, label=bindparam("b_label"), label_metadata=bindparam("b_metadata"),
                    human_annotated=True, labeled_at=bindparam("b_now")))
# adaptive consensus: back to the pool wanting one more answer; the label so far is kept (not yet output)
_REOPENED = (update(DataObject).where(DataObject.id == bindparam("b_id"), DataObject.status == ObjectStatus.READY)
             .values(status=ObjectStatus.PENDING, wanted=bindparam("b_wanted"), label=bindparam("b_label"),
                     label_metadata=bindparam("b_metadata")))
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
            select(DataObject.id, DataObject.position, DataObject.line, DataObject.answer_count)
            .where(DataObject.job_id == job.id, DataObject.status == ObjectStatus.READY)
            .order_by(DataObject.position).limit(limit)
        ).all()
        if not ready:
            return 0, state
        new = _history(conn, job.id, [r.id for r in ready])
        responses = _worker_responses(conn, job.id, [r.id for r in ready], public_url(ctx))
        iterations = _iterations(conn, job.id, [r.position for r in ready])
    targets = {r.position for r in ready}
    task_type = get_task_type(job.task_type)
    labels = [x["label"] for x in json.loads(job.label_config)["labels"]]
    response_uris = write_worker_responses(ctx, job, [(pos, responses[pos]) for pos in sorted(targets)
                                                      if pos in responses], now, iterations)
    n = max(iterations.values(), default=1)
    name = consolidation_name(ctx, job, n, now)
    call = call_for(ctx, job)
    request_uri = write_consolidation_request(ctx, job, _consolidation_request(ready, new, call.region), n, name)
    hook_answer: Any = None
    if job.post_hook:
        results, hook_answer = _from_hook(ctx, job, task_type, targets, labels, request_uri, now)
    else:
        def history() -> list[ObjectAnswers]:
            with ctx.engine.connect() as conn:
                return _history(conn, job.id)

        made, state = task_type.consolidate_batch(
            new, history, labels, algorithm=job.consolidation_algorithm, workers_per_object=job.workers_per_object,
            state=state, final=finishing and len(ready) < limit)
        made = _write_label_files(ctx, job, made, now)
        results = _results(job, task_type, made, response_uris, now, new)
    # adaptive consensus asks for more answers only while the job hands out work (not stopping, not past its end)
    response = _store(ctx, job, ready, results, now, state, reopen=accepts_work(p.status, job.ends_at, now))
    # Ground Truth keeps what the Lambda answered; without one, the labels the built-in consolidation made
    if not job.post_hook or hook_answer is not None:
        write_consolidation_response(ctx, job, hook_answer if job.post_hook else response, n, name)
    if job.gold_count or job.block_below_accuracy is not None:
        counts = _agreement(new, results)
        ctx.write(lambda conn: add_agreement(conn, job, counts, now))
    return len(ready), state


def _agreement(new: list[ObjectAnswers], results: dict[int, Any]) -> dict[int, tuple[int, int]]:
    """Per worker id: (answers equal to the object's new consolidated class, answers compared)."""
    out: dict[int, list[int]] = {}
    for obj in new:
        result = results.get(obj.dataset_object_id)
        if isinstance(result, str) or result is None or not isinstance(result[1], dict):
            continue
        label = result[1].get("class-name")
        for worker, content in obj.answers:
            counts = out.setdefault(int(worker), [0, 0])
            counts[0] += int(label is not None and answer_class(content) == label)
            counts[1] += 1
    return {w: (a, c) for w, (a, c) in out.items()}


def _reopen_wanted(job: Any, answers: int, metadata: Any) -> int | None:
    """Adaptive consensus: the answers the object wants now if it needs another (else None)."""
    if not (job.min_workers_per_object and job.min_workers_per_object < job.workers_per_object):
        return None
    posterior = metadata.get("confidence") if isinstance(metadata, dict) else None
    limits = {"min_answers": job.min_workers_per_object, "max_answers": job.workers_per_object,
              "target": job.confidence_target}
    if not needs_another_answer(answers, posterior, **limits):
        return None
    return wanted_after(answers, posterior, **limits)


def _store(ctx: Context, job: Any, ready: list[Any], results: dict[int, Any], now: datetime,
           state: str | None, *, reopen: bool = False) -> list[dict[str, Any]]:
    """Write labels and failures in short transactions (workers' writes wait less); the consolidation response."""
    response = []
    for start in range(0, len(ready), WRITE_CHUNK):
        labeled, failed, events, reopened = [], [], [], []
        for r in ready[start:start + WRITE_CHUNK]:
            result = results.get(r.position, "no answers to consolidate")
            if isinstance(result, str):
                failed.append({"b_id": r.id, "b_reason": result[:1024]})
                events.append({"at": now, "kind": "object.failed", "actor": "system", "job_id": job.id,
                               "dataset_object_id": r.position, "detail": {"reason": result}})
                continue
            value, metadata = result
            wanted = _reopen_wanted(job, r.answer_count, metadata) if reopen else None
            if wanted is not None:
                reopened.append({"b_id": r.id, "b_wanted": wanted, "b_label": json.dumps(value, ensure_ascii=False),
                                 "b_metadata": json.dumps(metadata, ensure_ascii=False)})
                events.append({"at": now, "kind": "object.reopened", "actor": "system", "job_id": job.id,
                               "dataset_object_id": r.position,
                               "detail": {"confidence": metadata.get("confidence"), "answers": r.answer_count,
                                          "wanted": wanted}})
                continue
            response.append({"datasetObjectId": str(r.position), "consolidatedAnnotation": {"content": {
                job.label_attribute_name: value, f"{job.label_attribute_name}-metadata": metadata}}})
            labeled.append({"b_id": r.id, "b_label": json.dumps(value, ensure_ascii=False, separators=_COMPACT),
                            "b_metadata": json.dumps(metadata, ensure_ascii=False, separators=_COMPACT),
                            "b_now": now})  # compact, as the output manifest writes them
            events.append({"at": now, "kind": "object.consolidated", "actor": "system", "job_id": job.id,
                           "dataset_object_id": r.position, "detail": {"label": value}})

        def unit(conn: Connection, labeled: list[Any] = labeled, failed: list[Any] = failed,
                 events: list[Any] = events, reopened: list[Any] = reopened) -> None:
            if labeled:
                conn.execute(_LABELED, labeled)
            if reopened:
                conn.execute(_REOPENED, reopened)
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
         .where(Task.job_id == job_id, Task.status == TaskStatus.SUBMITTED, Task.discarded.is_(False))
         .order_by(DataObject.position, Task.id))
    if object_ids is not None:
        q = q.where(Task.object_id.in_(object_ids))
    rows = conn.execute(q).all()
    grouped: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for position, worker_id, answer in rows:
        grouped.setdefault(position, []).append((str(worker_id), json.loads(answer)))
    return [ObjectAnswers(pos, tuple(answers)) for pos, answers in grouped.items()]


def _worker_responses(conn: Connection, job_id: int, object_ids: list[int],
                      issuer: str) -> dict[int, list[dict[str, Any]]]:
    """Ground Truth's worker-response entries of the given objects. A local account's identity is Ground
    Truth's Cognito shape: this server's URL as ``issuer``, the user's stable opaque ``sub``."""
    rows = conn.execute(
        select(DataObject.position, Task.worker_id, User.sub, Task.answer, Task.leased_at, Task.finished_at,
               Task.time_spent_s)
        .join(DataObject, DataObject.id == Task.object_id)
        .join(User, User.id == Task.worker_id)
        .where(Task.job_id == job_id, Task.status == TaskStatus.SUBMITTED, Task.discarded.is_(False),
               Task.object_id.in_(object_ids))
        .order_by(DataObject.position, Task.id)
    ).all()
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r.position, []).append({
            "acceptanceTime": ms_stamp(r.leased_at), "submissionTime": ms_stamp(r.finished_at),
            "timeSpentInSeconds": round(r.time_spent_s or 0.0, 3), "workerId": f"{r.worker_id:016x}",
            "workerMetadata": {"identityData": {"identityProviderType": "Cognito", "issuer": issuer,
                                                "sub": r.sub}},
            "answerContent": json.loads(r.answer)})
    return out


def _from_hook(ctx: Context, job: Any, task_type: TaskType, targets: set[int], labels: list[str], request_uri: str,
               now: datetime) -> tuple[dict[int, Any], Any]:
    """({position: (value, metadata) or failure reason}, the hook's answer or None) from the job's
    post-annotation hook. A registered hook reads ``payload.s3Uri`` from labelloop's S3 endpoint."""
    lan = job.label_attribute_name
    call = call_for(ctx, job, payload_uri=hook_uri(request_uri))
    uri = call.payload_uri if lambda_ref(job.post_hook) else request_uri  # webhooks: the URI as written
    event = post_annotation_event(job, labels, uri, call)
    try:
        contents, answer = post_annotation(job.post_hook, event, storage=ctx.storage,
                                           timeout_s=ctx.settings.hook_timeout_s, ctx=ctx, call=call)
    except HookError as exc:
        return {pos: str(exc) for pos in targets}, None
    fallback = full_metadata({}, gt_type=task_type.gt_type, job_name=job.name, human=True, at=now)
    return {pos: (contents[str(pos)][lan], contents[str(pos)].get(f"{lan}-metadata") or fallback)
            if str(pos) in contents else "the post-annotation hook returned no label for this object"
            for pos in targets}, answer


def _write_label_files(ctx: Context, job: Any, made: list[Label], now: datetime) -> list[Label]:
    """The files labels refer to (a semantic segmentation's PNG label map) written under the job's output
    ``annotations/consolidated-annotation/output/<datasetObjectId>_<creation date>[_<name>]`` (Ground Truth's
    names), each label's ``value`` naming a file replaced by its URI."""
    out = []
    for label in made:
        if not label.files:
            out.append(label)
            continue
        uris = {}
        for name, data in label.files:
            suffix = name if len(label.files) > 1 else name.rsplit(".", 1)[-1]
            stem = f"{label.dataset_object_id}_{creation_date(now)}"
            uri = join(job.output_uri, "annotations/consolidated-annotation/output",
                       f"{stem}_{suffix}" if len(label.files) > 1 else f"{stem}.{suffix}")
            ctx.storage.write_bytes(uri, data)
            uris[name] = uri
        value = uris.get(label.value, label.value) if isinstance(label.value, str) else label.value
        out.append(Label(label.dataset_object_id, value, label.metadata))
    return out


def _results(job: Any, task_type: TaskType, made: list[Any], response_uris: dict[int, str],
             now: datetime, new: list[ObjectAnswers] | None = None) -> dict[int, Any]:
    """{position: (value, metadata)} of the task type's labels, with Ground Truth's common metadata. A list
    of labels (multi-label) is in the order the workers chose them (``_chosen_order``)."""
    answers = {h.dataset_object_id: h.answers for h in new or ()}
    out: dict[int, Any] = {}
    for label in made:
        value, extra = _chosen_order(label.value, dict(label.metadata), answers.get(label.dataset_object_id, ()))
        if task_type.writes_worker_response_ref:
            extra["worker-response-ref"] = response_uris.get(label.dataset_object_id)
        out[label.dataset_object_id] = (value, full_metadata(extra, gt_type=task_type.gt_type, job_name=job.name,
                                                             human=True, at=now))
    return out


def _chosen_order(value: Any, metadata: dict[str, Any], answers: Any) -> tuple[Any, dict[str, Any]]:
    """A multi-label value (a list of class indices with ``class-map``) reordered as first chosen: by the
    workers in turn, each worker's labels in the order they picked them; ``class-map`` and
    ``confidence-map`` follow. Anything else is returned as it is."""
    cmap = metadata.get("class-map")
    if not isinstance(value, list) or not isinstance(cmap, dict) or len(value) < 2:
        return value, metadata
    rank: dict[str, int] = {}
    for _worker, content in answers:
        for body in content.values() if isinstance(content, dict) else ():
            for name in body.get("labels", ()) if isinstance(body, dict) else ():
                rank.setdefault(name, len(rank))
    ordered = sorted(value, key=lambda c: rank.get(cmap.get(str(c), ""), len(rank)))
    out = dict(metadata)
    for key in ("class-map", "confidence-map"):
        if isinstance(metadata.get(key), dict):
            out[key] = {str(c): metadata[key][str(c)] for c in ordered if str(c) in metadata[key]}
    return ordered, out


def _iterations(conn: Connection, job_id: int, positions: list[int]) -> dict[int, int]:
    """Each object's consolidation number: 1 the first time, one more for every earlier consolidation (an
    object consolidated again goes to ``iteration-2``...)."""
    rows = conn.execute(
        select(Event.dataset_object_id, func.count())
        .where(Event.job_id == job_id, Event.kind == "object.consolidated", Event.dataset_object_id.in_(positions))
        .group_by(Event.dataset_object_id)).all()
    done = dict(rows)
    return {pos: done.get(pos, 0) + 1 for pos in positions}


def _consolidation_request(ready: list[Any], history: list[ObjectAnswers], region: str = "us-east-1") -> list[dict[str, Any]]:
    """Ground Truth's consolidation request: ``workerId`` is ``private.<region>.<id>`` (the id as in the
    worker-response file), ``annotationData.content`` the JSON text of the answer."""
    answers = {h.dataset_object_id: h.answers for h in history}
    out = []
    for r in ready:
        line = json.loads(r.line)
        data = {"content": line["source"]} if "source" in line else {"s3Uri": line.get("source-ref")}
        out.append({"datasetObjectId": str(r.position), "dataObject": data, "annotations": [
            {"workerId": f"private.{region}.{int(w):016x}",
             "annotationData": {"content": json.dumps(c, ensure_ascii=False, separators=(",", ":"))}}
            for w, c in answers.get(r.position, ())]})
    return out
