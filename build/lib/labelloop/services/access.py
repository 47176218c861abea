"""The access rules of ``labelloop.core.access`` as SQL predicates, for every query that lists, claims,
describes or audits. Each predicate here is the SQL twin of the pure function of the same name, and
``tests/core/test_access.py`` checks the pairs agree on every case of the rule's table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Exists, and_, bindparam, exists, false, or_, select, true

from labelloop.core.access import Principal, may_see_job
from labelloop.core.errors import NotFound, ValidationError
from labelloop.core.lifecycle import JobStatus
from labelloop.db.models import Event, Job, Team, TeamMember


def is_member_sql(team_id: Any, user: Any = None) -> Exists:
    """The user (default: the bind parameter ``b_user``) is on the team."""
    return exists().where(TeamMember.team_id == team_id,
                          TeamMember.user_id == (bindparam("b_user") if user is None else user))


def may_manage_job_sql(p: Principal) -> ColumnElement[bool]:
    return true() if p.is_admin else Job.requester_id == p.id


def may_see_job_sql(p: Principal) -> ColumnElement[bool]:
    return or_(may_manage_job_sql(p), is_member_sql(Job.team_id, p.id))


def may_work_on_job_sql(p: Principal, now: Any) -> ColumnElement[bool]:
    return and_(is_member_sql(Job.team_id, p.id), Job.status == JobStatus.IN_PROGRESS, Job.ends_at > now)


def may_see_event_sql(p: Principal) -> ColumnElement[bool]:
    if p.is_admin:
        return true()
    owned = Event.job_id.in_(select(Job.id).where(Job.requester_id == p.id)) if p.can_request else false()
    return or_(owned, Event.worker_id == p.id)


def may_manage_team_sql(p: Principal) -> ColumnElement[bool]:
    if p.is_admin:
        return true()
    return Team.owner_id == p.id if p.can_request else false()


def may_use_team_sql(p: Principal) -> ColumnElement[bool]:
    if p.is_admin:
        return true()
    return or_(Team.owner_id.is_(None), Team.owner_id == p.id) if p.can_request else false()


def may_see_team_sql(p: Principal) -> ColumnElement[bool]:
    return or_(may_use_team_sql(p), is_member_sql(Team.id, p.id))


_JOB_BY_NAME = select(Job.__table__, is_member_sql(Job.team_id).label("is_member")).where(
    Job.name_key == bindparam("b_name"))


def job_row_for(conn: Connection, name: str, p: Principal) -> Any:
    """The job's row (with ``is_member``: the principal is on its team) if this principal may see it."""
    if "\x00" in name:  # PostgreSQL refuses NUL in text: a 400 naming the field, never a 500
        raise ValidationError("name must not contain NUL characters", field="name")
    row = conn.execute(_JOB_BY_NAME, {"b_name": name.lower(), "b_user": p.id}).first()
    if row is None or not may_see_job(p, row.requester_id, row.is_member):
        raise NotFound(f"no labeling job '{name}'", field="name")
    return row
