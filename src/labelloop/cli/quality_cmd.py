"""``labelloop jobs quality|block|unblock``: a job's quality figures, and blocking a worker by hand."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from labelloop.core.errors import LabelloopError
from labelloop.web import render

DbOpt = typer.Option(None, "--database-url", envvar="LABELLOOP_DATABASE_URL", help="SQLAlchemy database URL.")
AsOpt = typer.Option(None, "--as", help="Act as this user (default: the first admin).")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def jobs_quality(name: str, as_json: bool = typer.Option(False, "--json", help="The API's JSON instead of tables."),
                 as_user: str | None = AsOpt, database_url: str | None = DbOpt) -> None:
    """A job's quality: per-worker accuracy (with a 95% interval), answers, median time per task, agreement with
    the consolidated label, blocks; per-label agreement; Krippendorff's alpha."""
    from labelloop.cli.main import _admin, _ctx, _fail, out
    from labelloop.services import quality

    ctx = _ctx(database_url)
    try:
        view = quality.job_quality(ctx, _admin(ctx, as_user), name)
    except LabelloopError as exc:
        _fail(exc)
    if as_json:
        print(json.dumps(render.quality(view), indent=2))
        return
    s = view.settings
    out.print(f"job '{view.job}': {view.objects_labeled} objects labeled, {view.answers} answers "
              f"({view.answers_per_object or 0:.2f} per object), Krippendorff's alpha "
              f"{'-' if view.krippendorff_alpha is None else f'{view.krippendorff_alpha:.3f}'}; workers per object "
              f"{s.min_workers_per_object}-{s.max_workers_per_object}"
              + (f" to confidence {s.confidence_target}" if s.confidence_target is not None else "")
              + f", {s.gold_objects} gold objects")
    table = Table("worker", "answers", "gold right", "accuracy (95% interval)", "agreement", "median s/task", "status")
    for w in view.workers:
        status = f"blocked: {w.blocked_reason}" if w.blocked else ("qualified" if w.qualified else "")
        table.add_row(w.worker, str(w.answers), f"{w.gold_correct}/{w.gold_answers}" if w.gold_answers else "-",
                      f"{_pct(w.accuracy)} ({w.accuracy_low:.0%}-{w.accuracy_high:.0%})", _pct(w.agreement),
                      "-" if w.median_time_s is None else f"{w.median_time_s:.1f}", status)
    out.print(table)
    labels = Table("label", "objects", "answers", "agreement")
    for lq in view.labels:
        labels.add_row(lq.label, str(lq.objects), str(lq.answers), _pct(lq.agreement))
    out.print(labels)


def jobs_block(name: str, worker: str, reason: str | None = typer.Option(None, help="Why (kept in the audit trail)."),
               as_user: str | None = AsOpt, database_url: str | None = DbOpt) -> None:
    """Block a worker from a job: their open tasks are released, their answers discarded, and the objects they
    answered consolidated again or given to other workers."""
    from labelloop.cli.main import _admin, _ctx, _fail, out
    from labelloop.services import quality

    ctx = _ctx(database_url)
    try:
        v = quality.block_worker(ctx, _admin(ctx, as_user), name, worker, reason)
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"'{v.worker}' is blocked from job '{v.job}': {v.released_tasks} tasks released, "
              f"{v.discarded_answers} answers discarded, {v.reopened_objects} objects re-opened")


def jobs_unblock(name: str, worker: str, as_user: str | None = AsOpt, database_url: str | None = DbOpt) -> None:
    """Let a blocked worker take the job's tasks again (answers discarded by the block stay discarded)."""
    from labelloop.cli.main import _admin, _ctx, _fail, out
    from labelloop.services import quality

    ctx = _ctx(database_url)
    try:
        v = quality.unblock_worker(ctx, _admin(ctx, as_user), name, worker)
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"'{v.worker}' may work on job '{v.job}' again")
