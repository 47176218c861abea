"""Read models of the requester console: the jobs list, one job's dashboard, the results grid, one object's
history, the answers CSV. Every query is paged or aggregated in the database (a page never loads all of a
job's objects or answers), and every function checks ``core.access.may_manage_job`` through
``job_row_for`` (another requester's job is 404, as if it did not exist).

Figures:
- cost so far: the job's counted human answers (submitted, not discarded by a block) times its price;
  per object: that cost over the objects labeled by people;
- rate and ETA: objects labeled in the last ``RATE_WINDOW_S`` seconds; the ETA is the unlabeled objects
  over that rate (None while nothing was labeled recently);
- throughput: answers per hour in the same window.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Connection, and_, exists, func, select
from sqlalchemy.orm import aliased

from labelloop.core.access import may_manage_job
from labelloop.core.errors import Forbidden, NotFound, ValidationError
from labelloop.core.lifecycle import ObjectStatus, TaskStatus
from labelloop.core.tasktypes import get_task_type
from labelloop.db.models import DataObject, Job, JobWorker, Task, User
from labelloop.services.access import job_row_for, may_manage_job_sql
from labelloop.services.context import Context, Principal
from labelloop.services.jobs import label_counters, leases_of
from labelloop.services.views import EventView, LabelCounters, LeaseView, QualityView
from labelloop.storage import Refused

T = TypeVar("T")

RATE_WINDOW_S = 600
AGGREGATE_TTL_S = 10.0  # a big job's progress chart and label distribution: read again at most this often
CACHE_FROM_OBJECTS = 20_000  # smaller jobs read them on every request (a few ms)
SERIES_POINTS = 48
MAX_PER_PAGE = 200
LOW_CONFIDENCE = 0.7  # the results grid marks a confidence below this as low
CONFIDENCE_STEPS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)  # the grid's "confidence below" choices


@dataclass(frozen=True, slots=True)
class JobRow:
    """One line of the console's job list."""

    name: str
    title: str
    status: str
    task_type: str
    created_at: datetime
    objects: int
    counters: LabelCounters
    answers: int
    price_per_task_usd: float
    cost_usd: float
    rate_per_hour: float  # objects labeled per hour, recently
    eta_s: float | None

    @property
    def done(self) -> int:
        return self.counters.total_labeled + self.counters.failed_non_retryable_error

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.objects if self.objects else 100.0


@dataclass(frozen=True, slots=True)
class JobsPage:
    rows: list[JobRow]
    page: int
    per_page: int
    total: int
    status: str | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    """One job, live: the figures the job page shows and its JSON repeats every few seconds."""

    row: JobRow
    team: str
    labels: list[str]
    workers_per_object: int
    output_manifest_uri: str
    cost_per_object_usd: float | None
    throughput_per_hour: float  # answers per hour, recently
    series: list[tuple[datetime, int]]  # (time, objects labeled by then)
    distribution: list[tuple[str, int]]  # (label, objects labeled so) for types with classes
    leases: list[LeaseView]  # the first open leases, soonest to expire first
    open_leases: int
    updated_at: datetime
    stoppable: bool


@dataclass(frozen=True, slots=True)
class WorkerAnswer:
    worker: str
    answer: dict[str, Any]
    summary: str  # the class(es) chosen, or a short description
    time_spent_s: float | None
    discarded: bool


@dataclass(frozen=True, slots=True)
class ResultRow:
    dataset_object_id: int
    status: str
    source: str | None  # text
    source_ref: str | None  # a file (image): the console serves it at its data route
    label_value: Any
    metadata: dict[str, Any]
    label_summary: str
    confidence: float | None
    corrected_by: str | None
    answers: list[WorkerAnswer]

    @property
    def disagreement(self) -> bool:
        return len({a.summary for a in self.answers if not a.discarded}) > 1


