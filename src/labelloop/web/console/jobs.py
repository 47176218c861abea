"""All jobs (``/console``) and one job, live (``/console/jobs/{name}``): counters, progress chart,
throughput, cost, label distribution, open leases, workers (with block and unblock), stop.

The job page polls ``/console/api/jobs/{name}/live`` every 2 s (static/console.js): its JSON carries the
figures and the page's live panels as HTML rendered here, so the page and its updates never disagree."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from labelloop.core.lifecycle import JobStatus
from labelloop.services import autolabel, console, jobs, quality
from labelloop.services.context import Context, Principal
from labelloop.web.console import svg
from labelloop.web.console._shell import console_router, page, pages, requester, requester_write
from labelloop.web.deps import get_ctx

router = console_router()
Me = Annotated[Principal, Depends(requester)]
Writer = Annotated[Principal, Depends(requester_write)]
Ctx = Annotated[Context, Depends(get_ctx)]
STATUSES = [s.value for s in JobStatus]
WORKER_SORTS = ("worker", "answers", "median_time_s", "agreement", "accuracy", "gold_accuracy")


def all_jobs(request: Request, me: Me, ctx: Ctx,  # GET /console (registered in __init__.py)
             page_no: Annotated[int, Query(alias="page", ge=1, le=100000)] = 1,
             status: Annotated[str | None, Query(max_length=16)] = None):
    if status == "":
        status = None
    if status is not None and status not in STATUSES:
        from labelloop.core.errors import ValidationError

        raise ValidationError(f"status must be one of {', '.join(STATUSES)}", field="status")
    listing = console.job_rows(ctx, me, page=page_no, status=status)
    return page(request, "console/jobs.html", me, active="jobs", listing=listing, statuses=STATUSES)


def _panels(request: Request, d: console.Dashboard) -> dict[str, str]:
    """The job page's live panels as HTML (the page includes the same partials)."""
    env = pages.env
    chart = svg.progress_chart(d.series, d.row.objects)
    bars = svg.bar_chart(d.distribution)
    context = {"d": d, "chart": chart, "bars": bars, "request": request}
    return {key: env.get_template(f"console/_{key}.html").render(context)
            for key in ("counters", "progress", "distribution", "leases")}


@router.get("/jobs/{name}")
def job_page(name: str, request: Request, me: Me, ctx: Ctx):
    d = console.dashboard(ctx, me, name)
    panels = _panels(request, d)
    return page(request, "console/job.html", me, active="jobs", d=d, panels=panels,
                auto=autolabel.describe_autolabel(ctx, me, d.row.name))


@router.get("/api/jobs/{name}/live")
def live(name: str, request: Request, me: Me, ctx: Ctx):
    d = console.dashboard(ctx, me, name)
    r = d.row
    body = {
        "job": r.name, "status": r.status, "objects": r.objects, "labeled": r.counters.total_labeled,
        "human_labeled": r.counters.human_labeled, "machine_labeled": r.counters.machine_labeled,
        "failed": r.counters.failed_non_retryable_error, "unlabeled": r.counters.unlabeled,
        "answers": r.answers, "cost_usd": r.cost_usd, "cost_per_object_usd": d.cost_per_object_usd,
        "rate_per_hour": r.rate_per_hour, "throughput_per_hour": d.throughput_per_hour, "eta_s": r.eta_s,
        "open_leases": d.open_leases, "stoppable": d.stoppable, "panels": _panels(request, d),
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/jobs/{name}/workers")
def workers(name: str, request: Request, me: Me, ctx: Ctx,
            sort: Annotated[str, Query(max_length=20)] = "worker",
            fragment: Annotated[bool, Query()] = False):
    """The workers table, sorted on the server (a fragment for the job page, or a page of its own)."""
    desc = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in WORKER_SORTS:
        from labelloop.core.errors import ValidationError

        raise ValidationError(f"sort must be one of {', '.join(WORKER_SORTS)} (with - for descending)", field="sort")
    q = console.workers(ctx, me, name)
    present = [w for w in q.workers if getattr(w, key) is not None]
    missing = [w for w in q.workers if getattr(w, key) is None]  # no figure yet: last, whichever the order
    rows = sorted(present, key=lambda w: getattr(w, key), reverse=desc) + missing
    if fragment:
        return page(request, "console/_workers.html", me, q=q, rows=rows, sort=sort, job=q.job)
    return page(request, "console/workers.html", me, active="jobs", q=q, rows=rows, sort=sort, job=q.job)


@router.post("/jobs/{name}/stop")
async def stop(name: str, me: Writer, ctx: Ctx):
    await run_in_threadpool(jobs.stop_job, ctx, me, name)
    return RedirectResponse(f"/console/jobs/{name}", status_code=303)


@router.post("/jobs/{name}/workers/{worker}/block")
async def block(name: str, worker: str, me: Writer, ctx: Ctx,
                reason: Annotated[str, Form(max_length=1000)] = ""):
    await run_in_threadpool(quality.block_worker, ctx, me, name, worker, reason.strip() or None)
    return RedirectResponse(f"/console/jobs/{name}#workers", status_code=303)


@router.post("/jobs/{name}/workers/{worker}/unblock")
async def unblock(name: str, worker: str, me: Writer, ctx: Ctx):
    await run_in_threadpool(quality.unblock_worker, ctx, me, name, worker)
    return RedirectResponse(f"/console/jobs/{name}#workers", status_code=303)
