"""The SageMaker API's work teams (CreateWorkteam, DescribeWorkteam, ListWorkteams, UpdateWorkteam,
DeleteWorkteam), mapped onto labelloop's work teams (``services.users``).

A ``WorkteamArn`` names a labelloop team. ``MemberDefinitions`` name groups (a Cognito ``UserGroup``, the
``Groups`` of an OIDC definition); a group is a labelloop work team, and the new team's members are the
members of its groups: set when the team is made and again whenever UpdateWorkteam gives MemberDefinitions
(members of no group are then taken off). A team made another way describes itself as its own group.
The groups named must be teams this principal may use (``core.access.may_use_team``), as its members are
shown only to them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from labelloop.core.access import Principal, may_manage_team, may_see_team
from labelloop.core.errors import Forbidden, LabelloopError, LimitExceeded, NotFound, ResourceInUse, ValidationError
from labelloop.db.models import AwsWorkteam, Job, Team, TeamMember
from labelloop.services import users
from labelloop.services.access import is_member_sql
from labelloop.services.context import Context
from labelloop.services.events import record
from labelloop.services.sagemaker_common import (
    NAME,
    Page,
    invalid,
    listing,
    paginate,
    sort_items,
    string,
    structure,
    team_arn,
)
from labelloop.services.sagemaker_tags import drop_tags, put_tags, validate_tags
from labelloop.services.views import TeamView


@dataclass(frozen=True, slots=True)
class WorkteamView:
    team: TeamView
    arn: str
    member_definitions: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    notification_topic_arn: str | None


def _row(conn: Connection, principal: Principal, name: str) -> Any:
    row = conn.execute(select(Team.id, Team.name, Team.owner_id, Team.created_at,
                              is_member_sql(Team.id, principal.id).label("member"))
                       .where(Team.name_key == name.lower())).first()
    if row is None or not may_see_team(principal, row.owner_id, row.member):
        raise NotFound(f"Workteam '{name}' does not exist", field="WorkteamName")
    return row


def visible_team(ctx: Context, principal: Principal, name: str) -> TeamView:
    """The team, if this principal may see it (``core.access.may_see_team``); ResourceNotFound otherwise."""
    with ctx.engine.connect() as conn:
        row = _row(conn, principal, name)
    return next(t for t in users.list_teams(ctx, principal) if t.id == row.id)


def managed_team(ctx: Context, principal: Principal, name: str) -> str:
    """The team's name, if this principal may change it; ResourceNotFound or AccessDenied otherwise."""
    with ctx.engine.connect() as conn:
        row = _row(conn, principal, name)
    if not may_manage_team(principal, row.owner_id):
        raise Forbidden(f"only admins and the owner of work team '{row.name}' change it", field="WorkteamName")
    return str(row.name)


def _groups(definitions: list[Any], path: str) -> list[str]:
    out: list[str] = []
    for i, d in enumerate(definitions):
        where = f"{path}.{i + 1}"
        if not isinstance(d, dict) or len(d) != 1:
            raise invalid(where, d, "Member must have exactly one of CognitoMemberDefinition and OidcMemberDefinition")
        cognito = structure(d, "CognitoMemberDefinition", f"{where}.CognitoMemberDefinition")
        oidc = structure(d, "OidcMemberDefinition", f"{where}.OidcMemberDefinition")
        if cognito is not None:
            for key in ("UserPool", "ClientId"):
                string(cognito, key, f"{where}.CognitoMemberDefinition.{key}", required=True, min_len=1, max_len=128)
            out.append(string(cognito, "UserGroup", f"{where}.CognitoMemberDefinition.UserGroup", required=True,
                              min_len=1, max_len=128) or "")
        elif oidc is not None:
            groups = listing(oidc, "Groups", f"{where}.OidcMemberDefinition.Groups", required=True, min_len=1,
                             max_len=10) or []
            for j, g in enumerate(groups):
                if not isinstance(g, str) or not 1 <= len(g) <= 63:
                    raise invalid(f"{where}.OidcMemberDefinition.Groups.{j + 1}", g,
                                  "Member must be a group name of 1 to 63 characters")
                out.append(g)
        else:
            raise invalid(where, d, "Member must have exactly one of CognitoMemberDefinition and OidcMemberDefinition")
    return out


def _members_of(ctx: Context, principal: Principal, groups: list[str], path: str) -> list[str]:
    """The users of the groups (work teams this principal may use), each once."""
    usable = {t.name.lower(): t for t in users.list_teams(ctx, principal) if t.members is not None}
    members: list[str] = []
    for g in groups:
        team = usable.get(g.lower())
        if team is None:
            raise ValidationError(f"{path}: group '{g}' is not a work team of yours; a group is a labelloop work "
                                  "team (labelloop teams create)", field=path)
        members.extend(m for m in team.members or [] if m not in members)
    return members


def _definitions(req: dict[str, Any], required: bool) -> tuple[list[dict[str, Any]] | None, list[str]]:
    definitions = listing(req, "MemberDefinitions", "MemberDefinitions", required=required, min_len=1, max_len=10)
    return definitions, _groups(definitions, "MemberDefinitions") if definitions is not None else []


def _topic(req: dict[str, Any]) -> str | None:
    config = structure(req, "NotificationConfiguration", "NotificationConfiguration") or {}
    return string(config, "NotificationTopicArn", "NotificationConfiguration.NotificationTopicArn", max_len=2048)


