"""A copy of the migrator's alembic.ini and migrations/ with extra, test-only revisions."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from harness.paths import ALEMBIC_INI
from harness.revisions import HEAD_REVISION


class ScratchMigrations:
    def __init__(self, root: Path) -> None:
        shutil.copy(ALEMBIC_INI, root / "alembic.ini")
        shutil.copytree(
            ALEMBIC_INI.parent / "migrations",
            root / "migrations",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        self.ini = root / "alembic.ini"
        self.versions = root / "migrations" / "versions"

    def add_revision(
        self,
        revision: str,
        upgrade: str,
        downgrade: str = "pass",
        down_revision: str = HEAD_REVISION,
    ) -> Path:
        path = self.versions / f"29990101_0000_{revision}_test_only.py"
        path.write_text(
            f'"""test-only revision"""\n\n'
            "import sqlalchemy as sa\n"
            "from alembic import op\n\n"
            f"revision = {revision!r}\n"
            f"down_revision = {down_revision!r}\n"
            "branch_labels = None\n"
            "depends_on = None\n\n\n"
            "def upgrade() -> None:\n"
            f"{textwrap.indent(textwrap.dedent(upgrade).strip(), '    ')}\n\n\n"
            "def downgrade() -> None:\n"
            f"{textwrap.indent(textwrap.dedent(downgrade).strip(), '    ')}\n"
        )
        return path
