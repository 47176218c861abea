"""Users, passwords (argon2), API tokens and sessions, work teams."""

from __future__ import annotations

import hashlib
import random
import secrets
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from labelloop.core.access import Principal, Role, may_manage_teams
from labelloop.core.errors import Forbidden, NotFound, ResourceInUse, Unauthorized, ValidationError
from labelloop.core.names import validate_team_name
from labelloop.db.models import ApiToken, Team, TeamMember, User
from labelloop.services.events import record
from labelloop.services.views import TeamView

if TYPE_CHECKING:
    from labelloop.services.context import Context

ROLES = tuple(Role)
_hasher = PasswordHasher()
_DUMMY_HASH: str | None = None  # made on first use: a full argon2 hash costs ~0.1 s at every process start


def _dummy_hash() -> str:
    """A hash to verify against for unknown users, so that timing tells nothing."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not-a-password")
    return _DUMMY_HASH


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(ctx: Context, username: str, password: str, role: str, *, actor: str = "system") -> Principal:
    """Create a user; the password is stored as an argon2 hash."""
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}; got '{role}'", field="role")
    if not username or len(username) > 128 or not username.isprintable() or " " in username:
        raise ValidationError("username must be 1-128 printable characters without spaces", field="username")
    if len(password) < 8:
        raise ValidationError("password must be at least 8 characters", field="password")
    password_hash = _hasher.hash(password)

    def unit(conn: Connection) -> int:
        try:
            uid: int = conn.execute(
                insert(User).values(username=username, password_hash=password_hash, role=role, created_at=ctx.clock())
            ).inserted_primary_key[0]
        except IntegrityError:
            raise ResourceInUse(f"user '{username}' already exists", field="username") from None
        record(conn, "user.created", at=ctx.clock(), actor=actor, worker_id=uid, username=username, role=role)
        return uid

    return Principal(ctx.write(unit), username, role)


def get_user(conn: Connection, username: str) -> Principal:
    row = conn.execute(select(User.id, User.username, User.role).where(User.username == username)).first()
    if row is None:
        raise NotFound(f"no user '{username}'", field="username")
    return Principal(*row)


def acting_principal(ctx: Context, username: str | None) -> Principal:
    """The user the CLI acts as: ``username``, or the first admin."""
    with ctx.engine.connect() as conn:
        if username:
            return get_user(conn, username)
        row = conn.execute(select(User.id, User.username, User.role).where(User.role == Role.ADMIN)
                           .order_by(User.id)).first()
    if row is None:
        raise NotFound("no admin yet: run 'labelloop users create NAME --role admin' first", field="username")
    return Principal(*row)


def check_password(ctx: Context, username: str, password: str) -> Principal:
    """Verify a password; the same work is done for unknown users, so timing tells nothing."""
    with ctx.engine.connect() as conn:
        row = conn.execute(select(User.__table__).where(User.username == username)).first()
    try:
        _hasher.verify(row.password_hash if row else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("wrong username or password") from None
    if row is None:
        raise Unauthorized("wrong username or password")
    return Principal(row.id, row.username, row.role)


def issue_token(ctx: Context, principal: Principal, *, kind: str = "api", ttl_s: int | None = None) -> str:
    """A new random bearer token (only its SHA-256 is stored)."""
    token = secrets.token_urlsafe(32)
    now = ctx.clock()
    ctx.write(lambda conn: conn.execute(insert(ApiToken).values(
        user_id=principal.id, token_hash=_token_hash(token), kind=kind, created_at=now,
        expires_at=now + timedelta(seconds=ttl_s) if ttl_s else None)))
    return token


_BY_TOKEN = (select(User.id, User.username, User.role, ApiToken.expires_at, ApiToken.kind)
             .join(ApiToken, ApiToken.user_id == User.id)
             .where(ApiToken.token_hash == bindparam("b_hash")))

# Tokens seen in the last TOKEN_CACHE_S seconds, per engine. Expiry and kind are checked on every request
# against the stored row; a revocation is seen at once by the process that revokes and within
# TOKEN_CACHE_S by other server processes. Unknown tokens are not kept. Each entry lives a random part of
# TOKEN_CACHE_S (half to all of it), so tokens first seen together are not all read again at one moment.
TOKEN_CACHE_S = 2.0


class TokenCache:
    """The tokens one process saw lately (``Context.tokens``)."""

    MAX = 10000

    def __init__(self) -> None:
        self.rows: dict[str, tuple[float, Any]] = {}  # token hash -> (monotonic time it goes stale, row)
        self.revocations = 0  # a read that overlapped a revocation is not kept

    def get(self, digest: str) -> tuple[float, Any] | None:
        hit = self.rows.get(digest)
        return None if hit is None or time.monotonic() >= hit[0] else hit

    def put(self, digest: str, read_at: float, row: Any) -> None:
        if len(self.rows) >= self.MAX:
            self.rows.clear()
        self.rows[digest] = (read_at + TOKEN_CACHE_S * random.uniform(0.5, 1.0), row)


def _principal_of(ctx: Context, row: Any, kind: str | None) -> Principal:
    if row is None or (kind and row.kind != kind) or (row.expires_at and row.expires_at <= ctx.clock()):
        raise Unauthorized("invalid or expired token")
    return Principal(row.id, row.username, row.role)


def cached_principal(ctx: Context, token: str, *, kind: str | None = None) -> Principal | None:
    """The token's principal from the short-lived cache, without I/O; None when the cache does not know it."""
    hit = ctx.tokens.get(_token_hash(token))
    return None if hit is None else _principal_of(ctx, hit[1], kind)


