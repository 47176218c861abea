"""Labeling jobs: create from a manifest (all or nothing), describe with exact counters, list, stop."""

from __future__ import annotations

import dataclasses
import json
import pickle
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from labelloop.core.access import may_create_jobs, may_manage_job
from labelloop.core.errors import Conflict, Forbidden, ManifestError, ResourceInUse, ValidationError
from labelloop.core.labels import LabelConfig, parse_label_config
from labelloop.core.lifecycle import JobStatus, ObjectStatus, TaskStatus
from labelloop.core.manifest import parse_manifest
from labelloop.core.names import validate_job_name, validate_keywords, validate_label_attribute_name
from labelloop.core.tasktypes import get_task_type
from labelloop.db.models import DataObject, Job, Task, Team, User
from labelloop.services.access import job_row_for, may_manage_job_sql
from labelloop.services.context import Context, Principal
from labelloop.services.events import record
from labelloop.services.gold import check_quality_settings, quality_extras
from labelloop.services.hooks import validate_hook_ref
from labelloop.services.installation import next_job_id_sql
from labelloop.services.leases import expire_leases
from labelloop.services.lifecycle import transition
from labelloop.services.object_input import object_extras
from labelloop.services.users import team_for_use
from labelloop.services.views import JobBrief, JobView, LabelCounters, LeaseView, QualitySettings
from labelloop.storage import Refused, join

IMPORT_CHUNK = 5000