@dataclass(frozen=True, slots=True)
class ResultsFilter:
    label: str | None = None
    below: float | None = None  # low confidence: a consolidated confidence below this
    disagreement: bool = False
    worker: str | None = None
    status: str | None = None  # labeled | unlabeled | failed
    sort: str = "position"  # position | -position | -labeled_at (labeled objects, most recent first)


@dataclass(frozen=True, slots=True)
class ResultsPage:
    job: str
    task_type: str
    labels: list[str]
    rows: list[ResultRow]
    page: int
    per_page: int
    has_next: bool
    filters: ResultsFilter
    workers: list[str]
    single_class: bool


@dataclass(frozen=True, slots=True)
class ObjectDetail:
    job: str
    task_type: str
    labels: list[str]
    row: ResultRow
    line: dict[str, Any]
    history: list[EventView]
    correctable: bool
    multi: bool


SORTS = ("position", "-position", "-labeled_at")  # each one an index order (no sort of a whole job per page)
STATUS_FILTERS = {"labeled": (ObjectStatus.LABELED,), "failed": (ObjectStatus.FAILED,),
                  "unlabeled": tuple(s for s in ObjectStatus if s.is_unlabeled)}


def managed_job(conn: Connection, principal: Principal, name: str) -> Any:
    """The job's row if this principal may manage it: 404 for a job they may not see, 403 for a member."""
    if not principal.can_request:
        raise Forbidden("the console is for requesters and admins")
    row = job_row_for(conn, name, principal)
    if not may_manage_job(principal, row.requester_id):
        raise NotFound(f"no labeling job '{name}'", field="name")
    return row


def check_managed(ctx: Context, principal: Principal, name: str) -> str:
    """The job's name as stored, if this principal may manage it (else as ``managed_job``)."""
    with ctx.engine.connect() as conn:
        return str(managed_job(conn, principal, name).name)


def _answers_count(conn: Connection, job_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(Task).where(
        Task.job_id == job_id, Task.status == TaskStatus.SUBMITTED, Task.discarded.is_(False))).scalar() or 0)


def _recent_labeled(conn: Connection, job_id: int, since: datetime) -> int:
    return int(conn.execute(select(func.count()).select_from(DataObject).where(
        DataObject.job_id == job_id, DataObject.labeled_at >= since)).scalar() or 0)


def _job_row(conn: Connection, job: Any, now: datetime) -> JobRow:
    counters = label_counters(conn, job.id)
    answers = _answers_count(conn, job.id)
    recent = _recent_labeled(conn, job.id, now - timedelta(seconds=RATE_WINDOW_S))
    window_s = min(RATE_WINDOW_S, max((now - job.created_at).total_seconds(), 1.0))
    rate = recent / window_s * 3600.0
    remaining = counters.unlabeled
    eta = remaining / (rate / 3600.0) if rate > 0 and remaining else (0.0 if not remaining else None)
    price = float(job.price_per_task_usd)
    objects = (counters.total_labeled + counters.failed_non_retryable_error + counters.unlabeled)
    return JobRow(name=job.name, title=job.title, status=job.status, task_type=job.task_type,
                  created_at=job.created_at, objects=objects, counters=counters, answers=answers,
                  price_per_task_usd=price, cost_usd=round(answers * price, 4), rate_per_hour=round(rate, 1),
                  eta_s=eta)


def job_rows(ctx: Context, principal: Principal, *, page: int = 1, per_page: int = 25,
             status: str | None = None) -> JobsPage:
    """The jobs this principal manages, newest first, one page of them."""
    if not principal.can_request:
        raise Forbidden("the console is for requesters and admins")
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    page = max(page, 1)
    where: list[ColumnElement[bool]] = [may_manage_job_sql(principal)]
    if status:
        where.append(Job.status == status)
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(Job).where(*where)).scalar() or 0)
        jobs = conn.execute(select(Job.__table__).where(*where).order_by(Job.created_at.desc(), Job.id.desc())
                            .limit(per_page).offset((page - 1) * per_page)).all()
        rows = [_job_row(conn, j, now) for j in jobs]
    return JobsPage(rows=rows, page=page, per_page=per_page, total=total, status=status)


