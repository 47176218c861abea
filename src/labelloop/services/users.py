"""Users, passwords (argon2), API tokens and sessions, work teams."""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from labelloop.core.access import Principal, Role, may_manage_team, may_manage_teams, may_see_team, may_use_team
from labelloop.core.errors import Forbidden, NotFound, ResourceInUse, Unauthorized, ValidationError
from labelloop.core.names import validate_team_name
from labelloop.db.models import ApiToken, Team, TeamMember, User
from labelloop.services.access import is_member_sql, may_see_team_sql
from labelloop.services.events import record
from labelloop.services.views import CredentialView, TeamView

if TYPE_CHECKING:
    from labelloop.services.context import Context

ROLES = tuple(Role)
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024  # longer is refused before any hashing (argon2 of a huge string is a cheap DoS)
MAX_USERNAME_CHARS = 128
TOKEN_KINDS = ("api", "session")  # the AWS-style access keys of the Ground Truth API will be a third kind
_hasher = PasswordHasher()
_DUMMY_HASH: str | None = None  # made on first use: a full argon2 hash costs ~0.1 s at every process start


def _dummy_hash() -> str:
    """A hash to verify against for unknown users, so that timing tells nothing."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not-a-password")
    return _DUMMY_HASH


_SLOTS: dict[int, threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


def hash_slots(ctx: Context) -> threading.BoundedSemaphore:
    """The process's bound on argon2 hashes in flight (``settings.password_hashes_in_flight``): each holds
    64 MiB while it runs, so 8 request threads signing in at once would otherwise take 512 MiB."""
    size = ctx.settings.password_hashes_in_flight
    with _SLOTS_LOCK:
        return _SLOTS.setdefault(size, threading.BoundedSemaphore(size))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(ctx: Context, username: str, password: str, role: str, *, actor: str = "system") -> Principal:
    """Create a user; the password is stored as an argon2 hash."""
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}; got '{role}'", field="role")
    if not username or len(username) > MAX_USERNAME_CHARS or not username.isprintable() or " " in username:
        raise ValidationError("username must be 1-128 printable characters without spaces", field="username")
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValidationError("password must be at least 8 characters", field="password")
    check_password_length(password)
    with hash_slots(ctx):
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


def check_password_length(password: str) -> None:
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValidationError(f"password must be at most {MAX_PASSWORD_CHARS} characters", field="password")
    if "\x00" in password:
        raise ValidationError("password must not contain NUL characters", field="password")


def check_sign_in_input(username: str, password: str) -> None:
    """What a sign-in refuses before any lookup or hashing (400): NUL characters, overlong values."""
    if "\x00" in username or len(username) > MAX_USERNAME_CHARS:
        raise ValidationError("username must be at most 128 characters, without NUL", field="username")
    check_password_length(password)


def check_password(ctx: Context, username: str, password: str) -> Principal:
    """Verify a password; the same work is done for unknown users, so timing tells nothing."""
    check_sign_in_input(username, password)
    with ctx.engine.connect() as conn:
        row = conn.execute(select(User.__table__).where(User.username == username)).first()
    try:
        stored = row.password_hash if row else _dummy_hash()
        with hash_slots(ctx):
            _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("wrong username or password") from None
    if row is None:
        raise Unauthorized("wrong username or password")
    return Principal(row.id, row.username, row.role)


def issue_token(ctx: Context, principal: Principal, *, kind: str = "api", ttl_s: int | None = None,
                name: str | None = None) -> str:
    """A new random bearer token (only its SHA-256 is stored)."""
    if name is not None and len(name) > 128:
        raise ValidationError("a token's name is at most 128 characters", field="name")
    token = secrets.token_urlsafe(32)
    now = ctx.clock()
    ctx.write(lambda conn: conn.execute(insert(ApiToken).values(
        user_id=principal.id, token_hash=_token_hash(token), kind=kind, created_at=now, name=name,
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


# One credentials model: session tokens (the portal's cookie), API tokens (bearer) and, with the Ground
# Truth API, AWS-style access keys are rows of api_tokens told apart by ``kind``; each is listed and
# revoked by its id, by its user or an admin.

_CREDENTIALS = select(ApiToken.id, ApiToken.kind, ApiToken.name, ApiToken.created_at, ApiToken.expires_at,
                      User.username).join(User, User.id == ApiToken.user_id)


def list_credentials(ctx: Context, principal: Principal, *, user: str | None = None) -> list[CredentialView]:
    """The unexpired credentials of ``principal`` (or, for admins, of ``user``), oldest first."""
    if user is not None and user != principal.username and not principal.is_admin:
        raise Forbidden("only admins list other users' credentials", field="user")
    with ctx.engine.connect() as conn:
        owner = get_user(conn, user) if user is not None else principal
        now = ctx.clock()
        rows = conn.execute(_CREDENTIALS.where(ApiToken.user_id == owner.id)
                            .where((ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now))
                            .order_by(ApiToken.id)).all()
    return [CredentialView(id=r.id, kind=r.kind, name=r.name, username=r.username, created_at=r.created_at,
                           expires_at=r.expires_at) for r in rows]


def revoke_credential(ctx: Context, principal: Principal, credential_id: int) -> None:
    """Delete a credential by its id: its user's own, or any for admins (others' are 404, not 403, so ids
    tell nothing). The process that revokes stops accepting it at once; others within TOKEN_CACHE_S."""
    cache = ctx.tokens
    cache.revocations += 1

    def unit(conn: Connection) -> str:
        q = select(ApiToken.token_hash, ApiToken.user_id, ApiToken.kind).where(ApiToken.id == credential_id)
        row = conn.execute(q).first()
        if row is None or not (principal.is_admin or row.user_id == principal.id):
            raise NotFound(f"no credential {credential_id}", field="id")
        conn.execute(delete(ApiToken).where(ApiToken.id == credential_id))
        record(conn, "credential.revoked", at=ctx.clock(), actor=principal.username, worker_id=row.user_id,
               credential=credential_id, credential_kind=row.kind)
        return str(row.token_hash)

    try:
        digest = ctx.write(unit)
    finally:
        cache.revocations += 1
    cache.rows.pop(digest, None)


def create_team(ctx: Context, principal: Principal, name: str, description: str = "", *,
                owner: str | None = None) -> TeamView:
    """A team made by a requester is theirs; one made by an admin is shared (any requester may send jobs to
    it, only admins change it) unless the admin names an ``owner`` (a requester)."""
    if not may_manage_teams(principal):
        raise Forbidden("only requesters and admins create work teams")
    validate_team_name(name, field="name")
    if owner is not None and not principal.is_admin:
        raise Forbidden("only admins create a team for another requester", field="owner")
    if len(description) > 200 or "\x00" in description:
        raise ValidationError("description is at most 200 characters, without NUL", field="description")

    def unit(conn: Connection) -> tuple[int, int | None]:
        owner_id: int | None = None if principal.is_admin else principal.id
        if owner is not None:
            o = get_user(conn, owner)
            if o.role != Role.REQUESTER:
                raise ValidationError(f"the owner of a team is a requester; '{owner}' is {o.role}", field="owner")
            owner_id = o.id
        try:
            tid: int = conn.execute(
                insert(Team).values(name=name, name_key=name.lower(), description=description,
                                    created_at=ctx.clock(), owner_id=owner_id)
            ).inserted_primary_key[0]
        except IntegrityError:
            raise ResourceInUse(f"work team '{name}' already exists", field="name") from None
        record(conn, "team.created", at=ctx.clock(), actor=principal.username, team=name, owner_id=owner_id)
        return tid, owner_id

    tid, owner_id = ctx.write(unit)
    return TeamView(id=tid, name=name, description=description, members=[], owner=_owner_name(ctx, owner_id))


def _owner_name(ctx: Context, owner_id: int | None) -> str | None:
    if owner_id is None:
        return None
    with ctx.engine.connect() as conn:
        return conn.execute(select(User.username).where(User.id == owner_id)).scalar()


def team_id(conn: Connection, name: str) -> int:
    tid = conn.execute(select(Team.id).where(Team.name_key == name.lower())).scalar()
    if tid is None:
        raise NotFound(f"no work team '{name}'", field="team")
    return int(tid)


def team_for_use(conn: Connection, principal: Principal, name: str) -> int:
    """The id of the team ``principal`` sends a job to: 404 when it does not exist, 403 when it is another
    requester's (``core.access.may_use_team``)."""
    row = conn.execute(select(Team.id, Team.owner_id).where(Team.name_key == name.lower())).first()
    if row is None:
        raise NotFound(f"no work team '{name}'", field="team")
    if not may_use_team(principal, row.owner_id):
        raise Forbidden(f"work team '{name}' belongs to another requester", field="team")
    return int(row.id)


