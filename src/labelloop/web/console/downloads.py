"""Downloads (``/console/jobs/{name}/downloads``): the output manifest, the exports and the answers CSV,
read through the storage layer and streamed to the browser, whatever the storage (local or S3)."""

from __future__ import annotations

import itertools
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import StreamingResponse

from labelloop.services import console, export
from labelloop.services.context import Context, Principal
from labelloop.web.console._shell import console_router, page, requester
from labelloop.web.deps import get_ctx
from labelloop.web.errors import storage_errors

router = console_router()
Me = Annotated[Principal, Depends(requester)]
Ctx = Annotated[Context, Depends(get_ctx)]


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}


@router.get("/jobs/{name}/downloads")
def downloads_page(name: str, request: Request, me: Me, ctx: Ctx):
    return page(request, "console/downloads.html", me, active="jobs", d=console.downloads(ctx, me, name))


@router.get("/jobs/{name}/downloads/output.manifest")
def output_manifest(name: str, me: Me, ctx: Ctx):
    _uri, chunks = console.output_manifest(ctx, me, name)
    with storage_errors("output manifest"):  # missing: 404 before the response starts
        first = next(chunks, b"")
    return StreamingResponse(itertools.chain([first], chunks), media_type="application/x-ndjson",
                             headers=_attachment(f"{name}-output.manifest"))


@router.get("/jobs/{name}/downloads/answers.csv")
def answers_csv(name: str, me: Me, ctx: Ctx):
    filename, chunks = console.answers_csv(ctx, me, name)
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers=_attachment(filename))


@router.get("/jobs/{name}/downloads/export")
def export_file(name: str, me: Me, ctx: Ctx, format: Annotated[str, Query(max_length=16)] = "jsonl"):
    console.check_managed(ctx, me, name)  # another requester's job: 404, as on every console page
    exp = export.export_job(ctx, me, name, format)
    return StreamingResponse(exp.chunks(), media_type=exp.format.media_type, headers=_attachment(exp.filename))
