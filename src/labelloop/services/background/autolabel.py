"""Step: one round of automated data labeling, once every object people were asked for is labeled.

A round trains the job's model on the human labels (validation held out), certifies a threshold on the
validation sample (``core.autolabel.certify``), labels the held-back objects at or above it
(``"human-annotated": "no"``, the model's confidence, an ``object.auto_labeled`` event), and sends the most
informative of the rest to people (``core.autolabel.select``). Everything a round decides is written in one
transaction with its round record: a crash or restart in the middle of a round leaves nothing of it, and the
next pass runs it again from the last finished round. The model's labels are compare-and-sets on objects
still held back (``wanted`` 0, no lease, no answer): nothing is labeled twice, and no worker holds a lease
on an object the model labels. Training and inference run here, in the background process, never in a
request; features are computed once per object and cached in ``autolabel_objects``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, func, insert, or_, select, update

from labelloop.core.autolabel import decide_round, human_budget, plan
from labelloop.core.lifecycle import JobStatus, ObjectStatus
from labelloop.core.tasktypes import full_metadata, get_task_type
from labelloop.db.models import AutoLabelJob, AutoLabelModel, AutoLabelObject, AutoLabelRound, DataObject, Job
from labelloop.services.autolabel import PICK, ROLE, model_arn
from labelloop.services.background.base import JobPass, Outcome
from labelloop.services.context import Context
from labelloop.services.events import record, record_many
from labelloop.services.jobs import set_status

FEATURE_CHUNK = 256
WRITE_CHUNK = 1000
_COMPACT = (",", ":")
_MACHINE = (update(DataObject).where(DataObject.id == bindparam("b_id"), DataObject.status == ObjectStatus.PENDING,
                                     DataObject.wanted == 0, DataObject.active_count == 0,
                                     DataObject.answer_count == 0)
            .values(status=ObjectStatus.LABELED, label=bindparam("b_label"), label_metadata=bindparam("b_metadata"),
                    human_annotated=False, labeled_at=bindparam("b_now")))
_VECTOR = (update(AutoLabelObject).where(AutoLabelObject.object_id == bindparam("b_id"))
           .values(vector=bindparam("b_vector"), featurizer=bindparam("b_featurizer")))


def step(ctx: Context, p: JobPass) -> Outcome:
    if p.status != JobStatus.IN_PROGRESS:
        return Outcome()
    with ctx.engine.connect() as conn:
        cfg = conn.execute(select(AutoLabelJob.__table__).where(AutoLabelJob.job_id == p.job.id)).first()
        if cfg is None or cfg.state != "labeling" or _outstanding(conn, p.job.id):
            return Outcome()
    try:
        return run_round(ctx, p, cfg)
    except Exception as exc:
        from labelloop.ml.base import MissingExtra
        from labelloop.ml.byom import PredictorError

        if not isinstance(exc, (MissingExtra, PredictorError, OSError, ValueError)):
            raise
        _fail(ctx, p, str(exc))
        return Outcome(done=1, output_dirty=True)


def _outstanding(conn: Connection, job_id: int) -> bool:
    """An object people were asked for is not labeled yet (the round waits for its batch)."""
    return conn.execute(select(DataObject.id).where(
        DataObject.job_id == job_id, DataObject.is_gold.is_(False),
        DataObject.status.in_([ObjectStatus.PREPROCESSING, ObjectStatus.PENDING, ObjectStatus.READY]),
        or_(DataObject.wanted.is_(None), DataObject.wanted > 0)).limit(1)).first() is not None


def _fail(ctx: Context, p: JobPass, reason: str) -> None:
    """Automated labeling cannot go on: say why, and hand every object still held back to people."""
    def unit(conn: Connection) -> None:
        conn.execute(update(AutoLabelJob).where(AutoLabelJob.job_id == p.job.id)
                     .values(state="failed", failure=reason[:2000], updated_at=p.now))
        conn.execute(update(DataObject).where(DataObject.job_id == p.job.id, DataObject.wanted == 0,
                                              DataObject.is_gold.is_(False))
                     .values(wanted=p.job.min_workers_per_object))
        record(conn, "autolabel.failed", at=p.now, actor="system", job_id=p.job.id, reason=reason[:2000],
               note="the objects left go to people")

    ctx.write(unit)


def _rows(conn: Connection, job_id: int) -> list[Any]:
    return conn.execute(
        select(DataObject.id, DataObject.position, DataObject.line, DataObject.source_ref, DataObject.status,
               DataObject.label, DataObject.label_metadata, DataObject.human_annotated, DataObject.wanted,
               DataObject.active_count, DataObject.answer_count, AutoLabelObject.role)
        .join(AutoLabelObject, AutoLabelObject.object_id == DataObject.id)
        .where(DataObject.job_id == job_id, DataObject.is_gold.is_(False))
        .order_by(DataObject.position)).all()


def run_round(ctx: Context, p: JobPass, cfg: Any) -> Outcome:
    job = p.job
    labels = [x["label"] for x in json.loads(job.label_config)["labels"]]
    with ctx.engine.connect() as conn:
        rows = _rows(conn, job.id)
    human = [r for r in rows if r.status == ObjectStatus.LABELED and r.human_annotated and r.label is not None]
    val = [r for r in human if r.role == "validation"]
    train = [r for r in human if r.role != "validation"]
    pool = [r for r in rows if r.status == ObjectStatus.PENDING and r.wanted == 0 and not r.active_count
            and not r.answer_count]
    val_y, train_y = np.array([int(json.loads(r.label)) for r in val], dtype=int), \
        np.array([int(json.loads(r.label)) for r in train], dtype=int)
    models = _models(ctx, p, cfg, labels, train, train_y, val, pool)
    val_probas = [m[0] for m in models]
    pool_probas = [m[1] for m in models]
    pool_x = models[0][2]
    p.renew()
    objects = len(rows)
    asked = sum(1 for r in rows if r.role is not None)
    pl = plan(objects, cfg.target, max_concurrent=job.max_concurrent_tasks)
    label_error = None
    if job.workers_per_object > 1:
        label_error = np.array([1.0 - float(json.loads(r.label_metadata or "{}").get("confidence", 1.0))
                                for r in val])
    decision = decide_round(val_probas, val_y, pool_probas, pool_x, target=cfg.target, batch=pl.batch,
                            validation_size=cfg.validation_size, max_validation=pl.max_validation,
                            budget=human_budget(objects, asked, cfg.max_human, cfg.max_percentage),
                            label_error=label_error, rng=np.random.default_rng(cfg.seed + 1000 * (cfg.round + 1)))
    state = _write_round(ctx, p, cfg, labels, pool, decision, models[decision.model][3], asked, len(train), len(val))
    return Outcome(done=len(decision.machine) + 1, output_dirty=True,
                   status=JobStatus.STOPPING if state == "stopped" else None)


def _models(ctx: Context, p: JobPass, cfg: Any, labels: list[str], train: list[Any], train_y: np.ndarray,
            val: list[Any], pool: list[Any]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, bytes | None]]:
    """(validation probabilities, pool probabilities, pool features for diversity, the model to keep) per
    candidate: the model trained now, and the job's initial model if it has one."""
    from labelloop.ml.base import parse_model_spec

    task_type = get_task_type(p.job.task_type)
    assert task_type.autolabel is not None
    spec = parse_model_spec(cfg.model, task_type.autolabel.media)
    if spec.url is not None:
        remote = remote_model(ctx, spec.url, labels)
        remote.train([{**_instance(r), "label": labels[int(y)]} for r, y in zip(train, train_y, strict=True)])
        vp = remote.predict_proba([_instance(r) for r in val])
        pp = remote.predict_proba([_instance(r) for r in pool])
        return [(vp, pp, pp, None)]
    from labelloop.ml.linear import LinearModel

    assert spec.featurizer is not None
    x = _features(ctx, p, spec.featurizer, train + val + pool)
    xt, xv, xp = x[:len(train)], x[len(train):len(train) + len(val)], x[len(train) + len(val):]
    model = LinearModel(seed=cfg.seed)
    model.fit(xt, train_y, len(labels))
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray, bytes | None]] = [
        (model.predict_proba(xv), model.predict_proba(xp), xp, model.to_bytes())]
    if cfg.initial_model_arn:
        with ctx.engine.connect() as conn:
            blob = conn.execute(select(AutoLabelModel.blob).where(AutoLabelModel.arn == cfg.initial_model_arn)).scalar()
        if blob is not None:
            initial = LinearModel.from_bytes(blob)
            out.append((initial.predict_proba(xv), initial.predict_proba(xp), xp, blob))
    return out


