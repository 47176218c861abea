"""The OpenAPI description, made true: each route declares its success body (the models of
``web.schemas``) and every error status it can send, all with the one error body (``schemas.Error``);
FastAPI's default 422 and its validation-error schemas are removed, since a request that does not parse
gets 400 (``web.errors.request_error_response``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from labelloop.web.schemas import Error

WHEN = {
    400: "A request field is wrong (the body names it in `field`).",
    401: "No token, or an unknown, revoked or expired one; a wrong password.",
    403: "The caller's role or ownership does not allow this.",
    404: "No such resource, or one the caller may not see.",
    409: "The name is taken, or the task or job is no longer in a state that allows this.",
    413: "The request body is larger than this route's limit.",
    429: "Too many failed sign-ins for this username or address; wait for the window to pass.",
    502: "The data object could not be read from its storage.",
}


def documented(model: type[BaseModel] | None, *errors: int, status: int = 200, auth: bool = True,
               extra: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Keyword arguments for a route decorator: the success body's model and the error statuses (400 and,
    with ``auth``, 401 always). The routes keep returning render's dicts (no response validation on the
    way out); ``tests/api/test_schemathesis.py`` checks they match."""
    responses: dict[int | str, dict[str, Any]] = {}
    if model is not None:
        responses[status] = {"model": model, "description": "Success"}
    elif status == 204:
        responses[204] = {"description": "Done; no body."}
    for code in sorted({400, *errors, *((401,) if auth else ())}):
        responses[code] = {"model": Error, "description": WHEN[code]}
    for code, spec in (extra or {}).items():
        responses[code] = spec
    return {"response_model": None, "responses": responses}


def install(app: FastAPI) -> None:
    """Serve the description without FastAPI's 422 responses and validation-error schemas."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path in schema.get("paths", {}).values():
            for op in path.values():
                responses = op.get("responses", {})
                responses.pop("422", None)
                ok = [c for c in responses if c.startswith("2")]
                if len(ok) > 1 and "200" in responses and "content" in responses["200"] and \
                        responses["200"]["content"].get("application/json", {}).get("schema") == {}:
                    responses.pop("200")  # FastAPI's empty default beside the declared success status
        components = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
