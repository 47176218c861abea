"""``/healthz``, ``/readyz`` and ``/metrics``: for load balancers and monitoring, outside the API's schema.

- ``GET /healthz``: the process is alive and serving (200 ``{"status": "ok"}``); it touches no database.
- ``GET /readyz``: the database answers and its schema is at this code's migration head (200
  ``{"status": "ready"}``), else 503 in the one error shape with the reason.
- ``GET /metrics``: Prometheus text (``labelloop.services.metrics``). Readable with ``Authorization: Bearer
  <metrics_token>`` when that setting is set; without it, only by clients on the loopback address.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labelloop.services import health, metrics
from labelloop.web.deps import client_address, context_of
from labelloop.web.errors import error_body

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    reason = await run_in_threadpool(health.not_ready, context_of(request))
    if reason is not None:
        return JSONResponse(error_body("ServiceUnavailable", reason), 503)
    return JSONResponse({"status": "ready"})


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@router.get("/metrics")
async def metrics_text(request: Request) -> Response:
    ctx = context_of(request)
    token = ctx.settings.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return JSONResponse(error_body("AccessDeniedException", "/metrics needs the metrics token"), 401,
                                headers={"WWW-Authenticate": "Bearer"})
    elif not _loopback(client_address(request)):
        return JSONResponse(error_body("AccessDeniedException", "/metrics answers only the loopback address "
                                       "unless metrics_token is set"), 403)
    body, content_type = await run_in_threadpool(metrics.render, ctx)
    return Response(body, media_type=content_type)


class Metrics:
    """ASGI middleware: each HTTP request's latency by method, route template and status. The hot paths name
    their template in ``scope["labelloop.route"]``; FastAPI's routes leave theirs in ``scope["route"]``."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.observe: dict[tuple[str, str, int], Callable[[float], None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = 500

        def sending(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("labelloop.route") or getattr(scope.get("route"), "path", None) or "unmatched"
            key = (scope["method"], route, status)
            if (observe := self.observe.get(key)) is None:  # the labelled child, looked up once per key
                observe = self.observe[key] = metrics.REQUESTS.labels(*key).observe
            observe(elapsed)


def install(app: FastAPI) -> None:
    app.include_router(router)
