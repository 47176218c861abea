"""Human task UIs of the SageMaker API (CreateHumanTaskUi, DescribeHumanTaskUi, ListHumanTaskUis,
DeleteHumanTaskUi): worker task templates stored under a name, which a job names by its HumanTaskUiArn.

A UI belongs to the requester who made it; admins see all. A job takes a copy of the template when it is
made, so deleting a UI changes no job.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from labelloop.core.access import Principal, may_create_jobs
from labelloop.core.errors import Forbidden, LimitExceeded, NotFound, ResourceInUse, ValidationError
from labelloop.core.signing import sign, verify
from labelloop.db.models import HumanTaskUi
from labelloop.render.liquid import check_template
from labelloop.services.context import Context
from labelloop.services.events import record
from labelloop.services.sagemaker_common import Page, paginate, sort_items, string, structure, ui_arn, within
from labelloop.services.sagemaker_tags import drop_tags, put_tags, validate_tags

UI_NAME = r"^[a-z0-9](-*[a-z0-9])*"
TEMPLATE_MAX_CHARS = 128_000


@dataclass(frozen=True, slots=True)
class HumanTaskUiView:
    name: str
    arn: str
    created_at: datetime
    template: str

    @property
    def content_sha256(self) -> str:
        return hashlib.sha256(self.template.encode()).hexdigest()


def _visible(principal: Principal) -> Any:
    return True if principal.is_admin else HumanTaskUi.owner_id == principal.id


def owned_ui(ctx: Context, principal: Principal, name: str) -> str:
    """The UI's name if this principal may see it; ResourceNotFound otherwise."""
    return describe(ctx, principal, name).name


def describe(ctx: Context, principal: Principal, name: str) -> HumanTaskUiView:
    with ctx.engine.connect() as conn:
        row = conn.execute(select(HumanTaskUi).where(HumanTaskUi.name == name.lower(), _visible(principal))).first()
    if row is None:
        raise NotFound(f"Could not find human task UI '{name}'", field="HumanTaskUiName")
    return HumanTaskUiView(row.name, ui_arn(ctx, row.name), row.created_at, row.template)


def template_for_job(ctx: Context, principal: Principal, name: str) -> str:
    """The template a job's ``HumanTaskUiArn`` names (a ValidationError naming that member if there is none)."""
    try:
        return describe(ctx, principal, name).template
    except NotFound:
        field = "HumanTaskConfig.UiConfig.HumanTaskUiArn"
        raise ValidationError(f"{field}: no human task UI '{name}' of yours (CreateHumanTaskUi)", field=field) from None


def _name(req: dict[str, Any]) -> str:
    return string(req, "HumanTaskUiName", "HumanTaskUiName", required=True, min_len=1, max_len=63,
                  pattern=UI_NAME) or ""


def create_human_task_ui(ctx: Context, principal: Principal, req: dict[str, Any]) -> str:
    if not may_create_jobs(principal):
        raise Forbidden("only requesters and admins make human task UIs")
    name = _name(req)
    ui = structure(req, "UiTemplate", "UiTemplate", required=True) or {}
    content = string(ui, "Content", "UiTemplate.Content", required=True, min_len=1, max_len=TEMPLATE_MAX_CHARS) or ""
    try:
        check_template(content, task_input={})
    except ValidationError as exc:
        raise ValidationError(f"UiTemplate.Content: {exc.message}", field="UiTemplate.Content") from None
    tags = validate_tags(req.get("Tags"), "Tags")
    arn = ui_arn(ctx, name)
    limit = ctx.settings.aws_max_human_task_uis

    def unit(conn: Connection) -> None:
        count = conn.execute(select(func.count()).select_from(HumanTaskUi)
                             .where(HumanTaskUi.owner_id == principal.id)).scalar_one()
        if count >= limit:
            raise LimitExceeded(f"you have {count} human task UIs; the limit is {limit} "
                                "(setting LABELLOOP_AWS_MAX_HUMAN_TASK_UIS)")
        try:
            conn.execute(insert(HumanTaskUi).values(name=name, owner_id=principal.id, template=content,
                                                    created_at=ctx.clock()))
        except IntegrityError:
            raise ResourceInUse(f"Human task UI '{name}' already exists", field="HumanTaskUiName") from None
        put_tags(conn, arn, tags)
        record(conn, "human_task_ui.created", at=ctx.clock(), actor=principal.username, name=name)

    ctx.write(unit)
    return arn


def describe_human_task_ui(ctx: Context, principal: Principal, req: dict[str, Any]) -> HumanTaskUiView:
    return describe(ctx, principal, _name(req))


def list_human_task_uis(ctx: Context, principal: Principal, req: dict[str, Any]) -> Page[HumanTaskUiView]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(HumanTaskUi).where(_visible(principal))).all()
    found = [HumanTaskUiView(r.name, ui_arn(ctx, r.name), r.created_at, r.template) for r in rows
             if within(r.created_at, req, "CreationTime")]
    return paginate(req, sort_items(found, {**req, "SortBy": "CreationTime"},
                                    {"CreationTime": lambda u: (u.created_at, u.name)}, "CreationTime"))


def delete_human_task_ui(ctx: Context, principal: Principal, req: dict[str, Any]) -> None:
    name = describe(ctx, principal, _name(req)).name

    def unit(conn: Connection) -> None:
        conn.execute(delete(HumanTaskUi).where(HumanTaskUi.name == name))
        drop_tags(conn, ui_arn(ctx, name))
        record(conn, "human_task_ui.deleted", at=ctx.clock(), actor=principal.username, name=name)

    ctx.write(unit)


def template_link(ctx: Context, name: str) -> str:
    """A token for DescribeHumanTaskUi's ``UiTemplate.Url`` (as Ground Truth's presigned URL: anyone holding it
    reads the template, for ``data_url_ttl_s`` seconds)."""
    expires = ctx.clock() + timedelta(seconds=ctx.settings.data_url_ttl_s)
    return sign(ctx.secret_key, {"k": "ui", "n": name}, expires)


def template_by_link(ctx: Context, token: str) -> str:
    """The template a ``template_link`` token names; NotFound for a bad, expired or deleted one."""
    claim = verify(ctx.secret_key, token, ctx.clock())
    name = claim.get("n")
    if claim.get("k") != "ui" or not isinstance(name, str):
        raise NotFound("this template link is invalid or has expired")
    with ctx.engine.connect() as conn:
        template = conn.execute(select(HumanTaskUi.template).where(HumanTaskUi.name == name)).scalar()
    if template is None:
        raise NotFound("this template link is invalid or has expired")
    return str(template)