def remote_model(ctx: Context, url: str, labels: list[str]) -> Any:
    """A bring-your-own model whose calls go through the storage policy's host checks."""
    from labelloop.ml.byom import RemoteModel

    timeout = ctx.settings.hook_timeout_s

    def get(u: str) -> bytes:
        with ctx.storage.read_limited(u, max_bytes=1 << 20, timeout_s=timeout, what="health answer") as f:
            return f.read()

    return RemoteModel(url, labels, post=lambda u, payload: ctx.storage.post_json(u, payload, timeout_s=timeout),
                       get=get)


def _instance(r: Any) -> dict[str, Any]:
    line = json.loads(r.line)
    if "source" in line:
        return {"id": str(r.position), "source": line["source"]}
    return {"id": str(r.position), "source-ref": r.source_ref or line.get("source-ref")}


def _data(ctx: Context, r: Any) -> bytes | str:
    line = json.loads(r.line)
    if "source" in line:
        return str(line["source"])
    return ctx.storage.read_bytes(r.source_ref or line["source-ref"])


#: the vectors of the job this process ran a round of last, by object id: its next round reads none of them
#: again from the database (an object's vector never changes for a featurizer). One job's only, to bound memory.
_MEMO: dict[str, Any] = {"engine": None, "key": None, "vectors": {}}


