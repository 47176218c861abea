"""the SageMaker API: access keys, tags, human task UIs, workteam fields

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_key_id", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("secret_sealed", sa.Text(), nullable=True))
        batch_op.create_unique_constraint("uq_api_tokens_access_key_id", ["access_key_id"])
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role_arn", sa.String(2048), nullable=True))
    op.create_table(
        "aws_jobs",
        sa.Column("job_id", Id, nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_aws_jobs_job_id_jobs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_aws_jobs")),
    )
    op.create_table(
        "aws_tags",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("resource_arn", sa.String(512), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aws_tags")),
        sa.UniqueConstraint("resource_arn", "key", name="uq_aws_tags_resource_arn_key"),
    )
    op.create_table(
        "human_task_uis",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("owner_id", Id, nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_human_task_uis_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_human_task_uis")),
        sa.UniqueConstraint("name", name=op.f("uq_human_task_uis_name")),
    )
    op.create_table(
        "aws_workteams",
        sa.Column("team_id", Id, nullable=False),
        sa.Column("member_definitions", sa.Text(), nullable=False),
        sa.Column("notification_topic_arn", sa.String(2048), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_aws_workteams_team_id_teams"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_aws_workteams")),
    )


def downgrade() -> None:
    op.drop_table("aws_workteams")
    op.drop_table("human_task_uis")
    op.drop_table("aws_tags")
    op.drop_table("aws_jobs")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("role_arn")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint("uq_api_tokens_access_key_id", type_="unique")
        batch_op.drop_column("secret_sealed")
        batch_op.drop_column("access_key_id")
