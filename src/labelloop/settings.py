"""One place for configuration: ``LABELLOOP_*`` environment variables, a config file, defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    secret_key: str = Field(
        "dev-insecure-secret", description="Key that signs session cookies and data URLs; set it beyond loopback."
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

    @model_validator(mode="after")
    def _refuse_insecure_public_bind(self) -> Settings:
        loopback = self.host in ("127.0.0.1", "localhost", "::1")
        if not loopback and self.secret_key == "dev-insecure-secret":
            raise ValueError("LABELLOOP_SECRET_KEY must be set when binding beyond loopback")
        return self
