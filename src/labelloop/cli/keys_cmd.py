"""``labelloop keys``: access key pairs for the SageMaker API (boto3, the AWS CLI), as the first admin."""

from __future__ import annotations

import typer
from rich.table import Table

from labelloop.core.errors import LabelloopError

keys_app = typer.Typer(help="Access keys for the SageMaker API (/aws/sagemaker): boto3 and the AWS CLI sign "
                            "requests with them (docs/aws-api.md).", no_args_is_help=True)


def _opt_db() -> str | None:
    return typer.Option(None, "--database-url", envvar="LABELLOOP_DATABASE_URL", help="SQLAlchemy database URL.")


@keys_app.command("create")
def keys_create(
    user: str = typer.Argument(..., help="The requester (or admin) the key belongs to; it sees what they see."),
    name: str | None = typer.Option(None, help="What the key is for (shown by `keys list`)."),
    database_url: str | None = _opt_db(),
):
    """Make an access key pair for USER. The secret is printed once, as the two environment variables AWS
    tools read; it cannot be shown again."""
    from labelloop.cli.main import _admin, _ctx, _fail, out
    from labelloop.services import keys

    ctx = _ctx(database_url)
    try:
        key = keys.create_key(ctx, _admin(ctx, None), user=user, name=name)
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"AWS_ACCESS_KEY_ID={key.access_key_id}", soft_wrap=True)
    out.print(f"AWS_SECRET_ACCESS_KEY={key.secret_access_key}", soft_wrap=True)
    settings = ctx.settings
    out.print(f"# endpoint: http://{settings.host}:{settings.port}/aws/sagemaker (region {settings.aws_region});"
              " the secret is not shown again", soft_wrap=True, markup=False)


@keys_app.command("list")
def keys_list(
    user: str | None = typer.Option(None, help="Whose keys ('*': everyone's; default: the first admin's)."),
    database_url: str | None = _opt_db(),
):
    """List access keys: their ids, users and names, never the secrets."""
    from labelloop.cli.main import _admin, _ctx, _fail, out
    from labelloop.services import keys
    from labelloop.web import render

    ctx = _ctx(database_url)
    table = Table("access key id", "user", "name", "created", "credential id")
    try:
        for k in keys.list_keys(ctx, _admin(ctx, None), user=user):
            table.add_row(k.access_key_id, k.username, k.name or "", render.v1_time(k.created_at), str(k.id))
    except LabelloopError as exc:
        _fail(exc)
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(access_key_id: str, database_url: str | None = _opt_db()):
    """Revoke an access key; requests signed with it fail at once."""
    from labelloop.cli.main import _admin, _ctx, _fail, out
    from labelloop.services import keys

    ctx = _ctx(database_url)
    try:
        keys.revoke_key(ctx, _admin(ctx, None), access_key_id)
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"revoked access key {access_key_id}")
