"""Revisions never change after release: no file under versions/ imports live code (the
models, the api, the migrator beyond the library revisions call and migrator.frozen), and
the frozen modules import only the standard library and SQLAlchemy."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from harness.paths import MIGRATIONS, ROOT
from migrator.frozen import username_key_955dbf0e03fd
from shared_models.identity import username_key

FROZEN = ROOT / "services" / "migrator" / "src" / "migrator" / "frozen"
# The repository's own packages: live code, unless allowed below.
FIRST_PARTY = {"api", "migrator", "shared_models", "harness", "tests", "bench", "tools"}
# What revisions may call: the library (its behaviour kept for them) and the frozen modules.
LIBRARY = {"migrator.backfill", "migrator.operations", "migrator.errors"}
FROZEN_PACKAGE = "migrator.frozen"


def imported(source: str) -> list[str]:
    """Every module the source imports, by its full name (``from migrator import x`` is
    ``migrator.x``); a relative or dynamic import is named for what it is."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                names.append(f"relative import {'.' * node.level}{node.module or ''}")
            elif node.module in FIRST_PARTY:
                names.extend(f"{node.module}.{alias.name}" for alias in node.names)
            elif node.module:
                names.append(node.module)
        elif isinstance(node, ast.Call):
            called = node.func
            name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
            if name in ("import_module", "__import__"):
                names.append(f"dynamic import {ast.unparse(node)}")
    return names


def live_imports_of_a_revision(source: str) -> list[str]:
    def allowed(name: str) -> bool:
        if name.startswith(("relative import", "dynamic import")):
            return False
        if name.split(".")[0] not in FIRST_PARTY:
            return True  # alembic, SQLAlchemy, the standard library
        return name in LIBRARY or name == FROZEN_PACKAGE or name.startswith(FROZEN_PACKAGE + ".")

    return [name for name in imported(source) if not allowed(name)]


def live_imports_of_a_frozen_module(source: str) -> list[str]:
    def allowed(name: str) -> bool:
        top = name.split(".")[0]
        return top in sys.stdlib_module_names or top in ("__future__", "sqlalchemy")

    return [name for name in imported(source) if not allowed(name)]


REVISIONS = sorted((MIGRATIONS / "versions").glob("*.py"))
FROZEN_MODULES = sorted(FROZEN.glob("*.py"))


@pytest.mark.parametrize("path", REVISIONS, ids=lambda path: path.name)
def test_no_revision_imports_live_code(path: Path) -> None:
    assert live_imports_of_a_revision(path.read_text()) == [], (
        f"{path.name} imports live code: what it computes would change after release; "
        "freeze it in the revision or in migrator/frozen/<what>_<revision>.py"
    )


@pytest.mark.parametrize("path", FROZEN_MODULES, ids=lambda path: path.name)
def test_the_frozen_modules_import_no_live_code(path: Path) -> None:
    assert live_imports_of_a_frozen_module(path.read_text()) == []


@pytest.mark.parametrize(
    "line",
    [
        "from shared_models.identity import username_key",
        "import shared_models",
        "from api.users import rules",
        "from migrator import settings",
        "from migrator.plan.locks import LockMode",
        "import migrator.runner",
        "from .helpers import key",
        "key = importlib.import_module('shared_models.identity').username_key",
        "def upgrade():\n    from shared_models import identity",
    ],
)
def test_a_revision_importing_live_code_is_caught(line: str) -> None:
    assert live_imports_of_a_revision(f"from alembic import op\n{line}\n")
    assert live_imports_of_a_frozen_module(f"import unicodedata\n{line}\n")


def test_what_revisions_may_import_passes() -> None:
    source = (
        "import sqlalchemy as sa\nfrom alembic import op\nfrom collections.abc import Sequence\n"
        "from migrator.backfill import Backfill, run_backfill\n"
        "from migrator.errors import MigratorError\nfrom migrator import operations\n"
        "from migrator.frozen.username_key_955dbf0e03fd import set_username_keys\n"
    )
    assert live_imports_of_a_revision(source) == []
    frozen = "import unicodedata\nfrom sqlalchemy import text\n"
    assert live_imports_of_a_frozen_module(frozen) == []
    assert live_imports_of_a_frozen_module("from alembic import op\n") == ["alembic"]


def test_the_frozen_username_key_is_still_the_apis() -> None:
    """Keys written by the backfill and by the API meet in one unique index: when the live
    rule changes, existing keys must be rewritten by a new revision with a frozen module
    of its own (and this test then compares that one)."""
    names = [
        "Ada", "Jos\u00e9", "Jose\u0301", "stra\u00dfe", "STRASSE", "\uff3aoe", "\u0130stanbul",
        "\u01f0", "\u1d2cda", "\u2124oe", "\u212b", "A\u200dda", "\ufb01x", "\u00c5ngstr\u00f6m",
    ]  # fmt: skip
    assert {name: username_key_955dbf0e03fd.username_key(name) for name in names} == {
        name: username_key(name) for name in names
    }
