"""The worker's two hot calls, answered before FastAPI's routing.

``POST /api/v1/worker/tasks/{id}/submit`` and ``POST /api/v1/worker/jobs/{name}/next-task`` are what every
worker sends for every task. FastAPI's route matching, dependency solving and body validation cost about
0.2 ms of CPU per request, as much as the work itself, so this ASGI layer matches these two paths and
serves them with the same pieces the routes use: the principal from ``deps.get_principal`` (bearer token or
session cookie with CSRF), the body parsed by the same pydantic model, the same service functions
(``api.next_task_response`` / ``api.submit_response``) and the same error bodies (``web.errors``).
Everything else passes through untouched. See ``docs/decisions/0005-hot-path-and-group-commit.md``.
"""

from __future__ import annotations

import re

from pydantic import ValidationError as BodyError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from labelloop.core.errors import LabelloopError
from labelloop.web.api import next_task_response, submit_response
from labelloop.web.deps import context_of, get_principal
from labelloop.web.errors import domain_error_response, request_error_response
from labelloop.web.limits import body_limit, too_large
from labelloop.web.schemas import AnswerSubmit

PREFIX = "/api/v1/worker/"
# what follows PREFIX in the two hot routes (tests check these match the routes FastAPI declares)
SUBMIT = re.compile(r"tasks/([0-9]{1,18})/submit")
NEXT = re.compile(r"jobs/([^/]+)/next-task")
# their route templates, for the request metrics (as FastAPI's routes declare them)
SUBMIT_ROUTE = "/api/v1/worker/tasks/{task_id}/submit"
NEXT_ROUTE = "/api/v1/worker/jobs/{name}/next-task"


class HotPaths:
    """ASGI middleware: serve the two hot worker calls, pass everything else on."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and scope["method"] == "POST" and path.startswith(PREFIX):
            rest = path[len(PREFIX):]
            if (m := SUBMIT.fullmatch(rest)) is not None:
                scope["labelloop.route"] = SUBMIT_ROUTE
                response = await _answer(Request(scope, receive), task_id=int(m.group(1)))
                return await response(scope, receive, send)
            if (m := NEXT.fullmatch(rest)) is not None:
                scope["labelloop.route"] = NEXT_ROUTE
                response = await _answer(Request(scope, receive), job=m.group(1))
                return await response(scope, receive, send)
        await self.app(scope, receive, send)


async def _answer(request: Request, *, task_id: int | None = None, job: str | None = None) -> Response:
    try:
        principal = await get_principal(request)
        ctx = context_of(request)
        if job is not None:
            return await next_task_response(ctx, principal, job)
        limit = body_limit(request.url.path)
        body = await _body(request, limit)
        if body is None:
            return too_large(limit)
        try:
            parsed = AnswerSubmit.model_validate_json(body)
        except BodyError as exc:
            return request_error_response(exc.errors())
        return await submit_response(ctx, principal, task_id, parsed)
    except LabelloopError as exc:
        return domain_error_response(exc)


async def _body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than ``limit``."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)

