"""The worker portal: sign-in with a session cookie, the jobs a worker may take, the labeling page, history.
Pages are server-rendered; one small controller (static/portal.js) talks to the JSON API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from labelloop.core.errors import LimitExceeded, NotFound, Unauthorized
from labelloop.core.signing import verify
from labelloop.services import jobs, tasks, users
from labelloop.services.context import Context, Principal
from labelloop.services.templates import render_task
from labelloop.web import render
from labelloop.web.api import data_response
from labelloop.web.csrf import csrf_token
from labelloop.web.deps import SESSION_COOKIE, context_of, get_ctx, sign_in

HERE = Path(__file__).parent
SESSION_TTL_S = 12 * 3600
pages = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


def _session_user(request: Request) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return users.principal_for_token(context_of(request), token, kind="session")
    except Unauthorized:
        return None


def _page(request: Request, name: str, principal: Principal | None, status_code: int = 200, **context) -> HTMLResponse:
    session = request.cookies.get(SESSION_COOKIE, "")
    csrf = csrf_token(context_of(request).settings.secret_key, session) if session else ""
    return pages.TemplateResponse(request, name, {"me": principal, "csrf": csrf, **context}, status_code=status_code)


@router.get("/portal/login", response_class=HTMLResponse)
def login_form(request: Request, error: str | None = None):
    return _page(request, "login.html", None, error=error)


@router.post("/portal/login")
def login(request: Request, username: str = Form(...), password: str = Form(...), ctx: Context = Depends(get_ctx)):
    try:
        principal = sign_in(request, ctx, username, password)
    except LimitExceeded:
        return _page(request, "login.html", None, error="Too many failed sign-ins. Wait a few minutes.",
                     status_code=429)
    except Unauthorized:
        return _page(request, "login.html", None, error="Wrong username or password.", status_code=401)
    token = users.issue_token(ctx, principal, kind="session", ttl_s=SESSION_TTL_S)
    response = RedirectResponse("/portal", status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_TTL_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.post("/portal/logout")
def logout(request: Request, ctx: Context = Depends(get_ctx)):
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        users.revoke_token(ctx, token)
    response = RedirectResponse("/portal/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/portal", response_class=HTMLResponse)
def home(request: Request, ctx: Context = Depends(get_ctx)):
    me = _session_user(request)
    if me is None:
        return RedirectResponse("/portal/login", status_code=303)
    return _page(request, "jobs.html", me, jobs=[render.available_job(j) for j in tasks.available_jobs(ctx, me)],
                 history=render.history(tasks.worker_history(ctx, me)))


@router.get("/portal/jobs/{name}", response_class=HTMLResponse)
def work_page(name: str, request: Request, ctx: Context = Depends(get_ctx)):
    me = _session_user(request)
    if me is None:
        return RedirectResponse("/portal/login", status_code=303)
    job = render.job(jobs.describe_job(ctx, me, name))
    return _page(request, "work.html", me, job=job)


@router.get("/portal/tasks/{task_id}/render", response_class=HTMLResponse)
def task_html(task_id: int, request: Request, ctx: Context = Depends(get_ctx)):
    me = _session_user(request)
    if me is None:
        raise Unauthorized("sign in first")
    return HTMLResponse(render_task(ctx, me, task_id), headers={"Cache-Control": "no-store"})


@router.get("/data/{token}")
def signed_data(token: str, ctx: Context = Depends(get_ctx)):
    claim = verify(ctx.settings.secret_key, token, ctx.clock())
    if "u" not in claim:
        raise NotFound("this data link is invalid or has expired")
    return data_response(ctx, claim["u"])


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("/portal", status_code=303)
