"""Tables. Every constraint and index is named; JSON is stored as text so both engines read it the same."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _ts() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=False))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # admin | requester | worker
    created_at: Mapped[datetime] = _ts()
    # a stable opaque id: the ``sub`` of the worker's identity in Ground Truth's output (never the username)
    sub: Mapped[str | None] = mapped_column(String(36), index=True, unique=True, nullable=True,
                                            default=lambda: str(uuid.uuid4()))


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="api")  # api | session
    name: Mapped[str | None] = mapped_column(String(128), nullable=True)  # what the user called it
    created_at: Mapped[datetime] = _ts()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
    # an access key (kind "access_key"): its public id and its secret sealed with the installation's key
    access_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    secret_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)


class AwsJob(Base):
    """The CreateLabelingJob request of a job made through the SageMaker API, echoed by DescribeLabelingJob
    (its RoleArn is ``jobs.role_arn``)."""

    __tablename__ = "aws_jobs"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    request: Mapped[str] = mapped_column(Text)  # JSON, without Tags


class AwsTag(Base):
    """A tag of a resource of the SageMaker API (AddTags, ListTags, DeleteTags), by the resource's ARN."""

    __tablename__ = "aws_tags"
    __table_args__ = (UniqueConstraint("resource_arn", "key", name="uq_aws_tags_resource_arn_key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    resource_arn: Mapped[str] = mapped_column(String(512))
    key: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(String(256))


class HumanTaskUi(Base):
    """A worker task template stored with CreateHumanTaskUi; a job names it by its HumanTaskUiArn."""

    __tablename__ = "human_task_uis"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)  # lower case, as the API requires
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    template: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts()


class AwsWorkteam(Base):
    """A work team's SageMaker fields: the MemberDefinitions its membership comes from."""

    __tablename__ = "aws_workteams"
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    member_definitions: Mapped[str] = mapped_column(Text)  # JSON, as given
    notification_topic_arn: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    updated_at: Mapped[datetime] = _ts()


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(63))
    name_key: Mapped[str] = mapped_column(String(63), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = _ts()
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)  # None: shared by an admin


class TeamMember(Base):
    __tablename__ = "team_members"
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(63))
    name_key: Mapped[str] = mapped_column(String(63), unique=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    task_type: Mapped[str] = mapped_column(String(64))
    label_attribute_name: Mapped[str] = mapped_column(String(127))
    label_config: Mapped[str] = mapped_column(Text)  # JSON: the label category configuration file
    status: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    workers_per_object: Mapped[int] = mapped_column(Integer)
    task_time_limit_s: Mapped[int] = mapped_column(Integer)
    task_availability_lifetime_s: Mapped[int] = mapped_column(Integer)
    max_concurrent_tasks: Mapped[int] = mapped_column(Integer)
    price_per_task_usd: Mapped[float] = mapped_column(Numeric(10, 5, asdecimal=False))
    title: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(255))
    keywords: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    short_instruction: Mapped[str] = mapped_column(Text, default="")
    full_instruction: Mapped[str] = mapped_column(Text, default="")
    input_manifest_uri: Mapped[str] = mapped_column(Text)
    output_uri: Mapped[str] = mapped_column(Text)  # <S3OutputPath>/<job-name>/
    consolidation_algorithm: Mapped[str] = mapped_column(String(32))
    ui_template: Mapped[str | None] = mapped_column(Text, nullable=True)
    pre_hook: Mapped[str | None] = mapped_column(Text, nullable=True)
    post_hook: Mapped[str | None] = mapped_column(Text, nullable=True)
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _ts()
    updated_at: Mapped[datetime] = _ts()
    ends_at: Mapped[datetime] = _ts()  # created_at + task availability lifetime
    background_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
    background_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the claim's holder
    consolidation_state: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: warm-start state
    output_dirty: Mapped[bool] = mapped_column(Boolean, default=True)
    output_written_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
    # the RoleArn of a job made through the SageMaker API (migration 0007): kept, and passed to its hooks
    role_arn: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    # quality control (migration 0006): adaptive consensus between min_workers_per_object (None: fixed at
    # workers_per_object, the maximum) and workers_per_object while the posterior is below confidence_target;
    # gold objects mixed in at gold_rate; a qualification test; automatic blocks below block_below_accuracy
    min_workers_per_object: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confidence_target: Mapped[float | None] = mapped_column(Float, nullable=True)
    gold_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    gold_rate: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    qualification_tasks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    qualification_min_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    block_below_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)


