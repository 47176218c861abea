"""CSRF for cookie sessions: a token derived from the session, sent back in the X-CSRF-Token header."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from labelloop.core.errors import Forbidden


def csrf_token(secret: str, session: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + session.encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, session: str) -> None:
    expected = csrf_token(request.app.state.ctx.secret_key, session)
    given = request.headers.get("x-csrf-token", "")
    if not hmac.compare_digest(expected, given):
        raise Forbidden("missing or wrong X-CSRF-Token header")
