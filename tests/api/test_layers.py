"""The api's layers, read from its imports: the database side (api.db, and each
resource's statements) imports nothing of HTTP: no FastAPI or Starlette, no api.http,
no route and no request or response schema."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from harness.paths import ROOT

API = ROOT / "services" / "api" / "src" / "api"
HTTP = ("fastapi", "starlette", "pydantic", "api.http", "api.main")
DATABASE_SIDE = sorted([*API.glob("db/*.py"), *API.glob("*/statements.py")])


def imported(path: Path) -> set[str]:
    """Every module the file imports, by its full name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def http_side(module: str) -> bool:
    if any(module == name or module.startswith(f"{name}.") for name in HTTP):
        return True
    parts = module.split(".")
    return len(parts) >= 3 and parts[0] == "api" and parts[2] in ("routes", "schemas")


def test_the_database_side_is_found() -> None:
    found = {str(path.relative_to(API)) for path in DATABASE_SIDE}
    assert {"db/pool.py", "users/statements.py", "posts/statements.py"} <= found


@pytest.mark.parametrize("path", DATABASE_SIDE, ids=lambda path: str(path.relative_to(API)))
def test_the_database_side_imports_nothing_of_http(path: Path) -> None:
    assert not sorted(filter(http_side, imported(path)))
