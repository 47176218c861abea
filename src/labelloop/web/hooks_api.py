"""``GET /api/v1/hooks``: the Lambda-style hooks an admin registered, which a requester's jobs may name as
``lambda:NAME`` (registering stays on the CLI: it puts code on the server)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, Field

from labelloop.services import hooks
from labelloop.services.context import Context, Principal
from labelloop.web.deps import get_ctx, get_principal
from labelloop.web.openapi import documented
from labelloop.web.render import v1_time

router = APIRouter(prefix="/api/v1")


class HookOut(BaseModel):
    name: str = Field(description="The hook's name: a job names it as lambda:NAME, or as a Lambda ARN ending in "
                                  "function:NAME.")
    ref: str = Field(description="What a job's pre_hook or post_hook says to use it: lambda:NAME.")
    handler: str = Field(description="module.function the call runs, as Lambda's Handler.")
    timeout_s: float = Field(description="Seconds one call may run.")
    code_sha256: str = Field(description="SHA-256 of the code's zip.")
    created_at: str
    created_by: str


class HookList(BaseModel):
    hooks: list[HookOut]


@router.get("/hooks", tags=["hooks"], **documented(HookList, 403))
def list_hooks(ctx: Context = Depends(get_ctx), me: Principal = Depends(get_principal)):
    """The registered hooks (requesters and admins: workers make no jobs)."""
    return {"hooks": [{"name": v.name, "ref": f"lambda:{v.name}", "handler": v.handler, "timeout_s": v.timeout_s,
                       "code_sha256": v.code_sha256, "created_at": v1_time(v.created_at), "created_by": v.created_by}
                      for v in hooks.list_hooks(ctx, me)]}


def install(app: FastAPI) -> None:
    app.include_router(router)
