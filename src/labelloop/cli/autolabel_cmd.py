"""``labelloop jobs autolabel|rounds``: turn on automated data labeling for a job, and watch its rounds."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from labelloop.core.errors import LabelloopError

DbOpt = typer.Option(None, "--database-url", envvar="LABELLOOP_DATABASE_URL", help="SQLAlchemy database URL.")
AsOpt = typer.Option(None, "--as", help="Act as this user (default: the first admin).")


def _f(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def jobs_autolabel(
    name: str,
    target: float = typer.Option(0.95, "--target", help="Accuracy the model's labels must have, certified with "
                                 "95% confidence on held-out human labels."),
    max_human: int | None = typer.Option(None, "--max-human", help="MaxHumanLabeledObjectCount: the most "
                                         "objects people label; then the job stops."),
    max_percentage: int | None = typer.Option(None, "--max-percentage", help="MaxPercentageOfInputDatasetLabeled "
                                              "(1-100)."),
    model: str | None = typer.Option(None, "--model", help="builtin:hog (the images' default) | builtin:pixels | "
                                     "builtin:efficientnet-lite0 | builtin:minilm (the texts' default) | builtin:hashing "
                                     "| the URL of your own predictor."),
    initial_model: str | None = typer.Option(None, "--initial-model", help="InitialActiveLearningModelArn: a "
                                             "model an earlier job kept."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random validation sample and batches."),
    as_user: str | None = AsOpt, database_url: str | None = DbOpt,
) -> None:
    """Turn on automated data labeling for a job in progress: a model trained on people's labels labels what
    it is certified to label at --target; people label the rest, round after round."""
    from labelloop.cli.main import _admin, _ctx, _fail, out
    from labelloop.services import autolabel

    ctx = _ctx(database_url)
    try:
        view = autolabel.enable_autolabel(ctx, _admin(ctx, as_user), name, target=target, max_human=max_human,
                                          max_percentage=max_percentage, model=model, initial_model_arn=initial_model,
                                          seed=seed)
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"automated labeling is on for job '{view.job}': target {view.target_accuracy}, model {view.model}; "
              f"people label a validation sample and a first batch, then the rounds begin "
              f"(labelloop jobs rounds {view.job})")


def jobs_rounds(name: str, as_json: bool = typer.Option(False, "--json", help="The API's JSON instead of a table."),
                as_user: str | None = AsOpt, database_url: str | None = DbOpt) -> None:
    """A job's automated-labeling rounds: human batch, validation accuracy (95% interval), certified threshold,
    objects the model labeled and their certified accuracy."""
    from labelloop.cli.main import _admin, _ctx, _fail, out
    from labelloop.services import autolabel
    from labelloop.web.autolabel_api import autolabel_json

    ctx = _ctx(database_url)
    try:
        view = autolabel.describe_autolabel(ctx, _admin(ctx, as_user), name)
    except LabelloopError as exc:
        _fail(exc)
    if view is None:
        out.print(f"automated labeling is off for job '{name}' (turn it on: labelloop jobs autolabel {name})")
        return
    if as_json:
        print(json.dumps(autolabel_json(view), indent=2))
        return
    out.print(f"job '{view.job}': {view.state}, target {view.target_accuracy}, model {view.model}, "
              f"{view.round} rounds; final model {view.final_model_arn or '-'}"
              + (f"; failure: {view.failure}" if view.failure else ""))
    table = Table("round", "human batch", "people so far", "validation", "val. accuracy (95% CI)", "threshold",
                  "machine labeled", "certified accuracy", "next batch")
    for r in view.rounds:
        table.add_row(str(r.round), str(r.human_batch), str(r.human_labeled_total), str(r.validation_size),
                      f"{r.validation_accuracy:.3f} ({r.validation_ci_low:.3f}-{r.validation_ci_high:.3f})",
                      _f(r.threshold), f"{r.machine_labeled} ({r.machine_labeled_total} in all)",
                      _f(r.certified_accuracy), str(r.next_batch))
    out.print(table)
