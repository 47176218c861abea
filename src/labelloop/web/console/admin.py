"""Administration (``/console/admin``, admins only): users and roles (create a user, change a role),
credentials (everyone's tokens, sessions and access keys: list, revoke) and the storage access policy (what
``labelloop storage allow/disallow/list`` do). Also the job deletion page (``/console/jobs/{name}/delete``),
for the job's owner and admins, which asks for the job's name before anything goes."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from labelloop.core.access import Role
from labelloop.core.errors import Forbidden, LabelloopError
from labelloop.services import accounts, job_delete, jobs, storage_policy, users
from labelloop.services.context import Context, Principal
from labelloop.web.console._shell import console_router, page, requester, requester_write
from labelloop.web.deps import get_ctx

router = console_router()
Me = Annotated[Principal, Depends(requester)]
Writer = Annotated[Principal, Depends(requester_write)]
Ctx = Annotated[Context, Depends(get_ctx)]
Text = Annotated[str, Query(max_length=200)]
KINDS = ("session", "api", "access_key")


def _admin(me: Principal) -> Principal:
    if not me.is_admin:
        raise Forbidden("The administration pages are for admins.")
    return me


def _page(request: Request, ctx: Context, me: Principal, *, status_code: int = 200, errors: dict[str, str] | None = None,
          notice: str | None = None, values: dict[str, str] | None = None, role: str = "", search: str = "",
          user_page: int = 1, cred_user: str = "", cred_kind: str = "") -> HTMLResponse:
    people, more = accounts.list_accounts(ctx, me, role=role or None, search=search or None, page=user_page)
    credentials = accounts.list_all_credentials(ctx, me, user=cred_user or None, kind=cred_kind or None)
    return page(request, "console/admin.html", me, status_code=status_code, active="admin", people=people,
                more_users=more, credentials=credentials, entries=storage_policy.list_entries(ctx),
                roles=list(Role), kinds=KINDS, errors=errors or {}, notice=notice, values=values or {},
                f={"role": role, "q": search, "page": user_page, "cred_user": cred_user, "cred_kind": cred_kind})


@router.get("/admin")
def admin_page(request: Request, me: Me, ctx: Ctx, role: Text = "", q: Text = "",
               page_no: Annotated[int, Query(alias="page", ge=1, le=100000)] = 1, cred_user: Text = "",
               cred_kind: Text = "", done: Text = ""):
    _admin(me)
    if role and role not in tuple(Role):
        role = ""
    if cred_kind and cred_kind not in KINDS:
        cred_kind = ""
    return _page(request, ctx, me, role=role, search=q, user_page=page_no, cred_user=cred_user,
                 cred_kind=cred_kind, notice=done or None)


def _done(message: str, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/console/admin?done={quote(message)}#{anchor}", status_code=303)


async def _fail(request: Request, ctx: Context, me: Principal, form: str, exc: LabelloopError,
                values: dict[str, Any] | None = None) -> HTMLResponse:
    return await run_in_threadpool(lambda: _page(request, ctx, me, status_code=400,
                                                 errors={f"{form}.{exc.field or 'form'}": exc.message},
                                                 values={f"{form}.{k}": str(v) for k, v in (values or {}).items()}))


@router.post("/admin/users")
async def create_user(request: Request, me: Writer, ctx: Ctx, username: Annotated[str, Form(max_length=200)] = "",
                      password: Annotated[str, Form(max_length=2000)] = "",
                      role: Annotated[str, Form(max_length=20)] = "worker"):
    _admin(me)
    try:
        await run_in_threadpool(lambda: users.create_user(ctx, username.strip(), password, role, actor=me.username))
    except LabelloopError as exc:
        return await _fail(request, ctx, me, "user", exc, {"username": username, "role": role})
    return _done(f"User {username.strip()} created ({role}).", "users")


@router.post("/admin/users/{username}/role")
async def change_role(username: str, request: Request, me: Writer, ctx: Ctx,
                      role: Annotated[str, Form(max_length=20)] = ""):
    _admin(me)
    try:
        await run_in_threadpool(accounts.set_role, ctx, me, username, role)
    except LabelloopError as exc:
        return await _fail(request, ctx, me, f"role-{username}", exc)
    return _done(f"{username} is now {role}.", "users")


@router.post("/admin/credentials/{credential_id}/revoke")
async def revoke(credential_id: int, request: Request, me: Writer, ctx: Ctx):
    _admin(me)
    try:
        await run_in_threadpool(users.revoke_credential, ctx, me, credential_id)
    except LabelloopError as exc:
        return await _fail(request, ctx, me, "credentials", exc)
    return _done(f"Credential {credential_id} revoked: it works nowhere now.", "credentials")


@router.post("/admin/storage/allow")
async def storage_allow(request: Request, me: Writer, ctx: Ctx, entry: Annotated[str, Form(max_length=1000)] = ""):
    _admin(me)
    try:
        added = await run_in_threadpool(storage_policy.allow, ctx, me, entry.strip())
    except LabelloopError as exc:
        return await _fail(request, ctx, me, "storage", exc, {"entry": entry})
    return _done(f"Allowed {added}.", "storage")


@router.post("/admin/storage/disallow")
async def storage_disallow(request: Request, me: Writer, ctx: Ctx, entry: Annotated[str, Form(max_length=1000)] = ""):
    _admin(me)
    try:
        removed = await run_in_threadpool(storage_policy.disallow, ctx, me, entry)
    except LabelloopError as exc:
        return await _fail(request, ctx, me, "storage", exc)
    return _done(f"Removed {removed} from the policy.", "storage")


# --- deleting a job ----------------------------------------------------------------------------------

@router.get("/jobs/{name}/delete")
def delete_page(name: str, request: Request, me: Me, ctx: Ctx):
    job = jobs.describe_job(ctx, me, name)
    return page(request, "console/admin_delete_job.html", me, active="jobs", job=job, errors={})


@router.post("/jobs/{name}/delete")
async def delete(name: str, request: Request, me: Writer, ctx: Ctx, confirm: Annotated[str, Form(max_length=200)] = ""):
    try:
        gone = await run_in_threadpool(lambda: job_delete.delete_job(ctx, me, name, confirm=confirm))
    except LabelloopError as exc:
        if exc.field != "confirm" and exc.field is not None and exc.field != "name":
            raise
        job = await run_in_threadpool(jobs.describe_job, ctx, me, name)
        return page(request, "console/admin_delete_job.html", me, status_code=400, active="jobs", job=job,
                    errors={"confirm": exc.message})
    del gone  # its figures are in the job.deleted event the audit log shows next
    return RedirectResponse("/console/audit?kind=job.deleted", status_code=303)
