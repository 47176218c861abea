"""The workforce (``/console/workforce``): work teams, their members (add, remove), sign-up links that expire
(make, revoke) and each worker's history (``/console/workforce/workers/{username}``); and the public sign-up
page a link opens (``/invite/{token}``, ``invite_router``), which makes a worker account on the team and
signs it in.

A form's error comes back on the same page at its field (``errors`` keyed ``<form>.<field>``), status 400."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from labelloop.core.errors import LabelloopError, NotFound
from labelloop.services import invites, users, workforce
from labelloop.services.context import Context, Principal
from labelloop.web.console._shell import console_router, page, requester, requester_write
from labelloop.web.csrf import csrf_token
from labelloop.web.deps import SESSION_COOKIE, context_of, get_ctx
from labelloop.web.portal import SESSION_TTL_S, pages

router = console_router()
invite_router = APIRouter(include_in_schema=False)
Me = Annotated[Principal, Depends(requester)]
Writer = Annotated[Principal, Depends(requester_write)]
Ctx = Annotated[Context, Depends(get_ctx)]
TTL_CHOICES = ((86400, "1 day"), (3 * 86400, "3 days"), (7 * 86400, "7 days"), (14 * 86400, "14 days"),
               (30 * 86400, "30 days"))


def _page(request: Request, ctx: Context, me: Principal, *, status_code: int = 200,
          errors: dict[str, str] | None = None, notice: str | None = None, new_link: Any = None,
          values: dict[str, str] | None = None) -> HTMLResponse:
    teams = workforce.team_summaries(ctx, me)
    links = {t.name: invites.list_invites(ctx, me, t.name)[:20] for t in teams if t.manageable}
    origin = f"{request.url.scheme}://{request.url.netloc}"
    return page(request, "console/workforce.html", me, status_code=status_code, active="workforce", teams=teams,
                links=links, errors=errors or {}, notice=notice, new_link=new_link, origin=origin,
                ttl_choices=TTL_CHOICES, values=values or {})


def _fail(request: Request, ctx: Context, me: Principal, form: str, exc: LabelloopError,
          values: dict[str, str] | None = None) -> HTMLResponse:
    key = f"{form}.{exc.field or 'form'}"
    return _page(request, ctx, me, status_code=404 if isinstance(exc, NotFound) and exc.field is None else 400,
                 errors={key: exc.message}, values=values)


@router.get("/workforce")
def workforce_page(request: Request, me: Me, ctx: Ctx, done: str | None = None):
    return _page(request, ctx, me, notice=done[:200] if done else None)


def _done(message: str) -> RedirectResponse:
    from urllib.parse import quote

    return RedirectResponse(f"/console/workforce?done={quote(message)}", status_code=303)


@router.post("/workforce/teams")
async def create_team(request: Request, me: Writer, ctx: Ctx, name: Annotated[str, Form(max_length=200)] = "",
                      description: Annotated[str, Form(max_length=400)] = ""):
    try:
        await run_in_threadpool(users.create_team, ctx, me, name.strip(), description.strip())
    except LabelloopError as exc:
        return await run_in_threadpool(_fail, request, ctx, me, "team", exc,
                                       {"team.name": name, "team.description": description})
    return _done(f"Work team {name.strip()} created.")


@router.post("/workforce/teams/{team}/members")
async def add_member(team: str, request: Request, me: Writer, ctx: Ctx,
                     username: Annotated[str, Form(max_length=200)] = ""):
    names = [u for u in username.replace(",", " ").split() if u]
    try:
        if not names:
            from labelloop.core.errors import ValidationError

            raise ValidationError("give the username of a worker who has an account (or invite them)",
                                  field="username")
        await run_in_threadpool(users.add_members, ctx, me, team, names)
    except LabelloopError as exc:
        return await run_in_threadpool(_fail, request, ctx, me, f"add-{team}", exc, {f"add-{team}.username": username})
    return _done(f"Added {', '.join(names)} to {team}.")


@router.post("/workforce/teams/{team}/members/{username}/remove")
async def remove_member(team: str, username: str, request: Request, me: Writer, ctx: Ctx):
    try:
        await run_in_threadpool(users.remove_member, ctx, me, team, username)
    except LabelloopError as exc:
        return await run_in_threadpool(_fail, request, ctx, me, f"add-{team}", exc)
    return _done(f"Removed {username} from {team}: their open tasks run out as usual; they take no new ones.")


@router.post("/workforce/teams/{team}/invites")
async def create_invite(team: str, request: Request, me: Writer, ctx: Ctx,
                        ttl_s: Annotated[int, Form()] = invites.DEFAULT_TTL_S,
                        note: Annotated[str, Form(max_length=400)] = ""):
    try:
        link = await run_in_threadpool(lambda: invites.create_invite(ctx, me, team, ttl_s=ttl_s, note=note))
    except LabelloopError as exc:
        return await run_in_threadpool(_fail, request, ctx, me, f"invite-{team}", exc,
                                       {f"invite-{team}.note": note})
    return await run_in_threadpool(lambda: _page(request, ctx, me, new_link=link, status_code=201))


@router.post("/workforce/invites/{invite_id}/revoke")
async def revoke_invite(invite_id: int, request: Request, me: Writer, ctx: Ctx):
    try:
        await run_in_threadpool(invites.revoke_invite, ctx, me, invite_id)
    except LabelloopError as exc:
        return await run_in_threadpool(_fail, request, ctx, me, "invites", exc)
    return _done("The sign-up link is revoked: it signs nobody up now.")


@router.get("/workforce/workers/{username}")
def worker_page(username: str, request: Request, me: Me, ctx: Ctx):
    history = workforce.worker_history(ctx, me, username)
    return page(request, "console/workforce_worker.html", me, active="workforce", h=history)


# --- the public sign-up page of a link --------------------------------------------------------------

INVITE_COOKIE = "labelloop_invite"


def _invite_page(request: Request, token: str, info: Any, *, status_code: int = 200,
                 errors: dict[str, str] | None = None, username: str = "") -> HTMLResponse:
    """The sign-up form. Its CSRF token is derived from a random pre-session cookie, as the sign-in form's
    is: another site cannot sign a visitor into an account it made with its own link."""
    nonce = request.cookies.get(INVITE_COOKIE) or secrets.token_urlsafe(24)
    form_csrf = csrf_token(context_of(request).secret_key, "invite:" + nonce)
    response = pages.TemplateResponse(
        request, "console/invite.html", {"me": None, "csrf": "", "info": info, "token": token,
                                         "errors": errors or {}, "username": username[:128], "form_csrf": form_csrf},
        status_code=status_code, headers={"Cache-Control": "no-store"})
    if not request.cookies.get(INVITE_COOKIE):
        response.set_cookie(INVITE_COOKIE, nonce, max_age=3600, httponly=True, samesite="strict", path="/invite",
                            secure=request.url.scheme == "https")
    return response


def _invite_csrf_ok(request: Request, given: str) -> bool:
    nonce = request.cookies.get(INVITE_COOKIE)
    return bool(nonce) and hmac.compare_digest(
        csrf_token(context_of(request).secret_key, "invite:" + str(nonce)), given)


@invite_router.get("/invite/{token}", response_class=HTMLResponse)
def invite_form(token: str, request: Request, ctx: Ctx):
    try:
        info = invites.invite_info(ctx, token)
    except NotFound as exc:
        return _invite_page(request, "", None, status_code=404, errors={"token": exc.message})
    return _invite_page(request, token, info)


@invite_router.post("/invite/{token}", response_class=HTMLResponse)
def accept(token: str, request: Request, ctx: Ctx, username: Annotated[str, Form(max_length=200)] = "",
           password: Annotated[str, Form(max_length=2000)] = "", password2: Annotated[str, Form(max_length=2000)] = "",
           csrf: Annotated[str, Form(max_length=200)] = ""):
    """Make the account and sign it in."""
    try:
        info = invites.invite_info(ctx, token)
    except NotFound as exc:
        return _invite_page(request, "", None, status_code=404, errors={"token": exc.message})
    if not _invite_csrf_ok(request, csrf):
        return _invite_page(request, token, info, status_code=403, username=username,
                            errors={"form": "The sign-up form expired. Send it again."})
    if password != password2:
        return _invite_page(request, token, info, status_code=400, username=username,
                            errors={"password2": "the two passwords differ"})
    try:
        worker = invites.accept_invite(ctx, token, username.strip(), password)
    except NotFound as exc:
        return _invite_page(request, "", None, status_code=404, errors={"token": exc.message})
    except LabelloopError as exc:
        return _invite_page(request, token, info, status_code=400, username=username,
                            errors={exc.field or "username": exc.message})
    session = users.issue_token(ctx, worker, kind="session", ttl_s=SESSION_TTL_S)
    response = RedirectResponse("/portal", status_code=303)
    response.set_cookie(SESSION_COOKIE, session, max_age=SESSION_TTL_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response
