"""The audit log (``/console/audit``): events newest first, filtered by job, worker, data object, kind and
time, paged by id (``before``), of the events the viewer may see (``services.audit_log``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Query, Request

from labelloop.core.errors import NotFound, ValidationError
from labelloop.services import audit_log
from labelloop.services.context import Context, Principal
from labelloop.web.console._shell import console_router, page, requester
from labelloop.web.deps import get_ctx

router = console_router()
Me = Annotated[Principal, Depends(requester)]
Ctx = Annotated[Context, Depends(get_ctx)]
Text = Annotated[str, Query(max_length=200)]


def _time(value: str, field: str) -> datetime | None:
    """A time of the filter form (``datetime-local``: ``2026-01-05T09:00``, read as UTC), or None."""
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.removesuffix("Z"))
    except ValueError:
        raise ValidationError(f"{field}: give a date and time like 2026-01-05T09:00 (UTC)", field=field) from None
    return at.replace(tzinfo=None)


def _int(value: str, field: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 12:
        raise ValidationError(f"{field}: give a whole number", field=field)
    return int(value)


@router.get("/audit")
def audit(request: Request, me: Me, ctx: Ctx, job: Text = "", worker: Text = "", object: Text = "",
          kind: Text = "", since: Text = "", until: Text = "", before: Text = ""):
    filters = {"job": job.strip(), "worker": worker.strip(), "object": object.strip(), "kind": kind.strip(),
               "since": since.strip(), "until": until.strip()}
    errors: dict[str, str] = {}
    listing = None
    try:
        listing = audit_log.audit_page(
            ctx, me, job=filters["job"] or None, worker=filters["worker"] or None,
            dataset_object_id=_int(filters["object"], "object"), kind=filters["kind"] or None,
            since=_time(filters["since"], "since"), until=_time(filters["until"], "until"),
            before_id=_int(before.strip(), "before"), limit=audit_log.PAGE)
    except ValidationError as exc:
        errors[exc.field or "form"] = exc.message.removeprefix(f"{exc.field}: ")
    except NotFound as exc:  # a job filter naming a job the viewer cannot see: at the job field
        errors["job"] = exc.message
    query = {k: v for k, v in filters.items() if v}
    older = None
    if listing is not None and listing.next_before_id is not None:
        older = "/console/audit?" + urlencode({**query, "before": listing.next_before_id})
    return page(request, "console/audit.html", me, status_code=400 if errors else 200, active="audit",
                listing=listing, f=filters, errors=errors, older=older, paged=bool(before.strip()),
                newest="/console/audit" + ("?" + urlencode(query) if query else ""), kinds=audit_log.KNOWN_KINDS)
