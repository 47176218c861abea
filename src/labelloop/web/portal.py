"""The worker portal: sign-in with a session cookie, the jobs a worker may take, the labeling page, history.
Pages are server-rendered; one small controller (static/portal.js) talks to the JSON API."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from labelloop.core.errors import Forbidden, LimitExceeded, NotFound, Unauthorized, ValidationError
from labelloop.services import jobs, tasks, users
from labelloop.services.context import Context, Principal
from labelloop.services.templates import frame_sources, render_task, resolve_data_link
from labelloop.web import render
from labelloop.web.api import TaskId, data_response
from labelloop.web.csrf import csrf_token
from labelloop.web.deps import SESSION_COOKIE, context_of, get_ctx, sign_in
from labelloop.web.headers import FRAME_SANDBOX, frame_csp

HERE = Path(__file__).parent
SESSION_TTL_S = 12 * 3600
pages = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


def session_principal(request: Request) -> Principal | None:
    """The signed-in user of the browser session (the portal's and the console's cookie), or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return users.principal_for_token(context_of(request), token, kind="session")
    except Unauthorized:
        return None


def _page(request: Request, name: str, principal: Principal | None, status_code: int = 200, **context) -> HTMLResponse:
    session = request.cookies.get(SESSION_COOKIE, "")
    csrf = csrf_token(context_of(request).secret_key, session) if session else ""
    return pages.TemplateResponse(request, name, {"me": principal, "csrf": csrf, **context}, status_code=status_code)


# The sign-in form's CSRF token: a random pre-session cookie, and a hidden field derived from it with the
# secret key. A page of another site cannot read the cookie, so it cannot make a form that signs a browser in.
LOGIN_COOKIE = "labelloop_login"


def _login_page(request: Request, status_code: int = 200, error: str | None = None,
                username: str = "", next_url: str = "") -> HTMLResponse:
    given = request.cookies.get(LOGIN_COOKIE)
    fresh = not given
    nonce = given or secrets.token_urlsafe(24)
    response = _page(request, "login.html", None, status_code=status_code, error=error,
                     username=username[:200], next_url=_safe_next(next_url), login_csrf=csrf_token(context_of(request).secret_key, "login:" + nonce))
    if fresh:
        response.set_cookie(LOGIN_COOKIE, nonce, max_age=3600, httponly=True, samesite="strict",
                            path="/portal/login", secure=request.url.scheme == "https")
    return response


def _login_csrf_ok(request: Request, given: str) -> bool:
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce:
        return False
    return hmac.compare_digest(csrf_token(context_of(request).secret_key, "login:" + nonce), given)


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of the portal or the console only (never another site)."""
    if not target or len(target) > 2000 or "\\" in target or target.startswith("//"):
        return ""
    return target if target.split("?")[0].rstrip("/") in ("/portal", "/console") or target.startswith(
        ("/portal/", "/console/")) else ""


@router.get("/portal/login", response_class=HTMLResponse)
def login_form(request: Request, error: str | None = None, next: str = ""):
    return _login_page(request, error=error, next_url=next)


@router.post("/portal/login")
def login(request: Request, username: str = Form(...), password: str = Form(...), csrf: str = Form(""),
          next: str = Form(""), ctx: Context = Depends(get_ctx)):
    if not _login_csrf_ok(request, csrf):
        return _login_page(request, 403, "The sign-in form expired. Sign in again.", next_url=next)
    try:
        principal = sign_in(request, ctx, username, password)
    except LimitExceeded:
        return _login_page(request, 429, "Too many failed sign-ins. Wait a few minutes.", username, next)
    except Unauthorized:
        return _login_page(request, 401, "Wrong username or password.", username, next)
    token = users.issue_token(ctx, principal, kind="session", ttl_s=SESSION_TTL_S)
    # requesters and admins land on the console (its nav links the worker portal); workers on the portal
    landing = _safe_next(next) or ("/console" if principal.can_request else "/portal")
    response = RedirectResponse(landing, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_TTL_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.post("/portal/logout")
def logout(request: Request, csrf: str = Form(""), ctx: Context = Depends(get_ctx)):
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        given = csrf or request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(csrf_token(ctx.secret_key, token), given):
            raise Forbidden("sign out from the portal's own page: missing or wrong CSRF token")
        users.revoke_token(ctx, token)
    response = RedirectResponse("/portal/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/portal", response_class=HTMLResponse)
def home(request: Request, ctx: Context = Depends(get_ctx)):
    me = session_principal(request)
    if me is None:
        return RedirectResponse("/portal/login", status_code=303)
    return _page(request, "jobs.html", me, jobs=[render.available_job(j) for j in tasks.available_jobs(ctx, me)],
                 history=render.history(tasks.worker_history(ctx, me)))


@router.get("/portal/jobs/{name}", response_class=HTMLResponse)
def work_page(name: str, request: Request, ctx: Context = Depends(get_ctx)):
    me = session_principal(request)
    if me is None:
        return RedirectResponse("/portal/login", status_code=303)
    job = jobs.job_brief(ctx, me, name)  # a member's view: no URIs, label configuration or hooks
    return _page(request, "work.html", me, job=job, frame_sandbox=FRAME_SANDBOX)


@router.get("/portal/tasks/{task_id}/render", response_class=HTMLResponse)
def task_html(task_id: TaskId, request: Request, ctx: Context = Depends(get_ctx)):
    """The task frame: the task's template as a whole page, for the portal's sandboxed <iframe>. Its own
    policy sandboxes it (an opaque origin) even when it is opened without the portal."""
    me = session_principal(request)
    if me is None:
        raise Unauthorized("sign in first")
    status, body, error = 200, "", None
    try:
        body = render_task(ctx, me, task_id)
    except (NotFound, ValidationError) as exc:
        status, error = (404 if isinstance(exc, NotFound) else 400), exc.message
    origin = f"{request.url.scheme}://{request.url.netloc}"
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": frame_csp(origin, frame_sources(ctx)),
               "X-Frame-Options": "SAMEORIGIN"}
    return pages.TemplateResponse(request, "frame.html", {"task_html": body, "error": error}, status_code=status,
                                  headers=headers)


@router.get("/data/{token}")
def signed_data(token: str, ctx: Context = Depends(get_ctx)):
    """A grant_read_access link: the URI comes from the task the link names, while its lease is open."""
    return data_response(ctx, resolve_data_link(ctx, token))


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("/portal", status_code=303)
