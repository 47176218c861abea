"""The JSON API under /api/v1. Handlers parse, authorize (via the principal), call one service, return."""

from __future__ import annotations

import itertools
import mimetypes
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from labelloop.core.errors import Forbidden
from labelloop.services import events, export, jobs, metrics, quality, tasks, users
from labelloop.services.context import Context, Principal
from labelloop.services.jobs import JobSpec
from labelloop.web import render
from labelloop.web.deps import get_ctx, get_principal, reject_nul, sign_in
from labelloop.web.errors import storage_errors
from labelloop.web.headers import DATA_CSP
from labelloop.web.openapi import documented
from labelloop.web.schemas import (
    AnswerSubmit,
    AvailableJobList,
    BlockOut,
    BlockRequest,
    CredentialList,
    EventList,
    HistoryOut,
    JobList,
    JobOut,
    MembersAdd,
    NewCredential,
    QualityOut,
    ReleasedOut,
    SubmittedOut,
    TaskOut,
    TeamCreate,
    TeamList,
    TeamOut,
    TokenCreate,
    TokenOut,
    TokenRequest,
    UserCreate,
    UserOut,
)

router = APIRouter(prefix="/api/v1", dependencies=[Depends(reject_nul)])
Ctx = Depends(get_ctx)
Me = Depends(get_principal)
MAX_ID = 2**63 - 1  # ids and positions are 64-bit: larger values are a 400 naming the parameter, not a 500
TaskId = Annotated[int, Path(ge=0, le=MAX_ID, description="The task's id.")]
Ids = Annotated[int, Query(ge=0, le=MAX_ID)]


@router.post("/auth/token", tags=["auth"], **documented(TokenOut, 400, 401, 413, 429, auth=False))
def create_token(body: TokenRequest, request: Request, ctx: Context = Ctx):
    principal = sign_in(request, ctx, body.username, body.password)
    return {"token": users.issue_token(ctx, principal), "username": principal.username, "role": principal.role}


@router.get("/me", tags=["auth"], **documented(UserOut))
def me(principal: Principal = Me):
    return {"id": principal.id, "username": principal.username, "role": principal.role}


@router.get("/tokens", tags=["auth"], **documented(CredentialList, 400, 403, 404))
def list_tokens(user: Annotated[str | None, Query(description="Admins: another user's credentials.")] = None,
                ctx: Context = Ctx, principal: Principal = Me):
    return {"credentials": [render.credential(c) for c in users.list_credentials(ctx, principal, user=user)]}


@router.post("/tokens", status_code=201, tags=["auth"], **documented(NewCredential, 400, 413, status=201))
def create_api_token(body: TokenCreate, ctx: Context = Ctx, principal: Principal = Me):
    token = users.issue_token(ctx, principal, name=body.name)
    made = users.list_credentials(ctx, principal)[-1]
    return {**render.credential(made), "token": token}


@router.delete("/tokens/{credential_id}", status_code=204, tags=["auth"],
               **documented(None, 400, 404, status=204))
def revoke_api_token(credential_id: Annotated[int, Path(ge=0, le=MAX_ID)], ctx: Context = Ctx,
                     principal: Principal = Me):
    users.revoke_credential(ctx, principal, credential_id)
    return Response(status_code=204)


@router.post("/users", status_code=201, tags=["users"], **documented(UserOut, 400, 403, 409, 413, status=201))
def create_user(body: UserCreate, ctx: Context = Ctx, principal: Principal = Me):
    if not principal.is_admin:
        raise Forbidden("only admins create users")
    user = users.create_user(ctx, body.username, body.password, body.role, actor=principal.username)
    return {"id": user.id, "username": user.username, "role": user.role}


@router.post("/teams", status_code=201, tags=["teams"], **documented(TeamOut, 400, 403, 404, 409, 413, status=201))
def create_team(body: TeamCreate, ctx: Context = Ctx, principal: Principal = Me):
    return render.team(users.create_team(ctx, principal, body.name, body.description, owner=body.owner))


@router.get("/teams", tags=["teams"], **documented(TeamList))
def list_teams(ctx: Context = Ctx, principal: Principal = Me):
    return {"teams": [render.team(t) for t in users.list_teams(ctx, principal)]}


