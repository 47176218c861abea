"""storage policy: the admin's allowed local roots, S3 prefixes, http(s) hosts and address networks

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "storage_allow",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("entry", sa.String(1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_allow")),
        sa.UniqueConstraint("entry", name=op.f("uq_storage_allow_entry")),
    )


def downgrade() -> None:
    op.drop_table("storage_allow")