class DataObject(Base):
    __tablename__ = "data_objects"
    __table_args__ = (
        UniqueConstraint("job_id", "position", name="uq_data_objects_job_position"),
        Index("ix_data_objects_job_status_position", "job_id", "status", "position"),
        Index("ix_data_objects_job_gold_position", "job_id", "is_gold", "position"),
        Index("ix_data_objects_job_labeled_at", "job_id", "labeled_at"),  # the console's rate and chart (0010)
        Index("ix_data_objects_job_counters", "job_id", "gold_extra", "status", "human_annotated"),  # LabelCounters (0010)
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # datasetObjectId
    line: Mapped[str] = mapped_column(Text)  # the input manifest line, untouched
    source_ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    task_input: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON from the pre-annotation hook
    # preprocessing (waits for the pre-annotation hook) | pending | ready | labeled | failed | skipped
    status: Mapped[str] = mapped_column(String(16))
    active_count: Mapped[int] = mapped_column(Integer, default=0)  # leased + submitted tasks
    answer_count: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON value under the LAN
    label_metadata: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON <LAN>-metadata
    human_annotated: Mapped[bool] = mapped_column(Boolean, default=True)
    failure_reason: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    labeled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
    # answers wanted now (adaptive consensus; None: the job's workers_per_object; 0 for gold objects)
    wanted: Mapped[int | None] = mapped_column(Integer, nullable=True)
    gold: Mapped[str | None] = mapped_column(Text, nullable=True)  # a gold object's known class
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # from a separate gold file, not the input manifest: not in the output manifest nor in LabelCounters
    gold_extra: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Task(Base):
    """One worker's turn on one data object."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("object_id", "worker_id", name="uq_tasks_object_worker"),
        Index("ix_tasks_job_status_expires", "job_id", "status", "lease_expires_at"),
        Index("ix_tasks_worker_job_status", "worker_id", "job_id", "status"),
        Index("ix_tasks_job_status_discarded_finished", "job_id", "status", "discarded", "finished_at"),  # cost, throughput (0010)
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    object_id: Mapped[int] = mapped_column(ForeignKey("data_objects.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16))  # leased | submitted | released | expired | stopped
    leased_at: Mapped[datetime] = _ts()
    lease_expires_at: Mapped[datetime] = _ts()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON answerContent
    time_spent_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    # the answer no longer counts: its worker was blocked from the job (quality control)
    discarded: Mapped[bool] = mapped_column(Boolean, server_default=false())  # no Python default: Prepared inserts


class JobWorker(Base):
    """A worker's standing on one job (quality control): answers, gold answers and how many were right,
    agreement with the consolidated labels, and whether they are blocked from it."""

    __tablename__ = "job_workers"
    job_id: Mapped[int] = mapped_column(Id, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    worker_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    answers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    gold_answers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    gold_correct: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    agreed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    compared: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    blocked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
    blocked_reason: Mapped[str | None] = mapped_column(String(1024), nullable=True)


class Hook(Base):
    """A Lambda-style Python hook an admin registered under a name (``labelloop hooks register``): its code as
    the zip Lambda deploys, run in a subprocess of its own for each call (``services/lambda_runner.py``)."""

    __tablename__ = "hooks"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    handler: Mapped[str] = mapped_column(String(200))  # module.function, e.g. lambda_function.lambda_handler
    code_zip: Mapped[bytes] = mapped_column(LargeBinary)
    code_sha256: Mapped[str] = mapped_column(String(64))
    timeout_s: Mapped[float] = mapped_column(Float)
    environment: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the hook's own environment variables
    created_at: Mapped[datetime] = _ts()
    created_by: Mapped[str] = mapped_column(String(128))


class Installation(Base):
    """Facts of this installation every process and machine shares (the secret key)."""

    __tablename__ = "installation"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SignInFailure(Base):
    """A failed sign-in, by account and by address (``key``), for the shared sign-in limit."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(400))
    at: Mapped[datetime] = _ts()


class StorageAllow(Base):
    """An admin's storage access policy entry (``labelloop storage allow``): a local root, an S3 bucket or
    prefix, an http(s) host or an address network; merged with ``LABELLOOP_STORAGE_ALLOW``."""

    __tablename__ = "storage_allow"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    entry: Mapped[str] = mapped_column(String(1000), unique=True)
    created_at: Mapped[datetime] = _ts()
    created_by: Mapped[str] = mapped_column(String(128))


class Event(Base):
    """The append-only audit trail."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_job_id", "job_id", "id"),
        Index("ix_events_worker_id", "worker_id", "id"),
        Index("ix_events_job_object", "job_id", "dataset_object_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = _ts()
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))  # username, or "system"
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dataset_object_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    worker_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="{}")


class Invite(Base):
    """A sign-up link to a work team (``services/invites.py``): only the SHA-256 of its token is kept; it
    is used once, before ``expires_at``, unless revoked (migration 0011)."""

    __tablename__ = "invites"
    __table_args__ = (Index("ix_invites_team_id", "team_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    team_id: Mapped[int] = mapped_column(Id, ForeignKey("teams.id", ondelete="CASCADE"))
    created_by: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"))
    note: Mapped[str] = mapped_column(String(128), default="", server_default="")  # whom it was sent to
    created_at: Mapped[datetime] = _ts()
    expires_at: Mapped[datetime] = _ts()
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
    used_by: Mapped[int | None] = mapped_column(Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)


class AutoLabelJob(Base):
    """A job's automated data labeling (migration 0009): its target and stopping conditions, the model it
    trains, and where it is (``state``: labeling | done | stopped | failed; ``round``: rounds finished)."""

    __tablename__ = "autolabel_jobs"
    job_id: Mapped[int] = mapped_column(Id, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    target: Mapped[float] = mapped_column(Float)
    max_human: Mapped[int | None] = mapped_column(Integer, nullable=True)  # MaxHumanLabeledObjectCount
    max_percentage: Mapped[int | None] = mapped_column(Integer, nullable=True)  # MaxPercentageOfInputDatasetLabeled
    model: Mapped[str] = mapped_column(Text)  # builtin:<featurizer> or a predictor's URL
    initial_model_arn: Mapped[str | None] = mapped_column(String(256), nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    seed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    validation_size: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    final_model_arn: Mapped[str | None] = mapped_column(String(256), nullable=True)
    failure: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = _ts()
    updated_at: Mapped[datetime] = _ts()


class AutoLabelRound(Base):
    """One finished round; ``figures`` is the JSON of ``services.views.AutoLabelRoundView``'s numbers."""

    __tablename__ = "autolabel_rounds"
    __table_args__ = (UniqueConstraint("job_id", "round", name="uq_autolabel_rounds_job_round"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(Id, ForeignKey("jobs.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    finished_at: Mapped[datetime] = _ts()
    figures: Mapped[str] = mapped_column(Text)


class AutoLabelModel(Base):
    """A trained model kept by its ARN-like id (``FinalActiveLearningModelArn``); a later job may start from it
    (``InitialActiveLearningModelArn``). It outlives its job."""

    __tablename__ = "autolabel_models"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    arn: Mapped[str] = mapped_column(String(256), unique=True)
    job_name: Mapped[str] = mapped_column(String(63))
    owner_id: Mapped[int | None] = mapped_column(Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    round: Mapped[int] = mapped_column(Integer)
    featurizer: Mapped[str] = mapped_column(String(64))
    labels: Mapped[str] = mapped_column(Text)  # JSON list: the classes, in the job's order
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _ts()


class AutoLabelObject(Base):
    """An object's part in automated labeling: picked for people (``role`` validation | train, in ``round``),
    and its cached feature vector (float32 bytes, by ``featurizer``)."""

    __tablename__ = "autolabel_objects"
    __table_args__ = (Index("ix_autolabel_objects_job_role", "job_id", "role"),)
    object_id: Mapped[int] = mapped_column(Id, ForeignKey("data_objects.id", ondelete="CASCADE"), primary_key=True)
    job_id: Mapped[int] = mapped_column(Id)
    role: Mapped[str | None] = mapped_column(String(12), nullable=True)
    round: Mapped[int | None] = mapped_column(Integer, nullable=True)
    featurizer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    vector: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
