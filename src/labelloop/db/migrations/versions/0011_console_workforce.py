"""Requester console: sign-up invitations

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "invites",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("team_id", Id, sa.ForeignKey("teams.id", ondelete="CASCADE", name="fk_invites_team_id_teams"),
                  nullable=False),
        sa.Column("created_by", Id, sa.ForeignKey("users.id", ondelete="CASCADE",
                                                  name="fk_invites_created_by_users"), nullable=False),
        sa.Column("note", sa.String(128), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("used_by", Id, sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_invites_used_by_users"),
                  nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=False), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invites_token_hash")),
    )
    op.create_index("ix_invites_team_id", "invites", ["team_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_invites_team_id", table_name="invites")
    op.drop_table("invites")