def _team_for_change(conn: Connection, principal: Principal, name: str) -> int:
    row = conn.execute(select(Team.id, Team.owner_id, is_member_sql(Team.id, principal.id).label("member"))
                       .where(Team.name_key == name.lower())).first()
    if row is None or not may_see_team(principal, row.owner_id, row.member):
        raise NotFound(f"no work team '{name}'", field="name")
    if not may_manage_team(principal, row.owner_id):
        raise Forbidden(f"only admins and the owner of work team '{name}' change it", field="name")
    return int(row.id)


def add_members(ctx: Context, principal: Principal, team: str, usernames: list[str]) -> TeamView:
    if not may_manage_teams(principal):
        raise Forbidden("only requesters and admins manage work teams")

    def unit(conn: Connection) -> None:
        tid = _team_for_change(conn, principal, team)
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


def remove_member(ctx: Context, principal: Principal, team: str, username: str) -> TeamView:
    """Take a user off a team (their open leases run out as usual; they take no new tasks)."""
    if not may_manage_teams(principal):
        raise Forbidden("only requesters and admins manage work teams")

    def unit(conn: Connection) -> None:
        tid = _team_for_change(conn, principal, team)
        user = get_user(conn, username)
        gone = conn.execute(delete(TeamMember).where(TeamMember.team_id == tid, TeamMember.user_id == user.id))
        if not gone.rowcount:
            raise NotFound(f"'{username}' is not on work team '{team}'", field="username")
        record(conn, "team.member_removed", at=ctx.clock(), actor=principal.username, worker_id=user.id, team=team)

    ctx.write(unit)
    return describe_team(ctx, team)


def describe_team(ctx: Context, name: str) -> TeamView:
    with ctx.engine.connect() as conn:
        tid = team_id(conn, name)
        row = conn.execute(select(Team.name, Team.description, User.username)
                           .outerjoin(User, User.id == Team.owner_id).where(Team.id == tid)).one()
        members = conn.execute(
            select(User.username).join(TeamMember, TeamMember.user_id == User.id).where(TeamMember.team_id == tid)
            .order_by(User.username)
        ).scalars().all()
    return TeamView(id=tid, name=row.name, description=row.description, members=list(members), owner=row.username)


def list_teams(ctx: Context, principal: Principal) -> list[TeamView]:
    """The teams this principal may see (``core.access.may_see_team``): those they may use, with their
    members and owner; the teams they are a member of, without the other members' names."""
    query = (select(Team.name, Team.owner_id).where(may_see_team_sql(principal)).order_by(Team.name))
    with ctx.engine.connect() as conn:
        rows = conn.execute(query).all()
    teams = []
    for name, owner_id in rows:
        t = describe_team(ctx, name)
        teams.append(t if may_use_team(principal, owner_id) else TeamView(id=t.id, name=t.name,
                                                                           description=t.description))
    return teams