@router.post("/teams/{name}/members", tags=["teams"], **documented(TeamOut, 400, 403, 404, 413))
def add_members(name: str, body: MembersAdd, ctx: Context = Ctx, principal: Principal = Me):
    return render.team(users.add_members(ctx, principal, name, body.usernames))


@router.delete("/teams/{name}/members/{username}", tags=["teams"], **documented(TeamOut, 400, 403, 404))
def remove_member(name: str, username: str, ctx: Context = Ctx, principal: Principal = Me):
    return render.team(users.remove_member(ctx, principal, name, username))


@router.post("/jobs", status_code=201, tags=["jobs"], **documented(JobOut, 400, 403, 404, 409, 413, status=201))
def create_job(body: JobSpec, ctx: Context = Ctx, principal: Principal = Me):
    return render.job(jobs.create_job(ctx, principal, body))


@router.get("/jobs", tags=["jobs"], **documented(JobList, 400))
def list_jobs(status: str | None = None, ctx: Context = Ctx, principal: Principal = Me):
    return {"jobs": [render.job(j) for j in jobs.list_jobs(ctx, principal, status=status)]}


@router.get("/jobs/{name}", tags=["jobs"], **documented(JobOut, 400, 403, 404))
def describe_job(name: str, ctx: Context = Ctx, principal: Principal = Me):
    return render.job(jobs.describe_job(ctx, principal, name))


@router.post("/jobs/{name}/stop", tags=["jobs"], **documented(JobOut, 400, 403, 404, 409))
def stop_job(name: str, ctx: Context = Ctx, principal: Principal = Me):
    return render.job(jobs.stop_job(ctx, principal, name))


@router.get("/jobs/{name}/export", tags=["jobs"], **documented(None, 400, 403, 404, extra={200: {
    "description": "the job's consolidated labels, streamed (spacy, yolo, yolo-seg, yolo-pose, voc, masks: a tar of "
                   "their files)",
    "content": {"application/x-ndjson": {"schema": {}}, "text/plain": {"schema": {}}, "application/json": {"schema": {}},
                "application/x-tar": {"schema": {}}}}}))
def export_job(name: str, format: Annotated[str, Query(max_length=16, description="spacy, conll, jsonl, coco, yolo, "
                                                        "yolo-seg, yolo-pose, voc or masks (those the job's task "
                                                        "type has).")],
               lang: Annotated[str, Query(max_length=16, description="spaCy blank tokenizer language.")] = "xx",
               ctx: Context = Ctx, principal: Principal = Me):
    exp = export.export_job(ctx, principal, name, format, lang=lang)
    return StreamingResponse(exp.chunks(), media_type=exp.format.media_type,
                             headers={"Content-Disposition": f'attachment; filename="{exp.filename}"'})


@router.get("/jobs/{name}/quality", tags=["quality"], **documented(QualityOut, 400, 403, 404))
def job_quality(name: str, ctx: Context = Ctx, principal: Principal = Me):
    return render.quality(quality.job_quality(ctx, principal, name))


@router.post("/jobs/{name}/workers/{username}/block", tags=["quality"], **documented(BlockOut, 400, 403, 404, 413))
def block_worker(name: str, username: str, body: BlockRequest | None = None, ctx: Context = Ctx,
                 principal: Principal = Me):
    reason = body.reason if body is not None else None
    return render.block(quality.block_worker(ctx, principal, name, username, reason))


@router.post("/jobs/{name}/workers/{username}/unblock", tags=["quality"], **documented(BlockOut, 400, 403, 404))
def unblock_worker(name: str, username: str, ctx: Context = Ctx, principal: Principal = Me):
    return render.block(quality.unblock_worker(ctx, principal, name, username))


@router.get("/events", tags=["audit"], **documented(EventList, 400, 404))
def list_events(
    job: str | None = None, worker: str | None = None, object: Ids | None = None, kind: str | None = None,
    after_id: Ids = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100, ctx: Context = Ctx,
    principal: Principal = Me,
):
    found = events.list_events(ctx, principal, job=job, worker=worker, dataset_object_id=object, kind=kind,
                               after_id=after_id, limit=limit)
    return {"events": [render.event(e) for e in found]}


