"""Automated data labeling: rounds, model state, embeddings cache

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "autolabel_jobs",
        sa.Column("job_id", Id, nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("max_human", sa.Integer(), nullable=True),
        sa.Column("max_percentage", sa.Integer(), nullable=True),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("initial_model_arn", sa.String(256), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("seed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("validation_size", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("final_model_arn", sa.String(256), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_autolabel_jobs_job_id_jobs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_autolabel_jobs")),
    )
    op.create_table(
        "autolabel_rounds",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("job_id", Id, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_autolabel_rounds_job_id_jobs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autolabel_rounds")),
        sa.UniqueConstraint("job_id", "round", name="uq_autolabel_rounds_job_round"),
    )
    op.create_table(
        "autolabel_models",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("arn", sa.String(256), nullable=False),
        sa.Column("job_name", sa.String(63), nullable=False),
        sa.Column("owner_id", Id, nullable=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("featurizer", sa.String(64), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_autolabel_models_owner_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autolabel_models")),
        sa.UniqueConstraint("arn", name=op.f("uq_autolabel_models_arn")),
    )
    op.create_table(
        "autolabel_objects",
        sa.Column("object_id", Id, nullable=False),
        sa.Column("job_id", Id, nullable=False),
        sa.Column("role", sa.String(12), nullable=True),
        sa.Column("round", sa.Integer(), nullable=True),
        sa.Column("featurizer", sa.String(64), nullable=True),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["object_id"], ["data_objects.id"],
                                name=op.f("fk_autolabel_objects_object_id_data_objects"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("object_id", name=op.f("pk_autolabel_objects")),
    )
    op.create_index("ix_autolabel_objects_job_role", "autolabel_objects", ["job_id", "role"])


def downgrade() -> None:
    op.drop_index("ix_autolabel_objects_job_role", table_name="autolabel_objects")
    op.drop_table("autolabel_objects")
    op.drop_table("autolabel_models")
    op.drop_table("autolabel_rounds")
    op.drop_table("autolabel_jobs")