def _series(conn: Connection, job: Any, now: datetime, total: int) -> list[tuple[datetime, int]]:
    """Objects labeled over time, at ``SERIES_POINTS`` evenly spaced times from the job's start to now: one
    grouped scan of the (job_id, labeled_at) index."""
    start = job.created_at
    span = max((now - start).total_seconds(), 1.0)
    step = span / SERIES_POINTS
    first = conn.execute(select(func.min(DataObject.labeled_at)).where(
        DataObject.job_id == job.id, DataObject.labeled_at.is_not(None))).scalar()
    if first is None:
        return [(start, 0), (now, 0)]
    if conn.dialect.name == "sqlite":
        secs: Any = (func.julianday(DataObject.labeled_at) - func.julianday(start)) * 86400.0
    else:
        secs = func.extract("epoch", DataObject.labeled_at - start)
    bucket = func.floor(secs / step)
    counts: dict[int, int] = {}
    rest = 0  # objects labeled before the job's start (a clock set back) or from now on: counted at the end
    for b, n in conn.execute(select(bucket, func.count()).where(
            DataObject.job_id == job.id, DataObject.labeled_at.is_not(None)).group_by(bucket)):
        if b is None or not 0 <= int(b) < SERIES_POINTS:
            rest += int(n)
        else:
            counts[int(b)] = counts.get(int(b), 0) + int(n)
    out: list[tuple[datetime, int]] = [(start, 0)]
    running = 0
    for i in range(SERIES_POINTS):
        running += counts.get(i, 0)
        out.append((start + timedelta(seconds=step * (i + 1)), running))
    if rest:
        out[-1] = (out[-1][0], running + rest)
    return out


_aggregates: dict[tuple[str, int, str], tuple[float, Any]] = {}


def _cached(conn: Connection, job: Any, kind: str, make: Callable[[], T]) -> T:
    """A big job's slow aggregate (a grouped scan of its labeled objects), kept ``AGGREGATE_TTL_S`` seconds in
    this process: the job page polls every 2 s, and these move slowly. Its counters are always fresh."""
    if job.object_count < CACHE_FROM_OBJECTS:
        return make()
    key = (str(conn.engine.url), int(job.id), kind)
    now = time.monotonic()
    hit = _aggregates.get(key)
    if hit is not None and hit[0] > now:
        return cast(T, hit[1])
    value = make()
    if len(_aggregates) > 512:
        _aggregates.clear()
    _aggregates[key] = (now + AGGREGATE_TTL_S, value)
    return value


def _label_names(job: Any) -> list[str]:
    return [x["label"] for x in json.loads(job.label_config).get("labels", [])]


def _distribution(conn: Connection, job: Any, labels: list[str]) -> list[tuple[str, int]]:
    """Objects per class, from the stored label values (an index for single-class types, a list of indexes
    for multi-label ones) grouped in the database; empty for other types."""
    groups = conn.execute(select(DataObject.label, func.count()).where(
        DataObject.job_id == job.id, DataObject.status == ObjectStatus.LABELED, DataObject.gold_extra.is_(False))
        .group_by(DataObject.label).limit(5000)).all()
    counts = dict.fromkeys(labels, 0)
    for value, n in groups:
        try:
            parsed = json.loads(value) if value is not None else None
        except ValueError:
            return []
        picks = parsed if isinstance(parsed, list) else [parsed]
        for p in picks:
            if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p < len(labels):
                return []
            counts[labels[p]] += int(n)
    return list(counts.items())


