"""What every console page shares: who may see it, how a page is rendered, how a form proves it came from
the console (CSRF), and how a domain error becomes an HTML page.

- ``ConsoleRoute``: the route class of every console router (``console_router()`` makes one). A domain
  error on a page becomes ``console/error.html`` with the error's status (a 404 page, a 403 page); on a
  JSON route (path under ``/console/api/``) it stays the one JSON error shape. A request without a
  session is sent to the sign-in page.
- ``requester``: the dependency of every console route: the signed-in requester or admin. A worker gets
  a 403 page with a link to the worker portal; nobody signed in is redirected to ``/portal/login``.
- ``requester_write``: the same for POST: also checks the CSRF token (hidden ``csrf`` field or the
  ``X-CSRF-Token`` header, as the portal does).
- ``page(request, name, me, **context)``: a console template with ``me``, ``csrf``, ``nav`` and ``active``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from labelloop.core.errors import Forbidden, LabelloopError, Unauthorized
from labelloop.services.context import Principal
from labelloop.web.csrf import csrf_token
from labelloop.web.deps import SESSION_COOKIE, context_of
from labelloop.web.errors import domain_error_response, status_for
from labelloop.web.portal import session_principal

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
pages = Jinja2Templates(directory=TEMPLATES)


def money(x: float) -> str:
    """US dollars with 2 decimals, or up to 4 for sub-cent figures: $0.90, $0.15, $0.0125."""
    text = f"{x:,.4f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


pages.env.filters["money"] = money

# The console's navigation: (key, label, href, admins only). A page passes its key as ``active``.
NAV: list[tuple[str, str, str, bool]] = [
    ("jobs", "Jobs", "/console", False),
    ("create", "Create job", "/console/create", False),
    ("workforce", "Workforce", "/console/workforce", False),
    ("audit", "Audit", "/console/audit", False),
    ("admin", "Admin", "/console/admin", True),
]


class SignInFirst(Unauthorized):
    """No session on a console page: the route class redirects to the sign-in page."""


class ConsoleRoute(APIRoute):
    """Domain errors on console pages as HTML pages (JSON under /console/api/), sign-in as a redirect."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LabelloopError as exc:
                return error_response(request, exc)

        return route


def console_router() -> APIRouter:
    """A router for console pages: ``include_in_schema=False`` and the console's route class."""
    return APIRouter(include_in_schema=False, route_class=ConsoleRoute)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/console/api/")


def error_response(request: Request, exc: LabelloopError) -> Response:
    if isinstance(exc, SignInFirst) and request.method == "GET" and not is_api(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/portal/login?next={quote(target, safe='')}", status_code=303)
    if is_api(request):
        return domain_error_response(exc)
    status = status_for(exc)
    me = getattr(request.state, "console_user", None)
    return page(request, "console/error.html", me, status_code=status, error=exc, status=status,
                active=None)


def requester(request: Request) -> Principal:
    """The signed-in requester or admin of a console request (a plain def: FastAPI runs it on the thread
    pool, as the token is read from the database)."""
    me = session_principal(request)
    if me is None:
        raise SignInFirst("sign in first")
    request.state.console_user = me
    if not me.can_request:
        raise Forbidden("The console is for requesters and admins. Your tasks are in the worker portal.")
    return me


async def requester_write(request: Request) -> Principal:
    """A console POST: the signed-in requester or admin, and a CSRF token that matches the session."""
    from starlette.concurrency import run_in_threadpool

    me = await run_in_threadpool(requester, request)
    token = request.cookies.get(SESSION_COOKIE, "")
    given = request.headers.get("x-csrf-token", "")
    if not given and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        given = str((await request.form()).get("csrf", ""))
    if not hmac.compare_digest(csrf_token(context_of(request).secret_key, token), given):
        raise Forbidden("send the form from the console's own page: missing or wrong CSRF token")
    return me


def page(request: Request, name: str, me: Principal | None, *, status_code: int = 200,
         active: str | None = None, **context: Any) -> HTMLResponse:
    session = request.cookies.get(SESSION_COOKIE, "")
    csrf = csrf_token(context_of(request).secret_key, session) if session else ""
    nav = [(key, label, href) for key, label, href, admin in NAV if me is not None and (me.is_admin or not admin)]
    return pages.TemplateResponse(request, name, {"me": me, "csrf": csrf, "nav": nav, "active": active, **context},
                                  status_code=status_code, headers={"Cache-Control": "no-store"})
