"""Tags of the SageMaker API's resources (AddTags, ListTags, DeleteTags, and ``Tags`` of the Create calls),
kept by resource ARN. Whoever may manage a resource (``core.access``) tags it; an ARN of a resource this
principal may not manage, or of none, is ResourceNotFound."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from labelloop.core import arns
from labelloop.core.access import Principal
from labelloop.core.errors import Forbidden, LimitExceeded, NotFound, ValidationError
from labelloop.db.models import AwsTag
from labelloop.services.context import Context
from labelloop.services.sagemaker_common import Page, invalid, paginate, string

MAX_TAGS = 50


def validate_tags(tags: Any, path: str) -> list[tuple[str, str]]:
    """``[{Key, Value}]`` as the API constrains it (at most 50; key 1-128, value 0-256 characters)."""
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise invalid(path, tags, "Member must be a list")
    if len(tags) > MAX_TAGS:
        raise invalid(path, f"{len(tags)} tags", f"Member must have length less than or equal to {MAX_TAGS}")
    out: dict[str, str] = {}
    for i, tag in enumerate(tags):
        where = f"{path}.{i + 1}"
        if not isinstance(tag, dict):
            raise invalid(where, tag, "Member must be a structure")
        key = string(tag, "Key", f"{where}.Key", required=True, min_len=1, max_len=128)
        value = string(tag, "Value", f"{where}.Value", max_len=256) or ""
        if key is not None and key.lower().startswith("aws:"):
            raise ValidationError(f"{where}.Key: tag keys starting with 'aws:' are reserved", field=f"{where}.Key")
        out[str(key)] = value
    return list(out.items())


def put_tags(conn: Connection, arn: str, tags: list[tuple[str, str]]) -> None:
    """Add or replace ``tags`` of ``arn`` (in the caller's transaction); at most 50 in all."""
    for key, value in tags:
        changed = conn.execute(update(AwsTag).where(AwsTag.resource_arn == arn, AwsTag.key == key)
                               .values(value=value)).rowcount
        if not changed:
            conn.execute(insert(AwsTag).values(resource_arn=arn, key=key, value=value))
    count = len(conn.execute(select(AwsTag.id).where(AwsTag.resource_arn == arn)).all())
    if count > MAX_TAGS:
        raise LimitExceeded(f"a resource has at most {MAX_TAGS} tags; {arn} would have {count}")


def job_tags(conn: Connection, arn: str) -> list[tuple[str, str]]:
    rows = conn.execute(select(AwsTag.key, AwsTag.value).where(AwsTag.resource_arn == arn).order_by(AwsTag.id))
    return [(k, v) for k, v in rows]


def drop_tags(conn: Connection, arn: str) -> None:
    conn.execute(delete(AwsTag).where(AwsTag.resource_arn == arn))


def _resource(ctx: Context, principal: Principal, arn: Any, field: str) -> str:
    """The canonical ARN of a resource this principal may manage; ResourceNotFound otherwise."""
    from labelloop.services import jobs
    from labelloop.services.sagemaker_common import job_arn, team_arn, ui_arn
    from labelloop.services.sagemaker_teams import managed_team
    from labelloop.services.sagemaker_uis import owned_ui

    parsed = arns.parse_arn(arn, field, "sagemaker")
    kind = parsed.resource.split("/", 1)[0]
    gone = NotFound(f"no resource {arn} of yours", field=field)
    try:
        if kind == "labeling-job":
            name = arns.parse_labeling_job_arn(arn, field)
            return job_arn(ctx, jobs.describe_job(ctx, principal, name).name)
        if kind == "workteam":
            return team_arn(ctx, managed_team(ctx, principal, arns.parse_workteam_arn(arn, field)))
        if kind == "human-task-ui":
            return ui_arn(ctx, owned_ui(ctx, principal, arns.parse_human_task_ui_arn(arn, field).name))
    except (NotFound, Forbidden):
        raise gone from None
    raise ValidationError(f"{field}: labelloop tags labeling jobs, work teams and human task UIs; not {arn}",
                          field=field)


def add_tags(ctx: Context, principal: Principal, req: dict[str, Any]) -> list[tuple[str, str]]:
    arn = _resource(ctx, principal, string(req, "ResourceArn", "ResourceArn", required=True, max_len=256),
                    "ResourceArn")
    tags = validate_tags(req.get("Tags"), "Tags")
    if not tags:
        raise invalid("Tags", req.get("Tags"), "Member must have length greater than or equal to 1")
    ctx.write(lambda conn: put_tags(conn, arn, tags))
    return tags


def list_tags(ctx: Context, principal: Principal, req: dict[str, Any]) -> Page[tuple[str, str]]:
    arn = _resource(ctx, principal, string(req, "ResourceArn", "ResourceArn", required=True, max_len=256),
                    "ResourceArn")
    with ctx.engine.connect() as conn:
        tags = job_tags(conn, arn)
    return paginate(req, tags)


def delete_tags(ctx: Context, principal: Principal, req: dict[str, Any]) -> None:
    arn = _resource(ctx, principal, string(req, "ResourceArn", "ResourceArn", required=True, max_len=256),
                    "ResourceArn")
    keys = req.get("TagKeys")
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_TAGS or not all(isinstance(k, str) for k in keys):
        raise invalid("TagKeys", keys, f"Member must be a list of 1 to {MAX_TAGS} tag keys")
    ctx.write(lambda conn: conn.execute(delete(AwsTag).where(AwsTag.resource_arn == arn, AwsTag.key.in_(keys))))
