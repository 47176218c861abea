"""Sign-up links to a work team: a requester (or admin) who manages a team makes a link that expires; the
person who opens it chooses a username and password and becomes a worker on that team.

Guarantees:
- only the SHA-256 of a link's token is stored; the token is shown once, when the link is made;
- a link is used at most once: accepting it is a compare-and-set on ``used_at IS NULL AND revoked_at IS NULL
  AND expires_at > now`` in the same transaction that creates the account and its membership, so two people
  racing for one link get one account between them, and a refused username leaves the link unused;
- an unknown, used, expired or revoked link gets the same answer (NotFound), so a link tells nothing;
- every step is an audit event (``invite.created``, ``invite.revoked``, ``invite.accepted``, with
  ``user.created`` and ``team.member_added``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from labelloop.core.access import Principal, Role, may_manage_teams
from labelloop.core.errors import Forbidden, NotFound, ResourceInUse, ValidationError
from labelloop.db.models import Invite, Team, TeamMember, User
from labelloop.services import users
from labelloop.services.context import Context
from labelloop.services.events import record
from labelloop.services.views import InviteView

__all__ = ["DEFAULT_TTL_S", "MAX_TTL_S", "MIN_TTL_S", "InviteInfo", "accept_invite", "create_invite",
           "invite_info", "list_invites", "revoke_invite"]

DEFAULT_TTL_S = 7 * 86400  # as Ground Truth's private workforce e-mail invitations (temporary passwords)
MIN_TTL_S = 3600
MAX_TTL_S = 30 * 86400
GONE = "this sign-up link is invalid, already used or expired; ask for a new one"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _state(row: Any, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.used_at is not None:
        return "used"
    return "expired" if row.expires_at <= now else "pending"


def create_invite(ctx: Context, principal: Principal, team: str, *, ttl_s: int = DEFAULT_TTL_S,
                  note: str = "") -> InviteView:
    """A new sign-up link to ``team`` (which ``principal`` manages), valid ``ttl_s`` seconds; the view carries
    the token once."""
    if not may_manage_teams(principal):
        raise Forbidden("only requesters and admins invite workers")
    if not MIN_TTL_S <= ttl_s <= MAX_TTL_S:
        raise ValidationError(f"a sign-up link lasts between {MIN_TTL_S // 3600} hour and {MAX_TTL_S // 86400} days",
                              field="ttl_s")
    note = note.strip()
    if len(note) > 128 or not note.isprintable():
        raise ValidationError("the note is at most 128 printable characters", field="note")
    token, now = secrets.token_urlsafe(32), ctx.clock()
    expires = now + timedelta(seconds=ttl_s)

    def unit(conn: Connection) -> tuple[int, str]:
        tid = users._team_for_change(conn, principal, team)
        name = str(conn.execute(select(Team.name).where(Team.id == tid)).scalar())
        iid = int(conn.execute(insert(Invite).values(
            token_hash=_digest(token), team_id=tid, created_by=principal.id, note=note, created_at=now,
            expires_at=expires)).inserted_primary_key[0])
        record(conn, "invite.created", at=now, actor=principal.username, team=name, invite=iid,
               expires_at=expires.isoformat(), note=note)
        return iid, name

    iid, name = ctx.write(unit)
    return InviteView(id=iid, team=name, note=note, created_by=principal.username, created_at=now,
                      expires_at=expires, state="pending", token=token)


def list_invites(ctx: Context, principal: Principal, team: str) -> list[InviteView]:
    """The team's sign-up links, newest first, for those who manage it."""
    maker, used = aliased(User), aliased(User)
    with ctx.engine.connect() as conn:
        tid = users._team_for_change(conn, principal, team)
        rows = conn.execute(
            select(Invite.__table__, Team.name.label("team"), maker.username.label("maker"),
                   used.username.label("user"))
            .join(Team, Team.id == Invite.team_id).outerjoin(maker, maker.id == Invite.created_by)
            .outerjoin(used, used.id == Invite.used_by).where(Invite.team_id == tid)
            .order_by(Invite.id.desc()).limit(200)).all()
    now = ctx.clock()
    return [InviteView(id=r.id, team=r.team, note=r.note, created_by=r.maker, created_at=r.created_at,
                       expires_at=r.expires_at, state=_state(r, now), used_by=r.user) for r in rows]


