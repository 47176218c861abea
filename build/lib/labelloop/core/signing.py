"""Short-lived signed tokens (grant_read_access URLs): HMAC-SHA256 over a small JSON claim."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from labelloop.core.errors import NotFound


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, claim: dict[str, Any], expires_at: datetime) -> str:
    body = _b64(json.dumps({**claim, "exp": expires_at.timestamp()}, separators=(",", ":")).encode())
    mac = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def verify(secret: str, token: str, now: datetime) -> dict[str, Any]:
    """The claim of a valid, unexpired token; NotFound otherwise (a bad link looks like no link)."""
    try:
        body, mac = token.split(".", 1)
        good = hmac.compare_digest(_b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()), mac)
        claim: dict[str, Any] | None = json.loads(_unb64(body)) if good else None
    except (ValueError, TypeError):
        claim = None
    if not claim or claim.get("exp", 0) <= now.timestamp():
        raise NotFound("this data link is invalid or has expired")
    return claim
