"""One place for configuration: ``LABELLOOP_*`` environment variables, a config file, defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of a labelloop server. CLI flags override the environment, which overrides defaults."""

    model_config = SettingsConfigDict(env_prefix="LABELLOOP_", env_file=None, extra="ignore")

    database_url: str = Field(
        "sqlite:///labelloop.db",
        description="SQLAlchemy URL of the database: sqlite:///path.db (embedded) or postgresql+psycopg://...",
    )
    data_dir: Path = Field(Path("labelloop-data"), description="Folder for local job output when none is given.")
    host: str = Field("127.0.0.1", description="Address the server binds to.")
    port: int = Field(8080, description="TCP port the server listens on.")
    secret_key: str | None = Field(
        None,
        description="Key that signs CSRF tokens and data links (32+ characters). Without it, a random key is made "
        "at first start and kept in the database, so every process of the installation shares it.",
    )
    s3_endpoint_url: str | None = Field(None, description="Endpoint of an S3-compatible server for s3:// URIs.")
    background_interval_s: float = Field(1.0, description="Seconds between runs of the background worker.")
    output_interval_s: float = Field(10.0, description="Least seconds between rewrites of a running job's manifests.")
    consolidation_interval_s: float = Field(
        2.0, description="Least seconds between consolidation passes of a running job that still has open tasks."
    )
    consolidation_batch_size: int = Field(5000, description="Most data objects consolidated in one batch.")
    data_url_ttl_s: int = Field(900, description="Seconds a grant_read_access URL stays valid.")
    sqlite_busy_timeout_ms: int = Field(30000, description="Milliseconds SQLite waits for the write lock.")
    request_threads: int = Field(8, description="Threads that run request handlers in one server process.")
    run_background: bool = Field(
        True, description="`labelloop serve` also starts a background process (lease expiry, consolidation, output)."
    )
    storage_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Storage jobs may read and write besides data_dir (always allowed), comma-separated: absolute "
        "paths, s3://bucket[/prefix], http(s)://host[:port] (*.example.com for subdomains) and address networks "
        "(10.0.0.0/8) that listed hosts may resolve to; merged with `labelloop storage allow` entries. "
        "Default: only data_dir. See docs/security.md.")
    manifest_max_mb: float = Field(1024.0, description="Largest input manifest a job may be created from, in MB.")
    manifest_read_timeout_s: float = Field(
        300.0, description="Seconds reading an input manifest may take in all before job creation fails.")
    hook_timeout_s: float = Field(30.0, description="Seconds an http(s) pre- or post-annotation hook has to answer.")
    s3_profile: str | None = Field(
        None, description="AWS profile (~/.aws/credentials, ~/.aws/config) whose keys and endpoint s3:// URIs are "
        "read with. Unset: as AWS tools take them (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL_S3 / "
        "AWS_ENDPOINT_URL); s3_endpoint_url overrides the endpoint either way.")
    aws_region: str = Field("us-east-1", description="Region in the ARNs of the SageMaker API (/aws/sagemaker).")
    aws_account_id: str = Field(
        "000000000000", pattern=r"^\d{12}$", description="12-digit account id in the ARNs of the SageMaker API.")
    aws_max_active_labeling_jobs: int = Field(
        20, ge=1, description="Labeling jobs one requester may have Initializing, InProgress or Stopping at once "
        "through the SageMaker API; CreateLabelingJob beyond it is ResourceLimitExceeded.")
    aws_max_workteams: int = Field(
        100, ge=1, description="Work teams in all that CreateWorkteam makes before ResourceLimitExceeded.")
    aws_max_human_task_uis: int = Field(
        100, ge=1, description="Human task UIs one requester may keep before CreateHumanTaskUi is "
        "ResourceLimitExceeded.")
    public_url: str | None = Field(
        None, description="The URL this server is reached at, e.g. https://label.example.com: the issuer of "
        "workers' identities in the output and the S3 endpoint registered hooks read their payload from. "
        "Default: http://<host>:<port>.")

    @field_validator("storage_allow", mode="before")
    @classmethod
    def _split_storage_allow(cls, value: object) -> object:
        from labelloop.core.storage_policy import parse_entry

        if isinstance(value, str):
            value = [x.strip() for x in value.split(",") if x.strip()]
        for entry in value if isinstance(value, list) else []:
            parse_entry(str(entry))  # a ValueError names the bad entry
        return value
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For "
        "is believed for the client's address; default none (the peer's address is the client's).")
    password_hashes_in_flight: int = Field(
        2, ge=1, description="Most argon2 password hashes (sign-ins, new users) computed at once in one process; "
        "each takes 64 MiB while it runs, so this bounds a burst of sign-ins' memory.")
    metrics_token: str | None = Field(
        None, description="Bearer token that may read /metrics. Unset: /metrics answers only clients on the "
        "loopback address (127.0.0.1, ::1); anyone else gets 403.")
    sign_in_window_s: int = Field(300, description="Seconds over which failed sign-ins are counted.")
    sign_in_failures_per_account: int = Field(
        5, description="Failed sign-ins for one username within the window before further tries get 429.")
    sign_in_failures_per_address: int = Field(
        50, description="Failed sign-ins from one client address within the window before further tries get 429.")

    @model_validator(mode="after")
    def _refuse_short_secret_key(self) -> Settings:
        if self.secret_key is not None and len(self.secret_key) < 32:
            raise ValueError("LABELLOOP_SECRET_KEY must be at least 32 characters (or unset: then the installation "
                             "makes a random one and keeps it in the database)")
        return self
