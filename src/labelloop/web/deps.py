"""Request dependencies: the context and the authenticated principal."""

from __future__ import annotations

from fastapi import Request

from labelloop.core.errors import LimitExceeded, Unauthorized
from labelloop.services.context import Context, Principal
from labelloop.services.users import check_password, principal_for_token

SESSION_COOKIE = "labelloop_session"


def context_of(request: Request) -> Context:
    return request.app.state.ctx


async def get_ctx(request: Request) -> Context:  # a dependency without I/O: async keeps it off the thread pool
    return context_of(request)


def get_principal(request: Request) -> Principal:
    """Bearer token (API, CLI, SDK) or the portal's session cookie; CSRF is checked for cookie writes."""
    ctx = context_of(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return principal_for_token(ctx, header[7:].strip())
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        principal = principal_for_token(ctx, session, kind="session")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            from labelloop.web.csrf import check_csrf

            check_csrf(request, session)
        return principal
    raise Unauthorized("sign in first: send 'Authorization: Bearer <token>'")


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