def create_workteam(ctx: Context, principal: Principal, req: dict[str, Any]) -> str:
    name = string(req, "WorkteamName", "WorkteamName", required=True, min_len=1, max_len=63, pattern=NAME) or ""
    description = string(req, "Description", "Description", required=True, min_len=1, max_len=200) or ""
    definitions, groups = _definitions(req, True)
    topic = _topic(req)
    tags = validate_tags(req.get("Tags"), "Tags")
    members = _members_of(ctx, principal, groups, "MemberDefinitions")
    with ctx.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(Team)).scalar_one()
    if count >= ctx.settings.aws_max_workteams:
        raise LimitExceeded(f"there are {count} work teams; the limit is {ctx.settings.aws_max_workteams} "
                            "(setting LABELLOOP_AWS_MAX_WORKTEAMS)")
    try:
        team = users.create_team(ctx, principal, name, description)
    except LabelloopError as exc:
        if isinstance(exc, ResourceInUse):
            raise ResourceInUse(f"Workteam '{name}' already exists", field="WorkteamName") from None
        raise
    if members:
        users.add_members(ctx, principal, name, members)
    arn = team_arn(ctx, name)

    def unit(conn: Connection) -> None:
        conn.execute(insert(AwsWorkteam).values(team_id=team.id, member_definitions=json.dumps(definitions),
                                                notification_topic_arn=topic, updated_at=ctx.clock()))
        put_tags(conn, arn, tags)

    ctx.write(unit)
    return arn


def _view(ctx: Context, team: TeamView) -> WorkteamView:
    with ctx.engine.connect() as conn:
        created = conn.execute(select(Team.created_at).where(Team.id == team.id)).scalar_one()
        extra = conn.execute(select(AwsWorkteam).where(AwsWorkteam.team_id == team.id)).first()
    own = [{"CognitoMemberDefinition": {"UserPool": "labelloop", "UserGroup": team.name, "ClientId": "labelloop"}}]
    return WorkteamView(team=team, arn=team_arn(ctx, team.name),
                        member_definitions=json.loads(extra.member_definitions) if extra else own,
                        created_at=created, updated_at=extra.updated_at if extra else created,
                        notification_topic_arn=extra.notification_topic_arn if extra else None)


def _name(req: dict[str, Any]) -> str:
    return string(req, "WorkteamName", "WorkteamName", required=True, min_len=1, max_len=63, pattern=NAME) or ""


def describe_workteam(ctx: Context, principal: Principal, req: dict[str, Any]) -> WorkteamView:
    return _view(ctx, visible_team(ctx, principal, _name(req)))


def list_workteams(ctx: Context, principal: Principal, req: dict[str, Any]) -> Page[WorkteamView]:
    contains = string(req, "NameContains", "NameContains", max_len=63, pattern=r"^[a-zA-Z0-9\-]+$")
    teams = [_view(ctx, t) for t in users.list_teams(ctx, principal)
             if not contains or contains.lower() in t.name.lower()]
    keys = {"Name": lambda w: w.team.name.lower(), "CreateDate": lambda w: w.created_at}
    return paginate(req, sort_items(teams, req, keys, "CreateDate"))


def update_workteam(ctx: Context, principal: Principal, req: dict[str, Any]) -> WorkteamView:
    name = managed_team(ctx, principal, _name(req))
    description = string(req, "Description", "Description", min_len=1, max_len=200)
    definitions, groups = _definitions(req, False)
    topic = _topic(req)
    if definitions is not None:
        wanted = _members_of(ctx, principal, groups, "MemberDefinitions")
        current = users.describe_team(ctx, name).members or []
        missing = [m for m in wanted if m not in current]
        if missing:
            users.add_members(ctx, principal, name, missing)
        for m in current:
            if m not in wanted:
                users.remove_member(ctx, principal, name, m)
    now = ctx.clock()

    def unit(conn: Connection) -> None:
        tid = conn.execute(select(Team.id).where(Team.name_key == name.lower())).scalar_one()
        if description is not None:
            conn.execute(update(Team).where(Team.id == tid).values(description=description))
        found = conn.execute(select(AwsWorkteam.team_id).where(AwsWorkteam.team_id == tid)).first()
        values: dict[str, Any] = {"updated_at": now}
        if definitions is not None:
            values["member_definitions"] = json.dumps(definitions)
        if "NotificationConfiguration" in req:
            values["notification_topic_arn"] = topic
        if found:
            conn.execute(update(AwsWorkteam).where(AwsWorkteam.team_id == tid).values(**values))
        else:
            own = [{"CognitoMemberDefinition": {"UserPool": "labelloop", "UserGroup": name, "ClientId": "labelloop"}}]
            conn.execute(insert(AwsWorkteam).values(**{"team_id": tid, "member_definitions": json.dumps(own),
                                                       "notification_topic_arn": None, **values}))
        record(conn, "team.updated", at=now, actor=principal.username, team=name)

    ctx.write(unit)
    return _view(ctx, users.describe_team(ctx, name))


def delete_workteam(ctx: Context, principal: Principal, req: dict[str, Any]) -> None:
    """DeleteWorkteam: a team no job was ever sent to (ResourceInUse otherwise: jobs keep their team)."""
    name = managed_team(ctx, principal, _name(req))

    def unit(conn: Connection) -> None:
        tid = conn.execute(select(Team.id).where(Team.name_key == name.lower())).scalar_one()
        used = conn.execute(select(func.count()).select_from(Job).where(Job.team_id == tid)).scalar_one()
        if used:
            raise ResourceInUse(f"Workteam '{name}' has {used} labeling jobs; a team with jobs is kept",
                                field="WorkteamName")
        conn.execute(delete(TeamMember).where(TeamMember.team_id == tid))
        conn.execute(delete(AwsWorkteam).where(AwsWorkteam.team_id == tid))
        conn.execute(delete(Team).where(Team.id == tid))
        drop_tags(conn, team_arn(ctx, name))
        record(conn, "team.deleted", at=ctx.clock(), actor=principal.username, team=name)

    ctx.write(unit)
