"""What the API and its server read from the environment (on top of DatabaseSettings)."""

import os

from pydantic import Field

from shared_models.settings import EnvSettings

MIB = 1024 * 1024


class ApiSettings(EnvSettings):
    # Connections each worker keeps open, and how far it may burst beyond them.
    db_pool_size: int = Field(default=10, ge=1)
    db_pool_max_overflow: int = Field(default=5, ge=0)
    # How long a request waits for a free connection before it gets a 503.
    db_pool_timeout: float = Field(default=5.0, gt=0)
    # Server-side bound on every API statement: a stuck query cannot hold a worker.
    db_statement_timeout: float = Field(default=10.0, gt=0)
    # Request bodies above this are refused with 413 before they are read whole.
    max_body_bytes: int = Field(default=MIB, ge=1)
    # FastAPI's built-in OpenTelemetry spans, metrics and logs. Off, it costs nothing
    # per request; turn it on together with an OpenTelemetry SDK and exporter.
    api_opentelemetry: bool = False


class ServerSettings(EnvSettings):
    """Gunicorn's settings; read by gunicorn.conf.py before any worker starts."""

    # One async worker per core keeps every core busy without context switching.
    web_concurrency: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    gunicorn_bind: str = "0.0.0.0:8000"
    # A worker silent for this long is killed and replaced.
    gunicorn_timeout: int = Field(default=30, ge=1)
    # On SIGTERM, in-flight requests get this long to finish.
    gunicorn_graceful_timeout: int = Field(default=20, ge=0)
    gunicorn_keepalive: int = Field(default=5, ge=0)
    gunicorn_access_log: bool = True
    log_level: str = Field(default="info", pattern="^(debug|info|warning|error|critical)$")