def dashboard(ctx: Context, principal: Principal, name: str, *, leases: int = 20) -> Dashboard:
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        job = managed_job(conn, principal, name)
        row = _job_row(conn, job, now)
        from labelloop.db.models import Team

        team = conn.execute(select(Team.name).where(Team.id == job.team_id)).scalar() or ""
        since = now - timedelta(seconds=RATE_WINDOW_S)
        recent_answers = int(conn.execute(select(func.count()).select_from(Task).where(
            Task.job_id == job.id, Task.status == TaskStatus.SUBMITTED, Task.discarded.is_(False),
            Task.finished_at >= since)).scalar() or 0)
        window_s = min(RATE_WINDOW_S, max((now - job.created_at).total_seconds(), 1.0))
        open_count = int(conn.execute(select(func.count()).select_from(Task).where(
            Task.job_id == job.id, Task.status == TaskStatus.LEASED)).scalar() or 0)
        lease_rows = leases_of(conn, job.id, leases)
        labels = _label_names(job)
        series = _cached(conn, job, "series", lambda: _series(conn, job, now, row.objects))
        distribution = _cached(conn, job, "distribution", lambda: _distribution(conn, job, labels))
    human = row.counters.human_labeled
    from labelloop.core.lifecycle import JobStatus

    return Dashboard(
        row=row, team=team, labels=labels, workers_per_object=job.workers_per_object,
        output_manifest_uri=job.output_uri + "manifests/output/output.manifest",
        cost_per_object_usd=round(row.cost_usd / human, 5) if human else None,
        throughput_per_hour=round(recent_answers / window_s * 3600.0, 1), series=series,
        distribution=distribution, leases=lease_rows, open_leases=open_count, updated_at=now,
        stoppable=JobStatus(job.status).can_stop)


def workers(ctx: Context, principal: Principal, name: str) -> QualityView:
    """The job's worker figures (``services.quality.job_quality``). It reads every answer of the job, so a
    big job's figures are kept in this process until its counted answers or its blocks change."""
    from labelloop.services.quality import job_quality

    with ctx.engine.connect() as conn:
        job = managed_job(conn, principal, name)
        if job.object_count < CACHE_FROM_OBJECTS:
            signature = None
        else:
            blocks = conn.execute(select(func.count(), func.max(JobWorker.blocked_at)).where(
                JobWorker.job_id == job.id, JobWorker.blocked.is_(True))).one()
            signature = (_answers_count(conn, job.id), int(blocks[0] or 0), str(blocks[1]))
    if signature is None:
        return job_quality(ctx, principal, name)
    key = (str(ctx.engine.url), int(job.id), "workers")
    hit = _aggregates.get(key)
    if hit is not None and hit[1][0] == signature:
        return cast(QualityView, hit[1][1])
    view = job_quality(ctx, principal, name)
    _aggregates[key] = (float("inf"), (signature, view))
    return view


# --- results -----------------------------------------------------------------------------------------------


def _metadata_number(conn: Connection, key: str) -> Any:
    """``<LAN>-metadata`` → ``key`` as a number, in SQL (JSON stored as text on both engines)."""
    if conn.dialect.name == "sqlite":
        return func.json_extract(DataObject.label_metadata, f"$.{key}")
    from sqlalchemy import Float, cast
    from sqlalchemy.dialects.postgresql import JSONB

    return cast(cast(DataObject.label_metadata, JSONB)[key].astext, Float)


def chosen_classes(content: Any, sep: str) -> str | None:
    """The class a worker chose (single label) or the classes joined by ``sep`` (multi-label); None for other
    answers."""
    from labelloop.services.standing import answer_class

    if isinstance(content, dict):
        single = answer_class(content)
        if single is not None:
            return single
        for body in content.values():
            if isinstance(body, dict) and isinstance(body.get("labels"), list):
                return sep.join(str(x) for x in body["labels"])
    return None


