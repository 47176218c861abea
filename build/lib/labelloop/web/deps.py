"""Request dependencies: the context and the authenticated principal."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from labelloop.core.errors import Unauthorized, ValidationError
from labelloop.services import signin
from labelloop.services.context import Context, Principal
from labelloop.services.users import cached_principal, check_password, check_sign_in_input, principal_for_token

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


def client_address(request: Request) -> str:
    """The client's address: the peer's, unless the peer is one of ``settings.trusted_proxies``; then the
    right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy."""
    peer = request.client.host if request.client else ""
    trusted = _trusted_networks(tuple(context_of(request).settings.trusted_proxies))
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


@lru_cache(maxsize=8)
def _trusted_networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def _is_trusted(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def sign_in(request: Request, ctx: Context, username: str, password: str) -> Principal:
    """Check a password, for the API and the portal alike. Each attempt is counted (in the database, shared
    by every process) per username and per client address before the password is checked; beyond
    ``sign_in_failures_per_account`` / ``_per_address`` within ``sign_in_window_s`` it gets LimitExceeded
    (429) without a check. Overlong or NUL-bearing input is refused (400) before anything else."""
    check_sign_in_input(username, password)
    attempt = signin.begin(ctx, username, client_address(request))
    principal = check_password(ctx, username, password)  # Unauthorized leaves the attempt counted
    signin.succeeded(ctx, username, attempt)
    return principal


def _unstorable(value: str) -> bool:
    """NUL (PostgreSQL refuses it in text) or a lone surrogate (not UTF-8 at all)."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _safe(name: str) -> str:
    """A field name fit for the error body (itself UTF-8 JSON)."""
    return name.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


async def reject_nul(request: Request) -> None:
    """NUL characters or lone surrogates in a path or query parameter or anywhere in a JSON body: 400
    naming the field (no database can store them as text, and no name, URI or text of ours needs one)."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and _unstorable(value):
            raise ValidationError(f"{name} must not contain NUL characters", field=name)
    for name, value in request.query_params.multi_items():
        if _unstorable(value) or _unstorable(name):
            raise ValidationError(f"{_safe(name)} must not contain NUL characters", field=_safe(name))
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        body = await request.body()  # read once: FastAPI parses the same cached bytes
        if b"\\u0000" in body or b"\x00" in body or b"\\ud" in body.lower():
            field = _nul_field(body)
            if field is not None:
                raise ValidationError(f"{field or 'body'} must not contain NUL characters or lone surrogates",
                                      field=field or "body")


def _nul_field(body: bytes) -> str | None:
    """The dotted path of the first string with a NUL in a JSON body ('' for the body itself)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return "" if b"\x00" in body else None

    def walk(value: object, path: str) -> str | None:
        if isinstance(value, str):
            return path if _unstorable(value) else None
        if isinstance(value, dict):
            for k, v in value.items():
                where = f"{path}.{k}" if path else str(k)
                if _unstorable(k):
                    return _safe(where)
                if (found := walk(v, where)) is not None:
                    return found
        if isinstance(value, list):
            for i, v in enumerate(value):
                if (found := walk(v, f"{path}[{i}]")) is not None:
                    return found
        return None

    return walk(doc, "")