def _features(ctx: Context, p: JobPass, name: str, rows: list[Any]) -> np.ndarray:
    """Each object's feature vector, computed once and cached (float32 in ``autolabel_objects``; in memory
    between the rounds of the job this process ran last)."""
    from labelloop.ml.features import featurizer

    ids = [r.id for r in rows]
    key = (p.job.id, p.job.created_at, name)
    if _MEMO["engine"] is not ctx.engine or _MEMO["key"] != key:  # another database's ids are other objects
        _MEMO.update(engine=ctx.engine, key=key, vectors={})
    cached: dict[int, np.ndarray] = _MEMO["vectors"]
    unread = [i for i in ids if i not in cached]
    with ctx.engine.connect() as conn:
        for start in range(0, len(unread), 5000):
            for oid, vec in conn.execute(select(AutoLabelObject.object_id, AutoLabelObject.vector).where(
                    AutoLabelObject.object_id.in_(unread[start:start + 5000]), AutoLabelObject.featurizer == name)):
                cached[oid] = np.frombuffer(vec, dtype=np.float32)
    missing = [r for r in rows if r.id not in cached]
    if missing:
        f = featurizer(name)
        for start in range(0, len(missing), FEATURE_CHUNK):
            chunk = missing[start:start + FEATURE_CHUNK]
            x = f.features([_data(ctx, r) for r in chunk])
            values = [{"b_id": r.id, "b_vector": x[i].astype(np.float32).tobytes(), "b_featurizer": name}
                      for i, r in enumerate(chunk)]

            def unit(conn: Connection, values: list[dict[str, Any]] = values) -> None:
                conn.execute(_VECTOR, values)

            ctx.write(unit)
            cached.update({r.id: x[i].astype(np.float32) for i, r in enumerate(chunk)})
            p.renew()
    if not rows:
        return np.zeros((0, 1), dtype=np.float32)
    return np.stack([cached[i] for i in ids])


