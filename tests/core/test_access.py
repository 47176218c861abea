"""The access rules as tables: each pure predicate of ``core.access``, and its SQL twin in
``services.access`` giving the same answer on a real database for every row of the table."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, select

from labelloop.core.access import (
    Principal,
    may_create_jobs,
    may_manage_hooks,
    may_manage_job,
    may_manage_team,
    may_manage_teams,
    may_see_event,
    may_see_job,
    may_see_task,
    may_see_team,
    may_use_team,
    may_work_on_job,
)
from labelloop.db.models import Event, Job, Team, TeamMember, User
from labelloop.services.access import (
    may_manage_job_sql,
    may_manage_team_sql,
    may_see_event_sql,
    may_see_job_sql,
    may_see_team_sql,
    may_use_team_sql,
    may_work_on_job_sql,
)

NOW = datetime(2026, 1, 5, 9, 0, 0)
LATER = NOW + timedelta(hours=1)
ADMIN = Principal(1, "admin", "admin")
OWNER = Principal(2, "owner", "requester")
OTHER_REQ = Principal(3, "other", "requester")
WORKER = Principal(4, "worker", "worker")
# (who, is owner of the job, is on the job's team)
CASES = [
    # who          member  manage  see    work (job open)
    (ADMIN, False, True, True, False),
    (ADMIN, True, True, True, True),  # an admin on the team labels there too
    (OWNER, False, True, True, False),
    (OWNER, True, True, True, True),  # the bug: a requester on their own team could not claim
    (OTHER_REQ, False, False, False, False),
    (OTHER_REQ, True, False, True, True),  # a requester on someone else's team works there as a worker
    (WORKER, False, False, False, False),
    (WORKER, True, False, True, True),
]


@pytest.mark.parametrize("who,member,manage,see,work", CASES)
def test_job_rules(who, member, manage, see, work):
    assert may_manage_job(who, OWNER.id) is manage
    assert may_see_job(who, OWNER.id, member) is see
    assert may_work_on_job(who, member, "InProgress", LATER, NOW) is work
    # nobody works on a job that does not accept work, whatever their role
    for status, ends in (("Stopping", LATER), ("Completed", LATER), ("InProgress", NOW)):
        assert may_work_on_job(who, member, status, ends, NOW) is False


@pytest.mark.parametrize("who,job_owner,event_worker,visible", [
    (ADMIN, OWNER.id, None, True),
    (ADMIN, None, None, True),
    (OWNER, OWNER.id, None, True),
    (OWNER, OWNER.id, WORKER.id, True),
    (OTHER_REQ, OWNER.id, None, False),
    (OTHER_REQ, OWNER.id, OTHER_REQ.id, True),  # an event about themselves
    (WORKER, OWNER.id, WORKER.id, True),
    (WORKER, OWNER.id, None, False),
    (WORKER, OWNER.id, 99, False),
    (WORKER, None, None, False),
])
def test_event_rule(who, job_owner, event_worker, visible):
    assert may_see_event(who, job_owner, event_worker) is visible


@pytest.mark.parametrize("who,ok", [(ADMIN, True), (OWNER, True), (WORKER, False)])
def test_teams_and_job_creation(who, ok):
    assert may_manage_teams(who) is ok
    assert may_create_jobs(who) is ok


@pytest.mark.parametrize("who,ok", [(ADMIN, True), (OWNER, False), (WORKER, False)])
def test_only_admins_register_hooks(who, ok):
    assert may_manage_hooks(who) is ok


def test_tasks_are_seen_by_their_worker_only():
    assert may_see_task(WORKER, WORKER.id)
    assert not may_see_task(ADMIN, WORKER.id)
    assert not may_see_task(OWNER, WORKER.id)


def _world(ctx, member_ids):
    """Users 1-4 as above; one job of OWNER's in progress on a team with ``member_ids``; one event of it
    about WORKER and one system event; returns the job id."""
    with ctx.engine.begin() as conn:
        for p in (ADMIN, OWNER, OTHER_REQ, WORKER):
            conn.execute(insert(User).values(id=p.id, username=p.username, password_hash="x", role=p.role,
                                             created_at=NOW))
        team = conn.execute(insert(Team).values(name="t", name_key="t", created_at=NOW)).inserted_primary_key[0]
        for uid in member_ids:
            conn.execute(insert(TeamMember).values(team_id=team, user_id=uid))
        job = conn.execute(insert(Job).values(
            name="j", name_key="j", requester_id=OWNER.id, team_id=team, task_type="text-classification",
            label_attribute_name="l", label_config="{}", status="InProgress", workers_per_object=1,
            task_time_limit_s=60, task_availability_lifetime_s=3600, max_concurrent_tasks=10, price_per_task_usd=0,
            title="", description="", input_manifest_uri="m", output_uri="o/", consolidation_algorithm="x",
            created_at=NOW, updated_at=NOW, ends_at=LATER)).inserted_primary_key[0]
        conn.execute(insert(Event), [{"at": NOW, "kind": "task.leased", "actor": "w", "job_id": job,
                                      "worker_id": WORKER.id},
                                     {"at": NOW, "kind": "job.created", "actor": "owner", "job_id": job, "worker_id": None}])
    return job


@pytest.mark.parametrize("who,member,manage,see,work", CASES)
def test_the_sql_predicates_agree_with_the_rules(ctx, who, member, manage, see, work):
    _world(ctx, [who.id] if member else [])
    with ctx.engine.connect() as conn:
        def hits(cond) -> bool:
            return conn.execute(select(Job.id).where(cond)).first() is not None

        assert hits(may_manage_job_sql(who)) is manage
        assert hits(may_see_job_sql(who)) is see
        assert hits(may_work_on_job_sql(who, NOW)) is work
        assert hits(may_work_on_job_sql(who, LATER)) is False  # availability over
        events = conn.execute(select(Event.worker_id, Job.requester_id).join(Job, Job.id == Event.job_id)
                              .where(may_see_event_sql(who))).all()
        expected = [(w, o) for w, o in [(WORKER.id, OWNER.id), (None, OWNER.id)] if may_see_event(who, o, w)]
        assert sorted(events, key=str) == sorted(expected, key=str)


# Teams: (who, the team's owner (None: shared by an admin), on the team, manage, use, see)
TEAM_CASES = [
    (ADMIN, None, False, True, True, True),
    (ADMIN, OWNER.id, False, True, True, True),  # admins change and use every team
    (OWNER, OWNER.id, False, True, True, True),
    (OWNER, None, False, False, True, True),  # a shared team: any requester sends jobs to it, only admins change it
    (OTHER_REQ, OWNER.id, False, False, False, False),  # the bug: B added members to and sent jobs to A's team
    (OTHER_REQ, OWNER.id, True, False, False, True),  # a member sees it (without the others' names)
    (WORKER, OWNER.id, True, False, False, True),
    (WORKER, None, True, False, False, True),
    (WORKER, None, False, False, False, False),
    (WORKER, WORKER.id, False, False, False, False),  # a worker never owns a team (not even by a bad row)
]


@pytest.mark.parametrize("who,owner,member,manage,use,see", TEAM_CASES)
def test_team_rules(who, owner, member, manage, use, see):
    assert may_manage_team(who, owner) is manage
    assert may_use_team(who, owner) is use
    assert may_see_team(who, owner, member) is see


@pytest.mark.parametrize("who,owner,member,manage,use,see", TEAM_CASES)
def test_the_team_sql_predicates_agree_with_the_rules(ctx, who, owner, member, manage, use, see):
    with ctx.engine.begin() as conn:
        for p in (ADMIN, OWNER, OTHER_REQ, WORKER):
            conn.execute(insert(User).values(id=p.id, username=p.username, password_hash="x", role=p.role,
                                             created_at=NOW))
        team = conn.execute(insert(Team).values(name="t", name_key="t", created_at=NOW,
                                                owner_id=owner)).inserted_primary_key[0]
        if member:
            conn.execute(insert(TeamMember).values(team_id=team, user_id=who.id))
    with ctx.engine.connect() as conn:
        def hits(cond) -> bool:
            return conn.execute(select(Team.id).where(cond)).first() is not None

        assert hits(may_manage_team_sql(who)) is manage
        assert hits(may_use_team_sql(who)) is use
        assert hits(may_see_team_sql(who)) is see
