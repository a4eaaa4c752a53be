"""How every process of the stack logs: one JSON object per line in production, readable
lines in development, the request id on every line written while a request runs.
structlog renders the standard library's records (gunicorn, uvicorn, alembic, ours) and
its own the same way; ``log_line`` (the access line) renders that same object in one step.
Every process configures it once, with ``configure_logging``.
"""

from __future__ import annotations

import datetime
import logging
import logging.config
import os
from collections.abc import MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import orjson
import structlog
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict
from structlog.typing import EventDict, Processor, WrappedLogger

from shared_models.line_batches import (
    BatchedLineHandler,
    BatchedLineLoggerFactory,
    LineBatcher,
    batcher,
)
from shared_models.settings import EnvSettings

STDERR = 2  # standard error's file descriptor: lines are written to it, batched

# The id of the request being served, where there is one (set by the API's middleware).
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

LEVELS = ("debug", "info", "warning", "error", "critical")


class LogSettings(EnvSettings):
    """How every service logs."""

    model_config = SettingsConfigDict(title="How every service logs")

    log_level: str = Field(
        default="info",
        pattern=f"^({'|'.join(LEVELS)})$",
        description=f"Least severe log level written: {', '.join(LEVELS)} (any case).",
    )
    log_format: Literal["json", "console"] = Field(
        default="json",
        description="json: one JSON object per line, for log pipelines (jq, Loki, "
        "Elasticsearch); console: readable lines (the development override uses it). "
        "Any case.",
    )
    log_batch_seconds: float = Field(
        default=0.1,
        ge=0,
        le=5,
        description="How long a log line may wait to be written with the lines after it "
        "(at most 4 KiB at once): one write for many lines costs Docker a fraction of "
        "the CPU of one write each. Warnings and errors are written at once, with "
        "everything before them; 0 writes every line at once.",
    )

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


def add_request_id(logger: WrappedLogger, name: str, event: EventDict) -> EventDict:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def drop_color_message(logger: WrappedLogger, name: str, event: EventDict) -> EventDict:
    # uvicorn adds a copy of its message with terminal colour codes, for its own
    # formatter; ours renders the plain one.
    event.pop("color_message", None)
    return event


def upper_level(logger: WrappedLogger, name: str, event: EventDict) -> EventDict:
    # The standard library's spelling (INFO, WARNING), whoever wrote the record.
    event["level"] = str(event.get("level", name)).upper()
    return event


def serialize(event: MutableMapping[str, Any], **_: Any) -> str:
    return orjson.dumps(event, default=str).decode()


def add_service(service: str) -> Processor:
    def stamp(logger: WrappedLogger, name: str, event: EventDict) -> EventDict:
        event["service"] = service  # in place: no copy of the record per line
        return event

    return stamp


def shared_processors(service: str) -> list[Processor]:
    """What every record gets, before it is rendered."""
    return [
        structlog.stdlib.add_log_level,
        upper_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        add_request_id,
        add_service(service),
    ]


def renderer(settings: LogSettings) -> Processor:
    if settings.log_format == "console":
        return structlog.dev.ConsoleRenderer(
            colors=False, event_key="message", timestamp_key="time"
        )
    return structlog.processors.JSONRenderer(serializer=serialize)


def logging_config(settings: LogSettings, service: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary: one handler, on standard error
    (standard output is for what a command prints, alembic --sql), batched
    (shared_models.line_batches)."""
    formatter = {
        "()": structlog.stdlib.ProcessorFormatter,
        "foreign_pre_chain": [
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            drop_color_message,
            *shared_processors(service),
        ],
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.EventRenamer("message"),
            renderer(settings),
        ],
    }
    level = settings.log_level.upper()
    quiet = {"level": "WARNING", "handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": formatter},
        "handlers": {
            "stderr": {
                "()": BatchedLineHandler,
                "lines": batcher(STDERR, settings.log_batch_seconds),
                # The servers' own lines are few: each says where a process is now.
                "at_once": ("gunicorn", "uvicorn"),
                "formatter": "structured",
            }
        },
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
    global _json_lines
    logging.config.dictConfig(logging_config(settings, service))
    level = logging.getLevelNamesMapping()[settings.log_level.upper()]
    lines = batcher(STDERR, settings.log_batch_seconds)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            *shared_processors(service),
            structlog.processors.format_exc_info,
            structlog.processors.EventRenamer("message"),
            renderer(settings),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # The same batches as the standard library's records: one order for every line.
        logger_factory=BatchedLineLoggerFactory(lines),
        cache_logger_on_first_use=False,
    )
    written = settings.log_format == "json" and level <= logging.INFO
    _json_lines = (service, lines) if written else None
    # What a test counts: a process configures its logging once.
    logging.getLogger(service).debug("logging configured", extra={"pid": os.getpid()})


class LineLogger(Protocol):
    def info(self, message: str, **fields: Any) -> None: ...


@dataclass(frozen=True)
class JsonLineLogger:
    """Info lines as JSON: the object structlog's chain makes of the same call, key for
    key (tested), built in one step. Half its cost: 6 against 13 us a line on a quiet
    loop, and 15-30 us less of a worker's CPU per read under load (bench/README.md)."""

    name: str
    service: str
    lines: LineBatcher

    def info(self, message: str, **fields: Any) -> None:
        # The order of structlog's processors: its context, the call's fields, the level,
        # the time, the request id and the service; the message renamed last.
        event = {"logger": self.name, **fields, "level": "INFO"}
        event["time"] = datetime.datetime.now(tz=datetime.UTC).isoformat().replace("+00:00", "Z")
        request_id = REQUEST_ID.get()
        if request_id is not None:
            event.setdefault("request_id", request_id)
        event["service"] = self.service
        event["message"] = message
        self.lines.write(orjson.dumps(event, default=str) + b"\n")


# What configure_logging set for log_line: the service and the batcher, in the JSON
# format with info lines written; otherwise None, which leaves them to structlog (the
# console format; a level above info, whose filtering logger drops them).
_json_lines: tuple[str, LineBatcher] | None = None


def log_line(name: str) -> LineLogger:
    """A logger for lines written often (the access line): in the JSON format one step
    from the call to the line (JsonLineLogger); otherwise structlog's."""
    if _json_lines is None:
        logger: LineLogger = structlog.get_logger().bind(logger=name)
        return logger
    return JsonLineLogger(name, *_json_lines)
