"""quality control: job consensus range and confidence target, gold objects, qualification, worker blocks

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

def _job_columns() -> tuple[sa.Column, ...]:
    return (
        sa.Column("min_workers_per_object", sa.Integer(), nullable=True),
        sa.Column("confidence_target", sa.Float(), nullable=True),
        sa.Column("gold_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("gold_rate", sa.Float(), nullable=False, server_default="0"),
        sa.Column("qualification_tasks", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("qualification_min_accuracy", sa.Float(), nullable=True),
        sa.Column("block_below_accuracy", sa.Float(), nullable=True),
    )


def _object_columns() -> tuple[sa.Column, ...]:
    return (
        sa.Column("wanted", sa.Integer(), nullable=True),
        sa.Column("gold", sa.Text(), nullable=True),
        sa.Column("is_gold", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("gold_extra", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def upgrade() -> None:
    for column in _job_columns():
        op.add_column("jobs", column)
    for column in _object_columns():
        op.add_column("data_objects", column)
    op.add_column("tasks", sa.Column("discarded", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "job_workers",
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("worker_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("gold_answers", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("gold_correct", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("agreed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("compared", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("blocked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("blocked_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("blocked_reason", sa.String(1024), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_workers_job_id_jobs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["worker_id"], ["users.id"], name=op.f("fk_job_workers_worker_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "worker_id", name=op.f("pk_job_workers")),
    )
    op.create_index("ix_data_objects_job_gold_position", "data_objects", ["job_id", "is_gold", "position"])


def downgrade() -> None:
    op.drop_index("ix_data_objects_job_gold_position", table_name="data_objects")
    op.drop_table("job_workers")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("discarded")
    with op.batch_alter_table("data_objects") as batch:
        for column in reversed(_object_columns()):
            batch.drop_column(column.name)
    with op.batch_alter_table("jobs") as batch:
        for column in reversed(_job_columns()):
            batch.drop_column(column.name)
