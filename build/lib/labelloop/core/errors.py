"""Domain errors. Each is a type; the web layer maps them to HTTP in one module."""

from __future__ import annotations

from typing import Any


class LabelloopError(Exception):
    """Base of every error a user can cause or see."""

    code = "LabelloopError"

    def __init__(self, message: str, *, field: str | None = None, details: list[Any] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or []


class ValidationError(LabelloopError):
    """Bad input: names the field (or manifest line) and the reason."""

    code = "ValidationException"


class ManifestError(ValidationError):
    """An input manifest with bad lines; ``details`` lists ``{"line": n, "reason": "..."}``."""


class NotFound(LabelloopError):
    code = "ResourceNotFound"


class ResourceInUse(LabelloopError):
    code = "ResourceInUse"


class LimitExceeded(LabelloopError):
    code = "ResourceLimitExceeded"


class Conflict(LabelloopError):
    """The request is valid but the state does not allow it (late answer, stopped job)."""

    code = "ConflictException"


class Unauthorized(LabelloopError):
    code = "UnauthorizedException"


class Forbidden(LabelloopError):
    code = "AccessDeniedException"


class Unavailable(LabelloopError):
    """Something the server depends on (a data object's store, a host) failed or did not answer: HTTP 502."""

    code = "ServiceUnavailable"
