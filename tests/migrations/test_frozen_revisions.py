"""Revisions never change after release: no file under versions/ imports live code (the
models, the api, the migrator beyond the library revisions call and migrator.frozen), and
the frozen modules import only the standard library and pinned libraries (uv.lock)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from harness.paths import MIGRATIONS, ROOT
from migrator.frozen import username_key_955dbf0e03fd, username_rule_c7e059802bac
from shared_models.identity import refusal, username_key

FROZEN = ROOT / "services" / "migrator" / "src" / "migrator" / "frozen"
# The repository's own packages: live code, unless allowed below.
FIRST_PARTY = {"api", "migrator", "shared_models", "harness", "tests", "bench", "tools"}
# What revisions may call: the library (its behaviour kept for them) and the frozen modules.
LIBRARY = {"migrator.backfill", "migrator.operations", "migrator.errors"}
FROZEN_PACKAGE = "migrator.frozen"
# What a frozen module may call besides the standard library: libraries, pinned by uv.lock.
LIBRARIES = ("sqlalchemy", "regex", "confusable_homoglyphs")


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
        return top in sys.stdlib_module_names or top in ("__future__", *LIBRARIES)

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


def test_the_frozen_username_rule_is_still_the_apis() -> None:
    """What c7e059802bac reports is what the API refuses: when the live rule changes, a new
    revision reports by a frozen module of its own (and this test then compares that)."""
    names = [
        "Ada", "Jos\u00e9", "ada lovelace", "O'Brien-2", "Zo\u00e9", "\u674e\u96f7",
        "\u0418\u0432\u0430\u043d", "tanaka\u3055\u3093", "Kim \uae40", "Nguy\u1ec5n",
        "admin\U0001f600", " Zoe", "Zo\u00a0e", "Zoe\u200d", "ad\u034fmin", "admin\u2800",
        "\u0301", "a" + "\u0301" * 49, "a\u0300\u0301\u0302\u0303\u0304",
        "\u0430dmin", "b\u03bfb", "\u03a9mega", "\u13f4\u13aa\u13a1",
        "\u0430\u0440\u0440\u04cf\u0435", "Zo\u0378e",
    ]  # fmt: skip
    frozen = {name: username_rule_c7e059802bac.refusal(name) is None for name in names}
    assert frozen == {name: refusal(name) is None for name in names}
