"""The access line's one-step rendering (shared_models.logs.log_line) against structlog's
chain, which renders every other line: the same object, key for key. Each case runs in a
process of its own, since logging is configured once per process, and reads its lines
from that process's standard error, as Docker does."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest

WRITE_BOTH = """
import structlog
from shared_models.logs import REQUEST_ID, LogSettings, configure_logging, log_line

configure_logging(LogSettings(log_format={log_format!r}, log_level={level!r}), "api")
fields = dict(method="GET", route="/users/{{user_id}}", status=200, duration_ms=1.25,
              client="192.0.2.7")
for request_id in ("4f1c", None):
    REQUEST_ID.set(request_id)
    log_line("api.access").info("GET /users/{{user_id}} 200", **fields)
    structlog.get_logger().bind(logger="api.access").info("GET /users/{{user_id}} 200", **fields)
"""

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")


def lines_written(log_format: str, level: str = "info") -> list[str]:
    script = WRITE_BOTH.format(log_format=log_format, level=level)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return [line for line in done.stderr.splitlines() if "api.access" in line]


def without_time(line: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(line)
    assert ISO_UTC.fullmatch(event.pop("time")), line
    return event


def test_the_access_line_is_the_object_structlog_renders_key_for_key() -> None:
    ours_with_id, theirs_with_id, ours, theirs = lines_written("json")
    assert list(json.loads(ours_with_id)) == list(json.loads(theirs_with_id))
    assert without_time(ours_with_id) == without_time(theirs_with_id)
    assert without_time(ours_with_id) == {
        "logger": "api.access",
        "method": "GET",
        "route": "/users/{user_id}",
        "status": 200,
        "duration_ms": 1.25,
        "client": "192.0.2.7",
        "level": "INFO",
        "request_id": "4f1c",
        "service": "api",
        "message": "GET /users/{user_id} 200",
    }
    # Outside a request there is no id, in either.
    assert without_time(ours) == without_time(theirs)
    assert "request_id" not in json.loads(ours)


@pytest.mark.parametrize("level", ["warning", "error"])
def test_the_access_line_is_not_written_below_the_log_level(level: str) -> None:
    assert lines_written("json", level) == []


def test_in_the_console_format_the_access_line_is_structlogs() -> None:
    ours_with_id, theirs_with_id, ours, theirs = lines_written("console")
    time_stamp = re.compile(r"^\S+ ")
    assert time_stamp.sub("", ours_with_id) == time_stamp.sub("", theirs_with_id)
    assert "request_id=4f1c" in ours_with_id
    assert time_stamp.sub("", ours) == time_stamp.sub("", theirs)
