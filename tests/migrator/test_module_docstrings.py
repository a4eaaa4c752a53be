"""The migrator's prose budget: a module docstring says what the module is for in at most
8 lines; the detail lives in docs/. Released revisions are history, left as they shipped."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from harness.paths import MIGRATIONS, ROOT

MOST_LINES = 8
MODULES = sorted(
    [
        *(ROOT / "services" / "migrator" / "src").rglob("*.py"),
        MIGRATIONS / "env.py",
        *(ROOT / "tests" / "migrator").rglob("*.py"),
        *(ROOT / "tests" / "migrations").rglob("*.py"),
    ]
)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(ROOT)))
def test_a_module_docstring_is_at_most_8_lines(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text()), clean=False) or ""
    assert len(docstring.strip().splitlines()) <= MOST_LINES
