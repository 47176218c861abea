"""Automated data labeling over the v1 API: turn it on for a job, read its rounds (docs/automated-labeling.md).

- ``POST /api/v1/jobs/{name}/autolabel``: turn it on (target accuracy, Ground Truth's stopping conditions, the
  model, an initial model's ARN).
- ``GET /api/v1/jobs/{name}/autolabel``: its settings, state, final model and every finished round.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, ConfigDict, Field

from labelloop.core.errors import NotFound
from labelloop.services import autolabel
from labelloop.services.context import Context, Principal
from labelloop.services.views import AutoLabelRoundView, AutoLabelView
from labelloop.web.deps import get_ctx, get_principal
from labelloop.web.openapi import documented
from labelloop.web.render import v1_time

router = APIRouter(prefix="/api/v1")


class AutoLabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_accuracy: float = Field(0.95, ge=0.5, lt=1, description="Accuracy the model's labels must have, "
                                   "certified with 95% confidence on held-out human labels (Ground Truth: 0.95).")
    max_human_labeled: int | None = Field(None, ge=1, description="MaxHumanLabeledObjectCount: the most objects "
                                          "people label (validation included); then the job stops.")
    max_percentage_labeled: int | None = Field(None, ge=1, le=100, description="MaxPercentageOfInputDatasetLabeled:"
                                               " the same as a percentage of the job's objects.")
    model: str | None = Field(None, max_length=2000, description="builtin:hog, builtin:pixels, "
                              "builtin:efficientnet-lite0 (images), builtin:minilm, builtin:hashing (text), or the URL "
                              "of your own predictor (the HTTP contract in docs/automated-labeling.md). Default: hog "
                              "for images, minilm for text.")
    initial_model_arn: str | None = Field(None, max_length=256, description="InitialActiveLearningModelArn: a "
                                          "model an earlier job kept (its FinalActiveLearningModelArn).")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the random validation sample and batches.")


class RoundOut(BaseModel):
    round: int
    finished_at: str
    human_batch: int = Field(description="Objects people labeled for this round (validation included).")
    human_labeled_total: int
    train_size: int
    validation_size: int
    validation_accuracy: float
    validation_ci: list[float] = Field(description="Clopper-Pearson 95% interval of validation_accuracy.")
    threshold: float | None = Field(description="Certified confidence threshold; null: nothing certified.")
    machine_labeled: int
    machine_labeled_total: int
    certified_accuracy: float | None = Field(description="95% lower bound of the accuracy of this round's "
                                             "machine labels.")
    next_batch: int
    model_arn: str | None
    note: str


class AutoLabelOut(BaseModel):
    job: str
    target_accuracy: float
    max_human_labeled: int | None
    max_percentage_labeled: int | None
    model: str
    initial_model_arn: str | None
    state: str = Field(description="labeling, done, stopped (a stopping condition) or failed (see failure).")
    rounds_finished: int
    final_model_arn: str | None = Field(description="FinalActiveLearningModelArn: start a later job from it.")
    failure: str | None
    rounds: list[RoundOut]


def round_json(r: AutoLabelRoundView) -> dict[str, Any]:
    return {"round": r.round, "finished_at": v1_time(r.finished_at), "human_batch": r.human_batch,
            "human_labeled_total": r.human_labeled_total, "train_size": r.train_size,
            "validation_size": r.validation_size, "validation_accuracy": r.validation_accuracy,
            "validation_ci": [r.validation_ci_low, r.validation_ci_high], "threshold": r.threshold,
            "machine_labeled": r.machine_labeled, "machine_labeled_total": r.machine_labeled_total,
            "certified_accuracy": r.certified_accuracy, "next_batch": r.next_batch, "model_arn": r.model_arn,
            "note": r.note}


def autolabel_json(v: AutoLabelView) -> dict[str, Any]:
    """The v1 JSON of a job's automated labeling (the CLI's ``jobs describe`` prints the same)."""
    return {"job": v.job, "target_accuracy": v.target_accuracy, "max_human_labeled": v.max_human_labeled,
            "max_percentage_labeled": v.max_percentage_labeled, "model": v.model,
            "initial_model_arn": v.initial_model_arn, "state": v.state, "rounds_finished": v.round,
            "final_model_arn": v.final_model_arn, "failure": v.failure, "rounds": [round_json(r) for r in v.rounds]}


@router.post("/jobs/{name}/autolabel", tags=["automated labeling"], **documented(AutoLabelOut, 403, 404, 409,
                                                                                 status=201), status_code=201)
def enable(name: str, body: AutoLabelIn, ctx: Context = Depends(get_ctx), me: Principal = Depends(get_principal)):
    """Turn on automated data labeling for a job in progress (single-label image or text classification)."""
    return autolabel_json(autolabel.enable_autolabel(
        ctx, me, name, target=body.target_accuracy, max_human=body.max_human_labeled,
        max_percentage=body.max_percentage_labeled, model=body.model, initial_model_arn=body.initial_model_arn,
        seed=body.seed))


@router.get("/jobs/{name}/autolabel", tags=["automated labeling"], **documented(AutoLabelOut, 403, 404))
def describe(name: str, ctx: Context = Depends(get_ctx), me: Principal = Depends(get_principal)):
    """The job's automated labeling: settings, state, final model and every finished round."""
    view = autolabel.describe_autolabel(ctx, me, name)
    if view is None:
        raise NotFound(f"automated labeling is off for job '{name}'", field="name")
    return autolabel_json(view)


def install(app: FastAPI) -> None:
    app.include_router(router)
