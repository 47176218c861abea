"""The route of the SageMaker API: ``POST /aws/sagemaker`` (and ``/aws/sagemaker/``, where boto3 posts).

Each request is verified (SigV4 against the access keys labelloop issued, ``services.keys``) before its
target is looked at; the principal is the key's user, so every service applies the one authorization
policy (``core.access``) to it. The body must be a JSON object; an unknown target is
``UnknownOperationException``. Every answer carries ``x-amzn-RequestId``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from labelloop.core.errors import LabelloopError, ValidationError
from labelloop.services.keys import authenticate
from labelloop.services.sagemaker_uis import template_by_link
from labelloop.web.aws.errors import CONTENT_TYPE, aws_error, domain_error
from labelloop.web.aws.operations import OPERATIONS
from labelloop.web.deps import context_of

PATH = "/aws/sagemaker"
SERVICE = "sagemaker"
TARGET_PREFIX = "SageMaker."
log = logging.getLogger(__name__)


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1") if raw else quote(request.scope.get("path", "/"))


def _members(body: bytes) -> dict:
    try:
        doc = json.loads(body) if body.strip() else {}
    except ValueError:
        raise ValidationError("the request body is not JSON", field="body") from None
    if not isinstance(doc, dict):
        raise ValidationError("the request body must be a JSON object", field="body")
    return doc


async def sagemaker(request: Request) -> Response:
    ctx = context_of(request)
    request_id = str(uuid.uuid4())
    body = await request.body()
    try:
        principal, _identity = await run_in_threadpool(
            authenticate, ctx, request.method, _raw_path(request), request.scope.get("query_string", b"").decode(
                "latin-1"), dict(request.headers.items()), hashlib.sha256(body).hexdigest(), service=SERVICE)
        target = request.headers.get("x-amz-target", "")
        operation = OPERATIONS.get(target[len(TARGET_PREFIX):]) if target.startswith(TARGET_PREFIX) else None
        if operation is None:
            return aws_error("UnknownOperationException", f"labelloop does not answer the operation '{target}' "
                             f"(it answers {', '.join(OPERATIONS)})", 400, request_id)
        base = str(request.base_url).rstrip("/") + PATH
        result = await run_in_threadpool(operation, ctx, principal, _members(body), base)
    except LabelloopError as exc:
        return domain_error(exc, request_id)
    except Exception:
        log.exception("SageMaker API request %s failed", request_id)
        return aws_error("InternalFailure", "the request failed on the server; see its log", 500, request_id)
    return JSONResponse(result, media_type=CONTENT_TYPE, headers={"x-amzn-RequestId": request_id})


async def template(request: Request) -> Response:
    """DescribeHumanTaskUi's ``UiTemplate.Url``: the template, for whoever holds a fresh link."""
    ctx = context_of(request)
    try:
        text = await run_in_threadpool(template_by_link, ctx, request.path_params["token"])
    except LabelloopError as exc:
        return domain_error(exc, str(uuid.uuid4()))
    return PlainTextResponse(text, media_type="text/html; charset=utf-8")


def install(app: FastAPI) -> None:
    """Mount the SageMaker API at ``PATH`` (outside the v1 OpenAPI schema)."""
    for path in (PATH, PATH + "/"):
        app.add_api_route(path, sagemaker, methods=["POST"], include_in_schema=False)
    app.add_api_route(PATH + "/human-task-ui-templates/{token}", template, methods=["GET"], include_in_schema=False)
