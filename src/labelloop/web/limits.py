"""Request body limits, one table for every path: the hot worker calls (``web.hot``) and the FastAPI routes
(the ``BodyLimit`` middleware) read the same limits, so a request is refused with 413 on either path alike."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from labelloop.web.errors import error_body

MiB = 1 << 20
#: (path prefix, path suffix, the largest body accepted in bytes); the first match wins.
LIMITS: tuple[tuple[str, str, int], ...] = (
    ("/api/v1/worker/tasks/", "/submit", 16 * MiB),  # an answer, up to a segmentation mask's PNG
    ("/console/create", "", 1100 * MiB),  # the wizard's manifest upload (services.data_setup applies manifest_max_mb)
    ("", "", 4 * MiB),  # everything else: small JSON bodies and forms
)


def body_limit(path: str) -> int:
    for prefix, suffix, limit in LIMITS:
        if path.startswith(prefix) and path.endswith(suffix):
            return limit
    raise AssertionError("the last row of LIMITS matches every path")


def too_large(limit: int) -> JSONResponse:
    return JSONResponse(error_body("ValidationException", f"the request body is larger than {limit} bytes", "body"),
                        413)


class _TooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes its limit. An HTTPException, so FastAPI's body
    reading lets it through (it turns other errors into a 400) and ``web.errors`` renders it as 413."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit


class BodyLimit:
    """ASGI middleware: a body over its path's limit gets 413 (by ``Content-Length`` at once, else while read)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope.get("path", ""))
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await too_large(limit)(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> MutableMapping[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await too_large(limit)(scope, receive, send)


__all__ = ["LIMITS", "BodyLimit", "body_limit", "too_large"]
