"""Who may see, work on and manage what: the one statement of each rule, as pure predicates.

The SQL that lists, claims, describes and audits uses the predicates of ``labelloop.services.access``,
each built from the function of the same name here, so a query and a check never disagree.

The rules:
- **manage a job** (describe it in full, stop it, read its audit trail): its owner (the requester who
  made it) and admins;
- **work on a job** (list it in the worker's jobs, take its tasks): a member of its team while the job
  accepts work, whatever their role (a requester or admin on a team labels there as a worker does);
- **see a job** (its name and instructions, through the worker's calls): whoever may manage it, and the
  members of its team. Its details (manifest, label configuration, output, hooks: ``GET /jobs``,
  ``GET /jobs/{name}``) are for those who may manage it only;
- **see a task**: only the worker whose task it is;
- **see an event**: admins; the owner of the event's job; the worker the event is about;
- **create work teams and jobs**: requesters and admins;
- **manage a team** (add or remove members): admins, and the requester who owns it. A team an admin
  makes is *shared* (no owner) unless the admin names an owner; only admins change a shared team;
- **use a team** for a job: admins; the requester who owns it; any requester when it is shared;
- **see a team** (``GET /teams``): those who may use it (with its members), and its members (without the
  other members' names).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from labelloop.core.lifecycle import accepts_work

__all__ = [
    "Principal",
    "Role",
    "may_create_jobs",
    "may_manage_job",
    "may_manage_team",
    "may_manage_teams",
    "may_see_event",
    "may_see_job",
    "may_see_task",
    "may_see_team",
    "may_use_team",
    "may_work_on_job",
]


class Role(StrEnum):
    ADMIN = "admin"
    REQUESTER = "requester"
    WORKER = "worker"


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in user of a request (or the user the CLI acts as)."""

    id: int
    username: str
    role: str  # a Role value

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_request(self) -> bool:
        return self.role in (Role.ADMIN, Role.REQUESTER)


def may_manage_job(p: Principal, owner_id: int) -> bool:
    return p.is_admin or p.id == owner_id


def may_work_on_job(p: Principal, is_member: bool, status: str, ends_at: datetime, now: datetime) -> bool:
    return bool(is_member) and accepts_work(status, ends_at, now)


def may_see_job(p: Principal, owner_id: int, is_member: bool) -> bool:
    return may_manage_job(p, owner_id) or bool(is_member)


def may_see_task(p: Principal, task_worker_id: int) -> bool:
    return p.id == task_worker_id


def may_see_event(p: Principal, job_owner_id: int | None, event_worker_id: int | None) -> bool:
    return p.is_admin or (job_owner_id is not None and p.id == job_owner_id) or (
        event_worker_id is not None and p.id == event_worker_id)


def may_manage_teams(p: Principal) -> bool:
    return p.can_request


def may_create_jobs(p: Principal) -> bool:
    return p.can_request


def may_manage_hooks(p: Principal) -> bool:
    """Register or remove a Python hook: code that runs on the server, so admins only. Anyone who may create
    jobs may choose among the registered hooks."""
    return p.role == Role.ADMIN


def may_manage_team(p: Principal, owner_id: int | None) -> bool:
    """Add or remove members: admins; the requester who owns the team (a shared team has no owner)."""
    return p.is_admin or (p.can_request and owner_id is not None and p.id == owner_id)


def may_use_team(p: Principal, owner_id: int | None) -> bool:
    """Send a job to the team: admins; its owner; any requester when it is shared (``owner_id`` None)."""
    return p.is_admin or (p.can_request and (owner_id is None or p.id == owner_id))


def may_see_team(p: Principal, owner_id: int | None, is_member: bool) -> bool:
    """List the team: those who may use it (with its members) and its members (without the others' names)."""
    return may_use_team(p, owner_id) or bool(is_member)
