"""What services return: typed, immutable views of the domain. The edges render them (the v1 JSON in
``labelloop.web.render``; Ground Truth's PascalCase shapes for the AWS API next); URLs, ARNs and the wire
format of timestamps are the edges' business, not the services'."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class LabelCounters:
    """Ground Truth's ``LabelCounters``, computed from the objects' states."""

    total_labeled: int
    human_labeled: int
    machine_labeled: int
    failed_non_retryable_error: int
    unlabeled: int


@dataclass(frozen=True, slots=True)
class LeaseView:
    """An open lease of a job: who holds which task, since when, until when."""

    task_id: int
    dataset_object_id: int
    worker: str
    leased_at: datetime
    lease_expires_at: datetime


@dataclass(frozen=True, slots=True)
class QualitySettings:
    """A job's quality control: workers per object as a range with a confidence target, gold, blocking."""

    min_workers_per_object: int
    max_workers_per_object: int
    confidence_target: float | None
    gold_objects: int
    gold_rate: float
    qualification_tasks: int
    qualification_min_accuracy: float
    block_below_accuracy: float | None


@dataclass(frozen=True, slots=True)
class JobView:
    name: str
    status: str
    failure_reason: str | None
    task_type: str
    label_attribute_name: str
    labels: list[str]
    label_config: dict[str, Any]
    team: str
    workers_per_object: int
    task_time_limit_s: int
    task_availability_lifetime_s: int
    max_concurrent_tasks: int
    price_per_task_usd: float
    title: str
    description: str
    keywords: list[str]
    short_instruction: str
    full_instruction: str
    input_manifest_uri: str
    output_uri: str
    output_manifest_uri: str
    consolidation_algorithm: str
    object_count: int
    created_at: datetime
    updated_at: datetime
    ends_at: datetime
    label_counters: LabelCounters
    has_custom_template: bool
    open_leases: list[LeaseView] | None = None  # in describe_job; None where jobs are listed
    quality: QualitySettings | None = None


@dataclass(frozen=True, slots=True)
class TaskView:
    """What a worker sees of one of their tasks."""

    task_id: int
    job: str
    task_type: str
    dataset_object_id: int
    status: str
    data: dict[str, Any]  # {"source": text} or {"source-ref": uri}
    has_data_file: bool  # the object is a file the worker reads through the task's data route
    labels: list[str]
    keys: list[str | None]
    title: str
    short_instruction: str
    leased_at: datetime
    lease_expires_at: datetime
    task_time_limit_s: int
    price_per_task_usd: float


@dataclass(frozen=True, slots=True)
class SubmitView:
    task_id: int
    status: str
    dataset_object_id: int
    job: str
    next_task: TaskView | None = None
    leased_next: bool = False  # the caller asked for the next task (``next_task`` None: there is none)


@dataclass(frozen=True, slots=True)
class ReleaseView:
    task_id: int
    status: str


@dataclass(frozen=True, slots=True)
class AvailableJobView:
    """A job a worker may take tasks of."""

    name: str
    title: str
    description: str
    keywords: list[str]
    task_type: str
    price_per_task_usd: float
    task_time_limit_s: int
    available_tasks: int


@dataclass(frozen=True, slots=True)
class WorkerJobRecord:
    job: str
    tasks: int
    time_spent_s: float
    earnings_usd: float


@dataclass(frozen=True, slots=True)
class HistoryView:
    jobs: list[WorkerJobRecord]
    tasks: int
    time_spent_s: float
    earnings_usd: float


@dataclass(frozen=True, slots=True)
class EventView:
    id: int
    at: datetime
    kind: str
    actor: str
    job: str | None
    dataset_object_id: int | None
    task_id: int | None
    worker_id: int | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TeamView:
    id: int
    name: str
    description: str
    members: list[str] | None = field(default=None)  # None: not shown to this principal
    owner: str | None = None  # the requester it belongs to; None: shared by an admin (or not shown)


@dataclass(frozen=True, slots=True)
class CredentialView:
    """A session token, API token (or, later, an access key) of a user; never the secret itself."""

    id: int
    kind: str
    name: str | None
    username: str
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class AccessKeyView:
    """An access key pair for the SageMaker API; ``secret_access_key`` only when it is made (never again)."""

    id: int  # the credential's id (``labelloop tokens list`` shows it too)
    access_key_id: str
    username: str
    name: str | None
    created_at: datetime
    secret_access_key: str | None = None


@dataclass(frozen=True, slots=True)
class JobBrief:
    """What a member of a job's team sees of it (the portal's labeling page): no URIs, configs or hooks."""

    name: str
    title: str
    description: str
    short_instruction: str
    full_instruction: str


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    username: str
    role: str