def _write_round(ctx: Context, p: JobPass, cfg: Any, labels: list[str], pool: list[Any], d: Any,
                 blob: bytes | None, asked: int, train_size: int, val_size: int) -> str:
    job, now, number = p.job, ctx.clock(), cfg.round + 1
    task_type = get_task_type(job.task_type)
    arn = model_arn(ctx, job.name, number) if blob is not None else None
    machine_rows = [(pool[int(i)], int(c), float(conf))
                    for i, c, conf in zip(d.machine, d.machine_class, d.machine_confidence, strict=True)]
    picks = [(pool[int(i)].id, "validation") for i in d.next_validation] + \
        [(pool[int(i)].id, "train") for i in d.next_train]
    state = "done" if d.done else "stopped" if d.stopped else "labeling"
    with ctx.engine.connect() as conn:
        machine_before = int(conn.execute(select(func.count()).select_from(DataObject).where(
            DataObject.job_id == job.id, DataObject.status == ObjectStatus.LABELED,
            DataObject.human_annotated.is_(False))).scalar() or 0)
        previous = conn.execute(select(AutoLabelRound.figures).where(AutoLabelRound.job_id == job.id)
                                .order_by(AutoLabelRound.round.desc()).limit(1)).scalar()
    last_asked = json.loads(previous)["human_labeled_total"] if previous else 0
    figures = {
        "human_batch": asked - last_asked, "human_labeled_total": asked, "train_size": train_size,
        "validation_size": val_size, "validation_accuracy": round(d.validation_accuracy, 4),
        "validation_ci_low": round(d.validation_ci[0], 4), "validation_ci_high": round(d.validation_ci[1], 4),
        "threshold": None if d.certificate.threshold is None else round(d.certificate.threshold, 6),
        "machine_labeled": len(machine_rows), "machine_labeled_total": machine_before + len(machine_rows),
        "certified_accuracy": None if d.certificate.lower_bound is None else round(d.certificate.lower_bound, 4),
        "next_batch": len(picks), "model_arn": arn, "note": "; ".join(d.notes)}

    def unit(conn: Connection) -> None:
        # the round's record first: its unique (job, round) makes a second runner's copy of this round fail
        conn.execute(insert(AutoLabelRound).values(job_id=job.id, round=number, finished_at=now,
                                                   figures=json.dumps(figures)))
        for start in range(0, len(machine_rows), WRITE_CHUNK):
            chunk = machine_rows[start:start + WRITE_CHUNK]
            conn.execute(_MACHINE, [{
                "b_id": r.id, "b_now": now, "b_label": json.dumps(c),
                "b_metadata": json.dumps(full_metadata({"class-name": labels[c], "confidence": round(conf, 4)},
                                                       gt_type=task_type.gt_type, job_name=job.name, human=False,
                                                       at=now), ensure_ascii=False, separators=_COMPACT)}
                for r, c, conf in chunk])
            record_many(conn, [{"at": now, "kind": "object.auto_labeled", "actor": "system", "job_id": job.id,
                                "dataset_object_id": r.position,
                                "detail": {"label": c, "class-name": labels[c], "confidence": round(conf, 4),
                                           "round": number, "threshold": figures["threshold"]}}
                               for r, c, conf in chunk])
        if picks:
            conn.execute(PICK, [{"b_id": i, "b_wanted": job.min_workers_per_object} for i, _ in picks])
            conn.execute(ROLE, [{"b_id": i, "b_role": role, "b_round": number} for i, role in picks])
        if blob is not None:
            conn.execute(insert(AutoLabelModel).values(arn=arn, job_name=job.name, owner_id=job.requester_id,
                                                       round=number, featurizer=cfg.model.removeprefix("builtin:"),
                                                       labels=json.dumps(labels), blob=blob, created_at=now))
        conn.execute(update(AutoLabelJob).where(AutoLabelJob.job_id == job.id, AutoLabelJob.round == cfg.round)
                     .values(round=number, state=state, updated_at=now,
                             validation_size=cfg.validation_size + len(d.next_validation),
                             final_model_arn=arn or cfg.final_model_arn))
        conn.execute(update(Job).where(Job.id == job.id).values(output_dirty=True, updated_at=now))
        record(conn, "autolabel.round", at=now, actor="system", job_id=job.id, round=number, **figures)
        if state == "stopped":
            set_status(conn, job.id, JobStatus.IN_PROGRESS, JobStatus.STOPPING, now,
                       "automated labeling: a stopping condition was reached; the objects left are unlabeled")

    ctx.write(unit)
    return state
