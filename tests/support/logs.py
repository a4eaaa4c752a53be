"""Reading what the services log: one JSON object per line."""

from __future__ import annotations

import json
from typing import Any


def log_lines(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` as a JSON object; fails on a line that is not one."""
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"line {number} is not JSON: {line!r}") from None
        assert isinstance(record, dict), line
        lines.append(record)
    return lines