def principal_for_token(ctx: Context, token: str, *, kind: str | None = None) -> Principal:
    """The user a bearer or session token belongs to; Unauthorized if it is unknown, revoked or expired."""
    digest = _token_hash(token)
    cache = ctx.tokens
    hit = cache.get(digest)
    if hit is not None:
        return _principal_of(ctx, hit[1], kind)
    read_at, revocations = time.monotonic(), cache.revocations
    with ctx.engine.connect() as conn:
        row = conn.execute(_BY_TOKEN, {"b_hash": digest}).first()
    if row is not None and cache.revocations == revocations:
        cache.put(digest, read_at, row)
    return _principal_of(ctx, row, kind)


def revoke_token(ctx: Context, token: str) -> None:
    digest = _token_hash(token)
    cache = ctx.tokens
    cache.revocations += 1
    ctx.write(lambda conn: conn.execute(delete(ApiToken).where(ApiToken.token_hash == digest)))
    cache.revocations += 1
    cache.rows.pop(digest, None)


def create_team(ctx: Context, principal: Principal, name: str, description: str = "") -> TeamView:
    if not may_manage_teams(principal):
        raise Forbidden("only requesters and admins create work teams")
    validate_team_name(name)

    def unit(conn: Connection) -> int:
        try:
            tid: int = conn.execute(
                insert(Team).values(name=name, name_key=name.lower(), description=description[:200],
                                    created_at=ctx.clock())
            ).inserted_primary_key[0]
        except IntegrityError:
            raise ResourceInUse(f"work team '{name}' already exists", field="WorkteamName") from None
        record(conn, "team.created", at=ctx.clock(), actor=principal.username, team=name)
        return tid

    return TeamView(id=ctx.write(unit), name=name, description=description, members=[])


def team_id(conn: Connection, name: str) -> int:
    tid = conn.execute(select(Team.id).where(Team.name_key == name.lower())).scalar()
    if tid is None:
        raise NotFound(f"no work team '{name}'", field="team")
    return int(tid)


def add_members(ctx: Context, principal: Principal, team: str, usernames: list[str]) -> TeamView:
    if not may_manage_teams(principal):
        raise Forbidden("only requesters and admins manage work teams")

    def unit(conn: Connection) -> None:
        tid = team_id(conn, team)
        for username in usernames:
            user = get_user(conn, username)
            exists = conn.execute(
                select(TeamMember.user_id).where(TeamMember.team_id == tid, TeamMember.user_id == user.id)
            ).first()
            if not exists:
                conn.execute(insert(TeamMember).values(team_id=tid, user_id=user.id))
                record(conn, "team.member_added", at=ctx.clock(), actor=principal.username, worker_id=user.id, team=team)

    ctx.write(unit)
    return describe_team(ctx, team)


def describe_team(ctx: Context, name: str) -> TeamView:
    with ctx.engine.connect() as conn:
        tid = team_id(conn, name)
        row = conn.execute(select(Team.name, Team.description).where(Team.id == tid)).one()
        members = conn.execute(
            select(User.username).join(TeamMember, TeamMember.user_id == User.id).where(TeamMember.team_id == tid)
            .order_by(User.username)
        ).scalars().all()
    return TeamView(id=tid, name=row.name, description=row.description, members=list(members))


def list_teams(ctx: Context, principal: Principal) -> list[TeamView]:
    """Requesters and admins see every team with its members; a worker sees only the teams they are
    in, without the other members' names."""
    query = select(Team.name).order_by(Team.name)
    manager = may_manage_teams(principal)
    if not manager:
        query = query.join(TeamMember, TeamMember.team_id == Team.id).where(TeamMember.user_id == principal.id)
    with ctx.engine.connect() as conn:
        names = conn.execute(query).scalars().all()
    teams = [describe_team(ctx, n) for n in names]
    if not manager:
        teams = [TeamView(id=t.id, name=t.name, description=t.description) for t in teams]
    return teams
