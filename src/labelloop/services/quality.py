"""Quality control of a job, for those who manage it (``core.access.may_manage_job``): its quality figures
and blocking or unblocking a worker by hand.

The figures count every submitted answer that still counts (not discarded by a block):

- per worker: answers, gold answers and how many were right, agreement with the consolidated label (of
  their answers on labeled ordinary objects), an accuracy with a 95% interval (on gold when they have gold
  answers, else their agreement; Beta(1, 1) prior, ``core.quality.metrics.beta_interval``), median seconds
  per task, blocked (and why), qualified;
- per label: of the answers on objects consolidated as that label, the share that chose it;
- Krippendorff's alpha (nominal) over the ordinary objects with two answers or more.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from labelloop.core.access import may_manage_job
from labelloop.core.errors import Forbidden, NotFound
from labelloop.core.lifecycle import ObjectStatus, TaskStatus
from labelloop.core.quality.metrics import beta_interval, krippendorff_alpha_nominal, label_agreement
from labelloop.db.models import DataObject, JobWorker, Task, User
from labelloop.services.access import job_row_for
from labelloop.services.context import Context, Principal
from labelloop.services.jobs import quality_settings
from labelloop.services.standing import answer_class, block_in, unblock_in
from labelloop.services.views import BlockView, LabelQuality, QualityView, WorkerQuality

__all__ = ["block_worker", "job_quality", "unblock_worker"]


def _managed_job(conn: Connection, principal: Principal, name: str) -> Any:
    row = job_row_for(conn, name, principal)
    if not may_manage_job(principal, row.requester_id):
        raise Forbidden(f"only the owner of job '{row.name}' and admins manage its quality", field="name")
    return row


def _worker_id(conn: Connection, username: str) -> int:
    found = conn.execute(select(User.id).where(User.username == username)).scalar()
    if found is None:
        raise NotFound(f"no user '{username}'", field="worker")
    return int(found)


def block_worker(ctx: Context, principal: Principal, name: str, username: str, reason: str | None = None) -> BlockView:
    """Block a worker from a job by hand: their leases released, their answers discarded and the objects they
    touched consolidated again or handed to other workers (``services.standing.block_in``)."""
    now = ctx.clock()

    def unit(conn: Connection) -> BlockView:
        row = _managed_job(conn, principal, name)
        worker = _worker_id(conn, username)
        released, discarded, reopened = block_in(conn, row.id, worker, actor=principal.username,
                                                 reason=reason or f"blocked by {principal.username}", now=now,
                                                 reopen=True)
        why = conn.execute(select(JobWorker.blocked_reason).where(JobWorker.job_id == row.id,
                                                                  JobWorker.worker_id == worker)).scalar()
        return BlockView(job=row.name, worker=username, blocked=True, reason=why, released_tasks=released,
                         discarded_answers=discarded, reopened_objects=reopened)

    return ctx.write(unit)


def unblock_worker(ctx: Context, principal: Principal, name: str, username: str) -> BlockView:
    """Let a blocked worker take the job's tasks again (answers discarded by the block stay discarded)."""
    now = ctx.clock()

    def unit(conn: Connection) -> BlockView:
        row = _managed_job(conn, principal, name)
        unblock_in(conn, row.id, _worker_id(conn, username), actor=principal.username, now=now)
        return BlockView(job=row.name, worker=username, blocked=False, reason=None, released_tasks=0,
                         discarded_answers=0, reopened_objects=0)

    return ctx.write(unit)


def _nan_none(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 4)


def job_quality(ctx: Context, principal: Principal, name: str) -> QualityView:
    """The job's quality figures (see the module's docstring)."""
    with ctx.engine.connect() as conn:
        row = _managed_job(conn, principal, name)
        answers = conn.execute(
            select(Task.worker_id, Task.object_id, Task.answer, Task.time_spent_s, DataObject.is_gold,
                   DataObject.gold, DataObject.status, DataObject.label_metadata)
            .join(DataObject, DataObject.id == Task.object_id)
            .where(Task.job_id == row.id, Task.status == TaskStatus.SUBMITTED, Task.discarded.is_(False))
            .order_by(Task.id)).all()
        answering = {w for w, *_ in answers}
        names = dict(conn.execute(select(User.id, User.username).where(User.id.in_(answering))).all()) if answering \
            else {}
        standing = {r.worker_id: r for r in conn.execute(select(JobWorker, User.username)
                                                         .join(User, User.id == JobWorker.worker_id)
                                                         .where(JobWorker.job_id == row.id))}
    classes = [x["label"] for x in json.loads(row.label_config).get("labels", [])]
    figures = _Figures(classes, answers)
    names |= {w: s.username for w, s in standing.items()}
    workers = [figures.worker(w, names[w], standing.get(w), row.qualification_tasks) for w in sorted(
        names, key=lambda w: names[w])]
    return QualityView(job=row.name, objects_labeled=figures.labeled, answers=len(answers),
                       answers_per_object=figures.per_object(), krippendorff_alpha=figures.alpha(),
                       workers=workers, labels=figures.labels(), settings=quality_settings(row))


