"""``labelloop hooks``: Lambda-style Python hooks an admin registers under a name (docs/hooks-and-templates.md)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from labelloop.core.errors import LabelloopError

hooks_app = typer.Typer(help="Pre- and post-annotation hooks written as AWS Lambda functions: registered by an "
                             "admin, chosen by jobs as lambda:NAME (or the function's Lambda ARN).",
                        no_args_is_help=True)


def _opt_db() -> str | None:
    return typer.Option(None, "--database-url", envvar="LABELLOOP_DATABASE_URL", help="SQLAlchemy database URL.")


def _env(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"'{item}' is not NAME=VALUE", param_hint="--env")
        out[key] = value
    return out


@hooks_app.command("register")
def hooks_register(
    name: str = typer.Argument(..., help="The hook's name (a Lambda function name: letters, digits, - and _)."),
    code: Path = typer.Argument(..., exists=True, help="A folder or .zip laid out as Lambda deploys it, or one .py."),
    handler: str = typer.Option("lambda_function.lambda_handler", help="module.function, as Lambda's Handler."),
    timeout_s: float = typer.Option(30.0, "--timeout-s", help="Seconds one call may run (Lambda's Timeout)."),
    env: list[str] = typer.Option([], "--env", help="NAME=VALUE in the hook's environment (repeat)."),
    replace: bool = typer.Option(False, "--replace", help="Replace a hook of that name."),
    as_user: str | None = typer.Option(None, "--as", help="Admin to act as (default: the first admin)."),
    database_url: str | None = _opt_db(),
):
    """Register CODE as the hook NAME. Hooks are code that runs on the server: only an admin registers them."""
    from labelloop.cli.main import _admin, _ctx, _fail, out
    from labelloop.services import hooks

    ctx = _ctx(database_url)
    try:
        view = hooks.register_hook(ctx, _admin(ctx, as_user), name, code.resolve(), handler=handler,
                                   timeout_s=timeout_s, environment=_env(env), replace=replace)
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"registered lambda:{view.name} ({view.handler}, {view.code_bytes:,} bytes, "
              f"timeout {view.timeout_s:g} s)", soft_wrap=True, markup=False)


@hooks_app.command("list")
def hooks_list(json_out: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
               database_url: str | None = _opt_db()):
    """List the registered hooks (what jobs may name as lambda:NAME)."""
    from labelloop.cli.main import _ctx, out
    from labelloop.services import hooks

    views = hooks.list_hooks(_ctx(database_url))
    if json_out:
        for v in views:
            print(json.dumps({"name": v.name, "ref": f"lambda:{v.name}", "handler": v.handler,
                              "timeout_s": v.timeout_s, "code_sha256": v.code_sha256, "code_bytes": v.code_bytes,
                              "created_at": v.created_at.isoformat(), "created_by": v.created_by}))
        return
    table = Table("ref", "handler", "timeout (s)", "code", "registered", "by")
    for v in views:
        table.add_row(f"lambda:{v.name}", v.handler, f"{v.timeout_s:g}", f"{v.code_bytes:,} B {v.code_sha256[:12]}",
                      v.created_at.strftime("%Y-%m-%d %H:%M"), v.created_by)
    out.print(table)


@hooks_app.command("remove")
def hooks_remove(name: str = typer.Argument(..., help="The hook's name."),
                 as_user: str | None = typer.Option(None, "--as", help="Admin to act as (default: the first admin)."),
                 database_url: str | None = _opt_db()):
    """Remove a registered hook. Jobs that name it fail the objects it would have handled, with the reason."""
    from labelloop.cli.main import _admin, _ctx, _fail, out
    from labelloop.services import hooks

    ctx = _ctx(database_url)
    try:
        hooks.remove_hook(ctx, _admin(ctx, as_user), name)
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"removed lambda:{name}")