@dataclass(frozen=True, slots=True)
class WorkerQuality:
    """One worker's figures on a job: accuracy (gold answers and agreement with the consolidated labels, with
    a 95% interval), answers, median time per task, whether they are blocked."""

    worker: str
    answers: int
    gold_answers: int
    gold_correct: int
    gold_accuracy: float | None
    accuracy: float | None
    accuracy_low: float
    accuracy_high: float
    agreement: float | None  # share of their answers equal to the object's consolidated label
    median_time_s: float | None
    blocked: bool
    blocked_reason: str | None
    qualified: bool | None  # None: the job has no qualification test (or the worker has not finished it)


@dataclass(frozen=True, slots=True)
class LabelQuality:
    """How often workers agree with a consolidated label: of the answers on objects labeled ``label``."""

    label: str
    objects: int
    answers: int
    agreement: float | None


@dataclass(frozen=True, slots=True)
class QualityView:
    """A job's quality figures (``GET /api/v1/jobs/{name}/quality``, ``labelloop jobs quality``)."""

    job: str
    objects_labeled: int
    answers: int
    answers_per_object: float | None
    krippendorff_alpha: float | None
    workers: list[WorkerQuality]
    labels: list[LabelQuality]
    settings: QualitySettings


@dataclass(frozen=True, slots=True)
class BlockView:
    """What blocking (or unblocking) a worker did: leases released, answers discarded, objects re-opened."""

    job: str
    worker: str
    blocked: bool
    reason: str | None
    released_tasks: int
    discarded_answers: int
    reopened_objects: int


# The console's workforce, audit and administration pages (issue 17, part B)

@dataclass(frozen=True, slots=True)
class InviteView:
    """A sign-up link to a work team; ``token`` (the link's secret) only when it is made, never again."""

    id: int
    team: str
    note: str
    created_by: str | None
    created_at: datetime
    expires_at: datetime
    state: str  # pending | used | expired | revoked
    used_by: str | None = None
    token: str | None = None


@dataclass(frozen=True, slots=True)
class WorkerJobHistory:
    """One worker's work on one job: tasks submitted, median seconds per task, last submit, blocked."""

    job: str
    submitted: int
    median_time_s: float | None
    last_at: datetime | None
    blocked: bool


@dataclass(frozen=True, slots=True)
class WorkerHistoryView:
    username: str
    role: str
    created_at: datetime
    teams: list[str]
    jobs: list[WorkerJobHistory]
    events: list[EventView]


@dataclass(frozen=True, slots=True)
class EventPage:
    """Events newest first, and the id to pass as ``before_id`` for the next (older) page, None at the end."""

    events: list[EventView]
    next_before_id: int | None


@dataclass(frozen=True, slots=True)
class JobDeletedView:
    name: str
    objects: int
    tasks: int
    files_removed: int
    files_error: str | None = None  # the output could not be removed (the job's rows are gone all the same)


@dataclass(frozen=True, slots=True)
class DataSetupView:
    """A manifest made from the files found under a folder or bucket prefix (automated data setup)."""

    manifest_uri: str
    count: int
    media: str  # image | text
    first_refs: list[str]


@dataclass(frozen=True, slots=True)
class AutoLabelRoundView:
    """One round of automated data labeling (``services.autolabel.job_rounds``): the human labels it trained
    on, the held-out validation and its accuracy with a 95% interval, the certified threshold (None: the model
    could not be certified, it labeled nothing), what the model labeled and its accuracy's certified lower
    bound on those labels."""

    round: int
    finished_at: datetime
    human_batch: int  # objects people labeled for this round (validation included)
    human_labeled_total: int  # every object people have labeled for automated labeling so far
    train_size: int
    validation_size: int
    validation_accuracy: float  # model's agreement with the validation labels, all confidences
    validation_ci_low: float  # Clopper-Pearson 95% interval of validation_accuracy
    validation_ci_high: float
    threshold: float | None
    machine_labeled: int  # objects the model labeled in this round
    machine_labeled_total: int
    certified_accuracy: float | None  # lower bound (95%) of the accuracy of labels at or above the threshold
    next_batch: int  # objects sent to people next (0: none)
    model_arn: str | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class AutoLabelView:
    """A job's automated data labeling: its settings, state and rounds."""

    job: str
    target_accuracy: float
    max_human_labeled: int | None
    max_percentage_labeled: int | None
    model: str  # "builtin:<featurizer>" or a bring-your-own-model URL
    initial_model_arn: str | None
    state: str  # labeling | done | stopped | failed
    round: int
    final_model_arn: str | None
    failure: str | None
    rounds: list[AutoLabelRoundView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TeamSummary:
    """A work team on the console's workforce page."""

    name: str
    description: str
    owner: str | None
    members: list[str]
    pending_invites: int
    manageable: bool  # the viewer may add and remove members and invite


@dataclass(frozen=True, slots=True)
class AccountView:
    """A user on the administration page."""

    id: int
    username: str
    role: str
    created_at: datetime
    teams: int
