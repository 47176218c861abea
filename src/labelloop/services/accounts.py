"""The console's administration page: users and their roles, everyone's credentials (tokens, sessions and
access keys: listed, revoked through ``services.users.revoke_credential``). Admins only."""

from __future__ import annotations

from sqlalchemy import Connection, func, select, update

from labelloop.core.access import Principal, Role
from labelloop.core.errors import Forbidden, NotFound, ValidationError
from labelloop.db.models import ApiToken, TeamMember, User
from labelloop.services.context import Context
from labelloop.services.events import record
from labelloop.services.views import AccountView, CredentialView

__all__ = ["PAGE", "list_accounts", "list_all_credentials", "set_role"]

PAGE = 100


def _admin_only(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only admins manage users and credentials")


def list_accounts(ctx: Context, principal: Principal, *, role: str | None = None, search: str | None = None,
                  page: int = 1) -> tuple[list[AccountView], bool]:
    """Users by name (``PAGE`` a page), with how many teams each is on; and whether a next page exists."""
    _admin_only(principal)
    if role is not None and role not in tuple(Role):
        raise ValidationError(f"role must be one of {', '.join(Role)}", field="role")
    teams = (select(func.count()).select_from(TeamMember).where(TeamMember.user_id == User.id).scalar_subquery())
    q = select(User.id, User.username, User.role, User.created_at, teams.label("teams")).order_by(User.username)
    if role:
        q = q.where(User.role == role)
    if search:
        q = q.where(User.username.contains(search.replace("\x00", ""), autoescape=True))
    page = max(page, 1)
    with ctx.engine.connect() as conn:
        rows = conn.execute(q.offset((page - 1) * PAGE).limit(PAGE + 1)).all()
    return ([AccountView(id=r.id, username=r.username, role=r.role, created_at=r.created_at, teams=int(r.teams))
             for r in rows[:PAGE]], len(rows) > PAGE)


def set_role(ctx: Context, principal: Principal, username: str, role: str) -> AccountView:
    """Change a user's role; the last admin stays an admin. Their sessions keep working with the new role
    (a token names the user, and the role is read with it)."""
    _admin_only(principal)
    if role not in tuple(Role):
        raise ValidationError(f"role must be one of {', '.join(Role)}", field="role")

    def unit(conn: Connection) -> AccountView:
        row = conn.execute(select(User.id, User.role, User.created_at).where(User.username == username)).first()
        if row is None:
            raise NotFound(f"no user '{username}'", field="username")
        if row.role == Role.ADMIN and role != Role.ADMIN:
            admins = conn.execute(select(func.count()).select_from(User).where(User.role == Role.ADMIN)).scalar()
            if (admins or 0) <= 1:
                raise ValidationError(f"'{username}' is the only admin; make another admin first", field="role")
        if row.role != role:
            conn.execute(update(User).where(User.id == row.id).values(role=role))
            record(conn, "user.role_changed", at=ctx.clock(), actor=principal.username, worker_id=row.id,
                   username=username, role=role, was=row.role)
        n = conn.execute(select(func.count()).select_from(TeamMember).where(TeamMember.user_id == row.id)).scalar()
        return AccountView(id=row.id, username=username, role=role, created_at=row.created_at, teams=int(n or 0))

    view = ctx.write(unit)
    ctx.tokens.rows.clear()  # cached sessions carry the old role: read them again
    return view


def list_all_credentials(ctx: Context, principal: Principal, *, user: str | None = None, kind: str | None = None,
                         limit: int = PAGE) -> list[CredentialView]:
    """Everyone's unexpired credentials (or one user's), newest first, at most ``limit``."""
    _admin_only(principal)
    now = ctx.clock()
    q = (select(ApiToken.id, ApiToken.kind, ApiToken.name, ApiToken.created_at, ApiToken.expires_at, User.username)
         .join(User, User.id == ApiToken.user_id)
         .where((ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now))
         .order_by(ApiToken.id.desc()).limit(min(max(limit, 1), 1000)))
    if user:
        q = q.where(User.username == user)
    if kind:
        q = q.where(ApiToken.kind == kind)
    with ctx.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [CredentialView(id=r.id, kind=r.kind, name=r.name, username=r.username, created_at=r.created_at,
                           expires_at=r.expires_at) for r in rows]
