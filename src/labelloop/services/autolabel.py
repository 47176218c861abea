"""Automated data labeling, the requester's side: turn it on for a job, read its rounds, keep its models.

Turning it on holds back every object no person has started (``data_objects.wanted`` = 0: the claim's
``_WANTED`` never leases it) and sends people a random validation sample and a first random batch. The
background step (``services/background/autolabel.py``) runs the rounds. An object the model may label is
one people were never asked for, so no lease is ever open on it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, func, insert, select, update

from labelloop.core.access import may_manage_job
from labelloop.core.autolabel import MIN_JOB_OBJECTS, plan
from labelloop.core.errors import Conflict, Forbidden, NotFound, ValidationError
from labelloop.core.lifecycle import JobStatus, ObjectStatus
from labelloop.core.tasktypes import get_task_type
from labelloop.db.models import AutoLabelJob, AutoLabelModel, AutoLabelObject, AutoLabelRound, DataObject, Job
from labelloop.services.access import job_row_for
from labelloop.services.context import Context, Principal
from labelloop.services.events import record
from labelloop.services.views import AutoLabelRoundView, AutoLabelView

__all__ = ["MIN_JOB_OBJECTS", "describe_autolabel", "enable_autolabel", "job_rounds", "model_arn"]

_HOLD = (update(DataObject).where(DataObject.id == bindparam("b_id"), DataObject.status == ObjectStatus.PENDING,
                                  DataObject.active_count == 0, DataObject.answer_count == 0)
         .values(wanted=0))
#: send an object held back to people: the claim leases it again (``b_wanted``: the job's
#: ``min_workers_per_object`` on an adaptive job, so adaptive consensus asks for more while the posterior is low;
#: else NULL: the job's N)
PICK = (update(DataObject).where(DataObject.id == bindparam("b_id"), DataObject.wanted == 0,
                                 DataObject.status == ObjectStatus.PENDING)
        .values(wanted=bindparam("b_wanted")))
ROLE = (update(AutoLabelObject).where(AutoLabelObject.object_id == bindparam("b_id"))
        .values(role=bindparam("b_role"), round=bindparam("b_round")))


def model_arn(ctx: Context, job_name: str, round_: int) -> str:
    """The ARN-like id of a job's model after a round: ``FinalActiveLearningModelArn``'s shape."""
    s = ctx.settings
    return f"arn:aws:sagemaker:{s.aws_region}:{s.aws_account_id}:model/{job_name.lower()}-autolabel-{round_}"


def _check(ctx: Context, conn: Connection, principal: Principal, job_name: str) -> Any:
    row = job_row_for(conn, job_name, principal)
    if not may_manage_job(principal, row.requester_id):
        raise Forbidden(f"only the owner of job '{row.name}' and admins manage its automated labeling", field="name")
    return row


def _check_settings(target: float, max_human: int | None, max_percentage: int | None) -> None:
    if not 0.5 <= target < 1:
        raise ValidationError("target_accuracy must be at least 0.5 and below 1", field="target_accuracy")
    if max_human is not None and max_human < 1:
        raise ValidationError("max_human_labeled (MaxHumanLabeledObjectCount) must be at least 1",
                              field="max_human_labeled")
    if max_percentage is not None and not 1 <= max_percentage <= 100:
        raise ValidationError("max_percentage_labeled (MaxPercentageOfInputDatasetLabeled) must be 1-100",
                              field="max_percentage_labeled")


def check_model(ctx: Context, model: str | None, media: str, labels: list[str]) -> str:
    """The job's model as stored: a built-in (its packages present) or a predictor URL the storage policy
    allows and that answers ``/health``. ``MissingExtra`` names ``labelloop[ml]``."""
    from labelloop.ml.base import BUILTIN_FEATURIZERS, parse_model_spec, require

    spec = parse_model_spec(model, media)
    if spec.featurizer is not None:
        require(BUILTIN_FEATURIZERS[spec.featurizer][1], f"the built-in {spec.featurizer} model")
    else:
        assert spec.url is not None
        ctx.storage.check(spec.url)
        from labelloop.services.background.autolabel import remote_model

        try:
            remote_model(ctx, spec.url, labels).health()
        except Exception as exc:  # noqa: BLE001 (the predictor's failure, said plainly)
            raise ValidationError(f"the model at {spec.url} does not answer: {exc}", field="model") from None
    return spec.text


def enable_autolabel(ctx: Context, principal: Principal, job_name: str, *, target: float = 0.95,
                     max_human: int | None = None, max_percentage: int | None = None, model: str | None = None,
                     initial_model_arn: str | None = None, seed: int = 0) -> AutoLabelView:
    """Turn on automated data labeling for a job in progress (Ground Truth's ``LabelingJobAlgorithmsConfig``
    with ``StoppingConditions``). Refuses a job smaller than ``MIN_JOB_OBJECTS``, a task type it does not
    apply to, and a model whose packages are missing."""
    _check_settings(target, max_human, max_percentage)
    with ctx.engine.connect() as conn:
        row = _check(ctx, conn, principal, job_name)
        labels = [x["label"] for x in json.loads(row.label_config).get("labels", [])]
        size = conn.execute(select(func.count()).select_from(DataObject).where(
            DataObject.job_id == row.id, DataObject.is_gold.is_(False))).scalar_one()
    task_type = get_task_type(row.task_type)
    if task_type.autolabel is None or not task_type.autolabel.single_label:
        raise ValidationError(f"automated labeling applies to single-label image and text classification, not "
                              f"{row.task_type}", field="task_type")
    _check_size(size)  # before the model: a job too small is refused whatever is installed
    stored_model = check_model(ctx, model, task_type.autolabel.media, labels)
    if initial_model_arn is not None:
        _check_initial(ctx, initial_model_arn, labels, stored_model)
    now = ctx.clock()

    def unit(conn: Connection) -> None:
        job = _check(ctx, conn, principal, job_name)
        if job.status != JobStatus.IN_PROGRESS:
            raise Conflict(f"job '{job.name}' is {job.status}; automated labeling starts on a job in progress",
                           field="name")
        if conn.execute(select(AutoLabelJob.job_id).where(AutoLabelJob.job_id == job.id)).first():
            raise Conflict(f"automated labeling is already on for job '{job.name}'", field="name")
        objects = conn.execute(
            select(DataObject.id, DataObject.status, DataObject.active_count, DataObject.answer_count,
                   DataObject.wanted)
            .where(DataObject.job_id == job.id, DataObject.is_gold.is_(False))
            .order_by(DataObject.position)).all()
        _check_size(len(objects))
        _start(conn, job, objects, target, max_human, max_percentage, stored_model, initial_model_arn, seed, now)
        record(conn, "autolabel.enabled", at=now, actor=principal.username, job_id=job.id, target=target,
               max_human_labeled=max_human, max_percentage_labeled=max_percentage, model=stored_model,
               initial_model_arn=initial_model_arn)

    ctx.write(unit)
    view = describe_autolabel(ctx, principal, job_name)
    assert view is not None
    return view


def _check_size(objects: int) -> None:
    if objects < MIN_JOB_OBJECTS:
        raise ValidationError(f"automated labeling needs a job of at least {MIN_JOB_OBJECTS} objects (this one "
                              f"has {objects}): below it the certification cannot vouch for any label", field="name")


def _start(conn: Connection, job: Any, objects: list[Any], target: float, max_human: int | None,
           max_percentage: int | None, model: str, initial: str | None, seed: int, now: datetime) -> None:
    """Hold back the fresh objects, pick the validation sample and the first batch at random."""
    p = plan(len(objects), target, max_concurrent=job.max_concurrent_tasks)
    fresh = [o.id for o in objects if o.status == ObjectStatus.PENDING and not o.active_count and not o.answer_count
             and o.wanted == job.min_workers_per_object]  # untouched: NULL, or the adaptive minimum
    started = {o.id for o in objects if o.active_count or o.answer_count or o.status != ObjectStatus.PENDING}
    rng = np.random.default_rng(seed)
    order = [fresh[i] for i in rng.permutation(len(fresh))]
    validation = order[:p.validation]
    first = order[p.validation:p.validation + max(0, p.first_batch - len(started))]
    conn.execute(insert(AutoLabelJob).values(
        job_id=job.id, target=target, max_human=max_human, max_percentage=max_percentage, model=model,
        initial_model_arn=initial, state="labeling", round=0, seed=seed, validation_size=len(validation),
        created_at=now, updated_at=now))
    conn.execute(insert(AutoLabelObject), [{"object_id": o.id, "job_id": job.id, "role": None, "round": None}
                                           for o in objects])
    if fresh:
        conn.execute(_HOLD, [{"b_id": i} for i in fresh])
    picks = [(i, "validation") for i in validation] + [(i, "train") for i in first]
    if picks:
        conn.execute(PICK, [{"b_id": i, "b_wanted": job.min_workers_per_object} for i, _ in picks])
    roles = picks + [(i, "train") for i in started]
    if roles:
        conn.execute(ROLE, [{"b_id": i, "b_role": r, "b_round": 0} for i, r in roles])


def _check_initial(ctx: Context, arn: str, labels: list[str], model: str) -> None:
    with ctx.engine.connect() as conn:
        row = conn.execute(select(AutoLabelModel.labels, AutoLabelModel.featurizer)
                           .where(AutoLabelModel.arn == arn)).first()
    if row is None:
        raise NotFound(f"no automated-labeling model '{arn}'", field="initial_model_arn")
    if json.loads(row.labels) != labels:
        raise ValidationError("the initial model was trained on other labels than this job's",
                              field="initial_model_arn")
    if f"builtin:{row.featurizer}" != model:
        raise ValidationError(f"the initial model reads features of {row.featurizer}; this job's model is {model}",
                              field="initial_model_arn")


def _view(conn: Connection, job: Any, cfg: Any) -> AutoLabelView:
    rounds = [_round_view(r) for r in conn.execute(
        select(AutoLabelRound.round, AutoLabelRound.finished_at, AutoLabelRound.figures)
        .where(AutoLabelRound.job_id == job.id).order_by(AutoLabelRound.round))]
    return AutoLabelView(
        job=job.name, target_accuracy=cfg.target, max_human_labeled=cfg.max_human,
        max_percentage_labeled=cfg.max_percentage, model=cfg.model, initial_model_arn=cfg.initial_model_arn,
        state=cfg.state, round=cfg.round, final_model_arn=cfg.final_model_arn, failure=cfg.failure, rounds=rounds)


def _round_view(r: Any) -> AutoLabelRoundView:
    f = json.loads(r.figures)
    return AutoLabelRoundView(round=r.round, finished_at=r.finished_at, **f)


def describe_autolabel(ctx: Context, principal: Principal, job_name: str) -> AutoLabelView | None:
    """The job's automated labeling (None when it is off), for those who manage the job."""
    with ctx.engine.connect() as conn:
        job = _check(ctx, conn, principal, job_name)
        cfg = conn.execute(select(AutoLabelJob.__table__).where(AutoLabelJob.job_id == job.id)).first()
        return None if cfg is None else _view(conn, job, cfg)


def job_rounds(ctx: Context, principal: Principal, job_name: str) -> list[AutoLabelRoundView]:
    """The job's finished rounds, first first (empty when automated labeling is off or none finished yet)."""
    view = describe_autolabel(ctx, principal, job_name)
    return [] if view is None else view.rounds


def human_labeled(conn: Connection, job_id: int) -> int:
    """Objects people were asked to label for automated labeling (validation and training)."""
    return int(conn.execute(select(func.count()).select_from(AutoLabelObject).where(
        AutoLabelObject.job_id == job_id, AutoLabelObject.role.is_not(None))).scalar() or 0)


def job_of(conn: Connection, job_id: int) -> Any:
    return conn.execute(select(Job.__table__).where(Job.id == job_id)).one()