class _Figures:
    """The arrays of a job's counted answers: items, workers, classes; references by item."""

    def __init__(self, classes: list[str], rows: list[Any]):
        index = {c: i for i, c in enumerate(classes)}
        self.classes = classes
        n = len(rows)
        workers, objects, answers, times, is_gold, gold, status, meta = (list(c) for c in zip(*rows)) if n else (
            [[] for _ in range(8)])
        # one entry per object, in order of first answer; a job's answers are a few distinct strings
        uniq, first, inverse = np.unique(np.asarray(objects, dtype=np.int64), return_index=True, return_inverse=True)
        self.consolidated = [
            -1 if is_gold[k] else index.get(
                (json.loads(meta[k]) if meta[k] and status[k] == ObjectStatus.LABELED else {}).get("class-name"), -1)
            for k in first.tolist()]
        self.gold = [index.get(gold[k], -1) if is_gold[k] else -1 for k in first.tolist()]
        class_of: dict[str, int] = {}
        for a in set(answers):
            class_of[a] = index.get(answer_class(json.loads(a)) or "", -1)
        cls = np.asarray([class_of[a] for a in answers], dtype=np.int64)
        self.answer_worker_all = np.asarray(workers, dtype=np.int64)
        self.time_all = np.asarray([float(t or 0.0) for t in times], dtype=np.float64)
        valid = cls >= 0
        self.items = inverse.reshape(-1)[valid].astype(np.int64) if n else np.zeros(0, np.int64)
        self.answer_labels = cls[valid]
        self.answer_worker = self.answer_worker_all[valid]
        self.ref = np.asarray(self.consolidated, dtype=np.int64)
        self.gold_ref = np.asarray(self.gold, dtype=np.int64)
        self.n_items = len(uniq)
        self.labeled = int((self.ref >= 0).sum())

    def _score(self, mine: np.ndarray, ref: np.ndarray) -> tuple[int, int]:
        r = ref[self.items[mine]]
        keep = r >= 0
        return int((self.answer_labels[mine][keep] == r[keep]).sum()), int(keep.sum())

    def worker(self, worker_id: int, username: str, standing: Any, qualification: int) -> WorkerQuality:
        mine = self.answer_worker == worker_id
        agreed, compared = self._score(mine, self.ref)
        right, gold = self._score(mine, self.gold_ref)
        correct, n = (right, gold) if gold else (agreed, compared)
        interval = beta_interval(correct, n)
        times = self.time_all[self.answer_worker_all == worker_id]
        blocked = bool(standing is not None and standing.blocked)
        reason = standing.blocked_reason if blocked else None
        qualified = None
        if qualification and standing is not None and standing.gold_answers >= qualification:
            qualified = not (blocked and (reason or "").startswith("failed the qualification"))
        return WorkerQuality(
            worker=username, answers=len(times), gold_answers=gold, gold_correct=right,
            gold_accuracy=round(right / gold, 4) if gold else None, accuracy=round(correct / n, 4) if n else None,
            accuracy_low=round(interval.low, 4), accuracy_high=round(interval.high, 4),
            agreement=round(agreed / compared, 4) if compared else None,
            median_time_s=round(float(np.median(times)), 3) if len(times) else None, blocked=blocked,
            blocked_reason=reason, qualified=qualified)

    def labels(self) -> list[LabelQuality]:
        ordinary = self.gold_ref[self.items] < 0 if len(self.items) else np.zeros(0, bool)
        shares = label_agreement(self.items[ordinary], self.answer_labels[ordinary], self.ref, len(self.classes))
        per_class = np.bincount(self.ref[self.ref >= 0], minlength=len(self.classes))
        answers = np.bincount(self.ref[self.items[ordinary]][self.ref[self.items[ordinary]] >= 0],
                              minlength=len(self.classes))
        return [LabelQuality(label=c, objects=int(per_class[i]), answers=int(answers[i]),
                             agreement=_nan_none(shares[i])) for i, c in enumerate(self.classes)]

    def alpha(self) -> float | None:
        if not len(self.items):
            return None
        ordinary = self.gold_ref[self.items] < 0
        if not ordinary.any():
            return None
        return _nan_none(krippendorff_alpha_nominal(self.items[ordinary], self.answer_labels[ordinary],
                                                    len(self.classes)))

    def per_object(self) -> float | None:
        if not len(self.items):
            return None
        ordinary = self.gold_ref[self.items] < 0
        objects = len(set(self.items[ordinary].tolist()))
        return round(int(ordinary.sum()) / objects, 3) if objects else None
