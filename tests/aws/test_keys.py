"""`labelloop keys create|list|revoke`; secrets are sealed at rest with the installation's key; an access key is
never a bearer token."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from labelloop.cli.main import app as cli
from labelloop.db.models import ApiToken
from labelloop.services.keys import create_key, seal, unseal
from labelloop.services.users import list_credentials


def test_keys_cli_makes_lists_and_revokes_a_requesters_key(ctx, people):
    db = ["--database-url", ctx.settings.database_url]
    made = CliRunner().invoke(cli, ["keys", "create", "req", "--name", "laptop", *db])
    assert made.exit_code == 0, made.output
    env = dict(line.split("=", 1) for line in made.output.splitlines() if line.startswith("AWS_"))
    key_id, secret = env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    assert key_id.startswith("LLAK") and len(key_id) == 20 and len(secret) == 40
    listed = CliRunner().invoke(cli, ["keys", "list", "--user", "req", *db])
    assert key_id in listed.output and "laptop" in listed.output and secret not in listed.output
    assert [c.kind for c in list_credentials(ctx, people["req"])] == ["access_key"]
    worker = CliRunner().invoke(cli, ["keys", "create", "w1", *db])
    assert worker.exit_code == 2 and "requesters and admins" in worker.output
    gone = CliRunner().invoke(cli, ["keys", "revoke", key_id, *db])
    assert gone.exit_code == 0 and key_id not in CliRunner().invoke(cli, ["keys", "list", "--user", "*", *db]).output


def test_secrets_are_sealed_bound_to_their_key_and_never_bearer_tokens(ctx, people, app):
    key = create_key(ctx, people["admin"], user="req")
    with ctx.engine.connect() as conn:
        row = conn.execute(select(ApiToken).where(ApiToken.access_key_id == key.access_key_id)).one()
    assert key.secret_access_key not in row.secret_sealed and row.secret_sealed.startswith("v1:")
    assert unseal(ctx, key.access_key_id, row.secret_sealed) == key.secret_access_key
    assert unseal(ctx, "LLAKOTHERKEY00000000", row.secret_sealed) is None  # bound to its id
    assert unseal(ctx, key.access_key_id, seal(ctx, key.access_key_id, "x")[:-4] + "AAAA") is None
    client = TestClient(app)
    for token in (key.access_key_id, key.secret_access_key):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
