"""How every process of the stack logs: one JSON object per line (python-json-logger) in
production, readable lines in development; the request id on every line written while
a request runs.

Every service configures logging once, at start, with ``configure_logging``; gunicorn
takes the same dictionary as its ``logconfig_dict``, so its master, its workers and
uvicorn inside them write the same lines as the app.
"""

from __future__ import annotations

import logging
import logging.config
from contextvars import ContextVar
from typing import Any, Literal

from pydantic import Field

from shared_models.settings import ConfigurationError, EnvSettings

# The id of the request being served, where there is one (set by the API's middleware).
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

LEVELS = ("debug", "info", "warning", "error", "critical")


class LogSettings(EnvSettings):
    """How every service logs."""

    log_level: str = Field(
        default="info",
        pattern=f"^({'|'.join(LEVELS)})$",
        description="Least severe log level written.",
    )
    log_format: Literal["json", "console"] = Field(
        default="json",
        description="json: one JSON object per line, for log pipelines (jq, Loki, "
        "Elasticsearch); console: readable lines (the development override uses it).",
    )


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being served, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def logging_config(settings: LogSettings, service: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary: one handler, on standard error."""
    formatters: dict[str, dict[str, Any]] = {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601, UTC
            "static_fields": {"service": service},
            "json_ensure_ascii": False,
        },
        "console": {
            "format": "%(asctime)s %(levelname)-5s [%(name)s] %(message)s",
            "datefmt": "%H:%M:%S",
        },
    }
    level = settings.log_level.upper()
    handler = {
        "class": "logging.StreamHandler",
        # Standard error: standard output is for what a command prints (alembic --sql).
        "stream": "ext://sys.stderr",
        "formatter": settings.log_format,
        "filters": ["request_id"],
    }
    quiet = {"level": "WARNING", "handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {settings.log_format: formatters[settings.log_format]},
        "handlers": {"stderr": handler},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            # gunicorn gives uvicorn its error logger's handlers and stops propagation,
            # so that logger gets the handler itself.
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
            # The API writes its own access line (api.access); nothing else does.
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
            "uvicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
            "sqlalchemy": quiet,
            "alembic.runtime.plugins": quiet,
        },
    }


def configure_logging(settings: LogSettings, service: str) -> None:
    logging.config.dictConfig(logging_config(settings, service))


def configured_or_default(service: str) -> LogSettings:
    """Logging as configured, or the defaults when the LOG_* variables are themselves wrong
    (the error is then reported like any other configuration error, as a log line)."""
    try:
        settings = LogSettings.load()
    except ConfigurationError:  # reported by the caller's own settings check
        settings = LogSettings.model_construct()
    configure_logging(settings, service)
    return settings