def revoke_invite(ctx: Context, principal: Principal, invite_id: int) -> None:
    """End a pending sign-up link (one of a team ``principal`` manages)."""
    now = ctx.clock()

    def unit(conn: Connection) -> None:
        row = conn.execute(select(Invite.team_id, Team.name).join(Team, Team.id == Invite.team_id)
                           .where(Invite.id == invite_id)).first()
        if row is None:
            raise NotFound(f"no sign-up link {invite_id}", field="invite")
        users._team_for_change(conn, principal, row.name)
        done = conn.execute(update(Invite).where(Invite.id == invite_id, Invite.used_at.is_(None),
                                                 Invite.revoked_at.is_(None)).values(revoked_at=now)).rowcount
        if not done:
            raise ValidationError("this sign-up link was already used or revoked", field="invite")
        record(conn, "invite.revoked", at=now, actor=principal.username, team=row.name, invite=invite_id)

    ctx.write(unit)


@dataclass(frozen=True)
class InviteInfo:
    """What the sign-up page shows of a valid link."""

    team: str
    expires_at: datetime


def _valid(conn: Connection, token: str, now: datetime) -> Any:
    return conn.execute(
        select(Invite.id, Invite.team_id, Invite.expires_at, Team.name.label("team"))
        .join(Team, Team.id == Invite.team_id)
        .where(Invite.token_hash == _digest(token), Invite.used_at.is_(None), Invite.revoked_at.is_(None),
               Invite.expires_at > now)).first()


def invite_info(ctx: Context, token: str) -> InviteInfo:
    """The team a valid link signs up to; NotFound (one message) for any other link."""
    if not token or len(token) > 100:
        raise NotFound(GONE, field="token")
    with ctx.engine.connect() as conn:
        row = _valid(conn, token, ctx.clock())
    if row is None:
        raise NotFound(GONE, field="token")
    return InviteInfo(team=row.team, expires_at=row.expires_at)


def _check_username(username: str) -> None:
    if not username or len(username) > users.MAX_USERNAME_CHARS or not username.isprintable() or " " in username:
        raise ValidationError("username must be 1-128 printable characters without spaces", field="username")


def accept_invite(ctx: Context, token: str, username: str, password: str) -> Principal:
    """Use a sign-up link: create the worker ``username`` and put them on the link's team, in one transaction
    that also marks the link used (or nothing at all)."""
    _check_username(username)
    if len(password) < users.MIN_PASSWORD_CHARS:
        raise ValidationError("password must be at least 8 characters", field="password")
    users.check_password_length(password)
    invite_info(ctx, token)  # a bad link costs no hash
    with users.hash_slots(ctx):
        password_hash = users._hasher.hash(password)
    now = ctx.clock()

    def unit(conn: Connection) -> int:
        row = _valid(conn, token, now)
        if row is None:
            raise NotFound(GONE, field="token")
        if conn.execute(select(User.id).where(User.username == username)).first() is not None:
            raise ResourceInUse(f"the username '{username}' is taken; choose another", field="username")
        uid = int(conn.execute(insert(User).values(
            username=username, password_hash=password_hash, role=Role.WORKER, created_at=now)
        ).inserted_primary_key[0])
        used = conn.execute(update(Invite).where(Invite.id == row.id, Invite.used_at.is_(None),
                                                 Invite.revoked_at.is_(None), Invite.expires_at > now)
                            .values(used_at=now, used_by=uid)).rowcount
        if used != 1:  # another sign-up took the link first
            raise NotFound(GONE, field="token")
        conn.execute(insert(TeamMember).values(team_id=row.team_id, user_id=uid))
        record(conn, "user.created", at=now, actor=username, worker_id=uid, username=username, role=Role.WORKER,
               invite=row.id)
        record(conn, "team.member_added", at=now, actor=username, worker_id=uid, team=row.team, invite=row.id)
        record(conn, "invite.accepted", at=now, actor=username, worker_id=uid, team=row.team, invite=row.id)
        return uid

    try:
        uid = ctx.write(unit)
    except IntegrityError:  # the same username signed up at the same moment
        raise ResourceInUse(f"the username '{username}' is taken; choose another", field="username") from None
    return Principal(uid, username, Role.WORKER)