@router.get("/worker/jobs", tags=["worker"], **documented(AvailableJobList))
def worker_jobs(ctx: Context = Ctx, principal: Principal = Me):
    return {"jobs": [render.available_job(j) for j in tasks.available_jobs(ctx, principal)]}


# The worker's two hot calls are answered by labelloop.web.hot before FastAPI's routing, with these same
# functions; the routes below declare them (OpenAPI) and serve them if that layer is not installed.
# They are async: their writes go to the writer thread's next batch (group commit, labelloop.db.writer),
# not to a request thread each. The rendered views are plain JSON types, so JSONResponse needs no encoder pass.
async def next_task_response(ctx: Context, principal: Principal, name: str) -> Response:
    task = await ctx.write_async(tasks.claim_next_task(ctx, principal, name))
    if task is None:
        return Response(status_code=204)
    metrics.LEASES.inc()
    return JSONResponse(render.task(task))


async def submit_response(ctx: Context, principal: Principal, task_id: int, body: AnswerSubmit) -> Response:
    unit = tasks.submit_annotation(ctx, principal, task_id, body.answer, lease_next=body.next)
    view = await ctx.write_async(unit)
    metrics.ANSWERS.inc()
    if view.leased_next and view.next_task is not None:
        metrics.LEASES.inc()
    return JSONResponse(render.submitted(view))


@router.post("/worker/jobs/{name}/next-task", tags=["worker"],
             **documented(TaskOut, 400, 403, 404, extra={204: {"description": "no task left for this worker"}}))
async def next_task(name: str, ctx: Context = Ctx, principal: Principal = Me):
    return await next_task_response(ctx, principal, name)


@router.get("/worker/tasks/{task_id}", tags=["worker"], **documented(TaskOut, 400, 404))
def get_task(task_id: TaskId, ctx: Context = Ctx, principal: Principal = Me):
    return render.task(tasks.get_task(ctx, principal, task_id))


@router.post("/worker/tasks/{task_id}/submit", tags=["worker"], **documented(SubmittedOut, 400, 403, 404, 409, 413))
async def submit(task_id: TaskId, body: AnswerSubmit, ctx: Context = Ctx, principal: Principal = Me):
    return await submit_response(ctx, principal, task_id, body)


@router.post("/worker/tasks/{task_id}/release", tags=["worker"], **documented(ReleasedOut, 400, 404, 409))
async def release(task_id: TaskId, ctx: Context = Ctx, principal: Principal = Me):
    return JSONResponse(render.released(await ctx.write_async(tasks.release_task(ctx, principal, task_id))))


@router.get("/worker/tasks/{task_id}/data", tags=["worker"], **documented(
    None, 400, 404, 502, extra={200: {"description": "the data object's bytes",
                                      "content": {"application/octet-stream": {"schema": {}}}}}))
def task_data(task_id: TaskId, ctx: Context = Ctx, principal: Principal = Me):
    uri = tasks.task_data_uri(ctx, principal, task_id)
    return data_response(ctx, uri)


# Data objects are shown inline only when a browser cannot run them: raster images, audio, video, plain text.
# Anything else (SVG, HTML, XML, JS, PDF...) is an attachment; every one is sandboxed and never sniffed.
INLINE_MEDIA = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp", "text/plain"}


def data_headers(media: str) -> dict[str, str]:
    """The headers of a served data object of type ``media`` (see docs/security.md)."""
    inline = media in INLINE_MEDIA or media.startswith(("audio/", "video/"))
    return {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": DATA_CSP, "Content-Disposition": "inline" if inline else "attachment"}


def data_response(ctx: Context, uri: str) -> Response:
    media = mimetypes.guess_type(uri)[0] or "application/octet-stream"
    with storage_errors():  # refused 403, missing 404, unreachable 502: opened before the response starts
        if ctx.storage.is_local(uri):
            return FileResponse(ctx.storage.local_path(uri), media_type=media, headers=data_headers(media))
        chunks = ctx.storage.iter_chunks(uri)
        first = next(chunks, b"")
    return StreamingResponse(itertools.chain([first], chunks), media_type=media, headers=data_headers(media))


@router.get("/worker/history", tags=["worker"], **documented(HistoryOut))
def history(ctx: Context = Ctx, principal: Principal = Me):
    return render.history(tasks.worker_history(ctx, principal))