class JobSpec(BaseModel):
    """Everything a requester gives to create a labeling job (Ground Truth's CreateLabelingJob, flattened)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Job name, 1-63 letters, digits and hyphens; unique ignoring case.")
    task_type: str = Field(description="image-classification, text-classification or their -multilabel forms.")
    label_attribute_name: str = Field(description="Key of the label in the output manifest (spec §2.2).")
    input_manifest_uri: str = Field(description="JSON Lines manifest: local path, file://, s3:// or http(s)://.")
    label_config_uri: str | None = Field(None, description="Label category configuration file (spec §1.2).")
    label_config: dict | None = Field(None, description="The label category configuration inline instead of a URI.")
    output_uri: str | None = Field(None, description="S3OutputPath; the job writes under <output_uri>/<name>/.")
    team: str = Field(description="The work team whose workers may take the tasks.")
    workers_per_object: int = Field(3, ge=1, le=9, description="NumberOfHumanWorkersPerDataObject, 1-9.")
    task_time_limit_s: int = Field(300, ge=30, le=28800, description="Seconds a worker has for one task.")
    task_availability_lifetime_s: int = Field(
        864000, ge=60, le=2592000, description="Seconds tasks stay available after the job starts."
    )
    max_concurrent_tasks: int = Field(1000, ge=1, le=5000, description="Most tasks leased at once.")
    price_per_task_usd: float = Field(0.0, ge=0, le=100, description="Paid per accepted task, in US dollars.")
    title: str = Field("", max_length=128, description="Task title shown to workers.")
    description: str = Field("", max_length=255, description="Task description shown to workers.")
    keywords: list[str] = Field(default_factory=list, description="1-5 keywords.")
    short_instruction: str = Field("", max_length=20000, description="Shown beside every task (HTML).")
    full_instruction: str = Field("", max_length=100000, description="Full instructions with examples (HTML).")
    consolidation_algorithm: str | None = Field(
        None, description="How several workers' answers become one label: one the task type allows "
                          "(shrunk-dawid-skene, dawid-skene, ground-truth or majority-vote for classification); "
                          "default: the type's own.")
    ui_template: str | None = Field(None, description="A custom Liquid task template (HTML with crowd-* elements).")
    pre_hook: str | None = Field(None, description="Pre-annotation hook: lambda:NAME (a registered hook, or its "
                                 "Lambda ARN), an http(s) URL or python:NAME (entry point).")
    post_hook: str | None = Field(None, description="Post-annotation hook: lambda:NAME (a registered hook, or its "
                                  "Lambda ARN), an http(s) URL or python:NAME (entry point).")
    min_workers_per_object: int | None = Field(
        None, ge=1, le=9, description="Adaptive consensus: the fewest workers per object; an object gets more "
                                      "(up to workers_per_object) while its posterior is below confidence_target. "
                                      "Default: workers_per_object (a fixed number).")
    confidence_target: float | None = Field(
        None, gt=0, lt=1, description="Adaptive consensus: the posterior (probability the label is right) at which "
                                      "an object stops getting workers.")
    gold_manifest_uri: str | None = Field(
        None, description="A manifest of gold objects (every line with \"labelloop-gold\": \"<label>\"), mixed into "
                          "the work; they are not written to the output manifest. Input lines may carry the key too.")
    gold_rate: float = Field(0.1, ge=0, le=0.5, description="Share of a worker's tasks that are gold objects.")
    qualification_tasks: int = Field(0, ge=0, le=50, description="Gold objects a worker answers before real tasks.")
    qualification_min_accuracy: float = Field(
        0.8, ge=0, le=1, description="Share of the qualification's gold objects a worker must get right.")
    block_below_accuracy: float | None = Field(
        None, gt=0, lt=1, description="Block a worker from the job when their accuracy is, with 95% confidence, "
                                      "below this (gold answers and agreement with the consolidated labels).")


def _load_label_config(ctx: Context, spec: JobSpec, min_labels: int, max_labels: int | None) -> LabelConfig:
    if spec.label_config is None and spec.label_config_uri is None and min_labels == 0:
        return parse_label_config({"document-version": "2018-11-28", "labels": []}, min_labels=0)
    if (spec.label_config is None) == (spec.label_config_uri is None):
        raise ValidationError("give exactly one of label_config_uri and label_config", field="label_config_uri")
    raw = spec.label_config
    if raw is None:
        with _read(ctx, spec.label_config_uri, "label_config_uri", "label category file",
                   max_bytes=LABEL_CONFIG_MAX_BYTES) as f:
            raw = f.read()
    return parse_label_config(raw, min_labels=min_labels, max_labels=max_labels)


LABEL_CONFIG_MAX_BYTES = 10 << 20


@contextmanager
def _read(ctx: Context, uri: str, field: str, what: str, *, max_bytes: int | None = None) -> Iterator[IO[bytes]]:
    """A whole object read under the storage policy and the manifest limits (size, time), outside any
    transaction; every refusal or failure is a ValidationError naming ``field``."""
    settings = ctx.settings
    limit = max_bytes if max_bytes is not None else int(settings.manifest_max_mb * 1e6)
    try:
        spool = ctx.storage.read_limited(uri, max_bytes=limit, timeout_s=settings.manifest_read_timeout_s, what=what)
    except Refused as exc:
        raise ValidationError(f"{field}: {exc.reason}", field=field) from None
    except FileNotFoundError:
        raise ValidationError(f"{field}: {what} not found: {uri}", field=field) from None
    except (OSError, ValueError) as exc:
        raise ValidationError(f"{field}: cannot read {what} {uri}: {exc}", field=field) from None
    with spool:
        yield spool


def _check_uri(ctx: Context, uri: str, field: str, *, write: bool = False) -> None:
    try:
        ctx.storage.check(uri, write=write)
    except Refused as exc:
        raise ValidationError(f"{field}: {exc.reason}", field=field) from None
    except OSError as exc:  # a host that does not resolve
        raise ValidationError(f"{field}: {uri}: {exc}", field=field) from None


@dataclass
class _Objects:
    """A manifest read and validated before the write: the rows to insert, pickled in chunks to a spool."""

    spool: IO[bytes]
    count: int
    chunks: int
    first_line: bytes


def _read_objects(ctx: Context, spec: JobSpec, first_status: ObjectStatus,
                  extras: Callable[[Any], dict[str, Any]] | None = None) -> _Objects:
    """Read the manifest (policy, size and time limits) and validate every line, its ``source-ref`` under the
    storage policy among them, with no transaction open; a bad line raises ManifestError naming it."""
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=32 << 20)  # noqa: SIM115 (closed by the caller)
    try:
        with _read(ctx, spec.input_manifest_uri, "input_manifest_uri", "input manifest") as f:
            first_line = next((raw for raw in f if raw.strip()), b"{}")
            f.seek(0)
            records = parse_manifest(f, label_attribute_name=spec.label_attribute_name,
                                     check_ref=ctx.storage.ref_checker())
            chunk: list[dict[str, Any]] = []
            count = chunks = 0
            for rec in records:
                chunk.append({
                    "position": count, "line": rec.text, "source_ref": rec.source_ref,
                    "status": ObjectStatus.SKIPPED if rec.prior_label else first_status, "active_count": 0,
                    "answer_count": 0, "human_annotated": True, **(extras(rec) if extras is not None else {}),
                })
                count += 1
                if len(chunk) >= IMPORT_CHUNK:
                    pickle.dump(chunk, out, pickle.HIGHEST_PROTOCOL)
                    chunks += 1
                    chunk = []
            if chunk:
                pickle.dump(chunk, out, pickle.HIGHEST_PROTOCOL)
                chunks += 1
    except ManifestError as exc:
        out.close()
        raise ManifestError(exc.message, field="input_manifest_uri",
                            details=exc.details) from None
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return _Objects(out, count, chunks, first_line)


def create_job(ctx: Context, principal: Principal, spec: JobSpec, *, role_arn: str | None = None) -> JobView:
    """Validate everything, then import the manifest in short transactions (``_write_job``): a bad line creates
    nothing, and a failed import removes what it wrote. ``role_arn``: the SageMaker API's ``RoleArn``, kept with
    the job from its first row on (its hooks' events carry it)."""
    if not may_create_jobs(principal):
        raise Forbidden("only requesters and admins create labeling jobs")
    validate_job_name(spec.name, field="name")
    task_type = get_task_type(spec.task_type)
    validate_label_attribute_name(
        spec.label_attribute_name, must_end_with_ref=task_type.lan_must_end_with_ref, field="label_attribute_name"
    )
    keywords = validate_keywords(spec.keywords)
    algorithm = task_type.check_algorithm(spec.consolidation_algorithm)
    validate_hook_ref(spec.pre_hook, "pre_hook", ctx.storage, ctx=ctx)
    validate_hook_ref(spec.post_hook, "post_hook", ctx.storage, ctx=ctx)
    labels = _load_label_config(ctx, spec, task_type.min_labels, task_type.max_labels)
    output_root = spec.output_uri or str(ctx.settings.data_dir.resolve() / "output")
    _check_uri(ctx, join(output_root, spec.name) + "/", "output_uri", write=True)
    first = ObjectStatus.PREPROCESSING if spec.pre_hook else ObjectStatus.PENDING
    extras = object_extras(ctx, spec, task_type, labels)  # the type's line checks, source-ref texts
    check_quality_settings(spec, task_type)
    names, now = [x["label"] for x in labels.raw.get("labels", [])], ctx.clock()
    quality = quality_extras(spec, task_type, names, now, extra=False, inner=extras)
    objects = _read_objects(ctx, spec, first, quality)  # before the transaction: a slow manifest holds no lock
    try:
        gold = _read_gold(ctx, spec, first, quality_extras(spec, task_type, names, now, extra=True, inner=extras))
    except BaseException:
        objects.spool.close()
        raise
    try:
        if spec.ui_template is not None:
            from labelloop.services.templates import check_job_template

            check_job_template(ctx, spec, task_type, labels, first_line=objects.first_line)
        _write_job(ctx, principal, spec, task_type, labels, keywords, algorithm, output_root, objects, gold,
                   role_arn=role_arn)
    finally:
        objects.spool.close()
        if gold is not None:
            gold.spool.close()
    return describe_job(ctx, principal, spec.name)


def _read_gold(ctx: Context, spec: JobSpec, first: ObjectStatus, extras: Any) -> _Objects | None:
    """The job's separate gold manifest (``services.gold``), read and checked like the input; None without one."""
    if spec.gold_manifest_uri is None:
        return None
    try:
        return _read_objects(ctx, spec.model_copy(update={"input_manifest_uri": spec.gold_manifest_uri}), first,
                             extras)
    except (ManifestError, ValidationError) as exc:
        message = exc.message.replace("input_manifest_uri", "gold_manifest_uri").replace("input manifest",
                                                                                          "gold manifest")
        raise type(exc)(message, field="gold_manifest_uri", details=exc.details) from None


IMPORT_CLAIM_S = 120
"""How long an import's hold on its Initializing job lasts without renewal (renewed each chunk). A job still
Initializing once its importer's hold has run out was left by a killed import: ``sweep_abandoned_imports``
deletes it."""


def _write_job(ctx: Context, principal: Principal, spec: JobSpec, task_type: Any, labels: LabelConfig,
               keywords: list[str], algorithm: str, output_root: str, objects: _Objects,
               gold: _Objects | None = None, *, role_arn: str | None = None) -> None:
    """Write the job in short transactions: the job row (status Initializing: listed to no worker, handing out
    no task, skipped by the background runner) held by this import's claim, then ``IMPORT_CHUNK`` objects per
    transaction (the claim renewed with each), then the switch to InProgress. Other writers (workers'
    submits) get the write lock between chunks. A failure deletes the job and its objects; a killed import
    leaves a job whose claim runs out, deleted by ``sweep_abandoned_imports``."""
    now = ctx.clock()
    owner = f"import:{uuid.uuid4().hex[:24]}"

    def create(conn: Connection) -> int:
        tid = team_for_use(conn, principal, spec.team)
        try:
            return int(conn.execute(
                insert(Job).values(
                    **({"id": next_job_id_sql()} if conn.dialect.name == "sqlite" else {}),
                    name=spec.name, name_key=spec.name.lower(), requester_id=principal.id, team_id=tid,
                    task_type=task_type.name, label_attribute_name=spec.label_attribute_name,
                    label_config=json.dumps(labels.raw), status=JobStatus.INITIALIZING,
                    workers_per_object=spec.workers_per_object, task_time_limit_s=spec.task_time_limit_s,
                    task_availability_lifetime_s=spec.task_availability_lifetime_s,
                    max_concurrent_tasks=spec.max_concurrent_tasks, price_per_task_usd=spec.price_per_task_usd,
                    title=spec.title or spec.name, description=spec.description, keywords=json.dumps(keywords),
                    short_instruction=spec.short_instruction or (labels.short_instruction or ""),
                    full_instruction=spec.full_instruction or (labels.full_instruction or ""),
                    input_manifest_uri=spec.input_manifest_uri, output_uri=join(output_root, spec.name) + "/",
                    consolidation_algorithm=algorithm, ui_template=spec.ui_template,
                    pre_hook=spec.pre_hook, post_hook=spec.post_hook, role_arn=role_arn, created_at=now, updated_at=now,
                    ends_at=now + timedelta(seconds=spec.task_availability_lifetime_s), output_dirty=True,
                    background_owner=owner, background_until=now + timedelta(seconds=IMPORT_CLAIM_S),
                    **_quality_columns(spec),
                ).returning(Job.id)
            ).scalar_one())
        except IntegrityError:
            raise ResourceInUse(f"a job named '{spec.name}' already exists (names ignore case)", field="name") from None

    job_id = ctx.write(create)
    try:
        objects.spool.seek(0)
        for _ in range(objects.chunks):
            chunk = pickle.load(objects.spool)  # our own spool, written above
            ctx.write(_import_chunk(ctx, job_id, owner, chunk))
        if gold is not None:  # after the input's objects: datasetObjectIds count on from the input's
            gold.spool.seek(0)
            for _ in range(gold.chunks):
                chunk = [{**row, "position": row["position"] + objects.count} for row in pickle.load(gold.spool)]
                ctx.write(_import_chunk(ctx, job_id, owner, chunk))

        def finish(conn: Connection) -> None:
            _renew_import(ctx, conn, job_id, owner)
            conn.execute(update(Job).where(Job.id == job_id).values(background_owner=None, background_until=None))
            gold_count = conn.execute(select(func.count()).select_from(DataObject).where(
                DataObject.job_id == job_id, DataObject.is_gold.is_(True))).scalar()
            transition(conn, Job, Job.id == job_id, JobStatus.INITIALIZING, JobStatus.IN_PROGRESS,
                       object_count=objects.count, gold_count=gold_count)
            record(conn, "job.created", at=now, actor=principal.username, job_id=job_id, objects=objects.count,
                   task_type=task_type.name)

        ctx.write(finish)
    except BaseException:
        ctx.write(lambda conn: _delete_initializing(conn, Job.id == job_id))
        raise


def _quality_columns(spec: JobSpec) -> dict[str, Any]:
    """The job's quality settings (``services.gold``); the counts of gold objects are set once imported."""
    return {"min_workers_per_object": spec.min_workers_per_object, "confidence_target": spec.confidence_target,
            "gold_rate": spec.gold_rate, "qualification_tasks": spec.qualification_tasks,
            "qualification_min_accuracy": spec.qualification_min_accuracy,
            "block_below_accuracy": spec.block_below_accuracy}


def _renew_import(ctx: Context, conn: Connection, job_id: int, owner: str) -> None:
    held = conn.execute(update(Job).where(Job.id == job_id, Job.background_owner == owner,
                                          Job.status == JobStatus.INITIALIZING)
                        .values(background_until=ctx.clock() + timedelta(seconds=IMPORT_CLAIM_S))).rowcount
    if held != 1:
        raise Conflict("the import lost its hold on the job (it was swept as abandoned)")


def _import_chunk(ctx: Context, job_id: int, owner: str, chunk: list[dict[str, Any]]) -> Any:
    def unit(conn: Connection) -> None:
        _renew_import(ctx, conn, job_id, owner)
        conn.execute(insert(DataObject), [{**row, "job_id": job_id} for row in chunk])

    return unit


def _delete_initializing(conn: Connection, where: Any) -> int:
    """Delete Initializing jobs matching ``where`` and their objects (no task or answer exists yet)."""
    ids = conn.execute(select(Job.id).where(where, Job.status == JobStatus.INITIALIZING)).scalars().all()
    if ids:
        conn.execute(delete(DataObject).where(DataObject.job_id.in_(ids)))
        conn.execute(delete(Job).where(Job.id.in_(ids)))
    return len(ids)


def sweep_abandoned_imports(ctx: Context) -> int:
    """Delete the jobs a killed import left Initializing (its hold ran out); returns how many."""
    now = ctx.clock()
    return int(ctx.write(lambda conn: _delete_initializing(
        conn, and_(or_(Job.background_until.is_(None), Job.background_until <= now)))))


@dataclass(frozen=True)
class JobInfo:
    """The columns of a job that never change after it is created (status, counters and timestamps do: read
    those from the row). Safe to keep for the life of the process: job rows are never updated in these
    columns, and only a job still Initializing (whose import failed or was killed) is ever deleted; no task
    of such a job exists, so nothing reads its info."""

    id: int
    name: str
    requester_id: int
    team_id: int
    task_type: str
    labels: tuple[str, ...]
    keys: tuple[str | None, ...]
    workers_per_object: int
    task_time_limit_s: int
    max_concurrent_tasks: int
    price_per_task_usd: float
    title: str
    short_instruction: str
    ends_at: datetime
    min_workers_per_object: int = 0  # adaptive consensus: the fewest (0: fixed at workers_per_object)
    confidence_target: float | None = None
    gold_count: int = 0
    gold_rate: float = 0.0
    qualification_tasks: int = 0
    qualification_min_accuracy: float = 0.8
    block_below_accuracy: float | None = None

    @property
    def adaptive(self) -> bool:
        """Workers per object is a range: objects are re-opened while their posterior is below the target."""
        return 0 < self.min_workers_per_object < self.workers_per_object

    @property
    def scores_workers(self) -> bool:
        """Submits update the worker's standing on the job (gold answers, qualification, blocking)."""
        return self.gold_count > 0 or self.block_below_accuracy is not None


_JOB_BY_ID = select(Job.__table__).where(Job.id == bindparam("b_job"))


def job_info(ctx: Context, conn: Connection, job_id: int) -> JobInfo:
    """The immutable part of a job, read once per process (the context's cache; a job's id is never reused
    within one database, and a context has one database)."""
    info: JobInfo | None = ctx.job_infos.get(job_id)
    if info is None:
        row = conn.execute(_JOB_BY_ID, {"b_job": job_id}).one()
        labels = json.loads(row.label_config).get("labels", [])
        info = JobInfo(
            id=row.id, name=row.name, requester_id=row.requester_id, team_id=row.team_id, task_type=row.task_type,
            labels=tuple(x["label"] for x in labels), keys=tuple(x.get("key") for x in labels),
            workers_per_object=row.workers_per_object, task_time_limit_s=row.task_time_limit_s,
            max_concurrent_tasks=row.max_concurrent_tasks, price_per_task_usd=float(row.price_per_task_usd),
            title=row.title, short_instruction=row.short_instruction, ends_at=row.ends_at,
            min_workers_per_object=row.min_workers_per_object or 0, confidence_target=row.confidence_target,
            gold_count=row.gold_count, gold_rate=row.gold_rate, qualification_tasks=row.qualification_tasks,
            qualification_min_accuracy=(0.8 if row.qualification_min_accuracy is None
                                        else row.qualification_min_accuracy),
            block_below_accuracy=row.block_below_accuracy)
        ctx.job_infos.put(job_id, info)
    return info


def label_counters(conn: Connection, job_id: int) -> LabelCounters:
    """GT's LabelCounters, computed from the objects' states (never a drifting counter)."""
    rows = conn.execute(
        select(DataObject.status, DataObject.human_annotated, func.count())
        .where(DataObject.job_id == job_id, DataObject.gold_extra.is_(False))  # a gold file's objects: not input
        .group_by(DataObject.status, DataObject.human_annotated)
    ).all()
    by = {(ObjectStatus(s), bool(h)): n for s, h, n in rows}
    human = by.get((ObjectStatus.LABELED, True), 0)
    machine = by.get((ObjectStatus.LABELED, False), 0)
    skipped = sum(n for (s, _), n in by.items() if s == ObjectStatus.SKIPPED)
    return LabelCounters(
        total_labeled=human + machine + skipped, human_labeled=human, machine_labeled=machine,
        failed_non_retryable_error=sum(n for (s, _), n in by.items() if s == ObjectStatus.FAILED),
        unlabeled=sum(n for (s, _), n in by.items() if s.is_unlabeled))


def _describe(conn: Connection, row: Any) -> JobView:
    team = conn.execute(select(Team.name).where(Team.id == row.team_id)).scalar()
    labels = json.loads(row.label_config)
    return JobView(
        name=row.name, status=row.status, failure_reason=row.failure_reason,
        task_type=row.task_type, label_attribute_name=row.label_attribute_name,
        labels=[x["label"] for x in labels.get("labels", [])], label_config=labels, team=team,
        workers_per_object=row.workers_per_object, task_time_limit_s=row.task_time_limit_s,
        task_availability_lifetime_s=row.task_availability_lifetime_s,
        max_concurrent_tasks=row.max_concurrent_tasks, price_per_task_usd=float(row.price_per_task_usd),
        title=row.title, description=row.description, keywords=json.loads(row.keywords),
        short_instruction=row.short_instruction, full_instruction=row.full_instruction,
        input_manifest_uri=row.input_manifest_uri, output_uri=row.output_uri,
        output_manifest_uri=row.output_uri + "manifests/output/output.manifest",
        consolidation_algorithm=row.consolidation_algorithm, object_count=row.object_count,
        created_at=row.created_at, updated_at=row.updated_at, ends_at=row.ends_at,
        label_counters=label_counters(conn, row.id), has_custom_template=row.ui_template is not None,
        quality=quality_settings(row))


def quality_settings(row: Any) -> QualitySettings:
    """The quality settings of a job row."""
    return QualitySettings(
        min_workers_per_object=row.min_workers_per_object or row.workers_per_object,
        max_workers_per_object=row.workers_per_object, confidence_target=row.confidence_target,
        gold_objects=row.gold_count, gold_rate=row.gold_rate if row.gold_count else 0.0,
        qualification_tasks=row.qualification_tasks,
        qualification_min_accuracy=(0.8 if row.qualification_min_accuracy is None else row.qualification_min_accuracy),
        block_below_accuracy=row.block_below_accuracy)


def describe_job(ctx: Context, principal: Principal, name: str) -> JobView:
    """A job in full, with its open leases, for those who may manage it; a member of its team gets 403 (they
    read ``job_brief`` and their tasks), anyone else 404."""
    with ctx.engine.connect() as conn:
        row = job_row_for(conn, name, principal)
        if not may_manage_job(principal, row.requester_id):
            raise Forbidden(f"only the owner of job '{row.name}' and admins read its details", field="name")
        return dataclasses.replace(_describe(conn, row), open_leases=leases_of(conn, row.id))


def leases_of(conn: Connection, job_id: int, limit: int | None = None) -> list[LeaseView]:
    """The job's open leases, soonest to expire first (the first ``limit`` of them)."""
    q = (select(Task.id, DataObject.position, User.username, Task.leased_at, Task.lease_expires_at)
         .join(DataObject, DataObject.id == Task.object_id).join(User, User.id == Task.worker_id)
         .where(Task.job_id == job_id, Task.status == TaskStatus.LEASED)
         .order_by(Task.lease_expires_at, Task.id).limit(limit))
    return [LeaseView(task_id=t, dataset_object_id=o, worker=u, leased_at=a, lease_expires_at=e)
            for t, o, u, a, e in conn.execute(q)]


def open_leases(ctx: Context, principal: Principal, name: str) -> list[LeaseView]:
    """The job's open leases (task, data object, worker, since, until), soonest to expire first, for those
    who may manage it (as ``describe_job``). A lease past its end is listed until the background ends it."""
    with ctx.engine.connect() as conn:
        row = job_row_for(conn, name, principal)
        if not may_manage_job(principal, row.requester_id):
            raise Forbidden(f"only the owner of job '{row.name}' and admins read its details", field="name")
        return leases_of(conn, row.id)


def job_brief(ctx: Context, principal: Principal, name: str) -> JobBrief:
    """What a member of the job's team (or its manager) sees of it: title and instructions."""
    with ctx.engine.connect() as conn:
        row = job_row_for(conn, name, principal)
    return JobBrief(name=row.name, title=row.title, description=row.description,
                    short_instruction=row.short_instruction, full_instruction=row.full_instruction)


def list_jobs(ctx: Context, principal: Principal, *, status: str | None = None) -> list[JobView]:
    """The jobs this principal may manage (``core.access.may_manage_job``), oldest first."""
    q = select(Job.__table__).where(may_manage_job_sql(principal)).order_by(Job.created_at, Job.id)
    if status:
        if status not in JobStatus.__members__.values():
            raise ValidationError(f"status must be one of {', '.join(JobStatus)}", field="status")
        q = q.where(Job.status == status)
    with ctx.engine.connect() as conn:
        return [_describe(conn, row) for row in conn.execute(q)]


def stop_job(ctx: Context, principal: Principal, name: str) -> JobView:
    """Stop a job: it goes to Stopping and its open leases end, in one transaction; the background runner
    consolidates what is ready and sets Stopped."""
    now = ctx.clock()

    def unit(conn: Connection) -> None:
        row = job_row_for(conn, name, principal)
        if not may_manage_job(principal, row.requester_id):
            raise Forbidden(f"only the owner of job '{row.name}' and admins can stop it")
        stoppable = [s for s in JobStatus if s.can_stop]
        if not transition(conn, Job, Job.id == row.id, stoppable, JobStatus.STOPPING, updated_at=now):
            current = conn.execute(select(Job.status).where(Job.id == row.id)).scalar()
            raise Conflict(f"job '{row.name}' is {current}; only a job in progress can be stopped", field="name")
        record(conn, "job.stop_requested", at=now, actor=principal.username, job_id=row.id)
        expire_leases(conn, row.id, now, status=TaskStatus.STOPPED, all_open=True)

    ctx.write(unit)
    return describe_job(ctx, principal, name)


def set_status(conn: Connection, job_id: int, source: JobStatus, target: JobStatus, now: datetime,
               reason: str | None = None) -> bool:
    """Move a job from ``source`` to ``target`` (compare-and-set) and record it; False if it was not in ``source``."""
    moved = transition(conn, Job, Job.id == job_id, source, target, updated_at=now, failure_reason=reason,
                       output_dirty=True)
    if moved:
        record(conn, f"job.{target.lower()}", at=now, actor="system", job_id=job_id, reason=reason)
    return bool(moved)
