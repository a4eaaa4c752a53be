"""The real revisions, read from alembic's script directory: adding one changes nothing here."""

from alembic.config import Config
from alembic.script import Script, ScriptDirectory

from harness.paths import ALEMBIC_INI

SCRIPTS = ScriptDirectory.from_config(Config(ALEMBIC_INI))
# Oldest first.
REVISIONS: list[Script] = list(reversed(list(SCRIPTS.walk_revisions())))
BASE_REVISION: str = REVISIONS[0].revision
HEAD_REVISION: str = REVISIONS[-1].revision
# Where `downgrade -1` from head lands.
BEFORE_HEAD: str = str(REVISIONS[-1].down_revision)


def revision_named(message: str) -> str:
    """The id of the revision whose message (its file's first line) is ``message``."""
    (script,) = [script for script in REVISIONS if script.doc == message]
    return script.revision


def revision_before(revision: str) -> str | None:
    """The revision ``revision`` builds on (None for the first)."""
    down = SCRIPTS.get_revision(revision).down_revision
    return None if down is None else str(down)
