"""PostgreSQL speed: indexes for the claim

Revision ID: 0013
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op  # noqa: F401

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
