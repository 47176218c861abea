"""What the SageMaker API's services share: reading request members as the API model constrains them (errors
worded as SageMaker words them, naming the member), pagination tokens, sorting and the installation's ARNs.

A validation error reads ``1 validation error detected: Value '10' at
'humanTaskConfig.numberOfHumanWorkersPerDataObject' failed to satisfy constraint: Member must have value less
than or equal to 9`` (SageMaker's own wording, camelCase path) and its ``field`` is the PascalCase path.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from labelloop.core import arns
from labelloop.core.errors import ValidationError
from labelloop.services.context import Context

T = TypeVar("T")

MAX_RESULTS = 100
DEFAULT_MAX_RESULTS = 10
NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"


def _camel(path: str) -> str:
    return ".".join(p[:1].lower() + p[1:] for p in path.split("."))


def invalid(path: str, value: Any, constraint: str) -> ValidationError:
    shown = value if not isinstance(value, str) or len(value) <= 200 else value[:200] + "..."
    return ValidationError(f"1 validation error detected: Value '{shown}' at '{_camel(path)}' failed to satisfy "
                           f"constraint: {constraint}", field=path)


def member(d: dict[str, Any], key: str, path: str, *, required: bool = False) -> Any:
    value = d.get(key)
    if value is None and required:
        raise ValidationError(f"1 validation error detected: Value null at '{_camel(path)}' failed to satisfy "
                              "constraint: Member must not be null", field=path)
    return value


def _check_length(path: str, value: str | list[Any], min_len: int, max_len: int | None) -> None:
    """SageMaker's length constraints on a string or a list member."""
    if len(value) < min_len:
        raise invalid(path, value, f"Member must have length greater than or equal to {min_len}")
    if max_len is not None and len(value) > max_len:
        raise invalid(path, value, f"Member must have length less than or equal to {max_len}")


def string(d: dict[str, Any], key: str, path: str, *, required: bool = False, min_len: int = 0,
           max_len: int | None = None, pattern: str | None = None) -> str | None:
    value = member(d, key, path, required=required)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(path, value, "Member must be a string")
    _check_length(path, value, min_len, max_len)
    if "\x00" in value:
        raise invalid(path, value.replace("\x00", ""), "Member must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(path, value.encode("utf-8", "replace").decode(), "Member must be UTF-8 text") from None
    if pattern is not None and re.fullmatch(pattern.lstrip("^").rstrip("$"), value) is None:
        raise invalid(path, value, f"Member must satisfy regular expression pattern: {pattern}")
    return value


def integer(d: dict[str, Any], key: str, path: str, *, required: bool = False, lo: int | None = None,
            hi: int | None = None) -> int | None:
    value = member(d, key, path, required=required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(path, value, "Member must be an integer")
    if lo is not None and value < lo:
        raise invalid(path, value, f"Member must have value greater than or equal to {lo}")
    if hi is not None and value > hi:
        raise invalid(path, value, f"Member must have value less than or equal to {hi}")
    return value


def structure(d: dict[str, Any], key: str, path: str, *, required: bool = False) -> dict[str, Any] | None:
    value = member(d, key, path, required=required)
    if value is not None and not isinstance(value, dict):
        raise invalid(path, value, "Member must be a structure")
    return value


def listing(d: dict[str, Any], key: str, path: str, *, required: bool = False, min_len: int = 0,
            max_len: int | None = None) -> list[Any] | None:
    value = member(d, key, path, required=required)
    if value is None:
        return None
    if not isinstance(value, list):
        raise invalid(path, value, "Member must be a list")
    _check_length(path, value, min_len, max_len)
    return value


def choice(d: dict[str, Any], key: str, path: str, options: Sequence[str], default: str) -> str:
    value = member(d, key, path)
    if value is None:
        return default
    if value not in options:
        raise invalid(path, value, f"Member must satisfy enum value set: [{', '.join(options)}]")
    return str(value)


def timestamp(d: dict[str, Any], key: str, path: str) -> datetime | None:
    """A request timestamp (boto3 sends epoch seconds; ISO-8601 is accepted too) as naive UTC."""
    value = member(d, key, path)
    if value is None:
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
        if isinstance(value, str):
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at
    except (ValueError, OverflowError, OSError):
        pass
    raise invalid(path, value, "Member must be a timestamp (epoch seconds or ISO-8601)")


def epoch(at: datetime) -> float:
    """A naive UTC timestamp as the epoch seconds AWS answers with."""
    return at.replace(tzinfo=UTC).timestamp()


# --- pagination --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


def _fingerprint(request: dict[str, Any]) -> str:
    rest = {k: v for k, v in request.items() if k not in ("NextToken", "MaxResults")}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, default=str).encode()).hexdigest()[:16]


def paginate(request: dict[str, Any], items: list[T]) -> Page[T]:
    """A page of ``items`` (sorted and filtered already) for ``MaxResults`` (1-100, default 10) and
    ``NextToken``; a token is bound to the request's other members, so it cannot be replayed on another
    listing."""
    size = integer(request, "MaxResults", "MaxResults", lo=1, hi=MAX_RESULTS) or DEFAULT_MAX_RESULTS
    token = string(request, "NextToken", "NextToken", max_len=8192)
    start = 0
    if token:
        try:
            claim = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
            start = int(claim["o"])
            if claim["f"] != _fingerprint(request) or start < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise ValidationError("Invalid pagination token: it was not returned by this listing",
                                  field="NextToken") from None
    end = start + size
    following = None
    if end < len(items):
        following = base64.urlsafe_b64encode(json.dumps({"o": end, "f": _fingerprint(request)}).encode()).decode()
        following = following.rstrip("=")
    return Page(items[start:end], following)


def sort_items(items: list[T], request: dict[str, Any], keys: dict[str, Callable[[T], Any]], default: str) -> list[T]:
    by = choice(request, "SortBy", "SortBy", list(keys), default)
    order = choice(request, "SortOrder", "SortOrder", ["Ascending", "Descending"], "Ascending")
    return sorted(items, key=keys[by], reverse=order == "Descending")


def within(at: datetime, request: dict[str, Any], prefix: str) -> bool:
    """``<prefix>After`` < at < ``<prefix>Before`` when those members are given."""
    after = timestamp(request, f"{prefix}After", f"{prefix}After")
    before = timestamp(request, f"{prefix}Before", f"{prefix}Before")
    return (after is None or at > after) and (before is None or at < before)


# --- the installation's ARNs --------------------------------------------------------------------------


def job_arn(ctx: Context, name: str) -> str:
    return arns.labeling_job_arn(ctx.settings.aws_region, ctx.settings.aws_account_id, name)


def team_arn(ctx: Context, name: str) -> str:
    return arns.workteam_arn(ctx.settings.aws_region, ctx.settings.aws_account_id, name)


def ui_arn(ctx: Context, name: str) -> str:
    return arns.human_task_ui_arn(ctx.settings.aws_region, ctx.settings.aws_account_id, name)


def reference_code(name: str) -> str:
    """A job's ``JobReferenceCode``: opaque, stable, 32 hex digits (job names are unique ignoring case)."""
    return hashlib.sha256(f"labelloop-job:{name.lower()}".encode()).hexdigest()[:32]
