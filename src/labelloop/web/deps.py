"""Request dependencies: the context and the authenticated principal."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from labelloop.core.errors import LimitExceeded, Unauthorized
from labelloop.services.context import Context, Principal
from labelloop.services.users import cached_principal, check_password, principal_for_token

SESSION_COOKIE = "labelloop_session"


def context_of(request: Request) -> Context:
    return request.app.state.ctx


async def get_ctx(request: Request) -> Context:  # a dependency without I/O: async keeps it off the thread pool
    return context_of(request)


async def get_principal(request: Request) -> Principal:
    """Bearer token (API, CLI, SDK) or the portal's session cookie; CSRF is checked for cookie writes.
    A token seen in the last seconds is answered without I/O on the event loop; otherwise the database
    is read on the thread pool."""
    ctx = context_of(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token, kind = header[7:].strip(), None
    else:
        token, kind = request.cookies.get(SESSION_COOKIE), "session"
        if not token:
            raise Unauthorized("sign in first: send 'Authorization: Bearer <token>'")
    principal = cached_principal(ctx, token, kind=kind)
    if principal is None:
        principal = await run_in_threadpool(principal_for_token, ctx, token, kind=kind)
    if kind == "session" and request.method not in ("GET", "HEAD", "OPTIONS"):
        from labelloop.web.csrf import check_csrf

        check_csrf(request, token)
    return principal


def sign_in(request: Request, ctx: Context, username: str, password: str) -> Principal:
    """Check a password, for the API and the portal alike: after 5 failures in 5 minutes for one
    username from one address, refuse further tries (LimitExceeded) until the window passes."""
    limiter = request.app.state.login_limiter
    key = f"{username}|{request.client.host if request.client else ''}"
    now = ctx.clock()
    if limiter.blocked(key, now):
        raise LimitExceeded("too many failed sign-ins; wait a few minutes", field="username")
    try:
        principal = check_password(ctx, username, password)
    except Unauthorized:
        limiter.fail(key, now)
        raise
    limiter.reset(key)
    return principal
