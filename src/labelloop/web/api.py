"""The JSON API under /api/v1. Handlers parse, authorize (via the principal), call one service, return."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from labelloop.core.errors import Forbidden
from labelloop.services import events, jobs, tasks, users
from labelloop.services.context import Context, Principal
from labelloop.services.jobs import JobSpec
from labelloop.web import render
from labelloop.web.deps import get_ctx, get_principal, sign_in
from labelloop.web.schemas import AnswerSubmit, MembersAdd, TeamCreate, TokenRequest, UserCreate

router = APIRouter(prefix="/api/v1")
Ctx = Depends(get_ctx)
Me = Depends(get_principal)


@router.post("/auth/token", tags=["auth"])
def create_token(body: TokenRequest, request: Request, ctx: Context = Ctx):
    principal = sign_in(request, ctx, body.username, body.password)
    return {"token": users.issue_token(ctx, principal), "username": principal.username, "role": principal.role}


@router.get("/me", tags=["auth"])
def me(principal: Principal = Me):
    return {"id": principal.id, "username": principal.username, "role": principal.role}


@router.post("/users", status_code=201, tags=["users"])
def create_user(body: UserCreate, ctx: Context = Ctx, principal: Principal = Me):
    if not principal.is_admin:
        raise Forbidden("only admins create users")
    user = users.create_user(ctx, body.username, body.password, body.role, actor=principal.username)
    return {"id": user.id, "username": user.username, "role": user.role}


@router.post("/teams", status_code=201, tags=["teams"])
def create_team(body: TeamCreate, ctx: Context = Ctx, principal: Principal = Me):
    return render.team(users.create_team(ctx, principal, body.name, body.description))


@router.get("/teams", tags=["teams"])
def list_teams(ctx: Context = Ctx, principal: Principal = Me):
    return {"teams": [render.team(t) for t in users.list_teams(ctx, principal)]}


@router.post("/teams/{name}/members", tags=["teams"])
def add_members(name: str, body: MembersAdd, ctx: Context = Ctx, principal: Principal = Me):
    return render.team(users.add_members(ctx, principal, name, body.usernames))


@router.post("/jobs", status_code=201, tags=["jobs"])
def create_job(body: JobSpec, ctx: Context = Ctx, principal: Principal = Me):
    return render.job(jobs.create_job(ctx, principal, body))


@router.get("/jobs", tags=["jobs"])
def list_jobs(status: str | None = None, ctx: Context = Ctx, principal: Principal = Me):
    return {"jobs": [render.job(j) for j in jobs.list_jobs(ctx, principal, status=status)]}


@router.get("/jobs/{name}", tags=["jobs"])
def describe_job(name: str, ctx: Context = Ctx, principal: Principal = Me):
    return render.job(jobs.describe_job(ctx, principal, name))


@router.post("/jobs/{name}/stop", tags=["jobs"])
def stop_job(name: str, ctx: Context = Ctx, principal: Principal = Me):
    return render.job(jobs.stop_job(ctx, principal, name))


@router.get("/events", tags=["audit"])
def list_events(
    job: str | None = None, worker: str | None = None, object: int | None = None, kind: str | None = None,
    after_id: int = 0, limit: int = 100, ctx: Context = Ctx, principal: Principal = Me,
):
    found = events.list_events(ctx, principal, job=job, worker=worker, dataset_object_id=object, kind=kind,
                               after_id=after_id, limit=limit)
    return {"events": [render.event(e) for e in found]}


@router.get("/worker/jobs", tags=["worker"])
def worker_jobs(ctx: Context = Ctx, principal: Principal = Me):
    return {"jobs": [render.available_job(j) for j in tasks.available_jobs(ctx, principal)]}


# The worker's two hot calls are answered by labelloop.web.hot before FastAPI's routing, with these same
# functions; the routes below declare them (OpenAPI) and serve them if that layer is not installed.
# They are async: their writes go to the writer thread's next batch (group commit, labelloop.db.writer),
# not to a request thread each. The rendered views are plain JSON types, so JSONResponse needs no encoder pass.
async def next_task_response(ctx: Context, principal: Principal, name: str) -> Response:
    task = await ctx.write_async(tasks.claim_next_task(ctx, principal, name))
    return Response(status_code=204) if task is None else JSONResponse(render.task(task))


async def submit_response(ctx: Context, principal: Principal, task_id: int, body: AnswerSubmit) -> Response:
    unit = tasks.submit_annotation(ctx, principal, task_id, body.answer, lease_next=body.next)
    return JSONResponse(render.submitted(await ctx.write_async(unit)))


@router.post("/worker/jobs/{name}/next-task", tags=["worker"], responses={204: {"description": "no task left"}})
async def next_task(name: str, ctx: Context = Ctx, principal: Principal = Me):
    return await next_task_response(ctx, principal, name)


@router.get("/worker/tasks/{task_id}", tags=["worker"])
def get_task(task_id: int, ctx: Context = Ctx, principal: Principal = Me):
    return render.task(tasks.get_task(ctx, principal, task_id))


@router.post("/worker/tasks/{task_id}/submit", tags=["worker"])
async def submit(task_id: int, body: AnswerSubmit, ctx: Context = Ctx, principal: Principal = Me):
    return await submit_response(ctx, principal, task_id, body)


@router.post("/worker/tasks/{task_id}/release", tags=["worker"])
async def release(task_id: int, ctx: Context = Ctx, principal: Principal = Me):
    return JSONResponse(render.released(await ctx.write_async(tasks.release_task(ctx, principal, task_id))))


@router.get("/worker/tasks/{task_id}/data", tags=["worker"])
def task_data(task_id: int, ctx: Context = Ctx, principal: Principal = Me):
    uri = tasks.task_data_uri(ctx, principal, task_id)
    return data_response(ctx, uri)


def data_response(ctx: Context, uri: str) -> Response:
    if ctx.storage.is_local(uri):
        return FileResponse(ctx.storage.local_path(uri), headers={"Cache-Control": "private, max-age=300"})

    def chunks():
        with ctx.storage.open_read(uri) as f:
            while block := f.read(1 << 16):
                yield block

    media = mimetypes.guess_type(uri)[0] or "application/octet-stream"
    return StreamingResponse(chunks(), media_type=media, headers={"Cache-Control": "private, max-age=300"})


@router.get("/worker/history", tags=["worker"])
def history(ctx: Context = Ctx, principal: Principal = Me):
    return render.history(tasks.worker_history(ctx, principal))
