"""Requester console: hand corrections of labels

The console's figures read a job's counters and recent activity on every page and every 2 s on the job
page; three indexes make those index-only range reads instead of scans of a job's objects or tasks:
objects labeled since a moment (rate, ETA, the progress chart); counted answers, in all and since a moment
(cost, throughput); the objects' states (LabelCounters: status and human/machine, without a gold file's
objects). Hand corrections need no column: they are recorded in the
object's label metadata (``labelloop-corrected-by``) and in the audit trail (``label.corrected``).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_index("ix_data_objects_job_labeled_at", "data_objects", ["job_id", "labeled_at"])
    op.create_index("ix_data_objects_job_counters", "data_objects", ["job_id", "gold_extra", "status", "human_annotated"])
    op.create_index("ix_tasks_job_status_discarded_finished", "tasks", ["job_id", "status", "discarded", "finished_at"])


def downgrade() -> None:
    op.drop_index("ix_tasks_job_status_discarded_finished", table_name="tasks")
    op.drop_index("ix_data_objects_job_counters", table_name="data_objects")
    op.drop_index("ix_data_objects_job_labeled_at", table_name="data_objects")
