"""Judge results: the grid (``/console/jobs/{name}/results``), one object with its history and a hand
correction (``/console/jobs/{name}/objects/{position}``), and the object's file (``.../data``) read
through the storage layer for the console's <img>."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import Depends, Path, Query, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from labelloop.services import console, corrections
from labelloop.services.context import Context, Principal
from labelloop.web.api import data_response
from labelloop.web.console._shell import console_router, page, requester, requester_write
from labelloop.web.deps import get_ctx

router = console_router()
Me = Annotated[Principal, Depends(requester)]
Writer = Annotated[Principal, Depends(requester_write)]
Ctx = Annotated[Context, Depends(get_ctx)]
Position = Annotated[int, Path(ge=0, le=2_000_000_000)]


def _query(f: console.ResultsFilter, **change: object) -> str:
    params: dict[str, object] = {"label": f.label, "below": f.below,
                                 "disagreement": "1" if f.disagreement else None, "worker": f.worker,
                                 "status": f.status, "sort": f.sort if f.sort != "position" else None}
    params.update(change)
    return urlencode({k: v for k, v in params.items() if v not in (None, "", False)})


@router.get("/jobs/{name}/results")
def results_page(name: str, request: Request, me: Me, ctx: Ctx,
                 label: Annotated[str | None, Query(max_length=256)] = None,
                 below: Annotated[float | None, Query(gt=0, le=1)] = None,
                 disagreement: Annotated[bool, Query()] = False,
                 worker: Annotated[str | None, Query(max_length=128)] = None,
                 status: Annotated[str | None, Query(max_length=16)] = None,
                 sort: Annotated[str, Query(max_length=16)] = "position",
                 page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1):
    filters = console.ResultsFilter(label=label or None, below=below, disagreement=disagreement,
                                    worker=worker or None, status=status or None, sort=sort or "position")
    grid = console.results(ctx, me, name, filters, page=page_no)
    previews = {r.dataset_object_id: console.preview_html(grid.task_type, r, _data_url(name, r.dataset_object_id))
                for r in grid.rows}
    return page(request, "console/results.html", me, active="jobs", grid=grid, previews=previews,
                low=console.LOW_CONFIDENCE, steps=console.CONFIDENCE_STEPS, sorts=console.SORTS, statuses=list(console.STATUS_FILTERS),
                query=lambda **kw: _query(filters, **kw))


@router.get("/jobs/{name}/objects/{position}")
def object_page(name: str, position: Position, request: Request, me: Me, ctx: Ctx,
                saved: Annotated[bool, Query()] = False):
    detail = console.object_detail(ctx, me, name, position)
    return page(request, "console/object.html", me, active="jobs", o=detail, saved=saved,
                preview=console.preview_html(detail.task_type, detail.row, _data_url(name, position)),
                low=console.LOW_CONFIDENCE)


def _data_url(job: str, position: int) -> str:
    """Where the browser reads an object's source-ref: the route below, through the storage layer."""
    return f"/console/jobs/{quote(job)}/objects/{position}/data"


@router.get("/jobs/{name}/objects/{position}/data")
def object_data(name: str, position: Position, me: Me, ctx: Ctx):
    return data_response(ctx, console.object_source_ref(ctx, me, name, position))


@router.post("/jobs/{name}/objects/{position}/label")
async def correct(name: str, position: Position, request: Request, me: Writer, ctx: Ctx):
    form = await request.form()
    chosen = [str(v) for v in form.getlist("label")]
    await run_in_threadpool(corrections.correct_label, ctx, me, name, position, chosen)
    return RedirectResponse(f"/console/jobs/{name}/objects/{position}?saved=1", status_code=303)
