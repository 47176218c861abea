"""Sign-up links to a work team: expire, single use, revocable, only their hash stored, audited."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from labelloop.core.errors import Forbidden, NotFound, ResourceInUse, ValidationError
from labelloop.db.models import Invite
from labelloop.services import invites
from labelloop.services.events import list_events
from labelloop.services.users import check_password, create_team, describe_team


def test_a_link_signs_up_a_worker_onto_its_team_once(ctx, people):
    made = invites.create_invite(ctx, people["admin"], "crew", note="ana@example.org")
    assert made.token and made.state == "pending" and made.team == "crew"
    assert invites.invite_info(ctx, made.token).team == "crew"
    ana = invites.accept_invite(ctx, made.token, "ana", "ana-password")
    assert ana.role == "worker"
    assert check_password(ctx, "ana", "ana-password").id == ana.id
    assert "ana" in describe_team(ctx, "crew").members
    with pytest.raises(NotFound, match="already used or expired"):
        invites.accept_invite(ctx, made.token, "bob", "bob-password")
    listed = invites.list_invites(ctx, people["admin"], "crew")
    assert [(i.state, i.used_by, i.token) for i in listed] == [("used", "ana", None)]
    kinds = [e.kind for e in list_events(ctx, people["admin"], kind=None, limit=1000)]
    assert kinds[-4:] == ["invite.created", "user.created", "team.member_added", "invite.accepted"]


def test_only_the_hash_of_the_token_is_stored(ctx, people):
    made = invites.create_invite(ctx, people["admin"], "crew")
    with ctx.engine.connect() as conn:
        stored = conn.execute(select(Invite.token_hash)).scalars().all()
    assert stored and made.token not in stored[0]


def test_a_link_expires(ctx, people, clock):
    made = invites.create_invite(ctx, people["admin"], "crew", ttl_s=3600)
    clock.advance(3600)
    with pytest.raises(NotFound):
        invites.invite_info(ctx, made.token)
    with pytest.raises(NotFound):
        invites.accept_invite(ctx, made.token, "late", "late-password")
    assert invites.list_invites(ctx, people["admin"], "crew")[0].state == "expired"


def test_a_revoked_link_signs_up_nobody(ctx, people):
    made = invites.create_invite(ctx, people["admin"], "crew")
    invites.revoke_invite(ctx, people["admin"], made.id)
    with pytest.raises(NotFound):
        invites.accept_invite(ctx, made.token, "x1", "x1-password")
    with pytest.raises(ValidationError, match="already used or revoked"):
        invites.revoke_invite(ctx, people["admin"], made.id)


def test_a_taken_username_leaves_the_link_usable(ctx, people):
    made = invites.create_invite(ctx, people["admin"], "crew")
    with pytest.raises(ResourceInUse) as err:
        invites.accept_invite(ctx, made.token, "w1", "some-password")
    assert err.value.field == "username"
    with pytest.raises(ValidationError) as short:
        invites.accept_invite(ctx, made.token, "newbie", "short")
    assert short.value.field == "password"
    assert invites.accept_invite(ctx, made.token, "newbie", "long-enough").username == "newbie"


@pytest.mark.parametrize("ttl_s", [60, 31 * 86400])
def test_the_lifetime_is_bounded(ctx, people, ttl_s):
    with pytest.raises(ValidationError) as err:
        invites.create_invite(ctx, people["admin"], "crew", ttl_s=ttl_s)
    assert err.value.field == "ttl_s"


def test_only_those_who_manage_the_team_invite(ctx, people):
    with pytest.raises(Forbidden):
        invites.create_invite(ctx, people["w1"], "crew")
    with pytest.raises(Forbidden):  # a shared team: only admins change it
        invites.create_invite(ctx, people["req"], "crew")
    create_team(ctx, people["req"], "mine")
    assert invites.create_invite(ctx, people["req"], "mine").team == "mine"
    with pytest.raises(Forbidden):
        invites.list_invites(ctx, people["req"], "crew")


def test_two_sign_ups_racing_for_one_link_make_one_account(ctx, people):
    made = invites.create_invite(ctx, people["admin"], "crew")
    results: list[object] = []
    start = threading.Barrier(2)

    def sign_up(name: str) -> None:
        start.wait()
        try:
            results.append(invites.accept_invite(ctx, made.token, name, "racing-password"))
        except NotFound as exc:
            results.append(exc)

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in ("racer1", "racer2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(type(r).__name__ for r in results) == ["NotFound", "Principal"]
    members = describe_team(ctx, "crew").members or []
    assert len({"racer1", "racer2"} & set(members)) == 1
