"""The one place where domain errors become HTTP responses."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from labelloop.core import errors as e
from labelloop.core.storage_policy import Refused

STATUS = {
    e.ManifestError: 400,
    e.ValidationError: 400,
    e.NotFound: 404,
    e.ResourceInUse: 409,
    e.Conflict: 409,
    e.LimitExceeded: 429,
    e.Unauthorized: 401,
    e.Forbidden: 403,
    e.Unavailable: 502,
}


def status_for(exc: e.LabelloopError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_body(code: str, message: str, field: str | None = None, details: list | None = None) -> dict:
    body: dict = {"error": code, "message": message}
    if field:
        body["field"] = field
    if details:
        body["details"] = details
    return body


def domain_error_response(exc: e.LabelloopError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, e.Unauthorized) else None
    return JSONResponse(error_body(exc.code, exc.message, exc.field, exc.details), status_for(exc), headers=headers)


def request_error_response(errs: Sequence[Mapping]) -> JSONResponse:
    """A request that does not parse (pydantic's errors): 400 naming the first field that is wrong."""
    first = errs[0] if errs else {"loc": (), "msg": "invalid request"}
    field = None if first.get("type") == "json_invalid" else (_field(first["loc"]) or None)  # the body itself
    details = [{"field": _field(x["loc"]), "reason": x["msg"]} for x in errs]
    return JSONResponse(error_body("ValidationException", f"{field or 'body'}: {first['msg']}", field, details), 400)


def _field(loc) -> str:
    """``('body', 'answer')`` -> ``answer``; ``('path', 'task_id')`` -> ``task_id``: the field, not where it was."""
    parts = list(loc)
    if parts and parts[0] in ("body", "path", "query", "header", "cookie"):
        parts = parts[1:]
    return ".".join(str(p) for p in parts)


@contextmanager
def storage_errors(what: str = "data object") -> Iterator[None]:
    """Reading storage on a request: a refused URI is 403, a missing object 404, an unreachable store or
    host 502, each in the one error shape (the URI itself is not shown to the worker)."""
    try:
        yield
    except Refused:
        raise e.Forbidden(f"the storage access policy does not allow this {what}") from None
    except FileNotFoundError:
        raise e.NotFound(f"the {what} does not exist") from None
    except OSError as exc:
        raise e.Unavailable(f"the {what} cannot be read now: {type(exc).__name__}") from None


def install(app: FastAPI) -> None:
    @app.exception_handler(e.LabelloopError)
    async def _domain(_request: Request, exc: e.LabelloopError):
        return domain_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _request(_request: Request, exc: RequestValidationError):
        return request_error_response(exc.errors())

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        """Starlette's own errors (no such route 404, method 405, body over its limit 413) in the one shape."""
        code = HTTP_CODES.get(exc.status_code, "ValidationException")
        return JSONResponse(error_body(code, str(exc.detail), "body" if exc.status_code == 413 else None),
                            exc.status_code, headers=getattr(exc, "headers", None))


HTTP_CODES = {404: "ResourceNotFound", 405: "MethodNotAllowed", 413: "ValidationException"}
