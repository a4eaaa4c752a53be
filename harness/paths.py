"""Where the parts of the repository are."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALEMBIC_INI = ROOT / "services" / "migrator" / "alembic.ini"
MIGRATIONS = ALEMBIC_INI.parent / "migrations"
ENV_EXAMPLE = ROOT / ".env.example"
