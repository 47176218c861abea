"""background claims name their owner; jobs keep their consolidation model's warm-start state

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("background_owner", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("consolidation_state", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("consolidation_state")
        batch_op.drop_column("background_owner")
