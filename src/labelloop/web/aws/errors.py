"""Errors of the SageMaker API as botocore parses them: ``{"__type": code, "message": ...}`` with HTTP 400 for
what the caller got wrong (as SageMaker answers), the code being the domain error's own (``core.errors``:
``ValidationException``, ``ResourceNotFound``, ``ResourceInUse``, ``ResourceLimitExceeded``, …) or the
signature's (``core.sigv4``)."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from labelloop.core import errors as e
from labelloop.core.sigv4 import SigV4Error

CONTENT_TYPE = "application/x-amz-json-1.1"


def aws_error(code: str, message: str, status: int, request_id: str) -> JSONResponse:
    return JSONResponse({"__type": code, "message": message}, status, media_type=CONTENT_TYPE,
                        headers={"x-amzn-RequestId": request_id})


def domain_error(exc: e.LabelloopError, request_id: str) -> JSONResponse:
    if isinstance(exc, SigV4Error):
        return aws_error(exc.json_code, exc.message, exc.json_status, request_id)
    status = 503 if isinstance(exc, e.Unavailable) else 400
    return aws_error(exc.code, exc.message, status, request_id)