def summarize(content: Any, labels: list[str]) -> str:
    """A worker's answer (answerContent) as the class(es) it chose, for the grid; other answers as JSON."""
    chosen = chosen_classes(content, ", ")
    if chosen is not None:
        return chosen
    text = json.dumps(content, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def label_summary(value: Any, metadata: dict[str, Any]) -> str:
    if "class-name" in metadata:
        return str(metadata["class-name"])
    if isinstance(metadata.get("class-map"), dict):
        return ", ".join(str(v) for v in metadata["class-map"].values())
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _confidence(metadata: dict[str, Any]) -> float | None:
    c = metadata.get("confidence")
    if isinstance(c, (int, float)) and not isinstance(c, bool):
        return float(c)
    cmap = metadata.get("confidence-map")
    if isinstance(cmap, dict) and cmap:
        vals = [float(v) for v in cmap.values() if isinstance(v, (int, float))]
        return min(vals) if vals else None
    return None


def _result_rows(conn: Connection, job: Any, objects: list[Any], labels: list[str]) -> list[ResultRow]:
    ids = [o.id for o in objects]
    by_object: dict[int, list[WorkerAnswer]] = {}
    if ids:
        q = (select(Task.object_id, User.username, Task.answer, Task.time_spent_s, Task.discarded)
             .join(User, User.id == Task.worker_id)
             .where(Task.object_id.in_(ids), Task.status == TaskStatus.SUBMITTED).order_by(Task.id))
        for oid, worker, answer, spent, discarded in conn.execute(q):
            content = json.loads(answer) if answer else {}
            by_object.setdefault(oid, []).append(WorkerAnswer(
                worker=worker, answer=content, summary=summarize(content, labels), time_spent_s=spent,
                discarded=bool(discarded)))
    out = []
    for o in objects:
        line = json.loads(o.line)
        metadata = json.loads(o.label_metadata) if o.label_metadata and o.status == ObjectStatus.LABELED else {}
        value = json.loads(o.label) if o.label is not None and o.status == ObjectStatus.LABELED else None
        out.append(ResultRow(
            dataset_object_id=o.position, status=o.status,
            source=line.get("source") if isinstance(line.get("source"), str) else None,
            source_ref=line.get("source-ref") if isinstance(line.get("source-ref"), str) else None,
            label_value=value, metadata=metadata, label_summary=label_summary(value, metadata),
            confidence=_confidence(metadata), corrected_by=metadata.get("labelloop-corrected-by"),
            answers=by_object.get(o.id, [])))
    return out


def _single_class(task_type: str) -> bool:
    return task_type in ("image-classification", "text-classification")


def results(ctx: Context, principal: Principal, name: str, filters: ResultsFilter, *, page: int = 1,
            per_page: int = 24) -> ResultsPage:
    """One page of the job's objects with their labels, confidence and every worker's answer. Filters and
    sorting run in the database; the page is fetched with one row more to know if a next page exists (no
    count of a filtered 1,000,000-object job on every page)."""
    if filters.sort not in SORTS:
        raise ValidationError(f"sort must be one of {', '.join(SORTS)}", field="sort")
    if filters.status is not None and filters.status not in STATUS_FILTERS:
        raise ValidationError(f"status must be one of {', '.join(STATUS_FILTERS)}", field="status")
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    page = max(page, 1)
    with ctx.engine.connect() as conn:
        job = managed_job(conn, principal, name)
        labels = _label_names(job)
        single = _single_class(job.task_type)
        where: list[ColumnElement[bool]] = [DataObject.job_id == job.id, DataObject.gold_extra.is_(False)]
        if filters.status:
            where.append(DataObject.status.in_(STATUS_FILTERS[filters.status]))
        if filters.label is not None:
            if filters.label not in labels:
                raise ValidationError(f"label must be one of the job's labels: {', '.join(labels)}", field="label")
            where.append(DataObject.status == ObjectStatus.LABELED)
            if single:
                where.append(DataObject.label == json.dumps(labels.index(filters.label)))
            else:  # multi-label and other types: the class name in the metadata's text
                where.append(DataObject.label_metadata.contains(json.dumps(filters.label, ensure_ascii=False)))
        confidence = _metadata_number(conn, "confidence")
        if filters.below is not None:
            if not 0 < filters.below <= 1:
                raise ValidationError("below must be a confidence between 0 and 1", field="below")
            where += [DataObject.status == ObjectStatus.LABELED, confidence < filters.below]
        counted = and_(Task.status == TaskStatus.SUBMITTED, Task.discarded.is_(False))
        if filters.disagreement:
            other = aliased(Task)
            first = (select(func.min(other.answer)).where(other.object_id == DataObject.id,
                                                          other.status == TaskStatus.SUBMITTED,
                                                          other.discarded.is_(False))
                     .correlate(DataObject).scalar_subquery())
            where.append(exists().where(Task.object_id == DataObject.id, counted, Task.answer != first))
        # the job's workers: one index probe per user (ix_tasks_worker_job_status), not a scan of its answers
        worker_names = [w for (w,) in conn.execute(
            select(User.username).where(exists().where(Task.worker_id == User.id, Task.job_id == job.id,
                                                       Task.status == TaskStatus.SUBMITTED))
            .order_by(User.username).limit(500))]
        if filters.worker:
            wid = conn.execute(select(User.id).where(User.username == filters.worker)).scalar()
            if wid is None:
                raise ValidationError(f"no worker '{filters.worker}'", field="worker")
            where.append(exists().where(Task.object_id == DataObject.id, Task.worker_id == wid, counted))
        order: list[Any] = {
            "position": [DataObject.position],
            "-position": [DataObject.position.desc()],
            "-labeled_at": [DataObject.labeled_at.desc(), DataObject.position.desc()],
        }[filters.sort]
        if filters.sort == "-labeled_at":  # read backwards along ix_data_objects_job_labeled_at
            where.append(DataObject.labeled_at.is_not(None))
        objects = conn.execute(
            select(DataObject.id, DataObject.position, DataObject.status, DataObject.line, DataObject.label,
                   DataObject.label_metadata)
            .where(*where).order_by(*order).limit(per_page + 1).offset((page - 1) * per_page)).all()
        has_next = len(objects) > per_page
        rows = _result_rows(conn, job, objects[:per_page], labels)
    return ResultsPage(job=job.name, task_type=job.task_type, labels=labels, rows=rows, page=page,
                       per_page=per_page, has_next=has_next, filters=filters, workers=worker_names,
                       single_class=single)


def object_detail(ctx: Context, principal: Principal, name: str, position: int) -> ObjectDetail:
    from labelloop.services.events import list_events

    with ctx.engine.connect() as conn:
        job = managed_job(conn, principal, name)
        obj = conn.execute(select(DataObject.id, DataObject.position, DataObject.status, DataObject.line,
                                  DataObject.label, DataObject.label_metadata)
                           .where(DataObject.job_id == job.id, DataObject.position == position)).first()
        if obj is None:
            raise NotFound(f"job '{job.name}' has no data object {position}", field="dataset_object_id")
        labels = _label_names(job)
        (row,) = _result_rows(conn, job, [obj], labels)
    history = list_events(ctx, principal, job=job.name, dataset_object_id=position, limit=1000)
    return ObjectDetail(job=job.name, task_type=job.task_type, labels=labels, row=row, line=json.loads(obj.line),
                        history=history, multi=job.task_type.endswith("-multilabel"),
                        correctable=job.task_type in CORRECTABLE
                        and obj.status in (ObjectStatus.LABELED, ObjectStatus.FAILED))


CORRECTABLE = ("image-classification", "text-classification", "image-classification-multilabel",
               "text-classification-multilabel")


def object_source_ref(ctx: Context, principal: Principal, name: str, position: int) -> str:
    """The ``source-ref`` of one of the job's objects, for the console's data route (managers only)."""
    with ctx.engine.connect() as conn:
        job = managed_job(conn, principal, name)
        line = conn.execute(select(DataObject.line).where(DataObject.job_id == job.id,
                                                          DataObject.position == position)).scalar()
    if line is None:
        raise NotFound(f"job '{job.name}' has no data object {position}", field="dataset_object_id")
    ref = json.loads(line).get("source-ref")
    if not isinstance(ref, str):
        raise NotFound(f"data object {position} has no source-ref", field="dataset_object_id")
    return ref


def preview_html(task_type: str, row: ResultRow, data_url: str | None = None) -> str | None:
    """The task type's own drawing of the consolidated label on the object's data (escaped HTML), or None
    when the type has no preview (the grid shows the label's text instead). ``data_url`` is where the browser
    reads the object's ``source-ref`` (the console's data route; an ``s3://`` or local path it cannot load)."""
    if row.label_value is None:
        return None
    try:
        return get_task_type(task_type).preview(row.source or data_url or row.source_ref or "", row.label_value)
    except NotImplementedError:
        return None


# --- downloads ---------------------------------------------------------------------------------------------

READ_BATCH = 2000


def answers_csv(ctx: Context, principal: Principal, name: str) -> tuple[str, Iterator[bytes]]:
    """Every counted answer of the job as ``question,worker,answer`` (the crowd CSV ``labelloop consolidate``
    reads): question is the datasetObjectId, worker the username, answer the class chosen (a multi-label
    answer: its classes joined with ``|``; other types: the answerContent as JSON). Streamed in batches."""
    with ctx.engine.connect() as conn:
        job = managed_job(conn, principal, name)
    labels = _label_names(job)
    job_id = job.id

    def chunks() -> Iterator[bytes]:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(("question", "worker", "answer"))
        q = (select(DataObject.position, User.username, Task.answer)
             .join(DataObject, DataObject.id == Task.object_id).join(User, User.id == Task.worker_id)
             .where(Task.job_id == job_id, Task.status == TaskStatus.SUBMITTED, Task.discarded.is_(False))
             .order_by(DataObject.position, Task.id)
             .execution_options(yield_per=READ_BATCH, stream_results=True))
        with ctx.engine.connect() as conn:
            for n, (position, worker, answer) in enumerate(conn.execute(q), start=1):
                writer.writerow((position, worker, _csv_answer(json.loads(answer) if answer else {}, labels)))
                if n % READ_BATCH == 0:
                    yield buf.getvalue().encode()
                    buf.seek(0)
                    buf.truncate()
        yield buf.getvalue().encode()

    return f"{job.name}-answers.csv", chunks()


def _csv_answer(content: Any, labels: list[str]) -> str:
    chosen = chosen_classes(content, "|")
    return chosen if chosen is not None else json.dumps(content, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Downloads:
    job: str
    task_type: str
    output_manifest_uri: str
    output_ready: bool
    export_formats: list[str]
    answers: int


def downloads(ctx: Context, principal: Principal, name: str) -> Downloads:
    with ctx.engine.connect() as conn:
        job = managed_job(conn, principal, name)
        answers = _answers_count(conn, job.id)
    uri = job.output_uri + "manifests/output/output.manifest"
    try:
        ready = ctx.storage.exists(uri)
    except (OSError, Refused):  # unreachable, or outside the storage policy now: the download says why
        ready = False
    formats = list(get_task_type(job.task_type).export_formats)  # classification: the output manifest is its export
    return Downloads(job=job.name, task_type=job.task_type, output_manifest_uri=uri, output_ready=ready,
                     export_formats=formats, answers=answers)


def output_manifest(ctx: Context, principal: Principal, name: str) -> tuple[str, Iterator[bytes]]:
    """The job's output manifest, read through the storage layer (local or S3), as a stream."""
    with ctx.engine.connect() as conn:
        job = managed_job(conn, principal, name)
    uri = job.output_uri + "manifests/output/output.manifest"
    return uri, ctx.storage.iter_chunks(uri)


__all__ = [
    "Dashboard",
    "JobRow",
    "JobsPage",
    "ResultsFilter",
    "ResultsPage",
    "answers_csv",
    "check_managed",
    "dashboard",
    "downloads",
    "job_rows",
    "object_detail",
    "output_manifest",
    "results",
]
