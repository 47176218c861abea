"""Ground Truth compatibility: registered hooks and stable identity ids

Revision ID: 0008
Revises: 0007
"""
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hooks",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("handler", sa.String(200), nullable=False),
        sa.Column("code_zip", sa.LargeBinary(), nullable=False),
        sa.Column("code_sha256", sa.String(64), nullable=False),
        sa.Column("timeout_s", sa.Float(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hooks")),
        sa.UniqueConstraint("name", name=op.f("uq_hooks_name")),
    )
    # no batch (table copy) on SQLite: dropping the old users table would cascade to tokens and teams
    op.add_column("users", sa.Column("sub", sa.String(36), nullable=True))
    op.create_index(op.f("ix_users_sub"), "users", ["sub"], unique=True)
    conn = op.get_bind()
    users = sa.table("users", sa.column("id", Id), sa.column("sub", sa.String(36)))
    for (user_id,) in conn.execute(sa.select(users.c.id).where(users.c.sub.is_(None))).all():
        conn.execute(users.update().where(users.c.id == user_id).values(sub=str(uuid.uuid4())))


def downgrade() -> None:
    op.drop_index(op.f("ix_users_sub"), table_name="users")
    op.drop_column("users", "sub")  # SQLite 3.35+ drops a column in place
    op.drop_table("hooks")
