"""The console's workforce page: the teams a requester may use (with members and pending sign-up links) and
each worker's history on the requester's jobs.

Who sees what follows ``core.access``: a requester sees the teams they may use (``may_use_team``) and may
change those they manage (``may_manage_team``); a worker's history shows only the jobs the viewer manages
(admins: all) and the events the viewer may see (``may_see_event``). A user who is on none of the viewer's
teams and never worked on the viewer's jobs is not found, as if they did not exist.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, and_, case, func, select

from labelloop.core.access import Principal, may_manage_team, may_manage_teams
from labelloop.core.errors import Forbidden, NotFound
from labelloop.core.lifecycle import TaskStatus
from labelloop.db.models import Event, Invite, Job, JobWorker, Task, Team, TeamMember, User
from labelloop.services.access import may_manage_job_sql, may_see_event_sql, may_use_team_sql
from labelloop.services.context import Context
from labelloop.services.views import EventView, TeamSummary, WorkerHistoryView, WorkerJobHistory

__all__ = ["team_summaries", "worker_history"]

HISTORY_JOBS = 100
HISTORY_EVENTS = 25


def team_summaries(ctx: Context, principal: Principal) -> list[TeamSummary]:
    """The teams ``principal`` may send jobs to, by name, with their members and pending sign-up links."""
    if not may_manage_teams(principal):
        raise Forbidden("only requesters and admins manage work teams")
    now = ctx.clock()
    pending = (select(func.count()).select_from(Invite)
               .where(Invite.team_id == Team.id, Invite.used_at.is_(None), Invite.revoked_at.is_(None),
                      Invite.expires_at > now).scalar_subquery())
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(Team.id, Team.name, Team.description, Team.owner_id, User.username,
                                   pending.label("pending"))
                            .outerjoin(User, User.id == Team.owner_id)
                            .where(may_use_team_sql(principal)).order_by(Team.name_key)).all()
        members: dict[int, list[str]] = {r.id: [] for r in rows}
        if rows:
            for tid, name in conn.execute(select(TeamMember.team_id, User.username)
                                          .join(User, User.id == TeamMember.user_id)
                                          .where(TeamMember.team_id.in_(members)).order_by(User.username)):
                members[tid].append(name)
    return [TeamSummary(name=r.name, description=r.description, owner=r.username, members=members[r.id],
                        pending_invites=int(r.pending or 0), manageable=may_manage_team(principal, r.owner_id))
            for r in rows]


def _visible_worker(conn: Connection, principal: Principal, username: str) -> tuple[int, str, datetime]:
    row = conn.execute(select(User.id, User.role, User.created_at).where(User.username == username)).first()
    gone = NotFound(f"no worker '{username}' on your teams or jobs", field="worker")
    if row is None:
        raise gone
    if principal.is_admin or row.id == principal.id:
        return int(row.id), str(row.role), row.created_at
    on_team = conn.execute(select(TeamMember.user_id).join(Team, Team.id == TeamMember.team_id)
                           .where(TeamMember.user_id == row.id, may_use_team_sql(principal)).limit(1)).first()
    worked = on_team or conn.execute(select(Task.id).join(Job, Job.id == Task.job_id)
                                     .where(Task.worker_id == row.id, may_manage_job_sql(principal))
                                     .limit(1)).first()
    if not worked:
        raise gone
    return int(row.id), str(row.role), row.created_at


def _median(conn: Connection, job_id: int, worker_id: int, n: int) -> float | None:
    if n == 0:
        return None
    q = (select(Task.time_spent_s).where(Task.job_id == job_id, Task.worker_id == worker_id,
                                         Task.status == TaskStatus.SUBMITTED, Task.time_spent_s.is_not(None))
         .order_by(Task.time_spent_s))
    values = conn.execute(q.offset((n - 1) // 2).limit(2 if n % 2 == 0 else 1)).scalars().all()
    return round(sum(values) / len(values), 1) if values else None


def worker_history(ctx: Context, principal: Principal, username: str) -> WorkerHistoryView:
    """One worker's teams (those the viewer may use), work on the viewer's jobs (newest first) and latest
    events the viewer may see."""
    if not may_manage_teams(principal):
        raise Forbidden("only requesters and admins see workers' histories")
    with ctx.engine.connect() as conn:
        uid, role, created_at = _visible_worker(conn, principal, username)
        teams = conn.execute(select(Team.name).join(TeamMember, TeamMember.team_id == Team.id)
                             .where(TeamMember.user_id == uid, may_use_team_sql(principal))
                             .order_by(Team.name_key)).scalars().all()
        done = and_(Task.worker_id == uid, Task.status == TaskStatus.SUBMITTED)
        rows = conn.execute(
            select(Job.id, Job.name, func.count(Task.id).label("n"), func.max(Task.finished_at).label("last"),
                   func.max(case((JobWorker.blocked.is_(True), 1), else_=0)).label("blocked"))
            .join(Task, and_(Task.job_id == Job.id, done))
            .outerjoin(JobWorker, and_(JobWorker.job_id == Job.id, JobWorker.worker_id == uid))
            .where(may_manage_job_sql(principal)).group_by(Job.id, Job.name)
            .order_by(func.max(Task.finished_at).desc()).limit(HISTORY_JOBS)).all()
        jobs = [WorkerJobHistory(job=r.name, submitted=int(r.n), median_time_s=_median(conn, r.id, uid, int(r.n)),
                                 last_at=r.last, blocked=bool(r.blocked)) for r in rows]
        events = conn.execute(
            select(Event.__table__, Job.name.label("job_name")).outerjoin(Job, Job.id == Event.job_id)
            .where(Event.worker_id == uid, may_see_event_sql(principal))
            .order_by(Event.id.desc()).limit(HISTORY_EVENTS)).all()
    return WorkerHistoryView(
        username=username, role=role, created_at=created_at, teams=list(teams), jobs=jobs,
        events=[EventView(id=e.id, at=e.at, kind=e.kind, actor=e.actor, job=e.job_name,
                          dataset_object_id=e.dataset_object_id, task_id=e.task_id, worker_id=e.worker_id,
                          detail=json.loads(e.detail)) for e in events])
