"""Request bodies of the JSON API, and the documented shapes of its responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(max_length=128)
    password: str = Field(max_length=1024, description="At most 1,024 characters; longer is refused unhashed.")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(max_length=128)
    password: str = Field(max_length=1024, description="8 to 1,024 characters.")
    role: str = Field("worker", description="admin, requester or worker")


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = Field("", max_length=200)
    owner: str | None = Field(None, description="Admins only: the requester the team belongs to (default: "
                                                "shared, which any requester may send jobs to).")


class MembersAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    usernames: list[str] = Field(min_length=1)


class AnswerSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: Any = Field(description="Ground Truth answerContent, e.g. {\"crowd-image-classifier\": {\"label\": \"cat\"}}")
    next: bool = Field(False, description="Also lease the next task of the same job and return it.")


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=128, description="What the token is for, shown when listed.")


# Responses: the shapes of ``labelloop.web.render`` (documentation of the OpenAPI description; the routes
# return render's dicts, and the schemathesis test checks the two agree).

class Error(BaseModel):
    """The one error body of every status >= 400."""

    error: str = Field(description="ValidationException, UnauthorizedException, AccessDeniedException, "
                                   "ResourceNotFound, ResourceInUse, ConflictException, ResourceLimitExceeded")
    message: str
    field: str | None = Field(None, description="The request field at fault, where there is one.")
    details: list[dict[str, Any]] | None = None


class TokenOut(BaseModel):
    token: str
    username: str
    role: str


class UserOut(BaseModel):
    id: int
    username: str
    role: str


class TeamOut(BaseModel):
    id: int
    name: str
    description: str
    members: list[str] | None = Field(None, description="Left out for a team the caller is only a member of.")
    owner: str | None = Field(None, description="The requester it belongs to; null: shared by an admin.")


class TeamList(BaseModel):
    teams: list[TeamOut]


class LabelCountersOut(BaseModel):
    TotalLabeled: int
    HumanLabeled: int
    MachineLabeled: int
    FailedNonRetryableError: int
    Unlabeled: int


class LeaseOut(BaseModel):
    task_id: int
    dataset_object_id: int
    worker: str = Field(description="Username of the worker holding the lease.")
    leased_at: str
    lease_expires_at: str


class QualitySettingsOut(BaseModel):
    min_workers_per_object: int = Field(description="Adaptive consensus: the fewest workers per object.")
    max_workers_per_object: int = Field(description="The most workers per object (workers_per_object).")
    confidence_target: float | None = Field(description="An object stops getting workers at this posterior.")
    gold_objects: int = Field(description="Gold objects (known answers) mixed into the work.")
    gold_rate: float = Field(description="Share of each worker's tasks that are gold objects.")
    qualification_tasks: int = Field(description="Gold objects a worker answers before real tasks.")
    qualification_min_accuracy: float
    block_below_accuracy: float | None = Field(description="Workers below this estimated accuracy are blocked.")


class JobOut(BaseModel):
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
    created_at: str
    updated_at: str
    ends_at: str
    label_counters: LabelCountersOut
    has_custom_template: bool
    open_leases: list[LeaseOut] | None = Field(
        None, description="Tasks leased now (who holds them, until when), soonest to expire first: in "
                          "GET /api/v1/jobs/{name}; null where jobs are listed, created or stopped.")
    quality: QualitySettingsOut | None = Field(None, description="Quality control: consensus range, gold, blocks.")


class JobList(BaseModel):
    jobs: list[JobOut]


class EventOut(BaseModel):
    id: int
    at: str
    kind: str
    actor: str
    job: str | None
    dataset_object_id: int | None
    task_id: int | None
    worker_id: int | None
    detail: dict[str, Any]


class EventList(BaseModel):
    events: list[EventOut]


class AvailableJobOut(BaseModel):
    name: str
    title: str
    description: str
    keywords: list[str]
    task_type: str
    price_per_task_usd: float
    task_time_limit_s: int
    available_tasks: int


class AvailableJobList(BaseModel):
    jobs: list[AvailableJobOut]


class TaskOut(BaseModel):
    task_id: int
    job: str
    task_type: str
    dataset_object_id: int
    status: str
    data: dict[str, Any]
    data_url: str | None
    labels: list[str]
    keys: list[str | None]
    title: str
    short_instruction: str
    leased_at: str
    lease_expires_at: str
    task_time_limit_s: int
    price_per_task_usd: float


class SubmittedOut(BaseModel):
    task_id: int
    status: str
    dataset_object_id: int
    job: str
    next_task: TaskOut | None = Field(None, description="Only when the request asked for `next`; null: none left.")


class ReleasedOut(BaseModel):
    task_id: int
    status: str


class WorkerJobRecordOut(BaseModel):
    job: str
    tasks: int
    time_spent_s: float
    earnings_usd: float


class HistoryOut(BaseModel):
    jobs: list[WorkerJobRecordOut]
    tasks: int
    time_spent_s: float
    earnings_usd: float


class CredentialOut(BaseModel):
    id: int
    kind: str = Field(description="session (the portal's cookie) or api (a bearer token)")
    name: str | None
    username: str
    created_at: str
    expires_at: str | None


class CredentialList(BaseModel):
    credentials: list[CredentialOut]


class NewCredential(CredentialOut):
    token: str = Field(description="The bearer token; shown once, only its hash is stored.")


class WorkerQualityOut(BaseModel):
    worker: str
    answers: int = Field(description="Submitted answers that count (not discarded by a block).")
    gold_answers: int
    gold_correct: int
    gold_accuracy: float | None
    accuracy: float | None = Field(description="On gold when the worker has gold answers, else agreement.")
    accuracy_low: float = Field(description="95% interval of the accuracy (Beta(1, 1) prior).")
    accuracy_high: float
    agreement: float | None = Field(description="Share of their answers equal to the consolidated label.")
    median_time_s: float | None
    blocked: bool
    blocked_reason: str | None
    qualified: bool | None = Field(description="Passed the qualification test; null: none, or not finished.")


class LabelQualityOut(BaseModel):
    label: str
    objects: int = Field(description="Objects consolidated as this label.")
    answers: int = Field(description="Answers on those objects.")
    agreement: float | None = Field(description="Share of those answers that chose this label.")


class QualityOut(BaseModel):
    job: str
    objects_labeled: int
    answers: int
    answers_per_object: float | None
    krippendorff_alpha: float | None = Field(description="Nominal Krippendorff's alpha over ordinary objects.")
    workers: list[WorkerQualityOut]
    labels: list[LabelQualityOut]
    settings: QualitySettingsOut


class BlockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=1000, description="Why, for the audit trail.")


class BlockOut(BaseModel):
    job: str
    worker: str
    blocked: bool
    reason: str | None
    released_tasks: int = Field(description="Open leases of the worker on the job that were released.")
    discarded_answers: int = Field(description="Their answers on the job's objects that no longer count.")
    reopened_objects: int = Field(description="Objects consolidated again or handed to other workers.")
